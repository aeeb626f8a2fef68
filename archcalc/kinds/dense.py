"""Dense and reshaping kinds: ``linear`` (on a flat input) and ``flatten``."""

from __future__ import annotations

__all__ = ["Linear", "Flatten"]

from typing import Literal

from .. import formulas as F
from ..geometry import ShapeError
from .base import Example, LayerModel, Pos, Step, kind
from .shapes import check_size


class Linear(LayerModel):
    """Fully connected layer on a flat input [features] (add ``flatten`` before it)."""

    type: Literal["linear"]
    out: Pos
    bias: bool = True


class Flatten(LayerModel):
    """Flatten [C, *spatial] to [C * prod(spatial)]."""

    type: Literal["flatten"]


linear = kind(Linear,  # 12*10 + 10 = 130 params, 12*10 = 120 MACs
              example=Example({"type": "linear", "out": 10}, (12,), (10,), params=130, macs=120))
flatten = kind(Flatten, hidden_in_chart=True,  # 4*3*3 = 36 features, no arithmetic
               example=Example({"type": "flatten"}, (4, 3, 3), (36,)))


@linear.rule
def _linear(layer: Linear, shape: tuple[int, ...]) -> Step:
    if len(shape) != 1:
        raise ShapeError(f"linear needs a flat input [features], got {list(shape)}; add {{type: flatten}} before it")
    return Step((layer.out,), params=F.linear_params(shape[0], layer.out, bias=layer.bias),
                macs=F.linear_macs(shape[0], layer.out), attrs={"filters": layer.out})


@linear.builder
def _build_linear(layer: Linear, ctx):
    from torch import nn

    from ..torch.modules import BuildError

    if len(ctx.shape) != 1:
        raise BuildError(f"layer {ctx.path}: linear needs a flat input, got {list(ctx.shape)}")
    return nn.Linear(ctx.shape[0], layer.out, bias=layer.bias)


@flatten.rule
def _flatten(layer: Flatten, shape: tuple[int, ...]) -> Step:
    return Step(check_size((F.prod(shape),)), flattens=True)


@flatten.builder
def _build_flatten(layer: Flatten, ctx):
    from torch import nn

    return nn.Flatten()
