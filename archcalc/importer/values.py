"""What the mapping knows about a tensor flowing through the model, and what it says about a node.

A :class:`Value` is a tensor as the spec language sees it: a per-sample shape with the channels first,
whatever the torch layout is. ``layout`` records the torch layout (``cf``: channels first, as the model
receives its input; ``cl``: channels last, after ConvNeXt's ``permute(0, 2, 3, 1)``); a layer that
needs one layout refuses the other. ``pending`` marks a value that is half-way through a pattern of
several torch operations that make one layer (explicit padding before a convolution, the view and
transpose of a channel shuffle, the strided slice of a zero-padding shortcut).

Entries are plain dicts, ``{"type": "conv", "out": 64, ...}`` with every field of the kind; the
pseudo-kind ``#zeropad`` is ResNet's option-A shortcut, which the spec language writes only as a
residual's ``shortcut: zeropad``.
"""

from __future__ import annotations

__all__ = ["Value", "Unmappable", "Mapped", "ZEROPAD", "one_or_list", "torch_pad_pairs"]

from dataclasses import dataclass, field
from typing import Any

ZEROPAD = "#zeropad"


class Unmappable(Exception):
    """A node the spec language cannot express; the message says why."""


@dataclass(frozen=True)
class Value:
    rep: int  # the node whose output this is, after pass-through operations
    shape: tuple[int, ...]  # per sample, channels first
    layout: str = "cf"  # 'cf' | 'cl' | 'other'
    pending: tuple[Any, ...] | None = None


@dataclass
class Mapped:
    """What one node becomes: spec entries (a chain, usually one), a join, or nothing (pass-through)."""

    entries: list[dict[str, Any]] = field(default_factory=list)
    join: str | None = None  # 'add' | 'mul' | 'cat'
    layout: str = "cf"  # the layout of the output
    pending: tuple[Any, ...] | None = None  # the output is part of a pattern (see Value)


def one_or_list(values: Any) -> Any:
    """``(3, 3)`` -> ``3``; ``(1, 2)`` -> ``[1, 2]``; an int stays an int."""
    if isinstance(values, (list, tuple)):
        values = [int(v) for v in values]
        return values[0] if len(set(values)) == 1 else values
    return int(values)


def torch_pad_pairs(pad: list[int] | tuple[int, ...], rank: int) -> list[tuple[int, int]]:
    """``F.pad``'s last-axis-first flat list -> (low, high) per axis of a ``rank``-axis tensor, first axis first."""
    pairs = [(0, 0)] * rank
    for i in range(len(pad) // 2):
        pairs[rank - 1 - i] = (int(pad[2 * i]), int(pad[2 * i + 1]))
    return pairs
