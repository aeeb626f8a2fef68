"""Leaf modules: the ``nn.Module`` classes the tracer does not enter, and the spec entry each one is.

Dispatch is on type: a module is a mapped leaf when its class is in the table, or inherits from a
class in the table without overriding ``forward`` (``nn.UpsamplingBilinear2d`` is an
``nn.Upsample``; torchvision's ``LayerNorm2d`` overrides ``forward`` with two permutes, so it is
traced through and its ``F.layer_norm`` mapped instead). Every other module of ``torch.nn`` is a
leaf too, so an unsupported one (``nn.GroupNorm``) is reported by its class, not as the functions
inside it. archcalc's own small modules (:mod:`archcalc.torch.modules`) and torchvision's and timm's
stochastic depth are in the table where they are importable.

This module decides what is a leaf and dispatches; the table and the mapper of each class are in
:mod:`archcalc.importer.leaf_mappers`. torch is imported on first use.
"""

from __future__ import annotations

__all__ = ["is_leaf", "has_mapping", "map_module"]

from typing import Any

from .leaf_mappers import Mapper, mapper_table
from .values import Mapped, Unmappable, Value


def _mapper(module: Any) -> Mapper | None:
    table = mapper_table()
    found = table.get(type(module))
    if found is not None:
        return found
    for cls in type(module).__mro__[1:]:
        if cls in table:  # a subclass that keeps its base's forward behaves as the base
            return table[cls] if type(module).forward is cls.forward else None
    return None


def has_mapping(module: Any) -> bool:
    """Whether ``module``'s class (or the base whose ``forward`` it keeps) has a spec kind."""
    return _mapper(module) is not None


def is_leaf(module: Any) -> bool:
    """Whether tracing stops at ``module``: a mapped class, or any other ``torch.nn`` module (not a
    container), so that an unsupported one is reported by its class."""
    from torch import nn

    if _mapper(module) is not None:
        return True
    mod = type(module).__module__
    return (mod.startswith("torch.nn") or mod.startswith("torch.ao.nn")) and not isinstance(
        module, (nn.Sequential, nn.ModuleList, nn.ModuleDict))


def map_module(module: Any, x: Value) -> Mapped:
    """The spec entry a leaf module is, on the value it receives."""
    mapper = _mapper(module)
    if mapper is None:
        raise Unmappable(f"no spec kind for {type(module).__module__}.{type(module).__name__}")
    return mapper(module, x)
