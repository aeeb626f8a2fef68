"""Printed figures as exact numbers: reading them, their tolerance, units, and whether a value
gives them (rounded or truncated). Pure functions of text and numbers."""

from __future__ import annotations

__all__ = ["MAX_EXPONENT", "parse_printed", "derive_tolerance", "to_unit", "matches_printed"]

from decimal import Decimal, InvalidOperation
from fractions import Fraction

from ..spec.document import UNITS

MAX_EXPONENT = 60
"""Printed figures and tolerances are read only within 1e-60 .. 1e60 (bounded exact arithmetic)."""


def parse_printed(text: str) -> Decimal:
    """A figure as written (``"1,327"``, ``"4.09"``, ``"1_000"``, ``"1.2e3"``) -> exact decimal."""
    cleaned = text.strip().replace("_", "").replace(",", "")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise ValueError(f"not a number: {text!r}") from None
    if not value.is_finite():
        raise ValueError(f"not a finite number: {text!r}")
    if value and abs(value.adjusted()) > MAX_EXPONENT:
        raise ValueError(f"out of range (beyond 1e\u00b1{MAX_EXPONENT}): {text!r}")
    return value


def derive_tolerance(text: str) -> Decimal:
    """Half a unit of the last printed digit: ``"105"`` -> 0.5, ``"0.6"`` -> 0.05, ``"4.09"`` ->
    0.005, ``"1.2e3"`` -> 50. Trailing zeros count as printed digits (``"0.60"`` -> 0.005)."""
    exponent = parse_printed(text).as_tuple().exponent
    assert isinstance(exponent, int)  # finite, checked by parse_printed
    return Decimal(5).scaleb(exponent - 1)


def to_unit(value: int, unit: str) -> Fraction:
    """An exact count in base units -> the printed unit: ``to_unit(1_161_600, "KiB") == 1134.375``."""
    return Fraction(value, UNITS[unit])


def matches_printed(printed: Decimal, value: Fraction, *, tolerance: Decimal, rounding: str = "round",
                    step: Decimal | None = None) -> bool:
    """Does ``value`` (printed unit) give the ``printed`` figure? ``round``: within ``tolerance``;
    ``truncate``: ``printed <= value < printed + step`` (``step`` = one unit of the last printed
    digit, default twice the tolerance)."""
    if rounding == "truncate":
        width = Fraction(step if step is not None else 2 * tolerance)
        low = Fraction(printed)
        return low <= value < low + width if low >= 0 else low - width < value <= low
    return abs(value - Fraction(printed)) <= Fraction(tolerance)
