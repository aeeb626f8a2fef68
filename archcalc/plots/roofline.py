"""Roofline: each layer's arithmetic intensity against a GPU's compute and bandwidth ceilings.

Arithmetic intensity of a layer = MACs / bytes moved, with bytes moved = (input + output
activations) x batch + weights, each element at the chosen dtype's size: the traffic if every
tensor crosses DRAM exactly once (no cache reuse across layers). Only layers with
multiply-adds (conv, linear) have an intensity; the other layers' traffic counts in the
whole-model point. The attainable rate is ``min(peak MAC/s, bandwidth x intensity)``: each layer
is drawn *on* the roof, where it would run at best. Measured whole-model points from
``archcalc bench`` results sit where they really ran: achieved MAC/s at the model's intensity.
All rates are multiply-accumulates per second (1 MAC = 2 FLOPs).
"""

from __future__ import annotations

__all__ = ["RooflineLayer", "RooflinePoint", "Roofline", "layer_bytes", "roofline", "draw_roofline"]

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

from ..analysis import DTYPE_BYTES, Analysis, LayerRow, analyze
from ..errors import UsageError
from ..formulas import prod
from ..spec import Spec
from ..units import human_count
from .benchdata import Measurement
from .devices import Device

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure


@dataclass(frozen=True)
class RooflineLayer:
    """One layer -- or ``count`` layers with the same MACs and bytes (repeated blocks), summed."""

    name: str  # the first such layer
    type: str
    macs: int  # all ``count`` layers together
    bytes_moved: int  # one layer
    intensity: float  # MACs per byte
    attainable_macs_per_s: float
    memory_bound: bool
    count: int = 1

    @property
    def label(self) -> str:
        return self.name if self.count == 1 else f"{self.name} (+{self.count - 1} alike)"


@dataclass(frozen=True)
class RooflinePoint:
    label: str
    intensity: float
    macs_per_s: float
    measured: bool
    fraction_of_roof: float | None = None


@dataclass(frozen=True)
class Roofline:
    model: str
    device: Device
    dtype: str
    batch_size: int
    peak_macs_per_s: float
    bandwidth_bytes_per_s: float
    layers: tuple[RooflineLayer, ...]
    points: tuple[RooflinePoint, ...]  # whole model: static at batch_size, then measured ones
    notes: tuple[str, ...] = ()

    @property
    def ridge(self) -> float:
        return self.peak_macs_per_s / self.bandwidth_bytes_per_s

    def roof(self, intensity: float) -> float:
        return min(self.peak_macs_per_s, self.bandwidth_bytes_per_s * intensity)


def layer_bytes(row: LayerRow, *, batch_size: int, bytes_per_element: int) -> int:
    """Bytes a layer reads and writes: ``(input + output) * batch + weights``, at the element size."""
    elements = (prod(row.input_shape) + prod(row.output_shape)) * batch_size + row.params
    return elements * bytes_per_element


def _model_point(analysis: Analysis, device: Device, dtype: str, label: str,
                 achieved: float | None = None, bytes_per_element: int | None = None) -> RooflinePoint:
    b = bytes_per_element or analysis.bytes_per_element
    moved = sum(layer_bytes(r, batch_size=analysis.batch_size, bytes_per_element=b) for r in analysis.layers)
    intensity = analysis.totals.macs / moved if moved else 0.0
    roof = min(device.peak_macs_per_s(dtype), device.memory_bandwidth_bytes_per_s * intensity)
    if achieved is None:
        return RooflinePoint(label=label, intensity=intensity, macs_per_s=roof, measured=False)
    return RooflinePoint(label=label, intensity=intensity, macs_per_s=achieved, measured=True,
                         fraction_of_roof=achieved / roof if roof else None)


def roofline(spec: Spec, *, device: Device, dtype: str = "float32", batch_size: int = 1,
             measurements: Sequence[Measurement] = (), analysis: Analysis | None = None) -> Roofline:
    """The plotted data; ``measurements`` are whole-model bench results of this spec. ``analysis``
    reuses an analysis of ``spec`` made at this batch size, at any dtype (else the spec is analyzed):
    the layers' shapes, parameters and multiply-adds do not depend on the dtype, and the bytes moved
    are counted here at ``dtype``'s element size."""
    if dtype not in DTYPE_BYTES:
        raise UsageError(f"unknown dtype {dtype!r}; choose one of {', '.join(DTYPE_BYTES)}")
    if analysis is None or analysis.batch_size != batch_size:
        analysis = analyze(spec, batch_size=batch_size, dtype=dtype)
    peak = device.peak_macs_per_s(dtype)
    bw = device.memory_bandwidth_bytes_per_s
    b = DTYPE_BYTES[dtype]
    alike: dict[tuple[str, int, int], list[LayerRow]] = {}
    for r in analysis.layers:
        if r.macs > 0:
            alike.setdefault((r.type, r.macs, layer_bytes(r, batch_size=batch_size, bytes_per_element=b)), []).append(r)
    layers = []
    for (kind, macs, moved), rows in alike.items():  # first-seen order = execution order
        intensity = macs / moved
        layers.append(RooflineLayer(name=rows[0].name, type=kind, macs=macs * len(rows), bytes_moved=moved,
                                    intensity=intensity, attainable_macs_per_s=min(peak, bw * intensity),
                                    memory_bound=bw * intensity < peak, count=len(rows)))
    points = [_model_point(analysis, device, dtype, f"whole model, batch {batch_size} (static)", bytes_per_element=b)]
    notes = []
    for m in sorted(measurements, key=lambda m: (m.precision, m.batch_size)):
        if m.achieved_macs_per_s is None and m.macs_per_image is None:
            continue
        achieved = m.achieved_macs_per_s or (m.macs_per_image or 0) * m.images_per_s
        at = analyze(spec, batch_size=m.batch_size, dtype=m.precision if m.precision in DTYPE_BYTES else dtype)
        points.append(_model_point(at, device, dtype, f"measured: batch {m.batch_size}, {m.precision}", achieved))
        if m.precision != dtype:
            notes.append(f"measured {m.precision}, ceiling drawn for {dtype}")
    return Roofline(model=analysis.name, device=device, dtype=dtype, batch_size=batch_size, peak_macs_per_s=peak,
                    bandwidth_bytes_per_s=bw, layers=tuple(layers), points=tuple(points),
                    notes=tuple(dict.fromkeys(notes)))


def _rate(v: float) -> str:
    from .style import tick_text

    return tick_text(human_count(v)) + "MAC/s" if v >= 1000 else f"{v:g} MAC/s"


def draw_roofline(data: Roofline, *, title: str | None = None, label_top: int = 6) -> "Figure":
    """Log-log roofline: ceilings, one dot per layer on the roof (area ~ its MACs), whole-model
    points, the top layers by MACs labelled."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    from .labels import Box, place_labels
    from .style import marks_for_minor_ticks, new_figure, style, tick_text

    with style():
        fig = new_figure(10.0, 6.4)
        ax = fig.add_axes((0.09, 0.17, 0.87, 0.75))
        intensities = [l.intensity for l in data.layers] + [p.intensity for p in data.points] + [data.ridge]
        lo = 10 ** math.floor(math.log10(max(min(i for i in intensities if i > 0), 1e-3)) - 0.3)
        hi = 10 ** math.ceil(math.log10(max(intensities)) + 0.3)
        grid = [lo * (hi / lo) ** (k / 200) for k in range(201)]
        ax.plot(grid, [data.roof(x) for x in grid], color="#222222", linewidth=1.8, zorder=2)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlim(lo, hi)
        floor = min([data.roof(lo)] + [p.macs_per_s for p in data.points]) / 3
        ax.set_ylim(floor, data.peak_macs_per_s * 3)
        ax.axvline(data.ridge, color="#999999", linestyle=":", linewidth=1)
        fixed = [
            ax.text(data.ridge * 1.08, data.peak_macs_per_s / 1.5, f"ridge {data.ridge:.0f} MAC/B", fontsize=7.5,
                    color="#555555", va="top"),
            ax.text(lo * 1.3, data.peak_macs_per_s * 1.25,
                    f"compute roof {_rate(data.peak_macs_per_s)} ({data.dtype}, dense)", fontsize=7.5, va="bottom"),
        ]
        # the memory roof's label follows its slope, just above it
        x0, x1 = lo * 2, lo * 20
        (px0, py0), (px1, py1) = ax.transData.transform([(x0, data.roof(x0)), (x1, data.roof(x1))])
        fixed.append(ax.text(x0, data.roof(x0) * 1.6, f"memory roof {data.bandwidth_bytes_per_s / 1e12:.2f} TB/s",
                             fontsize=7.5, rotation=math.degrees(math.atan2(py1 - py0, px1 - px0)),
                             rotation_mode="anchor", va="bottom", ha="left"))
        total = sum(l.macs for l in data.layers) or 1
        sizes = [max(12.0, 600.0 * l.macs / total) for l in data.layers]
        colors = ["#0072B2" if l.memory_bound else "#D55E00" for l in data.layers]
        ax.scatter([l.intensity for l in data.layers], [l.attainable_macs_per_s for l in data.layers], s=sizes,
                   c=colors, alpha=0.55, edgecolors="white", linewidths=0.5, zorder=3)
        for p in data.points:
            if p.measured:
                ax.scatter([p.intensity], [p.macs_per_s], marker="*", s=140, color="#009E73", edgecolors="#00573f",
                           zorder=5)
            else:
                ax.scatter([p.intensity], [p.macs_per_s], marker="D", s=60, color="#CC79A7", edgecolors="#7a3f63",
                           zorder=5)
        from matplotlib.lines import Line2D

        handles = [Line2D([], [], color="#222222", linewidth=1.8, label="roof: min(peak, bandwidth x intensity)")]
        if any(l.memory_bound for l in data.layers):
            handles.append(Line2D([], [], marker="o", linestyle="", color="#0072B2", alpha=0.6,
                                  label="layer, memory-bound"))
        if any(not l.memory_bound for l in data.layers):
            handles.append(Line2D([], [], marker="o", linestyle="", color="#D55E00", alpha=0.6,
                                  label="layer, compute-bound"))
        handles.append(Line2D([], [], marker="D", linestyle="", color="#CC79A7", label="whole model (static, on the roof)"))
        if any(p.measured for p in data.points):
            handles.append(Line2D([], [], marker="*", linestyle="", markersize=11, color="#009E73",
                                  label="whole model, measured"))
        legend = ax.legend(handles=handles, loc="lower right", frameon=True, framealpha=0.95, edgecolor="#cccccc")
        # labels: the largest layers by MACs and every whole-model point
        top = sorted(range(len(data.layers)), key=lambda i: -data.layers[i].macs)[:label_top]
        items = [(data.layers[i].intensity, data.layers[i].attainable_macs_per_s, data.layers[i].label,
                  math.sqrt(sizes[i] / math.pi)) for i in top]
        for p in data.points:
            text = p.label + (f": {100 * p.fraction_of_roof:.0f}% of roof" if p.fraction_of_roof is not None else "")
            items.append((p.intensity, p.macs_per_s, text, 5.0))
        renderer = fig.canvas.get_renderer()
        texts = [ax.text(x, y, t, fontsize=7, ha="center", va="center", zorder=6, color="#222222")
                 for x, y, t, _ in items]
        sizes_px = [(t.get_window_extent(renderer).width + 2, t.get_window_extent(renderer).height + 1) for t in texts]
        anchors = [tuple(ax.transData.transform((x, y))) for x, y, _, _ in items]
        frame = ax.get_window_extent(renderer)
        roof_px = [ax.transData.transform((x, data.roof(x))) for x in grid[::10]]
        obstacles = [Box(min(a[0], b[0]), min(a[1], b[1]) - 2, max(a[0], b[0]), max(a[1], b[1]) + 2)
                     for a, b in zip(roof_px, roof_px[1:])]
        for t in [*fixed, legend]:
            bb = t.get_window_extent(renderer)
            obstacles.append(Box(bb.x0, bb.y0, bb.x1, bb.y1))
        placed = place_labels(anchors, sizes_px, radii=[r * fig.dpi / 72 for *_, r in items], obstacles=obstacles,
                              bounds=Box(frame.x0 + 2, frame.y0 + 2, frame.x1 - 2, frame.y1 - 2))
        inv = ax.transData.inverted()
        for t, box, (x, y, *_r) in zip(texts, placed, items):
            cx, cy = (box.x0 + box.x1) / 2, (box.y0 + box.y1) / 2
            t.set_position(tuple(inv.transform((cx, cy))))
            nx, ny = min(max(ax.transData.transform((x, y))[0], box.x0), box.x1), \
                min(max(ax.transData.transform((x, y))[1], box.y0), box.y1)
            ax.annotate("", xy=(x, y), xytext=tuple(inv.transform((nx, ny))),
                        arrowprops=dict(arrowstyle="-", color="#999999", linewidth=0.5, shrinkA=0, shrinkB=2))
        ax.xaxis.set_major_locator(LogLocator(base=10))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:g}"))
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: tick_text(human_count(v))))
        ax.yaxis.set_minor_formatter(NullFormatter())
        marks_for_minor_ticks(ax)
        ax.set_xlabel("arithmetic intensity (MACs per byte moved, log scale)")
        ax.set_ylabel("multiply-accumulates per second (MAC/s, log scale)")
        ax.set_title(title or f"{data.model} on {data.device.name}: roofline, {data.dtype}, batch {data.batch_size}",
                     loc="left", fontsize=10, y=1.0)  # a fixed place: not worked out at every draw
        notes = [
            "Layers with multiply-adds only; identical layers (same MACs and bytes) share one dot, whose area ~ their "
            "MACs together; each dot sits at its attainable rate.",
            "Bytes moved = (input + output activations) x batch + weights at "
            f"{data.dtype}; rates in MAC/s (1 MAC = 2 FLOPs).",
            f"Ceilings: {data.device.source}.",
        ] + list(data.notes)
        import textwrap

        fig.text(0.09, 0.015, "\n".join(textwrap.fill(n, 150) for n in notes), fontsize=6.5, color="#444444",
                 va="bottom")
    return fig
