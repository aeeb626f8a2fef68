"""Static analysis: per-layer shapes, params, MACs, ops, activation memory, receptive field."""

from typing import TYPE_CHECKING, Any

from .result import DTYPE_BYTES, Analysis, GroupRow, LayerRow, Totals

if TYPE_CHECKING:  # pragma: no cover
    from .engine import analyze


def __getattr__(name: str) -> Any:
    """``analyze`` imports the engine (and the spec language's models) on first use: a command that
    only needs ``DTYPE_BYTES`` for its options does not build them."""
    if name != "analyze":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from .engine import analyze

    globals()["analyze"] = analyze
    return analyze

__all__ = ["analyze", "Analysis", "GroupRow", "LayerRow", "Totals", "DTYPE_BYTES"]
