"""The analysis side of a figure: the row a key names and the number archcalc computes for it."""

from __future__ import annotations

__all__ = ["computed_figure", "resolve_row"]

import difflib

from ..analysis import Analysis, GroupRow, LayerRow
from ..conventions import Convention, headline_count
from ..errors import Location, SpecError


def computed_figure(analysis: Analysis, row: LayerRow | GroupRow | None, quantity: str) -> int | tuple[int, ...]:
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


def resolve_row(analysis: Analysis, key: str, where: Location) -> LayerRow | GroupRow:
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
