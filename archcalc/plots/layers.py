"""Per-layer profile: activation memory, parameters and multiply-adds side by side.

The lecture's "AlexNet memory, parameters and MFLOPs" figure: memory sits in the early convs,
parameters in the fully-connected layers, multiply-adds in the convs. :func:`layer_profile`
chooses the rows (pure, testable); :func:`draw_layer_profile` draws them.

Rows: every leaf except the ones that only re-use their input's memory in practice (activations,
batch norm, dropout, flatten); with ``weights_only`` only rows that do multiply-adds (conv,
linear). Deep networks are collapsed to the deepest block level that fits ``max_rows`` rows
(``conv4_x.block3`` becomes one bar); a network with no block structure is binned into runs of
consecutive layers.
"""

from __future__ import annotations

__all__ = ["LayerProfile", "layer_profile", "draw_layer_profile", "HIDDEN_KINDS"]

import math
import textwrap
from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

from ..analysis import Analysis, GroupRow, LayerRow
from ..kinds import KINDS, ROW_KINDS, hidden_in_chart
from ..units import human_bytes, human_count, shape_text

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

HIDDEN_KINDS = frozenset(tag for tag in (*KINDS, *ROW_KINDS) if hidden_in_chart(tag))
"""Row types left out of the profile (their cost is small or their memory is shared in practice);
each kind declares it (``hidden_in_chart``)."""

DEFAULT_MAX_ROWS = 40


@dataclass(frozen=True)
class LayerProfile:
    """The bars of one profile, in execution order (top to bottom)."""

    model: str
    labels: tuple[str, ...]
    types: tuple[str, ...]
    activation_bytes: tuple[int, ...]
    params: tuple[int, ...]
    macs: tuple[int, ...]
    total_activation_bytes: int
    total_params: int
    total_macs: int
    dtype: str
    batch_size: int
    input_shape: tuple[int, ...]
    selection: str  # which rows, in words (goes under the title)


def _visible(row: LayerRow | GroupRow, weights_only: bool) -> bool:
    if weights_only:
        return row.macs > 0
    return isinstance(row, GroupRow) or row.type not in HIDDEN_KINDS


def _rows(analysis: Analysis, depth: int | None, weights_only: bool) -> list[LayerRow | GroupRow]:
    return [r for r in analysis.rows_at_depth(depth) if _visible(r, weights_only)]


def _collapsed(rows: Sequence[LayerRow | GroupRow], level: int) -> str:
    example = next((r.name for r in rows if isinstance(r, GroupRow)), None)
    if example is None:
        return f"shown to nesting level {level}"
    return f"each block at nesting level {level} (e.g. {example}) summed into one bar"


def layer_profile(analysis: Analysis, *, depth: int | None = None, weights_only: bool = False,
                  max_rows: int = DEFAULT_MAX_ROWS) -> LayerProfile:
    """Choose and aggregate the rows of a profile (see the module docstring)."""
    what = "only layers with multiply-adds (conv, linear)" if weights_only else \
        "activation, batch-norm, dropout and flatten rows hidden"
    rows = _rows(analysis, depth, weights_only)
    labels = [r.name for r in rows]
    values = [(r.activation_bytes, r.params, r.macs) for r in rows]
    types = [r.type for r in rows]
    selection = what if depth is None else f"{what}; {_collapsed(rows, depth)}"
    if depth is None and len(rows) > max_rows:
        max_depth = max((g.depth for g in analysis.groups), default=-1) + 1
        for level in range(max_depth, 0, -1):
            rows = _rows(analysis, level, weights_only)
            if len(rows) <= max_rows:
                break
        labels = [r.name for r in rows]
        values = [(r.activation_bytes, r.params, r.macs) for r in rows]
        types = [r.type for r in rows]
        selection = f"{what}; {_collapsed(rows, level)}"
        if len(rows) > max_rows:  # no block structure deep enough: bin runs of consecutive rows
            size = math.ceil(len(rows) / max_rows)
            labels, values, types = [], [], []
            for start in range(0, len(rows), size):
                chunk = rows[start:start + size]
                labels.append(chunk[0].name if len(chunk) == 1 else f"{chunk[0].name} .. {chunk[-1].name}")
                values.append(tuple(sum(v) for v in zip(*((r.activation_bytes, r.params, r.macs) for r in chunk))))
                types.append("bin")
            selection = f"{what}; runs of {size} consecutive rows summed into one bar each"
    t = analysis.totals
    return LayerProfile(
        model=analysis.name, labels=tuple(labels), types=tuple(types),
        activation_bytes=tuple(v[0] for v in values), params=tuple(v[1] for v in values),
        macs=tuple(v[2] for v in values), total_activation_bytes=t.activation_bytes,
        total_params=t.params, total_macs=t.macs, dtype=analysis.dtype, batch_size=analysis.batch_size,
        input_shape=analysis.input_shape, selection=selection)


def _top(labels: Sequence[str], values: Sequence[int], total: int) -> str:
    if not total or not values:
        return ""
    i = max(range(len(values)), key=lambda k: values[k])
    return f"largest: {labels[i]} ({100 * values[i] / total:.0f}%)"


def draw_layer_profile(profile: LayerProfile, *, title: str | None = None) -> "Figure":
    """Three bar charts sharing the layer axis: memory, parameters, multiply-adds."""
    from .style import QUANTITY_COLORS, human_axis, new_figure, style

    n = len(profile.labels)
    longest = max((len(s) for s in profile.labels), default=4)
    width = 10.5 + min(longest, 48) * 0.045
    height = 1.6 + 0.24 * max(n, 4)
    panels = (
        ("activation_bytes", "Output memory", profile.activation_bytes, profile.total_activation_bytes, human_bytes),
        ("params", "Parameters", profile.params, profile.total_params, human_count),
        ("macs", "Multiply-adds (MACs)", profile.macs, profile.total_macs, human_count),
    )
    with style():
        fig = new_figure(width, height)
        fig.set_layout_engine("constrained")
        axes = fig.subplots(1, 3, sharey=True)
        ys = list(range(n))
        for ax, (key, name, values, total, fmt) in zip(axes, panels):
            color = QUANTITY_COLORS[key]
            ax.barh(ys, values, color=color, height=0.7)
            peak = max(values, default=0) or 1
            ax.set_xlim(0, peak * 1.32)  # room for the value labels
            for y, v in zip(ys, values):
                if v:
                    ax.text(v + peak * 0.015, y, fmt(v), va="center", ha="left", fontsize=7, color="#333333")
            human_axis(ax.xaxis, fmt, peak=peak, binary=key == "activation_bytes")
            ax.set_title(f"{name}\ntotal {fmt(total)}; {_top(profile.labels, values, total)}", fontsize=9)
            ax.grid(axis="y", visible=False)
            ax.tick_params(axis="y", length=0)
        axes[0].set_yticks(ys, profile.labels)
        axes[0].set_ylim(n - 0.5, -0.5)  # first layer on top
        head = title or f"{profile.model}: memory, parameters and multiply-adds per layer"
        sub = (f"input {shape_text(profile.input_shape)}, batch {profile.batch_size}, {profile.dtype}; "
               f"{profile.selection}")
        sub = "\n".join(textwrap.wrap(sub, width=int(width * 13)))
        fig.suptitle(f"{head}\n{sub}", fontsize=10)
    return fig
