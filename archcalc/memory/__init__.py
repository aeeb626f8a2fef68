"""Memory: what a network needs at inference and for one training step, and whether it fits.

* :mod:`.liveness` -- the static model of one forward pass: which activation tensors are alive when
  (a tensor is freed after its last use; views allocate nothing), and what autograd keeps for backward.
  The analyzer fills ``LayerRow.live_bytes``/``saved_bytes`` and ``Totals.peak_activation_bytes``/
  ``saved_bytes`` from it.
* :mod:`.training` -- inference and training-step footprints: weights, gradients, optimizer state,
  precision, the peak over forward, backward and step.
* :mod:`.devices` -- GPU memory sizes (``80GiB``, ``h100``, ``a100-40gb``); :mod:`.fit` -- the largest batch
  that fits, by bisection on the model.
* :mod:`.measure` (torch) -- measurements of the same quantities on the built model; :mod:`.cuda` --
  the GPU check's measurement (``torch.cuda.max_memory_allocated``), runnable on the CPU as a dry run.

And the refusal of runs that cannot fit: ``crosscheck`` and ``bench`` allocate real tensors. Before they
do, the prediction -- parameters + the activations' live peak (the input included) + the largest
convolution's unfolded input (:func:`predicted_peak_bytes`) -- is compared with the memory of the
device that will run it; a run predicted not to fit is refused with :class:`MemoryLimitError`
(``--allow-large`` in the CLI tries anyway).

:func:`available_memory_bytes` is the one probe: ``MemAvailable`` of ``/proc/meminfo`` on the CPU
(physical memory, ``SC_PHYS_PAGES * SC_PAGE_SIZE``, where that file is missing) and
``torch.cuda.mem_get_info()`` (free bytes) on CUDA. Tests replace it with a small number.
Nothing here imports torch unless the device is CUDA.
"""

from __future__ import annotations

__all__ = ["GIB", "MemoryLimitError", "available_memory_bytes", "conv_workspace_bytes", "predicted_peak_bytes",
           "memory_refusal", "check_fits", "is_oom", "Mode", "Optimizer", "Precision", "InferenceMemory",
           "TrainingMemory", "inference_memory", "training_memory", "DeviceMemory", "device_memory", "BatchFit",
           "largest_batch", "footprint", "MemoryRecord", "measure_memory", "measure_memory_sweep"]

import os
from pathlib import Path

from typing import TYPE_CHECKING

from ..errors import ArchcalcError, Location
from ..lazy import lazy_attributes

if TYPE_CHECKING:  # pragma: no cover - the analysis imports this package's liveness model
    from ..analysis import Analysis
    from .cuda import MemoryRecord, measure_memory, measure_memory_sweep
    from .devices import DeviceMemory, device_memory
    from .fit import BatchFit, footprint, largest_batch
    from .choices import Mode, Optimizer, Precision
    from .training import InferenceMemory, TrainingMemory, inference_memory, training_memory

# Imported on first use: the analyzer imports .liveness (and so this package) for every analysis,
# and needs none of these.
__getattr__ = lazy_attributes(__name__, globals(), {
    ".cuda": ("MemoryRecord", "measure_memory", "measure_memory_sweep"),  # torch is imported when measuring
    ".devices": ("DeviceMemory", "device_memory"),
    ".fit": ("BatchFit", "footprint", "largest_batch"),
    ".choices": ("Mode", "Optimizer", "Precision"),
    ".training": ("InferenceMemory", "TrainingMemory", "inference_memory", "training_memory"),
})

GIB = 1024 ** 3


class MemoryLimitError(ArchcalcError):
    """The static prediction of a run's memory exceeds what the machine has; nothing was allocated."""


def available_memory_bytes(device: str = "cpu") -> int | None:
    """Bytes the run may use on ``device``, or ``None`` when it cannot be told."""
    if device == "cuda":
        import torch

        free, _total = torch.cuda.mem_get_info()
        return int(free)
    try:
        for line in Path("/proc/meminfo").read_text(encoding="ascii", errors="replace").splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024  # the file counts kB (KiB)
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_PHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, ValueError, OSError):
        return None


def conv_workspace_bytes(analysis: "Analysis") -> int:
    """The largest convolution's unfolded input (im2col / col2im), the scratch buffer torch's
    portable convolution allocates for the whole batch: ``batch * C_in * kernel * out positions``
    elements for a convolution (its MACs / (C_out / groups)), ``batch * C_out * kernel * in positions``
    for a transposed one (its MACs / (C_in / groups)). Without it a network with a huge input and few
    channels (``[3, 20000, 20000]``, one 3x3 conv: 27 x the input) is predicted far too small."""
    largest = 0
    for row in analysis.layers:
        groups = row.attrs.get("groups", 1)
        groups = groups if isinstance(groups, int) and groups > 0 else 1
        if row.type == "conv":
            per_mac = max(1, row.output_shape[0] // groups)
        elif row.type == "conv_transpose":
            per_mac = max(1, row.input_shape[0] // groups)
        else:
            continue
        largest = max(largest, row.macs // per_mac)
    return largest * analysis.bytes_per_element


def predicted_peak_bytes(analysis: "Analysis") -> int:
    """Parameters + the activations' live peak (the input included, :attr:`Totals.peak_activation_bytes`)
    + the largest convolution's workspace, at the analysis' batch size and dtype: one inference pass."""
    return analysis.param_bytes + analysis.totals.peak_activation_bytes + conv_workspace_bytes(analysis)


def memory_refusal(predicted_bytes: int, *, batch_size: int, device: str = "cpu") -> str | None:
    """The refusal message when ``predicted_bytes`` exceed the memory of ``device``, else ``None``."""
    available = available_memory_bytes(device)
    if available is None or predicted_bytes <= available:
        return None
    where = "this machine's available memory" if device == "cpu" else "the free memory of this CUDA device"
    return (f"predicted peak {predicted_bytes / GIB:,.2f} GiB (parameters + activations alive at the peak + convolution "
            f"workspace, batch {batch_size}) "
            f"exceeds {where} {available / GIB:,.2f} GiB; --allow-large to try anyway")


def check_fits(analysis: "Analysis", *, device: str = "cpu", path: str | None = None) -> None:
    """Raise :class:`MemoryLimitError` (located at the spec ``path``) when ``analysis`` cannot fit."""
    message = memory_refusal(predicted_peak_bytes(analysis), batch_size=analysis.batch_size, device=device)
    if message is not None:
        raise MemoryLimitError(message, Location(file=path))


def is_oom(exc: BaseException) -> bool:
    """Is ``exc`` -- or an exception it was raised from (``torch.compile`` wraps errors) -- an
    out-of-memory error (CUDA caching allocator, CPU allocator, Python)?"""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if _is_oom_one(current):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def _is_oom_one(exc: BaseException) -> bool:
    if isinstance(exc, MemoryError):
        return True
    try:
        import torch

        if isinstance(exc, torch.cuda.OutOfMemoryError):
            return True
    except ImportError:  # pragma: no cover
        pass
    text = str(exc).lower()
    return isinstance(exc, RuntimeError) and ("out of memory" in text or "can't allocate memory" in text)
