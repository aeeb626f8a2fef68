"""Check an imported spec against the live module before anything is written.

The spec text is loaded and analyzed like any other spec, and every analyzer row is paired with the
traced node it came from (the rows are in the order :func:`archcalc.importer.tree.row_nodes` says).
Then:

* **rows** -- each row has its node's kind, output shape and parameter count;
* **parameters** -- the spec's total is ``sum(p.numel() for p in model.parameters())`` (a parameter no
  traced operation reads, such as a training-only head, is a disagreement and is named);
* **output** -- the spec's output shape (and its side heads') is that of the traced forward pass and of a
  real forward pass of the module;
* **MACs** -- fvcore's ``FlopCountAnalysis.by_module()`` count of every module of the model equals the
  sum, over the rows whose node ran inside that module, of the row's MACs plus the named reconciliation
  rules of its kind (:data:`archcalc.torch.fvcore.RULES`); every operator fvcore could not count is
  expected by one of those rows' rules. The count runs at a reduced input (32, else 64 per spatial axis)
  when the spec has the same parameters and output shape there (a network that ends in global pooling,
  whose layers do not depend on the input size), which checks the same definition at a fraction of
  the cost; otherwise at the spec's own input.

Any disagreement raises :class:`~archcalc.importer.errors.VerificationError`; nothing is written.
"""

from __future__ import annotations

__all__ = ["Verification", "verify", "IMPORT_RULES", "KIND_RULES"]

from dataclasses import dataclass, field
from typing import Any, Iterator

from ..analysis import Analysis, analyze
from ..errors import ArchcalcError
from ..kinds import FvcoreRule, kind_of
from ..spec import Spec, parse_spec
from .errors import VerificationError
from .mapping import Mapping
from .tree import Entry, row_nodes

MEAN_NOT_COUNTED = FvcoreRule(
    "mean_not_counted", "global average pooling written as x.mean(dims): fvcore has no handle for aten::mean "
    "(it counts adaptive_avg_pool2d, not mean); archcalc counts the reads as ops", ops=r"aten::mean")
IMPORT_RULES: dict[str, FvcoreRule] = {"mean": MEAN_NOT_COUNTED}
"""Rules for rows whose torch operation fvcore counts differently from the kind's usual one, by that operation."""

DROPOUT_IN_PLACE = FvcoreRule(
    "dropout_in_place", "nn.Dropout(inplace=True) traces as aten::dropout_, which fvcore neither counts nor "
    "ignores (it ignores aten::dropout); the identity at inference, no arithmetic in either count",
    ops=r"aten::(feature_|alpha_|feature_alpha_)?dropout_?")
KIND_RULES: dict[str, tuple[FvcoreRule, ...]] = {"dropout": (DROPOUT_IN_PLACE,)}
"""Rules the importer adds to a kind's own, for torch operations only imported models run."""

REDUCED = (32, 64)
"""The reduced inputs tried in turn (per spatial axis), before the spec's own."""


@dataclass(frozen=True)
class Verification:
    """What the imported spec was checked against."""

    params: int
    output_shapes: tuple[tuple[int, ...], ...]
    rows: int
    macs: int  # at the spec's input
    fvcore_input: tuple[int, ...]
    fvcore_total: int
    fvcore_macs: int  # the spec's MACs at fvcore's input
    rules: dict[str, tuple[int, int]] = field(default_factory=dict)  # rule -> (rows, flops it accounts for)
    modules_checked: int = 0


def _fail(message: str, hint: str | None = None) -> VerificationError:
    return VerificationError(f"the imported spec does not match the model: {message}", hint=hint)


def verify(text: str, *, top: list[Entry], mapping: Mapping, model: Any, input_shape: tuple[int, ...],
           analysis: Analysis | None = None, count_macs: bool = True) -> Verification:
    """Check ``text`` (the spec) against ``model`` (see the module docstring).

    ``count_macs=False`` leaves out fvcore's count (the only check that needs real weights: a model on
    the meta device can be checked for everything else); :func:`archcalc.import_model` always counts.
    """
    spec = None
    try:
        if analysis is None or count_macs:
            spec = parse_spec(text)
            analysis = analysis or analyze(spec)
    except ArchcalcError as exc:
        raise _fail(f"the spec does not load: {exc}") from None
    assert analysis is not None
    rows = row_nodes(top)
    _check_rows(analysis, rows, mapping)
    params = sum(p.numel() for p in model.parameters())
    if analysis.totals.params != params:
        raise _fail(f"the spec has {analysis.totals.params:,} parameters, the model {params:,}"
                    f"{_unused_params(model, mapping)}",
                    hint="build the model without the modules its forward pass does not use "
                         "(e.g. --arg aux_logits=false)")
    outputs = (tuple(analysis.output_shape),) + tuple(g.output_shape for g in analysis.groups if g.type == "side")
    if sorted(outputs) != sorted(tuple(s) for s in mapping.output_shapes):
        raise _fail(f"the spec's outputs are {[list(o) for o in outputs]}, the traced model's "
                    f"{[list(s) for s in mapping.output_shapes]}")
    if not count_macs:
        return Verification(params=params, output_shapes=outputs, rows=len(analysis.layers), macs=analysis.totals.macs,
                            fvcore_input=(), fvcore_total=0, fvcore_macs=0)
    assert spec is not None
    return _check_fvcore(spec, analysis, rows, mapping, model, input_shape, params, outputs)


def _check_rows(analysis: Analysis, rows: list[tuple[int, str]], mapping: Mapping) -> None:
    if len(rows) != len(analysis.layers):
        raise _fail(f"the spec has {len(analysis.layers)} rows, the model's operations make {len(rows)}")
    by_node: dict[int, int] = {}
    last_row: dict[int, Any] = {}
    for row, (node, kind) in zip(analysis.layers, rows):
        if row.type != kind:
            raise _fail(f"row {row.name} is a {row.type}, the model's operation there "
                        f"({mapping.ops[node].node.where()}) "
                        f"a {kind}")
        by_node[node] = by_node.get(node, 0) + row.params
        last_row[node] = row
    for node, row in last_row.items():
        op = mapping.ops[node]
        if tuple(row.output_shape) != tuple(op.out_shape):
            raise _fail(f"row {row.name} gives {list(row.output_shape)}, {op.node.where()} gives {list(op.out_shape)}")
        if by_node[node] != op.params:
            raise _fail(f"row {row.name} has {by_node[node]:,} parameters, {op.node.where()} {op.params:,}")


def _unused_params(model: Any, mapping: Mapping) -> str:
    used = {op.node.target for op in mapping.ops.values() if op.node.op == "module"}
    unused = []
    for name, m in model.named_modules():
        own = sum(p.numel() for p in m.parameters(recurse=False))
        if own and name not in used and not any(name == u or name.startswith(u + ".") for u in used):
            unused.append((name, own))
    if not unused:
        return ""
    tops: dict[str, int] = {}
    for name, n in unused:
        head = name.split(".")[0] if name else name
        tops[head] = tops.get(head, 0) + n
    listing = ", ".join(f"{k or '<model>'} ({v:,})" for k, v in list(tops.items())[:8])
    return f"; parameters the traced forward pass never reads: {listing}"


# --------------------------------------------------------------------------- fvcore


def _module_of(op: Any) -> str:
    node = op.node
    return node.target if node.op == "module" else node.scope


def _rules_for(row: Any, op: Any) -> tuple[FvcoreRule, ...]:
    if op.via in IMPORT_RULES:
        return (IMPORT_RULES[op.via],)
    kind = kind_of(row.type)
    return (*(kind.fvcore if kind is not None else ()), *KIND_RULES.get(row.type, ()))


def _reduced_specs(spec: Spec, analysis: Analysis) -> Iterator[tuple[Spec, Analysis]]:
    """The spec at each reduced input where it keeps its parameters and output shapes, smallest first."""
    spatial = spec.input_shape[1:]
    side = lambda a: [g.output_shape for g in a.groups if g.type == "side"]  # noqa: E731
    for size in REDUCED:
        if not spatial or all(s <= size for s in spatial):
            return
        try:
            small = spec.at_resolution([min(s, size) for s in spatial])
            small_analysis = analyze(small)
        except ArchcalcError:
            continue
        if (small_analysis.totals.params == analysis.totals.params and small_analysis.output_shape == analysis.output_shape
                and side(small_analysis) == side(analysis)):
            yield small, small_analysis


def _check_fvcore(spec: Spec, analysis: Analysis, rows: list[tuple[int, str]], mapping: Mapping, model: Any,
                  input_shape: tuple[int, ...], params: int, outputs: tuple[tuple[int, ...], ...]) -> Verification:
    import importlib.util

    if importlib.util.find_spec("fvcore") is None:
        raise VerificationError("verifying the imported spec needs fvcore, which is not installed",
                                hint="pip install 'archcalc[torch]'")
    from .live import model_device

    if model_device(model).type == "meta":
        raise VerificationError("the model is on the meta device: its MACs cannot be counted by fvcore to verify "
                                "the spec", hint="build the model on the CPU (or GPU) to import it")
    for at_spec, at_analysis in _reduced_specs(spec, analysis):
        try:
            return _fvcore_once(at_spec, at_analysis, rows, mapping, model, params, outputs, analysis)
        except VerificationError as exc:
            if not _model_fails_small(exc):
                raise
    return _fvcore_once(spec, analysis, rows, mapping, model, params, outputs, analysis)


def _model_fails_small(exc: VerificationError) -> bool:
    return getattr(exc, "retry_full", False)


def _fvcore_once(spec: Spec, analysis: Analysis, rows: list[tuple[int, str]], mapping: Mapping, model: Any,
                 params: int, full_outputs: tuple[tuple[int, ...], ...], full: Analysis) -> Verification:
    import torch

    from ..torch.fvcore import count_by_module
    from .live import eval_mode, leaves, model_device

    device = model_device(model)
    x = torch.zeros((1, *spec.input_shape), device=device)
    seen: list[tuple[tuple[int, ...], ...]] = []

    def hook(module: Any, inputs: Any, output: Any) -> None:
        tensors = [o for o in leaves(output) if isinstance(o, torch.Tensor)]
        seen.append(tuple(tuple(t.shape[1:]) for t in tensors))

    names = [name for name, _ in model.named_modules()]
    handle = model.register_forward_hook(hook)
    try:
        with eval_mode(model), torch.no_grad():
            counts, unsupported = count_by_module(model, x, names)
    except (RuntimeError, ValueError, TypeError) as exc:
        err = VerificationError(f"fvcore could not run the model on a {list(spec.input_shape)} input: "
                                f"{str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__}")
        err.retry_full = True  # type: ignore[attr-defined]
        raise err from None
    finally:
        handle.remove()
    outputs = (tuple(analysis.output_shape),) + tuple(g.output_shape for g in analysis.groups if g.type == "side")
    if seen and sorted(seen[0]) != sorted(outputs):
        err = _fail(f"a forward pass of the module on a {list(spec.input_shape)} input returns "
                    f"{[list(s) for s in seen[0]]}, the spec {[list(o) for o in outputs]}")
        err.retry_full = True  # type: ignore[attr-defined]
        raise err

    expected: dict[str, int] = {}
    allowed: dict[str, list[FvcoreRule]] = {}
    applied: dict[str, tuple[int, int]] = {}
    macs = 0
    for row, (node, _) in zip(analysis.layers, rows):
        op = mapping.ops[node]
        rules = _rules_for(row, op)
        deltas = {r.name: r.delta(row) for r in rules}
        value = row.macs + sum(deltas.values())
        macs += row.macs
        module = _module_of(op)
        for r in rules:
            if deltas[r.name]:
                n, d = applied.get(r.name, (0, 0))
                applied[r.name] = (n + 1, d + deltas[r.name])
        parts = module.split(".") if module else []
        for i in range(len(parts) + 1):
            scope = ".".join(parts[:i])
            expected[scope] = expected.get(scope, 0) + value
            allowed.setdefault(scope, []).extend(rules)
        for other in op.absorbed:  # e.g. nn.ZeroPad2d before the convolution: its aten::pad is the row's
            where = other.target if other.op == "module" else other.scope
            allowed.setdefault(where, []).extend(rules)
    wrong = []
    for scope, count in counts.items():
        if count != expected.get(scope, 0):
            wrong.append((scope, count, expected.get(scope, 0)))
    if wrong:
        wrong.sort(key=lambda w: (-w[0].count("."), w[0]))
        listing = "; ".join(f"{s or '<model>'}: fvcore {c:,}, spec {e:,}" for s, c, e in wrong[:6])
        raise _fail(f"fvcore's count differs from the spec's MACs and the rules in {len(wrong)} module(s) at input "
                    f"{list(spec.input_shape)}: {listing}")
    for scope, ops in unsupported.items():
        for op_name in ops:
            if not any(r.expects(op_name) for r in allowed.get(scope, [])):
                raise _fail(f"fvcore could not count {op_name} in {scope or '<model>'}, and no rule of the rows there "
                            "expects it")
    return Verification(params=params, output_shapes=full_outputs, rows=len(analysis.layers), macs=full.totals.macs,
                        fvcore_input=tuple(spec.input_shape), fvcore_total=int(counts.get("", 0)), fvcore_macs=macs,
                        rules=applied, modules_checked=len(counts))

