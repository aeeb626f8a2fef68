"""Result records of ``archcalc bench``: what a run measured, as plain data (no torch).

The records are pydantic models so that a results file can be read back and validated
(:meth:`BenchRun.model_validate_json`) and its JSON Schema printed (``BenchRun.model_json_schema()``).
This module is also the one reader of results files: :func:`read_runs` (validated records, for
``bench --show`` and the sweep summary) and :func:`read_documents` (the parsed JSON, which the
charts read leniently so that files from an older or newer bench still plot), both over
:func:`result_files`.
Units are in every field name: ``_s`` seconds, ``_bytes`` bytes, ``macs`` multiply-accumulates
(1 MAC = 2 FLOPs), ``_per_s`` per second.
"""

from __future__ import annotations

__all__ = ["SCHEMA_ID", "DEVICES", "PRECISIONS", "COMPILE_MODES", "STATUSES", "TimingStats", "Environment",
           "Setup", "PeakMeasurement", "MemoryPrediction", "BatchResult", "ModelResult", "BenchRun",
           "result_files", "read_run", "read_runs", "read_document", "read_documents", "latest_runs"]

import json
from pathlib import Path
from typing import Any, Iterable, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import ArchcalcError, Location
from .choices import COMPILE_MODES, DEVICES, PRECISIONS, STATUSES, CompileMode, Device, Precision, Status

SCHEMA_ID = "archcalc.bench/1"


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TimingStats(_Record):
    """Per-iteration latency (one forward pass of one batch) over several repeats, in seconds."""

    median_s: float
    p10_s: float
    p90_s: float
    mean_s: float
    min_s: float
    max_s: float
    spread: float = Field(description="(p90 - p10) / median")
    samples_s: list[float] = Field(description="one sample per repeat: repeat time / iters_per_sample")
    iters_per_sample: int


class Environment(_Record):
    """Where the numbers were measured."""

    device: Device
    device_name: str
    device_slug: str
    on_cpu: bool
    notice: Optional[str] = Field(None, description="set when the run is not on a GPU, e.g. no CUDA")
    torch_version: str
    cuda_version: Optional[str] = None
    cudnn_version: Optional[int] = None
    driver_version: Optional[str] = None
    compute_capability: Optional[str] = None
    device_memory_bytes: Optional[int] = None
    multiprocessor_count: Optional[int] = None
    cpu_model: Optional[str] = None
    cpu_threads: int = Field(description="torch.get_num_threads() during the run")
    cpu_count: Optional[int] = None
    load_average: Optional[list[float]] = Field(None, description="os.getloadavg() (1, 5, 15 min) at the start: "
                                                                   "other work competing for the CPU")
    python_version: str
    platform: str
    archcalc_version: str
    git_commit: Optional[str] = None


class Setup(_Record):
    """How every configuration was run."""

    device: Device
    precision: Precision
    precision_detail: str
    channels_last: bool
    compile: CompileMode
    compile_mode: Optional[str] = Field(None, description="the mode passed to torch.compile, if any")
    cuda_graphs: bool
    cudnn_benchmark: bool
    inference_mode: bool = True
    warmup_iters: int
    iters: Optional[int] = Field(None, description="iterations per repeat; null: chosen per batch from min_repeat_s")
    min_repeat_s: float
    repeats: int
    tolerance: float = Field(description="largest relative difference between the two timing methods that counts "
                                         "as agreement")
    timer: str
    reference_timer: str


class PeakMeasurement(_Record):
    """The device's measured matrix-multiply throughput at the run's precision."""

    precision: Precision
    matmul_n: int = Field(description="square matmul size: n x n @ n x n")
    macs_per_matmul: int = Field(description="n**3 multiply-accumulates (= 2 n**3 FLOPs)")
    timing: TimingStats
    macs_per_s: float = Field(description="the peak: macs_per_matmul / fastest sample (slow-downs only come "
                                          "from disturbances)")
    median_macs_per_s: float = Field(description="macs_per_matmul / median sample")


class MemoryPrediction(_Record):
    """The static analyzer's memory figures for one batch at the run's precision."""

    param_bytes: int
    input_bytes: int
    activation_bytes: int = Field(description="activations alive at the inference peak besides the input "
                                              "(liveness model, archcalc.memory.liveness)")
    total_bytes: int


class BatchResult(_Record):
    """One batch size of one model."""

    batch_size: int
    status: Status
    message: Optional[str] = None
    warmup_s: Optional[float] = Field(None, description="wall time of the warm-up (compile, cudnn autotuning)")
    timing: Optional[TimingStats] = Field(None, description="back-to-back iterations, one timer per repeat")
    reference: Optional[TimingStats] = Field(None, description="synchronize + perf_counter around every iteration")
    images_per_s: Optional[float] = None
    images_per_s_p10: Optional[float] = Field(None, description="from the p90 latency (slow end)")
    images_per_s_p90: Optional[float] = Field(None, description="from the p10 latency (fast end)")
    reference_images_per_s: Optional[float] = None
    reference_difference: Optional[float] = Field(None, description="reference median / timing median - 1")
    agrees: Optional[bool] = None
    macs_per_batch: Optional[int] = None
    achieved_macs_per_s: Optional[float] = None
    fraction_of_peak: Optional[float] = None
    peak_memory_bytes: Optional[int] = Field(None, description="torch.cuda.max_memory_allocated after warm-up; "
                                                               "null on the CPU")
    warmup_peak_memory_bytes: Optional[int] = Field(None, description="torch.cuda.max_memory_allocated over the "
                                                                      "warm-up (compilation, autotuning, graph capture)")
    memory_note: Optional[str] = None
    predicted_memory: Optional[MemoryPrediction] = None


class ModelResult(_Record):
    """One spec: its static cost and the measured batch sizes."""

    name: str
    spec_path: Optional[str] = None
    input_shape: list[int]
    params: int = Field(description="static count (archcalc analyze)")
    model_params: Optional[int] = Field(None, description="sum of numel over the built module's parameters")
    macs_per_image: int = Field(description="static multiply-accumulates per image (1 MAC = 2 FLOPs)")
    model_source: str
    message: Optional[str] = None
    results: list[BatchResult]


class BenchRun(_Record):
    """One ``archcalc bench`` run: environment, setup, measured peak and every model."""

    schema_id: Literal["archcalc.bench/1"] = Field(alias="schema")
    created: str = Field(description="UTC, ISO 8601")
    device: Device
    on_cpu: bool
    notice: Optional[str] = None
    environment: Environment
    setup: Setup
    peak: Optional[PeakMeasurement] = None
    peak_message: Optional[str] = None
    notes: list[str] = Field(default_factory=list)
    units: dict[str, str] = Field(default_factory=lambda: dict(_UNITS))
    models: list[ModelResult]

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    def to_json(self) -> str:
        return self.model_dump_json(indent=2, by_alias=True) + "\n"


_UNITS = {
    "macs": "multiply-accumulates; 1 MAC = 2 FLOPs",
    "_s": "seconds",
    "_bytes": "bytes",
    "_per_s": "per second",
    "fraction_of_peak": "achieved_macs_per_s / peak.macs_per_s (same precision, same run)",
}


# --------------------------------------------------------------------------- reading results files


def result_files(paths: Iterable[str | Path]) -> list[Path]:
    """The results files named by ``paths``: a file as given, a directory every ``*.json`` below it."""
    files: list[Path] = []
    for p in map(Path, paths):
        files.extend(sorted(p.rglob("*.json")) if p.is_dir() else [p])
    return files


def read_run(path: str | Path) -> BenchRun:
    """One results file, validated; a file that cannot be read or is not a run is an :class:`ArchcalcError`."""
    where = Location(file=str(path))
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ArchcalcError(f"cannot read: {exc.strerror}", where) from None
    except UnicodeDecodeError as exc:
        raise ArchcalcError(f"cannot read: {exc}", where) from None
    try:
        return BenchRun.model_validate_json(text)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(x) for x in first["loc"]) or "<document>"
        raise ArchcalcError(f"not an archcalc bench results file: {field}: {first['msg']}", where) from None


def read_runs(paths: Iterable[str | Path]) -> list[tuple[str, BenchRun]]:
    """``(file, run)`` for every results file (a directory means every ``*.json`` below it)."""
    return [(str(f), read_run(f)) for f in result_files(paths)]


def read_document(path: str | Path) -> Any:
    """One results file as parsed JSON, not validated (see :mod:`archcalc.plots.benchdata`)."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ArchcalcError("no such results file", Location(file=str(path))) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ArchcalcError(f"cannot read bench results: {exc}", Location(file=str(path))) from None


def read_documents(paths: Iterable[str | Path]) -> list[tuple[str, Any]]:
    """``(file, parsed JSON)`` for every results file (a directory means every ``*.json`` below it)."""
    return [(str(f), read_document(f)) for f in result_files(paths)]


def latest_runs(runs: Iterable[tuple[str, BenchRun]]) -> dict[tuple, list[tuple[str, BenchRun, ModelResult]]]:
    """Per set-up (device name, device, precision, channels-last, compile, CUDA graphs), the newest
    ``(file, run, model)`` of each model name, in first-seen model order."""
    groups: dict[tuple, dict[str, tuple[str, BenchRun, ModelResult]]] = {}
    for file, run in runs:
        s = run.setup
        key = (run.environment.device_name, s.device, s.precision, s.channels_last, s.compile, s.cuda_graphs)
        group = groups.setdefault(key, {})
        for m in run.models:
            if m.name not in group or group[m.name][1].created < run.created:
                group[m.name] = (file, run, m)
    return {k: list(v.values()) for k, v in groups.items()}
