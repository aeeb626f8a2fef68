"""The shared look of every chart, and saving a figure as PNG, SVG or PDF -- deterministically.

Charts are built on :class:`matplotlib.figure.Figure` directly (never ``pyplot``), so drawing
changes no global state: style settings apply through :func:`matplotlib.rc_context` only while a
figure is built or saved. Figures have an opaque white background, so they read the same in dark
and light viewers. Saved files carry no dates and SVG ids use a fixed salt: the same figure gives
the same bytes on every run (the committed ``reports/`` depend on that).

matplotlib is imported inside functions: importing this module costs nothing.
"""

from __future__ import annotations

__all__ = ["FIGURE_FORMATS", "PALETTE", "FAMILY_MARKERS", "RC", "figure_format", "new_figure", "figure_bytes",
           "svg_text", "style", "human_axis", "tick_text", "family_colors", "darker", "marks_for_minor_ticks",
           "text_width"]

import contextlib
import functools
import io
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, Sequence

from ..errors import ArchcalcError, Location

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

FIGURE_FORMATS = ("png", "svg", "pdf")

# Okabe & Ito's colour-blind-safe palette (minus yellow, too faint on white), then darker
# hues from Paul Tol's schemes: 14 colours, neighbours far apart, all dark enough for text on white.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000",
           "#332288", "#999933", "#882255", "#777777", "#8C510A", "#44AA99", "#117733")
# Nine marker shapes, distinct at 6 pt: 9 and the palette's 14 share no factor, so family i gets
# colour i % 14 and shape i % 9 -- neighbours differ in both, and no two of 126 families look alike.
FAMILY_MARKERS = ("o", "s", "D", "^", "v", "P", "X", "p", "h")

# Quantities keep one colour in every chart.
QUANTITY_COLORS = {"activation_bytes": "#0072B2", "params": "#D55E00", "macs": "#009E73"}

RC: dict[str, Any] = {
    "font.family": "DejaVu Sans",  # bundled with matplotlib: the same text metrics everywhere
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "axes.edgecolor": "#444444",
    "axes.linewidth": 0.8,
    "axes.grid": True,
    "axes.axisbelow": True,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "grid.color": "#dddddd",
    "grid.linewidth": 0.6,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "legend.fontsize": 8,
    "legend.frameon": False,
    "figure.facecolor": "white",
    "savefig.facecolor": "white",
    "savefig.transparent": False,
    "svg.hashsalt": "archcalc",  # deterministic ids in SVG output
    "svg.fonttype": "none",  # text as text (a third of the size); fonts: see _SVG_FONTS
    "pdf.fonttype": 42,
    "path.simplify": True,
}

_SAVE_METADATA = {
    "svg": {"Date": None, "Creator": None},
    "pdf": {"CreationDate": None, "ModDate": None, "Creator": None, "Producer": None},
    "png": {"Software": None},
}


@contextlib.contextmanager
def style() -> Iterator[None]:
    """Apply the archcalc chart style for the duration of a ``with`` block (restored after)."""
    import matplotlib

    with matplotlib.rc_context(RC):
        yield


def figure_format(path: str | Path) -> str:
    """``"out/x.svg" -> "svg"``; an unknown extension is a user error."""
    ext = Path(path).suffix.lower().lstrip(".")
    if ext not in FIGURE_FORMATS:
        raise ArchcalcError(f"cannot tell the image format from the extension (use .{', .'.join(FIGURE_FORMATS)})",
                            Location(file=str(path)))
    return ext


def new_figure(width: float, height: float) -> "Figure":
    """A pyplot-free figure with an Agg canvas (so text can be measured before saving)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    with style():
        fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def figure_bytes(fig: "Figure", fmt: str, *, dpi: int = 150) -> bytes:
    """``fig`` encoded as ``fmt`` (png, svg or pdf) with no dates or tool versions inside."""
    if fmt not in FIGURE_FORMATS:
        raise ValueError(f"unknown figure format {fmt!r}")
    buf = io.BytesIO()
    with style():
        fig.savefig(buf, format=fmt, dpi=dpi, metadata=_SAVE_METADATA[fmt])
    data = buf.getvalue()
    if fmt == "svg":
        data = data.replace(b"font-family: 'DejaVu Sans'", _SVG_FONTS.encode())
    return data


# Text in SVG output names DejaVu Sans (whose metrics laid the chart out) and falls back to
# narrower faces only, so a viewer without DejaVu never makes labels wider than measured.
_SVG_FONTS = "font-family: 'DejaVu Sans', 'Bitstream Vera Sans', Arial, Helvetica, sans-serif"


def svg_text(fig: "Figure") -> str:
    """The figure as an ``<svg>`` element to inline in HTML (XML prolog and DOCTYPE removed)."""
    text = figure_bytes(fig, "svg").decode("utf-8")
    start = text.find("<svg")
    return text[start:].strip() + "\n"


def tick_text(text: str) -> str:
    """``"20.0 M" -> "20 M"``, ``"1.50 MB" -> "1.5 MB"``: tick labels without trailing zeros."""
    return re.sub(r"(\.\d*?)0+(?= |$)", r"\1", text).replace(". ", " ").rstrip(".")


def human_axis(axis: Any, formatter: Callable[[float], str], *, peak: float | None = None, binary: bool = False,
               nbins: int = 4) -> None:
    """A linear axis with round ticks in human units (``200 M``, ``512 KB``).

    With ``peak`` the ticks are placed at round multiples of the unit that ``peak`` is printed in
    (KB/MB steps of 1024 when ``binary``), so a memory axis reads 0, 5 MB, 10 MB, never 14.3 MB.
    """
    from matplotlib.ticker import FixedLocator, FuncFormatter, MaxNLocator

    if peak:
        base = 1024 if binary else 1000
        unit = 1.0
        while peak / (unit * base) >= 1:
            unit *= base
        ticks = MaxNLocator(nbins, steps=[1, 2, 2.5, 5, 10]).tick_values(0, peak / unit)
        axis.set_major_locator(FixedLocator([t * unit for t in ticks if 0 <= t <= peak / unit * 1.0001]))
    axis.set_major_formatter(FuncFormatter(lambda v, _pos: tick_text(formatter(v)) if v else "0"))


@functools.lru_cache(maxsize=None)
def _face(path: str) -> Any:
    from matplotlib.ft2font import FT2Font

    return FT2Font(path)


@functools.lru_cache(maxsize=65536)
def _glyph(path: str, char: str) -> tuple[int, int]:
    from matplotlib.ft2font import LoadFlags

    face = _face(path)
    index = face.get_char_index(ord(char))
    return index, face.load_glyph(index, flags=LoadFlags.NO_SCALE).horiAdvance


@functools.lru_cache(maxsize=65536)
def _kerning(path: str, left: int, right: int) -> int:
    from matplotlib.ft2font import Kerning

    return _face(path).get_kerning(left, right, Kerning.UNSCALED)


def text_width(text: str, size: float) -> float:
    """The width in points of ``text`` (its widest line) at ``size`` points in the chart font,
    unhinted -- as SVG and PDF output lay it out; raster output hints glyphs and may be up to ~3 %
    wider. From glyph advances and kerning, cached per process: matplotlib shapes a whole string on
    every measure, milliseconds for a layer name."""
    from matplotlib.font_manager import FontProperties, findfont

    path = findfont(FontProperties(size=size))
    face = _face(path)
    widest = 0
    for line in text.split("\n"):
        units, before = 0, None
        for char in line:
            index, advance = _glyph(path, char)
            units += advance + (_kerning(path, before, index) if before is not None else 0)
            before = index
        widest = max(widest, units)
    return widest / face.units_per_EM * size


def marks_for_minor_ticks(ax: Any) -> None:
    """Draw ``ax``'s minor tick marks (bottom and left, pointing out: the archcalc style) as one
    marker line per axis, and turn its minor ticks off.

    Call it once the limits, scales and major locators are final. matplotlib makes every minor tick
    a full tick (two marks, a grid line, two labels), updated and drawn one by one: on a log-log
    chart that is some ninety objects and most of the time it takes to save the chart. The marks
    drawn here are the same -- same places, length, width and colour -- in one artist per axis.
    """
    from matplotlib import lines, rcParams
    from matplotlib.ticker import NullLocator

    for axis, name, marker, transform in ((ax.xaxis, "xtick", lines.TICKDOWN, ax.get_xaxis_transform()),
                                          (ax.yaxis, "ytick", lines.TICKLEFT, ax.get_yaxis_transform())):
        if isinstance(axis.get_minor_locator(), NullLocator):
            continue
        scale = axis.get_transform()
        lo, hi = sorted(scale.transform(list(axis.get_view_interval())))
        tol = (hi - lo) * 1e-10  # as matplotlib keeps a tick at the very edge of the view
        # get_minorticklocs leaves out the places of major ticks
        locs = [float(v) for v in axis.get_minorticklocs() if lo - tol <= scale.transform([v])[0] <= hi + tol]
        axis.set_minor_locator(NullLocator())
        if not locs:
            continue
        color = rcParams[f"{name}.color"]
        zeros = [0.0] * len(locs)
        xs, ys = (locs, zeros) if axis is ax.xaxis else (zeros, locs)
        ax.add_line(lines.Line2D(xs, ys, transform=transform, linestyle="none", marker=marker, color=color,
                                 markeredgecolor=color, markersize=rcParams[f"{name}.minor.size"],
                                 markeredgewidth=rcParams[f"{name}.minor.width"], clip_on=False,
                                 zorder=axis.get_zorder()))


def darker(color: str, factor: float = 0.7) -> str:
    """``"#56B4E9"`` scaled towards black: label text in a bubble's colour, readable on white."""
    r, g, b = (int(color[i:i + 2], 16) for i in (1, 3, 5))
    return "#{:02X}{:02X}{:02X}".format(*(round(c * factor) for c in (r, g, b)))


def family_colors(families: Sequence[str]) -> dict[str, tuple[str, str]]:
    """Family -> (colour, marker), assigned in sorted order so every chart of the same families
    agrees; the pair is unique for up to 14 x 9 = 126 families."""
    out = {}
    for i, fam in enumerate(sorted(set(families), key=str.lower)):
        out[fam] = (PALETTE[i % len(PALETTE)], FAMILY_MARKERS[i % len(FAMILY_MARKERS)])
    return out
