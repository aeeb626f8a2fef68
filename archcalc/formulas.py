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
    "pool_ops", "adaptive_window_total", "adaptive_pool_ops", "batchnorm_params", "batchnorm_ops",
    "elementwise_ops", "lrn_ops", "softmax_ops", "upsample_ops", "se_params", "se_macs", "se_ops",
    "activation_bytes", "receptive_field_step",
]

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


def linear_macs(in_features: int, out_features: int) -> int:
    """``in * out`` multiply-adds (the bias add is not counted)."""
    return in_features * out_features


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
    """Sum of adaptive-pooling window lengths along one axis.

    Window ``i`` spans ``[floor(i*in/out), ceil((i+1)*in/out))``, as in PyTorch.
    """
    return sum(-(-(i + 1) * in_size // out_size) - (i * in_size // out_size) for i in range(out_size))


def adaptive_pool_ops(channels: int, in_spatial: Sequence[int], out_spatial: Sequence[int]) -> int:
    """One op per window element read; windows are separable, so the total is a product of axis sums."""
    return channels * prod(adaptive_window_total(i, o) for i, o in zip(in_spatial, out_spatial))


def batchnorm_ops(elements: int) -> int:
    """Inference batch norm is ``y = a*x + b`` per element: 2 ops (fvcore's count in eval mode)."""
    return 2 * elements


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


def activation_bytes(elements: int, bytes_per_element: int) -> int:
    """Memory of one output tensor: elements times bytes per element (float32: 4)."""
    return elements * bytes_per_element


# --------------------------------------------------------------------------- receptive field


def receptive_field_step(size: float, jump: float, start: float, *, kernel: int, stride: float,
                         pad_low: int, dilation: int = 1) -> tuple[float, float, float]:
    """Receptive field through one window op along one axis (Araujo et al., Distill 2019).

    ``size' = size + (dilation*(kernel-1)) * jump``; ``jump' = jump * stride``;
    ``start' = start + ((dilation*(kernel-1))/2 - pad_low) * jump`` -- the centre of the first
    output's field in input pixels. Strides below 1 (transposed convolution, upsampling) are
    fractions; binary fractions stay exact in floating point.
    """
    span = dilation * (kernel - 1)
    return size + span * jump, jump * stride, start + (span / 2 - pad_low) * jump


