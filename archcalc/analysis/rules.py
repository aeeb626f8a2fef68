"""Shape and cost rules: one pure function per leaf layer kind, in a registry keyed by ``type``.

A rule takes the validated layer model and the per-sample input shape and returns a
:class:`Step` (output shape, params, MACs, ops, and how the receptive field moves). All
arithmetic is delegated to :mod:`archcalc.formulas`; rules only unpack fields and check that the
layer fits its input, raising :class:`ShapeError` (turned into a located
:class:`~archcalc.errors.AnalysisError` by the engine) when it does not.
"""

from __future__ import annotations

__all__ = ["RULES", "Step", "Window", "ShapeError"]

from dataclasses import dataclass, field

from typing import Any, Callable

from .. import formulas as F
from ..geometry import ShapeError, conv_channels, per_axis, resolve_padding
from ..registry import kind_registrar
from ..spec import layers as L
from .field import AxisMap, Ratio, Transposed, Window

MAX_DIM = 2**31 - 1


@dataclass(slots=True)
class Step:
    output_shape: tuple[int, ...]
    params: int = 0
    macs: int = 0
    ops: int = 0
    pooling_ops: int = 0
    windows: tuple[AxisMap, ...] | None = None  # which inputs each output reads, per axis; None: unchanged
    flattens: bool = False  # after this, every output sees the whole input
    attrs: dict[str, Any] = field(default_factory=dict)


Rule = Callable[[Any, tuple[int, ...]], Step]
RULES: dict[str, Rule] = {}


_register = kind_registrar(RULES, "rule")


# --------------------------------------------------------------------------- helpers


def _spatial(shape: tuple[int, ...], what: str) -> tuple[int, ...]:
    if len(shape) < 2 or len(shape) > 4:
        raise ShapeError(f"{what} needs an input [C, L], [C, H, W] or [C, D, H, W], got {list(shape)}")
    return shape[1:]


def _axes(value: int | list[int] | None, n: int, what: str, default: int | None = None) -> tuple[int, ...]:
    return per_axis(default if value is None else value, n, what)  # type: ignore[arg-type]


_padding = resolve_padding


def _check_size(shape: tuple[int, ...]) -> tuple[int, ...]:
    for d in shape:
        if d > MAX_DIM:
            raise ShapeError(f"output dimension {d:,} is beyond 2^31 - 1")
    return shape


def _window_out(spatial, kernel, stride, pads, dilation, ceil_mode, what) -> tuple[int, ...]:
    out = []
    for axis, (s, k, st, (lo, hi), d) in enumerate(zip(spatial, kernel, stride, pads, dilation)):
        o = F.conv_output_length(s, k, st, lo, hi, d, ceil_mode=ceil_mode)
        if o < 1:
            eff = d * (k - 1) + 1
            raise ShapeError(f"{what} of size {eff} (kernel {k}, dilation {d}) is larger than the padded input "
                             f"{s} + {lo} + {hi} = {s + lo + hi} along spatial axis {axis}")
        out.append(o)
    return tuple(out)


def _windows(kernel, stride, pads, dilation) -> tuple[Window, ...]:
    return tuple(Window(k, s, p[0], d) for k, s, p, d in zip(kernel, stride, pads, dilation))


def _show_pad(pads: tuple[tuple[int, int], ...]) -> Any:
    if all(lo == hi for lo, hi in pads):
        vals = [lo for lo, _ in pads]
        return vals[0] if len(set(vals)) == 1 else vals
    return [list(p) for p in pads]


def _show(values: tuple[int, ...]) -> Any:
    return values[0] if len(set(values)) == 1 else list(values)


# --------------------------------------------------------------------------- convolution


@_register("conv")
def _conv(layer: L.Conv, shape: tuple[int, ...]) -> Step:
    spatial = _spatial(shape, "conv")
    n = len(spatial)
    c_in = shape[0]
    c_out, groups = conv_channels(layer, c_in)
    kernel = _axes(layer.kernel, n, "kernel")
    stride = _axes(layer.stride, n, "stride")
    dilation = _axes(layer.dilation, n, "dilation")
    pads = _padding(layer.padding, spatial, kernel, stride, dilation)
    out_spatial = _window_out(spatial, kernel, stride, pads, dilation, False, "kernel")
    out_shape = _check_size((c_out, *out_spatial))
    return Step(
        output_shape=out_shape,
        params=F.conv_params(c_in, c_out, kernel, groups=groups, bias=layer.bias),
        macs=F.conv_macs(c_in, out_shape, kernel, groups=groups),
        windows=_windows(kernel, stride, pads, dilation),
        attrs={"filters": c_out, "kernel": _show(kernel), "stride": _show(stride), "padding": _show_pad(pads),
               "groups": groups, "dilation": _show(dilation)},
    )


@_register("conv_transpose")
def _conv_transpose(layer: L.ConvTranspose, shape: tuple[int, ...]) -> Step:
    spatial = _spatial(shape, "conv_transpose")
    n = len(spatial)
    c_in, c_out, groups = shape[0], layer.out, layer.groups
    if c_in % groups or c_out % groups:
        raise ShapeError(f"channels {c_in} -> {c_out} are not divisible by groups {groups}")
    kernel = _axes(layer.kernel, n, "kernel")
    stride = _axes(layer.stride, n, "stride")
    dilation = _axes(layer.dilation, n, "dilation")
    padding = _axes(layer.padding, n, "padding")
    out_pad = _axes(layer.output_padding, n, "output_padding")
    out_spatial = []
    for s, k, st, p, op, d in zip(spatial, kernel, stride, padding, out_pad, dilation):
        if op >= max(st, d):
            raise ShapeError(f"output_padding {op} must be smaller than stride or dilation")
        o = F.conv_transpose_output_length(s, k, st, p, op, d)
        if o < 1:
            raise ShapeError(f"padding {p} leaves no output (size {o})")
        out_spatial.append(o)
    out_shape = _check_size((c_out, *out_spatial))
    windows = tuple(Transposed(k, st, p, d) for k, st, p, d in zip(kernel, stride, padding, dilation))
    return Step(
        output_shape=out_shape,
        params=F.conv_params(c_out, c_in, kernel, groups=groups, bias=False) + (c_out if layer.bias else 0),
        macs=F.conv_transpose_macs(shape, c_out, kernel, groups=groups),
        windows=windows,
        attrs={"filters": c_out, "kernel": _show(kernel), "stride": _show(stride), "padding": _show(padding)},
    )


# --------------------------------------------------------------------------- pooling


@_register("maxpool", "avgpool")
def _pool(layer: L.MaxPool | L.AvgPool, shape: tuple[int, ...]) -> Step:
    spatial = _spatial(shape, layer.type)
    n = len(spatial)
    kernel = _axes(layer.kernel, n, "kernel")
    stride = _axes(layer.stride, n, "stride", default=None) if layer.stride is not None else kernel
    dilation = _axes(getattr(layer, "dilation", 1), n, "dilation")
    pads = _padding(layer.padding, spatial, kernel, stride, dilation)
    for (lo, hi), k in zip(pads, kernel):
        if max(lo, hi) > k // 2:
            raise ShapeError(f"pooling padding {max(lo, hi)} must be at most half the kernel ({k} // 2 = {k // 2})")
    out_spatial = _window_out(spatial, kernel, stride, pads, dilation, layer.ceil_mode, "pooling window")
    out_shape = _check_size((shape[0], *out_spatial))
    pool = F.pool_ops(F.prod(out_shape), F.prod(kernel))
    return Step(out_shape, ops=pool, pooling_ops=pool, windows=_windows(kernel, stride, pads, dilation),
                attrs={"kernel": _show(kernel), "stride": _show(stride), "padding": _show_pad(pads),
                       "ceil_mode": layer.ceil_mode})


def _adaptive(shape: tuple[int, ...], out_sizes: tuple[int, ...]) -> Step:
    spatial = shape[1:]
    out_shape = _check_size((shape[0], *out_sizes))
    pool = F.adaptive_pool_ops(shape[0], spatial, out_sizes)
    windows = tuple(Ratio(s, o, "adaptive") for s, o in zip(spatial, out_sizes))
    return Step(out_shape, ops=pool, pooling_ops=pool, windows=windows, attrs={"output_size": _show(out_sizes)})


@_register("adaptive_avgpool", "adaptive_maxpool")
def _adaptive_pool(layer: L.AdaptiveAvgPool | L.AdaptiveMaxPool, shape: tuple[int, ...]) -> Step:
    spatial = _spatial(shape, layer.type)
    return _adaptive(shape, _axes(layer.output_size, len(spatial), "output_size"))


@_register("global_avgpool")
def _global_pool(layer: L.GlobalAvgPool, shape: tuple[int, ...]) -> Step:
    spatial = _spatial(shape, "global_avgpool")
    step = _adaptive(shape, (1,) * len(spatial))
    step.windows = tuple(Window(s, s, 0) for s in spatial)
    step.attrs = {"kernel": _show(spatial)}
    return step


# --------------------------------------------------------------------------- dense and shape


@_register("linear")
def _linear(layer: L.Linear, shape: tuple[int, ...]) -> Step:
    if len(shape) != 1:
        raise ShapeError(f"linear needs a flat input [features], got {list(shape)}; add {{type: flatten}} before it")
    return Step((layer.out,), params=F.linear_params(shape[0], layer.out, bias=layer.bias),
                macs=F.linear_macs(shape[0], layer.out), attrs={"filters": layer.out})


@_register("flatten")
def _flatten(layer: L.Flatten, shape: tuple[int, ...]) -> Step:
    return Step(_check_size((F.prod(shape),)), flattens=True)


# --------------------------------------------------------------------------- normalization and element-wise


@_register("batchnorm")
def _batchnorm(layer: L.BatchNorm, shape: tuple[int, ...]) -> Step:
    return Step(shape, params=F.batchnorm_params(shape[0], affine=layer.affine),
                ops=F.batchnorm_ops(F.prod(shape)))


@_register("lrn")
def _lrn(layer: L.LRN, shape: tuple[int, ...]) -> Step:
    return Step(shape, ops=F.lrn_ops(F.prod(shape), layer.size), attrs={"size": layer.size})


@_register(*L.ACTIVATION_KINDS)
def _activation(layer: L.Activation, shape: tuple[int, ...]) -> Step:
    return Step(shape, ops=F.elementwise_ops(F.prod(shape)))


@_register("dropout")
def _dropout(layer: L.Dropout, shape: tuple[int, ...]) -> Step:
    return Step(shape)


@_register("softmax")
def _softmax(layer: L.Softmax, shape: tuple[int, ...]) -> Step:
    return Step(shape, ops=F.softmax_ops(F.prod(shape)))


@_register("upsample")
def _upsample(layer: L.Upsample, shape: tuple[int, ...]) -> Step:
    spatial = _spatial(shape, "upsample")
    n = len(spatial)
    if layer.size is not None:
        out_spatial = _axes(layer.size, n, "size")
    else:
        out_spatial = tuple(s * f for s, f in zip(spatial, _axes(layer.scale, n, "scale")))
    out_shape = _check_size((shape[0], *out_spatial))
    # nearest reads one input per axis, (bi/tri)linear two neighbours (see formulas.linear_reads)
    mode = "nearest" if layer.mode == "nearest" else "linear"
    windows = tuple(Ratio(s, o, mode) for s, o in zip(spatial, out_spatial))
    return Step(out_shape, ops=F.upsample_ops(F.prod(out_shape), layer.mode, n), windows=windows,
                attrs={"mode": layer.mode})


@_register("se")
def _se(layer: L.SqueezeExcite, shape: tuple[int, ...]) -> Step:
    spatial = _spatial(shape, "se")
    c = shape[0]
    mid = layer.mid if layer.mid is not None else c // layer.reduction  # type: ignore[operator]
    if mid < 1:
        raise ShapeError(f"squeeze channels {c} // {layer.reduction} = 0")
    return Step(shape, params=F.se_params(c, mid, bias=layer.bias), macs=F.se_macs(c, mid),
                ops=F.se_ops(c, F.prod(spatial), mid), attrs={"mid": mid})


@_register("channel_shuffle")
def _shuffle(layer: L.ChannelShuffle, shape: tuple[int, ...]) -> Step:
    if shape[0] % layer.groups:
        raise ShapeError(f"channels {shape[0]} are not divisible by shuffle groups {layer.groups}")
    return Step(shape, attrs={"groups": layer.groups})


@_register("channel_split")
def _split(layer: L.ChannelSplit, shape: tuple[int, ...]) -> Step:
    if shape[0] % layer.parts:
        raise ShapeError(f"channels {shape[0]} do not split into {layer.parts} equal parts")
    return Step((shape[0] // layer.parts, *shape[1:]), attrs={"parts": layer.parts, "index": layer.index})


@_register("crop")
def _crop(layer: L.Crop, shape: tuple[int, ...]) -> Step:
    spatial = _spatial(shape, "crop")
    size = _axes(layer.size, len(spatial), "size")
    for axis, (s, c) in enumerate(zip(spatial, size)):
        if c > s:
            raise ShapeError(f"cannot crop {s} to {c} along spatial axis {axis}")
    # NB: a centre crop keeps the grid; the first output pixel moves by (s - c) // 2 inputs.
    windows = tuple(Window(1, 1, -((s - c) // 2)) for s, c in zip(spatial, size))
    return Step((shape[0], *size), windows=windows, attrs={"size": _show(size)})
