"""Element-wise kinds: the activations, ``dropout``, ``stochastic_depth``, ``layer_scale`` and ``softmax``."""

from __future__ import annotations

__all__ = ["Activation", "Dropout", "StochasticDepth", "LayerScale", "Softmax", "ACTIVATION_KINDS", "ActivationName", "ELEMENTWISE_NOT_COUNTED",
           "FVCORE_ELEMENTWISE_OPS"]

from typing import Annotated, Literal, get_args

from pydantic import BeforeValidator, Field, model_validator

from .. import formulas as F
from .base import SAVES_INPUT, Buffer, Example, Float, FvcoreRule, LayerModel, Memory, Pass, Step, finite_number, kind

ActivationName = Literal["relu", "relu6", "leaky_relu", "elu", "gelu", "sigmoid", "tanh",
                         "hardswish", "hardsigmoid", "silu", "mish"]
ACTIVATION_KINDS: tuple[str, ...] = get_args(ActivationName)


class Activation(LayerModel):
    """An element-wise nonlinearity (one op per element)."""

    type: ActivationName
    negative_slope: Float | None = Field(default=None, description="leaky_relu only.")

    @model_validator(mode="after")
    def _slope_only_for_leaky(self) -> "Activation":
        if self.negative_slope is not None and self.type != "leaky_relu":
            raise ValueError("'negative_slope' applies to leaky_relu only")
        return self


class Dropout(LayerModel):
    """Dropout: the identity at inference, no cost."""

    type: Literal["dropout"]
    p: Annotated[float, Field(strict=True, ge=0, lt=1), BeforeValidator(finite_number)] = 0.5


class StochasticDepth(LayerModel):
    """Stochastic depth (drop path): in training, drops the whole residual branch of a sample (``row``) or
    of the batch (``batch``) with probability ``p``; the identity at inference, no cost (torchvision's
    ``StochasticDepth``: put it last in the residual body, where ConvNeXt and EfficientNet have it)."""

    type: Literal["stochastic_depth"]
    p: Annotated[float, Field(strict=True, ge=0, le=1), BeforeValidator(finite_number)] = 0.0
    mode: Literal["row", "batch"] = "row"


class LayerScale(LayerModel):
    """A learnable scale per channel (CaiT, ConvNeXt): ``gamma * x``; C params, 1 op per element."""

    type: Literal["layer_scale"]
    init: Float = Field(default=1e-6, description="The initial value of every gamma (ConvNeXt: 1e-6).")


class Softmax(LayerModel):
    """Softmax over the channel axis (3 ops per element: exp, sum, divide)."""

    type: Literal["softmax"]


_ELEMENTWISE_OPS = r"aten::(hardtanh|leaky_relu|elu|gelu|sigmoid|tanh|hardswish|hardsigmoid|silu|mish)_?"

ELEMENTWISE_NOT_COUNTED = FvcoreRule(
    "elementwise_not_counted",
    "fvcore ignores relu and cannot count other activations or the residual add; archcalc counts "
    "them as 1 op per element, not MACs", ops=rf"{_ELEMENTWISE_OPS}|aten::add_?")
"""Also the residual ``add`` row's rule (:mod:`archcalc.kinds.composite`)."""

FVCORE_ELEMENTWISE_OPS = _ELEMENTWISE_OPS
"""The activation operators fvcore cannot count (squeeze-excite's gate uses them too)."""


activation = kind(Activation, fvcore=(ELEMENTWISE_NOT_COUNTED,), hidden_in_seed=True, hidden_in_chart=True,
                  # one op per element: 4*3*3 = 36
                  example={tag: Example({"type": tag}, (4, 3, 3), (4, 3, 3), ops=36) for tag in ACTIVATION_KINDS})
dropout = kind(Dropout, hidden_in_seed=True, hidden_in_chart=True,  # the identity at inference: no cost
               example=Example({"type": "dropout", "p": 0.5}, (4, 3, 3), (4, 3, 3)))
stochastic_depth = kind(StochasticDepth, hidden_in_seed=True, hidden_in_chart=True,  # the identity at inference
                        example=Example({"type": "stochastic_depth", "p": 0.1}, (4, 3, 3), (4, 3, 3)))
layer_scale = kind(LayerScale, hidden_in_chart=True,
                   fvcore=(FvcoreRule("layer_scale_not_counted", "fvcore does not count the element-wise product "
                                      "of layer scale; archcalc counts 1 op per element", ops=r"aten::mul_?"),),
                   # 4 gammas; one product per element: 4*3*3 = 36
                   example=Example({"type": "layer_scale"}, (4, 3, 3), (4, 3, 3), params=4, ops=36))
softmax = kind(Softmax, hidden_in_chart=True,
               fvcore=(FvcoreRule("softmax_not_counted", "fvcore cannot count softmax; archcalc counts 3 ops per element",
                                  ops=r"aten::softmax"),),
               # 3 ops per element: 3 * 10 = 30
               example=Example({"type": "softmax"}, (10,), (10,), ops=30))


@activation.rule
def _activation(layer: Activation, shape: tuple[int, ...]) -> Step:
    return Step(shape, ops=F.elementwise_ops(F.prod(shape)))


SAVES_RESULT = frozenset({"relu", "sigmoid", "tanh"})
"""Activations whose backward reads their output (the others read their input)."""


@activation.memory
def _activation_memory(row, mode: Pass) -> Memory:
    """The builder's activations are not in place: each allocates its output. For backward, relu,
    sigmoid and tanh keep their output, the others their input."""
    if row.type in SAVES_RESULT:
        return Memory(saves_output=True)
    return Memory(saves_inputs=SAVES_INPUT)


@activation.builder
def _build_activation(layer: Activation, ctx):
    from ..torch import modules as M

    return M.ACTIVATIONS[layer.type](layer.negative_slope)


@dropout.rule
def _dropout(layer: Dropout, shape: tuple[int, ...]) -> Step:
    return Step(shape)


@dropout.memory
def _dropout_memory(row, mode: Pass) -> Memory:
    """At inference dropout returns its input itself; in training it allocates its output and keeps a
    one-byte mask per element for backward (CUDA's fused ``native_dropout``)."""
    if not mode.training or row.layer.p == 0:
        return Memory(view=True)
    # NB: on the CPU torch's unfused dropout keeps its noise tensor (input * noise) in the activations' type
    mask = "act" if mode.device == "cpu" else "bool"
    return Memory(saved=(Buffer(F.prod(row.input_shape), mask),))


@dropout.builder
def _build_dropout(layer: Dropout, ctx):
    from torch import nn

    return nn.Dropout(layer.p)


@stochastic_depth.rule
def _stochastic_depth(layer: StochasticDepth, shape: tuple[int, ...]) -> Step:
    return Step(shape, attrs={"p": layer.p})


@stochastic_depth.memory
def _stochastic_depth_memory(row, mode: Pass) -> Memory:
    """The identity at inference (and when ``p`` is 0); in training ``x * noise``, keeping the noise (one
    value per sample in ``row`` mode, one per batch in ``batch`` mode) for backward."""
    if not mode.training or row.layer.p == 0:
        return Memory(view=True)
    return Memory(saved=(Buffer(1, batched=row.layer.mode == "row"),))


@stochastic_depth.builder
def _build_stochastic_depth(layer: StochasticDepth, ctx):
    from ..torch import modules as M

    return M.StochasticDepth(layer.p, layer.mode)


@layer_scale.rule
def _layer_scale(layer: LayerScale, shape: tuple[int, ...]) -> Step:
    return Step(shape, params=F.layer_scale_params(shape[0]), ops=F.elementwise_ops(F.prod(shape)))


@layer_scale.memory
def _layer_scale_memory(row, mode: Pass) -> Memory:
    """``gamma * x`` allocates its output and keeps ``x`` for gamma's gradient."""
    return Memory(saves_inputs=SAVES_INPUT)


@layer_scale.builder
def _build_layer_scale(layer: LayerScale, ctx):
    from ..torch import modules as M

    return M.LayerScale(ctx.shape[0], len(ctx.shape) - 1, layer.init)


@softmax.rule
def _softmax(layer: Softmax, shape: tuple[int, ...]) -> Step:
    return Step(shape, ops=F.softmax_ops(F.prod(shape)))


@softmax.memory
def _softmax_memory(row, mode: Pass) -> Memory:
    """Softmax keeps its output for backward."""
    return Memory(saves_output=True)


@softmax.builder
def _build_softmax(layer: Softmax, ctx):
    from torch import nn

    return nn.Softmax(dim=1)  # the channel axis
