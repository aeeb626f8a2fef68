"""What a benchmark run is asked for: workloads, the user's options, and the device defaults they resolve to."""

from __future__ import annotations

__all__ = ["Workload", "BenchOptions", "ResolvedOptions", "resolve_options", "DEFAULTS", "ModelFactory", "Progress",
           "compile_mode"]

from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from ..spec import Spec
from .env import resolve_device
from .precision import precision_detail
from .records import COMPILE_MODES, PRECISIONS, Setup

ModelFactory = Callable[[], Any]
Progress = Callable[[int, int, str], None]

DEFAULTS: dict[str, dict[str, Any]] = {
    # the fastest sensible set-up of each device
    "cuda": dict(precision="bfloat16", channels_last=True, compile="default", cuda_graphs=True,
                 batch_sizes=(1, 8, 64, 256), warmup_iters=10, repeats=7, min_repeat_s=0.25),
    "cpu": dict(precision="float32", channels_last=False, compile="none", cuda_graphs=False,
                batch_sizes=(1, 8), warmup_iters=2, repeats=5, min_repeat_s=0.5),
}


@dataclass(frozen=True, kw_only=True)
class Workload:
    """A spec to benchmark and how to build its module."""

    spec: Spec
    name: Optional[str] = None
    spec_path: Optional[str] = None
    make_model: Optional[ModelFactory] = None
    model_source: Optional[str] = None

    def factory(self) -> tuple[ModelFactory, str]:
        if self.make_model is not None:
            return self.make_model, self.model_source or getattr(self.make_model, "__qualname__", "factory")
        from ..torch.build import build_model

        return (lambda: build_model(self.spec)), "archcalc.build_model"


@dataclass(frozen=True, kw_only=True)
class BenchOptions:
    """What the user asked for; ``None`` means the device's default (:data:`DEFAULTS`)."""

    device: Optional[str] = None
    precision: Optional[str] = None
    channels_last: Optional[bool] = None
    compile: Optional[str] = None
    cuda_graphs: Optional[bool] = None
    batch_sizes: Optional[tuple[int, ...]] = None
    warmup_iters: Optional[int] = None
    iters: Optional[int] = None
    repeats: Optional[int] = None
    min_repeat_s: Optional[float] = None
    tolerance: float = 0.05
    peak_n: Optional[int] = None
    measure_peak: bool = True
    cpu_threads: Optional[int] = None  # torch.set_num_threads for the run (restored after)
    allow_large: bool = False  # run batches whose predicted memory exceeds the device's (see .memory)


@dataclass(frozen=True, kw_only=True)
class ResolvedOptions:
    setup: Setup
    batch_sizes: tuple[int, ...]
    notice: Optional[str]
    notes: tuple[str, ...] = field(default_factory=tuple)
    peak_n: Optional[int] = None
    measure_peak: bool = True


def resolve_options(options: BenchOptions) -> ResolvedOptions:
    """Fill the defaults of the device that will really be used (CPU when CUDA is missing)."""
    device, notice = resolve_device(options.device)
    d = DEFAULTS[device]
    notes: list[str] = []
    precision = options.precision or d["precision"]
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}; choose one of {', '.join(PRECISIONS)}")
    compile_ = options.compile or d["compile"]
    if compile_ not in COMPILE_MODES:
        raise ValueError(f"unknown compile mode {compile_!r}; choose one of {', '.join(COMPILE_MODES)}")
    cuda_graphs = d["cuda_graphs"] if options.cuda_graphs is None else options.cuda_graphs
    if cuda_graphs and device != "cuda":
        notes.append("CUDA graphs need a CUDA device; ran without them")
        cuda_graphs = False
    batch_sizes = tuple(sorted(set(options.batch_sizes or d["batch_sizes"])))
    if not batch_sizes or batch_sizes[0] < 1:
        raise ValueError(f"batch sizes must be positive integers, got {options.batch_sizes}")
    for name in ("warmup_iters", "iters", "repeats"):
        value = getattr(options, name)
        if value is not None and value < (0 if name == "warmup_iters" else 1):
            raise ValueError(f"{name} must be at least {0 if name == 'warmup_iters' else 1}, got {value}")
    if not 0 < options.tolerance < 1:
        raise ValueError(f"tolerance must be within (0, 1), got {options.tolerance}")
    setup = Setup(
        device=device, precision=precision, precision_detail=precision_detail(device=device, precision=precision),
        channels_last=d["channels_last"] if options.channels_last is None else options.channels_last,
        compile=compile_, compile_mode=compile_mode(compile_, cuda_graphs), cuda_graphs=cuda_graphs,
        cudnn_benchmark=device == "cuda",
        warmup_iters=d["warmup_iters"] if options.warmup_iters is None else options.warmup_iters,
        iters=options.iters, min_repeat_s=options.min_repeat_s or d["min_repeat_s"],
        repeats=options.repeats or d["repeats"], tolerance=options.tolerance,
        timer="CUDA events around back-to-back iterations" if device == "cuda"
        else "time.perf_counter around back-to-back iterations",
        reference_timer=("torch.cuda.synchronize + time.perf_counter around every iteration (timm benchmark.py)"
                         if device == "cuda" else "time.perf_counter around every iteration (timm benchmark.py)"),
    )
    return ResolvedOptions(setup=setup, batch_sizes=batch_sizes, notice=notice, notes=tuple(notes),
                           peak_n=options.peak_n, measure_peak=options.measure_peak)


def compile_mode(compile_: str, cuda_graphs: bool) -> Optional[str]:
    """The ``torch.compile`` mode: inductor's CUDA graphs come with reduce-overhead / max-autotune."""
    if compile_ == "none":
        return None
    if compile_ == "default":
        return "reduce-overhead" if cuda_graphs else "default"
    return "max-autotune" if cuda_graphs else "max-autotune-no-cudagraphs"
