"""Name the entries of a spec tree after the module paths of the model they come from.

A leaf is named after its module (``conv1``) or, for a function call, its kind in the module that made
it (``relu``, ``relu_2``); a numbered child of a ``Sequential`` or ``ModuleList`` is ``_3``. Consecutive
entries that run inside one child module are grouped into a ``sequential`` named after it
(``layer1``, ``features``), so the spec nests as the model's modules do; a composite whose join ran in
another module (DenseNet's ``cat``, in the next layer's forward) is named after the child module that
holds all of its layers; a concat branch whose layers all belong to one child module is named after
it. Names no module gives fall back to the composite's kind (``residual``, ``gate``, ``branches``).
Each named entry records the module path and class it stands for (:attr:`Entry.module`).
"""

from __future__ import annotations

__all__ = ["name_entries", "component_name"]

import re
from collections import Counter
from typing import Any

from ..kinds import RESERVED_NAMES
from .tree import Branch, Entry, common_prefix, leaves

_FALLBACK = {"residual": "residual", "gate": "gate", "concat": "branches", "side": "side", "sequential": "block"}


_NAME_OK = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*$")


def component_name(part: str) -> str:
    """A module path component as a spec name: ``3`` -> ``_3``, other characters -> ``_``."""
    if part.isdigit():
        return f"_{part}"
    clean = re.sub(r"[^A-Za-z0-9_\-]", "_", part) or "_"
    return clean if _NAME_OK.match(clean) else f"_{clean}"


def name_entries(top: list[Entry], modules: dict[str, Any]) -> None:
    """Name every entry after the module it stands for (see :mod:`archcalc.importer.naming`).

    ``modules``: the model's ``named_modules()``; an entry that stands for one records its path and class.
    """
    _name_list(top, (), modules, top_level=True)


def _name_list(entries: list[Entry], prefix: tuple[str, ...], modules: dict[str, Any], *, top_level: bool) -> None:
    grouped: list[Entry] = []
    keys = [_group_key(e, prefix) for e in entries]
    i = 0
    while i < len(entries):
        key = keys[i]
        j = i
        while key is not None and j < len(entries) and keys[j] == key:
            j += 1
        run = entries[i:j]
        # entries deeper in one child module are grouped under it; a composite that is that module
        # (path = the key) stands alone unless its neighbours are parts of the same module
        if key is None or (len(run) == 1 and run[0].path == key):
            grouped.append(entries[i])
            i += 1
            continue
        group = Entry("sequential", {}, layers=run, in_shape=run[0].in_shape, out_shape=run[-1].out_shape, path=key)
        grouped.append(group)
        i = j
    entries[:] = grouped
    taken: Counter[str] = Counter()
    for e in entries:
        rel = _rel(e, prefix)
        own: tuple[str, ...] | None = None  # the module path the entry's name stands for
        if not e.composite:
            part = rel[-1] if rel else (e.path[-1] if e.path else e.type)
            own = e.path
        elif len(rel) == 1:
            part = rel[0]
            own = e.path
        else:
            # a join run by another module (DenseNet's cat, in the next layer's forward) belongs to
            # the child module that holds all of its layers
            part = _dominant(e)
            own = (*e.path, part) if part else None
        base = component_name(part) if part else _fallback(e)
        if not top_level and base in RESERVED_NAMES:
            base += "_"
        taken[base] += 1
        e.name = base if taken[base] == 1 else f"{base}_{taken[base]}"
        if own is not None and taken[base] == 1:
            path = ".".join(own)
            if path in modules:
                e.module = path
                e.module_class = type(modules[path]).__name__
        if e.composite:
            child_prefix = own if own is not None else e.path
            if e.type == "concat":
                for k, b in enumerate(e.branches or [], start=1):
                    _name_branch(b, k, child_prefix, modules)
            for slot, lst in e.child_lists():
                if not slot.startswith("branch:"):
                    _name_list(lst, child_prefix, modules, top_level=False)


def _name_branch(b: Branch, k: int, prefix: tuple[str, ...], modules: dict[str, Any]) -> None:
    """A concat branch whose layers all belong to one child module is named after it."""
    keys = {(_rel(e, prefix) or ("",))[0] for e in b.layers}
    deep = all(len(_rel(e, prefix)) >= 2 or (e.composite and len(_rel(e, prefix)) == 1) for e in b.layers)
    if b.layers and len(keys) == 1 and deep:
        key = keys.pop()
        b.name = component_name(key)
        _name_list(b.layers, (*prefix, key), modules, top_level=False)
    else:
        b.name = f"branch{k}"
        _name_list(b.layers, prefix, modules, top_level=False)


def _group_key(e: Entry, prefix: tuple[str, ...]) -> tuple[str, ...] | None:
    """The path of the child module ``e`` belongs to below ``prefix`` (a leaf: the module it is in)."""
    base = common_prefix([e.path, prefix])
    rel = e.path[len(base):]
    if len(rel) >= 2 or (e.composite and len(rel) == 1):
        return (*base, rel[0])
    return None


def _rel(e: Entry, prefix: tuple[str, ...]) -> tuple[str, ...]:
    path = e.path
    if path[:len(prefix)] == prefix:
        return path[len(prefix):]
    return path[len(common_prefix([path, prefix])):]


def _dominant(e: Entry) -> str | None:
    """The child module all of a composite's leaves belong to, if there is one."""
    n = len(e.path)
    counts = Counter(leaf.path[n] for leaf in leaves([e]) if len(leaf.path) > n + 1 and leaf.path[:n] == e.path)
    if not counts:
        return None
    (top, k), *rest = counts.most_common()
    total = sum(1 for _ in leaves([e]))
    return top if not rest and k == total else None


def _fallback(e: Entry) -> str:
    if e.type == "residual" and e.fields.get("join") == "multiply":
        return _FALLBACK["gate"]
    return _FALLBACK.get(e.type, e.type)
