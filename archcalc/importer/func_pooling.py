"""Torch functions that pool or pad: ``mean`` over the spatial axes, adaptive and window pooling, ``F.pad``.

An explicit ``F.pad`` (or ``nn.ZeroPad2d``) is not a layer of its own: it marks the tensor, and the
convolution or pooling that reads it takes the padding as its own ``[low, high]`` padding
(:func:`merge_pad`); ResNet's option-A shortcut (a strided slice, then zero channels) becomes the
``#zeropad`` pseudo-kind.
"""

from __future__ import annotations

__all__ = ["HANDLERS", "merge_pad"]

import math
from typing import TYPE_CHECKING, Any, Callable

from .entries import adaptive_entry
from .func_args import arg, no_pending, per_axis, single
from .graph import TNode
from .values import ZEROPAD, Mapped, Unmappable, Value, one_or_list, torch_pad_pairs

if TYPE_CHECKING:  # pragma: no cover
    from .mapping import _Mapper


def _mean(m: _Mapper, node: TNode) -> None:
    x = single(m, node)
    no_pending(x, "mean")
    dims = arg(node, 1, "dim")
    keep = bool(arg(node, 2, "keepdim", False))
    rank = len(x.shape) + 1
    dims = [dims] if isinstance(dims, int) else list(dims or [])
    if x.layout != "cf" or sorted(int(d) % rank for d in dims) != list(range(2, rank)):
        raise Unmappable("a mean over other axes than the spatial ones")
    entries: list[dict[str, Any]] = [{"type": "global_avgpool"}]
    if not keep:
        entries.append({"type": "flatten"})
    m.emit(node, Mapped(entries), x, via="mean")


def _adaptive_pool(m: _Mapper, node: TNode) -> None:
    x = single(m, node)
    kind = "avg" if "avg" in node.target else "max"
    if kind == "max" and bool(arg(node, 2, "return_indices", False)):
        raise Unmappable("adaptive max pooling that returns indices")
    m.emit(node, adaptive_entry(kind, arg(node, 1, "output_size"), x, node.target), x)


def _window_pool(m: _Mapper, node: TNode) -> None:
    x = single(m, node)
    n = len(x.shape) - 1
    maxpool = node.target.startswith("max")
    kernel = arg(node, 1, "kernel_size")
    stride = arg(node, 2, "stride") or kernel
    padding = arg(node, 3, "padding", 0)
    entry: dict[str, Any] = {"type": "maxpool" if maxpool else "avgpool", "kernel": one_or_list(per_axis(kernel, n)),
                             "stride": one_or_list(per_axis(stride, n)), "padding": one_or_list(per_axis(padding, n))}
    if maxpool:
        entry["dilation"] = one_or_list(per_axis(arg(node, 4, "dilation", 1), n))
        entry["ceil_mode"] = bool(arg(node, 5, "ceil_mode", False))
        if bool(arg(node, 6, "return_indices", False)):
            raise Unmappable("max pooling that returns indices")
    else:
        entry["ceil_mode"] = bool(arg(node, 4, "ceil_mode", False))
        entry["count_include_pad"] = bool(arg(node, 5, "count_include_pad", True))
        if arg(node, 6, "divisor_override") is not None:
            raise Unmappable("average pooling with divisor_override")
    pad_node = m.graph.nodes[x.pending[4]] if x.pending is not None and x.pending[0] == "pad" else None
    x, entry = merge_pad(x, entry, n)
    if x.layout != "cf" or len(x.shape) != n + 1:
        raise Unmappable(f"{node.target} on a channels-last tensor")
    m.emit(node, Mapped([entry]), x, absorbed=[pad_node] if pad_node is not None else [])


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
    own_pairs = [(p, p) for p in per_axis(own, n)] if not (isinstance(own, list) and own and isinstance(own[0], list)) \
        else [tuple(p) for p in own]
    total = [(lo + a, hi + b) for (lo, hi), (a, b) in zip(pairs[1:], own_pairs)]
    entry = {**entry, "padding": one_or_list([lo for lo, _ in total]) if all(lo == hi for lo, hi in total)
             else [list(p) for p in total]}
    return Value(rep, x.shape, "cf"), entry


def _pad(m: _Mapper, node: TNode) -> None:
    x = single(m, node)
    pad = [int(p) for p in arg(node, 1, "pad")]
    mode = arg(node, 2, "mode", "constant")
    fill = arg(node, 3, "value", 0.0)
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


HANDLERS: dict[str, Callable[[_Mapper, TNode], None]] = {"mean": _mean, "pad": _pad, "constant_pad_nd": _pad}
"""Canonical operation name -> its handler."""
for _n_ in (1, 2, 3):
    HANDLERS[f"adaptive_avg_pool{_n_}d"] = _adaptive_pool
    HANDLERS[f"adaptive_max_pool{_n_}d"] = _adaptive_pool
    HANDLERS[f"max_pool{_n_}d"] = _window_pool
    HANDLERS[f"avg_pool{_n_}d"] = _window_pool
