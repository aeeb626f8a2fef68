"""Write an imported spec as YAML in the zoo's style, byte for byte the same for the same model.

Leaf entries are one flow mapping per line (``- {name: conv1, type: conv, out: 64, kernel: 7}``);
composites are block mappings with their nested lists indented below. Keys keep the order they were
given in; a field equal to its kind's default is left out (the reader sees what is particular). Every
scalar is written so that archcalc's YAML reader gives it back exactly: strings that could be read as
anything else are quoted, floats keep a decimal point (``1.0e-06``, which YAML 1.1 reads as a float).
"""

from __future__ import annotations

__all__ = ["dump", "scalar", "kind_defaults"]

import json
import math
import re
from functools import cache
from typing import Any

_PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*$")
_YAML_WORDS = {"true", "false", "yes", "no", "on", "off", "y", "n", "null", "none", "~"}
_LIST_KEYS = ("layers", "body", "shortcut", "branches")


@cache
def kind_defaults(kind: str) -> dict[str, Any]:
    """Field -> default of a layer kind (fields without a default are absent)."""
    from ..kinds import LAYER_KINDS

    model = LAYER_KINDS[kind]
    out = {}
    for name, info in model.model_fields.items():
        if name in ("type", "name") or info.is_required():
            continue
        out[name] = info.get_default(call_default_factory=True)
    return out


def scalar(value: Any) -> str:
    """One YAML scalar (or flow list) that reads back as ``value``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"cannot write {value!r} in a spec")
        text = repr(float(f"{value:.12g}"))  # 0.07500000000000001 (0.3 * 4 / 16 in binary) as 0.075
        if "e" in text and "." not in text.split("e")[0]:
            mant, exp = text.split("e")
            text = f"{mant}.0e{exp}"
        return text
    if isinstance(value, str):
        if _PLAIN.match(value) and value.lower() not in _YAML_WORDS:
            return value
        return json.dumps(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(scalar(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {scalar(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"cannot write {type(value).__name__} in a spec")


def _is_nested(entry: dict[str, Any]) -> bool:
    return any(k in entry and isinstance(entry[k], list) and k in _LIST_KEYS for k in _LIST_KEYS) or any(
        isinstance(v, list) and v and isinstance(v[0], dict) for v in entry.values())


def _entry_lines(entry: dict[str, Any], indent: int) -> list[str]:
    pad = " " * indent
    if not _is_nested(entry):
        return [f"{pad}- {scalar(entry)}"]
    lines: list[str] = []
    first = True
    for key, value in entry.items():
        lead = f"{pad}- " if first else f"{pad}  "
        first = False
        if key in _LIST_KEYS and isinstance(value, list):
            if key == "branches":
                lines.append(f"{lead}{key}:")
                for branch in value:
                    lines.extend(_branch_lines(branch, indent + 4))
            elif not value:
                lines.append(f"{lead}{key}: []")
            else:
                lines.append(f"{lead}{key}:")
                for item in value:
                    lines.extend(_entry_lines(item, indent + 4))
        else:
            lines.append(f"{lead}{key}: {scalar(value)}")
    return lines


def _branch_lines(branch: Any, indent: int) -> list[str]:
    pad = " " * indent
    if isinstance(branch, list):
        if not branch:
            return [f"{pad}- []"]
        lines = [f"{pad}- layers:"]
        for item in branch:
            lines.extend(_entry_lines(item, indent + 4))
        return lines
    lines = [f"{pad}- name: {scalar(branch['name'])}"]
    if not branch["layers"]:
        lines.append(f"{pad}  layers: []")
        return lines
    lines.append(f"{pad}  layers:")
    for item in branch["layers"]:
        lines.extend(_entry_lines(item, indent + 4))
    return lines


def dump(doc: dict[str, Any], header: list[str]) -> str:
    """The spec text: ``header`` lines as comments, then ``doc``'s keys in order (``blocks`` and
    ``layers`` written as the zoo writes them)."""
    lines = [f"# {h}" if h else "#" for h in header]
    for key, value in doc.items():
        if key == "blocks":
            if not value:
                continue
            lines.append("")
            lines.append("blocks:")
            for name, block in value.items():
                lines.append(f"  {name}:")
                if block.get("doc"):
                    lines.append(f"    doc: {scalar(block['doc'])}")
                if block.get("args"):
                    lines.append(f"    args: {scalar(block['args'])}")
                lines.append("    layers:")
                for item in block["layers"]:
                    lines.extend(_entry_lines(item, 6))
        elif key == "layers":
            lines.append("")
            lines.append("layers:")
            for item in value:
                lines.extend(_entry_lines(item, 2))
        elif key == "notes":
            if value:
                lines.append("notes:")
                lines.extend(f"  - {scalar(n)}" for n in value)
        else:
            lines.append(f"{key}: {scalar(value)}")
    return "\n".join(lines) + "\n"
