"""Static analysis vs tracing counters: archcalc analyze vs fvcore vs torchinfo, same networks, one run.

    python benchmarks/bench_static_vs_fvcore.py [--repeat N] [--threads T]

For ResNet-50, DenseNet-121 and EfficientNet-B0 (specs/*.yaml; a missing spec is skipped) at the
spec's own input, batch 1, CPU, on one torch thread by default (the analyzer runs on one), prints
the median time of

* ``archcalc.analyze(spec)`` (the spec loaded once, as a user's loop would) and, separately,
  load + analyze from the YAML file;
* fvcore's ``FlopCountAnalysis(model, x).total()`` (the model built once, outside the timing);
* torchinfo's ``summary(model, input_size=...)``;

with the speed-up of the static analyzer over each, and checks that fvcore's convolution and
linear counts equal the analyzer's MACs of convolution, linear and squeeze-excite rows (SE's
MACs are its two 1x1 convolutions). Goal (issue 4): the static analyzer >= 100x faster than
fvcore on ResNet-50. Exit status 1 if a count disagrees or the goal is missed.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import time
import warnings
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import archcalc  # noqa: E402

SPECS = ("resnet50", "densenet121", "efficientnet_b0")
GOAL = ("resnet50", 100.0)  # static analyzer at least 100x faster than fvcore on ResNet-50
FVCORE_MAC_OPS = ("conv", "linear", "addmm", "matmul", "bmm")


def median_time(fn: Callable[[], Any], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def fvcore_analysis(model: Any, x: Any) -> Any:
    from fvcore.nn import FlopCountAnalysis

    analysis = FlopCountAnalysis(model, x)
    analysis.unsupported_ops_warnings(False)
    analysis.uncalled_modules_warnings(False)
    analysis.tracer_warnings("none")
    return analysis


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5, help="timed runs of the torch tools (the analyzer: 10x)")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch intra-op threads (default 1: the analyzer uses one; 0: torch's default)")
    args = parser.parse_args()

    warnings.filterwarnings("ignore", category=DeprecationWarning)  # torch.jit deprecation inside fvcore
    logging.getLogger("fvcore").setLevel(logging.ERROR)
    import torch
    from fvcore.nn import FlopCountAnalysis  # noqa: F401 - fail early if missing

    try:
        from torchinfo import summary
    except ImportError:  # pragma: no cover - optional peer
        summary = None
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), CPU, batch 1; "
          f"medians of {args.repeat * 10} (archcalc) / {args.repeat} (fvcore, torchinfo) runs\n")
    header = (f"{'spec':16} {'input':>11} {'analyze ms':>11} {'load+an. ms':>12} {'fvcore ms':>10} "
              f"{'torchinfo ms':>13} {'fvcore/analyze':>15} {'torchinfo/analyze':>18}  conv+linear MACs")
    print(header)
    print("-" * len(header))
    failures = []
    for name in SPECS:
        path = ROOT / "specs" / f"{name}.yaml"
        if not path.exists():
            print(f"{name:16} skipped: {path.relative_to(ROOT)} does not exist")
            continue
        spec = archcalc.load_spec(path)
        result = archcalc.analyze(spec)
        t_analyze = median_time(lambda: archcalc.analyze(spec), args.repeat * 10)
        t_load = median_time(lambda: archcalc.analyze(archcalc.load_spec(path)), args.repeat * 2)

        model = archcalc.build_model(spec, analysis=result).eval()
        x = torch.zeros((1, *spec.input_shape))
        with torch.no_grad():
            model(x)  # warm-up: first-call allocations are nobody's cost
        t_fvcore = median_time(lambda: fvcore_analysis(model, x).total(), args.repeat)
        t_info = (median_time(lambda: summary(model, input_size=tuple(x.shape), verbose=0), args.repeat)
                  if summary is not None else float("nan"))

        by_op = fvcore_analysis(model, x).by_operator()
        fv_macs = sum(int(by_op.get(op, 0)) for op in FVCORE_MAC_OPS)
        static_macs = result.totals.macs  # only conv, transposed conv, linear and SE rows have MACs
        agree = "agree" if fv_macs == static_macs else f"DIFFER (fvcore {fv_macs:,})"
        if fv_macs != static_macs:
            failures.append(f"{name}: conv+linear MACs {static_macs:,} (archcalc) vs {fv_macs:,} (fvcore)")
        ratio = t_fvcore / t_analyze
        shape = "x".join(map(str, spec.input_shape))
        print(f"{name:16} {shape:>11} {t_analyze * 1e3:11.2f} {t_load * 1e3:12.2f} {t_fvcore * 1e3:10.1f} "
              f"{t_info * 1e3:13.1f} {ratio:14.0f}x {t_info / t_analyze:17.0f}x  {static_macs:,} {agree}")
        if name == GOAL[0] and ratio < GOAL[1]:
            failures.append(f"{name}: static analyzer only {ratio:.0f}x faster than fvcore (goal {GOAL[1]:.0f}x)")
        elif name == GOAL[0]:
            print(f"{'':16} goal: >= {GOAL[1]:.0f}x faster than fvcore on ResNet-50: met ({ratio:.0f}x; "
                  f"{t_fvcore / t_load:.0f}x including YAML loading)")
    for f in failures:
        print(f"FAIL {f}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
