"""The diagram on an HTML page: the visible SVG, and the data the page's script needs for the rest.

The page holds the visible diagram as SVG (:func:`archcalc.diagram.svg.render_svg` with
``interactive=True``) and, in a ``<script type="application/json">``, everything else
(:func:`diagram_data`): the tree, every box's size, colour and words, the frame labels and the
layout's constants. The script (:data:`archcalc.diagram.script.DIAGRAM_JS`) builds a block's
inside from that data the first time it is unfolded, so a folded DenseNet-264 does not carry a
thousand hidden boxes.
"""

from __future__ import annotations

__all__ = ["diagram_data", "data_json", "page_fragment", "DIAGRAM_CSS", "DATA_ID"]

import json
from typing import Any

from .compose import MARGIN, Diagram
from .content import DETAIL_SIZE, NAME_SIZE, PAD_X, PAD_Y
from .layout import CONSTANTS, node_key
from .structure import Block, Bypass, Leaf, Parallel, Seq, Side

DATA_ID = "adg-data"


def _tree(node: Any) -> Any:
    if isinstance(node, Leaf):
        return node_key(node)
    if isinstance(node, Block):
        return ["B", node_key(node), int(node.kind == "side"), _tree(node.body)]
    if isinstance(node, Side):
        return ["D", _tree(node.block)]
    if isinstance(node, Seq):
        return ["S", [_tree(i) for i in node.items]]
    if isinstance(node, Parallel):
        return ["P", [None if b is None else _tree(b) for b in node.branches], _tree(node.join)]
    if isinstance(node, Bypass):
        return ["Y", _tree(node.body), None if node.shortcut is None else _tree(node.shortcut), _tree(node.join),
                None if node.act is None else _tree(node.act)]
    raise TypeError(node)  # pragma: no cover


def diagram_data(d: Diagram) -> dict[str, Any]:
    """What the page's script needs, compactly (a ResNet-1202 repeats a few dozen distinct boxes):

    ``tree``: node keys (``r<row>``, ``g<group>``, ``in``) in the layout's structure: blocks
    ``["B", key, side, body]``, sequences ``["S", items]``, side items ``["D", block]``, concats
    ``["P", branches, join]``, residuals ``["Y", body, shortcut, join, act]``; ``open``: the
    unfolded blocks. ``look``: the distinct boxes, each ``[placement, w, h, fill, name, texts,
    label, label width]`` (``name`` relative to the block around it, so a box's row is its
    parent's row + "." + name; ``label``: a block's frame label), with the distinct text
    placements in ``lay`` (``[shape, [[x, y, size, bold, middle], ...]]``); ``rows``, ``groups``
    and ``input``: the look of each analysis row, each group and the input box. ``c``: the
    layout's constants; ``m``: the margin; ``hw``, ``hh``: the header's size.
    """
    placements: dict[tuple, int] = {}
    looks: dict[tuple, int] = {}

    def look(key: str) -> int:
        box = d.content.boxes[key]
        lay = (box.shape, tuple((t.x, t.y, t.size, int(t.bold), int(t.anchor == "middle")) for t in box.texts))
        label = d.content.labels.get(key)
        entry = (placements.setdefault(lay, len(placements)), box.w, box.h, box.fill, box.name,
                 tuple(t.text for t in box.texts), *((label.text, label.w) if label else ()))
        return looks.setdefault(entry, len(looks))

    keys = d.content.boxes
    rows = [look(f"r{i}") for i in range(sum(1 for k in keys if k[0] == "r"))]
    groups = [look(f"g{i}") for i in range(len(d.content.labels))]
    first = look("in")
    constants = {**CONSTANTS, "PAD_X": PAD_X, "PAD_Y": PAD_Y, "NAME": NAME_SIZE, "DETAIL": DETAIL_SIZE}
    return {
        "c": constants, "m": MARGIN, "hw": d.header.width, "hh": d.header.height,
        "tree": _tree(d.tree), "open": sorted(d.unfolded),
        "lay": [[shape, [list(t) for t in texts]] for shape, texts in placements],
        "look": [[*entry[:5], list(entry[5]), *entry[6:]] for entry in looks],
        "rows": rows, "groups": groups, "input": first,
    }


def data_json(d: Diagram) -> str:
    """:func:`diagram_data` as JSON safe inside a ``<script>`` element."""
    text = json.dumps(diagram_data(d), separators=(",", ":"), ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


DIAGRAM_CSS = """\
.diagram-wrap { overflow: auto; max-height: 85vh; width: fit-content; max-width: 100%; border: 1px solid var(--line);
  border-radius: 6px; background: #fff; }
.diagram-wrap svg.adg { display: block; }
table.archcalc tr.hl td { background: #dcebfa; }
table.archcalc tr.sel td { background: #fbe0ee; }
@media (prefers-color-scheme: dark) { table.archcalc tr.hl td { background: #173a5e; }
  table.archcalc tr.sel td { background: #5a1f3d; } }
"""



def page_fragment(d: Diagram) -> str:
    """The diagram for an HTML page: the SVG in a scrolling frame and the script's data (the page
    adds :data:`DIAGRAM_CSS` and :data:`archcalc.diagram.script.DIAGRAM_JS`)."""
    from .svg import render_svg

    return (f'<div class="diagram-wrap">{render_svg(d, interactive=True)}</div>\n'
            f'<script type="application/json" id="{DATA_ID}">{data_json(d)}</script>\n')
