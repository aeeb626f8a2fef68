"""A :class:`~archcalc.diagram.compose.Diagram` drawn with matplotlib (for PNG and PDF).

The same geometry as the SVG, one diagram unit to one point: the figure is ``width / 72`` inches
wide, text sizes are the SVG's pixel sizes in points and DejaVu Sans is the font the boxes were
measured in. matplotlib is imported here only, when a diagram is drawn.
"""

from __future__ import annotations

__all__ = ["draw_diagram", "png_dpi", "MAX_PIXELS"]

from typing import TYPE_CHECKING, Any

from .compose import Diagram
from .content import DETAIL_SIZE, PAD_X, PAD_Y, Text
from .layout import LABEL_GAP, LABEL_Y, TOGGLE, Edge
from .scale import ramp_color
from .svg import EDGE_COLOR

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

MAX_PIXELS = 30_000  # the longest side of a PNG (Agg's limit is 2**16)
ARROW = 7  # arrowhead length and width, as the SVG marker's


def png_dpi(d: Diagram, *, dpi: int = 150) -> int:
    """``dpi``, lowered so that the PNG's longest side stays within :data:`MAX_PIXELS`."""
    longest = max(d.width, d.height) / 72
    return max(1, min(dpi, int(MAX_PIXELS / longest)))


def _text(ax: Any, t: Text, dx: float, dy: float, color: str = "#1b1b1b") -> None:
    ax.text(t.x + dx, t.y + dy, t.text, fontsize=t.size, fontweight="bold" if t.bold else "normal",
            ha="center" if t.anchor == "middle" else "left", va="baseline", color=color, family="DejaVu Sans")


def _edge(ax: Any, e: Edge, dx: float, dy: float) -> None:
    from matplotlib.patches import Polygon

    xs = [x + dx for x, _ in e.points]
    ys = [y + dy for _, y in e.points]
    ax.plot(xs, ys, color=EDGE_COLOR, linewidth=1, solid_capstyle="butt", zorder=1)
    if e.arrow and len(xs) > 1:
        (x0, y0), (x1, y1) = (xs[-2], ys[-2]), (xs[-1], ys[-1])
        ux, uy = (x1 - x0, y1 - y0)
        n = max(abs(ux), abs(uy)) or 1
        ux, uy = ux / n, uy / n
        bx, by = x1 - ux * ARROW, y1 - uy * ARROW
        ax.add_patch(Polygon([(x1, y1), (bx - uy * ARROW / 2, by + ux * ARROW / 2),
                              (bx + uy * ARROW / 2, by - ux * ARROW / 2)], closed=True, facecolor=EDGE_COLOR,
                             edgecolor="none", zorder=1))


def _toggle(ax: Any, x: float, y: float) -> None:
    from matplotlib.patches import Rectangle

    ax.add_patch(Rectangle((x, y), TOGGLE, TOGGLE, facecolor="#ffffff", edgecolor="#6e6e6e", linewidth=1, zorder=4))
    h = TOGGLE / 2
    ax.plot([x + 3, x + TOGGLE - 3], [y + h, y + h], color="#1b1b1b", linewidth=1.4, zorder=5)
    ax.plot([x + h, x + h], [y + 3, y + TOGGLE - 3], color="#1b1b1b", linewidth=1.4, zorder=5)


def draw_diagram(d: Diagram) -> "Figure":
    """The diagram as a matplotlib figure (white background, one unit = one point)."""
    from matplotlib.patches import Circle, FancyBboxPatch, Rectangle

    from ..plots.style import new_figure

    fig = new_figure(d.width / 72, d.height / 72)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, d.width)
    ax.set_ylim(d.height, 0)
    ax.set_axis_off()
    geo = d.geometry
    ox, oy = d.origin
    h = d.header
    for t in h.texts:
        _text(ax, t, ox, ox)
    if h.bar is not None:
        x, y, w, bh = h.bar
        steps = 90
        for i in range(steps):
            ax.add_patch(Rectangle((ox + x + w * i / steps, ox + y), w / steps + 0.05, bh,
                                   facecolor=ramp_color(i / (steps - 1)), edgecolor="none", zorder=2))
        ax.add_patch(Rectangle((ox + x, ox + y), w, bh, facecolor="none", edgecolor="#8c8c8c", linewidth=0.6,
                               zorder=3))
        for tx, y0, y1 in h.ticks:
            ax.plot([ox + tx, ox + tx], [ox + y0, ox + y1], color=EDGE_COLOR, linewidth=1)
    if h.zero is not None:
        x, y, w, zh = h.zero
        ax.add_patch(Rectangle((ox + x, ox + y), w, zh, facecolor="#ffffff", edgecolor="#8c8c8c", linewidth=0.6))
    nodes, edges = d.drawn()
    for e, ex, ey in edges:
        _edge(ax, e, ox + ex, oy + ey)
    for key, x, y in nodes:
        x, y = x + ox, y + oy
        if key in d.unfolded:
            w, fh, fax = geo.frame[key]
            label = d.content.labels[key]
            ax.add_patch(FancyBboxPatch((x, y), w, fh, boxstyle="round,pad=0,rounding_size=4", facecolor="#000000",
                                        alpha=0.03, edgecolor="none", zorder=0))
            ax.add_patch(FancyBboxPatch((x, y), w, fh, boxstyle="round,pad=0,rounding_size=4", facecolor="none",
                                        edgecolor="#a8a8a8", linestyle=(0, (4, 2)), linewidth=1, zorder=0))
            _text(ax, Text(label.text, fax + LABEL_GAP, LABEL_Y, DETAIL_SIZE), x, y, color="#555555")
            continue
        box = d.content.boxes[key]
        folded = box.shape == "block"
        style = dict(facecolor=box.fill, edgecolor="#4d4d4d" if folded else "#8c8c8c", linewidth=1.6 if folded else 1,
                     zorder=2)
        if box.shape == "join":
            ax.add_patch(Circle((x + box.w / 2, y + box.h / 2), box.w / 2, **style))
        else:
            rounding = 9 if box.shape == "chip" else 3
            ax.add_patch(FancyBboxPatch((x, y), box.w, box.h, boxstyle=f"round,pad=0,rounding_size={rounding}",
                                        **style))
        for t in box.texts:
            _text(ax, t, x, y)
        if folded:
            _toggle(ax, x + box.w - PAD_X - TOGGLE, y + PAD_Y)
    return fig

