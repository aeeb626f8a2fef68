"""What ``archcalc memory`` shows: the memory of a spec at several batch sizes, and the largest batch a
device holds. Computing only; :mod:`archcalc.report.memory` renders it."""

from __future__ import annotations

__all__ = ["MemoryStudy", "memory_study", "terms"]

from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

from ..errors import UsageError
from .devices import CONTEXT_ALLOWANCE_BYTES, DeviceMemory
from .fit import BatchFit, Footprint, footprint, largest_batch
from .training import InferenceMemory, Mode, Optimizer, Precision, TrainingMemory

if TYPE_CHECKING:  # pragma: no cover
    from ..spec import Spec


@dataclass(frozen=True)
class MemoryStudy:
    """Footprints of one spec at ``batch_sizes`` (same order), and the fit on ``fit.device`` (or None)."""

    name: str
    input_shape: tuple[int, ...]
    mode: Mode
    optimizer: Optimizer
    precision: Precision
    batch_sizes: tuple[int, ...]
    footprints: tuple[Footprint, ...]
    fit: BatchFit | None


def memory_study(spec: "Spec", *, batch_sizes: Sequence[int] = (1, 32, 256), mode: Mode | str = Mode.INFERENCE,
                 optimizer: Optimizer | str = Optimizer.ADAMW, precision: Precision | str = Precision.FLOAT32,
                 device: DeviceMemory | None = None, context_bytes: int = CONTEXT_ALLOWANCE_BYTES) -> MemoryStudy:
    """Footprints at each batch size and, with ``device``, the largest batch that fits it."""
    if not batch_sizes or any(isinstance(b, bool) or not isinstance(b, int) or b < 1 for b in batch_sizes):
        raise UsageError(f"batch sizes must be positive integers, got {list(batch_sizes)!r}")
    mode, optimizer, precision = Mode(mode), Optimizer(optimizer), Precision(precision)
    prints = tuple(footprint(spec, batch_size=b, mode=mode, optimizer=optimizer, precision=precision)
                   for b in batch_sizes)
    fit = None if device is None else largest_batch(spec, device=device, mode=mode, optimizer=optimizer,
                                                    precision=precision, context_bytes=context_bytes)
    return MemoryStudy(spec.name, tuple(spec.input_shape), mode, optimizer, precision, tuple(batch_sizes), prints, fit)


def terms(f: Footprint) -> list[tuple[str, str, int]]:
    """``(key, label, bytes)`` of a footprint, in the order a table lists them (totals last)."""
    if isinstance(f, InferenceMemory):
        rows = [("weight_bytes", "weights", f.weight_bytes)]
        if f.weight_copy_bytes:
            rows.append(("weight_copy_bytes", "autocast bf16 weight copies", f.weight_copy_bytes))
        rows.append(("activation_peak_bytes", "activation peak (input included)", f.activation_peak_bytes))
        rows.append(("total_bytes", "total", f.total_bytes))
        return rows
    assert isinstance(f, TrainingMemory)
    rows = [("weight_bytes", "weights", f.weight_bytes), ("gradient_bytes", "gradients", f.gradient_bytes),
            ("optimizer_bytes", f"optimizer state ({f.optimizer})", f.optimizer_bytes)]
    if f.weight_copy_bytes:
        rows.append(("weight_copy_bytes", "autocast bf16 weight copies", f.weight_copy_bytes))
    rows += [
        ("saved_bytes", "activations kept for backward", f.saved_bytes),
        ("forward_activation_bytes", "forward: activation peak", f.forward_activation_bytes),
        ("backward_activation_bytes", "backward: activations + gradients", f.backward_activation_bytes),
        ("step_temporary_bytes", "step: optimizer temporaries", f.step_temporary_bytes),
        ("forward_bytes", "total during forward", f.forward_bytes),
        ("backward_bytes", "total during backward", f.backward_bytes),
        ("step_bytes", "total during the step", f.step_bytes),
        ("total_bytes", "peak of the step", f.total_bytes),
    ]
    return rows
