"""Reading a traced call's arguments, for the function handlers (:mod:`archcalc.importer.functions`).

A torch function's arguments come by position or by keyword (ATen's and torch's alike); the helpers here
read one either way, find the data input, count the parameters a call reads, and refuse a tensor that is
half-way through a pattern (:class:`~archcalc.importer.values.Value`'s ``pending``).
"""

from __future__ import annotations

__all__ = ["TUPLE_OPS", "node_args", "arg", "single", "params_of", "no_pending", "per_axis"]

from typing import TYPE_CHECKING, Any

from .graph import TNode, flatten_args
from .values import Unmappable, Value

if TYPE_CHECKING:  # pragma: no cover
    from .mapping import _Mapper


TUPLE_OPS = {"chunk", "split", "split_with_sizes", "unbind"}


def node_args(node: TNode) -> list[TNode]:
    """Every node among ``node``'s arguments (tensors or not)."""
    return [a for a in flatten_args((node.args, node.kwargs)) if isinstance(a, TNode)]


def arg(node: TNode, index: int, name: str, default: Any = None) -> Any:
    """Argument ``name`` of the call, by keyword or at position ``index``."""
    if name in node.kwargs:
        return node.kwargs[name]
    if len(node.args) > index:
        return node.args[index]
    return default


def single(m: _Mapper, node: TNode) -> Value:
    """The value of the call's first argument, the data it works on."""
    x = m.value(node.args[0]) if node.args else None
    if x is None:
        raise Unmappable("its input does not come from the network input")
    return x


def params_of(node: TNode, *consts: Any) -> int:
    """The parameters among the constants a call reads (its weight and bias), counted."""
    total = 0
    for c in consts:
        if isinstance(c, TNode) and c.op == "const" and c.value is not None and _is_parameter(c.value):
            total += int(c.value.numel())
    return total


def _is_parameter(value: Any) -> bool:
    from torch import nn

    return isinstance(value, nn.Parameter)


def no_pending(x: Value, what: str) -> None:
    """Refuse a tensor that is part-way through a pattern."""
    if x.pending is not None:
        raise Unmappable(f"{what} on a rearranged tensor (a pattern the importer does not know)")


def per_axis(value: Any, n: int) -> list[int]:
    """A size argument as ``n`` integers, one per spatial axis."""
    if isinstance(value, (list, tuple)):
        return [int(v) for v in value] if len(value) == n else [int(value[0])] * n
    return [int(value)] * n
