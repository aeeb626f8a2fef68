"""Load a spec file: YAML -> ``extends`` merge -> document validation -> expansion -> layers.

Every failure is a :class:`~archcalc.errors.SpecError` naming the file, the line and the field
path in the user's terms (``layers[3].kernel``), never a pydantic or YAML traceback.
"""

from __future__ import annotations

__all__ = ["Spec", "load_spec", "parse_spec"]

import difflib
import os
import stat
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterator

from pydantic import BaseModel, TypeAdapter, ValidationError

from ..errors import ArchcalcError, Location, SpecError
from ..yamlio import MAX_FILE_BYTES, Node, Seq, join_path, load_yaml, loads_yaml
from .document import Accuracy, ReferenceSet, Scale, SpecDocument
from .expand import expand_layers
from .layers import LAYER_KINDS, Branch, Concat, Layer, LayerList, Residual, Sequential, Side

_LAYERS = TypeAdapter(LayerList)
MAX_EXTENDS = 16


@dataclass(frozen=True)
class Spec:
    """A loaded, expanded, validated architecture. Build it with :func:`load_spec`."""

    name: str
    input_shape: tuple[int, ...]
    layers: tuple[Layer, ...]
    document: SpecDocument = field(repr=False)
    path: Path | None = None
    scale: Scale | None = None

    @property
    def references(self) -> list[ReferenceSet]:
        return list(self.document.references)

    @property
    def accuracy(self) -> list[Accuracy]:
        return list(self.document.accuracy)

    @property
    def reference_model(self) -> str | None:
        return self.document.reference_model

    @property
    def family(self) -> str | None:
        return self.document.family

    def iter_layers(self) -> Iterator[tuple[str, Layer]]:
        """Every layer, composites included, depth-first, with its dotted path."""
        yield from iter_layers(self.layers, "")


def iter_layers(layers: Any, scope: str) -> Iterator[tuple[str, Any]]:
    for layer in layers:
        path = f"{scope}.{layer.name}" if scope else layer.name
        yield path, layer
        if isinstance(layer, (Sequential, Side)):
            yield from iter_layers(layer.layers, path)
        elif isinstance(layer, Residual):
            yield from iter_layers(layer.body, path)
            if isinstance(layer.shortcut, list):
                yield from iter_layers(layer.shortcut, f"{path}.shortcut")
        elif isinstance(layer, Concat):
            for branch in layer.branches:
                yield from iter_layers(branch.layers, f"{path}.{branch.name}")


def load_spec(path: str | Path, *, params: dict[str, Any] | None = None,
              scale: Scale | dict[str, Any] | None = None, extends_root: str | Path | None = None) -> Spec:
    """Load and validate the spec at ``path``.

    ``params`` override the spec's ``params:`` (variants from the command line); ``scale``
    applies compound scaling on top of the spec's own ``scale:``. ``extends:`` paths are relative
    to the folder of the spec that names them; absolute paths are followed too, unless
    ``extends_root`` is given: then every ``extends:`` in the chain must stay inside that folder
    (no absolute path, no ``..`` or symbolic link that leaves it).

    Every failure is an :class:`~archcalc.errors.ArchcalcError` naming the file (and, where the
    problem is in the text, the line).
    """
    path = Path(path)
    root = _extends_root(extends_root)
    with _located(str(path)):
        raw = _load_with_extends(path, chain=[], root=root)
        return _build(raw, path=path, params=params, scale=scale)


def parse_spec(text: str, *, filename: str = "<string>", params: dict[str, Any] | None = None,
               scale: Scale | dict[str, Any] | None = None, extends_root: str | Path | None = None) -> Spec:
    """Like :func:`load_spec` for YAML ``text``; ``filename`` is the name its errors show.

    ``extends:`` in ``text`` is resolved against the *current directory*, and absolute paths are
    followed: text from an untrusted source can make archcalc read any spec file the process can
    read. Pass ``extends_root`` to resolve ``extends:`` against that folder instead and refuse any
    path that leaves it (absolute, ``..``, or a symbolic link pointing out).
    """
    root = _extends_root(extends_root)
    with _located(filename):
        if not isinstance(text, str):
            raise SpecError(f"parse_spec needs the YAML text as a str, got {type(text).__name__}", Location(filename))
        if len(text) > MAX_FILE_BYTES:
            raise SpecError(f"text is longer than {MAX_FILE_BYTES:,} characters, the limit for a spec",
                            Location(filename, 1))
        raw = loads_yaml(text, filename)
        if not isinstance(raw, Node):
            raise SpecError("a spec is a YAML mapping with at least 'name', 'input' and 'layers'",
                            Location(filename, 1))
        if "extends" in raw:
            raw = _merge_extends(raw, root if root is not None else Path.cwd(), chain=[filename], root=root)
        return _build(raw, path=None, params=params, scale=scale)


class _located:
    """Context manager: errors leave with the spec's file name, a RecursionError as a clean error."""

    def __init__(self, file: str) -> None:
        self.file = file

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, exc: BaseException | None, tb: Any) -> bool:
        if isinstance(exc, ArchcalcError) and exc.location.file is None:
            raise type(exc)(exc.message, replace(exc.location, file=self.file), hint=exc.hint) from None
        if isinstance(exc, RecursionError):
            raise SpecError("the spec nests too deeply to analyze (layers inside layers, or blocks "
                            "using blocks, hundreds of levels deep)", Location(self.file, 1)) from None
        return False


# --------------------------------------------------------------------------- extends


def _extends_root(root: str | Path | None) -> Path | None:
    if root is None:
        return None
    try:
        resolved = Path(root).resolve()
    except (OSError, ValueError, TypeError) as exc:
        raise SpecError(f"extends_root {str(root)[:80]!r} is not a usable folder ({exc})") from None
    if not resolved.is_dir():
        raise SpecError(f"extends_root {str(root)[:80]!r} is not a folder")
    return resolved


def _load_with_extends(path: Path, chain: list[str], root: Path | None) -> Node:
    raw = load_yaml(path)
    if not isinstance(raw, Node):
        raise SpecError("a spec is a YAML mapping with at least 'name', 'input' and 'layers'", Location(str(path), 1))
    if "extends" in raw:
        raw = _merge_extends(raw, path.parent, chain + [str(path.resolve())], root)
    return raw


def _shown(target: str) -> str:
    return repr(target) if len(target) <= 80 else f"{target[:60]!r}... ({len(target):,} characters)"


def _resolve_extends(child: Node, base_dir: Path, root: Path | None) -> Path:
    """The file ``child``'s ``extends:`` names: a regular file, inside ``root`` when one is given."""
    target = child["extends"]
    where = child.location("extends")
    if not isinstance(target, str) or not target.strip():
        raise SpecError("'extends' must be the path of another spec, relative to this one", where)
    if "\0" in target:
        raise SpecError(f"'extends' names {_shown(target)}, which contains a NUL character", where)
    if root is not None and Path(target).is_absolute():
        raise SpecError(f"'extends' names the absolute path {_shown(target)}; only paths inside {root} are allowed "
                        "here", where)
    base_path = base_dir / target
    try:
        resolved = base_path.resolve()
        if root is not None and not resolved.is_relative_to(root):
            raise SpecError(f"'extends' names {_shown(target)}, which leads outside {root}", where)
        info = os.stat(base_path)
    except FileNotFoundError:
        raise SpecError(f"'extends' names {_shown(target)}, which does not exist (looked in {base_dir})",
                        where) from None
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise SpecError(f"'extends' names {_shown(target)}, which cannot be opened ({reason})", where) from None
    if not stat.S_ISREG(info.st_mode):
        raise SpecError(f"'extends' names {_shown(target)}, which is not a regular file", where)
    return base_path


def _merge_extends(child: Node, base_dir: Path, chain: list[str], root: Path | None) -> Node:
    base_path = _resolve_extends(child, base_dir, root)
    if str(base_path.resolve()) in chain:
        raise SpecError(f"'extends' cycle: {' -> '.join(chain + [str(base_path)])}", child.location("extends"))
    if len(chain) > MAX_EXTENDS:
        raise SpecError("'extends' chain is too long", child.location("extends"))
    base = _load_with_extends(base_path, chain, root)
    # the merged document is the child's; each key remembers the file its line belongs to
    merged = Node().copy_marks(child)
    merged.key_lines, merged.key_files = {}, {}
    for key, value in base.items():
        if key in ("references", "accuracy"):
            continue  # a variant's figures are its own
        merged[key] = value
        merged.key_lines[key] = base.key_lines.get(key, base.line)
        merged.key_files[key] = base.key_files.get(key, base.file)
    for key, value in child.items():
        if key == "extends":
            continue
        if key in ("params", "blocks", "set") and isinstance(value, Node) and isinstance(merged.get(key), Node):
            combined = Node().copy_marks(merged[key])
            combined.update(merged[key])
            combined.update(value)
            for inner in value:
                combined.key_lines[inner] = value.key_lines.get(inner, value.line)
                combined.key_files[inner] = value.key_files.get(inner, value.file)
            merged[key] = combined
        else:
            merged[key] = value
        merged.key_lines[key] = child.key_lines.get(key, child.line)
        merged.key_files[key] = child.key_files.get(key, child.file)
    return merged


# --------------------------------------------------------------------------- build


def _build(raw: Node, *, path: Path | None, params: dict[str, Any] | None,
           scale: Scale | dict[str, Any] | None) -> Spec:
    try:
        doc = SpecDocument.model_validate(raw)
    except ValidationError as exc:
        raise _translate(exc, raw, top_level=True) from None
    env = dict(doc.params)
    if params:
        if not isinstance(params, dict) or not all(isinstance(k, str) for k in params):
            raise SpecError("params must be a mapping from parameter name to value", raw.location("params"))
        unknown = sorted(set(params) - set(doc.params))
        if unknown:
            known = ", ".join(sorted(doc.params)) or "none"
            raise SpecError(f"unknown spec parameter(s) {', '.join(unknown)} (this spec's params: {known})",
                            raw.location("params") if "params" in raw else raw.location())
        env.update(params)
    eff_scale = _combine_scale(doc.scale, scale, raw)
    block_nodes = raw.get("blocks") or Node()
    layers_raw = raw["layers"]
    expanded = expand_layers(layers_raw, params=env, blocks=doc.blocks,
                             block_nodes={k: v for k, v in block_nodes.items()},
                             scale=eff_scale, patches=doc.set, patches_node=raw.get("set"))
    try:
        layers = _LAYERS.validate_python(expanded)
    except ValidationError as exc:
        raise _translate(exc, expanded, top_level=False) from None
    _attach_origins(layers, expanded, "")
    input_shape = tuple(doc.input)
    if eff_scale is not None and eff_scale.resolution is not None:
        res = eff_scale.resolution
        spatial = len(input_shape) - 1
        res_list = [res] * spatial if isinstance(res, int) else list(res)
        if len(res_list) != spatial:
            raise SpecError(f"needs {spatial} value(s) for input {list(input_shape)} (one per spatial axis), got {len(res_list)}",
                            _scale_location(raw, "resolution"))
        input_shape = (input_shape[0], *res_list)
    return Spec(name=doc.name, input_shape=input_shape, layers=tuple(layers), document=doc,
                path=path, scale=eff_scale)


def _scale_location(raw: Node, field_name: str) -> Location:
    """Where a scale setting is written: the spec's own ``scale:``, else (a caller's scale) its input."""
    node = raw.get("scale")
    if isinstance(node, Node) and field_name in node:
        return node.location(field_name)
    loc = raw.location("input")
    return replace(loc, path=f"scale.{field_name}")


def _combine_scale(own: Scale | None, extra: Scale | dict[str, Any] | None, raw: Node) -> Scale | None:
    if extra is None:
        return own
    if not isinstance(extra, (Scale, dict)):
        raise SpecError(f"scale must be a mapping such as {{width: 1.1, depth: 1.2, resolution: 240}}, "
                        f"got {type(extra).__name__}", _scale_location(raw, "width"))
    values = own.model_dump(exclude_unset=True) if own is not None else {}
    values.update(extra.model_dump(exclude_unset=True) if isinstance(extra, Scale) else extra)
    try:
        return Scale.model_validate(values)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        field_name = str(first["loc"][0]) if first["loc"] else "scale"
        got = first.get("input")
        shown = f" (got {got!r})" if not isinstance(got, (dict, list)) else ""
        text = (_constraint_text(first) if first["type"] not in _TYPE_WORDS else "expected " + _TYPE_WORDS[first["type"]])
        if first["type"] == "extra_forbidden":
            text = f"unknown scale setting '{field_name}'; expected one of: {', '.join(Scale.model_fields)}"
            shown = ""
        loc = _scale_location(raw, field_name)
        raise SpecError(f"{text}{shown}", replace(loc, path=f"scale.{field_name}")) from None


def _attach_origins(models: list[Any], nodes: list[Any], scope: str) -> None:
    for model, node in zip(models, nodes):
        path = f"{scope}.{model.name}" if scope else model.name
        model._path = path
        model._origin = node
        if isinstance(model, (Sequential, Side)):
            _attach_origins(model.layers, node["layers"], path)
        elif isinstance(model, Residual):
            _attach_origins(model.body, node["body"], path)
            if isinstance(model.shortcut, list):
                _attach_origins(model.shortcut, node["shortcut"], f"{path}.shortcut")
        elif isinstance(model, Concat):
            for branch, bnode in zip(model.branches, node["branches"]):
                branch._path = f"{path}.{branch.name}"
                branch._origin = bnode
                _attach_origins(branch.layers, bnode["layers"], branch._path)


# --------------------------------------------------------------------------- error translation


def _translate(exc: ValidationError, root: Any, *, top_level: bool) -> SpecError:
    """Turn pydantic's errors into one message in the user's terms (first problem first)."""
    groups: dict[tuple[str, int | None], list[tuple[dict, Any, list[Any], Any]]] = {}
    order: list[tuple[str, int | None]] = []
    for err in exc.errors(include_url=False):
        container, rest, value_holder = _locate(root, err["loc"])
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
    message = _message([e for e, *_ in errs], container, rest)
    extra = len(order) - 1
    if extra:
        message += f" (and {extra} more problem{'s' if extra > 1 else ''})"
    return SpecError(message, Location(loc.file, loc.line, loc.path, layer if isinstance(layer, str) else None, loc.via))


def _locate(root: Any, loc: tuple[Any, ...]) -> tuple[Any, list[Any], Any]:
    """Walk ``loc`` through the data; return the deepest mapping/list reached and the rest."""
    current = root
    container = root
    rest: list[Any] = []
    for part in loc:
        if isinstance(current, dict) and part in current:
            container = current
            rest = [part]
            current = current[part]
        elif isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current):
            container = current
            rest = [part]
            current = current[part]
        elif isinstance(current, dict) and isinstance(part, str) and (part in LAYER_KINDS or part in ("function-after",)):
            continue  # the discriminator tag pydantic inserts
        elif isinstance(current, dict) and isinstance(part, str) and not rest:
            rest = [part]
        elif isinstance(part, str) and ("[" in part or part in ("int", "str", "float", "bool", "list", "dict") or part.startswith(("literal", "function", "constrained"))):
            continue  # a union member name
        else:
            rest = rest + [part]
    return container, rest, current


def _location_of(container: Any, rest: list[Any]) -> Location:
    if isinstance(container, (Node, Seq)):
        base = container.location(rest[0] if rest else None)
        path = base.path or ""
        for part in rest[1:]:
            path = join_path(path, part)
        return Location(base.file, base.line, path or None, None, base.via)
    return Location(path=".".join(map(str, rest)) or None)


def _message(errs: list[dict], container: Any, rest: list[Any]) -> str:
    err = errs[0]
    kind = err["type"]
    if kind == "extra_forbidden":
        field_name = rest[-1] if rest else "?"
        allowed = _allowed_fields(container)
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
    constraints = [e for e in errs if e["type"] not in _TYPE_WORDS]
    if constraints:
        texts = _unique(_constraint_text(e) for e in constraints)
        return " or ".join(texts) + shown
    return "expected " + " or ".join(_unique(_TYPE_WORDS[e["type"]] for e in errs)) + shown


_TYPE_WORDS = {
    "int_type": "an integer", "int_parsing": "an integer", "int_from_float": "an integer",
    "float_type": "a number", "float_parsing": "a number", "list_type": "a list", "string_type": "a string",
    "bool_type": "true or false", "bool_parsing": "true or false", "dict_type": "a mapping",
    "model_type": "a mapping", "model_attributes_type": "a mapping", "none_required": "null",
}


def _constraint_text(err: dict) -> str:
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


def _unique(items: Any) -> list[str]:
    out: list[str] = []
    for item in items:
        if item not in out:
            out.append(item)
    return out


def _allowed_fields(container: Any) -> list[str]:
    if isinstance(container, dict):
        kind = container.get("type")
        model: type[BaseModel] | None = LAYER_KINDS.get(kind) if isinstance(kind, str) else None
        if model is None and "branches" not in container and "args" in container:
            return ["doc", "args", "layers"]
        if model is not None:
            return [k for k in model.model_fields if k != "type"] + ["type", "repeat", "first", "when"]
        if "layers" in container and "name" in container and len(container) <= 2:
            return list(Branch.model_fields)
        return list(SpecDocument.model_fields) + ["extends"]
    return []
