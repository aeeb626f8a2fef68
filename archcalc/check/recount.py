"""Figures right under another counting convention: the recount (:func:`convention_count`) and the
verdict on a ``{status: convention}`` errata entry."""

from __future__ import annotations

__all__ = ["convention_count", "convention_status", "convention_variant"]

import difflib
from decimal import Decimal
from fractions import Fraction
from typing import Any

from ..analysis import Analysis, analyze
from ..errors import ArchcalcError, Location, SpecError
from ..spec import Spec
from ..spec.document import ConventionEntry
from .figures import derive_tolerance, matches_printed, to_unit
from .records import Status
from .rows import computed_figure, resolve_row


def convention_variant(spec: Spec, analysis: Analysis, params: dict[str, Any], where: Location) -> Analysis:
    """``analysis`` of ``spec`` loaded again with other ``params`` (a convention's variant)."""
    from ..spec import load_spec

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
    convention, in base units: the rows of the ``without`` kinds left out, the ops of the ``with_ops``
    kinds added (MACs only), and with ``bn_statistics`` the batch-norm running mean and variance
    (2 per channel) added.

    ``analysis`` is already the convention's variant (``entry.params`` applied).
    """
    from ..spec.layers import LAYER_KINDS

    if quantity == "output_shape":
        raise SpecError("a shape is compared exactly: no counting convention applies to it", where)
    for kind in entry.without:
        if kind not in LAYER_KINDS:
            close = difflib.get_close_matches(kind, list(LAYER_KINDS), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise SpecError(f"without: {kind!r} is not a layer kind{hint}", where)
    for kind in entry.with_ops:
        if kind not in LAYER_KINDS:
            close = difflib.get_close_matches(kind, list(LAYER_KINDS), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise SpecError(f"with_ops: {kind!r} is not a layer kind{hint}", where)
    if entry.with_ops and quantity != "macs":
        raise SpecError(f"with_ops counts ops as multiply-adds; it applies to macs figures, not {quantity}", where)
    if entry.bn_statistics and quantity != "params":
        raise SpecError(f"bn_statistics counts parameters; it does not apply to {quantity}", where)
    row = resolve_row(analysis, row_key, where or Location(None, None, None)) if row_key is not None else None
    count = computed_figure(analysis, row, quantity)
    assert isinstance(count, int)
    leaves = analysis.layers if row is None else [
        r for r in analysis.layers if r.name == row.name or r.name.startswith(row.name + ".")]
    for leaf in leaves:
        if leaf.type in entry.without:
            left_out = computed_figure(analysis, leaf, quantity)
            assert isinstance(left_out, int)
            count -= left_out
        if leaf.type in entry.with_ops:
            count += leaf.ops  # fvcore-style FLOPs: the kind's element-wise work counted with the MACs
        if entry.bn_statistics and leaf.type == "batchnorm":
            count += 2 * leaf.output_shape[0]  # running mean and running variance per channel
    return count


def convention_status(entry: ConventionEntry, *, printed: Decimal, text: str, computed: Fraction,
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
