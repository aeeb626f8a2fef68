"""The torch modules a built spec is made of: containers that keep the spec's names, the small
ops the analyzer has rows for (add, concat, zero-padding shortcut, channel shuffle/split, crop,
squeeze-excite), and window ops with asymmetric padding. Imports torch: import it only when torch
is wanted (the kind modules' builders do, inside the function)."""

from __future__ import annotations

__all__ = ["BuildError", "Block", "SideBlock", "SpecModel", "ResidualBlock", "ConcatBlock", "Add", "Concat",
           "ZeroPadShortcut", "ChannelShuffle", "ChannelSplit", "CenterCrop", "SqueezeExcite",
           "WindowAvgPool", "WindowMaxPool", "Mul", "LayerScale", "StochasticDepth", "GlobalResponseNorm",
           "ChannelLinear", "ACTIVATIONS", "CONV", "PADDED_CONV", "CONV_T", "MAX_POOL",
           "AVG_POOL", "ADAPTIVE_AVG", "ADAPTIVE_MAX", "BATCHNORM", "UPSAMPLE_MODE", "torch_pad", "symmetric", "Flow"]

import math
from typing import Any, Callable

import torch
import torch.nn.functional as TF
from torch import nn

from ..errors import ArchcalcError


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


class Flow(list):
    """What a forward pass carries besides the main tensor: the side outputs (the list itself) and the named
    tensors (``named``: a tap's, a pyramid's levels; see :mod:`archcalc.torch.detection`)."""

    def __init__(self) -> None:
        super().__init__()
        self.named: dict[str, torch.Tensor] = {}


class SideBlock(Block):
    """A side output (auxiliary head): returns the head's output; the enclosing block passes its
    own input on and collects the head (see :class:`SpecModel`)."""


class SpecModel(Block):
    """The built network; every analyzer row and group is the module of the same dotted name."""

    def __init__(self, name: str, input_shape: tuple[int, ...]):
        super().__init__()
        self.spec_name = name
        self.input_shape = tuple(input_shape)

    def forward(self, x: torch.Tensor) -> Any:  # type: ignore[override]
        """The network's output; with side outputs or named tensors, ``(output, *heads, *named)``: the side
        heads in execution order, then the named tensors (taps, pyramid levels) in the order they were named."""
        sides = Flow()
        y = super().forward(x, sides)
        outputs = (*sides, *sides.named.values())
        return (y, *outputs) if outputs else y

    def extra_repr(self) -> str:
        return f"spec={self.spec_name!r}, input={list(self.input_shape)}"


class ResidualBlock(Block):
    """``act(body(x) + shortcut(x))``; the body's children are listed in ``body_names``."""

    def __init__(self) -> None:
        super().__init__()
        self.body_names: list[str] = []
        self.adds = False  # False: an 'optional' shortcut whose shapes differ (no addition at all)

    def forward(self, x: torch.Tensor, sides: list[torch.Tensor] | None = None) -> torch.Tensor:
        y = x
        for name in self.body_names:
            y = _call(self._modules[name], y, sides)
        mods = self._modules
        if not self.adds:
            return y
        shortcut = mods["shortcut"](x, sides) if "shortcut" in mods else x
        y = mods["mul"](y, shortcut) if "mul" in mods else mods["add"](y, shortcut)
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


class Mul(nn.Module):
    """A gating product ``body * shortcut`` (residual ``join: multiply``), broadcasting the body's size-1 axes."""

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return a * b


class LayerScale(nn.Module):
    """``gamma * x`` with one learnable gamma per channel, shaped ``[C, 1, ...]`` as torchvision's ConvNeXt
    ``CNBlock.layer_scale`` (``nn.Parameter(torch.ones(dim, 1, 1) * layer_scale)``)."""

    def __init__(self, channels: int, spatial_axes: int, init: float) -> None:
        super().__init__()
        self.gamma = nn.Parameter(torch.full((channels, *(1,) * spatial_axes), float(init)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.gamma * x


class StochasticDepth(nn.Module):
    """torchvision's ``StochasticDepth(p, mode)``: in training, zero a sample's (``row``) or the batch's
    (``batch``) branch with probability ``p`` and rescale the survivors by ``1 / (1 - p)``; identity in eval."""

    def __init__(self, p: float, mode: str) -> None:
        super().__init__()
        self.p = p
        self.mode = mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        survival = 1.0 - self.p
        size = [x.shape[0]] + [1] * (x.ndim - 1) if self.mode == "row" else [1] * x.ndim
        noise = torch.empty(size, dtype=x.dtype, device=x.device).bernoulli_(survival)
        if survival > 0.0:
            noise.div_(survival)
        return x * noise

    def extra_repr(self) -> str:
        return f"p={self.p}, mode={self.mode}"


class GlobalResponseNorm(nn.Module):
    """ConvNeXt V2's GRN on ``[N, C, *spatial]`` (the reference code's channels-last form, channels first)."""

    def __init__(self, channels: int, spatial_axes: int, eps: float) -> None:
        super().__init__()
        shape = (1, channels, *(1,) * spatial_axes)
        self.gamma = nn.Parameter(torch.zeros(shape))
        self.beta = nn.Parameter(torch.zeros(shape))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gx = torch.linalg.vector_norm(x, ord=2, dim=tuple(range(2, x.ndim)), keepdim=True)
        nx = gx / (gx.mean(dim=1, keepdim=True) + self.eps)
        return self.gamma * (x * nx) + self.beta + x


class ChannelLinear(nn.Linear):
    """``nn.Linear`` over the channels of ``[N, C, *spatial]`` at every position (ConvNeXt's permute, Linear,
    permute; the parameters are the ``nn.Linear``'s own)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.movedim(1, -1)).movedim(-1, 1)


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
        conv = CONV[rank]
        self.avgpool = ADAPTIVE_AVG[rank](1)
        self.fc1 = conv(channels, mid, 1, bias=bias)
        self.activation = ACTIVATIONS[activation](None)
        self.fc2 = conv(mid, channels, 1, bias=bias)
        self.scale_activation = ACTIVATIONS[gate](None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = self.scale_activation(self.fc2(self.activation(self.fc1(self.avgpool(x)))))
        return x * s


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
        self.pad = torch_pad(tuple((lo, hi + e) for (lo, hi), e in zip(pads, extra)))
        self.kernel, self.stride = kernel, stride
        mask = torch.ones((1, 1, *spatial))
        mask = TF.pad(mask, torch_pad(pads), value=1.0 if count_include_pad else 0.0)
        mask = TF.pad(mask, torch_pad(tuple((0, e) for e in extra)), value=0.0)
        counted = AVG_POOL_FN[n](mask, kernel, stride) * math.prod(kernel)
        self.register_buffer("scale", math.prod(kernel) / counted, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return AVG_POOL_FN[len(self.kernel)](TF.pad(x, self.pad), self.kernel, self.stride) * self.scale


class WindowMaxPool(nn.Module):
    """Max pooling with [low, high] padding (padded with -inf) and ``ceil_mode`` as PyTorch
    defines it: the ceil-mode overhang is padded too, and the pooling itself runs in floor mode."""

    def __init__(self, spatial: tuple[int, ...], kernel: tuple[int, ...], stride: tuple[int, ...],
                 pads: tuple[tuple[int, int], ...], dilation: tuple[int, ...], out: tuple[int, ...]):
        super().__init__()
        extra = tuple(_overhang(s, d * (k - 1) + 1, st, p, o)
                      for s, k, st, p, o, d in zip(spatial, kernel, stride, pads, out, dilation))
        self.pad = torch_pad(tuple((lo, hi + e) for (lo, hi), e in zip(pads, extra)))
        self.pool = MAX_POOL[len(kernel)](kernel, stride, dilation=dilation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(TF.pad(x, self.pad, value=-math.inf))


def _overhang(size: int, window: int, stride: int, pads: tuple[int, int], out: int) -> int:
    """Extra high-side padding so that floor-mode pooling yields ``out`` windows."""
    return max(0, (out - 1) * stride + window - (size + pads[0] + pads[1]))


def torch_pad(pads: tuple[tuple[int, int], ...]) -> list[int]:
    """Per-axis (low, high) in D, H, W order -> ``F.pad``'s last-axis-first flat list."""
    flat: list[int] = []
    for lo, hi in reversed(pads):
        flat += [lo, hi]
    return flat


CONV = {1: nn.Conv1d, 2: nn.Conv2d, 3: nn.Conv3d}
PADDED_CONV = {n: _padded_conv(c) for n, c in CONV.items()}
CONV_T = {1: nn.ConvTranspose1d, 2: nn.ConvTranspose2d, 3: nn.ConvTranspose3d}
MAX_POOL = {1: nn.MaxPool1d, 2: nn.MaxPool2d, 3: nn.MaxPool3d}
AVG_POOL = {1: nn.AvgPool1d, 2: nn.AvgPool2d, 3: nn.AvgPool3d}
AVG_POOL_FN = {1: TF.avg_pool1d, 2: TF.avg_pool2d, 3: TF.avg_pool3d}
ADAPTIVE_AVG = {1: nn.AdaptiveAvgPool1d, 2: nn.AdaptiveAvgPool2d, 3: nn.AdaptiveAvgPool3d}
ADAPTIVE_MAX = {1: nn.AdaptiveMaxPool1d, 2: nn.AdaptiveMaxPool2d, 3: nn.AdaptiveMaxPool3d}
BATCHNORM = {1: nn.BatchNorm1d, 2: nn.BatchNorm1d, 3: nn.BatchNorm2d, 4: nn.BatchNorm3d}  # by input rank
UPSAMPLE_MODE = {1: "linear", 2: "bilinear", 3: "trilinear"}


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


def symmetric(pads: tuple[tuple[int, int], ...]) -> bool:
    """Whether every axis pads its low and high side alike (torch's own ``padding=`` can do it)."""
    return all(lo == hi for lo, hi in pads)
