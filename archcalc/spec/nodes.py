"""Small helpers for the YAML containers expansion builds: copies that keep their marks, locations.

Expanded nodes are new :class:`~archcalc.yamlio.Node` / :class:`~archcalc.yamlio.Seq` objects
that keep the file, line and document path of the entry they came from, and, inside a block, how
they got there (``via``: "in block 'b' used at spec.yaml:12"), so later errors still point at the
user's text.
"""

from __future__ import annotations

__all__ = ["node_like", "seq_like", "seq_from", "with_via", "string_keys", "loc", "describe"]

from typing import Any

from ..errors import Location, SpecError
from ..yamlio import Node, Seq


def node_like(source: Node, via: str | None) -> Node:
    node = Node().copy_marks(source)
    if via and not node.via:
        node.via = via
    return node


def seq_like(source: Any) -> Seq:
    seq = Seq()
    if isinstance(source, Seq):
        seq.file, seq.line, seq.src_path, seq.via = source.file, source.line, source.src_path, source.via
    return seq


def seq_from(items: list[Node], owner: Node) -> Seq:
    seq = Seq(items)
    seq.file, seq.line, seq.src_path = owner.file, owner.line, owner.src_path
    seq.item_lines = [n.line or 0 for n in items]
    return seq


def with_via(loc: Location, via: str | None) -> Location:
    if via and not loc.via:
        return Location(loc.file, loc.line, loc.path, loc.layer, via)
    return loc


def string_keys(node: Node, via: str | None) -> None:
    for key in node:
        if not isinstance(key, str):
            raise SpecError(f"field and argument names must be words, got {key!r}",
                            with_via(node.location(key), via))


def loc(obj: Any) -> Location:
    return obj.location() if isinstance(obj, (Node, Seq)) else Location()


def describe(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        shown = repr(list(value))
        return f"the list {shown}" if len(shown) <= 40 else "a list"
    return f"{type(value).__name__} {value!r}"
