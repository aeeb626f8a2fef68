"""Counting conventions -- stated once, here, and linked from the README.

Papers and tools disagree on what "FLOPs" means. archcalc counts three things separately and
names each with its unit:

``macs``
    Multiply-accumulates of convolutions (incl. grouped, depthwise, transposed), linear layers
    and the 1x1 convolutions inside squeeze-and-excitation. A bias add is **not** a MAC (as in
    fvcore, torchvision's GFLOPS and most papers' "multiply-adds").
``ops``
    All other arithmetic, element-wise:

    ===========================  ==========================================================
    max/avg pooling              one op per window element read (AlexNet table: pool1 =
                                 96*27*27*3*3 = 629,856); adaptive and global pooling the same
    batch norm                   2 per element (inference ``y = a*x + b``; fvcore, eval mode)
    layer norm                   5 per element, 4 without affine (fvcore's ``aten::layer_norm``)
    activations                  1 per element (relu, sigmoid, hardswish, silu, ...)
    residual addition            1 per output element
    local response norm          ``size + 3`` per element
    softmax                      3 per element (exp, sum, divide)
    upsampling                   nearest 0; linear modes ``2**axes`` per output element
    squeeze-and-excitation       pool ``C*HW`` + activations ``mid + C`` + rescale ``C*HW``
    dropout, flatten, concat,    0 (identity at inference, views, copies)
    channel shuffle
    ===========================  ==========================================================
``activation_bytes``
    The output tensor of every row: elements x bytes per element (float32: 4). Views and
    in-place operations are counted as if materialized, so the total is an upper bound on what
    a framework keeps alive; the lecture tables' "Mem (KB)" column is the same per-row figure
    divided by 1024.
``params``
    Learnable parameters as ``torch.nn.Module.parameters()`` counts them: weights, biases,
    batch-norm scale and shift (running statistics are buffers and are not counted).

The *headline* number a report leads with is chosen by :class:`Convention`:

* ``macs`` (default) -- multiply-accumulates;
* ``flops`` -- ``2 * macs`` (one multiply and one add), the unit of PyTorch's flop counter
  and of hardware peak figures;
* ``seed`` -- ``macs`` plus pooling ops, as the lecture tables print "Flops (M)".
"""

from __future__ import annotations

__all__ = ["Convention", "headline_count", "HEADLINE_LABELS"]

from .options import Choice


class Convention(Choice):
    """The headline count of a report; ``Convention("flops")`` is a member, another word a UsageError."""

    MACS = "macs"
    FLOPS = "flops"
    SEED = "seed"


HEADLINE_LABELS = {
    Convention.MACS: "MACs",
    Convention.FLOPS: "FLOPs (2*MACs)",
    Convention.SEED: "Flops (MACs + pooling)",
}


def headline_count(convention: Convention, *, macs: int, pooling_ops: int) -> int:
    """The cost a report leads with under ``convention``."""
    if convention is Convention.MACS:
        return macs
    if convention is Convention.FLOPS:
        return 2 * macs
    if convention is Convention.SEED:
        return macs + pooling_ops
    raise ValueError(f"unknown convention {convention!r}")  # pragma: no cover - Enum guards this
