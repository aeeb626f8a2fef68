"""Self-contained HTML: tables with sortable columns and pages with inline SVG charts.

No external assets: the stylesheet and the few lines of sorting script are inlined, charts are
``<svg>`` elements (see :func:`archcalc.plots.style.svg_text`). Pages follow the reader's light or
dark preference; charts keep their white background in both. Output is deterministic.
"""

from __future__ import annotations

__all__ = ["html_table", "html_page", "escape", "CSS", "SORT_JS"]

from html import escape as _escape
from typing import Any, Sequence


def escape(value: Any) -> str:
    return _escape(str(value), quote=True)


CSS = """\
:root { color-scheme: light dark; --fg: #1b1b1b; --bg: #ffffff; --muted: #5a5a5a; --line: #d0d0d0;
  --head: #f2f2f2; --accent: #0060a0; --ok: #1a7f37; --bad: #b42318; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6e6e6; --bg: #161616; --muted: #a8a8a8;
  --line: #3a3a3a; --head: #222222; --accent: #6cb6ff; --ok: #56d364; --bad: #ff7b72; } }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg);
  background: var(--bg); margin: 0 auto; padding: 1.5rem; max-width: 1200px; }
h1 { font-size: 1.6rem; margin: 0 0 .3rem; } h2 { font-size: 1.2rem; margin: 2rem 0 .6rem; }
a { color: var(--accent); } .muted { color: var(--muted); } .ok { color: var(--ok); } .bad { color: var(--bad); }
.cards { display: flex; flex-wrap: wrap; gap: .6rem; margin: 1rem 0; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: .5rem .8rem; min-width: 8rem; }
.card b { display: block; font-size: 1.15rem; }
figure { margin: 1rem 0; } figure svg { max-width: 100%; height: auto; background: #fff; border-radius: 4px; }
figcaption { color: var(--muted); font-size: .85rem; margin-top: .3rem; }
.table-wrap { overflow-x: auto; }
table.archcalc { border-collapse: collapse; font-size: .85rem; font-variant-numeric: tabular-nums; }
table.archcalc caption { text-align: left; font-weight: 600; padding: .3rem 0; }
table.archcalc th, table.archcalc td { border-bottom: 1px solid var(--line); padding: .25rem .6rem;
  text-align: left; white-space: nowrap; }
table.archcalc th { background: var(--head); position: sticky; top: 0; cursor: pointer; user-select: none; }
table.archcalc th[aria-sort=ascending]::after { content: " \\25B2"; font-size: .7em; }
table.archcalc th[aria-sort=descending]::after { content: " \\25BC"; font-size: .7em; }
table.archcalc .num { text-align: right; }
table.archcalc tfoot td { font-weight: 700; border-top: 2px solid var(--fg); }
ul.notes li { margin: .2rem 0; }
"""

# Click a header to sort by that column (again to reverse). Cells sort by their data-sort
# attribute (exact numbers) when present, else by their text, numbers before words.
SORT_JS = """\
document.querySelectorAll("table.sortable").forEach(function (table) {
  table.querySelectorAll("thead th").forEach(function (th, col) {
    th.addEventListener("click", function () {
      var body = table.tBodies[0], rows = Array.prototype.slice.call(body.rows);
      var dir = th.getAttribute("aria-sort") === "ascending" ? -1 : 1;
      table.querySelectorAll("thead th").forEach(function (h) { h.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", dir === 1 ? "ascending" : "descending");
      function key(row) {
        var cell = row.cells[col], raw = cell.getAttribute("data-sort");
        var text = raw !== null ? raw : cell.textContent.trim(), num = parseFloat(text);
        return isNaN(num) || !/^-?[0-9.]/.test(text) ? [1, text.toLowerCase()] : [0, num];
      }
      rows.map(function (r, i) { return [key(r), i, r]; }).sort(function (a, b) {
        if (a[0][0] !== b[0][0]) return a[0][0] - b[0][0];
        if (a[0][1] < b[0][1]) return -dir; if (a[0][1] > b[0][1]) return dir; return a[1] - b[1];
      }).forEach(function (t) { body.appendChild(t[2]); });
    });
  });
});
"""


def html_table(headers: Sequence[str], body: Sequence[Sequence[Any]], *, total: Sequence[Any] | None = None,
               align: Sequence[str] | None = None, sort_keys: Sequence[Sequence[Any]] | None = None,
               caption: str | None = None, sortable: bool = True, raw_html: Sequence[bool] | None = None,
               row_names: Sequence[str] | None = None) -> str:
    """A ``<table class="archcalc">``: numeric columns (``align`` ``"r"``) right-aligned, the
    ``total`` row in ``<tfoot>``, exact values in ``data-sort`` for sorting. Cells are escaped
    unless their column is marked in ``raw_html`` (links). ``row_names``: each body row's layer
    name, as ``data-row`` (the network diagram highlights rows by it)."""
    align = list(align) if align is not None else ["l"] * len(headers)
    raw_html = list(raw_html) if raw_html is not None else [False] * len(headers)

    def cls(i: int) -> str:
        return ' class="num"' if align[i] == "r" else ""

    def cell(i: int, value: Any, tag: str = "td", key: Any = None) -> str:
        text = "" if value is None else (str(value) if raw_html[i] else escape(value))
        sort = f' data-sort="{escape(key)}"' if key is not None else ""
        return f"<{tag}{cls(i)}{sort}>{text}</{tag}>"

    out = [f'<table class="archcalc{" sortable" if sortable else ""}">']
    if caption:
        out.append(f"<caption>{escape(caption)}</caption>")
    out.append("<thead><tr>" + "".join(f'<th{cls(i)} scope="col">{escape(h)}</th>' for i, h in enumerate(headers))
               + "</tr></thead>")
    out.append("<tbody>")
    for r, row in enumerate(body):
        keys = sort_keys[r] if sort_keys is not None else [None] * len(row)
        name = f' data-row="{escape(row_names[r])}"' if row_names is not None else ""
        out.append(f"<tr{name}>" + "".join(cell(i, v, key=keys[i]) for i, v in enumerate(row)) + "</tr>")
    out.append("</tbody>")
    if total is not None:
        out.append("<tfoot><tr>" + "".join(cell(i, v) for i, v in enumerate(total)) + "</tr></tfoot>")
    out.append("</table>")
    return "\n".join(out) + "\n"


def html_page(title: str, body: str, *, script: bool = True, extra_css: str = "", extra_js: str = "") -> str:
    """A complete HTML document around ``body`` (already HTML), with the inline style and script;
    ``extra_css`` and ``extra_js`` are appended to them (the network diagram's)."""
    js = f"<script>\n{SORT_JS}{extra_js}</script>\n" if script else ""
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            f"<title>{escape(title)}</title>\n<style>\n{CSS}{extra_css}</style>\n</head>\n<body>\n{body}{js}"
            "</body>\n</html>\n")
