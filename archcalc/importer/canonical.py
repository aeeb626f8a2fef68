"""Say a residual's shortcut the way the spec language does, and turn entries into spec mappings.

* A shortcut list that is exactly what ``shortcut: projection`` builds (a bias-free 1x1 convolution
  to the body's channels at the stride the shapes need, then a default batch norm, or no batch norm:
  ``projection_bn: false``), on a residual whose shape changes, becomes ``projection``.
* A shortcut that is ResNet's option A (``x[:, :, ::s, ::s]`` then zero channels) becomes ``zeropad``.

Both keep every row where it was (the analyzer emits a projection's or zero-padding's rows between
the body and the join, as the list did), so the row-to-node bookkeeping of :mod:`.tree` still holds.
"""

from __future__ import annotations

__all__ = ["canonicalize", "entry_doc"]

from typing import Any

from ..kinds.composite import shortcut_strides
from .emit import kind_defaults
from .errors import ImportModelError
from .tree import Branch, Entry
from .values import ZEROPAD

_BN_DEFAULT_EPS = 1e-5


def canonicalize(entries: list[Entry]) -> None:
    for e in entries:
        if e.type == "residual" and e.shortcut is not None:
            _shortcut(e)
        for _, lst in e.child_lists():
            canonicalize(lst)
        if e.type == ZEROPAD:
            raise ImportModelError("a zero-padding shortcut (x[:, :, ::s, ::s] then zero channels) outside a "
                                   "residual's shortcut has no spec form")


def _flat(entries: list[Entry]) -> list[Entry] | None:
    """The leaves of a shortcut made of sequentials and leaves only (None if it holds anything else)."""
    out: list[Entry] = []
    for e in entries:
        if e.type == "sequential":
            inner = _flat(e.layers or [])
            if inner is None:
                return None
            out.extend(inner)
        elif e.composite:
            return None
        else:
            out.append(e)
    return out


def _shortcut(e: Entry) -> None:
    short = _flat(e.shortcut or []) or []
    body_out = e.body[-1].out_shape if e.body else e.in_shape
    if len(short) == 1 and short[0].type == ZEROPAD:
        e.fields["shortcut"] = "zeropad"
        e.rows = [(short[0].rows[0][0], "zeropad"), *e.rows]
        e.shortcut = None
        return
    if any(s.type == ZEROPAD for s in short):
        raise ImportModelError("a zero-padding shortcut followed by other layers has no spec form")
    if e.fields.get("join") != "add" or body_out == e.in_shape or not short or len(short) > 2:
        return
    conv = short[0]
    f = conv.fields
    if conv.type != "conv" or f.get("kernel") != 1 or f.get("padding") != 0 or f.get("dilation") != 1 \
            or f.get("groups") != 1 or f.get("bias") or f.get("out") != body_out[0]:
        return
    strides = shortcut_strides(e.in_shape, body_out)
    if strides is None or conv.out_shape != body_out:
        return
    stride = f.get("stride")
    if (list(strides) if len(set(strides)) > 1 else strides[0]) != stride:
        return
    bn = short[1] if len(short) == 2 else None
    if bn is not None and (bn.type != "batchnorm" or not bn.fields.get("affine", True)
                           or bn.fields.get("eps") != _BN_DEFAULT_EPS):
        return
    e.fields["shortcut"] = "projection"
    e.fields["projection_bn"] = bn is not None
    e.rows = [*conv.rows, *(bn.rows if bn is not None else []), *e.rows]
    e.shortcut = None


# --------------------------------------------------------------------------- spec mappings


_RESIDUAL_DEFAULTS = {"shortcut": "identity", "join": "add", "activation": None, "projection_bn": True}


def leaf_fields(kind: str, fields: dict[str, Any]) -> dict[str, Any]:
    """The fields worth writing: those that differ from the kind's defaults."""
    defaults = kind_defaults(kind)
    out = {}
    for key, value in fields.items():
        if key == "type":
            continue
        if key in defaults and _same(defaults[key], value):
            continue
        if value is None:
            continue
        out[key] = value
    return out


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b or (isinstance(a, bool) and isinstance(b, bool) and a == b)
    return a == b and type(a) in (type(b), int, float) and type(b) in (type(a), int, float)


def residual_fields(fields: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key in ("shortcut", "join", "activation", "projection_bn"):
        value = fields.get(key, _RESIDUAL_DEFAULTS[key])
        if key == "shortcut" and value == "list":
            continue
        if key == "projection_bn" and fields.get("shortcut") != "projection":
            continue
        if value != _RESIDUAL_DEFAULTS[key]:
            out[key] = value
    return out


def entry_doc(e: Entry) -> dict[str, Any]:
    """The spec mapping of an entry (no blocks: every entry written out)."""
    doc: dict[str, Any] = {"name": e.name, "type": e.type}
    if e.type in ("sequential", "side"):
        doc["layers"] = [entry_doc(c) for c in e.layers or []]
    elif e.type == "residual":
        doc.update(residual_fields(e.fields))
        doc["body"] = [entry_doc(c) for c in e.body or []]
        if e.shortcut is not None:
            doc["shortcut"] = [entry_doc(c) for c in e.shortcut]
    elif e.type == "concat":
        doc["branches"] = [branch_doc(b) for b in e.branches or []]
    else:
        doc.update(leaf_fields(e.type, e.fields))
    return doc


def branch_doc(b: Branch) -> Any:
    layers = [entry_doc(c) for c in b.layers]
    return {"name": b.name, "layers": layers} if b.layers else []
