"""The network as a series-parallel tree: what the diagram draws, before any geometry.

A spec is series-parallel by construction: a layer list runs in sequence, a ``concat`` runs its
branches side by side and joins them, a ``residual`` runs its body beside a shortcut and adds
them, a ``side`` runs a head off the main path. :func:`network_tree` rebuilds that tree from the
validated spec (:func:`archcalc.kinds.children` lists each composite's layer lists) and ties every
node to the analysis: a leaf to its row in ``analysis.layers``, a composite to its subtotal in
``analysis.groups``. Every analysis row appears exactly once, in execution order.

How a composite kind is arranged is declared once, in :data:`ARRANGEMENTS` (keyed by kind tag);
a composite kind without an arrangement is refused (the tests check the registry against it).
"""

from __future__ import annotations

__all__ = ["Leaf", "Block", "Seq", "Side", "Parallel", "Bypass", "Node", "Item", "network_tree", "ARRANGEMENTS",
           "blocks", "leaves", "walk"]

from dataclasses import dataclass
from typing import Any, Callable, Iterator, Union

from ..analysis import Analysis
from ..kinds import KINDS, children
from ..spec import Spec


@dataclass(frozen=True, slots=True)
class Leaf:
    """One analysis row (``analysis.layers[row]``), drawn as a box."""

    row: int


@dataclass(frozen=True, slots=True)
class Seq:
    """Items run one after another, top to bottom (a :class:`Side` item branches off)."""

    items: tuple["Item", ...]


@dataclass(frozen=True, slots=True)
class Parallel:
    """A ``concat``: branches side by side (``None``: an identity branch), joined by the ``concat`` row."""

    branches: tuple[Union["Block", None], ...]
    join: Leaf


@dataclass(frozen=True, slots=True)
class Bypass:
    """A ``residual``: the body, and beside it the shortcut (``None``: identity; else its rows as a
    block: a projection or a list of layers), meeting at the ``join`` row (add or multiply),
    then the optional activation after the join."""

    body: Seq
    shortcut: Union["Block", None]
    join: Leaf
    act: Leaf | None


Arrangement = Union[Seq, Parallel, Bypass]


@dataclass(frozen=True, slots=True)
class Block:
    """A composite (``analysis.groups[group]``), drawn folded as one box or unfolded as a frame
    around its ``body``; ``kind`` is the group's type (sequential, residual, concat, side, branch)."""

    group: int
    kind: str
    body: Arrangement


@dataclass(frozen=True, slots=True)
class Side:
    """A ``side`` block in a sequence: its head is drawn off to the side; the main path goes on."""

    block: Block


Node = Union[Leaf, Block]
Item = Union[Leaf, Block, Side]


class _Index:
    """Rows and groups of one analysis by dotted name."""

    def __init__(self, analysis: Analysis):
        self.rows = {r.name: i for i, r in enumerate(analysis.layers)}
        self.groups = {g.name: i for i, g in enumerate(analysis.groups)}
        self.bounds = [(g.first, g.stop) for g in analysis.groups]

    def row(self, name: str) -> Leaf | None:
        i = self.rows.get(name)
        return None if i is None else Leaf(i)

    def group(self, name: str) -> int:
        return self.groups[name]


def _scope(path: str, suffix: str) -> str:
    return f"{path}.{suffix}" if suffix else path


def _sequence(layers: list, scope: str, index: _Index) -> Seq:
    items: list[Item] = []
    for layer in layers:
        path = f"{scope}.{layer.name}" if scope else layer.name
        kind = KINDS[layer.type]
        if not kind.composite:
            leaf = index.row(path)
            if leaf is None:  # pragma: no cover - the analysis records every leaf
                raise RuntimeError(f"no analysis row for layer {path}")
            items.append(leaf)
            continue
        arrange = ARRANGEMENTS.get(layer.type)
        if arrange is None:  # pragma: no cover - tests check every composite kind has one
            raise RuntimeError(f"the diagram does not know how to arrange a {layer.type!r}")
        items.append(arrange(layer, path, index))
    return Seq(tuple(items))


def _arrange_sequential(layer: Any, path: str, index: _Index) -> Item:
    (child,) = children(layer)
    return Block(index.group(path), layer.type, _sequence(child.layers, _scope(path, child.suffix), index))


def _arrange_side(layer: Any, path: str, index: _Index) -> Item:
    (child,) = children(layer)
    return Side(Block(index.group(path), layer.type, _sequence(child.layers, _scope(path, child.suffix), index)))


def _arrange_concat(layer: Any, path: str, index: _Index) -> Item:
    branches: list[Block | None] = []
    for child in children(layer):
        scope = _scope(path, child.suffix)
        branches.append(Block(index.group(scope), "branch", _sequence(child.layers, scope, index))
                        if child.layers else None)
    join = index.row(f"{path}.concat")
    if join is None:  # pragma: no cover
        raise RuntimeError(f"no concat row for {path}")
    return Block(index.group(path), layer.type, Parallel(tuple(branches), join))


def _arrange_residual(layer: Any, path: str, index: _Index) -> Item:
    lists = {c.suffix: c for c in children(layer)}
    body = _sequence(lists[""].layers, path, index)
    join = index.row(f"{path}.add") or index.row(f"{path}.mul")
    group = index.group(path)
    if join is None:  # an optional shortcut where the shapes differ: no join at all
        return Block(group, layer.type, body)
    scope = f"{path}.shortcut"
    shortcut: Block | None = None
    if "shortcut" in lists:  # a list of layers
        shortcut = Block(index.group(scope), "sequential", _sequence(lists["shortcut"].layers, scope, index))
    elif scope in index.groups:  # a projection or zero padding the analysis added
        g = index.group(scope)
        shortcut = Block(g, "sequential", Seq(tuple(Leaf(i) for i in _rows_in(index, g))))
    return Block(group, layer.type, Bypass(body, shortcut, join, index.row(f"{path}.act")))


def _arrange_own_row(layer: Any, path: str, index: _Index) -> Item:
    """A kind that reads named tensors and adds one row of its own (proposals, RoIAlign): a box."""
    leaf = index.row(path)
    if leaf is None:  # pragma: no cover
        raise RuntimeError(f"no analysis row for layer {path}")
    return leaf


def _arrange_tap(layer: Any, path: str, index: _Index) -> Item:
    """A tap only names a tensor: an empty block."""
    return Block(index.group(path), layer.type, Seq(()))


def _arrange_levels(layer: Any, path: str, index: _Index) -> Item:
    """A head shared over pyramid levels: one frame per level, in sequence."""
    (child,) = children(layer)
    per_level = [Block(index.group(f"{path}.{name}"), "sequential", _sequence(child.layers, f"{path}.{name}", index))
                 for name in (layer.inputs or ["input"])]
    return Block(index.group(path), layer.type, Seq(tuple(per_level)))


def _arrange_fpn(layer: Any, path: str, index: _Index) -> Item:
    """A feature pyramid: its levels in the order they run (coarsest first), each a frame, then the extra level."""
    items: list[Item] = []
    for g in sorted((i for name, i in index.groups.items() if name.startswith(f"{path}.")),
                    key=lambda i: index.bounds[i][0]):
        items.append(Block(g, "sequential", Seq(tuple(Leaf(i) for i in _rows_in(index, g)))))
    extra = index.row(f"{path}.{layer.outputs[-1]}") if layer.extra == "maxpool" else None
    if extra is not None:
        items.append(extra)
    return Block(index.group(path), layer.type, Seq(tuple(items)))


def _rows_in(index: _Index, group: int) -> range:
    first, stop = index.bounds[group]
    return range(first, stop)


ARRANGEMENTS: dict[str, Callable[[Any, str, _Index], Item]] = {
    "sequential": _arrange_sequential,
    "side": _arrange_side,
    "concat": _arrange_concat,
    "residual": _arrange_residual,
    "per_proposal": _arrange_sequential,
    "levels": _arrange_levels,
    "fpn": _arrange_fpn,
    "tap": _arrange_tap,
    "proposals": _arrange_own_row,
    "detections": _arrange_own_row,
    "roi_align": _arrange_own_row,
    "roi_pool": _arrange_own_row,
}
"""How each composite kind is drawn: its nested lists in sequence, off to the side, side by side, or
beside a shortcut."""


def network_tree(spec: Spec, analysis: Analysis) -> Seq:
    """The series-parallel tree of ``spec``, tied to ``analysis`` (of the same spec)."""
    index = _Index(analysis)
    tree = _sequence(spec.layers, "", index)
    drawn = [leaf.row for leaf in leaves(tree)]
    if drawn != list(range(len(analysis.layers))):  # pragma: no cover - a programming error
        raise RuntimeError("the diagram's tree does not hold every analysis row once, in order")
    return tree


def walk(node: Any) -> Iterator[Any]:
    """Every node under ``node`` (itself first), outer before inner, in drawing order."""
    yield node
    if isinstance(node, Side):
        yield from walk(node.block)
    elif isinstance(node, Block):
        yield from walk(node.body)
    elif isinstance(node, Seq):
        for item in node.items:
            yield from walk(item)
    elif isinstance(node, Parallel):
        for b in node.branches:
            if b is not None:
                yield from walk(b)
        yield node.join
    elif isinstance(node, Bypass):
        yield from walk(node.body)
        if node.shortcut is not None:
            yield from walk(node.shortcut)
        yield node.join
        if node.act is not None:
            yield node.act


def leaves(tree: Any) -> list[Leaf]:
    """Every leaf, in drawing order (execution order, a residual's shortcut after its body)."""
    return [n for n in walk(tree) if isinstance(n, Leaf)]


def blocks(tree: Any) -> list[Block]:
    """Every block, outermost first."""
    return [n for n in walk(tree) if isinstance(n, Block)]
