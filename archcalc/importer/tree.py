"""The spec tree the importer builds: one :class:`Entry` per spec entry, with where it came from.

An entry is what one line (or one nested block) of the spec will say: a leaf kind with all its
fields, or a composite (``sequential``, ``side``, ``residual``, ``concat``) holding lists of entries.
Each entry also remembers the traced nodes behind the rows it adds itself (:attr:`Entry.rows`, in
the analyzer's order), its input and output shapes, and the module path it stands for: the
verification maps every analyzer row back to a node, and so to a module of the live model.

No torch here.
"""

from __future__ import annotations

__all__ = ["Entry", "Branch", "row_nodes", "leaves", "common_prefix"]

from dataclasses import dataclass, field
from typing import Any, Iterator


@dataclass(eq=False)
class Branch:
    """One branch of a ``concat``: its layers (``[]`` = the identity) and its name."""

    layers: list["Entry"]
    name: str | None = None


@dataclass(eq=False)
class Entry:
    type: str  # a kind tag ('conv', 'residual', 'sequential', ...)
    fields: dict[str, Any] = field(default_factory=dict)  # leaf: every field; residual: shortcut, join, activation
    name: str | None = None
    layers: list["Entry"] | None = None  # sequential, side
    body: list["Entry"] | None = None  # residual
    shortcut: list["Entry"] | None = None  # residual whose shortcut is a list of layers
    branches: list[Branch] | None = None  # concat
    rows: list[tuple[int, str]] = field(default_factory=list)  # (node, row type) of the rows it adds itself
    in_shape: tuple[int, ...] = ()
    out_shape: tuple[int, ...] = ()
    path: tuple[str, ...] = ()  # leaf: module path + name; composite: the module scope all of it runs in
    module: str | None = None  # the module path its name stands for (set when naming)
    module_class: str | None = None  # that module's class name
    join_scope: tuple[str, ...] | None = None  # residual, concat: the module scope its join ran in

    @property
    def composite(self) -> bool:
        return self.type in ("sequential", "side", "residual", "concat")

    def child_lists(self) -> list[tuple[str, list["Entry"]]]:
        """(slot, list) of every nested list: 'layers', 'body', 'shortcut', 'branch:<i>'."""
        out: list[tuple[str, list[Entry]]] = []
        if self.layers is not None:
            out.append(("layers", self.layers))
        if self.body is not None:
            out.append(("body", self.body))
        if self.shortcut is not None:
            out.append(("shortcut", self.shortcut))
        for i, b in enumerate(self.branches or []):
            out.append((f"branch:{i}", b.layers))
        return out


def leaves(entries: list[Entry]) -> Iterator[Entry]:
    """Every leaf entry under ``entries``, in order."""
    for e in entries:
        if e.composite:
            for _, lst in e.child_lists():
                yield from leaves(lst)
        else:
            yield e


def row_nodes(entries: list[Entry]) -> list[tuple[int, str]]:
    """(node id, row type) of every analyzer row ``entries`` make, in the analyzer's order.

    Mirrors :mod:`archcalc.kinds.composite`'s walks: a residual's body, then its shortcut list, then
    its own rows (a projection's conv and batch norm, the join, the activation); a concat's branches,
    then its ``concat`` row; a side output's layers where it stands.
    """
    out: list[tuple[int, str]] = []
    for e in entries:
        for _, lst in e.child_lists():
            out.extend(row_nodes(lst))
        out.extend(e.rows)
    return out


def common_prefix(paths: list[tuple[str, ...]]) -> tuple[str, ...]:
    """The longest module path every one of ``paths`` starts with."""
    if not paths:
        return ()
    first = paths[0]
    n = len(first)
    for p in paths[1:]:
        n = min(n, len(p))
        for i in range(n):
            if p[i] != first[i]:
                n = i
                break
    return first[:n]
