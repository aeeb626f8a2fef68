"""Human-readable numbers: one formatter for counts (K/M/G) and one for bytes (KB/MB/GB, 1024-based).

The unit sizes are named here once: decimal prefixes for counts (:data:`KILO` = 1000, as the
lecture tables' "Param (k)"), binary steps for memory (:data:`KIB` = 1024, as their "Mem (KB)").
"""

from __future__ import annotations

__all__ = ["human_count", "human_bytes", "shape_text", "KILO", "MEGA", "GIGA", "TERA", "KIB", "MIB", "GIB", "TIB"]

KILO, MEGA, GIGA, TERA = 10**3, 10**6, 10**9, 10**12
"""Decimal prefixes: counts of parameters, MACs, operations."""

KIB, MIB, GIB, TIB = 2**10, 2**20, 2**30, 2**40
"""Binary steps: bytes of memory (printed KB/MB/GB/TB, as the lecture tables do)."""

_COUNT = ((TERA, "T"), (GIGA, "G"), (MEGA, "M"), (KILO, "K"))
_BYTES = ((TIB, "TB"), (GIB, "GB"), (MIB, "MB"), (KIB, "KB"))


def _human(value: float, steps: tuple[tuple[int, str], ...], digits: int, unit: str) -> str:
    for size, suffix in steps:
        if abs(value) >= size:
            scaled = value / size
            decimals = max(0, digits - len(str(int(abs(scaled)))))
            return f"{scaled:.{decimals}f} {suffix}{unit}".rstrip()
    return f"{value:,.0f}{(' ' + unit) if unit else ''}"


def human_count(value: float, *, digits: int = 3) -> str:
    """``105415200 -> '105 M'``, ``34944 -> '34.9 K'`` (decimal prefixes, ``digits`` significant)."""
    return _human(value, _COUNT, digits, "")


def human_bytes(value: float, *, digits: int = 3) -> str:
    """``1161600 -> '1.11 MB'`` with binary (1024) steps, as the lecture tables' KB are."""
    if abs(value) < KIB:
        return f"{value:,.0f} B"
    return _human(value, _BYTES, digits, "")


def shape_text(shape: tuple[int, ...] | list[int]) -> str:
    """``(96, 55, 55) -> '96x55x55'``."""
    return "x".join(str(d) for d in shape)
