"""A sweep's summary: what was kept, the spread of the costs, the commonest errors (data, then text)."""

from __future__ import annotations

__all__ = ["SweepSummary", "summarize", "render_summary"]

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from ..units import human_bytes, human_count
from .columns import ERROR, INDEX

_FILE = re.compile(r"^[^:]*\.ya?ml(:\d+)?: ")  # the spec's path and line, the same in every row
_RANGES = (("macs", "MACs", human_count), ("params", "params", human_count),
           ("peak_activation_bytes", "live peak", human_bytes), ("saved_bytes", "saved for backward", human_bytes))


@dataclass(frozen=True)
class SweepSummary:
    points: int
    rows: int
    errors: int
    ranges: dict[str, tuple[int, int]] = field(default_factory=dict)
    error_reasons: list[tuple[str, int]] = field(default_factory=list)
    cheapest: dict[str, Any] | None = None

    @property
    def analyzed(self) -> int:
        return self.rows - self.errors

    @property
    def filtered(self) -> int:
        return self.points - self.rows


def summarize(columns: Mapping[str, Sequence[Any]], *, points: int, axes: Sequence[str]) -> SweepSummary:
    """The summary of a results table (column name -> values) of a sweep of ``points`` points."""
    n = len(columns.get(INDEX, ()))
    errors = [e for e in columns.get(ERROR, ()) if e]
    ok = [i for i in range(n) if not columns[ERROR][i]]
    ranges = {}
    for name, _, _ in _RANGES:
        values = [columns[name][i] for i in ok if columns[name][i] is not None]
        if values:
            ranges[name] = (min(values), max(values))
    cheapest = None
    if ok:
        best = min(ok, key=lambda i: (columns["macs"][i], columns["params"][i], columns[INDEX][i]))
        cheapest = {name: columns[name][best] for name in (INDEX, *axes, "macs", "params")}
    reasons = Counter(_reason(e) for e in errors).most_common(3)
    return SweepSummary(points=points, rows=n, errors=len(errors), ranges=ranges, error_reasons=reasons,
                        cheapest=cheapest)


def _reason(message: str) -> str:
    message = _FILE.sub("", message)
    return message if len(message) <= 200 else message[:197] + "..."


def _shown(value: Any) -> str:
    """A value as it is written on the command line: true/false, [1,2], 0.25."""
    if isinstance(value, (bool, list, dict)):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def render_summary(summary: SweepSummary, *, seconds: float, computed: int, workers: str) -> str:
    """A few lines for the terminal."""
    rate = computed / seconds if seconds > 0 else 0.0
    lines = [f"{summary.points:,} points; {computed:,} computed in {seconds:.1f} s "
             f"({rate:,.0f} points/s, {workers})"
             + (f", {summary.points - computed:,} resumed from earlier runs" if summary.points > computed else "")]
    kept = f"{summary.rows:,} rows: {summary.analyzed:,} analyzed, {summary.errors:,} errors"
    if summary.filtered:
        kept += f"; {summary.filtered:,} points left out by --where"
    lines.append(kept)
    for name, word, fmt in _RANGES:
        if name in summary.ranges:
            lo, hi = summary.ranges[name]
            lines.append(f"  {word}: {fmt(lo)} .. {fmt(hi)}")
    if summary.cheapest:
        c = summary.cheapest
        values = ", ".join(f"{k}={_shown(v)}" for k, v in c.items() if k not in (INDEX, "macs", "params"))
        lines.append(f"  fewest MACs: point {c[INDEX]} ({values}): {human_count(c['macs'])} MACs, "
                     f"{human_count(c['params'])} params")
    for reason, count in summary.error_reasons:
        lines.append(f"  error x{count:,}: {reason}")
    return "\n".join(lines) + "\n"
