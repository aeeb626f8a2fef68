"""The memory of inference and of one training step: weights, gradients, optimizer state, activations.

An inference pass holds the weights and the activation peak (:attr:`Totals.peak_activation_bytes`,
the input included). One training step (``zero_grad(set_to_none=True)``, forward, backward, optimizer
step) has three phases, and its peak is the largest of them:

* **forward**: weights + optimizer state + the training-mode forward's activations (everything autograd
  keeps for backward accumulates, :func:`archcalc.memory.liveness.timeline` with ``training=True``);
* **backward**: weights + optimizer state + what is still kept for backward + the activations' gradients
  alive at that moment + the parameter gradients accumulated so far (:func:`backward_peak`);
* **step**: weights + gradients + optimizer state + the optimizer's temporaries + the input and output.

Precisions (:class:`Precision`): ``float32``; ``bf16-mixed`` (``torch.autocast`` to bfloat16 with float32
master weights: activations in bfloat16, float32 weights, gradients and optimizer state, plus the
bfloat16 copies of the convolution and linear weights autocast makes and autograd keeps); ``bfloat16``
(``model.to(torch.bfloat16)``: everything in bfloat16). Optimizers (:class:`Optimizer`): ``sgd`` keeps no
state, ``momentum`` one buffer per parameter, ``adam``/``adamw`` two (``exp_avg``, ``exp_avg_sq``) and,
in torch's default multi-tensor (``foreach``) CUDA implementation, a temporary the size of all the
parameters during the step (``exp_avg_sq.sqrt()``).

Pure arithmetic over an :class:`~archcalc.analysis.Analysis`; no torch.
"""

from __future__ import annotations

__all__ = ["Optimizer", "Precision", "Mode", "InferenceMemory", "TrainingMemory", "inference_memory",
           "training_memory", "backward_peak", "backward_trace", "activation_dtype", "autocast_weight_params"]

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..kinds.base import Pass
from .choices import Mode, Optimizer, Precision  # apart, so that the command line reads them cheaply
from .liveness import INPUT, Timeline, _memories, needs_grad, timeline

if TYPE_CHECKING:  # pragma: no cover
    from ..analysis import Analysis, LayerRow


def activation_dtype(precision: Precision | str) -> str:
    """The ``analyze(dtype=...)`` of a precision's activations."""
    return Precision(precision).activation_dtype


AUTOCAST_KINDS = frozenset({"conv", "conv_transpose", "linear"})
"""Row types whose weights autocast casts to bfloat16 (a copy kept for backward): torch's lower-precision list."""


def autocast_weight_params(analysis: "Analysis") -> int:
    """Parameters of the rows autocast casts (convolutions and linear layers, squeeze-excite's 1x1s)."""
    return sum(r.params for r in analysis.layers if r.type in AUTOCAST_KINDS or r.type == "se")


@dataclass(frozen=True)
class InferenceMemory:
    """One inference pass: weights, autocast's weight copies (bf16-mixed) and the activation peak (the
    input included)."""

    batch_size: int
    precision: str
    weight_bytes: int
    weight_copy_bytes: int
    activation_peak_bytes: int
    peak_row: str | None  # the row during which the activations peak (None: the input alone)

    @property
    def total_bytes(self) -> int:
        return self.weight_bytes + self.weight_copy_bytes + self.activation_peak_bytes

    @property
    def phases(self) -> dict[str, int]:
        return {"forward": self.total_bytes}


def inference_memory(analysis: "Analysis", *, precision: Precision | str | None = None) -> InferenceMemory:
    """Weights and the liveness peak of ``analysis``. Without ``precision`` the weights take the analysis'
    element type (``model.to(dtype)``); with one, analyze at :func:`activation_dtype` of it."""
    tl = _timeline(analysis, training=False)
    row = tl.peak_row
    if precision is None:
        name, weights, copies = analysis.dtype, analysis.param_bytes, 0
    else:
        prec = _checked(analysis, precision)
        name, weights = prec.value, analysis.totals.params * prec.weight_bytes_per_param
        copies = 2 * autocast_weight_params(analysis) if prec is Precision.BF16_MIXED else 0
    return InferenceMemory(batch_size=analysis.batch_size, precision=name, weight_bytes=weights,
                           weight_copy_bytes=copies, activation_peak_bytes=tl.peak,
                           peak_row=None if row is None else analysis.layers[row].name)


def _checked(analysis: "Analysis", precision: Precision | str) -> Precision:
    prec = Precision(precision)
    if analysis.dtype != prec.activation_dtype:
        raise ValueError(f"analyze at dtype {prec.activation_dtype!r} for precision {prec.value!r}, "
                         f"not {analysis.dtype!r}")
    return prec


@dataclass(frozen=True)
class TrainingMemory:
    """One training step's memory (bytes, whole batch); see the module docstring for the phases."""

    batch_size: int
    precision: str
    optimizer: str
    weight_bytes: int  # parameters (float32 masters when mixed)
    gradient_bytes: int  # one gradient per parameter
    optimizer_bytes: int  # optimizer state
    weight_copy_bytes: int  # bf16-mixed: autocast's bfloat16 copies of conv/linear weights, kept for backward
    input_bytes: int
    saved_bytes: int  # activations autograd keeps for backward (the input too where a layer keeps it)
    forward_activation_bytes: int  # activation peak of the training-mode forward
    backward_activation_bytes: int  # activations + their gradients + parameter gradients so far, backward peak
    step_temporary_bytes: int  # the optimizer's temporaries during step()
    output_bytes: int  # the outputs, held until the step is over

    @property
    def forward_bytes(self) -> int:
        return self.weight_bytes + self.optimizer_bytes + self.weight_copy_bytes + self.forward_activation_bytes

    @property
    def backward_bytes(self) -> int:
        return self.weight_bytes + self.optimizer_bytes + self.weight_copy_bytes + self.backward_activation_bytes

    @property
    def step_bytes(self) -> int:
        return (self.weight_bytes + self.gradient_bytes + self.optimizer_bytes + self.step_temporary_bytes
                + self.input_bytes + self.output_bytes)

    @property
    def phases(self) -> dict[str, int]:
        return {"forward": self.forward_bytes, "backward": self.backward_bytes, "step": self.step_bytes}

    @property
    def peak_phase(self) -> str:
        phases = self.phases
        return max(phases, key=lambda k: phases[k])

    @property
    def total_bytes(self) -> int:
        """The peak over the step."""
        return max(self.phases.values())


def training_memory(analysis: "Analysis", *, optimizer: Optimizer | str = Optimizer.ADAMW,
                    precision: Precision | str = Precision.FLOAT32) -> TrainingMemory:
    """One training step of ``analysis`` (analyzed at the precision's activation dtype, see
    :func:`activation_dtype`)."""
    opt, prec = Optimizer(optimizer), _checked(analysis, precision)
    params = analysis.totals.params
    per_param = prec.weight_bytes_per_param
    copies = 2 * autocast_weight_params(analysis) if prec is Precision.BF16_MIXED else 0
    forward = _timeline(analysis, training=True)
    backward = backward_peak(analysis, forward, grad_bytes_per_param=per_param)
    outputs = sum(_value_bytes(analysis, src) for src in analysis.output_sources if src != INPUT)
    return TrainingMemory(
        batch_size=analysis.batch_size, precision=prec.value, optimizer=opt.value,
        weight_bytes=params * per_param, gradient_bytes=params * per_param,
        optimizer_bytes=params * per_param * opt.state_tensors, weight_copy_bytes=copies,
        input_bytes=analysis.input_bytes, saved_bytes=forward.saved_total,
        forward_activation_bytes=forward.peak, backward_activation_bytes=backward,
        step_temporary_bytes=params * per_param * opt.step_temporaries, output_bytes=outputs)


def _timeline(analysis: "Analysis", *, training: bool, device: str = "cuda") -> Timeline:
    return timeline(analysis.layers, analysis.groups, output_sources=analysis.output_sources,
                    batch_size=analysis.batch_size, bytes_per_element=analysis.bytes_per_element,
                    training=training, device=device)


def _value_bytes(analysis: "Analysis", src: int) -> int:
    if src == INPUT:
        return analysis.input_bytes
    shape = analysis.layers[src].output_shape
    n = analysis.layers[src].instances  # the proposals of a per-proposal section
    for d in shape:
        n *= d
    return n * analysis.batch_size * analysis.bytes_per_element


def backward_peak(analysis: "Analysis", forward: Timeline, *, grad_bytes_per_param: int,
                  device: str = "cuda") -> int:
    """The largest activation-side figure during backward (see :func:`backward_trace`)."""
    trace = backward_trace(analysis, forward, grad_bytes_per_param=grad_bytes_per_param, device=device)
    return max((forward.end, *(during for _, during, _ in trace)))


def backward_trace(analysis: "Analysis", forward: Timeline, *, grad_bytes_per_param: int,
                   device: str = "cuda") -> list[tuple[int, int, int]]:
    """``(row, during, after)`` for each row in backward order (the last row first): what the forward left
    alive, less what backward has freed, plus the activations' gradients alive and the parameter
    gradients made so far (bytes, without the weights and optimizer state).

    The model, row by row in reverse: the row's output gradient is alive (the loss seeds the outputs');
    it allocates a gradient for each input that needs one (the input's size), except where its backward
    passes the output gradient on unchanged or as a view (an addition, a concatenation's slices, a
    reshape or identity view); a second gradient for the same tensor is added in place; the row's
    parameter gradients are allocated and kept; then its output gradient and what it was the first to
    keep for backward are freed. Kernels' private scratch in backward is not modelled.
    """
    rows = analysis.layers
    n = len(rows)
    if not n:
        return []
    memories = _memories(rows, Pass(training=True, device=device))  # type: ignore[arg-type]
    grad_needed = needs_grad(rows)
    live = forward.end
    store_bytes: dict[int, int] = {}
    holders: dict[int, int] = {}
    gstore: dict[int, int] = {}
    next_id = 0

    def new(size: int) -> int:
        nonlocal next_id, live
        next_id += 1
        store_bytes[next_id] = size
        holders[next_id] = 0
        live += size
        return next_id

    def hold(value: int, store: int) -> None:
        gstore[value] = store
        holders[store] += 1

    def release(value: int) -> None:
        nonlocal live
        store = gstore.pop(value, None)
        if store is None:
            return
        holders[store] -= 1
        if holders[store] == 0:
            live -= store_bytes.pop(store)

    for src in analysis.output_sources:  # the loss's gradient with respect to each output
        if src != INPUT and grad_needed[src] and src not in gstore:
            hold(src, new(_value_bytes(analysis, src)))
    trace: list[tuple[int, int, int]] = []
    for j in range(n - 1, -1, -1):
        during = live
        if grad_needed[j] and j in gstore:
            row = rows[j]
            m = memories[j]
            transient = 0
            for src in row.inputs:
                if src == INPUT or not grad_needed[src]:
                    continue
                size = _value_bytes(analysis, src)
                passes_on = _passes_gradient_on(row, m, size, _value_bytes(analysis, j))
                if src in gstore:  # a second gradient: added in place into the first
                    transient = max(transient, 0 if passes_on else size)
                elif passes_on:
                    hold(src, gstore[j])
                else:
                    hold(src, new(size))
            live += row.params * grad_bytes_per_param
            during = max(during, live + transient)
        release(j)
        live -= forward.saved[j]
        trace.append((j, during, live))
    return trace


def _passes_gradient_on(row: "LayerRow", m: object, input_size: int, output_size: int) -> bool:
    """Whether a row's backward hands its output gradient to an input unchanged or as a view: an addition
    (both inputs), a concatenation (slices of it), a view that keeps every element (a reshape, the
    identity). A slice's backward scatters into a new tensor of the input's size."""
    if row.type in ("add", "concat"):
        return True
    return bool(getattr(m, "view", False)) and input_size == output_size

