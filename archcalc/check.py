"""Compare the figures a spec's ``references:`` record with what the analyzer computes.

Every recorded figure (a row's or the totals' ``output_shape``, ``activation_bytes``, ``params``,
``macs``, ``ops``, ``seed_flops`` or ``flops``) becomes one :class:`FigureCheck` record:

``ok``
    ``|printed - computed| <= tolerance``, both in the printed unit;
``erratum``
    outside the tolerance, and ``errata:`` explains why (key ``<row>.<quantity>`` or
    ``totals.<quantity>``) -- the *source* is wrong and the record says how;
``convention``
    outside the tolerance, but right under another counting convention that the ``errata:``
    entry names (``{status: convention, convention: ..., value: ...}``): archcalc recomputes the
    figure under it (the spec with other ``params``, some layer kinds left out, batch-norm running
    statistics added, truncated instead of rounded), requires the result to equal the entry's
    ``value`` and to give the printed figure -- the source is not wrong, it counts differently;
``mismatch``
    outside the tolerance and unexplained -- the spec or the reference is wrong;
``stale``
    an erratum (or convention) is recorded for a figure that actually matches, or an erratum key
    names no recorded figure: the errata no longer describe the figures;
``note``
    an erratum about a field that is not a figure (``conv1.padding``): listed, not compared.

The default tolerance is half a unit of the last digit *as written in the YAML* (``105`` ->
0.5, ``0.60`` -> 0.005, ``4.09`` -> 0.005, ``1.2e3`` -> 50): the figure was rounded once, by
its source, and a correct number rounds to it. An explicit ``tolerance:`` per quantity
(in printed units) replaces it. Comparisons are exact (decimal and rational arithmetic).

Everything here returns data; rendering lives in :mod:`archcalc.commands.check`.
"""

from __future__ import annotations

__all__ = ["Status", "FigureCheck", "Summary", "FAILING", "EXPLAINED", "check_spec", "derive_tolerance",
           "parse_printed", "to_unit", "figure_status", "summarize", "convention_count", "matches_printed"]

import difflib
import math
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import Enum
from fractions import Fraction
from pathlib import Path
from typing import Any, Iterable

import yaml

from .analysis import Analysis, GroupRow, LayerRow, analyze
from .conventions import Convention, headline_count
from .errors import ArchcalcError, Location, SpecError
from .spec import Spec
from .spec.document import QUANTITIES, UNITS, ConventionEntry

TOTALS = "totals"


class Status(str, Enum):
    OK = "ok"
    ERRATUM = "erratum"
    CONVENTION = "convention"
    MISMATCH = "mismatch"
    STALE = "stale"
    NOTE = "note"


FAILING = frozenset({Status.MISMATCH, Status.STALE})
"""Statuses that make ``archcalc check`` fail."""

EXPLAINED = frozenset({Status.ERRATUM, Status.CONVENTION})
"""Figures outside the tolerance that the spec explains (exit status 0)."""

MAX_EXPONENT = 60
"""Printed figures and tolerances are read only within 1e-60 .. 1e60 (bounded exact arithmetic)."""

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
    convention: str | None = None  # the counting convention an erratum entry names
    convention_exact: int | None = None  # the figure archcalc computes under it, base units
    convention_rounding: str | None = None  # "round" or "truncate"

    @property
    def convention_computed(self) -> Fraction | None:
        """The figure under the recorded convention, in the printed unit."""
        if self.convention_exact is None or self.unit is None:
            return None
        return to_unit(self.convention_exact, self.unit)

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
    conventions: int = 0

    @property
    def failed(self) -> bool:
        return bool(self.mismatches or self.stale)


def summarize(checks: Iterable[FigureCheck]) -> Summary:
    counts = {s: 0 for s in Status}
    for c in checks:
        counts[c.status] += 1
    compared = sum(counts[s] for s in Status if s is not Status.NOTE)
    return Summary(figures=compared, ok=counts[Status.OK], errata=counts[Status.ERRATUM],
                   mismatches=counts[Status.MISMATCH], stale=counts[Status.STALE], notes=counts[Status.NOTE],
                   conventions=counts[Status.CONVENTION])


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
    if value and abs(value.adjusted()) > MAX_EXPONENT:
        raise ValueError(f"out of range (beyond 1e\u00b1{MAX_EXPONENT}): {text!r}")
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


def matches_printed(printed: Decimal, value: Fraction, *, tolerance: Decimal, rounding: str = "round",
                    step: Decimal | None = None) -> bool:
    """Does ``value`` (printed unit) give the ``printed`` figure? ``round``: within ``tolerance``;
    ``truncate``: ``printed <= value < printed + step`` (``step`` = one unit of the last printed
    digit, default twice the tolerance)."""
    if rounding == "truncate":
        width = Fraction(step if step is not None else 2 * tolerance)
        low = Fraction(printed)
        return low <= value < low + width if low >= 0 else low - width < value <= low
    return abs(value - Fraction(printed)) <= Fraction(tolerance)


def figure_status(*, printed: Printed, computed: Fraction | tuple[int, ...], tolerance: Decimal | None,
                  erratum: str | None) -> Status:
    """ok / erratum / mismatch / stale for one figure (shapes compare exactly)."""
    if isinstance(printed, tuple) or isinstance(computed, tuple):
        matches = tuple(printed) == tuple(computed)  # type: ignore[arg-type]
    else:
        assert tolerance is not None
        matches = matches_printed(printed, computed, tolerance=tolerance)
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
        if not math.isfinite(ref.tolerance[q]):
            raise SpecError(f"a tolerance is a finite number (got {ref.tolerance[q]!r})", written.loc(i, "tolerance", q))
        if ref.tolerance[q] < 0:
            raise SpecError("a tolerance cannot be negative", written.loc(i, "tolerance", q))

    errata_figures: dict[str, str | ConventionEntry] = {}
    notes: list[tuple[str, str]] = []
    for key, why in ref.errata.items():
        row_key, dot, field = key.rpartition(".")
        if dot and field in QUANTITIES:
            if isinstance(why, ConventionEntry) and field == "output_shape":
                raise SpecError("a shape is compared exactly: no counting convention applies to it",
                                written.loc(i, "errata", key))
            errata_figures[key] = why
        elif isinstance(why, ConventionEntry):
            raise SpecError(f"a convention entry names a figure, '<row>.<quantity>' or 'totals.<quantity>' "
                            f"(quantities: {', '.join(q for q in QUANTITIES if q != 'output_shape')})",
                            written.loc(i, "errata", key))
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
    variants: dict[str, Analysis] = {}
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
            assert not isinstance(erratum, ConventionEntry)  # refused above
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
            if printed != Decimal(repr(value)) and Fraction(printed) != Fraction(value):
                printed = parse_printed(repr(value))  # the text we found is not this figure's (merge keys?)
                text = repr(value)
        except (ValueError, OverflowError) as exc:
            raise SpecError(f"cannot read the printed figure: {exc}", written.loc(*path)) from None
        unit = ref.units.get(q, "1")
        if q in ref.tolerance:
            tol_text = written.texts.get((i, "tolerance", q), repr(ref.tolerance[q]))
            try:
                tolerance, explicit = parse_printed(tol_text), True
            except ValueError as exc:
                raise SpecError(f"cannot read the tolerance: {exc}", written.loc(i, "tolerance", q)) from None
        else:
            tolerance, explicit = derive_tolerance(text), False
        assert isinstance(computed_exact, int)
        computed = to_unit(computed_exact, unit)
        fields: dict[str, Any] = {}
        if isinstance(erratum, ConventionEntry):
            where = written.loc(i, "errata", key)
            variant = analysis
            if erratum.params:
                variant_key = repr(sorted(erratum.params.items()))
                if variant_key not in variants:
                    variants[variant_key] = _variant(spec, analysis, erratum.params, where)
                variant = variants[variant_key]
            conv_exact = convention_count(variant, erratum, quantity=q, row_key=row_key, where=where)
            status, note = _convention_status(erratum, printed=printed, text=text, computed=computed,
                                              tolerance=tolerance, conv_exact=conv_exact, unit=unit)
            fields = dict(convention=erratum.convention, convention_exact=conv_exact,
                          convention_rounding=erratum.rounding)
        else:
            status = figure_status(printed=printed, computed=computed, tolerance=tolerance, erratum=erratum)
            note = _note(status, erratum)
        out.append(FigureCheck(**common, figure=key, status=status, quantity=q, layer=layer, printed=printed,
                               printed_text=text.strip(), computed=computed, computed_exact=computed_exact,
                               unit=unit, tolerance=tolerance, tolerance_explicit=explicit,
                               note=note, line=line, **fields))

    recorded = {key for key, *_ in figures}
    for key, why in errata_figures.items():
        if key not in recorded:
            known = ", ".join(sorted(recorded)[:8]) or "none"
            what = "convention entry" if isinstance(why, ConventionEntry) else "erratum"
            text = why.convention if isinstance(why, ConventionEntry) else why
            out.append(FigureCheck(**common, figure=key, status=Status.STALE,
                                   note=f"{what} names no recorded figure (recorded: {known}"
                                        f"{', ...' if len(recorded) > 8 else ''}); recorded explanation: {text}",
                                   line=written.line(i, "errata", key)))
    for key, why in notes:
        out.append(FigureCheck(**common, figure=key, status=Status.NOTE, note=why,
                               line=written.line(i, "errata", key)))
    return out


# --------------------------------------------------------------------------- conventions


def _variant(spec: Spec, analysis: Analysis, params: dict[str, Any], where: Location) -> Analysis:
    """``analysis`` of ``spec`` loaded again with other ``params`` (a convention's variant)."""
    from .spec import load_spec

    if spec.path is None:
        raise SpecError("a convention with params needs the spec's file (load it with load_spec)", where)
    try:
        variant = load_spec(spec.path, params={**spec.document.params, **params})
        return analyze(variant, batch_size=analysis.batch_size, dtype=analysis.dtype)
    except ArchcalcError as exc:
        raise SpecError(f"the convention's params {params!r} do not give a valid network: {exc.message}",
                        where) from None


def convention_count(analysis: Analysis, entry: ConventionEntry, *, quantity: str, row_key: str | None = None,
                     where: Location | None = None) -> int:
    """The figure ``quantity`` of ``row_key`` (``None``: the totals) counted under ``entry``'s
    convention, in base units: the rows of the ``without`` kinds left out, and with
    ``bn_statistics`` the batch-norm running mean and variance (2 per channel) added.

    ``analysis`` is already the convention's variant (``entry.params`` applied).
    """
    from .spec.layers import LAYER_KINDS

    if quantity == "output_shape":
        raise SpecError("a shape is compared exactly: no counting convention applies to it", where)
    for kind in entry.without:
        if kind not in LAYER_KINDS:
            close = difflib.get_close_matches(kind, list(LAYER_KINDS), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise SpecError(f"without: {kind!r} is not a layer kind{hint}", where)
    if entry.bn_statistics and quantity != "params":
        raise SpecError(f"bn_statistics counts parameters; it does not apply to {quantity}", where)
    row = _resolve(analysis, row_key, where or Location(None, None, None)) if row_key is not None else None
    count = _computed(analysis, row, quantity)
    assert isinstance(count, int)
    leaves = analysis.layers if row is None else [
        r for r in analysis.layers if r.name == row.name or r.name.startswith(row.name + ".")]
    for leaf in leaves:
        if leaf.type in entry.without:
            left_out = _computed(analysis, leaf, quantity)
            assert isinstance(left_out, int)
            count -= left_out
        if entry.bn_statistics and leaf.type == "batchnorm":
            count += 2 * leaf.output_shape[0]  # running mean and running variance per channel
    return count


def _convention_status(entry: ConventionEntry, *, printed: Decimal, text: str, computed: Fraction,
                       tolerance: Decimal, conv_exact: int, unit: str) -> tuple[Status, str]:
    conv = to_unit(conv_exact, unit)
    shown = f"{conv_exact:,}" + ("" if unit in ("1", "B") else f" = {_short(conv, printed)} {unit}")
    if matches_printed(printed, computed, tolerance=tolerance):
        return Status.STALE, (f"convention recorded but the figure matches as archcalc counts by default; "
                              f"remove the entry: {entry.convention}")
    if conv_exact != entry.value:
        return Status.MISMATCH, (f"the convention entry records value {entry.value:,}, but counted as "
                                 f"{entry.convention} the figure is {conv_exact:,}")
    if not matches_printed(printed, conv, tolerance=tolerance, rounding=entry.rounding,
                           step=2 * derive_tolerance(text)):
        how = "truncated" if entry.rounding == "truncate" else "rounded"
        return Status.MISMATCH, (f"counted as {entry.convention} the figure is {shown}, which {how} does not "
                                 "give the printed one")
    note = f"counted {entry.convention}: {shown}" if entry.convention[:1].islower() else \
        f"{entry.convention}: {shown}"
    if entry.rounding == "truncate":
        note += ", truncated (not rounded) to the printed digits"
    return Status.CONVENTION, note + (f"; {entry.note}" if entry.note else "")


def _short(value: Fraction, printed: Decimal) -> str:
    """``value`` with two more decimals than ``printed`` shows, trailing zeros dropped."""
    exponent = printed.as_tuple().exponent
    places = max(0, -exponent if isinstance(exponent, int) else 0) + 2
    text = f"{Decimal(value.numerator) / Decimal(value.denominator):.{places}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


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
