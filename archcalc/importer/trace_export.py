"""torch.export tracing into a :class:`~archcalc.importer.graph.Graph`, for models torch.fx cannot trace.

torch.export (control flow on sizes, ``len(x)``...) traces at the level of ATen operators with the
shapes fixed by the example input. Its nodes are folded back into calls of leaf modules by the module
stack each node records, so both tracers give the same graph for the same model.
"""

from __future__ import annotations

__all__ = ["trace_export"]

import os
from typing import Any

from .callsite import HERE, source
from .errors import ImportModelError
from .graph import Graph, TNode, canonical_name
from .leaves import is_leaf
from .live import leaves, model_device
from .trace_fx import tensor_outputs


def trace_export(model: Any, input_shape: tuple[int, ...]) -> Graph:
    """The model's forward pass as torch.export traces it, on one input of per-sample shape ``input_shape``."""
    import torch
    from torch.export import export
    from torch.export.graph_signature import InputKind

    device = model_device(model)
    x = torch.zeros((1, *input_shape), device=device)
    ep = export(model, (x,), strict=False)
    sig = ep.graph_signature
    kinds = {spec.arg.name: spec for spec in sig.input_specs}
    state = {**ep.state_dict, **getattr(ep, "constants", {})}
    modules = dict(model.named_modules())
    fx_nodes = list(ep.graph.nodes)

    # which leaf-module call each node belongs to: the outermost leaf module on its module stack
    owner: dict[Any, tuple[str, str]] = {}
    for n in fx_nodes:
        for key, (path, _cls) in (n.meta.get("nn_module_stack") or {}).items():
            path = _clean_path(path)
            m = modules.get(path)
            if m is not None and path and is_leaf(m):
                owner[n] = (key, path)
                break

    nodes: list[TNode] = []
    by_fx: dict[Any, TNode] = {}
    graph_input: TNode | None = None
    outputs: list[TNode] = []
    i = 0
    while i < len(fx_nodes):
        n = fx_nodes[i]
        src, text = _export_source(n.meta.get("stack_trace"))
        val = n.meta.get("val")
        shape = tuple(int(d) for d in val.shape) if isinstance(val, torch.Tensor) else None
        stack = [_clean_path(v[0]) for v in (n.meta.get("nn_module_stack") or {}).values()]
        common = dict(source=src, text=text, name=n.name)
        if n.op == "placeholder":
            spec = kinds.get(n.name)
            if spec is not None and spec.kind == InputKind.USER_INPUT and graph_input is None:
                node = graph_input = TNode(len(nodes), "input", "input", shape=shape, **common)
            else:
                target = spec.target if spec is not None else n.name
                value = state.get(target)
                node = TNode(len(nodes), "const", str(target), value=value, shape=shape, **common)
            by_fx[n] = node
            nodes.append(node)
            i += 1
            continue
        if n.op == "output":
            returned = leaves(torch.fx.node.map_arg(n.args, lambda a: by_fx.get(a)))
            outputs = [a for a in returned if isinstance(a, TNode)]
            i += 1
            continue
        if n in owner:  # fold the whole call of a leaf module into one node
            key, path = owner[n]
            j = i
            while j < len(fx_nodes) and owner.get(fx_nodes[j]) == (key, path):
                j += 1
            members = set(fx_nodes[i:j])
            first_input = next((by_fx[a] for m in fx_nodes[i:j] for a in m.all_input_nodes
                                if a not in members and a in by_fx and by_fx[a].op != "const"), None)
            last = next((m for m in reversed(fx_nodes[i:j]) if any(u not in members for u in m.users)), fx_nodes[j - 1])
            lval = last.meta.get("val")
            node = TNode(len(nodes), "module", path, (first_input,) if first_input is not None else (), {},
                         tuple(int(d) for d in lval.shape) if isinstance(lval, torch.Tensor) else None,
                         module=modules[path], scope=path.rpartition(".")[0], **common)
            for m in fx_nodes[i:j]:
                by_fx[m] = node
            nodes.append(node)
            i = j
            continue
        args = torch.fx.node.map_arg(n.args, lambda a: by_fx[a])
        kwargs = torch.fx.node.map_arg(n.kwargs, lambda a: by_fx[a])
        target = n.target
        schema = getattr(target, "_schema", None)
        fname = schema.name.split("::")[-1] if schema is not None else getattr(target, "__name__", str(target))
        node = TNode(len(nodes), "function", canonical_name(fname), args, kwargs, shape,
                     scope=stack[-1] if stack else "", **common)
        by_fx[n] = node
        nodes.append(node)
        i += 1
    if graph_input is None:
        raise ImportModelError("the exported program has no input tensor")
    return Graph(nodes, graph_input, tensor_outputs(outputs), "torch.export")


def _clean_path(path: str) -> str:
    """export's module paths (``L['self'].layer1[0]`` in some releases) -> ``layer1.0``."""
    if "L[" not in path and "[" not in path:
        return path
    text = path.replace("L['self']", "").replace("['", ".").replace("']", "").replace("[", ".").replace("]", "")
    return text.strip(".")


def _export_source(stack: str | None) -> tuple[str | None, str | None]:
    if not stack:
        return None, None
    import re

    import torch

    torch_dir = os.path.dirname(os.path.abspath(torch.__file__))
    found = None
    for m in re.finditer(r'File "([^"]+)", line (\d+)', stack):
        if not m.group(1).startswith(torch_dir) and not m.group(1).startswith(HERE):
            found = (m.group(1), int(m.group(2)))
    return source(found)
