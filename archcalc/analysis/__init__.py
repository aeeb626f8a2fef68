"""Static analysis: per-layer shapes, params, MACs, ops, activation memory, receptive field."""

from .engine import analyze
from .result import DTYPE_BYTES, Analysis, GroupRow, LayerRow, Totals

__all__ = ["analyze", "Analysis", "GroupRow", "LayerRow", "Totals", "DTYPE_BYTES"]
