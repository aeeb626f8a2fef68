#!/usr/bin/env python3
"""The one GPU check: everything archcalc needs measured on an H100/H200, in one call, within a budget.

    python benchmarks/gpu_check.py --out OUT_DIR [--budget-s 480] [--dry-run]

Phases (a plan with each phase's time budget is printed before anything starts):

1. references  every spec whose ``reference_model`` names torchvision or timm (both installed on the
               GPU machine, not on the CPU ones): load, analyze at a reduced input where the definition
               does not change, and compare with the real library model (parameters exactly, stage
               shapes). CPU work: it runs in a process pool *alongside* the GPU phases.
2. bench       ResNet-50, VGG-16, EfficientNet-B0, DenseNet-121, ConvNeXt-T and MobileNetV3-L in
               bfloat16 at batch 1, 64 and 256, eager and then ``torch.compile``d, each timed back to
               back and with the timm-style reference loop (``archcalc bench``'s runner).
3. memory      inference and training-step memory measured against archcalc's static prediction,
               where the memory model provides a measurement function (``archcalc.memory``).
4. summary     every phase's JSON plus ``SUMMARY.md`` in OUT_DIR.

A phase that would run past the budget is skipped and recorded as such (never silently). ``--dry-run``
runs the same code on the CPU with tiny inputs, one iteration and no compilation (the test-suite
runs it); its files say ``dry_run: true``.

On the GPU machine, which has torch, torchvision and timm but no network: install the wheels that
``benchmarks/gpu_wheels.sh`` fetched (``pip install --no-index --find-links wheels pydantic fvcore``)
and run from the repository root (``PYTHONPATH=.``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BENCH_MODELS = ("resnet50", "vgg16", "efficientnet_b0", "densenet121", "convnext_tiny", "mobilenet_v3_large")
MEMORY_MODELS = ("resnet50", "vgg16", "efficientnet_b0", "densenet121", "convnext_tiny")
BATCHES = (1, 64, 256)
# Share of the budget each phase may use (the references run in parallel with the GPU phases).
SHARES = {"bench_eager": 0.25, "bench_compiled": 0.45, "memory": 0.20, "summary": 0.05}


@dataclass
class Clock:
    """The budget: seconds since the start, and whether a phase still fits."""

    budget_s: float
    start: float = field(default_factory=time.monotonic)

    def elapsed(self) -> float:
        return time.monotonic() - self.start

    def left(self) -> float:
        return self.budget_s - self.elapsed()


@dataclass
class Settings:
    dry_run: bool
    device: str
    precision: str
    batches: tuple[int, ...]
    resolution: int | None  # None: each spec's own input
    references: int | None  # how many reference specs (None: all)
    bench_models: tuple[str, ...]
    memory_models: tuple[str, ...]
    compile: bool
    memory_batches: tuple[int, ...]  # training-mode batch norm needs more than one value per channel: >= 2


def settings(dry_run: bool) -> Settings:
    if dry_run:
        return Settings(True, "cpu", "float32", (1,), 32, 2, ("mobilenet_v3_large",), ("resnet50",), False, (2,))
    return Settings(False, "cuda", "bfloat16", BATCHES, None, None, BENCH_MODELS, MEMORY_MODELS, True,
                    tuple(max(b, 2) for b in BATCHES))


# --------------------------------------------------------------------------- phase 1: reference models


def reference_specs() -> list[Path]:
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml where PyYAML has it: the same data, 7x faster
    found = []
    for path in sorted((ROOT / "specs").glob("*.yaml")):
        doc = yaml.load(path.read_text(encoding="utf-8"), Loader=loader) or {}
        ref = doc.get("reference_model")
        if ref is None and "extends" in doc:  # a variant names its own, or inherits none
            continue
        if isinstance(ref, str) and ref.split(".", 1)[0] in ("torchvision", "timm"):
            found.append(path)
    return found


def check_reference(path: str) -> dict[str, Any]:
    """One spec against its reference model (runs in a worker process; CPU only)."""
    import torch

    torch.set_num_threads(1)
    from archcalc import analyze, load_spec
    from archcalc.torch.crosscheck import fast_resolution
    from archcalc.torch.reference import reference_check

    start = time.perf_counter()
    try:
        res = fast_resolution(path)
        spec = load_spec(path, scale={"resolution": res} if res else None)
        result = reference_check(spec.reference_model, analyze(spec))
        out = {"status": result.status, "message": result.reason, "resolution": res, "params": result.params,
               "params_total": result.params_total, "output_shape": result.output_shape,
               "stages_missing": [name for name, _, found in result.stages if not found]}
    except Exception as exc:  # noqa: BLE001 - one spec's failure is a record, not the end of the check
        out = {"status": "error", "message": f"{type(exc).__name__}: {exc}".splitlines()[0]}
    return {"spec": Path(path).name, **out, "seconds": round(time.perf_counter() - start, 2)}


def chosen_references(s: Settings) -> list[Path]:
    """The reference specs this run checks (all of them, or the first ``s.references``)."""
    found = reference_specs()
    return found[: s.references] if s.references else found


def start_references(s: Settings, workers: int,
                     specs: list[Path] | None = None) -> tuple[ProcessPoolExecutor, list[tuple[str, Future]]]:
    import multiprocessing

    specs = chosen_references(s) if specs is None else specs
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"))
    return pool, [(p.name, pool.submit(check_reference, str(p))) for p in specs]


def collect_references(futures: list[tuple[str, Future]], clock: Clock, reserve_s: float) -> list[dict[str, Any]]:
    out = []
    for name, fut in futures:
        try:
            out.append(fut.result(timeout=max(0.0, clock.left() - reserve_s)))
        except Exception as exc:  # noqa: BLE001 - a timeout or a dead worker: recorded
            fut.cancel()
            out.append({"spec": name, "status": "skipped" if isinstance(exc, TimeoutError) else "error",
                        "message": "over the time budget" if isinstance(exc, TimeoutError) else str(exc)})
    return out


# --------------------------------------------------------------------------- phase 2: throughput


def bench_phase(s: Settings, clock: Clock, *, compiled: bool, share_s: float,
                log: Callable[[str], None]) -> list[dict[str, Any]]:
    from archcalc import load_spec
    from archcalc.bench import BenchOptions, Workload, run_bench

    deadline = clock.elapsed() + share_s
    runs = []
    for name in s.bench_models:
        if clock.elapsed() > deadline:
            runs.append({"model": name, "compiled": compiled, "status": "skipped", "message": "over the phase budget"})
            log(f"  {name}: skipped (phase budget)")
            continue
        spec = load_spec(ROOT / "specs" / f"{name}.yaml",
                         scale={"resolution": s.resolution} if s.resolution else None)
        options = BenchOptions(device=s.device, precision=s.precision, batch_sizes=s.batches,
                               compile="default" if compiled else "none", cuda_graphs=False,
                               warmup_iters=1 if s.dry_run else None, iters=1 if s.dry_run else None,
                               repeats=1 if s.dry_run else None, min_repeat_s=0.0 if s.dry_run else None,
                               measure_peak=not s.dry_run)
        t0 = time.monotonic()
        try:
            run = run_bench([Workload(spec=spec, name=name)], options=options)
            runs.append({"model": name, "compiled": compiled, "status": "ok",
                         "run": json.loads(run.to_json())})
            log(f"  {name}: {time.monotonic() - t0:.1f} s")
        except Exception as exc:  # noqa: BLE001 - recorded, the check goes on
            runs.append({"model": name, "compiled": compiled, "status": "error",
                         "message": f"{type(exc).__name__}: {exc}".splitlines()[0]})
            log(f"  {name}: error {exc}")
    return runs


# --------------------------------------------------------------------------- phase 3: memory


def memory_phase(s: Settings, clock: Clock, *, share_s: float, log: Callable[[str], None]) -> list[dict[str, Any]]:
    """Measured against predicted memory, through the memory model's measurement function."""
    try:
        from archcalc.memory import measure_memory  # type: ignore[attr-defined]
    except ImportError:
        return [{"status": "skipped", "message": "archcalc.memory has no measure_memory yet"}]
    from archcalc import load_spec

    deadline = clock.elapsed() + share_s
    out = []
    for name in s.memory_models:
        spec = load_spec(ROOT / "specs" / f"{name}.yaml",
                         scale={"resolution": s.resolution} if s.resolution else None)
        for mode in ("inference", "training"):
            for batch in s.memory_batches:
                if clock.elapsed() > deadline:
                    out.append({"model": name, "mode": mode, "batch": batch, "status": "skipped",
                                "message": "over the phase budget"})
                    continue
                try:
                    record = measure_memory(spec, batch_size=batch, mode=mode, device=s.device)
                    out.append({"model": name, "mode": mode, "batch": batch, "status": "ok",
                                "record": record if isinstance(record, dict) else _plain(record)})
                except Exception as exc:  # noqa: BLE001 - recorded
                    out.append({"model": name, "mode": mode, "batch": batch, "status": "error",
                                "message": f"{type(exc).__name__}: {exc}".splitlines()[0]})
        log(f"  {name}: done")
    return out


def _plain(record: Any) -> Any:
    from dataclasses import asdict, is_dataclass

    if is_dataclass(record):
        return asdict(record)
    if hasattr(record, "model_dump"):
        return record.model_dump()
    return repr(record)


# --------------------------------------------------------------------------- environment and summary


def environment(s: Settings) -> dict[str, Any]:
    import torch

    env: dict[str, Any] = {"python": platform.python_version(), "torch": torch.__version__,
                           "platform": platform.platform(), "cpus": os.cpu_count(), "dry_run": s.dry_run}
    for package in ("torchvision", "timm", "fvcore", "pydantic"):
        try:
            env[package] = __import__(package).__version__
        except Exception:  # noqa: BLE001 - absent or broken: say so
            env[package] = None
    if torch.cuda.is_available():
        env.update(device=torch.cuda.get_device_name(), cuda=torch.version.cuda,
                   cudnn=torch.backends.cudnn.version(),
                   memory_bytes=torch.cuda.get_device_properties(0).total_memory)
    else:
        env["device"] = "cpu"
    return env


def summary_markdown(env: dict[str, Any], refs: list[dict[str, Any]], bench: list[dict[str, Any]],
                     memory: list[dict[str, Any]], elapsed_s: float) -> str:
    lines = [f"# GPU check{' (dry run on the CPU: not measurements)' if env.get('dry_run') else ''}", "",
             f"Device {env.get('device')}, CUDA {env.get('cuda')}, cuDNN {env.get('cudnn')}, torch {env.get('torch')}, "
             f"torchvision {env.get('torchvision')}, timm {env.get('timm')}; {elapsed_s:.0f} s in all.", ""]
    counts: dict[str, int] = {}
    for r in refs:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    lines += ["## Reference models", "", ", ".join(f"{v} {k}" for k, v in sorted(counts.items())) or "none", ""]
    lines += ["| spec | status | message |", "|---|---|---|"]
    lines += [f"| {r['spec']} | {r['status']} | {(r.get('message') or '').replace('|', '/')} |"
              for r in refs if r["status"] != "ok"]
    lines += ["", "## Throughput (images/s; reference loop difference)", "",
              "| model | compiled | batch | status | images/s | ref. diff |", "|---|---|---|---|---|---|"]
    for entry in bench:
        if entry["status"] != "ok":
            lines.append(f"| {entry['model']} | {entry['compiled']} | | {entry['status']} | | |")
            continue
        for model in entry["run"]["models"]:
            for b in model["results"]:
                ips = f"{b['images_per_s']:,.0f}" if b.get("images_per_s") else ""
                diff = f"{b['reference_difference']:+.1%}" if b.get("reference_difference") is not None else ""
                lines.append(f"| {entry['model']} | {entry['compiled']} | {b['batch_size']} | {b['status']} | "
                             f"{ips} | {diff} |")
    lines += ["", "## Memory (peak bytes: the memory model's prediction against the measurement)", "",
              "| model | mode | batch | precision | status | predicted | measured | error |", "|---|---|---|---|---|---|---|---|"]
    for m in memory:
        r = m.get("record") if isinstance(m.get("record"), dict) else {}
        error = f"{r['relative_error']:+.2%}" if r.get("relative_error") is not None else m.get("message", "")
        lines.append(f"| {m.get('model', '')} | {m.get('mode', '')} | {m.get('batch', '')} | {r.get('precision', '')} | "
                     f"{m['status']} | {_mib(r.get('predicted_bytes'))} | {_mib(r.get('measured_bytes'))} | {error} |")
    return "\n".join(lines) + "\n"


def _mib(n: int | None) -> str:
    return "" if n is None else f"{n / 2**20:,.1f} MiB"


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True, help="output folder (created; files in it are replaced)")
    p.add_argument("--budget-s", type=float, default=480.0, help="the whole check's time budget (default 480 s)")
    p.add_argument("--dry-run", action="store_true", help="CPU, tiny inputs, one iteration, no compilation")
    p.add_argument("--workers", type=int, default=None, help="reference-check processes (default: CPUs - 2)")
    args = p.parse_args(argv)

    s = settings(args.dry_run)
    clock = Clock(args.budget_s)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    def log(text: str) -> None:
        print(f"[{clock.elapsed():6.1f} s] {text}", flush=True)

    if not s.dry_run:
        import torch

        if not torch.cuda.is_available():
            print("gpu_check: CUDA is not available (use --dry-run for the CPU rehearsal)", file=sys.stderr)
            return 2
    budget = {k: v * args.budget_s for k, v in SHARES.items()}
    ref_specs = chosen_references(s)  # read once: the plan's count and the pool's jobs
    n_refs = len(ref_specs)
    print(f"gpu_check plan (budget {args.budget_s:.0f} s{', dry run on the CPU' if s.dry_run else ''}):")
    print(f"  references      {n_refs} specs against torchvision/timm, CPU pool alongside the GPU phases")
    print(f"  bench eager     {len(s.bench_models)} models x batches {list(s.batches)}, {s.precision}: "
          f"<= {budget['bench_eager']:.0f} s")
    print(f"  bench compiled  the same with torch.compile: <= {budget['bench_compiled']:.0f} s"
          + ("" if s.compile else " (not in a dry run)"))
    print(f"  memory          {len(s.memory_models)} models, inference and training: <= {budget['memory']:.0f} s")
    print(f"  summary         JSON + SUMMARY.md into {out}", flush=True)

    workers = args.workers or max(1, min(12, (os.cpu_count() or 2) - 2))
    pool, futures = start_references(s, workers, ref_specs)
    try:
        env = environment(s)
        log("bench eager")
        bench = bench_phase(s, clock, compiled=False, share_s=budget["bench_eager"], log=log)
        if s.compile:
            log("bench compiled")
            bench += bench_phase(s, clock, compiled=True, share_s=budget["bench_compiled"], log=log)
        log("memory")
        memory = memory_phase(s, clock, share_s=budget["memory"], log=log)
        log("references (collecting)")
        refs = collect_references(futures, clock, reserve_s=budget["summary"])
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    documents = {"environment.json": env, "references.json": refs, "bench.json": bench, "memory.json": memory}
    for name, doc in documents.items():
        (out / name).write_text(json.dumps(doc, indent=1, default=str) + "\n", encoding="utf-8")
    (out / "SUMMARY.md").write_text(summary_markdown(env, refs, bench, memory, clock.elapsed()), encoding="utf-8")
    failed = (sum(r["status"] in ("failed", "error") for r in refs) + sum(b["status"] == "error" for b in bench)
              + sum(m["status"] == "error" for m in memory))
    log(f"done: {len(refs)} reference checks, {len(bench)} bench runs, {len(memory)} memory records; "
        f"{failed} failures")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
