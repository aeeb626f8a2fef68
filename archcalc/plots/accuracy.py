"""Accuracy against cost across the zoo: one marker per spec, grouped by family, the Pareto
frontier drawn and labelled.

Accuracy is read from each spec's ``accuracy:`` list (ImageNet entries only): ``top1``, else
``100 - top1_error`` (the same for top-5). One figure per spec is chosen by three keys, in order:

1. protocol: a single-crop entry before an unknown protocol, both before multi-crop (10-crop,
   144-crop, multi-scale, dense);
2. training recipe (:func:`recipe_of`): by default the *original* recipe -- the paper's figure or
   torchvision's first weights (``IMAGENET1K_V1``) -- before a newer recipe (torchvision's
   ``IMAGENET1K_V2`` weights, "new training recipe"), both before weights trained with extra data
   (SWAG, JFT, ImageNet-21k). ``recipe="improved"`` puts the newer recipe first;
3. among equals the first listed.

Points whose figure is not single-crop are marked with a dagger, newer-recipe figures with a double
dagger, extra-data figures with a section sign. Costs are archcalc's static counts at each spec's
own input size.
"""

from __future__ import annotations

__all__ = ["AccuracyPoint", "AccuracyChart", "accuracy_chart", "accuracy_point", "chart_of_points",
           "select_accuracy", "protocol_rank", "recipe_of", "pareto_front", "family_fronts", "plan_labels",
           "PlannedLabel", "draw_accuracy", "X_AXES", "Y_METRICS", "RECIPES", "LABEL_MODES"]

import math
import re
import textwrap
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable, Sequence

from ..analysis import Totals, analyze
from ..spec import Accuracy, Spec
from ..units import human_count

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

X_AXES = {"macs": "Multiply-adds per image (MACs, log scale)", "params": "Parameters (log scale)"}
Y_METRICS = {"top1": "top-1", "top5": "top-5"}
# which training recipe a chart prefers (the option's values), and how its subtitle says so
RECIPES = {
    "original": "original training recipes (paper figures or torchvision V1 weights)",
    "improved": "newer training recipes (torchvision V2 weights) where recorded",
}
# a recorded figure's recipe (recipe_of: "original", "improved" or "extra-data"), preferred in this
# order under each chart recipe
_RECIPE_ORDER = {"original": ("original", "improved", "extra-data"),
                 "improved": ("improved", "original", "extra-data")}
# which points carry a name label: "auto" = every point that fits when the chart has at most
# AUTO_ALL_POINTS points, else the key ones; "key" = the Pareto frontier and one label per family;
# "all" = the key labels, then every other point whose name fits without overlap
LABEL_MODES = ("auto", "key", "all")
AUTO_ALL_POINTS = 40
MULTI_CROP_MARK = "\u2020"  # dagger
RECIPE_MARK = "\u2021"  # double dagger
EXTRA_DATA_MARK = "\u00a7"  # section sign


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
    recipe: str = "original"  # the chosen figure's recipe: "original", "improved" or "extra-data" (recipe_of)

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
    recipe: str = "original"  # the preferred recipe: a key of RECIPES


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


_EXTRA_DATA = re.compile(r"swag|\big[\s-]*3\.?6b\b|instagram|\bjft\b|imagenet[\s-]*2[12]k|\bin[\s-]*2[12]k\b"
                         r"|extra[\s-]+(training[\s-]+)?data", re.IGNORECASE)
_IMPROVED = re.compile(r"\b(new|newer|improved|updated|modern)[\s-]+(training[\s-]+)?recipe|IMAGENET1K_V[2-9]\b",
                       re.IGNORECASE)


def recipe_of(entry: Accuracy) -> str:
    """``"extra-data"`` (SWAG, JFT, ImageNet-21k pre-training), ``"improved"`` (torchvision's
    ``IMAGENET1K_V2`` weights or a protocol naming a "new training recipe"), else ``"original"``
    (the paper's figure, torchvision's first weights)."""
    text = f"{entry.protocol or ''} {entry.source}"
    if _EXTRA_DATA.search(text):
        return "extra-data"
    if _IMPROVED.search(text):
        return "improved"
    return "original"


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


def select_accuracy(entries: Iterable[Accuracy], metric: str = "top1", *,
                    recipe: str = "original") -> tuple[float, Accuracy] | None:
    """The ImageNet figure to plot for ``metric`` under the ``recipe`` preference (see the module
    docstring), or None."""
    if recipe not in RECIPES:
        raise ValueError(f"recipe must be one of {', '.join(RECIPES)}")
    order_of = _RECIPE_ORDER[recipe]
    best: tuple[tuple[int, int, int], float, Accuracy] | None = None
    for order, entry in enumerate(entries):
        if not _imagenet(entry):
            continue
        value = _value(entry, metric)
        if value is None:
            continue
        key = (protocol_rank(entry.protocol), order_of.index(recipe_of(entry)), order)
        if best is None or key < best[0]:
            best = (key, value, entry)
    return None if best is None else (best[1], best[2])


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


def family_fronts(chart: AccuracyChart) -> dict[str, list[int]]:
    """Each family's own Pareto frontier over the figures that fit the chart's rule: family ->
    indices into ``chart.points`` by increasing cost (the family's series line on the chart)."""
    members: dict[str, list[int]] = {}
    for i, p in enumerate(chart.points):
        if not off_rule(p, chart):  # hollow points stay off the series lines, as off the frontier
            members.setdefault(p.family, []).append(i)
    out = {}
    for fam, idx in members.items():
        front = pareto_front([chart.points[i].cost(chart.x) for i in idx], [chart.points[i].accuracy for i in idx])
        out[fam] = [idx[k] for k in front]
    return out


def accuracy_point(spec: Spec, *, y: str = "top1", totals: Totals | None = None,
                   recipe: str = "original") -> AccuracyPoint | None:
    """The chart's point of ``spec`` (None when it has no ImageNet ``y`` figure); ``totals`` are
    its static counts when already analyzed (``analyze(spec).totals``)."""
    chosen = select_accuracy(spec.accuracy, y, recipe=recipe)
    if chosen is None:
        return None
    value, entry = chosen
    t = totals if totals is not None else analyze(spec).totals
    return AccuracyPoint(
        name=spec.name, family=spec.family or "other", path=str(spec.path or ""), macs=t.macs, params=t.params,
        accuracy=value, protocol=entry.protocol or "protocol not recorded",
        single_crop=protocol_rank(entry.protocol) == 0, source=entry.source, year=spec.document.year,
        recipe=recipe_of(entry))


def chart_of_points(points: Iterable[AccuracyPoint], *, x: str = "macs", y: str = "top1",
                    excluded: Iterable[tuple[str, str]] = (), families: Sequence[str] = (),
                    recipe: str = "original") -> AccuracyChart:
    """The chart of points already made (:func:`accuracy_point`, with the same ``recipe``):
    sorted by cost, frontier marked."""
    _check_choices(x=x, y=y, recipe=recipe)
    ordered = sorted(points, key=lambda p: (p.cost(x), p.name))
    # The frontier compares like with like: figures off the chart's rule (another protocol, extra
    # training data, another recipe) are drawn hollow but neither make nor break the frontier.
    fair = [i for i, p in enumerate(ordered) if not _off_rule(p, recipe)]
    front = [fair[k] for k in pareto_front([ordered[i].cost(x) for i in fair], [ordered[i].accuracy for i in fair])]
    return AccuracyChart(points=tuple(ordered), x=x, y=y, frontier=tuple(front), excluded=tuple(excluded),
                         families=tuple(families), recipe=recipe)


def accuracy_chart(specs: Sequence[Spec], *, x: str = "macs", y: str = "top1",
                   families: Sequence[str] | None = None, recipe: str = "original") -> AccuracyChart:
    """The plotted data: one point per spec with an ImageNet ``y`` figure, chosen under the
    ``recipe`` preference (others are listed in ``excluded`` with the reason)."""
    _check_choices(x=x, y=y, recipe=recipe)
    wanted = {f.lower() for f in families} if families else None
    points: list[AccuracyPoint] = []
    excluded: list[tuple[str, str]] = []
    for spec in specs:
        if wanted is not None and (spec.family or "other").lower() not in wanted:
            continue
        point = accuracy_point(spec, y=y, recipe=recipe)
        if point is None:
            excluded.append((spec.name, f"no ImageNet {Y_METRICS[y]} figure in accuracy:"))
        else:
            points.append(point)
    return chart_of_points(points, x=x, y=y, excluded=excluded, families=sorted(wanted) if wanted else (),
                           recipe=recipe)


def marks(point: AccuracyPoint) -> str:
    """The label marks of a point: dagger = not single-crop, double dagger = a newer training
    recipe, section sign = trained with extra data."""
    return (("" if point.single_crop else MULTI_CROP_MARK) + (RECIPE_MARK if point.recipe == "improved" else "")
            + (EXTRA_DATA_MARK if point.recipe == "extra-data" else ""))


def label_text(point: AccuracyPoint) -> str:
    return point.name + marks(point)


def off_rule(point: AccuracyPoint, chart: AccuracyChart) -> bool:
    """Whether the point's figure is a fallback the chart's rule does not ask for (drawn hollow):
    not single-crop, extra data, or a newer recipe on an original-recipe chart."""
    return _off_rule(point, chart.recipe)


def _off_rule(point: AccuracyPoint, recipe: str) -> bool:
    return (not point.single_crop or point.recipe == "extra-data"
            or (recipe == "original" and point.recipe == "improved"))


def year_span(years: Iterable[int | None]) -> str:
    """``[2015, 2016, None] -> "2015-16"`` (en dash), ``[2019] -> "2019"``, ``[] -> ""``."""
    known = sorted({y for y in years if y is not None})
    if not known:
        return ""
    lo, hi = known[0], known[-1]
    if lo == hi:
        return str(lo)
    return f"{lo}\u2013{hi % 100:02d}" if lo // 100 == hi // 100 else f"{lo}\u2013{hi}"


def subtitle(chart: AccuracyChart) -> str:
    """Which figure the chart plots, in one line: metric, protocol, recipe, how many models from when."""
    years = [p.year for p in chart.points if p.year is not None]
    when = f", {min(years)}\u2013{max(years)}" if years else ""
    return (f"ImageNet-1k val {Y_METRICS[chart.y]}, single crop where recorded; {RECIPES[chart.recipe]}; "
            f"{len(chart.points)} models{when}")


def caption(chart: AccuracyChart, labels: str = "auto") -> str:
    """Where every number comes from, in words (drawn under the chart); ``labels`` as
    :func:`draw_accuracy` names the points."""
    metric = Y_METRICS[chart.y]
    pts = chart.points
    other = "improved" if chart.recipe == "original" else "original"
    first = ("the original recipe (the paper's figure or torchvision's IMAGENET1K_V1 weights) before a newer one "
             "(torchvision's IMAGENET1K_V2, 'new training recipe')" if chart.recipe == "original" else
             "a newer recipe (torchvision's IMAGENET1K_V2, 'new training recipe') before the original (the paper's "
             "figure or torchvision's IMAGENET1K_V1 weights)")
    notes = []
    if any(not p.single_crop for p in pts):
        notes.append(f"{MULTI_CROP_MARK} = no single-crop figure recorded, another protocol is shown (10-crop, "
                     f"dense or unstated)")
    if any(p.recipe == "improved" for p in pts):
        notes.append(f"{RECIPE_MARK} = newer training recipe" + (
            " (no original-recipe figure of that protocol recorded)" if chart.recipe == "original" else ""))
    if any(p.recipe == "extra-data" for p in pts):
        notes.append(f"{EXTRA_DATA_MARK} = trained with extra data (the only figure recorded)")
    hollow = any(off_rule(p, chart) for p in pts)
    every = labels == "all" or (labels == "auto" and len(pts) <= AUTO_ALL_POINTS)
    named = ("Named: every model where its name fits" if every else
             "Named: the frontier's models and one label per family")
    text = (f"ImageNet validation {metric} accuracy, one figure per spec from its accuracy: list: single-crop "
            f"before other protocols, then {first}, then weights trained with extra data; among equals the first "
            f"listed (archcalc plot accuracy --recipe\u00a0{other} plots the other recipe)."
            + (" " + "; ".join(notes) + "." if notes else "")
            + (" Hollow markers: figures off that rule (\u2020, \u00a7, and \u2021 on an original-recipe chart)." if hollow else "")
            + " Cost: archcalc static count from specs/*.yaml at each spec's own input size "
            "(1 MAC = 1 multiply-accumulate = 2 FLOPs). Dashed: Pareto frontier and thin lines: each family's own "
            "frontier, both over the figures that fit the rule. " + named + "; every model is in the reports.")
    groups: dict[str, list[str]] = {}
    for p in pts:
        groups.setdefault(source_key(p.source), []).append(label_text(p))
    ordered = sorted(groups.items(), key=lambda kv: kv[0].lower())
    if len(pts) <= AUTO_ALL_POINTS:
        cited = "; ".join(f"{key}: {', '.join(names)}" for key, names in ordered)
    else:  # a big zoo: how many figures each source gives (the reports name the models)
        cited = "; ".join(f"{key} ({len(names)})" for key, names in ordered)
    return text + f" Accuracy sources (exact table per model in the reports): {cited}."


@dataclass(frozen=True)
class PlannedLabel:
    index: int  # into chart.points
    text: str
    kind: str  # "frontier" (a model on the Pareto frontier), "family" (the family's name), "point" (a model)

    @property
    def required(self) -> bool:
        return self.kind == "frontier"


def _squash(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def names_family(name: str, family: str) -> bool:
    """Whether a model's name already says its family (``"EfficientNet-B7"`` names
    ``"EfficientNet"``; any part of ``"GoogLeNet/Inception"`` counts)."""
    return any(part and part in _squash(name) for part in (_squash(f) for f in family.split("/")))


def plan_labels(chart: AccuracyChart, labels: str = "auto") -> list[PlannedLabel]:
    """Which points carry which label, most important first (see :data:`LABEL_MODES`): every
    Pareto-frontier model by name; one label per family (not ``other``) whose name no planned
    model label already says, at the family's most accurate point not named yet; with ``"all"``
    (or ``"auto"`` on a chart of at most :data:`AUTO_ALL_POINTS` points) every other model's
    name, most accurate first (these, and the family labels, are left out where they don't fit)."""
    if labels not in LABEL_MODES:
        raise ValueError(f"labels must be one of {', '.join(LABEL_MODES)}")
    pts = chart.points
    every = labels == "all" or (labels == "auto" and len(pts) <= AUTO_ALL_POINTS)
    front = sorted(chart.frontier, key=lambda i: (-pts[i].accuracy, pts[i].cost(chart.x)))
    plan = [PlannedLabel(i, label_text(pts[i]), "frontier") for i in front]
    named = set(front) | (set(range(len(pts))) if every else set())
    members: dict[str, list[int]] = {}
    for i, p in enumerate(pts):
        members.setdefault(p.family, []).append(i)
    for fam in sorted(members, key=lambda f: (-len(members[f]), f.lower())):
        if fam == "other" or any(names_family(pts[i].name, fam) for i in members[fam] if i in named):
            continue
        ranked = sorted(members[fam], key=lambda i: (-pts[i].accuracy, pts[i].cost(chart.x)))
        anchor = next((i for i in ranked if i not in named), ranked[0])
        plan.append(PlannedLabel(anchor, fam, "family"))
    if every:
        rest = sorted(set(range(len(pts))) - set(front), key=lambda i: (-pts[i].accuracy, pts[i].cost(chart.x)))
        plan += [PlannedLabel(i, label_text(pts[i]), "point") for i in rest]
    return plan


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


MARKER_AREA = 34.0  # pt^2: every point is a dot of one size (the cost the x axis doesn't show is in the other chart)


def draw_accuracy(chart: AccuracyChart, *, title: str | None = None, width: float = 12.0,
                  labels: str = "auto") -> "Figure":
    """The chart: one marker per model (colour and shape per family, hollow where the figure is
    off the rule), the Pareto frontier and each family's own frontier, non-overlapping labels
    (:func:`plan_labels`), a legend of families with their years, and the caption."""
    from matplotlib.lines import Line2D
    from matplotlib.ticker import LogLocator, NullFormatter

    from .style import family_colors, human_axis, new_figure, style, tick_text

    plan = plan_labels(chart, labels)
    pts = chart.points
    metric = Y_METRICS[chart.y]
    cap = "\n".join(textwrap.wrap(caption(chart, labels), width=int(width * 17.5)))
    cap_lines = cap.count("\n") + 1
    plot_h = 8.4
    cap_h = 0.1 + cap_lines * 0.125
    height = plot_h + cap_h
    with style():
        fig = new_figure(width, height)
        ax = fig.add_axes((0.065, (cap_h + 0.6) / height, 0.74, (plot_h - 1.15) / height))
        head = title or f"ImageNet {metric} accuracy vs {'multiply-adds' if chart.x == 'macs' else 'parameters'}"
        shown = sorted({p.family for p in pts}, key=str.lower)
        ax.set_title(head + (f" ({', '.join(shown)})" if chart.families else ""), fontsize=11, loc="left", pad=19)
        ax.annotate(subtitle(chart), (0, 1), xycoords="axes fraction", xytext=(0, 5), textcoords="offset points",
                    fontsize=8, color="#444444", va="bottom", ha="left")
        ax.set_xscale("log")
        ax.set_xlabel(X_AXES[chart.x])
        ax.set_ylabel(f"{metric} accuracy (%)")
        fig.text(0.065, 0.012, cap, fontsize=6.5, color="#444444", va="bottom", ha="left", linespacing=1.3)
        if not pts:
            ax.text(0.5, 0.5, "no spec has an ImageNet accuracy figure", transform=ax.transAxes, ha="center")
            return fig
        look = family_colors([p.family for p in pts])
        xs = [float(p.cost(chart.x)) for p in pts]
        ys = [p.accuracy for p in pts]
        lx = [math.log10(v) for v in xs]
        span_x = max(max(lx) - min(lx), 0.5)
        ax.set_xlim(10 ** (min(lx) - 0.06 * span_x), 10 ** (max(lx) + 0.10 * span_x))
        span_y = max(max(ys) - min(ys), 2.0)
        ax.set_ylim(min(ys) - 0.06 * span_y, max(ys) + 0.07 * span_y)
        ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        human_axis(ax.xaxis, lambda v: tick_text(human_count(v)))
        ax.xaxis.set_minor_formatter(NullFormatter())
        hollow = [off_rule(p, chart) for p in pts]
        for fam in sorted(look, key=str.lower):
            color, marker = look[fam]
            idx = [i for i, p in enumerate(pts) if p.family == fam]
            ax.scatter([xs[i] for i in idx], [ys[i] for i in idx], s=MARKER_AREA, marker=marker,
                       facecolors=["white" if hollow[i] else color for i in idx], edgecolors=color,
                       linewidths=[1.1 if hollow[i] else 0.4 for i in idx], zorder=3, label=fam)
        for fam, line in sorted(family_fronts(chart).items()):
            if len(line) > 1:
                ax.plot([xs[i] for i in line], [ys[i] for i in line], color=look[fam][0], linewidth=0.8, alpha=0.6,
                        zorder=2, solid_capstyle="round")
        front = list(chart.frontier)
        if len(front) > 1:
            ax.step([xs[i] for i in front], [ys[i] for i in front], where="post", color="#555555",
                    linestyle="--", linewidth=1.0, zorder=2)
        _place_point_labels(fig, ax, chart, plan, xs, ys, look)
        # the legend outside the axes: families in order of appearance (with their years), then the lines
        years = {fam: [p.year for p in pts if p.family == fam] for fam in look}
        first = {fam: min([y for y in years[fam] if y is not None], default=9999) for fam in look}
        handles = [Line2D([], [], marker=look[f][1], linestyle="", markersize=6, markerfacecolor=look[f][0],
                          markeredgecolor=look[f][0], markeredgewidth=0.4,
                          label=f"{f}  {year_span(years[f])}".rstrip())
                   for f in sorted(look, key=lambda f: (first[f], f.lower()))]
        handles.append(Line2D([], [], color="#555555", linestyle="--", label="Pareto frontier"))
        handles.append(Line2D([], [], color="#888888", linewidth=0.8, label="a family's own frontier"))
        if any(hollow):
            handles.append(Line2D([], [], marker="o", linestyle="", markersize=6, markerfacecolor="white",
                                  markeredgecolor="#555555", markeredgewidth=1.1,
                                  label="other protocol or recipe (\u2020 \u2021 \u00a7)"))
        many = len(handles) > 42
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.02), title="Family, year",
                  alignment="left", fontsize=6.5 if many else 7.5, labelspacing=0.25 if many else 0.4,
                  handletextpad=0.4, borderaxespad=0.0)
    return fig


def _place_point_labels(fig: "Figure", ax: Any, chart: AccuracyChart, plan: Sequence[PlannedLabel],
                        xs: Sequence[float], ys: Sequence[float], look: dict[str, tuple[str, str]]) -> None:
    """Draw the planned labels where they fit: measured, placed in pixels clear of every marker,
    each other and the frontier's steps, then converted back to data coordinates; a label placed
    far from its point gets a leader line; optional labels that don't fit are removed."""
    from .labels import Box, place_some_labels
    from .style import darker

    pts = chart.points
    renderer = fig.canvas.get_renderer()
    texts = []
    for lab in plan:
        color = darker(look[pts[lab.index].family][0])
        texts.append(ax.text(xs[lab.index], ys[lab.index], lab.text, fontsize=7.5 if lab.kind == "family" else 7,
                             color=color, ha="center", va="center", zorder=5,
                             fontweight="bold" if lab.kind == "family" else "normal",
                             fontstyle="italic" if lab.kind == "family" else "normal",
                             bbox=dict(boxstyle="square,pad=0.05", facecolor="white", edgecolor="none", alpha=0.8)))
    sizes = []
    for t in texts:
        bb = t.get_window_extent(renderer)
        sizes.append((bb.width + 2, bb.height + 1))
    to_px = ax.transData
    anchors = [tuple(to_px.transform((x, y))) for x, y in zip(xs, ys)]
    radius = math.sqrt(MARKER_AREA / math.pi) * fig.dpi / 72 + 1.0
    frame = ax.get_window_extent(renderer)
    bounds = Box(frame.x0 + 2, frame.y0 + 2, frame.x1 - 2, frame.y1 - 2)
    obstacles = [Box.around(*anchors[i], radius) for i in range(len(pts))]  # every marker, labelled or not
    front = list(chart.frontier)
    if len(front) > 1:  # keep labels off the frontier's steps
        corners = []
        for a, b in zip(front, front[1:]):
            corners += [(xs[a], ys[a]), (xs[b], ys[a])]
        corners.append((xs[front[-1]], ys[front[-1]]))
        px = [to_px.transform(c) for c in corners]
        for (x0, y0), (x1, y1) in zip(px, px[1:]):
            obstacles.append(Box(min(x0, x1) - 1.5, min(y0, y1) - 1.5, max(x0, x1) + 1.5, max(y0, y1) + 1.5))
    placed = place_some_labels([anchors[lab.index] for lab in plan], sizes, bounds=bounds,
                               radii=[radius] * len(plan), obstacles=obstacles,
                               optional=[not lab.required for lab in plan], max_distance=120.0)
    inverse = to_px.inverted()
    for lab, text, box in zip(plan, texts, placed):
        if box is None:
            text.remove()
            continue
        cx, cy = (box.x0 + box.x1) / 2, (box.y0 + box.y1) / 2
        text.set_position(tuple(inverse.transform((cx, cy))))
        ax_, ay_ = anchors[lab.index]
        nx, ny = min(max(ax_, box.x0), box.x1), min(max(ay_, box.y0), box.y1)
        if math.hypot(nx - ax_, ny - ay_) > radius + 7:  # far from its point: draw a leader
            ax.annotate("", xy=(xs[lab.index], ys[lab.index]), xytext=tuple(inverse.transform((nx, ny))), zorder=4,
                        arrowprops=dict(arrowstyle="-", color="#999999", linewidth=0.5, shrinkA=0,
                                        shrinkB=radius * 72 / fig.dpi))


def _check_choices(*, x: str, y: str, recipe: str) -> None:
    for value, allowed, what in ((x, X_AXES, "x"), (y, Y_METRICS, "y"), (recipe, RECIPES, "recipe")):
        if value not in allowed:
            raise ValueError(f"{what} must be one of {', '.join(allowed)}")
