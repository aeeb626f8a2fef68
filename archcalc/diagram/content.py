"""What each box says, its size and its colour: the words of the diagram, measured.

A layer is a *box* (name; kind and output shape; cost), or a one-line *chip* when its kind leaves
no mark on the cost charts (activations, normalizations, dropout, flatten: ``hidden_in_chart``)
and for a concat's join; a residual's add or multiply is a small circle. A folded block is a box
with a fold button (name; kind, layer count and output shape; cost), an unfolded one a frame whose
label gives its name and kind. Names are shown relative to the block around them (the full
dotted path is in the tooltip and links the box to its table row).
"""

from __future__ import annotations

__all__ = ["Text", "Box", "Label", "Content", "diagram_content", "COLOR_BY", "PAD_X", "CHIP_H", "JOIN_D",
           "NAME_SIZE", "DETAIL_SIZE", "relative_name", "kind_text", "metric_value"]

import math
from dataclasses import dataclass
from typing import Any, Callable

from ..analysis import Analysis, GroupRow, LayerRow
from ..kinds import hidden_in_chart
from ..plots.style import tick_text
from ..units import human_bytes, human_count, shape_text
from .layout import TOGGLE, node_key
from .metrics import text_width
from .scale import NEUTRAL, ColorScale
from .structure import Block, Leaf, Parallel, Seq, Side

COLOR_BY = ("macs", "params", "memory", "none")
"""What the boxes' colour shows."""

NAME_SIZE, DETAIL_SIZE = 11, 10
NAME_LINE, DETAIL_LINE = 13, 12  # line heights (DejaVu Sans spans 1.164 em from ascender to descender)
ASCENT = 0.93  # DejaVu Sans's ascender, in em: the baseline's depth below a line's top
PAD_X, PAD_Y = 6, 4
CHIP_H = 18
JOIN_D = 18
MIN_BOX_W, MIN_CHIP_W = 64, 36
JOIN_GLYPHS = {"add": "+", "mul": "\u00d7"}

_METRICS: dict[str, tuple[str, Callable[[float], str]]] = {
    "macs": ("MACs", lambda v: tick_text(human_count(v))),
    "params": ("parameters", lambda v: tick_text(human_count(v))),
    "memory": ("output memory", lambda v: tick_text(human_bytes(v))),  # each row's output (activation_bytes)
}


@dataclass(frozen=True, slots=True)
class Text:
    """A line of text at (x, baseline) from its box's top-left; ``anchor`` start or middle."""

    text: str
    x: float
    y: float
    size: int
    bold: bool = False
    anchor: str = "start"

    @property
    def width(self) -> float:
        return text_width(self.text, self.size, bold=self.bold)

    def extent(self) -> tuple[float, float, float, float]:
        """(x0, y0, x1, y1) the text covers from its box's top-left (advance width, ascender to descender)."""
        x0 = self.x - self.width / 2 if self.anchor == "middle" else self.x
        return x0, self.y - ASCENT * self.size, x0 + self.width, self.y + 0.236 * self.size


@dataclass(frozen=True, slots=True)
class Box:
    """A drawn box: ``shape`` box, chip, join (a circle) or block (a folded block, with a toggle)."""

    key: str
    row: str  # the analysis row or group it stands for ('' for the input)
    name: str  # ``row`` relative to the block around it (its parent's row + "." + name = row)
    shape: str
    w: int
    h: int
    texts: tuple[Text, ...]
    fill: str
    tip: str


@dataclass(frozen=True, slots=True)
class Label:
    """An unfolded block's frame label (placed right of the entry line) and tooltip."""

    key: str
    row: str
    text: str
    w: int
    tip: str


@dataclass(frozen=True)
class Content:
    boxes: dict[str, Box]
    labels: dict[str, Label]
    scale: ColorScale | None

    @property
    def sizes(self) -> dict[str, tuple[int, int]]:
        return {k: (b.w, b.h) for k, b in self.boxes.items()}

    @property
    def label_widths(self) -> dict[str, int]:
        return {k: lab.w for k, lab in self.labels.items()}


def relative_name(name: str, parent: str) -> str:
    """``conv2_x.block1.conv1`` inside ``conv2_x.block1`` reads ``conv1``."""
    return name[len(parent) + 1:] if parent and name.startswith(parent + ".") else name


def metric_value(row: LayerRow | GroupRow, color_by: str) -> int:
    return {"macs": row.macs, "params": row.params, "memory": row.activation_bytes}.get(color_by, 0)


def _even(width: float, least: int) -> int:
    """A whole, even width (so the box's centre is a whole unit) of at least ``least``."""
    w = max(least, math.ceil(width))
    return w + (w % 2)


def _dims(out: tuple[int, ...], value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return "x".join(map(str, value))
    return "x".join([str(value)] * max(1, len(out) - 1))


def kind_text(row: LayerRow) -> str:
    """``conv 7x7/2``, ``conv 3x3 g32``, ``maxpool 3x3/2``, else the row's type."""
    a = row.attrs
    if "kernel" not in a:
        return row.type
    text = f"{row.type} {_dims(row.output_shape, a['kernel'])}"
    stride = a.get("stride", 1)
    if stride not in (1, [1], None) and not (isinstance(stride, list) and set(stride) == {1}):
        text += "/" + (_dims(row.output_shape, stride) if isinstance(stride, list) and len(set(stride)) > 1
                       else str(stride[0] if isinstance(stride, list) else stride))
    if a.get("groups", 1) not in (1, None):
        text += f" g{a['groups']}"
    return text


def _cost(row: LayerRow | GroupRow, color_by: str) -> str:
    parts = []
    if color_by == "memory":
        parts.append(human_bytes(row.activation_bytes))
    if row.macs:
        parts.append(f"{human_count(row.macs)} MACs")
    if row.params:
        parts.append(f"{human_count(row.params)} params")
    if not row.macs and row.ops and color_by != "memory":
        parts.append(f"{human_count(row.ops)} ops")
    return " \u00b7 ".join(parts)


def _tip(row: LayerRow | GroupRow, what: str) -> str:
    return (f"{row.name} ({what})\n{shape_text(row.input_shape)} \u2192 {shape_text(row.output_shape)}\n"
            f"params {row.params:,} \u00b7 MACs {row.macs:,} \u00b7 other ops {row.ops:,} \u00b7 "
            f"memory {human_bytes(row.activation_bytes)}")


def _lines(lines: list[tuple[str, int, bool]], *, right: int = 0) -> tuple[tuple[Text, ...], int, int]:
    """Stack ``(text, size, bold)`` lines from the top-left; the box's width (``right``: room kept
    beside the first line) and height."""
    texts, y, widest = [], PAD_Y, 0.0
    for i, (text, size, bold) in enumerate(lines):
        line = NAME_LINE if size == NAME_SIZE else DETAIL_LINE
        texts.append(Text(text, PAD_X, round(y + ASCENT * size, 2), size, bold))
        widest = max(widest, text_width(text, size, bold=bold) + (right if i == 0 else 0))
        y += line
    return tuple(texts), _even(widest + 2 * PAD_X, MIN_BOX_W), y + PAD_Y


def _leaf_box(row: LayerRow, key: str, parent: str, fill: str, color_by: str) -> Box:
    name = relative_name(row.name, parent)
    tip = _tip(row, row.type)
    if row.type in JOIN_GLYPHS:
        glyph = Text(JOIN_GLYPHS[row.type], JOIN_D / 2, round(JOIN_D / 2 + 0.36 * 12, 2), 12, True, "middle")
        return Box(key, row.name, name, "join", JOIN_D, JOIN_D, (glyph,), fill, tip)
    if row.type == "concat" or hidden_in_chart(row.type):
        text = name if name.startswith(row.type) else f"{name} \u00b7 {row.type}"
        if row.output_shape != row.input_shape or row.type == "concat":
            text += f" \u00b7 {shape_text(row.output_shape)}"
        top = (CHIP_H - DETAIL_LINE) / 2
        line = Text(text, PAD_X, round(top + ASCENT * DETAIL_SIZE, 2), DETAIL_SIZE)
        return Box(key, row.name, name, "chip", _even(line.width + 2 * PAD_X, MIN_CHIP_W), CHIP_H, (line,), fill, tip)
    lines = [(name, NAME_SIZE, True), (f"{kind_text(row)} \u00b7 {shape_text(row.output_shape)}", DETAIL_SIZE, False)]
    cost = _cost(row, color_by)
    if cost:
        lines.append((cost, DETAIL_SIZE, False))
    texts, w, h = _lines(lines)
    return Box(key, row.name, name, "box", w, h, texts, fill, tip)


MAX_KERNELS, MAX_SUMMARY = 4, 36  # a folded block lists up to 4 windows in 36 characters, else its layer count


def _window(row: LayerRow) -> str | None:
    """A convolution's window (``3x3``, ``3x3/2``), a pooling's with its kind (``maxpool 3x3``), else None."""
    if "kernel" not in row.attrs:
        return None
    text = kind_text(row)
    return text[len("conv "):] if row.type == "conv" else text


def _block_box(group: GroupRow, key: str, parent: str, fill: str, color_by: str,
               main: list[LayerRow]) -> tuple[Box, Label]:
    """A folded block: its name; what it is, the windows of its main path (``branch: 1x1 \u2192 3x3``) when
    they are a chain of a few (``main``: its main path's rows, [] when it is no chain), else its layer
    count, and its output shape; its cost."""
    name = relative_name(group.name, parent)
    layers = group.stop - group.first
    if not layers:  # no rows of its own (a tap naming a tensor): a chip, never unfolded (see unfolded_at)
        tip = _tip(group, group.type)
        line = Text(f"{name} \u00b7 {group.type} \u00b7 {shape_text(group.output_shape)}", PAD_X,
                    round((CHIP_H - DETAIL_LINE) / 2 + ASCENT * DETAIL_SIZE, 2), DETAIL_SIZE)
        chip = Box(key, group.name, name, "chip", _even(line.width + 2 * PAD_X, MIN_CHIP_W), CHIP_H, (line,), fill, tip)
        return chip, Label(key, group.name, name, math.ceil(text_width(name, DETAIL_SIZE)), tip)
    windows = [w for w in map(_window, main) if w is not None]
    what = f"{group.type}: " + " \u2192 ".join(windows)
    if not 0 < len(windows) <= MAX_KERNELS or group.type == "concat" or len(what) > MAX_SUMMARY:
        what = f"{group.type}, {layers} layer{'s' if layers != 1 else ''}"
    lines = [(name, NAME_SIZE, True), (f"{what} \u00b7 {shape_text(group.output_shape)}", DETAIL_SIZE, False)]
    cost = _cost(group, color_by)
    if cost:
        lines.append((cost, DETAIL_SIZE, False))
    texts, w, h = _lines(lines, right=4 + TOGGLE)
    tip = _tip(group, what)
    label_text = f"{name} \u00b7 {group.type}"
    label = Label(key, group.name, label_text, math.ceil(text_width(label_text, DETAIL_SIZE)), tip)
    return Box(key, group.name, name, "block", w, h, texts, fill, tip), label


def input_box(shape: tuple[int, ...]) -> Box:
    text = f"input \u00b7 {shape_text(shape)}"
    top = (CHIP_H - DETAIL_LINE) / 2
    line = Text(text, PAD_X, round(top + ASCENT * DETAIL_SIZE, 2), DETAIL_SIZE)
    return Box("in", "", "", "chip", _even(line.width + 2 * PAD_X, MIN_CHIP_W), CHIP_H, (line,), NEUTRAL,
               f"input {shape_text(shape)} (batch axis excluded)")


def diagram_content(tree: Seq, analysis: Analysis, *, color_by: str = "macs") -> Content:
    """Every box and frame label the tree can show (folded and unfolded), coloured by ``color_by``."""
    if color_by not in COLOR_BY:
        raise ValueError(f"unknown colour {color_by!r}; choose one of {', '.join(COLOR_BY)}")
    scale = None
    if color_by != "none":
        label, fmt = _METRICS[color_by]
        values = [metric_value(r, color_by) for r in (*analysis.layers, *analysis.groups)]
        scale = ColorScale.of(values, label=label, fmt=fmt)

    def fill(row: LayerRow | GroupRow) -> str:
        return scale.color(metric_value(row, color_by)) if scale is not None else NEUTRAL

    boxes: dict[str, Box] = {"in": input_box(analysis.input_shape)}
    labels: dict[str, Label] = {}

    def visit(node: Any, parent: str) -> tuple[list[LayerRow], bool]:
        """Draw the boxes under ``node`` (inside the block named ``parent``); return the rows of its main
        path and whether that path is a chain (no branches side by side)."""
        if isinstance(node, Leaf):
            if node.row < 0:
                return [], True
            row = analysis.layers[node.row]
            boxes[node_key(node)] = _leaf_box(row, node_key(node), parent, fill(row), color_by)
            return [row], True
        if isinstance(node, Side):
            visit(node.block, parent)
            return [], True
        if isinstance(node, Block):
            group = analysis.groups[node.group]
            main, chain = visit(node.body, group.name)
            key = node_key(node)
            boxes[key], labels[key] = _block_box(group, key, parent, fill(group), color_by, main if chain else [])
            return main, chain
        if isinstance(node, Seq):
            rows, chain = [], True
            for item in node.items:
                r, c = visit(item, parent)
                rows += r
                chain = chain and c
            return rows, chain
        if isinstance(node, Parallel):
            rows = [r for b in node.branches if b is not None for r in visit(b, parent)[0]]
            return rows + visit(node.join, parent)[0], False
        rows, chain = visit(node.body, parent)  # a bypass: the shortcut is off the main path
        if node.shortcut is not None:
            visit(node.shortcut, parent)
        rows += visit(node.join, parent)[0]
        if node.act is not None:
            rows += visit(node.act, parent)[0]
        return rows, chain

    visit(tree, "")
    return Content(boxes, labels, scale)

