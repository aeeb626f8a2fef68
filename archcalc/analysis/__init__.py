"""Static analysis: per-layer shapes, params, MACs, ops, activation memory, receptive field."""

from typing import TYPE_CHECKING

from ..lazy import lazy_attributes
from .result import DTYPE_BYTES, Analysis, GroupRow, LayerRow, Totals

if TYPE_CHECKING:  # pragma: no cover
    from .engine import analyze

# ``analyze`` imports the engine (and the spec language's models) on first use: a command that only
# needs ``DTYPE_BYTES`` for its options does not build them.
__getattr__ = lazy_attributes(__name__, globals(), {".engine": ("analyze",)})

__all__ = ["analyze", "Analysis", "GroupRow", "LayerRow", "Totals", "DTYPE_BYTES"]
