"""Small helpers the analysis rules share: spatial axes, per-axis values, output sizes, display.

Arithmetic stays in :mod:`archcalc.formulas`; these only unpack fields and check fit, raising
:class:`~archcalc.geometry.ShapeError` (located by the engine) when a layer does not fit its input.
"""

from __future__ import annotations

__all__ = ["spatial_axes", "axes", "check_size", "window_out", "windows", "show", "show_pad"]

from typing import Any

from .. import formulas as F
from ..geometry import ShapeError, per_axis
from ..receptive_field import Window
from .base import MAX_SIZE


def spatial_axes(shape: tuple[int, ...], what: str) -> tuple[int, ...]:
    """The spatial sizes of ``[C, *spatial]`` (1 to 3 axes)."""
    if len(shape) < 2 or len(shape) > 4:
        raise ShapeError(f"{what} needs an input [C, L], [C, H, W] or [C, D, H, W], got {list(shape)}")
    return shape[1:]


def axes(value: int | list[int] | None, n: int, what: str, default: int | None = None) -> tuple[int, ...]:
    """A per-axis value (one int for every axis, or one per axis) as ``n`` ints."""
    return per_axis(default if value is None else value, n, what)  # type: ignore[arg-type]


def check_size(shape: tuple[int, ...]) -> tuple[int, ...]:
    """Refuse a dimension no framework indexes (2^31 - 1)."""
    for d in shape:
        if d > MAX_SIZE:
            raise ShapeError(f"output dimension {d:,} is beyond 2^31 - 1")
    return shape


def window_out(spatial, kernel, stride, pads, dilation, ceil_mode, what) -> tuple[int, ...]:
    """Output sizes of a sliding window (convolution or pooling), or a ShapeError if it does not fit."""
    out = []
    for axis, (s, k, st, (lo, hi), d) in enumerate(zip(spatial, kernel, stride, pads, dilation)):
        o = F.conv_output_length(s, k, st, lo, hi, d, ceil_mode=ceil_mode)
        if o < 1:
            eff = d * (k - 1) + 1
            raise ShapeError(f"{what} of size {eff} (kernel {k}, dilation {d}) is larger than the padded input "
                             f"{s} + {lo} + {hi} = {s + lo + hi} along spatial axis {axis}")
        out.append(o)
    return tuple(out)


def windows(kernel, stride, pads, dilation) -> tuple[Window, ...]:
    """The receptive-field map of a sliding window, per axis."""
    return tuple(Window(k, s, p[0], d) for k, s, p, d in zip(kernel, stride, pads, dilation))


def show_pad(pads: tuple[tuple[int, int], ...]) -> Any:
    """Padding as a table shows it: one int, one per axis, or [low, high] pairs."""
    if all(lo == hi for lo, hi in pads):
        vals = [lo for lo, _ in pads]
        return vals[0] if len(set(vals)) == 1 else vals
    return [list(p) for p in pads]


def show(values: tuple[int, ...]) -> Any:
    """One int when every axis agrees, else the list."""
    return values[0] if len(set(values)) == 1 else list(values)
