"""What a check returns: one :class:`FigureCheck` per figure, its :class:`Status`, and the
:class:`Summary` of many; :func:`figure_status` decides ok / erratum / mismatch / stale."""

from __future__ import annotations

__all__ = ["Status", "FigureCheck", "Summary", "FAILING", "EXPLAINED", "TOTALS", "Printed", "summarize",
           "figure_status"]

from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from fractions import Fraction
from typing import Iterable

from .figures import matches_printed, to_unit

TOTALS = "totals"


class Status(str, Enum):
    OK = "ok"
    ERRATUM = "erratum"
    CONVENTION = "convention"
    MISMATCH = "mismatch"
    STALE = "stale"
    NOTE = "note"


FAILING = frozenset({Status.MISMATCH, Status.STALE})
"""Statuses that make ``archcalc check`` fail."""

EXPLAINED = frozenset({Status.ERRATUM, Status.CONVENTION})
"""Figures outside the tolerance that the spec explains (exit status 0)."""

Printed = Decimal | tuple[int, ...]


@dataclass(frozen=True, slots=True)
class FigureCheck:
    """One recorded figure (or one erratum that names none) and its verdict.

    ``printed``/``computed``/``tolerance`` are in the printed ``unit``; ``computed`` is exact
    (a :class:`~fractions.Fraction`), ``computed_exact`` is the analyzer's integer in base units
    (bytes, parameters, MACs). Shapes are tuples and have no unit or tolerance.
    """

    spec: str
    spec_name: str
    source: str
    figure: str  # "conv1.params", "totals.macs", or an erratum key
    status: Status
    quantity: str | None = None
    layer: str | None = None  # the analysis row the figure resolved to; None for totals
    printed: Printed | None = None
    printed_text: str | None = None
    computed: Fraction | tuple[int, ...] | None = None
    computed_exact: int | tuple[int, ...] | None = None
    unit: str | None = None
    tolerance: Decimal | None = None
    tolerance_explicit: bool = False
    note: str | None = None  # the erratum's explanation, or why a figure is stale
    line: int | None = None
    convention: str | None = None  # the counting convention an erratum entry names
    convention_exact: int | None = None  # the figure archcalc computes under it, base units
    convention_rounding: str | None = None  # "round" or "truncate"

    @property
    def convention_computed(self) -> Fraction | None:
        """The figure under the recorded convention, in the printed unit."""
        if self.convention_exact is None or self.unit is None:
            return None
        return to_unit(self.convention_exact, self.unit)

    @property
    def failed(self) -> bool:
        return self.status in FAILING

    @property
    def delta(self) -> Fraction | None:
        """``computed - printed`` in the printed unit (``None`` for shapes and bare errata)."""
        if isinstance(self.printed, Decimal) and isinstance(self.computed, Fraction):
            return self.computed - Fraction(self.printed)
        return None


@dataclass(frozen=True, slots=True)
class Summary:
    figures: int
    ok: int
    errata: int
    mismatches: int
    stale: int
    notes: int
    conventions: int = 0

    @property
    def failed(self) -> bool:
        return bool(self.mismatches or self.stale)


def summarize(checks: Iterable[FigureCheck]) -> Summary:
    counts = {s: 0 for s in Status}
    for c in checks:
        counts[c.status] += 1
    compared = sum(counts[s] for s in Status if s is not Status.NOTE)
    return Summary(figures=compared, ok=counts[Status.OK], errata=counts[Status.ERRATUM],
                   mismatches=counts[Status.MISMATCH], stale=counts[Status.STALE], notes=counts[Status.NOTE],
                   conventions=counts[Status.CONVENTION])


def figure_status(*, printed: Printed, computed: Fraction | tuple[int, ...], tolerance: Decimal | None,
                  erratum: str | None) -> Status:
    """ok / erratum / mismatch / stale for one figure (shapes compare exactly)."""
    if isinstance(printed, tuple) or isinstance(computed, tuple):
        matches = tuple(printed) == tuple(computed)  # type: ignore[arg-type]
    else:
        assert tolerance is not None
        matches = matches_printed(printed, computed, tolerance=tolerance)
    if matches:
        return Status.STALE if erratum is not None else Status.OK
    return Status.ERRATUM if erratum is not None else Status.MISMATCH
