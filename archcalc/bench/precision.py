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
    # NB: the legacy allow_tf32 switches, on purpose. torch >= 2.9 also has fp32_precision
    # strings, but mixing the two APIs makes later reads (torch.get_float32_matmul_precision,
    # inductor's checks) raise; the legacy setters keep both views consistent.
    saved = (cudnn.benchmark, matmul.allow_tf32, cudnn.allow_tf32)
    matmul.allow_tf32 = cudnn.allow_tf32 = tf32
    cudnn.benchmark = cudnn_benchmark
    try:
        yield
    finally:
        cudnn.benchmark, matmul.allow_tf32, cudnn.allow_tf32 = saved
