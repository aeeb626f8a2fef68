"""The device's measured peak: a large square matmul timed at the run's precision.

The figure is *measured in the same run*, not a datasheet number, and reported in
multiply-accumulates per second: an ``n x n @ n x n`` matmul is ``n**3`` MACs (``2 n**3`` FLOPs).
"""

from __future__ import annotations

__all__ = ["DEFAULT_MATMUL_N", "matmul_macs", "measure_peak"]

from .precision import precision_flags, torch_dtype
from .records import PeakMeasurement
from .stats import summarize
from .timing import choose_iters, time_back_to_back

DEFAULT_MATMUL_N = {"cuda": 8192, "cpu": 1024}


def matmul_macs(n: int) -> int:
    """Multiply-accumulates of a square ``n x n @ n x n`` matmul: ``n**3``."""
    return n ** 3


def measure_peak(*, device: str, precision: str, n: int | None = None, warmup_iters: int = 3,
                 repeats: int = 5, min_repeat_s: float = 0.2) -> PeakMeasurement:
    """Time ``torch.mm`` of two random ``n x n`` matrices on ``device``."""
    import torch

    n = n or DEFAULT_MATMUL_N[device]
    dtype = torch_dtype(precision)
    with precision_flags(device=device, precision=precision, cudnn_benchmark=False), torch.inference_mode():
        a = torch.randn(n, n, device=device, dtype=dtype)
        b = torch.randn(n, n, device=device, dtype=dtype)
        out = torch.empty(n, n, device=device, dtype=dtype)

        def step() -> None:
            torch.mm(a, b, out=out)

        for _ in range(warmup_iters):
            step()
        estimate = min(time_back_to_back(step, device=device, iters=1, repeats=2))
        iters = choose_iters(estimate, min_repeat_s=min_repeat_s)
        timing = summarize(time_back_to_back(step, device=device, iters=iters, repeats=repeats),
                           iters_per_sample=iters)
    macs = matmul_macs(n)
    return PeakMeasurement(precision=precision, matmul_n=n, macs_per_matmul=macs, timing=timing,
                           macs_per_s=macs / timing.min_s, median_macs_per_s=macs / timing.median_s)
