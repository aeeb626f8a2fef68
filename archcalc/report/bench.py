"""``archcalc bench`` results as text: one run (:func:`render_bench`: a table for the terminal or
Markdown, CSV or JSON) and many results files (:func:`render_summary`: the sweep's Markdown summary).

The run table merges the static report (parameters, multiply-adds per image, predicted memory)
with the measured numbers. The summary groups runs by set-up (device, precision, layout, compile
mode, CUDA graphs); within a group the newest run of each model wins (:func:`archcalc.bench.records.latest_runs`).
Per group: images/s by model and batch size, then each model's best batch size with achieved
MAC/s, fraction of the measured peak and memory. Records in, strings out; reading results files
is :mod:`archcalc.bench.records`.
"""

from __future__ import annotations

__all__ = ["BENCH_FORMATS", "render_bench", "bench_rows", "CSV_COLUMNS", "ms_text", "render_summary"]

import csv
import io
from pathlib import Path
from typing import Any, Sequence

from tabulate import tabulate

from ..bench.choices import BENCH_FORMATS
from ..bench.records import BatchResult, BenchRun, ModelResult, latest_runs
from ..units import human_bytes, human_count, shape_text


CSV_COLUMNS = (
    "device", "on_cpu", "notice", "device_name", "torch_version", "precision", "channels_last", "compile",
    "cuda_graphs", "model", "batch_size", "status", "images_per_s", "latency_ms_median", "latency_ms_p10",
    "latency_ms_p90", "spread", "reference_latency_ms_median", "reference_difference", "agrees",
    "macs_per_image", "achieved_macs_per_s", "peak_macs_per_s", "fraction_of_peak", "peak_memory_bytes",
    "predicted_memory_bytes", "predicted_activation_bytes", "predicted_param_bytes", "warmup_s", "message",
)


def render_bench(run: BenchRun, *, fmt: str = "table") -> str:
    if fmt not in BENCH_FORMATS:
        raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(BENCH_FORMATS)}")
    if fmt == "json":
        return run.to_json()
    if fmt == "csv":
        return _csv(run)
    return _table(run, markdown=fmt == "markdown")


# --------------------------------------------------------------------------- csv


def bench_rows(run: BenchRun) -> list[dict[str, Any]]:
    """One flat record per model and batch size (the CSV rows)."""
    s, env = run.setup, run.environment
    rows = []
    for m in run.models:
        for r in m.results:
            t, ref, pred = r.timing, r.reference, r.predicted_memory
            rows.append({
                "device": run.device, "on_cpu": run.on_cpu, "notice": run.notice or "",
                "device_name": env.device_name, "torch_version": env.torch_version, "precision": s.precision,
                "channels_last": s.channels_last, "compile": s.compile, "cuda_graphs": s.cuda_graphs,
                "model": m.name, "batch_size": r.batch_size, "status": r.status,
                "images_per_s": r.images_per_s,
                "latency_ms_median": t.median_s * 1e3 if t else None,
                "latency_ms_p10": t.p10_s * 1e3 if t else None, "latency_ms_p90": t.p90_s * 1e3 if t else None,
                "spread": t.spread if t else None,
                "reference_latency_ms_median": ref.median_s * 1e3 if ref else None,
                "reference_difference": r.reference_difference, "agrees": r.agrees,
                "macs_per_image": m.macs_per_image, "achieved_macs_per_s": r.achieved_macs_per_s,
                "peak_macs_per_s": run.peak.macs_per_s if run.peak else None,
                "fraction_of_peak": r.fraction_of_peak, "peak_memory_bytes": r.peak_memory_bytes,
                "predicted_memory_bytes": pred.total_bytes if pred else None,
                "predicted_activation_bytes": pred.activation_bytes if pred else None,
                "predicted_param_bytes": pred.param_bytes if pred else None,
                "warmup_s": r.warmup_s, "message": r.message or "",
            })
    return rows


def _csv(run: BenchRun) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in bench_rows(run):
        writer.writerow({k: ("" if v is None else v) for k, v in row.items()})
    return buf.getvalue()


# --------------------------------------------------------------------------- table

_HEADERS = ("Model", "Batch", "Status", "Images/s", "Latency (ms)", "p10-p90 (ms)", "Spread", "Ref. (ms)",
            "Ref. diff", "MACs/image", "Achieved MAC/s", "Of peak", "Peak memory", "Predicted memory")
_ALIGN = ("left", "right", "left", *["right"] * 11)


def ms_text(seconds: float) -> str:
    """Milliseconds, three significant digits below 100 ms: ``0.0465 -> '46.5'``, ``1.02 -> '1,020'``."""
    ms = seconds * 1e3
    return f"{ms:.3g}" if ms < 100 else f"{ms:,.0f}"


def _fraction(value: float | None) -> str:
    """Fraction of the measured peak; ``!`` above it."""
    if value is None:
        return "-"
    return f"{value:.1%}" + (" !" if value > 1 else "")


def _predicted(r: BatchResult) -> str:
    return human_bytes(r.predicted_memory.total_bytes) if r.predicted_memory else "-"


def _peak_memory(r: BatchResult) -> str:
    return human_bytes(r.peak_memory_bytes) if r.peak_memory_bytes is not None else "n/a (CPU)"


def _row(m: ModelResult, r: BatchResult) -> list[str]:
    pred = _predicted(r)
    head = [m.name, str(r.batch_size)]
    if r.status != "ok" or r.timing is None or r.reference is None:
        return [*head, r.status.upper() if r.status == "oom" else r.status, *["-"] * 6,
                human_count(m.macs_per_image), "-", "-", "-", pred]
    t = r.timing
    diff = r.reference_difference or 0.0
    flag = "" if r.agrees else " !"
    return [
        *head, "ok", f"{r.images_per_s:,.1f}" if r.images_per_s < 1e4 else f"{r.images_per_s:,.0f}",
        ms_text(t.median_s), f"{ms_text(t.p10_s)}-{ms_text(t.p90_s)}", f"{t.spread:.1%}", ms_text(r.reference.median_s),
        f"{diff:+.1%}{flag}", human_count(m.macs_per_image), human_count(r.achieved_macs_per_s or 0),
        _fraction(r.fraction_of_peak),
        _peak_memory(r), pred,
    ]


def _title_lines(run: BenchRun) -> list[str]:
    s, env = run.setup, run.environment
    where = f"{env.device_name} ({run.device})"
    if run.on_cpu:
        where = f"CPU: {env.device_name}, {env.cpu_threads} thread{'s' if env.cpu_threads != 1 else ''}"
    layout = "channels-last" if s.channels_last else "contiguous (NCHW)"
    compile_ = "eager" if s.compile == "none" else f"torch.compile mode={s.compile_mode}"
    graphs = "CUDA graphs" if s.cuda_graphs else "no CUDA graphs"
    lines = [f"archcalc bench on {where}: {s.precision}, {layout}, {compile_}, {graphs}"]
    if run.notice:
        lines.append(f"NOTE: {run.notice}")
    sw = [f"torch {env.torch_version}"]
    if not run.on_cpu:
        sw += [f"CUDA {env.cuda_version}", f"cuDNN {env.cudnn_version}", f"driver {env.driver_version}",
               f"compute capability {env.compute_capability}"]
    if run.on_cpu and env.load_average:
        sw.append(f"load average {env.load_average[0]:.2f} on {env.cpu_count} CPUs at the start")
    lines.append("; ".join(sw) + f"; {s.precision_detail}")
    if run.peak is not None:
        p = run.peak
        lines.append(f"measured peak: {human_count(p.macs_per_s)} MAC/s = {human_count(2 * p.macs_per_s)} FLOP/s "
                     f"({p.precision} matmul {p.matmul_n}x{p.matmul_n}x{p.matmul_n}, fastest of {len(p.timing.samples_s)}, "
                     f"median {human_count(p.median_macs_per_s)} MAC/s; "
                     f"1 MAC = 2 FLOPs)")
    else:
        lines.append(f"measured peak: n/a ({run.peak_message})")
    lines.extend(f"note: {n}" for n in run.notes)
    return lines


def _table(run: BenchRun, *, markdown: bool) -> str:
    s = run.setup
    body = [_row(m, r) for m in run.models for r in m.results]
    table = tabulate(body, headers=_HEADERS, tablefmt="github" if markdown else "simple",
                     colalign=_ALIGN, disable_numparse=True)
    title = _title_lines(run)
    statics = [f"{m.name}: input {shape_text(m.input_shape)}, {human_count(m.params)} params"
               + (f" (built module: {human_count(m.model_params)})" if m.model_params not in (None, m.params) else "")
               + f", {human_count(m.macs_per_image)} MACs/image (static); model from {m.model_source}"
               for m in run.models]
    footer = [
        f"Latency: median over {s.repeats} repeats of back-to-back iterations ({s.timer}); "
        f"Ref.: {s.reference_timer}; Ref. diff = Ref. / Latency - 1, '!' when beyond {s.tolerance:.0%}.",
        "Achieved MAC/s = static MACs/image x images/s; Of peak = achieved / measured matmul peak "
        "(1 MAC = 2 FLOPs).",
        "Predicted memory = parameters + the activations' live peak (the input included) at this precision "
        "(archcalc's liveness model); Peak memory = "
        + ("n/a on the CPU (torch's CPU allocator keeps no peak counter)." if run.on_cpu else
           "torch.cuda.max_memory_allocated while timing (after warm-up)."),
    ]
    if any((r.fraction_of_peak or 0) > 1 for m in run.models for r in m.results):
        footer.append("Of peak '!': above the measured matmul peak. Either the peak measurement was disturbed or "
                      "too small for the device (see --peak-size), or the convolutions ran fast algorithms "
                      "(Winograd, FFT) that need fewer multiplications than the static count of direct convolution.")
    if any(r.agrees is False for m in run.models for r in m.results):
        footer.append(f"Ref. diff '!': the two timers disagree by more than {s.tolerance:.0%}; do not trust "
                      "that row (a busy machine, too few iterations, or per-iteration synchronization cost).")
    problems = [f"{m.name} batch {r.batch_size}: {r.status}: {r.message}" for m in run.models for r in m.results
                if r.status != "ok" and r.message]
    problems += [f"{m.name}: {m.message}" for m in run.models if m.message and not m.results]
    if markdown:
        head = "\n".join(f"**{line}**" if i == 0 else f"{line}  " for i, line in enumerate(title))
        parts = [head, "", "\n".join(f"- {x}" for x in statics), "", table, "",
                 "\n".join(f"- {x}" for x in footer + problems)]
    else:
        parts = ["\n".join(title), "", "\n".join(statics), "", table, "", "\n".join(footer + problems)]
    return "\n".join(parts).rstrip() + "\n"


# --------------------------------------------------------------------------- the sweep summary


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


def render_summary(runs: Sequence[tuple[str, BenchRun]], *, title: str = "archcalc bench summary", base: str | Path | None = None) -> str:
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
            lines.append(
                f"| {m.name} | {r.batch_size} | {r.images_per_s:,.1f} | {ms_text(t.median_s)} "
                f"({ms_text(t.p10_s)}-{ms_text(t.p90_s)}) | {human_count(r.achieved_macs_per_s or 0)} | {_fraction(r.fraction_of_peak)} "
                f"| {_peak_memory(r)} | {_predicted(r)} "
                f"| {r.reference_difference:+.1%} | [{Path(file).name}]({link}) |")
        lines.append("")
    lines += ["'!' after a fraction of peak: above the measured matmul peak (a disturbed or too small peak "
              "measurement, or fast convolution algorithms such as Winograd doing fewer multiplications than the "
              "static count); '!' after images/s: the two timers disagree.", ""]
    return "\n".join(lines)
