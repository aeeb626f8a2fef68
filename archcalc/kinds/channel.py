"""Channel kinds: squeeze-and-excitation (``se``), ``channel_shuffle`` and ``channel_split``."""

from __future__ import annotations

__all__ = ["SqueezeExcite", "ChannelShuffle", "ChannelSplit", "se_mid"]

from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, model_validator

from .. import formulas as F
from ..geometry import ShapeError
from .base import (MAX_SIZE, SAVES_INPUT, Buffer, Example, FvcoreRule, LayerModel, Memory, NonNeg, Pass, Pos, Step,
                   kind, whole_number)
from .elementwise import FVCORE_ELEMENTWISE_OPS
from .pool import pool2d_delta
from .shapes import spatial_axes


class SqueezeExcite(LayerModel):
    """Squeeze-and-excitation: global pool, 1x1 reduce, activation, 1x1 expand, gate, rescale."""

    type: Literal["se"]
    mid: Pos | None = Field(default=None, description="Squeezed channels.")
    reduction: Pos | None = Field(default=None, description="Squeezed channels = C // reduction.")
    activation: Literal["relu", "silu", "hardswish"] = "relu"
    gate: Literal["sigmoid", "hardsigmoid"] = "sigmoid"
    bias: bool = True

    @model_validator(mode="after")
    def _mid_or_reduction(self) -> "SqueezeExcite":
        if (self.mid is None) == (self.reduction is None):
            raise ValueError("give exactly one of 'mid' or 'reduction'")
        return self


class ChannelShuffle(LayerModel):
    """ShuffleNet channel shuffle: a permutation, no arithmetic."""

    type: Literal["channel_shuffle"]
    groups: Pos


class ChannelSplit(LayerModel):
    """Keep one of ``parts`` equal channel chunks (ShuffleNet v2's channel split), no arithmetic."""

    type: Literal["channel_split"]
    parts: Annotated[int, Field(strict=True, ge=2, le=MAX_SIZE), BeforeValidator(whole_number)] = 2
    index: NonNeg = Field(default=0, description="Which chunk to keep, from 0.")

    @model_validator(mode="after")
    def _index_in_range(self) -> "ChannelSplit":
        if self.index >= self.parts:
            raise ValueError(f"index {self.index} is out of range for {self.parts} parts")
        return self


def se_mid(layer: SqueezeExcite, channels: int) -> int:
    """Squeezed channels: ``mid``, or ``channels // reduction``."""
    return layer.mid if layer.mid is not None else channels // layer.reduction  # type: ignore[operator]


se = kind(
    SqueezeExcite,
    fvcore=(FvcoreRule("se_squeeze",
                       "squeeze-excite: fvcore adds its squeeze (adaptive_avg_pool2d, 1 flop per input element) and "
                       "cannot count the gate and rescale; the two 1x1 convolutions agree",
                       pool2d_delta, rf"aten::adaptive_avg_pool[13]d|aten::mul|{FVCORE_ELEMENTWISE_OPS}"),),
    # SE 8 -> 8 // 4 = 2 -> 8 on 4x4: params 2*8*2 + 2 + 8 = 42; MACs 2*8*2 = 32;
    # ops: pool 8*16 + act 2 + gate 8 + rescale 8*16 = 266
    example=Example({"type": "se", "reduction": 4}, (8, 4, 4), (8, 4, 4), params=42, macs=32, ops=266))

shuffle = kind(ChannelShuffle, hidden_in_chart=True,  # a permutation: no arithmetic
               example=Example({"type": "channel_shuffle", "groups": 2}, (8, 4, 4), (8, 4, 4)))
split = kind(ChannelSplit,  # keep chunk 1 of 2: 8 -> 4 channels, no arithmetic
             example=Example({"type": "channel_split", "parts": 2, "index": 1}, (8, 4, 4), (4, 4, 4)))


@se.rule
def _se(layer: SqueezeExcite, shape: tuple[int, ...]) -> Step:
    spatial = spatial_axes(shape, "se")
    c = shape[0]
    mid = se_mid(layer, c)
    if mid < 1:
        raise ShapeError(f"squeeze channels {c} // {layer.reduction} = 0")
    return Step(shape, params=F.se_params(c, mid, bias=layer.bias), macs=F.se_macs(c, mid),
                ops=F.se_ops(c, F.prod(spatial), mid), attrs={"mid": mid})


@se.memory
def _se_memory(row, mode: Pass) -> Memory:
    """Squeeze-excite allocates its output ``x * gate`` while the gate (C values per sample) is alive; before,
    its squeezed vectors come and go two at a time (pooled and fc1's, fc1's and the activation's, ...).
    For backward it keeps ``x``, the pooled vector (fc1's input), the squeezed activation (relu's output,
    or silu/hardswish's input and fc2's input) and the gate (sigmoid's output, or hardsigmoid's input and
    output)."""
    c, mid = row.input_shape[0], row.attrs["mid"]
    if not mode.training:
        pairs = max(c + mid, 2 * mid, 2 * c) - F.prod(row.output_shape)  # before the output exists
        return Memory(scratch=(Buffer(max(c, pairs)),))
    act_keeps = mid if row.layer.activation == "relu" else 2 * mid
    gate_keeps = c if row.layer.gate == "sigmoid" else 2 * c
    return Memory(saves_inputs=SAVES_INPUT, saved=(Buffer(c), Buffer(act_keeps), Buffer(gate_keeps)))


@se.builder
def _build_se(layer: SqueezeExcite, ctx):
    from ..torch import modules as M

    c = ctx.shape[0]
    return M.SqueezeExcite(len(ctx.spatial), c, se_mid(layer, c), layer.activation, layer.gate, layer.bias)


@shuffle.rule
def _shuffle(layer: ChannelShuffle, shape: tuple[int, ...]) -> Step:
    if shape[0] % layer.groups:
        raise ShapeError(f"channels {shape[0]} are not divisible by shuffle groups {layer.groups}")
    return Step(shape, attrs={"groups": layer.groups})


@shuffle.memory
def _shuffle_memory(row, mode: Pass) -> Memory:
    """The reshape after the transpose copies: a new output (unless one group or one channel per group leaves
    nothing to permute: then it is a view); backward needs nothing."""
    return Memory(view=row.layer.groups in (1, row.input_shape[0]))


@shuffle.builder
def _build_shuffle(layer: ChannelShuffle, ctx):
    from ..torch import modules as M

    return M.ChannelShuffle(layer.groups)


@split.rule
def _split(layer: ChannelSplit, shape: tuple[int, ...]) -> Step:
    if shape[0] % layer.parts:
        raise ShapeError(f"channels {shape[0]} do not split into {layer.parts} equal parts")
    return Step((shape[0] // layer.parts, *shape[1:]), attrs={"parts": layer.parts, "index": layer.index})


@split.memory
def _split_memory(row, mode: Pass) -> Memory:
    """A channel slice: a view of its input (its channels and positions still one run of elements per
    sample, so a reshape of them is a view too)."""
    return Memory(view=True)


@split.builder
def _build_split(layer: ChannelSplit, ctx):
    from ..torch import modules as M

    return M.ChannelSplit(ctx.shape[0], layer.parts, layer.index)
