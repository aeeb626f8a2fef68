"""What each torch function and method is in the spec language: one handler per operation.

:data:`FUNCTIONS` maps a canonical operation name (``relu`` for ``F.relu``, ``torch.relu``, ``x.relu_()``
and ``aten.relu.default`` alike; see :func:`archcalc.importer.graph.canonical_name`) to a handler that
reads the node's arguments (by position or keyword, as torch and ATen both allow: :mod:`.func_args`) and
records what it is through the mapper (:mod:`archcalc.importer.mapping`): spec entries, a join, a
pass-through, or a pending pattern on the tensor (:class:`~archcalc.importer.values.Value`). A handler
raises :class:`~archcalc.importer.values.Unmappable` with the reason when the operation, or this use of
it, has no spec form. The handlers live by what they do:

* :mod:`.func_layers` -- one layer or a join (activations, dropout, add/mul, cat, conv, linear, norms);
* :mod:`.func_pooling` -- pooling, the spatial ``mean``, and the explicit padding a layer takes over;
* :mod:`.func_layout` -- pass-throughs and rearrangements (flatten, reshape, permute, indexing, splits).
"""

from __future__ import annotations

__all__ = ["FUNCTIONS"]

from typing import TYPE_CHECKING, Callable

from . import func_layers, func_layout, func_pooling
from .graph import TNode

if TYPE_CHECKING:  # pragma: no cover
    from .mapping import _Mapper

FUNCTIONS: dict[str, Callable[[_Mapper, TNode], None]] = {
    **func_layers.HANDLERS, **func_pooling.HANDLERS, **func_layout.HANDLERS}
"""Canonical operation name -> its handler."""
