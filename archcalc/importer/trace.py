"""Trace a model into a :class:`~archcalc.importer.graph.Graph`: torch.fx first, torch.export where fx fails.

**torch.fx** symbolic tracing runs the model's Python forward once on proxies and records every
call. Its tracer stops at leaf modules (:func:`archcalc.importer.leaves.is_leaf`) and records, for
each call, the module it ran in and the line of the model's code that made it. The shapes come
from running the traced graph once on the meta device (no memory, no arithmetic), with the
parameters swapped for meta tensors; where an operation has no meta kernel, on zeros.

**torch.export** (where fx fails: control flow on sizes, ``len(x)``...) traces at the level of
ATen operators with the shapes fixed by the example input. Its nodes are folded back into calls of
leaf modules by the module stack each node records, so both tracers give the same graph for the
same model.

The model is traced in eval mode (inference: dropout and stochastic depth are identities, batch
norm uses its statistics); every module's training flag is restored afterwards.
"""

from __future__ import annotations

__all__ = ["trace", "model_device"]

import inspect
import linecache
import os
import sys
from contextlib import contextmanager
from functools import lru_cache
from typing import Any, Iterator

from ..errors import ArchcalcError
from .errors import ImportModelError
from .graph import Graph, TNode, canonical_name
from .leaves import is_leaf

_HERE = os.path.dirname(os.path.abspath(__file__))


def model_device(model: Any) -> Any:
    """The device of the model's first parameter or buffer (CPU for a model without any)."""
    import torch

    for t in model.parameters():
        return t.device
    for t in model.buffers():
        return t.device
    return torch.device("cpu")


@contextmanager
def eval_mode(model: Any) -> Iterator[None]:
    """Every module in eval mode, each one's own flag restored afterwards."""
    flags = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        yield
    finally:
        for m, flag in flags:
            m.training = flag


def trace(model: Any, input_shape: tuple[int, ...], *, method: str = "auto") -> Graph:
    """The model's forward pass on one input of per-sample shape ``input_shape``, as a :class:`Graph`.

    ``method``: ``auto`` (torch.fx, then torch.export where fx fails), ``fx`` or ``export``.
    Raises :class:`ImportModelError` when neither can trace it, naming both reasons.
    """
    with eval_mode(model):
        failures = []
        if method in ("auto", "fx"):
            try:
                return _trace_fx(model, input_shape)
            except ArchcalcError:
                raise
            except Exception as exc:  # noqa: BLE001 - any failure of the tracer is reported, then export is tried
                failures.append(f"torch.fx: {_first_line(exc)}{_raised_at(exc)}")
        if method in ("auto", "export"):
            try:
                with _quiet():
                    graph = _trace_export(model, input_shape)
                if failures:
                    graph.notes.append(f"torch.fx could not trace it ({failures[0][len('torch.fx: '):]})")
                return graph
            except ArchcalcError:
                raise
            except Exception as exc:  # noqa: BLE001
                failures.append(f"torch.export: {_first_line(exc)}{_export_where(exc)}")
    raise ImportModelError(f"cannot trace the model: {'; '.join(failures)}",
                           hint="the forward must not branch on tensor values; sizes are fine for torch.export")


@contextmanager
def _quiet() -> Iterator[None]:
    """torch.export logs (and prints) graphs and guards while it fails; the error says what matters."""
    import logging
    import warnings

    import io
    from contextlib import redirect_stderr

    previous = logging.root.manager.disable
    logging.disable(logging.CRITICAL)
    try:
        with warnings.catch_warnings(), redirect_stderr(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        logging.disable(previous)


def _raised_at(exc: BaseException) -> str:
    """' (at file.py:12: code)': the last line of the model's own code the exception passed through."""
    import torch

    torch_dir = os.path.dirname(os.path.abspath(torch.__file__))
    found = None
    tb = exc.__traceback__
    while tb is not None:
        name = tb.tb_frame.f_code.co_filename
        if not name.startswith("<") and not name.startswith(torch_dir) and not name.startswith(_HERE):
            found = (name, tb.tb_lineno)
        tb = tb.tb_next
    src, text = _source(found)
    return f" (at {src}: {text})" if src else ""


def _export_where(exc: BaseException) -> str:
    """' at file.py:12: code' for the model line an export error names, if it names one."""
    import re

    text = str(exc)
    found = list(re.finditer(r'File "([^"]+)", line (\d+), in \w+\n\s*(.+)', text))
    if not found:
        return ""
    m = found[-1]
    return f" (at {_show_path(m.group(1))}:{m.group(2)}: {m.group(3).strip()})"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    first = next((line for line in text if line.strip()), "")
    return f"{type(exc).__name__}: {first[:300]}" if first else type(exc).__name__


# --------------------------------------------------------------------------- where the model's code called it


def _user_frame() -> tuple[str, int] | None:
    import torch

    torch_dir = os.path.dirname(os.path.abspath(torch.__file__))
    frame = sys._getframe(2)
    while frame is not None:
        name = frame.f_code.co_filename
        if not name.startswith("<") and not name.startswith(torch_dir) and not name.startswith(_HERE):
            return name, frame.f_lineno
        frame = frame.f_back
    return None


@lru_cache(maxsize=256)
def _show_path(path: str) -> str:
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return path
    return path if rel.startswith("..") else rel


def _source(where: tuple[str, int] | None) -> tuple[str | None, str | None]:
    if where is None:
        return None, None
    file, line = where
    return f"{_show_path(file)}:{line}", linecache.getline(file, line).strip() or None


# --------------------------------------------------------------------------- torch.fx


def _tracer_class() -> type:
    import torch.fx as fx

    class Tracer(fx.Tracer):
        """fx's tracer with archcalc's leaf modules and the model's source line on every node."""

        def is_leaf_module(self, m: Any, module_qualified_name: str) -> bool:
            return is_leaf(m)

        def create_node(self, kind, target, args, kwargs, name=None, type_expr=None):  # type: ignore[no-untyped-def]
            node = super().create_node(kind, target, args, kwargs, name, type_expr)
            node.meta["archcalc_source"] = _user_frame()
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


def _trace_fx(model: Any, input_shape: tuple[int, ...]) -> Graph:
    import torch
    import torch.fx as fx

    tracer = _tracer_class()()
    concrete = _concrete_args(model)
    fx_graph = tracer.trace(model, concrete_args=concrete or None)
    _propagate_shapes(tracer.root, fx_graph, model, input_shape)
    gm = tracer.root

    nodes: list[TNode] = []
    by_fx: dict[Any, TNode] = {}
    graph_input: TNode | None = None
    outputs: list[TNode] = []
    for n in fx_graph.nodes:
        src, text = _source(n.meta.get("archcalc_source"))
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
            node = TNode(len(nodes), "module", n.target, args, kwargs, shape, module=gm.get_submodule(n.target),
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
    return Graph(nodes, graph_input, _tensor_outputs(outputs), "torch.fx")


def _fetch(gm: Any, target: str) -> Any:
    obj = gm
    for part in target.split("."):
        obj = getattr(obj, part)
    return obj


def _meta_shape(meta: Any) -> tuple[int, ...] | None:
    shape = getattr(meta, "shape", None)
    return tuple(int(d) for d in shape) if shape is not None else None


def leaves(obj: Any) -> list[Any]:
    """The leaves of nested dicts, lists and tuples (a module's outputs), in order."""
    if isinstance(obj, dict):
        return [x for v in obj.values() for x in leaves(v)]
    if isinstance(obj, (list, tuple)):
        return [x for v in obj for x in leaves(v)]
    return [obj]


def _tensor_outputs(outputs: list[TNode]) -> list[TNode]:
    tensors = [o for o in outputs if o.is_tensor]
    if not tensors:
        raise ImportModelError("the model returns no tensor")
    return tensors


@contextmanager
def _meta_weights(model: Any) -> Iterator[bool]:
    """The model's parameters and buffers swapped for meta tensors of the same shapes (none copied)."""
    from torch.nn.utils.stateless import _reparametrize_module

    state = {**dict(model.named_parameters(remove_duplicate=False)),
             **dict(model.named_buffers(remove_duplicate=False))}
    if all(t.is_meta for t in state.values()):
        yield True
        return
    meta = {k: t.detach().to("meta") for k, t in state.items()}
    with _reparametrize_module(model, meta, tie_weights=True):
        yield True


def _propagate_shapes(root: Any, graph: Any, model: Any, input_shape: tuple[int, ...]) -> None:
    """Fill every node's ``tensor_meta``: shape rules on the meta device, else a forward pass on zeros
    (a model that lives on the meta device: torch's meta kernels)."""
    import torch
    import torch.fx as fx
    from torch.fx.passes.shape_prop import ShapeProp

    from .shapes import propagate

    try:
        propagate(root, graph, input_shape)
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
        with _meta_weights(gm):
            ShapeProp(gm).propagate(torch.zeros((1, *input_shape), device="meta"))


# --------------------------------------------------------------------------- torch.export


def _trace_export(model: Any, input_shape: tuple[int, ...]) -> Graph:
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
    return Graph(nodes, graph_input, _tensor_outputs(outputs), "torch.export")


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
        if not m.group(1).startswith(torch_dir) and not m.group(1).startswith(_HERE):
            found = (m.group(1), int(m.group(2)))
    return _source(found)
