"""How fast does the command line answer? ``archcalc`` start-up against Python's own, same run.

    python benchmarks/bench_cli.py [--rounds N] [--spec SPEC ...]

Runs each command below N times as a fresh process, interleaved round by round (so a busy
machine slows every command alike), and prints the median and fastest wall time of each and its
ratio to the peer, ``python -c "import yaml"`` (the interpreter plus the one library every spec
needs):

* ``python -c pass`` (the interpreter alone, for scale), and ``import yaml`` plus pydantic's
  ``BaseModel`` (the floor of any run that validates a spec);
* ``archcalc --version`` and ``archcalc --help``;
* ``archcalc report SPEC --format json`` for each spec (default: AlexNet, VGG-16, ResNet-50,
  DenseNet-201, EfficientNet-B7: small to large), twice: *computed* (``ARCHCALC_CACHE=off``:
  read, validate, expand, analyze, render) and *cached* (the output cache of :mod:`archcalc.cache`,
  in a temporary folder, holds the report from the warm-up run);
* ``archcalc report SPEC`` (the terminal table) for the first spec, computed.

archcalc's bytecode is compiled first, as installing a package does (with PYTHONDONTWRITEBYTECODE
set, every run would otherwise compile archcalc from source).

Goal (issue 15): ``archcalc report SPEC --format json`` within 3x of the peer (median ratio) for
every spec; the verdict is printed for the computed and the cached runs. Exit status 1 if the goal
is missed by both. ``python -X importtime -m archcalc report SPEC --format json`` shows where the
time of one start goes.
"""

from __future__ import annotations

import argparse
import compileall
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPECS = ("alexnet", "vgg16", "resnet50", "densenet201", "efficientnet_b7")
GOAL = 3.0  # report --format json within 3x of python -c "import yaml"


COMPUTED, CACHED = "computed", "cached"


def wall(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr.decode()[-500:]}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=15, help="runs of each command (interleaved)")
    parser.add_argument("--spec", action="append", help="spec stems to report on (repeatable)")
    args = parser.parse_args()

    compileall.compile_dir(str(ROOT / "archcalc"), quiet=1)
    with tempfile.TemporaryDirectory(prefix="archcalc-bench-cache-") as folder:
        return run(args, folder)


def run(args: argparse.Namespace, cache_folder: str) -> int:
    base = {k: v for k, v in os.environ.items() if not k.startswith("ARCHCALC_CACHE")}
    envs = {COMPUTED: {**base, "ARCHCALC_CACHE": "off"},
            CACHED: {**base, "ARCHCALC_CACHE": "on", "ARCHCALC_CACHE_DIR": cache_folder}}
    py = [sys.executable]
    archcalc = py + ["-m", "archcalc"]
    specs = [s for s in (args.spec or SPECS) if (ROOT / "specs" / f"{s}.yaml").exists()]
    commands: dict[str, tuple[list[str], str]] = {
        "python -c pass": (py + ["-c", "pass"], COMPUTED),
        'python -c "import yaml"  (peer)': (py + ["-c", "import yaml"], COMPUTED),
        "python: import yaml, pydantic.BaseModel": (py + ["-c", "import yaml; from pydantic import BaseModel"],
                                                    COMPUTED),
        "archcalc --version": (archcalc + ["--version"], COMPUTED),
        "archcalc --help": (archcalc + ["--help"], COMPUTED),
    }
    for mode in (COMPUTED, CACHED):
        for stem in specs:
            commands[f"report {stem} --format json  ({mode})"] = (
                archcalc + ["report", f"specs/{stem}.yaml", "--format", "json"], mode)
    if specs:
        commands[f"report {specs[0]} (table, {COMPUTED})"] = (archcalc + ["report", f"specs/{specs[0]}.yaml"], COMPUTED)
    for argv, mode in commands.values():  # warm the file cache and the output cache
        wall(argv, envs[mode])
    samples: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(args.rounds):
        for name, (argv, mode) in commands.items():
            samples[name].append(wall(argv, envs[mode]))

    peer_name = next(n for n in commands if "(peer)" in n)
    peer = statistics.median(samples[peer_name])
    print(f"Python {sys.version.split()[0]}; {args.rounds} interleaved rounds; ratio = median / median of the peer\n")
    print(f"{'command':48} {'median ms':>10} {'fastest ms':>11} {'ratio':>7}")
    missed: dict[str, list[str]] = {COMPUTED: [], CACHED: []}
    for name, times in samples.items():
        med = statistics.median(times)
        ratio = med / peer
        print(f"{name:48} {med * 1e3:10.1f} {min(times) * 1e3:11.1f} {ratio:6.2f}x")
        for mode in (COMPUTED, CACHED):
            if name.startswith("report") and name.endswith(f"--format json  ({mode})") and ratio > GOAL:
                missed[mode].append(f"{name.split()[1]}: {ratio:.2f}x")
    print()
    for mode in (COMPUTED, CACHED):
        verdict = "met" if not missed[mode] else "MISSED (" + "; ".join(missed[mode]) + ")"
        print(f"goal: archcalc report SPEC --format json within {GOAL:.0f}x of python -c \"import yaml\", "
              f"{mode}: {verdict}")
    return 1 if missed[COMPUTED] and missed[CACHED] else 0


if __name__ == "__main__":
    sys.exit(main())
