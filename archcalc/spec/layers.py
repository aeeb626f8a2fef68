"""The layer kinds of the spec language: one pydantic model per kind, discriminated on ``type``.

This module is the single source of truth for what a spec may say. :data:`LAYER_KINDS` maps each
``type`` tag to its model; the analyzer's rules, the torch builder and the tests are all keyed on
it, so a kind added here without a rule, a builder or a test fails the test-suite.

Models describe *expanded* layers: block uses (``use:``), ``repeat`` and ``$`` expressions have
already been resolved by :mod:`archcalc.spec.expand`, so every field here holds a plain value.
"""

from __future__ import annotations

__all__ = [
    "LAYER_KINDS", "Layer", "LayerList", "LeafLayer", "CompositeLayer", "ACTIVATION_KINDS",
    "Conv", "ConvTranspose", "MaxPool", "AvgPool", "AdaptiveAvgPool", "AdaptiveMaxPool",
    "GlobalAvgPool", "Linear", "Flatten", "BatchNorm", "LRN", "Activation", "Dropout", "Softmax",
    "Upsample", "SqueezeExcite", "ChannelShuffle", "ChannelSplit", "Crop", "Sequential", "Side", "Concat",
    "Residual", "Branch",
]

import math
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PrivateAttr, model_validator

MAX_SIZE = 2**31 - 1


def _whole_number(value: Any) -> Any:
    """Integers only: ``true`` is not 1, ``6.25`` is not 6, and ``.nan``/``.inf`` are not sizes.

    A float that is a whole number (``$c / 2`` with an even ``$c``) becomes an ``int``; strings and
    other values go on to pydantic's strict integer check, whose error lists the alternatives.
    """
    if isinstance(value, bool):
        raise ValueError(f"expected an integer, not true/false (got {value!r})")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"expected an integer (got {value!r})")
        if not value.is_integer():
            raise ValueError(f"needs a whole number (got {value!r})")
        return int(value)
    return value


def _finite_number(value: Any) -> Any:
    """Floats: any finite number (integers included), never ``true``/``false``, ``.nan`` or ``.inf``."""
    if isinstance(value, bool):
        raise ValueError(f"expected a number, not true/false (got {value!r})")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"expected a finite number (got {value!r})")
    return value


Float = Annotated[float, Field(strict=True), BeforeValidator(_finite_number)]
Pos = Annotated[int, Field(strict=True, ge=1, le=MAX_SIZE), BeforeValidator(_whole_number)]
NonNeg = Annotated[int, Field(strict=True, ge=0, le=MAX_SIZE), BeforeValidator(_whole_number)]
PosOrAxes = Union[Pos, Annotated[list[Pos], Field(min_length=1, max_length=3)]]
PadAxis = Union[NonNeg, Annotated[list[NonNeg], Field(min_length=2, max_length=2)]]
Padding = Union[
    NonNeg,
    Literal["same", "valid"],
    Annotated[list[PadAxis], Field(min_length=1, max_length=3)],
]


class _Kind(BaseModel):
    """Fields every layer has."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str | None = Field(
        default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_\-]*$",
        description="Layer name (as the paper's table prints it: conv1, pool1, fc8). "
                    "Unnamed layers get stable automatic names (relu1, relu2, ...).")

    # Set by the loader after validation: where the layer came from and its dotted path.
    _path: str = PrivateAttr(default="")
    _origin: object = PrivateAttr(default=None)


# --------------------------------------------------------------------------- convolution


class Conv(_Kind):
    """Convolution over 1, 2 or 3 spatial axes (the input's rank decides which)."""

    type: Literal["conv"]
    out: Pos | None = Field(default=None, description="Output channels (filters).")
    out_ratio: Annotated[float, Field(strict=True, gt=0, le=MAX_SIZE), BeforeValidator(_finite_number)] | None = Field(
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


class ConvTranspose(_Kind):
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


# --------------------------------------------------------------------------- pooling


class _Pool(_Kind):
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


class AdaptiveAvgPool(_Kind):
    """Adaptive average pooling to a fixed output size (``torch.nn.AdaptiveAvgPool2d``)."""

    type: Literal["adaptive_avgpool"]
    output_size: PosOrAxes


class AdaptiveMaxPool(_Kind):
    """Adaptive max pooling to a fixed output size."""

    type: Literal["adaptive_maxpool"]
    output_size: PosOrAxes


class GlobalAvgPool(_Kind):
    """Average over all spatial positions: [C, *spatial] -> [C, 1, ...] (keeps the rank)."""

    type: Literal["global_avgpool"]


# --------------------------------------------------------------------------- dense and shape


class Linear(_Kind):
    """Fully connected layer on a flat input [features] (add ``flatten`` before it)."""

    type: Literal["linear"]
    out: Pos
    bias: bool = True


class Flatten(_Kind):
    """Flatten [C, *spatial] to [C * prod(spatial)]."""

    type: Literal["flatten"]


# --------------------------------------------------------------------------- normalization


class BatchNorm(_Kind):
    """Batch normalization over channels; 2 params per channel (scale, shift) when affine."""

    type: Literal["batchnorm"]
    affine: bool = True
    eps: Annotated[float, Field(strict=True, gt=0), BeforeValidator(_finite_number)] = 1e-5


class LRN(_Kind):
    """Local response normalization across ``size`` neighbouring channels (AlexNet, GoogLeNet)."""

    type: Literal["lrn"]
    size: Pos = 5
    alpha: Float = 1e-4
    beta: Float = 0.75
    k: Float = 1.0


# --------------------------------------------------------------------------- element-wise

ACTIVATION_KINDS = ("relu", "relu6", "leaky_relu", "elu", "gelu", "sigmoid", "tanh",
                    "hardswish", "hardsigmoid", "silu", "mish")


class Activation(_Kind):
    """An element-wise nonlinearity (one op per element)."""

    type: Literal["relu", "relu6", "leaky_relu", "elu", "gelu", "sigmoid", "tanh",
                  "hardswish", "hardsigmoid", "silu", "mish"]
    negative_slope: Float | None = Field(default=None, description="leaky_relu only.")

    @model_validator(mode="after")
    def _slope_only_for_leaky(self) -> "Activation":
        if self.negative_slope is not None and self.type != "leaky_relu":
            raise ValueError("'negative_slope' applies to leaky_relu only")
        return self


class Dropout(_Kind):
    """Dropout: the identity at inference, no cost."""

    type: Literal["dropout"]
    p: Annotated[float, Field(strict=True, ge=0, lt=1), BeforeValidator(_finite_number)] = 0.5


class Softmax(_Kind):
    """Softmax over the channel axis (3 ops per element: exp, sum, divide)."""

    type: Literal["softmax"]


class Upsample(_Kind):
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


class SqueezeExcite(_Kind):
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


class ChannelShuffle(_Kind):
    """ShuffleNet channel shuffle: a permutation, no arithmetic."""

    type: Literal["channel_shuffle"]
    groups: Pos


class ChannelSplit(_Kind):
    """Keep one of ``parts`` equal channel chunks (ShuffleNet v2's channel split), no arithmetic."""

    type: Literal["channel_split"]
    parts: Annotated[int, Field(strict=True, ge=2, le=MAX_SIZE), BeforeValidator(_whole_number)] = 2
    index: NonNeg = Field(default=0, description="Which chunk to keep, from 0.")

    @model_validator(mode="after")
    def _index_in_range(self) -> "ChannelSplit":
        if self.index >= self.parts:
            raise ValueError(f"index {self.index} is out of range for {self.parts} parts")
        return self


class Crop(_Kind):
    """Centre crop of the spatial axes to ``size`` (U-Net's crop before a skip concatenation)."""

    type: Literal["crop"]
    size: PosOrAxes


# --------------------------------------------------------------------------- composites


class Sequential(_Kind):
    """A named group of layers run one after another (a stage, a block use)."""

    type: Literal["sequential"]
    layers: "LayerList"


class Side(_Kind):
    """A side output (an auxiliary classifier): its layers run on the current tensor and their
    result leaves the network as an extra head; the main path continues with the input unchanged.
    Its costs count in the totals (GoogLeNet's and Inception-v3's auxiliary heads)."""

    type: Literal["side"]
    layers: "LayerList"


class Branch(BaseModel):
    """One branch of a ``concat``; an empty branch is the identity (DenseNet)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_\-]*$")
    layers: "LayerList" = Field(description="The branch's layers; [] is the identity.")
    _path: str = PrivateAttr(default="")
    _origin: object = PrivateAttr(default=None)


class Concat(_Kind):
    """Parallel branches on the same input, joined by channel concatenation (inception, dense)."""

    type: Literal["concat"]
    branches: Annotated[list[Branch], Field(min_length=1)]


class Residual(_Kind):
    """``activation(body(x) + shortcut(x))``.

    ``shortcut`` is ``identity`` (shapes must match), ``projection`` (1x1 conv + batch norm,
    stride as needed, only when the shape changes: ResNet option B), ``zeropad`` (strided
    subsampling and zero channels when the shape changes: ResNet option A, no parameters),
    ``optional`` (identity when the shapes match, no addition at all otherwise: MobileNetV2,
    EfficientNet), or a list of layers.
    """

    type: Literal["residual"]
    body: "LayerList"
    shortcut: Union[Literal["identity", "projection", "zeropad", "optional"], "LayerList"] = "identity"
    projection_bn: bool = Field(default=True, description="projection shortcut: batch norm after the 1x1 conv.")
    activation: Literal["relu", "relu6", "silu", "gelu"] | None = Field(
        default=None, description="Applied after the addition (ResNet: relu).")


LeafLayer = Union[Conv, ConvTranspose, MaxPool, AvgPool, AdaptiveAvgPool, AdaptiveMaxPool,
                  GlobalAvgPool, Linear, Flatten, BatchNorm, LRN, Activation, Dropout, Softmax,
                  Upsample, SqueezeExcite, ChannelShuffle, ChannelSplit, Crop]
CompositeLayer = Union[Sequential, Side, Concat, Residual]

Layer = Annotated[Union[LeafLayer, CompositeLayer], Field(discriminator="type")]
LayerList = list[Layer]

for _model in (Sequential, Side, Branch, Residual):
    _model.model_rebuild()


def _kinds() -> dict[str, type[BaseModel]]:
    kinds: dict[str, type[BaseModel]] = {}
    for model in LeafLayer.__args__ + CompositeLayer.__args__:  # type: ignore[attr-defined]
        for tag in model.model_fields["type"].annotation.__args__:
            if tag in kinds:  # pragma: no cover - a programming error, caught at import
                raise RuntimeError(f"layer kind {tag!r} defined twice")
            kinds[tag] = model
    return kinds


LAYER_KINDS: dict[str, type[BaseModel]] = _kinds()
"""Every ``type`` tag a spec may use, mapped to its model."""
