"""``archcalc report --all DIR``: regenerate the reports tree (see :mod:`archcalc.render.site`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..fileio import write_atomic
from .common import spec_paths


def run_all(args: argparse.Namespace) -> int:
    from ..render.site import build_site, stale_files

    out_dir = Path(args.output or "reports")
    if out_dir.exists() and not out_dir.is_dir():
        from ..errors import ArchcalcError, Location

        raise ArchcalcError("--all writes a folder of reports; -o must name a directory", Location(file=str(out_dir)))
    files, summaries = build_site(spec_paths([args.all_specs]))
    changed = 0
    for rel, text in sorted(files.items()):
        target = out_dir / rel
        data = text.encode("utf-8")
        if target.is_file() and target.read_bytes() == data:
            continue
        write_atomic(target, data)
        changed += 1
    removed = stale_files(out_dir, files)
    for f in removed:
        f.unlink()
    print(f"archcalc: {len(summaries)} specs -> {out_dir}/: {len(files)} files, {changed} written, "
          f"{len(files) - changed} unchanged, {len(removed)} stale removed", file=sys.stderr)
    broken = [s for s in summaries if s.error]
    failed = [s for s in summaries if s.check_failed and not s.error]
    for s in broken:
        print(f"archcalc: error: {s.error.splitlines()[0]}", file=sys.stderr)
    for s in failed:
        print(f"archcalc: warning: {s.path}: reference check {s.check}", file=sys.stderr)
    return 2 if broken else 0
