"""The spec against its reference implementation (torchvision / timm), when that package is importable."""

from __future__ import annotations

__all__ = ["ReferenceCheck", "reference_check", "CrossCheckError", "error_line"]

import importlib
import importlib.util
from dataclasses import dataclass
from typing import Any, Callable

from ..analysis import Analysis
from ..errors import ArchcalcError
from ..memory import is_oom


class CrossCheckError(ArchcalcError):
    """The torch model could not be built, allocated or run out of memory (not a disagreement)."""


def error_line(exc: BaseException) -> str:
    """The first line of an exception's message (its type's name when the message is empty)."""
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


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

    if ".detection." in name:
        # NB: torchvision's detection builders use FrozenBatchNorm2d only with pretrained backbone weights (a
        # download), take a list of images and return dicts: the spec's references record their num_params.
        return ReferenceCheck(name, "skipped", "torchvision's detection models are compared through the spec's "
                                               "references (num_params), not built here")
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
        first = error_line(exc)
        if is_oom(exc):
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

