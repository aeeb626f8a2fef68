"""``archcalc check``: compare each spec's reference figures with the analyzer, show the errata.

Computing lives in :mod:`archcalc.check`, rendering in :mod:`archcalc.report.check`; this module
reads the arguments, runs the check and writes the text.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import ArchcalcError, SpecError
from .common import emit, spec_paths

if TYPE_CHECKING:
    from ..check import FigureCheck

HELP = ("compare the figures each spec's references record with the computed ones; show the errata "
        "and the figures counted under another convention")
EPILOG = """\
examples:
  archcalc check                                   # every spec in specs/
  archcalc check specs/alexnet.yaml --show errata  # where the lecture table is wrong, and why
  archcalc check specs/resnet50.yaml --show errata  # 25.5 M: right without the batch-norm parameters
  archcalc check --failures-only                   # only figures that fail
  archcalc check --format junit -o check.xml       # for CI test reports

statuses:
  ok        within the tolerance (default: half a unit of the last digit as written,
            105 -> 0.5, 4.09 -> 0.005; `tolerance:` per quantity overrides it)
  erratum   outside the tolerance, explained by the reference's `errata:` (the source is wrong)
  convention  outside the tolerance, but right under another counting convention that an
            `errata:` entry names ({status: convention, convention: ..., value: ...}) and
            archcalc recounts (e.g. without batch-norm parameters, option-A shortcuts)
  mismatch  outside the tolerance, unexplained                                  -> exit 1
  stale     an erratum for a figure that matches, or naming no recorded figure -> exit 1
  note      an erratum about a non-figure field (conv1.padding), listed only
delta = computed - printed, in the printed unit. Exit status: 0 when every figure is ok, an
erratum or a convention; 1 on a mismatch or stale entry; 2 on a spec error (then -o writes nothing).
"""

SHOW = ("all", "errata", "failures")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("check", help=HELP, description=HELP.capitalize() + ".", epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("specs", nargs="*", metavar="SPEC|DIR", help="spec files or directories of *.yaml (default: specs/)")
    p.add_argument("--format", "-f", default="table", choices=("table", "markdown", "json", "junit"),
                   help="output format (default: table)")
    p.add_argument("-o", "--output", metavar="FILE", help="write to FILE (atomically) instead of stdout")
    p.add_argument("--show", default="all", choices=SHOW,
                   help="which figures to list: all (default), errata (everything but ok: errata, conventions, "
                        "notes and failures), failures")
    p.add_argument("--failures-only", dest="show", action="store_const", const="failures",
                   help="same as --show failures")
    p.add_argument("-q", "--quiet", action="store_true",
                   help="print only failures (file:line messages) and the summary line")
    p.add_argument("--skip-non-specs", action="store_true",
                   help="skip YAML files that are not specs (no 'layers' or 'extends' key); "
                        "for the pre-commit hook, which passes every changed YAML file")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..analysis import analyze
    from ..check import check_spec, summarize
    from ..report.check import check_json, check_junit, check_tables, failure_message, summary_line
    from ..spec import load_spec

    items = args.specs or ["specs"]
    if not args.specs and not Path("specs").is_dir():
        raise SpecError("no specs given and there is no specs/ directory here")
    checks: list[FigureCheck] = []
    errors: list[str] = []
    specs = without = 0
    paths = spec_paths(items)
    if args.output not in (None, "-"):
        from ..fileio import check_output

        check_output(args.output, inputs=paths)  # fail before any work
    for path in paths:
        try:
            if args.skip_non_specs and not _looks_like_spec(path):
                continue
            spec = load_spec(path)
            found = check_spec(spec, analysis=analyze(spec), label=str(path))
        except ArchcalcError as exc:
            if args.debug:
                raise
            errors.append(str(exc))
            continue
        specs += 1
        without += not found
        checks.extend(found)

    summary = summarize(checks)
    shown = [c for c in checks if _shown(c, args.show)]
    line = summary_line(summary, specs=specs, without=without, errors=len(errors))
    failures = [c for c in checks if c.failed]
    machine = args.format in ("json", "junit")
    if args.quiet:
        text = "".join(f"{failure_message(c)}\n" for c in failures) + line + "\n"
    elif args.format == "json":
        text = check_json(shown)
    elif args.format == "junit":
        text = check_junit(checks)
    else:
        text = check_tables(shown, markdown=args.format == "markdown")
        if failures and args.format == "table":
            text += "\n" + "".join(f"{failure_message(c)}\n" for c in failures)
        text += ("\n" if text else "") + (f"**{line}**" if args.format == "markdown" else line) + "\n"
    for message in errors:
        print(f"archcalc: error: {message}", file=sys.stderr, flush=True)
    if errors and args.output not in (None, "-"):
        # the command fails: leave the output file as it was
        print(f"archcalc: {line}; nothing written to {args.output}", file=sys.stderr)
        return 2
    emit(text, args.output, inputs=paths)
    if (machine or args.output) and not args.quiet:
        print(line, file=sys.stderr)
    if errors:
        return 2
    return 1 if summary.failed else 0


def _looks_like_spec(path: Path) -> bool:
    from ..yamlio import load_yaml

    data = load_yaml(path)
    return isinstance(data, dict) and ("layers" in data or "extends" in data)


def _shown(c: FigureCheck, show: str) -> bool:
    if show == "failures":
        return c.failed
    if show == "errata":
        return c.status.value != "ok"
    return True
