"""The network diagram: its tree holds every analysis row once, its layout overlaps nothing (checked
from the geometry over the whole zoo, and from matplotlib's drawn text), its text widths are the
font's, its colours read, and `archcalc plot graph` writes SVG, PNG and PDF without any system binary.

The page's behaviour in a real browser is in ``test_browser.py``."""

from __future__ import annotations

import json
import re
import sys

import pytest

import archcalc
from archcalc.cli import main
from archcalc.diagram import COLOR_BY, network_diagram, render_svg
from archcalc.diagram.compose import MAX_HEIGHT, MAX_WIDTH
from archcalc.diagram.content import ASCENT, relative_name
from archcalc.diagram.layout import GAP, HALF, HEAD, LABEL_GAP, LABEL_Y, PAD, SEP, node_key
from archcalc.diagram.metrics import text_width
from archcalc.diagram.scale import RAMP, ColorScale, contrast, ramp_color
from archcalc.diagram.page import data_json, diagram_data, page_fragment
from archcalc.diagram.structure import ARRANGEMENTS, Block, Leaf, Side, blocks, leaves, network_tree
from archcalc.kinds import KINDS
from archcalc.plots.labels import Box, overlaps
from archcalc.spec import parse_spec
from conftest import SPECS, zoo_analysis, zoo_spec, zoo_specs

EPS = 0.01


def load(stem: str):
    return zoo_spec(SPECS / f"{stem}.yaml")


def default_diagram(path):
    """The zoo spec's diagram as drawn by default (the spec loaded and analyzed once per process: conftest).
    Not kept itself: the zoo's diagrams are 300,000 objects that every later full garbage collection
    would walk, which cost more than drawing each a second time."""
    return network_diagram(zoo_spec(path), analysis=zoo_analysis(path))


def tiny(layers: str, input_shape: str = "[4, 8, 8]"):
    return parse_spec(f"name: tiny\ninput: {input_shape}\nlayers:\n{layers}")


# --------------------------------------------------------------------------- geometry checks


def drawn_rects(d):
    """Absolute rectangles of what is visible: boxes (leaves and folded blocks), frames, and every
    text with its owner, from the geometry and the measured text."""
    nodes, edges = d.drawn()
    boxes, frames, texts = [], [], []
    for key, x, y in nodes:
        if key in d.unfolded:
            w, h, ax = d.geometry.frame[key]
            frames.append((key, x, y, x + w, y + h))
            label = d.content.labels[key]
            x0 = x + ax + LABEL_GAP
            texts.append((key, x0, y + LABEL_Y - ASCENT * 10, x0 + label.w, y + LABEL_Y + 0.236 * 10))
        else:
            b = d.content.boxes[key]
            boxes.append((key, x, y, x + b.w, y + b.h))
            for t in b.texts:
                x0, y0, x1, y1 = t.extent()
                texts.append((key, x + x0, y + y0, x + x1, y + y1))
    return boxes, frames, texts, edges


def intersecting(rects):
    """Pairs of rectangles whose interiors intersect (a sweep over y)."""
    rects = sorted(rects, key=lambda r: r[2])
    out = []
    for i, a in enumerate(rects):
        for b in rects[i + 1:]:
            if b[2] >= a[4] - EPS:
                break
            if b[1] < a[3] - EPS and a[1] < b[3] - EPS:
                out.append((a[0], b[0]))
    return out


def inside(a, b) -> bool:
    return a[1] >= b[1] - EPS and a[2] >= b[2] - EPS and a[3] <= b[3] + EPS and a[4] <= b[4] + EPS


class Grid:
    """Rectangles bucketed in horizontal bands, to find those near a segment without a quadratic scan."""

    def __init__(self, rects, band: int = 200):
        self.band, self.rows = band, {}
        for r in rects:
            for i in range(int(r[2] // band), int(r[4] // band) + 1):
                self.rows.setdefault(i, []).append(r)

    def near(self, y0: float, y1: float):
        seen = {}
        for i in range(int(y0 // self.band), int(y1 // self.band) + 1):
            for r in self.rows.get(i, []):
                seen[id(r)] = r
        return seen.values()


def layout_problems(d) -> list[str]:
    """Everything a reader would call a drawing error, as messages (empty: none)."""
    boxes, frames, texts, edges = drawn_rects(d)
    framed = {f[0] for f in frames}
    problems = [f"boxes overlap: {a} {b}" for a, b in intersecting(boxes)]
    problems += [f"texts overlap: {a} {b}" for a, b in intersecting(texts)]
    owner = {b[0]: b for b in boxes + frames}
    problems += [f"text outside its box: {t}" for t in texts if not inside(t, owner[t[0]])]
    problems += [f"frames cross: {a} {b}" for a, b in intersecting(frames)
                 if not (inside(owner[a], owner[b]) or inside(owner[b], owner[a]))]
    problems += [f"box crosses a frame: {a} {b}" for a, b in intersecting(boxes + frames)
                 if (a in framed) != (b in framed) and not (inside(owner[a], owner[b]) or inside(owner[b], owner[a]))]
    labels = [t for t in texts if t[0] in framed]
    problems += [f"frame label on a box: {a} {b}" for a, b in intersecting(labels + boxes)
                 if (a in framed) != (b in framed)]
    near_boxes, near_texts = Grid(boxes), Grid(texts)
    for e, ox, oy in edges:
        pts = [(x + ox, y + oy) for x, y in e.points]
        for (x0, y0), (x1, y1) in zip(pts, pts[1:]):
            if x0 != x1 and y0 != y1:
                problems.append(f"diagonal edge {pts}")
            sx0, sy0, sx1, sy1 = min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)
            for b in near_boxes.near(sy0, sy1):  # an edge may end on a box's border, never run through it
                if sx0 < b[3] - 0.5 and sx1 > b[1] + 0.5 and sy0 < b[4] - 0.5 and sy1 > b[2] + 0.5:
                    problems.append(f"edge {pts} through {b[0]}")
            for t in near_texts.near(sy0, sy1):
                if sx0 < t[3] and sx1 > t[1] and sy0 < t[4] and sy1 > t[2]:
                    problems.append(f"edge {pts} through the text of {t[0]}")
    g = d.geometry
    problems += [f"outside the network: {r}" for r in boxes + frames
                 if r[1] < 0 or r[2] < 0 or r[3] > g.width + EPS or r[4] > g.height + EPS]
    return problems


# --------------------------------------------------------------------------- the tree


def test_every_composite_kind_has_an_arrangement():
    assert set(ARRANGEMENTS) == {tag for tag, k in KINDS.items() if k.composite}


@pytest.mark.parametrize("path", zoo_specs(), ids=lambda p: p.stem)
def test_tree_holds_every_row_once_and_every_group(path):
    spec, a = zoo_spec(path), zoo_analysis(path)
    tree = network_tree(spec, a)
    assert [leaf.row for leaf in leaves(tree)] == list(range(len(a.layers)))
    groups = [b.group for b in blocks(tree)]
    assert sorted(groups) == list(range(len(a.groups)))  # every composite is a block, once
    for b in blocks(tree):  # a block holds exactly its group's rows
        g = a.groups[b.group]
        assert sorted(leaf.row for leaf in leaves(b)) == list(range(g.first, g.stop)), g.name
        assert b.kind == g.type


def test_tree_arrangements_follow_the_kinds():
    spec = tiny("""\
  - {name: head, type: side, layers: [{type: global_avgpool}, {type: flatten}, {type: linear, out: 3}]}
  - name: res
    type: residual
    shortcut: projection
    activation: relu
    body: [{type: conv, out: 8, kernel: 3, stride: 2, padding: 1}]
  - name: cat
    type: concat
    branches: [[], [{type: conv, out: 2, kernel: 1}]]
""")
    a = archcalc.analyze(spec)
    side, res, cat = network_tree(spec, a).items
    assert isinstance(side, Side) and side.block.kind == "side"
    assert res.kind == "residual" and res.body.shortcut is not None  # the projection the analysis added
    shortcut = [a.layers[leaf.row].name for leaf in leaves(res.body.shortcut)]
    assert shortcut == ["res.shortcut.conv", "res.shortcut.batchnorm"]
    assert a.layers[res.body.join.row].name == "res.add" and a.layers[res.body.act.row].name == "res.act"
    assert cat.body.branches[0] is None and isinstance(cat.body.branches[1], Block)  # identity, then a branch
    assert a.layers[cat.body.join.row].type == "concat"


def test_optional_shortcut_without_a_join_is_a_plain_sequence():
    spec = tiny("""\
  - {name: r, type: residual, shortcut: optional, body: [{type: conv, out: 8, kernel: 1}]}
""")
    (block,) = network_tree(spec, archcalc.analyze(spec)).items
    assert block.kind == "residual" and [type(i) for i in block.body.items] == [Leaf]  # 4 -> 8 channels: no add


def test_relative_names():
    assert relative_name("conv2_x.block1.conv1", "conv2_x.block1") == "conv1"
    assert relative_name("conv2_x.block1", "") == "conv2_x.block1"  # at the top level: the whole path
    assert relative_name("conv2_xx.a", "conv2_x") == "conv2_xx.a"  # a prefix of the text, not of the path


# --------------------------------------------------------------------------- the layout


@pytest.mark.parametrize("path", zoo_specs(), ids=lambda p: p.stem)
def test_default_diagram_overlaps_nothing_and_fits(path):
    d = default_diagram(path)
    assert layout_problems(d) == []
    if d.depth != 1:  # the default folding is the deepest that fits (or stages, the shallowest)
        assert d.geometry.width <= MAX_WIDTH and d.geometry.height <= MAX_HEIGHT


@pytest.mark.parametrize("path", zoo_specs(), ids=lambda p: p.stem)
def test_unfolded_diagram_overlaps_nothing(path):
    assert layout_problems(network_diagram(zoo_spec(path), analysis=zoo_analysis(path), depth=None)) == []


def test_default_folding_at_zoo_scale():
    """ResNet-152 and DenseNet-264 show their stages, GoogLeNet and Inception-v3 their modules' branches,
    U-Net every skip."""
    for stem in ("resnet152", "densenet264"):
        d = network_diagram(load(stem))
        assert d.depth == 1, stem
        stages = [b for b in blocks(d.tree) if d.geometry.size.get(node_key(b)) and node_key(b) not in d.unfolded]
        assert 4 <= len(stages) <= 8, stem
    for stem in ("googlenet", "inception_v3"):
        d = network_diagram(load(stem))
        concats = [b for b in blocks(d.tree) if b.kind == "concat"]
        top = [b for b in concats if node_key(b) in d.geometry.place and d.geometry.container[node_key(b)] == "root"]
        assert top and all(node_key(b) in d.unfolded for b in top), stem  # each module open: branches side by side
    d = network_diagram(load("unet"))
    assert all(node_key(b) in d.unfolded for b in blocks(d.tree) if b.kind == "concat")  # every skip drawn


def test_sequence_geometry():
    # input chip, conv box, relu chip: each one GAP below the one before, centred on one axis
    spec = tiny("  - {type: conv, out: 8, kernel: 3, padding: 1}\n  - {type: relu}\n")
    d = network_diagram(spec, title=None, color_by="none")
    g = d.geometry
    (_, y_in), (_, y_conv), (_, y_relu) = g.place["in"], g.place["r0"], g.place["r1"]
    h_in, h_conv = d.content.boxes["in"].h, d.content.boxes["r0"].h
    assert y_conv == y_in + h_in + GAP and y_relu == y_conv + h_conv + GAP
    axes = {x + d.content.boxes[k].w // 2 for k, (x, _) in g.place.items()}
    assert len(axes) == 1


def test_residual_geometry():
    spec = tiny("""\
  - name: res
    type: residual
    shortcut: projection
    body: [{type: conv, out: 8, kernel: 3, stride: 2, padding: 1}, {type: relu}]
""")
    d = network_diagram(spec, depth=None, title=None)
    g = d.geometry
    body_right = max(g.absolute(k)[0] + g.size[k][0] for k in ("r0", "r1"))
    short = next(node_key(b) for b in blocks(d.tree) if d.content.boxes[node_key(b)].row == "res.shortcut")
    sx, sy = g.absolute(short)
    assert sx == body_right + SEP  # the shortcut's lane, right of the body
    assert sy == g.absolute("r0")[1]  # level with the body's top
    add = next(k for k, b in d.content.boxes.items() if b.row == "res.add")
    ax, ay = g.absolute(add)
    assert ay == max(g.absolute("r1")[1] + g.size["r1"][1], sy + g.size[short][1]) + GAP  # below both
    axis = g.absolute("r0")[0] + g.size["r0"][2]
    assert ax + g.size[add][2] == axis  # on the body's axis
    assert layout_problems(d) == []


def test_concat_and_side_geometry():
    spec = tiny("""\
  - name: cat
    type: concat
    branches: [[], [{type: conv, out: 2, kernel: 1}, {type: relu}], [{type: conv, out: 2, kernel: 3, padding: 1}]]
  - {name: aux, type: side, layers: [{type: global_avgpool}, {type: flatten}, {type: linear, out: 3}]}
  - {type: conv, out: 4, kernel: 1}
  - {type: conv, out: 4, kernel: 1}
""")
    d = network_diagram(spec, depth=None, title=None)
    g = d.geometry
    branches = [b for b in blocks(d.tree) if b.kind == "branch"]
    (x1, y1), (x2, y2) = (g.absolute(node_key(b)) for b in branches)
    assert y1 == y2 and x2 == x1 + g.size[node_key(branches[0])][0] + SEP  # side by side, tops level
    side = next(b for b in blocks(d.tree) if b.kind == "side")
    main = [k for k, b in d.content.boxes.items() if b.row in ("conv3", "conv4")]
    sx, sy = g.absolute(node_key(side))
    assert all(sx >= g.absolute(k)[0] + g.size[k][0] + SEP for k in main)  # the head beside the main path
    cat = next(node_key(b) for b in blocks(d.tree) if b.kind == "concat")
    join = next(k for k, b in d.content.boxes.items() if b.row == "cat.concat")
    frame_bottom = g.absolute(cat)[1] + g.size[cat][1]
    assert frame_bottom == g.absolute(join)[1] + g.size[join][1] + PAD  # the concat's frame ends PAD below its join
    assert sy == frame_bottom + GAP + HALF  # the tap sits GAP below the frame, the head HALF below the tap
    assert layout_problems(d) == []


def test_frame_padding():
    spec = tiny("  - {name: s, type: sequential, layers: [{type: conv, out: 8, kernel: 1}]}\n")
    d = network_diagram(spec, depth=None, title=None)
    g = d.geometry
    (key,) = [node_key(b) for b in blocks(d.tree)]
    bx, by = g.body[key]
    w, h, _ = g.frame[key]
    assert by == HEAD and bx >= PAD and h == HEAD + g.size["r0"][1] + PAD  # label band, box, padding


def test_depth_folds_like_the_report():
    spec = load("resnet50")
    a = archcalc.analyze(spec)
    for depth in (1, 2, 3):
        d = network_diagram(spec, analysis=a, depth=depth)
        nodes, _ = d.drawn()
        shown = sorted(d.content.boxes[k].row for k, _, _ in nodes if k not in d.unfolded and k != "in")
        assert shown == sorted(r.name for r in a.rows_at_depth(depth)), depth


# --------------------------------------------------------------------------- text, colour, header


def test_text_widths_are_the_fonts():
    """The width table is DejaVu Sans's: matplotlib's own text layout (with kerning) never comes out
    wider, and only kerned pairs (AV, WA) make it narrower."""
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import TextToPath

    to_path = TextToPath()
    for text, slack in (("conv2_x.block1", 0.005), ("conv 3x3/2 \u00b7 256x56x56", 0.005),
                        ("118 M MACs \u00b7 9.41 K params", 0.005), ("WAVE fiji |", 0.03)):
        for bold in (False, True):
            prop = FontProperties(family="DejaVu Sans", weight="bold" if bold else "normal", size=100)
            measured, _, _ = to_path.get_text_width_height_descent(text, prop, ismath=False)
            ours = text_width(text, 100, bold=bold)
            assert measured - 0.5 <= ours <= measured * (1 + slack) + 0.5, (text, bold, ours, measured)


def test_color_scale():
    scale = ColorScale.of([0, 1_000, 10_000, 100_000], label="MACs", fmt=lambda v: f"{v:.0f}")
    assert (scale.lo, scale.hi) == (1_000, 100_000)  # zero is white, not the scale's low end
    assert scale.color(0) == "#ffffff" and scale.color(1_000) == RAMP[0] and scale.color(100_000) == RAMP[-1]
    assert scale.fraction(10_000) == pytest.approx(0.5)  # log10: (4 - 3) / (5 - 3)
    assert [label for _, label in scale.ticks()] == ["1000", "10000", "100000"]
    many = ColorScale.of([1, 10**9], label="x", fmt=str)  # ten decades: every second one
    assert [t for t, _ in many.ticks()] == pytest.approx([0, 2 / 9, 4 / 9, 6 / 9, 8 / 9])
    assert ColorScale.of([0], label="x", fmt=str).ticks() == []
    assert ramp_color(0.5) not in RAMP and ramp_color(0.0) == RAMP[0]


def test_every_fill_keeps_the_text_readable():
    for color in RAMP:
        assert contrast(color, "#1b1b1b") >= 4.5  # WCAG AA for the box text


@pytest.mark.parametrize("color_by", COLOR_BY)
def test_colour_follows_the_chosen_cost(color_by):
    spec, a = load("alexnet"), archcalc.analyze(load("alexnet"))
    d = network_diagram(spec, analysis=a, color_by=color_by)
    fills = {d.content.boxes[f"r{i}"].fill for i in range(len(a.layers))}
    if color_by == "none":
        assert len(fills) == 1 and d.content.scale is None and "colour" not in render_svg(d)
        return
    value = {"macs": "macs", "params": "params", "memory": "activation_bytes"}[color_by]
    ranked = sorted(range(len(a.layers)), key=lambda i: getattr(a.layers[i], value))
    biggest, zero = ranked[-1], [i for i in ranked if getattr(a.layers[i], value) == 0]
    assert d.content.boxes[f"r{biggest}"].fill == RAMP[-1] or d.content.scale.hi > getattr(a.layers[biggest], value)
    assert all(d.content.boxes[f"r{i}"].fill == "#ffffff" for i in zero)
    assert d.content.scale.label in render_svg(d)


def test_boxes_say_name_kind_shape_and_cost():
    d = network_diagram(load("alexnet"), depth=None)
    conv1 = d.content.boxes["r0"]
    assert [t.text for t in conv1.texts] == ["conv1", "conv 11x11/4 \u00b7 96x55x55", "105 M MACs \u00b7 34.9 K params"]
    d = network_diagram(load("googlenet"), depth=2)
    branch = next(b for b in d.content.boxes.values() if b.row == "inception3a.branch3x3")
    assert branch.texts[1].text.startswith("branch: 1x1 \u2192 3x3")  # a folded branch shows its windows


# --------------------------------------------------------------------------- drawn objects


@pytest.mark.parametrize("stem,depth", [("alexnet", "auto"), ("googlenet_aux", "auto"), ("unet", None),
                                        ("inception_v3_aux", "auto"), ("resnet50", 3)])
def test_drawn_text_does_not_overlap(stem, depth):
    """Like the charts' label tests: every text matplotlib drew, measured by its renderer, overlaps no
    other, and lies inside the box or frame it labels (or in the header above the network)."""
    from archcalc.diagram.figure import draw_diagram

    d = network_diagram(load(stem), depth=depth)
    fig = draw_diagram(d)
    renderer = fig.canvas.get_renderer()
    ax = fig.axes[0]
    texts = [t for t in ax.texts if t.get_text().strip()]
    boxes = [Box(*t.get_window_extent(renderer).extents) for t in texts]
    assert len(texts) >= len(d.drawn()[0])  # every node has its text
    assert overlaps(boxes) == [], [(texts[i].get_text(), texts[j].get_text()) for i, j in overlaps(boxes)]
    shapes = [Box(*p.get_window_extent(renderer).extents) for p in ax.patches]
    header_bottom = fig.bbox.height * (1 - d.origin[1] / d.height)  # display y grows upwards
    stray = [t.get_text() for t, b in zip(texts, boxes)
             if b.y0 < header_bottom and not any(b.inside(Box(s.x0 - 0.5, s.y0 - 0.5, s.x1 + 0.5, s.y1 + 0.5))
                                                 for s in shapes)]
    assert stray == []
    assert all(b.inside(Box(*fig.bbox.extents)) for b in boxes)


def test_svg_is_deterministic_and_self_contained():
    spec = load("googlenet_aux")
    one, two = render_svg(network_diagram(spec)), render_svg(network_diagram(spec))
    assert one == two and one.startswith("<svg") and one.rstrip().endswith("</svg>")
    assert not re.search(r'(href|src)="(?!#)', one)  # no external references
    assert "<title>" in one  # tooltips in the static file


def test_page_fragment_carries_the_rest_as_data():
    d = network_diagram(load("densenet264"), title=None)
    fragment = page_fragment(d)
    data = json.loads(data_json(d))
    assert data == json.loads(json.dumps(diagram_data(d)))
    a = zoo_analysis(SPECS / "densenet264.yaml")
    assert len(data["rows"]) == len(a.layers) and len(data["groups"]) == len(a.groups)
    hidden = [k for k in d.content.boxes if k not in d.geometry.place]
    assert hidden and all(f'id="adg-{k}"' not in fragment for k in hidden)  # folded insides are data, not SVG
    assert len(fragment) < 150_000, len(fragment)  # DenseNet-264 folded to its stages
    assert "</script" not in data_json(d).lower()
    # a thousand repeated blocks are a few dozen distinct boxes
    data = diagram_data(network_diagram(load("cifar_resnet1202"), analysis=zoo_analysis(SPECS / "cifar_resnet1202.yaml"),
                                        title=None))
    assert len(data["look"]) < 1000 < len(data["rows"])


@pytest.mark.parametrize("path", zoo_specs(), ids=lambda p: p.stem)
def test_row_names_follow_from_the_blocks_around_them(path):
    """The page's script names each box's row as its parent block's row + "." + the box's name."""
    d = default_diagram(path)

    def check(node, parent: str) -> None:
        if isinstance(node, (Leaf, Block)):
            box = d.content.boxes[node_key(node)]
            assert box.row == (f"{parent}.{box.name}" if parent and box.name else box.name)
            parent = box.row if isinstance(node, Block) else parent
        children = {Side: lambda n: [n.block], Block: lambda n: [n.body]}.get(type(node))
        for child in (children(node) if children else _children(node)):
            check(child, parent)

    check(d.tree, "")


def _children(node):
    from archcalc.diagram.structure import Bypass, Parallel, Seq

    if isinstance(node, Seq):
        return list(node.items)
    if isinstance(node, Parallel):
        return [b for b in node.branches if b is not None] + [node.join]
    if isinstance(node, Bypass):
        return [node.body, *(x for x in (node.shortcut, node.join, node.act) if x is not None)]
    return []


def test_import_does_not_load_matplotlib():
    import subprocess

    code = "import archcalc.diagram, archcalc.diagram.svg, sys; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# --------------------------------------------------------------------------- the command


@pytest.mark.parametrize("ext,magic", [("svg", b"<?xml"), ("png", b"\x89PNG"), ("pdf", b"%PDF")])
def test_plot_graph_writes_each_format(tmp_path, ext, magic, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no system binary (dot or any other) is reachable
    out = tmp_path / f"g.{ext}"
    assert main(["plot", "graph", str(SPECS / "googlenet.yaml"), "-o", str(out), "--depth", "1"]) == 0
    assert out.read_bytes().startswith(magic)


def test_plot_graph_options(tmp_path, capsys):
    out = tmp_path / "r.svg"
    assert main(["plot", "graph", str(SPECS / "resnet18.yaml"), "-o", str(out), "--color", "memory",
                 "--title", "R18"]) == 0
    text = out.read_text()
    assert ">R18</text>" in text and "output memory" in text
    assert main(["plot", "graph", str(SPECS / "resnet18.yaml"), "-o", str(out), "--unfold-all", "--color", "none"]) == 0
    assert "colour" not in out.read_text() and "blk" in out.read_text()
    assert main(["plot", "graph", str(SPECS / "resnet18.yaml"), "-o", str(tmp_path / "r.gif")]) == 2
    assert "extension" in capsys.readouterr().err


def test_plot_graph_png_of_a_huge_diagram_stays_within_limits(tmp_path):
    from archcalc.diagram.figure import MAX_PIXELS, png_dpi

    d = network_diagram(load("densenet264"), depth=None)
    assert max(d.width, d.height) / 72 * png_dpi(d) <= MAX_PIXELS
