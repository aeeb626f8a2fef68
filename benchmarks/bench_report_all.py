"""The reports tree: a cold build, a rebuild with nothing changed, and one changed spec, same run.

    python benchmarks/bench_report_all.py [--specs N] [--from DIR] [--against TREE [--rounds R]]

Copies ``specs/`` (or DIR; or its first N specs, plus the specs they extend) into a temporary folder and
times ``archcalc report --all SPECS -o OUT`` (a fresh process each, as a user runs it):

1. cold: into an empty folder (every spec loaded, analyzed, checked, its pages and charts drawn);
2. nothing changed: the same command again (every spec reused from the manifest's record);
3. one spec changed: a comment appended to one spec file (its bytes change: that spec alone is built);
4. its ``extends:`` parent changed, when there is one: the parent and every spec extending it;

and, as the machine's pace measured in the same run, ``python -c "import yaml"`` (median of 5). Ratios are
to the cold build. Goals (issue 15): nothing changed under 10 s, whatever the zoo (at most 5 % of
the cold build for the 123-spec zoo); the outputs of every step byte-identical to a cold build of
the same specs (checked here for step 3). Exit status 1 if a goal is missed.

With ``--against TREE`` (another checkout of archcalc, e.g. a ``git worktree`` of an older commit) it
times cold builds only, of that code and of this one, interleaved ``--rounds`` times (old, new, new,
old, ...: a machine busy with other work slows both alike), and prints the medians of wall-clock and
CPU seconds (the builds' processes together) and their ratios; each tree's outputs must be the same
bytes in every round.
"""

from __future__ import annotations

import argparse
import filecmp
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
NOTHING_CHANGED_LIMIT_S = 10.0
NOTHING_CHANGED_SHARE = 0.05


def run(argv: list[str], cwd: Path = ROOT, env: dict[str, str] | None = None) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, env=env)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr[-800:]}")
    return elapsed, done.stderr.strip().splitlines()[-1] if done.stderr.strip() else ""


def compare(trees: dict[str, Path], specs: Path, out: Path, rounds: int) -> int:
    """Cold builds of ``specs`` by the code of each tree, interleaved; medians and ratios printed."""
    import os
    import resource

    times: dict[str, list[tuple[float, float]]] = {name: [] for name in trees}
    first: dict[str, Path] = {}
    for r in range(rounds):
        for name in (list(trees) if r % 2 == 0 else list(trees)[::-1]):
            tree = trees[name]
            target = out / f"{name}-{r}"
            env = dict(os.environ, PYTHONPATH=str(tree))
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            wall, _ = run([sys.executable, "-m", "archcalc", "report", "--all", str(specs), "-o", str(target)],
                          cwd=tree, env=env)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
            times[name].append((wall, cpu))
            print(f"round {r + 1}: {name:8} {wall:8.2f} s wall {cpu:8.2f} s CPU", flush=True)
            if name in first:
                differ = same_tree(first[name], target)
                if differ:
                    raise SystemExit(f"{name}: two cold builds differ: {differ[:5]}")
                shutil.rmtree(target)
            else:
                first[name] = target
    n = len(list(specs.glob("*.yaml")))
    print(f"\n{n} specs, {rounds} rounds; medians:")
    med = {name: (statistics.median(w for w, _ in t), statistics.median(c for _, c in t)) for name, t in times.items()}
    for name, (wall, cpu) in med.items():
        print(f"{name:8} {wall:8.2f} s wall {cpu:8.2f} s CPU   ({trees[name]})")
    (old_wall, old_cpu), (new_wall, new_cpu) = med["old"], med["new"]
    print(f"old / new: {old_wall / new_wall:.2f}x wall, {old_cpu / new_cpu:.2f}x CPU")
    return 0


def built(message: str) -> str:
    found = re.search(r"\((\d+ built, \d+ unchanged)", message)
    return found.group(1) if found else "?"


def chosen_specs(folder: Path, count: int | None) -> list[Path]:
    paths = sorted(folder.glob("*.yaml"))
    if count is None or count >= len(paths):
        return paths
    from archcalc.spec.extends import extends_files

    chosen: dict[Path, None] = {}
    for p in paths[:count]:
        for f in extends_files(p):
            chosen[f] = None
    return sorted(chosen)


def same_tree(a: Path, b: Path) -> list[str]:
    """Files that differ between two trees (the manifests aside: their records name the build)."""
    differ = []
    names = {p.relative_to(a) for p in a.rglob("*") if p.is_file()} | {p.relative_to(b) for p in b.rglob("*")
                                                                         if p.is_file()}
    for rel in sorted(names):
        if rel.name == ".archcalc-manifest.json":
            continue
        if not ((a / rel).is_file() and (b / rel).is_file() and filecmp.cmp(a / rel, b / rel, shallow=False)):
            differ.append(str(rel))
    return differ


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--specs", type=int, default=None, help="only the first N specs (and their parents)")
    parser.add_argument("--from", dest="folder", type=Path, default=ROOT / "specs", metavar="DIR",
                        help="the specs to copy (default: specs/)")
    parser.add_argument("--against", type=Path, default=None, metavar="TREE",
                        help="time cold builds only, of the archcalc in TREE (old) and this one (new), interleaved")
    parser.add_argument("--rounds", type=int, default=3, help="with --against: builds of each tree (default 3)")
    args = parser.parse_args()
    if args.against is not None:
        with tempfile.TemporaryDirectory() as tmp:
            specs = Path(tmp) / "specs"
            specs.mkdir()
            for p in chosen_specs(args.folder, args.specs):
                shutil.copy2(p, specs / p.name)
            return compare({"old": args.against.resolve(), "new": ROOT}, specs, Path(tmp), args.rounds)

    archcalc = [sys.executable, "-m", "archcalc", "report", "--all"]
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        specs, out, cold_copy = Path(tmp) / "specs", Path(tmp) / "out", Path(tmp) / "cold"
        specs.mkdir()
        for p in chosen_specs(args.folder, args.specs):
            shutil.copy2(p, specs / p.name)
        n = len(list(specs.glob("*.yaml")))
        calibration = statistics.median(run([sys.executable, "-c", "import yaml"])[0] for _ in range(5))
        cold, msg_cold = run(archcalc + [str(specs), "-o", str(out)])
        steps = [("cold (empty folder)", cold, msg_cold)]
        same, msg_same = run(archcalc + [str(specs), "-o", str(out)])
        steps.append(("nothing changed", same, msg_same))
        victim = next((p for p in sorted(specs.glob("*.yaml")) if "extends:" in p.read_text()), None)
        victim = victim or sorted(specs.glob("*.yaml"))[0]
        with victim.open("a") as f:
            f.write("\n# touched by bench_report_all.py\n")
        one, msg_one = run(archcalc + [str(specs), "-o", str(out)])
        steps.append((f"one spec changed ({victim.name})", one, msg_one))
        parent = re.search(r"^extends:\s*(\S+)", victim.read_text(), re.M)
        if parent and (specs / parent.group(1)).is_file():
            with (specs / parent.group(1)).open("a") as f:
                f.write("\n# touched by bench_report_all.py\n")
            t, msg = run(archcalc + [str(specs), "-o", str(out)])
            steps.append((f"its parent changed ({parent.group(1)})", t, msg))
        run(archcalc + [str(specs), "-o", str(cold_copy)])
        differ = same_tree(out, cold_copy)
        if differ:
            failures.append(f"the incremental tree differs from a cold build: {differ[:5]}")

    print(f"{n} specs; python -c \"import yaml\" took {calibration * 1e3:.0f} ms in this run (the machine's pace)\n")
    print(f"{'step':44} {'seconds':>8} {'/ cold':>8}  specs")
    for name, seconds, message in steps:
        print(f"{name:44} {seconds:8.2f} {seconds / cold:7.1%}  {built(message)}")
    print(f"\ncold build: {cold / n:.2f} s per spec ({cold / n / calibration:.0f}x python -c \"import yaml\")")
    limit_ok = same < NOTHING_CHANGED_LIMIT_S and (n < 100 or same / cold <= NOTHING_CHANGED_SHARE)
    print(f"goal: nothing changed under {NOTHING_CHANGED_LIMIT_S:.0f} s"
          + (f" and at most {NOTHING_CHANGED_SHARE:.0%} of the cold build" if n >= 100 else "")
          + f": {'met' if limit_ok else 'MISSED'} ({same:.2f} s, {same / cold:.1%})")
    print(f"goal: the incremental tree byte-identical to a cold build: {'met' if not differ else 'MISSED'}")
    if not limit_ok:
        failures.append("nothing-changed rebuild too slow")
    for f in failures:
        print(f"FAIL {f}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
