"""``archcalc check`` records as text: tables (terminal, Markdown), JSON, JUnit XML, one-line
failure messages and the summary line. Data in (:class:`~archcalc.check.FigureCheck` records), strings
out; the checking itself is :mod:`archcalc.check`.

Computed figures are shown with three more decimals than the printed ones; ``delta`` is
computed - printed, in the printed unit.
"""

from __future__ import annotations

__all__ = ["check_tables", "check_json", "check_record", "check_junit", "failure_message", "summary_line"]

import json
import xml.etree.ElementTree as ET
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING, Any, Iterable

from tabulate import tabulate

if TYPE_CHECKING:
    from ..check import FigureCheck, Summary


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


def check_json(checks: Iterable[FigureCheck]) -> str:
    """The records as a JSON list (exact integers where the numbers are whole)."""
    return json.dumps([check_record(c) for c in checks], indent=2) + "\n"


def check_record(c: FigureCheck) -> dict[str, Any]:
    """One record as plain JSON data."""
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


def check_tables(checks: Iterable[FigureCheck], *, markdown: bool = False) -> str:
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


def failure_message(c: FigureCheck) -> str:
    where = f"{c.spec}:{c.line}" if c.line else c.spec
    cells = _cells(c)
    if c.quantity is None:
        return f"{where}: {c.figure}: {c.status.value}: {c.note}"
    detail = f"printed {cells['printed']}, computed {cells['computed']}"
    if cells["delta"]:
        detail += f" (delta {cells['delta']}, tolerance {cells['tolerance']})"
    return f"{where}: {c.figure}: {c.status.value}: {detail}: {c.note}"


def summary_line(s: Summary, *, specs: int, without: int, errors: int) -> str:
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


def check_junit(checks: list[FigureCheck]) -> str:
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
                failure = ET.SubElement(case, "failure", type=c.status.value, message=failure_message(c))
                failure.text = failure_message(c)
            elif c.status.value == "note":
                n_skip += 1
                ET.SubElement(case, "skipped", message=f"note: {c.note}")
            elif c.status.value in ("erratum", "convention"):
                ET.SubElement(case, "system-out").text = failure_message(c)
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
