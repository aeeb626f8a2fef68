"""Two-stage detector kinds: ``frozen_batchnorm``, ``proposals`` / ``detections``, ``per_proposal``,
``roi_align`` and ``roi_pool``.

Conventions (stated once here and in the README):

* ``proposals`` (anchor generation, box decoding, clipping, top-k and non-maximum suppression of the RPN)
  and ``detections`` (the box head's post-processing: softmax, decoding, score threshold, per-class NMS,
  top-k) are rows of **0 MACs and 0 ops**: their work is comparisons, sorting and data-dependent selection,
  not arithmetic on tensors; the row records that it is there and how many boxes it keeps (``count``, at
  most: torchvision's test-time RPN keeps ``rpn_post_nms_top_n_test`` = 1,000 proposals per image, its
  box head ``box_detections_per_img`` = 100 detections). Their output is ``[count, 4]`` boxes.
* ``per_proposal`` runs its layers once per box of its input ``[K, ...]``: inside, shapes are per box and
  every row's MACs, ops and activation bytes are multiplied by K (``LayerRow.instances``); parameters are
  not. Its output is ``[K, ...]`` again.
* ``roi_align`` (Mask R-CNN; torchvision ``MultiScaleRoIAlign``, ``aligned=False``) pools each box to
  ``output_size`` bins of ``sampling_ratio``\u00b2 bilinear samples: 4 MACs per sample and channel
  (:func:`archcalc.formulas.roi_align_macs`). ``roi_pool`` (Fast R-CNN) max-pools each bin: 1 op per
  output element (:func:`archcalc.formulas.roi_pool_ops`; the reads depend on the box). Inside a
  ``per_proposal`` section they read the box as their input and the feature maps named by ``features``
  (a pyramid: each box from one level, torchvision's ``LevelMapper``); alone, they pool the whole input.
* ``frozen_batchnorm``: torchvision's ``FrozenBatchNorm2d`` (detection backbones): ``x * scale + shift``
  from four buffers, so **no parameters**, 2 ops per element.

The built model does not run NMS: its ``proposals`` / ``detections`` rows emit ``count`` fixed boxes per
image (a deterministic spread of sizes and positions inside the image, every pyramid level used), so the
shapes and every per-box cost are those of ``count`` boxes, and fvcore counts the same boxes when it traces.
"""

from __future__ import annotations

__all__ = ["FrozenBatchNorm", "BoxSelection", "PerProposal", "RoIAlign", "RoIPool", "ROI_NOT_COUNTED"]

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field

from .. import formulas as F
from ..geometry import ShapeError
from .base import (SAVES_INPUT, Buffer, Example, FvcoreRule, LayerList, LayerModel, Memory, Pass, Pos, PosOrAxes, Step,
                   finite_number, kind)
from .pyramid import Names, layers_child
from .shapes import axes



class FrozenBatchNorm(LayerModel):
    """torchvision's ``FrozenBatchNorm2d``: batch norm with fixed statistics and affine held in buffers
    (detection backbones): no parameters, ``x * scale + shift`` = 2 ops per element."""

    type: Literal["frozen_batchnorm"]
    eps: Annotated[float, Field(strict=True, gt=0), BeforeValidator(finite_number)] = 1e-5


class BoxSelection(LayerModel):
    """Boxes chosen by data-dependent selection: ``proposals`` (RPN: anchors, decoding, NMS) or
    ``detections`` (box head post-processing). 0 MACs, 0 ops; output ``[count, 4]``."""

    type: Literal["proposals", "detections"]
    count: Pos = Field(description="Boxes kept per image (at most): RPN post-NMS top-n, detections per image.")
    inputs: Names | None = Field(default=None, description="Named tensors it reads (the RPN's outputs per level); "
                                                           "default: the current tensor.")


class PerProposal(LayerModel):
    """Layers run once per box of the input ``[K, ...]``: costs and activations x K, parameters once."""

    type: Literal["per_proposal"]
    layers: LayerList


class _RoI(LayerModel):
    output_size: PosOrAxes = Field(description="Bins per axis (7: the box head; 14: Mask R-CNN's mask head).")
    features: Names | None = Field(
        default=None, description="Named feature maps [C, H, W], finest first; the input is then a box [4] "
                                  "(inside per_proposal). Default: pool the whole input as one region.")


class RoIAlign(_RoI):
    """RoIAlign (Mask R-CNN): bilinear samples averaged per bin; 4 MACs per sample and channel."""

    type: Literal["roi_align"]
    sampling_ratio: Pos = Field(default=2, description="Samples per bin along each axis (torchvision: 2).")


class RoIPool(_RoI):
    """RoI max pooling (Fast R-CNN): the maximum of each bin; 1 op per output element."""

    type: Literal["roi_pool"]


# --------------------------------------------------------------------------- fvcore

FROZEN_BN_NOT_COUNTED = FvcoreRule(
    "frozen_batchnorm_not_counted",
    "FrozenBatchNorm2d is x * scale + shift from its buffers; fvcore cannot count those element-wise ops, "
    "archcalc counts 2 ops per element", ops=r"aten::(add|rsqrt|mul|sub|addcmul)")
BOXES_NOT_COUNTED = FvcoreRule(
    "box_selection_not_counted",
    "proposals and detections are 0 MACs by convention; the built model emits fixed boxes (a copy)",
    ops=r"aten::(repeat|expand|contiguous|clone)")
ROI_NOT_COUNTED = FvcoreRule(
    "roi_not_counted",
    "fvcore has no handle for RoIAlign / RoI pooling (torchvision::roi_align); archcalc counts RoIAlign's "
    "bilinear samples as 4 MACs each and RoI pooling's bin maxima as ops",
    lambda row: -row.macs, r"prim::PythonOp\..*")

# --------------------------------------------------------------------------- frozen batch norm

frozen_bn = kind(FrozenBatchNorm, hidden_in_chart=True, fvcore=(FROZEN_BN_NOT_COUNTED,),
                 # no parameters (four buffers); 2 ops per element: 2 * 4*3*3 = 72
                 example=Example({"type": "frozen_batchnorm"}, (4, 3, 3), (4, 3, 3), ops=72))


@frozen_bn.rule
def _frozen_bn(layer: FrozenBatchNorm, shape: tuple[int, ...]) -> Step:
    if len(shape) < 2:
        raise ShapeError(f"frozen_batchnorm needs a [C, *spatial] input, got {list(shape)}")
    return Step(shape, ops=F.frozen_batchnorm_ops(F.prod(shape)))


@frozen_bn.memory
def _frozen_bn_memory(row, mode: Pass) -> Memory:
    """``torch.addcmul(shift, x, scale)`` with scale and shift made from the buffers (C elements each, for
    the whole batch): the product's backward keeps ``scale``; no copy of the input."""
    c = row.output_shape[0]
    per_channel = (Buffer(c, batched=False), Buffer(c, batched=False))
    if mode.training:
        return Memory(scratch=per_channel[1:], saved=per_channel[:1])
    return Memory(scratch=per_channel)


@frozen_bn.builder
def _build_frozen_bn(layer: FrozenBatchNorm, ctx: Any) -> Any:
    from ..torch import detection as D

    return D.FrozenBatchNorm(ctx.shape[0], len(ctx.shape) - 1, layer.eps)


# --------------------------------------------------------------------------- proposals and detections

boxes = kind(BoxSelection, fvcore=(BOXES_NOT_COUNTED,),
             # 3 boxes of 4 coordinates, by convention no arithmetic
             example={"proposals": Example({"type": "proposals", "count": 3}, (4, 2, 2), (3, 4)),
                      "detections": Example({"type": "detections", "count": 2}, (3, 6), (2, 4))})


@boxes.walk
def _walk_boxes(w: Any, layer: BoxSelection, path: str, depth: int, state: Any) -> Any:
    reads = [w.named_state(n, layer, path) for n in layer.inputs] if layer.inputs else [state]
    return w.emit(path, layer.type, depth, w.joined(reads[0].shape, reads),
                  Step((layer.count, 4), flattens=True, attrs={"count": layer.count}), layer)


@boxes.memory
def _boxes_memory(row, mode: Pass) -> Memory:
    """The fixed boxes are a new ``[count, 4]`` tensor per image, repeated from one constant ``[count, 4]``
    (scratch, for the whole batch); nothing is kept for backward."""
    return Memory(scratch=(Buffer(F.prod(row.output_shape), batched=False),))


@boxes.builder
def _build_boxes(layer: BoxSelection, ctx: Any) -> Any:
    from ..torch import detection as D

    return D.FixedBoxes(layer.count, ctx.builder.input_shape[1:])


# --------------------------------------------------------------------------- per proposal

per_proposal = kind(
    PerProposal,
    # 3 boxes [3, 4], linear 4 -> 2 per box: 4*2 + 2 = 10 params (once), 3 * 4*2 = 24 MACs
    example=Example({"type": "per_proposal", "layers": [{"type": "linear", "out": 2}]}, (3, 4), (3, 2),
                    params=10, macs=24))
per_proposal.children(layers_child)


@per_proposal.walk
def _walk_per_proposal(w: Any, layer: PerProposal, path: str, depth: int, state: Any) -> Any:
    if len(state.shape) < 2:
        w.fail(f"per_proposal needs a [K, ...] input (K boxes), got {list(state.shape)}", layer, path,
               hint="put it after a 'proposals' or 'detections' row")
    first = w.mark()
    count = state.shape[0]
    outer = w.instances
    w.instances = outer * count
    try:
        out = w.run(layer.layers, path, depth + 1, w.joined(state.shape[1:], [state]))
    finally:
        w.instances = outer
    after = w.joined((count, *out.shape), [out])
    w.group(path, layer.type, depth, state, after, first)
    return after


@per_proposal.builder
def _build_per_proposal(layer: PerProposal, ctx: Any) -> Any:
    from ..torch import detection as D

    block = D.PerProposal()
    ctx.builder.sequence(layer.layers, ctx.path, ctx.shape[1:], block)
    return block


# --------------------------------------------------------------------------- RoIAlign and RoI pooling

roi = kind(RoIAlign, fvcore=(ROI_NOT_COUNTED,),
           # one region, the whole 16x8x8 input, to 2x2 bins of 2*2 samples: 16*2*2 * 4 * 4 = 1,024 MACs
           example=Example({"type": "roi_align", "output_size": 2}, (16, 8, 8), (16, 2, 2), macs=1_024))
roi_max = kind(RoIPool, fvcore=(ROI_NOT_COUNTED,),
               # one region, the whole 4x6x6 input, to 3x3 bins: 4*3*3 = 36 maxima
               example=Example({"type": "roi_pool", "output_size": 3}, (4, 6, 6), (4, 3, 3), ops=36))


@roi.walk
@roi_max.walk
def _walk_roi(w: Any, layer: RoIAlign | RoIPool, path: str, depth: int, state: Any) -> Any:
    if layer.features:
        if state.shape != (4,):
            w.fail(f"{layer.type} with 'features' reads a box [4] (inside per_proposal), got {list(state.shape)}",
                   layer, path)
        maps = [w.named_state(n, layer, path) for n in layer.features]
        reads = [state, *maps]
    else:
        maps = reads = [state]
    shapes = {s.shape for s in maps}
    if any(len(s) != 3 for s in shapes) or len({s[0] for s in shapes}) != 1:
        listing = ", ".join(str(list(s.shape)) for s in maps)
        w.fail(f"{layer.type} pools [C, H, W] feature maps of one channel count, got {listing}", layer, path)
    channels = maps[0].shape[0]
    out = (channels, *axes(layer.output_size, 2, "output_size"))
    if layer.type == "roi_align":
        step = Step(out, macs=F.roi_align_macs(channels, out[1:], layer.sampling_ratio), flattens=True,
                    attrs={"output_size": list(out[1:]), "sampling_ratio": layer.sampling_ratio})
    else:
        pool = F.roi_pool_ops(channels, out[1:])
        step = Step(out, ops=pool, pooling_ops=pool, flattens=True, attrs={"output_size": list(out[1:])})
    return w.emit(path, layer.type, depth, w.joined(state.shape, reads), step, layer)


@roi.memory
@roi_max.memory
def _roi_memory(row, mode: Pass) -> Memory:
    """The built operator (:mod:`archcalc.torch.detection`) is one autograd function that keeps its inputs
    (the feature maps and the boxes) and recomputes in backward. While it runs, RoIAlign holds a running
    sum and one gathered corner (each the output's size, measured: the gather's result and the sum) and its
    sample indices and weights; RoI pooling holds every box's pooled piece before joining them (the
    output's size), or, on the whole input, the int64 indices of every maximum."""
    out = F.prod(row.output_shape)
    if row.type == "roi_pool":  # per box: the pieces (a box's int64 indices are gone when they are joined)
        scratch = (Buffer(out),) if row.layer.features else (Buffer(out, "int64"),)
    else:
        scratch = (Buffer(2 * out + _align_index_elements(row.output_shape, row.layer.sampling_ratio)),)
    if mode.training:
        keeps = tuple(range(len(row.inputs))) if row.layer.features else SAVES_INPUT
        return Memory(scratch=scratch, saves_inputs=keeps)
    return Memory(scratch=scratch)


def _align_index_elements(out: tuple[int, ...], ratio: int) -> int:
    """The sample positions, neighbour indices and weights the built RoIAlign holds per box while it
    accumulates, in 4-byte units: per sample row or column a position (4 B), two int64 neighbours (16 B)
    and two weights (8 B); per bin an int64 index and a weight (12 B). NB: approximate (small next to
    the C channels of the running sum)."""
    samples = (out[1] + out[2]) * ratio
    return (28 * samples + 12 * out[1] * out[2]) // 4


@roi.builder
@roi_max.builder
def _build_roi(layer: RoIAlign | RoIPool, ctx: Any) -> Any:
    from ..torch import detection as D

    size = tuple(ctx.row().output_shape[1:])
    return D.RoIOp(layer.type, size, getattr(layer, "sampling_ratio", 0), list(layer.features or ()),
                   tuple(ctx.builder.input_shape[1:]))
