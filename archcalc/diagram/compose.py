"""A whole diagram: the tree, its boxes, which blocks are folded, the geometry, and the header
(title and colour legend). Pure data, drawn by :mod:`.svg` (SVG, and the HTML page) and
:mod:`.figure` (matplotlib: PNG, PDF).

Folding follows ``archcalc report --depth N``: a block nested ``N - 1`` levels deep (a group of
depth ``N - 1``) is drawn as one box, so the diagram at depth N has a box for each row of the
table at depth N. By default (:func:`auto_depth`) the deepest level whose drawing fits in
:data:`MAX_WIDTH` x :data:`MAX_HEIGHT` is chosen: ResNet-152 and DenseNet-264 show their stages,
GoogLeNet its inception modules' branches.
"""

from __future__ import annotations

__all__ = ["Diagram", "Header", "network_diagram", "make_header", "auto_depth", "unfolded_at", "MARGIN", "MAX_WIDTH",
           "MAX_HEIGHT", "LEGEND_BAR", "default_title"]

from dataclasses import dataclass

from ..analysis import Analysis
from ..spec import Spec
from ..units import human_count
from .content import ASCENT, DETAIL_SIZE, Content, Text, diagram_content
from .layout import Edge, Geometry, layout, node_key
from .scale import ColorScale
from .structure import Leaf, Seq, blocks, network_tree

MARGIN = 12
MAX_WIDTH, MAX_HEIGHT = 1150, 2600  # the default folding's budget: the width of a report page
TITLE_SIZE, TICK_SIZE = 13, 9
LEGEND_BAR = (180, 10)  # the colour ramp's width and height


@dataclass(frozen=True)
class Header:
    """Title and legend, in diagram coordinates: ``texts``; the ramp ``bar`` (x, y, w, h) with ``ticks``
    (x, y0, y1) under it, and the white ``zero`` swatch (x, y, w, h); ``height`` above the network."""

    texts: tuple[Text, ...]
    bar: tuple[int, int, int, int] | None
    ticks: tuple[tuple[float, int, int], ...]
    zero: tuple[int, int, int, int] | None
    width: int
    height: int


@dataclass(frozen=True)
class Diagram:
    """A laid-out network diagram (see :func:`network_diagram`)."""

    name: str
    tree: Seq  # the network, its first item the input box (Leaf(-1))
    content: Content
    unfolded: frozenset[str]  # keys of the blocks drawn open
    geometry: Geometry
    header: Header
    color_by: str
    depth: int | None  # the folding level (None: every block open)

    @property
    def width(self) -> int:
        return max(self.header.width, self.geometry.width) + 2 * MARGIN

    @property
    def height(self) -> int:
        return self.header.height + self.geometry.height + 2 * MARGIN

    @property
    def origin(self) -> tuple[int, int]:
        """Where the network's root coordinates start."""
        return MARGIN, MARGIN + self.header.height

    def drawn(self) -> tuple[list[tuple[str, int, int]], list[tuple[Edge, int, int]]]:
        """What is visible, in drawing order: each node's key with its top-left corner, and each edge
        with the origin of its container's coordinates (both in root coordinates)."""
        geo = self.geometry
        kids: dict[str, list[str]] = {}
        for key, outer in geo.container.items():
            kids.setdefault(outer, []).append(key)
        nodes: list[tuple[str, int, int]] = []
        edges: list[tuple[Edge, int, int]] = []

        def visit(container: str, ox: int, oy: int) -> None:
            edges.extend((e, ox, oy) for e in geo.edges.get(container, []))
            for key in kids.get(container, []):
                x, y = geo.place[key]
                nodes.append((key, ox + x, oy + y))
                if key in self.unfolded:
                    bx, by = geo.body[key]
                    visit(key, ox + x + bx, oy + y + by)

        visit("root", 0, 0)
        return nodes, edges


def unfolded_at(tree: Seq, analysis: Analysis, depth: int | None) -> frozenset[str]:
    """The blocks drawn open at folding ``depth`` (as ``--depth``; None: all); a block with no rows (a tap)
    stays a chip."""
    groups = analysis.groups
    return frozenset(node_key(b) for b in blocks(tree) if groups[b.group].stop > groups[b.group].first
                     and (depth is None or groups[b.group].depth < depth - 1))


def auto_depth(tree: Seq, analysis: Analysis, content: Content) -> int | None:
    """The deepest folding whose drawing fits :data:`MAX_WIDTH` x :data:`MAX_HEIGHT` (None: every
    block open fits), else 1."""
    deepest = max((g.depth for g in analysis.groups), default=-1) + 1
    sizes, labels = content.sizes, content.label_widths
    for depth in [None, *range(deepest, 0, -1)]:
        geo = layout(tree, sizes=sizes, labels=labels, unfolded=unfolded_at(tree, analysis, depth))
        if geo.width <= MAX_WIDTH and geo.height <= MAX_HEIGHT:
            return depth
    return 1


def make_header(title: str | None, scale: ColorScale | None) -> Header:
    """The diagram's title lines and colour legend (a diagram laid out once can take another title)."""
    texts: list[Text] = []
    y = 0
    width = 0
    if title:
        texts.append(Text(title, 0, round(ASCENT * TITLE_SIZE, 2), TITLE_SIZE, True))
        width = int(texts[0].width) + 1
        y = TITLE_SIZE + 9
    bar = zero = None
    ticks: list[tuple[float, int, int]] = []
    if scale is not None:
        caption = Text(f"colour: {scale.label} (log scale)" if scale.hi > 0 else f"colour: {scale.label} (all zero)",
                       0, round(y + ASCENT * DETAIL_SIZE, 2), DETAIL_SIZE)
        texts.append(caption)
        x = int(caption.width) + 10
        if scale.hi > 0:
            bw, bh = LEGEND_BAR
            bar = (x, y + 1, bw, bh)
            for t, label in scale.ticks():
                tx = round(x + t * bw, 1)
                ticks.append((tx, y + 1 + bh, y + 1 + bh + 3))
                texts.append(Text(label, tx, round(y + bh + 5 + ASCENT * TICK_SIZE, 2), TICK_SIZE, anchor="middle"))
            x += bw + 16
        zero = (x, y + 1, 10, 10)
        zero_text = Text("0", x + 14, round(y + ASCENT * DETAIL_SIZE, 2), DETAIL_SIZE)
        texts.append(zero_text)
        width = max(width, int(x + 14 + zero_text.width) + 1, *(int(t.x + t.width / 2) + 1 for t in texts
                                                                 if t.anchor == "middle"))
        y += LEGEND_BAR[1] + 5 + TICK_SIZE + 14
    return Header(tuple(texts), bar, tuple(ticks), zero, width, y)


def default_title(analysis: Analysis) -> str:
    t = analysis.totals
    return f"{analysis.name}: {human_count(t.params)} params, {human_count(t.macs)} MACs"


def network_diagram(spec: Spec, *, analysis: Analysis | None = None, depth: int | None | str = "auto",
                    color_by: str = "macs", title: str | None = "",
                    unfolded: frozenset[str] | set[str] | None = None) -> Diagram:
    """The diagram of ``spec`` (analyzed here unless ``analysis`` is given).

    ``depth``: folding level as ``--depth`` (``"auto"``: :func:`auto_depth`; None: all open);
    ``unfolded`` overrides it with the keys of the blocks to draw open. ``color_by``: macs,
    params, memory or none. ``title``: ``""`` for the default (name, params, MACs), None for none.
    """
    if analysis is None:
        from ..analysis import analyze

        analysis = analyze(spec)
    net = network_tree(spec, analysis)
    tree = Seq((Leaf(-1), *net.items))
    content = diagram_content(tree, analysis, color_by=color_by)
    if unfolded is None:
        if depth == "auto":
            depth = auto_depth(tree, analysis, content)
        if depth is not None and (not isinstance(depth, int) or isinstance(depth, bool) or depth < 1):
            raise ValueError("depth must be a positive integer, None or 'auto'")
        unfolded = unfolded_at(tree, analysis, depth)  # type: ignore[arg-type]
    else:
        depth = None
    geo = layout(tree, sizes=content.sizes, labels=content.label_widths, unfolded=unfolded)
    header = make_header(default_title(analysis) if title == "" else title, content.scale)
    return Diagram(analysis.name, tree, content, frozenset(unfolded), geo, header, color_by,
                   depth if isinstance(depth, int) else None)

