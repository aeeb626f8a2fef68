"""The tree folding works on: :class:`FNode`, one spec entry (a leaf, a composite, or a use of a block).

Built from the importer's :class:`~archcalc.importer.tree.Entry` tree (:func:`from_entry`), with what the
folding passes ask of it: a node's structure signature (kinds, names, nesting; values left out), its own
values by key (fields, a use's ``repeat`` and ``first:``), the nodes of equal trees side by side, and
walks over the tree.
"""

from __future__ import annotations

__all__ = ["FNode", "from_entry", "sig", "get_value", "set_value", "parallel", "own_keys", "node_paths",
           "become", "composites", "all_nodes"]

from dataclasses import dataclass, field
from typing import Any

from .tree import Entry


@dataclass(eq=False)
class FNode:
    """One spec entry while folding: a leaf, a composite, or a use of a block."""

    type: str  # a kind tag, or 'use'
    name: str
    fields: dict[str, Any] = field(default_factory=dict)  # leaf/residual fields; a use: its arguments
    lists: list[tuple[str, list["FNode"]]] = field(default_factory=list)  # ('layers'|'body'|'shortcut'|'branch:<name>')
    in_shape: tuple[int, ...] = ()
    out_shape: tuple[int, ...] = ()
    module_class: str | None = None
    block: str | None = None  # a use: the block
    repeat: int | None = None
    first: dict[str, Any] | None = None
    done: bool = False

    @property
    def composite(self) -> bool:
        return self.type in ("sequential", "side", "residual", "concat")

    def copy(self) -> "FNode":
        return FNode(self.type, self.name, dict(self.fields), [(s, [c.copy() for c in lst]) for s, lst in self.lists],
                     self.in_shape, self.out_shape, self.module_class, self.block, self.repeat,
                     dict(self.first) if self.first is not None else None, self.done)


# --------------------------------------------------------------------------- from entries


def from_entry(e: Entry) -> FNode:
    """The folding tree of an importer entry (its name, fields, nested lists and shapes)."""
    node = FNode(e.type, e.name or e.type, in_shape=e.in_shape, out_shape=e.out_shape, module_class=e.module_class)
    if e.type == "residual":
        node.fields = {k: e.fields.get(k) for k in ("shortcut", "join", "activation", "projection_bn")}
        node.lists.append(("body", [from_entry(c) for c in e.body or []]))
        if e.shortcut is not None:
            node.lists.append(("shortcut", [from_entry(c) for c in e.shortcut]))
    elif e.type == "concat":
        for b in e.branches or []:
            node.lists.append((f"branch:{b.name or ''}", [from_entry(c) for c in b.layers]))
    elif e.type in ("sequential", "side"):
        node.lists.append(("layers", [from_entry(c) for c in e.layers or []]))
    else:
        node.fields = {k: v for k, v in e.fields.items() if k != "type"}
    return node


# --------------------------------------------------------------------------- structure and values


def sig(n: FNode, *, with_name: bool = True) -> tuple:
    """The structure of ``n``: kinds, names and nesting, without the values that may become arguments."""
    head: tuple = (n.type, n.name) if with_name else (n.type,)
    if n.type == "use":
        return (*head, n.block, n.repeat is not None, tuple(sorted(n.first or {})))
    if n.type == "residual":
        short = n.fields.get("shortcut")
        short = "id_or_proj" if short in ("identity", "projection") else short
        head = (*head, short, n.fields.get("join"), n.fields.get("activation"))
    return (*head, tuple((slot, tuple(sig(c) for c in lst)) for slot, lst in n.lists))


def get_value(n: FNode, key: str) -> Any:
    """One of ``n``'s own values: a field, ``#repeat``, or ``#first.<field>``."""
    if key == "#repeat":
        return n.repeat
    if key.startswith("#first."):
        return (n.first or {})[key[len("#first."):]]
    return n.fields.get(key)


def set_value(n: FNode, key: str, value: Any) -> None:
    """Set one of ``n``'s own values (see :func:`get_value`)."""
    if key == "#repeat":
        n.repeat = value
    elif key.startswith("#first."):
        assert n.first is not None
        n.first[key[len("#first."):]] = value
    else:
        n.fields[key] = value


def parallel(nodes: list[FNode]) -> list[list[FNode]]:
    """Every node of the first tree with its counterparts in the others (same structure), pre-order."""
    out = [nodes]
    for i, (_, lst) in enumerate(nodes[0].lists):
        for j in range(len(lst)):
            out.extend(parallel([n.lists[i][1][j] for n in nodes]))
    return out


def own_keys(n: FNode) -> list[str]:
    """The keys of ``n``'s own values (not its children's), in a fixed order."""
    keys = list(n.fields)
    if n.type == "use":
        if n.repeat is not None:
            keys.append("#repeat")
        keys.extend(f"#first.{k}" for k in sorted(n.first or {}))
    return keys


def node_paths(n: FNode, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], FNode]]:
    """(slot and name path from ``n``, node) of ``n`` and everything below it, pre-order."""
    out = [(path, n)]
    for slot, lst in n.lists:
        for c in lst:
            out.extend(node_paths(c, (*path, slot, c.name)))
    return out


# --------------------------------------------------------------------------- walks


def become(target: FNode, source: FNode) -> None:
    """Replace ``target`` in place (its parent's list keeps the same object) by ``source``."""
    target.__dict__.update(source.__dict__)


def composites(root: FNode) -> list[FNode]:
    """The composites of the tree at ``root``, pre-order."""
    out = []
    for n in all_nodes([root]):
        if n.composite:
            out.append(n)
    return out


def all_nodes(nodes: list[FNode]) -> list[FNode]:
    """Every node of the trees ``nodes``, pre-order."""
    out: list[FNode] = []
    stack = list(reversed(nodes))
    while stack:
        n = stack.pop()
        out.append(n)
        for _, lst in reversed(n.lists):
            stack.extend(reversed(lst))
    return out
