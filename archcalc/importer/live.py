"""The live module while it is traced or counted: its device, eval mode, meta weights, nested outputs."""

from __future__ import annotations

__all__ = ["model_device", "eval_mode", "meta_weights", "leaves"]

from contextlib import contextmanager
from typing import Any, Iterator


def model_device(model: Any) -> Any:
    """The device of the model's first parameter or buffer (CPU for a model without any)."""
    import torch

    for t in model.parameters():
        return t.device
    for t in model.buffers():
        return t.device
    return torch.device("cpu")


@contextmanager
def eval_mode(model: Any) -> Iterator[None]:
    """Every module in eval mode, each one's own flag restored afterwards."""
    flags = [(m, m.training) for m in model.modules()]
    if any(flag for _, flag in flags):  # else already in eval mode (nn.Module's __setattr__ is slow)
        model.eval()
    try:
        yield
    finally:
        for m, flag in flags:
            if m.training != flag:
                m.training = flag


@contextmanager
def meta_weights(model: Any) -> Iterator[bool]:
    """The model's parameters and buffers swapped for meta tensors of the same shapes (none copied)."""
    from torch.nn.utils.stateless import _reparametrize_module

    state = {**dict(model.named_parameters(remove_duplicate=False)),
             **dict(model.named_buffers(remove_duplicate=False))}
    if all(t.is_meta for t in state.values()):
        yield True
        return
    meta = {k: t.detach().to("meta") for k, t in state.items()}
    with _reparametrize_module(model, meta, tie_weights=True):
        yield True


def leaves(obj: Any) -> list[Any]:
    """The leaves of nested dicts, lists and tuples (a module's outputs), in order."""
    if isinstance(obj, dict):
        return [x for v in obj.values() for x in leaves(v)]
    if isinstance(obj, (list, tuple)):
        return [x for v in obj for x in leaves(v)]
    return [obj]
