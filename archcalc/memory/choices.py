"""The choices of a memory question -- inference or training, the optimizer, the precision -- with
what each implies (see :mod:`.training`). A module of its own so that the command line can offer
them without loading the analyzer."""

from __future__ import annotations

__all__ = ["Mode", "Optimizer", "Precision"]

from ..options import Choice


class Mode(Choice):
    """What the memory is for: one inference pass or one training step."""

    INFERENCE = "inference"
    TRAINING = "training"

    @classmethod
    def option(cls) -> str:
        return "mode"


class Optimizer(Choice):
    """The optimizer of a training step; its state per parameter is :attr:`state_tensors`."""

    SGD = "sgd"
    MOMENTUM = "momentum"
    ADAM = "adam"
    ADAMW = "adamw"

    @property
    def state_tensors(self) -> int:
        """Tensors of a parameter's size the optimizer keeps: momentum 1, Adam's two moments 2."""
        return {"sgd": 0, "momentum": 1, "adam": 2, "adamw": 2}[self.value]

    @property
    def step_temporaries(self) -> int:
        """Parameter-sized temporaries during ``step()`` (torch's foreach Adam: the denominator)."""
        return {"sgd": 0, "momentum": 0, "adam": 1, "adamw": 1}[self.value]


class Precision(Choice):
    """Number formats of a training step (see the module docstring)."""

    FLOAT32 = "float32"
    BF16_MIXED = "bf16-mixed"
    BFLOAT16 = "bfloat16"

    @property
    def activation_dtype(self) -> str:
        return "float32" if self is Precision.FLOAT32 else "bfloat16"

    @property
    def weight_bytes_per_param(self) -> int:
        """Bytes of a weight, its gradient and each optimizer state value (float32 master weights when mixed)."""
        return 2 if self is Precision.BFLOAT16 else 4
