"""Fold a flat spec tree into blocks with arguments and ``repeat``: what makes an import readable.

Bottom-up, the way the model's code is written:

1. A composite whose nested composites are all settled is *ready*. Runs of consecutive uses of one
   block in its lists become one ``repeat`` entry (``first:`` for what only the first copy changes,
   ``$repeat_index`` for a value that grows by a constant step, such as ConvNeXt's stochastic-depth
   rate); a sequential that is nothing but such a run becomes the run itself (ResNet's ``layer1``).
2. Ready composites with the same structure (kinds, names, nesting; values may differ) are one
   block. Each field that differs between them is written as an expression of arguments already
   found (``$conv1_out``, ``4 * $conv1_out``, ``($kernel - 1) // 2``) or of the layer's own input
   width (``$in_channels``, ``$in_channels * 6``, ``$in_channels // 4``), else it becomes a new argument
   whose default is the value most uses share. A plain chain that changes the shape folds with
   residuals of the same body as ``shortcut: optional`` (MobileNetV2's ``use_res_connect``); an
   identity residual folds with projection ones as ``shortcut: projection`` (the projection exists
   only where the shape changes).
3. A block used once in the end is written inline again.

Blocks are named after the module class (``Bottleneck`` -> ``bottleneck``); for plain containers, after
the name every instance shares, or the composite's kind. The result is a list of spec mappings and the
``blocks:`` mapping; folding never changes an analyzer row (:mod:`archcalc.importer.verify` checks).
"""

from __future__ import annotations

__all__ = ["fold"]

from typing import Any

from .canonical import leaf_fields, residual_fields
from .fnode import FNode, from_entry
from .folder import Block, Folder
from .tree import Entry


# --------------------------------------------------------------------------- to spec mappings


def _doc(n: FNode, blocks: dict[str, Block]) -> dict[str, Any]:
    """The spec mapping of a folded node (arguments equal to the block's defaults left out)."""
    if n.type == "use":
        block = blocks[n.block]  # type: ignore[index]
        doc: dict[str, Any] = {"name": n.name, "use": n.block}
        for key, value in n.fields.items():
            has_default, default = block.args[key]
            if not (has_default and _equal(value, default)):
                doc[key] = value
        if n.repeat is not None:
            doc["repeat"] = n.repeat
        if n.first:
            doc["first"] = dict(n.first)
        return doc
    doc = {"name": n.name, "type": n.type}
    if n.type == "residual":
        doc.update(residual_fields(n.fields))
        for slot, lst in n.lists:
            doc[slot] = [_doc(c, blocks) for c in lst]
    elif n.type == "concat":
        doc["branches"] = [{"name": slot[len("branch:"):], "layers": [_doc(c, blocks) for c in lst]} if lst else []
                           for slot, lst in n.lists]
    elif n.type in ("sequential", "side"):
        doc["layers"] = [_doc(c, blocks) for c in n.lists[0][1]]
    else:
        doc.update(leaf_fields(n.type, n.fields))
    return doc


def _equal(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b


def fold(top: list[Entry]) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
    """The folded spec: its ``layers`` and its ``blocks`` (see the module docstring)."""
    folder = Folder()
    nodes = folder.run([from_entry(e) for e in top])
    blocks = folder.blocks
    block_docs: dict[str, dict[str, Any]] = {}
    for name, b in blocks.items():
        t = b.template
        if t.type == "sequential":
            body = [_doc(c, blocks) for c in t.lists[0][1]]
        else:
            one = _doc(t, blocks)
            one.pop("name", None)
            body = [one]
        args = {k: v for k, (_, v) in b.args.items()}
        block_docs[name] = {"args": args, "layers": body}
    return [_doc(n, blocks) for n in nodes], block_docs
