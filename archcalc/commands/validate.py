"""``archcalc validate``: load and analyze specs, report the first problem of each."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import ArchcalcError, SpecError, escape_controls
from .common import spec_paths

HELP = "check that specs are valid (schema, blocks, and that every layer fits its input)"


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("validate", help=HELP, description=HELP.capitalize() + ".")
    p.add_argument("specs", nargs="*", metavar="SPEC|DIR",
                   help="spec files or directories of *.yaml (default: specs/)")
    p.add_argument("-q", "--quiet", action="store_true", help="print only problems")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..analysis import analyze
    from ..spec import load_spec

    if not args.specs and not Path("specs").is_dir():
        raise SpecError("no specs given and there is no specs/ directory here")
    failed = 0
    for path in spec_paths(args.specs or ["specs"]):
        if path.name == "schema.json":
            continue
        try:
            analysis = analyze(load_spec(path))
        except ArchcalcError as exc:
            if args.debug:
                raise
            failed += 1
            print(f"archcalc: error: {exc}", file=sys.stderr)
            continue
        if not args.quiet:
            print(f"ok  {escape_controls(str(path))}  ({len(analysis.layers)} layers, output {list(analysis.output_shape)})")
    return 2 if failed else 0
