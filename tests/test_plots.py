"""Charts: the plotted data (pure functions), the data read back from the figures, label
overlaps measured with the renderer, output formats, and the lazy matplotlib import."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import archcalc
from archcalc.analysis import DTYPE_BYTES
from archcalc.cli import main
from archcalc.plots.accuracy import (AUTO_ALL_POINTS, MARKER_AREA, AccuracyPoint, accuracy_chart, accuracy_point,
                                     chart_of_points, draw_accuracy, label_text, names_family, off_rule, pareto_front,
                                     plan_labels, protocol_rank, recipe_of, select_accuracy, source_key, subtitle,
                                     year_span)
from archcalc.plots.benchdata import load_measurements, read_measurements
from archcalc.plots.devices import DEVICES, get_device
from archcalc.plots.labels import Box, overlaps, place_labels, place_some_labels
from archcalc.plots.layers import HIDDEN_KINDS, draw_layer_profile, layer_profile
from archcalc.plots.roofline import draw_roofline, layer_bytes, roofline
from archcalc.plots.scaling import scaling_study
from archcalc.plots.style import (FAMILY_MARKERS, PALETTE, family_colors, figure_bytes, figure_format,
                                  marks_for_minor_ticks, style, text_width, tick_text)
from archcalc.plots.throughput import draw_throughput, throughput_series
from archcalc.spec import Accuracy

from conftest import ROOT, SPECS, zoo_analysis, zoo_spec, zoo_specs

ALEXNET = SPECS / "alexnet.yaml"
RESNET50 = SPECS / "resnet50.yaml"
MAGIC = {"png": b"\x89PNG\r\n\x1a\n", "pdf": b"%PDF-", "svg": b"<?xml"}


def analysis_of(path: Path, **kw):
    """The analysis of a zoo spec (batch 1, float32: shared with the other zoo tests of this process), or at ``kw``."""
    return archcalc.analyze(archcalc.load_spec(path), **kw) if kw else zoo_analysis(path)


def text_boxes(fig, texts):
    renderer = fig.canvas.get_renderer()
    return [Box(*t.get_window_extent(renderer).extents) for t in texts]


# --------------------------------------------------------------------------- label placement (pure)


def test_place_labels_crowded_cluster_has_no_overlaps():
    # 30 labels anchored within a 60 x 40 px patch of a 600 x 400 px plot
    anchors = [(300 + 2 * (i % 6) * 5, 200 + (i // 6) * 8) for i in range(30)]
    sizes = [(40 + (i % 4) * 10, 10) for i in range(30)]
    bounds = Box(0, 0, 600, 400)
    boxes = place_labels(anchors, sizes, bounds=bounds, radii=[3] * 30)
    assert overlaps(boxes, pad=0) == []
    assert all(b.inside(bounds) for b in boxes)
    assert [(round(b.width), round(b.height)) for b in boxes] == [(w, h) for w, h in sizes]
    assert boxes == place_labels(anchors, sizes, bounds=bounds, radii=[3] * 30)  # deterministic


def test_place_labels_prefers_right_of_point_and_avoids_markers():
    # alone: right of the marker, gap 3 px beyond radius 5 -> left edge at 100 + 5 + 3
    (box,) = place_labels([(100, 100)], [(20, 10)], bounds=Box(0, 0, 300, 300), radii=[5])
    assert (box.x0, box.y0) == (108, 95)
    # a second marker sitting right there pushes the label elsewhere
    boxes = place_labels([(100, 100), (120, 100)], [(20, 10), (1, 1)], bounds=Box(0, 0, 300, 300), radii=[5, 8])
    assert boxes[0].overlap_area(Box.around(120, 100, 8)) == 0


def test_place_labels_rejects_mismatched_lengths():
    with pytest.raises(ValueError):
        place_labels([(0, 0)], [], bounds=Box(0, 0, 1, 1))


def test_place_some_labels_leaves_out_optional_labels_without_room():
    # three 40 x 10 px labels on one point in a 100 x 30 px plot: only two free spots (left, right)
    anchors, sizes, bounds = [(50, 15)] * 3, [(40, 10)] * 3, Box(0, 0, 100, 30)
    boxes = place_some_labels(anchors, sizes, bounds=bounds, radii=[3] * 3, optional=[False, True, True],
                              max_distance=10)
    assert boxes[0] is not None and boxes[1] is not None and boxes[2] is None
    assert overlaps([boxes[0], boxes[1]]) == [] and all(b.inside(bounds) for b in boxes[:2])
    # a required label is always placed (least overlap) and an optional one that fits is kept
    forced = place_some_labels(anchors, sizes, bounds=bounds, radii=[3] * 3, max_distance=10)
    assert all(b is not None for b in forced)
    assert place_labels(anchors[:2], sizes[:2], bounds=bounds, radii=[3] * 2) == forced[:2]


# --------------------------------------------------------------------------- accuracy data (pure)


@pytest.mark.parametrize("protocol,rank", [
    ("single 224 crop", 0), ("single-crop single-model, 300", 0), ("center crop 224", 0),
    ("10-crop", 2), ("144 crops single model", 2), ("single model, fully convolutional multi-scale + 10-crop", 2),
    ("single scale, train S=256, test Q=256", 1), (None, 1),
])
def test_protocol_rank(protocol, rank):
    assert protocol_rank(protocol) == rank


def test_select_accuracy_prefers_single_crop_and_converts_errors():
    entries = [Accuracy(top1_error=22.85, protocol="10-crop", source="He 2016"),
               Accuracy(top1_error=24.7, protocol="single 224 crop", source="SENet"),
               Accuracy(dataset="CIFAR-10", top1=95.0, source="x")]
    value, entry = select_accuracy(entries, "top1")
    assert value == pytest.approx(75.3)  # 100 - 24.7
    assert entry.source == "SENet"
    assert select_accuracy(entries[2:], "top1") is None  # not ImageNet
    assert select_accuracy([Accuracy(top1=76.1, source="s")], "top5") is None


V1 = Accuracy(top1=76.13, protocol="single 224 crop", source="torchvision ResNet50_Weights.IMAGENET1K_V1")
V2 = Accuracy(top1=80.858, protocol="single 224 crop (232 resize), new training recipe",
              source="torchvision ResNet50_Weights.IMAGENET1K_V2")


@pytest.mark.parametrize("protocol,source,recipe", [
    ("single 224 crop", "torchvision ResNet50_Weights.IMAGENET1K_V1", "original"),
    ("single crop 299", "Chollet 2017 Table 1", "original"),
    ("single 224 crop (232 resize), new training recipe", "torchvision ResNet50_Weights.IMAGENET1K_V2", "improved"),
    ("single 224 crop", "torchvision RegNet_Y_400MF_Weights.IMAGENET1K_V2", "improved"),  # the V2 weights alone
    ("single 384 crop, torchvision's new training recipe", "torchvision EfficientNet_V2_S_Weights.IMAGENET1K_V1",
     "improved"),
    ("single 384 crop", "torchvision RegNet_Y_16GF_Weights.IMAGENET1K_SWAG_E2E_V1", "extra-data"),
    ("single 224 crop, pre-trained on ImageNet-21k", "Kolesnikov et al. 2020 Table 1", "extra-data"),
])
def test_recipe_of(protocol, source, recipe):
    assert recipe_of(Accuracy(top1=80.0, protocol=protocol, source=source)) == recipe


def test_select_accuracy_recipe_preference():
    ten_crop = Accuracy(top1_error=22.85, protocol="10-crop", source="He et al. 2016 Table 3")
    for entries in ([V1, V2, ten_crop], [V2, V1, ten_crop]):  # the order of the list does not decide
        assert select_accuracy(entries, "top1")[1] is V1
        assert select_accuracy(entries, "top1", recipe="improved")[1] is V2
    # the protocol comes first: a newer recipe's single crop beats the original recipe's 10-crop
    assert select_accuracy([ten_crop, V2], "top1")[1] is V2
    assert select_accuracy([V1], "top1", recipe="improved")[1] is V1  # no newer figure: the original
    with pytest.raises(ValueError, match="recipe"):
        select_accuracy([V1], "top1", recipe="v2")


def test_resnet50_points_under_both_recipes():
    spec = archcalc.load_spec(RESNET50)  # lists IMAGENET1K_V1 (76.13) and IMAGENET1K_V2 (80.858)
    totals = archcalc.analyze(spec).totals
    original = accuracy_point(spec, totals=totals)
    improved = accuracy_point(spec, totals=totals, recipe="improved")
    assert (original.accuracy, original.recipe, label_text(original)) == (76.13, "original", "ResNet-50")
    assert (improved.accuracy, improved.recipe, label_text(improved)) == (80.858, "improved", "ResNet-50\u2021")
    assert improved.source.endswith("IMAGENET1K_V2") and (improved.macs, improved.params) == (original.macs,
                                                                                             original.params)
    for recipe in ("original", "improved"):  # the chart says which one it plots
        chart = chart_of_points([original if recipe == "original" else improved], recipe=recipe)
        text = subtitle(chart)
        assert ("original training recipes" in text) == (recipe == "original")
        assert ("newer training recipes" in text) == (recipe == "improved")


def test_year_span_and_names_family():
    assert [year_span(y) for y in ([2015, 2016, None], [2019], [], [1998, 2012])] == [
        "2015\u201316", "2019", "", "1998\u20132012"]
    assert names_family("EfficientNet-B7", "EfficientNet") and names_family("Inception-v3", "GoogLeNet/Inception")
    assert not names_family("SE-ResNet-50", "SENet") and not names_family("ResNeXt-50 (32x4d)", "ResNet")


def test_family_colors_unique_pairs():
    families = [f"F{i:03d}" for i in range(len(PALETTE) * len(FAMILY_MARKERS))]
    look = family_colors(families)
    assert len(set(look.values())) == len(families)  # 14 colours x 9 shapes: no two families alike
    ordered = [look[f] for f in sorted(families)]
    assert all(a[0] != b[0] and a[1] != b[1] for a, b in zip(ordered, ordered[1:]))  # neighbours differ in both


def test_pareto_front():
    costs = [1, 2, 3, 4, 5]
    values = [70, 69, 75, 75, 80]
    # 69 is beaten by the cheaper 70; the second 75 costs more for the same accuracy
    assert pareto_front(costs, values) == [0, 2, 4]


def test_source_key():
    assert source_key("He et al. 2016 Table 3 (seed 004:416)") == "He et al. 2016"
    assert source_key("torchvision ResNet50_Weights.IMAGENET1K_V1") == "torchvision weights"


@pytest.fixture(scope="module")
def loaded_zoo():
    return [zoo_spec(p) for p in zoo_specs()]


def test_accuracy_chart_data_from_zoo(loaded_zoo):
    specs = loaded_zoo
    chart = accuracy_chart(specs, x="macs", y="top1")
    assert chart.points, "the zoo has ImageNet accuracy figures"
    names = {p.name for p in chart.points} | {n for n, _ in chart.excluded}
    assert names == {s.name for s in specs}
    for p in chart.points:
        spec = next(s for s in specs if s.name == p.name)
        assert p.macs == zoo_analysis(spec.path).totals.macs
        assert p.accuracy == select_accuracy(spec.accuracy, "top1")[0]
    costs = [p.macs for p in chart.points]
    assert costs == sorted(costs)
    front = [chart.points[i] for i in chart.frontier]
    assert all(a.macs <= b.macs and a.accuracy < b.accuracy for a, b in zip(front, front[1:]))
    # the frontier ends at the best figure that fits the chart's rule (off-rule figures are hollow dots)
    best = max(p.accuracy for p in chart.points if not off_rule(p, chart))
    assert front[-1].accuracy == best
    assert not any(off_rule(p, chart) for p in front)


def test_accuracy_family_filter(loaded_zoo):
    specs = loaded_zoo
    family = next(s.family for s in specs if s.family and select_accuracy(s.accuracy, "top1"))
    chart = accuracy_chart(specs, families=[family.upper()])
    assert chart.points and {p.family for p in chart.points} == {family}


# --------------------------------------------------------------------------- accuracy figure (read back)


def crowded_points() -> list[AccuracyPoint]:
    """130 made-up models in 30 families, 2012-2023, crowded between 300 M and 20 G MACs and
    70-86 % (where the zoo is densest): the chart at the size the zoo is growing to."""
    points = []
    for f in range(30):
        family, year = f"Family{chr(65 + f % 26)}{f // 26 or ''}", 2012 + f * 11 // 29
        for k in range(4 + f % 3 // 2):  # 4 or 5 models per family
            macs = int(3e8 * 2.3 ** k * 1.25 ** (f % 5))
            acc = 70 + 0.55 * (year - 2012) + 2.4 * k + (f % 3) * 0.3
            n = f * 5 + k
            points.append(AccuracyPoint(
                name=f"{family}-{k}", family=family, path="", macs=macs, params=macs // 80 + 10 ** 6 * (f % 5),
                accuracy=round(min(acc, 88.0), 2), protocol="single 224 crop" if n % 17 else "10-crop",
                single_crop=bool(n % 17), source=f"Author{f} et al. {year} Table 2", year=year,
                recipe="improved" if n % 11 == 3 else "extra-data" if n == 64 else "original"))
    return points


@pytest.fixture(scope="module", params=["zoo", "crowded"])
def accuracy_figure(request, loaded_zoo):
    if request.param == "zoo":
        chart = accuracy_chart(loaded_zoo, x="macs", y="top1")
    else:
        points = crowded_points()
        assert len(points) >= 130 and len({p.family for p in points}) == 30
        assert {p.year for p in points} == set(range(2012, 2024))
        chart = chart_of_points(points, x="params", y="top1")
    return chart, draw_accuracy(chart)


def label_texts(ax, chart):
    """The drawn point and family labels (not the subtitle, not the empty leader annotations)."""
    return [t for t in ax.texts if t.get_text() and t.get_text() != subtitle(chart)]


def test_accuracy_figure_plots_the_data(accuracy_figure):
    chart, fig = accuracy_figure
    ax = fig.axes[0]
    plotted = sorted(tuple(map(float, xy)) for c in ax.collections for xy in c.get_offsets())
    assert plotted == sorted((float(p.cost(chart.x)), p.accuracy) for p in chart.points)
    assert ax.get_xscale() == "log"
    # one marker collection per family, all dots of one size; each family its own colour-and-shape pair
    assert sorted(c.get_label() for c in ax.collections) == sorted({p.family for p in chart.points})
    looks = set()
    for c in ax.collections:
        assert set(c.get_sizes()) == {MARKER_AREA}
        edge = tuple(np.round(c.get_edgecolor()[0], 3))
        looks.add((edge, c.get_paths()[0].vertices.round(3).tobytes()))
        # hollow (white) exactly where the figure is off the chart's rule (other protocol or recipe)
        by_xy = {(float(p.cost(chart.x)), p.accuracy): p for p in chart.points if p.family == c.get_label()}
        faces = c.get_facecolor()
        for xy, face in zip(c.get_offsets(), faces if len(faces) > 1 else [faces[0]] * len(c.get_offsets())):
            point = by_xy[tuple(map(float, xy))]
            assert (tuple(face[:3]) == (1.0, 1.0, 1.0)) == off_rule(point, chart), point.name
    assert len(looks) == len(ax.collections)
    frontier = [l for l in ax.lines if l.get_linestyle() == "--"]
    assert frontier and list(frontier[0].get_xdata()) == [chart.points[i].cost(chart.x) for i in chart.frontier]


def test_accuracy_figure_labels(accuracy_figure):
    """The frontier's models by name, one label per family, the rest dots (the chart has more
    than AUTO_ALL_POINTS points); every label where it was drawn: apart, off the markers, inside."""
    chart, fig = accuracy_figure
    ax = fig.axes[0]
    renderer = fig.canvas.get_renderer()
    pts = chart.points
    assert len(pts) > AUTO_ALL_POINTS
    texts = label_texts(ax, chart)
    drawn = [t.get_text() for t in texts]
    assert len(drawn) == len(set(drawn))
    front = [label_text(pts[i]) for i in chart.frontier]
    assert set(front) <= set(drawn)
    families = sorted({p.family for p in pts} - {"other"})
    family_labels = [t for t in drawn if t in families]
    for fam in families:  # each family named once: by its own label, or by a frontier model's name
        assert family_labels.count(fam) + any(names_family(n, fam) for n in front) >= 1, fam
        assert family_labels.count(fam) <= 1
    assert sorted(drawn) == sorted(front + family_labels)  # nothing else: the other models are dots
    assert plan_labels(chart, "key") == plan_labels(chart)
    boxes = text_boxes(fig, texts)
    assert overlaps(boxes) == [], [(drawn[i], drawn[j]) for i, j in overlaps(boxes)]
    frame = Box(*ax.get_window_extent(renderer).extents)
    assert all(b.inside(frame) for b in boxes)
    radius = math.sqrt(MARKER_AREA / math.pi) * fig.dpi / 72
    markers = [Box.around(*ax.transData.transform(xy), radius) for c in ax.collections for xy in c.get_offsets()]
    touching = [(drawn[i], j) for i, b in enumerate(boxes) for j, m in enumerate(markers) if b.overlap_area(m) > 0]
    assert touching == []


def test_accuracy_figure_says_what_it_plots(accuracy_figure):
    from matplotlib.text import Text

    chart, fig = accuracy_figure
    ax = fig.axes[0]
    renderer = fig.canvas.get_renderer()
    years = [p.year for p in chart.points if p.year is not None]
    sub = next(t for t in ax.texts if t.get_text() == subtitle(chart))
    assert "single crop" in sub.get_text() and "original training recipes" in sub.get_text()
    assert f"{min(years)}\u2013{max(years)}" in sub.get_text() and f"{len(chart.points)} models" in sub.get_text()
    # the legend: every family with its years, oldest first, then the frontier lines
    legend = ax.get_legend()
    entries = [t.get_text() for t in legend.get_texts()]
    fams = [e for e in entries if not e.startswith(("Pareto", "a family", "other protocol"))]
    first = {p.family: min((q.year for q in chart.points if q.family == p.family and q.year), default=9999)
             for p in chart.points}
    assert [e.split("  ")[0] for e in fams] == sorted(first, key=lambda f: (first[f], f.lower()))
    assert all(e.split("  ")[1][:4] == str(first[e.split("  ")[0]]) for e in fams if first[e.split("  ")[0]] < 9999)
    assert "Pareto frontier" in entries
    assert ("other protocol or recipe (\u2020 \u2021 \u00a7)" in entries) == any(off_rule(p, chart) for p in chart.points)
    # title, subtitle and legend apart; the legend inside the figure
    title = next(t for t in ax.get_children() if isinstance(t, Text) and t.get_text() == ax.get_title(loc="left"))
    boxes = text_boxes(fig, [title, sub]) + [Box(*legend.get_window_extent(renderer).extents)]
    assert overlaps(boxes) == []
    assert Box(*legend.get_window_extent(renderer).extents).inside(Box(*fig.bbox.extents))
    cap = next(t.get_text() for t in fig.texts)
    assert "the original recipe" in cap and "--recipe\u00a0improved" in cap
    assert "Named: the frontier's models and one label per family;" in cap


def test_small_accuracy_chart_names_every_point(loaded_zoo):
    chart = accuracy_chart(loaded_zoo, families=["ResNet", "EfficientNet"], recipe="improved")
    assert len(chart.points) <= AUTO_ALL_POINTS
    planned = plan_labels(chart)
    assert {l.index for l in planned} == set(range(len(chart.points)))
    fig = draw_accuracy(chart)
    ax = fig.axes[0]
    texts = label_texts(ax, chart)
    assert overlaps(text_boxes(fig, texts)) == []
    drawn = {t.get_text() for t in texts}
    assert {label_text(chart.points[i]) for i in chart.frontier} <= drawn
    assert len(drawn & {label_text(p) for p in chart.points}) >= 0.8 * len(chart.points)
    assert any(p.recipe == "improved" and label_text(p) in drawn for p in chart.points)  # e.g. ResNet-50 V2


# --------------------------------------------------------------------------- layer profile


def test_layer_profile_alexnet_rows():
    a = analysis_of(ALEXNET)
    p = layer_profile(a)
    assert p.labels == ("conv1", "pool1", "conv2", "pool2", "conv3", "conv4", "conv5", "pool5", "fc6", "fc7", "fc8")
    # 96*55*55 * 3*11*11 = 105,415,200 multiply-adds; 96*55*55*4 bytes = 1,161,600
    assert (p.macs[0], p.activation_bytes[0], p.params[0]) == (105_415_200, 1_161_600, 34_944)
    w = layer_profile(a, weights_only=True)
    assert w.labels == ("conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7", "fc8")


@pytest.mark.parametrize("path", zoo_specs(), ids=lambda p: p.stem)
def test_layer_profile_keeps_every_mac(path):
    a = analysis_of(path)
    for weights_only in (False, True):
        p = layer_profile(a, weights_only=weights_only, max_rows=40)
        assert len(p.labels) <= 40
        assert sum(p.macs) == a.totals.macs  # hidden rows (activations, BN, ...) do no MACs
        assert sum(p.params) <= a.totals.params
        assert len(p.labels) == len(p.params) == len(p.activation_bytes)


def test_layer_profile_collapses_and_bins():
    a = analysis_of(RESNET50)
    p = layer_profile(a, max_rows=25)
    assert "conv2_x.block1" in p.labels and "block" in p.selection
    binned = layer_profile(a, max_rows=2)
    assert len(binned.labels) <= 2 and sum(binned.macs) == a.totals.macs
    assert all(label not in HIDDEN_KINDS for label in binned.types)


def test_layer_profile_figure_reads_back():
    p = layer_profile(analysis_of(ALEXNET))
    fig = draw_layer_profile(p)
    axes = fig.axes
    assert len(axes) == 3
    for ax, values in zip(axes, (p.activation_bytes, p.params, p.macs)):
        (bars,) = ax.collections  # one rectangle per row, from 0 to the value, 0.7 rows high
        assert [path.vertices[:, 0].max() for path in bars.get_paths()] == list(values)
        assert all(path.vertices[:, 0].min() == 0 for path in bars.get_paths())
        assert [(path.vertices[:, 1].min(), path.vertices[:, 1].max()) for path in bars.get_paths()] == \
            [pytest.approx((y - 0.35, y + 0.35)) for y in range(len(values))]
        assert ax.get_ylim() == (len(values) - 0.5, -0.5)  # the first row on top, in every panel
    names = [t for t in axes[0].texts if t.get_horizontalalignment() == "right"]
    assert [t.get_text() for t in names] == list(p.labels)
    assert all(len(ax.get_yticks()) == 0 for ax in axes)  # the names are texts, not tick labels
    renderer = fig.canvas.get_renderer()
    for ax in axes:  # value labels beside the bars stay apart and inside the figure
        boxes = text_boxes(fig, [t for t in ax.texts if t.get_horizontalalignment() == "left"])
        assert overlaps(boxes) == []
        assert all(b.x1 <= fig.bbox.x1 for b in boxes)
    boxes = text_boxes(fig, names)  # the names: apart, in order down the panel, right of the figure's edge
    assert overlaps(boxes) == []
    assert [b.y0 for b in boxes] == sorted((b.y0 for b in boxes), reverse=True)
    assert all(0 <= b.x0 and b.x1 <= axes[0].get_window_extent(renderer).x0 for b in boxes)


@pytest.mark.parametrize("stem", ["alexnet", "resnet50", "lenet5", "inception_v3", "fasterrcnn_resnet50_fpn"])
def test_layer_profile_layout_keeps_texts_apart_and_inside(stem):
    """The panels are placed from measured text sizes (no layout engine): after a draw (Agg: hinted
    glyphs, a little wider than SVG's), the names, titles and tick labels lie inside the figure and
    clear of each other and of the panels."""
    path = SPECS / f"{stem}.yaml"
    if not path.is_file():
        pytest.skip(f"no {path.name} in the zoo")
    fig = draw_layer_profile(layer_profile(analysis_of(path)))
    assert fig.get_layout_engine() is None
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    inside = Box(0, 0, fig.bbox.width, fig.bbox.height)
    names = text_boxes(fig, [t for t in fig.axes[0].texts if t.get_horizontalalignment() == "right"])
    titles = [Box(*ax.title.get_window_extent(renderer).extents) for ax in fig.axes]
    (suptitle,) = [Box(*t.get_window_extent(renderer).extents) for t in fig.texts if t.get_text() == fig.get_suptitle()]
    ticks = [b for ax in fig.axes for b in text_boxes(fig, [t for t in ax.get_xticklabels() if t.get_text()])]
    panels = [Box(*ax.get_window_extent(renderer).extents) for ax in fig.axes]
    for box in [*names, *titles, suptitle, *ticks]:
        assert box.inside(inside), box
    assert overlaps([*titles, suptitle]) == []
    assert all(t.overlap_area(p) == 0 for t in [*titles, suptitle, *names, *ticks] for p in panels)


# --------------------------------------------------------------------------- scaling


def test_scaling_study_resnet50():
    study = scaling_study(RESNET50, multipliers=(1.0, 2.0))
    by = {s.axis: s for s in study.series}
    assert by["width"].macs[0] == by["depth"].macs[0] == by["resolution"].macs[0] == study.base_macs
    # resolution x2: every conv does 4x the work, the fc layer the same -> just under 4x
    ratio = by["resolution"].macs[1] / study.base_macs
    assert 3.9 < ratio < 4.0
    assert by["resolution"].params == (study.base_params, study.base_params)  # global pooling
    assert by["resolution"].settings[1] == "resolution=448x448"
    assert by["width"].params[1] > study.base_params


def test_scaling_study_efficientnet_depth_and_width():
    study = scaling_study(SPECS / "efficientnet_b0.yaml", multipliers=(1.0, 2.0))
    by = {s.axis: s for s in study.series}
    direct = archcalc.analyze(archcalc.load_spec(SPECS / "efficientnet_b0.yaml", scale={"depth": 2.0})).totals
    assert by["depth"].macs[1] == direct.macs > study.base_macs
    # width x2 roughly quadruples the MACs of the convolutions (channels rounded to multiples of 8)
    assert 3.0 < by["width"].macs[1] / study.base_macs < 4.5


# --------------------------------------------------------------------------- roofline and bench results


def test_layer_bytes_and_roofline_alexnet_conv1():
    a = analysis_of(ALEXNET)
    conv1 = a.row("conv1")
    # (3*227*227 + 96*55*55) * batch 1 + 34,944 weights = 154,587 + 290,400 + 34,944 = 479,931 elements
    assert layer_bytes(conv1, batch_size=1, bytes_per_element=2) == 479_931 * 2
    h100 = get_device("h100")
    data = roofline(archcalc.load_spec(ALEXNET), device=h100, dtype="bfloat16")
    first = data.layers[0]
    assert first.intensity == pytest.approx(105_415_200 / 959_862)
    # 989.4 TFLOP/s dense bf16 = 494.7 TMAC/s; memory roof 3.35 TB/s * intensity
    assert data.peak_macs_per_s == pytest.approx(494.7e12)
    assert first.attainable_macs_per_s == pytest.approx(min(494.7e12, 3.35e12 * first.intensity))
    assert sum(l.macs for l in data.layers) == a.totals.macs


def test_roofline_groups_identical_layers():
    a = analysis_of(RESNET50)
    data = roofline(archcalc.load_spec(RESNET50), device=get_device("a100"), dtype="float16", batch_size=8)
    assert sum(l.count for l in data.layers) == sum(1 for r in a.layers if r.macs > 0)
    assert sum(l.macs for l in data.layers) == archcalc.analyze(archcalc.load_spec(RESNET50), batch_size=8).totals.macs
    assert len(data.layers) < sum(l.count for l in data.layers)


def test_devices_state_sources_and_mac_rates():
    for d in DEVICES.values():
        assert d.source and d.memory_bandwidth_bytes_per_s > 1e12
        assert set(d.peak_flops_per_s) <= set(DTYPE_BYTES)  # ceilings only for element types archcalc knows
    # datasheet FLOP/s (1 multiply-add = 2 FLOPs), dense: H100 SXM FP32 67 TF -> 33.5 TMAC/s; BF16 1,979 TF
    # with sparsity -> 989.4 TF dense -> 494.7 TMAC/s; A100 SXM TF32 156 TF -> 78 TMAC/s
    assert get_device("h100").peak_macs_per_s("float32") == pytest.approx(33.5e12)
    assert get_device("h100").peak_macs_per_s("bfloat16") == pytest.approx(494.7e12)
    assert get_device("a100").peak_macs_per_s("tf32") == pytest.approx(78e12)
    # bandwidth-bound below the ridge: H100 494.7 TMAC/s / 3.35 TB/s = 147.7 MACs per byte
    assert get_device("h100").ridge_macs_per_byte("bfloat16") == pytest.approx(494.7e12 / 3.35e12)
    with pytest.raises(archcalc.ArchcalcError, match="no float8 ceiling"):
        get_device("a100").peak_macs_per_s("float8")  # the A100 has no FP8 units


def bench_doc(name="ResNet-50", spec_path="specs/resnet50.yaml", precision="bfloat16"):
    macs = 4_089_184_256
    results = [{"batch_size": b, "status": "ok", "images_per_s": ips, "images_per_s_p10": ips * 0.9,
                "images_per_s_p90": ips * 1.1, "achieved_macs_per_s": ips * macs}
               for b, ips in ((1, 500.0), (16, 4000.0))]
    results.append({"batch_size": 512, "status": "oom", "images_per_s": None})
    return {"schema": "archcalc.bench/1", "device": "cuda", "setup": {"precision": precision},
            "environment": {"device_name": "NVIDIA H100 80GB HBM3"},
            "models": [{"name": name, "spec_path": spec_path, "macs_per_image": macs, "results": results}]}


def test_bench_measurements_and_throughput_series(tmp_path):
    f = tmp_path / "run.json"
    f.write_text(json.dumps(bench_doc()))
    g = tmp_path / "sub" / "run2.json"
    g.parent.mkdir()
    g.write_text(json.dumps(bench_doc(precision="float32")))
    ms = load_measurements([f, tmp_path / "sub"])
    assert [(m.batch_size, m.precision) for m in ms] == [(1, "bfloat16"), (16, "bfloat16"), (1, "float32"),
                                                          (16, "float32")]  # the OOM batch is left out
    series = throughput_series(ms)
    assert [(s.precision, s.batch_sizes, s.images_per_s) for s in series] == [
        ("bfloat16", (1, 16), (500.0, 4000.0)), ("float32", (1, 16), (500.0, 4000.0))]
    fig = draw_throughput(series)
    lines = fig.axes[0].get_lines()
    assert [list(l.get_ydata()) for l in lines] == [[500.0, 4000.0], [500.0, 4000.0]]
    with pytest.raises(archcalc.ArchcalcError):
        read_measurements({"no": "models"}, file="x.json")


def test_roofline_reuses_an_analysis_at_another_dtype():
    """The page's roofline is bfloat16, its analysis float32: shapes and multiply-adds do not depend on
    the dtype, so the roofline made from it is the one made from a bfloat16 analysis."""
    spec = archcalc.load_spec(RESNET50)
    h100 = get_device("h100")
    for dtype in ("bfloat16", "float32"):
        fresh = roofline(spec, device=h100, dtype=dtype, analysis=archcalc.analyze(spec, dtype=dtype))
        assert roofline(spec, device=h100, dtype=dtype, analysis=analysis_of(RESNET50)) == fresh
    with pytest.raises(archcalc.ArchcalcError, match="unknown dtype"):
        roofline(spec, device=h100, dtype="float7", analysis=analysis_of(RESNET50))


def test_roofline_measured_points():
    ms = read_measurements(bench_doc())
    data = roofline(archcalc.load_spec(RESNET50), device=get_device("h100"), dtype="bfloat16", measurements=ms)
    measured = [p for p in data.points if p.measured]
    assert [p.macs_per_s for p in measured] == [500.0 * 4_089_184_256, 4000.0 * 4_089_184_256]
    for p in measured:
        assert p.fraction_of_roof == pytest.approx(p.macs_per_s / data.roof(p.intensity))
    fig = draw_roofline(data)
    ax = fig.axes[0]
    stars = [tuple(c.get_offsets()[0]) for c in ax.collections if len(c.get_offsets()) == 1]
    assert all(any(s == pytest.approx((p.intensity, p.macs_per_s)) for s in stars) for p in measured)
    labels = [t for t in ax.texts if t.get_text().startswith(("measured", "whole model"))]
    assert len(labels) == 3 and overlaps(text_boxes(fig, labels)) == []


# --------------------------------------------------------------------------- output files and the CLI


@pytest.mark.parametrize("text", ["conv1", "roi_heads.box_head.predictor.bbox_pred.fc", "AVAVA Te,Wa.",
                                  "total 4.09 G;\n(9%)"])
def test_text_width_is_matplotlib_s_svg_measure(text):
    """text_width adds up glyph advances and kerning; matplotlib shapes the string (as the SVG
    and PDF backends measure it): the same width."""
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import TextToPath

    with style():
        prop = FontProperties(size=8)
        expected = max(TextToPath().get_text_width_height_descent(line, prop, ismath=False)[0]
                       for line in text.split("\n"))
        assert text_width(text, 8) == pytest.approx(expected, abs=0.02)


def test_marks_for_minor_ticks_match_matplotlib_minor_ticks():
    from matplotlib.lines import TICKDOWN, TICKLEFT

    from archcalc.plots.style import new_figure

    with style():
        fig = new_figure(6, 4)
        ax = fig.add_subplot()
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlim(0.05, 2000)
        ax.set_ylim(3e9, 2e15)
        expected = [[v for v in axis.get_minorticklocs() if lo <= v <= hi]
                    for axis, (lo, hi) in ((ax.xaxis, ax.get_xlim()), (ax.yaxis, ax.get_ylim()))]
        marks_for_minor_ticks(ax)
    assert not ax.xaxis.get_minorticklocs().size and not ax.yaxis.get_minorticklocs().size
    xs, ys = ax.lines
    assert list(xs.get_xdata()) == pytest.approx(expected[0]) and set(xs.get_ydata()) == {0}
    assert list(ys.get_ydata()) == pytest.approx(expected[1]) and set(ys.get_xdata()) == {0}
    assert (xs.get_marker(), ys.get_marker()) == (TICKDOWN, TICKLEFT)
    assert xs.get_markersize() == 2 and not xs.get_clip_on()
    assert (ax.get_xlim(), ax.get_ylim()) == ((0.05, 2000), (3e9, 2e15))  # the marks move no limit


def test_tick_text():
    assert [tick_text(t) for t in ("20.0 M", "1.50 MB", "105 M", "0.500 K")] == ["20 M", "1.5 MB", "105 M", "0.5 K"]


@pytest.mark.parametrize("fmt", ["png", "svg", "pdf"])
def test_layers_chart_formats(tmp_path, fmt, capsys):
    out = tmp_path / f"alexnet.{fmt}"
    assert main(["plot", "layers", str(ALEXNET), "-o", str(out)]) == 0
    data = out.read_bytes()
    assert data.startswith(MAGIC[fmt]) and len(data) > 10_000
    if fmt == "svg":
        assert b"<svg" in data and b"conv1" in data
    if fmt == "png":  # 150 dpi, white (opaque) background
        import struct
        width, height = struct.unpack(">II", data[16:24])
        assert width > 1000 and height > 500


def test_saved_figures_are_deterministic():
    """Two drawings of the same data give the same bytes. Reduced: saved at 50 dpi, not the 150 of
    the command (the resolution only scales the raster; test_layers_chart_formats checks 150 dpi)."""
    p = layer_profile(analysis_of(ALEXNET))
    for fmt in ("svg", "pdf", "png"):
        assert figure_bytes(draw_layer_profile(p), fmt, dpi=50) == figure_bytes(draw_layer_profile(p), fmt, dpi=50)
    svg = figure_bytes(draw_layer_profile(p), "svg")
    assert b"<dc:date>" not in svg and b"Matplotlib v" not in svg


SMALL_ZOO = ("alexnet.yaml", "vgg16.yaml", "resnet50.yaml", "mobilenet_v2.yaml", "efficientnet_b0.yaml",
             "convnext_tiny.yaml", "regnet_y_400mf.yaml", "regnet_x_400mf.yaml")
"""Enough specs for the command-line tests (the whole zoo's chart is checked from its data above and
drawn by the reports tree)."""


@pytest.fixture(scope="module")
def small_zoo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("small_zoo")
    for name in SMALL_ZOO:
        (folder / name).write_text((SPECS / name).read_text(encoding="utf-8"), encoding="utf-8")
    return folder


def _with_zoo(argv: list[str], zoo: Path) -> list[str]:
    return [str(zoo) if a == "{small_zoo}" else a for a in argv]


@pytest.mark.parametrize("argv", [
    ["accuracy", "{small_zoo}", "--x", "params", "--y", "top5"],
    ["scaling", str(SPECS / "resnet18.yaml"), "--multipliers", "0.5,1,2"],
    ["roofline", str(ALEXNET), "--device", "a100", "--dtype", "float16"],
], ids=lambda a: a[0])
def test_plot_commands(tmp_path, argv, capsys, small_zoo):
    out = tmp_path / "chart.png"
    assert main(["plot", *_with_zoo(argv, small_zoo), "-o", str(out)]) == 0
    assert out.read_bytes().startswith(MAGIC["png"]) and out.stat().st_size > 10_000


def test_plot_accuracy_recipe_option(tmp_path, capsys):
    for name in ("resnet18.yaml", "resnet50.yaml", "efficientnet_b0.yaml", "efficientnet_b1.yaml"):  # V1 and V2
        (tmp_path / name).write_text((SPECS / name).read_text())
    out = {}
    for recipe in ("original", "improved"):
        path = tmp_path / f"{recipe}.svg"
        assert main(["plot", "accuracy", str(tmp_path), "--recipe", recipe, "--labels", "all", "-o", str(path)]) == 0
        out[recipe] = path.read_text(encoding="utf-8")
    assert "original training recipes" in out["original"] and "newer training recipes" in out["improved"]
    assert "ResNet-50\u2021" in out["improved"] and "ResNet-50\u2021" not in out["original"]  # the V2 figure, marked
    assert "--recipe\u00a0improved" in out["original"] and "--recipe\u00a0original" in out["improved"]
    with pytest.raises(SystemExit) as exit_:  # argparse refuses an unknown recipe
        main(["plot", "accuracy", str(tmp_path), "--recipe", "v2", "-o", str(tmp_path / "x.svg")])
    assert exit_.value.code == 2 and "invalid choice: 'v2'" in capsys.readouterr().err


def test_plot_throughput_and_roofline_with_bench(tmp_path, capsys):
    f = tmp_path / "run.json"
    f.write_text(json.dumps(bench_doc()))
    assert main(["plot", "throughput", str(f), "-o", str(tmp_path / "t.svg")]) == 0
    assert main(["plot", "roofline", str(RESNET50), "--bench", str(tmp_path), "-o", str(tmp_path / "r.pdf")]) == 0
    assert (tmp_path / "r.pdf").read_bytes().startswith(MAGIC["pdf"])


@pytest.mark.parametrize("argv,message", [
    (["layers", str(ALEXNET), "-o", "x.gif"], "cannot tell the image format"),
    (["accuracy", "{small_zoo}", "--family", "no-such-family", "-o", "x.png"], "no spec to plot"),
    (["roofline", str(ALEXNET), "--device", "tpu", "-o", "x.png"], "unknown device"),
    (["roofline", str(ALEXNET), "--device", "a100", "--dtype", "float8", "-o", "x.png"], "no float8 ceiling"),
    (["throughput", "no-such-results.json", "-o", "x.png"], "no such results file"),
])
def test_plot_errors(tmp_path, capsys, argv, message, monkeypatch, small_zoo):
    monkeypatch.chdir(tmp_path)
    assert main(["plot", *_with_zoo(argv, small_zoo)]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not list(tmp_path.iterdir())  # nothing written


def test_figure_format():
    assert figure_format("a/b.SVG") == "svg"
    with pytest.raises(archcalc.ArchcalcError):
        figure_format("b.jpg")


def test_static_path_never_imports_matplotlib():
    code = ("import sys, archcalc.plots.accuracy, archcalc.plots.layers, archcalc.plots.roofline, "
            "archcalc.plots.scaling, archcalc.plots.throughput, archcalc.site, archcalc.commands.plot; "
            "print('matplotlib' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "False"
    t = subprocess.run([sys.executable, "-X", "importtime", "-m", "archcalc", "report", str(SPECS / "vgg16.yaml")],
                       capture_output=True, text=True, cwd=ROOT, check=True)
    assert "matplotlib" not in t.stderr and "VGG" in t.stdout
