"""How the values one field takes across a block's uses become arguments and expressions.

Pure functions of value lists (no torch, no spec tree): whether the values agree, whether they are an
expression of another argument's values or of the layers' input widths (``$name``, ``4 * $name``,
``$name // 4``, ``($kernel - 1) // 2``, ``$in_channels * 6``), whether copies of a repeat grow by a constant
step (``a + b * $repeat_index``), an argument's type and default.
"""

from __future__ import annotations

__all__ = ["same", "all_ints", "relation", "arg_type", "identifier", "default_of", "linear_in_index", "FLOAT_TOL"]

import re
from collections import Counter
from typing import Any

FLOAT_TOL = 1e-9
"""Relative tolerance of a float progression over repeat copies (stochastic-depth rates computed in
binary: 0.1 * 3 / 17 is not exactly 3 steps of 0.1 / 17)."""


def same(vals: list[Any]) -> bool:
    """Every value equal to the first, and of its type (``1`` is not ``1.0``, nor ``True``)."""
    first = vals[0]
    return all(type(v) is type(first) and v == first for v in vals[1:])


def all_ints(vals: list[Any]) -> bool:
    """Every value an integer (not a bool)."""
    return all(isinstance(v, int) and not isinstance(v, bool) for v in vals)


def relation(vals: list[Any], ref: list[Any], name: str, *, key: str = "", ref_key: str = "") -> str | None:
    """``vals`` as an expression of ``ref`` (``$name``, ``k * $name``, ``$name // k``, ``($name - 1) // 2``)."""
    if not all_ints(vals) or not all_ints(ref):
        return None
    if vals == ref:
        return f"${name}"
    if (key, ref_key) == ("padding", "kernel") and all(v == (r - 1) // 2 for v, r in zip(vals, ref)):
        return f"(${name} - 1) // 2"  # 'same' padding of an odd kernel: how the code computes it
    if len(set(vals)) < 3 and not (name == "in_channels" and len(vals) >= 3):
        return None  # two values fit a ratio by coincidence too often to read it as one
    if all(r > 0 for r in ref) and all(v % r == 0 for v, r in zip(vals, ref)):
        ks = {v // r for v, r in zip(vals, ref)}
        if len(ks) == 1 and (k := ks.pop()) > 1:
            return f"{k} * ${name}" if name != "in_channels" else f"${name} * {k}"
    if all(v > 0 for v in vals) and all(r % v == 0 for v, r in zip(vals, ref)):
        ks = {r // v for v, r in zip(vals, ref)}
        if len(ks) == 1 and (k := ks.pop()) > 1:
            return f"${name} // {k}"
    if name != "in_channels" and all(v == (r - 1) // 2 for v, r in zip(vals, ref)):
        return f"(${name} - 1) // 2"
    return None


def arg_type(key: str, vals: list[Any]) -> str:
    """The type name a required block argument declares (``channels`` for output widths)."""
    if all_ints(vals):
        return "channels" if key == "out" or key.endswith("_out") else "int"
    if all(isinstance(v, bool) for v in vals):
        return "bool"
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in vals):
        return "float"
    if all(isinstance(v, str) for v in vals):
        return "str"
    if all(isinstance(v, list) for v in vals):
        return "list"
    return "any"


def identifier(text: str) -> str:
    """``text`` as a ``$name`` the expression language reads (letters, digits, underscores)."""
    clean = re.sub(r"[^A-Za-z0-9_]", "_", text)
    return clean if re.match(r"^[A-Za-z_]", clean) else f"_{clean}"


def default_of(vals: list[Any]) -> tuple[bool, Any]:
    """(True, v) when more than half of the uses (and at least two) take ``v``: the argument's default."""
    counts = Counter(repr(v) for v in vals)
    text, k = counts.most_common(1)[0]
    if k >= 2 and k * 2 > len(vals):
        return True, next(v for v in vals if repr(v) == text)
    return False, None


def linear_in_index(vals: list[Any]) -> str | None:
    """``a + b * $repeat_index`` through every value (integers exactly; floats to 1e-9), or None."""
    if len(vals) < 3 or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in vals):
        return None
    a, b = vals[0], vals[1] - vals[0]
    if b == 0:
        return None
    for k, v in enumerate(vals):
        guess = a + b * k
        if all_ints(vals):
            if v != guess:
                return None
        elif abs(v - guess) > FLOAT_TOL * max(1.0, abs(v)):
            return None
    a_text, b_text = repr(float(f"{a:.12g}")) if isinstance(a, float) else repr(a), \
        repr(float(f"{b:.12g}")) if isinstance(b, float) else repr(b)
    if a == 0:
        return f"{b_text} * $repeat_index"
    return f"{a_text} + {b_text} * $repeat_index"
