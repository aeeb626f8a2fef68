"""Reading a layer's geometry from its spec fields: per-axis values, padding, output channels.

Shared by the analyzer's rules and the torch builder, so both read a spec the same way.
Raises :class:`ShapeError` (a ``ValueError``) when a field does not fit the input.
"""

from __future__ import annotations

__all__ = ["MAX_DIM", "ShapeError", "per_axis", "resolve_padding", "conv_channels"]

from typing import Any

from . import formulas as F

MAX_DIM = 2**31 - 1
"""The largest size a spec may give (input size, channels, kernel, repeat count...) and the largest
dimension a layer may produce: the int32 maximum, what frameworks index tensor dimensions with."""


class ShapeError(ValueError):
    """The layer cannot be applied to its input (the message says why)."""


def per_axis(value: int | list[int], n: int, what: str) -> tuple[int, ...]:
    """An int, a one-element list, or one value per spatial axis -> one value per axis."""
    if isinstance(value, int):
        return (value,) * n
    if len(value) == 1:
        return tuple(value) * n
    if len(value) != n:
        raise ShapeError(f"{what} has {len(value)} values but the input has {n} spatial axes")
    return tuple(value)


def resolve_padding(value: Any, spatial: tuple[int, ...], kernel: tuple[int, ...], stride: tuple[int, ...],
                    dilation: tuple[int, ...]) -> tuple[tuple[int, int], ...]:
    """A spec ``padding`` as ``(low, high)`` per spatial axis ('same' is TensorFlow SAME)."""
    n = len(spatial)
    if value == "valid":
        return ((0, 0),) * n
    if value == "same":
        return tuple(F.same_padding(s, k, st, d) for s, k, st, d in zip(spatial, kernel, stride, dilation))
    if isinstance(value, int):
        return ((value, value),) * n
    items = list(value)
    if len(items) == 1:
        items = items * n
    if len(items) != n:
        raise ShapeError(f"padding has {len(items)} values but the input has {n} spatial axes")
    return tuple((p, p) if isinstance(p, int) else (p[0], p[1]) for p in items)


def conv_channels(layer: Any, c_in: int) -> tuple[int, int]:
    """``(out_channels, groups)`` of a ``conv`` layer on ``c_in`` input channels."""
    groups = c_in if layer.groups == "depthwise" else layer.groups
    if layer.out is not None:
        c_out = layer.out
    elif layer.out_ratio is not None:
        exact = c_in * layer.out_ratio
        if abs(exact - round(exact)) > 1e-9:
            raise ShapeError(f"out_ratio {layer.out_ratio} of {c_in} input channels is {exact:g}, not whole")
        c_out = int(round(exact))
    else:
        c_out = c_in  # depthwise without 'out'
    if c_in % groups:
        raise ShapeError(f"input channels {c_in} are not divisible by groups {groups}")
    if c_out % groups:
        raise ShapeError(f"output channels {c_out} are not divisible by groups {groups}")
    return c_out, groups
