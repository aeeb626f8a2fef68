"""Build the ``torch.nn.Module`` a spec describes, one module per analyzer row.

Module paths are the analyzer's row names: the row ``conv2_x.block1.conv1`` is the module
``model.get_submodule("conv2_x.block1.conv1")``. Composites nest the way their dotted names
nest, and the rows a composite adds for itself are modules too:

===============================  ==============================================================
residual ``P``                   body layers ``P.<name>``, ``P.shortcut`` (projection: ``.conv``,
                                 ``.batchnorm``; ResNet option A: ``.zeropad``; or the listed
                                 layers), ``P.add`` (:class:`Add`), ``P.act`` (post-add activation)
concat ``P``                     one container per branch ``P.<branch>`` (empty = identity),
                                 ``P.concat`` (:class:`Concat`)
side output ``P``                a :class:`SideBlock` with children ``P.<name>``; the model's forward
                                 returns ``(output, *side heads)`` when a spec has side outputs
squeeze-excite (one row)         one module; its pieces are children named as torchvision's
                                 ``SqueezeExcitation`` (avgpool, fc1, activation, fc2, scale_activation)
===============================  ==============================================================

The builder takes each layer's input shape from the analyzer (channels, 'same' padding and the
projection shortcut's stride all depend on it). Builders are registered per layer kind in
:data:`BUILDERS`, keyed like :data:`archcalc.spec.layers.LAYER_KINDS`; the test-suite fails for a
kind without one. This module imports torch: import it only when torch is wanted.
"""

from __future__ import annotations

__all__ = ["build_model", "BUILDERS", "BuildError", "SpecModel", "Block", "Add", "Concat",
           "ZeroPadShortcut", "SideBlock", "iter_row_modules", "ACTIVATIONS"]

import math
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import torch
import torch.nn.functional as TF
from torch import nn

from . import formulas as F
from .analysis import Analysis, analyze
from .errors import ArchcalcError, Location
from .geometry import ShapeError, conv_channels, per_axis, resolve_padding
from .registry import kind_registrar
from .spec import Spec
from .spec import layers as L


class BuildError(ArchcalcError):
    """The spec is valid for the analyzer but cannot be expressed as torch modules."""


# --------------------------------------------------------------------------- containers and small ops


class Block(nn.Module):
    """An ordered container whose children keep the spec's layer names.

    Children are stored directly in ``_modules`` so that a layer may be called anything the spec
    language allows (``type``, ``append``...) without clashing with ``nn.Module`` attributes;
    ``named_modules()``, ``state_dict()`` and fvcore's scopes all read ``_modules``.
    """

    def add_child(self, name: str, module: nn.Module) -> None:
        if not name or "." in name:
            raise BuildError(f"cannot name a module {name!r}")
        if name in self._modules:
            raise BuildError(f"two layers named {name!r} in the same scope")
        self._modules[name] = module

    def forward(self, x: torch.Tensor, sides: list[torch.Tensor] | None = None) -> torch.Tensor:
        for module in self._modules.values():
            x = _call(module, x, sides)  # a side output (auxiliary head) passes x on
        return x


class SideBlock(Block):
    """A side output (auxiliary head): returns the head's output; the enclosing block passes its
    own input on and collects the head (see :class:`SpecModel`)."""


class SpecModel(Block):
    """The built network. ``row_modules`` maps every analyzer row and group name to the qualified
    name of its module (they are equal by construction; the map makes that checkable)."""

    def __init__(self, name: str, input_shape: tuple[int, ...]):
        super().__init__()
        self.spec_name = name
        self.input_shape = tuple(input_shape)
        self.row_modules: dict[str, str] = {}

    def forward(self, x: torch.Tensor) -> Any:  # type: ignore[override]
        """The network's output; with side outputs, ``(output, *heads)`` in execution order."""
        sides: list[torch.Tensor] = []
        y = super().forward(x, sides)
        return (y, *sides) if sides else y

    def extra_repr(self) -> str:
        return f"spec={self.spec_name!r}, input={list(self.input_shape)}"


class ResidualBlock(Block):
    """``act(body(x) + shortcut(x))``; the body's children are listed in ``body_names``."""

    def __init__(self) -> None:
        super().__init__()
        self.body_names: list[str] = []

    def forward(self, x: torch.Tensor, sides: list[torch.Tensor] | None = None) -> torch.Tensor:
        y = x
        for name in self.body_names:
            y = _call(self._modules[name], y, sides)
        mods = self._modules
        if "add" not in mods:  # 'optional' shortcut whose shapes differ: no addition at all
            return y
        shortcut = mods["shortcut"](x, sides) if "shortcut" in mods else x
        y = mods["add"](y, shortcut)
        if "act" in mods:
            y = mods["act"](y)
        return y


class ConcatBlock(Block):
    """Branches on the same input, joined along channels by the ``concat`` child."""

    def __init__(self) -> None:
        super().__init__()
        self.branch_names: list[str] = []

    def forward(self, x: torch.Tensor, sides: list[torch.Tensor] | None = None) -> torch.Tensor:
        outs = [self._modules[name](x, sides) for name in self.branch_names]
        return self._modules["concat"](*outs)


def _call(module: nn.Module, x: torch.Tensor, sides: list[torch.Tensor] | None) -> torch.Tensor:
    if isinstance(module, SideBlock):
        if sides is not None:
            sides.append(module(x, sides))
        return x
    return module(x, sides) if isinstance(module, Block) else module(x)


class Add(nn.Module):
    """Residual addition (its own module so hooks and fvcore see the ``add`` row)."""

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return a + b


class Concat(nn.Module):
    """Channel concatenation of branch outputs."""

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        return torch.cat(xs, dim=1)


class ZeroPadShortcut(nn.Module):
    """ResNet option A: ``x[..., ::s, ::s]`` then zero channels (half before, half after); no params."""

    def __init__(self, strides: tuple[int, ...], extra_channels: int):
        super().__init__()
        self.strides = tuple(strides)
        self.extra_channels = extra_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x[(slice(None), slice(None), *(slice(None, None, s) for s in self.strides))]
        lo = self.extra_channels // 2
        pad = [0, 0] * len(self.strides) + [lo, self.extra_channels - lo]
        return TF.pad(x, pad)

    def extra_repr(self) -> str:
        return f"strides={list(self.strides)}, extra_channels={self.extra_channels}"


class ChannelShuffle(nn.Module):
    """ShuffleNet's permutation: [N, g, C/g, ...] -> transpose -> [N, C, ...] (views only)."""

    def __init__(self, groups: int):
        super().__init__()
        self.groups = groups

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, *rest = x.shape
        return x.reshape(n, self.groups, c // self.groups, *rest).transpose(1, 2).reshape(n, c, *rest)

    def extra_repr(self) -> str:
        return f"groups={self.groups}"


class ChannelSplit(nn.Module):
    """Keep channel chunk ``index`` of ``parts`` equal chunks (ShuffleNet v2), a view."""

    def __init__(self, channels: int, parts: int, index: int):
        super().__init__()
        self.width = channels // parts
        self.start = index * self.width

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, self.start:self.start + self.width]

    def extra_repr(self) -> str:
        return f"channels=[{self.start}, {self.start + self.width})"


class CenterCrop(nn.Module):
    """Centre crop of the spatial axes; the first kept pixel is ``(size - crop) // 2`` (U-Net)."""

    def __init__(self, spatial: tuple[int, ...], size: tuple[int, ...]):
        super().__init__()
        self.index = (slice(None), slice(None), *(slice((s - c) // 2, (s - c) // 2 + c) for s, c in zip(spatial, size)))
        self.size = size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[self.index]

    def extra_repr(self) -> str:
        return f"size={list(self.size)}"


class SqueezeExcite(nn.Module):
    """``x * gate(fc2(act(fc1(avgpool(x)))))`` with 1x1 convolutions (torchvision's names)."""

    def __init__(self, rank: int, channels: int, mid: int, activation: str, gate: str, bias: bool):
        super().__init__()
        conv = _CONV[rank]
        self.avgpool = _ADAPTIVE_AVG[rank](1)
        self.fc1 = conv(channels, mid, 1, bias=bias)
        self.activation = ACTIVATIONS[activation](None)
        self.fc2 = conv(mid, channels, 1, bias=bias)
        self.scale_activation = ACTIVATIONS[gate](None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = self.scale_activation(self.fc2(self.activation(self.fc1(self.avgpool(x)))))
        return x * s


class Padded(nn.Module):
    """Explicit (asymmetric) padding in front of a window op whose own padding is 0."""

    def __init__(self, pads: tuple[tuple[int, int], ...], value: float = 0.0):
        super().__init__()
        self.pad = _torch_pad(pads)
        self.value = value

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return TF.pad(x, self.pad, value=self.value)


def _padded_conv(base: type[nn.Module]) -> type[nn.Module]:
    class PaddedConv(base):  # type: ignore[valid-type, misc]
        """A convolution with explicit [low, high] padding (TensorFlow SAME, asymmetric pads)."""

        explicit_pad: list[int]

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return super().forward(TF.pad(x, self.explicit_pad))

        def extra_repr(self) -> str:
            return super().extra_repr() + f", explicit_pad={self.explicit_pad}"

    PaddedConv.__name__ = PaddedConv.__qualname__ = f"Padded{base.__name__}"
    return PaddedConv


class WindowAvgPool(nn.Module):
    """Average pooling with any [low, high] padding, ``ceil_mode`` and ``count_include_pad``,
    exactly as PyTorch defines them for symmetric padding: zero-pad explicitly, sum each window,
    divide by the number of counted elements (input, plus padding when ``count_include_pad``,
    never the ceil-mode overhang). The divisor is fixed by the input size known at build time."""

    def __init__(self, spatial: tuple[int, ...], kernel: tuple[int, ...], stride: tuple[int, ...],
                 pads: tuple[tuple[int, int], ...], out: tuple[int, ...], count_include_pad: bool):
        super().__init__()
        n = len(spatial)
        extra = tuple(_overhang(s, k, st, p, o) for s, k, st, p, o in zip(spatial, kernel, stride, pads, out))
        self.pad = _torch_pad(tuple((lo, hi + e) for (lo, hi), e in zip(pads, extra)))
        self.kernel, self.stride = kernel, stride
        mask = torch.ones((1, 1, *spatial))
        mask = TF.pad(mask, _torch_pad(pads), value=1.0 if count_include_pad else 0.0)
        mask = TF.pad(mask, _torch_pad(tuple((0, e) for e in extra)), value=0.0)
        counted = _AVG_POOL_FN[n](mask, kernel, stride) * math.prod(kernel)
        self.register_buffer("scale", math.prod(kernel) / counted, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _AVG_POOL_FN[len(self.kernel)](TF.pad(x, self.pad), self.kernel, self.stride) * self.scale


class WindowMaxPool(nn.Module):
    """Max pooling with [low, high] padding (padded with -inf) and ``ceil_mode`` as PyTorch
    defines it: the ceil-mode overhang is padded too, and the pooling itself runs in floor mode."""

    def __init__(self, spatial: tuple[int, ...], kernel: tuple[int, ...], stride: tuple[int, ...],
                 pads: tuple[tuple[int, int], ...], dilation: tuple[int, ...], out: tuple[int, ...]):
        super().__init__()
        extra = tuple(_overhang(s, d * (k - 1) + 1, st, p, o)
                      for s, k, st, p, o, d in zip(spatial, kernel, stride, pads, out, dilation))
        self.pad = _torch_pad(tuple((lo, hi + e) for (lo, hi), e in zip(pads, extra)))
        self.pool = _MAX_POOL[len(kernel)](kernel, stride, dilation=dilation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(TF.pad(x, self.pad, value=-math.inf))


def _overhang(size: int, window: int, stride: int, pads: tuple[int, int], out: int) -> int:
    """Extra high-side padding so that floor-mode pooling yields ``out`` windows."""
    return max(0, (out - 1) * stride + window - (size + pads[0] + pads[1]))


def _torch_pad(pads: tuple[tuple[int, int], ...]) -> list[int]:
    """Per-axis (low, high) in D, H, W order -> ``F.pad``'s last-axis-first flat list."""
    flat: list[int] = []
    for lo, hi in reversed(pads):
        flat += [lo, hi]
    return flat


_CONV = {1: nn.Conv1d, 2: nn.Conv2d, 3: nn.Conv3d}
_PADDED_CONV = {n: _padded_conv(c) for n, c in _CONV.items()}
_CONV_T = {1: nn.ConvTranspose1d, 2: nn.ConvTranspose2d, 3: nn.ConvTranspose3d}
_MAX_POOL = {1: nn.MaxPool1d, 2: nn.MaxPool2d, 3: nn.MaxPool3d}
_AVG_POOL = {1: nn.AvgPool1d, 2: nn.AvgPool2d, 3: nn.AvgPool3d}
_AVG_POOL_FN = {1: TF.avg_pool1d, 2: TF.avg_pool2d, 3: TF.avg_pool3d}
_ADAPTIVE_AVG = {1: nn.AdaptiveAvgPool1d, 2: nn.AdaptiveAvgPool2d, 3: nn.AdaptiveAvgPool3d}
_ADAPTIVE_MAX = {1: nn.AdaptiveMaxPool1d, 2: nn.AdaptiveMaxPool2d, 3: nn.AdaptiveMaxPool3d}
_BATCHNORM = {1: nn.BatchNorm1d, 2: nn.BatchNorm1d, 3: nn.BatchNorm2d, 4: nn.BatchNorm3d}  # by input rank
_UPSAMPLE_MODE = {1: "linear", 2: "bilinear", 3: "trilinear"}

ACTIVATIONS: dict[str, Callable[[float | None], nn.Module]] = {
    "relu": lambda _: nn.ReLU(),
    "relu6": lambda _: nn.ReLU6(),
    "leaky_relu": lambda slope: nn.LeakyReLU(0.01 if slope is None else slope),
    "elu": lambda _: nn.ELU(),
    "gelu": lambda _: nn.GELU(),
    "sigmoid": lambda _: nn.Sigmoid(),
    "tanh": lambda _: nn.Tanh(),
    "hardswish": lambda _: nn.Hardswish(),
    "hardsigmoid": lambda _: nn.Hardsigmoid(),
    "silu": lambda _: nn.SiLU(),
    "mish": lambda _: nn.Mish(),
}
"""Activation kind -> module factory (the argument is leaky_relu's negative slope)."""


# --------------------------------------------------------------------------- registry


@dataclass(frozen=True)
class Ctx:
    """What a builder knows: the layer's dotted path, its per-sample input shape, and (for
    composites) a way to build nested layer lists."""

    builder: "_Builder"
    path: str
    shape: tuple[int, ...]

    @property
    def spatial(self) -> tuple[int, ...]:
        if len(self.shape) < 2:
            raise BuildError(f"layer {self.path} needs a spatial input, got {list(self.shape)}")
        return self.shape[1:]

    def axes(self, value: Any, default: Any = None) -> tuple[int, ...]:
        try:
            return per_axis(default if value is None else value, len(self.spatial), "value")
        except ShapeError as exc:
            raise BuildError(f"layer {self.path}: {exc}") from None

    def sequence(self, layers: Any, scope: str, into: Block) -> tuple[int, ...]:
        return self.builder.sequence(layers, scope, self.shape, into)


Builder = Callable[[Any, Ctx], nn.Module]
BUILDERS: dict[str, Builder] = {}
"""Layer kind -> builder ``(layer, ctx) -> nn.Module`` (leaves and composites alike)."""


_register = kind_registrar(BUILDERS, "builder")


def _symmetric(pads: tuple[tuple[int, int], ...]) -> bool:
    return all(lo == hi for lo, hi in pads)


# --------------------------------------------------------------------------- leaf builders


@_register("conv")
def _conv(layer: L.Conv, ctx: Ctx) -> nn.Module:
    spatial = ctx.spatial
    c_in = ctx.shape[0]
    c_out, groups = conv_channels(layer, c_in)
    kernel, stride, dilation = ctx.axes(layer.kernel), ctx.axes(layer.stride), ctx.axes(layer.dilation)
    pads = resolve_padding(layer.padding, spatial, kernel, stride, dilation)
    n = len(spatial)
    kwargs = dict(stride=stride, dilation=dilation, groups=groups, bias=layer.bias)
    if _symmetric(pads):
        return _CONV[n](c_in, c_out, kernel, padding=tuple(lo for lo, _ in pads), **kwargs)
    conv = _PADDED_CONV[n](c_in, c_out, kernel, padding=0, **kwargs)
    conv.explicit_pad = _torch_pad(pads)
    return conv


@_register("conv_transpose")
def _conv_transpose(layer: L.ConvTranspose, ctx: Ctx) -> nn.Module:
    n = len(ctx.spatial)
    return _CONV_T[n](ctx.shape[0], layer.out, ctx.axes(layer.kernel), stride=ctx.axes(layer.stride),
                      padding=ctx.axes(layer.padding), output_padding=ctx.axes(layer.output_padding),
                      groups=layer.groups, bias=layer.bias, dilation=ctx.axes(layer.dilation))


@_register("maxpool", "avgpool")
def _pool(layer: L.MaxPool | L.AvgPool, ctx: Ctx) -> nn.Module:
    spatial = ctx.spatial
    n = len(spatial)
    kernel = ctx.axes(layer.kernel)
    stride = ctx.axes(layer.stride, default=kernel) if layer.stride is not None else kernel
    dilation = ctx.axes(getattr(layer, "dilation", 1))
    pads = resolve_padding(layer.padding, spatial, kernel, stride, dilation)
    # NB: torch's avg_pool3d refuses an input smaller than the kernel even when the padding makes
    # it fit; explicit padding (WindowAvgPool) computes the same thing.
    small_3d = layer.type == "avgpool" and n == 3 and any(s < k for s, k in zip(spatial, kernel))
    if _symmetric(pads) and not small_3d:
        padding = tuple(lo for lo, _ in pads)
        if layer.type == "maxpool":
            return _MAX_POOL[n](kernel, stride, padding=padding, dilation=dilation, ceil_mode=layer.ceil_mode)
        return _AVG_POOL[n](kernel, stride, padding=padding, ceil_mode=layer.ceil_mode,
                            count_include_pad=layer.count_include_pad)
    out = ctx.builder.row(ctx.path).output_shape[1:]
    if layer.type == "maxpool":
        return WindowMaxPool(spatial, kernel, stride, pads, dilation, out)
    return WindowAvgPool(spatial, kernel, stride, pads, out, layer.count_include_pad)


@_register("adaptive_avgpool", "adaptive_maxpool")
def _adaptive(layer: L.AdaptiveAvgPool | L.AdaptiveMaxPool, ctx: Ctx) -> nn.Module:
    table = _ADAPTIVE_AVG if layer.type == "adaptive_avgpool" else _ADAPTIVE_MAX
    return table[len(ctx.spatial)](ctx.axes(layer.output_size))


@_register("global_avgpool")
def _global_avgpool(layer: L.GlobalAvgPool, ctx: Ctx) -> nn.Module:
    return _ADAPTIVE_AVG[len(ctx.spatial)](1)  # keeps the rank: [C, 1, 1]


@_register("linear")
def _linear(layer: L.Linear, ctx: Ctx) -> nn.Module:
    if len(ctx.shape) != 1:
        raise BuildError(f"layer {ctx.path}: linear needs a flat input, got {list(ctx.shape)}")
    return nn.Linear(ctx.shape[0], layer.out, bias=layer.bias)


@_register("flatten")
def _flatten(layer: L.Flatten, ctx: Ctx) -> nn.Module:
    return nn.Flatten()


@_register("batchnorm")
def _batchnorm(layer: L.BatchNorm, ctx: Ctx) -> nn.Module:
    return _BATCHNORM[len(ctx.shape)](ctx.shape[0], eps=layer.eps, affine=layer.affine)


@_register("lrn")
def _lrn(layer: L.LRN, ctx: Ctx) -> nn.Module:
    ctx.spatial  # noqa: B018 - torch's LRN needs [N, C, *spatial]
    return nn.LocalResponseNorm(layer.size, alpha=layer.alpha, beta=layer.beta, k=layer.k)


@_register(*L.ACTIVATION_KINDS)
def _activation(layer: L.Activation, ctx: Ctx) -> nn.Module:
    return ACTIVATIONS[layer.type](layer.negative_slope)


@_register("dropout")
def _dropout(layer: L.Dropout, ctx: Ctx) -> nn.Module:
    return nn.Dropout(layer.p)


@_register("softmax")
def _softmax(layer: L.Softmax, ctx: Ctx) -> nn.Module:
    return nn.Softmax(dim=1)  # the channel axis


@_register("upsample")
def _upsample(layer: L.Upsample, ctx: Ctx) -> nn.Module:
    n = len(ctx.spatial)
    # NB: the analyzer treats linear/bilinear/trilinear alike (interpolate along every axis);
    # torch names the mode by rank, so the rank picks it.
    mode = "nearest" if layer.mode == "nearest" else _UPSAMPLE_MODE[n]
    if layer.size is not None:
        return nn.Upsample(size=ctx.axes(layer.size), mode=mode)
    return nn.Upsample(scale_factor=tuple(float(s) for s in ctx.axes(layer.scale)), mode=mode)


@_register("se")
def _se(layer: L.SqueezeExcite, ctx: Ctx) -> nn.Module:
    c = ctx.shape[0]
    mid = layer.mid if layer.mid is not None else c // layer.reduction  # type: ignore[operator]
    return SqueezeExcite(len(ctx.spatial), c, mid, layer.activation, layer.gate, layer.bias)


@_register("channel_shuffle")
def _channel_shuffle(layer: L.ChannelShuffle, ctx: Ctx) -> nn.Module:
    return ChannelShuffle(layer.groups)


@_register("channel_split")
def _channel_split(layer: L.ChannelSplit, ctx: Ctx) -> nn.Module:
    return ChannelSplit(ctx.shape[0], layer.parts, layer.index)


@_register("crop")
def _crop(layer: L.Crop, ctx: Ctx) -> nn.Module:
    return CenterCrop(ctx.spatial, ctx.axes(layer.size))


# --------------------------------------------------------------------------- composite builders


@_register("side")
def _side(layer: L.Side, ctx: Ctx) -> nn.Module:
    block = SideBlock()
    ctx.sequence(layer.layers, ctx.path, block)
    return block


@_register("sequential")
def _sequential(layer: L.Sequential, ctx: Ctx) -> nn.Module:
    block = Block()
    ctx.sequence(layer.layers, ctx.path, block)
    return block


@_register("concat")
def _concat(layer: L.Concat, ctx: Ctx) -> nn.Module:
    block = ConcatBlock()
    for branch in layer.branches:
        sub = Block()  # an empty branch is the identity
        ctx.sequence(branch.layers, f"{ctx.path}.{branch.name}", sub)
        block.add_child(branch.name, sub)
        block.branch_names.append(branch.name)
    block.add_child("concat", Concat())
    return block


@_register("residual")
def _residual(layer: L.Residual, ctx: Ctx) -> nn.Module:
    block = ResidualBlock()
    body_out = ctx.sequence(layer.body, ctx.path, block)
    block.body_names = [child.name for child in layer.body]
    shortcut = layer.shortcut
    if isinstance(shortcut, list):
        sub = Block()
        ctx.sequence(shortcut, f"{ctx.path}.shortcut", sub)
        block.add_child("shortcut", sub)
    elif body_out == ctx.shape:
        pass  # identity
    elif shortcut == "optional":
        return block  # MobileNetV2 / EfficientNet: no addition when the shape changes
    elif shortcut == "identity":
        raise BuildError(f"layer {ctx.path}: identity shortcut {list(ctx.shape)} vs body {list(body_out)}")
    else:
        block.add_child("shortcut", _shortcut(layer, ctx, body_out))
    block.add_child("add", Add())
    if layer.activation is not None:
        block.add_child("act", ACTIVATIONS[layer.activation](None))
    return block


def _shortcut(layer: L.Residual, ctx: Ctx, target: tuple[int, ...]) -> nn.Module:
    """Projection (1x1 conv, stride, BN) or zero padding from the input shape to ``target``."""
    strides = tuple(-(-s_in // s_out) for s_in, s_out in zip(ctx.shape[1:], target[1:]))
    sub = Block()
    if layer.shortcut == "zeropad":
        sub.add_child("zeropad", ZeroPadShortcut(strides, target[0] - ctx.shape[0]))
        return sub
    n = len(strides)
    sub.add_child("conv", _CONV[n](ctx.shape[0], target[0], 1, stride=strides, bias=False))
    if layer.projection_bn:
        sub.add_child("batchnorm", _BATCHNORM[len(target)](target[0]))
    return sub


# --------------------------------------------------------------------------- the walk


class _Builder:
    def __init__(self, analysis: Analysis):
        self.rows: dict[str, Any] = {}
        for r in (*analysis.layers, *analysis.groups):
            if r.name in self.rows:
                raise BuildError(f"two analyzer rows are named {r.name!r}; give the layers distinct names")
            self.rows[r.name] = r

    def row(self, path: str) -> Any:
        try:
            return self.rows[path]
        except KeyError:
            raise BuildError(f"the analyzer has no row {path!r}") from None

    def sequence(self, layers: Any, scope: str, shape: tuple[int, ...], into: Block) -> tuple[int, ...]:
        for layer in layers:
            path = f"{scope}.{layer.name}" if scope else layer.name
            builder = BUILDERS.get(layer.type)
            if builder is None:
                raise BuildError(f"no torch builder for layer kind {layer.type!r}", Location(layer=path))
            module = builder(layer, Ctx(self, path, shape))
            into.add_child(layer.name, module)
            if not isinstance(module, SideBlock):  # the main path goes on with a side output's input
                shape = tuple(self.row(path).output_shape)
        return shape


def build_model(spec: Spec, *, analysis: Analysis | None = None, device: Any = None) -> SpecModel:
    """The ``torch.nn.Module`` ``spec`` describes, with module paths equal to analyzer row names.

    ``analysis`` reuses an existing :func:`archcalc.analyze` result (batch size is irrelevant);
    ``device="meta"`` builds without allocating weights (parameter counting only).
    The model is returned in training mode, freshly initialized, as ``nn.Module`` constructors leave it.
    """
    if analysis is None:
        analysis = analyze(spec)
    builder = _Builder(analysis)
    model = SpecModel(spec.name, spec.input_shape)
    if device is not None:
        with torch.device(device):
            builder.sequence(spec.layers, "", tuple(spec.input_shape), model)
    else:
        builder.sequence(spec.layers, "", tuple(spec.input_shape), model)
    model.row_modules = _row_modules(model, analysis)
    return model


def _row_modules(model: nn.Module, analysis: Analysis) -> dict[str, str]:
    names = {name for name, _ in model.named_modules()}
    mapping: dict[str, str] = {}
    for r in (*analysis.layers, *analysis.groups):
        if r.name not in names:  # pragma: no cover - a builder bug, caught by the tests
            raise BuildError(f"analyzer row {r.name!r} has no module in the built model")
        mapping[r.name] = r.name
    return mapping


def iter_row_modules(model: SpecModel) -> Iterator[tuple[str, nn.Module]]:
    """(row name, module) for every analyzer row and group of the model."""
    modules = dict(model.named_modules())
    for row, qualified in model.row_modules.items():
        yield row, modules[qualified]
