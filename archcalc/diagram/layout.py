"""Geometry of the diagram: where each box, frame and edge goes, from the tree's structure alone.

The tree is series-parallel, so its layout follows its structure, bottom up, with no search:

* a sequence stacks its items on one vertical axis, an arrow between each two; a ``side`` item
  taps the axis and hangs its head in a lane to the right of everything beside it;
* a parallel (concat) puts its branches side by side under a split bus and joins them on a bus
  above the join box, which sits on the axis midway between the outer branches;
* a bypass (residual) runs its body on the axis and the shortcut in a lane to its right (a
  projection's boxes in the lane), into the side of the join (add) below the body;
* an unfolded block is a frame around its body, with its label right of the entry line.

Every coordinate is an integer (widths and heights are whole units, halves are floored), so the
page's script, which redoes this layout when a block is folded or unfolded (a port of this
module: :mod:`archcalc.diagram.script`), lands on the same numbers. Each node is placed in the
coordinates of its *container*: the body of the innermost unfolded block around it, or the root.
"""

from __future__ import annotations

__all__ = ["Geometry", "Frag", "layout", "node_key", "GAP", "HALF", "SEP", "PAD", "HEAD", "PASS_W", "TOGGLE",
           "LABEL_GAP", "LABEL_Y", "CONSTANTS"]

from dataclasses import dataclass, field
from typing import Collection, Mapping

from .structure import Block, Bypass, Leaf, Parallel, Seq, Side

GAP = 16  # vertical distance between stacked items (the arrow)
HALF = GAP // 2  # where buses and taps run inside a gap
SEP = 14  # horizontal distance between branches, lanes and their neighbours
PAD = 6  # frame padding
HEAD = 18  # a frame's label band
PASS_W = 8  # an identity branch's lane
TOGGLE = 12  # the fold/unfold button
LABEL_GAP = 6  # from the entry line to a frame's label
LABEL_Y = HEAD - 5  # the frame label's baseline
CONSTANTS = {"GAP": GAP, "HALF": HALF, "SEP": SEP, "PAD": PAD, "HEAD": HEAD, "PASS_W": PASS_W, "TOGGLE": TOGGLE,
             "LABEL_GAP": LABEL_GAP, "LABEL_Y": LABEL_Y}
"""The layout's constants, as the page's script receives them."""

Point = tuple[int, int]


@dataclass(frozen=True, slots=True)
class Edge:
    """A polyline of axis-parallel segments; ``arrow``: an arrowhead at its last point."""

    points: tuple[Point, ...]
    arrow: bool = True


@dataclass
class Frag:
    """An arrangement laid out in its own coordinates: size, axis (the x where the flow enters at the
    top and leaves at the bottom), the nodes placed in it and its edges."""

    w: int
    h: int
    ax: int
    parts: list[tuple[str, int, int]] = field(default_factory=list)  # (node key, x, y)
    edges: list[Edge] = field(default_factory=list)

    def shifted(self, dx: int, dy: int) -> tuple[list[tuple[str, int, int]], list[Edge]]:
        parts = [(k, x + dx, y + dy) for k, x, y in self.parts]
        edges = [Edge(tuple((x + dx, y + dy) for x, y in e.points), e.arrow) for e in self.edges]
        return parts, edges


@dataclass
class Geometry:
    """The laid-out diagram.

    ``size[key]``: (w, h, ax) of each node as drawn (a folded block's box, an unfolded one's frame);
    ``place[key]``: its (x, y) in its container; ``container[key]``: that container's key (``"root"``
    or a block's key); ``frame[key]``: a block's size unfolded; ``body[key]``: its body's origin (x, y)
    in the block; ``edges[container]``: the container's edges, in its body coordinates.
    ``width``/``height``: the whole network. Nothing inside a folded block is laid out.
    """

    size: dict[str, tuple[int, int, int]] = field(default_factory=dict)
    frame: dict[str, tuple[int, int, int]] = field(default_factory=dict)
    place: dict[str, tuple[int, int]] = field(default_factory=dict)
    container: dict[str, str] = field(default_factory=dict)
    body: dict[str, tuple[int, int]] = field(default_factory=dict)
    edges: dict[str, list[Edge]] = field(default_factory=dict)
    width: int = 0
    height: int = 0

    def absolute(self, key: str) -> tuple[int, int]:
        """A node's top-left corner in root coordinates."""
        x, y = self.place[key]
        outer = self.container[key]
        while outer != "root":
            bx, by = self.body[outer]
            ox, oy = self.place[outer]
            x, y = x + bx + ox, y + by + oy
            outer = self.container[outer]
        return x, y

    def origin(self, container: str) -> tuple[int, int]:
        """Where a container's body coordinates start, in root coordinates."""
        if container == "root":
            return 0, 0
        x, y = self.absolute(container)
        bx, by = self.body[container]
        return x + bx, y + by


def node_key(node: Leaf | Block) -> str:
    """``"r12"`` for analysis row 12, ``"g3"`` for group 3, ``"in"`` for the input box (row -1)."""
    if isinstance(node, Block):
        return f"g{node.group}"
    return f"r{node.row}" if node.row >= 0 else "in"


class _Layout:
    def __init__(self, sizes: Mapping[str, tuple[int, int]], labels: Mapping[str, int], unfolded: Collection[str]):
        self.sizes = sizes
        self.labels = labels
        self.unfolded = unfolded
        self.geo = Geometry()

    # -- nodes: a box, or an unfolded block's frame
    def node(self, node: Leaf | Block) -> tuple[int, int, int]:
        key = node_key(node)
        if isinstance(node, Block) and key in self.unfolded:
            frag = self.arrange(node.body)
            inner = PAD + max(0, PAD + TOGGLE + LABEL_GAP - frag.ax)  # room for the toggle left of the line
            ax = inner + frag.ax
            self.geo.frame[key] = (max(inner + frag.w + PAD, ax + LABEL_GAP + self.labels[key] + PAD),
                                   HEAD + frag.h + PAD, ax)
            self.geo.body[key] = (inner, HEAD)
            self.adopt(key, frag.parts)
            edges = [Edge(((frag.ax, -HEAD), (frag.ax, 0)), frag.h > 0 or bool(frag.parts))]
            if node.kind != "side":  # a side head's flow ends inside it
                edges.append(Edge(((frag.ax, frag.h), (frag.ax, frag.h + PAD)), False))
            self.geo.edges[key] = edges + frag.edges
            size = self.geo.frame[key]
        else:
            w, h = self.sizes[key]
            size = (w, h, w // 2)
        self.geo.size[key] = size
        return size

    def adopt(self, container: str, parts: list[tuple[str, int, int]]) -> None:
        for key, x, y in parts:
            self.geo.place[key] = (x, y)
            self.geo.container[key] = container

    # -- arrangements
    def arrange(self, arr: Seq | Parallel | Bypass) -> Frag:
        if isinstance(arr, Seq):
            return self.seq(arr)
        if isinstance(arr, Parallel):
            return self.parallel(arr)
        return self.bypass(arr)

    def seq(self, seq: Seq) -> Frag:
        sized = [(item.block, True, self.node(item.block)) if isinstance(item, Side) else (item, False, self.node(item))
                 for item in seq.items]
        axis = max((ax for _, side, (_, _, ax) in sized if not side), default=0)
        frag = Frag(0, 0, axis)
        # the main column, top to bottom: each main item, and a tap (height 0) for each side;
        # a tap waits until the head before it has ended, so heads never stand beside each other
        column: list[tuple[bool, int, int, int, int]] = []  # (side, index in sized, top, bottom, right)
        y = side_free = 0
        for i, (node, side, (w, h, ax)) in enumerate(sized):
            if column:
                y += GAP
            if side:
                y = max(y, side_free)
                side_free = y + HALF + h + HALF
                column.append((True, i, y, y, 0))
            else:
                frag.parts.append((node_key(node), axis - ax, y))
                column.append((False, i, y, y + h, axis - ax + w))
                y += h
        width = max((right for side, _, _, _, right in column if not side), default=0)
        height = y
        # each head in a lane right of every main item beside it, fed from its tap
        for side, i, top, _, _ in column:
            if not side:
                continue
            node, _, (w, h, ax) = sized[i]
            low = top + HALF + h
            x = max([axis + SEP] + [right + SEP for s, _, t, b, right in column if not s and t < low and b > top])
            frag.parts.append((node_key(node), x, top + HALF))
            frag.edges.append(Edge(((axis, top), (x + ax, top), (x + ax, top + HALF))))
            width = max(width, x + w)
            height = max(height, low)
        # the axis: an arrow into each main item from the one before, then a line to the bottom
        previous = None
        for side, _, top, bottom, _ in column:
            if not side:
                if previous is not None:
                    frag.edges.append(Edge(((axis, previous), (axis, top))))
                previous = bottom
        last = previous if previous is not None else 0
        if height > last:
            frag.edges.append(Edge(((axis, last), (axis, height)), False))
        frag.w, frag.h = width, height
        return frag

    def parallel(self, par: Parallel) -> Frag:
        sizes = [self.node(b) if b is not None else (PASS_W, 0, PASS_W // 2) for b in par.branches]
        jw, jh, jax = self.node(par.join)
        xs, x = [], 0
        for w, _, _ in sizes:
            xs.append(x)
            x += w + SEP
        axes = [bx + ax for bx, (_, _, ax) in zip(xs, sizes)]
        axis = (axes[0] + axes[-1]) // 2
        shift = max(0, jax - axis)
        xs, axes, axis = [v + shift for v in xs], [v + shift for v in axes], axis + shift
        low = GAP + max(h for _, h, _ in sizes)
        bus, join_y = low + HALF, low + GAP
        frag = Frag(max(xs[-1] + sizes[-1][0], axis - jax + jw), join_y + jh, axis)
        for branch, bx, a, (w, h, ax) in zip(par.branches, xs, axes, sizes):
            if branch is None:
                through = _path((axis, 0), (axis, HALF), (a, HALF), (a, bus), (axis, bus), (axis, join_y))
                frag.edges.append(Edge(through))
                continue
            frag.parts.append((node_key(branch), bx, GAP))
            frag.edges.append(Edge(_path((axis, 0), (axis, HALF), (a, HALF), (a, GAP))))
            frag.edges.append(Edge(_path((a, GAP + h), (a, bus), (axis, bus), (axis, join_y))))
        frag.parts.append((node_key(par.join), axis - jax, join_y))
        return frag

    def bypass(self, byp: Bypass) -> Frag:
        body = self.seq(byp.body)
        jw, jh, jax = self.node(byp.join)
        act = self.node(byp.act) if byp.act is not None else None
        axis = max(body.ax, jax, act[2] if act else 0)
        bx = axis - body.ax
        parts, edges = body.shifted(bx, GAP)
        frag = Frag(0, 0, axis, parts, edges)
        lane_x = max(bx + body.w, axis - jax + jw) + SEP
        short = self.node(byp.shortcut) if byp.shortcut is not None else None
        low = GAP + max(body.h, short[1] if short else 0)
        join_y = low + GAP
        mid = join_y + jh // 2
        into = (axis - jax + jw, mid)
        if body.h > 0 or body.parts:
            frag.edges.append(Edge(((axis, 0), (axis, GAP))))
            frag.edges.append(Edge(((axis, GAP + body.h), (axis, join_y))))
        else:
            frag.edges.append(Edge(((axis, 0), (axis, join_y))))
        if short is None:
            lane = lane_x
            frag.edges.append(Edge(_path((axis, HALF), (lane, HALF), (lane, mid), into)))
            right = lane + HALF // 2
        else:
            sw, sh, sax = short
            lane = lane_x + sax
            frag.parts.append((node_key(byp.shortcut), lane_x, GAP))  # type: ignore[arg-type]
            frag.edges.append(Edge(_path((axis, HALF), (lane, HALF), (lane, GAP))))
            frag.edges.append(Edge(_path((lane, GAP + sh), (lane, mid), into)))
            right = lane_x + sw
        frag.parts.append((node_key(byp.join), axis - jax, join_y))
        bottom = join_y + jh
        if act is not None:
            aw, ah, aax = act
            frag.parts.append((node_key(byp.act), axis - aax, bottom + GAP))  # type: ignore[arg-type]
            frag.edges.append(Edge(((axis, bottom), (axis, bottom + GAP))))
            right = max(right, axis - aax + aw)
            bottom += GAP + ah
        frag.w, frag.h = max(right, bx + body.w), bottom
        return frag


def _path(*points: Point) -> tuple[Point, ...]:
    """The polyline through ``points`` without repeated points."""
    out: list[Point] = []
    for p in points:
        if not out or out[-1] != p:
            out.append(p)
    return tuple(out)


def layout(tree: Seq, *, sizes: Mapping[str, tuple[int, int]], labels: Mapping[str, int],
           unfolded: Collection[str]) -> Geometry:
    """Lay out ``tree`` (its first item is usually the input box, ``Leaf(-1)``).

    ``sizes``: each box's (w, h) by node key (leaves, and blocks as folded boxes); ``labels``: the
    width of each block's frame label; ``unfolded``: the keys of the blocks drawn open.
    """
    run = _Layout(sizes, labels, unfolded)
    frag = run.seq(tree)
    run.adopt("root", frag.parts)
    run.geo.edges["root"] = frag.edges
    run.geo.width, run.geo.height = frag.w, frag.h
    run.geo.size["root"] = (frag.w, frag.h, frag.ax)
    return run.geo
