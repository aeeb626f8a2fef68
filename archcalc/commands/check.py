"""``archcalc check``: compare each spec's reference figures with the analyzer, show the errata.

Computing lives in :mod:`archcalc.check`; this module only renders its records.
"""

from __future__ import annotations

import argparse
import json
import sys
import xml.etree.ElementTree as ET
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

from tabulate import tabulate

from ..errors import ArchcalcError, SpecError
from .common import emit, spec_paths

if TYPE_CHECKING:
    from ..check import FigureCheck, Summary

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
    line = _summary_line(summary, specs=specs, without=without, errors=len(errors))
    failures = [c for c in checks if c.failed]
    machine = args.format in ("json", "junit")
    if args.quiet:
        text = "".join(f"{_failure_message(c)}\n" for c in failures) + line + "\n"
    elif args.format == "json":
        text = json.dumps([_as_json(c) for c in shown], indent=2) + "\n"
    elif args.format == "junit":
        text = _junit(checks)
    else:
        text = _tables(shown, markdown=args.format == "markdown")
        if failures and args.format == "table":
            text += "\n" + "".join(f"{_failure_message(c)}\n" for c in failures)
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


# --------------------------------------------------------------------------- numbers


def _decimals(printed: Any) -> int:
    if isinstance(printed, Decimal):
        exponent = printed.as_tuple().exponent
        return max(0, -exponent) if isinstance(exponent, int) else 0
    return 0


def _fixed(value: Fraction, decimals: int, *, sign: bool = False) -> str:
    """Exact ``value`` rounded to ``decimals`` places, trailing zeros dropped."""
    rounded = round(value, decimals)
    text = f"{Decimal(rounded.numerator) / Decimal(rounded.denominator):f}" if rounded.denominator != 1 \
        else str(rounded.numerator)
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    if text in ("-0", ""):
        text = "0"
    if sign and not text.startswith("-") and text != "0":
        text = "+" + text
    return text


def _with_unit(text: str, unit: str | None) -> str:
    return text if unit in (None, "1") else f"{text} {unit}"


def _cells(c: FigureCheck) -> dict[str, str]:
    """Display strings of one record (computed with three more decimals than printed)."""
    if c.quantity is None:  # an erratum naming no figure, or a note
        return {"printed": "", "computed": "", "delta": "", "tolerance": ""}
    if isinstance(c.printed, tuple):
        return {"printed": c.printed_text, "computed": "x".join(map(str, c.computed)), "delta": "", "tolerance": "exact"}
    digits = _decimals(c.printed) + 3
    return {
        "printed": _with_unit(c.printed_text, c.unit),
        "computed": _with_unit(_fixed(c.computed, digits), c.unit),
        "delta": _fixed(c.delta, digits, sign=True),
        "tolerance": "±" + _fixed(Fraction(c.tolerance), 12),
    }


def _number(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, Fraction):
        return value.numerator if value.denominator == 1 else float(value)
    return value


def _as_json(c: FigureCheck) -> dict[str, Any]:
    return {
        "spec": c.spec, "name": c.spec_name, "source": c.source, "figure": c.figure,
        "quantity": c.quantity, "layer": c.layer,
        "printed": _number(c.printed), "printed_text": c.printed_text,
        "computed": _number(c.computed), "computed_exact": _number(c.computed_exact),
        "unit": c.unit, "tolerance": _number(c.tolerance), "tolerance_explicit": c.tolerance_explicit,
        "delta": _number(c.delta), "status": c.status.value, "note": c.note, "line": c.line,
        "convention": c.convention, "convention_computed": _number(c.convention_computed),
        "convention_computed_exact": c.convention_exact, "convention_rounding": c.convention_rounding,
    }


# --------------------------------------------------------------------------- text


def _groups(checks: Iterable[FigureCheck]) -> list[tuple[tuple[str, str, str], list[FigureCheck]]]:
    groups: dict[tuple[str, str, str], list[FigureCheck]] = {}
    for c in checks:
        groups.setdefault((c.spec, c.spec_name, c.source), []).append(c)
    return list(groups.items())


def _status_text(c: FigureCheck) -> str:
    return c.status.value.upper() if c.failed else c.status.value


def _tables(checks: list[FigureCheck], *, markdown: bool) -> str:
    parts: list[str] = []
    for (spec, name, source), rows in _groups(checks):
        body = []
        for c in rows:
            cells = _cells(c)
            body.append([c.figure, cells["printed"], cells["computed"], cells["delta"], cells["tolerance"],
                         _status_text(c), c.note or ""])
        headers = ["figure", "printed", "computed", "delta", "tolerance", "status", "note"]
        if markdown:
            parts.append(f"### {name} (`{spec}`)\n\nSource: {source}\n\n"
                         + tabulate(body, headers=headers, tablefmt="github", disable_numparse=True) + "\n")
        else:
            parts.append(f"{spec}: {name}\n  source: {source}\n\n"
                         + tabulate(body, headers=headers, tablefmt="simple", disable_numparse=True) + "\n")
    return "\n".join(parts)


def _failure_message(c: FigureCheck) -> str:
    where = f"{c.spec}:{c.line}" if c.line else c.spec
    cells = _cells(c)
    if c.quantity is None:
        return f"{where}: {c.figure}: {c.status.value}: {c.note}"
    detail = f"printed {cells['printed']}, computed {cells['computed']}"
    if cells["delta"]:
        detail += f" (delta {cells['delta']}, tolerance {cells['tolerance']})"
    return f"{where}: {c.figure}: {c.status.value}: {detail}: {c.note}"


def _summary_line(s: Summary, *, specs: int, without: int, errors: int) -> str:
    plural = lambda n, word, many=None: f"{n} {word if n == 1 else (many or word + 's')}"  # noqa: E731
    text = (f"{plural(s.figures, 'figure')} in {plural(specs, 'spec')}: {s.ok} ok, "
            f"{plural(s.errata, 'erratum', 'errata')} (the source is wrong), "
            f"{plural(s.conventions, 'convention')} (right under another counting convention), "
            f"{plural(s.mismatches, 'mismatch', 'mismatches')}, {s.stale} stale")
    if s.notes:
        text += f"; {plural(s.notes, 'note')}"
    if without:
        text += f"; {plural(without, 'spec')} without reference figures"
    if errors:
        text += f"; {plural(errors, 'spec error')}"
    return text


def _junit(checks: list[FigureCheck]) -> str:
    root = ET.Element("testsuites", name="archcalc check")
    total = failed = 0
    for (spec, name, source), rows in _groups(checks):
        suite = ET.SubElement(root, "testsuite", name=f"{spec} :: {source}")
        n_fail = n_skip = 0
        for c in rows:
            case = ET.SubElement(suite, "testcase", classname=spec, name=c.figure,
                                 file=spec, **({"line": str(c.line)} if c.line else {}))
            if c.failed:
                n_fail += 1
                failure = ET.SubElement(case, "failure", type=c.status.value, message=_failure_message(c))
                failure.text = _failure_message(c)
            elif c.status.value == "note":
                n_skip += 1
                ET.SubElement(case, "skipped", message=f"note: {c.note}")
            elif c.status.value in ("erratum", "convention"):
                ET.SubElement(case, "system-out").text = _failure_message(c)
        suite.set("tests", str(len(rows)))
        suite.set("failures", str(n_fail))
        suite.set("errors", "0")
        suite.set("skipped", str(n_skip))
        total += len(rows)
        failed += n_fail
    root.set("tests", str(total))
    root.set("failures", str(failed))
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
