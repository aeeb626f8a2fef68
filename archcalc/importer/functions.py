"""What each torch function and method is in the spec language: one handler per operation.

:data:`FUNCTIONS` maps a canonical operation name (``relu`` for ``F.relu``, ``torch.relu``, ``x.relu_()``
and ``aten.relu.default`` alike; see :func:`archcalc.importer.graph.canonical_name`) to a handler that
reads the node's arguments (by position or keyword, as torch and ATen both allow) and records what
it is through the mapper (:mod:`archcalc.importer.mapping`): spec entries, a join, a pass-through, or
a pending pattern on the tensor (:class:`~archcalc.importer.values.Value`). A handler raises
:class:`~archcalc.importer.values.Unmappable` with the reason when the operation, or this use of it,
has no spec form.
"""

from __future__ import annotations

__all__ = ["FUNCTIONS", "TUPLE_OPS", "merge_pad", "node_args"]

import math
from typing import TYPE_CHECKING, Any, Callable

from .graph import TNode, flatten_args
from .leaves import adaptive_entry, flatten_entry, layernorm_entry, softmax_entry, uniform_value, upsample_entry
from .values import ZEROPAD, Mapped, Unmappable, Value, one_or_list, torch_pad_pairs

if TYPE_CHECKING:  # pragma: no cover
    from .mapping import _Mapper


_ACTIVATIONS = {"relu": "relu", "relu6": "relu6", "sigmoid": "sigmoid", "tanh": "tanh", "hardswish": "hardswish",
                "hardsigmoid": "hardsigmoid", "silu": "silu", "mish": "mish", "gelu": "gelu", "elu": "elu",
                "leaky_relu": "leaky_relu", "hardtanh": "hardtanh"}
_PASS = {"contiguous", "clone", "detach", "to", "type_as", "float", "alias", "lift_fresh_copy",
         "_assert_tensor_metadata"}
_DROPOUT = {"dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout", "feature_alpha_dropout",
            "feature_dropout"}


TUPLE_OPS = {"chunk", "split", "split_with_sizes", "unbind"}


def node_args(node: TNode) -> list[TNode]:
    """Every node among ``node``'s arguments (tensors or not)."""
    return [a for a in flatten_args((node.args, node.kwargs)) if isinstance(a, TNode)]


# --------------------------------------------------------------------------- argument helpers


def _arg(node: TNode, index: int, name: str, default: Any = None) -> Any:
    if name in node.kwargs:
        return node.kwargs[name]
    if len(node.args) > index:
        return node.args[index]
    return default


def _single(m: _Mapper, node: TNode) -> Value:
    x = m.value(node.args[0]) if node.args else None
    if x is None:
        raise Unmappable("its input does not come from the network input")
    return x


def _params_of(node: TNode, *consts: Any) -> int:
    total = 0
    for c in consts:
        if isinstance(c, TNode) and c.op == "const" and c.value is not None and _is_parameter(c.value):
            total += int(c.value.numel())
    return total


def _is_parameter(value: Any) -> bool:
    from torch import nn

    return isinstance(value, nn.Parameter)


def _no_pending(x: Value, what: str) -> None:
    if x.pending is not None:
        raise Unmappable(f"{what} on a rearranged tensor (a pattern the importer does not know)")


# --------------------------------------------------------------------------- handlers


def _activation(m: _Mapper, node: TNode) -> None:
    x = _single(m, node)
    _no_pending(x, node.target)
    kind = _ACTIVATIONS[node.target]
    entry: dict[str, Any] = {"type": kind, "negative_slope": None}
    if kind == "leaky_relu":
        slope = float(_arg(node, 1, "negative_slope", 0.01))
        entry["negative_slope"] = None if slope == 0.01 else slope
    elif kind == "elu" and float(_arg(node, 1, "alpha", 1.0)) != 1.0:
        raise Unmappable("elu with alpha other than 1")
    elif kind == "hardtanh":
        if (float(_arg(node, 1, "min_val", -1.0)), float(_arg(node, 2, "max_val", 1.0))) != (0.0, 6.0):
            raise Unmappable("hardtanh other than (0, 6) = relu6")
        entry["type"] = "relu6"
    elif kind == "gelu" and _arg(node, 1, "approximate", "none") not in ("none", "tanh"):
        raise Unmappable("gelu with an unknown approximation")
    m.emit(node, Mapped([entry], layout=x.layout), x)


def _dropout(m: _Mapper, node: TNode) -> None:
    x = _single(m, node)
    _no_pending(x, "dropout")
    p = float(_arg(node, 1, "p", 0.5))
    m.emit(node, Mapped([{"type": "dropout", "p": p}], layout=x.layout), x)


def _pass(m: _Mapper, node: TNode) -> None:
    x = _single(m, node)
    m.values[node.id] = Value(x.rep, x.shape, x.layout, x.pending)


def _binary(m: _Mapper, node: TNode) -> None:
    a, b = _arg(node, 0, "input"), _arg(node, 1, "other")
    if node.target == "add" and _arg(node, 2, "alpha", 1) != 1:
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
            m.emit(node, Mapped([entry], layout=x.layout), x, params=_params_of(node, const))
            return
    what = "a constant" if isinstance(const, TNode) else repr(const)
    raise Unmappable(f"{'multiplying by' if node.target == 'mul' else 'adding'} {what}: the spec language has layer "
                     "scale (a learnable per-channel factor) and joins of two branches, not this")


def _cat(m: _Mapper, node: TNode) -> None:
    tensors = _arg(node, 0, "tensors")
    dim = int(_arg(node, 1, "dim", 0))
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


def _flatten(m: _Mapper, node: TNode) -> None:
    x = _single(m, node)
    start = int(_arg(node, 1, "start_dim", 0))
    end = int(_arg(node, 2, "end_dim", -1))
    if x.pending is not None and x.pending[0] == "groupT" and (start, end) == (1, 2):
        _finish_shuffle(m, node, x)
        return
    m.emit(node, flatten_entry(start, end, x), x)


def _reshape(m: _Mapper, node: TNode) -> None:
    """``view`` / ``reshape``: decided by the shapes before and after, not by the arguments (which may
    be sizes the model computed)."""
    x = _single(m, node)
    src = node.args[0]
    before, after = tuple(src.shape or ()), tuple(node.shape or ())
    if not before or not after or after[0] != before[0]:
        raise Unmappable("a reshape that changes the batch axis")
    if after == before:
        m.values[node.id] = x
        return
    if x.pending is not None:
        kind = x.pending[0]
        if kind in ("group", "groupT") and after == x.pending[2]:
            if kind == "group":  # split and merged back without a transpose: nothing happened
                m.values[node.id] = Value(x.pending[3], x.shape, "cf")
                return
            _finish_shuffle(m, node, x)
            return
        raise Unmappable(f"a reshape of a rearranged tensor to {list(after)}")
    if x.layout == "cf" and len(after) == 2 and after[1] == math.prod(before[1:]):
        m.emit(node, flatten_entry(1, -1, x), x)
        return
    if x.layout == "cf" and len(before) >= 3 and len(after) == len(before) + 1 and after[3:] == before[2:] \
            and after[1] * after[2] == before[1]:
        # [N, C, *sp] -> [N, g, C/g, *sp]: the first step of a channel shuffle
        m.values[node.id] = Value(x.rep, x.shape, "other", ("group", after[1], before, x.rep))
        return
    raise Unmappable(f"a reshape from {list(before)} to {list(after)} (only flattening and channel shuffles "
                     "have spec forms)")


def _finish_shuffle(m: _Mapper, node: TNode, x: Value) -> None:
    groups = x.pending[1]  # type: ignore[index]
    original = Value(x.pending[3], x.shape, "cf")  # type: ignore[index]
    m.emit(node, Mapped([{"type": "channel_shuffle", "groups": int(groups)}]), original)


def _permutation(node: TNode, rank: int) -> tuple[int, ...] | None:
    name = node.target
    if name == "permute":
        dims = list(node.args[1:]) if len(node.args) > 2 or not isinstance(_arg(node, 1, "dims"), (list, tuple)) \
            else list(_arg(node, 1, "dims"))
        return tuple(int(d) % rank for d in dims)
    if name in ("transpose", "swapaxes", "swapdims"):
        a, b = int(_arg(node, 1, "dim0")) % rank, int(_arg(node, 2, "dim1")) % rank
        p = list(range(rank))
        p[a], p[b] = p[b], p[a]
        return tuple(p)
    if name in ("movedim", "moveaxis"):
        src, dst = _arg(node, 1, "source"), _arg(node, 2, "destination")
        if isinstance(src, (list, tuple)) or isinstance(dst, (list, tuple)):
            return None
        src, dst = int(src) % rank, int(dst) % rank
        order = [d for d in range(rank) if d != src]
        order.insert(dst, src)
        return tuple(order)
    return None


def _permute(m: _Mapper, node: TNode) -> None:
    x = _single(m, node)
    rank = len(node.args[0].shape or ()) or len(x.shape) + 1
    perm = _permutation(node, rank)
    if perm is None:
        raise Unmappable(f"{node.target} with these arguments")
    if x.pending is not None:
        if x.pending[0] == "group" and perm == (0, 2, 1, *range(3, rank)):
            m.values[node.id] = Value(x.rep, x.shape, "other", ("groupT", *x.pending[1:]))
            return
        raise Unmappable(f"{node.target} of a rearranged tensor")
    identity = tuple(range(rank))
    to_last = (0, *range(2, rank), 1)
    to_first = (0, rank - 1, *range(1, rank - 1))
    if perm == identity:
        layout = x.layout
    elif x.layout == "cf" and perm == to_last:
        layout = "cl"
    elif x.layout == "cl" and perm == to_first:
        layout = "cf"
    else:
        layout = "other"
    m.values[node.id] = Value(x.rep, x.shape, layout)


def _mean(m: _Mapper, node: TNode) -> None:
    x = _single(m, node)
    _no_pending(x, "mean")
    dims = _arg(node, 1, "dim")
    keep = bool(_arg(node, 2, "keepdim", False))
    rank = len(x.shape) + 1
    dims = [dims] if isinstance(dims, int) else list(dims or [])
    if x.layout != "cf" or sorted(int(d) % rank for d in dims) != list(range(2, rank)):
        raise Unmappable("a mean over other axes than the spatial ones")
    entries: list[dict[str, Any]] = [{"type": "global_avgpool"}]
    if not keep:
        entries.append({"type": "flatten"})
    m.emit(node, Mapped(entries), x, via="mean")


def _adaptive_pool(m: _Mapper, node: TNode) -> None:
    x = _single(m, node)
    kind = "avg" if "avg" in node.target else "max"
    if kind == "max" and bool(_arg(node, 2, "return_indices", False)):
        raise Unmappable("adaptive max pooling that returns indices")
    m.emit(node, adaptive_entry(kind, _arg(node, 1, "output_size"), x, node.target), x)


def _window_pool(m: _Mapper, node: TNode) -> None:
    x = _single(m, node)
    n = len(x.shape) - 1
    maxpool = node.target.startswith("max")
    kernel = _arg(node, 1, "kernel_size")
    stride = _arg(node, 2, "stride") or kernel
    padding = _arg(node, 3, "padding", 0)
    entry: dict[str, Any] = {"type": "maxpool" if maxpool else "avgpool", "kernel": one_or_list(_n(kernel, n)),
                             "stride": one_or_list(_n(stride, n)), "padding": one_or_list(_n(padding, n))}
    if maxpool:
        entry["dilation"] = one_or_list(_n(_arg(node, 4, "dilation", 1), n))
        entry["ceil_mode"] = bool(_arg(node, 5, "ceil_mode", False))
        if bool(_arg(node, 6, "return_indices", False)):
            raise Unmappable("max pooling that returns indices")
    else:
        entry["ceil_mode"] = bool(_arg(node, 4, "ceil_mode", False))
        entry["count_include_pad"] = bool(_arg(node, 5, "count_include_pad", True))
        if _arg(node, 6, "divisor_override") is not None:
            raise Unmappable("average pooling with divisor_override")
    pad_node = m.graph.nodes[x.pending[4]] if x.pending is not None and x.pending[0] == "pad" else None
    x, entry = merge_pad(x, entry, n)
    if x.layout != "cf" or len(x.shape) != n + 1:
        raise Unmappable(f"{node.target} on a channels-last tensor")
    m.emit(node, Mapped([entry]), x, absorbed=[pad_node] if pad_node is not None else [])


def _n(value: Any, n: int) -> list[int]:
    if isinstance(value, (list, tuple)):
        return [int(v) for v in value] if len(value) == n else [int(value[0])] * n
    return [int(value)] * n


def merge_pad(x: Value, entry: dict[str, Any], n: int) -> tuple[Value, dict[str, Any]]:
    """``F.pad`` then a convolution or pooling: the padding becomes the entry's [low, high] padding."""
    if x.pending is None:
        return x, entry
    if x.pending[0] != "pad":
        raise Unmappable(f"{entry['type']} on a rearranged tensor")
    _, pad, fill, rep, _node = x.pending
    pairs = torch_pad_pairs(pad, n + 1)
    if pairs[0] != (0, 0):
        raise Unmappable("padding of the channel axis before a convolution or pooling")
    ok_fill = (fill == 0.0 and entry["type"] in ("conv", "avgpool")) or (
        entry["type"] == "maxpool" and fill == -math.inf)
    if not ok_fill:
        raise Unmappable(f"padding with {fill} before {entry['type']}")
    if entry["type"] == "avgpool" and (not entry.get("count_include_pad", True) or entry.get("ceil_mode")):
        raise Unmappable("explicit padding before average pooling that excludes padding or rounds up")
    own = entry.get("padding", 0)
    own_pairs = [(p, p) for p in _n(own, n)] if not (isinstance(own, list) and own and isinstance(own[0], list)) \
        else [tuple(p) for p in own]
    total = [(lo + a, hi + b) for (lo, hi), (a, b) in zip(pairs[1:], own_pairs)]
    entry = {**entry, "padding": one_or_list([lo for lo, _ in total]) if all(lo == hi for lo, hi in total)
             else [list(p) for p in total]}
    return Value(rep, x.shape, "cf"), entry


def _pad(m: _Mapper, node: TNode) -> None:
    x = _single(m, node)
    pad = [int(p) for p in _arg(node, 1, "pad")]
    mode = _arg(node, 2, "mode", "constant")
    fill = _arg(node, 3, "value", 0.0)
    fill = 0.0 if fill is None else float(fill)
    if mode != "constant":
        raise Unmappable(f"padding in mode {mode!r}: the spec language pads with zeros")
    rank = len(x.shape)
    pairs = torch_pad_pairs(pad, rank)
    if x.pending is not None and x.pending[0] == "stride":
        # ResNet option A: x[:, :, ::s, ::s] then zero channels on both sides
        if any(p != (0, 0) for p in pairs[1:]) or fill != 0.0:
            raise Unmappable("padding after a strided slice that is not zero channels")
        original = Value(x.pending[1], x.pending[2], "cf")
        m.emit(node, Mapped([{"type": ZEROPAD}]), original)
        return
    if x.layout != "cf" or x.pending is not None:
        raise Unmappable("padding a rearranged tensor")
    if pairs[0] != (0, 0):
        raise Unmappable("padding the channel axis (only ResNet's zero-padding shortcut does, after a strided slice)")
    m.values[node.id] = Value(x.rep, x.shape, "cf", ("pad", tuple(pad), fill, x.rep, node.id))


def _conv(m: _Mapper, node: TNode) -> None:
    x = _single(m, node)
    weight, bias = _arg(node, 1, "weight"), _arg(node, 2, "bias")
    if not (isinstance(weight, TNode) and weight.op == "const" and weight.shape):
        raise Unmappable("a convolution whose weight is computed, not a parameter")
    n = len(weight.shape) - 2
    stride, padding = _arg(node, 3, "stride", 1), _arg(node, 4, "padding", 0)
    dilation, groups = _arg(node, 5, "dilation", 1), int(_arg(node, 6, "groups", 1))
    cout, cin_g = weight.shape[0], weight.shape[1]
    cin = cin_g * groups
    if isinstance(padding, str):
        if padding != "valid":
            raise Unmappable(f"functional convolution with padding={padding!r}")
        padding = 0
    entry = {"type": "conv", "out": cout, "kernel": one_or_list(weight.shape[2:]), "stride": one_or_list(_n(stride, n)),
             "padding": one_or_list(_n(padding, n)), "dilation": one_or_list(_n(dilation, n)),
             "groups": "depthwise" if groups == cin and groups > 1 else groups, "bias": bias is not None}
    pad_node = m.graph.nodes[x.pending[4]] if x.pending is not None and x.pending[0] == "pad" else None
    x, entry = merge_pad(x, entry, n)
    if x.layout != "cf" or len(x.shape) != n + 1:
        raise Unmappable("a convolution on a channels-last tensor")
    m.emit(node, Mapped([entry]), x, params=_params_of(node, weight, bias),
           absorbed=[pad_node] if pad_node is not None else [])


def _linear(m: _Mapper, node: TNode) -> None:
    x = _single(m, node)
    weight, bias = _arg(node, 1, "weight"), _arg(node, 2, "bias")
    if not (isinstance(weight, TNode) and weight.op == "const" and weight.shape):
        raise Unmappable("a linear layer whose weight is computed, not a parameter")
    _no_pending(x, "linear")
    entry = {"type": "linear", "out": weight.shape[0], "bias": bias is not None, "per_position": False}
    if len(x.shape) == 1:
        m.emit(node, Mapped([entry]), x, params=_params_of(node, weight, bias))
    elif x.layout == "cl":
        entry["per_position"] = True
        m.emit(node, Mapped([entry], layout="cl"), x, params=_params_of(node, weight, bias))
    else:
        raise Unmappable("linear over the last axis of a channels-first tensor")


def _layer_norm(m: _Mapper, node: TNode) -> None:
    x = _single(m, node)
    shape = tuple(int(s) for s in _arg(node, 1, "normalized_shape"))
    weight, bias = _arg(node, 2, "weight"), _arg(node, 3, "bias")
    eps = float(_arg(node, 4, "eps", 1e-5))
    mapped = layernorm_entry(shape, x, eps, weight, bias, "layer_norm")
    m.emit(node, mapped, x, params=_params_of(node, weight, bias))


def _batch_norm(m: _Mapper, node: TNode) -> None:
    x = _single(m, node)
    _no_pending(x, "batch_norm")
    weight, bias = _arg(node, 3, "weight"), _arg(node, 4, "bias")
    eps = float(_arg(node, 7, "eps", 1e-5))
    if x.layout != "cf":
        raise Unmappable("batch norm on a channels-last tensor")
    entry = {"type": "batchnorm", "affine": weight is not None, "eps": eps}
    m.emit(node, Mapped([entry]), x, params=_params_of(node, weight, bias))


def _interpolate(m: _Mapper, node: TNode) -> None:
    x = _single(m, node)
    if node.target == "interpolate":
        size, scale = _arg(node, 1, "size"), _arg(node, 2, "scale_factor")
        mode = _arg(node, 3, "mode", "nearest")
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
    x = _single(m, node)
    m.emit(node, softmax_entry(_arg(node, 1, "dim"), x), x)


def _lrn(m: _Mapper, node: TNode) -> None:
    x = _single(m, node)
    _no_pending(x, "local_response_norm")
    entry = {"type": "lrn", "size": int(_arg(node, 1, "size")), "alpha": float(_arg(node, 2, "alpha", 1e-4)),
             "beta": float(_arg(node, 3, "beta", 0.75)), "k": float(_arg(node, 4, "k", 1.0))}
    m.emit(node, Mapped([entry]), x)


def _channel_shuffle(m: _Mapper, node: TNode) -> None:
    x = _single(m, node)
    _no_pending(x, "channel_shuffle")
    m.emit(node, Mapped([{"type": "channel_shuffle", "groups": int(_arg(node, 1, "groups"))}]), x)


def _tuple_op(m: _Mapper, node: TNode) -> None:
    x = _single(m, node)
    m.tuples[node.id] = (node.target, x, node)


def _getitem(m: _Mapper, node: TNode) -> None:
    src, index = node.args[0], node.args[1]
    if isinstance(src, TNode) and src.id in m.tuples:
        how, x, tnode = m.tuples[src.id]
        _split_item(m, node, how, x, tnode, int(index))
        return
    x = m.value(src)
    if x is None:
        raise Unmappable("indexing a tensor that does not come from the network input")
    _no_pending(x, "indexing")
    if x.layout != "cf":
        raise Unmappable("indexing a channels-last tensor")
    index = index if isinstance(index, tuple) else (index,)
    rank = len(x.shape) + 1
    if any(not isinstance(i, slice) for i in index) or len(index) > rank or index[0] != slice(None):
        raise Unmappable(f"indexing with {index!r}")
    slices = list(index[1:]) + [slice(None)] * (rank - len(index))
    sizes = (x.shape[0], *x.shape[1:])
    chan, spatial = slices[0], slices[1:]
    if chan != slice(None) and all(s == slice(None) for s in spatial):
        start, stop, step = chan.indices(sizes[0])
        width = stop - start
        if step != 1 or width <= 0 or sizes[0] % width or start % width:
            raise Unmappable(f"a channel slice {start}:{stop} that is not one of equal parts")
        m.emit(node, Mapped([{"type": "channel_split", "parts": sizes[0] // width, "index": start // width}]), x)
        return
    if chan == slice(None):
        bounds = [s.indices(n) for s, n in zip(spatial, sizes[1:])]
        if all(st == 1 for _, _, st in bounds):
            crop = [stop - start for start, stop, _ in bounds]
            if all(start == (n - c) // 2 for (start, _, _), n, c in zip(bounds, sizes[1:], crop)):
                m.emit(node, Mapped([{"type": "crop", "size": one_or_list(crop)}]), x)
                return
        if all(start == 0 and stop == n for (start, stop, _), n in zip(bounds, sizes[1:])):
            after = tuple(node.shape[1:])  # type: ignore[index]
            m.values[node.id] = Value(x.rep, after, "other", ("stride", x.rep, x.shape))
            return
    raise Unmappable(f"indexing with {index!r}")


def _split_item(m: _Mapper, node: TNode, how: str, x: Value, tnode: TNode, i: int) -> None:
    rank = len(x.shape) + 1
    if how == "unbind":
        raise Unmappable("unbind")
    size_or_chunks = _arg(tnode, 1, "chunks" if how == "chunk" else "split_size_or_sections")
    dim = int(_arg(tnode, 2, "dim", 0)) % rank
    if dim != 1 or x.layout != "cf" or x.pending is not None:
        raise Unmappable(f"{how} along axis {dim}: only equal parts of the channels have a spec form")
    c = x.shape[0]
    if how == "chunk":
        parts = int(size_or_chunks)
        if c % parts:
            raise Unmappable(f"chunk of {c} channels into {parts} unequal parts")
    elif isinstance(size_or_chunks, int) and c % size_or_chunks == 0:
        parts = c // size_or_chunks
    elif isinstance(size_or_chunks, (list, tuple)) and len(set(size_or_chunks)) == 1:
        parts = len(size_or_chunks)
    else:
        raise Unmappable(f"split of {c} channels into unequal parts")
    m.emit(node, Mapped([{"type": "channel_split", "parts": parts, "index": i}]), x)


FUNCTIONS: dict[str, Callable[[_Mapper, TNode], None]] = {name: _activation for name in _ACTIVATIONS}
FUNCTIONS.update({name: _dropout for name in _DROPOUT})
FUNCTIONS.update({name: _pass for name in _PASS})
FUNCTIONS.update({
    "add": _binary, "mul": _binary, "cat": _cat, "flatten": _flatten, "view": _reshape, "reshape": _reshape,
    "_unsafe_view": _reshape, "permute": _permute, "transpose": _permute, "swapaxes": _permute, "swapdims": _permute,
    "movedim": _permute, "moveaxis": _permute, "mean": _mean, "pad": _pad, "constant_pad_nd": _pad,
    "conv1d": _conv, "conv2d": _conv, "conv3d": _conv, "linear": _linear, "layer_norm": _layer_norm,
    "batch_norm": _batch_norm, "interpolate": _interpolate, "softmax": _softmax, "_softmax": _softmax,
    "local_response_norm": _lrn, "channel_shuffle": _channel_shuffle, "native_channel_shuffle": _channel_shuffle,
    "getitem": _getitem, "chunk": _tuple_op, "split": _tuple_op, "split_with_sizes": _tuple_op, "unbind": _tuple_op,
})
for _n_ in (1, 2, 3):
    FUNCTIONS[f"adaptive_avg_pool{_n_}d"] = _adaptive_pool
    FUNCTIONS[f"adaptive_max_pool{_n_}d"] = _adaptive_pool
    FUNCTIONS[f"max_pool{_n_}d"] = _window_pool
    FUNCTIONS[f"avg_pool{_n_}d"] = _window_pool
    for _mode in ("nearest", "linear", "bilinear", "bicubic", "trilinear"):
        FUNCTIONS[f"upsample_{_mode}{_n_}d"] = _interpolate
