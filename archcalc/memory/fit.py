"""The largest batch that fits a device: bisection on the memory model, batch size by batch size.

:func:`footprint` analyzes the spec at one batch size and returns its inference or training-step memory;
:func:`largest_batch` doubles the batch until the footprint plus the context allowance exceeds the
device's memory, then bisects between the last batch that fit and the first that did not. Every
candidate is the model's own answer (no extrapolation from batch 1), so per-channel terms that do not
grow with the batch and rows whose memory does are both exact.
"""

from __future__ import annotations

__all__ = ["BatchFit", "footprint", "largest_batch", "MAX_BATCH"]

from dataclasses import dataclass
from typing import TYPE_CHECKING, Union

from .devices import CONTEXT_ALLOWANCE_BYTES, DeviceMemory
from .training import (InferenceMemory, Mode, Optimizer, Precision, TrainingMemory, inference_memory,
                       training_memory)

if TYPE_CHECKING:  # pragma: no cover
    from ..spec import Spec

Footprint = Union[InferenceMemory, TrainingMemory]

MAX_BATCH = 1 << 24
"""The search stops here (16,777,216): a network that fits beyond it is reported as fitting at it."""


def footprint(spec: "Spec", *, batch_size: int, mode: Mode | str = Mode.INFERENCE,
              optimizer: Optimizer | str = Optimizer.ADAMW, precision: Precision | str = Precision.FLOAT32) -> Footprint:
    """The memory of one inference pass or one training step of ``spec`` at ``batch_size``."""
    from ..analysis import analyze

    prec = Precision(precision)
    analysis = analyze(spec, batch_size=batch_size, dtype=prec.activation_dtype)
    if Mode(mode) is Mode.INFERENCE:
        return inference_memory(analysis, precision=prec)
    return training_memory(analysis, optimizer=optimizer, precision=prec)


@dataclass(frozen=True)
class BatchFit:
    """The answer of :func:`largest_batch`: ``batch`` (None when not even batch 1 fits), the footprint
    there, and the footprint of the next batch size (the one that does not fit; None at :data:`MAX_BATCH`)."""

    device: DeviceMemory
    context_bytes: int
    batch: int | None
    fits: Footprint | None
    next: Footprint | None
    evaluations: int

    @property
    def budget_bytes(self) -> int:
        """What the footprint may take: the device's memory less the context allowance."""
        return self.device.total_bytes - self.context_bytes


def largest_batch(spec: "Spec", *, device: DeviceMemory, mode: Mode | str = Mode.INFERENCE,
                  optimizer: Optimizer | str = Optimizer.ADAMW, precision: Precision | str = Precision.FLOAT32,
                  context_bytes: int = CONTEXT_ALLOWANCE_BYTES, max_batch: int = MAX_BATCH) -> BatchFit:
    """The largest batch whose footprint plus ``context_bytes`` fits ``device`` (see the module docstring)."""
    budget = device.total_bytes - context_bytes
    cache: dict[int, Footprint] = {}

    def at(b: int) -> Footprint:
        if b not in cache:
            cache[b] = footprint(spec, batch_size=b, mode=mode, optimizer=optimizer, precision=precision)
        return cache[b]

    def fits(b: int) -> bool:
        return at(b).total_bytes <= budget

    if not fits(1):
        return BatchFit(device, context_bytes, None, None, at(1), len(cache))
    lo, hi = 1, 2
    while hi <= max_batch and fits(hi):
        lo, hi = hi, hi * 2
    if hi > max_batch:
        if fits(max_batch):
            return BatchFit(device, context_bytes, max_batch, at(max_batch), None, len(cache))
        hi = max_batch
    while hi - lo > 1:  # fits(lo), not fits(hi)
        mid = (lo + hi) // 2
        if fits(mid):
            lo = mid
        else:
            hi = mid
    return BatchFit(device, context_bytes, lo, at(lo), at(hi), len(cache))
