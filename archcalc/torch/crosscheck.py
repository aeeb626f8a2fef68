"""Cross-check the static analysis against the real network: build it, run it, count it with fvcore.

For one spec, :func:`crosscheck` builds the torch model (:mod:`archcalc.torch.build`, one module
per analyzer row) and compares, row by row:

a. **shapes** -- the output shape each module really produces (forward hooks; CPU, batch 1,
   eval mode, ``torch.no_grad``) with the analyzer's;
b. **params** -- each row's and group's parameter count with its module's ``numel`` (and the totals);
c. **MACs** -- fvcore's ``FlopCountAnalysis.by_module()`` with the analyzer's MACs. fvcore counts
   one multiply-add as one flop, ignores bias, and uses its own conventions for a few other ops;
   every such difference is reconciled by a named rule that the row's kind declares
   (:mod:`archcalc.torch.fvcore`), which also says which of fvcore's *unsupported* operators it
   expects in that row. A difference no rule explains, or an unsupported operator no rule
   expects, is a failure;
d. **reference** -- when the spec names a ``reference_model`` (``torchvision.models.resnet50``,
   ``timm.resnet50``) and that package is importable: total parameters and the output shape of
   each of the reference's top-level stages (:mod:`archcalc.torch.reference`).

Torch and fvcore are imported inside the functions that need them; results are plain data
(:class:`CrossCheck`), rendered by :mod:`archcalc.report.crosscheck`.
"""

from __future__ import annotations

__all__ = ["crosscheck", "CrossCheck", "ShapeRow", "ParamRow", "FlopRow", "ReferenceCheck", "CrossCheckError",
           "missing_dependencies", "INSTALL_HINT", "fast_resolution"]

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from ..analysis import Analysis, analyze
from ..errors import ArchcalcError, Location
from ..gcpause import gc_paused
from ..memory import GIB, check_fits, is_oom, predicted_peak_bytes
from ..spec import Spec, load_spec
from .fvcore import FlopRow
from .reference import CrossCheckError, ReferenceCheck, error_line, reference_check

INSTALL_HINT = "pip install 'archcalc[torch]'"


def missing_dependencies() -> list[str]:
    """The packages crosscheck needs that are not importable (torch, fvcore)."""
    return [name for name in ("torch", "fvcore") if importlib.util.find_spec(name) is None]


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


@gc_paused  # building, tracing and fvcore's graph are many small objects: a 1,202-layer net checks 25 % faster
def crosscheck(spec: Spec, *, analysis: Analysis | None = None, reference: bool = True,
               resolution_note: str | None = None, threads: int | None = 1, allow_large: bool = False) -> CrossCheck:
    """Build ``spec``, run it once, count it with fvcore, and compare every row (see module doc).

    The spec is analyzed first (no torch); a network whose predicted memory (parameters + the activations'
    live peak, the input included, + the largest convolution's workspace, batch 1, float32;
    :func:`archcalc.memory.predicted_peak_bytes`) exceeds the machine's available memory is refused with
    :class:`~archcalc.memory.MemoryLimitError` before anything is allocated, unless
    ``allow_large``. A model that cannot be built or allocated, or that runs out of memory, raises
    :class:`CrossCheckError`; a model that builds but fails in its forward pass for another reason
    is a disagreement (``CrossCheck.error``).

    ``threads``: torch's intra-op threads while checking (restored afterwards). One thread is the
    default: batch-1 tensors gain nothing from more, and on a busy machine several threads per
    process make the pass many times slower. ``None`` keeps torch's setting.
    """
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


def _resource_error(spec: Spec, analysis: Analysis, what: str, exc: BaseException) -> CrossCheckError:
    first = error_line(exc)
    why = "ran out of memory" if is_oom(exc) else "failed"
    return CrossCheckError(f"{what} {why}: {first} (predicted peak {predicted_peak_bytes(analysis) / GIB:,.2f} GiB, "
                           f"parameters + activations, batch 1)", Location(file=str(spec.path) if spec.path else None))


def _crosscheck(spec: Spec, *, analysis: Analysis, reference: bool, resolution_note: str | None) -> CrossCheck:
    import torch

    from .build import build_model, iter_row_modules
    from .fvcore import count_by_module, flop_row

    try:
        # Shapes, parameter counts and fvcore's counts do not depend on the weights' values: allocate
        # them uninitialized (each module's initializer is most of the time for RegNetY-128GF's 645 M).
        model = build_model(spec, analysis=analysis, device="meta").to_empty(device="cpu").eval()
        x = torch.zeros((1, *spec.input_shape))
    except ArchcalcError:
        raise
    except (RuntimeError, MemoryError, ValueError, OverflowError) as exc:
        raise _resource_error(spec, analysis, "building the torch model and its input", exc) from None
    modules = dict(iter_row_modules(model, analysis))
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
        if is_oom(exc):  # not a disagreement: this machine is too small for the network
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
            # without autograd's bookkeeping, like the forward pass above (the counts are the same; 7 % faster)
            with torch.no_grad():
                counts, unsupported = count_by_module(model, x, list(modules))
        except (RuntimeError, MemoryError) as exc:  # fvcore traces the model: a second forward pass
            raise _resource_error(spec, analysis, "fvcore's trace of the model", exc) from None
    flops = tuple(flop_row(r, counts.get(r.name, 0), unsupported.get(r.name, {})) for r in analysis.layers)
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

