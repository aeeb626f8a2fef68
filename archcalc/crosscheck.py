"""Cross-check the static analysis against the real network: build it, run it, count it with fvcore.

For one spec, :func:`crosscheck` builds the torch model (:mod:`archcalc.torch_build`, one module
per analyzer row) and compares, row by row:

a. **shapes** -- the output shape each module really produces (forward hooks; CPU, batch 1,
   eval mode, ``torch.no_grad``) with the analyzer's;
b. **params** -- each row's and group's parameter count with its module's ``numel`` (and the totals);
c. **MACs** -- fvcore's ``FlopCountAnalysis.by_module()`` with the analyzer's MACs. fvcore counts
   one multiply-add as one flop, ignores bias, and uses its own conventions for a few other ops;
   every such difference is reconciled by a named :class:`Rule` (see :data:`RULES`), which also
   says which of fvcore's *unsupported* operators it expects in that row. A difference no rule
   explains, or an unsupported operator no rule expects, is a failure;
d. **reference** -- when the spec names a ``reference_model`` (``torchvision.models.resnet50``,
   ``timm.resnet50``) and that package is importable: total parameters and the output shape of
   each of the reference's top-level stages.

Torch and fvcore are imported inside the functions that need them; results are plain data
(:class:`CrossCheck`), rendered by :func:`render_table` and :func:`to_dict`.
"""

from __future__ import annotations

__all__ = ["crosscheck", "CrossCheck", "ShapeRow", "ParamRow", "FlopRow", "ReferenceCheck", "Rule", "RULES",
           "CrossCheckError", "missing_dependencies", "INSTALL_HINT", "fast_resolution", "reference_check",
           "render_table", "to_dict"]

import importlib
import importlib.util
import logging
import math
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from .analysis import Analysis, analyze
from .errors import ArchcalcError, Location
from .spec import Spec, load_spec
from .spec.layers import ACTIVATION_KINDS

INSTALL_HINT = "pip install 'archcalc[torch]'"


def missing_dependencies() -> list[str]:
    """The packages crosscheck needs that are not importable (torch, fvcore)."""
    return [name for name in ("torch", "fvcore") if importlib.util.find_spec(name) is None]


# --------------------------------------------------------------------------- reconciliation rules


def _numel(shape: tuple[int, ...]) -> int:
    return math.prod(shape)


def _spatial_rank(shape: tuple[int, ...]) -> int:
    return len(shape) - 1


@dataclass(frozen=True)
class Rule:
    """One known difference between fvcore's count and the analyzer's MACs.

    ``kinds``: the row types it applies to. ``delta(row)``: fvcore's count minus the analyzer's
    MACs for that row (per sample; scaled by the batch). ``ops``: the fvcore-unsupported
    operators (regular expression, full match) it expects in such a row.
    """

    name: str
    explanation: str
    kinds: frozenset[str]
    delta: Callable[[Any], int] = lambda row: 0
    ops: str | None = None

    def expects(self, op: str) -> bool:
        return self.ops is not None and re.fullmatch(self.ops, op) is not None


def _bn_delta(row: Any) -> int:
    return _numel(row.input_shape) * (2 if row.params else 1)


def _pool2d_delta(row: Any) -> int:
    return _numel(row.input_shape) if _spatial_rank(row.input_shape) == 2 else 0


def _upsample_delta(row: Any) -> int:
    if _spatial_rank(row.input_shape) != 2:
        return 0
    return _numel(row.output_shape) * (1 if row.attrs.get("mode", "nearest") == "nearest" else 4)


_ELEMENTWISE_OPS = r"aten::(hardtanh|leaky_relu|elu|gelu|sigmoid|tanh|hardswish|hardsigmoid|silu|mish)_?"

RULES: tuple[Rule, ...] = (
    Rule("batchnorm_eval",
         "fvcore counts eval-mode batch norm as 2 flops per element (1 without affine); archcalc counts "
         "those as ops, not MACs",
         frozenset({"batchnorm"}), _bn_delta),
    Rule("adaptive_avg_pool2d",
         "fvcore counts adaptive_avg_pool2d as 1 flop per input element (the 1-D and 3-D ops are "
         "unsupported); archcalc counts pooling reads as ops, not MACs",
         frozenset({"adaptive_avgpool", "global_avgpool"}), _pool2d_delta, r"aten::adaptive_avg_pool[13]d"),
    Rule("se_squeeze",
         "squeeze-excite: fvcore adds its squeeze (adaptive_avg_pool2d, 1 flop per input element) and "
         "cannot count the gate and rescale; the two 1x1 convolutions agree",
         frozenset({"se"}), _pool2d_delta, rf"aten::adaptive_avg_pool[13]d|aten::mul|{_ELEMENTWISE_OPS}"),
    Rule("upsample_interpolation",
         "fvcore counts upsample_nearest2d as 1 and upsample_bilinear2d as 4 flops per output element "
         "(other ranks unsupported); archcalc counts interpolation as ops",
         frozenset({"upsample"}), _upsample_delta, r"aten::upsample_\w+"),
    Rule("pooling_not_counted",
         "fvcore has no handle for max/avg pooling; archcalc counts pooling window reads as ops",
         frozenset({"maxpool", "avgpool", "adaptive_maxpool"}), ops=r"aten::(max_pool|avg_pool|adaptive_max_pool)[123]d"
         r"|aten::pad|aten::mul"),
    Rule("elementwise_not_counted",
         "fvcore ignores relu and cannot count other activations or the residual add; archcalc counts "
         "them as 1 op per element, not MACs",
         frozenset({*ACTIVATION_KINDS, "add"}), ops=rf"{_ELEMENTWISE_OPS}|aten::add_?"),
    Rule("softmax_not_counted", "fvcore cannot count softmax; archcalc counts 3 ops per element",
         frozenset({"softmax"}), ops=r"aten::softmax"),
    Rule("lrn_not_counted",
         "torch's LocalResponseNorm is pad/pow/avg_pool/mul/add/div, none of which fvcore counts; "
         "archcalc counts size + 3 ops per element",
         frozenset({"lrn"}), ops=r"aten::(pad|pow|avg_pool[123]d|mul|add|div)"),
    Rule("explicit_padding",
         "asymmetric padding (TensorFlow SAME) and the zero-padding shortcut are copies (aten::pad), "
         "no arithmetic in either count",
         frozenset({"conv", "zeropad"}), ops=r"aten::pad"),
)
"""Every reconciliation between fvcore and the analyzer, by name. Conv, transposed conv and
linear layers need none: both count ``batch * out elements * (c_in/groups) * kernel`` (transposed:
per input element), both ignore the bias."""

_RULES_BY_KIND: dict[str, list[Rule]] = {}
for _rule in RULES:
    for _kind in _rule.kinds:
        _RULES_BY_KIND.setdefault(_kind, []).append(_rule)


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class ShapeRow:
    name: str
    type: str
    analyzer: tuple[int, ...]
    torch: tuple[int, ...] | None  # None: the module never ran

    @property
    def ok(self) -> bool:
        return self.analyzer == self.torch


@dataclass(frozen=True)
class ParamRow:
    name: str
    type: str
    analyzer: int
    torch: int

    @property
    def ok(self) -> bool:
        return self.analyzer == self.torch


@dataclass(frozen=True)
class FlopRow:
    """One leaf row: analyzer MACs, what fvcore should count after the rules, what it counted."""

    name: str
    type: str
    analyzer_macs: int
    fvcore: int
    expected: int
    rules: tuple[str, ...]
    deltas: tuple[int, ...]  # what each rule adds to the MACs, in the order of ``rules``
    unsupported: dict[str, int] = field(default_factory=dict)
    unexplained_ops: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.fvcore == self.expected and not self.unexplained_ops


@dataclass(frozen=True)
class ReferenceCheck:
    """The spec against a reference implementation (torchvision / timm)."""

    model: str
    status: str  # "ok", "failed", "skipped"
    reason: str = ""
    params: int | None = None  # parameters of the reference modules an eval forward pass uses
    params_total: int | None = None  # all of its parameters (auxiliary heads included)
    output_shape: tuple[int, ...] | None = None
    stages: tuple[tuple[str, tuple[int, ...], bool], ...] = ()  # (module, output shape, found in the spec)

    @property
    def ok(self) -> bool:
        return self.status != "failed"


@dataclass(frozen=True)
class CrossCheck:
    """Everything :func:`crosscheck` compared for one spec."""

    name: str
    path: str | None
    input_shape: tuple[int, ...]
    resolution_note: str | None
    shapes: tuple[ShapeRow, ...]
    params: tuple[ParamRow, ...]
    params_total: ParamRow
    flops: tuple[FlopRow, ...]
    fvcore_total: int
    fvcore_outside_rows: int  # fvcore's count in no analyzer row's module (should be 0)
    unsupported_outside_rows: dict[str, int]
    analyzer_macs: int
    reference: ReferenceCheck | None
    error: str | None = None  # the torch model could not run (then MACs are not compared)

    @property
    def shapes_ok(self) -> bool:
        return all(r.ok for r in self.shapes)

    @property
    def params_ok(self) -> bool:
        return self.params_total.ok and all(r.ok for r in self.params)

    @property
    def flops_ok(self) -> bool:
        return all(r.ok for r in self.flops) and not self.fvcore_outside_rows and not self.unsupported_outside_rows

    @property
    def ok(self) -> bool:
        return (self.error is None and self.shapes_ok and self.params_ok and self.flops_ok
                and (self.reference is None or self.reference.ok))

    def rules_applied(self) -> dict[str, tuple[int, int]]:
        """Rule name -> (rows it reconciled, total flops it accounts for)."""
        out: dict[str, tuple[int, int]] = {}
        for row in self.flops:
            for name, delta in zip(row.rules, row.deltas):
                n, d = out.get(name, (0, 0))
                out[name] = (n + 1, d + delta)
        return out


# --------------------------------------------------------------------------- the check


def fast_resolution(path: str | Path, *, params: dict[str, Any] | None = None, target: int = 64) -> list[int] | None:
    """A smaller input resolution that leaves the network's definition unchanged, or ``None``.

    Every spatial axis larger than ``target`` is reduced to ``target``; the reduction is allowed
    when the spec still analyzes, the output shape and the parameter count are the same and the
    cost is lower (networks that end in global pooling). Parameters never depend on the input
    size in such a network, so checking at the reduced size checks the full definition.
    """
    full = analyze(load_spec(path, params=params))
    spatial = full.input_shape[1:]
    reduced = [min(s, target) for s in spatial]
    if reduced == list(spatial):
        return None
    try:
        small = analyze(load_spec(path, params=params, scale={"resolution": reduced}))
    except ArchcalcError:
        return None
    if (small.output_shape != full.output_shape or small.totals.params != full.totals.params
            or small.totals.macs >= full.totals.macs):
        return None
    return reduced


def crosscheck(spec: Spec, *, analysis: Analysis | None = None, reference: bool = True,
               resolution_note: str | None = None, threads: int | None = 1, allow_large: bool = False) -> CrossCheck:
    """Build ``spec``, run it once, count it with fvcore, and compare every row (see module doc).

    The spec is analyzed first (no torch); a network whose predicted memory (parameters + input +
    every layer output + the largest convolution's workspace, batch 1, float32) exceeds the machine's available memory is refused with
    :class:`~archcalc.bench.memory.MemoryLimitError` before anything is allocated, unless
    ``allow_large``. A model that cannot be built or allocated, or that runs out of memory, raises
    :class:`CrossCheckError`; a model that builds but fails in its forward pass for another reason
    is a disagreement (``CrossCheck.error``).

    ``threads``: torch's intra-op threads while checking (restored afterwards). One thread is the
    default: batch-1 tensors gain nothing from more, and on a busy machine several threads per
    process make the pass many times slower. ``None`` keeps torch's setting.
    """
    from .bench.memory import check_fits

    analysis = analysis if analysis is not None else analyze(spec, batch_size=1)
    if analysis.batch_size != 1:
        raise ValueError("crosscheck runs batch 1; analyze with batch_size=1")
    if not allow_large:
        check_fits(analysis, device="cpu", path=str(spec.path) if spec.path else None)

    import torch

    saved = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        return _crosscheck(spec, analysis=analysis, reference=reference, resolution_note=resolution_note)
    finally:
        torch.set_num_threads(saved)


class CrossCheckError(ArchcalcError):
    """The torch model could not be built, allocated or run out of memory (not a disagreement)."""


def _is_oom(exc: BaseException) -> bool:
    from .bench.runner import is_oom

    return is_oom(exc)


def _resource_error(spec: Spec, analysis: Analysis, what: str, exc: BaseException) -> CrossCheckError:
    from .bench.memory import GIB, predicted_peak_bytes

    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    why = "ran out of memory" if _is_oom(exc) else "failed"
    return CrossCheckError(f"{what} {why}: {first} (predicted peak {predicted_peak_bytes(analysis) / GIB:,.2f} GiB, "
                           f"parameters + activations, batch 1)", Location(file=str(spec.path) if spec.path else None))


def _crosscheck(spec: Spec, *, analysis: Analysis, reference: bool, resolution_note: str | None) -> CrossCheck:
    import torch

    from .torch_build import build_model, iter_row_modules

    try:
        model = build_model(spec, analysis=analysis).eval()
        x = torch.zeros((1, *spec.input_shape))
    except ArchcalcError:
        raise
    except (RuntimeError, MemoryError, ValueError, OverflowError) as exc:
        raise _resource_error(spec, analysis, "building the torch model and its input", exc) from None
    modules = dict(iter_row_modules(model))
    leaf_names = {r.name for r in analysis.layers}

    # a. shapes, by forward hooks on every row's module
    seen: dict[str, tuple[int, ...]] = {}
    entered: list[str] = []
    handles = [m.register_forward_hook(_shape_hook(seen, name)) for name, m in modules.items()]
    handles += [modules[n].register_forward_pre_hook(lambda m, i, n=n: entered.append(n)) for n in leaf_names]
    error = None
    try:
        with torch.no_grad():
            model(x)
    except (RuntimeError, MemoryError) as exc:
        if _is_oom(exc):  # not a disagreement: this machine is too small for the network
            raise _resource_error(spec, analysis, "the forward pass", exc) from None
        # the analyzer accepted a network torch cannot run: a disagreement
        where = next((n for n in reversed(entered) if n not in seen), None)
        error = f"the forward pass failed{f' in layer {where}' if where else ''}: {str(exc).splitlines()[0]}"
    finally:
        for h in handles:
            h.remove()
    all_rows = (*analysis.layers, *analysis.groups)
    shapes = tuple(ShapeRow(r.name, r.type, tuple(r.output_shape), seen.get(r.name)) for r in all_rows)

    # b. params
    params = tuple(ParamRow(r.name, r.type, r.params, sum(p.numel() for p in modules[r.name].parameters()))
                   for r in all_rows)
    params_total = ParamRow("total", "model", analysis.totals.params, sum(p.numel() for p in model.parameters()))

    # c. fvcore (only for a network that runs)
    counts: dict[str, int] = {}
    unsupported: dict[str, dict[str, int]] = {}
    if error is None:
        try:
            counts, unsupported = _fvcore(model, x, list(modules))
        except (RuntimeError, MemoryError) as exc:  # fvcore traces the model: a second forward pass
            raise _resource_error(spec, analysis, "fvcore's trace of the model", exc) from None
    flops = tuple(_flop_row(r, counts.get(r.name, 0), unsupported.get(r.name, {})) for r in analysis.layers)
    total = counts.get("", 0)
    outside = total - sum(counts.get(n, 0) for n in leaf_names)
    root_ops = dict(unsupported.get("", {}))
    for n in leaf_names:
        for op, k in unsupported.get(n, {}).items():
            root_ops[op] = root_ops.get(op, 0) - k
    ref = reference_check(spec.reference_model, analysis) if (reference and spec.reference_model) else None
    return CrossCheck(
        name=spec.name, path=str(spec.path) if spec.path else None, input_shape=tuple(spec.input_shape),
        resolution_note=resolution_note, shapes=shapes, params=params, params_total=params_total, flops=flops,
        fvcore_total=int(total), fvcore_outside_rows=int(outside),
        unsupported_outside_rows={op: k for op, k in root_ops.items() if k},
        analyzer_macs=analysis.totals.macs, reference=ref, error=error)


def _shape_hook(seen: dict[str, tuple[int, ...]], name: str) -> Callable[..., None]:
    def hook(module: Any, inputs: Any, output: Any) -> None:
        seen[name] = tuple(output.shape[1:])
    return hook


def _fvcore(model: Any, x: Any, names: list[str]) -> tuple[dict[str, int], dict[str, dict[str, int]]]:
    """fvcore's per-module flop counts and unsupported operators, quietly."""
    with warnings.catch_warnings():  # fvcore.nn scripts functions with torch.jit at import
        warnings.filterwarnings("ignore", message=r".*torch\.jit.* is deprecated", category=DeprecationWarning)
        from fvcore.nn import FlopCountAnalysis

    analysis = FlopCountAnalysis(model, x)
    analysis.unsupported_ops_warnings(False)
    analysis.uncalled_modules_warnings(False)
    analysis.tracer_warnings("none")
    fv_logger = logging.getLogger("fvcore")
    level = fv_logger.level
    fv_logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            # fvcore traces with torch.jit, which newer torch releases deprecate: fvcore's business
            warnings.filterwarnings("ignore", message=r".*torch\.jit.* is deprecated", category=DeprecationWarning)
            by_module = analysis.by_module()
        unsupported = {n: dict(analysis.unsupported_ops(n)) for n in ["", *names]}
    finally:
        fv_logger.setLevel(level)
    return {k: int(v) for k, v in by_module.items()}, unsupported


def _flop_row(row: Any, fvcore: int, unsupported: dict[str, int]) -> FlopRow:
    rules = _RULES_BY_KIND.get(row.type, [])
    applied = [r for r in rules if r.delta(row) or any(r.expects(op) for op in unsupported)]
    deltas = tuple(r.delta(row) for r in applied)  # batch 1
    unexplained = tuple(op for op in unsupported if not any(r.expects(op) for r in rules))
    return FlopRow(row.name, row.type, row.macs, fvcore, row.macs + sum(deltas), tuple(r.name for r in applied),
                   deltas, dict(unsupported), unexplained)


# --------------------------------------------------------------------------- reference implementation


def _make_reference(name: str) -> Any:
    """``torchvision.models.resnet50`` -> ``resnet50(weights=None)``; ``timm.<model>`` ->
    ``timm.create_model(<model>, pretrained=False)``. Raises ImportError when the package is absent."""
    package = name.split(".", 1)[0]
    if importlib.util.find_spec(package) is None:
        raise ImportError(f"{package} is not installed")
    if package == "timm":
        import timm  # type: ignore[import-not-found]

        return timm.create_model(name.rsplit(".", 1)[-1], pretrained=False)
    module_name, _, attr = name.rpartition(".")
    if not module_name:
        raise ArchcalcError(f"reference_model {name!r} should be a dotted path such as torchvision.models.resnet50")
    factory = getattr(importlib.import_module(module_name), attr, None)
    if factory is None:
        raise ArchcalcError(f"reference_model {name!r}: {module_name} has no {attr!r}")
    try:
        return factory(weights=None)
    except TypeError:  # torchvision < 0.13 and plain constructors
        return factory()


def reference_check(name: str, analysis: Analysis) -> ReferenceCheck:
    """Compare ``analysis`` with the reference model ``name`` (skipped when its package is absent).

    Parameters: the reference's modules that an eval forward pass runs must hold exactly the
    analyzer's total (auxiliary heads that only run in training, as in GoogLeNet and Inception v3,
    are reported in ``params_total`` but not compared). Stages: the output shape of each top-level
    child of the reference must appear, in order, among the analyzer's layer output shapes, and
    the final outputs must agree.
    """
    import torch

    try:
        model = _make_reference(name)
    except ImportError as exc:
        return ReferenceCheck(name, "skipped", str(exc))
    model.eval()
    called: set[int] = set()
    stages: list[tuple[str, tuple[int, ...]]] = []
    handles = [m.register_forward_hook(lambda mod, i, o: called.add(id(mod))) for m in model.modules()]
    for child_name, child in model.named_children():
        handles.append(child.register_forward_hook(_stage_hook(stages, child_name)))
    try:
        with torch.no_grad():
            out = model(torch.zeros((1, *analysis.input_shape)))
    except (RuntimeError, MemoryError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        if _is_oom(exc):
            raise CrossCheckError(f"reference model {name}: ran out of memory: {first}") from None
        return ReferenceCheck(name, "failed", f"the reference's forward pass failed: {first}")
    finally:
        for h in handles:
            h.remove()
    used = sum(p.numel() for m in model.modules() if id(m) in called for p in m.parameters(recurse=False))
    total = sum(p.numel() for p in model.parameters())
    if isinstance(out, (tuple, list)):  # (logits, aux heads...)
        out = out[0]
    out_shape = tuple(out.shape[1:]) if isinstance(out, torch.Tensor) else None
    # consecutive equal shapes (conv, bn, relu) are one stage
    distinct = [s for i, s in enumerate(stages) if i == 0 or s[1] != stages[i - 1][1]]
    spec_shapes = [tuple(r.output_shape) for r in analysis.layers]
    found: list[tuple[str, tuple[int, ...], bool]] = []
    pos = 0
    for stage_name, shape in distinct:
        try:
            pos = spec_shapes.index(shape, pos) + 1
            found.append((stage_name, shape, True))
        except ValueError:
            found.append((stage_name, shape, False))
    problems = []
    if used != analysis.totals.params:
        problems.append(f"params {used:,} (reference, used in eval) vs {analysis.totals.params:,} (spec)")
    if out_shape != tuple(analysis.output_shape):
        problems.append(f"output {list(out_shape or ())} vs {list(analysis.output_shape)}")
    missing = [f"{n} {list(s)}" for n, s, ok in found if not ok]
    if missing:
        problems.append("stage outputs not found in order in the spec: " + ", ".join(missing))
    return ReferenceCheck(name, "failed" if problems else "ok", "; ".join(problems), used, total, out_shape,
                          tuple(found))


def _stage_hook(stages: list[tuple[str, tuple[int, ...]]], name: str) -> Callable[..., None]:
    def hook(module: Any, inputs: Any, output: Any) -> None:
        shape = getattr(output, "shape", None)
        if shape is not None:
            stages.append((name, tuple(shape[1:])))
    return hook


# --------------------------------------------------------------------------- rendering


def to_dict(check: CrossCheck) -> dict[str, Any]:
    """The JSON document of one cross-check (exact integers; every row, failures flagged)."""
    ref = check.reference
    return {
        "name": check.name, "path": check.path, "input_shape": list(check.input_shape),
        "resolution_note": check.resolution_note, "ok": check.ok, "error": check.error,
        "shapes": {"ok": check.shapes_ok, "rows": len(check.shapes),
                   "mismatches": [{"name": r.name, "type": r.type, "analyzer": list(r.analyzer),
                                   "torch": None if r.torch is None else list(r.torch)}
                                  for r in check.shapes if not r.ok]},
        "params": {"ok": check.params_ok, "analyzer": check.params_total.analyzer, "torch": check.params_total.torch,
                   "mismatches": [{"name": r.name, "type": r.type, "analyzer": r.analyzer, "torch": r.torch}
                                  for r in check.params if not r.ok]},
        "macs": {"ok": check.flops_ok, "analyzer": check.analyzer_macs, "fvcore": check.fvcore_total,
                 "fvcore_outside_rows": check.fvcore_outside_rows,
                 "unsupported_outside_rows": check.unsupported_outside_rows,
                 "rules": {name: {"rows": n, "flops": d, "explanation": _EXPLAIN[name]}
                           for name, (n, d) in check.rules_applied().items()},
                 "rows": [{"name": r.name, "type": r.type, "analyzer_macs": r.analyzer_macs, "fvcore": r.fvcore,
                           "expected_fvcore": r.expected, "rules": list(r.rules), "unsupported": r.unsupported,
                           "unexplained_ops": list(r.unexplained_ops), "ok": r.ok} for r in check.flops]},
        "reference": None if ref is None else {
            "model": ref.model, "status": ref.status, "reason": ref.reason, "params": ref.params,
            "params_total": ref.params_total, "output_shape": None if ref.output_shape is None else list(ref.output_shape),
            "stages": [{"module": n, "output_shape": list(s), "found": f} for n, s, f in ref.stages]},
    }


_EXPLAIN = {r.name: r.explanation for r in RULES}


def render_table(check: CrossCheck, *, verbose: bool = False) -> str:
    """A terminal summary; failing rows as per-layer diff tables (every row with ``verbose``)."""
    from tabulate import tabulate

    from .units import shape_text

    mark = "OK" if check.ok else "FAILED"
    lines = [f"{check.name} ({check.path or '<spec>'}), input {shape_text(check.input_shape)}, batch 1: {mark}"]
    if check.resolution_note:
        lines.append(f"  ({check.resolution_note})")
    if check.error:
        lines.append(f"  error    {check.error}")
    bad_shapes = [r for r in check.shapes if not r.ok]
    lines.append(f"  shapes   {len(check.shapes) - len(bad_shapes)}/{len(check.shapes)} rows agree with the forward pass")
    if bad_shapes:
        lines.append(_indent(tabulate(
            [[r.name, r.type, shape_text(r.analyzer), "not run" if r.torch is None else shape_text(r.torch)]
             for r in _first(bad_shapes, verbose)], headers=["Layer", "Type", "Analyzer", "Torch"])))
        lines += _more(bad_shapes, verbose)
    pt = check.params_total
    bad_params = [r for r in check.params if not r.ok]
    lines.append(f"  params   analyzer {pt.analyzer:,}, torch {pt.torch:,}: {'agree' if check.params_ok else 'DIFFER'}")
    if bad_params:
        lines.append(_indent(tabulate([[r.name, r.type, f"{r.analyzer:,}", f"{r.torch:,}", f"{r.torch - r.analyzer:+,}"]
                                       for r in _first(bad_params, verbose)],
                                      headers=["Layer", "Type", "Analyzer", "Torch", "Diff"])))
        lines += _more(bad_params, verbose)
    if check.error:
        lines.append("  MACs     not compared: the model does not run")
        return "\n".join(lines + _reference_lines(check)) + "\n"
    rules = check.rules_applied()
    reconciled = sum(d for _, d in rules.values())
    lines.append(f"  MACs     analyzer {check.analyzer_macs:,}; fvcore {check.fvcore_total:,} = MACs "
                 f"{reconciled:+,} by {len(rules)} named rule(s): {'agree' if check.flops_ok else 'DIFFER'}")
    for name, (n, d) in rules.items():
        lines.append(f"    {name:<24} {n:>4} row(s) {d:>+16,}  {_EXPLAIN[name]}")
    shown = list(check.flops) if verbose else [r for r in check.flops if not r.ok]
    if shown:
        lines.append(_indent(tabulate(
            [[r.name, r.type, f"{r.analyzer_macs:,}", f"{r.expected:,}", f"{r.fvcore:,}", f"{r.fvcore - r.expected:+,}",
              ", ".join(r.rules) or "-", ", ".join(r.unexplained_ops) or "-"] for r in _first(shown, verbose)],
            headers=["Layer", "Type", "MACs", "Expected fvcore", "fvcore", "Unexplained", "Rules", "Unexplained ops"])))
        lines += _more(shown, verbose)
    if check.fvcore_outside_rows:
        lines.append(f"    fvcore counted {check.fvcore_outside_rows:,} flops outside every row's module")
    if check.unsupported_outside_rows:
        lines.append(f"    unsupported ops outside every row's module: {check.unsupported_outside_rows}")
    return "\n".join(lines + _reference_lines(check)) + "\n"


def _reference_lines(check: CrossCheck) -> list[str]:
    ref = check.reference
    if ref is None:
        return []
    text = f"  reference {ref.model}: {ref.status}"
    if ref.status == "ok":
        extra = "" if ref.params == ref.params_total else f" ({ref.params_total:,} with heads unused in eval)"
        text += f" (params {ref.params:,}{extra}; {len(ref.stages)} stage outputs found in order)"
    elif ref.reason:
        text += f" ({ref.reason})"
    return [text]


_SHOWN = 20  # failing rows shown per table without --verbose


def _first(rows: list[Any], verbose: bool) -> list[Any]:
    return rows if verbose else rows[:_SHOWN]


def _more(rows: list[Any], verbose: bool) -> list[str]:
    return [] if verbose or len(rows) <= _SHOWN else [f"    ... and {len(rows) - _SHOWN} more (--verbose shows all)"]


def _indent(text: str, by: str = "    ") -> str:
    return "\n".join(by + line for line in text.splitlines())
