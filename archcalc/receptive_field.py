"""Receptive fields, exactly: which network-input positions each output position depends on.

Definition (per spatial axis). The field of output position ``u`` is the interval
``[first(u), last(u)]`` of input positions it depends on -- the extent of the support of
``d out[u] / d input`` when no weight is zero (dilation holes included in the extent). The input
is taken to extend without bound, so padding positions count, as in Araujo, Norris & Sim,
"Computing Receptive Fields of Convolutional Neural Networks", Distill 2019. archcalc reports

* ``size``: the largest field over all output positions, ``max_u last(u) - first(u) + 1``;
* ``jump``: input positions per output step (exact on average; a fraction after upsampling);
* ``start``: the centre of output 0's field, ``(first(0) + last(0) + 1) / 2``, pixel ``i`` spanning
  ``[i, i + 1)`` (the input itself: size 1, jump 1, start 0.5).

For chains of convolutions and pools every field has the same size and ``start + u*jump`` is the
centre of the field of ``u``: the familiar recurrence (AlexNet pool5 195, VGG-16 212, ResNet-50
483). Transposed convolutions, adaptive pooling and upsampling read windows that vary with the
position, so ``first`` and ``last`` become quasi-periodic: ``first(u + P) = first(u) + Q``. A
:class:`Field` holds one period of both, which makes the size exact for every layer kind and
every chain. The period multiplies through layers with incommensurate ratios; past
:data:`MAX_PERIOD` positions the field is not tracked (``None``, shown as ``-``).
"""

from __future__ import annotations

__all__ = ["Field", "Window", "Transposed", "Ratio", "AxisMap", "MAX_PERIOD", "INPUT", "through", "union"]

from dataclasses import dataclass
from math import gcd
from typing import Literal, Union

from . import formulas as F

MAX_PERIOD = 4096
"""Largest period (output positions) a field is tracked over; beyond it the field is ``None``."""


# --------------------------------------------------------------------------- per-layer index maps
# Each map says which positions of the layer's input output ``u`` reads: ``reads(u)`` is the
# extent ``(first, last)`` (``None``: none), the taps being ``first, first + step, ..., last``; and
# its period ``(gamma, alpha)``: ``reads(u + gamma) = reads(u) + alpha``.


@dataclass(frozen=True, slots=True)
class Window:
    """Convolution, pooling, crop and strided shortcut: ``kernel`` taps ``dilation`` apart."""

    kernel: int
    stride: int
    pad_low: int
    dilation: int = 1

    @property
    def period(self) -> tuple[int, int]:
        return 1, self.stride

    @property
    def step(self) -> int:
        return self.dilation

    def reads(self, u: int) -> tuple[int, int] | None:
        return F.window_reads(u, kernel=self.kernel, stride=self.stride, pad_low=self.pad_low,
                              dilation=self.dilation)


@dataclass(frozen=True, slots=True)
class Transposed:
    """Transposed convolution (PyTorch ``ConvTranspose``)."""

    kernel: int
    stride: int
    padding: int
    dilation: int = 1

    @property
    def period(self) -> tuple[int, int]:
        return self.stride, 1

    @property
    def step(self) -> int:
        return self.dilation // gcd(self.dilation, self.stride)

    def reads(self, u: int) -> tuple[int, int] | None:
        return F.conv_transpose_reads(u, kernel=self.kernel, stride=self.stride, padding=self.padding,
                                      dilation=self.dilation)


_RATIO_READS = {"adaptive": F.adaptive_reads, "nearest": F.nearest_reads, "linear": F.linear_reads}


@dataclass(frozen=True, slots=True)
class Ratio:
    """A map from ``in_size`` to ``out_size`` positions: adaptive pooling or upsampling."""

    in_size: int
    out_size: int
    mode: Literal["adaptive", "nearest", "linear"]

    @property
    def period(self) -> tuple[int, int]:
        g = gcd(self.in_size, self.out_size)
        return self.out_size // g, self.in_size // g

    step = 1

    def reads(self, u: int) -> tuple[int, int] | None:
        return _RATIO_READS[self.mode](u, in_size=self.in_size, out_size=self.out_size)


AxisMap = Union[Window, Transposed, Ratio]


# --------------------------------------------------------------------------- fields


@dataclass(frozen=True, slots=True)
class Field:
    """One axis's fields: output ``u = q*period + r`` depends on input positions
    ``first[r] + q*shift .. last[r] + q*shift`` (``None``: on none, e.g. between the taps of a
    transposed convolution whose kernel is smaller than its stride)."""

    period: int
    shift: int
    first: tuple[int | None, ...]
    last: tuple[int | None, ...]

    def at(self, u: int) -> tuple[int, int] | None:
        q, r = divmod(u, self.period)
        f = self.first[r]
        if f is None:
            return None
        return f + q * self.shift, self.last[r] + q * self.shift  # type: ignore[operator]

    @property
    def size(self) -> int:
        """The largest field (0 when no output depends on the input)."""
        return max((l - f + 1 for f, l in zip(self.first, self.last) if f is not None), default=0)  # type: ignore[operator]

    @property
    def jump(self) -> float:
        return self.shift / self.period

    @property
    def start(self) -> float:
        """Centre of output 0's field (of the first output that has one, moved back by its jumps)."""
        for r, (f, l) in enumerate(zip(self.first, self.last)):
            if f is not None:
                return (f + l + 1) / 2 - r * self.jump  # type: ignore[operator]
        return 0.5

    def summary(self) -> tuple[int, float, float]:
        return self.size, self.jump, self.start


INPUT = Field(1, 1, (0,), (0,))
"""The network input: position ``u`` depends on itself."""


def _ordered(field: Field) -> bool:
    """Whether every position has a field and ``first``, ``last`` never decrease with the position.

    Then the taps ``a .. b`` depend on ``first(a) .. last(b)``. A dilated transposed convolution
    can break the order (output ``u`` of a k3 s3 d2 p2 up-conv reads input 0, 1, 0, ...).
    """
    if any(f is None for f in field.first):
        return False
    for seq in (field.first, field.last):
        wrapped = (*seq, seq[0] + field.shift)  # type: ignore[operator]
        if any(x > y for x, y in zip(wrapped, wrapped[1:])):  # type: ignore[operator]
            return False
    return True


def _taps_span(field: Field, a: int, b: int, step: int) -> tuple[int, int] | None:
    """``(min first, max last)`` over the taps ``a, a + step, ..., b`` that have a field.

    Tap ``j + P`` lies ``step`` periods after tap ``j`` and its field ``step*shift`` later, so the
    smallest ``first`` is among the first ``P`` taps and the largest ``last`` among the last ``P``.
    """
    look = min((b - a) // step + 1, field.period)
    lows = [s[0] for s in (field.at(a + j * step) for j in range(look)) if s is not None]
    highs = [s[1] for s in (field.at(b - j * step) for j in range(look)) if s is not None]
    if not lows:
        return None
    return min(lows), max(highs)


def through(field: Field, axis_map: AxisMap) -> Field | None:
    """The fields of a layer's outputs, given the fields of its inputs and which inputs it reads."""
    gamma, alpha = axis_map.period
    t = field.period // gcd(alpha, field.period)
    period, shift = gamma * t, field.shift * (alpha * t // field.period)
    if period > MAX_PERIOD:
        return None
    ordered = _ordered(field)
    first: list[int | None] = []
    last: list[int | None] = []
    for u in range(period):
        w = axis_map.reads(u)
        if w is not None:
            if ordered:
                w = field.at(w[0])[0], field.at(w[1])[1]  # type: ignore[index]
            else:
                w = _taps_span(field, w[0], w[1], axis_map.step)
        first.append(None if w is None else w[0])
        last.append(None if w is None else w[1])
    return Field(period, shift, tuple(first), tuple(last))


def union(fields: list[Field | None]) -> Field | None:
    """Fields of a sum or concatenation of branches: per output, the union of the branches' fields.

    Branches on different grids (different jumps) have no common period: the union is ``None``.
    """
    if not fields or any(f is None for f in fields):
        return None
    f0 = fields[0]
    if any(f.shift * f0.period != f0.shift * f.period for f in fields):  # type: ignore[union-attr]
        return None
    period = 1
    for f in fields:
        period = period * f.period // gcd(period, f.period)  # type: ignore[union-attr]
    if period > MAX_PERIOD:
        return None
    shift = f0.shift * (period // f0.period)  # type: ignore[union-attr]
    first: list[int | None] = []
    last: list[int | None] = []
    for u in range(period):
        spans = [s for s in (f.at(u) for f in fields) if s is not None]  # type: ignore[union-attr]
        first.append(min(s[0] for s in spans) if spans else None)
        last.append(max(s[1] for s in spans) if spans else None)
    return Field(period, shift, tuple(first), tuple(last))
