"""The import pipeline: trace, map, structure, fold, write, verify.

:func:`import_spec` returns the spec text with what it was checked against; nothing is written here
(:func:`archcalc.importer.write_spec` writes it). torch is imported by the steps that need it.
"""

from __future__ import annotations

__all__ = ["ImportResult", "import_spec", "structure_of"]

import re
import textwrap
from dataclasses import dataclass
from typing import Any, Sequence

from ..errors import UsageError
from ..gcpause import collection_paused
from ..geometry import MAX_DIM
from .canonical import canonicalize
from .emit import dump
from .errors import ImportModelError
from .fold import fold
from .graph import Graph
from .mapping import Mapping, map_graph
from .naming import name_entries
from .structure import build_tree
from .trace import trace
from .tree import Entry
from .verify import Verification, verify


@dataclass(frozen=True)
class ImportResult:
    """An imported spec: its text, how the model was traced, and what the spec was checked against."""

    text: str
    name: str
    method: str  # 'torch.fx' or 'torch.export'
    input_shape: tuple[int, ...]
    verification: Verification
    notes: tuple[str, ...] = ()

    @property
    def lines(self) -> int:
        return self.text.count("\n")


@dataclass(frozen=True)
class Structure:
    """The unverified result of the first steps (for tests and tools that verify otherwise)."""

    text: str
    graph: Graph
    mapping: Mapping
    top: list[Entry]


def _input_shape(value: Any) -> tuple[int, ...]:
    try:
        shape = tuple(value)
    except TypeError:
        shape = ()
    if not 1 <= len(shape) <= 4 or any(isinstance(d, bool) or not isinstance(d, int) or not 1 <= d <= MAX_DIM
                                       for d in shape):
        raise UsageError(f"input_shape must be 1 to 4 positive integers without the batch axis, such as "
                         f"(3, 224, 224); got {value!r}")
    return shape  # type: ignore[return-value]


def _check_module(module: Any) -> None:
    import torch

    if not isinstance(module, torch.nn.Module):
        raise ImportModelError(f"expected a torch.nn.Module, got {type(module).__module__}.{type(module).__name__}")


def structure_of(module: Any, *, input_shape: Sequence[int], name: str | None = None, method: str = "auto",
                 source: str | None = None) -> Structure:
    """Trace, map, structure and fold ``module``: the spec text before verification."""
    _check_module(module)
    shape = _input_shape(input_shape)
    with collection_paused():
        return _structure(module, shape, name, method, source)


def _structure(module: Any, shape: tuple[int, ...], name: str | None, method: str, source: str | None) -> Structure:
    graph = trace(module, shape, method=method)
    mapping = map_graph(graph)
    top = build_tree(mapping)
    name_entries(top, dict(module.named_modules()))
    canonicalize(top)
    layers, blocks = fold(top)
    doc: dict[str, Any] = {"name": name or type(module).__name__}
    if source:
        doc["source"] = f"imported from {source}"
    doc.update({"input": list(shape), "blocks": blocks, "layers": layers})
    return Structure(dump(doc, []), graph, mapping, top)


def import_spec(module: Any, *, input_shape: Sequence[int], name: str | None = None, target: str | None = None,
                method: str = "auto") -> ImportResult:
    """The spec of ``module`` on inputs of per-sample shape ``input_shape``, verified (see :mod:`.verify`).

    ``target`` (``torchvision.models:resnet50``) is recorded in the spec; ``method``: ``auto`` (torch.fx,
    then torch.export where fx fails), ``fx`` or ``export``.
    """
    found = structure_of(module, input_shape=input_shape, name=name, method=method, source=target)
    shape = _input_shape(input_shape)
    with collection_paused():  # fvcore's trace graph is many small objects, as fx's is
        checked = verify(found.text, top=found.top, mapping=found.mapping, model=module, input_shape=shape)
    name = name or type(module).__name__
    what = target or f"an instance of {type(module).__name__}"
    header = _header(name, what, found.graph, shape, checked, found.text)
    return ImportResult(header + found.text, name, found.graph.method, shape, checked, tuple(found.graph.notes))


def _shape(shape: Sequence[int]) -> str:
    return "x".join(str(d) for d in shape)


def _header(name: str, what: str, graph: Graph, shape: tuple[int, ...], v: Verification, body: str) -> str:
    """The comment that says where the spec came from and what it was checked against (no dates, no
    versions: the same model gives the same bytes)."""
    tracer = "torch.fx symbolic trace" if graph.method == "torch.fx" else "torch.export (torch.fx could not trace it)"
    outs = ", ".join(str(list(o)) for o in v.output_shapes)
    rules = ", ".join(f"{k} {d:+,}" for k, (_, d) in sorted(v.rules.items()))
    paragraphs = [
        f"{name}: imported from {what} by `archcalc import` ({tracer}), input {_shape(shape)}.",
        f"Checked against the live module before writing: {v.params:,} parameters (all of them), "
        f"output{'s' if len(v.output_shapes) > 1 else ''} {outs}, {v.rows} rows (each one's kind, shape and "
        f"parameters), and every module's MACs equal to fvcore's FlopCountAnalysis.by_module() at input "
        f"{_shape(v.fvcore_input)}: fvcore {v.fvcore_total:,} = the spec's {v.fvcore_macs:,} MACs"
        + (f" + the named rules {rules}." if rules else "."),
        f"At input {_shape(shape)} the spec counts {v.macs:,} MACs.",
    ]
    bits = []
    if re.search(r"name: _\d", body):
        bits.append("`_3` is child 3 of a Sequential or ModuleList")
    if "repeat:" in body:
        bits.append("a repeat's block1, block2... are its modules in order (`layer1.block2` is `layer1.1`)")
    if re.search(r"name: [^,}\n]*\d-\d", body):
        bits.append("`_2-3` is the run of modules 2 to 3")
    if bits:
        paragraphs.append("Row names are the module paths: " + "; ".join(bits) + ".")
    lines: list[str] = []
    for text in paragraphs:
        lines.extend(textwrap.wrap(text, width=110, break_long_words=False, break_on_hyphens=False))
    return "".join(f"# {line}\n" for line in lines)
