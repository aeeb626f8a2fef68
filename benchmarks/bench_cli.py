"""How fast does the command line answer? ``archcalc`` start-up against Python's own, same run.

    python benchmarks/bench_cli.py [--rounds N] [--spec SPEC ...]

Runs each command below N times as a fresh process, interleaved round by round (so a busy
machine slows every command alike), and prints the median and fastest wall time of each and its
ratio to the peer, ``python -c "import yaml"`` (the interpreter plus the one library every spec
needs):

* ``python -c pass`` (the interpreter alone, for scale);
* ``archcalc --version`` and ``archcalc --help``;
* ``archcalc report SPEC --format json`` for each spec (default: AlexNet, VGG-16, ResNet-50,
  DenseNet-201, EfficientNet-B7: small to large);
* ``archcalc report SPEC`` (the terminal table) for the first spec.

Goal (issue 15): ``archcalc report SPEC --format json`` within 3x of the peer (median ratio) for
every spec. Exit status 1 if the goal is missed. ``python -X importtime -m archcalc report SPEC
--format json`` shows where the time of one start goes.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPECS = ("alexnet", "vgg16", "resnet50", "densenet201", "efficientnet_b7")
GOAL = 3.0  # report --format json within 3x of python -c "import yaml"


def wall(argv: list[str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr.decode()[-500:]}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=15, help="runs of each command (interleaved)")
    parser.add_argument("--spec", action="append", help="spec stems to report on (repeatable)")
    args = parser.parse_args()

    py = [sys.executable]
    archcalc = py + ["-m", "archcalc"]
    specs = [s for s in (args.spec or SPECS) if (ROOT / "specs" / f"{s}.yaml").exists()]
    commands: dict[str, list[str]] = {
        "python -c pass": py + ["-c", "pass"],
        'python -c "import yaml"  (peer)': py + ["-c", "import yaml"],
        "archcalc --version": archcalc + ["--version"],
        "archcalc --help": archcalc + ["--help"],
    }
    for stem in specs:
        commands[f"archcalc report {stem} --format json"] = archcalc + ["report", f"specs/{stem}.yaml", "--format",
                                                                        "json"]
    if specs:
        commands[f"archcalc report {specs[0]} (table)"] = archcalc + ["report", f"specs/{specs[0]}.yaml"]
    for argv in commands.values():  # warm the file cache and the bytecode
        wall(argv)
    samples: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(args.rounds):
        for name, argv in commands.items():
            samples[name].append(wall(argv))

    peer_name = next(n for n in commands if "(peer)" in n)
    peer = statistics.median(samples[peer_name])
    print(f"Python {sys.version.split()[0]}; {args.rounds} interleaved rounds; ratio = median / median of the peer\n")
    print(f"{'command':48} {'median ms':>10} {'fastest ms':>11} {'ratio':>7}")
    missed = []
    for name, times in samples.items():
        med = statistics.median(times)
        ratio = med / peer
        print(f"{name:48} {med * 1e3:10.1f} {min(times) * 1e3:11.1f} {ratio:6.2f}x")
        if name.startswith("archcalc report") and name.endswith("--format json") and ratio > GOAL:
            missed.append(f"{name}: {ratio:.2f}x")
    verdict = "met" if not missed else "MISSED (" + "; ".join(missed) + ")"
    print(f"\ngoal: archcalc report SPEC --format json within {GOAL:.0f}x of python -c \"import yaml\": {verdict}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
