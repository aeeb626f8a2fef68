"""Pooling kinds: window pooling (``maxpool``, ``avgpool``), adaptive pooling and ``global_avgpool``.

Pooling costs one op per window element read (the lecture's convention, seed AlexNet pool1:
96*27*27 * 3*3 = 629,856); those ops are also counted apart as ``pooling_ops`` for the seed total.
"""

from __future__ import annotations

__all__ = ["MaxPool", "AvgPool", "AdaptiveAvgPool", "AdaptiveMaxPool", "GlobalAvgPool", "POOLING_NOT_COUNTED",
           "pool2d_delta"]

from typing import Any, Literal

from pydantic import Field

from .. import formulas as F
from ..geometry import ShapeError, resolve_padding
from ..receptive_field import Ratio, Window
from .base import SAVES_INPUT, Buffer, Example, FvcoreRule, LayerModel, Memory, Pass, Padding, PosOrAxes, Step, kind
from .shapes import axes, check_size, show, show_pad, spatial_axes, window_out, windows


class _Pool(LayerModel):
    kernel: PosOrAxes
    stride: PosOrAxes | None = Field(default=None, description="Defaults to the kernel size.")
    padding: Padding = 0
    ceil_mode: bool = Field(default=False, description="Round the output size up (Caffe).")


class MaxPool(_Pool):
    """Max pooling; costs one op per window element read (the lecture's convention)."""

    type: Literal["maxpool"]
    dilation: PosOrAxes = 1


class AvgPool(_Pool):
    """Average pooling; costs one op per window element read."""

    type: Literal["avgpool"]
    count_include_pad: bool = True


class AdaptiveAvgPool(LayerModel):
    """Adaptive average pooling to a fixed output size (``torch.nn.AdaptiveAvgPool2d``)."""

    type: Literal["adaptive_avgpool"]
    output_size: PosOrAxes


class AdaptiveMaxPool(LayerModel):
    """Adaptive max pooling to a fixed output size."""

    type: Literal["adaptive_maxpool"]
    output_size: PosOrAxes


class GlobalAvgPool(LayerModel):
    """Average over all spatial positions: [C, *spatial] -> [C, 1, ...] (keeps the rank)."""

    type: Literal["global_avgpool"]


# --------------------------------------------------------------------------- fvcore


def pool2d_delta(row: Any) -> int:
    """fvcore counts a 2-D adaptive average pool as 1 flop per input element (other ranks: unsupported)."""
    return F.prod(row.input_shape) if len(row.input_shape) == 3 else 0


ADAPTIVE_AVG_POOL2D = FvcoreRule(
    "adaptive_avg_pool2d",
    "fvcore counts adaptive_avg_pool2d as 1 flop per input element (the 1-D and 3-D ops are "
    "unsupported); archcalc counts pooling reads as ops, not MACs",
    pool2d_delta, r"aten::adaptive_avg_pool[13]d")

POOLING_NOT_COUNTED = FvcoreRule(
    "pooling_not_counted",
    "fvcore has no handle for max/avg pooling; archcalc counts pooling window reads as ops",
    ops=r"aten::(max_pool|avg_pool|adaptive_max_pool)[123]d|aten::pad|aten::mul")


# --------------------------------------------------------------------------- window pooling

window_pool = kind(MaxPool, fvcore=(POOLING_NOT_COUNTED,),
                   # 3x3/2 on 4x9x9 -> 4x4x4; ops 4*4*4 * 9 = 576
                   example=Example({"type": "maxpool", "kernel": 3, "stride": 2}, (4, 9, 9), (4, 4, 4), ops=576))
avg_pool = kind(AvgPool, fvcore=(POOLING_NOT_COUNTED,),
                # 2x2/2 on 4x8x8 -> 4x4x4; ops 64 * 4 = 256
                example=Example({"type": "avgpool", "kernel": 2}, (4, 8, 8), (4, 4, 4), ops=256))


@window_pool.rule
@avg_pool.rule
def _pool(layer: MaxPool | AvgPool, shape: tuple[int, ...]) -> Step:
    spatial = spatial_axes(shape, layer.type)
    n = len(spatial)
    kernel = axes(layer.kernel, n, "kernel")
    stride = axes(layer.stride, n, "stride", default=None) if layer.stride is not None else kernel
    dilation = axes(getattr(layer, "dilation", 1), n, "dilation")
    pads = resolve_padding(layer.padding, spatial, kernel, stride, dilation)
    for (lo, hi), k in zip(pads, kernel):
        if max(lo, hi) > k // 2:
            raise ShapeError(f"pooling padding {max(lo, hi)} must be at most half the kernel ({k} // 2 = {k // 2})")
    out_spatial = window_out(spatial, kernel, stride, pads, dilation, layer.ceil_mode, "pooling window")
    out_shape = check_size((shape[0], *out_spatial))
    pool = F.pool_ops(F.prod(out_shape), F.prod(kernel))
    return Step(out_shape, ops=pool, pooling_ops=pool, windows=windows(kernel, stride, pads, dilation),
                attrs={"kernel": show(kernel), "stride": show(stride), "padding": show_pad(pads),
                       "ceil_mode": layer.ceil_mode})


def _padded(layer: MaxPool | AvgPool, shape: tuple[int, ...], out: tuple[int, ...]) -> tuple[int, ...] | None:
    """The input after the builder's explicit padding (asymmetric pads, or a 3-D average pool smaller than
    its kernel; ceil-mode overhang included), or None when torch's pooling pads by itself."""
    spatial = shape[1:]
    n = len(spatial)
    kernel = axes(layer.kernel, n, "kernel")
    stride = axes(layer.stride, n, "stride") if layer.stride is not None else kernel
    dilation = axes(getattr(layer, "dilation", 1), n, "dilation")
    pads = resolve_padding(layer.padding, spatial, kernel, stride, dilation)
    small_3d = layer.type == "avgpool" and n == 3 and any(s < k for s, k in zip(spatial, kernel))
    if all(lo == hi for lo, hi in pads) and not small_3d:
        return None
    padded = []
    for s, k, st, (lo, hi), d, o in zip(spatial, kernel, stride, pads, dilation, out[1:]):
        window = d * (k - 1) + 1
        padded.append(s + lo + hi + max(0, (o - 1) * st + window - (s + lo + hi)))
    return (shape[0], *padded)


@window_pool.memory
@avg_pool.memory
def _pool_memory(row, mode: Pass) -> Memory:
    """Max pooling keeps its input and the int64 index of each maximum for backward, and computes the
    indices at inference too (scratch; torch's CPU kernel without them is used only outside CUDA and
    dispatch modes); average pooling keeps its input. With explicit padding the padded copy takes the
    input's place."""
    layer = row.layer
    padded = _padded(layer, row.input_shape, row.output_shape)
    indices = (Buffer(F.prod(row.output_shape), "int64"),) if layer.type == "maxpool" else ()
    if mode.training:
        if padded is None:
            return Memory(saves_inputs=SAVES_INPUT, saved=indices)
        return Memory(saved=(Buffer(F.prod(padded)), *indices))
    scratch = indices
    if padded is not None:
        scratch = (*scratch, Buffer(F.prod(padded)))
    return Memory(scratch=scratch)


@window_pool.builder
@avg_pool.builder
def _build_pool(layer: MaxPool | AvgPool, ctx):
    from ..torch import modules as M

    spatial = ctx.spatial
    n = len(spatial)
    kernel = ctx.axes(layer.kernel)
    stride = ctx.axes(layer.stride, default=kernel) if layer.stride is not None else kernel
    dilation = ctx.axes(getattr(layer, "dilation", 1))
    pads = resolve_padding(layer.padding, spatial, kernel, stride, dilation)
    # NB: torch's avg_pool3d refuses an input smaller than the kernel even when the padding makes
    # it fit; explicit padding (WindowAvgPool) computes the same thing.
    small_3d = layer.type == "avgpool" and n == 3 and any(s < k for s, k in zip(spatial, kernel))
    if M.symmetric(pads) and not small_3d:
        padding = tuple(lo for lo, _ in pads)
        if layer.type == "maxpool":
            return M.MAX_POOL[n](kernel, stride, padding=padding, dilation=dilation, ceil_mode=layer.ceil_mode)
        return M.AVG_POOL[n](kernel, stride, padding=padding, ceil_mode=layer.ceil_mode,
                             count_include_pad=layer.count_include_pad)
    out = ctx.row().output_shape[1:]
    if layer.type == "maxpool":
        return M.WindowMaxPool(spatial, kernel, stride, pads, dilation, out)
    return M.WindowAvgPool(spatial, kernel, stride, pads, out, layer.count_include_pad)


# --------------------------------------------------------------------------- adaptive and global pooling

adaptive_avg = kind(AdaptiveAvgPool, fvcore=(ADAPTIVE_AVG_POOL2D,),
                    # 4x6x6 -> 4x3x3, windows 2 per axis: 4 * (3*2) * (3*2) = 144
                    example=Example({"type": "adaptive_avgpool", "output_size": 3}, (4, 6, 6), (4, 3, 3), ops=144))
adaptive_max = kind(AdaptiveMaxPool, fvcore=(POOLING_NOT_COUNTED,),
                    # 4x6x6 -> 4x3x2: rows 3 windows of 2, columns 2 windows of 3: 4 * (3*2) * (2*3) = 144
                    example=Example({"type": "adaptive_maxpool", "output_size": [3, 2]}, (4, 6, 6), (4, 3, 2),
                                    ops=144))
global_avg = kind(GlobalAvgPool, fvcore=(ADAPTIVE_AVG_POOL2D,),
                  # reads every element once: 4*6*6 = 144
                  example=Example({"type": "global_avgpool"}, (4, 6, 6), (4, 1, 1), ops=144))


def _adaptive(shape: tuple[int, ...], out_sizes: tuple[int, ...]) -> Step:
    spatial = shape[1:]
    out_shape = check_size((shape[0], *out_sizes))
    pool = F.adaptive_pool_ops(shape[0], spatial, out_sizes)
    maps = tuple(Ratio(s, o, "adaptive") for s, o in zip(spatial, out_sizes))
    return Step(out_shape, ops=pool, pooling_ops=pool, windows=maps, attrs={"output_size": show(out_sizes)})


@adaptive_avg.rule
@adaptive_max.rule
def _adaptive_pool(layer: AdaptiveAvgPool | AdaptiveMaxPool, shape: tuple[int, ...]) -> Step:
    spatial = spatial_axes(shape, layer.type)
    return _adaptive(shape, axes(layer.output_size, len(spatial), "output_size"))


@global_avg.rule
def _global_pool(layer: GlobalAvgPool, shape: tuple[int, ...]) -> Step:
    spatial = spatial_axes(shape, "global_avgpool")
    step = _adaptive(shape, (1,) * len(spatial))
    step.windows = tuple(Window(s, s, 0) for s in spatial)
    step.attrs = {"kernel": show(spatial)}
    return step


@adaptive_avg.memory
@adaptive_max.memory
def _adaptive_memory(row, mode: Pass) -> Memory:
    """Adaptive average pooling keeps its input for backward, unless it pools to size 1 (torch computes that
    as a mean, whose backward needs only sizes); adaptive max pooling keeps its input and the int64 index
    of each maximum (computed at inference too, as scratch)."""
    if row.type == "adaptive_maxpool":
        indices = (Buffer(F.prod(row.output_shape), "int64"),)
        return Memory(saves_inputs=SAVES_INPUT, saved=indices) if mode.training else Memory(scratch=indices)
    if all(d == 1 for d in row.output_shape[1:]):
        return Memory()
    return Memory(saves_inputs=SAVES_INPUT)


@global_avg.memory
def _global_pool_memory(row, mode: Pass) -> Memory:
    """Pooling to size 1 is a mean over the positions: backward needs only the input's shape."""
    return Memory()


@adaptive_avg.builder
@adaptive_max.builder
def _build_adaptive(layer: AdaptiveAvgPool | AdaptiveMaxPool, ctx):
    from ..torch import modules as M

    table = M.ADAPTIVE_AVG if layer.type == "adaptive_avgpool" else M.ADAPTIVE_MAX
    return table[len(ctx.spatial)](ctx.axes(layer.output_size))


@global_avg.builder
def _build_global_avgpool(layer: GlobalAvgPool, ctx):
    from ..torch import modules as M

    return M.ADAPTIVE_AVG[len(ctx.spatial)](1)  # keeps the rank: [C, 1, 1]
