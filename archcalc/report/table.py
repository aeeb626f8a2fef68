"""Tables of an :class:`~archcalc.analysis.Analysis` in every format users ask for.

Two layouts (``style``): ``default`` (layer, type, shapes, params, headline cost, ops, output size,
live memory, receptive field) and ``seed`` (the lecture's AlexNet columns). Memory comes in two
columns that say what they hold: ``Output mem``, each row's output tensor as if it were new (its
Total is the sum over the rows, ``activation_bytes``: an upper bound no allocator shows), and ``Live
mem``, the activations alive after the row in an inference pass (its Total is the peak during the pass,
``peak_activation_bytes``, the input included); see :mod:`archcalc.conventions`. Formats: ``table`` (terminal),
``markdown``, ``csv``, ``json``, ``latex`` (booktabs) and ``html`` (a ``<table>`` fragment; the
self-contained page is :func:`archcalc.site.pages.single_page`). Numbers are human-readable
(counts K/M/G with decimal prefixes, memory KB/MB with 1024 steps, three significant digits)
unless ``raw`` is set; ``csv`` and ``json`` always hold exact integers (they are for programs).
Numeric columns are right-aligned in every format and the last row is the labelled ``Total``,
derived column by column (:class:`Column`: each knows its cell and its total).
"""

from __future__ import annotations

__all__ = ["FORMATS", "STYLES", "Column", "TITLES", "LAYOUTS", "column_title", "render_report", "report_json",
           "report_dict"]

import csv
import io
import json
from dataclasses import dataclass
from enum import Enum
from typing import Any, Callable, Sequence

from ..analysis import Analysis, GroupRow, LayerRow, Totals
from ..conventions import HEADLINE_LABELS, Convention, headline_count
from ..kinds import hidden_in_seed
from ..units import KIB, KILO, MEGA, human_bytes, human_count, shape_text
from .text import pipe_table, simple_table

FORMATS = ("table", "markdown", "csv", "json", "latex", "html")
STYLES = ("default", "seed")
_ALIGN = {"l": "left", "r": "right"}

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
                   "peak_activation_bytes": t.peak_activation_bytes, "saved_bytes": t.saved_bytes,
                   "pooling_ops": t.pooling_ops, "seed_flops": t.seed_flops, "flops": t.flops,
                   "headline": analysis.headline(conv), "param_bytes": analysis.param_bytes,
                   "input_bytes": analysis.input_bytes},
    }


def _row_dict(r: Row, conv: Convention) -> dict[str, Any]:
    d: dict[str, Any] = {
        "name": r.name, "type": r.type, "depth": r.depth, "group": isinstance(r, GroupRow),
        "input_shape": list(r.input_shape), "output_shape": list(r.output_shape),
        "params": r.params, "macs": r.macs, "ops": r.ops, "activation_bytes": r.activation_bytes,
        "live_bytes": r.live_bytes, "saved_bytes": r.saved_bytes, "pooling_ops": r.pooling_ops, "headline": headline_count(conv, macs=r.macs, pooling_ops=r.pooling_ops),
        "receptive_field": list(r.receptive_field) if r.receptive_field else None,
    }
    if isinstance(r, LayerRow):
        d["attrs"] = r.attrs
        d["jump"] = list(r.jump) if r.jump else None  # effective stride, input pixels per output step
        d["start"] = list(r.start) if r.start else None  # centre of the first output's field, in input pixels
        if r.instances != 1:  # a per-proposal row: its costs and bytes are for this many boxes per sample
            d["instances"] = r.instances
    return d


def report_json(analysis: Analysis, *, convention: Convention | str = Convention.MACS, depth: int | None = None) -> str:
    """:func:`report_dict` as JSON text, one layer (and one group) per line: readable, a line per row
    to diff or grep, and written by the json module's C encoder (``indent=`` would use its pure-Python
    one, which took longer than loading and analyzing the spec)."""
    return json_lines(report_dict(analysis, convention=convention, depth=depth))


def json_lines(data: dict[str, Any]) -> str:
    """``data`` as a JSON object with a key per line; a list of objects (rows) gets an object per line,
    any other value is written on its key's line."""
    out = ["{"]
    last = len(data) - 1
    for i, (key, value) in enumerate(data.items()):
        comma = "," if i < last else ""
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            out.append(f"  {json.dumps(key)}: [")
            out.append(",\n".join(f"    {json.dumps(v)}" for v in value))
            out.append(f"  ]{comma}")
        else:
            out.append(f"  {json.dumps(key)}: {json.dumps(value)}{comma}")
    out.append("}")
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------- columns


class Column(str, Enum):
    """Every column a layer table can show; :data:`TITLES` maps each to its header and
    :data:`LAYOUTS` lists the columns of each ``style``."""

    LAYER = "layer"
    TYPE = "type"
    INPUT = "input"
    OUTPUT = "output"
    PARAMS = "params"
    HEADLINE = "headline"  # the convention's cost: MACs, FLOPs or seed flops
    OTHER_OPS = "other_ops"
    MEMORY = "memory"  # each row's output tensor (Total: their sum)
    LIVE = "live"  # activations alive after the row, inference (Total: the peak)
    SAVED = "saved"  # activations autograd keeps for backward, training (Total: their sum)
    RF = "rf"
    C_IN = "c_in"
    HW_IN = "hw_in"
    FILTERS = "filters"
    KERNEL = "kernel"
    STRIDE = "stride"
    PADDING = "padding"
    C_OUT = "c_out"
    HW_OUT = "hw_out"
    MEM_KB = "mem_kb"
    PARAM_K = "param_k"
    FLOPS_M = "flops_m"


TITLES: dict[Column, str] = {
    Column.LAYER: "Layer", Column.TYPE: "Type", Column.INPUT: "Input", Column.OUTPUT: "Output",
    Column.PARAMS: "Params", Column.HEADLINE: HEADLINE_LABELS[Convention.MACS], Column.OTHER_OPS: "Other ops",
    Column.MEMORY: "Output mem", Column.LIVE: "Live mem", Column.SAVED: "Saved (train)", Column.RF: "RF", Column.C_IN: "C_in", Column.HW_IN: "H/W", Column.FILTERS: "Filters",
    Column.KERNEL: "K", Column.STRIDE: "S", Column.PADDING: "P", Column.C_OUT: "C_out", Column.HW_OUT: "H'/W'",
    Column.MEM_KB: "Mem (KB)", Column.PARAM_K: "Param (k)", Column.FLOPS_M: "Flops (M)",
}
"""Column headers (the headline column is titled by the convention, see :func:`column_title`)."""

RAW_TITLES: dict[Column, str] = {Column.MEM_KB: "Mem (bytes)", Column.PARAM_K: "Params", Column.FLOPS_M: "Flops"}
"""Headers of the seed layout's scaled columns when they hold exact integers (``raw``)."""

LAYOUTS: dict[str, tuple[Column, ...]] = {
    "default": (Column.LAYER, Column.TYPE, Column.INPUT, Column.OUTPUT, Column.PARAMS, Column.HEADLINE,
                Column.OTHER_OPS, Column.MEMORY, Column.LIVE, Column.RF),
    "seed": (Column.LAYER, Column.C_IN, Column.HW_IN, Column.FILTERS, Column.KERNEL, Column.STRIDE, Column.PADDING,
             Column.C_OUT, Column.HW_OUT, Column.MEM_KB, Column.PARAM_K, Column.FLOPS_M),
}
"""The columns of each ``style``, left to right (the seed layout is the lecture's AlexNet table)."""


def column_title(column: Column, *, convention: Convention | str = Convention.MACS, raw: bool = False) -> str:
    if column is Column.HEADLINE:
        return HEADLINE_LABELS[Convention(convention)]
    return RAW_TITLES.get(column, TITLES[column]) if raw else TITLES[column]


@dataclass(frozen=True)
class _Numbers:
    """How numbers are shown: exact integers (``raw``) or human-readable."""

    conv: Convention
    raw: bool

    def count(self, value: int) -> Any:
        return value if self.raw else human_count(value)

    def size(self, value: int) -> Any:
        return value if self.raw else human_bytes(value)

    def per(self, value: int, unit: int) -> Any:
        """``value`` in thousands (``unit`` = :data:`KILO`) etc., no decimals, as the seed table prints."""
        return value if self.raw else f"{value / unit:,.0f}"


@dataclass(frozen=True)
class _Cells:
    """A column's alignment, its cell for a row and its cell in the Total row."""

    align: str  # "l" or "r"
    cell: Callable[[Row, _Numbers], Any]
    total: Callable[[Analysis, _Numbers], Any] = lambda a, n: ""


def _seed_flops(x: Row | Totals) -> int:
    return x.macs + x.pooling_ops  # the lecture's "Flops": multiply-adds plus pooling window reads


def _attr(key: str) -> Callable[[Row, _Numbers], str]:
    return lambda r, n: _fmt_attr(r.attrs.get(key)) if isinstance(r, LayerRow) else ""


_CELLS: dict[Column, _Cells] = {
    Column.LAYER: _Cells("l", lambda r, n: r.name, lambda a, n: "Total"),
    Column.TYPE: _Cells("l", lambda r, n: r.type),
    Column.INPUT: _Cells("l", lambda r, n: _input_text(r), lambda a, n: shape_text(a.input_shape)),
    Column.OUTPUT: _Cells("l", lambda r, n: shape_text(r.output_shape), lambda a, n: shape_text(a.output_shape)),
    Column.PARAMS: _Cells("r", lambda r, n: n.count(r.params), lambda a, n: n.count(a.totals.params)),
    Column.HEADLINE: _Cells("r", lambda r, n: n.count(headline_count(n.conv, macs=r.macs, pooling_ops=r.pooling_ops)),
                            lambda a, n: n.count(a.headline(n.conv))),
    Column.OTHER_OPS: _Cells("r", lambda r, n: n.count(r.ops), lambda a, n: n.count(a.totals.ops)),
    Column.MEMORY: _Cells("r", lambda r, n: n.size(r.activation_bytes), lambda a, n: n.size(a.totals.activation_bytes)),
    Column.LIVE: _Cells("r", lambda r, n: n.size(r.live_bytes), lambda a, n: n.size(a.totals.peak_activation_bytes)),
    Column.SAVED: _Cells("r", lambda r, n: n.size(r.saved_bytes), lambda a, n: n.size(a.totals.saved_bytes)),
    Column.RF: _Cells("r", lambda r, n: "x".join(map(str, r.receptive_field)) if r.receptive_field else "-"),
    Column.C_IN: _Cells("r", lambda r, n: r.input_shape[0] if _joined(r) is None else "+".join(map(str, _joined(r)))),
    Column.HW_IN: _Cells("r", lambda r, n: _hw(r.input_shape)),
    Column.FILTERS: _Cells("r", _attr("filters")),
    Column.KERNEL: _Cells("r", _attr("kernel")),
    Column.STRIDE: _Cells("r", _attr("stride")),
    Column.PADDING: _Cells("r", _attr("padding")),
    Column.C_OUT: _Cells("r", lambda r, n: r.output_shape[0]),
    Column.HW_OUT: _Cells("r", lambda r, n: _hw(r.output_shape)),
    Column.MEM_KB: _Cells("r", lambda r, n: n.per(r.activation_bytes, KIB),
                          lambda a, n: n.per(a.totals.activation_bytes, KIB)),
    Column.PARAM_K: _Cells("r", lambda r, n: n.per(r.params, KILO), lambda a, n: n.per(a.totals.params, KILO)),
    Column.FLOPS_M: _Cells("r", lambda r, n: n.per(_seed_flops(r), MEGA), lambda a, n: n.per(_seed_flops(a.totals), MEGA)),
}


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
        hidden = sum(1 for r in rows if hidden_in_seed(r.type))
        rows = [r for r in rows if not hidden_in_seed(r.type)]
        if hidden:
            note = (f"Total counts all rows, including the {hidden} activation/dropout rows this layout hides "
                    "(their outputs add to Mem).")
    if fmt == "csv":
        raw = True  # a machine format: exact integers, never "34.9 K"
    columns = LAYOUTS[style]
    if Column.LIVE in columns:
        note = "\n".join(filter(None, (note, _memory_note(analysis, raw))))
    note = "\n".join(filter(None, (note, per_box_note(analysis, raw))))
    numbers = _Numbers(conv, raw)
    headers = [column_title(c, convention=conv, raw=raw) for c in columns]
    body = [[_CELLS[c].cell(r, numbers) for c in columns] for r in rows]
    total = [_CELLS[c].total(analysis, numbers) for c in columns]
    align = [_CELLS[c].align for c in columns]
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

        return html_table(headers, body, total=total, align=align, sort_keys=_sort_keys(columns, rows, conv),
                          caption=title, row_names=[r.name for r in rows])
    colalign = [_ALIGN[a] for a in align]
    if fmt == "markdown":
        total = [f"**{v}**" if str(v) else "" for v in total]
        table = pipe_table(headers, body + [total], colalign)
        return f"**{title}**\n\n{table}\n" + (f"\n{note}\n" if note else "")
    if fmt == "latex":
        from tabulate import tabulate  # only LaTeX needs it

        table = tabulate(body + [total], headers=headers, tablefmt="latex_booktabs", colalign=colalign,
                         disable_numparse=True)
        lines = table.splitlines()
        lines.insert(len(lines) - 3, r"\midrule")  # rule above the Total row
        return f"% {title}\n" + "\n".join(lines) + "\n" + (f"% {note}\n" if note else "")
    table = simple_table(headers, [*body, None, total], colalign)  # None: the rule above the Total row
    return f"{title}\n\n{table}\n" + (f"\n{note}\n" if note else "")


def _memory_note(analysis: Analysis, raw: bool) -> str:
    """What the two memory columns hold, and where the peak is."""
    show = (lambda v: f"{v:,} B") if raw else human_bytes
    where = analysis.peak_row
    return (f"Output mem: each row's output as if it were new (Total: their sum, an upper bound). Live mem: "
            f"activations alive after the row at inference (Total: the peak, {show(analysis.totals.peak_activation_bytes)}"
            f" with the input" + (f", during {where}" if where else "") + "). See archcalc/conventions.py.")


def per_box_note(analysis: Analysis, raw: bool = False) -> str:
    """The share of the per-proposal sections (rows run once per box: a detector's heads), or '' if none."""
    sections = [g for g in analysis.groups if g.type == "per_proposal"
                and not any(o.type == "per_proposal" and o.first <= g.first and g.stop <= o.stop and o is not g
                            for o in analysis.groups)]
    total = analysis.totals.macs
    if not sections or not total:
        return ""
    show = (lambda v: f"{v:,}") if raw else human_count
    parts = [f"{g.name} x {g.input_shape[0]:,} boxes: {show(g.macs)} MACs" for g in sections]
    share = sum(g.macs for g in sections)
    return (f"Per box: {'; '.join(parts)}; {share / total:.1%} of all MACs (the rest runs once per image; "
            "a detector's --param proposals=N or detections=N changes the boxes).")


def _sort_keys(columns: Sequence[Column], rows: list[Row], conv: Convention) -> list[list[Any]]:
    """Exact numbers behind each displayed cell (for sorting in HTML); None where text sorts."""
    exact = _Numbers(conv, raw=True)
    keys = []
    for r in rows:
        row = []
        for c in columns:
            value = _CELLS[c].cell(r, exact)
            row.append(value if isinstance(value, (int, float)) and _CELLS[c].align == "r" else None)
        keys.append(row)
    return keys


def _title(analysis: Analysis, conv: Convention) -> str:
    t = analysis.totals
    return (f"{analysis.name}: input {shape_text(analysis.input_shape)}, batch {analysis.batch_size}, "
            f"{analysis.dtype}; {human_count(t.params)} params, "
            f"{human_count(analysis.headline(conv))} {HEADLINE_LABELS[conv]}")
