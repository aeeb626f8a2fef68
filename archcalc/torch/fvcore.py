"""fvcore's count of a built model, reconciled with the analyzer row by row.

fvcore counts one multiply-add as one flop and ignores biases, like archcalc's MACs; where its
conventions differ (batch norm, adaptive pooling, interpolation) or where it cannot count at all
(pooling, activations, softmax, LRN), each kind declares a named :class:`~archcalc.kinds.FvcoreRule`
with the module that defines the kind. :data:`RULES` lists them all once.
"""

from __future__ import annotations

__all__ = ["RULES", "FlopRow", "count_by_module", "flop_row"]

import logging
import warnings
from dataclasses import dataclass, field
from typing import Any

from ..kinds import FvcoreRule, fvcore_rules, kind_of

RULES: tuple[FvcoreRule, ...] = fvcore_rules()
"""Every reconciliation between fvcore and the analyzer, by name. Conv, transposed conv and
linear layers need none: both count ``batch * out elements * (c_in/groups) * kernel`` (transposed:
per input element), both ignore the bias."""


@dataclass(frozen=True)
class FlopRow:
    """One leaf row: analyzer MACs, what fvcore should count after the rules, what it counted."""

    name: str
    type: str
    analyzer_macs: int
    fvcore: int
    expected: int
    rules: tuple[str, ...]
    deltas: tuple[int, ...]  # what each rule adds to the MACs, in the order of ``rules``
    unsupported: dict[str, int] = field(default_factory=dict)
    unexplained_ops: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.fvcore == self.expected and not self.unexplained_ops


def count_by_module(model: Any, x: Any, names: list[str]) -> tuple[dict[str, int], dict[str, dict[str, int]]]:
    """fvcore's per-module flop counts and unsupported operators, quietly."""
    with warnings.catch_warnings():  # fvcore.nn scripts functions with torch.jit at import
        warnings.filterwarnings("ignore", message=r".*torch\.jit.* is deprecated", category=DeprecationWarning)
        from fvcore.nn import FlopCountAnalysis

    analysis = FlopCountAnalysis(model, x)
    analysis.unsupported_ops_warnings(False)
    analysis.uncalled_modules_warnings(False)
    analysis.tracer_warnings("none")
    fv_logger = logging.getLogger("fvcore")
    level = fv_logger.level
    fv_logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            # fvcore traces with torch.jit, which newer torch releases deprecate: fvcore's business
            warnings.filterwarnings("ignore", message=r".*torch\.jit.* is deprecated", category=DeprecationWarning)
            by_module = analysis.by_module()
        unsupported = {n: dict(analysis.unsupported_ops(n)) for n in ["", *names]}
    finally:
        fv_logger.setLevel(level)
    return {k: int(v) for k, v in by_module.items()}, unsupported


def flop_row(row: Any, fvcore: int, unsupported: dict[str, int]) -> FlopRow:
    kind = kind_of(row.type)
    rules = kind.fvcore if kind is not None else ()
    applied = [r for r in rules if r.delta(row) or any(r.expects(op) for op in unsupported)]
    deltas = tuple(r.delta(row) for r in applied)  # batch 1
    unexplained = tuple(op for op in unsupported if not any(r.expects(op) for r in rules))
    return FlopRow(row.name, row.type, row.macs, fvcore, row.macs + sum(deltas), tuple(r.name for r in applied),
                   deltas, dict(unsupported), unexplained)

