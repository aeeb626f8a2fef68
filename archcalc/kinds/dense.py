"""Dense and reshaping kinds: ``linear`` (on a flat input, or per position over channels) and ``flatten``."""

from __future__ import annotations

__all__ = ["Linear", "Flatten"]

from typing import Literal

from pydantic import Field

from .. import formulas as F
from ..geometry import ShapeError
from .base import SAVES_INPUT, Buffer, Example, FvcoreRule, LayerModel, Memory, Pass, Pos, Step, kind
from .shapes import check_size, spatial_axes


class Linear(LayerModel):
    """Fully connected layer on a flat input [features] (add ``flatten`` before it), or with
    ``per_position: true`` over the channels at every position of [C, *spatial] (ConvNeXt's ``Linear``
    on a channels-last tensor: the numbers of a 1x1 convolution, built as ``torch.nn.Linear``)."""

    type: Literal["linear"]
    out: Pos
    bias: bool = True
    per_position: bool = Field(default=False, description="Apply over the channel axis at every position of a "
                                                          "[C, *spatial] input (ConvNeXt's channels-last Linear).")


class Flatten(LayerModel):
    """Flatten [C, *spatial] to [C * prod(spatial)]."""

    type: Literal["flatten"]


CHANNELS_LAST = FvcoreRule("channels_last", "a per-position linear moves the channels last and back "
                           "(aten::movedim, which fvcore lists as unsupported); no arithmetic", ops=r"aten::(movedim|permute)")

linear = kind(Linear, fvcore=(CHANNELS_LAST,),  # 12*10 + 10 = 130 params, 12*10 = 120 MACs
              example=Example({"type": "linear", "out": 10}, (12,), (10,), params=130, macs=120),
              # per position: 8*16 + 16 = 144 params; 8*16 MACs at each of 3*3 positions: 1,152
              variants=(Example({"type": "linear", "out": 16, "per_position": True}, (8, 3, 3), (16, 3, 3),
                                params=144, macs=1_152),))
flatten = kind(Flatten, hidden_in_chart=True,  # 4*3*3 = 36 features, no arithmetic
               example=Example({"type": "flatten"}, (4, 3, 3), (36,)))


@linear.rule
def _linear(layer: Linear, shape: tuple[int, ...]) -> Step:
    if layer.per_position:
        spatial = spatial_axes(shape, "a per-position linear")
        out_shape = check_size((layer.out, *spatial))
        return Step(out_shape, params=F.linear_params(shape[0], layer.out, bias=layer.bias),
                    macs=F.linear_macs(shape[0], layer.out, F.prod(spatial)), attrs={"filters": layer.out})
    if len(shape) != 1:
        raise ShapeError(f"linear needs a flat input [features], got {list(shape)}; add {{type: flatten}} before it, "
                         "or say 'per_position: true' to apply it over the channels at every position")
    return Step((layer.out,), params=F.linear_params(shape[0], layer.out, bias=layer.bias),
                macs=F.linear_macs(shape[0], layer.out), attrs={"filters": layer.out})


@linear.memory
def _linear_memory(row, mode: Pass) -> Memory:
    """A linear layer keeps its input for backward (the weight is a parameter). Per position, it runs on
    the input with its channels moved last: unless the input is laid out channels-last already, matmul
    copies it to a contiguous tensor first, and that copy is what it keeps (at inference, scratch), and
    adds the bias apart; its output is channels-last."""
    if not row.layer.per_position:
        return Memory(saves_inputs=SAVES_INPUT)
    if (mode.channels_last and not mode.strided) or F.prod(row.input_shape[1:]) == 1:
        return Memory(saves_inputs=SAVES_INPUT, channels_last=True)
    # the copy, then mm (the copy alive), then a separate bias add (the product alive): besides the output,
    # the larger of the two at inference; in training the copy is kept and the product is scratch
    copy, product = F.prod(row.input_shape), F.prod(row.output_shape)
    if mode.training:
        return Memory(saved=(Buffer(copy),), scratch=(Buffer(product),) if row.layer.bias else (), channels_last=True)
    return Memory(scratch=(Buffer(max(copy, product) if row.layer.bias else copy),), channels_last=True)


@linear.builder
def _build_linear(layer: Linear, ctx):
    from torch import nn

    from ..torch.modules import BuildError, ChannelLinear

    if layer.per_position:
        return ChannelLinear(ctx.shape[0], layer.out, bias=layer.bias)
    if len(ctx.shape) != 1:
        raise BuildError(f"layer {ctx.path}: linear needs a flat input, got {list(ctx.shape)}")
    return nn.Linear(ctx.shape[0], layer.out, bias=layer.bias)


@flatten.rule
def _flatten(layer: Flatten, shape: tuple[int, ...]) -> Step:
    return Step(check_size((F.prod(shape),)), flattens=True)


@flatten.memory
def _flatten_memory(row, mode: Pass) -> Memory:
    """A view of its input: nothing allocated, nothing kept; unless the input is a strided view (a crop, a
    channel slice) or laid out channels-last with more than one position, which the reshape must copy."""
    copies = mode.strided or (mode.channels_last and F.prod(row.input_shape[1:]) > 1)
    return Memory(view=not copies, channels_last=False)


@flatten.builder
def _build_flatten(layer: Flatten, ctx):
    from torch import nn

    return nn.Flatten()
