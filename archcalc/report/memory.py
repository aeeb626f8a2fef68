"""``archcalc memory`` output: a :class:`~archcalc.memory.study.MemoryStudy` as a table, Markdown or JSON.

One column per batch size, one row per term (weights, gradients, optimizer state, activations, the
phases of a training step, the total); below it the largest batch the device holds. Human-readable
bytes (1024 steps) unless ``raw``; JSON always holds exact integers.
"""

from __future__ import annotations

__all__ = ["MEMORY_FORMATS", "render_memory", "memory_dict", "records_table"]

import json
from typing import Any

from tabulate import tabulate

from ..memory.study import MemoryStudy, terms
from ..memory.training import TrainingMemory
from ..units import GIB, human_bytes, shape_text

MEMORY_FORMATS = ("table", "markdown", "json")


def memory_dict(study: MemoryStudy) -> dict[str, Any]:
    """The JSON document (exact bytes)."""
    batches = []
    for b, f in zip(study.batch_sizes, study.footprints):
        entry: dict[str, Any] = {"batch_size": b}
        entry.update({key: value for key, _, value in terms(f)})
        if isinstance(f, TrainingMemory):
            entry["peak_phase"] = f.peak_phase
        else:
            entry["peak_row"] = f.peak_row
        batches.append(entry)
    doc: dict[str, Any] = {
        "name": study.name, "input_shape": list(study.input_shape), "mode": study.mode.value,
        "precision": study.precision.value, "batches": batches,
    }
    if study.mode.value == "training":
        doc["optimizer"] = study.optimizer.value
    fit = study.fit
    if fit is not None:
        doc["device"] = {"name": fit.device.name, "total_bytes": fit.device.total_bytes,
                         "context_bytes": fit.context_bytes, "budget_bytes": fit.budget_bytes}
        doc["largest_batch"] = fit.batch
        doc["largest_batch_bytes"] = fit.fits.total_bytes if fit.fits is not None else None
        doc["next_batch_bytes"] = fit.next.total_bytes if fit.next is not None else None
    return doc


def render_memory(study: MemoryStudy, *, fmt: str = "table", raw: bool = False) -> str:
    """Render ``study`` as ``table``, ``markdown`` or ``json``."""
    if fmt not in MEMORY_FORMATS:
        raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(MEMORY_FORMATS)}")
    if fmt == "json":
        return json.dumps(memory_dict(study), indent=2) + "\n"
    show = (lambda v: f"{v:,}") if raw else human_bytes
    labels = [label for _, label, _ in terms(study.footprints[0])]
    body: list[list[str]] = []
    columns = [terms(f) for f in study.footprints]
    for i, label in enumerate(labels):
        body.append([label, *(show(col[i][2]) for col in columns)])
    if isinstance(study.footprints[0], TrainingMemory):
        body.append(["peak phase", *(f.peak_phase for f in study.footprints)])  # type: ignore[union-attr]
    else:
        body.append(["peak while", *(f.peak_row or "(input)" for f in study.footprints)])  # type: ignore[union-attr]
    headers = ["term", *(f"batch {b}" for b in study.batch_sizes)]
    align = ["left", *("right" for _ in study.batch_sizes)]
    tablefmt = "pipe" if fmt == "markdown" else "simple"
    table = tabulate(body, headers=headers, tablefmt=tablefmt, colalign=align, disable_numparse=True)
    title = _title(study)
    lines = [f"**{title}**" if fmt == "markdown" else title, "", table, ""]
    if study.fit is not None:
        lines.append(_fit_line(study))
    lines.append(_note(study))
    return "\n".join(lines) + "\n"


def _title(study: MemoryStudy) -> str:
    what = (f"training step ({study.optimizer.value}, {study.precision.value})" if study.mode.value == "training"
            else f"inference ({study.precision.value})")
    return f"{study.name}: {what}, input {shape_text(study.input_shape)}"


def _fit_line(study: MemoryStudy) -> str:
    fit = study.fit
    assert fit is not None
    where = (f"{fit.device.name} ({fit.device.total_bytes / GIB:,.1f} GiB, less {human_bytes(fit.context_bytes)} "
             f"kept for the CUDA context: {fit.budget_bytes / GIB:,.2f} GiB)")
    if fit.batch is None:
        need = fit.next.total_bytes if fit.next is not None else 0
        return f"Does not fit on {where}: batch 1 needs {need / GIB:,.2f} GiB."
    text = (f"Largest batch that fits on {where}: {fit.batch:,} ({fit.fits.total_bytes / GIB:,.2f} GiB)")  # type: ignore[union-attr]
    if fit.next is not None:
        text += f"; batch {fit.batch + 1:,} needs {fit.next.total_bytes / GIB:,.2f} GiB"
    else:
        text += "; the search stops there"
    return text + f" (bisection, {fit.evaluations} batch sizes evaluated)."


def _note(study: MemoryStudy) -> str:
    return ("Static model (archcalc/conventions.py): activations by liveness in the model archcalc builds; not "
            "counted: the CUDA context, cuDNN workspace and the allocator's rounding.")


def records_table(records: "list[Any]") -> str:
    """The GPU check's measurements (:class:`archcalc.memory.cuda.MemoryRecord`) beside the predictions: one
    line per spec, mode and batch, the named terms apart (Markdown)."""
    headers = ["spec", "mode", "precision", "batch", "predicted", "max allocated", "error", "rounding", "workspace",
               "error without them", "context"]
    body = []
    for r in records:
        if r.measured_bytes < 0:
            body.append([r.spec, r.mode, r.precision, str(r.batch_size), human_bytes(r.predicted_bytes), "OOM",
                         "", "", "", "", ""])
            continue
        body.append([r.spec, r.mode, r.precision, str(r.batch_size), human_bytes(r.predicted_bytes),
                     human_bytes(r.measured_bytes), f"{r.relative_error:+.1%}", human_bytes(r.rounding_bytes),
                     human_bytes(r.workspace_bytes), f"{r.residual_error:+.1%}",
                     human_bytes(r.context_bytes) if r.context_bytes is not None else "n/a"])
    align = ["left", "left", "left", *("right" for _ in headers[3:])]
    return tabulate(body, headers=headers, tablefmt="pipe", colalign=align, disable_numparse=True) + "\n"
