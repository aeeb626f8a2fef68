"""Spec entries that a leaf module and a torch function can both be, built from their arguments.

``nn.LayerNorm`` and ``F.layer_norm``, ``nn.AdaptiveAvgPool2d`` and ``F.adaptive_avg_pool2d``, ``nn.Flatten`` and
``torch.flatten``, ``nn.Upsample`` and ``F.interpolate``... are the same entry: the leaf mappers
(:mod:`archcalc.importer.leaf_mappers`) and the function handlers (:mod:`archcalc.importer.functions`) read their
arguments and call the builders here, which check the :class:`~archcalc.importer.values.Value` they apply to and
raise :class:`~archcalc.importer.values.Unmappable` with the reason when the spec language has no form for it.
"""

from __future__ import annotations

__all__ = ["require_cf", "ints", "layernorm_entry", "adaptive_entry", "uniform_value", "softmax_entry",
           "flatten_entry", "upsample_entry"]

from typing import Any

from .values import Mapped, Unmappable, Value, one_or_list


def require_cf(x: Value, what: str, spatial: int | None = None) -> None:
    """Refuse anything but a channels-first tensor, not part-way through a pattern, of ``spatial`` spatial axes."""
    if x.layout != "cf" or x.pending is not None:
        raise Unmappable(f"{what} on a channels-last or rearranged tensor")
    if spatial is not None and len(x.shape) != spatial + 1:
        raise Unmappable(f"{what} expects [C, {spatial} spatial axes], got a tensor of per-sample shape "
                         f"{list(x.shape)}")


def ints(value: Any, n: int) -> tuple[int, ...]:
    """A size argument (``3``, ``(3, 3)``, ``[3]``) as ``n`` integers."""
    if isinstance(value, (list, tuple)):
        return tuple(int(v) for v in value) if len(value) == n else tuple(int(value[0]) for _ in range(n))
    return (int(value),) * n


def layernorm_entry(normalized: tuple[int, ...], x: Value, eps: float, weight: Any, bias: Any, what: str) -> Mapped:
    """``layer_norm`` over the last axis: the channels of a channels-last tensor, or the features of a flat one."""
    if x.pending is not None:
        raise Unmappable(f"{what} on a rearranged tensor")
    channels = x.shape[0]
    if tuple(normalized) != (channels,) or not (x.layout == "cl" or len(x.shape) == 1):
        raise Unmappable(f"{what} over {list(normalized)} of a tensor of per-sample shape {list(x.shape)} "
                         f"({'channels last' if x.layout == 'cl' else 'channels first'}): the spec language's "
                         "layernorm normalizes the channels at each position")
    if (weight is None) != (bias is None):
        raise Unmappable(f"{what} with a scale but no shift: the spec language's layernorm has both or neither")
    return Mapped([{"type": "layernorm", "affine": weight is not None, "eps": float(eps)}], layout=x.layout)


def adaptive_entry(kind: str, output_size: Any, x: Value, what: str) -> Mapped:
    """Adaptive pooling to ``output_size`` (None entries keep the input's size); to 1 everywhere it is
    ``global_avgpool`` (average) or ``adaptive_maxpool`` with output 1."""
    n = len(x.shape) - 1
    require_cf(x, what)
    if n < 1:
        raise Unmappable(f"{what} on a flat tensor")
    sizes = output_size if isinstance(output_size, (list, tuple)) else [output_size] * n
    if len(sizes) == 1:
        sizes = list(sizes) * n
    sizes = [x.shape[1 + i] if s is None else int(s) for i, s in enumerate(sizes)]
    if kind == "avg" and all(s == 1 for s in sizes):
        return Mapped([{"type": "global_avgpool"}])
    return Mapped([{"type": f"adaptive_{kind}pool", "output_size": one_or_list(sizes)}])


def uniform_value(tensor: Any, default: float) -> float:
    """The value every element of ``tensor`` holds, or ``default`` (values differ, or a meta tensor)."""
    try:
        if tensor.is_meta or tensor.numel() == 0:
            return default
        flat = tensor.detach().reshape(-1)
        first = float(flat[0])
        if not bool((flat == flat[0]).all()):
            return default
        return _shortest(first, flat.dtype)
    except (RuntimeError, TypeError, ValueError):
        return default


def _shortest(value: float, dtype: Any) -> float:
    """The shortest decimal that is ``value`` in ``dtype`` (a float32 1e-6 is 9.99999997e-07 as a double)."""
    import torch

    if dtype == torch.float64:
        return value
    for digits in range(1, 18):
        candidate = float(f"{value:.{digits}g}")
        if torch.tensor(candidate, dtype=dtype).item() == torch.tensor(value, dtype=dtype).item():
            return candidate
    return value


def softmax_entry(dim: Any, x: Value) -> Mapped:
    """Softmax over ``dim``: the spec language's is over the channels."""
    require_cf(x, "softmax")
    rank = len(x.shape) + 1
    if dim is None or (dim % rank) != 1:
        raise Unmappable(f"softmax over axis {dim}: the spec language's softmax is over the channels (axis 1)")
    return Mapped([{"type": "softmax"}])


def flatten_entry(start: int, end: int, x: Value) -> Mapped:
    """Flattening axes ``start``..``end``: everything but the batch, or nothing (already flat)."""
    rank = len(x.shape) + 1
    if start % rank != 1 or end % rank != rank - 1:
        raise Unmappable(f"flatten of axes {start}..{end}: the spec language flattens everything but the batch")
    if len(x.shape) == 1:
        return Mapped([], layout="cf")  # already flat: nothing to do
    require_cf(x, "flatten")
    return Mapped([{"type": "flatten"}])


def upsample_entry(size: Any, scale: Any, mode: str, x: Value, what: str) -> Mapped:
    """Upsampling to ``size`` or by an integer ``scale`` in ``mode``."""
    require_cf(x, what)
    n = len(x.shape) - 1
    if mode not in ("nearest", "linear", "bilinear", "trilinear"):
        raise Unmappable(f"upsampling mode {mode!r}: the spec language has nearest, linear, bilinear and trilinear")
    entry: dict[str, Any] = {"type": "upsample", "scale": None, "size": None,
                             "mode": mode if mode == "nearest" else "bilinear" if n == 2 else "linear" if n == 1
                             else "trilinear"}
    if size is not None:
        entry["size"] = one_or_list(ints(size, n))
    else:
        factors = scale if isinstance(scale, (list, tuple)) else [scale] * n
        if any(float(f) != int(float(f)) for f in factors):
            raise Unmappable(f"upsampling by a non-integer factor {scale}")
        entry["scale"] = one_or_list([int(float(f)) for f in factors])
    return Mapped([entry])
