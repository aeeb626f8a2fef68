"""``archcalc report --all DIR``: regenerate the reports tree (see :mod:`archcalc.site`).

Everything is built in memory first; a spec that fails to load or analyze fails the run and
nothing is written. The tree is then written with :func:`archcalc.fileio.write_tree`, which keeps
a manifest of the files archcalc wrote and never touches anything else in the folder. A spec
whose inputs and archcalc itself are unchanged since the last run is not built again (the rule:
:mod:`archcalc.site.incremental`); ``--rebuild`` builds every spec.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .common import spec_paths


def run_all(args: argparse.Namespace) -> int:
    from ..errors import Location, OutputError
    from ..fileio import MANIFEST_NAME, read_manifest, write_tree
    from ..site.incremental import build_reports

    out_dir = Path(args.output or "reports")
    # cheap checks before the build (drawing every chart takes a while)
    if args.output == "-" or (out_dir.exists() and not out_dir.is_dir()):
        raise OutputError("--all writes a folder of reports; -o must name a directory", Location(file=str(out_dir)))
    if not out_dir.exists() and not out_dir.parent.is_dir():
        raise OutputError(f"the folder {out_dir.parent} does not exist (archcalc creates only {out_dir.name}/)",
                          Location(file=str(out_dir)))
    if out_dir.is_dir() and not args.force:
        read_manifest(out_dir)
    paths = spec_paths([args.all_specs])
    site, record = build_reports(paths, out_dir, rebuild=getattr(args, "rebuild", False))
    files, summaries = site.files, site.summaries
    broken = [s for s in summaries if s.error]
    for s in broken:
        print(f"archcalc: error: {s.error.splitlines()[0]}", file=sys.stderr)
    if broken:
        print(f"archcalc: {len(broken)} of {len(summaries)} specs failed; nothing written to {out_dir}/",
              file=sys.stderr)
        return 2
    result = write_tree(out_dir, files, force=args.force, inputs=paths, record=record)
    print(f"archcalc: {len(summaries)} specs ({len(site.built)} built, {len(summaries) - len(site.built)} unchanged "
          f"since the last build) -> {out_dir}/: {len(files)} files, {len(result.written)} written, "
          f"{len(result.unchanged)} unchanged, {len(result.removed)} stale removed (listed in {MANIFEST_NAME})",
          file=sys.stderr)
    for s in summaries:
        if s.check_failed:
            print(f"archcalc: warning: {s.path}: reference check {s.check}", file=sys.stderr)
    return 0
