"""How fast is the static path? Load + analyze per spec and per row, against peers measured in the same run.

    python benchmarks/bench_analyze.py [--repeat N] [--max-rows R] [--fvcore SPEC ...|all] [--no-fvcore]

Prints, in one run:

* for every spec in specs/: load and analyze time (medians of N), the cost per row of load +
  analyze, and its ratio to the *plain-loop floor*: a plain Python loop over the same rows doing
  the least any counter does per layer (read its shapes, multiply them out, add to a total),
  timed in the same run;
* generated conv/BN/ReLU chains of 1,250 to R rows (default 100,000): load and analyze time and
  the cost per row, to show that it stays flat (the cyclic garbage collector is paused while a
  spec loads and is analyzed: see :mod:`archcalc.gcpause`);
* against fvcore's ``FlopCountAnalysis(model, x).total()`` at batch 1 on one CPU thread (the
  model built once, outside the timing; needs torch and fvcore, else skipped): the speed-up of
  load + analyze from the YAML file, for ResNet-50, DenseNet-201 and EfficientNet-B7 by default
  (``--fvcore all``: every spec whose model builds; a spec too large for this machine is skipped).

Goals (issue 15): load + analyze at least 100x faster than fvcore on every model compared; within
10x of the plain-loop floor per row on the largest chain (the zoo's median is printed too: there a
file's fixed costs, its references and notes, weigh on few rows); per-row cost at 100,000 rows
within 1.5x of that at 1,250 rows. Exit status 1 if a goal is missed.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import archcalc  # noqa: E402
from archcalc.spec.load import read_tree  # noqa: E402

FVCORE_DEFAULT = ("resnet50", "densenet201", "efficientnet_b7")
FVCORE_GOAL = 100.0  # load + analyze at least 100x faster than fvcore
FLOOR_GOAL = 10.0  # load + analyze per row within 10x of the plain-loop floor (largest chain)
LINEAR_GOAL = 1.5  # per-row cost at the largest chain / at the smallest


def median_time(fn: Callable[[], Any], repeat: int) -> float:
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


def plain_loop(rows: list[tuple[int, ...]]) -> tuple[int, int, int]:
    """The floor: the least a per-layer counter does for each layer, written as one plain loop over
    tuples -- a 3x3 convolution's output size, parameters, multiply-adds and output bytes from its
    input shape and output channels."""
    params = macs = act = 0
    for c, h, w, out in rows:
        ho = (h + 2 - 3) // 1 + 1
        wo = (w + 2 - 3) // 1 + 1
        params += out * (c * 9 + 1)
        macs += out * ho * wo * c * 9
        act += out * ho * wo * 4
    return params, macs, act


def floor_rows(result: Any) -> list[tuple[int, ...]]:
    """One tuple per analyzer row: (channels, height, width, output channels) of the row."""
    def dims(shape: tuple[int, ...]) -> tuple[int, int, int]:
        c, *rest = shape
        return c, (rest[-2] if len(rest) > 1 else 1), (rest[-1] if rest else 1)

    return [(*dims(r.input_shape), r.output_shape[0]) for r in result.layers]


def zoo(repeat: int) -> list[float]:
    print(f"{'spec':34} {'rows':>6} {'load ms':>8} {'analyze ms':>11} {'us/row':>7} {'floor us/row':>13} "
          f"{'/ floor':>8}")
    ratios = []
    for path in sorted((ROOT / "specs").glob("*.yaml")):
        try:
            spec = archcalc.load_spec(path)
            result = archcalc.analyze(spec)
        except archcalc.ArchcalcError as exc:
            print(f"{path.stem:34} error: {str(exc).splitlines()[0]}")
            continue
        load = median_time(lambda: archcalc.load_spec(path), max(3, repeat // 3))
        analyze = median_time(lambda: archcalc.analyze(spec), repeat)
        rows = floor_rows(result)
        floor = median_time(lambda: plain_loop(rows), repeat * 3)
        n = len(rows)
        ratio = (load + analyze) / floor
        ratios.append(ratio)
        print(f"{path.stem:34} {n:6d} {load * 1e3:8.2f} {analyze * 1e3:11.2f} {(load + analyze) / n * 1e6:7.1f} "
              f"{floor / n * 1e6:13.3f} {ratio:7.0f}x")
    return ratios


def chains(max_rows: int) -> tuple[float, float]:
    """(growth of the per-row cost from the smallest chain to the largest, per-row cost / floor at the largest)."""
    print(f"\ngenerated chains (conv 3x3 + BN + ReLU units):\n{'rows':>7} {'load ms':>9} {'analyze ms':>11} "
          f"{'us/row':>7} {'floor us/row':>13} {'/ floor':>8}")
    sizes = [n for n in (1_250, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000) if n <= max_rows] or [max_rows]
    per_row = []
    ratio = float("nan")
    with tempfile.TemporaryDirectory() as tmp:
        for layers in sizes:
            path = Path(tmp) / f"chain{layers}.yaml"
            path.write_text(chain_spec(layers))
            spec = archcalc.load_spec(path)
            repeat = 3 if layers <= 10_000 else 1
            load = median_time(lambda: archcalc.load_spec(path), repeat)
            analyze = median_time(lambda: archcalc.analyze(spec), repeat)
            result = archcalc.analyze(spec)
            n = len(result.layers)
            rows = floor_rows(result)
            floor = median_time(lambda: plain_loop(rows), 3) / n
            per_row.append((load + analyze) / n)
            ratio = per_row[-1] / floor
            print(f"{n:7d} {load * 1e3:9.1f} {analyze * 1e3:11.1f} {per_row[-1] * 1e6:7.1f} {floor * 1e6:13.3f} "
                  f"{ratio:7.0f}x")
    growth = per_row[-1] / per_row[0]
    print(f"per-row cost of load + analyze, {sizes[-1]:,} vs {sizes[0]:,} rows: {growth:.2f}x (1.0 = linear)")
    return growth, ratio


def validation_time(path: Path, repeat: int) -> float:
    """Median seconds per load spent in pydantic's validation of the expanded layers (every call of
    ``load._LAYERS.validate_python`` during one ``spec_from_tree``, those for ``$in_channels`` included)."""
    import archcalc.spec.load as load

    raw = read_tree(path)
    real = load._LAYERS
    spent: list[float] = []

    class Timed:
        def validate_python(self, value: Any) -> Any:
            start = time.perf_counter()
            try:
                return real.validate_python(value)
            finally:
                spent[-1] += time.perf_counter() - start

    load._LAYERS = Timed()  # type: ignore[assignment]
    try:
        for _ in range(repeat):
            spent.append(0.0)
            load.spec_from_tree(raw, path=path)
    finally:
        load._LAYERS = real
    return statistics.median(spent)


def versus_fvcore(names: list[str], repeat: int) -> list[tuple[str, float]]:
    try:
        import torch
        from fvcore.nn import FlopCountAnalysis
    except ImportError as exc:
        print(f"\nfvcore comparison skipped: {exc}")
        return []
    import logging
    import warnings

    warnings.filterwarnings("ignore")
    logging.getLogger("fvcore").setLevel(logging.ERROR)
    torch.set_num_threads(1)
    print(f"\nagainst fvcore FlopCountAnalysis(model, x).total(), batch 1, torch {torch.__version__} on "
          f"{torch.get_num_threads()} thread:")
    print(f"{'spec':24} {'input':>11} {'load+an. ms':>12} {'fvcore ms':>10} {'fvcore / archcalc':>18} "
          f"{'read ms':>8} {'validate ms':>12} {'fvcore / (read + validate)':>27}")
    out = []
    for name in names:
        path = ROOT / "specs" / f"{name}.yaml"
        if not path.exists():
            print(f"{name:24} skipped: no such spec")
            continue
        try:
            spec = archcalc.load_spec(path)
            result = archcalc.analyze(spec)
            if result.totals.params * 4 + result.totals.peak_activation_bytes > 8 * 1024 ** 3:
                print(f"{name:24} skipped: too large to run here")
                continue
            model = archcalc.build_model(spec, analysis=result).eval()
        except Exception as exc:  # noqa: BLE001 - a peer that cannot run is reported, not fatal
            print(f"{name:24} skipped: {type(exc).__name__}: {str(exc).splitlines()[0][:60]}")
            continue
        x = torch.zeros((1, *spec.input_shape))

        def fv() -> None:
            a = FlopCountAnalysis(model, x)
            a.unsupported_ops_warnings(False)
            a.uncalled_modules_warnings(False)
            a.tracer_warnings("none")
            a.total()

        with torch.no_grad():
            model(x)  # warm-up
        t_fv = median_time(fv, max(1, repeat // 5))
        t_static = median_time(lambda: archcalc.analyze(archcalc.load_spec(path)), repeat)
        t_read = median_time(lambda: read_tree(path), repeat)
        t_validate = validation_time(path, repeat)
        ratio = t_fv / t_static
        out.append((name, ratio))
        shape = "x".join(map(str, spec.input_shape))
        print(f"{name:24} {shape:>11} {t_static * 1e3:12.2f} {t_fv * 1e3:10.1f} {ratio:17.0f}x "
              f"{t_read * 1e3:8.2f} {t_validate * 1e3:12.2f} {t_fv / (t_read + t_validate):26.0f}x")
    print("(read: the YAML file parsed with its line marks, the first step of load_spec; validate: pydantic's\n"
          " validation of the expanded layers alone, part of load_spec; fvcore / (read + validate): the most a\n"
          " design that reads YAML and validates each layer with pydantic could reach, expanding and analyzing\n"
          " in no time)")
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--max-rows", type=int, default=100_000, help="largest generated chain (rows)")
    parser.add_argument("--fvcore", nargs="+", metavar="SPEC", default=list(FVCORE_DEFAULT),
                        help="spec stems to time fvcore on ('all': every spec)")
    parser.add_argument("--no-fvcore", action="store_true", help="skip the fvcore comparison")
    args = parser.parse_args()

    failures = []
    ratios = zoo(args.repeat)
    zoo_ratio = statistics.median(ratios) if ratios else float("nan")
    growth, floor_ratio = chains(args.max_rows)
    fv = []
    if not args.no_fvcore:
        names = ([p.stem for p in sorted((ROOT / "specs").glob("*.yaml"))] if args.fvcore == ["all"]
                 else args.fvcore)
        fv = versus_fvcore(names, args.repeat)

    print()
    ok = floor_ratio <= FLOOR_GOAL
    print(f"goal: load + analyze within {FLOOR_GOAL:.0f}x of the plain-loop floor per row (the largest chain): "
          f"{'met' if ok else 'MISSED'} ({floor_ratio:.0f}x; over the zoo, where reading each file and its "
          f"references adds a fixed cost, median {zoo_ratio:.0f}x)")
    if not ok:
        failures.append(f"load + analyze {floor_ratio:.0f}x the plain-loop floor")
    ok = growth <= LINEAR_GOAL
    print(f"goal: per-row cost at the largest chain within {LINEAR_GOAL}x of the smallest's: "
          f"{'met' if ok else 'MISSED'} ({growth:.2f}x)")
    if not ok:
        failures.append(f"per-row cost grows {growth:.2f}x")
    if fv:
        worst = min(fv, key=lambda item: item[1])
        ok = worst[1] >= FVCORE_GOAL
        print(f"goal: load + analyze at least {FVCORE_GOAL:.0f}x faster than fvcore (one thread) on every model "
              f"compared: {'met' if ok else 'MISSED'} (slowest: {worst[0]}, {worst[1]:.0f}x)")
        if not ok:
            failures.append(f"{worst[0]}: only {worst[1]:.0f}x faster than fvcore")
    for f in failures:
        print(f"FAIL {f}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
