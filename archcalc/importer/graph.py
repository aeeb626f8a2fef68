"""The traced graph the importer works on, whichever tracer produced it.

A :class:`TNode` is one operation of the model's forward pass: the network input, a call of a leaf
module, a function or method (named canonically: ``relu`` whether it was ``F.relu``, ``torch.relu``,
``x.relu_()`` or ``aten.relu.default``), a constant (a parameter or buffer read by the forward code)
or the output. Arguments keep their structure, with other nodes in place of tensors. Shapes include
the batch axis; ``shape`` is None for values that are not tensors (sizes, tuples).

No torch here: the tracers (:mod:`.trace_fx`, :mod:`.trace_export`) fill these records in.
"""

from __future__ import annotations

__all__ = ["TNode", "Graph", "canonical_name", "flatten_args"]

from dataclasses import dataclass, field
from typing import Any

_ALIASES = {"iadd": "add", "imul": "mul", "concat": "cat", "concatenate": "cat", "upsample": "interpolate",
            "truediv": "div", "itruediv": "div"}


def canonical_name(name: str) -> str:
    """``relu_`` -> ``relu``, ``iadd`` -> ``add``, ``concat`` -> ``cat``: one name per operation."""
    base = name[:-1] if name.endswith("_") and not name.endswith("__") else name
    base = base.strip("_") or name
    return _ALIASES.get(base, base)


@dataclass(eq=False)
class TNode:
    """One traced operation (see the module docstring)."""

    id: int
    op: str  # 'input' | 'module' | 'function' | 'const' | 'output'
    target: str  # module path ('module'), canonical operation name ('function'), parameter name ('const')
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)
    shape: tuple[int, ...] | None = None  # with the batch axis; None: not a tensor
    scope: str = ""  # dotted path of the innermost module whose forward ran this ('' = the model itself)
    source: str | None = None  # "file.py:123" of the model code that called it
    text: str | None = None  # that line's code
    name: str = ""  # the tracer's own name for it (for messages)
    module: Any = None  # the leaf module ('module' nodes)
    value: Any = None  # the tensor ('const' nodes)

    @property
    def is_tensor(self) -> bool:
        return self.shape is not None

    def where(self) -> str:
        """Module path and source line, for messages."""
        path = self.target if self.op == "module" else (self.scope or "<model>")
        kind = type(self.module).__name__ if self.module is not None else self.target
        bits = [f"{path} ({kind})" if self.op == "module" else f"{kind} in {path}"]
        if self.source:
            bits.append(f"at {self.source}" + (f": {self.text}" if self.text else ""))
        return " ".join(bits)


@dataclass
class Graph:
    """A traced forward pass: nodes in execution order, the input, the tensors returned."""

    nodes: list[TNode]
    input: TNode
    outputs: list[TNode]  # the returned tensors, main output first
    method: str  # 'torch.fx' or 'torch.export'
    notes: list[str] = field(default_factory=list)

    def tensor_inputs(self, node: TNode) -> list[TNode]:
        """The tensor-valued nodes among ``node``'s arguments (constants included), in order, once each."""
        seen: list[TNode] = []
        for item in flatten_args((node.args, node.kwargs)):
            if isinstance(item, TNode) and item.is_tensor and item not in seen:
                seen.append(item)
        return seen


def flatten_args(obj: Any) -> list[Any]:
    """Every item inside nested argument tuples, lists, dicts and slices (nodes and constants), in order."""
    out: list[Any] = []
    stack = [obj]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(reversed(list(item.values())))
        elif isinstance(item, (list, tuple)):
            stack.extend(reversed(item))
        elif isinstance(item, slice):
            stack.extend(reversed([item.start, item.stop, item.step]))
        else:
            out.append(item)
    return out
