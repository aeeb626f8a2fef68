"""Names and ``set:`` patches of the expanded layer tree.

* Unnamed layers get ``<base><k>`` (``relu1``, ``relu2``...) within their parent, the base being
  the layer's ``type``, or the block's name for a block use (:class:`AutoBases`, recorded during
  expansion); names must be unique among siblings. ``add``, ``act``, ``concat`` and ``shortcut``
  are reserved inside composites for the rows the analyzer adds.
* ``set: {<dotted layer path>: {field: value}}`` overrides fields after expansion (variants).
"""

from __future__ import annotations

__all__ = ["RESERVED_NAMES", "AutoBases", "apply_patches"]

from typing import Any

from ..errors import Location, SpecError
from ..kinds import RESERVED_NAMES, children
from ..yamlio import Node, Seq, join_path
from .nodes import describe as _describe



class AutoBases:
    """The base of each expanded node's automatic name, where it is not the node's ``type``.

    A block use is named after the block (``bottleneck1``), a repeated entry after its block or
    type. Expansion records them here, keyed by node (the node is kept alive with its base, so an
    ``id`` is never reused while this lives); :func:`_assign_names` reads them.
    """

    def __init__(self) -> None:
        self._by_id: dict[int, tuple[Node, str]] = {}

    def set(self, node: Node, base: Any) -> None:
        if isinstance(base, str):
            self._by_id[id(node)] = (node, base)
        else:
            self._by_id.pop(id(node), None)

    def get(self, node: Node) -> str | None:
        found = self._by_id.get(id(node))
        return found[1] if found is not None else None


def _assign_names(layers: Seq, scope: str, bases: AutoBases) -> None:
    taken: dict[str, Node] = {}
    reserved = RESERVED_NAMES if scope else frozenset()
    for node in layers:
        name = node.get("name")
        if name is None:
            continue
        if not isinstance(name, str):
            raise SpecError(f"a layer name must be a string, got {name!r}", node.location("name"))
        if name in reserved:
            raise SpecError(f"'{name}' is reserved inside blocks and composites for the analyzer's own rows",
                            node.location("name"), hint="choose another name")
        if name in taken:
            first = taken[name]
            where = f"{first.file or '<spec>'}:{first.key_lines.get('name', first.line)}"
            raise SpecError(f"duplicate layer name '{join_path(scope, name) if scope else name}' (also at {where})",
                            node.location("name"))
        taken[name] = node
    counters: dict[str, int] = {}
    for node in layers:
        if node.get("name") is None:
            base = bases.get(node) or str(node.get("type", "layer"))
            while True:
                counters[base] = counters.get(base, 0) + 1
                candidate = f"{base}{counters[base]}"
                if candidate not in taken:
                    break
            node["name"] = candidate
            taken[candidate] = node
        path = f"{scope}.{node['name']}" if scope else node["name"]
        if node.get("type") == "concat" and isinstance(node.get("branches"), list):
            seen: set[str] = set()
            for i, branch in enumerate(node["branches"], start=1):
                if isinstance(branch, Node):
                    branch.setdefault("name", f"branch{i}")
                    if not isinstance(branch["name"], str):
                        raise SpecError(f"a branch name must be a string, got {_describe(branch['name'])}",
                                        branch.location("name"))
                    if branch["name"] in seen:
                        raise SpecError(f"duplicate branch name '{branch['name']}'", branch.location("name"))
                    seen.add(branch["name"])
        for suffix, child, _ in children(node):
            _assign_names(child, f"{path}.{suffix}" if suffix else path, bases)


def _find(layers: Seq, parts: list[str]) -> Node | None:
    for node in layers:
        if node.get("name") == parts[0]:
            if len(parts) == 1:
                return node
            for suffix, child, _ in children(node):
                if suffix == parts[1]:
                    found = _find(child, parts[2:]) if len(parts) > 2 else None
                    if found is not None:
                        return found
                elif not suffix:
                    found = _find(child, parts[1:])
                    if found is not None:
                        return found
    return None


def apply_patches(layers: Seq, patches: dict[str, dict[str, Any]], owner: Node | None) -> None:
    for path, fields in patches.items():
        target = _find(layers, path.split("."))
        loc = owner.location(path) if owner is not None else Location(path=f"set.{path}")
        if target is None:
            raise SpecError(f"'set' names layer '{path}', which the network does not have", loc)
        for key, value in fields.items():
            if key in ("type", "name", "layers", "body", "branches"):
                raise SpecError(f"'set' may change fields, not '{key}'", loc)
            target[key] = value
            target.key_lines[key] = loc.line or target.line
