"""The columns of a sweep's results: the point, its axis values, an error, and the totals.

One row per design point kept: ``point`` (its index in the sweep), one column per axis (named as the
axis: ``depths[2]``, ``scale_width``), ``error`` (empty for a point that analyzed, else the reason)
and the totals of :class:`archcalc.analysis.Totals` (empty on an error row):

==========================  ==================================================================
``params``                  learnable parameters
``macs``                    multiply-accumulates (whole batch)
``ops``                     all other arithmetic (whole batch)
``pooling_ops``             the pooling part of ``ops``
``activation_bytes``        every row's output tensor summed ("Output mem", an upper bound)
``peak_activation_bytes``   the live peak of an inference pass, the input included ("Live mem")
``saved_bytes``             what autograd keeps for backward in a training forward
``receptive_field``         the largest receptive field of any layer, in input pixels, over the
                            spatial axes (the network's field, e.g. at its last spatial layer)
``output_elements``         elements of the network's output per sample
==========================  ==================================================================
"""

from __future__ import annotations

__all__ = ["TOTALS", "INDEX", "ERROR", "column_kinds", "totals_row"]

from typing import TYPE_CHECKING

from ..formulas import prod

if TYPE_CHECKING:  # pragma: no cover
    from ..analysis import Analysis
    from .points import SweepDefinition

INDEX = "point"
ERROR = "error"
TOTALS = ("params", "macs", "ops", "pooling_ops", "activation_bytes", "peak_activation_bytes", "saved_bytes",
          "receptive_field", "output_elements")


def column_kinds(definition: "SweepDefinition") -> dict[str, str]:
    """Column name -> kind (``int``, ``float``, ``bool``, ``str``, ``json``), in order."""
    kinds = {INDEX: "int"}
    kinds.update({axis.name: axis.kind for axis in definition.axes})
    kinds[ERROR] = "str"
    kinds.update({name: "int" for name in TOTALS})
    return kinds


def totals_row(analysis: "Analysis") -> dict[str, int | None]:
    """The totals columns of one analysis."""
    t = analysis.totals
    fields = [max(r.receptive_field) for r in analysis.layers if r.receptive_field]
    return {"params": t.params, "macs": t.macs, "ops": t.ops, "pooling_ops": t.pooling_ops,
            "activation_bytes": t.activation_bytes, "peak_activation_bytes": t.peak_activation_bytes,
            "saved_bytes": t.saved_bytes, "receptive_field": max(fields) if fields else None,
            "output_elements": prod(analysis.output_shape)}
