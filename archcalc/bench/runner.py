"""Run a benchmark sweep: for every workload and batch size, time the model and record it.

A :class:`Workload` pairs a spec (for the static cost) with a *model factory* (a callable
returning a ``torch.nn.Module``; default ``archcalc.build_model(spec)``). One configuration:

1. input created on the device (``torch.randn``, channels-last when asked);
2. the callable prepared: eager, ``torch.compile`` (fresh, ``dynamic=False``) or a captured
   CUDA graph;
3. warm-up (compilation and cuDNN autotuning happen here; timed separately, never counted);
4. back-to-back timing (:func:`~archcalc.bench.timing.time_back_to_back`) and the reference
   loop (:func:`~archcalc.bench.timing.time_reference`), repeats interleaved, on the same
   callable and input;
5. peak memory since the end of the warm-up (CUDA).

Before anything is allocated, each batch's static memory prediction (parameters + the activations'
live peak, the input included, + convolution workspace, :mod:`archcalc.memory`) is compared with the device's memory: when even the smallest batch
of a workload cannot fit the run is refused (:class:`~archcalc.memory.MemoryLimitError`),
larger batches that cannot fit are recorded as ``skipped`` with the prediction in the message
(``BenchOptions.allow_large`` runs them anyway). Running out of memory at a batch size is
recorded (status ``oom``) and the larger sizes of that model are skipped; other errors are
recorded (status ``error``) and the sweep goes on.
Everything runs under ``torch.inference_mode()`` with the model in ``eval()`` mode.
"""

from __future__ import annotations

__all__ = ["run_bench"]

import gc
import time
from datetime import datetime, timezone
from typing import Any, Callable

from ..analysis import analyze
from ..errors import Location
from ..spec import Spec
from .env import environment
from ..memory import MemoryLimitError, is_oom, memory_refusal, predicted_peak_bytes
from .options import DEFAULTS, BenchOptions, ModelFactory, Progress, ResolvedOptions, Workload, resolve_options
from .precision import precision_flags, torch_dtype
from .records import SCHEMA_ID, BatchResult, BenchRun, MemoryPrediction, ModelResult, PeakMeasurement, Setup
from .stats import relative_difference, summarize
from .timing import choose_iters, synchronizer, time_back_to_back, time_reference


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")


def run_bench(workloads: list[Workload], *, options: BenchOptions | None = None,
              progress: Progress | None = None) -> BenchRun:
    """Benchmark every workload at every batch size; returns the full record of the run."""
    import torch

    options = options or BenchOptions()
    if options.cpu_threads is not None and options.cpu_threads < 1:
        raise ValueError(f"cpu_threads must be at least 1, got {options.cpu_threads}")
    saved_threads = torch.get_num_threads()
    if options.cpu_threads:
        torch.set_num_threads(options.cpu_threads)
    try:
        return _run(workloads, options, progress)
    finally:
        torch.set_num_threads(saved_threads)


def _run(workloads: list[Workload], options: BenchOptions, progress: Progress | None) -> BenchRun:
    resolved = resolve_options(options)
    setup = resolved.setup
    env = environment(device=setup.device, notice=resolved.notice)
    total = len(workloads) * len(resolved.batch_sizes) + int(resolved.measure_peak)
    done = 0

    def tick(label: str, *, finished: int = 0) -> None:
        """Report progress: ``finished`` more steps are done, ``label`` is starting."""
        nonlocal done
        done += finished
        if progress is not None:
            progress(done, total, label)

    # the static memory prediction against the device, up front: nothing is allocated before
    refusals = [{} if options.allow_large else _refusals(w, resolved) for w in workloads]
    for w, refused in zip(workloads, refusals):
        if resolved.batch_sizes[0] in refused:  # not even the smallest batch fits: refuse the run
            raise MemoryLimitError(f"{w.name or w.spec.name}: {refused[resolved.batch_sizes[0]]}",
                                   Location(file=w.spec_path or (str(w.spec.path) if w.spec.path else None)))

    peak: PeakMeasurement | None = None
    peak_message = None
    if resolved.measure_peak:
        tick(f"peak: {setup.precision} matmul")
        try:
            peak = _measure_peak(setup, resolved.peak_n)
        except Exception as exc:  # noqa: BLE001 - recorded, the sweep goes on
            peak_message = _first_line(exc)
        _release(setup.device)
        tick("peak measured", finished=1)
    else:
        peak_message = "not measured (--no-peak)"

    models = []
    for w, refused in zip(workloads, refusals):
        models.append(_bench_workload(w, resolved, peak, tick, refused))
    tick("done")
    notice = resolved.notice
    return BenchRun(schema=SCHEMA_ID, created=datetime.now(timezone.utc).isoformat(timespec="seconds"), device=setup.device,
                    on_cpu=setup.device == "cpu", notice=notice, environment=env, setup=setup, peak=peak,
                    peak_message=peak_message, notes=list(resolved.notes), models=models)


def _measure_peak(setup: Setup, n: int | None) -> PeakMeasurement:
    from .peak import measure_peak

    return measure_peak(device=setup.device, precision=setup.precision, n=n, repeats=max(5, setup.repeats),
                        min_repeat_s=setup.min_repeat_s)


def _reset_compiler() -> None:
    """Forget compiled code and inductor's CUDA graph trees (their memory pools) of earlier batches."""
    import torch

    reset = getattr(getattr(torch, "compiler", None), "reset", None)
    if reset is None:  # torch < 2.2
        import torch._dynamo

        reset = torch._dynamo.reset
    reset()


def _release(device: str, *, compiled: bool = False) -> None:
    if compiled:
        _reset_compiler()
    gc.collect()
    if device == "cuda":
        import torch

        torch.cuda.empty_cache()


def _refusals(w: Workload, resolved: ResolvedOptions) -> dict[int, str]:
    """Batch size -> refusal message, for the batches whose predicted memory exceeds the device's
    (probed once, before anything is allocated)."""
    out: dict[int, str] = {}
    for b in resolved.batch_sizes:
        predicted = predicted_peak_bytes(analyze(w.spec, batch_size=b, dtype=resolved.setup.precision))
        message = memory_refusal(predicted, batch_size=b, device=resolved.setup.device)
        if message is not None:
            out[b] = message
    return out


def _bench_workload(w: Workload, resolved: ResolvedOptions, peak: PeakMeasurement | None,
                    tick: Callable[..., None], refused: dict[int, str] | None = None) -> ModelResult:
    setup = resolved.setup
    static = analyze(w.spec, batch_size=1, dtype=setup.precision)
    name = w.name or w.spec.name
    factory, source = w.factory()
    base = dict(name=name, spec_path=w.spec_path, input_shape=list(static.input_shape), params=static.totals.params,
                macs_per_image=static.totals.macs, model_source=source)
    model, model_params, failure = None, None, None
    try:
        model, model_params = _build(factory, setup)
    except Exception as exc:  # noqa: BLE001 - recorded, the sweep goes on
        failure = ("oom" if is_oom(exc) else "error", f"building the model failed: {_first_line(exc)}")
    if failure is not None:
        _release(setup.device)
        results = [BatchResult(batch_size=b, status=failure[0], message=failure[1]) for b in resolved.batch_sizes]
        tick(f"{name}: {failure[0]}", finished=len(results))
        return ModelResult(**base, results=results, message=failure[1])

    results: list[BatchResult] = []
    oom_at: int | None = None
    for i, b in enumerate(resolved.batch_sizes):
        tick(f"{name} batch {b}", finished=int(i > 0))
        prediction = _predict_memory(w.spec, b, setup.precision)
        if oom_at is not None:
            results.append(BatchResult(batch_size=b, status="skipped", predicted_memory=prediction,
                                       message=f"skipped: batch {oom_at} already ran out of memory"))
            continue
        if refused and b in refused:
            results.append(BatchResult(batch_size=b, status="skipped", predicted_memory=prediction,
                                       message=refused[b]))
            continue
        outcome: BatchResult | None = None
        try:
            outcome = _bench_batch(model, static.input_shape, b, setup, peak, static.totals.macs, prediction)
        except Exception as exc:  # noqa: BLE001 - recorded, the sweep goes on
            status = "oom" if is_oom(exc) else "error"
            outcome = BatchResult(batch_size=b, status=status, message=_first_line(exc), predicted_memory=prediction)
            if status == "oom":
                oom_at = b
        results.append(outcome)
        # the exception (and the frames holding tensors) is gone here
        _release(setup.device, compiled=setup.compile != "none")
    del model
    _release(setup.device)
    tick(f"{name} done", finished=1)
    return ModelResult(**base, model_params=model_params, results=results)


def _build(factory: ModelFactory, setup: Setup) -> tuple[Any, int]:
    import torch

    model = factory()
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"the model factory returned {type(model).__name__}, not a torch.nn.Module")
    model_params = sum(p.numel() for p in model.parameters())
    model = model.eval().to(device=setup.device, dtype=torch_dtype(setup.precision))
    if setup.channels_last:
        model = model.to(memory_format=torch.channels_last)
    return model, model_params


def _predict_memory(spec: Spec, batch_size: int, precision: str) -> MemoryPrediction:
    a = analyze(spec, batch_size=batch_size, dtype=precision)
    activations = a.totals.peak_activation_bytes - a.input_bytes  # the liveness peak, less the input
    return MemoryPrediction(param_bytes=a.param_bytes, input_bytes=a.input_bytes, activation_bytes=activations,
                            total_bytes=a.param_bytes + a.totals.peak_activation_bytes)


def _prepare(model: Any, x: Any, setup: Setup) -> Callable[[], object]:
    """The callable that runs one forward pass of ``model`` on ``x`` as the set-up asks."""
    import torch

    if setup.compile != "none":
        _reset_compiler()  # a fresh compilation per batch size: no recompile limit, no dynamic shapes
        compiled = torch.compile(model, mode=setup.compile_mode, dynamic=False)
        return lambda: compiled(x)
    if setup.cuda_graphs:
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            for _ in range(3):  # cuDNN autotuning and lazy initialisation outside the capture
                model(x)
        torch.cuda.current_stream().wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            model(x)
        return graph.replay
    return lambda: model(x)


def _bench_batch(model: Any, input_shape: tuple[int, ...], batch_size: int, setup: Setup,
                 peak: PeakMeasurement | None, macs_per_image: int, prediction: MemoryPrediction) -> BatchResult:
    import torch

    device = setup.device
    sync = synchronizer(device)
    with precision_flags(device=device, precision=setup.precision, cudnn_benchmark=setup.cudnn_benchmark), \
            torch.inference_mode():
        x = torch.randn((batch_size, *input_shape), device=device, dtype=torch_dtype(setup.precision))
        if setup.channels_last and x.dim() == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        if device == "cuda":
            torch.cuda.reset_peak_memory_stats()
        t0 = time.perf_counter()
        step = _prepare(model, x, setup)
        # compiled code and CUDA graphs need a few calls before they are recorded and replayed
        min_warmup = 3 if setup.compile != "none" or setup.cuda_graphs else 1
        for _ in range(max(min_warmup, setup.warmup_iters)):
            step()
        sync()
        warmup_s = time.perf_counter() - t0
        warmup_peak = None
        if device == "cuda":
            warmup_peak = int(torch.cuda.max_memory_allocated())
            torch.cuda.reset_peak_memory_stats()
        iters = setup.iters
        if iters is None:
            estimate = min(time_back_to_back(step, device=device, iters=1, repeats=2))
            iters = choose_iters(estimate, min_repeat_s=setup.min_repeat_s)
        main_samples: list[float] = []
        reference_samples: list[float] = []
        for _ in range(setup.repeats):  # interleaved, so that both timers see the same machine state
            main_samples += time_back_to_back(step, device=device, iters=iters, repeats=1)
            reference_samples += time_reference(step, device=device, iters=iters, repeats=1)
        timing = summarize(main_samples, iters_per_sample=iters)
        reference = summarize(reference_samples, iters_per_sample=iters)
        if device == "cuda":
            peak_memory = int(torch.cuda.max_memory_allocated())
            memory_note = "torch.cuda.max_memory_allocated while timing (after warm-up; includes parameters)"
            if setup.cuda_graphs:
                memory_note += ("; CUDA graph replays allocate nothing, the graph's memory pool was allocated "
                                "during capture: see warmup_peak_memory_bytes")
        else:
            peak_memory, memory_note = None, "n/a on the CPU (torch's CPU allocator keeps no peak counter)"
    macs_per_batch = macs_per_image * batch_size
    achieved = macs_per_batch / timing.median_s
    diff = relative_difference(reference.median_s, timing.median_s)
    return BatchResult(
        batch_size=batch_size, status="ok", warmup_s=warmup_s, timing=timing, reference=reference,
        images_per_s=batch_size / timing.median_s, images_per_s_p10=batch_size / timing.p90_s,
        images_per_s_p90=batch_size / timing.p10_s, reference_images_per_s=batch_size / reference.median_s,
        reference_difference=diff, agrees=abs(diff) <= setup.tolerance, macs_per_batch=macs_per_batch,
        achieved_macs_per_s=achieved, fraction_of_peak=achieved / peak.macs_per_s if peak else None,
        peak_memory_bytes=peak_memory, warmup_peak_memory_bytes=warmup_peak, memory_note=memory_note, predicted_memory=prediction,
    )
