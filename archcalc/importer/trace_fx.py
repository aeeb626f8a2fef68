"""torch.fx symbolic tracing into a :class:`~archcalc.importer.graph.Graph`, with every node's shape.

The tracer runs the model's Python forward once on proxies and records every call. It stops at leaf
modules (:func:`archcalc.importer.leaves.is_leaf`) and records, for each call, the module it ran in
and the line of the model's code that made it. The shapes come from running the traced graph once
on the meta device (:mod:`archcalc.importer.shapes`: no memory, no arithmetic); where an operation
cannot be worked out that way, from a forward pass on zeros (on meta weights for a model that lives
on the meta device).
"""

from __future__ import annotations

__all__ = ["trace_fx", "tensor_outputs"]

import inspect
from typing import Any

from .callsite import source, user_frame
from .errors import ImportModelError
from .graph import Graph, TNode, canonical_name
from .leaves import is_leaf
from .live import leaves, meta_weights, model_device


def _tracer_class() -> type:
    import torch.fx as fx

    class Tracer(fx.Tracer):
        """fx's tracer with archcalc's leaf modules and the model's source line on every node."""

        def is_leaf_module(self, m: Any, module_qualified_name: str) -> bool:
            return is_leaf(m)

        def create_node(self, kind, target, args, kwargs, name=None, type_expr=None):  # type: ignore[no-untyped-def]
            node = super().create_node(kind, target, args, kwargs, name, type_expr)
            node.meta["archcalc_source"] = user_frame()
            return node

    return Tracer


def _concrete_args(model: Any) -> dict[str, Any]:
    """The forward's arguments after the first, at their defaults (one input tensor is traced)."""
    try:
        params = list(inspect.signature(model.forward).parameters.values())
    except (TypeError, ValueError):
        return {}
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    if not positional:
        raise ImportModelError("the model's forward takes no tensor argument")
    rest = positional[1:]
    missing = [p.name for p in rest if p.default is inspect.Parameter.empty]
    if missing:
        raise ImportModelError(f"the model's forward needs more than one input ({positional[0].name}, "
                               f"{', '.join(missing)}); archcalc import traces a network of one input tensor")
    return {p.name: p.default for p in rest}


def trace_fx(model: Any, input_shape: tuple[int, ...]) -> Graph:
    """The model's forward pass as torch.fx traces it, on one input of per-sample shape ``input_shape``."""
    import torch
    import torch.fx as fx

    tracer = _tracer_class()()
    concrete = _concrete_args(model)
    fx_graph = tracer.trace(model, concrete_args=concrete or None)
    gm = tracer.root
    modules = dict(gm.named_modules())  # the paths fx names modules by (path_of_module)
    _propagate_shapes(gm, fx_graph, model, input_shape, modules)

    nodes: list[TNode] = []
    by_fx: dict[Any, TNode] = {}
    graph_input: TNode | None = None
    outputs: list[TNode] = []
    for n in fx_graph.nodes:
        src, text = source(n.meta.get("archcalc_source"))
        shape = _meta_shape(n.meta.get("tensor_meta"))
        stack = list((n.meta.get("nn_module_stack") or {}).values())
        common = dict(source=src, text=text, name=n.name)
        args = fx.node.map_arg(n.args, lambda a: by_fx[a])
        kwargs = fx.node.map_arg(n.kwargs, lambda a: by_fx[a])
        if n.op == "placeholder":
            if graph_input is None:
                node = TNode(len(nodes), "input", "input", shape=shape, **common)
                graph_input = node
            else:
                node = TNode(len(nodes), "const", n.target, **common)
        elif n.op == "get_attr":
            value = _fetch(gm, n.target)
            node = TNode(len(nodes), "const", n.target, value=value,
                         shape=tuple(value.shape) if isinstance(value, torch.Tensor) else None,
                         scope=stack[-1][0] if stack else "", **common)
        elif n.op == "call_module":
            module = modules.get(n.target)
            node = TNode(len(nodes), "module", n.target, args, kwargs, shape,
                         module=module if module is not None else gm.get_submodule(n.target),
                         scope=stack[-2][0] if len(stack) > 1 else "", **common)
        elif n.op in ("call_function", "call_method"):
            fname = n.target if n.op == "call_method" else getattr(n.target, "__name__", str(n.target))
            node = TNode(len(nodes), "function", canonical_name(str(fname)), args, kwargs, shape,
                         scope=stack[-1][0] if stack else "", **common)
        elif n.op == "output":
            outputs = [a for a in leaves(args) if isinstance(a, TNode)]
            continue
        else:  # pragma: no cover - fx has no other node kinds
            raise ImportModelError(f"unexpected torch.fx node {n.op}")
        by_fx[n] = node
        nodes.append(node)
    if graph_input is None:  # pragma: no cover - _concrete_args refuses a forward without inputs
        raise ImportModelError("the model's forward takes no tensor argument")
    return Graph(nodes, graph_input, tensor_outputs(outputs), "torch.fx")


def _fetch(gm: Any, target: str) -> Any:
    obj = gm
    for part in target.split("."):
        obj = getattr(obj, part)
    return obj


def _meta_shape(meta: Any) -> tuple[int, ...] | None:
    shape = getattr(meta, "shape", None)
    return tuple(int(d) for d in shape) if shape is not None else None


def tensor_outputs(outputs: list[TNode]) -> list[TNode]:
    """The tensors among the nodes a forward returns (an error when there is none)."""
    tensors = [o for o in outputs if o.is_tensor]
    if not tensors:
        raise ImportModelError("the model returns no tensor")
    return tensors


def _propagate_shapes(root: Any, graph: Any, model: Any, input_shape: tuple[int, ...], modules: dict[str, Any]) -> None:
    """Fill every node's ``tensor_meta``: shape rules on the meta device, else a forward pass on zeros
    (a model that lives on the meta device: torch's meta kernels). ``modules``: ``root``'s named modules."""
    import torch
    import torch.fx as fx
    from torch.fx.passes.shape_prop import ShapeProp

    from .shapes import propagate

    try:
        propagate(root, graph, input_shape, modules)
        return
    except Exception:  # noqa: BLE001 - any node the fast path cannot do: the slow paths below
        for n in graph.nodes:
            n.meta.pop("tensor_meta", None)
    gm = fx.GraphModule(root, graph)
    device = model_device(model)
    with torch.no_grad():
        if device.type != "meta":
            ShapeProp(gm).propagate(torch.zeros((1, *input_shape), device=device))
            return
        with meta_weights(gm):
            ShapeProp(gm).propagate(torch.zeros((1, *input_shape), device="meta"))
