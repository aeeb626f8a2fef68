"""Tables of an :class:`~archcalc.analysis.Analysis` in every format users ask for.

Two layouts (``style``): ``default`` (layer, type, shapes, params, headline cost, ops, memory,
receptive field) and ``seed`` (the lecture's AlexNet columns). Formats: ``table`` (terminal),
``markdown``, ``csv``, ``json``, ``latex`` (booktabs) and ``html`` (a ``<table>`` fragment; the
self-contained page is :func:`archcalc.render.html.render_page`). Numbers are human-readable
(counts K/M/G with decimal prefixes, memory KB/MB with 1024 steps, three significant digits)
unless ``raw`` is set; ``csv`` and ``json`` always hold exact integers (they are for programs).
Numeric columns are right-aligned in every format and the last row is the labelled ``Total``.
"""

from __future__ import annotations

__all__ = ["FORMATS", "STYLES", "render_report", "report_json", "report_dict"]

import csv
import io
import json
from typing import Any, Callable

from tabulate import tabulate

from ..analysis import Analysis, GroupRow, LayerRow
from ..conventions import HEADLINE_LABELS, Convention, headline_count
from ..spec.layers import ACTIVATION_KINDS
from ..units import human_bytes, human_count, shape_text

FORMATS = ("table", "markdown", "csv", "json", "latex", "html")
STYLES = ("default", "seed")
_ALIGN = {"l": "left", "r": "right"}
_SEED_HIDDEN = frozenset(ACTIVATION_KINDS) | {"dropout", "act"}

Row = LayerRow | GroupRow


# --------------------------------------------------------------------------- data


def report_dict(analysis: Analysis, *, convention: Convention | str = Convention.MACS,
                depth: int | None = None) -> dict[str, Any]:
    """The JSON document: leaf layers in execution order, groups, totals (raw integers)."""
    conv = Convention(convention)
    t = analysis.totals
    return {
        "name": analysis.name,
        "input_shape": list(analysis.input_shape),
        "output_shape": list(analysis.output_shape),
        "batch_size": analysis.batch_size,
        "dtype": analysis.dtype,
        "convention": conv.value,
        "layers": [_row_dict(r, conv) for r in analysis.rows_at_depth(depth)],
        "groups": [_row_dict(g, conv) for g in analysis.groups],
        "totals": {"params": t.params, "macs": t.macs, "ops": t.ops, "activation_bytes": t.activation_bytes,
                   "pooling_ops": t.pooling_ops, "seed_flops": t.seed_flops, "flops": t.flops,
                   "headline": analysis.headline(conv), "param_bytes": analysis.param_bytes,
                   "input_bytes": analysis.input_bytes},
    }


def _row_dict(r: Row, conv: Convention) -> dict[str, Any]:
    d: dict[str, Any] = {
        "name": r.name, "type": r.type, "depth": r.depth, "group": isinstance(r, GroupRow),
        "input_shape": list(r.input_shape), "output_shape": list(r.output_shape),
        "params": r.params, "macs": r.macs, "ops": r.ops, "activation_bytes": r.activation_bytes,
        "pooling_ops": r.pooling_ops, "headline": headline_count(conv, macs=r.macs, pooling_ops=r.pooling_ops),
        "receptive_field": list(r.receptive_field) if r.receptive_field else None,
    }
    if isinstance(r, LayerRow):
        d["attrs"] = r.attrs
        d["jump"] = list(r.jump) if r.jump else None  # effective stride, input pixels per output step
        d["start"] = list(r.start) if r.start else None  # centre of the first output's field, in input pixels
    return d


def report_json(analysis: Analysis, *, convention: Convention | str = Convention.MACS, depth: int | None = None) -> str:
    return json.dumps(report_dict(analysis, convention=convention, depth=depth), indent=2) + "\n"


# --------------------------------------------------------------------------- columns


def _default_columns(conv: Convention, raw: bool) -> list[tuple[str, Callable[[Row], Any], str]]:
    count = (lambda v: v) if raw else human_count
    size = (lambda v: v) if raw else human_bytes
    return [
        ("Layer", lambda r: r.name, "l"),
        ("Type", lambda r: r.type, "l"),
        ("Input", _input_text, "l"),
        ("Output", lambda r: shape_text(r.output_shape), "l"),
        ("Params", lambda r: count(r.params), "r"),
        (HEADLINE_LABELS[conv], lambda r: count(headline_count(conv, macs=r.macs, pooling_ops=r.pooling_ops)), "r"),
        ("Other ops", lambda r: count(r.ops), "r"),
        ("Memory", lambda r: size(r.activation_bytes), "r"),
        ("RF", lambda r: "x".join(map(str, r.receptive_field)) if r.receptive_field else "-", "r"),
    ]


def _joined(r: Row) -> list[int] | None:
    """The channels a concat row joins (its branches' outputs), else None."""
    if isinstance(r, LayerRow) and r.type == "concat" and r.attrs.get("branches"):
        return list(r.attrs["branches"])
    return None


def _input_text(r: Row) -> str:
    """The input shape; a concat row shows what it joins: ``(16+24+8+16)x32x32``."""
    joined = _joined(r)
    if joined is None:
        return shape_text(r.input_shape)
    return "x".join(["(" + "+".join(map(str, joined)) + ")", *map(str, r.input_shape[1:])])


def _hw(shape: tuple[int, ...]) -> str:
    spatial = shape[1:]
    if not spatial:
        return ""
    return str(spatial[0]) if len(set(spatial)) == 1 else "x".join(map(str, spatial))


def _fmt_attr(v: Any) -> str:
    if v is None or v == "":
        return ""
    if isinstance(v, list):
        return "x".join(map(str, v)) if all(isinstance(i, int) for i in v) else str(v)
    return str(v)


def _seed_columns(raw: bool) -> list[tuple[str, Callable[[Row], Any], str]]:
    def num(value: float, unit: int) -> Any:
        return value if raw else f"{value / unit:,.0f}"

    def attr(key: str) -> Callable[[Row], str]:
        return lambda r: _fmt_attr(r.attrs.get(key)) if isinstance(r, LayerRow) else ""

    return [
        ("Layer", lambda r: r.name, "l"),
        ("C_in", lambda r: r.input_shape[0] if _joined(r) is None else "+".join(map(str, _joined(r))), "r"),
        ("H/W", lambda r: _hw(r.input_shape), "r"),
        ("Filters", attr("filters"), "r"),
        ("K", attr("kernel"), "r"),
        ("S", attr("stride"), "r"),
        ("P", attr("padding"), "r"),
        ("C_out", lambda r: r.output_shape[0], "r"),
        ("H'/W'", lambda r: _hw(r.output_shape), "r"),
        ("Mem (KB)" if not raw else "Mem (bytes)", lambda r: num(r.activation_bytes, 1024), "r"),
        ("Param (k)" if not raw else "Params", lambda r: num(r.params, 1000), "r"),
        ("Flops (M)" if not raw else "Flops", lambda r: num(r.macs + r.pooling_ops, 10**6), "r"),
    ]


# --------------------------------------------------------------------------- rendering


def render_report(analysis: Analysis, *, fmt: str = "table", style: str = "default",
                  convention: Convention | str = Convention.MACS, depth: int | None = None,
                  raw: bool = False) -> str:
    """Render ``analysis`` as a string in ``fmt`` (see :data:`FORMATS`)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if style not in STYLES:
        raise ValueError(f"unknown style {style!r}; choose one of {', '.join(STYLES)}")
    conv = Convention(convention)
    if fmt == "json":
        return report_json(analysis, convention=conv, depth=depth)
    rows = analysis.rows_at_depth(depth)
    note = ""
    if style == "seed":
        hidden = sum(1 for r in rows if r.type in _SEED_HIDDEN)
        rows = [r for r in rows if r.type not in _SEED_HIDDEN]
        columns = _seed_columns(raw)
        if hidden:
            note = (f"Total counts all rows, including the {hidden} activation/dropout rows this layout hides "
                    "(their outputs add to Mem).")
    else:
        columns = _default_columns(conv, raw)
    if fmt == "csv":
        raw = True  # a machine format: exact integers, never "34.9 K"
        columns = _seed_columns(raw) if style == "seed" else _default_columns(conv, raw)
    headers = [c[0] for c in columns]
    body = [[c[1](r) for c in columns] for r in rows]
    total = _total_row(analysis, columns, conv, raw, style)
    title = _title(analysis, conv)
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(headers)
        writer.writerows(body)
        writer.writerow(total)
        return buf.getvalue()
    if fmt == "html":
        from .html import html_table

        return html_table(headers, body, total=total, align=[c[2] for c in columns],
                          sort_keys=_sort_keys(columns, rows, style, conv), caption=title)
    colalign = [_ALIGN[c[2]] for c in columns]
    if fmt == "markdown":
        total = [f"**{v}**" if str(v) else "" for v in total]
        table = tabulate(body + [total], headers=headers, tablefmt="pipe", colalign=colalign, disable_numparse=True)
        return f"**{title}**\n\n{table}\n" + (f"\n{note}\n" if note else "")
    if fmt == "latex":
        table = tabulate(body + [total], headers=headers, tablefmt="latex_booktabs", colalign=colalign,
                         disable_numparse=True)
        lines = table.splitlines()
        lines.insert(len(lines) - 3, r"\midrule")  # rule above the Total row
        return f"% {title}\n" + "\n".join(lines) + "\n" + (f"% {note}\n" if note else "")
    from tabulate import SEPARATING_LINE

    table = tabulate(body + [SEPARATING_LINE, total], headers=headers, tablefmt="simple", colalign=colalign,
                     disable_numparse=True)
    return f"{title}\n\n{table}\n" + (f"\n{note}\n" if note else "")


def _sort_keys(columns: list, rows: list[Row], style: str, conv: Convention) -> list[list[Any]]:
    """Exact numbers behind each displayed cell (for sorting in HTML); None where text sorts."""
    raw_columns = _seed_columns(True) if style == "seed" else _default_columns(conv, True)
    keys = []
    for r in rows:
        row = []
        for title, get, align in raw_columns:
            value = get(r)
            row.append(value if isinstance(value, (int, float)) and align == "r" else None)
        keys.append(row)
    return keys


def _title(analysis: Analysis, conv: Convention) -> str:
    t = analysis.totals
    return (f"{analysis.name}: input {shape_text(analysis.input_shape)}, batch {analysis.batch_size}, "
            f"{analysis.dtype}; {human_count(t.params)} params, "
            f"{human_count(analysis.headline(conv))} {HEADLINE_LABELS[conv]}")


def _total_row(analysis: Analysis, columns: list, conv: Convention, raw: bool, style: str) -> list[Any]:
    t = analysis.totals
    count = (lambda v: v) if raw else human_count
    size = (lambda v: v) if raw else human_bytes
    if style == "seed":
        def num(v: int, unit: int) -> Any:
            return v if raw else f"{v / unit:,.0f}"
        return ["Total", "", "", "", "", "", "", "", "", num(t.activation_bytes, 1024), num(t.params, 1000),
                num(t.seed_flops, 10**6)]
    return ["Total", "", shape_text(analysis.input_shape), shape_text(analysis.output_shape), count(t.params),
            count(analysis.headline(conv)), count(t.ops), size(t.activation_bytes), ""]
