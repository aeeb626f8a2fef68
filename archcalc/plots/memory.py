"""Live memory through the network: activation bytes alive at every row, forward (and backward).

:func:`memory_chart` computes the series from the static memory model (pure, testable):
inference -- the bytes alive while each row runs in an inference pass; training -- the training-mode
forward, where what autograd keeps for backward piles up, then the backward in reverse row order,
where it is freed while the activations' and parameters' gradients appear
(:func:`archcalc.memory.training.backward_trace`). Weights, gradients held until the step and
optimizer state are constant over the pass and named in the subtitle, not drawn.
:func:`draw_memory` draws it.
"""

from __future__ import annotations

__all__ = ["MemoryChart", "memory_chart", "draw_memory"]

import textwrap
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..analysis import Analysis
from ..memory.liveness import timeline
from ..memory.training import Optimizer, Precision, backward_trace, inference_memory, training_memory
from ..units import human_bytes, shape_text

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure


@dataclass(frozen=True)
class MemoryChart:
    """One series of live bytes: ``during[i]`` while step ``i`` runs (a row's forward or its backward)."""

    model: str
    batch_size: int
    dtype: str
    training: bool
    rows: tuple[str, ...]  # the row of each step
    backward: tuple[bool, ...]  # whether each step is a row's backward
    during: tuple[int, ...]
    inference: tuple[int, ...]  # the inference pass over the forward steps (for comparison; training only)
    peak_index: int
    constant_bytes: int  # weights (+ optimizer state) alive throughout, not drawn
    constant_label: str
    input_shape: tuple[int, ...]
    marks: tuple[tuple[int, str], ...]  # (first step, name) of each top-level entry

    @property
    def peak(self) -> int:
        return self.during[self.peak_index]


def memory_chart(analysis: Analysis, *, training: bool = False, optimizer: Optimizer | str = Optimizer.ADAMW,
                 precision: Precision | str | None = None) -> MemoryChart:
    """The series of ``analysis`` (see the module docstring); ``precision`` sizes the weights (default: the
    analysis' dtype, as ``model.to(dtype)``)."""
    rows = analysis.layers
    args = dict(output_sources=analysis.output_sources, batch_size=analysis.batch_size,
                bytes_per_element=analysis.bytes_per_element)
    infer = timeline(rows, analysis.groups, **args)  # type: ignore[arg-type]
    names = [r.name for r in rows]
    if training:
        prec = Precision(precision) if precision is not None else _precision_of(analysis.dtype)
        step = training_memory(analysis, optimizer=optimizer, precision=prec)
        forward = timeline(rows, analysis.groups, training=True, **args)  # type: ignore[arg-type]
        trace = backward_trace(analysis, forward, grad_bytes_per_param=prec.weight_bytes_per_param)
        during = [*forward.during, *(d for _, d, _ in trace)]
        steps = [*names, *(names[j] for j, _, _ in trace)]
        backward = [False] * len(rows) + [True] * len(trace)
        constant = step.weight_bytes + step.optimizer_bytes + step.weight_copy_bytes
        label = (f"plus weights and {step.optimizer} state {human_bytes(constant)} throughout "
                 f"({prec.value}); peak of the step {human_bytes(step.total_bytes)} ({step.peak_phase})")
    else:
        mem = inference_memory(analysis) if precision is None else inference_memory(analysis, precision=precision)
        during, steps, backward = list(infer.during), names, [False] * len(rows)
        constant = mem.weight_bytes + mem.weight_copy_bytes
        label = f"plus weights {human_bytes(constant)}: {human_bytes(mem.total_bytes)} in all"
    peak_index = max(range(len(during)), key=lambda i: (during[i], -i)) if during else 0
    return MemoryChart(
        model=analysis.name, batch_size=analysis.batch_size, dtype=analysis.dtype, training=training,
        rows=tuple(steps), backward=tuple(backward), during=tuple(during),
        inference=tuple(infer.during) if training else (), peak_index=peak_index, constant_bytes=constant,
        constant_label=label, input_shape=analysis.input_shape, marks=_marks(analysis))


def _precision_of(dtype: str) -> Precision:
    return Precision.BFLOAT16 if dtype == "bfloat16" else Precision.FLOAT32


def _marks(analysis: Analysis) -> tuple[tuple[int, str], ...]:
    """The first row of each top-level entry (a stage, a block, a top-level layer)."""
    marks = []
    for r in analysis.rows_at_depth(1):
        first = getattr(r, "first", None)
        index = first if first is not None else analysis.layers.index(r)  # type: ignore[arg-type]
        marks.append((index, r.name))
    return tuple(marks)


def draw_memory(chart: MemoryChart, *, title: str | None = None, max_labels: int = 24) -> "Figure":
    """A step line of live bytes over the rows (forward, then backward for training), the peak marked."""
    from .style import QUANTITY_COLORS, human_axis, new_figure, style

    n = len(chart.during)
    width, height = 11.0, 5.2
    color = QUANTITY_COLORS["activation_bytes"]
    with style():
        fig = new_figure(width, height)
        fig.set_layout_engine("constrained")
        ax = fig.subplots()
        xs = list(range(n))
        forward_n = sum(1 for b in chart.backward if not b)
        ax.fill_between(xs, chart.during, step="mid", color=color, alpha=0.18, linewidth=0)
        ax.step(xs, chart.during, where="mid", color=color, linewidth=1.2,
                label="training: forward, then backward" if chart.training else "inference (no_grad)")
        if chart.training:
            ax.step(list(range(forward_n)), chart.inference, where="mid", color="#D55E00", linewidth=1.0,
                    linestyle="--", label="inference, for comparison")
            ax.axvline(forward_n - 0.5, color="#666666", linewidth=0.8, linestyle=":")
            top = max(chart.during) or 1
            for text, side, dx in (("backward \u2192", "left", 6), ("\u2190 forward", "right", -6)):
                ax.annotate(text, (forward_n - 0.5, top * 1.17), xytext=(dx, 0), textcoords="offset points",
                            ha=side, va="top", fontsize=8, color="#444444")
        peak = chart.peak
        ax.plot([chart.peak_index], [peak], marker="o", color="#000000", markersize=4)
        where = chart.rows[chart.peak_index] + (" (backward)" if chart.backward[chart.peak_index] else "")
        ax.annotate(f"peak {human_bytes(peak)}: {where}", (chart.peak_index, peak), xytext=(8, 6),
                    textcoords="offset points", fontsize=8, va="bottom",
                    ha="left" if chart.peak_index < n * 0.7 else "right")
        ax.set_xlim(-0.5, n - 0.5)
        ax.set_ylim(0, (max(chart.during) or 1) * 1.22)
        human_axis(ax.yaxis, human_bytes, peak=max(chart.during) or 1, binary=True)
        ax.set_ylabel("activation bytes alive" + (" (+ gradients)" if chart.training else ""))
        ticks = _ticks(chart, forward_n, max_labels)
        ax.set_xticks([t for t, _ in ticks], [label for _, label in ticks], rotation=60, ha="right", fontsize=7)
        ax.grid(axis="x", visible=False)
        ax.legend(loc="upper left" if chart.training else "upper right", fontsize=8, frameon=False)
        what = "training step" if chart.training else "inference"
        head = title or f"{chart.model}: live memory through the network ({what})"
        sub = (f"input {shape_text(chart.input_shape)}, batch {chart.batch_size}, {chart.dtype} activations; "
               f"{chart.constant_label}")
        sub = "\n".join(textwrap.wrap(sub, width=int(width * 13)))
        fig.suptitle(f"{head}\n{sub}", fontsize=10)
    return fig


def _ticks(chart: MemoryChart, forward_n: int, max_labels: int) -> list[tuple[int, str]]:
    """Labels at the start of top-level entries, on the forward steps and (training) where backward enters
    each entry. Where two would be closer than ``steps / max_labels``, the longer entry keeps its label."""
    starts = [(i, name) for i, name in chart.marks if i < forward_n]
    stops = [i for i, _ in starts[1:]] + [forward_n]
    marks = [(x, name, stop - x) for (x, name), stop in zip(starts, stops)]
    if chart.training:
        marks += [(2 * forward_n - stop, name, stop - x) for (x, name), stop in zip(starts, stops)]
    gap = len(chart.during) / max(max_labels, 1)
    kept: list[tuple[int, str]] = []
    for x, name, _ in sorted(marks, key=lambda m: (-m[2], m[0])):
        if all(abs(x - k) >= gap for k, _ in kept):
            kept.append((x, name))
    return sorted(kept)
