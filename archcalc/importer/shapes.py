"""Every traced node's output shape, without running the network's arithmetic.

The traced graph is interpreted on meta tensors (shapes only, no memory). The layers that dominate
a CNN get their shapes from archcalc's own formulas instead of torch's meta kernels (a convolution's
output length is :func:`archcalc.formulas.conv_output_length`; batch norm and activations keep the
shape): torch's meta kernels for those live in Python and load a large part of torch on first use,
seconds that a one-shot import should not spend. Parameters are read as meta tensors of their shape,
so nothing is copied. Where a node cannot be worked out this way the caller falls back to a real
forward pass on zeros.
"""

from __future__ import annotations

__all__ = ["propagate"]

from functools import cache
from typing import Any, Callable

from .. import formulas as F
from .graph import canonical_name

_SAME_FUNCTIONS = {"relu", "relu6", "hardtanh", "leaky_relu", "elu", "gelu", "sigmoid", "tanh", "hardswish",
                   "hardsigmoid", "silu", "mish", "dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout",
                   "feature_alpha_dropout", "batch_norm", "layer_norm", "contiguous", "clone", "softmax",
                   "local_response_norm", "detach"}


def _ntuple(value: Any, n: int) -> tuple[int, ...]:
    if isinstance(value, (list, tuple)):
        return tuple(int(v) for v in value) if len(value) == n else (int(value[0]),) * n
    return (int(value),) * n


def _window(spatial: tuple[int, ...], kernel: Any, stride: Any, pads: list[tuple[int, int]], dilation: Any,
            ceil_mode: bool) -> tuple[int, ...]:
    n = len(spatial)
    k, s, d = _ntuple(kernel, n), _ntuple(stride, n), _ntuple(dilation, n)
    return tuple(F.conv_output_length(size, kk, ss, lo, hi, dd, ceil_mode=ceil_mode)
                 for size, kk, ss, (lo, hi), dd in zip(spatial, k, s, pads, d))


def _conv_pads(padding: Any, kernel: Any, dilation: Any, n: int) -> list[tuple[int, int]]:
    if padding == "valid":
        return [(0, 0)] * n
    if padding == "same":  # torch: total d*(k-1), the extra pixel on the high side
        totals = [d * (k - 1) for k, d in zip(_ntuple(kernel, n), _ntuple(dilation, n))]
        return [(t // 2, t - t // 2) for t in totals]
    return [(p, p) for p in _ntuple(padding, n)]


def _conv_shape(shape: tuple[int, ...], out: int, kernel: Any, stride: Any, padding: Any, dilation: Any,
                extra: list[int] | None = None) -> tuple[int, ...]:
    n = len(shape) - 2
    pads = _conv_pads(padding, kernel, dilation, n)
    if extra:  # F.pad before it (archcalc's PaddedConv): last axis first
        for i in range(len(extra) // 2):
            axis = n - 1 - i
            lo, hi = pads[axis]
            pads[axis] = (lo + extra[2 * i], hi + extra[2 * i + 1])
    return (shape[0], out, *_window(shape[2:], kernel, stride, pads, dilation, False))


def _pool_shape(m: Any, shape: tuple[int, ...]) -> tuple[int, ...]:
    n = len(shape) - 2
    stride = m.stride if m.stride is not None else m.kernel_size
    pads = [(p, p) for p in _ntuple(m.padding, n)]
    return (*shape[:2], *_window(shape[2:], m.kernel_size, stride, pads, getattr(m, "dilation", 1), m.ceil_mode))


def _adaptive_shape(m: Any, shape: tuple[int, ...]) -> tuple[int, ...]:
    n = len(shape) - 2
    size = m.output_size if isinstance(m.output_size, (list, tuple)) else [m.output_size] * n
    size = list(size) * n if len(size) == 1 else list(size)
    return (*shape[:2], *(s if o is None else int(o) for o, s in zip(size, shape[2:])))


def _upsample_shape(m: Any, shape: tuple[int, ...]) -> tuple[int, ...]:
    n = len(shape) - 2
    if m.size is not None:
        return (*shape[:2], *_ntuple(m.size, n))
    factors = m.scale_factor if isinstance(m.scale_factor, (list, tuple)) else [m.scale_factor] * n
    return (*shape[:2], *(int(s * float(f)) for s, f in zip(shape[2:], factors)))


def _padded(shape: tuple[int, ...], pad: list[int]) -> tuple[int, ...]:
    """The shape after ``F.pad(x, pad)`` (last axis first, low then high)."""
    out = list(shape)
    for i in range(len(pad) // 2):
        out[len(out) - 1 - i] += int(pad[2 * i]) + int(pad[2 * i + 1])
    return tuple(out)


def _window_pool_shape(shape: tuple[int, ...], kernel: Any, stride: Any, dilation: Any) -> tuple[int, ...]:
    n = len(shape) - 2
    return (*shape[:2], *_window(shape[2:], kernel, stride, [(0, 0)] * n, dilation, False))


def _flatten_shape(start: int, end: int, shape: tuple[int, ...]) -> tuple[int, ...]:
    r = len(shape)
    start, end = start % r, end % r
    middle = 1
    for d in shape[start:end + 1]:
        middle *= d
    return (*shape[:start], middle, *shape[end + 1:])


@cache
def _module_rules() -> dict[type, Callable[[Any, tuple[int, ...]], tuple[int, ...]]]:
    from torch import nn

    from ..torch import modules as M

    same = lambda m, s: s  # noqa: E731
    rules: dict[type, Callable[[Any, tuple[int, ...]], tuple[int, ...]]] = {}
    for cls in (nn.Conv1d, nn.Conv2d, nn.Conv3d, *M.PADDED_CONV.values()):
        rules[cls] = lambda m, s: _conv_shape(s, m.out_channels, m.kernel_size, m.stride, m.padding, m.dilation,
                                              getattr(m, "explicit_pad", None))
    for cls in (nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d):
        rules[cls] = lambda m, s: (s[0], m.out_channels, *(
            F.conv_transpose_output_length(x, k, st, p, op, d) for x, k, st, p, op, d in zip(
                s[2:], m.kernel_size, m.stride, m.padding, m.output_padding, m.dilation)))
    rules[nn.Linear] = lambda m, s: (*s[:-1], m.out_features)
    rules[M.ChannelLinear] = lambda m, s: (s[0], m.out_features, *s[2:])
    for cls in (nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d, nn.AvgPool1d, nn.AvgPool2d, nn.AvgPool3d):
        rules[cls] = _pool_shape
    for cls in (nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveAvgPool3d, nn.AdaptiveMaxPool1d,
                nn.AdaptiveMaxPool2d, nn.AdaptiveMaxPool3d):
        rules[cls] = _adaptive_shape
    rules[nn.Flatten] = lambda m, s: _flatten_shape(m.start_dim, m.end_dim, s)
    for cls in (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.LayerNorm, nn.ReLU, nn.ReLU6, nn.Hardtanh,
                nn.LeakyReLU, nn.ELU, nn.GELU, nn.Sigmoid, nn.Tanh, nn.Hardswish, nn.Hardsigmoid, nn.SiLU, nn.Mish,
                nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d, nn.AlphaDropout, nn.FeatureAlphaDropout,
                nn.Identity, nn.LocalResponseNorm, nn.Softmax, nn.ChannelShuffle, M.ChannelShuffle, M.SqueezeExcite,
                M.LayerScale, M.StochasticDepth, M.GlobalResponseNorm):
        rules[cls] = same
    rules[nn.Upsample] = _upsample_shape
    for cls in (nn.ZeroPad1d, nn.ZeroPad2d, nn.ZeroPad3d, nn.ConstantPad1d, nn.ConstantPad2d, nn.ConstantPad3d):
        rules[cls] = lambda m, s: _padded(s, list(m.padding))
    rules[M.WindowMaxPool] = lambda m, s: _window_pool_shape(_padded(s, m.pad), m.pool.kernel_size, m.pool.stride,
                                                             m.pool.dilation)
    rules[M.WindowAvgPool] = lambda m, s: _window_pool_shape(_padded(s, m.pad), m.kernel, m.stride, 1)
    rules[M.ChannelSplit] = lambda m, s: (s[0], m.width, *s[2:])
    rules[M.CenterCrop] = lambda m, s: (*s[:2], *m.size)
    rules[M.ZeroPadShortcut] = lambda m, s: (s[0], s[1] + m.extra_channels, *(
        -(-x // st) for x, st in zip(s[2:], m.strides)))
    return rules


def _module_rule(module: Any) -> Callable[[Any, tuple[int, ...]], tuple[int, ...]] | None:
    rules = _module_rules()
    rule = rules.get(type(module))
    if rule is not None:
        return rule
    for cls in type(module).__mro__[1:]:
        if cls in rules:
            return rules[cls] if type(module).forward is cls.forward else None
    return None


def _function_shape(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[int, ...] | None:
    import torch

    def arg(i: int, key: str, default: Any = None) -> Any:
        return kwargs[key] if key in kwargs else (args[i] if len(args) > i else default)

    if name == "cat":
        return _cat_shape(args, kwargs)
    x = args[0] if args else None
    if not isinstance(x, torch.Tensor):
        tensors = [a for a in args[:2] if isinstance(a, torch.Tensor)]
        if name in ("add", "sub", "mul", "div") and tensors:
            return _broadcast(*(tuple(t.shape) for t in tensors))
        return None
    if name in _SAME_FUNCTIONS:
        return tuple(x.shape)
    if name in ("conv1d", "conv2d", "conv3d"):
        w = arg(1, "weight")
        return _conv_shape(tuple(x.shape), w.shape[0], tuple(w.shape[2:]), arg(3, "stride", 1), arg(4, "padding", 0),
                           arg(5, "dilation", 1))
    if name == "linear":
        return (*x.shape[:-1], arg(1, "weight").shape[0])
    shape = tuple(x.shape)
    if name in ("add", "sub", "mul", "div"):
        tensors = [a for a in args[:2] if isinstance(a, torch.Tensor)]
        return _broadcast(*(tuple(t.shape) for t in tensors))
    if name == "mean":
        dims = arg(1, "dim")
        if dims is None:
            return None
        dims = {int(d) % len(shape) for d in ([dims] if isinstance(dims, int) else dims)}
        keep = bool(arg(2, "keepdim", False))
        return tuple(1 if i in dims else s for i, s in enumerate(shape) if keep or i not in dims)
    if name.startswith("adaptive_") and name.endswith("d") and not arg(2, "return_indices", False):
        n = len(shape) - 2
        size = arg(1, "output_size")
        size = list(size) if isinstance(size, (list, tuple)) else [size] * n
        size = size * n if len(size) == 1 else size
        return (*shape[:2], *(s if o is None else int(o) for o, s in zip(size, shape[2:])))
    if name[:-2] in ("max_pool", "avg_pool") and name[-2:] in ("1d", "2d", "3d"):
        n = len(shape) - 2
        kernel = arg(1, "kernel_size")
        stride = arg(2, "stride") or kernel
        pads = [(p, p) for p in _ntuple(arg(3, "padding", 0), n)]
        if name.startswith("max"):
            if arg(6, "return_indices", False):
                return None
            ceil = bool(arg(5, "ceil_mode", False))
            return (*shape[:2], *_window(shape[2:], kernel, stride, pads, arg(4, "dilation", 1), ceil))
        return (*shape[:2], *_window(shape[2:], kernel, stride, pads, 1, bool(arg(4, "ceil_mode", False))))
    if name == "interpolate":
        n = len(shape) - 2
        size, scale = arg(1, "size"), arg(2, "scale_factor")
        if size is not None:
            return (*shape[:2], *_ntuple(size, n))
        factors = scale if isinstance(scale, (list, tuple)) else [scale] * n
        return (*shape[:2], *(int(s * float(f)) for s, f in zip(shape[2:], factors)))
    return None


def _broadcast(*shapes: tuple[int, ...]) -> tuple[int, ...]:
    """NumPy broadcasting of ``shapes`` (torch.broadcast_shapes loads sympy on first use)."""
    rank = max(len(s) for s in shapes)
    out = []
    for axis in range(rank):
        sizes = {s[len(s) - rank + axis] for s in shapes if len(s) - rank + axis >= 0} - {1}
        if len(sizes) > 1:
            raise ValueError(f"shapes {shapes} do not broadcast")
        out.append(sizes.pop() if sizes else 1)
    return tuple(out)


def _cat_shape(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[int, ...] | None:
    import torch

    tensors = kwargs.get("tensors", args[0] if args else None)
    dim = kwargs.get("dim", args[1] if len(args) > 1 else 0)
    if not isinstance(tensors, (list, tuple)) or not tensors or not all(isinstance(t, torch.Tensor) for t in tensors):
        return None
    shape = list(tensors[0].shape)
    d = int(dim) % len(shape)
    shape[d] = sum(int(t.shape[d]) for t in tensors)
    return tuple(shape)


def _dtype(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    import torch

    for a in (*args, *kwargs.values()):
        if isinstance(a, torch.Tensor):
            return a.dtype
        if isinstance(a, (list, tuple)) and a and isinstance(a[0], torch.Tensor):
            return a[0].dtype
    return torch.float32


def propagate(root: Any, graph: Any, input_shape: tuple[int, ...], modules: dict[str, Any] | None = None) -> None:
    """Set ``node.meta['tensor_meta']`` (anything with a ``shape``) on every node of ``graph``, traced from ``root``.

    ``modules``: ``root``'s ``named_modules()``, where the caller has them. Raises whatever torch raises
    where a node cannot be interpreted this way.
    """
    import torch
    import torch.fx as fx

    by_path = dict(root.named_modules()) if modules is None else modules

    class Shapes(fx.Interpreter):
        def run_node(self, n: Any) -> Any:
            # fx's own run_node adds a logging call and the node-metadata context of tracing passes: neither
            # matters for shapes on the meta device, and both cost as much as the shape rules themselves
            args, kwargs = self.fetch_args_kwargs_from_env(n)
            result = getattr(self, n.op)(n.target, args, kwargs)
            if isinstance(result, torch.Tensor):
                n.meta["tensor_meta"] = result
            return result

        def get_attr(self, target: Any, args: Any, kwargs: Any) -> Any:
            value = super().get_attr(target, args, kwargs)
            if isinstance(value, torch.Tensor) and not value.is_meta:
                return torch.empty(value.shape, dtype=value.dtype, device="meta")
            return value

        def call_module(self, target: Any, args: Any, kwargs: Any) -> Any:
            module = by_path.get(target)
            if module is None:
                module = self.fetch_attr(target)
            rule = _module_rule(module)
            x = args[0] if args else None
            if rule is not None and isinstance(x, torch.Tensor):
                return torch.empty(rule(module, tuple(x.shape)), dtype=x.dtype, device="meta")
            if any(not t.is_meta for t in module.parameters()) or any(not t.is_meta for t in module.buffers()):
                raise NotImplementedError(f"no shape rule for {type(module).__name__}")
            return super().call_module(target, args, kwargs)

        def call_function(self, target: Any, args: Any, kwargs: Any) -> Any:
            shape = _function_shape(canonical_name(getattr(target, "__name__", str(target))), args, kwargs)
            if shape is not None:
                return torch.empty(shape, dtype=_dtype(args, kwargs), device="meta")
            return super().call_function(target, args, kwargs)

        def call_method(self, target: Any, args: Any, kwargs: Any) -> Any:
            shape = _function_shape(canonical_name(str(target)), args, kwargs)
            if shape is not None:
                return torch.empty(shape, dtype=_dtype(args, kwargs), device="meta")
            return super().call_method(target, args, kwargs)

    with torch.no_grad():
        Shapes(root, garbage_collect_values=False, graph=graph).run(torch.zeros((1, *input_shape), device="meta"))
