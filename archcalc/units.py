"""Human-readable numbers: one formatter for counts (K/M/G) and one for bytes (KB/MB/GB, 1024-based)."""

from __future__ import annotations

__all__ = ["human_count", "human_bytes", "shape_text"]

_COUNT = ((10**12, "T"), (10**9, "G"), (10**6, "M"), (10**3, "K"))
_BYTES = ((2**40, "TB"), (2**30, "GB"), (2**20, "MB"), (2**10, "KB"))


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
    if abs(value) < 1024:
        return f"{value:,.0f} B"
    return _human(value, _BYTES, digits, "")


def shape_text(shape: tuple[int, ...] | list[int]) -> str:
    """``(96, 55, 55) -> '96x55x55'``."""
    return "x".join(str(d) for d in shape)
