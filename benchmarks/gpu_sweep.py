#!/usr/bin/env python3
"""The GPU throughput sweep: seven ImageNet CNNs, batch 1-256, bfloat16 on CUDA.

Each (model, pass) runs as its own ``archcalc bench`` process (a fresh CUDA context: no memory
fragmentation or compile caches carried between models) and writes its results JSON under
``reports/bench/<device-slug>/``; then ``reports/bench/<device-slug>/SUMMARY.md`` is rebuilt from
every results file there (the newest run per model and set-up wins).

Passes:
  eager     no torch.compile, no CUDA graphs, channels-last, every batch size (fast)
  compiled  torch.compile mode reduce-overhead (inductor + CUDA graphs), batches 1,8,64,256
            (one compilation per batch size: budget about a minute per model and batch)

Usage (one model per call fits a 10-minute command limit):
  python benchmarks/gpu_sweep.py                                    # everything
  python benchmarks/gpu_sweep.py --models resnet50 --passes eager   # one model, one pass
  python benchmarks/gpu_sweep.py --summary-only                     # rebuild SUMMARY.md

Refuses to run without CUDA unless --allow-cpu (the results would be CPU figures, labelled so).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODELS = ("resnet18", "resnet50", "vgg16", "densenet121", "efficientnet_b0", "googlenet", "inception_v3")
ALL_BATCHES = "1,2,4,8,16,32,64,128,256"
PASSES = {
    "eager": ["--compile", "none", "--no-cuda-graphs"],
    "compiled": ["--compile", "default", "--cuda-graphs"],
}
PASS_BATCHES = {"eager": ALL_BATCHES, "compiled": "1,8,64,256"}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", default=",".join(MODELS), help="comma-separated spec names under specs/")
    p.add_argument("--passes", default="eager,compiled", help="comma-separated: eager, compiled")
    p.add_argument("--batch", help=f"batch sizes for every pass (default eager {ALL_BATCHES}; compiled 1,8,64,256)")
    p.add_argument("--dtype", default="bfloat16", choices=("float32", "tf32", "bfloat16", "float16"))
    p.add_argument("--out", default=str(ROOT / "reports" / "bench"), help="results root (default reports/bench)")
    p.add_argument("--extra", default="", help="extra arguments for archcalc bench, e.g. '--repeats 9'")
    p.add_argument("--summary-only", action="store_true", help="only rebuild SUMMARY.md from saved results")
    p.add_argument("--allow-cpu", action="store_true", help="run even without CUDA (CPU figures)")
    args = p.parse_args(argv)

    sys.path.insert(0, str(ROOT))
    from archcalc.bench.records import read_runs as load_runs
    from archcalc.report.bench import render_summary
    from archcalc.fileio import write_atomic

    out = Path(args.out)
    slug_dir = None
    if not args.summary_only:
        import torch

        from archcalc.bench.env import cpu_model_name, device_slug

        if not torch.cuda.is_available() and not args.allow_cpu:
            print("gpu_sweep: CUDA is not available; refusing to write CPU figures as a GPU sweep "
                  "(use --allow-cpu to run anyway)", file=sys.stderr)
            return 2
        name = torch.cuda.get_device_name() if torch.cuda.is_available() else cpu_model_name()
        slug_dir = out / (device_slug(name) if torch.cuda.is_available() else "cpu-" + device_slug(name))
        failures = 0
        for model in filter(None, args.models.split(",")):
            spec = ROOT / "specs" / f"{model.strip()}.yaml"
            for pass_ in filter(None, args.passes.split(",")):
                if pass_ not in PASSES:
                    print(f"gpu_sweep: unknown pass {pass_!r}", file=sys.stderr)
                    return 2
                cmd = [sys.executable, "-m", "archcalc", "bench", str(spec), "--device", "cuda",
                       "--dtype", args.dtype, "--batch", args.batch or PASS_BATCHES[pass_], *PASSES[pass_],
                       "--save-dir", str(out), *args.extra.split()]
                print(f"\n=== {model} / {pass_}: {' '.join(cmd[1:])}", flush=True)
                t0 = time.monotonic()
                code = subprocess.call(cmd, cwd=ROOT)
                print(f"=== {model} / {pass_}: exit {code} after {time.monotonic() - t0:.0f} s", flush=True)
                failures += code != 0
    dirs = [slug_dir] if slug_dir else sorted(d for d in out.iterdir() if d.is_dir())
    for d in dirs:
        runs = load_runs([d])
        if not runs:
            continue
        text = render_summary(runs, title=f"archcalc bench sweep: {d.name}", base=d)
        write_atomic(d / "SUMMARY.md", text)
        print(f"gpu_sweep: wrote {d / 'SUMMARY.md'} ({len(runs)} results files)")
    return 0 if args.summary_only or not failures else 1


if __name__ == "__main__":
    sys.exit(main())
