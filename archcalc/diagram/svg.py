"""A :class:`~archcalc.diagram.compose.Diagram` as SVG text: nested groups, one per node, placed
in their container's coordinates, so a page can fold and unfold blocks by moving groups.

``interactive=False`` (``archcalc plot graph -o x.svg``, the reports tree's file) draws what is
visible and nothing else. ``interactive=True`` (the HTML page) also draws every folded block's
inside, hidden, and what the page's script needs: ids (``adg-<key>``), each box's analysis row
(``data-row``) and the fold buttons. Output is deterministic; no external references.
"""

from __future__ import annotations

__all__ = ["render_svg", "svg_path", "STYLE", "ARROW_ID", "CLASS"]

from html import escape as _escape

from .compose import Diagram
from .content import DETAIL_SIZE, NAME_SIZE, PAD_X, PAD_Y, Box, Text
from .layout import HEAD, LABEL_GAP, LABEL_Y, PAD, TOGGLE, Edge
from .metrics import FONT_FAMILY
from .scale import RAMP

CLASS = "adg"  # the root element's class; every rule below is scoped to it
ARROW_ID = "adg-arrow"
RAMP_ID = "adg-ramp"
EDGE_COLOR = "#7a7a7a"

STYLE = f"""\
.{CLASS} text {{ font-family: {FONT_FAMILY}; fill: #1b1b1b; }}
.{CLASS} .n {{ font-size: {NAME_SIZE}px; font-weight: bold; }}
.{CLASS} .d {{ font-size: {DETAIL_SIZE}px; }}
.{CLASS} .lbl {{ font-size: {DETAIL_SIZE}px; fill: #555555; }}
.{CLASS} .e {{ fill: none; stroke: {EDGE_COLOR}; stroke-width: 1; }}
.{CLASS} .a {{ marker-end: url(#{ARROW_ID}); }}
.{CLASS} .bx {{ stroke: #8c8c8c; stroke-width: 1; }}
.{CLASS} .blk > .fold > .bx {{ stroke: #4d4d4d; stroke-width: 1.6; }}
.{CLASS} .frame {{ fill: #000000; fill-opacity: 0.03; stroke: #a8a8a8; stroke-dasharray: 4 2; }}
.{CLASS} .tgl rect {{ fill: #ffffff; stroke: #6e6e6e; }}
.{CLASS} .tgl path {{ stroke: #1b1b1b; stroke-width: 1.4; }}
.{CLASS} .hl > .bx, .{CLASS} .hl > .frame {{ stroke: #0060a0; stroke-width: 3; stroke-dasharray: none; }}
.{CLASS} .sel > .bx, .{CLASS} .sel > .frame {{ stroke: #d0006f; stroke-width: 3; stroke-dasharray: none; }}
.{CLASS} .blk.open > .fold, .{CLASS} .blk:not(.open) > .open {{ display: none; }}
.{CLASS} .tgl {{ cursor: pointer; }}
"""


def _num(v: float) -> str:
    """A coordinate as the page's script writes it: whole numbers bare, else at most 2 decimals."""
    if float(v).is_integer():
        return str(int(v))
    return f"{v:.2f}".rstrip("0").rstrip(".")


def svg_path(edge: Edge) -> str:
    """``M x y L x y ...`` of an edge."""
    (x0, y0), *rest = edge.points
    return f"M{_num(x0)} {_num(y0)}" + "".join(f"L{_num(x)} {_num(y)}" for x, y in rest)


def _esc(text: str) -> str:
    return _escape(text, quote=True)


def _text(t: Text, dx: float = 0, dy: float = 0, cls: str | None = None) -> str:
    if cls is None:
        cls = "n" if t.bold and t.size == NAME_SIZE else "d" if not t.bold and t.size == DETAIL_SIZE else None
    attrs = f' class="{cls}"' if cls else f' font-size="{t.size}"' + (' font-weight="bold"' if t.bold else "")
    anchor = ' text-anchor="middle"' if t.anchor == "middle" else ""
    return f'<text x="{_num(t.x + dx)}" y="{_num(t.y + dy)}"{attrs}{anchor}>{_esc(t.text)}</text>'


def _toggle(x: int, y: int, *, plus: bool) -> str:
    h = TOGGLE // 2
    bar = f"M3 {h}H{TOGGLE - 3}" + (f"M{h} 3V{TOGGLE - 3}" if plus else "")
    return (f'<g class="tgl" transform="translate({x},{y})" role="button" tabindex="0" '
            f'aria-label="{"unfold" if plus else "fold"}"><rect width="{TOGGLE}" height="{TOGGLE}" rx="2"/>'
            f'<path d="{bar}"/></g>')


def _box(box: Box, *, toggle: bool, tip: bool) -> list[str]:
    out = [f"<title>{_esc(box.tip)}</title>"] if tip else []
    if box.shape == "join":
        r = box.w / 2
        out.append(f'<circle class="bx" cx="{_num(r)}" cy="{_num(r)}" r="{_num(r)}" fill="{box.fill}"/>')
    else:
        rx = 9 if box.shape == "chip" else 3
        out.append(f'<rect class="bx" width="{box.w}" height="{box.h}" rx="{rx}" fill="{box.fill}"/>')
    out.extend(_text(t) for t in box.texts)
    if box.shape == "block" and toggle:
        out.append(_toggle(box.w - PAD_X - TOGGLE, PAD_Y, plus=True))
    return out


class _Writer:
    def __init__(self, d: Diagram, interactive: bool):
        self.d = d
        self.interactive = interactive
        self.geo = d.geometry
        self.kids: dict[str, list[str]] = {}
        for key, outer in self.geo.container.items():
            self.kids.setdefault(outer, []).append(key)

    def container(self, key: str) -> list[str]:
        out = ['<g class="edges">']
        out.extend(f'<path class="{"e a" if e.arrow else "e"}" d="{svg_path(e)}"/>'
                   for e in self.geo.edges.get(key, []))
        out.append("</g>")
        for child in self.kids.get(key, []):
            out.extend(self.node(child))
        return out

    def node(self, key: str) -> list[str]:
        x, y = self.geo.place[key]
        box = self.d.content.boxes[key]
        ident = f' id="adg-{key}"' if self.interactive else ""
        row = f' data-row="{_esc(box.row)}"' if self.interactive and box.row else ""
        move = f' transform="translate({x},{y})"'
        if box.shape != "block":
            return [f'<g class="nd"{ident}{row}{move}>', *_box(box, toggle=False, tip=not self.interactive), "</g>"]
        unfolded = key in self.d.unfolded
        out = [f'<g class="nd blk{" open" if unfolded else ""}"{ident}{row}{move}>']
        if self.interactive or not unfolded:
            out += ['<g class="fold">', *_box(box, toggle=True, tip=not self.interactive), "</g>"]
        if unfolded:
            w, h, ax = self.geo.frame[key]
            label = self.d.content.labels[key]
            bx, by = self.geo.body[key]
            out += ['<g class="open">'] + ([] if self.interactive else [f"<title>{_esc(label.tip)}</title>"])
            out.append(f'<rect class="frame" width="{w}" height="{h}" rx="4"/>')
            if self.interactive:
                out.append(_toggle(PAD, (HEAD - TOGGLE) // 2, plus=False))
            out.append(f'<text class="lbl" x="{ax + LABEL_GAP}" y="{LABEL_Y}">{_esc(label.text)}</text>')
            out += [f'<g class="body" transform="translate({bx},{by})">', *self.container(key), "</g>", "</g>"]
        out.append("</g>")
        return out


def _header(d: Diagram) -> list[str]:
    h = d.header
    out = ['<g class="hdr">']
    if h.bar is not None:
        x, y, w, bh = h.bar
        out.append(f'<rect x="{x}" y="{y}" width="{w}" height="{bh}" fill="url(#{RAMP_ID})" stroke="#8c8c8c" '
                   'stroke-width="0.6"/>')
        out.extend(f'<path class="e" d="M{_num(tx)} {y0}V{y1}"/>' for tx, y0, y1 in h.ticks)
    if h.zero is not None:
        x, y, w, zh = h.zero
        out.append(f'<rect x="{x}" y="{y}" width="{w}" height="{zh}" fill="#ffffff" stroke="#8c8c8c" '
                   'stroke-width="0.6"/>')
    out.extend(_text(t) for t in h.texts)
    out.append("</g>")
    return out


def render_svg(d: Diagram, *, interactive: bool = False) -> str:
    """The ``<svg>`` element (no XML prolog; see :func:`archcalc.site.pages.standalone`)."""
    ox, oy = d.origin
    stops = "".join(f'<stop offset="{_num(round(i / (len(RAMP) - 1), 4))}" stop-color="{c}"/>'
                    for i, c in enumerate(RAMP))
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="{CLASS}" width="{d.width}" height="{d.height}" '
           f'viewBox="0 0 {d.width} {d.height}" role="img" aria-label="{_esc(d.name)}: network diagram">',
           f"<style>\n{STYLE}</style>",
           f'<defs><marker id="{ARROW_ID}" viewBox="0 0 10 10" refX="10" refY="5" markerUnits="userSpaceOnUse" '
           f'markerWidth="7" markerHeight="7" orient="auto"><path d="M0 0L10 5L0 10z" fill="{EDGE_COLOR}"/></marker>'
           f'<linearGradient id="{RAMP_ID}">{stops}</linearGradient></defs>',
           '<rect class="bg" width="100%" height="100%" fill="#ffffff"/>',
           f'<g transform="translate({ox},{ox})">']
    out.extend(_header(d))
    out.append("</g>")
    out.append(f'<g class="net" transform="translate({ox},{oy})">')
    out.extend(_Writer(d, interactive).container("root"))
    out.append("</g>")
    out.append("</svg>")
    return "\n".join(out) + "\n"
