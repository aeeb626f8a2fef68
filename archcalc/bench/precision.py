"""Precision settings: the torch dtype of each ``--dtype`` and the TF32 / cuDNN switches.

``float32`` and ``tf32`` both store float32; they differ in whether matmuls and cuDNN
convolutions may use TF32 tensor cores (CUDA only). ``bfloat16`` and ``float16`` convert the
whole model and its input (``model.to(dtype)``), no autocast. Every switch is restored on exit:
the library never leaves a global setting changed.
"""

from __future__ import annotations

__all__ = ["torch_dtype", "precision_detail", "precision_flags"]

from contextlib import contextmanager
from typing import Any, Iterator


def torch_dtype(precision: str) -> Any:
    import torch

    return {"float32": torch.float32, "tf32": torch.float32, "bfloat16": torch.bfloat16,
            "float16": torch.float16}[precision]


def precision_detail(*, device: str, precision: str) -> str:
    """One sentence saying what ``precision`` means on ``device``."""
    if precision == "float32":
        if device == "cuda":
            return "float32 weights and activations; TF32 disabled for matmuls and cuDNN convolutions"
        return "float32 weights and activations"
    if precision == "tf32":
        if device == "cuda":
            return "float32 storage; matmuls and cuDNN convolutions may use TF32 tensor cores"
        return "float32 on the CPU (TF32 is a CUDA mode and has no effect here)"
    return f"{precision} weights and activations (model.to(torch.{precision})), no autocast"


@contextmanager
def precision_flags(*, device: str, precision: str, cudnn_benchmark: bool) -> Iterator[None]:
    """Set TF32 and ``cudnn.benchmark`` for the block (CUDA only), then restore them."""
    if device != "cuda":
        yield
        return
    import torch

    tf32 = precision == "tf32"
    cudnn = torch.backends.cudnn
    matmul = torch.backends.cuda.matmul
    saved_benchmark = cudnn.benchmark
    new_api = hasattr(matmul, "fp32_precision") and hasattr(getattr(cudnn, "conv", None), "fp32_precision")
    if new_api:  # torch >= 2.9: mixing with the legacy allow_tf32 switches is an error
        saved = (matmul.fp32_precision, cudnn.conv.fp32_precision)
        matmul.fp32_precision = cudnn.conv.fp32_precision = "tf32" if tf32 else "ieee"
    else:
        saved = (matmul.allow_tf32, cudnn.allow_tf32)
        matmul.allow_tf32 = cudnn.allow_tf32 = tf32
    cudnn.benchmark = cudnn_benchmark
    try:
        yield
    finally:
        cudnn.benchmark = saved_benchmark
        if new_api:
            matmul.fp32_precision, cudnn.conv.fp32_precision = saved
        else:
            matmul.allow_tf32, cudnn.allow_tf32 = saved
