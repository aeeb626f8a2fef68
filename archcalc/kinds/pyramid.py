"""Named tensors and feature pyramids: ``tap``, ``fpn`` and ``levels``.

A network with several outputs of its backbone (a detector's C2..C5) names them where they are made,
and later layers read them by name:

* ``tap`` names the current tensor (``{type: tap, tensor: c2}``); the main path goes on unchanged.
* ``fpn`` (Lin et al. 2017, torchvision's ``FeaturePyramidNetwork``) reads ``inputs`` by name (finest
  first) and names its ``outputs``: per level a lateral 1x1 convolution to ``out`` channels, from the
  coarsest level down a nearest-neighbour upsampling of the level above to this level's size and an
  addition, then a 3x3 output convolution; with ``extra: maxpool`` one more level, the coarsest output
  max-pooled with kernel 1 and stride 2 (torchvision's ``LastLevelMaxPool``).
* ``levels`` runs one list of layers on each named input (a head shared over pyramid levels, such as the
  RPN head): its weights are counted once, on the first level's rows, and its MACs on every level. The
  rows of the other levels have 0 parameters and ``attrs["shared"]``; their modules call the first
  level's weights.

Named tensors are held by name until the end of the pass (the memory model keeps them alive, as the
built model's table of named tensors does). After ``fpn`` and ``levels`` the main path goes on with its
input unchanged, as after a ``side`` head.
"""

from __future__ import annotations

__all__ = ["Tap", "FPN", "Levels", "TensorName"]

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, model_validator

from .. import formulas as F
from .base import NAME_PATTERN, Example, LayerList, LayerModel, Pos, Step, kind
from .conv import Conv
from .pool import MaxPool
from .resample import Upsample


TensorName = Annotated[str, Field(pattern=NAME_PATTERN, max_length=100)]


def _distinct(names: list[str]) -> list[str]:
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(f"names must differ: {', '.join(repeated)} given more than once")
    return names


Names = Annotated[list[TensorName], Field(min_length=1, max_length=16), AfterValidator(_distinct)]


class Tap(LayerModel):
    """Name the current tensor, to be read by name later (a backbone's C2..C5); no row, no cost."""

    type: Literal["tap"]
    tensor: TensorName = Field(description="The name later layers read this tensor by (fpn inputs, roi features).")


class FPN(LayerModel):
    """A feature pyramid network over named tensors (finest first): lateral 1x1 convolutions, top-down
    nearest upsampling and addition, 3x3 output convolutions, and with ``extra: maxpool`` one more level
    (the coarsest output max-pooled, kernel 1, stride 2). Its outputs are named tensors."""

    type: Literal["fpn"]
    inputs: Names | None = Field(default=None, description="Named tensors [C, H, W], finest level first (c2, c3, "
                                                           "c4, c5); default: the current tensor alone.")
    outputs: Names = Field(description="Names of the pyramid levels, finest first; one more than the inputs "
                                       "with extra: maxpool (p2, ..., p6).")
    out: Pos = Field(default=256, description="Channels of every level.")
    extra: Literal["maxpool", "none"] = Field(
        default="maxpool", description="maxpool: one more level, max_pool2d(kernel 1, stride 2) of the coarsest.")

    @model_validator(mode="after")
    def _counts(self) -> "FPN":
        n = len(self.inputs) if self.inputs else 1
        want = n + (self.extra == "maxpool")
        if len(self.outputs) != want:
            raise ValueError(f"fpn: {n} input(s){' and the extra level' if self.extra == 'maxpool' else ''}"
                             f" need {want} output names, got {len(self.outputs)}")
        return self


class Levels(LayerModel):
    """One list of layers applied to each named input (a head shared over pyramid levels): parameters
    counted once (the first level's rows), MACs on every level."""

    type: Literal["levels"]
    inputs: Names | None = Field(default=None, description="Named tensors the layers run on, one application "
                                                           "each; default: the current tensor alone.")
    outputs: Names = Field(description="Names for each application's result (same order as the inputs).")
    layers: LayerList

    @model_validator(mode="after")
    def _counts(self) -> "Levels":
        n = len(self.inputs) if self.inputs else 1
        if len(self.outputs) != n:
            raise ValueError(f"levels: {n} input(s) need {n} output name(s), got {len(self.outputs)}")
        return self


def layers_child(obj: Any) -> list:
    """The one nested list of a kind with ``layers`` (as :mod:`archcalc.kinds.composite`'s sequential)."""
    from .composite import Child, _get

    layers = _get(obj, "layers")
    return [Child("", layers)] if isinstance(layers, list) else []


# --------------------------------------------------------------------------- tap

tap = kind(Tap,  # names the input; no row: 0 params, 0 MACs
           example=Example({"type": "tap", "tensor": "c2"}, (4, 3, 3), (4, 3, 3)))
tap.kinds[0].names_outputs = True


@tap.walk
def _walk_tap(w: Any, layer: Tap, path: str, depth: int, state: Any) -> Any:
    first = w.mark()
    w.name(layer.tensor, state, layer, path)
    w.group(path, "tap", depth, state, state, first)
    return state


@tap.builder
def _build_tap(layer: Tap, ctx: Any) -> Any:
    from ..torch import detection as D

    return D.Tap(layer.tensor)


# --------------------------------------------------------------------------- fpn

fpn = kind(
    FPN,
    # one level, the input [4, 4, 4], out 2, and the extra level: lateral 1x1 4 -> 2 (4*2 + 2 = 10 params,
    # 2*4*4 * 4 = 128 MACs), output 3x3 2 -> 2 (2*2*9 + 2 = 38 params, 2*4*4 * 18 = 576 MACs), max pool k1 s2 ->
    # [2, 2, 2] (2*2*2 * 1 = 8 reads); the main path goes on with the input. Two levels: tests/test_detection.py
    example=Example({"type": "fpn", "outputs": ["p1", "p2"], "out": 2}, (4, 4, 4), (4, 4, 4), params=48, macs=704,
                    ops=8))
fpn.kinds[0].names_outputs = True


@fpn.walk
def _walk_fpn(w: Any, layer: FPN, path: str, depth: int, state: Any) -> Any:
    first = w.mark()
    names = layer.inputs or ["input"]
    inputs = [w.named_state(name, layer, path) for name in layer.inputs] if layer.inputs else [state]
    for name, s in zip(names, inputs):
        if len(s.shape) != 3:
            w.fail(f"fpn input {name!r} must be a [C, H, W] tensor, got {list(s.shape)}", layer, path)
    results: list[Any] = [None] * len(inputs)
    last = None  # the previous (coarser) level's lateral + top-down sum
    for i in reversed(range(len(inputs))):
        scope = f"{path}.{layer.outputs[i]}"
        start = w.mark()
        inner = w.leaf(Conv(type="conv", name="lateral", out=layer.out, kernel=1), f"{scope}.lateral", depth + 2,
                       inputs[i])
        if last is not None:
            up = w.leaf(Upsample(type="upsample", name="upsample", size=list(inner.shape[1:])), f"{scope}.upsample",
                        depth + 2, last)
            inner = w.emit(f"{scope}.add", "add", depth + 2, w.joined(inner.shape, [inner, up]),
                           Step(inner.shape, ops=F.elementwise_ops(F.prod(inner.shape))))
        last = inner
        out = w.leaf(Conv(type="conv", name="output", out=layer.out, kernel=3, padding=1), f"{scope}.output",
                     depth + 2, inner)
        w.group(scope, "sequential", depth + 1, inputs[i], out, start)
        results[i] = out
    if layer.extra == "maxpool":
        results.append(w.leaf(MaxPool(type="maxpool", name=layer.outputs[-1], kernel=1, stride=2),
                              f"{path}.{layer.outputs[-1]}", depth + 1, results[-1]))
    for name, s in zip(layer.outputs, results):
        w.name(name, s, layer, path)
    w.group(path, "fpn", depth, state, w.joined(state.shape, results), first)
    return state


@fpn.builder
def _build_fpn(layer: FPN, ctx: Any) -> Any:
    from ..torch import detection as D

    return D.build_fpn(layer, ctx)


# --------------------------------------------------------------------------- levels (a shared head)

levels = kind(
    Levels,
    # conv 1x1 4 -> 2 on the input alone (4x3x3): 4*2 + 2 = 10 params, 2*3*3 * 4 = 72 MACs; the main path goes
    # on with the input. Shared over several levels (params once, MACs per level): tests/test_detection.py
    example=Example({"type": "levels", "outputs": ["o"], "layers": [{"type": "conv", "out": 2, "kernel": 1}]},
                    (4, 3, 3), (4, 3, 3), params=10, macs=72))
levels.kinds[0].names_outputs = True
levels.children(layers_child)


@levels.walk
def _walk_levels(w: Any, layer: Levels, path: str, depth: int, state: Any) -> Any:
    first = w.mark()
    outs = []
    for i, name in enumerate(layer.inputs or ["input"]):
        source = w.named_state(name, layer, path) if layer.inputs else state
        scope = f"{path}.{name}"
        start = w.mark()
        sharing = w.shared
        w.shared = sharing or i > 0  # the first level's rows own the weights
        try:
            out = w.run(layer.layers, scope, depth + 2, source)
        finally:
            w.shared = sharing
        w.group(scope, "sequential", depth + 1, source, out, start)
        outs.append(out)
    for name, s in zip(layer.outputs, outs):
        w.name(name, s, layer, path)
    w.group(path, "levels", depth, state, w.joined(state.shape, outs), first)
    return state


@levels.builder
def _build_levels(layer: Levels, ctx: Any) -> Any:
    from ..torch import detection as D

    return D.build_levels(layer, ctx)
