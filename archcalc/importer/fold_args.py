"""A block's arguments while folding: their readable names, and their values put back where a block is inlined.

While a block is made, each value its uses do not share becomes a numbered placeholder (``$\\0`` + index);
once all are known they get names (:func:`arg_names`: the field, ``stride``, where that is unambiguous,
else qualified by the layer, ``conv1_out``) and the template is rewritten with them (:func:`rename_args`).
A block used once is written inline again with its arguments substituted (:func:`substitute`).
"""

from __future__ import annotations

__all__ = ["arg_names", "rename_args", "substitute"]

import re
from collections import Counter
from typing import Any

from .arguments import identifier
from .fnode import FNode, all_nodes

_USE_KEYS = {"use", "name", "repeat", "first", "when"}
_RESERVED_ARGS = {"in_channels", "in_height", "in_width", "in_depth", "repeat_index"}


def arg_names(found: list[tuple[tuple[str, ...], str, FNode]], template: FNode) -> list[str]:
    """Readable, unique argument names: the field (``stride``) where it is unambiguous (its key is no other
    argument's, and its layer the template's only one of that kind), else qualified by the layer
    (``conv1_out``, ``branch2_1_out``), else by the whole path."""
    def kind(n: FNode) -> str:
        return n.type if n.type != "use" else f"use:{n.block}"

    def parts(path: tuple[str, ...]) -> list[str]:
        names = [p[len("branch:"):] if p.startswith("branch:") else p for p in path
                 if p not in ("body", "layers", "shortcut")]
        return [n.lstrip("_") or n for n in names if n]

    kinds = Counter(kind(n) for n in all_nodes([template]))
    keys = Counter(key for _, key, _ in found)
    names: list[str] = []
    for path, key, owner in found:
        key_text = key.replace("#first.", "first_").lstrip("#")
        p = parts(path)
        candidates = [key_text] if keys[key] == 1 and kinds[kind(owner)] == 1 else []
        if p:
            last = f"{p[-2]}_{p[-1]}" if p[-1].isdigit() and len(p) > 1 else p[-1]
            candidates += [f"{last}_{key_text}", "_".join(p) + f"_{key_text}"]
        candidates.append(key_text)
        chosen = None
        for c in candidates:
            c = identifier(c)
            if c in _RESERVED_ARGS or c in _USE_KEYS:
                c += "_"
            if c not in names:
                chosen = c
                break
        if chosen is None:
            base = identifier(candidates[-1])
            k = 2
            while f"{base}{k}" in names:
                k += 1
            chosen = f"{base}{k}"
        names.append(chosen)
    return names


def rename_args(template: FNode, names: list[str]) -> None:
    """Numbered placeholders in ``template``'s values replaced by the argument names."""
    for n in all_nodes([template]):
        for key in list(n.fields):
            n.fields[key] = _rename_value(n.fields[key], names)
        if n.first:
            for key in list(n.first):
                n.first[key] = _rename_value(n.first[key], names)
        if isinstance(n.repeat, str):
            n.repeat = _rename_value(n.repeat, names)  # type: ignore[assignment]


def _rename_value(value: Any, names: list[str]) -> Any:
    if isinstance(value, str) and "\0" in value:
        return re.sub(r"\x00(\d+)", lambda m: names[int(m.group(1))], value)
    return value


def substitute(template: FNode, values: dict[str, Any]) -> None:
    """Arguments replaced by their values (a lone ``$arg`` becomes the value itself)."""
    def sub(value: Any) -> Any:
        if not isinstance(value, str) or "$" not in value:
            return value
        whole = re.fullmatch(r"\$([A-Za-z_][A-Za-z0-9_]*)", value)
        if whole and whole.group(1) in values:
            return values[whole.group(1)]

        def repl(m: re.Match[str]) -> str:
            name = m.group(1)
            if name not in values:
                return m.group(0)
            v = values[name]
            if isinstance(v, str):
                return v if re.fullmatch(r"\$[A-Za-z_][A-Za-z0-9_]*", v) else f"({v})"
            return repr(v)
        return re.sub(r"\$([A-Za-z_][A-Za-z0-9_]*)", repl, value)

    for n in all_nodes([template]):
        for key in list(n.fields):
            n.fields[key] = sub(n.fields[key])
        if n.first:
            for key in list(n.first):
                n.first[key] = sub(n.first[key])
