"""What an analysis returns: one record per leaf layer, one per composite, and the totals.

Records hold data only; totals and subtotals are *derived* from the leaf rows, never counted
separately. Shapes exclude the batch axis; ``macs``, ``ops`` and the bytes are for the whole batch;
``params`` do not depend on it.

Memory (see :mod:`archcalc.conventions` and :mod:`archcalc.memory.liveness`): ``activation_bytes`` is
the row's output tensor as if it were new (their sum over the rows is an upper bound no allocator shows);
``live_bytes`` the activations alive after the row in an inference pass (the input included); and
``saved_bytes`` what autograd keeps for backward that this row is the first to keep, in a training-mode
forward. ``Totals.peak_activation_bytes`` is the largest live figure during the pass.
"""

from __future__ import annotations

__all__ = ["LayerRow", "GroupRow", "Totals", "Analysis", "DTYPE_BYTES"]

from dataclasses import dataclass, field

from typing import Any, Iterable

from ..conventions import Convention, headline_count

DTYPE_BYTES: dict[str, int] = {
    "float64": 8, "float32": 4, "tf32": 4, "float16": 2, "bfloat16": 2, "float8": 1, "int8": 1,
}
"""Bytes per activation element for ``--dtype`` (tf32 is stored as float32)."""


@dataclass(slots=True)
class LayerRow:
    """One leaf layer, in execution order (treat as read-only).

    ``rf`` holds the receptive field per spatial axis as ``(size, jump, start)`` in input pixels
    (``None`` once the tensor has been flattened); ``receptive_field``, ``jump`` and ``start``
    unpack it. ``size`` is the largest field over all output positions (padding counted),
    ``jump`` the input pixels per output step, ``start`` the centre of output 0's field; ``fields``
    holds the exact per-position fields (:class:`archcalc.receptive_field.Field`, one per axis).
    """

    name: str
    type: str
    depth: int
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    params: int
    macs: int
    ops: int
    activation_bytes: int
    pooling_ops: int = 0
    rf: tuple[tuple[float, float, float], ...] | None = None
    attrs: dict[str, Any] = field(default_factory=dict)
    fields: tuple[Any, ...] | None = field(default=None, repr=False, compare=False)
    layer: Any = field(default=None, repr=False, compare=False)  # the validated layer model (None for add/concat rows)
    inputs: tuple[int, ...] = ()  # the rows whose outputs this row reads (indices into Analysis.layers; -1: the input)
    live_bytes: int = 0  # activations alive after this row, inference (no_grad), the network input included
    saved_bytes: int = 0  # activations autograd keeps for backward that this row keeps first (training forward)
    instances: int = 1  # copies per sample: the proposals of a per-proposal section (costs and bytes include them)

    @property
    def seed_flops(self) -> int:
        return self.macs + self.pooling_ops

    @property
    def receptive_field(self) -> tuple[int, ...] | None:
        return None if self.rf is None else tuple(int(size) for size, _, _ in self.rf)

    @property
    def jump(self) -> tuple[float, ...] | None:
        return None if self.rf is None else tuple(j for _, j, _ in self.rf)

    @property
    def start(self) -> tuple[float, ...] | None:
        return None if self.rf is None else tuple(st for _, _, st in self.rf)


@dataclass(slots=True)
class GroupRow:
    """A composite (block use, stage, residual, concat) with the subtotal of its leaves."""

    name: str
    type: str
    depth: int
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    first: int  # index of its first leaf in Analysis.layers
    stop: int  # one past its last leaf
    params: int
    macs: int
    ops: int
    activation_bytes: int
    pooling_ops: int = 0
    receptive_field: tuple[int, ...] | None = None
    inputs: tuple[int, ...] = ()  # the row whose output enters the group (-1: the network input)
    outputs: tuple[int, ...] = ()  # the row whose output the group returns (a side output: its head's)
    live_bytes: int = 0  # activations alive after the group's last row (inference)
    saved_bytes: int = 0  # the sum of its leaves' saved_bytes

    @property
    def seed_flops(self) -> int:
        return self.macs + self.pooling_ops


@dataclass(frozen=True, slots=True)
class Totals:
    """Sums over the leaf rows, except ``peak_activation_bytes``: the largest number of activation bytes
    alive at once during an inference pass (the input included, parameters not)."""

    params: int
    macs: int
    ops: int
    activation_bytes: int
    pooling_ops: int
    peak_activation_bytes: int = 0
    saved_bytes: int = 0

    @property
    def seed_flops(self) -> int:
        return self.macs + self.pooling_ops

    @property
    def flops(self) -> int:
        return 2 * self.macs

    @classmethod
    def of(cls, rows: Iterable[LayerRow], *, peak_activation_bytes: int = 0) -> "Totals":
        params = macs = ops = act = pool = saved = 0
        for r in rows:
            params += r.params
            macs += r.macs
            ops += r.ops
            act += r.activation_bytes
            pool += r.pooling_ops
            saved += r.saved_bytes
        return cls(params, macs, ops, act, pool, peak_activation_bytes, saved)


@dataclass(frozen=True)
class Analysis:
    """The static cost of one spec at one batch size and dtype."""

    name: str
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    batch_size: int
    dtype: str
    layers: tuple[LayerRow, ...]
    groups: tuple[GroupRow, ...]
    totals: Totals
    output_sources: tuple[int, ...] = ()  # the rows whose outputs leave the network (-1: the input itself)
    peak_row: str | None = None
    """The row during which the inference peak (``totals.peak_activation_bytes``) occurs; None when the
    input alone is the peak."""

    @property
    def bytes_per_element(self) -> int:
        return DTYPE_BYTES[self.dtype]

    @property
    def input_bytes(self) -> int:
        from ..formulas import prod
        return prod(self.input_shape) * self.batch_size * self.bytes_per_element

    @property
    def param_bytes(self) -> int:
        return self.totals.params * self.bytes_per_element

    def headline(self, convention: Convention | str = Convention.MACS) -> int:
        """The total cost under a counting convention (see :mod:`archcalc.conventions`)."""
        return headline_count(Convention(convention), macs=self.totals.macs, pooling_ops=self.totals.pooling_ops)

    def row(self, name: str) -> LayerRow | GroupRow:
        """A leaf or group by dotted name, or by a unique last component (``conv1``)."""
        for r in self.layers:
            if r.name == name:
                return r
        for g in self.groups:
            if g.name == name:
                return g
        matches = [r for r in (*self.layers, *self.groups) if r.name.rsplit(".", 1)[-1] == name]
        if len(matches) == 1:
            return matches[0]
        if matches:
            raise KeyError(f"{name!r} is ambiguous: {', '.join(m.name for m in matches[:5])}")
        raise KeyError(f"no layer named {name!r}")

    def rows_at_depth(self, levels: int | None) -> list[LayerRow | GroupRow]:
        """Rows in execution order showing ``levels`` levels of nesting: composites at nesting
        depth ``levels - 1`` are collapsed into their subtotal row (``levels=1``: top-level
        entries only). ``None`` shows every leaf."""
        if levels is None:
            return list(self.layers)
        if levels < 1:
            raise ValueError("levels must be at least 1")
        # an empty group (a shortcut list whose layers 'when' removed) holds no row to collapse
        starts = {g.first: g for g in self.groups if g.depth == levels - 1 and g.stop > g.first}
        out: list[LayerRow | GroupRow] = []
        i = 0
        while i < len(self.layers):
            group = starts.get(i)
            if group is not None:
                out.append(group)
                i = group.stop
            else:
                out.append(self.layers[i])
                i += 1
        return out
