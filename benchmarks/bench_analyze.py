"""How fast is the static path? Load and analyze time per spec, and scaling with depth.

    python benchmarks/bench_analyze.py [--repeat N]

Prints, in one run: load and analyze time (median of N) for every spec in specs/; the same for
generated conv/BN/ReLU chains of 1,250 to 10,000 layers, with the per-layer cost to show growth is
linear; and, as a peer measured in the same run, the time the Python standard library's
``json.loads`` + ``json.dumps`` round trip takes over the analysis' JSON report (a floor for "any
work at all per layer"). Goals (issue 2): ResNet-152 analyzed in < 5 ms after loading; the
10,000-layer chain in < 1 s.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import archcalc  # noqa: E402
from archcalc.report.table import report_json  # noqa: E402


def median_time(fn, repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def chain_spec(layers: int) -> str:
    blocks = layers // 3
    return json.dumps({
        "name": f"chain-{layers}",
        "input": [16, 32, 32],
        "blocks": {"unit": {"layers": [
            {"type": "conv", "out": 16, "kernel": 3, "padding": 1, "bias": False},
            {"type": "batchnorm"}, {"type": "relu"}]}},
        "layers": [{"use": "unit", "repeat": blocks}],
    })


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()

    print(f"{'spec':34} {'layers':>7} {'load ms':>9} {'analyze ms':>11} {'json peer ms':>13} {'ratio':>7}")
    for path in sorted((ROOT / "specs").glob("*.yaml")):
        try:
            spec = archcalc.load_spec(path)
            result = archcalc.analyze(spec)
        except archcalc.ArchcalcError as exc:
            print(f"{path.name:34} error: {exc}")
            continue
        load = median_time(lambda: archcalc.load_spec(path), max(3, args.repeat // 3))
        analyze = median_time(lambda: archcalc.analyze(spec), args.repeat)
        text = report_json(result)
        peer = median_time(lambda: json.dumps(json.loads(text)), args.repeat)
        print(f"{path.stem:34} {len(result.layers):7d} {load * 1e3:9.2f} {analyze * 1e3:11.2f} {peer * 1e3:13.2f} "
              f"{analyze / peer:7.2f}")

    print("\ngenerated chains (conv 3x3 + BN + ReLU units):")
    print(f"{'layers':>7} {'load ms':>9} {'analyze ms':>11} {'us/layer':>9}")
    per_layer = []
    with tempfile.TemporaryDirectory() as tmp:
        for layers in (1_250, 2_500, 5_000, 10_000):
            path = Path(tmp) / f"chain{layers}.yaml"
            path.write_text(chain_spec(layers))
            spec = archcalc.load_spec(path)
            load = median_time(lambda: archcalc.load_spec(path), 3)
            analyze = median_time(lambda: archcalc.analyze(spec), 5)
            n = len(archcalc.analyze(spec).layers)
            per_layer.append(analyze / n)
            print(f"{n:7d} {load * 1e3:9.1f} {analyze * 1e3:11.1f} {analyze / n * 1e6:9.2f}")
    growth = per_layer[-1] / per_layer[0]
    print(f"\nper-layer analyze cost, 10k vs 1.25k layers: {growth:.2f}x (1.0 = perfectly linear)")
    r152 = ROOT / "specs" / "resnet152.yaml"
    if r152.exists():
        spec = archcalc.load_spec(r152)
        t = median_time(lambda: archcalc.analyze(spec), args.repeat)
        print(f"ResNet-152 analyze: {t * 1e3:.2f} ms (goal < 5 ms): {'ok' if t < 5e-3 else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
