"""The two timers of ``archcalc bench`` and the choice of iteration counts.

Main timer (:func:`time_back_to_back`): ``iters`` iterations issued back to back with no
synchronization in between, one measurement around the whole repeat -- CUDA events on the GPU,
``time.perf_counter`` on the CPU. Reference timer (:func:`time_reference`): synchronize and read
``time.perf_counter`` around every single iteration, as timm's ``benchmark.py`` does. On the
same model the two must agree; a gap means the measurement, not the model, is off.

Every function returns raw samples: seconds per iteration, one per repeat.
"""

from __future__ import annotations

__all__ = ["time_back_to_back", "time_reference", "choose_iters", "synchronizer"]

import math
from time import perf_counter  # module-level name: tests replace it with a fake clock
from typing import Callable

Step = Callable[[], object]


def synchronizer(device: str) -> Callable[[], None]:
    """A function that waits for the device's queued work (a no-op on the CPU)."""
    if device == "cuda":
        import torch

        return torch.cuda.synchronize
    return lambda: None


def time_back_to_back(step: Step, *, device: str, iters: int, repeats: int) -> list[float]:
    """Seconds per iteration of ``iters`` back-to-back calls, once per repeat."""
    _check(iters, repeats)
    samples: list[float] = []
    if device == "cuda":
        import torch

        torch.cuda.synchronize()
        for _ in range(repeats):
            start = torch.cuda.Event(enable_timing=True)
            end = torch.cuda.Event(enable_timing=True)
            start.record()
            for _ in range(iters):
                step()
            end.record()
            end.synchronize()
            samples.append(start.elapsed_time(end) / 1e3 / iters)  # elapsed_time is in ms
        return samples
    for _ in range(repeats):
        t0 = perf_counter()
        for _ in range(iters):
            step()
        samples.append((perf_counter() - t0) / iters)
    return samples


def time_reference(step: Step, *, device: str, iters: int, repeats: int) -> list[float]:
    """timm-style: ``perf_counter`` before, synchronize and ``perf_counter`` after every call."""
    _check(iters, repeats)
    sync = synchronizer(device)
    samples: list[float] = []
    sync()
    for _ in range(repeats):
        total = 0.0
        for _ in range(iters):
            t0 = perf_counter()
            step()
            sync()
            total += perf_counter() - t0
        samples.append(total / iters)
    return samples


def choose_iters(latency_s: float, *, min_repeat_s: float, max_iters: int = 10_000) -> int:
    """Iterations per repeat so that one repeat lasts at least ``min_repeat_s``."""
    if latency_s <= 0:
        return max_iters
    return max(1, min(max_iters, math.ceil(min_repeat_s / latency_s)))


def _check(iters: int, repeats: int) -> None:
    if iters < 1 or repeats < 1:
        raise ValueError(f"iters and repeats must be at least 1, got iters={iters}, repeats={repeats}")
