"""Walk a validated spec: each leaf kind's rule gives its row, each composite kind drives its part.

The per-kind knowledge lives in :mod:`archcalc.kinds`; this module keeps the rows, the running
sums behind every composite's :class:`GroupRow` subtotal, and the receptive fields.
"""

from __future__ import annotations

__all__ = ["analyze", "output_shape", "Walker"]

from dataclasses import dataclass

from typing import Any, NoReturn

from .. import formulas as F
from ..errors import AnalysisError, Location, UsageError
from ..gcpause import gc_paused
from ..spec import Spec
from ..geometry import ShapeError
from ..kinds import KINDS, Step
from ..receptive_field import INPUT, Field, through, union
from .result import DTYPE_BYTES, Analysis, GroupRow, LayerRow, Totals

# Receptive field state: per spatial axis the exact fields (see archcalc.receptive_field), or None once flattened.
RF = tuple[Field, ...] | None


@dataclass(slots=True)
class _State:
    shape: tuple[int, ...]
    rf: RF
    sources: tuple[int, ...] = (-1,)  # the rows whose outputs this tensor is (-1: the network input)


class Walker:
    """One analysis in progress: the rows so far and their running sums.

    Leaf kinds give a :class:`~archcalc.kinds.Step` through their rule; composite kinds drive the
    walk through ``run``, ``leaf``, ``emit``, ``group``, ``mark``, ``state``, ``merged``, ``joined`` and
    ``fail`` (see :mod:`archcalc.kinds.composite`). Each state remembers which rows produced its
    tensor, so every row records the rows it reads (``LayerRow.inputs``): the data flow the memory
    model (:mod:`archcalc.memory.liveness`) follows.
    """

    def __init__(self, batch_size: int, bytes_per_element: int):
        self.batch = batch_size
        self.bpe = bytes_per_element
        self.rows: list[LayerRow] = []
        self.groups: list[GroupRow] = []
        # running sums (params, macs, ops, activation_bytes, pooling_ops) after each row, so a
        # group's subtotal is one subtraction instead of a walk over its leaves
        self.cumulative: list[tuple[int, int, int, int, int]] = [(0, 0, 0, 0, 0)]
        # named tensors (a tap, a pyramid's levels), what each row's costs are multiplied by per sample
        # (the proposals of a per-proposal section), and whether rows reuse weights counted already
        # (a head shared over pyramid levels): see archcalc.kinds.pyramid and archcalc.kinds.detection
        self.named: dict[str, _State] = {}
        self.instances = 1
        self.shared = False

    # -- leaves
    def leaf(self, layer: Any, path: str, depth: int, state: _State) -> _State:
        """Apply a leaf kind's rule and record its row."""
        try:
            step = KINDS[layer.type].rule(layer, state.shape)  # type: ignore[misc]
        except ShapeError as exc:
            raise AnalysisError(f"{exc} (input {list(state.shape)})", _where(layer, path)) from None
        return self.emit(path, layer.type, depth, state, step, layer)

    def emit(self, path: str, kind: str, depth: int, state: _State, step: Step, layer: Any = None) -> _State:
        """Record one row of type ``kind`` (a leaf's, or one a composite adds) and return its output state."""
        rf = _advance(state.rf, step)
        b = self.batch * self.instances
        if self.shared and step.params:
            step.attrs["shared"] = True  # its weights are another row's: counted once, there
        row = LayerRow(
            name=path, type=kind, depth=depth, input_shape=state.shape, output_shape=step.output_shape,
            params=0 if self.shared else step.params, macs=step.macs * b, ops=step.ops * b,
            activation_bytes=F.activation_bytes(F.prod(step.output_shape), self.bpe) * b,
            pooling_ops=step.pooling_ops * b, rf=_summary(rf), attrs=step.attrs, fields=rf, layer=layer,
            inputs=state.sources, instances=self.instances,
        )
        self.rows.append(row)
        p, m, o, a, q = self.cumulative[-1]
        self.cumulative.append((p + row.params, m + row.macs, o + row.ops, a + row.activation_bytes,
                                q + row.pooling_ops))
        return _State(step.output_shape, rf, (len(self.rows) - 1,))

    # -- sequences and composites
    def run(self, layers: Any, scope: str, depth: int, state: _State) -> _State:
        """Run a layer list in ``scope`` and return the state after it."""
        for i, layer in enumerate(layers):
            if layer.name is None:  # not named yet: a shape asked for during expansion ($in_channels)
                path = f"{scope}[{i}]"
            else:
                path = f"{scope}.{layer.name}" if scope else layer.name
            kind = KINDS[layer.type]
            if kind.walk is None:
                state = self.leaf(layer, path, depth, state)
            else:
                state = kind.walk(self, layer, path, depth, state)
        return state

    def mark(self) -> int:
        """The index the next row will have (a group's ``first``)."""
        return len(self.rows)

    def group(self, path: str, kind: str, depth: int, before: _State, after: _State, first: int) -> None:
        """Record a composite's subtotal over the rows from ``first`` on."""
        end, start = self.cumulative[-1], self.cumulative[first]
        params, macs, ops, act, pool = (e - s for e, s in zip(end, start))
        self.groups.append(GroupRow(
            name=path, type=kind, depth=depth, input_shape=before.shape, output_shape=after.shape,
            first=first, stop=len(self.rows), params=params, macs=macs, ops=ops,
            activation_bytes=act, pooling_ops=pool, receptive_field=_sizes(after.rf), inputs=before.sources,
            outputs=after.sources))

    def state(self, shape: tuple[int, ...], rf: RF) -> _State:
        return _State(shape, rf)

    def merged(self, states: list[_State]) -> RF:
        """The receptive field of a sum or concatenation of ``states``."""
        return _merge_rf([s.rf for s in states])

    def joined(self, shape: tuple[int, ...], states: list[_State]) -> _State:
        """The input of a row that joins ``states`` (a residual's add, a concat): their merged receptive
        field, and every one of them as the row's inputs, in order."""
        return _State(shape, self.merged(states), tuple(src for s in states for src in s.sources))

    def name(self, name: str, state: _State, layer: Any, path: str) -> None:
        """Record ``state`` as the named tensor ``name`` (a tap, a pyramid level), read later by name."""
        if name in self.named:
            self.fail(f"the tensor name {name!r} is given twice", layer, path)
        self.named[name] = state

    def named_state(self, name: str, layer: Any, path: str) -> _State:
        """The tensor named ``name`` earlier in the network (an error naming the known names if none)."""
        if name not in self.named:
            known = ", ".join(sorted(self.named)) or "none so far"
            self.fail(f"no tensor named {name!r} before this layer (named tensors: {known})", layer, path,
                      hint="name a tensor with {type: tap, tensor: NAME} before the layer that reads it")
        return self.named[name]

    def fail(self, message: str, layer: Any, path: str, *, hint: str | None = None) -> NoReturn:
        raise AnalysisError(message, _where(layer, path), hint=hint)


# --------------------------------------------------------------------------- receptive field


def _advance(rf: RF, step: Step) -> RF:
    if rf is None or step.flattens:
        return None
    if step.windows is None:
        return rf
    if len(step.windows) != len(rf):
        return None
    fields = tuple(through(f, w) for f, w in zip(rf, step.windows))
    return None if any(f is None for f in fields) else fields  # type: ignore[return-value]


def _merge_rf(rfs: list[RF]) -> RF:
    """A sum or concatenation depends on what any of its branches depends on."""
    if any(r is None for r in rfs) or len({len(r) for r in rfs}) != 1:  # type: ignore[arg-type]
        return None
    fields = tuple(union(list(axis)) for axis in zip(*rfs))  # type: ignore[misc]
    return None if any(f is None for f in fields) else fields  # type: ignore[return-value]


def _summary(rf: RF) -> tuple[tuple[float, float, float], ...] | None:
    return None if rf is None else tuple(f.summary() for f in rf)


def _sizes(rf: RF) -> tuple[int, ...] | None:
    return None if rf is None else tuple(f.size for f in rf)


def _where(layer: Any, path: str) -> Location:
    loc = getattr(layer, "location", None)
    if isinstance(loc, Location):
        return Location(loc.file, loc.line, loc.path, path, loc.via)
    return Location(layer=path)


# --------------------------------------------------------------------------- entry point


@gc_paused  # no cycles worth collecting while the rows pile up: linear cost per row
def analyze(spec: Spec, *, batch_size: int = 1, dtype: str = "float32") -> Analysis:
    """Static per-layer shapes and costs of ``spec`` (see :mod:`archcalc.conventions`)."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise UsageError(f"batch_size must be a positive integer, got {batch_size!r}")
    if dtype not in DTYPE_BYTES:
        raise UsageError(f"unknown dtype {dtype!r}; choose one of {', '.join(DTYPE_BYTES)}")
    walker = Walker(batch_size, DTYPE_BYTES[dtype])
    spatial = len(spec.input_shape) - 1
    rf0: RF = tuple(INPUT for _ in range(spatial))
    end = walker.run(spec.layers, "", 0, _State(tuple(spec.input_shape), rf0))
    rows = tuple(walker.rows)
    groups = tuple(sorted(walker.groups, key=lambda g: (g.first, g.depth)))
    peak, peak_row = _memory(rows, groups, end.sources, batch_size, DTYPE_BYTES[dtype])
    return Analysis(name=spec.name, input_shape=tuple(spec.input_shape), output_shape=end.shape,
                    batch_size=batch_size, dtype=dtype, layers=rows, groups=groups,
                    totals=Totals.of(rows, peak_activation_bytes=peak), output_sources=end.sources,
                    peak_row=None if peak_row is None else rows[peak_row].name)


def _memory(rows: tuple[LayerRow, ...], groups: tuple[GroupRow, ...], outputs: tuple[int, ...], batch: int,
            bpe: int) -> tuple[int, int | None]:
    """Fill each row's ``live_bytes`` (inference) and ``saved_bytes`` (training forward), and each group's;
    return the inference peak and the row it occurs during (see :mod:`archcalc.memory.liveness`)."""
    from ..memory.liveness import timeline

    if not rows:
        return 0, None
    infer = timeline(rows, groups, output_sources=outputs, batch_size=batch, bytes_per_element=bpe)
    train = timeline(rows, groups, output_sources=outputs, batch_size=batch, bytes_per_element=bpe, training=True)
    for row, live, saved in zip(rows, infer.after, train.saved):
        row.live_bytes = live
        row.saved_bytes = saved
    for g in groups:
        g.live_bytes = infer.after[g.stop - 1] if g.stop > g.first else 0
        g.saved_bytes = sum(train.saved[g.first:g.stop])
    return infer.peak, infer.peak_row


def output_shape(layers: Any, input_shape: tuple[int, ...]) -> tuple[int, ...]:
    """The per-sample shape ``layers`` (validated models) produce from ``input_shape``; shapes only.

    The expansion asks this when an expression reads ``$in_channels`` (:mod:`archcalc.spec.scope`).
    """
    return Walker(1, 4).run(layers, "", 0, _State(tuple(input_shape), None)).shape
