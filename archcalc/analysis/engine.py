"""Walk a validated spec, apply each leaf's rule, and handle composites (sequence, residual, concat).

Composites add rows of their own where the real network does work: a residual's ``add`` (one op
per element) and optional post-activation ``act``, a concat's ``concat`` (the joined tensor).
Each composite also gets a :class:`GroupRow` subtotal derived from its leaves.
"""

from __future__ import annotations

__all__ = ["analyze"]

from dataclasses import dataclass

from typing import Any

from .. import formulas as F
from ..errors import AnalysisError, Location
from ..spec import Spec
from ..spec import layers as L
from ..yamlio import Node
from .result import DTYPE_BYTES, Analysis, GroupRow, LayerRow, Totals
from .field import INPUT, Field, Window, through, union
from .rules import RULES, ShapeError, Step

# Receptive field state: per spatial axis the exact fields (see .field), or None once flattened.
RF = tuple[Field, ...] | None


@dataclass(slots=True)
class _State:
    shape: tuple[int, ...]
    rf: RF


class _Walker:
    def __init__(self, batch_size: int, bytes_per_element: int):
        self.batch = batch_size
        self.bpe = bytes_per_element
        self.rows: list[LayerRow] = []
        self.groups: list[GroupRow] = []
        # running sums (params, macs, ops, activation_bytes, pooling_ops) after each row, so a
        # group's subtotal is one subtraction instead of a walk over its leaves
        self.cumulative: list[tuple[int, int, int, int, int]] = [(0, 0, 0, 0, 0)]

    # -- leaves
    def leaf(self, layer: Any, path: str, depth: int, state: _State) -> _State:
        try:
            step = RULES[layer.type](layer, state.shape)
        except ShapeError as exc:
            raise AnalysisError(f"{exc} (input {list(state.shape)})", _where(layer, path)) from None
        return self.emit(path, layer.type, depth, state, step)

    def emit(self, path: str, kind: str, depth: int, state: _State, step: Step) -> _State:
        rf = _advance(state.rf, step)
        b = self.batch
        row = LayerRow(
            name=path, type=kind, depth=depth, input_shape=state.shape, output_shape=step.output_shape,
            params=step.params, macs=step.macs * b, ops=step.ops * b,
            activation_bytes=F.activation_bytes(F.prod(step.output_shape), self.bpe) * b,
            pooling_ops=step.pooling_ops * b, rf=_summary(rf), attrs=step.attrs, fields=rf,
        )
        self.rows.append(row)
        p, m, o, a, q = self.cumulative[-1]
        self.cumulative.append((p + row.params, m + row.macs, o + row.ops, a + row.activation_bytes,
                                q + row.pooling_ops))
        return _State(step.output_shape, rf)

    # -- sequences and composites
    def run(self, layers: Any, scope: str, depth: int, state: _State) -> _State:
        for layer in layers:
            path = f"{scope}.{layer.name}" if scope else layer.name
            first = len(self.rows)
            before = state
            if isinstance(layer, L.Sequential):
                state = self.run(layer.layers, path, depth + 1, state)
            elif isinstance(layer, L.Side):
                head = self.run(layer.layers, path, depth + 1, state)
                self.group(path, layer.type, depth, before, head, first)
                continue  # the main path goes on with the side's input
            elif isinstance(layer, L.Residual):
                state = self.residual(layer, path, depth + 1, state)
            elif isinstance(layer, L.Concat):
                state = self.concat(layer, path, depth + 1, state)
            else:
                state = self.leaf(layer, path, depth, state)
                continue
            self.group(path, layer.type, depth, before, state, first)
        return state

    def group(self, path: str, kind: str, depth: int, before: _State, after: _State, first: int) -> None:
        end, start = self.cumulative[-1], self.cumulative[first]
        params, macs, ops, act, pool = (e - s for e, s in zip(end, start))
        self.groups.append(GroupRow(
            name=path, type=kind, depth=depth, input_shape=before.shape, output_shape=after.shape,
            first=first, stop=len(self.rows), params=params, macs=macs, ops=ops,
            activation_bytes=act, pooling_ops=pool, receptive_field=_sizes(after.rf)))

    def residual(self, layer: L.Residual, path: str, depth: int, state: _State) -> _State:
        body = self.run(layer.body, path, depth, state)
        shortcut = layer.shortcut
        if isinstance(shortcut, list):
            first = len(self.rows)
            short = self.run(shortcut, f"{path}.shortcut", depth + 1, state)
            self.group(f"{path}.shortcut", "sequential", depth, state, short, first)
        elif body.shape == state.shape:
            short = state
        elif shortcut == "identity":
            raise AnalysisError(
                f"residual branches have different shapes: body {list(body.shape)} vs identity "
                f"shortcut {list(state.shape)}", _where(layer, path),
                hint="use 'shortcut: projection' (1x1 conv + BN) or 'zeropad' (option A) when the shape changes")
        elif shortcut == "optional":
            return body  # MobileNetV2 / EfficientNet: no addition when the shape changes
        else:
            short = self.projection(layer, path, depth, state, body.shape, zeropad=(shortcut == "zeropad"))
        if body.shape != short.shape:
            raise AnalysisError(f"residual branches have different shapes: body {list(body.shape)} vs "
                                f"shortcut {list(short.shape)}", _where(layer, path))
        rf = _merge_rf([body.rf, short.rf])
        out = self.emit(f"{path}.add", "add", depth, _State(body.shape, rf),
                        Step(body.shape, ops=F.elementwise_ops(F.prod(body.shape))))
        if layer.activation is not None:
            out = self.emit(f"{path}.act", layer.activation, depth, out,
                            Step(out.shape, ops=F.elementwise_ops(F.prod(out.shape))))
        return out

    def projection(self, layer: L.Residual, path: str, depth: int, state: _State, target: tuple[int, ...],
                   *, zeropad: bool) -> _State:
        if len(target) != len(state.shape) or len(target) < 2:
            raise AnalysisError(f"cannot project a shortcut from {list(state.shape)} to {list(target)}",
                                _where(layer, path))
        strides = []
        for s_in, s_out in zip(state.shape[1:], target[1:]):
            stride = -(-s_in // s_out)
            if F.conv_output_length(s_in, 1, stride) != s_out:
                raise AnalysisError(f"no strided shortcut maps {list(state.shape)} to {list(target)}",
                                    _where(layer, path))
            strides.append(stride)
        scope = f"{path}.shortcut"
        first = len(self.rows)
        if zeropad:
            if target[0] < state.shape[0]:
                raise AnalysisError("a zero-padding shortcut cannot reduce channels", _where(layer, path))
            # ResNet option A: x[:, :, ::s, ::s] then zero channels; no parameters, no arithmetic.
            windows = tuple(Window(1, s, 0) for s in strides)
            out = self.emit(f"{scope}.zeropad", "zeropad", depth + 1, state,
                            Step(target, windows=windows, attrs={"stride": strides[0] if len(set(strides)) == 1 else strides}))
        else:
            conv = L.Conv(type="conv", name="conv", out=target[0], kernel=1, stride=strides, bias=False)
            out = self.leaf(conv, f"{scope}.conv", depth + 1, state)
            if layer.projection_bn:
                out = self.leaf(L.BatchNorm(type="batchnorm", name="batchnorm"), f"{scope}.batchnorm", depth + 1, out)
        self.group(scope, "sequential", depth, state, out, first)
        return out

    def concat(self, layer: L.Concat, path: str, depth: int, state: _State) -> _State:
        outs: list[_State] = []
        for branch in layer.branches:
            bpath = f"{path}.{branch.name}"
            first = len(self.rows)
            out = self.run(branch.layers, bpath, depth + 1, state)
            if branch.layers:
                self.group(bpath, "branch", depth, state, out, first)
            outs.append(out)
        shapes = [o.shape for o in outs]
        ranks = {len(s) for s in shapes}
        if len(ranks) != 1 or len({s[1:] for s in shapes}) != 1:
            listing = ", ".join(f"{b.name} {list(s)}" for b, s in zip(layer.branches, shapes))
            raise AnalysisError(f"cannot concatenate branches of different spatial sizes: {listing}",
                                _where(layer, path))
        out_shape = (sum(s[0] for s in shapes), *shapes[0][1:])
        return self.emit(f"{path}.concat", "concat", depth, _State(shapes[0], _merge_rf([o.rf for o in outs])),
                         Step(out_shape, attrs={"branches": [s[0] for s in shapes]}))


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
    origin = getattr(layer, "_origin", None)
    if isinstance(origin, Node):
        loc = origin.location()
        return Location(loc.file, loc.line, loc.path, path, loc.via)
    return Location(layer=path)


# --------------------------------------------------------------------------- entry point


def analyze(spec: Spec, *, batch_size: int = 1, dtype: str = "float32") -> Analysis:
    """Static per-layer shapes and costs of ``spec`` (see :mod:`archcalc.conventions`)."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    if dtype not in DTYPE_BYTES:
        raise ValueError(f"unknown dtype {dtype!r}; choose one of {', '.join(DTYPE_BYTES)}")
    walker = _Walker(batch_size, DTYPE_BYTES[dtype])
    spatial = len(spec.input_shape) - 1
    rf0: RF = tuple(INPUT for _ in range(spatial))
    end = walker.run(spec.layers, "", 0, _State(tuple(spec.input_shape), rf0))
    rows = tuple(walker.rows)
    return Analysis(name=spec.name, input_shape=tuple(spec.input_shape), output_shape=end.shape,
                    batch_size=batch_size, dtype=dtype, layers=rows,
                    groups=tuple(sorted(walker.groups, key=lambda g: (g.first, g.depth))),
                    totals=Totals.of(rows))
