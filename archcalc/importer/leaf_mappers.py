"""What each leaf module class is in the spec language: one mapper per class (or family of classes).

A mapper takes the module and the :class:`~archcalc.importer.values.Value` it receives and returns a
:class:`~archcalc.importer.values.Mapped`, or raises :class:`~archcalc.importer.values.Unmappable` with the
reason. :func:`mapper_table` says which class gets which mapper (the dispatch, subclasses included, is
:mod:`archcalc.importer.leaves`); entries that a torch function can be too are built by
:mod:`archcalc.importer.entries`. torch is imported on first use.
"""

from __future__ import annotations

__all__ = ["Mapper", "activation_classes", "mapper_table"]

import importlib
from functools import cache
from typing import Any, Callable

from .entries import (adaptive_entry, flatten_entry, ints, layernorm_entry, require_cf, softmax_entry, uniform_value,
                      upsample_entry)
from .values import ZEROPAD, Mapped, Unmappable, Value, one_or_list, torch_pad_pairs

Mapper = Callable[[Any, Value], Mapped]


# --------------------------------------------------------------------------- convolutions


def _conv_padding(m: Any, n: int) -> Any:
    if isinstance(m.padding, str):
        if m.padding == "valid":
            return 0
        pads = []  # torch's 'same': total d*(k-1), the extra pixel on the high side
        for k, d in zip(ints(m.kernel_size, n), ints(m.dilation, n)):
            total = d * (k - 1)
            pads.append((total // 2, total - total // 2))
        return one_or_list([p[0] for p in pads]) if all(a == b for a, b in pads) else [list(p) for p in pads]
    return one_or_list(ints(m.padding, n))


def _conv(m: Any, x: Value) -> Mapped:
    n = len(m.kernel_size)
    require_cf(x, type(m).__name__, n)
    if m.padding_mode != "zeros":
        raise Unmappable(f"padding_mode={m.padding_mode!r}: the spec language pads with zeros")
    cin, cout, groups = m.in_channels, m.out_channels, m.groups
    entry = {"type": "conv", "out": cout, "kernel": one_or_list(m.kernel_size), "stride": one_or_list(m.stride),
             "padding": _conv_padding(m, n), "dilation": one_or_list(m.dilation),
             "groups": "depthwise" if groups == cin and groups > 1 else groups, "bias": m.bias is not None}
    extra = getattr(m, "explicit_pad", None)  # archcalc's PaddedConv: F.pad before the convolution
    if extra is not None:
        entry["padding"] = [list(p) for p in torch_pad_pairs(extra, n)]
    return Mapped([entry])


def _conv_transpose(m: Any, x: Value) -> Mapped:
    n = len(m.kernel_size)
    require_cf(x, type(m).__name__, n)
    if m.padding_mode != "zeros":
        raise Unmappable(f"padding_mode={m.padding_mode!r}: the spec language pads with zeros")
    return Mapped([{"type": "conv_transpose", "out": m.out_channels, "kernel": one_or_list(m.kernel_size),
                    "stride": one_or_list(m.stride), "padding": one_or_list(m.padding),
                    "output_padding": one_or_list(m.output_padding), "dilation": one_or_list(m.dilation),
                    "groups": m.groups, "bias": m.bias is not None}])


def _linear(m: Any, x: Value) -> Mapped:
    if x.pending is not None:
        raise Unmappable("Linear on a rearranged tensor")
    entry = {"type": "linear", "out": m.out_features, "bias": m.bias is not None, "per_position": False}
    if len(x.shape) == 1:
        return Mapped([entry])
    if x.layout == "cl":  # ConvNeXt: permute(0, 2, 3, 1), Linear, permute back
        entry["per_position"] = True
        return Mapped([entry], layout="cl")
    raise Unmappable(f"Linear over the last axis of a [N, {', '.join(map(str, x.shape))}] tensor: the spec language's "
                     "linear takes a flat input, or the channels of a channels-last tensor")


def _channel_linear(m: Any, x: Value) -> Mapped:  # archcalc's ChannelLinear: over dim 1 of [N, C, *spatial]
    require_cf(x, "ChannelLinear")
    return Mapped([{"type": "linear", "out": m.out_features, "bias": m.bias is not None, "per_position": True}])


# --------------------------------------------------------------------------- normalization


def _batchnorm(m: Any, x: Value) -> Mapped:
    require_cf(x, type(m).__name__)
    return Mapped([{"type": "batchnorm", "affine": bool(m.affine), "eps": float(m.eps)}])


def _layernorm(m: Any, x: Value) -> Mapped:
    return layernorm_entry(tuple(m.normalized_shape), x, m.eps, m.weight, getattr(m, "bias", None), "LayerNorm")


def _lrn(m: Any, x: Value) -> Mapped:
    require_cf(x, "LocalResponseNorm")
    return Mapped([{"type": "lrn", "size": int(m.size), "alpha": float(m.alpha), "beta": float(m.beta),
                    "k": float(m.k)}])


def _grn(m: Any, x: Value) -> Mapped:
    require_cf(x, "GlobalResponseNorm")
    return Mapped([{"type": "grn", "eps": float(m.eps)}])


# --------------------------------------------------------------------------- pooling


def _pool_padding(padding: Any, n: int) -> Any:
    return one_or_list(ints(padding, n))


def _maxpool(m: Any, x: Value) -> Mapped:
    n = int(type(m).__name__[-2])
    require_cf(x, type(m).__name__, n)
    if m.return_indices:
        raise Unmappable("max pooling that returns indices")
    kernel = ints(m.kernel_size, n)
    stride = ints(m.stride if m.stride is not None else m.kernel_size, n)
    return Mapped([{"type": "maxpool", "kernel": one_or_list(kernel), "stride": one_or_list(stride),
                    "padding": _pool_padding(m.padding, n), "ceil_mode": bool(m.ceil_mode),
                    "dilation": one_or_list(ints(m.dilation, n))}])


def _avgpool(m: Any, x: Value) -> Mapped:
    n = int(type(m).__name__[-2])
    require_cf(x, type(m).__name__, n)
    if getattr(m, "divisor_override", None):
        raise Unmappable("average pooling with divisor_override")
    kernel = ints(m.kernel_size, n)
    stride = ints(m.stride if m.stride is not None else m.kernel_size, n)
    return Mapped([{"type": "avgpool", "kernel": one_or_list(kernel), "stride": one_or_list(stride),
                    "padding": _pool_padding(m.padding, n), "ceil_mode": bool(m.ceil_mode),
                    "count_include_pad": bool(m.count_include_pad)}])


def _adaptive_avg(m: Any, x: Value) -> Mapped:
    return adaptive_entry("avg", m.output_size, x, type(m).__name__)


def _adaptive_max(m: Any, x: Value) -> Mapped:
    if m.return_indices:
        raise Unmappable("adaptive max pooling that returns indices")
    return adaptive_entry("max", m.output_size, x, type(m).__name__)


def _window_maxpool(m: Any, x: Value) -> Mapped:  # archcalc's WindowMaxPool: explicit -inf padding + max pool
    pool, n = m.pool, len(x.shape) - 1
    require_cf(x, "WindowMaxPool")
    pads = torch_pad_pairs(m.pad, n)
    return Mapped([{"type": "maxpool", "kernel": one_or_list(ints(pool.kernel_size, n)),
                    "stride": one_or_list(ints(pool.stride, n)), "padding": [list(p) for p in pads],
                    "ceil_mode": False, "dilation": one_or_list(ints(pool.dilation, n))}])


def _window_avgpool(m: Any, x: Value) -> Mapped:  # archcalc's WindowAvgPool: explicit zero padding, own divisor
    n = len(m.kernel)
    require_cf(x, "WindowAvgPool", n)
    pads = torch_pad_pairs(m.pad, n)
    return Mapped([{"type": "avgpool", "kernel": one_or_list(m.kernel), "stride": one_or_list(m.stride),
                    "padding": [list(p) for p in pads], "ceil_mode": False, "count_include_pad": True}])


# --------------------------------------------------------------------------- element-wise


def _activation(kind: str) -> Mapper:
    def mapper(m: Any, x: Value) -> Mapped:
        if x.pending is not None:
            raise Unmappable(f"{type(m).__name__} on a rearranged tensor")
        return Mapped([{"type": kind, "negative_slope": None}], layout=x.layout)
    return mapper


def _leaky_relu(m: Any, x: Value) -> Mapped:
    slope = float(m.negative_slope)
    return Mapped([{"type": "leaky_relu", "negative_slope": None if slope == 0.01 else slope}], layout=x.layout)


def _elu(m: Any, x: Value) -> Mapped:
    if float(m.alpha) != 1.0:
        raise Unmappable(f"ELU with alpha={m.alpha}: the spec language's elu has alpha 1")
    return _activation("elu")(m, x)


def _hardtanh(m: Any, x: Value) -> Mapped:
    if (float(m.min_val), float(m.max_val)) != (0.0, 6.0):
        raise Unmappable(f"Hardtanh({m.min_val}, {m.max_val}): only Hardtanh(0, 6) = ReLU6 has a spec kind")
    return _activation("relu6")(m, x)


def _dropout(m: Any, x: Value) -> Mapped:
    return Mapped([{"type": "dropout", "p": float(m.p)}], layout=x.layout)


def _stochastic_depth(m: Any, x: Value) -> Mapped:
    p = float(getattr(m, "p", getattr(m, "drop_prob", 0.0)))
    mode = getattr(m, "mode", "row")
    return Mapped([{"type": "stochastic_depth", "p": p, "mode": mode if mode in ("row", "batch") else "row"}],
                  layout=x.layout)


def _layer_scale(m: Any, x: Value) -> Mapped:  # archcalc's LayerScale: gamma [C, 1, ...] * x
    require_cf(x, "LayerScale")
    return Mapped([{"type": "layer_scale", "init": uniform_value(m.gamma, 1e-6)}])


def _softmax(m: Any, x: Value) -> Mapped:
    return softmax_entry(m.dim, x)


def _flatten(m: Any, x: Value) -> Mapped:
    return flatten_entry(m.start_dim, m.end_dim, x)


def _identity(m: Any, x: Value) -> Mapped:
    return Mapped([], layout=x.layout, pending=x.pending)


def _upsample(m: Any, x: Value) -> Mapped:
    return upsample_entry(m.size, m.scale_factor, m.mode, x, type(m).__name__)


def _pad_module(m: Any, x: Value) -> Mapped:  # nn.ZeroPad2d, nn.ConstantPad2d (value 0)
    if float(getattr(m, "value", 0.0)) != 0.0:
        raise Unmappable(f"constant padding with {m.value}: only zero padding before a convolution has a spec form")
    return Mapped([], layout=x.layout, pending=("pad", tuple(int(p) for p in m.padding), 0.0, x.rep, None))


# --------------------------------------------------------------------------- channel ops and archcalc's modules


def _channel_shuffle(m: Any, x: Value) -> Mapped:
    require_cf(x, "ChannelShuffle")
    return Mapped([{"type": "channel_shuffle", "groups": int(m.groups)}])


def _channel_split(m: Any, x: Value) -> Mapped:  # archcalc's ChannelSplit: x[:, start:start + width]
    require_cf(x, "ChannelSplit")
    return Mapped([{"type": "channel_split", "parts": x.shape[0] // m.width, "index": m.start // m.width}])


def _center_crop(m: Any, x: Value) -> Mapped:
    require_cf(x, "CenterCrop")
    return Mapped([{"type": "crop", "size": one_or_list(m.size)}])


def _squeeze_excite(m: Any, x: Value) -> Mapped:  # archcalc's SqueezeExcite
    require_cf(x, "SqueezeExcite")
    acts = {v: k for k, v in activation_classes().items()}
    act, gate = acts.get(type(m.activation)), acts.get(type(m.scale_activation))
    if act not in ("relu", "silu", "hardswish") or gate not in ("sigmoid", "hardsigmoid"):
        raise Unmappable("squeeze-excite with an activation or gate the se kind does not take")
    return Mapped([{"type": "se", "mid": m.fc1.out_channels, "reduction": None, "activation": act, "gate": gate,
                    "bias": m.fc1.bias is not None}])


def _zeropad_shortcut(m: Any, x: Value) -> Mapped:  # archcalc's ZeroPadShortcut (ResNet option A)
    require_cf(x, "ZeroPadShortcut")
    return Mapped([{"type": ZEROPAD}])


def activation_classes() -> dict[str, type]:
    """Activation kind -> its ``torch.nn`` module class."""
    from torch import nn

    return {"relu": nn.ReLU, "relu6": nn.ReLU6, "gelu": nn.GELU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh,
            "hardswish": nn.Hardswish, "hardsigmoid": nn.Hardsigmoid, "silu": nn.SiLU, "mish": nn.Mish}


# --------------------------------------------------------------------------- the table


def _optional_class(module: str, name: str) -> type | None:
    """A class of an optional package (torchvision, timm), or None when it does not import."""
    try:
        return getattr(importlib.import_module(module), name, None)
    except Exception:  # noqa: BLE001 - a broken optional install must not break the importer
        return None


@cache
def mapper_table() -> dict[type, Mapper]:
    """Leaf module class -> its mapper (built once, on first use: it imports torch)."""
    from torch import nn

    from ..torch import modules as M

    table: dict[type, Mapper] = {}
    for cls in (nn.Conv1d, nn.Conv2d, nn.Conv3d):
        table[cls] = _conv
    for cls in (nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d):
        table[cls] = _conv_transpose
    for cls in M.PADDED_CONV.values():
        table[cls] = _conv
    table[nn.Linear] = _linear
    table[M.ChannelLinear] = _channel_linear
    for cls in (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d):
        table[cls] = _batchnorm
    table[nn.LayerNorm] = _layernorm
    table[nn.LocalResponseNorm] = _lrn
    for cls in (nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d):
        table[cls] = _maxpool
    for cls in (nn.AvgPool1d, nn.AvgPool2d, nn.AvgPool3d):
        table[cls] = _avgpool
    for cls in (nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveAvgPool3d):
        table[cls] = _adaptive_avg
    for cls in (nn.AdaptiveMaxPool1d, nn.AdaptiveMaxPool2d, nn.AdaptiveMaxPool3d):
        table[cls] = _adaptive_max
    for kind, cls in activation_classes().items():
        table[cls] = _activation(kind)
    table[nn.LeakyReLU] = _leaky_relu
    table[nn.ELU] = _elu
    table[nn.Hardtanh] = _hardtanh
    for cls in (nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d, nn.AlphaDropout, nn.FeatureAlphaDropout):
        table[cls] = _dropout
    table[nn.Softmax] = _softmax
    table[nn.Flatten] = _flatten
    table[nn.Identity] = _identity
    table[nn.Upsample] = _upsample
    for cls in (nn.ZeroPad1d, nn.ZeroPad2d, nn.ZeroPad3d, nn.ConstantPad1d, nn.ConstantPad2d, nn.ConstantPad3d):
        table[cls] = _pad_module
    table[nn.ChannelShuffle] = _channel_shuffle
    table[M.ChannelShuffle] = _channel_shuffle
    table[M.ChannelSplit] = _channel_split
    table[M.CenterCrop] = _center_crop
    table[M.SqueezeExcite] = _squeeze_excite
    table[M.ZeroPadShortcut] = _zeropad_shortcut
    table[M.WindowMaxPool] = _window_maxpool
    table[M.WindowAvgPool] = _window_avgpool
    table[M.LayerScale] = _layer_scale
    table[M.StochasticDepth] = _stochastic_depth
    table[M.GlobalResponseNorm] = _grn
    for module, name in (("torchvision.ops", "StochasticDepth"), ("timm.layers", "DropPath")):
        cls = _optional_class(module, name)
        if isinstance(cls, type):
            table[cls] = _stochastic_depth
    return table
