"""The colour of a box: its cost on a logarithmic scale, light to strong, with black text readable
on every colour.

Costs of layers span orders of magnitude (a ReLU's memory next to a fully connected layer's
parameters), so the scale is logarithmic between the smallest and the largest non-zero cost drawn;
a zero cost is white. The ramp is ColorBrewer's YlOrRd without its dark end: even its strongest
colour keeps a contrast above 5.5:1 with the near-black text (WCAG AA asks 4.5:1).
"""

from __future__ import annotations

__all__ = ["ColorScale", "RAMP", "ZERO", "NEUTRAL", "contrast"]

import math
from dataclasses import dataclass
from typing import Callable, Iterable

RAMP = ("#ffffcc", "#ffeda0", "#fed976", "#feb24c", "#fd8d3c", "#fc6b36")
ZERO = "#ffffff"
NEUTRAL = "#f4f6f8"  # every box when the diagram is not coloured


def _rgb(color: str) -> tuple[int, int, int]:
    return int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16)


def _luminance(color: str) -> float:
    def lin(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.04045 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = (lin(c) for c in _rgb(color))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    """WCAG contrast ratio of two ``#rrggbb`` colours (1 to 21)."""
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


@dataclass(frozen=True)
class ColorScale:
    """``lo``..``hi``: the smallest and largest non-zero value coloured (0 when there is none);
    ``label``: what is coloured (``"MACs"``); ``fmt``: a value in human units."""

    lo: float
    hi: float
    label: str
    fmt: Callable[[float], str]

    @classmethod
    def of(cls, values: Iterable[float], *, label: str, fmt: Callable[[float], str]) -> "ColorScale":
        positive = [v for v in values if v > 0]
        return cls(min(positive, default=0), max(positive, default=0), label, fmt)

    def fraction(self, value: float) -> float:
        """Where ``value`` lies on the ramp, 0 to 1 (log scale)."""
        if value <= 0 or self.hi <= 0:
            return 0.0
        if self.hi <= self.lo:
            return 1.0
        t = (math.log10(value) - math.log10(self.lo)) / (math.log10(self.hi) - math.log10(self.lo))
        return min(1.0, max(0.0, t))

    def color(self, value: float) -> str:
        if value <= 0 or self.hi <= 0:
            return ZERO
        return ramp_color(self.fraction(value))

    def ticks(self, most: int = 5) -> list[tuple[float, str]]:
        """(fraction, label) of the legend's ticks: powers of ten inside the range (every second or
        third when there are many), else its two ends."""
        if self.hi <= 0:
            return []
        first, last = math.ceil(math.log10(self.lo) - 1e-9), math.floor(math.log10(self.hi) + 1e-9)
        decades = list(range(first, last + 1))
        if len(decades) < 2:
            ends = [self.lo] if self.hi <= self.lo else [self.lo, self.hi]
            return [(self.fraction(v), self.fmt(v)) for v in ends]
        step = math.ceil(len(decades) / most)
        return [(self.fraction(10.0 ** d), self.fmt(10.0 ** d)) for d in decades[::step]]


def ramp_color(t: float) -> str:
    """The ramp's colour at ``t`` (0 to 1), interpolated in sRGB between its stops."""
    t = min(1.0, max(0.0, t))
    pos = t * (len(RAMP) - 1)
    i = min(int(pos), len(RAMP) - 2)
    f = pos - i
    a, b = _rgb(RAMP[i]), _rgb(RAMP[i + 1])
    return "#{:02x}{:02x}{:02x}".format(*(round(x + (y - x) * f) for x, y in zip(a, b)))
