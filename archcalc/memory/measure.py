"""Measure what the static memory model predicts, on the model :func:`archcalc.build_model` builds.

* :func:`measure_saved`: a training-mode forward under ``torch.autograd.graph.saved_tensors_hooks``:
  every tensor autograd keeps for backward, attributed to the row whose module was running (the
  innermost leaf row), each storage once (for the first row that keeps it), parameters and buffers
  left out. The static figure is ``LayerRow.saved_bytes``.
* :func:`measure_live`: a forward pass under :class:`LiveTracker`, a ``TorchDispatchMode`` that adds
  each operator output's storage when it appears and subtracts it once the storage is freed: the
  largest sum is the pass's peak of live tensor bytes (the input included; parameters too when
  ``include_state``). The static figure is ``Totals.peak_activation_bytes``.

The tracker sees tensors that pass through torch's dispatcher, not a kernel's private workspace (on
the CPU, a convolution's unfolded input inside its kernel); on CUDA, :mod:`archcalc.memory.cuda`
names that as a separate term. This module imports torch: import it only when torch is wanted.
"""

from __future__ import annotations

__all__ = ["LiveTracker", "SavedMeasurement", "LiveMeasurement", "StepMeasurement", "measure_saved", "measure_live",
           "measure_training_step", "state_storages"]

from dataclasses import dataclass, field
from typing import Any, Callable

import torch
from torch.multiprocessing.reductions import StorageWeakRef
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves

from ..analysis import Analysis

OUTSIDE = "(outside any row)"


def _key(t: torch.Tensor) -> int:
    return StorageWeakRef(t.untyped_storage()).cdata


def state_storages(model: torch.nn.Module) -> set[int]:
    """The storages of a model's parameters and buffers (never counted as activations)."""
    return {_key(t) for t in (*model.parameters(), *model.buffers())}


class LiveTracker(TorchDispatchMode):
    """Live tensor bytes, operator by operator: each output storage is added once when it appears and
    subtracted once torch has freed it. ``track`` adds tensors made before the mode (the input);
    ``track_state`` tensors that live throughout (parameters, buffers, optimizer state), as a constant.

    The peak is exact at operator granularity: it can only grow inside an operator, and after each
    one the sum of what is tracked (an upper bound: some storages may have died since the last look) is
    compared with the peak; only when it exceeds it are the dead storages looked for and subtracted."""

    def __init__(self, *, ignore: set[int] | None = None) -> None:
        super().__init__()
        self.ignore = set(ignore or ())  # storages never counted (a model's parameters and buffers)
        self._live: dict[int, tuple[StorageWeakRef, int]] = {}
        self.state = 0
        self.live = 0  # an upper bound until sweep()
        self.peak = 0
        self.window_peak = 0  # the peak since the last reset_window()

    def track(self, *tensors: Any) -> None:
        for t in tensors:
            if isinstance(t, torch.Tensor):
                storage = t.untyped_storage()
                ref = StorageWeakRef(storage)
                if ref.cdata not in self._live and ref.cdata not in self.ignore:
                    self._live[ref.cdata] = (ref, storage.nbytes())
                    self.live += storage.nbytes()
        self._mark()

    def track_state(self, *tensors: Any) -> None:
        """Count tensors alive for the whole measurement once, outside the sweep."""
        for t in tensors:
            key = _key(t)
            if key not in self.ignore and key not in self._live:
                self.ignore.add(key)
                self.state += t.untyped_storage().nbytes()
                self.live += t.untyped_storage().nbytes()
        self._mark()

    def sweep(self) -> None:
        """Subtract the storages torch has freed since the last look."""
        dead = [k for k, (ref, _) in self._live.items() if ref.expired()]
        for k in dead:
            self.live -= self._live.pop(k)[1]

    def reset_window(self) -> None:
        self.sweep()
        self.window_peak = self.live

    def _mark(self) -> None:
        if self.live > self.peak or self.live > self.window_peak:
            self.sweep()
        self.peak = max(self.peak, self.live)
        self.window_peak = max(self.window_peak, self.live)

    def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        out = func(*args, **(kwargs or {}))
        self.track(*tree_leaves(out))
        return out


def _leaf_hooks(model: torch.nn.Module, analysis: Analysis, enter: Callable[[str], None],
                leave: Callable[[str], None]) -> list[Any]:
    from ..torch.build import iter_row_modules

    modules = dict(iter_row_modules(model, analysis))  # type: ignore[arg-type]
    handles = []
    for row in analysis.layers:
        module = modules[row.name]

        def pre(_m: Any, _inputs: Any, name: str = row.name) -> None:
            enter(name)

        def post(_m: Any, _inputs: Any, _output: Any, name: str = row.name) -> None:
            leave(name)

        handles.append(module.register_forward_pre_hook(pre))
        handles.append(module.register_forward_hook(post))
    return handles


@dataclass
class SavedMeasurement:
    """Bytes autograd kept in one training-mode forward: per row (first keeper), and what it left out."""

    per_row: dict[str, int] = field(default_factory=dict)
    state_tensors: int = 0  # saved tensors that were parameters or buffers (not counted)

    @property
    def total(self) -> int:
        return sum(self.per_row.values())


def measure_saved(model: torch.nn.Module, analysis: Analysis, x: torch.Tensor) -> SavedMeasurement:
    """Run ``model(x)`` in training mode with grad and record every tensor saved for backward (see the
    module docstring). ``model`` is put in training mode; its outputs are dropped."""
    stack: list[str] = []
    result = SavedMeasurement()
    state = state_storages(model)
    seen: set[int] = set()
    kept: list[torch.Tensor] = []  # a saved tensor stays alive until backward; keep it so keys stay unique

    def pack(t: torch.Tensor) -> torch.Tensor:
        key = _key(t)
        if key in state:
            result.state_tensors += 1
        elif key not in seen:
            seen.add(key)
            kept.append(t)
            row = stack[-1] if stack else OUTSIDE
            result.per_row[row] = result.per_row.get(row, 0) + t.untyped_storage().nbytes()
        # A detached alias (the same storage), never ``t`` itself: a node saving its own output would hold
        # that output, whose grad_fn is the node (a cycle in C++; see the end of this function).
        return t.detach()

    handles = _leaf_hooks(model, analysis, stack.append, lambda name: stack.pop())
    model.train()
    try:
        with torch.enable_grad(), torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            out = model(x)
        del out
    finally:
        for h in handles:
            h.remove()
        # The graph keeps its saved-tensor hooks (``pack`` among them), ``pack`` keeps ``kept``, and the
        # tensors in ``kept`` keep the graph: a cycle through C++ that Python's collector cannot see, which
        # would keep the graph, every saved tensor and the model's parameters alive after the model is gone.
        kept.clear()
    return result


@dataclass
class LiveMeasurement:
    """Live tensor bytes of one pass: the peak, and the peak while each leaf row ran."""

    peak: int
    during: dict[str, int]
    state_bytes: int = 0  # parameters and buffers tracked from the start (include_state)


def measure_live(model: torch.nn.Module, analysis: Analysis, x: torch.Tensor, *, training: bool = False,
                 include_state: bool = False) -> LiveMeasurement:
    """The peak of live tensor bytes during ``model(x)`` (``no_grad`` and eval unless ``training``), the
    input included; parameters and buffers only with ``include_state``."""
    during: dict[str, int] = {}
    tracker = LiveTracker(ignore=None if include_state else state_storages(model))
    state = [*model.parameters(), *model.buffers()] if include_state else []

    def leave(name: str) -> None:
        tracker.sweep()
        during[name] = max(during.get(name, 0), tracker.window_peak)

    handles = _leaf_hooks(model, analysis, lambda name: tracker.reset_window(), leave)
    model.train(training)
    try:
        with torch.set_grad_enabled(training), tracker:
            tracker.track(x)
            tracker.track_state(*state)
            out = model(x)
        del out
    finally:
        for h in handles:
            h.remove()
    state_bytes = sum(t.untyped_storage().nbytes() for t in state)
    return LiveMeasurement(peak=tracker.peak, during=during, state_bytes=state_bytes)


@dataclass
class StepMeasurement:
    """Live tensor bytes of one training step (forward, backward, optimizer step), parameters and
    buffers included, after one warm-up step (so the optimizer's state exists, as in every later step)."""

    peak: int
    state_bytes: int  # parameters and buffers
    phase_peaks: dict[str, int]


def measure_training_step(model: torch.nn.Module, x: torch.Tensor, *, optimizer: str = "adamw",
                          loss: Callable[[Any], torch.Tensor] | None = None) -> StepMeasurement:
    """The peak of live tensor bytes over one training step of ``model`` on ``x``: ``zero_grad(set_to_none)``,
    forward, ``loss(output).backward()`` (default: the sum of every output), ``optimizer.step()`` with torch's
    multi-tensor (``foreach``) implementation, CUDA's default. One step runs first, untracked."""
    params = [p for p in model.parameters() if p.requires_grad]
    opt = _optimizer(optimizer, params)
    loss = loss or _sum_outputs
    model.train()

    def step(tracker: LiveTracker | None) -> None:
        opt.zero_grad(set_to_none=True)
        out = model(x)
        value = loss(out)
        del out
        if tracker is not None:
            phases["forward"] = tracker.peak
        value.backward()
        del value
        if tracker is not None:
            phases["backward"] = tracker.peak
        opt.step()

    phases: dict[str, int] = {}
    step(None)
    state = [*model.parameters(), *model.buffers(), *_optimizer_state(opt)]
    tracker = LiveTracker()
    with tracker:
        tracker.track(x)
        tracker.track_state(*state)
        step(tracker)
    phases["step"] = tracker.peak
    state_bytes = sum(t.untyped_storage().nbytes() for t in (*model.parameters(), *model.buffers()))
    return StepMeasurement(peak=tracker.peak, state_bytes=state_bytes, phase_peaks=phases)


def _sum_outputs(out: Any) -> torch.Tensor:
    outs = out if isinstance(out, tuple) else (out,)
    return sum(o.float().sum() for o in outs)  # type: ignore[return-value]


def _optimizer(name: str, params: list[torch.nn.Parameter], *, foreach: bool | None = True) -> torch.optim.Optimizer:
    """The optimizer the memory model names (``foreach=None``: torch's default for the device)."""
    if name == "sgd":
        return torch.optim.SGD(params, lr=1e-3, foreach=foreach)
    if name == "momentum":
        return torch.optim.SGD(params, lr=1e-3, momentum=0.9, foreach=foreach)
    if name == "adam":
        return torch.optim.Adam(params, lr=1e-3, foreach=foreach)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=1e-3, foreach=foreach)
    raise ValueError(f"unknown optimizer {name!r}")


def _optimizer_state(opt: torch.optim.Optimizer) -> list[torch.Tensor]:
    return [t for state in opt.state.values() for t in state.values() if isinstance(t, torch.Tensor)]
