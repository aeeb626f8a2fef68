"""Summary statistics of repeated timings: pure functions, no torch.

A timing *sample* is the mean latency of one repeat (``iters`` back-to-back iterations divided
by ``iters``); a benchmark reports the median of its samples with the 10th and 90th percentiles
and the spread ``(p90 - p10) / median``.
"""

from __future__ import annotations

__all__ = ["percentile", "summarize", "relative_difference"]

import math
from typing import Sequence

from .records import TimingStats


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0..100) with linear interpolation between closest ranks.

    The same rule as ``numpy.percentile(..., method="linear")``: position ``(n - 1) * q / 100``
    in the sorted values, interpolated between its two neighbours.
    """
    if not values:
        raise ValueError("percentile of no values")
    if not 0.0 <= q <= 100.0:
        raise ValueError(f"percentile q must be within 0..100, got {q}")
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100.0
    lo = math.floor(pos)
    hi = min(lo + 1, len(ordered) - 1)
    frac = pos - lo
    return ordered[lo] + (ordered[hi] - ordered[lo]) * frac


def summarize(samples_s: Sequence[float], *, iters_per_sample: int) -> TimingStats:
    """Median, p10, p90, mean, min, max and spread of per-iteration latencies in seconds."""
    if not samples_s:
        raise ValueError("no timing samples")
    if any(s <= 0 or not math.isfinite(s) for s in samples_s):
        raise ValueError(f"timing samples must be positive and finite, got {list(samples_s)}")
    median = percentile(samples_s, 50)
    p10 = percentile(samples_s, 10)
    p90 = percentile(samples_s, 90)
    return TimingStats(
        median_s=median, p10_s=p10, p90_s=p90,
        mean_s=sum(samples_s) / len(samples_s), min_s=min(samples_s), max_s=max(samples_s),
        spread=(p90 - p10) / median, samples_s=[float(s) for s in samples_s],
        iters_per_sample=iters_per_sample,
    )


def relative_difference(value: float, reference: float) -> float:
    """``value / reference - 1``: +0.03 means ``value`` is 3 % larger than ``reference``."""
    if reference <= 0:
        raise ValueError(f"reference must be positive, got {reference}")
    return value / reference - 1.0
