"""A Markdown summary of many ``archcalc bench`` results files (the sweep's report).

Runs are grouped by set-up (device, precision, layout, compile mode, CUDA graphs); within a group
the newest run of each model wins. Per group: images/s by model and batch size, then each
model's best batch size with achieved MAC/s, fraction of the measured peak and memory.
"""

from __future__ import annotations

__all__ = ["load_runs", "latest_runs", "render_summary"]

from pathlib import Path
from typing import Iterable

from ..errors import ArchcalcError, Location
from ..units import human_bytes, human_count
from .records import BatchResult, BenchRun, ModelResult
from .render import ms_text

Loaded = tuple[str, BenchRun]


def load_runs(paths: Iterable[str | Path]) -> list[Loaded]:
    """``(file, run)`` for every results file (a directory means every ``*.json`` below it)."""
    from pydantic import ValidationError

    files: list[Path] = []
    for p in map(Path, paths):
        files.extend(sorted(p.rglob("*.json")) if p.is_dir() else [p])
    out = []
    for f in files:
        try:
            out.append((str(f), BenchRun.model_validate_json(f.read_text(encoding="utf-8"))))
        except OSError as exc:
            raise ArchcalcError(f"cannot read: {exc.strerror}", Location(file=str(f))) from None
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(x) for x in first["loc"]) or "<document>"
            raise ArchcalcError(f"not an archcalc bench results file: {where}: {first['msg']}",
                                Location(file=str(f))) from None
    return out


def _setup_key(run: BenchRun) -> tuple:
    s = run.setup
    return (run.environment.device_name, s.device, s.precision, s.channels_last, s.compile, s.cuda_graphs)


def latest_runs(runs: list[Loaded]) -> dict[tuple, list[tuple[str, BenchRun, ModelResult]]]:
    """Per set-up, the newest ``(file, run, model)`` of each model name, in first-seen model order."""
    groups: dict[tuple, dict[str, tuple[str, BenchRun, ModelResult]]] = {}
    for file, run in runs:
        group = groups.setdefault(_setup_key(run), {})
        for m in run.models:
            if m.name not in group or group[m.name][1].created < run.created:
                group[m.name] = (file, run, m)
    return {k: list(v.values()) for k, v in groups.items()}


def _cell(r: BatchResult | None) -> str:
    if r is None:
        return ""
    if r.status != "ok":
        return r.status.upper() if r.status == "oom" else r.status
    flag = "" if r.agrees else " !"
    return f"{r.images_per_s:,.0f}{flag}" if r.images_per_s >= 100 else f"{r.images_per_s:,.1f}{flag}"


def _best(m: ModelResult) -> BatchResult | None:
    """The fastest batch size whose two timers agree (any fastest one if none agrees)."""
    ok = [r for r in m.results if r.status == "ok" and r.images_per_s]
    trusted = [r for r in ok if r.agrees] or ok
    return max(trusted, key=lambda r: r.images_per_s) if trusted else None


def render_summary(runs: list[Loaded], *, title: str = "archcalc bench summary", base: str | Path | None = None) -> str:
    """Markdown: one section per set-up. File links are relative to ``base`` when given."""
    lines = [f"# {title}", ""]
    if not runs:
        return "\n".join(lines + ["No results.", ""])
    for key, entries in latest_runs(runs).items():
        device_name, device, precision, channels_last, compile_, graphs = key
        run0 = entries[0][1]
        env = run0.environment
        layout = "channels-last" if channels_last else "NCHW"
        mode = "eager" if compile_ == "none" else f"torch.compile {run0.setup.compile_mode}"
        lines += [f"## {device_name} ({device}): {precision}, {layout}, {mode}, "
                  f"{'CUDA graphs' if graphs else 'no CUDA graphs'}", ""]
        if run0.on_cpu:
            lines += [f"**{run0.notice or 'CPU run'}**", ""]
        sw = [f"torch {env.torch_version}"]
        if device == "cuda":
            sw += [f"CUDA {env.cuda_version}", f"cuDNN {env.cudnn_version}", f"driver {env.driver_version}"]
        else:
            sw += [f"{env.cpu_threads} thread{'s' if env.cpu_threads != 1 else ''}"]
            if env.load_average:
                sw += [f"load average {env.load_average[0]:.2f} on {env.cpu_count} CPUs at the start"]
        peaks = [human_count(v) for v in sorted({r.peak.macs_per_s for _, r, _ in entries if r.peak})]
        lines += ["; ".join(sw) + f". Measured {precision} matmul peak: "
                  + (", ".join(f"{p} MAC/s" for p in peaks) or "n/a") + " (1 MAC = 2 FLOPs).", ""]
        batches = sorted({r.batch_size for _, _, m in entries for r in m.results})
        lines += ["Images/s (median; '!' = the reference loop disagrees beyond tolerance):", "",
                  "| Model | MACs/image | " + " | ".join(f"b={b}" for b in batches) + " |",
                  "|---|---:|" + "---:|" * len(batches)]
        for _, _, m in entries:
            by_batch = {r.batch_size: r for r in m.results}
            lines.append(f"| {m.name} | {human_count(m.macs_per_image)} | "
                         + " | ".join(_cell(by_batch.get(b)) for b in batches) + " |")
        lines += ["", "Best batch size per model (the fastest whose two timers agree):", "",
                  "| Model | Batch | Images/s | Latency (ms) p10-p90 | Achieved MAC/s | Of peak | Peak memory "
                  "| Predicted memory | Ref. diff | Results file |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
        for file, _, m in entries:
            r = _best(m)
            link = str(Path(file).relative_to(base)) if base and Path(file).is_relative_to(base) else file
            if r is None:
                lines.append(f"| {m.name} | - | no batch size ran | | | | | | | [{Path(file).name}]({link}) |")
                continue
            t = r.timing
            mem = human_bytes(r.peak_memory_bytes) if r.peak_memory_bytes is not None else "n/a (CPU)"
            frac = "-" if r.fraction_of_peak is None else f"{r.fraction_of_peak:.1%}" + (
                " !" if r.fraction_of_peak > 1 else "")
            lines.append(
                f"| {m.name} | {r.batch_size} | {r.images_per_s:,.1f} | {ms_text(t.median_s)} "
                f"({ms_text(t.p10_s)}-{ms_text(t.p90_s)}) | {human_count(r.achieved_macs_per_s or 0)} | {frac} "
                f"| {mem} | {human_bytes(r.predicted_memory.total_bytes) if r.predicted_memory else '-'} "
                f"| {r.reference_difference:+.1%} | [{Path(file).name}]({link}) |")
        lines.append("")
    lines += ["'!' after a fraction of peak: above the measured matmul peak (a disturbed or too small peak "
              "measurement, or fast convolution algorithms such as Winograd doing fewer multiplications than the "
              "static count); '!' after images/s: the two timers disagree.", ""]
    return "\n".join(lines)
