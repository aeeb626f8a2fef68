"""Resampling kinds: ``upsample`` (nearest, linear, bilinear, trilinear) and the centre ``crop``."""

from __future__ import annotations

__all__ = ["Upsample", "Crop"]

from typing import Annotated, Any, Literal, Union

from pydantic import Field, model_validator

from .. import formulas as F
from ..geometry import ShapeError
from ..receptive_field import Ratio, Window
from .base import Example, FvcoreRule, LayerModel, Memory, Pass, Pos, PosOrAxes, Step, kind
from .shapes import axes, check_size, show, spatial_axes


class Upsample(LayerModel):
    """Upsampling by a scale factor or to a size (nearest: no arithmetic)."""

    type: Literal["upsample"]
    scale: Union[Pos, Annotated[list[Pos], Field(min_length=1, max_length=3)]] | None = None
    size: PosOrAxes | None = None
    mode: Literal["nearest", "linear", "bilinear", "trilinear"] = "nearest"

    @model_validator(mode="after")
    def _scale_or_size(self) -> "Upsample":
        if (self.scale is None) == (self.size is None):
            raise ValueError("give exactly one of 'scale' or 'size'")
        return self


class Crop(LayerModel):
    """Centre crop of the spatial axes to ``size`` (U-Net's crop before a skip concatenation)."""

    type: Literal["crop"]
    size: PosOrAxes


def _upsample_delta(row: Any) -> int:
    """fvcore: upsample_nearest2d is 1 flop per output element, upsample_bilinear2d 4 (other ranks: none)."""
    if len(row.input_shape) != 3:
        return 0
    return F.prod(row.output_shape) * (1 if row.layer.mode == "nearest" else 4)


upsample = kind(
    Upsample,
    fvcore=(FvcoreRule("upsample_interpolation",
                       "fvcore counts upsample_nearest2d as 1 and upsample_bilinear2d as 4 flops per output element "
                       "(other ranks unsupported); archcalc counts interpolation as ops",
                       _upsample_delta, r"aten::upsample_\w+"),),
    # bilinear x2 on 2x3x3 -> 2x6x6: 2*6*6 = 72 outputs * 2^2 taps = 288
    example=Example({"type": "upsample", "scale": 2, "mode": "bilinear"}, (2, 3, 3), (2, 6, 6), ops=288))

crop = kind(Crop,  # centre crop 6x6 -> 4x4: a view, no arithmetic
            example=Example({"type": "crop", "size": 4}, (2, 6, 6), (2, 4, 4)))


@upsample.rule
def _upsample(layer: Upsample, shape: tuple[int, ...]) -> Step:
    spatial = spatial_axes(shape, "upsample")
    n = len(spatial)
    if layer.size is not None:
        out_spatial = axes(layer.size, n, "size")
    else:
        out_spatial = tuple(s * f for s, f in zip(spatial, axes(layer.scale, n, "scale")))
    out_shape = check_size((shape[0], *out_spatial))
    # nearest reads one input per axis, (bi/tri)linear two neighbours (see formulas.linear_reads)
    mode = "nearest" if layer.mode == "nearest" else "linear"
    maps = tuple(Ratio(s, o, mode) for s, o in zip(spatial, out_spatial))
    return Step(out_shape, ops=F.upsample_ops(F.prod(out_shape), layer.mode, n), windows=maps,
                attrs={"mode": layer.mode})


@upsample.memory
def _upsample_memory(row, mode: Pass) -> Memory:
    """Upsampling allocates its output; its backward needs only the sizes."""
    return Memory()


@upsample.builder
def _build_upsample(layer: Upsample, ctx):
    from torch import nn

    from ..torch import modules as M

    n = len(ctx.spatial)
    # NB: the analyzer treats linear/bilinear/trilinear alike (interpolate along every axis);
    # torch names the mode by rank, so the rank picks it.
    mode = "nearest" if layer.mode == "nearest" else M.UPSAMPLE_MODE[n]
    if layer.size is not None:
        return nn.Upsample(size=ctx.axes(layer.size), mode=mode)
    return nn.Upsample(scale_factor=tuple(float(s) for s in ctx.axes(layer.scale)), mode=mode)


@crop.rule
def _crop(layer: Crop, shape: tuple[int, ...]) -> Step:
    spatial = spatial_axes(shape, "crop")
    size = axes(layer.size, len(spatial), "size")
    for axis, (s, c) in enumerate(zip(spatial, size)):
        if c > s:
            raise ShapeError(f"cannot crop {s} to {c} along spatial axis {axis}")
    # NB: a centre crop keeps the grid; the first output pixel moves by (s - c) // 2 inputs.
    maps = tuple(Window(1, 1, -((s - c) // 2)) for s, c in zip(spatial, size))
    return Step((shape[0], *size), windows=maps, attrs={"size": show(size)})


@crop.memory
def _crop_memory(row, mode: Pass) -> Memory:
    """A centre crop is a slice: a view of its input, strided (a reshape of [C, *spatial] must copy it)
    unless its elements are still evenly spaced."""
    return Memory(view=True, strided=not _evenly_spaced(row.output_shape, row.input_shape))


def _evenly_spaced(shape: tuple[int, ...], base: tuple[int, ...]) -> bool:
    """Whether a slice of ``shape`` from a contiguous ``base`` can be viewed as one run of elements: each
    axis' step equals the next kept axis' size times its step (axes of size 1 do not count)."""
    strides = [1] * len(base)
    for i in range(len(base) - 2, -1, -1):
        strides[i] = strides[i + 1] * base[i + 1]
    kept = [(n, st) for n, st in zip(shape, strides) if n != 1]
    return all(st == n * inner for (_, st), (n, inner) in zip(kept, kept[1:]))


@crop.builder
def _build_crop(layer: Crop, ctx):
    from ..torch import modules as M

    return M.CenterCrop(ctx.spatial, ctx.axes(layer.size))
