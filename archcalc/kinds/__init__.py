"""Every layer kind, registered once with everything archcalc knows about it.

One module per family (:mod:`.conv`, :mod:`.pool`, :mod:`.dense`, :mod:`.norm`, :mod:`.elementwise`,
:mod:`.resample`, :mod:`.channel`, :mod:`.composite`, :mod:`.pyramid`, :mod:`.detection`) defines each
kind's pydantic model, analysis rule (shape, params, MACs, ops, receptive-field map), torch builder, fvcore
reconciliation, display traits and worked example (see :class:`~archcalc.kinds.base.Kind`). Everything keyed by
kind derives from :data:`KINDS`: the spec language's union :data:`Layer` (and so the JSON
Schema), :data:`LAYER_KINDS`, the analyzer, the builder, the cross-check and the tests.

Adding a kind means adding it to its family module (or a new module imported below); nothing else.
"""

from __future__ import annotations

__all__ = ["KINDS", "ROW_KINDS", "LAYER_KINDS", "Kind", "Example", "FvcoreRule", "Step", "Memory", "Buffer", "Pass",
           "Layer", "LayerList", "AnyLayer",
           "LeafLayer", "CompositeLayer", "ACTIVATION_KINDS", "children", "RESERVED_NAMES", "hidden_in_seed",
           "hidden_in_chart", "fvcore_rules", "kind_of"]

from typing import Annotated, Union

from pydantic import BaseModel, Field

# Importing a family module registers its kinds; this order is the order of the schema's union.
from . import conv, pool, dense, norm, elementwise, resample, channel, composite, pyramid, detection  # noqa: F401, I001
from .base import KINDS, ROW_KINDS, AnyLayer, Buffer, LayerList, Example, FvcoreRule, Kind, Memory, Pass, Step
from .composite import RESERVED_NAMES, children
from .elementwise import ACTIVATION_KINDS


def _models(composite_kinds: bool) -> tuple[type[BaseModel], ...]:
    seen: list[type[BaseModel]] = []
    for k in KINDS.values():
        if k.composite == composite_kinds and k.model not in seen:
            seen.append(k.model)  # type: ignore[arg-type]
    return tuple(seen)


LeafLayer = Union[_models(False)]  # type: ignore[valid-type]
CompositeLayer = Union[_models(True)]  # type: ignore[valid-type]
Layer = Annotated[Union[LeafLayer, CompositeLayer], Field(discriminator="type")]
"""The union of every kind, discriminated by ``type``: for the JSON Schema and type checkers. Validation goes
through :data:`LayerList` (:data:`~archcalc.kinds.base.AnyLayer`), which builds only the kinds a spec uses."""

LAYER_KINDS: dict[str, type[BaseModel]] = {tag: k.model for tag, k in KINDS.items()}  # type: ignore[misc]
"""Every ``type`` tag a spec may use, mapped to its model."""


def _complete() -> None:
    for tag, k in KINDS.items():
        if (k.rule is None) == (k.walk is None):  # pragma: no cover - a programming error, caught at import
            raise RuntimeError(f"layer kind {tag!r} needs exactly one of an analysis rule or a walk")
        if k.build is None:  # pragma: no cover
            raise RuntimeError(f"layer kind {tag!r} has no torch builder")
        if k.example is None:  # pragma: no cover
            raise RuntimeError(f"layer kind {tag!r} has no example for the tests")
    # every row type the analyzer emits needs a memory rule: leaves, the rows composites add, a concat's join
    for tag, k in (*KINDS.items(), *ROW_KINDS.items()):
        if (k.rule is not None or k.model is None or tag == "concat") and k.memory is None:  # pragma: no cover
            raise RuntimeError(f"row kind {tag!r} has no memory rule")


_complete()


def kind_of(row_type: str) -> Kind | None:
    """The kind behind an analyzer row type (spec kinds and the rows composites add), or None."""
    return KINDS.get(row_type) or ROW_KINDS.get(row_type)


def hidden_in_seed(row_type: str) -> bool:
    """Whether the lecture ("seed") table layout leaves rows of this type out."""
    k = kind_of(row_type)
    return k is not None and k.hidden_in_seed


def hidden_in_chart(row_type: str) -> bool:
    """Whether the per-layer profile chart leaves rows of this type out."""
    k = kind_of(row_type)
    return k is not None and k.hidden_in_chart


def fvcore_rules() -> tuple[FvcoreRule, ...]:
    """Every fvcore reconciliation, once each, in registration order."""
    seen: dict[str, FvcoreRule] = {}
    for k in (*KINDS.values(), *ROW_KINDS.values()):
        for rule in k.fvcore:
            seen.setdefault(rule.name, rule)
    return tuple(seen.values())
