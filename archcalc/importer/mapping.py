"""Map every traced node to what it is in the spec language: spec entries, a join, or nothing.

Walks the :class:`~archcalc.importer.graph.Graph` in execution order and gives each tensor-valued
node an :class:`Op` (an entry such as ``conv``, a join ``add``/``mul``/``cat``) or makes it a
pass-through (``contiguous``, a ``permute`` that only moves the channels, ``nn.Identity``). Patterns
of several torch operations that make one spec layer are recognised by the state they leave on the
tensor (:class:`~archcalc.importer.values.Value`): ``F.pad`` before a convolution or pooling, the
view-transpose-view of a channel shuffle, ``permute`` + ``LayerNorm``/``Linear`` + ``permute``
(ConvNeXt), ``x.view(x.size(0), -1)``, ``x[:, :, ::2, ::2]`` + channel padding (ResNet option A),
the chunks of ``x.chunk(2, dim=1)`` (ShuffleNet v2).

Nothing is ever skipped silently: a node with no mapping is recorded with its module path, the
model's source line and the reason, and :func:`map_graph` raises
:class:`~archcalc.importer.errors.UnmappedError` listing all of them.
"""

from __future__ import annotations

__all__ = ["Op", "Mapping", "map_graph"]

from dataclasses import dataclass, field
from typing import Any

from .errors import UnmappedError
from .func_args import TUPLE_OPS, node_args
from .func_pooling import merge_pad
from .functions import FUNCTIONS
from .graph import Graph, TNode
from .leaves import has_mapping, map_module
from .values import Mapped, Unmappable, Value


@dataclass
class Op:
    """A node that is something in the spec: the network input, spec entries, or a join."""

    id: int
    node: TNode
    kind: str  # 'input' | 'layer' | 'join'
    entries: list[dict[str, Any]] = field(default_factory=list)
    join: str | None = None  # 'add' | 'mul' | 'cat'
    inputs: list[int] = field(default_factory=list)  # the ops whose outputs it reads (a join: its operands in order)
    in_shapes: list[tuple[int, ...]] = field(default_factory=list)
    out_shape: tuple[int, ...] = ()
    params: int = 0  # parameters this node owns (its module's, or the constants it reads)
    via: str | None = None  # the torch operation where its fvcore accounting differs from the kind's ('mean')
    absorbed: list[TNode] = field(default_factory=list)  # other nodes it stands for (an F.pad before a convolution)


@dataclass
class Mapping:
    ops: dict[int, Op]  # by node id, in execution order
    input: int
    outputs: list[int]  # the ops whose outputs the model returns, main output first
    output_shapes: list[tuple[int, ...]]


class _Mapper:
    def __init__(self, graph: Graph):
        self.graph = graph
        self.values: dict[int, Value] = {}
        self.tuples: dict[int, tuple[str, Value, Any]] = {}  # chunk/split outputs: (how, input, sizes)
        self.ops: dict[int, Op] = {}
        self.unmapped: list[str] = []
        self.tainted: set[int] = set()  # nodes already reported, and what is computed from them

    # -- helpers
    def value(self, node: Any) -> Value | None:
        return self.values.get(node.id) if isinstance(node, TNode) else None

    def data_inputs(self, node: TNode) -> list[tuple[TNode, Value]]:
        found = []
        for t in self.graph.tensor_inputs(node):
            v = self.values.get(t.id)
            if v is not None:
                found.append((t, v))
        return found

    def logical(self, node: TNode, layout: str) -> tuple[int, ...]:
        shape = node.shape or ()
        if layout == "cl" and len(shape) > 2:
            return (shape[-1], *shape[1:-1])
        return tuple(shape[1:])

    def emit(self, node: TNode, mapped: Mapped, x: Value, *, inputs: list[Value] | None = None,
             params: int = 0, via: str | None = None, absorbed: list[TNode] | None = None) -> None:
        """Record ``mapped`` as the meaning of ``node`` whose data input is ``x``."""
        if mapped.join is not None:
            ins = inputs or [x]
            op = Op(node.id, node, "join", join=mapped.join, inputs=[v.rep for v in ins],
                    in_shapes=[v.shape for v in ins], out_shape=self.logical(node, mapped.layout), params=params)
            self.ops[node.id] = op
            self.values[node.id] = Value(node.id, op.out_shape, mapped.layout)
            return
        if not mapped.entries:  # a pass-through: the value goes on, perhaps rearranged
            shape = x.shape if mapped.pending is not None else self.logical(node, mapped.layout)
            self.values[node.id] = Value(x.rep, shape, mapped.layout, mapped.pending)
            return
        op = Op(node.id, node, "layer", entries=mapped.entries, inputs=[x.rep], in_shapes=[x.shape],
                out_shape=self.logical(node, mapped.layout), params=params, via=via, absorbed=absorbed or [])
        self.ops[node.id] = op
        self.values[node.id] = Value(node.id, op.out_shape, mapped.layout, mapped.pending)

    def fail(self, node: TNode, reason: str) -> None:
        self.unmapped.append(f"{node.where()}: {reason}")

    # -- the walk
    def run(self) -> Mapping:
        g = self.graph
        x0 = g.input
        if x0.shape is None:
            raise UnmappedError([f"{x0.where()}: the input is not a tensor"])
        self.values[x0.id] = Value(x0.id, tuple(x0.shape[1:]))
        self.ops[x0.id] = Op(x0.id, x0, "input", out_shape=tuple(x0.shape[1:]))
        for node in g.nodes:
            if node.op in ("input", "const"):
                continue
            if not node.is_tensor and node.target not in TUPLE_OPS:
                continue  # sizes, shapes and other plain values: not data
            if self.tainted and any(t.id in self.tainted for t in node_args(node)):
                # downstream of an operation already reported: report it only if it has no mapping at all
                self.tainted.add(node.id)
                if node.op == "function" and node.target not in FUNCTIONS:
                    self.fail(node, f"no spec kind for the operation '{node.target}'")
                elif node.op == "module" and not has_mapping(node.module):
                    self.fail(node, f"no spec kind for {type(node.module).__module__}.{type(node.module).__name__}")
                continue
            try:
                if node.op == "module":
                    self.module(node)
                else:
                    self.function(node)
            except Unmappable as exc:
                self.fail(node, str(exc))
                self.tainted.add(node.id)
        outputs, shapes = [], []
        for out in g.outputs:
            v = self.values.get(out.id)
            if v is None:
                if out.id not in self.tainted:
                    self.fail(out, "an output that does not come from the input")
                continue
            if v.layout != "cf" or v.pending is not None:
                self.fail(out, "the model returns a channels-last or rearranged tensor")
                continue
            outputs.append(v.rep)
            shapes.append(v.shape)
        if self.unmapped:
            raise UnmappedError(self.unmapped)
        return Mapping(self.ops, x0.id, outputs, shapes)

    def module(self, node: TNode) -> None:
        inputs = self.data_inputs(node)
        if len(inputs) != 1:
            raise Unmappable(f"a module called with {len(inputs)} tensors from the input; a layer takes one")
        _, x = inputs[0]
        padded = x.pending is not None and x.pending[0] == "pad"
        mapped = map_module(node.module, Value(x.pending[3], x.shape, "cf") if padded else x)
        absorbed = []
        if padded:  # nn.ZeroPad2d or F.pad, then this convolution or pooling
            if len(mapped.entries) != 1 or mapped.entries[0]["type"] not in ("conv", "maxpool", "avgpool"):
                raise Unmappable("padding before a layer other than a convolution or pooling")
            absorbed.append(self.graph.nodes[x.pending[4]])
            x, entry = merge_pad(x, mapped.entries[0], len(x.shape) - 1)
            mapped.entries = [entry]
        if mapped.pending is not None and mapped.pending[0] == "pad":  # a padding module: its node id
            mapped.pending = (*mapped.pending[:4], node.id)
        params = sum(p.numel() for p in node.module.parameters())
        self.emit(node, mapped, x, params=params, absorbed=absorbed)

    def function(self, node: TNode) -> None:
        handler = FUNCTIONS.get(node.target)
        if handler is None:
            raise Unmappable(f"no spec kind for the operation '{node.target}'")
        handler(self, node)


def map_graph(graph: Graph) -> Mapping:
    """Every node's meaning (see the module docstring); raises :class:`UnmappedError` listing every
    node that has none."""
    return _Mapper(graph).run()
