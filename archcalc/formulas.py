"""Pure cost formulas: shapes in, integers out. Every number archcalc prints comes from here.

Each function is a closed form with its derivation in the docstring; the tests check each one
against a worked example with the arithmetic written beside the expected value. The counting
conventions these formulas implement are stated once, in :mod:`archcalc.conventions`.

Shapes here are per-sample (no batch axis); the analyzer multiplies by the batch size.
"""

from __future__ import annotations

__all__ = [
    "prod", "conv_output_length", "conv_transpose_output_length", "same_padding",
    "conv_params", "conv_macs", "conv_transpose_macs", "linear_params", "linear_macs",
    "pool_ops", "adaptive_window_total", "adaptive_window_max", "adaptive_pool_ops", "batchnorm_params", "batchnorm_ops",
    "layernorm_params", "layernorm_ops",
    "elementwise_ops", "lrn_ops", "softmax_ops", "upsample_ops", "se_params", "se_macs", "se_ops",
    "activation_bytes", "window_reads", "conv_transpose_reads", "adaptive_reads", "nearest_reads",
    "linear_reads", "roi_align_macs", "roi_pool_ops", "frozen_batchnorm_ops",
]

from math import gcd
from typing import Iterable, Sequence


def prod(values: Iterable[int]) -> int:
    """Product of integers (1 for an empty sequence)."""
    result = 1
    for v in values:
        result *= v
    return result


# --------------------------------------------------------------------------- output sizes


def conv_output_length(size: int, kernel: int, stride: int = 1, pad_low: int = 0, pad_high: int = 0,
                       dilation: int = 1, *, ceil_mode: bool = False) -> int:
    """Output length of a convolution or pooling window along one axis.

    ``out = floor((size + pad_low + pad_high - dilation*(kernel-1) - 1) / stride) + 1``; with
    ``ceil_mode`` the division rounds up, but (as in PyTorch and Caffe) the last window must start
    inside the input or the left padding: if ``(out-1)*stride >= size + pad_low`` it is dropped.
    Returns a value < 1 when the kernel does not fit; callers turn that into an error.
    """
    span = size + pad_low + pad_high - dilation * (kernel - 1) - 1
    if span < 0:
        return 0
    out = (-(-span // stride) if ceil_mode else span // stride) + 1
    if ceil_mode and (out - 1) * stride >= size + pad_low:
        out -= 1
    return out


def conv_transpose_output_length(size: int, kernel: int, stride: int = 1, padding: int = 0,
                                 output_padding: int = 0, dilation: int = 1) -> int:
    """``out = (size - 1)*stride - 2*padding + dilation*(kernel - 1) + output_padding + 1``."""
    return (size - 1) * stride - 2 * padding + dilation * (kernel - 1) + output_padding + 1


def same_padding(size: int, kernel: int, stride: int, dilation: int) -> tuple[int, int]:
    """TensorFlow ``SAME`` padding (low, high) so that ``out = ceil(size / stride)``.

    ``total = max((ceil(size/stride) - 1)*stride + dilation*(kernel-1) + 1 - size, 0)``; the extra
    pixel of an odd total goes to the high side.
    """
    out = -(-size // stride)
    total = max((out - 1) * stride + dilation * (kernel - 1) + 1 - size, 0)
    return total // 2, total - total // 2


# --------------------------------------------------------------------------- params and MACs


def conv_params(c_in: int, c_out: int, kernel: Sequence[int], *, groups: int = 1, bias: bool = True) -> int:
    """Weights ``c_out * (c_in/groups) * prod(kernel)`` plus ``c_out`` biases."""
    return c_out * (c_in // groups) * prod(kernel) + (c_out if bias else 0)


def conv_macs(c_in: int, output_shape: Sequence[int], kernel: Sequence[int], *, groups: int = 1) -> int:
    """Multiply-adds: each output element ``[c_out, *spatial]`` reads ``(c_in/groups) * prod(kernel)`` inputs."""
    return prod(output_shape) * (c_in // groups) * prod(kernel)


def conv_transpose_macs(input_shape: Sequence[int], c_out: int, kernel: Sequence[int], *, groups: int = 1) -> int:
    """Multiply-adds: each input element ``[c_in, *spatial]`` scatters into ``(c_out/groups) * prod(kernel)`` outputs."""
    return prod(input_shape) * (c_out // groups) * prod(kernel)


def linear_params(in_features: int, out_features: int, *, bias: bool = True) -> int:
    """``in * out`` weights plus ``out`` biases."""
    return in_features * out_features + (out_features if bias else 0)


def linear_macs(in_features: int, out_features: int, positions: int = 1) -> int:
    """``in * out`` multiply-adds per position (the bias add is not counted); a per-position linear
    (ConvNeXt's ``Linear`` on a channels-last tensor) repeats them at each of ``positions``."""
    return in_features * out_features * positions


def batchnorm_params(channels: int, *, affine: bool = True) -> int:
    """Scale and shift per channel (running mean/variance are buffers, not parameters)."""
    return 2 * channels if affine else 0


def se_params(channels: int, mid: int, *, bias: bool = True) -> int:
    """Two 1x1 convolutions ``C -> mid -> C``: ``2*C*mid`` weights plus ``mid + C`` biases."""
    return 2 * channels * mid + ((mid + channels) if bias else 0)


def se_macs(channels: int, mid: int) -> int:
    """The two 1x1 convolutions on the pooled ``C x 1 x 1`` vector: ``2 * C * mid``."""
    return 2 * channels * mid


# --------------------------------------------------------------------------- other ops


def pool_ops(output_elements: int, window_elements: int) -> int:
    """One op per window element read: ``out elements * window`` (AlexNet table: pool1 = 96*27*27*3*3)."""
    return output_elements * window_elements


def adaptive_window_total(in_size: int, out_size: int) -> int:
    """Sum of adaptive-pooling window lengths along one axis: ``in + out - gcd(in, out)``.

    Window ``i`` spans ``[floor(i*n/m), ceil((i+1)*n/m))``, as in PyTorch (``n`` in, ``m`` out).
    Summing ``ceil((i+1)n/m) - floor(in/m)`` over ``i < m``: the ceilings are the floors of
    ``(i+1)n/m`` plus one for each ``i+1`` in ``1..m`` that ``m/gcd`` does not divide (``m - gcd`` of
    them), and the floors of ``(i+1)n/m`` exceed those of ``in/m`` by ``floor(mn/m) - 0 = n`` in
    total, so the sum is ``n + m - gcd(n, m)``. O(1): an output size of 2e9 is no loop.
    """
    return in_size + out_size - gcd(in_size, out_size)


def adaptive_window_max(in_size: int, out_size: int) -> int:
    """The largest adaptive-pooling window along one axis (``n`` in, ``m`` out), in closed form.

    With ``n = q*m + r``, window ``i`` is ``q + ceil(x + r/m) - floor(x)`` for ``x = i*r/m``, i.e.
    ``q`` (``r = 0``), ``q + 1``, or ``q + 2`` when ``frac(x) > 1 - r/m``. The fractional parts
    ``(i*r mod m)/m`` run over the multiples of ``g = gcd(r, m)``, the largest being ``m - g``, so
    ``q + 2`` occurs exactly when ``m - g > m - r``: when ``r`` does not divide ``m``.
    Examples: 7 -> 3 gives 3 (q 2, r 1), 8 -> 7 gives 2, 13 -> 6 gives 3, 5 -> 3 gives 3.
    """
    q, r = divmod(in_size, out_size)
    if r == 0:
        return q
    return q + 1 if out_size % r == 0 else q + 2


def adaptive_pool_ops(channels: int, in_spatial: Sequence[int], out_spatial: Sequence[int]) -> int:
    """One op per window element read; windows are separable, so the total is a product of axis sums."""
    return channels * prod(adaptive_window_total(i, o) for i, o in zip(in_spatial, out_spatial))


def batchnorm_ops(elements: int) -> int:
    """Inference batch norm is ``y = a*x + b`` per element: 2 ops (fvcore's count in eval mode)."""
    return 2 * elements


def layernorm_params(channels: int, *, affine: bool = True) -> int:
    """Scale and shift per channel, shared by every position: ``2 * C`` (0 without affine)."""
    return 2 * channels if affine else 0


def layernorm_ops(elements: int, *, affine: bool = True) -> int:
    """Layer norm over channels: 5 ops per element with affine, 4 without.

    NB: fvcore's count of ``aten::layer_norm`` (``norm_flop_counter``: mean, subtract, variance,
    normalize, and the affine ``a*x + b`` as one more), which it calls "a rough estimate"; archcalc
    takes it as its convention so that the cross-check agrees element for element.
    """
    return (5 if affine else 4) * elements


def layer_scale_params(channels: int) -> int:
    """One learnable scale per channel (CaiT/ConvNeXt layer scale): ``C``; applying it is 1 op per element."""
    return channels


def grn_params(channels: int) -> int:
    """Global response normalization (ConvNeXt V2): ``gamma`` and ``beta`` per channel, ``2 * C``."""
    return 2 * channels


def grn_ops(channels: int, spatial_elements: int) -> int:
    """``gamma * (x * Nx) + beta + x`` with ``Nx = Gx / (mean_c(Gx) + eps)``, ``Gx = ||x||_2`` over positions.

    Per element: square and sum (2), times ``Nx``, times ``gamma``, plus ``beta``, plus ``x`` (4): 6.
    Per channel: the square root, the sum into the mean, the division by it: 3. Per sample: the mean's
    division and ``+ eps``: 2.
    """
    return 6 * channels * spatial_elements + 3 * channels + 2


def elementwise_ops(elements: int, per_element: int = 1) -> int:
    """Activations and residual additions: ``per_element`` op(s) per element."""
    return elements * per_element


def lrn_ops(elements: int, size: int) -> int:
    """LRN: ``size`` squares-and-adds across channels, then 3 ops (scale, power, divide) per element."""
    return elements * (size + 3)


def softmax_ops(elements: int) -> int:
    """Softmax: exp, sum and divide per element."""
    return 3 * elements


def upsample_ops(output_elements: int, mode: str, spatial_axes: int) -> int:
    """Nearest: copies, no arithmetic. (Bi/tri)linear: one multiply-add per interpolation tap,
    ``2**axes`` taps per output element."""
    if mode == "nearest":
        return 0
    return output_elements * 2**spatial_axes


def se_ops(channels: int, spatial_elements: int, mid: int) -> int:
    """Squeeze-excite besides its MACs: pool reads ``C*HW``, activations ``mid + C``, rescale ``C*HW``."""
    return 2 * channels * spatial_elements + mid + channels


def roi_align_macs(channels: int, out_spatial: Sequence[int], sampling_ratio: int) -> int:
    """RoIAlign for one region: every output element averages ``sampling_ratio`` samples per axis, and each
    sample is a bilinear interpolation of 4 neighbours (4 multiply-adds): ``C * prod(out) * sr^axes * 4``.

    NB: the bilinear weights (per sample, shared by the channels) and the division by the sample count
    (per output) are not counted."""
    return channels * prod(out_spatial) * sampling_ratio ** len(out_spatial) * 4


def roi_pool_ops(channels: int, out_spatial: Sequence[int]) -> int:
    """RoI max pooling for one region: one op per output element (``C * prod(out)``).

    NB: each bin reads the feature elements its box covers, a number that depends on the box, so the
    reads are not counted; the per-output op is the bin's maximum."""
    return channels * prod(out_spatial)


def frozen_batchnorm_ops(elements: int) -> int:
    """A frozen batch norm applies ``x * scale + shift`` (scale and shift from its buffers): 2 ops per element."""
    return 2 * elements


def activation_bytes(elements: int, bytes_per_element: int) -> int:
    """Memory of one output tensor: elements times bytes per element (float32: 4)."""
    return elements * bytes_per_element


# --------------------------------------------------------------------------- receptive field


# Which positions of a layer's input output position ``u`` reads, along one axis: the inclusive
# extent ``(first, last)`` or ``None`` when it reads none. These are the index maps of PyTorch's
# kernels, extended to every integer ``u`` (positions outside the tensor are padding).


def window_reads(u: int, *, kernel: int, stride: int, pad_low: int, dilation: int = 1) -> tuple[int, int]:
    """Convolution / pooling: ``first = u*stride - pad_low``, ``last = first + dilation*(kernel - 1)``."""
    first = u * stride - pad_low
    return first, first + dilation * (kernel - 1)


def conv_transpose_reads(u: int, *, kernel: int, stride: int, padding: int,
                         dilation: int = 1) -> tuple[int, int] | None:
    """Transposed convolution: input ``i`` feeds output ``i*stride - padding + t*dilation`` for each tap
    ``t < kernel``, so output ``u`` reads the ``i = (x - t*d)/s`` (``x = u + padding``) whose ``t``
    solves ``t*d = x (mod s)``. With ``g = gcd(d, s)`` there is none unless ``g | x``; then the taps are
    ``t0, t0 + s/g, ...`` below ``kernel`` (``t0 = (x/g) * (d/g)^-1 mod s/g``) -- at most
    ``ceil(kernel*g/s)`` inputs, ``d/g`` apart. A 2x2 stride-2 up-convolution reads one input.
    """
    x = u + padding
    g = gcd(dilation, stride)
    if x % g:
        return None
    sg = stride // g
    t0 = (x // g) * pow(dilation // g, -1, sg) % sg
    if t0 >= kernel:
        return None
    t1 = t0 + (kernel - 1 - t0) // sg * sg
    return (x - t1 * dilation) // stride, (x - t0 * dilation) // stride


def adaptive_reads(u: int, *, in_size: int, out_size: int) -> tuple[int, int]:
    """Adaptive pooling (PyTorch): window ``u`` is ``[floor(u*n/m), ceil((u+1)*n/m) - 1]``."""
    return u * in_size // out_size, -(-(u + 1) * in_size // out_size) - 1


def nearest_reads(u: int, *, in_size: int, out_size: int) -> tuple[int, int]:
    """Nearest upsampling (PyTorch ``nearest``): one input, ``floor(u*n/m)``."""
    v = u * in_size // out_size
    return v, v


def linear_reads(u: int, *, in_size: int, out_size: int) -> tuple[int, int]:
    """(Bi/tri)linear interpolation, ``align_corners=False``, along one axis: the source coordinate is
    ``x = (u + 0.5)*n/m - 0.5 = ((2u + 1)*n - m) / (2m)`` and the taps are ``floor(x)`` and ``ceil(x)``
    (one input when ``x`` is whole: the other tap's weight is 0). Clamping at the border is padding.
    """
    num, den = (2 * u + 1) * in_size - out_size, 2 * out_size
    return num // den, -(-num // den)
