"""``archcalc bench``: measured throughput next to the static cost (needs torch)."""

from __future__ import annotations

import argparse
import sys

from ..bench.choices import BENCH_FORMATS, COMPILE_MODES, DEVICES, PRECISIONS
from ..errors import ArchcalcError
from .common import add_spec_options, emit, int_at_least, load_from_args, spec_paths

HELP = "time real inference throughput and set it beside the static cost"
EPILOG = """\
examples:
  archcalc bench specs/resnet50.yaml                         # fastest set-up of this machine
  archcalc bench specs/resnet18.yaml specs/vgg16.yaml --batch 1,8,64,256 --dtype bfloat16
  archcalc bench specs/resnet50.yaml --compile none --no-cuda-graphs   # plain eager
  archcalc bench specs/resnet18.yaml --device cpu --batch 1,8 --format csv -o r18.csv
  archcalc bench --show reports/bench/cpu-amd-epyc/resnet18_float32_none_*.json --format markdown

defaults: cuda: bfloat16, channels-last, torch.compile (mode reduce-overhead = CUDA graphs), batches
1,8,64,256; cpu: float32, eager, batches 1,8. Without CUDA the run falls back to the CPU and every output
says so. Each run writes its results JSON to reports/bench/<device>/ (--save-dir, --no-save; with
--format json -o FILE, FILE is the results file).

Latency is the median of several repeats of back-to-back iterations (CUDA events on the GPU), with
p10/p90; a plain reference loop (synchronize + perf_counter around every iteration, as timm's
benchmark.py) runs on the same model and the two are compared (flag '!' beyond --tolerance).
MAC/s are multiply-accumulates per second (1 MAC = 2 FLOPs); "Of peak" divides by a large matmul
timed at the same precision in the same run. A batch whose predicted peak memory (parameters + the
activations alive at the peak, input included, + the largest convolution's workspace) exceeds the device's free
memory is skipped, and the run is refused when even the smallest batch cannot fit (--allow-large
tries anyway). Exit status 1 when a configuration failed with an error (out-of-memory is reported,
not an error).
"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help=HELP, description=HELP.capitalize() + ".", epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("spec", nargs="*", metavar="SPEC", help="YAML specs or directories of specs")
    p.add_argument("--device", choices=DEVICES, help="default: cuda when available, else cpu")
    p.add_argument("--batch", type=_batch_sizes, metavar="N[,N...]",
                   help="batch sizes (default cuda: 1,8,64,256; cpu: 1,8)")
    p.add_argument("--dtype", choices=PRECISIONS,
                   help="precision (default cuda: bfloat16; cpu: float32)")
    p.add_argument("--channels-last", action=argparse.BooleanOptionalAction, default=None,
                   help="channels-last memory format (default: on for cuda, off for cpu)")
    p.add_argument("--compile", choices=COMPILE_MODES,
                   help="torch.compile (default: default on cuda, none on cpu)")
    p.add_argument("--cuda-graphs", action=argparse.BooleanOptionalAction, default=None,
                   help="replay CUDA graphs (default: on for cuda)")
    p.add_argument("--warmup", type=int_at_least(0), metavar="N", help="warm-up iterations (default cuda 10, cpu 2)")
    p.add_argument("--iters", type=int_at_least(1), metavar="N",
                   help="iterations per repeat (default: enough for --min-time per repeat)")
    p.add_argument("--repeats", type=int_at_least(1), metavar="N", help="timed repeats (default cuda 7, cpu 5)")
    p.add_argument("--min-time", type=_seconds, metavar="S",
                   help="seconds per repeat when --iters is not given (default cuda 0.25, cpu 0.5)")
    p.add_argument("--tolerance", type=_fraction, default=0.05, metavar="F",
                   help="largest relative gap between the timer and the reference loop (default 0.05)")
    p.add_argument("--peak-size", type=int_at_least(16), metavar="N",
                   help="matmul size of the peak measurement (default cuda 8192, cpu 1024)")
    p.add_argument("--no-peak", action="store_true", help="skip the matmul peak measurement")
    p.add_argument("--threads", type=int_at_least(1), metavar="N",
                   help="CPU threads for torch (torch.set_num_threads; default: torch's choice)")
    p.add_argument("--allow-large", action="store_true",
                   help="run batches whose predicted memory (parameters + activations) exceeds the device's")
    p.add_argument("--format", "-f", default="table", choices=BENCH_FORMATS,
                   help="output format (default: table)")
    p.add_argument("-o", "--output", metavar="FILE", help="write the output to FILE (atomically) instead of stdout")
    p.add_argument("--save-dir", default="reports/bench", metavar="DIR",
                   help="where the results JSON goes, under DIR/<device>/ (default reports/bench)")
    p.add_argument("--no-save", action="store_true", help="do not write the results JSON")
    p.add_argument("--show", nargs="+", metavar="RESULTS.json",
                   help="render saved results files instead of running a benchmark")
    add_spec_options(p)
    p.set_defaults(run=run)


def _batch_sizes(text: str) -> tuple[int, ...]:
    parse = int_at_least(1)
    sizes = tuple(parse(item.strip()) for item in text.split(",") if item.strip())
    if not sizes:
        raise argparse.ArgumentTypeError("expected batch sizes such as 1,8,64")
    return sizes


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {value}")
    return value


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a fraction such as 0.05, got {text!r}") from None
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"expected a fraction within (0, 1), got {value}")
    return value


def _show(args: argparse.Namespace) -> int:
    from ..bench.records import read_run
    from ..report.bench import render_bench

    parts = [render_bench(read_run(name), fmt=args.format) for name in args.show]
    emit(("\n" if args.format in ("table", "markdown") else "").join(parts), args.output)
    return 0


def run(args: argparse.Namespace) -> int:
    if args.show:
        if args.spec:
            raise ArchcalcError("give either SPEC files to benchmark or --show RESULTS.json, not both")
        return _show(args)
    if not args.spec:
        raise ArchcalcError("no spec given: archcalc bench SPEC [SPEC...] (or --show RESULTS.json)")
    from ..analysis import analyze

    # specs are loaded and analyzed before torch is imported: a bad spec is reported in milliseconds
    workloads_in = []
    for path in spec_paths(args.spec):
        spec = load_from_args(path, args)
        analyze(spec, batch_size=1)
        workloads_in.append((spec, str(path)))
    try:
        import torch  # noqa: F401
    except ImportError:
        raise ArchcalcError("archcalc bench needs torch: pip install 'archcalc[torch]'") from None
    from ..bench import BenchOptions, Workload, render_bench, results_path, run_bench
    from ..bench.progress import ProgressBar
    from ..fileio import write_atomic

    workloads = [Workload(spec=spec, spec_path=path) for spec, path in workloads_in]
    options = BenchOptions(
        device=args.device, precision=args.dtype, channels_last=args.channels_last, compile=args.compile,
        cuda_graphs=args.cuda_graphs, batch_sizes=args.batch, warmup_iters=args.warmup, iters=args.iters,
        repeats=args.repeats, min_repeat_s=args.min_time, tolerance=args.tolerance, peak_n=args.peak_size,
        measure_peak=not args.no_peak, cpu_threads=args.threads, allow_large=args.allow_large,
    )
    bar = ProgressBar(sys.stderr)
    try:
        result = run_bench(workloads, options=options, progress=bar)
    except ValueError as exc:
        raise ArchcalcError(str(exc)) from None
    finally:
        bar.close()
    if result.notice:
        print(f"archcalc bench: {result.notice}", file=sys.stderr)
    results_is_output = args.format == "json" and args.output
    if not args.no_save and not results_is_output:
        path = results_path(result, root=args.save_dir)
        write_atomic(path, result.to_json())
        print(f"archcalc bench: results written to {path}", file=sys.stderr)
    emit(render_bench(result, fmt=args.format), args.output)
    return 1 if any(r.status == "error" for m in result.models for r in m.results) else 0
