"""Compare the figures a spec's ``references:`` record with what the analyzer computes.

Every recorded figure (a row's or the totals' ``output_shape``, ``activation_bytes``, ``params``,
``macs``, ``ops``, ``seed_flops`` or ``flops``) becomes one :class:`FigureCheck` record:

``ok``
    ``|printed - computed| <= tolerance``, both in the printed unit;
``erratum``
    outside the tolerance, and ``errata:`` explains why (key ``<row>.<quantity>`` or
    ``totals.<quantity>``) -- the *source* is wrong and the record says how;
``mismatch``
    outside the tolerance and unexplained -- the spec or the reference is wrong;
``stale``
    an erratum is recorded for a figure that actually matches, or an erratum key names no
    recorded figure: the errata no longer describe the figures;
``note``
    an erratum about a field that is not a figure (``conv1.padding``): listed, not compared.

The default tolerance is half a unit of the last digit *as written in the YAML* (``105`` ->
0.5, ``0.60`` -> 0.005, ``4.09`` -> 0.005, ``1.2e3`` -> 50): the figure was rounded once, by
its source, and a correct number rounds to it. An explicit ``tolerance:`` per quantity
(in printed units) replaces it. Comparisons are exact (decimal and rational arithmetic).

Everything here returns data; rendering lives in :mod:`archcalc.commands.check`.
"""

from __future__ import annotations

__all__ = ["Status", "FigureCheck", "Summary", "FAILING", "check_spec", "derive_tolerance",
           "parse_printed", "to_unit", "figure_status", "summarize"]

import difflib
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import Enum
from fractions import Fraction
from pathlib import Path
from typing import Any, Iterable

import yaml

from .analysis import Analysis, GroupRow, LayerRow, analyze
from .conventions import Convention, headline_count
from .errors import Location, SpecError
from .spec import Spec
from .spec.document import QUANTITIES, UNITS

TOTALS = "totals"


class Status(str, Enum):
    OK = "ok"
    ERRATUM = "erratum"
    MISMATCH = "mismatch"
    STALE = "stale"
    NOTE = "note"


FAILING = frozenset({Status.MISMATCH, Status.STALE})
"""Statuses that make ``archcalc check`` fail."""

Printed = Decimal | tuple[int, ...]


@dataclass(frozen=True, slots=True)
class FigureCheck:
    """One recorded figure (or one erratum that names none) and its verdict.

    ``printed``/``computed``/``tolerance`` are in the printed ``unit``; ``computed`` is exact
    (a :class:`~fractions.Fraction`), ``computed_exact`` is the analyzer's integer in base units
    (bytes, parameters, MACs). Shapes are tuples and have no unit or tolerance.
    """

    spec: str
    spec_name: str
    source: str
    figure: str  # "conv1.params", "totals.macs", or an erratum key
    status: Status
    quantity: str | None = None
    layer: str | None = None  # the analysis row the figure resolved to; None for totals
    printed: Printed | None = None
    printed_text: str | None = None
    computed: Fraction | tuple[int, ...] | None = None
    computed_exact: int | tuple[int, ...] | None = None
    unit: str | None = None
    tolerance: Decimal | None = None
    tolerance_explicit: bool = False
    note: str | None = None  # the erratum's explanation, or why a figure is stale
    line: int | None = None

    @property
    def failed(self) -> bool:
        return self.status in FAILING

    @property
    def delta(self) -> Fraction | None:
        """``computed - printed`` in the printed unit (``None`` for shapes and bare errata)."""
        if isinstance(self.printed, Decimal) and isinstance(self.computed, Fraction):
            return self.computed - Fraction(self.printed)
        return None


@dataclass(frozen=True, slots=True)
class Summary:
    figures: int
    ok: int
    errata: int
    mismatches: int
    stale: int
    notes: int

    @property
    def failed(self) -> bool:
        return bool(self.mismatches or self.stale)


def summarize(checks: Iterable[FigureCheck]) -> Summary:
    counts = {s: 0 for s in Status}
    for c in checks:
        counts[c.status] += 1
    compared = sum(counts[s] for s in (Status.OK, Status.ERRATUM, Status.MISMATCH, Status.STALE))
    return Summary(figures=compared, ok=counts[Status.OK], errata=counts[Status.ERRATUM],
                   mismatches=counts[Status.MISMATCH], stale=counts[Status.STALE], notes=counts[Status.NOTE])


# --------------------------------------------------------------------------- pure pieces


def parse_printed(text: str) -> Decimal:
    """A figure as written (``"1,327"``, ``"4.09"``, ``"1_000"``, ``"1.2e3"``) -> exact decimal."""
    cleaned = text.strip().replace("_", "").replace(",", "")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise ValueError(f"not a number: {text!r}") from None
    if not value.is_finite():
        raise ValueError(f"not a finite number: {text!r}")
    return value


def derive_tolerance(text: str) -> Decimal:
    """Half a unit of the last printed digit: ``"105"`` -> 0.5, ``"0.6"`` -> 0.05, ``"4.09"`` ->
    0.005, ``"1.2e3"`` -> 50. Trailing zeros count as printed digits (``"0.60"`` -> 0.005)."""
    exponent = parse_printed(text).as_tuple().exponent
    assert isinstance(exponent, int)  # finite, checked by parse_printed
    return Decimal(5).scaleb(exponent - 1)


def to_unit(value: int, unit: str) -> Fraction:
    """An exact count in base units -> the printed unit: ``to_unit(1_161_600, "KiB") == 1134.375``."""
    return Fraction(value, UNITS[unit])


def figure_status(*, printed: Printed, computed: Fraction | tuple[int, ...], tolerance: Decimal | None,
                  erratum: str | None) -> Status:
    """ok / erratum / mismatch / stale for one figure (shapes compare exactly)."""
    if isinstance(printed, tuple) or isinstance(computed, tuple):
        matches = tuple(printed) == tuple(computed)  # type: ignore[arg-type]
    else:
        assert tolerance is not None
        matches = abs(computed - Fraction(printed)) <= Fraction(tolerance)
    if matches:
        return Status.STALE if erratum is not None else Status.OK
    return Status.ERRATUM if erratum is not None else Status.MISMATCH


def _computed(analysis: Analysis, row: LayerRow | GroupRow | None, quantity: str) -> int | tuple[int, ...]:
    if row is None:
        t = analysis.totals
        if quantity == "output_shape":
            return tuple(analysis.output_shape)
        macs, pooling_ops = t.macs, t.pooling_ops
    else:
        if quantity == "output_shape":
            return tuple(row.output_shape)
        macs, pooling_ops = row.macs, row.pooling_ops
    if quantity == "flops":
        return headline_count(Convention.FLOPS, macs=macs, pooling_ops=pooling_ops)
    if quantity == "seed_flops":
        return headline_count(Convention.SEED, macs=macs, pooling_ops=pooling_ops)
    return int(getattr(row if row is not None else analysis.totals, quantity))


# --------------------------------------------------------------------------- where figures were written


@dataclass(frozen=True, slots=True)
class _Written:
    """The text and line of each scalar under ``references:``, keyed by its path."""

    file: str | None
    texts: dict[tuple[Any, ...], str]
    lines: dict[tuple[Any, ...], int]

    def line(self, *path: Any) -> int | None:
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get(())

    def loc(self, *path: Any) -> Location:
        field_path = f"references[{path[0]}]" + "".join(f".{p}" for p in path[1:]) if path else "references"
        return Location(self.file, self.line(*path), field_path)


def _written(text: str | None, file: str | None) -> _Written:
    """Compose (never construct) the YAML and record each figure's text and line.

    A spec's figures are its own (``references`` is not inherited through ``extends``), so the
    spec's own file holds every one of them.
    """
    texts: dict[tuple[Any, ...], str] = {}
    lines: dict[tuple[Any, ...], int] = {}
    if text is None:
        return _Written(file, texts, lines)
    try:
        root = yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError:  # load_spec already accepted this text; be lenient
        return _Written(file, texts, lines)

    def items(node: Any) -> list[tuple[str, Any, int]]:
        if not isinstance(node, yaml.MappingNode):
            return []
        return [(k.value, v, k.start_mark.line + 1) for k, v in node.value if isinstance(k, yaml.ScalarNode)]

    refs = next((v for k, v, _ in items(root) if k == "references"), None)
    if not isinstance(refs, yaml.SequenceNode):
        return _Written(file, texts, lines)
    lines[()] = refs.start_mark.line + 1
    for i, ref in enumerate(refs.value):
        lines[(i,)] = ref.start_mark.line + 1
        for section, node, line in items(ref):
            lines[(i, section)] = line
            for key, value, key_line in items(node):
                lines[(i, section, key)] = key_line
                if isinstance(value, yaml.ScalarNode):
                    texts[(i, section, key)] = value.value
                for q, figure, q_line in items(value):  # rows.<row>.<quantity>
                    lines[(i, section, key, q)] = q_line
                    if isinstance(figure, yaml.ScalarNode):
                        texts[(i, section, key, q)] = figure.value
    return _Written(file, texts, lines)


# --------------------------------------------------------------------------- the check


def check_spec(spec: Spec, *, analysis: Analysis | None = None, text: str | None = None,
               label: str | None = None) -> list[FigureCheck]:
    """Check every figure in ``spec``'s references; one record per figure and per stray erratum.

    ``text`` is the spec's YAML (read from ``spec.path`` when omitted) so that tolerances follow
    the digits as written; ``label`` names the spec in the records (default: its path).
    Raises :class:`SpecError` (with file and line) for a row that names no layer, a figure of the
    wrong kind or an unknown unit.
    """
    if not spec.references:
        return []
    file = str(spec.path) if spec.path is not None else None
    if text is None and spec.path is not None:
        try:
            text = Path(spec.path).read_text(encoding="utf-8")
        except OSError:
            text = None
    written = _written(text, file)
    if analysis is None:
        analysis = analyze(spec)
    label = label or file or spec.name
    out: list[FigureCheck] = []
    for i, ref in enumerate(spec.references):
        out.extend(_check_reference(i, ref, spec=spec, analysis=analysis, written=written, label=label))
    return out


def _check_reference(i: int, ref: Any, *, spec: Spec, analysis: Analysis, written: _Written,
                     label: str) -> list[FigureCheck]:
    for q, unit in ref.units.items():
        if q == "output_shape":
            raise SpecError("output_shape is compared exactly and takes no unit", written.loc(i, "units", q))
    for q in ref.tolerance:
        if q == "output_shape":
            raise SpecError("output_shape is compared exactly and takes no tolerance", written.loc(i, "tolerance", q))
        if ref.tolerance[q] < 0:
            raise SpecError("a tolerance cannot be negative", written.loc(i, "tolerance", q))

    errata_figures: dict[str, str] = {}
    notes: list[tuple[str, str]] = []
    for key, why in ref.errata.items():
        row_key, dot, field = key.rpartition(".")
        if dot and field in QUANTITIES:
            errata_figures[key] = why
        else:
            notes.append((key, why))

    figures: list[tuple[str, str | None, str, Any]] = []  # (figure key, row key, quantity, value)
    for row_key, quantities in ref.rows.items():
        for q, value in quantities.items():
            figures.append((f"{row_key}.{q}", row_key, q, value))
    for q, value in ref.totals.items():
        figures.append((f"{TOTALS}.{q}", None, q, value))

    common = dict(spec=label, spec_name=spec.name, source=ref.source)
    out: list[FigureCheck] = []
    resolved: dict[str, LayerRow | GroupRow] = {}
    for key, row_key, q, value in figures:
        path = (i, "rows", row_key, q) if row_key is not None else (i, "totals", q)
        row = None
        if row_key is not None:
            row = resolved.get(row_key)
            if row is None:
                row = resolved[row_key] = _resolve(analysis, row_key, written.loc(i, "rows", row_key))
        computed_exact = _computed(analysis, row, q)
        erratum = errata_figures.get(key)
        line = written.line(*path)
        layer = row.name if row is not None else None
        if q == "output_shape":
            if not isinstance(value, list):
                raise SpecError(f"output_shape is a list of dimensions, e.g. [96, 55, 55] (got {value!r})",
                                written.loc(*path))
            printed: Printed = tuple(value)
            status = figure_status(printed=printed, computed=computed_exact, tolerance=None, erratum=erratum)
            out.append(FigureCheck(**common, figure=key, status=status, quantity=q, layer=layer, printed=printed,
                                   printed_text="x".join(map(str, printed)), computed=computed_exact,
                                   computed_exact=computed_exact, note=_note(status, erratum), line=line))
            continue
        if isinstance(value, list):
            raise SpecError(f"{q} is a number, not a list (got {value!r})", written.loc(*path))
        text = written.texts.get(path, repr(value))
        try:
            printed = parse_printed(text)
        except ValueError as exc:
            raise SpecError(f"cannot read the printed figure: {exc}", written.loc(*path)) from None
        if printed != Decimal(repr(value)) and Fraction(printed) != Fraction(value):
            printed = Decimal(repr(value))  # the text we found is not this figure's (merge keys?)
            text = repr(value)
        unit = ref.units.get(q, "1")
        if q in ref.tolerance:
            tol_text = written.texts.get((i, "tolerance", q), repr(ref.tolerance[q]))
            try:
                tolerance, explicit = parse_printed(tol_text), True
            except ValueError:
                tolerance, explicit = Decimal(repr(ref.tolerance[q])), True
        else:
            tolerance, explicit = derive_tolerance(text), False
        assert isinstance(computed_exact, int)
        computed = to_unit(computed_exact, unit)
        status = figure_status(printed=printed, computed=computed, tolerance=tolerance, erratum=erratum)
        out.append(FigureCheck(**common, figure=key, status=status, quantity=q, layer=layer, printed=printed,
                               printed_text=text.strip(), computed=computed, computed_exact=computed_exact,
                               unit=unit, tolerance=tolerance, tolerance_explicit=explicit,
                               note=_note(status, erratum), line=line))

    recorded = {key for key, *_ in figures}
    for key, why in errata_figures.items():
        if key not in recorded:
            known = ", ".join(sorted(recorded)[:8]) or "none"
            out.append(FigureCheck(**common, figure=key, status=Status.STALE,
                                   note=f"erratum names no recorded figure (recorded: {known}"
                                        f"{', ...' if len(recorded) > 8 else ''}); recorded explanation: {why}",
                                   line=written.line(i, "errata", key)))
    for key, why in notes:
        out.append(FigureCheck(**common, figure=key, status=Status.NOTE, note=why,
                               line=written.line(i, "errata", key)))
    return out


def _note(status: Status, erratum: str | None) -> str | None:
    if status is Status.STALE:
        return f"erratum recorded but the figure matches; remove it or fix the figure: {erratum}"
    if status is Status.MISMATCH:
        return "outside the tolerance and no erratum explains it"
    return erratum


def _resolve(analysis: Analysis, key: str, where: Location) -> LayerRow | GroupRow:
    try:
        return analysis.row(key)
    except KeyError as exc:
        names = [r.name for r in (*analysis.layers, *analysis.groups)]
        candidates = names + sorted({n.rsplit(".", 1)[-1] for n in names})
        close = list(dict.fromkeys(difflib.get_close_matches(key, candidates, n=3)))
        hint = f"did you mean {' or '.join(repr(c) for c in close)}? " if close else ""
        hint += "A row key is a layer's dotted path (`archcalc report --depth N` lists them) or its unique last component"
        message = str(exc.args[0]) if exc.args else ""
        if "ambiguous" in message:
            raise SpecError(f"row {message}", where, hint="write the layer's full dotted path") from None
        raise SpecError(f"row {key!r} names no layer of {analysis.name!r}", where, hint=hint) from None
