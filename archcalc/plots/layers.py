"""Per-layer profile: activation memory, parameters and multiply-adds side by side.

The lecture's "AlexNet memory, parameters and MFLOPs" figure: memory sits in the early convs,
parameters in the fully-connected layers, multiply-adds in the convs. :func:`layer_profile`
chooses the rows (pure, testable); :func:`draw_layer_profile` draws them.

Rows: every leaf except the ones that only re-use their input's memory in practice (activations,
batch norm, dropout, flatten); with ``weights_only`` only rows that do multiply-adds (conv,
linear). Deep networks are collapsed to the deepest block level that fits ``max_rows`` rows
(``conv4_x.block3`` becomes one bar); a network with no block structure is binned into runs of
consecutive layers.
"""

from __future__ import annotations

__all__ = ["LayerProfile", "layer_profile", "draw_layer_profile", "HIDDEN_KINDS"]

import math
import textwrap
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Sequence

from ..analysis import Analysis, GroupRow, LayerRow
from ..kinds import KINDS, ROW_KINDS, hidden_in_chart
from ..units import human_bytes, human_count, shape_text

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure
    from matplotlib.text import Text

HIDDEN_KINDS = frozenset(tag for tag in (*KINDS, *ROW_KINDS) if hidden_in_chart(tag))
"""Row types left out of the profile (their cost is small or their memory is shared in practice);
each kind declares it (``hidden_in_chart``)."""

DEFAULT_MAX_ROWS = 40


@dataclass(frozen=True)
class LayerProfile:
    """The bars of one profile, in execution order (top to bottom)."""

    model: str
    labels: tuple[str, ...]
    types: tuple[str, ...]
    activation_bytes: tuple[int, ...]
    params: tuple[int, ...]
    macs: tuple[int, ...]
    total_activation_bytes: int
    total_params: int
    total_macs: int
    dtype: str
    batch_size: int
    input_shape: tuple[int, ...]
    selection: str  # which rows, in words (goes under the title)


def _visible(row: LayerRow | GroupRow, weights_only: bool) -> bool:
    if weights_only:
        return row.macs > 0
    return isinstance(row, GroupRow) or row.type not in HIDDEN_KINDS


def _rows(analysis: Analysis, depth: int | None, weights_only: bool) -> list[LayerRow | GroupRow]:
    return [r for r in analysis.rows_at_depth(depth) if _visible(r, weights_only)]


def _collapsed(rows: Sequence[LayerRow | GroupRow], level: int) -> str:
    example = next((r.name for r in rows if isinstance(r, GroupRow)), None)
    if example is None:
        return f"shown to nesting level {level}"
    return f"each block at nesting level {level} (e.g. {example}) summed into one bar"


def layer_profile(analysis: Analysis, *, depth: int | None = None, weights_only: bool = False,
                  max_rows: int = DEFAULT_MAX_ROWS) -> LayerProfile:
    """Choose and aggregate the rows of a profile (see the module docstring)."""
    what = "only layers with multiply-adds (conv, linear)" if weights_only else \
        "activation, batch-norm, dropout and flatten rows hidden"
    rows = _rows(analysis, depth, weights_only)
    labels = [r.name for r in rows]
    values = [(r.activation_bytes, r.params, r.macs) for r in rows]
    types = [r.type for r in rows]
    selection = what if depth is None else f"{what}; {_collapsed(rows, depth)}"
    if depth is None and len(rows) > max_rows:
        max_depth = max((g.depth for g in analysis.groups), default=-1) + 1
        for level in range(max_depth, 0, -1):
            rows = _rows(analysis, level, weights_only)
            if len(rows) <= max_rows:
                break
        labels = [r.name for r in rows]
        values = [(r.activation_bytes, r.params, r.macs) for r in rows]
        types = [r.type for r in rows]
        selection = f"{what}; {_collapsed(rows, level)}"
        if len(rows) > max_rows:  # no block structure deep enough: bin runs of consecutive rows
            size = math.ceil(len(rows) / max_rows)
            labels, values, types = [], [], []
            for start in range(0, len(rows), size):
                chunk = rows[start:start + size]
                labels.append(chunk[0].name if len(chunk) == 1 else f"{chunk[0].name} .. {chunk[-1].name}")
                values.append(tuple(sum(v) for v in zip(*((r.activation_bytes, r.params, r.macs) for r in chunk))))
                types.append("bin")
            selection = f"{what}; runs of {size} consecutive rows summed into one bar each"
    t = analysis.totals
    return LayerProfile(
        model=analysis.name, labels=tuple(labels), types=tuple(types),
        activation_bytes=tuple(v[0] for v in values), params=tuple(v[1] for v in values),
        macs=tuple(v[2] for v in values), total_activation_bytes=t.activation_bytes,
        total_params=t.params, total_macs=t.macs, dtype=analysis.dtype, batch_size=analysis.batch_size,
        input_shape=analysis.input_shape, selection=selection)


def _top(labels: Sequence[str], values: Sequence[int], total: int) -> str:
    if not total or not values:
        return ""
    i = max(range(len(values)), key=lambda k: values[k])
    return f"largest: {labels[i]} ({100 * values[i] / total:.0f}%)"


_PAD = 3.0  # points around the figure's edges and between parts (as matplotlib's constrained layout)


def _lines_box(text: "Text", renderer: Any) -> Any:
    """The vertical extent of ``text`` (aligned by its top or bottom, not its baseline), measured
    cheaply: matplotlib gives each line the font's ascent and descent or its glyphs', the larger, so
    as many lines of "|" (the tallest and deepest common glyph) span at least its height. For
    its width: :func:`.style.text_width`."""
    content = text.get_text()
    text.set_text("\n".join("|" * (content.count("\n") + 1)))
    box = text.get_window_extent(renderer)
    text.set_text(content)
    return box


def _place_panels(fig: "Figure", axes: Sequence, labels: Sequence[str], suptitle: "Text") -> None:
    """Lay the three panels out from the sizes of the texts around them: the layer names on the
    left, the panel titles and the suptitle above, the tick labels below.

    This is the layout matplotlib's constrained layout found for this figure (a pad of 3 points
    around each part), computed directly: constrained layout draws the whole figure once more on
    every save to measure it, which was a third of the time to make the chart.
    """
    from matplotlib import rcParams

    from .style import text_width

    renderer = fig.canvas.get_renderer()
    pt = 72 / fig.dpi  # display pixels -> points
    fig_w, fig_h = (v * 72 for v in fig.get_size_inches())
    # down: the suptitle at the top, the panel titles under it, the tick labels at the bottom
    suptitle.set_y(1 - _PAD / fig_h)  # top-aligned, a pad below the top edge
    titles_top = fig_h - 2 * _PAD - _lines_box(suptitle, renderer).height * pt
    fig.subplots_adjust(top=titles_top / fig_h)  # to measure how far the titles reach above a panel
    top = titles_top - _PAD - max(_lines_box(ax.title, renderer).y1 * pt - titles_top for ax in axes)
    probe = fig.text(0, 0, "0", fontsize=rcParams["xtick.labelsize"])  # one line of tick labels
    tick_height = probe.get_window_extent(renderer).height * pt
    probe.remove()
    bottom = _PAD + tick_height + rcParams["xtick.major.pad"] + rcParams["xtick.major.size"]
    # across: how far the names reach left of the first panel, and a panel's first tick label left
    # of it; raster output hints glyphs, which may make a text up to ~3 % wider than measured
    def wide(width: float) -> float:
        return width * 1.03 + 2.0

    names = wide(max((text_width(s, rcParams["ytick.labelsize"]) for s in labels), default=0.0))
    names += rcParams["ytick.major.pad"]
    zero = text_width("0", rcParams["xtick.labelsize"]) / 2
    # a title wider than its panel (centred on it) sticks out on both sides, beyond the names or tick
    # labels there; the three panels share what is left. Titles too wide to fit side by side are left
    # to overlap rather than squeeze a panel until its tick labels would run into each other.
    titles = [wide(text_width(ax.title.get_text(), ax.title.get_fontsize())) for ax in axes]
    narrowest = 0.0
    for ax in axes:
        ticks = [t for t in ax.xaxis.get_majorticklocs() if 0 <= t <= ax.get_xlim()[1]]
        texts = ax.xaxis.major.formatter.format_ticks(ticks)
        widths = [wide(text_width(s, rcParams["xtick.labelsize"])) for s in texts]
        for a, b, wa, wb in zip(ticks, ticks[1:], widths, widths[1:]):
            narrowest = max(narrowest, ((wa + wb) / 2 + 2 * _PAD) * ax.get_xlim()[1] / (b - a))

    def margins(panel: float, titles: Sequence[float]) -> tuple[float, float, float, float]:
        out = [max(0.0, (t - panel) / 2) for t in titles]
        return (_PAD + max(names, out[0]), 2 * _PAD + out[0] + max(zero, out[1]),
                2 * _PAD + out[1] + max(zero, out[2]), _PAD + out[2])

    plain = (fig_w - sum(margins(fig_w, titles))) / 3  # as wide as can be: no title sticks out
    lo, hi = 0.0, plain
    for _ in range(40):  # the room taken grows with the panel width: bisect for the widest that fits
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if sum(margins(mid, titles)) + 3 * mid <= fig_w else (lo, mid)
    panel = lo if lo >= min(narrowest, plain) else plain  # else the titles do not fit: let them overlap
    left, gap1, gap2, _right = margins(panel, titles if panel < plain else (0.0, 0.0, 0.0))
    x = left
    for ax, gap in zip(axes, (gap1, gap2, 0.0)):
        ax.set_position((x / fig_w, bottom / fig_h, panel / fig_w, (top - bottom) / fig_h))
        x += panel + gap


def draw_layer_profile(profile: LayerProfile, *, title: str | None = None) -> "Figure":
    """Three bar charts sharing the layer axis: memory, parameters, multiply-adds. Each panel's
    bars are one :class:`~matplotlib.collections.PolyCollection` (``ax.collections[0]``), a
    rectangle per layer in the order of ``profile.labels``; the layer names are texts of the first
    panel aligned right (where y tick labels go), its value labels texts aligned left."""
    from matplotlib import rc_context, rcParams
    from matplotlib.collections import PolyCollection
    from matplotlib.ticker import NullLocator

    from .style import QUANTITY_COLORS, human_axis, new_figure, style

    n = len(profile.labels)
    longest = max((len(s) for s in profile.labels), default=4)
    width = 10.5 + min(longest, 48) * 0.045
    height = 1.6 + 0.24 * max(n, 4)
    panels = (
        ("activation_bytes", "Output memory", profile.activation_bytes, profile.total_activation_bytes, human_bytes),
        ("params", "Parameters", profile.params, profile.total_params, human_count),
        ("macs", "Multiply-adds (MACs)", profile.macs, profile.total_macs, human_count),
    )
    with style(), rc_context({"axes.grid.axis": "x"}):  # grid lines across the bars only
        fig = new_figure(width, height)
        # three panels side by side; only the first one carries the layer names (no sharey: the
        # other two would make, place and draw a hidden tick per layer)
        axes = fig.subplots(1, 3)
        ys = list(range(n))
        for ax, (key, name, values, total, fmt) in zip(axes, panels):
            # the bars as one collection: the same rectangles as ``ax.barh(ys, values, height=0.7)``
            # draws, without a patch object (and its transforms) per bar
            ax.add_collection(PolyCollection(
                [[(0, y - 0.35), (v, y - 0.35), (v, y + 0.35), (0, y + 0.35)] for y, v in zip(ys, values)],
                facecolors=QUANTITY_COLORS[key], edgecolors="none", linewidths=0), autolim=False)
            peak = max(values, default=0) or 1
            ax.set_xlim(0, peak * 1.32)  # room for the value labels
            for y, v in zip(ys, values):
                if v:
                    ax.text(v + peak * 0.015, y, fmt(v), va="center", ha="left", fontsize=7, color="#333333")
            human_axis(ax.xaxis, fmt, peak=peak, binary=key == "activation_bytes")
            # y given: a fixed place (matplotlib would look for tick labels above the panel at every draw);
            # bottom-aligned, so its extent does not depend on the glyphs of its last line
            ax.set_title(f"{name}\ntotal {fmt(total)}; {_top(profile.labels, values, total)}", fontsize=9, y=1.0,
                         va="bottom")
            # no axis labels: fixed places for the empty ones (else every tick label is measured to place them)
            ax.xaxis.set_label_coords(0.5, 0.0)
            ax.yaxis.set_label_coords(0.0, 0.5)
            ax.set_ylim(n - 0.5, -0.5)  # first layer on top
            ax.yaxis.set_major_locator(NullLocator())
        # the layer names left of the first panel, where matplotlib puts y tick labels (as tick labels,
        # each name would cost a whole tick: two marks, a grid line and two labels)
        place, va, ha = axes[0].get_yaxis_text1_transform(rcParams["ytick.major.pad"])
        color = rcParams["ytick.labelcolor"]
        color = rcParams["ytick.color"] if color == "inherit" else color
        for y, label in zip(ys, profile.labels):
            axes[0].text(0, y, label, transform=place, va=va, ha=ha, fontsize=rcParams["ytick.labelsize"],
                         color=color, clip_on=False)
        head = title or f"{profile.model}: memory, parameters and multiply-adds per layer"
        sub = (f"input {shape_text(profile.input_shape)}, batch {profile.batch_size}, {profile.dtype}; "
               f"{profile.selection}")
        sub = "\n".join(textwrap.wrap(sub, width=int(width * 13)))
        suptitle = fig.suptitle(f"{head}\n{sub}", fontsize=10)
        _place_panels(fig, axes, profile.labels, suptitle)
    return fig
