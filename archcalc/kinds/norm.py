"""Normalization kinds: ``batchnorm``, ``layernorm`` (over channels), global response normalization
(``grn``) and local response normalization (``lrn``)."""

from __future__ import annotations

__all__ = ["BatchNorm", "LayerNorm", "GRN", "LRN"]

from functools import cache
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field

from .. import formulas as F
from .base import (SAVES_INPUT, Buffer, Example, Float, FvcoreRule, LayerModel, Memory, Pass, Pos, Step, finite_number,
                   kind)
from .shapes import spatial_axes


class BatchNorm(LayerModel):
    """Batch normalization over channels; 2 params per channel (scale, shift) when affine."""

    type: Literal["batchnorm"]
    affine: bool = True
    eps: Annotated[float, Field(strict=True, gt=0), BeforeValidator(finite_number)] = 1e-5


class LayerNorm(LayerModel):
    """Layer normalization over the channels at every position (ConvNeXt's ``LayerNorm2d``; on a flat
    input, ``torch.nn.LayerNorm`` over the features); 2 params per channel (scale, shift) when affine."""

    type: Literal["layernorm"]
    affine: bool = True
    eps: Annotated[float, Field(strict=True, gt=0, description="ConvNeXt's 1e-6 by default (torch.nn.LayerNorm: 1e-5)."),
                   BeforeValidator(finite_number)] = 1e-6


class GRN(LayerModel):
    """Global response normalization (ConvNeXt V2): ``gamma * (x * Nx) + beta + x``, where ``Nx`` is each
    channel's L2 norm over the positions divided by the mean of those norms over the channels; 2 params
    per channel (see :func:`archcalc.formulas.grn_ops` for the ops)."""

    type: Literal["grn"]
    eps: Annotated[float, Field(strict=True, gt=0), BeforeValidator(finite_number)] = 1e-6


class LRN(LayerModel):
    """Local response normalization across ``size`` neighbouring channels (AlexNet, GoogLeNet)."""

    type: Literal["lrn"]
    size: Pos = 5
    alpha: Float = 1e-4
    beta: Float = 0.75
    k: Float = 1.0


def _bn_delta(row: Any) -> int:
    """fvcore: eval-mode batch norm is ``a*x + b``, 2 flops per element (1 without affine)."""
    return F.prod(row.input_shape) * (2 if row.layer.affine else 1)


batchnorm = kind(
    BatchNorm, hidden_in_chart=True,
    fvcore=(FvcoreRule("batchnorm_eval",
                       "fvcore counts eval-mode batch norm as 2 flops per element (1 without affine); archcalc "
                       "counts those as ops, not MACs", _bn_delta),),
    # 2*4 = 8 params; 2 ops per element: 2 * 4*3*3 = 72
    example=Example({"type": "batchnorm"}, (4, 3, 3), (4, 3, 3), params=8, ops=72))

layernorm = kind(
    LayerNorm, hidden_in_chart=True,
    fvcore=(FvcoreRule("layernorm_flops",
                       "fvcore counts layer norm as 5 flops per element (4 without affine); archcalc counts the "
                       "same 5 (or 4) as ops, not MACs", lambda row: F.layernorm_ops(F.prod(row.input_shape),
                                                                                       affine=row.layer.affine),
                       r"aten::(permute|movedim)"),),
    # 2*8 = 16 params; 5 ops per element: 5 * 8*3*3 = 360
    example=Example({"type": "layernorm"}, (8, 3, 3), (8, 3, 3), params=16, ops=360))

grn = kind(
    GRN, hidden_in_chart=True,
    fvcore=(FvcoreRule("grn_not_counted", "fvcore counts none of global response normalization's norm, mean, "
                       "divide, multiply and add; archcalc counts 6 ops per element, 3 per channel and 2",
                       ops=r"aten::(linalg_vector_norm|norm|frobenius_norm|mean|add|div|mul)_?"),),
    # 2*8 = 16 params; 6 * 8*3*3 + 3*8 + 2 = 432 + 24 + 2 = 458 ops
    example=Example({"type": "grn"}, (8, 3, 3), (8, 3, 3), params=16, ops=458))

lrn = kind(
    LRN,
    fvcore=(FvcoreRule("lrn_not_counted",
                       "torch's LocalResponseNorm is pad/pow/avg_pool/mul/add/div, none of which fvcore counts; "
                       "archcalc counts size + 3 ops per element", ops=r"aten::(pad|pow|avg_pool[123]d|mul|add|div)"),),
    # (size + 3) per element: 4*3*3 * (5 + 3) = 288
    example=Example({"type": "lrn", "size": 5}, (4, 3, 3), (4, 3, 3), ops=288))


@batchnorm.rule
def _batchnorm(layer: BatchNorm, shape: tuple[int, ...]) -> Step:
    return Step(shape, params=F.batchnorm_params(shape[0], affine=layer.affine),
                ops=F.batchnorm_ops(F.prod(shape)))


@batchnorm.memory
def _batchnorm_memory(row, mode: Pass) -> Memory:
    """Training-mode batch norm keeps its input and the batch mean and inverse standard deviation of each
    channel (float32) for backward; the running statistics are buffers, not activations."""
    if not mode.training:
        return Memory()
    stats = Buffer(row.input_shape[0], "acc", batched=False)
    return Memory(saves_inputs=SAVES_INPUT, saved=(stats, stats))


@batchnorm.builder
def _build_batchnorm(layer: BatchNorm, ctx):
    from ..torch import modules as M

    return M.BATCHNORM[len(ctx.shape)](ctx.shape[0], eps=layer.eps, affine=layer.affine)


@layernorm.rule
def _layernorm(layer: LayerNorm, shape: tuple[int, ...]) -> Step:
    return Step(shape, params=F.layernorm_params(shape[0], affine=layer.affine),
                ops=F.layernorm_ops(F.prod(shape), affine=layer.affine))


@layernorm.memory
def _layernorm_memory(row, mode: Pass) -> Memory:
    """Layer norm computes the mean and reciprocal standard deviation of each position (float32) and keeps
    them and its input for backward (at inference they are scratch). It normalizes the channels moved
    last: unless the input is laid out channels-last already, the CUDA kernel first copies it to a
    contiguous tensor (scratch); its output is channels-last."""
    positions = F.prod(row.input_shape[1:])
    stats = (Buffer(positions, "acc"), Buffer(positions, "acc"))
    # NB: the CPU kernel reads the strided input as it is
    dense_last = mode.channels_last and not mode.strided
    copy = () if dense_last or positions == 1 or mode.device == "cpu" else (Buffer(F.prod(row.input_shape)),)
    if mode.training:
        return Memory(saves_inputs=SAVES_INPUT, saved=stats, scratch=copy, channels_last=positions > 1)
    return Memory(scratch=(*stats, *copy), channels_last=positions > 1)


@cache
def _channel_layer_norm() -> Any:
    """``torch.nn.LayerNorm`` over dim 1 of ``[N, C, *spatial]`` (torchvision's ``LayerNorm2d``, any rank)."""
    from torch import nn

    class ChannelLayerNorm(nn.LayerNorm):
        def forward(self, x: Any) -> Any:
            return super().forward(x.movedim(1, -1)).movedim(-1, 1)

    return ChannelLayerNorm


@layernorm.builder
def _build_layernorm(layer: LayerNorm, ctx):
    return _channel_layer_norm()(ctx.shape[0], eps=layer.eps, elementwise_affine=layer.affine)


@grn.rule
def _grn(layer: GRN, shape: tuple[int, ...]) -> Step:
    spatial = spatial_axes(shape, "grn")
    return Step(shape, params=F.grn_params(shape[0]), ops=F.grn_ops(shape[0], F.prod(spatial)))


@grn.memory
def _grn_memory(row, mode: Pass) -> Memory:
    """GRN is several element-wise operations (see ``GlobalResponseNorm.forward``)."""
    c = row.input_shape[0]
    full = Buffer(F.prod(row.input_shape))
    if mode.training:
        return Memory(saves_inputs=SAVES_INPUT, saved=(Buffer(c), Buffer(1), Buffer(c), full))
    return Memory(scratch=(full, Buffer(c), Buffer(c)))


@grn.builder
def _build_grn(layer: GRN, ctx):
    from ..torch import modules as M

    return M.GlobalResponseNorm(ctx.shape[0], len(ctx.spatial), layer.eps)


@lrn.rule
def _lrn(layer: LRN, shape: tuple[int, ...]) -> Step:
    return Step(shape, ops=F.lrn_ops(F.prod(shape), layer.size), attrs={"size": layer.size})


@lrn.memory
def _lrn_memory(row, mode: Pass) -> Memory:
    """Local response norm is several operations (``F.local_response_norm``): ``div = x * x`` is padded
    by ``size - 1`` channels and averaged over ``size`` channels, then ``(div * alpha + k) ** beta`` and
    ``x / div``. For backward: ``x``, the padded squares (the pooling's input), ``div * alpha + k``
    (the power's input) and the power (the division's divisor). At inference, before the output exists,
    either the squares and their padded copy or three input-sized temporaries are alive (the pooled squares,
    ``* alpha``, ``+ k``): besides the output, the larger of the padded copy and two input sizes."""
    c, spatial = row.input_shape[0], F.prod(row.input_shape[1:])
    full = F.prod(row.input_shape)
    padded = (c + row.layer.size - 1) * spatial if row.layer is not None else full
    if mode.training:
        return Memory(saves_inputs=SAVES_INPUT, saved=(Buffer(padded), Buffer(full), Buffer(full)))
    return Memory(scratch=(Buffer(max(padded, 2 * full)),))


@lrn.builder
def _build_lrn(layer: LRN, ctx):
    from torch import nn

    ctx.spatial  # noqa: B018 - torch's LRN needs [N, C, *spatial]
    return nn.LocalResponseNorm(layer.size, alpha=layer.alpha, beta=layer.beta, k=layer.k)
