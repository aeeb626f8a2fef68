"""Measured throughput: images per second against batch size, one line per model and precision.

Data are ``archcalc bench`` results (see :mod:`.benchdata`); the band around each line spans
the p10-p90 repeats.
"""

from __future__ import annotations

__all__ = ["ThroughputSeries", "throughput_series", "draw_throughput"]

from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

from .benchdata import Measurement

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure


@dataclass(frozen=True)
class ThroughputSeries:
    model: str
    precision: str
    device_name: str
    batch_sizes: tuple[int, ...]
    images_per_s: tuple[float, ...]
    low: tuple[float | None, ...]  # p10 images/s (slow end)
    high: tuple[float | None, ...]  # p90 images/s (fast end)

    @property
    def label(self) -> str:
        return f"{self.model} · {self.precision}"


def throughput_series(measurements: Sequence[Measurement]) -> list[ThroughputSeries]:
    """Group by (model, precision, device); within a group, batch sizes ascending (the last
    measurement of a repeated batch size wins)."""
    groups: dict[tuple[str, str, str], dict[int, Measurement]] = {}
    for m in measurements:
        groups.setdefault(m.series, {})[m.batch_size] = m
    out = []
    for (model, precision, device), by_batch in sorted(groups.items()):
        ms = [by_batch[b] for b in sorted(by_batch)]
        out.append(ThroughputSeries(model=model, precision=precision, device_name=device,
                                    batch_sizes=tuple(m.batch_size for m in ms),
                                    images_per_s=tuple(m.images_per_s for m in ms),
                                    low=tuple(m.images_per_s_p10 for m in ms),
                                    high=tuple(m.images_per_s_p90 for m in ms)))
    return out


_STYLES = {"float32": "-", "tf32": "--", "bfloat16": "-.", "float16": ":"}


def draw_throughput(series: Sequence[ThroughputSeries], *, title: str | None = None) -> "Figure":
    from matplotlib.ticker import FixedLocator, FuncFormatter, LogLocator, NullFormatter

    from ..units import human_count
    from .style import PALETTE, new_figure, style, tick_text

    devices = sorted({s.device_name for s in series})
    models = sorted({s.model for s in series}, key=str.lower)
    color = {m: PALETTE[i % len(PALETTE)] for i, m in enumerate(models)}
    with style():
        fig = new_figure(9.5, 5.6)
        fig.set_layout_engine("constrained")
        ax = fig.add_subplot()
        if not series:
            ax.text(0.5, 0.5, "no successful measurements in these results", transform=ax.transAxes, ha="center")
        for s in series:
            label = s.label + (f" · {s.device_name}" if len(devices) > 1 else "")
            ax.plot(s.batch_sizes, s.images_per_s, marker="o", markersize=4, linewidth=1.6, color=color[s.model],
                    linestyle=_STYLES.get(s.precision, "-"), label=label)
            if all(v is not None for v in (*s.low, *s.high)):
                ax.fill_between(s.batch_sizes, s.low, s.high, color=color[s.model], alpha=0.15, linewidth=0)
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        batches = sorted({b for s in series for b in s.batch_sizes})
        if batches:
            ax.xaxis.set_major_locator(FixedLocator(batches))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:g}"))
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: tick_text(human_count(v))))
        ax.yaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel("batch size (log scale)")
        ax.set_ylabel("images per second (log scale)")
        where = devices[0] if len(devices) == 1 else f"{len(devices)} devices"
        ax.set_title(title or f"Measured throughput on {where} (archcalc bench; band: p10-p90 of repeats)",
                     loc="left", fontsize=10)
        if series:
            ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), title="model · precision", alignment="left")
    return fig
