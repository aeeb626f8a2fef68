"""Torch functions that move data without arithmetic: pass-throughs, flatten, reshape, permute, indexing, splits.

Most are no layer at all: they pass the value on, perhaps with a new layout (``cl`` after ConvNeXt's
``permute(0, 2, 3, 1)``) or as the first steps of a pattern (the view and transpose of a channel
shuffle, a strided slice before zero-padding channels). The ones that are layers: ``flatten``,
``channel_shuffle`` (once the pattern completes), ``channel_split`` (``x[:, a:b]``, ``chunk``, ``split``)
and ``crop`` (a centred spatial slice).
"""

from __future__ import annotations

__all__ = ["HANDLERS"]

import math
from typing import TYPE_CHECKING, Callable

from .entries import flatten_entry
from .func_args import arg, no_pending, single
from .graph import TNode
from .values import Mapped, Unmappable, Value, one_or_list

if TYPE_CHECKING:  # pragma: no cover
    from .mapping import _Mapper


_PASS = {"contiguous", "clone", "detach", "to", "type_as", "float", "alias", "lift_fresh_copy",
         "_assert_tensor_metadata"}


def _pass(m: _Mapper, node: TNode) -> None:
    x = single(m, node)
    m.values[node.id] = Value(x.rep, x.shape, x.layout, x.pending)


def _flatten(m: _Mapper, node: TNode) -> None:
    x = single(m, node)
    start = int(arg(node, 1, "start_dim", 0))
    end = int(arg(node, 2, "end_dim", -1))
    if x.pending is not None and x.pending[0] == "groupT" and (start, end) == (1, 2):
        _finish_shuffle(m, node, x)
        return
    m.emit(node, flatten_entry(start, end, x), x)


def _reshape(m: _Mapper, node: TNode) -> None:
    """``view`` / ``reshape``: decided by the shapes before and after, not by the arguments (which may
    be sizes the model computed)."""
    x = single(m, node)
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
        dims = list(node.args[1:]) if len(node.args) > 2 or not isinstance(arg(node, 1, "dims"), (list, tuple)) \
            else list(arg(node, 1, "dims"))
        return tuple(int(d) % rank for d in dims)
    if name in ("transpose", "swapaxes", "swapdims"):
        a, b = int(arg(node, 1, "dim0")) % rank, int(arg(node, 2, "dim1")) % rank
        p = list(range(rank))
        p[a], p[b] = p[b], p[a]
        return tuple(p)
    if name in ("movedim", "moveaxis"):
        src, dst = arg(node, 1, "source"), arg(node, 2, "destination")
        if isinstance(src, (list, tuple)) or isinstance(dst, (list, tuple)):
            return None
        src, dst = int(src) % rank, int(dst) % rank
        order = [d for d in range(rank) if d != src]
        order.insert(dst, src)
        return tuple(order)
    return None


def _permute(m: _Mapper, node: TNode) -> None:
    x = single(m, node)
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


def _tuple_op(m: _Mapper, node: TNode) -> None:
    x = single(m, node)
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
    no_pending(x, "indexing")
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
    size_or_chunks = arg(tnode, 1, "chunks" if how == "chunk" else "split_size_or_sections")
    dim = int(arg(tnode, 2, "dim", 0)) % rank
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


HANDLERS: dict[str, Callable[[_Mapper, TNode], None]] = {name: _pass for name in _PASS}
"""Canonical operation name -> its handler."""
HANDLERS.update({
    "flatten": _flatten, "view": _reshape, "reshape": _reshape, "_unsafe_view": _reshape, "permute": _permute,
    "transpose": _permute, "swapaxes": _permute, "swapdims": _permute, "movedim": _permute, "moveaxis": _permute,
    "getitem": _getitem, "chunk": _tuple_op, "split": _tuple_op, "split_with_sizes": _tuple_op, "unbind": _tuple_op,
})
