"""The pages of the reports tree, composed from the renderers (:mod:`archcalc.report`): one
spec's Markdown and HTML pages, the zoo's README and index, chart captions. Data in (a spec, its
analysis, its :class:`~archcalc.site.summary.SpecSummary`), text out; charts arrive as SVG text
or file names.
"""

from __future__ import annotations

__all__ = ["auto_depth", "spec_markdown", "spec_page", "chart_captions", "zoo_markdown", "zoo_page", "chart_engine",
           "GENERATOR_PREFIX", "ZOO_INTRO", "ROOFLINE_SETTINGS", "MAX_TABLE_ROWS", "MAX_FULL_ROWS", "standalone"]

from typing import Any, Sequence

from ..analysis import Analysis
from ..report.html import escape, html_page, html_table
from ..report.table import render_report
from ..spec import Spec
from ..units import human_bytes, human_count, shape_text
from .summary import SpecSummary, top1_text

ROOFLINE_SETTINGS = {"device": "h100", "dtype": "bfloat16", "batch_size": 1}
MAX_TABLE_ROWS = 60
MAX_FULL_ROWS = 400  # per-spec HTML pages list every layer up to this many


def auto_depth(analysis: Analysis, max_rows: int = MAX_TABLE_ROWS) -> int | None:
    """Every leaf when they fit in ``max_rows``, else the deepest nesting level that does."""
    if len(analysis.layers) <= max_rows:
        return None
    deepest = max((g.depth for g in analysis.groups), default=-1) + 1
    for level in range(deepest, 0, -1):
        if len(analysis.rows_at_depth(level)) <= max_rows:
            return level
    return 1



# --------------------------------------------------------------------------- one spec


def _accuracy_rows(spec: Spec) -> list[list[str]]:
    def pct(v: float | None) -> str:
        return "" if v is None else f"{v:g}"

    return [[a.dataset, pct(a.top1), pct(a.top5), pct(a.top1_error), pct(a.top5_error), a.protocol or "", a.source]
            for a in spec.accuracy]


_ACC_HEADERS = ["Dataset", "Top-1 %", "Top-5 %", "Top-1 err %", "Top-5 err %", "Protocol", "Source"]


def _md_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], align: str | None = None) -> str:
    from tabulate import tabulate

    colalign = [{"l": "left", "r": "right"}[c] for c in (align or "l" * len(headers))]
    cleaned = [[str(v).replace("|", "\\|").replace("\n", " ") for v in r] for r in rows]
    return tabulate(cleaned, headers=list(headers), tablefmt="pipe", colalign=colalign, disable_numparse=True) + "\n"


def _facts(spec: Spec, analysis: Analysis, s: SpecSummary) -> list[tuple[str, str]]:
    t = analysis.totals
    facts = [("Input", shape_text(spec.input_shape)), ("Parameters", f"{human_count(t.params)} ({t.params:,})"),
             ("Multiply-adds", f"{human_count(t.macs)} MACs ({t.macs:,})"),
             ("Activation memory", f"{human_bytes(t.peak_activation_bytes)} alive at the peak of an inference pass "
                                   f"(float32, batch 1, the input included); every layer output summed: "
                                   f"{human_bytes(t.activation_bytes)}; kept for backward in training: "
                                   f"{human_bytes(t.saved_bytes)}"),
             ("Reference check", s.check)]
    if s.top1 is not None:
        facts.insert(3, ("ImageNet top-1", f"{top1_text(s)} % ({s.top1_protocol or 'protocol not recorded'}; "
                                           f"{s.top1_source})"))
    return facts


def spec_markdown(spec: Spec, analysis: Analysis, s: SpecSummary) -> str:
    doc = spec.document
    out = [f"# {spec.name}\n", f"Spec: [`{s.path}`](../../{s.path}) · family {s.family or '-'}"
           + (f" · {doc.year}" if doc.year else "") + f" · [HTML page]({s.stem}.html)\n"]
    if doc.description:
        out.append(doc.description.strip() + "\n")
    if doc.source:
        out.append(f"Source: {doc.source}\n")
    if doc.reference_model:
        out.append(f"Reference implementation: `{doc.reference_model}`\n")
    out.append(_md_table(["", ""], [[f"**{k}**", v] for k, v in _facts(spec, analysis, s)]))
    out.append(f"![memory, parameters and multiply-adds per layer]({s.stem}.layers.svg)\n")
    if spec.accuracy:
        out.append("## Accuracy\n")
        out.append(_md_table(_ACC_HEADERS, _accuracy_rows(spec), "lrrrrll"))
    if doc.notes:
        out.append("## Notes\n")
        out.append("".join(f"- {n.strip()}\n" for n in doc.notes))
    out.append("## Network\n")
    out.append(f"![network diagram: boxes coloured by multiply-adds]({s.stem}.graph.svg)\n")
    out.append(f"Blocks are folded as in `archcalc plot graph {s.path}`; the [HTML page]({s.stem}.html) "
               "unfolds them.\n")
    depth = auto_depth(analysis)
    out.append("## Layers\n")
    if depth is not None:
        out.append(f"Blocks nested deeper than {depth} level{'s' if depth > 1 else ''} are summed into one row "
                   f"(`archcalc report {s.path} --depth {depth}`); every layer is in the [HTML page]({s.stem}.html).\n")
    out.append(render_report(analysis, fmt="markdown", depth=depth))
    r = ROOFLINE_SETTINGS
    out.append(f"\n## Roofline ({r['device'].upper()}, {r['dtype']}, batch {r['batch_size']})\n")
    out.append(f"![roofline]({s.stem}.roofline.svg)\n")
    return "\n".join(out)


def spec_page(spec: Spec, analysis: Analysis, s: SpecSummary, *, charts: Sequence[tuple[str, str]] = (),
              back_link: str | None = "index.html", depth: int | None = None, style: str = "default",
              convention: str = "macs", raw: bool = False, diagram: str | None = None) -> str:
    """The self-contained HTML page of one spec; ``charts`` are (caption, inline svg) pairs;
    ``diagram`` the network diagram's HTML (:func:`archcalc.diagram.page.page_fragment`).
    ``style``, ``convention`` and ``raw`` shape the layer tables as in :func:`render_report`."""
    table = dict(fmt="html", style=style, convention=convention, raw=raw)
    doc = spec.document
    body = []
    if back_link:
        body.append(f'<p class="muted"><a href="{escape(back_link)}">&larr; all models</a></p>')
    body.append(f"<h1>{escape(spec.name)}</h1>")
    meta = [f"<code>{escape(s.path)}</code>", f"family {escape(s.family or '-')}"]
    if doc.year:
        meta.append(str(doc.year))
    if doc.reference_model:
        meta.append(f"reference implementation <code>{escape(doc.reference_model)}</code>")
    body.append(f'<p class="muted">{" · ".join(meta)}</p>')
    if doc.description:
        body.append(f"<p>{escape(doc.description.strip())}</p>")
    if doc.source:
        body.append(f"<p>Source: {escape(doc.source)}</p>")
    cls = {"Reference check": "bad" if s.check_failed else "ok"}
    body.append('<div class="cards">' + "".join(
        f'<div class="card"><span class="muted">{escape(k)}</span><b class="{cls.get(k, "")}">{escape(v)}</b></div>'
        for k, v in _facts(spec, analysis, s)) + "</div>")
    for caption, svg in charts:
        body.append(f"<figure>{_figure(svg, caption)}<figcaption>{escape(caption)}</figcaption></figure>")
    if spec.accuracy:
        body.append("<h2>Accuracy</h2>")
        body.append(html_table(_ACC_HEADERS, _accuracy_rows(spec), align="lrrrrll"))
    if doc.notes:
        body.append("<h2>Notes</h2>")
        body.append('<ul class="notes">' + "".join(f"<li>{escape(n.strip())}</li>" for n in doc.notes) + "</ul>")
    if diagram is not None:
        body.append("<h2>Network</h2>")
        body.append('<p class="muted">Each box is a layer, or a block of layers folded into one (<b>+</b> '
                    "unfolds it, <b>&minus;</b> folds it again), coloured by its multiply-adds. Hover or click a box "
                    "to find its row in the tables below, or a row to find its box.</p>")
        body.append(diagram)
    depth = depth if depth is not None else auto_depth(analysis)
    body.append("<h2>Layers</h2>")
    body.append('<p class="muted">Click a column header to sort. Shapes exclude the batch axis; memory is each '
                f"layer's output at {analysis.dtype}, batch {analysis.batch_size}.</p>")
    body.append('<div class="table-wrap">' + render_report(analysis, depth=depth, **table) + "</div>")
    if depth is not None and len(analysis.layers) <= MAX_FULL_ROWS:
        body.append(f"<details><summary>Every layer ({len(analysis.layers)} rows)</summary>"
                    f'<div class="table-wrap">{render_report(analysis, **table)}</div></details>')
    elif depth is not None:
        body.append(f'<p class="muted">{len(analysis.layers)} layers in all: <code>archcalc report {escape(s.path)}'
                    "</code> lists every one.</p>")
    if diagram is None:
        return html_page(spec.name, "\n".join(body) + "\n")
    from ..diagram.page import DIAGRAM_CSS
    from ..diagram.script import DIAGRAM_JS

    return html_page(spec.name, "\n".join(body) + "\n", extra_css=DIAGRAM_CSS, extra_js=DIAGRAM_JS)


def chart_captions(analysis: Analysis) -> dict[str, str]:
    from ..plots.devices import get_device

    r = ROOFLINE_SETTINGS
    return {
        "layers": (f"Activation memory ({analysis.dtype}, batch {analysis.batch_size}), parameters and "
                   "multiply-adds per layer (archcalc static counts)."),
        "roofline": (f"Roofline on {get_device(str(r['device'])).name} ({r['dtype']}, batch {r['batch_size']}): "
                     "datasheet ceilings, every layer at its attainable rate."),
    }


# --------------------------------------------------------------------------- the zoo


_ZOO_HEADERS = ["Model", "Family", "Year", "Input", "Params", "MACs", "Top-1 %", "Check"]


def _zoo_rows(summaries: Sequence[SpecSummary], *, html: bool) -> tuple[list[list[Any]], list[list[Any]]]:
    rows, keys = [], []
    for s in summaries:
        if html:
            name = f'<a href="specs/{escape(s.stem)}.html">{escape(s.name)}</a>'
        else:
            name = f"[{s.name}](specs/{s.stem}.md)"
        check = s.error.splitlines()[0] if s.error else s.check
        if html:
            check = f'<span class="{"bad" if s.check_failed else "ok"}">{escape(check)}</span>'
        rows.append([name, s.family, s.year or "", shape_text(s.input_shape) if s.input_shape else "",
                     human_count(s.params) if s.params is not None else "",
                     human_count(s.macs) if s.macs is not None else "", top1_text(s), check])
        keys.append([None, None, s.year, None, s.params, s.macs, s.top1, None])
    return rows, keys


def _zoo_order(summaries: Sequence[SpecSummary]) -> list[SpecSummary]:
    return sorted(summaries, key=lambda s: (s.family.lower(), s.macs or 0, s.name.lower()))


ZOO_INTRO = ("Generated by `archcalc report --all specs/ -o reports/` from the specs in `specs/`: costs are archcalc's "
             "static counts (1 MAC = 1 multiply-accumulate = 2 FLOPs) at each spec's own input size; top-1 is the "
             "spec's ImageNet figure, single-crop where recorded (\u2020: another protocol); *Check* compares "
             "the figures each spec records from its sources with the computed ones (`archcalc check`).")


def zoo_markdown(summaries: Sequence[SpecSummary], charts: Sequence[tuple[str, str]]) -> str:
    """``README.md``: the zoo table and the zoo charts (``charts``: (caption, relative path))."""
    order = _zoo_order(summaries)
    rows, _ = _zoo_rows(order, html=False)
    out = ["# archcalc reports\n", ZOO_INTRO + "\n", f"{len(order)} specs. [HTML version](index.html) "
           "(sortable table, charts inline).\n", "## Models\n", _md_table(_ZOO_HEADERS, rows, "llrlrrrl")]
    for caption, path in charts:
        out.append(f"## {caption}\n\n![{caption}]({path})\n")
    out.append(f"---\n\n{GENERATOR_PREFIX}{chart_engine()}.\n")
    return "\n".join(out)


GENERATOR_PREFIX = "Charts drawn with "


def chart_engine() -> str:
    """``"matplotlib 3.11.2"``: the SVG bytes depend on it (read without importing matplotlib)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"matplotlib {version('matplotlib')}"
    except PackageNotFoundError:  # pragma: no cover
        return "matplotlib (version unknown)"


def zoo_page(summaries: Sequence[SpecSummary], charts: Sequence[tuple[str, str]]) -> str:
    """``index.html``: the sortable zoo table and the charts inline (``charts``: (caption, svg))."""
    order = _zoo_order(summaries)
    rows, keys = _zoo_rows(order, html=True)
    intro = escape(ZOO_INTRO).replace("`", "")
    body = ["<h1>archcalc reports</h1>", f'<p class="muted">{intro}</p>', "<h2>Models</h2>",
            '<div class="table-wrap">' + html_table(_ZOO_HEADERS, rows, align="llrlrrrl", sort_keys=keys,
                                                    raw_html=[True, False, False, False, False, False, False, True])
            + "</div>"]
    for caption, svg in charts:
        body.append(f"<h2>{escape(caption)}</h2><figure>{_figure(svg, caption)}</figure>")
    return html_page("archcalc reports", "\n".join(body) + "\n")


def _figure(svg_or_src: str, alt: str) -> str:
    """Inline ``<svg>`` text as is; anything else is a file name to reference."""
    if svg_or_src.lstrip().startswith("<svg"):
        return svg_or_src
    return f'<img src="{escape(svg_or_src)}" alt="{escape(alt)}" loading="lazy">'


def standalone(svg: str) -> str:
    return '<?xml version="1.0" encoding="utf-8" standalone="no"?>\n' + svg
