"""Pydantic's validation errors in the user's terms: ``file:line: layers[3].kernel: must be >= 1``.

Pydantic locates an error by a path (``loc``) that mixes the user's keys and indices with labels
of its own: the member of a union it was trying (a model's class name, ``list[...]``). The path
is followed through the data the user wrote: a key or index the data has is the user's, and any
other part is pydantic's label, except the last part of a ``missing`` error, which is the absent
field. The labels, and at a layer the ``type`` its data names, give the model pydantic was
validating: the fields an unknown key is compared with.
"""

from __future__ import annotations

__all__ = ["translate", "scale_error", "TYPE_WORDS", "constraint_text"]

import difflib
import types
import typing
from typing import Any, Union

from pydantic import BaseModel, ValidationError

from ..errors import Location, SpecError
from ..yamlio import Node, Seq, join_path
from .document import Scale, SpecDocument
from .expand import ENTRY_KEYS
from .layers import LAYER_KINDS, AnyLayer, LayerList



def translate(exc: ValidationError, root: Any, *, top_level: bool) -> SpecError:
    """Turn pydantic's errors into one message in the user's terms (first problem first).

    ``root`` is the data that was validated: the whole document (``top_level``) or the expanded
    layer list, whose errors also name the layer.
    """
    schema: Any = SpecDocument if top_level else LayerList
    groups: dict[tuple[str, int | None], list[tuple[dict, Any, list[Any], Any]]] = {}
    order: list[tuple[str, int | None]] = []
    for err in exc.errors(include_url=False):
        container, rest = _locate(root, err["loc"], missing=err["type"] == "missing")
        loc = _location_of(container, rest)
        key = (loc.path or "", loc.line)
        if key not in groups:
            groups[key] = []
            order.append(key)
        groups[key].append((err, container, rest, loc))
    def rank(k: tuple[str, int | None]) -> int:
        kinds = {e["type"] for e, *_ in groups[k]}
        return 0 if kinds & {"extra_forbidden", "union_tag_invalid", "union_tag_not_found"} else 1
    order.sort(key=rank)
    key = order[0]
    errs = groups[key]
    err, container, rest, loc = errs[0]
    layer = container.get("name") if isinstance(container, Node) and not top_level else None
    message = _message([e for e, *_ in errs], schema, rest, root)
    extra = len(order) - 1
    if extra:
        message += f" (and {extra} more problem{'s' if extra > 1 else ''})"
    return SpecError(message, Location(loc.file, loc.line, loc.path, layer if isinstance(layer, str) else None, loc.via))


def _locate(root: Any, loc: tuple[Any, ...], *, missing: bool) -> tuple[Any, list[Any]]:
    """Follow ``loc`` through the data; return the deepest mapping/list reached and the user's rest.

    A part the data has (a key of the mapping, an index of the list) is the user's; a string it
    does not have is a label pydantic inserted (the union member it tried), except the last part
    of a ``missing`` error: the field that is absent.
    """
    current = root
    container = root
    rest: list[Any] = []
    last = len(loc) - 1
    for i, part in enumerate(loc):
        if isinstance(current, dict) and part in current:
            container, rest, current = current, [part], current[part]
        elif isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current):
            container, rest, current = current, [part], current[part]
        elif isinstance(part, str) and not (missing and i == last):
            continue  # pydantic's label for the union member it tried
        elif isinstance(current, dict) and not rest:
            rest = [part]
        else:
            rest = rest + [part]
    return container, rest


def _location_of(container: Any, rest: list[Any]) -> Location:
    if isinstance(container, (Node, Seq)):
        base = container.location(rest[0] if rest else None)
        path = base.path or ""
        for part in rest[1:]:
            path = join_path(path, part)
        return Location(base.file, base.line, path or None, None, base.via)
    return Location(path=".".join(map(str, rest)) or None)


def _message(errs: list[dict], schema: Any, rest: list[Any], root: Any) -> str:
    err = errs[0]
    kind = err["type"]
    if kind == "extra_forbidden":
        field_name = rest[-1] if rest else "?"
        allowed = _allowed_fields(_model_at(schema, err["loc"][:-1], root))
        close = difflib.get_close_matches(str(field_name), allowed, n=1)
        text = f"unknown field '{field_name}'"
        if close:
            text += f" (did you mean '{close[0]}'?)"
        elif allowed:
            text += f"; expected one of: {', '.join(allowed)}"
        return text
    if kind == "union_tag_invalid":
        tag = err["ctx"].get("tag")
        close = difflib.get_close_matches(str(tag), list(LAYER_KINDS), n=1)
        text = f"unknown layer type {tag!r}"
        if close:
            text += f" (did you mean '{close[0]}'?)"
        return text + f"; layer types: {', '.join(sorted(LAYER_KINDS))}"
    if kind == "union_tag_not_found":
        return "a layer needs 'type: <kind>' (or 'use: <block>' to use a block)"
    if kind == "missing":
        return f"missing required field '{rest[-1]}'" if rest else "missing required field"
    if kind == "value_error":
        return str(err["ctx"].get("error", err["msg"]))
    if kind == "too_short" and rest and rest[-1] == "layers":
        return "the network has no layers"
    got = err.get("input")
    shown = f" (got {got!r})" if not isinstance(got, (dict, list)) else ""
    # a constraint broken by a value of the right type says more than "or a list" alternatives
    constraints = [e for e in errs if e["type"] not in TYPE_WORDS]
    if constraints:
        texts = _unique(constraint_text(e) for e in constraints)
        return " or ".join(texts) + shown
    return "expected " + " or ".join(_unique(TYPE_WORDS[e["type"]] for e in errs)) + shown


TYPE_WORDS = {
    "int_type": "an integer", "int_parsing": "an integer", "int_from_float": "an integer",
    "float_type": "a number", "float_parsing": "a number", "list_type": "a list", "string_type": "a string",
    "bool_type": "true or false", "bool_parsing": "true or false", "dict_type": "a mapping",
    "model_type": "a mapping", "model_attributes_type": "a mapping", "none_required": "null",
}
"""Pydantic error types that mean "the value has the wrong type", as the words for the right one."""


def constraint_text(err: dict) -> str:
    """A broken constraint of a value of the right type, in words (``must be >= 1``)."""
    ctx = err.get("ctx") or {}
    kind = err["type"]
    if kind == "greater_than_equal":
        return f"must be >= {ctx.get('ge')}"
    if kind == "greater_than":
        return f"must be > {ctx.get('gt')}"
    if kind == "less_than_equal":
        return f"must be <= {ctx.get('le')}"
    if kind == "less_than":
        return f"must be < {ctx.get('lt')}"
    if kind == "literal_error":
        return f"expected {ctx.get('expected')}"
    if kind in ("too_short", "too_long"):
        return err["msg"].replace("List should", "must").replace("Value should", "must")
    return err["msg"]


def scale_error(exc: ValidationError) -> tuple[str, str]:
    """The first problem of a :class:`Scale` validation: (the setting, the message)."""
    first = exc.errors(include_url=False)[0]
    field_name = str(first["loc"][0]) if first["loc"] else "scale"
    got = first.get("input")
    shown = f" (got {got!r})" if not isinstance(got, (dict, list)) else ""
    text = (constraint_text(first) if first["type"] not in TYPE_WORDS else "expected " + TYPE_WORDS[first["type"]])
    if first["type"] == "extra_forbidden":
        text = f"unknown scale setting '{field_name}'; expected one of: {', '.join(Scale.model_fields)}"
        shown = ""
    return field_name, f"{text}{shown}"


def _unique(items: Any) -> list[str]:
    out: list[str] = []
    for item in items:
        if item not in out:
            out.append(item)
    return out


# --------------------------------------------------------------------------- the model at a path


def _model_at(schema: Any, loc: tuple[Any, ...], root: Any) -> type[BaseModel] | None:
    """The model pydantic was validating at ``loc``, found by following ``loc`` through the types and the data.

    Field names lead through models, indices and keys through lists and dicts, and pydantic's
    union labels pick the member: a model's class name, ``list[...]``. A layer (:data:`AnyLayer`,
    dispatched on its tag without a label) is the model of the ``type`` the data there names.
    None when the path leaves what this follows (a validator function's label, a plain value).
    """
    current: Any = schema
    data: Any = root
    for part in loc:
        if isinstance(data, dict) and part in data or isinstance(data, list) and isinstance(part, int) \
                and 0 <= part < len(data):
            data = data[part]
        current = _member(_plain(current), part)
        if current is None:
            return None
        current = _layer_model(current, data)
    current = _plain(current)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _layer_model(kind: Any, data: Any) -> Any:
    """At a layer (:data:`AnyLayer`), the model of the kind its data names; ``kind`` unchanged elsewhere."""
    if kind == AnyLayer and isinstance(data, dict) and isinstance(data.get("type"), str):
        return LAYER_KINDS.get(data["type"], kind)
    return kind


def _member(kind: Any, part: Any) -> Any:
    """The type one step of ``loc`` leads to from ``kind`` (None where this cannot tell)."""
    if isinstance(kind, type) and issubclass(kind, BaseModel):
        field = kind.model_fields.get(part) if isinstance(part, str) else None
        return field.annotation if field is not None else None
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin is list and isinstance(part, int):
        return args[0] if args else None
    if origin is dict:
        return args[1] if len(args) == 2 else None
    if origin is Union or origin is types.UnionType:
        members = [_plain(a) for a in args]
        for member in members:
            if isinstance(member, type) and member.__name__ == part:
                return member  # a model's class name (ConventionEntry), str, int
            if isinstance(part, str) and typing.get_origin(member) is list and part.startswith("list["):
                return member
            if typing.get_origin(member) in (Union, types.UnionType):
                found = _member(member, part)
                if found is not None:
                    return found
    return None


def _plain(kind: Any) -> Any:
    """``kind`` without ``Annotated[...]`` metadata, and ``X | None`` as ``X`` (pydantic gives it no label)."""
    while True:
        origin = typing.get_origin(kind)
        if origin is typing.Annotated:
            kind = typing.get_args(kind)[0]
        elif origin in (Union, types.UnionType) and type(None) in typing.get_args(kind):
            rest = [a for a in typing.get_args(kind) if a is not type(None)]
            if len(rest) != 1:
                return kind
            kind = rest[0]
        else:
            return kind


def _allowed_fields(model: type[BaseModel] | None) -> list[str]:
    if model is None:
        return []
    if model in LAYER_KINDS.values():
        return [k for k in model.model_fields if k != "type"] + ["type", *ENTRY_KEYS]
    if model is SpecDocument:
        return list(model.model_fields) + ["extends"]
    return list(model.model_fields)
