"""``archcalc bench``: statistics, the two timers, the sweep on the CPU, OOM handling, outputs.

Runs on the CPU in seconds: a tiny spec (written to a temporary directory), a hand-built module
matching it, iteration counts of two or three. No GPU is needed or used.
"""

from __future__ import annotations

import csv
import io
import json
import time
from pathlib import Path

import pytest

from archcalc.bench.env import device_slug
from archcalc.bench.progress import ProgressBar
from archcalc.bench.stats import percentile, relative_difference, summarize
from archcalc.bench.timing import choose_iters
from archcalc.cli import main

# bench's runner collects garbage after every batch size: keep those collections to what each test makes
pytestmark = pytest.mark.usefixtures("older_objects_frozen")

TINY = """\
name: Tiny
family: test
input: [3, 32, 32]
layers:
  - {name: conv1, type: conv, out: 8, kernel: 3, padding: 1, bias: false}
  - {type: batchnorm}
  - {type: relu}
  - {name: pool1, type: maxpool, kernel: 2, stride: 2}
  - {name: conv2, type: conv, out: 16, kernel: 3, padding: 1}
  - {type: relu}
  - {name: avgpool, type: global_avgpool}
  - {type: flatten}
  - {name: fc, type: linear, out: 10}
"""
# static cost of TINY per image:
#   conv1 8*32*32 * 3*3*3 = 221,184 MACs; conv2 16*16*16 * 8*3*3 = 294,912; fc 16*10 = 160
TINY_MACS = 221_184 + 294_912 + 160  # = 516,256
#   conv1 8*3*3*3 = 216; bn 2*8 = 16; conv2 16*8*3*3 + 16 = 1,168; fc 16*10 + 10 = 170
TINY_PARAMS = 216 + 16 + 1_168 + 170  # = 1,570

# --iters fixes the model's iterations; --min-time then only bounds the peak matmul's repeats
FAST = dict(warmup_iters=1, iters=2, repeats=3, peak_n=256, min_repeat_s=0.05)
FAST_ARGS = ["--device", "cpu", "--warmup", "1", "--iters", "2", "--repeats", "3", "--peak-size", "256",
             "--min-time", "0.05"]


# --------------------------------------------------------------------------- pure parts (no torch)


def test_percentile_interpolates_linearly():
    values = [5.0, 1.0, 4.0, 2.0, 3.0]  # sorted: 1 2 3 4 5
    assert percentile(values, 50) == 3.0
    assert percentile(values, 10) == pytest.approx(1.4)  # position 4*0.10 = 0.4 -> 1 + 0.4*(2-1)
    assert percentile(values, 90) == pytest.approx(4.6)  # position 4*0.90 = 3.6 -> 4 + 0.6*(5-4)
    assert percentile(values, 0) == 1.0 and percentile(values, 100) == 5.0
    assert percentile([7.0], 10) == 7.0
    with pytest.raises(ValueError):
        percentile([], 50)


def test_summarize_spread_and_order():
    s = summarize([0.010, 0.012, 0.011, 0.013, 0.014], iters_per_sample=4)
    assert s.median_s == pytest.approx(0.012)
    assert s.p10_s == pytest.approx(0.0104)  # 0.010 + 0.4*0.001
    assert s.p90_s == pytest.approx(0.0136)  # 0.013 + 0.6*0.001
    assert s.spread == pytest.approx((0.0136 - 0.0104) / 0.012)  # = 0.2667
    assert s.min_s <= s.p10_s <= s.median_s <= s.p90_s <= s.max_s
    assert s.iters_per_sample == 4 and len(s.samples_s) == 5
    with pytest.raises(ValueError):
        summarize([0.01, 0.0], iters_per_sample=1)


def test_relative_difference_and_iteration_choice():
    assert relative_difference(1.05, 1.0) == pytest.approx(0.05)
    assert choose_iters(0.001, min_repeat_s=0.25) == 250  # ceil(0.25 / 0.001)
    assert choose_iters(2.0, min_repeat_s=0.25) == 1
    assert choose_iters(1e-9, min_repeat_s=1.0, max_iters=100) == 100


def test_device_slug():
    assert device_slug("NVIDIA H100 80GB HBM3") == "nvidia-h100-80gb-hbm3"
    assert device_slug("Intel(R) Xeon(R) Platinum 8481C CPU @ 2.70GHz") == "intel-xeon-platinum-8481c"
    assert device_slug("???") == "unknown-device"


def test_progress_bar_quiet_when_not_a_terminal():
    stream = io.StringIO()  # isatty() is False
    bar = ProgressBar(stream)
    bar(1, 4, "resnet50 batch 8")
    bar.close()
    assert stream.getvalue() == ""


def test_progress_bar_draws_and_clears_when_enabled():
    stream = io.StringIO()
    bar = ProgressBar(stream, width=10, enabled=True)
    bar(2, 4, "tiny batch 8")
    assert stream.getvalue().startswith("\r[#####.....] 2/4") and "tiny batch 8" in stream.getvalue()
    bar.close()
    assert stream.getvalue().endswith("\r")


def test_bench_command_parses_without_torch_import():
    """The parser (built for every archcalc command) must not import torch."""
    import subprocess
    import sys

    code = ("import sys\nfrom archcalc.cli import build_parser\n"
            "a = build_parser().parse_args(['bench', 'x.yaml', '--batch', '1,8', '--no-channels-last'])\n"
            "print(a.batch, a.channels_last, 'torch' in sys.modules)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["(1,", "8)", "False", "False"]


def test_spec_errors_and_memory_refusals_come_before_torch_is_imported(tmp_path):
    """crosscheck and bench load, analyze and size every spec before importing torch: a spec error
    (here a kernel larger than its input, found by the analysis) and a network too large for the
    machine (memory probe patched to 1 KiB) exit 2 with one clean message, and torch stays unloaded.
    One subprocess (a fresh interpreter, so nothing imported torch before) runs all four commands."""
    import subprocess
    import sys

    from conftest import ROOT

    bad = ROOT / "tests" / "malformed" / "kernel_too_large.yaml"
    tiny = tmp_path / "tiny.yaml"
    tiny.write_text(TINY, encoding="utf-8")
    code = ("import sys\n"
            "from archcalc.cli import main\n"
            "from archcalc import memory\n"
            "memory.available_memory_bytes = lambda device='cpu': 1024\n"
            "for argv in (['crosscheck', sys.argv[1]], ['bench', sys.argv[1]], ['crosscheck', sys.argv[2]],\n"
            "             ['bench', '--device', 'cpu', sys.argv[2]]):\n"
            "    print(main(argv), 'torch' in sys.modules, flush=True)\n")
    proc = subprocess.run([sys.executable, "-c", code, str(bad), str(tiny)], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.split("\n")
    assert lines[:3] == ["2 False", "2 False", "2 False"], proc.stdout + proc.stderr
    errors = proc.stderr.splitlines()
    assert len(errors) == 4 and "Traceback" not in proc.stderr, proc.stderr
    for line in errors[:2]:
        assert line.startswith(f"archcalc: error: {bad}:4: layers[0]: kernel of size 11"), line
    # crosscheck's refusal is static; TINY at batch 1, float32: 6,280 B parameters + 12,288 B input
    # + 139,432 B outputs + 110,592 B conv1 workspace = 268,592 B = 0.00 GiB > 1024 B
    assert errors[2].startswith(f"archcalc: error: {tiny}: predicted peak 0.00 GiB (parameters + activations")
    assert "available memory 0.00 GiB; --allow-large to try anyway" in errors[2]
    # bench needs torch to know its device, then refuses before building anything
    assert lines[3].split()[0] == "2" and "predicted peak" in errors[3] and "Tiny" in errors[3]


# --------------------------------------------------------------------------- torch fixtures


@pytest.fixture
def tiny_path(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY, encoding="utf-8")
    return path


@pytest.fixture
def tiny_spec(tiny_path: Path):
    import archcalc

    return archcalc.load_spec(tiny_path)


def make_tiny():
    """The module TINY describes, built by hand (independent of archcalc.build_model)."""
    from torch import nn

    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2, 2),
                         nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Linear(16, 10))


def oom_from(batch_limit: int, error: type[BaseException] | None = None, message: str = "CUDA out of memory."):
    """A factory whose module raises an out-of-memory error for batches of ``batch_limit`` or more."""
    import torch
    from torch import nn

    class Greedy(nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = make_tiny()

        def forward(self, x):
            if x.shape[0] >= batch_limit:
                raise (error or torch.cuda.OutOfMemoryError)(message)
            return self.inner(x)

    return Greedy


def bench(spec, factory=make_tiny, **options):
    from archcalc.bench import BenchOptions, Workload, run_bench

    merged = {**dict(device="cpu", batch_sizes=(1, 4)), **FAST, **options}
    return run_bench([Workload(spec=spec, make_model=factory)], options=BenchOptions(**merged))


# --------------------------------------------------------------------------- the sweep on the CPU


@pytest.mark.torch
def test_cpu_run_fields_are_sane(tiny_spec):
    import torch

    # the suite runs torch with one thread (tests/conftest.py): start from two, so that restoring is seen
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        # one thread: a multi-threaded matmul peak collapses when other processes compete for the
        # cores, a single thread only shares them fairly (keeps the fraction of peak meaningful)
        run = bench(tiny_spec, cpu_threads=1)
        assert run.environment.cpu_threads == 1 and torch.get_num_threads() == 2  # restored
    finally:
        torch.set_num_threads(threads)
    assert run.device == "cpu" and run.on_cpu and "CPU" in run.notice
    assert run.environment.on_cpu and run.environment.device_slug.startswith("cpu-")
    assert run.setup.precision == "float32" and run.setup.compile == "none" and not run.setup.cuda_graphs
    assert run.peak is not None and run.peak.macs_per_matmul == 16_777_216  # 256**3
    assert run.peak.macs_per_s >= run.peak.median_macs_per_s > 0
    (model,) = run.models
    assert (model.macs_per_image, model.params, model.model_params) == (TINY_MACS, TINY_PARAMS, TINY_PARAMS)
    assert [r.batch_size for r in model.results] == [1, 4]
    for r in model.results:
        assert r.status == "ok", r.message
        t = r.timing
        assert t.p10_s <= t.median_s <= t.p90_s and len(t.samples_s) == 3 and t.iters_per_sample == 2
        assert r.reference.p10_s <= r.reference.median_s <= r.reference.p90_s
        assert r.images_per_s > 0 and r.images_per_s == pytest.approx(r.batch_size / t.median_s)
        assert r.images_per_s_p10 <= r.images_per_s <= r.images_per_s_p90
        assert r.macs_per_batch == TINY_MACS * r.batch_size
        assert r.achieved_macs_per_s == pytest.approx(r.macs_per_batch / t.median_s)
        assert 0 < r.fraction_of_peak < 1.5
        assert r.reference_difference == pytest.approx(r.reference.median_s / t.median_s - 1)
        assert r.peak_memory_bytes is None and "n/a" in r.memory_note
        # predicted memory at float32 (4 bytes per element):
        assert r.predicted_memory.param_bytes == 6_280  # TINY_PARAMS 1,570 * 4
        assert r.predicted_memory.input_bytes == 12_288 * r.batch_size  # 3*32*32 = 3,072 elements * 4 per image
        assert r.predicted_memory.total_bytes == (r.predicted_memory.param_bytes + r.predicted_memory.input_bytes
                                                  + r.predicted_memory.activation_bytes)


@pytest.mark.torch
def test_default_factory_is_archcalc_build_model(tiny_spec):
    pytest.importorskip("torch")
    from archcalc.bench import BenchOptions, Workload, run_bench

    run = run_bench([Workload(spec=tiny_spec)], options=BenchOptions(device="cpu", batch_sizes=(2,), **FAST,
                                                                     measure_peak=False))
    (model,) = run.models
    assert model.model_source == "archcalc.build_model" and model.model_params == TINY_PARAMS
    assert model.results[0].status == "ok" and model.results[0].fraction_of_peak is None
    assert run.peak is None and run.peak_message


class FakeClock:
    """Stands in for ``time.perf_counter`` in :mod:`archcalc.bench.timing`; only ``advance`` moves it."""

    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock(monkeypatch) -> FakeClock:
    import archcalc.bench.timing as timing

    fake = FakeClock()
    monkeypatch.setattr(timing, "perf_counter", fake)
    return fake


@pytest.mark.torch
def test_timers_measure_the_same_fixed_step(clock):
    """Each step takes exactly 2 ms of (fake) time: both timers report 2 ms per iteration."""
    from archcalc.bench.timing import time_back_to_back, time_reference

    def step():
        clock.advance(0.002)

    assert time_back_to_back(step, device="cpu", iters=5, repeats=3) == pytest.approx([0.002] * 3)
    assert time_reference(step, device="cpu", iters=5, repeats=3) == pytest.approx([0.002] * 3)


@pytest.mark.torch
def test_eager_run_agrees_with_reference_loop(tiny_spec, clock):
    """A module whose forward takes a fixed 3 ms: the sweep's two timers agree exactly."""
    from torch import nn

    class Steady(nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = make_tiny()

        def forward(self, x):
            clock.advance(0.003)
            return self.inner(x)

    run = bench(tiny_spec, Steady, batch_sizes=(1, 4), measure_peak=False)
    for r in run.models[0].results:
        assert r.timing.median_s == pytest.approx(0.003) and r.reference.median_s == pytest.approx(0.003)
        assert r.agrees is True and r.reference_difference == pytest.approx(0.0, abs=1e-9)
        assert r.images_per_s == pytest.approx(r.batch_size / 0.003)  # batch 4: 1,333.3 images/s


@pytest.mark.torch
def test_disagreement_is_flagged(tiny_spec, clock):
    """Forward calls alternate 1 ms and 5 ms: with 1 iteration per repeat and repeats interleaved,
    the back-to-back timer sees 1 ms and the reference 5 ms -> +400 %, flagged."""
    from torch import nn

    durations = iter([0.001, 0.005] * 100)

    class Jumpy(nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = make_tiny()

        def forward(self, x):
            clock.advance(next(durations))
            return self.inner(x)

    # warm-up 2 calls keeps the alternation in phase: timer gets 1 ms, reference 5 ms
    run = bench(tiny_spec, Jumpy, batch_sizes=(1,), measure_peak=False, warmup_iters=2, iters=1)
    r = run.models[0].results[0]
    assert r.timing.median_s == pytest.approx(0.001) and r.reference.median_s == pytest.approx(0.005)
    assert r.reference_difference == pytest.approx(4.0) and r.agrees is False


# --------------------------------------------------------------------------- out of memory


@pytest.mark.torch
@pytest.mark.parametrize("error, message", [(None, "CUDA out of memory. Tried to allocate 2.00 GiB"),
                                            (RuntimeError, "out of memory"),
                                            (RuntimeError, "DefaultCPUAllocator: can't allocate memory: you tried")])
def test_oom_at_a_batch_size_is_reported_and_larger_ones_skipped(tiny_spec, error, message):
    run = bench(tiny_spec, oom_from(4, error, message), batch_sizes=(1, 2, 4, 8), measure_peak=False)
    statuses = [(r.batch_size, r.status) for r in run.models[0].results]
    assert statuses == [(1, "ok"), (2, "ok"), (4, "oom"), (8, "skipped")]
    oom, skipped = run.models[0].results[2:]
    assert "out of memory" in oom.message.lower() or "allocate memory" in oom.message
    assert "batch 4" in skipped.message and skipped.predicted_memory is not None


@pytest.mark.torch
def test_oom_while_building_goes_on_with_the_next_model(tiny_spec):
    import torch

    from archcalc.bench import BenchOptions, Workload, run_bench

    def too_big():
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 80.00 GiB")

    run = run_bench([Workload(spec=tiny_spec, name="huge", make_model=too_big),
                     Workload(spec=tiny_spec, name="fits", make_model=make_tiny)],
                    options=BenchOptions(device="cpu", batch_sizes=(1, 2), measure_peak=False, **FAST))
    huge, fits = run.models
    assert [r.status for r in huge.results] == ["oom", "oom"] and "building the model" in huge.message
    assert [r.status for r in fits.results] == ["ok", "ok"]


@pytest.mark.torch
def test_other_errors_are_recorded_not_raised(tiny_spec):
    run = bench(tiny_spec, oom_from(2, ValueError, "shapes do not match"), batch_sizes=(1, 2, 4),
                measure_peak=False)
    assert [r.status for r in run.models[0].results] == ["ok", "error", "error"]
    assert run.models[0].results[1].message == "ValueError: shapes do not match"


@pytest.mark.torch
def test_is_oom_classification():
    import torch

    from archcalc.bench import is_oom

    assert is_oom(torch.cuda.OutOfMemoryError("x"))
    assert is_oom(RuntimeError("CUDA error: out of memory"))
    assert is_oom(MemoryError())
    assert not is_oom(RuntimeError("expected input to have 3 channels"))
    assert not is_oom(ValueError("out of memory"))  # only RuntimeErrors carry allocator messages
    try:  # torch.compile re-raises backend failures as another exception "from" the original
        try:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 1.00 GiB")
        except RuntimeError as inner:
            raise ValueError("backend compiler failed") from inner
    except ValueError as wrapped:
        assert is_oom(wrapped)


# --------------------------------------------------------------------------- memory refused up front

# TINY's predicted peak at float32 (archcalc.memory.predicted_peak_bytes):
#   parameters 1,570 * 4 = 6,280 B, plus per image the activations alive at the peak, while the batch norm
#   runs: the input 3*32*32 * 4 = 12,288 B (held to the end), conv1's output 8*32*32 * 4 = 32,768 B (its
#   input) and its own output 32,768 B: 77,824 B; plus conv1's workspace (unfolded input)
#   3*3*3 * 32*32 * 4 = 110,592 B (conv2's is 8*3*3 * 16*16 * 4 = 73,728)
TINY_PEAK_PER_IMAGE = 12_288 + 32_768 + 32_768 + 110_592  # = 188,416 B
TINY_PEAK_BATCH_1 = 6_280 + TINY_PEAK_PER_IMAGE  # = 194,696 B
TINY_PEAK_BATCH_4 = 6_280 + 4 * TINY_PEAK_PER_IMAGE  # = 759,944 B


def test_memory_prediction_of_tiny(tiny_spec):
    import archcalc
    from archcalc.memory import predicted_peak_bytes

    assert predicted_peak_bytes(archcalc.analyze(tiny_spec, batch_size=1)) == TINY_PEAK_BATCH_1
    assert predicted_peak_bytes(archcalc.analyze(tiny_spec, batch_size=4)) == TINY_PEAK_BATCH_4


def test_memory_probe_reads_this_machine():
    from archcalc.memory import available_memory_bytes

    available = available_memory_bytes("cpu")
    assert available is not None and 0 < available


def _machine_with(monkeypatch, size: int) -> None:
    from archcalc import memory

    monkeypatch.setattr(memory, "available_memory_bytes", lambda device="cpu": size)


@pytest.mark.torch
def test_batches_predicted_not_to_fit_are_skipped_or_refused(tiny_spec, monkeypatch):
    """Between the batch-1 and batch-4 predictions: batch 4 is skipped with the prediction, batch 1
    runs; below batch 1's the run is refused before anything is built; ``allow_large`` runs both."""
    from archcalc.memory import MemoryLimitError

    built = []

    def counted():
        built.append(1)
        return make_tiny()

    _machine_with(monkeypatch, 500_000)  # 194,696 < 500,000 < 759,944
    run = bench(tiny_spec, counted, batch_sizes=(1, 4), measure_peak=False)
    ok, skipped = run.models[0].results
    assert (ok.status, skipped.status) == ("ok", "skipped")
    assert skipped.message.startswith("predicted peak 0.00 GiB (parameters + activations")
    assert "batch 4) exceeds this machine's available memory 0.00 GiB; --allow-large" in skipped.message
    assert skipped.predicted_memory is not None and skipped.timing is None

    _machine_with(monkeypatch, 150_000)  # < 194,696: not even batch 1 fits
    built.clear()
    with pytest.raises(MemoryLimitError, match=r"Tiny: predicted peak .* batch 1\)"):
        bench(tiny_spec, counted, batch_sizes=(1, 4), measure_peak=False)
    assert built == []  # refused before the model was built

    run = bench(tiny_spec, counted, batch_sizes=(1, 4), measure_peak=False, allow_large=True)
    assert [r.status for r in run.models[0].results] == ["ok", "ok"]


# --------------------------------------------------------------------------- options


@pytest.mark.torch
def test_cpu_defaults_and_cuda_only_options():
    from archcalc.bench import BenchOptions, resolve_options
    from archcalc.bench.options import compile_mode as _compile_mode

    r = resolve_options(BenchOptions(device="cpu", cuda_graphs=True))
    assert r.setup.device == "cpu" and not r.setup.cuda_graphs and any("CUDA graphs" in n for n in r.notes)
    assert r.batch_sizes == (1, 8) and r.setup.precision == "float32" and r.setup.compile == "none"
    assert resolve_options(BenchOptions(device="cpu", batch_sizes=(64, 1, 8, 1))).batch_sizes == (1, 8, 64)
    with pytest.raises(ValueError, match="precision"):
        resolve_options(BenchOptions(device="cpu", precision="int4"))
    assert [_compile_mode(c, g) for c in ("none", "default", "max-autotune") for g in (False, True)] == [
        None, None, "default", "reduce-overhead", "max-autotune-no-cudagraphs", "max-autotune"]


@pytest.mark.torch
def test_cuda_request_without_cuda_falls_back_to_cpu_and_says_so():
    import torch

    from archcalc.bench import BenchOptions, resolve_options

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    r = resolve_options(BenchOptions(device="cuda"))
    assert r.setup.device == "cpu" and "fell back to the CPU" in r.notice


# --------------------------------------------------------------------------- outputs


def _cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.torch
def test_results_json_file_and_schema(tiny_path, tmp_path, capsys):
    from archcalc.bench import SCHEMA_ID, BenchRun

    save = tmp_path / "reports"
    code, out, err = _cli(capsys, "bench", str(tiny_path), *FAST_ARGS, "--batch", "1,2", "--save-dir", str(save),
                          "-f", "table")
    assert code == 0, err
    (path,) = save.glob("cpu-*/*.json")
    assert path.name.startswith("tiny_float32_none_") and str(path) in err
    doc = json.loads(path.read_text())
    assert doc["schema"] == SCHEMA_ID and doc["device"] == "cpu" and doc["on_cpu"] is True
    assert "CPU" in doc["notice"]
    assert {"device", "device_name", "device_slug", "torch_version", "cpu_threads", "python_version"} <= set(
        doc["environment"])
    assert {"precision", "channels_last", "compile", "cuda_graphs", "repeats", "timer", "reference_timer"} <= set(
        doc["setup"])
    assert doc["units"]["macs"].endswith("1 MAC = 2 FLOPs")
    result = doc["models"][0]["results"][0]
    assert {"batch_size", "status", "timing", "reference", "images_per_s", "achieved_macs_per_s",
            "fraction_of_peak", "peak_memory_bytes", "predicted_memory", "agrees"} <= set(result)
    assert {"median_s", "p10_s", "p90_s", "spread", "samples_s"} <= set(result["timing"])
    # the file validates against the record model and its JSON Schema names the required fields
    again = BenchRun.model_validate_json(path.read_text())
    assert again.to_json() == path.read_text()
    schema = BenchRun.model_json_schema(by_alias=True)
    assert {"schema", "created", "device", "on_cpu", "environment", "setup", "models"} <= set(schema["required"])


@pytest.mark.torch
def test_json_to_output_file_is_the_results_file(tiny_path, tmp_path, capsys):
    out_file = tmp_path / "r.json"
    code, out, err = _cli(capsys, "bench", str(tiny_path), *FAST_ARGS, "--batch", "1", "--no-peak",
                          "--save-dir", str(tmp_path / "unused"), "-f", "json", "-o", str(out_file))
    assert code == 0 and out == ""
    assert json.loads(out_file.read_text())["models"][0]["results"][0]["status"] == "ok"
    assert not (tmp_path / "unused").exists()


@pytest.mark.torch
def test_csv_output_has_a_device_column_saying_cpu(tiny_path, capsys):
    from archcalc.report.bench import CSV_COLUMNS

    code, out, err = _cli(capsys, "bench", str(tiny_path), *FAST_ARGS, "--batch", "1,2", "--no-save", "-f", "csv")
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert tuple(rows[0]) == CSV_COLUMNS and len(rows) == 2
    for row, batch in zip(rows, (1, 2)):
        assert row["device"] == "cpu" and row["on_cpu"] == "True" and "CPU" in row["notice"]
        assert int(row["batch_size"]) == batch and row["status"] == "ok" and float(row["images_per_s"]) > 0
        assert int(row["macs_per_image"]) == TINY_MACS
        assert float(row["latency_ms_p10"]) <= float(row["latency_ms_median"]) <= float(row["latency_ms_p90"])


@pytest.mark.torch
def test_table_says_cpu_and_merges_static_and_measured(tiny_path, tmp_path, capsys):
    code, out, err = _cli(capsys, "bench", str(tiny_path), *FAST_ARGS, "--batch", "1,2",
                          "--save-dir", str(tmp_path))
    assert code == 0, err
    title = out.splitlines()[0]
    assert title.startswith("archcalc bench on CPU:") and "float32" in title
    assert "NOTE: " in out and "not GPU figures" in out
    assert "Tiny: input 3x32x32, 1.57 K params, 516 K MACs/image (static)" in out
    assert "1 MAC = 2 FLOPs" in out and "n/a (CPU)" in out
    rows = [line.split() for line in out.splitlines() if line.startswith("Tiny ")]
    assert [r[1] for r in rows] == ["1", "2"] and all(r[2] == "ok" for r in rows)
    # --show renders the saved file the same way (the title line and the static line)
    (path,) = tmp_path.glob("cpu-*/*.json")
    code, shown, _ = _cli(capsys, "bench", "--show", str(path), "-f", "markdown")
    assert code == 0 and shown.startswith("**archcalc bench on CPU:") and "| Tiny" in shown


@pytest.mark.torch
def test_rendered_flags_for_disagreement_and_oom(tiny_spec):
    from archcalc.bench import render_bench

    run = bench(tiny_spec, oom_from(2), batch_sizes=(1, 2), measure_peak=False)
    ok = run.models[0].results[0]
    flagged = ok.model_copy(update={"reference_difference": 0.2, "agrees": False})
    model = run.models[0].model_copy(update={"results": [flagged, run.models[0].results[1]]})
    text = render_bench(run.model_copy(update={"models": [model]}), fmt="table")
    assert "+20.0% !" in text and "disagree by more than 5%" in text
    assert "OOM" in text and "Tiny batch 2: oom: OutOfMemoryError: CUDA out of memory." in text


def test_cli_errors_are_clean(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text('{"schema": "something else"}')
    code, out, err = _cli(capsys, "bench", "--show", str(bad))
    assert code == 2 and "not an archcalc bench results file" in err and "Traceback" not in err
    code, out, err = _cli(capsys, "bench")
    assert code == 2 and "no spec given" in err


@pytest.mark.torch
def test_sweep_summary_markdown(tiny_spec, tmp_path):
    """The sweep's SUMMARY.md: newest run per model and set-up, images/s by batch, the CPU notice."""
    from archcalc.bench.records import latest_runs
    from archcalc.bench.records import read_runs as load_runs
    from archcalc.report.bench import render_summary

    older = bench(tiny_spec, batch_sizes=(1, 2), measure_peak=False)
    newer = bench(tiny_spec, oom_from(2), batch_sizes=(1, 2), measure_peak=False)
    newer = newer.model_copy(update={"created": "9999-01-01T00:00:00+00:00"})
    (tmp_path / "a.json").write_text(older.to_json())
    (tmp_path / "b.json").write_text(newer.to_json())
    runs = load_runs([tmp_path])
    assert len(runs) == 2
    (entries,) = latest_runs(runs).values()
    assert [(Path(f).name, m.name) for f, _, m in entries] == [("b.json", "Tiny")]
    text = render_summary(runs, title="sweep", base=tmp_path)
    assert text.startswith("# sweep\n") and "(cpu): float32, NCHW, eager, no CUDA graphs" in text
    assert "not GPU figures" in text
    assert "| Model | MACs/image | b=1 | b=2 |" in text
    row = next(line for line in text.splitlines() if line.startswith("| Tiny | 516 K |"))
    assert row.endswith("| OOM |")  # batch 2 ran out of memory in the newest run
    assert "[b.json](b.json)" in text


@pytest.mark.torch
@pytest.mark.parametrize("precision, tf32", [("float32", False), ("tf32", True), ("bfloat16", False)])
def test_cuda_precision_flags_are_set_and_restored(precision, tf32):
    """The CUDA switches are plain flags, so their handling is checked without a GPU."""
    import torch

    from archcalc.bench.precision import precision_flags

    matmul, cudnn = torch.backends.cuda.matmul, torch.backends.cudnn
    before = (matmul.allow_tf32, cudnn.allow_tf32, cudnn.benchmark, torch.get_float32_matmul_precision())
    with precision_flags(device="cuda", precision=precision, cudnn_benchmark=True):
        assert (matmul.allow_tf32, cudnn.allow_tf32, cudnn.benchmark) == (tf32, tf32, True)
        assert torch.get_float32_matmul_precision() == ("high" if tf32 else "highest")
    assert (matmul.allow_tf32, cudnn.allow_tf32, cudnn.benchmark, torch.get_float32_matmul_precision()) == before


def make_linear():
    """A module for TINY's input with no convolution: flatten + one linear layer. Inductor lowers it
    to a view and an external matmul, so compiling it generates (almost) no C++: seconds, not minutes."""
    from torch import nn

    return nn.Sequential(nn.Flatten(), nn.Linear(3 * 32 * 32, 10))


@pytest.mark.torch
def test_compiled_run_on_cpu(tiny_spec):
    """torch.compile (inductor on the CPU): a fresh compilation per batch size, timed after warm-up.

    Reduced: the compiled module is :func:`make_linear` (flatten + linear on TINY's input), not
    TINY's convolutions, so that the one compile test stays cheap; the sweep, its set-up fields
    and the per-batch recompilation are the same."""
    run = bench(tiny_spec, make_linear, compile="default", batch_sizes=(1, 2), measure_peak=False)
    assert run.setup.compile == "default" and run.setup.compile_mode == "default"
    for r in run.models[0].results:
        assert r.status == "ok", r.message
        assert r.images_per_s > 0 and r.timing.p10_s <= r.timing.median_s <= r.timing.p90_s


@pytest.mark.torch
def test_progress_counts_every_configuration(tiny_spec):
    from archcalc.bench import BenchOptions, Workload, run_bench

    calls = []
    run_bench([Workload(spec=tiny_spec, make_model=make_tiny), Workload(spec=tiny_spec, make_model=make_tiny)],
              options=BenchOptions(device="cpu", batch_sizes=(1, 2, 4), measure_peak=False, **FAST),
              progress=lambda done, total, label: calls.append((done, total, label)))
    total = 2 * 3  # 2 models x 3 batch sizes (no peak measurement)
    assert all(t == total for _, t, _ in calls)
    done = [d for d, _, _ in calls]
    assert done == sorted(done) and done[0] == 0 and calls[-1] == (total, total, "done")
    starts = [d for d, _, label in calls if "batch" in label]
    assert starts == [0, 1, 2, 3, 4, 5]  # each batch size starts after the previous one finished
