"""Composite kinds: ``sequential``, ``side``, ``concat`` and ``residual``, and the rows they add.

A composite's structure is written once, here:

* :func:`children` lists its nested layer lists (with the scope suffix of each). The expansion
  (naming, ``set:`` patches), the loader (attaching file locations) and any other walk over raw
  YAML mappings or validated models use it.
* its ``walk`` tells the analyzer how to run the nested lists and which rows of its own it adds:
  a residual's ``add`` (one op per element), its post-add activation ``act`` and projection
  ``shortcut``, a concat's ``concat`` (the joined tensor). The walker it receives implements
  ``run``, ``leaf``, ``emit``, ``group``, ``mark``, ``state``, ``merged``, ``joined`` (the input of a
  join row: every tensor it reads) and ``fail`` (see :class:`archcalc.analysis.engine.Walker`).
* its ``memory`` rules say what the rows it adds allocate and keep for backward (:mod:`archcalc.memory`).
* its ``build`` makes the torch container whose children carry the same names.

:data:`RESERVED_NAMES` are the names of the rows composites add; a spec may not use them for its
own layers inside a composite.
"""

from __future__ import annotations

__all__ = ["Sequential", "Side", "Branch", "Concat", "Residual", "Child", "children", "RESERVED_NAMES"]

from collections.abc import Mapping  # not typing's: isinstance against it is several times slower
from typing import Annotated, Any, Literal, NamedTuple, Union

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from .. import formulas as F
from ..errors import Location
from ..receptive_field import Window
from .base import KINDS as KINDS_BY_TAG
from .base import NAME_PATTERN, Example, FvcoreRule, LayerList, LayerModel, Memory, Pass, Step, kind, row_kind
from .conv import EXPLICIT_PADDING, Conv
from .elementwise import ELEMENTWISE_NOT_COUNTED, ActivationName
from .norm import BatchNorm


RESERVED_NAMES = frozenset({"add", "mul", "act", "concat", "shortcut"})
"""Rows a composite adds for itself (residual ``add``/``mul``/``act``/``shortcut``, concat ``concat``)."""


class Sequential(LayerModel):
    """A named group of layers run one after another (a stage, a block use)."""

    type: Literal["sequential"]
    layers: LayerList


class Side(LayerModel):
    """A side output (an auxiliary classifier): its layers run on the current tensor and their
    result leaves the network as an extra head; the main path continues with the input unchanged.
    Its costs count in the totals (GoogLeNet's and Inception-v3's auxiliary heads)."""

    type: Literal["side"]
    layers: LayerList


class Branch(BaseModel):
    """One branch of a ``concat``; an empty branch is the identity (DenseNet)."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)
    name: str | None = Field(default=None, pattern=NAME_PATTERN)
    layers: LayerList = Field(description="The branch's layers; [] is the identity.")
    _origin: Location | None = PrivateAttr(default=None)

    @property
    def location(self) -> Location | None:
        """Where the branch was written (set by the loader)."""
        return self._origin


class Concat(LayerModel):
    """Parallel branches on the same input, joined by channel concatenation (inception, dense)."""

    type: Literal["concat"]
    branches: Annotated[list[Branch], Field(min_length=1)]


class Residual(LayerModel):
    """``activation(body(x) + shortcut(x))``, or with ``join: multiply`` ``activation(body(x) * shortcut(x))``.

    ``shortcut`` is ``identity`` (shapes must match), ``projection`` (1x1 conv + batch norm,
    stride as needed, only when the shape changes: ResNet option B), ``zeropad`` (strided
    subsampling and zero channels when the shape changes: ResNet option A, no parameters),
    ``optional`` (identity when the shapes match, no addition at all otherwise: MobileNetV2,
    EfficientNet), or a list of layers.

    ``join: multiply`` gates instead of adding (squeeze-and-excitation written out: the body ends
    in a sigmoid on a [C, 1, 1] tensor): the body's size-1 axes broadcast over the shortcut's, one
    op per output element, in a row named ``mul``.
    """

    type: Literal["residual"]
    body: LayerList
    shortcut: Union[Literal["identity", "projection", "zeropad", "optional"], LayerList] = "identity"
    projection_bn: bool = Field(default=True, description="projection shortcut: batch norm after the 1x1 conv.")
    join: Literal["add", "multiply"] = Field(
        default="add", description="How body and shortcut meet: 'add' (a residual) or 'multiply' (a gate; the "
                                   "body's size-1 axes broadcast).")
    activation: ActivationName | None = Field(
        default=None, description="Applied after the join (ResNet: relu).")


# --------------------------------------------------------------------------- structure


class Child(NamedTuple):
    """One nested layer list of a composite: its scope suffix ('' = the composite's own scope),
    the list, and the object that owns it when that is not the composite itself (a concat branch)."""

    suffix: str
    layers: list
    owner: Any = None


def _get(obj: Any, key: str) -> Any:
    return obj.get(key) if isinstance(obj, Mapping) else getattr(obj, key, None)


def children(obj: Any) -> list[Child]:
    """The nested layer lists of a composite, raw YAML mapping or validated model alike ([] for leaves).

    Lists that are not lists yet (a malformed mapping) are skipped; validation reports them.
    """
    tag = _get(obj, "type")
    k = KINDS_BY_TAG.get(tag) if isinstance(tag, str) else None
    return k.children(obj) if k is not None and k.children is not None else []


def _layers_child(obj: Any) -> list[Child]:
    layers = _get(obj, "layers")
    return [Child("", layers)] if isinstance(layers, list) else []


def _residual_children(obj: Any) -> list[Child]:
    found = []
    if isinstance(_get(obj, "body"), list):
        found.append(Child("", _get(obj, "body")))
    if isinstance(_get(obj, "shortcut"), list):
        found.append(Child("shortcut", _get(obj, "shortcut")))
    return found


def _concat_children(obj: Any) -> list[Child]:
    branches = _get(obj, "branches")
    if not isinstance(branches, list):
        return []
    return [Child(_get(b, "name") or f"branch{i}", _get(b, "layers"), b) for i, b in enumerate(branches, start=1)
            if isinstance(b, (Mapping, Branch)) and isinstance(_get(b, "layers"), list)]


# --------------------------------------------------------------------------- sequential and side

sequential = kind(
    Sequential,
    # conv 1x1 4 -> 2 (2*4 + 2 = 10 params, 2*3*3 * 4 = 72 MACs) then relu (2*3*3 = 18 ops)
    example=Example({"type": "sequential", "layers": [{"type": "conv", "out": 2, "kernel": 1}, {"type": "relu"}]},
                    (4, 3, 3), (2, 3, 3), params=10, macs=72, ops=18))
side = kind(
    Side,
    # head: pool (4*3*3 = 36 reads), flatten, linear 4 -> 2 (4*2 + 2 = 10 params, 4*2 = 8 MACs);
    # the main path's output is the side's input, unchanged
    example=Example({"type": "side", "layers": [{"type": "global_avgpool"}, {"type": "flatten"},
                                                {"type": "linear", "out": 2}]},
                    (4, 3, 3), (4, 3, 3), params=10, macs=8, ops=36))
sequential.children(_layers_child)
side.children(_layers_child)


@sequential.walk
def _walk_sequential(w: Any, layer: Sequential, path: str, depth: int, state: Any) -> Any:
    first = w.mark()
    out = w.run(layer.layers, path, depth + 1, state)
    w.group(path, layer.type, depth, state, out, first)
    return out


@side.walk
def _walk_side(w: Any, layer: Side, path: str, depth: int, state: Any) -> Any:
    first = w.mark()
    head = w.run(layer.layers, path, depth + 1, state)
    w.group(path, layer.type, depth, state, head, first)
    return state  # the main path goes on with the side's input


@sequential.builder
def _build_sequential(layer: Sequential, ctx: Any) -> Any:
    from ..torch import modules as M

    block = M.Block()
    ctx.sequence(layer.layers, ctx.path, block)
    return block


@side.builder
def _build_side(layer: Side, ctx: Any) -> Any:
    from ..torch import modules as M

    block = M.SideBlock()
    ctx.sequence(layer.layers, ctx.path, block)
    return block


# --------------------------------------------------------------------------- concat

concat = kind(
    Concat,
    # identity (4 channels) and conv 1x1 4 -> 2 (2*4 + 2 = 10 params, 2*3*3 * 4 = 72 MACs): 4 + 2 = 6 channels
    example=Example({"type": "concat", "branches": [[], [{"type": "conv", "out": 2, "kernel": 1}]]},
                    (4, 3, 3), (6, 3, 3), params=10, macs=72))
concat.children(_concat_children)


@concat.walk
def _walk_concat(w: Any, layer: Concat, path: str, depth: int, state: Any) -> Any:
    first = w.mark()
    outs = []
    for branch in layer.branches:
        bpath = f"{path}.{branch.name}"
        start = w.mark()
        out = w.run(branch.layers, bpath, depth + 2, state)
        if branch.layers:
            w.group(bpath, "branch", depth + 1, state, out, start)
        outs.append(out)
    shapes = [o.shape for o in outs]
    if len({len(s) for s in shapes}) != 1 or len({s[1:] for s in shapes}) != 1:
        listing = ", ".join(f"{b.name} {list(s)}" for b, s in zip(layer.branches, shapes))
        w.fail(f"cannot concatenate branches of different spatial sizes: {listing}", layer, path)
    out_shape = (sum(s[0] for s in shapes), *shapes[0][1:])
    joined = w.emit(f"{path}.concat", "concat", depth + 1, w.joined(shapes[0], outs),
                    Step(out_shape, attrs={"branches": [s[0] for s in shapes]}))
    w.group(path, layer.type, depth, state, joined, first)
    return joined


@concat.memory
def _concat_memory(row, mode: Pass) -> Memory:
    """``torch.cat`` allocates its output while its inputs are alive; backward needs only the sizes."""
    return Memory()


@concat.builder
def _build_concat(layer: Concat, ctx: Any) -> Any:
    from ..torch import modules as M

    block = M.ConcatBlock()
    for branch in layer.branches:
        sub = M.Block()  # an empty branch is the identity
        ctx.sequence(branch.layers, f"{ctx.path}.{branch.name}", sub)
        block.add_child(branch.name, sub)
        block.branch_names.append(branch.name)
    block.add_child("concat", M.Concat())
    return block


# --------------------------------------------------------------------------- residual

residual = kind(
    Residual,
    # conv 3x3 4 -> 4 pad 1 without bias: 4*4*9 = 144 params, 4*3*3 * 4*9 = 1,296 MACs; add 4*3*3 = 36 ops
    example=Example({"type": "residual",
                     "body": [{"type": "conv", "out": 4, "kernel": 3, "padding": 1, "bias": False}]},
                    (4, 3, 3), (4, 3, 3), params=144, macs=1_296, ops=36),
    variants=(
        # squeeze-and-excitation written out as a gate: pool 8*4*4 = 128 reads; conv 1x1 8 -> 2 (8*2 + 2 = 18
        # params, 16 MACs); relu 2; conv 1x1 2 -> 8 (2*8 + 8 = 24 params, 16 MACs); sigmoid 8; the [8, 1, 1]
        # gate broadcasts over [8, 4, 4]: 128 products. params 18 + 24 = 42, MACs 32, ops 128 + 2 + 8 + 128 = 266
        Example({"type": "residual", "join": "multiply",
                 "body": [{"type": "global_avgpool"}, {"type": "conv", "out": 2, "kernel": 1}, {"type": "relu"},
                          {"type": "conv", "out": 8, "kernel": 1}, {"type": "sigmoid"}]},
                (8, 4, 4), (8, 4, 4), params=42, macs=32, ops=266),
        # any activation after the join: conv 1x1 4 -> 4 without bias (16 params, 4*3*3 * 4 = 144 MACs);
        # add 36 ops, hardswish 36 ops
        Example({"type": "residual", "activation": "hardswish",
                 "body": [{"type": "conv", "out": 4, "kernel": 1, "bias": False}]},
                (4, 3, 3), (4, 3, 3), params=16, macs=144, ops=72),
    ))
residual.children(_residual_children)
row_kind("add", fvcore=(ELEMENTWISE_NOT_COUNTED,),
         memory=lambda row, mode: Memory())  # a new sum; backward needs nothing
row_kind("mul", fvcore=(FvcoreRule("gate_not_counted", "fvcore does not count an element-wise product; archcalc "
                                   "counts the gating multiply as 1 op per output element", ops=r"aten::mul_?"),),
         memory=lambda row, mode: Memory(saves_inputs=(0, 1)))  # each factor's gradient reads the other
row_kind("zeropad", fvcore=(EXPLICIT_PADDING,),
         memory=lambda row, mode: Memory())  # a strided view, then F.pad's new tensor; backward needs nothing


def joined_shape(join: str, body: tuple[int, ...], shortcut: tuple[int, ...]) -> tuple[int, ...] | None:
    """The shape of ``body + shortcut`` (equal shapes) or ``body * shortcut`` (the body's size-1 axes
    broadcast over the shortcut's: a [C, 1, 1] gate on [C, H, W]); None when they do not join."""
    if body == shortcut:
        return body
    if join != "multiply" or len(body) != len(shortcut):
        return None
    if all(b in (1, s) for b, s in zip(body, shortcut)):
        return shortcut
    return None


def shortcut_strides(source: tuple[int, ...], target: tuple[int, ...]) -> tuple[int, ...] | None:
    """Per-axis strides of a 1x1 shortcut from ``source`` to ``target`` (both ``[C, *spatial]`` of one
    rank, which the analyzer checks first), or None if no stride gives ``target``'s sizes."""
    strides = tuple(-(-s_in // s_out) for s_in, s_out in zip(source[1:], target[1:]))
    if any(F.conv_output_length(s_in, 1, st) != s_out for s_in, s_out, st in zip(source[1:], target[1:], strides)):
        return None
    return strides


@residual.walk
def _walk_residual(w: Any, layer: Residual, path: str, depth: int, state: Any) -> Any:
    first = w.mark()
    out = _residual_rows(w, layer, path, depth + 1, state)
    w.group(path, layer.type, depth, state, out, first)
    return out


def _residual_rows(w: Any, layer: Residual, path: str, depth: int, state: Any) -> Any:
    body = w.run(layer.body, path, depth, state)
    shortcut = layer.shortcut
    if isinstance(shortcut, list):
        first = w.mark()
        short = w.run(shortcut, f"{path}.shortcut", depth + 1, state)
        w.group(f"{path}.shortcut", "sequential", depth, state, short, first)
    elif body.shape == state.shape or (layer.join == "multiply" and shortcut == "identity"):
        short = state
    elif shortcut == "identity":
        w.fail(f"residual branches have different shapes: body {list(body.shape)} vs identity "
               f"shortcut {list(state.shape)}", layer, path,
               hint="use 'shortcut: projection' (1x1 conv + BN) or 'zeropad' (option A) when the shape changes")
    elif shortcut == "optional":
        return body  # MobileNetV2 / EfficientNet: no addition when the shape changes
    else:
        short = _projection(w, layer, path, depth, state, body.shape)
    joined = joined_shape(layer.join, body.shape, short.shape)
    if joined is None:
        how = "multiply (size-1 body axes broadcast)" if layer.join == "multiply" else "add"
        w.fail(f"residual branches cannot {how}: body {list(body.shape)} vs shortcut {list(short.shape)}",
               layer, path)
    row = "mul" if layer.join == "multiply" else "add"
    out = w.emit(f"{path}.{row}", row, depth, w.joined(joined, [body, short]),
                 Step(joined, ops=F.elementwise_ops(F.prod(joined))))
    if layer.activation is not None:
        out = w.emit(f"{path}.act", layer.activation, depth, out,
                     Step(out.shape, ops=F.elementwise_ops(F.prod(out.shape))))
    return out


def _projection(w: Any, layer: Residual, path: str, depth: int, state: Any, target: tuple[int, ...]) -> Any:
    if len(target) != len(state.shape) or len(target) < 2:
        w.fail(f"cannot project a shortcut from {list(state.shape)} to {list(target)}", layer, path)
    strides = shortcut_strides(state.shape, target)
    if strides is None:
        w.fail(f"no strided shortcut maps {list(state.shape)} to {list(target)}", layer, path)
    scope = f"{path}.shortcut"
    first = w.mark()
    if layer.shortcut == "zeropad":
        if target[0] < state.shape[0]:
            w.fail("a zero-padding shortcut cannot reduce channels", layer, path)
        # ResNet option A: x[:, :, ::s, ::s] then zero channels; no parameters, no arithmetic.
        maps = tuple(Window(1, s, 0) for s in strides)
        out = w.emit(f"{scope}.zeropad", "zeropad", depth + 1, state,
                     Step(target, windows=maps, attrs={"stride": strides[0] if len(set(strides)) == 1 else list(strides)}))
    else:
        conv = Conv(type="conv", name="conv", out=target[0], kernel=1, stride=list(strides), bias=False)
        out = w.leaf(conv, f"{scope}.conv", depth + 1, state)
        if layer.projection_bn:
            out = w.leaf(BatchNorm(type="batchnorm", name="batchnorm"), f"{scope}.batchnorm", depth + 1, out)
    w.group(scope, "sequential", depth, state, out, first)
    return out


@residual.builder
def _build_residual(layer: Residual, ctx: Any) -> Any:
    from ..torch import modules as M

    block = M.ResidualBlock()
    body_out = ctx.sequence(layer.body, ctx.path, block)
    block.body_names = [child.name for child in layer.body]
    shortcut = layer.shortcut
    if isinstance(shortcut, list):
        sub = M.Block()
        ctx.sequence(shortcut, f"{ctx.path}.shortcut", sub)
        block.add_child("shortcut", sub)
    elif body_out == ctx.shape or (layer.join == "multiply" and shortcut == "identity"):
        pass  # identity
    elif shortcut == "optional":
        return block  # MobileNetV2 / EfficientNet: no addition when the shape changes
    elif shortcut == "identity":
        raise M.BuildError(f"layer {ctx.path}: identity shortcut {list(ctx.shape)} vs body {list(body_out)}")
    else:
        block.add_child("shortcut", _build_shortcut(layer, ctx, body_out))
    block.adds = True
    block.add_child("mul" if layer.join == "multiply" else "add", M.Mul() if layer.join == "multiply" else M.Add())
    if layer.activation is not None:
        block.add_child("act", M.ACTIVATIONS[layer.activation](None))
    return block


def _build_shortcut(layer: Residual, ctx: Any, target: tuple[int, ...]) -> Any:
    """Projection (1x1 conv, stride, BN) or zero padding from the input shape to ``target``."""
    from ..torch import modules as M

    strides = shortcut_strides(ctx.shape, target)
    sub = M.Block()
    if layer.shortcut == "zeropad":
        sub.add_child("zeropad", M.ZeroPadShortcut(strides, target[0] - ctx.shape[0]))
        return sub
    sub.add_child("conv", M.CONV[len(strides)](ctx.shape[0], target[0], 1, stride=strides, bias=False))
    if layer.projection_bn:
        sub.add_child("batchnorm", M.BATCHNORM[len(target)](target[0]))
    return sub

