"""The GPU check of the memory model: measured peaks beside the static prediction, terms named apart.

:func:`measure_memory` builds a spec's model on a device and, at one batch size, measures

* **inference**: one ``no_grad`` forward in eval mode (``torch.autocast`` for ``bf16-mixed``);
* **training**: one full step -- ``zero_grad(set_to_none=True)``, forward, ``loss.backward()`` (the sum of
  the outputs), ``optimizer.step()`` with torch's default implementation (``foreach`` on CUDA) -- after
  one untimed step, so the optimizer's state exists as in every later step;

and returns a :class:`MemoryRecord` (:func:`measure_memory_sweep`: one per batch and mode) with the prediction
(:func:`archcalc.memory.inference_memory` / :func:`training_memory` + the model's buffers, which are not
parameters) and the terms the prediction leaves out:

* ``rounding_bytes``: the caching allocator rounds every block up (to 512 bytes); the difference between
  ``allocated_bytes.all.peak`` and ``requested_bytes.all.peak`` of ``torch.cuda.memory_stats``;
* ``workspace_bytes``: the largest scratch a row's forward allocated besides its output (cuDNN's
  convolution workspace above all): per leaf row, the allocator's peak while it ran less what was
  allocated before it and its new output;
* ``context_bytes``: the CUDA context and whatever else holds device memory outside torch's allocator
  (total - free - reserved, from ``torch.cuda.mem_get_info`` after initialization); never in
  ``max_memory_allocated``.

``relative_error`` compares the prediction with ``torch.cuda.max_memory_allocated`` as measured;
``residual_error`` with the measurement less rounding and workspace. On a device without CUDA (``"cpu"``)
the same code runs as a dry run: the peak is :class:`archcalc.memory.measure.LiveTracker`'s (tensors
only: no rounding, workspace or context). torch is imported inside the functions.
"""

from __future__ import annotations

__all__ = ["MemoryRecord", "measure_memory", "measure_memory_sweep", "GPU_CHECK_SPECS"]

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Sequence

if TYPE_CHECKING:  # pragma: no cover
    from ..spec import Spec

GPU_CHECK_SPECS = ("resnet50", "vgg16", "efficientnet_b0", "densenet121", "convnext_tiny")
"""The specs the GPU check measures (``specs/<name>.yaml``), as issue #13 names them."""


@dataclass(frozen=True)
class MemoryRecord:
    """One measurement beside its prediction (bytes)."""

    spec: str
    mode: str  # inference | training
    batch_size: int
    precision: str
    optimizer: str | None
    device: str
    predicted_bytes: int  # the static model + the model's buffers
    measured_bytes: int  # torch.cuda.max_memory_allocated (dry run: the tracker's peak)
    requested_bytes: int | None  # the allocator's peak of requested bytes (CUDA)
    rounding_bytes: int  # measured - requested
    workspace_bytes: int  # the largest per-row forward scratch beyond the outputs
    context_bytes: int | None  # CUDA context and other memory outside the allocator
    buffer_bytes: int  # module buffers (batch-norm running statistics), in the prediction
    phases: dict[str, int]  # the prediction's phases (forward / backward / step)
    note: str = ""  # "out of memory: ..." when the measurement could not run (measured_bytes -1)
    relative_error: float | None = field(init=False)  # predicted / measured - 1
    residual_error: float | None = field(init=False)  # predicted / (measured - rounding - workspace) - 1

    def __post_init__(self) -> None:
        ok = self.measured_bytes > 0
        object.__setattr__(self, "relative_error", self.predicted_bytes / self.measured_bytes - 1 if ok else None)
        rest = self.measured_bytes - self.rounding_bytes - self.workspace_bytes
        object.__setattr__(self, "residual_error", self.predicted_bytes / rest - 1 if ok and rest > 0 else None)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def measure_memory(spec: "Spec", *, batch_size: int, mode: str = "inference", device: str = "cuda",
                   precision: str = "float32", optimizer: str = "adamw", name: str | None = None) -> MemoryRecord:
    """Measure ``spec`` at one batch size in one mode on ``device`` (see the module docstring). Running out
    of memory is a result: ``measured_bytes = -1`` and the error in ``note``."""
    import torch

    from ..memory import is_oom

    name = name or spec.name
    context = _context_bytes(device)
    try:
        return _measure_one(spec, name, batch_size, device, mode, precision, optimizer, context)
    except Exception as exc:  # noqa: BLE001 - an out-of-memory batch is a result
        if not is_oom(exc):
            raise
        return MemoryRecord(name, mode, batch_size, precision, optimizer if mode == "training" else None, device,
                            -1, -1, None, 0, 0, context, 0, {}, f"out of memory: {exc}"[:200])
    finally:
        if device == "cuda":
            torch.cuda.empty_cache()


def measure_memory_sweep(spec: "Spec", *, batch_sizes: Sequence[int] = (1, 32, 128), device: str = "cuda",
                         modes: Sequence[str] = ("inference", "training"), precision: str = "float32",
                         optimizer: str = "adamw", name: str | None = None) -> list[MemoryRecord]:
    """:func:`measure_memory` at each batch size in each mode; after an out-of-memory batch the larger ones
    of that mode are left out."""
    records: list[MemoryRecord] = []
    for mode in modes:
        for b in batch_sizes:
            record = measure_memory(spec, batch_size=b, mode=mode, device=device, precision=precision,
                                    optimizer=optimizer, name=name)
            records.append(record)
            if record.measured_bytes < 0:
                break
    return records


def _measure_one(spec: "Spec", name: str, batch: int, device: str, mode: str, precision: str, optimizer: str,
                 context: int | None) -> MemoryRecord:
    import torch

    from ..analysis import analyze
    from ..torch.build import build_model
    from .training import activation_dtype, inference_memory, training_memory

    analysis = analyze(spec, batch_size=batch, dtype=activation_dtype(precision))
    model = build_model(spec, analysis=analysis, device=device)
    if precision == "bfloat16":
        model = model.to(torch.bfloat16)
    x_dtype = torch.bfloat16 if precision == "bfloat16" else torch.float32
    x = torch.randn((batch, *spec.input_shape), device=device, dtype=x_dtype)
    buffers = sum(t.untyped_storage().nbytes() for t in model.buffers())
    if mode == "inference":
        prediction = inference_memory(analysis, precision=precision)
        measured, requested, workspace = _inference_peak(model, analysis, x, device, precision)
        opt_name = None
    else:
        prediction = training_memory(analysis, optimizer=optimizer, precision=precision)  # type: ignore[assignment]
        measured, requested, workspace = _training_peak(model, analysis, x, device, precision, optimizer)
        opt_name = optimizer
    rounding = measured - requested if requested is not None else 0
    del model, x
    return MemoryRecord(name, mode, batch, precision, opt_name, device, prediction.total_bytes + buffers, measured,
                        requested, rounding, workspace, context, buffers, dict(prediction.phases))


def _context_bytes(device: str) -> int | None:
    if device != "cuda":
        return None
    import torch

    torch.cuda.init()
    free, total = torch.cuda.mem_get_info()
    return int(total - free - torch.cuda.memory_reserved())


class _Scratch:
    """Per-row forward scratch beyond the output, from the CUDA allocator's statistics (host-side, no sync)."""

    def __init__(self, model: Any, analysis: Any) -> None:
        import torch

        from ..torch.build import iter_row_modules

        self.peak = 0  # the peak across the resets the hooks make
        self.requested = 0  # the same for the bytes requested (before the allocator's rounding)
        self.workspace = 0
        self._before = 0
        self._handles = []
        modules = dict(iter_row_modules(model, analysis))
        for row in analysis.layers:
            module = modules[row.name]
            self._handles.append(module.register_forward_pre_hook(self._pre))
            self._handles.append(module.register_forward_hook(self._post))
        self._torch = torch

    def _pre(self, _m: Any, inputs: Any) -> None:
        cuda = self._torch.cuda
        self._window()
        cuda.reset_peak_memory_stats()
        self._before = cuda.memory_allocated()
        self._inputs = {t.untyped_storage().data_ptr() for t in inputs if isinstance(t, self._torch.Tensor)}

    def _post(self, _m: Any, _inputs: Any, output: Any) -> None:
        cuda = self._torch.cuda
        outs = output if isinstance(output, tuple) else (output,)
        new = sum(o.untyped_storage().nbytes() for o in outs
                  if isinstance(o, self._torch.Tensor) and o.untyped_storage().data_ptr() not in self._inputs)
        row_peak = cuda.max_memory_allocated()
        self.workspace = max(self.workspace, row_peak - self._before - new)
        self.peak = max(self.peak, row_peak)

    def _window(self) -> None:
        cuda = self._torch.cuda
        self.peak = max(self.peak, cuda.max_memory_allocated())
        self.requested = max(self.requested, int(cuda.memory_stats().get("requested_bytes.all.peak", 0)))

    def close(self) -> tuple[int, int | None]:
        """The peak allocated and requested bytes since the measurement began."""
        for h in self._handles:
            h.remove()
        self._window()
        return self.peak, self.requested or None


def _autocast(device: str, precision: str) -> Any:
    import contextlib

    import torch

    if precision != "bf16-mixed":
        return contextlib.nullcontext()
    return torch.autocast(device_type=device, dtype=torch.bfloat16)


def _inference_peak(model: Any, analysis: Any, x: Any, device: str, precision: str) -> tuple[int, int | None, int]:
    import torch

    model.eval()
    if device != "cuda":
        from .measure import LiveTracker

        tracker = LiveTracker()
        with torch.no_grad(), _autocast(device, precision), tracker:
            tracker.track(x)
            tracker.track_state(*model.parameters(), *model.buffers())
            out = model(x)
            del out
        return tracker.peak, None, 0
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    scratch = _Scratch(model, analysis)
    try:
        with torch.no_grad(), _autocast(device, precision):
            out = model(x)
            del out
        torch.cuda.synchronize()
    finally:
        peak, requested = scratch.close()
    return int(peak), requested, int(scratch.workspace)


def _training_peak(model: Any, analysis: Any, x: Any, device: str, precision: str,
                   optimizer: str) -> tuple[int, int | None, int]:
    import torch

    from .measure import _optimizer, _optimizer_state, _sum_outputs

    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    opt = _optimizer(optimizer, params, foreach=None if device == "cuda" else True)

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        with _autocast(device, precision):
            out = model(x)
            loss = _sum_outputs(out)
            del out
        loss.backward()
        del loss
        opt.step()

    step()  # the optimizer's state now exists
    if device != "cuda":
        from .measure import LiveTracker

        tracker = LiveTracker()
        with tracker:
            tracker.track(x)
            tracker.track_state(*model.parameters(), *model.buffers(), *_optimizer_state(opt))
            step()
        return tracker.peak, None, 0
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    scratch = _Scratch(model, analysis)
    try:
        step()
        torch.cuda.synchronize()
    finally:
        peak, requested = scratch.close()
    return int(peak), requested, int(scratch.workspace)
