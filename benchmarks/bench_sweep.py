"""Benchmark of archcalc sweep (#18): per-point overhead and scaling, as ratios measured in one run.

    python benchmarks/bench_sweep.py                 # both measurements (about 10 minutes on 2 idle cores)
    python benchmarks/bench_sweep.py --points 2000   # a quicker scaling run

1. Overhead: the same points evaluated (a) in this process, one ``load_spec(path, params=...)`` +
   ``analyze`` each, and (b) by ``run_sweep`` with one worker process, the spec read once, writing its
   CSV chunks and the final file. Goal: (b) / (a) per point <= 2.
2. Scaling: ``--points`` (default 10,000) points, one worker process against two. Goal: >= 1.7x.
   Both runs must write the same bytes.

Timings are wall-clock; the machine's load average is printed beside them, since a shared machine's
other work slows the two-worker run most. The 100,000-point run documented in ``reports/sweep/`` is
the ``archcalc sweep`` command printed there, not part of this script.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from archcalc import analyze, load_spec  # noqa: E402
from archcalc.sweep import SweepDefinition, load_template, open_store, parse_grid, parse_range, run_sweep  # noqa: E402
from archcalc.sweep.evaluate import point_overrides  # noqa: E402

SPACE = ROOT / "benchmarks" / "specs" / "regnetx_space.yaml"
CIFAR = ROOT / "specs" / "cifar_resnet20.yaml"


def timed_sweep(template, definition, workers: int, folder: Path, name: str) -> tuple[float, float, bytes]:
    """Wall seconds, CPU seconds of the worker processes, and the file written."""
    store = open_store(folder / name, definition=definition, chunk_size=max(16, definition.size // (16 * workers)),
                       resume=False)
    cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    run_sweep(template=template, definition=definition, store=store, workers=workers)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)  # the pool's processes have been joined
    return wall, after.ru_utime + after.ru_stime - cpu.ru_utime - cpu.ru_stime, (folder / name).read_bytes()


def overhead(points: int, folder: Path) -> float:
    template = load_template(SPACE)
    axes = (parse_range("d3=1..4"), parse_range("d4=1..4"), parse_grid("w3=96..320:32"),
            parse_grid("w4=192..640:64"), parse_grid("g=8,16,32"))
    definition = SweepDefinition(spec_sha256=template.sha256, axes=axes, samples=points, seed=1)
    start = time.perf_counter()
    for i in range(points):
        params, _ = point_overrides(template, axes, definition.point(i))
        analyze(load_spec(SPACE, params=params))
    inline = (time.perf_counter() - start) / points
    pooled, _, _ = timed_sweep(template, definition, 1, folder, "overhead.csv")
    pooled /= points
    ratio = pooled / inline
    print(f"overhead, {points} RegNetX-space points: load_spec + analyze in-process {inline * 1e3:.1f} ms/point; "
          f"sweep, 1 worker process (pool start, chunks, final file included) {pooled * 1e3:.1f} ms/point; "
          f"ratio {ratio:.2f} (goal <= 2)")
    return ratio


def scaling(points: int, folder: Path) -> float:
    template = load_template(CIFAR)
    axes = (parse_range("n=1..3"), parse_grid("scale_resolution=16..64:8"))
    definition = SweepDefinition(spec_sha256=template.sha256, axes=axes, samples=points, seed=2)
    one, cpu1, data1 = timed_sweep(template, definition, 1, folder, "one.csv")
    two, cpu2, data2 = timed_sweep(template, definition, 2, folder, "two.csv")
    assert data1 == data2, "one and two workers wrote different rows"
    ratio = one / two
    print(f"scaling, {points:,} CIFAR ResNet points: 1 worker {one:.1f} s ({points / one:,.0f} points/s, "
          f"workers' CPU {cpu1:.1f} s), 2 workers {two:.1f} s ({points / two:,.0f} points/s, workers' CPU "
          f"{cpu2:.1f} s); speed-up {ratio:.2f}x (goal >= 1.7), same bytes written; CPU time per point "
          f"2 workers / 1 worker {cpu2 / cpu1:.2f} (the work itself does not grow)")
    return ratio


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--points", type=int, default=10_000, help="points of the scaling run (default 10000)")
    parser.add_argument("--overhead-points", type=int, default=200, help="points of the overhead run (default 200)")
    args = parser.parse_args()
    print(f"cpus {os.cpu_count()}, load average before {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    with tempfile.TemporaryDirectory() as tmp:
        o = overhead(args.overhead_points, Path(tmp))
        s = scaling(args.points, Path(tmp))
    print(f"load average after {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    print(f"ratios: overhead {o:.2f} (<= 2: {'yes' if o <= 2 else 'NO'}), "
          f"2-worker speed-up {s:.2f}x (>= 1.7: {'yes' if s >= 1.7 else 'NO'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
