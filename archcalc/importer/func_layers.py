"""Torch functions that are one spec layer or a join: activations, dropout, add/mul, cat, conv, linear, norms.

Each handler reads the call's arguments (:mod:`archcalc.importer.func_args`) and records, through the
mapper, the entry the call is (``conv``, ``batchnorm``, ``layer_scale``...) or the join it makes (``add``,
``mul``, ``cat``), or raises :class:`~archcalc.importer.values.Unmappable` with the reason.
"""

from __future__ import annotations

__all__ = ["HANDLERS"]

from typing import TYPE_CHECKING, Any, Callable

from .entries import layernorm_entry, softmax_entry, uniform_value, upsample_entry
from .func_args import arg, no_pending, params_of, per_axis, single
from .func_pooling import merge_pad
from .graph import TNode
from .values import Mapped, Unmappable, one_or_list

if TYPE_CHECKING:  # pragma: no cover
    from .mapping import _Mapper


_ACTIVATIONS = {"relu": "relu", "relu6": "relu6", "sigmoid": "sigmoid", "tanh": "tanh", "hardswish": "hardswish",
                "hardsigmoid": "hardsigmoid", "silu": "silu", "mish": "mish", "gelu": "gelu", "elu": "elu",
                "leaky_relu": "leaky_relu", "hardtanh": "hardtanh"}
_DROPOUT = {"dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout", "feature_alpha_dropout",
            "feature_dropout"}


def _activation(m: _Mapper, node: TNode) -> None:
    x = single(m, node)
    no_pending(x, node.target)
    kind = _ACTIVATIONS[node.target]
    entry: dict[str, Any] = {"type": kind, "negative_slope": None}
    if kind == "leaky_relu":
        slope = float(arg(node, 1, "negative_slope", 0.01))
        entry["negative_slope"] = None if slope == 0.01 else slope
    elif kind == "elu" and float(arg(node, 1, "alpha", 1.0)) != 1.0:
        raise Unmappable("elu with alpha other than 1")
    elif kind == "hardtanh":
        if (float(arg(node, 1, "min_val", -1.0)), float(arg(node, 2, "max_val", 1.0))) != (0.0, 6.0):
            raise Unmappable("hardtanh other than (0, 6) = relu6")
        entry["type"] = "relu6"
    elif kind == "gelu" and arg(node, 1, "approximate", "none") not in ("none", "tanh"):
        raise Unmappable("gelu with an unknown approximation")
    m.emit(node, Mapped([entry], layout=x.layout), x)


def _dropout(m: _Mapper, node: TNode) -> None:
    x = single(m, node)
    no_pending(x, "dropout")
    p = float(arg(node, 1, "p", 0.5))
    m.emit(node, Mapped([{"type": "dropout", "p": p}], layout=x.layout), x)


def _binary(m: _Mapper, node: TNode) -> None:
    a, b = arg(node, 0, "input"), arg(node, 1, "other")
    if node.target == "add" and arg(node, 2, "alpha", 1) != 1:
        raise Unmappable("add with alpha")
    va, vb = m.value(a), m.value(b)
    if va is not None and vb is not None:
        for v in (va, vb):
            if v.layout != "cf" or v.pending is not None:
                raise Unmappable(f"{node.target} of channels-last or rearranged tensors")
        m.emit(node, Mapped(join=node.target), va, inputs=[va, vb])
        return
    x = va or vb
    const = b if va is not None else a
    if x is None:
        raise Unmappable(f"{node.target} of tensors that do not come from the network input")
    if node.target == "mul" and isinstance(const, TNode) and const.op == "const" and const.value is not None:
        shape = tuple(const.value.shape)
        c = x.shape[0]
        per_channel = (shape == (c,) and x.layout == "cl") or (
            x.layout == "cf" and len(shape) == len(x.shape) and shape[0] == c and all(s == 1 for s in shape[1:]))
        if per_channel and x.pending is None:
            entry = {"type": "layer_scale", "init": uniform_value(const.value, 1e-6)}
            m.emit(node, Mapped([entry], layout=x.layout), x, params=params_of(node, const))
            return
    what = "a constant" if isinstance(const, TNode) else repr(const)
    raise Unmappable(f"{'multiplying by' if node.target == 'mul' else 'adding'} {what}: the spec language has layer "
                     "scale (a learnable per-channel factor) and joins of two branches, not this")


def _cat(m: _Mapper, node: TNode) -> None:
    tensors = arg(node, 0, "tensors")
    dim = int(arg(node, 1, "dim", 0))
    values = [m.value(t) for t in tensors]
    if any(v is None for v in values):
        raise Unmappable("concatenating tensors that do not come from the network input")
    if len(values) == 1:
        m.values[node.id] = values[0]  # type: ignore[assignment]
        return
    rank = len(values[0].shape) + 1  # type: ignore[union-attr]
    if any(v.layout != "cf" or v.pending is not None for v in values) or dim % rank != 1:  # type: ignore[union-attr]
        raise Unmappable(f"concatenation along axis {dim}: the spec language concatenates channels (axis 1)")
    m.emit(node, Mapped(join="cat"), values[0], inputs=values)  # type: ignore[arg-type]


def _conv(m: _Mapper, node: TNode) -> None:
    x = single(m, node)
    weight, bias = arg(node, 1, "weight"), arg(node, 2, "bias")
    if not (isinstance(weight, TNode) and weight.op == "const" and weight.shape):
        raise Unmappable("a convolution whose weight is computed, not a parameter")
    n = len(weight.shape) - 2
    stride, padding = arg(node, 3, "stride", 1), arg(node, 4, "padding", 0)
    dilation, groups = arg(node, 5, "dilation", 1), int(arg(node, 6, "groups", 1))
    cout, cin_g = weight.shape[0], weight.shape[1]
    cin = cin_g * groups
    if isinstance(padding, str):
        if padding != "valid":
            raise Unmappable(f"functional convolution with padding={padding!r}")
        padding = 0
    entry = {"type": "conv", "out": cout, "kernel": one_or_list(weight.shape[2:]),
             "stride": one_or_list(per_axis(stride, n)), "padding": one_or_list(per_axis(padding, n)),
             "dilation": one_or_list(per_axis(dilation, n)),
             "groups": "depthwise" if groups == cin and groups > 1 else groups, "bias": bias is not None}
    pad_node = m.graph.nodes[x.pending[4]] if x.pending is not None and x.pending[0] == "pad" else None
    x, entry = merge_pad(x, entry, n)
    if x.layout != "cf" or len(x.shape) != n + 1:
        raise Unmappable("a convolution on a channels-last tensor")
    m.emit(node, Mapped([entry]), x, params=params_of(node, weight, bias),
           absorbed=[pad_node] if pad_node is not None else [])


def _linear(m: _Mapper, node: TNode) -> None:
    x = single(m, node)
    weight, bias = arg(node, 1, "weight"), arg(node, 2, "bias")
    if not (isinstance(weight, TNode) and weight.op == "const" and weight.shape):
        raise Unmappable("a linear layer whose weight is computed, not a parameter")
    no_pending(x, "linear")
    entry = {"type": "linear", "out": weight.shape[0], "bias": bias is not None, "per_position": False}
    if len(x.shape) == 1:
        m.emit(node, Mapped([entry]), x, params=params_of(node, weight, bias))
    elif x.layout == "cl":
        entry["per_position"] = True
        m.emit(node, Mapped([entry], layout="cl"), x, params=params_of(node, weight, bias))
    else:
        raise Unmappable("linear over the last axis of a channels-first tensor")


def _layer_norm(m: _Mapper, node: TNode) -> None:
    x = single(m, node)
    shape = tuple(int(s) for s in arg(node, 1, "normalized_shape"))
    weight, bias = arg(node, 2, "weight"), arg(node, 3, "bias")
    eps = float(arg(node, 4, "eps", 1e-5))
    mapped = layernorm_entry(shape, x, eps, weight, bias, "layer_norm")
    m.emit(node, mapped, x, params=params_of(node, weight, bias))


def _batch_norm(m: _Mapper, node: TNode) -> None:
    x = single(m, node)
    no_pending(x, "batch_norm")
    weight, bias = arg(node, 3, "weight"), arg(node, 4, "bias")
    eps = float(arg(node, 7, "eps", 1e-5))
    if x.layout != "cf":
        raise Unmappable("batch norm on a channels-last tensor")
    entry = {"type": "batchnorm", "affine": weight is not None, "eps": eps}
    m.emit(node, Mapped([entry]), x, params=params_of(node, weight, bias))


def _interpolate(m: _Mapper, node: TNode) -> None:
    x = single(m, node)
    if node.target == "interpolate":
        size, scale = arg(node, 1, "size"), arg(node, 2, "scale_factor")
        mode = arg(node, 3, "mode", "nearest")
    else:  # aten upsample_<mode><n>d: read the sizes
        mode = node.target[len("upsample_"):-2]
        size, scale = None, None
        out = node.shape[2:] if node.shape else ()
        ins = x.shape[1:]
        if all(o % i == 0 for o, i in zip(out, ins)):
            scale = [o // i for o, i in zip(out, ins)]
        else:
            size = list(out)
    m.emit(node, upsample_entry(size, scale, str(mode), x, node.target), x)


def _softmax(m: _Mapper, node: TNode) -> None:
    x = single(m, node)
    m.emit(node, softmax_entry(arg(node, 1, "dim"), x), x)


def _lrn(m: _Mapper, node: TNode) -> None:
    x = single(m, node)
    no_pending(x, "local_response_norm")
    entry = {"type": "lrn", "size": int(arg(node, 1, "size")), "alpha": float(arg(node, 2, "alpha", 1e-4)),
             "beta": float(arg(node, 3, "beta", 0.75)), "k": float(arg(node, 4, "k", 1.0))}
    m.emit(node, Mapped([entry]), x)


def _channel_shuffle(m: _Mapper, node: TNode) -> None:
    x = single(m, node)
    no_pending(x, "channel_shuffle")
    m.emit(node, Mapped([{"type": "channel_shuffle", "groups": int(arg(node, 1, "groups"))}]), x)


HANDLERS: dict[str, Callable[[_Mapper, TNode], None]] = {name: _activation for name in _ACTIVATIONS}
"""Canonical operation name -> its handler."""
HANDLERS.update({name: _dropout for name in _DROPOUT})
HANDLERS.update({
    "add": _binary, "mul": _binary, "cat": _cat, "conv1d": _conv, "conv2d": _conv, "conv3d": _conv, "linear": _linear,
    "layer_norm": _layer_norm, "batch_norm": _batch_norm, "interpolate": _interpolate, "softmax": _softmax,
    "_softmax": _softmax, "local_response_norm": _lrn, "channel_shuffle": _channel_shuffle,
    "native_channel_shuffle": _channel_shuffle,
})
for _n_ in (1, 2, 3):
    for _mode in ("nearest", "linear", "bilinear", "bicubic", "trilinear"):
        HANDLERS[f"upsample_{_mode}{_n_}d"] = _interpolate
