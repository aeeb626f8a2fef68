"""Counting conventions -- stated once, here, and linked from the README.

Papers and tools disagree on what "FLOPs" means. archcalc counts three things separately and
names each with its unit:

``macs``
    Multiply-accumulates of convolutions (incl. grouped, depthwise, transposed), linear layers
    and the 1x1 convolutions inside squeeze-and-excitation. A bias add is **not** a MAC (as in
    fvcore, torchvision's GFLOPS and most papers' "multiply-adds"). RoIAlign: 4 per bilinear sample
    and channel (``C * bins * sampling_ratio**2 * 4`` per box).
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
    frozen batch norm            2 per element (``x * scale + shift``; no parameters)
    RoI max pooling              1 per output element (the bin's maximum; its reads depend
                                 on the box)
    proposals, detections        0 MACs and 0 ops: anchors, box decoding, sorting and NMS
                                 select data; the row records how many boxes it keeps
    ===========================  ==========================================================

    Rows in a ``per_proposal`` section run once per box: their MACs, ops and bytes are per image
    times the boxes (``LayerRow.instances``), their parameters are counted once. A head shared over
    pyramid levels (``levels``) counts its parameters once and its MACs on every level.
``activation_bytes``
    The output tensor of every row: elements x bytes per element (float32: 4). Views and
    in-place operations are counted as if materialized, so the total (the sum over the rows) is an
    upper bound that no allocator ever shows; the lecture tables' "Mem (KB)" column is the same
    per-row figure divided by 1024. Tables title it "Output mem".
``live_bytes``, ``peak_activation_bytes``
    The activations alive in one inference pass (``no_grad``) of the model ``archcalc.build_model``
    builds, by liveness (:mod:`archcalc.memory.liveness`): a tensor is freed after its last
    consumer; a view (flatten, a channel split or crop, dropout and stochastic depth at inference)
    allocates nothing and keeps its base alive; a concat allocates its output while its inputs are
    alive; a residual holds its shortcut until the join (and its post-join activation) is done; a
    block's input lives until the block returns (its caller holds it, as ``nn.Sequential``'s does);
    side outputs, the input and the output live to the end. The builder's activations are not in
    place (``nn.ReLU()``), so each allocates its output. While a row runs, what was alive, its output
    and its scratch (padded copies, max pooling's int64 indices, squeeze-excite's gate) are alive
    together. Layouts matter where torch copies: a flatten after a crop, a per-position linear or
    layer norm on a tensor that is not channels-last. ``live_bytes`` is the figure after a row;
    ``peak_activation_bytes`` the largest during the pass, the input included, the weights not.
    Tables title it "Live mem". Measured with a ``TorchDispatchMode`` over the zoo, every kind's
    examples and random specs, it agrees within 2 % (mostly to the byte).
``saved_bytes``
    What autograd keeps for backward in a training-mode forward, as PyTorch does: a convolution or
    linear layer its input; batch norm its input and two float32 statistics per channel; layer norm
    its input and two per position; ReLU, sigmoid, tanh and softmax their output; the other
    activations and layer scale their input; max pooling its input and int64 indices; dropout a mask
    (one byte per element on CUDA, the activations' type on the CPU); a multiplicative join both
    factors; an addition, a concatenation, flatten, upsampling and pooling to size 1 nothing. A
    storage kept by two rows counts once, for the first; parameters and buffers are not activations;
    a row with no parameters on a tensor that needs no gradient keeps nothing. Per row, and summed in
    ``Totals.saved_bytes``; measured with ``saved_tensors_hooks`` it agrees exactly.
Training step
    Weights, gradients and optimizer state (none for ``sgd``, one tensor per parameter for
    ``momentum``, two for ``adam``/``adamw``) in float32, or bfloat16 for pure ``bfloat16``;
    ``bf16-mixed`` keeps float32 masters and adds autocast's bfloat16 copies of convolution and
    linear weights. The peak is the largest of the forward (activations kept for backward
    accumulating), the backward (kept activations being freed while their gradients and the
    parameter gradients appear) and the optimizer step (weights, gradients, state and Adam's
    temporary); see :mod:`archcalc.memory.training`. Not counted: the CUDA context, kernels' private
    workspace (cuDNN) and the caching allocator's rounding, which the GPU check measures apart.
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
