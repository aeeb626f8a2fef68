"""What a layer kind is: the record every kind module fills in, and the registry that holds them.

A :class:`Kind` gathers everything archcalc knows about one ``type`` tag in one place: its pydantic
model (what a spec may say), its analysis rule (shape, params, MACs, ops and receptive-field map),
its torch builder (``torch`` imported inside the function, so the static path stays torch-free),
its reconciliation with fvcore, its display traits and a small worked example the tests check.
Kinds are registered with :func:`kind`, which refuses duplicate tags, so the union of the spec
language, the JSON Schema and every test parametrization derive from :data:`KINDS`.

Rows that the analyzer emits for composites but a spec cannot write (a residual's ``add``, the
zero-padding shortcut) are registered with :func:`row_kind`: they have traits and fvcore rules,
but no model.
"""

from __future__ import annotations

__all__ = [
    "Kind", "Example", "FvcoreRule", "Step", "Memory", "Buffer", "Pass", "SAVES_INPUT", "ShapeError", "LayerModel",
    "KINDS", "ROW_KINDS", "kind", "row_kind", "AnyLayer", "LayerList",
    "Pos", "NonNeg", "PosOrAxes", "PadAxis", "Padding", "Float", "MAX_SIZE", "NAME_PATTERN", "whole_number",
    "finite_number",
]

import math
import re
from dataclasses import dataclass, field
from typing import Annotated, Any, Callable, Literal, Mapping, Union

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainValidator, PrivateAttr
from pydantic_core import PydanticCustomError

from ..errors import Location
from ..geometry import MAX_DIM, ShapeError

MAX_SIZE = MAX_DIM
NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_\-]*$"


# --------------------------------------------------------------------------- field types


def whole_number(value: Any) -> Any:
    """Integers only: ``true`` is not 1, ``6.25`` is not 6, and ``.nan``/``.inf`` are not sizes.

    A float that is a whole number (``$c / 2`` with an even ``$c``) becomes an ``int``; strings and
    other values go on to pydantic's strict integer check, whose error lists the alternatives.
    """
    if isinstance(value, bool):
        raise ValueError(f"expected an integer, not true/false (got {value!r})")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"expected an integer (got {value!r})")
        if not value.is_integer():
            raise ValueError(f"needs a whole number (got {value!r})")
        return int(value)
    return value


def finite_number(value: Any) -> Any:
    """Floats: any finite number (integers included), never ``true``/``false``, ``.nan`` or ``.inf``."""
    if isinstance(value, bool):
        raise ValueError(f"expected a number, not true/false (got {value!r})")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"expected a finite number (got {value!r})")
    return value


Float = Annotated[float, Field(strict=True), BeforeValidator(finite_number)]
Pos = Annotated[int, Field(strict=True, ge=1, le=MAX_SIZE), BeforeValidator(whole_number)]
NonNeg = Annotated[int, Field(strict=True, ge=0, le=MAX_SIZE), BeforeValidator(whole_number)]
PosOrAxes = Union[Pos, Annotated[list[Pos], Field(min_length=1, max_length=3)]]
PadAxis = Union[NonNeg, Annotated[list[NonNeg], Field(min_length=2, max_length=2)]]
Padding = Union[
    NonNeg,
    Literal["same", "valid"],
    Annotated[list[PadAxis], Field(min_length=1, max_length=3)],
]


class LayerModel(BaseModel):
    """Fields every layer has."""

    # defer_build: a kind's validator is built the first time a spec uses the kind (see AnyLayer)
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    name: str | None = Field(
        default=None, pattern=NAME_PATTERN,
        description="Layer name (as the paper's table prints it: conv1, pool1, fc8). "
                    "Unnamed layers get stable automatic names (relu1, relu2, ...).")

    # Set by the loader after validation: where it was written.
    _origin: Location | None = PrivateAttr(default=None)

    @property
    def location(self) -> Location | None:
        """Where the layer was written (file, line, field path); None for layers archcalc made itself."""
        return self._origin


# --------------------------------------------------------------------------- what a rule returns


@dataclass(slots=True)
class Step:
    """One leaf layer's effect on a per-sample tensor: the analysis rule's answer."""

    output_shape: tuple[int, ...]
    params: int = 0
    macs: int = 0
    ops: int = 0
    pooling_ops: int = 0
    windows: tuple[Any, ...] | None = None  # receptive_field.AxisMap per axis: which inputs each output reads
    flattens: bool = False  # after this, every output sees the whole input
    attrs: dict[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------- what a memory rule returns


@dataclass(frozen=True, slots=True)
class Buffer:
    """A tensor a row allocates besides its output: ``elements`` per sample (for the whole batch when not
    ``batched``: per-channel statistics), of element type ``dtype``: ``act`` (the activations' type),
    ``acc`` (statistics torch keeps in float32, or float64 for float64 activations), ``int64`` or ``bool``."""

    elements: int
    dtype: Literal["act", "acc", "int64", "bool"] = "act"
    batched: bool = True


@dataclass(frozen=True, slots=True)
class Memory:
    """How one row's torch module uses activation memory: a kind's memory rule's answer, for inference
    (``no_grad``) or for a training-mode forward (see :mod:`archcalc.memory`).

    ``view``: the output is its first input's storage (a view, the tensor itself, or written in place),
    so the row allocates nothing. ``scratch``: temporaries alive only while the row runs (padded copies,
    a squeeze-excite's pooled vector). For training, what autograd keeps for backward: ``saves_inputs``
    (indices of the row's inputs: 0 for a leaf), ``saves_output``, and ``saved``, new tensors kept only
    for backward (pooling indices, dropout masks, normalization statistics, padded copies). Parameters
    and buffers are never activations. ``channels_last``: the output's layout in memory, when the row
    sets it (a layer norm or per-position linear works on a channels-last tensor); None keeps the input's.
    ``strided``: a view that skips elements of its input unevenly (a crop), which a reshape after it
    must copy.
    """

    view: bool = False
    scratch: tuple[Buffer, ...] = ()
    saves_inputs: tuple[int, ...] = ()
    saves_output: bool = False
    saved: tuple[Buffer, ...] = ()
    channels_last: bool | None = None
    strided: bool = False


@dataclass(frozen=True, slots=True)
class Pass:
    """Which pass a memory rule answers for: inference (``no_grad``, eval) or a training-mode forward with
    autograd recording, on ``cuda`` (the prediction's device) or the ``cpu`` (where a few operators keep
    other tensors: each rule says where, with ``NB:``); and the layout of the row's input in memory:
    ``channels_last`` (after a layer norm or a per-position linear, and the convolutions and
    element-wise layers that follow, which keep the layout), ``strided`` (a crop's view, whose
    elements are not one evenly spaced run)."""

    training: bool = False
    device: Literal["cuda", "cpu"] = "cuda"
    channels_last: bool = False
    strided: bool = False


SAVES_INPUT: tuple[int, ...] = (0,)
"""``saves_inputs`` of a row that keeps its (only) input."""


# --------------------------------------------------------------------------- the record


@dataclass(frozen=True)
class Example:
    """A worked example the test-suite checks: the layer entry on ``input`` gives these numbers.

    Write the derivation beside each number where the example is declared.
    """

    entry: Mapping[str, Any]
    input: tuple[int, ...]
    output: tuple[int, ...]
    params: int = 0
    macs: int = 0
    ops: int = 0


@dataclass(frozen=True)
class FvcoreRule:
    """One known difference between fvcore's count and the analyzer's MACs for a row kind.

    ``delta(row)``: fvcore's count minus the analyzer's MACs for that row (per sample; scaled by
    the batch). ``ops``: the fvcore-unsupported operators (regular expression, full match) it
    expects in such a row.
    """

    name: str
    explanation: str
    delta: Callable[[Any], int] = lambda row: 0
    ops: str | None = None

    def expects(self, op: str) -> bool:
        return self.ops is not None and re.fullmatch(self.ops, op) is not None


@dataclass
class Kind:
    """Everything about one ``type`` tag. Fill ``rule``/``walk`` and ``build`` with the decorators."""

    tag: str
    model: type[BaseModel] | None
    example: Example | None = None
    fvcore: tuple[FvcoreRule, ...] = ()
    hidden_in_seed: bool = False  # left out of the lecture ("seed") table layout
    hidden_in_chart: bool = False  # left out of the per-layer profile chart
    rule: Callable[[Any, tuple[int, ...]], Step] | None = None  # leaves: (layer, input shape) -> Step
    walk: Callable[..., Any] | None = None  # composites: (walker, layer, path, depth, state) -> state
    children: Callable[[Any], list[tuple[str, Any]]] | None = None  # composites: child layer lists
    build: Callable[[Any, Any], Any] | None = None  # (layer, build context) -> torch.nn.Module
    variants: tuple[Example, ...] = ()  # more worked examples: the kind's other settings
    memory: Callable[[Any, Pass], Memory] | None = None  # rows: (LayerRow, Pass) -> Memory
    names_outputs: bool = False  # composites: its group's outputs are named tensors, alive to the end of the pass

    @property
    def composite(self) -> bool:
        return self.walk is not None

    @property
    def examples(self) -> tuple[Example, ...]:
        """The example, then the variants: every worked example the tests check for this kind."""
        return (self.example, *self.variants) if self.example is not None else self.variants


class Registration:
    """The kinds one model (or one row tag) defines; its decorators fill every one of them."""

    def __init__(self, kinds: list[Kind]):
        self.kinds = kinds

    def _set(self, attr: str, fn: Callable) -> Callable:
        for k in self.kinds:
            if getattr(k, attr) is not None:  # pragma: no cover - a programming error, caught at import
                raise RuntimeError(f"layer kind {k.tag!r} has two {attr}s")
            setattr(k, attr, fn)
        return fn

    def rule(self, fn: Callable) -> Callable:
        return self._set("rule", fn)

    def walk(self, fn: Callable) -> Callable:
        return self._set("walk", fn)

    def children(self, fn: Callable) -> Callable:
        return self._set("children", fn)

    def builder(self, fn: Callable) -> Callable:
        return self._set("build", fn)

    def memory(self, fn: Callable) -> Callable:
        """The memory rule: ``(row, Pass) -> Memory`` for a row of this kind (``row.layer`` is None for
        the rows a composite adds, such as a residual's post-join activation)."""
        return self._set("memory", fn)


KINDS: dict[str, Kind] = {}
"""Every ``type`` tag a spec may use, in registration order (the order of the schema's union)."""

ROW_KINDS: dict[str, Kind] = {}
"""Analyzer row types that are not spec kinds (``add``, ``zeropad``)."""


def _validate_layer(value: Any) -> Any:
    """One expanded layer, validated by the model of its ``type`` tag.

    This is pydantic's discriminated union on ``type`` (same error types and context, so
    :mod:`archcalc.spec.translate` words them the same), dispatched by hand: a union of every kind
    would build all ~45 models' validators at start-up, where this builds only the kinds a spec uses,
    on first use (``defer_build``).
    """
    if isinstance(value, LayerModel):
        return value
    if not isinstance(value, dict):
        raise PydanticCustomError("model_attributes_type",
                                  "Input should be a valid dictionary or object to extract fields from")
    if "type" not in value:
        raise PydanticCustomError("union_tag_not_found", "Unable to extract tag using discriminator {discriminator}",
                                  {"discriminator": "'type'"})
    tag = value["type"]
    k = KINDS.get(tag) if isinstance(tag, str) else None
    if k is None or k.model is None:
        raise PydanticCustomError(
            "union_tag_invalid",
            "Input tag '{tag}' found using {discriminator} does not match any of the expected tags: {expected_tags}",
            {"discriminator": "'type'", "tag": str(tag), "expected_tags": ", ".join(f"'{t}'" for t in KINDS)})
    return k.model.model_validate(value)


AnyLayer = Annotated[Any, PlainValidator(_validate_layer)]
"""A layer of any kind, for fields of composite kinds and the spec's layer list (see :func:`_validate_layer`);
:data:`archcalc.kinds.Layer` is the same union spelt out for the JSON Schema and type checkers."""

LayerList = list[AnyLayer]


def _tags(model: type[BaseModel]) -> tuple[str, ...]:
    return tuple(model.model_fields["type"].annotation.__args__)


def kind(model: type[BaseModel], *, example: Example | Mapping[str, Example] | None = None,
         variants: tuple[Example, ...] = (), fvcore: tuple[FvcoreRule, ...] = (), hidden_in_seed: bool = False,
         hidden_in_chart: bool = False) -> Registration:
    """Register every ``type`` tag of ``model``; ``example`` is one Example or one per tag; ``variants``
    are more examples (other settings of the kind's fields), each filed under the tag its entry names."""
    kinds = []
    for tag in _tags(model):
        if tag in KINDS or tag in ROW_KINDS:  # pragma: no cover - a programming error, caught at import
            raise RuntimeError(f"layer kind {tag!r} defined twice")
        ex = example.get(tag) if isinstance(example, Mapping) else example
        k = Kind(tag, model, ex, tuple(fvcore), hidden_in_seed, hidden_in_chart,
                 variants=tuple(v for v in variants if v.entry["type"] == tag))
        KINDS[tag] = k
        kinds.append(k)
    return Registration(kinds)


def row_kind(tag: str, *, fvcore: tuple[FvcoreRule, ...] = (), hidden_in_seed: bool = False,
             hidden_in_chart: bool = False, memory: Callable[[Any, Pass], Memory] | None = None) -> Kind:
    """Register an analyzer row type a spec cannot write (no model, no rule, no builder; a memory rule)."""
    if tag in KINDS or tag in ROW_KINDS:  # pragma: no cover
        raise RuntimeError(f"row kind {tag!r} defined twice")
    k = Kind(tag, None, None, tuple(fvcore), hidden_in_seed, hidden_in_chart, memory=memory)
    ROW_KINDS[tag] = k
    return k
