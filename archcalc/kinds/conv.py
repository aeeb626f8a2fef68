"""Convolution kinds: ``conv`` (1-, 2- or 3-D, grouped, depthwise, TF 'same') and ``conv_transpose``."""

from __future__ import annotations

__all__ = ["Conv", "ConvTranspose", "EXPLICIT_PADDING"]

from typing import Annotated, Literal, Union

from pydantic import BeforeValidator, Field, model_validator

from .. import formulas as F
from ..geometry import ShapeError, conv_channels, resolve_padding
from ..receptive_field import Transposed
from .base import (MAX_SIZE, SAVES_INPUT, Buffer, Example, FvcoreRule, LayerModel, Memory, NonNeg, Padding, Pass, Pos,
                   PosOrAxes, Step, finite_number, kind)
from .shapes import axes, check_size, show, show_pad, spatial_axes, window_out, windows


class Conv(LayerModel):
    """Convolution over 1, 2 or 3 spatial axes (the input's rank decides which)."""

    type: Literal["conv"]
    out: Pos | None = Field(default=None, description="Output channels (filters).")
    out_ratio: Annotated[float, Field(strict=True, gt=0, le=MAX_SIZE), BeforeValidator(finite_number)] | None = Field(
        default=None, description="Output channels as a multiple of the input channels "
        "(DenseNet transition: 0.5); the product must be a whole number.")
    kernel: PosOrAxes = Field(description="Kernel size: an int, or one per spatial axis.")
    stride: PosOrAxes = 1
    padding: Padding = Field(
        default=0, description="Zero padding: an int, one per axis, [low, high] per axis, "
        "'valid' (0) or 'same' (TensorFlow SAME: output = ceil(input / stride)).")
    dilation: PosOrAxes = 1
    groups: Pos | Literal["depthwise"] = Field(
        default=1, description="Channel groups; 'depthwise' means one group per input channel.")
    bias: bool = True

    @model_validator(mode="after")
    def _one_width(self) -> "Conv":
        if (self.out is None) == (self.out_ratio is None) and self.groups != "depthwise":
            raise ValueError("give exactly one of 'out' (channels) or 'out_ratio'")
        if self.out is not None and self.out_ratio is not None:
            raise ValueError("give 'out' or 'out_ratio', not both")
        return self


class ConvTranspose(LayerModel):
    """Transposed ("fractionally strided") convolution, as ``torch.nn.ConvTranspose{1,2,3}d``."""

    type: Literal["conv_transpose"]
    out: Pos
    kernel: PosOrAxes
    stride: PosOrAxes = 1
    padding: Union[NonNeg, Annotated[list[NonNeg], Field(min_length=1, max_length=3)]] = 0
    output_padding: Union[NonNeg, Annotated[list[NonNeg], Field(min_length=1, max_length=3)]] = 0
    dilation: PosOrAxes = 1
    groups: Pos = 1
    bias: bool = True


EXPLICIT_PADDING = FvcoreRule(
    "explicit_padding",
    "asymmetric padding (TensorFlow SAME) and the zero-padding shortcut are copies (aten::pad), "
    "no arithmetic in either count", ops=r"aten::pad")
"""Conv, transposed conv and linear need no MAC reconciliation: fvcore and archcalc both count
``batch * out elements * (c_in/groups) * kernel`` (transposed: per input element), both ignore the bias."""


# --------------------------------------------------------------------------- conv

conv = kind(
    Conv, fvcore=(EXPLICIT_PADDING,),
    # 8 -> 16 channels, 3x3, pad 1 on 10x10: params 16*8*9 + 16 = 1,168; MACs 16*10*10 * 8*9 = 115,200
    example=Example({"type": "conv", "out": 16, "kernel": 3, "padding": 1}, (8, 10, 10), (16, 10, 10),
                    params=1_168, macs=115_200))


@conv.rule
def _conv(layer: Conv, shape: tuple[int, ...]) -> Step:
    spatial = spatial_axes(shape, "conv")
    n = len(spatial)
    c_in = shape[0]
    c_out, groups = conv_channels(layer, c_in)
    kernel = axes(layer.kernel, n, "kernel")
    stride = axes(layer.stride, n, "stride")
    dilation = axes(layer.dilation, n, "dilation")
    pads = resolve_padding(layer.padding, spatial, kernel, stride, dilation)
    out_spatial = window_out(spatial, kernel, stride, pads, dilation, False, "kernel")
    out_shape = check_size((c_out, *out_spatial))
    return Step(
        output_shape=out_shape,
        params=F.conv_params(c_in, c_out, kernel, groups=groups, bias=layer.bias),
        macs=F.conv_macs(c_in, out_shape, kernel, groups=groups),
        windows=windows(kernel, stride, pads, dilation),
        attrs={"filters": c_out, "kernel": show(kernel), "stride": show(stride), "padding": show_pad(pads),
               "groups": groups, "dilation": show(dilation)},
    )


@conv.builder
def _build_conv(layer: Conv, ctx):
    from ..torch import modules as M

    spatial = ctx.spatial
    c_in = ctx.shape[0]
    c_out, groups = conv_channels(layer, c_in)
    kernel, stride, dilation = ctx.axes(layer.kernel), ctx.axes(layer.stride), ctx.axes(layer.dilation)
    pads = resolve_padding(layer.padding, spatial, kernel, stride, dilation)
    n = len(spatial)
    kwargs = dict(stride=stride, dilation=dilation, groups=groups, bias=layer.bias)
    if M.symmetric(pads):
        return M.CONV[n](c_in, c_out, kernel, padding=tuple(lo for lo, _ in pads), **kwargs)
    padded = M.PADDED_CONV[n](c_in, c_out, kernel, padding=0, **kwargs)
    padded.explicit_pad = M.torch_pad(pads)
    return padded


def padded_input(layer: Conv, shape: tuple[int, ...]) -> tuple[int, ...] | None:
    """The input after the explicit ``F.pad`` of an asymmetric ('same') padding, or None when torch's own
    symmetric ``padding=`` is used (the builder's choice)."""
    spatial = shape[1:]
    n = len(spatial)
    kernel, stride = axes(layer.kernel, n, "kernel"), axes(layer.stride, n, "stride")
    pads = resolve_padding(layer.padding, spatial, kernel, stride, axes(layer.dilation, n, "dilation"))
    if all(lo == hi for lo, hi in pads):
        return None
    return (shape[0], *(s + lo + hi for s, (lo, hi) in zip(spatial, pads)))


@conv.memory
def _conv_memory(row, mode: Pass) -> Memory:
    """A convolution keeps its input for backward (the weight is a parameter). With asymmetric padding the
    builder pads explicitly first: the padded copy is what the convolution keeps (or, at inference,
    scratch while it runs)."""
    padded = padded_input(row.layer, row.input_shape) if row.layer is not None else None
    if padded is None:
        return Memory(saves_inputs=SAVES_INPUT)
    copy = (Buffer(F.prod(padded)),)
    return Memory(saved=copy) if mode.training else Memory(scratch=copy)


# --------------------------------------------------------------------------- conv_transpose

conv_transpose = kind(
    ConvTranspose,
    # 8 -> 4, k2 s2 on 5x5: out (5-1)*2 + 2 = 10; params 8*4*4 + 4 = 132; MACs 8*5*5 * 4*4 = 3,200
    example=Example({"type": "conv_transpose", "out": 4, "kernel": 2, "stride": 2}, (8, 5, 5), (4, 10, 10),
                    params=132, macs=3_200))


@conv_transpose.rule
def _conv_transpose(layer: ConvTranspose, shape: tuple[int, ...]) -> Step:
    spatial = spatial_axes(shape, "conv_transpose")
    n = len(spatial)
    c_in, c_out, groups = shape[0], layer.out, layer.groups
    if c_in % groups or c_out % groups:
        raise ShapeError(f"channels {c_in} -> {c_out} are not divisible by groups {groups}")
    kernel = axes(layer.kernel, n, "kernel")
    stride = axes(layer.stride, n, "stride")
    dilation = axes(layer.dilation, n, "dilation")
    padding = axes(layer.padding, n, "padding")
    out_pad = axes(layer.output_padding, n, "output_padding")
    out_spatial = []
    for s, k, st, p, op, d in zip(spatial, kernel, stride, padding, out_pad, dilation):
        if op >= max(st, d):
            raise ShapeError(f"output_padding {op} must be smaller than stride or dilation")
        o = F.conv_transpose_output_length(s, k, st, p, op, d)
        if o < 1:
            raise ShapeError(f"padding {p} leaves no output (size {o})")
        out_spatial.append(o)
    out_shape = check_size((c_out, *out_spatial))
    maps = tuple(Transposed(k, st, p, d) for k, st, p, d in zip(kernel, stride, padding, dilation))
    return Step(
        output_shape=out_shape,
        params=F.conv_params(c_out, c_in, kernel, groups=groups, bias=False) + (c_out if layer.bias else 0),
        macs=F.conv_transpose_macs(shape, c_out, kernel, groups=groups),
        windows=maps,
        attrs={"filters": c_out, "kernel": show(kernel), "stride": show(stride), "padding": show(padding)},
    )


@conv_transpose.memory
def _conv_transpose_memory(row, mode: Pass) -> Memory:
    """A transposed convolution keeps its input for backward."""
    return Memory(saves_inputs=SAVES_INPUT)


@conv_transpose.builder
def _build_conv_transpose(layer: ConvTranspose, ctx):
    from ..torch import modules as M

    n = len(ctx.spatial)
    return M.CONV_T[n](ctx.shape[0], layer.out, ctx.axes(layer.kernel), stride=ctx.axes(layer.stride),
                       padding=ctx.axes(layer.padding), output_padding=ctx.axes(layer.output_padding),
                       groups=layer.groups, bias=layer.bias, dilation=ctx.axes(layer.dilation))
