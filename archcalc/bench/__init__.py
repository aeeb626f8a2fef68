"""Real throughput next to the static cost (``archcalc bench``); needs torch, imported lazily.

>>> from archcalc.bench import BenchOptions, Workload, run_bench, render_bench
>>> run = run_bench([Workload(spec=spec)], options=BenchOptions(device="cpu", batch_sizes=(1, 8)))
>>> print(render_bench(run, fmt="table"))

Modules: :mod:`.runner` (the sweep), :mod:`.timing` (the two timers), :mod:`.peak` (measured
matmul peak), :mod:`.env` (device, driver, versions), :mod:`.records` (result records, JSON),
:mod:`.stats` (median / percentiles), :mod:`.progress`. Rendering is :mod:`archcalc.report.bench`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..lazy import lazy_attributes

if TYPE_CHECKING:  # pragma: no cover
    from ..memory import is_oom
    from ..report.bench import BENCH_FORMATS, render_bench
    from .options import DEFAULTS, BenchOptions, Workload, resolve_options
    from .records import SCHEMA_ID, BatchResult, BenchRun, ModelResult, Setup
    from .runner import run_bench

# Imported on first use (``archcalc --help`` reads only the constants of .records).
__getattr__ = lazy_attributes(__name__, globals(), {
    "..report.bench": ("BENCH_FORMATS", "render_bench"),
    ".records": ("SCHEMA_ID", "BatchResult", "BenchRun", "ModelResult", "Setup"),
    "..memory": ("is_oom",),
    ".options": ("DEFAULTS", "BenchOptions", "Workload", "resolve_options"),
    ".runner": ("run_bench",),
})

__all__ = ["run_bench", "render_bench", "BenchOptions", "Workload", "BenchRun", "ModelResult", "BatchResult",
           "Setup", "SCHEMA_ID", "BENCH_FORMATS", "DEFAULTS", "is_oom", "resolve_options", "results_path"]


def results_path(run: BenchRun, *, root: str = "reports/bench") -> str:
    """``reports/bench/<device-slug>/<models>_<precision>_<compile>_<UTC time>.json``."""
    import re

    names = "+".join(m.name for m in run.models) if len(run.models) <= 3 else f"{len(run.models)}-models"
    names = re.sub(r"[^a-z0-9+]+", "-", names.lower()).strip("-") or "run"
    stamp = run.created.replace("-", "").replace(":", "")[:15]  # 20250101T120000
    return f"{root}/{run.environment.device_slug}/{names}_{run.setup.precision}_{run.setup.compile}_{stamp}.json"
