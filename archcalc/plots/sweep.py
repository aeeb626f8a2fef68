"""``archcalc plot sweep``: a sweep's points, one cost against another, with the Pareto front.

Accuracy is not known for a design space, so the chart sets two static quantities against each other
(default: multiply-adds against parameters) and draws the Pareto front of the kind asked for:
``upper`` (default) the points no other point beats with at most their ``x`` and at least their
``y`` -- the largest models at each compute budget --, ``lower`` the points with the least ``y`` for
their ``x`` (e.g. the smallest live memory at each budget), ``none``. Points are coloured by one
column (default: the sweep's first axis). Error rows are counted in the caption, not drawn.
"""

from __future__ import annotations

__all__ = ["SweepChart", "sweep_chart", "draw_sweep", "pareto_indices", "QUANTITIES", "FRONTS"]

import json
import math
import random
from dataclasses import dataclass
from pathlib import PurePath
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from ..errors import Location, UsageError
from .accuracy import pareto_front

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

QUANTITIES = {"macs": "Multiply-adds (MACs)", "params": "Parameters", "ops": "Other ops",
              "activation_bytes": "Output memory (bytes)", "peak_activation_bytes": "Live peak (bytes)",
              "saved_bytes": "Saved for backward (bytes)", "receptive_field": "Receptive field (pixels)",
              "pooling_ops": "Pooling ops", "output_elements": "Output elements"}
FRONTS = ("upper", "lower", "none")
_BYTES = {"activation_bytes", "peak_activation_bytes", "saved_bytes"}
_CATEGORICAL_MAX = 10


@dataclass(frozen=True)
class SweepChart:
    """The data of the chart: ``xs``/``ys`` of the analyzed points, their ``colors`` values, and the
    indices (into ``xs``) of the Pareto ``front``, by increasing ``x``."""

    x: str
    y: str
    color: str | None
    xs: tuple[float, ...]
    ys: tuple[float, ...]
    colors: tuple[Any, ...]
    front: tuple[int, ...]
    front_kind: str
    errors: int
    spec: str | None = None
    points: int | None = None


def pareto_indices(xs: Sequence[float], ys: Sequence[float], kind: str) -> list[int]:
    """The Pareto front by increasing ``x``: ``upper`` maximizes ``y``, ``lower`` minimizes it (both
    minimize ``x``)."""
    if kind == "none":
        return []
    if kind == "upper":
        return pareto_front(xs, ys)
    return pareto_front(xs, [-y for y in ys])


def _definition(metadata: Mapping[bytes, bytes] | None) -> dict[str, Any]:
    try:
        return json.loads((metadata or {})[b"archcalc.sweep"])["definition"]
    except (KeyError, ValueError, TypeError):
        return {}


def sweep_chart(columns: Mapping[str, Sequence[Any]], *, x: str = "macs", y: str = "params", color: str | None = None,
                front: str = "upper", definition: Mapping[str, Any] | None = None) -> SweepChart:
    """The chart of a results table (column -> values, as :func:`archcalc.sweep.read_results` returns)."""
    for option, name in (("--x", x), ("--y", y)):
        if name not in columns:
            raise UsageError(f"no column {name!r} in these results", Location(file=option),
                             hint=f"choose one of {', '.join(n for n in QUANTITIES if n in columns)}")
    if front not in FRONTS:
        raise UsageError(f"unknown front {front!r}; choose {', '.join(FRONTS)}", Location(file="--front"))
    names = list(columns)
    axes = names[names.index("point") + 1:names.index("error")] if "point" in names and "error" in names else []
    if color is None:
        color = axes[0] if axes else None
    elif color not in columns:
        raise UsageError(f"no column {color!r} in these results", Location(file="--color"),
                         hint=f"the axes are {', '.join(axes) or 'none'}; or a total such as macs")
    errors = columns.get("error", [None] * len(columns[x]))
    keep = [i for i in range(len(columns[x])) if not errors[i] and columns[x][i] is not None
            and columns[y][i] is not None]
    xs = tuple(float(columns[x][i]) for i in keep)
    ys = tuple(float(columns[y][i]) for i in keep)
    colors = tuple(columns[color][i] for i in keep) if color else ()
    spec = (definition or {}).get("spec") or None
    size = None
    if definition:
        size = definition.get("samples")
        if size is None and definition.get("axes"):
            size = math.prod(len(a.get("values") or ()) for a in definition["axes"])
    return SweepChart(x=x, y=y, color=color, xs=xs, ys=ys, colors=colors, front=tuple(pareto_indices(xs, ys, front)),
                      front_kind=front, errors=sum(1 for e in errors if e), spec=spec, points=size)


def _numeric(values: Sequence[Any]) -> bool:
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)


def _log(values: Sequence[float]) -> bool:
    low = min(values)
    return low > 0 and max(values) / low > 8


def _binary_ticks(low: float, high: float) -> Any:
    """Round ticks in the binary unit the top value is printed in (12 MB, 14 MB, never 13.4 MB)."""
    from matplotlib.ticker import FixedLocator, MaxNLocator

    unit = 1.0
    while high / (unit * 1024) >= 1:
        unit *= 1024
    ticks = MaxNLocator(6, steps=[1, 2, 2.5, 5, 10]).tick_values(low / unit, high / unit)
    return FixedLocator([t * unit for t in ticks])


def draw_sweep(chart: SweepChart, *, title: str | None = None) -> "Figure":
    """A scatter of the points (coloured by ``chart.color``), the front as a dashed staircase, a caption."""
    from matplotlib.lines import Line2D
    from matplotlib.ticker import LogLocator, NullFormatter

    from ..units import human_bytes, human_count
    from .style import PALETTE, human_axis, new_figure, style, tick_text

    n = len(chart.xs)
    with style():
        fig = new_figure(9.0, 6.2)
        ax = fig.add_axes((0.09, 0.15, 0.70, 0.74))
        what = f"{QUANTITIES.get(chart.y, chart.y)} vs {QUANTITIES.get(chart.x, chart.x).lower()}"
        spec = PurePath(chart.spec).name if chart.spec else ""
        ax.set_title(title or f"Design-space sweep{': ' + spec if spec else ''}", loc="left",
                     fontsize=11, pad=18)
        ax.annotate(what + f", {n:,} points", (0, 1), xycoords="axes fraction", xytext=(0, 5),
                    textcoords="offset points", fontsize=8, color="#444444", va="bottom", ha="left")
        ax.set_xlabel(QUANTITIES.get(chart.x, chart.x))
        ax.set_ylabel(QUANTITIES.get(chart.y, chart.y))
        left_out = []
        if chart.errors:
            left_out.append(f"{chart.errors:,} error rows")
        if chart.points is not None and chart.points > n + chart.errors:
            left_out.append(f"{chart.points - n - chart.errors:,} points left out by --where")
        front_words = {"upper": f"most {chart.y} for their {chart.x}", "lower": f"least {chart.y} for their {chart.x}"}
        caption = f"{n:,} analyzed points" + (f" ({', '.join(left_out)} not drawn)" if left_out else "")
        if chart.front_kind != "none":
            count = len(chart.front)
            caption += f"; Pareto front: {count:,} point{'s' if count != 1 else ''} ({front_words[chart.front_kind]})"
        fig.text(0.09, 0.02, caption, fontsize=7.5, color="#444444", ha="left", va="bottom")
        if not n:
            ax.text(0.5, 0.5, "no analyzed point to draw", transform=ax.transAxes, ha="center")
            return fig
        size = max(2.0, min(30.0, 6000.0 / n))
        raster = n > 2000
        handles: list[Any] = []
        colorbar = False
        distinct = sorted(set(chart.colors), key=lambda v: (str(type(v)), v)) if chart.colors else []
        if chart.colors and _numeric(chart.colors) and len(distinct) > _CATEGORICAL_MAX:
            sc = ax.scatter(chart.xs, chart.ys, c=[float(v) for v in chart.colors], cmap="viridis", s=size,
                            linewidths=0, alpha=0.8, rasterized=raster, zorder=2)
            bar = fig.colorbar(sc, ax=ax, fraction=0.05, pad=0.02)
            bar.set_label(chart.color)
            colorbar = True
        elif chart.colors:
            look = {value: PALETTE[k % len(PALETTE)] for k, value in enumerate(distinct)}
            order = list(range(n))
            random.Random(0).shuffle(order)  # one layer in a fixed mixed order: no category hides the others
            ax.scatter([chart.xs[i] for i in order], [chart.ys[i] for i in order], s=size, linewidths=0, alpha=0.8,
                       color=[look[chart.colors[i]] for i in order], rasterized=raster, zorder=2)
            handles.extend(Line2D([], [], marker="o", linestyle="", markersize=5, color=look[value],
                                  label=f"{chart.color} = {value}") for value in distinct)
        else:
            ax.scatter(chart.xs, chart.ys, s=size, linewidths=0, alpha=0.8, color=PALETTE[0], rasterized=raster,
                       zorder=2)
        if chart.front:
            fx = [chart.xs[i] for i in chart.front]
            fy = [chart.ys[i] for i in chart.front]
            ax.step(fx, fy, where="post" if chart.front_kind == "upper" else "pre", color="#222222",
                    linestyle="--", linewidth=1.1, zorder=3)
            ax.scatter(fx, fy, s=max(size * 2.5, 14), facecolors="none", edgecolors="#222222", linewidths=0.9,
                       zorder=4)
            handles.append(Line2D([], [], color="#222222", linestyle="--", marker="o", markerfacecolor="none",
                                  label="Pareto front"))
        for axis, values, name in ((ax.xaxis, chart.xs, chart.x), (ax.yaxis, chart.ys, chart.y)):
            fmt = human_bytes if name in _BYTES else human_count
            if _log(values):
                (ax.set_xscale if axis is ax.xaxis else ax.set_yscale)("log")
                axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
                axis.set_minor_formatter(NullFormatter())
                human_axis(axis, lambda v, f=fmt: tick_text(f(v)))
            else:
                if name in _BYTES:
                    axis.set_major_locator(_binary_ticks(min(values), max(values)))
                human_axis(axis, lambda v, f=fmt: tick_text(f(v)))
        if handles and colorbar:
            ax.legend(handles=handles, loc="lower right")
        elif handles:
            ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0)
    return fig
