"""Checking a spec: every figure of every reference against the analysis (:func:`check_spec`)."""

from __future__ import annotations

__all__ = ["check_spec"]

import math
from decimal import Decimal
from fractions import Fraction
from typing import Any

from ..analysis import Analysis, GroupRow, LayerRow, analyze
from ..spec import Spec
from ..spec.printed import PrintedFigures
from ..spec.document import QUANTITIES, ConventionEntry
from ..errors import SpecError
from .recount import convention_count, convention_status, convention_variant
from .figures import derive_tolerance, parse_printed, to_unit
from .records import TOTALS, FigureCheck, Printed, Status, figure_status
from .rows import computed_figure, resolve_row


def check_spec(spec: Spec, *, analysis: Analysis | None = None, label: str | None = None) -> list[FigureCheck]:
    """Check every figure in ``spec``'s references; one record per figure and per stray erratum.

    Tolerances follow the digits as written (the loader keeps them: ``spec.printed_figures``);
    ``label`` names the spec in the records (default: its path).
    Raises :class:`SpecError` (with file and line) for a row that names no layer, a figure of the
    wrong kind or an unknown unit.
    """
    if not spec.references:
        return []
    file = str(spec.path) if spec.path is not None else None
    written = spec.printed_figures
    if analysis is None:
        analysis = analyze(spec)
    label = label or file or spec.name
    out: list[FigureCheck] = []
    at: dict[tuple[int, ...], Analysis] = {}  # analyses at the references' own resolutions
    for i, ref in enumerate(spec.references):
        used = analysis
        if ref.resolution is not None:
            key = tuple(ref.resolution) if isinstance(ref.resolution, list) else (ref.resolution,)
            if key not in at:
                at[key] = analyze(spec.at_resolution(ref.resolution, where=written.loc(i, "resolution")))
            used = at[key]
        out.extend(_check_reference(i, ref, spec=spec, analysis=used, written=written, label=label))
    return out


def _check_reference(i: int, ref: Any, *, spec: Spec, analysis: Analysis, written: PrintedFigures,
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

    source = ref.source
    if ref.resolution is not None:
        size = ref.resolution if isinstance(ref.resolution, list) else [ref.resolution] * (len(analysis.input_shape) - 1)
        source = f"{source} [at input {list(analysis.input_shape[:1]) + list(size)}]"
    common = dict(spec=label, spec_name=spec.name, source=source)
    out: list[FigureCheck] = []
    resolved: dict[str, LayerRow | GroupRow] = {}
    variants: dict[str, Analysis] = {}
    for key, row_key, q, value in figures:
        path = (i, "rows", row_key, q) if row_key is not None else (i, "totals", q)
        row = None
        if row_key is not None:
            row = resolved.get(row_key)
            if row is None:
                row = resolved[row_key] = resolve_row(analysis, row_key, written.loc(i, "rows", row_key))
        computed_exact = computed_figure(analysis, row, q)
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
                    variants[variant_key] = convention_variant(spec, analysis, erratum.params, where)
                variant = variants[variant_key]
            conv_exact = convention_count(variant, erratum, quantity=q, row_key=row_key, where=where)
            status, note = convention_status(erratum, printed=printed, text=text, computed=computed,
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


def _note(status: Status, erratum: str | None) -> str | None:
    if status is Status.STALE:
        return f"erratum recorded but the figure matches; remove it or fix the figure: {erratum}"
    if status is Status.MISMATCH:
        return "outside the tolerance and no erratum explains it"
    return erratum
