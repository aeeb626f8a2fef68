"""Load a spec file: YAML -> ``extends`` merge -> document validation -> expansion -> layers.

Every failure is a :class:`~archcalc.errors.SpecError` naming the file, the line and the field
path in the user's terms (``layers[3].kernel``), never a pydantic or YAML traceback.
"""

from __future__ import annotations

__all__ = ["Spec", "load_spec", "parse_spec"]

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from ..errors import ArchcalcError, Location, SpecError
from ..gcpause import gc_paused
from ..yamlio import MAX_FILE_BYTES, Node, loads_yaml
from .document import Accuracy, ReferenceSet, Scale, SpecDocument
from .expand import expand_layers
from .extends import extends_root as _root_folder, load_with_extends, merge_extends
from ..kinds import KINDS
from .layers import Layer, LayerList
from .printed import PrintedFigures, printed_figures
from .translate import scale_error, translate

_LAYERS = TypeAdapter(LayerList)


@dataclass(frozen=True)
class Spec:
    """A loaded, expanded, validated architecture. Build it with :func:`load_spec`."""

    name: str
    input_shape: tuple[int, ...]
    layers: tuple[Layer, ...]
    document: SpecDocument = field(repr=False)
    path: Path | None = None
    scale: Scale | None = None
    printed_figures: PrintedFigures = field(default_factory=PrintedFigures, repr=False, compare=False)
    """The reference figures as written: their digits and lines (see :mod:`archcalc.spec.printed`)."""
    reads_input_size: bool = field(default=False, repr=False, compare=False)
    """Whether an expression read ``$in_height``/``$in_width``/``$in_depth``: then the layers themselves
    depend on the input resolution, and :meth:`at_resolution` refuses."""

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

    def at_resolution(self, resolution: int | list[int], *, where: Location | None = None) -> "Spec":
        """The same layers on an input of another spatial size (a reference's evaluation crop).

        Exact because a layer's definition does not depend on the input size unless an expression read
        it (``reads_input_size``): that case is refused with a :class:`SpecError` at ``where``.
        """
        spatial = len(self.input_shape) - 1
        sizes = [resolution] * spatial if isinstance(resolution, int) else list(resolution)
        if len(sizes) != spatial:
            raise SpecError(f"needs {spatial} value(s) for input {list(self.input_shape)} (one per spatial axis), "
                            f"got {len(sizes)}", where)
        if self.reads_input_size:
            raise SpecError("this spec's expressions read the input size ($in_height, $in_width, ...), so its "
                            "layers at another resolution need their own load", where,
                            hint="load it with scale: {resolution: ...} (archcalc report --scale resolution=...)")
        return replace(self, input_shape=(self.input_shape[0], *sizes))



@gc_paused  # see archcalc.gcpause: linear cost per layer
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
    return spec_from_tree(read_tree(path, extends_root=extends_root), path=path, params=params, scale=scale)


def read_tree(path: str | Path, *, extends_root: str | Path | None = None) -> Node:
    """The YAML tree of the spec at ``path``, its ``extends:`` chain merged, before validation (the first
    half of :func:`load_spec`; :func:`spec_from_tree` is the second). Errors name ``path``."""
    root = _root_folder(extends_root)
    with _located(str(path)):
        return load_with_extends(Path(path), chain=[], root=root)


@gc_paused  # see archcalc.gcpause: linear cost per layer
def parse_spec(text: str, *, filename: str = "<string>", params: dict[str, Any] | None = None,
               scale: Scale | dict[str, Any] | None = None, extends_root: str | Path | None = None) -> Spec:
    """Like :func:`load_spec` for YAML ``text``; ``filename`` is the name its errors show.

    ``extends:`` in ``text`` is resolved against the *current directory*, and absolute paths are
    followed: text from an untrusted source can make archcalc read any spec file the process can
    read. Pass ``extends_root`` to resolve ``extends:`` against that folder instead and refuse any
    path that leaves it (absolute, ``..``, or a symbolic link pointing out).
    """
    root = _root_folder(extends_root)
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
            raw = merge_extends(raw, root if root is not None else Path.cwd(), chain=[filename], root=root)
        return _build(raw, path=None, params=params, scale=scale)


@gc_paused
def spec_from_tree(raw: Node, *, path: str | Path, params: dict[str, Any] | None = None,
                   scale: Scale | dict[str, Any] | None = None) -> Spec:
    """The spec :func:`load_spec` builds from ``path``, from its tree as :func:`read_tree` returns it: a
    caller building many variants of one file (``archcalc sweep``) reads it once. Errors name ``path``."""
    with _located(str(path)):
        return _build(raw, path=Path(path), params=params, scale=scale)


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


# --------------------------------------------------------------------------- build


def _build(raw: Node, *, path: Path | None, params: dict[str, Any] | None,
           scale: Scale | dict[str, Any] | None) -> Spec:
    try:
        doc = SpecDocument.model_validate(raw)
    except ValidationError as exc:
        raise translate(exc, raw, top_level=True) from None
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
    input_shape = tuple(doc.input)
    if eff_scale is not None and eff_scale.resolution is not None:
        res = eff_scale.resolution
        spatial = len(input_shape) - 1
        res_list = [res] * spatial if isinstance(res, int) else list(res)
        if len(res_list) != spatial:
            raise SpecError(f"needs {spatial} value(s) for input {list(input_shape)} (one per spatial axis), got {len(res_list)}",
                            _scale_location(raw, "resolution"))
        input_shape = (input_shape[0], *res_list)
    block_nodes = raw.get("blocks") or Node()
    layers_raw = raw["layers"]
    expanded, reads = expand_layers(layers_raw, params=env, blocks=doc.blocks,
                             block_nodes={k: v for k, v in block_nodes.items()},
                             scale=eff_scale, input_shape=input_shape, patches=doc.set, patches_node=raw.get("set"),
                             params_node=raw.get("params") if isinstance(raw.get("params"), Node) else None)
    try:
        layers = _LAYERS.validate_python(expanded)
    except ValidationError as exc:
        raise translate(exc, expanded, top_level=False) from None
    _attach_origins(layers, expanded)
    return Spec(name=doc.name, input_shape=input_shape, layers=tuple(layers), document=doc,
                path=path, scale=eff_scale, printed_figures=printed_figures(raw.get("references")),
                reads_input_size=bool(reads - {"in_channels"}))


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
        field_name, message = scale_error(exc)
        loc = _scale_location(raw, field_name)
        raise SpecError(message, replace(loc, path=f"scale.{field_name}")) from None


def _attach_origins(models: list[Any], nodes: list[Any]) -> None:
    """Give each validated layer (and concat branch) the location it was written at (file, line, field
    path: what :attr:`LayerModel.location` returns, for errors found later). Written into pydantic's
    private-attribute dict directly: its ``__setattr__`` costs more than the rest of the walk."""
    for model, node in zip(models, nodes):
        model.__pydantic_private__["_origin"] = node.location()
        kind = KINDS.get(model.type)
        if kind is None or kind.children is None:  # a leaf
            continue
        for mine, raw in zip(kind.children(model), kind.children(node)):
            if mine.owner is not None:  # a concat branch
                mine.owner.__pydantic_private__["_origin"] = raw.owner.location()
            _attach_origins(mine.layers, raw.layers)
