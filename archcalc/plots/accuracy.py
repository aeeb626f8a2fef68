"""Accuracy against cost across the zoo: one labelled bubble per spec, the Pareto frontier drawn.

Accuracy is read from each spec's ``accuracy:`` list (ImageNet entries only): ``top1``, else
``100 - top1_error`` (the same for top-5). A single-crop entry is preferred over an unknown
protocol, and both over multi-crop (10-crop, 144-crop, multi-scale); among equals the first
listed wins. Points whose protocol is not single-crop are marked with a dagger. Costs are
archcalc's static counts at each spec's own input size.
"""

from __future__ import annotations

__all__ = ["AccuracyPoint", "AccuracyChart", "accuracy_chart", "accuracy_point", "chart_of_points",
           "select_accuracy", "protocol_rank", "pareto_front", "draw_accuracy", "X_AXES", "Y_METRICS"]

import math
import re
import textwrap
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable, Sequence

from ..analysis import Totals, analyze
from ..spec import Accuracy, Spec
from ..units import human_count

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

X_AXES = {"macs": "Multiply-adds per image (MACs, log scale)", "params": "Parameters (log scale)"}
Y_METRICS = {"top1": "top-1", "top5": "top-5"}
MULTI_CROP_MARK = "\u2020"  # dagger


@dataclass(frozen=True)
class AccuracyPoint:
    name: str
    family: str
    path: str
    macs: int
    params: int
    accuracy: float  # percent
    protocol: str
    single_crop: bool
    source: str
    year: int | None = None

    def cost(self, axis: str) -> int:
        return self.macs if axis == "macs" else self.params


@dataclass(frozen=True)
class AccuracyChart:
    points: tuple[AccuracyPoint, ...]
    x: str  # "macs" or "params"
    y: str  # "top1" or "top5"
    frontier: tuple[int, ...]  # indices into points, increasing cost
    excluded: tuple[tuple[str, str], ...]  # (spec name, why)
    families: tuple[str, ...] = ()


def protocol_rank(protocol: str | None) -> int:
    """0 single crop, 1 unknown, 2 multi-crop / multi-scale (lower is preferred)."""
    if not protocol:
        return 1
    p = protocol.lower()
    # "10-crop", "144 crops" count crops; "single 224 crop" names a resolution (>= 160)
    crops = [int(n) for n in re.findall(r"(\d+)[\s-]*crops?\b", p)]
    if any(1 < n < 160 for n in crops) or re.search(r"multi[\s-]*(crop|scale)|dense|fully[\s-]*conv", p):
        return 2
    if re.search(r"single[\s-]*(\d+[\s-]*)?crop|\b1[\s-]*crop|cent(er|re)[\s-]*crop|one crop", p):
        return 0
    return 1


def _imagenet(entry: Accuracy) -> bool:
    d = entry.dataset.lower()
    return "imagenet" in d or "ilsvrc" in d


def _value(entry: Accuracy, metric: str) -> float | None:
    direct, error = (entry.top1, entry.top1_error) if metric == "top1" else (entry.top5, entry.top5_error)
    if direct is not None:
        return float(direct)
    if error is not None:
        return round(100.0 - float(error), 6)
    return None


def select_accuracy(entries: Iterable[Accuracy], metric: str = "top1") -> tuple[float, Accuracy] | None:
    """The ImageNet figure to plot for ``metric`` (see the module docstring), or None."""
    best: tuple[int, int, float, Accuracy] | None = None
    for order, entry in enumerate(entries):
        if not _imagenet(entry):
            continue
        value = _value(entry, metric)
        if value is None:
            continue
        key = (protocol_rank(entry.protocol), order)
        if best is None or key < best[:2]:
            best = (*key, value, entry)
    return None if best is None else (best[2], best[3])


def pareto_front(costs: Sequence[float], values: Sequence[float]) -> list[int]:
    """Indices of the points no other point beats (cheaper or equal *and* at least as accurate,
    strictly better in one), by increasing cost."""
    order = sorted(range(len(costs)), key=lambda i: (costs[i], -values[i]))
    front, best = [], -math.inf
    for i in order:
        if values[i] > best:
            front.append(i)
            best = values[i]
    return front


def accuracy_point(spec: Spec, *, y: str = "top1", totals: Totals | None = None) -> AccuracyPoint | None:
    """The chart's point of ``spec`` (None when it has no ImageNet ``y`` figure); ``totals`` are
    its static counts when already analyzed (``analyze(spec).totals``)."""
    chosen = select_accuracy(spec.accuracy, y)
    if chosen is None:
        return None
    value, entry = chosen
    t = totals if totals is not None else analyze(spec).totals
    return AccuracyPoint(
        name=spec.name, family=spec.family or "other", path=str(spec.path or ""), macs=t.macs, params=t.params,
        accuracy=value, protocol=entry.protocol or "protocol not recorded",
        single_crop=protocol_rank(entry.protocol) == 0, source=entry.source, year=spec.document.year)


def chart_of_points(points: Iterable[AccuracyPoint], *, x: str = "macs", y: str = "top1",
                    excluded: Iterable[tuple[str, str]] = (), families: Sequence[str] = ()) -> AccuracyChart:
    """The chart of points already made (:func:`accuracy_point`): sorted by cost, frontier marked."""
    if x not in X_AXES:
        raise ValueError(f"x must be one of {', '.join(X_AXES)}")
    if y not in Y_METRICS:
        raise ValueError(f"y must be one of {', '.join(Y_METRICS)}")
    ordered = sorted(points, key=lambda p: (p.cost(x), p.name))
    front = pareto_front([p.cost(x) for p in ordered], [p.accuracy for p in ordered])
    return AccuracyChart(points=tuple(ordered), x=x, y=y, frontier=tuple(front), excluded=tuple(excluded),
                         families=tuple(families))


def accuracy_chart(specs: Sequence[Spec], *, x: str = "macs", y: str = "top1",
                   families: Sequence[str] | None = None) -> AccuracyChart:
    """The plotted data: one point per spec with an ImageNet ``y`` figure (others are listed in
    ``excluded`` with the reason)."""
    if x not in X_AXES:
        raise ValueError(f"x must be one of {', '.join(X_AXES)}")
    if y not in Y_METRICS:
        raise ValueError(f"y must be one of {', '.join(Y_METRICS)}")
    wanted = {f.lower() for f in families} if families else None
    points: list[AccuracyPoint] = []
    excluded: list[tuple[str, str]] = []
    for spec in specs:
        if wanted is not None and (spec.family or "other").lower() not in wanted:
            continue
        point = accuracy_point(spec, y=y)
        if point is None:
            excluded.append((spec.name, f"no ImageNet {Y_METRICS[y]} figure in accuracy:"))
        else:
            points.append(point)
    return chart_of_points(points, x=x, y=y, excluded=excluded, families=sorted(wanted) if wanted else ())


def label_text(point: AccuracyPoint) -> str:
    return point.name + ("" if point.single_crop else MULTI_CROP_MARK)


def caption(chart: AccuracyChart) -> str:
    """Where every number comes from, in words (drawn under the chart; also used by reports)."""
    metric = Y_METRICS[chart.y]
    multi = [p for p in chart.points if not p.single_crop]
    size = "parameters" if chart.x == "macs" else "multiply-adds"
    text = (f"ImageNet validation {metric} accuracy from each spec's accuracy: list, single-crop figures "
            f"preferred" + (f"; {MULTI_CROP_MARK} = no single-crop figure recorded, another protocol is shown "
                            f"(10-crop, dense or unstated; see the reports)" if multi else "")
            + f". Cost: archcalc static count from specs/*.yaml at each spec's own input size "
            f"(1 MAC = 1 multiply-accumulate = 2 FLOPs). Bubble area is proportional to {size}. "
            f"Dashed: Pareto frontier.")
    groups: dict[str, list[str]] = {}
    for p in chart.points:
        groups.setdefault(source_key(p.source), []).append(p.name + ("" if p.single_crop else MULTI_CROP_MARK))
    cited = "; ".join(f"{key}: {', '.join(names)}" for key, names in sorted(groups.items(), key=lambda kv: kv[0].lower()))
    return text + f" Accuracy sources (exact table per model in the reports): {cited}."


def source_key(source: str) -> str:
    """A short citation for grouping: ``"He et al. 2016 Table 3" -> "He et al. 2016"``,
    ``"torchvision ResNet50_Weights.IMAGENET1K_V1" -> "torchvision weights"``,
    ``"'Network Structures' lecture slides (2018), NIN table" -> "'Network Structures' lecture slides"``."""
    if source.lower().startswith("torchvision"):
        return "torchvision weights"
    m = re.match(r"^(.*?\b(?:19|20)\d\d)\b", source)
    slides = source.find("slides")
    if 0 < slides <= 60 and (m is None or slides < len(m.group(1))):
        return source[:slides + len("slides")]
    if m and len(m.group(1)) <= 40:
        return m.group(1)
    words = re.split(r"[\s,(]+", source)
    return " ".join(words[:3])


def draw_accuracy(chart: AccuracyChart, *, title: str | None = None, width: float = 12.0) -> "Figure":
    """The bubble chart with non-overlapping labels, frontier, family legend and caption."""
    from matplotlib.lines import Line2D
    from matplotlib.ticker import LogLocator, NullFormatter

    from .labels import Box, place_labels
    from .style import darker, family_colors, human_axis, new_figure, style, tick_text

    pts = chart.points
    metric = Y_METRICS[chart.y]
    cap = "\n".join(textwrap.wrap(caption(chart), width=int(width * 17.5)))
    cap_lines = cap.count("\n") + 1
    plot_h = 8.4
    cap_h = 0.1 + cap_lines * 0.125
    height = plot_h + cap_h
    with style():
        fig = new_figure(width, height)
        ax = fig.add_axes((0.065, (cap_h + 0.6) / height, 0.74, (plot_h - 1.0) / height))
        head = title or f"ImageNet {metric} accuracy vs {'multiply-adds' if chart.x == 'macs' else 'parameters'}"
        shown = sorted({p.family for p in pts}, key=str.lower)
        ax.set_title(head + (f" ({', '.join(shown)})" if chart.families else ""), fontsize=11, loc="left")
        ax.set_xscale("log")
        ax.set_xlabel(X_AXES[chart.x])
        ax.set_ylabel(f"{metric} accuracy (%)")
        fig.text(0.065, 0.012, cap, fontsize=6.5, color="#444444", va="bottom", ha="left", linespacing=1.3)
        if not pts:
            ax.text(0.5, 0.5, "no spec has an ImageNet accuracy figure", transform=ax.transAxes, ha="center")
            return fig
        colors = family_colors([p.family for p in pts])
        xs = [p.cost(chart.x) for p in pts]
        ys = [p.accuracy for p in pts]
        size_of = [p.params if chart.x == "macs" else p.macs for p in pts]
        biggest = max(size_of) or 1
        areas = [max(900.0 * s / biggest, 1.0) for s in size_of]  # pt^2, proportional to size
        # limits with room for the biggest bubbles and labels
        lx = [math.log10(v) for v in xs]
        span_x = max(max(lx) - min(lx), 0.5)
        ax.set_xlim(10 ** (min(lx) - 0.12 * span_x), 10 ** (max(lx) + 0.12 * span_x))
        span_y = max(max(ys) - min(ys), 2.0)
        ax.set_ylim(min(ys) - 0.10 * span_y, max(ys) + 0.10 * span_y)
        ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        human_axis(ax.xaxis, lambda v: tick_text(human_count(v)))
        ax.xaxis.set_minor_formatter(NullFormatter())
        for fam in sorted(colors, key=str.lower):
            idx = [i for i, p in enumerate(pts) if p.family == fam]
            ax.scatter([xs[i] for i in idx], [ys[i] for i in idx], s=[areas[i] for i in idx], color=colors[fam][0],
                       alpha=0.45, edgecolors=colors[fam][0], linewidths=0.9, zorder=3, label=fam)
        front = list(chart.frontier)
        if len(front) > 1:
            ax.step([xs[i] for i in front], [ys[i] for i in front], where="post", color="#555555",
                    linestyle="--", linewidth=1.0, zorder=2)
        # labels: measure, place in pixels, convert back to data coordinates
        renderer = fig.canvas.get_renderer()
        texts = [ax.text(xs[i], ys[i], label_text(p), fontsize=7, color=darker(colors[p.family][0]), ha="center",
                         va="center", zorder=5) for i, p in enumerate(pts)]
        sizes = []
        for t in texts:
            bb = t.get_window_extent(renderer)
            sizes.append((bb.width + 2, bb.height + 1))
        to_px = ax.transData
        anchors = [tuple(to_px.transform((xs[i], ys[i]))) for i in range(len(pts))]
        radii = [math.sqrt(a / math.pi) * fig.dpi / 72 for a in areas]
        frame = ax.get_window_extent(renderer)
        bounds = Box(frame.x0 + 2, frame.y0 + 2, frame.x1 - 2, frame.y1 - 2)
        in_front = set(front)
        order = sorted(range(len(pts)), key=lambda i: (i not in in_front, -radii[i], -ys[i], xs[i]))
        obstacles = []
        if len(front) > 1:  # keep labels off the frontier's steps
            corners = []
            for a, b in zip(front, front[1:]):
                corners += [(xs[a], ys[a]), (xs[b], ys[a])]
            corners.append((xs[front[-1]], ys[front[-1]]))
            px = [to_px.transform(c) for c in corners]
            for (x0, y0), (x1, y1) in zip(px, px[1:]):
                obstacles.append(Box(min(x0, x1) - 1.5, min(y0, y1) - 1.5, max(x0, x1) + 1.5, max(y0, y1) + 1.5))
        placed = place_labels([anchors[i] for i in order], [sizes[i] for i in order], bounds=bounds,
                              radii=[radii[i] for i in order], obstacles=obstacles)
        inverse = to_px.inverted()
        for k, i in enumerate(order):
            box = placed[k]
            cx, cy = (box.x0 + box.x1) / 2, (box.y0 + box.y1) / 2
            texts[i].set_position(tuple(inverse.transform((cx, cy))))
            ax_, ay_ = anchors[i]
            dist = math.hypot(cx - ax_, cy - ay_)
            if dist - max(box.width, box.height) / 2 > radii[i] + 8:  # far from its bubble: draw a leader
                nx = min(max(ax_, box.x0), box.x1)
                ny = min(max(ay_, box.y0), box.y1)
                start = inverse.transform((nx, ny))
                ax.annotate("", xy=(xs[i], ys[i]), xytext=tuple(start), zorder=4,
                            arrowprops=dict(arrowstyle="-", color="#888888", linewidth=0.6, shrinkA=0,
                                            shrinkB=radii[i] * 72 / fig.dpi * 0.9))
        # legends outside the axes: families, frontier, bubble sizes
        handles = [Line2D([], [], marker="o", linestyle="", markersize=7, markerfacecolor=colors[f][0],
                          markeredgecolor=colors[f][0], alpha=0.6, label=f) for f in sorted(colors, key=str.lower)]
        handles.append(Line2D([], [], color="#555555", linestyle="--", label="Pareto frontier"))
        leg = ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), title="Family",
                        alignment="left")
        ax.add_artist(leg)
        size_name = "params" if chart.x == "macs" else "MACs"
        refs = _round_sizes(biggest)
        size_handles = [ax.scatter([], [], s=900.0 * r / biggest, color="#bbbbbb", edgecolors="#777777",
                                   label=f"{tick_text(human_count(r))} {size_name}") for r in refs]
        ax.legend(handles=size_handles, loc="lower left", bbox_to_anchor=(1.01, 0.0), title="Bubble area",
                  labelspacing=2.2, borderpad=1.0, handletextpad=2.2, alignment="left")
    return fig


def _round_sizes(biggest: float) -> list[float]:
    """Three round reference sizes for the bubble legend (largest <= ``biggest``)."""
    top = 10 ** math.floor(math.log10(biggest))
    for m in (5, 2, 1):
        if m * top <= biggest:
            top = m * top
            break
    return [top / 25, top / 5, top] if top / 25 >= 1 else [top]
