"""Cost against width, depth and input-resolution multipliers (the EfficientNet scaling study).

Every point is a static analysis of the spec loaded with ``load_spec(path, scale={...})``: one
multiplier varies, the others stay at the spec's own values. Width rounds channel counts to the
spec's divisor and depth rounds repeats up, so the measured curves sit near -- not on -- the ideal
power laws drawn beside them: MACs ~ width^2 * depth * resolution^2, params ~ width^2 * depth.
"""

from __future__ import annotations

__all__ = ["ScalingSeries", "ScalingStudy", "scaling_study", "draw_scaling", "DEFAULT_MULTIPLIERS", "IDEAL_EXPONENTS"]

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from ..analysis import analyze
from ..errors import ArchcalcError
from ..spec import load_spec

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

DEFAULT_MULTIPLIERS = (0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 2.5, 3.0)
AXES = ("width", "depth", "resolution")
IDEAL_EXPONENTS = {"macs": {"width": 2, "depth": 1, "resolution": 2},
                   "params": {"width": 2, "depth": 1, "resolution": 0}}
"""Cost ~ multiplier ** exponent if every layer scaled exactly (convolutional layers only)."""


@dataclass(frozen=True)
class ScalingSeries:
    axis: str  # width, depth or resolution
    multipliers: tuple[float, ...]
    settings: tuple[str, ...]  # what was passed, e.g. "resolution=336"
    macs: tuple[int, ...]
    params: tuple[int, ...]


@dataclass(frozen=True)
class ScalingStudy:
    name: str
    base_macs: int
    base_params: int
    base_input: tuple[int, ...]
    series: tuple[ScalingSeries, ...]
    skipped: tuple[str, ...]  # "width=0.5: <why>"


def _settings(axis: str, m: float, base_input: tuple[int, ...], own: Any) -> dict[str, Any]:
    if axis == "resolution":
        return {"resolution": [max(1, round(d * m)) for d in base_input[1:]]}
    current = getattr(own, axis) if own is not None else 1.0
    return {axis: round(current * m, 6)}


def scaling_study(path: str | Path, *, multipliers: Sequence[float] = DEFAULT_MULTIPLIERS,
                  params: dict[str, Any] | None = None) -> ScalingStudy:
    """Static MACs and params of the spec at ``path`` under each multiplier on each axis.

    Multipliers are relative to the spec as written (its own ``scale:`` included); a setting
    the network cannot take (a feature map shrinking below a kernel) is listed in ``skipped``.
    """
    base = load_spec(path, params=params)
    t = analyze(base).totals
    series, skipped = [], []
    for axis in AXES:
        ms, sets, macs, prms = [], [], [], []
        for m in multipliers:
            setting = _settings(axis, m, base.input_shape, base.scale)
            text = ", ".join(f"{k}={'x'.join(map(str, v)) if isinstance(v, list) else v}" for k, v in setting.items())
            try:
                totals = t if m == 1.0 else analyze(load_spec(path, params=params, scale=setting)).totals
            except ArchcalcError as exc:
                skipped.append(f"{text}: {str(exc).splitlines()[0]}")
                continue
            ms.append(float(m))
            sets.append(text)
            macs.append(totals.macs)
            prms.append(totals.params)
        series.append(ScalingSeries(axis=axis, multipliers=tuple(ms), settings=tuple(sets), macs=tuple(macs),
                                    params=tuple(prms)))
    return ScalingStudy(name=base.name, base_macs=t.macs, base_params=t.params, base_input=base.input_shape,
                        series=tuple(series), skipped=tuple(skipped))


_SUPERSCRIPT = {0: "\u2070", 1: "\u00b9", 2: "\u00b2", 3: "\u00b3"}
_COLORS = {"width": "#0072B2", "depth": "#D55E00", "resolution": "#009E73"}
_MARKERS = {"width": "o", "depth": "s", "resolution": "^"}


def draw_scaling(study: ScalingStudy, *, title: str | None = None) -> "Figure":
    """Two log-log panels (multiply-adds, parameters) with one line per axis and the ideal laws."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, LogLocator, NullFormatter

    from ..units import human_count
    from .style import new_figure, style, tick_text

    res = "x".join(map(str, study.base_input[1:]))
    with style():
        fig = new_figure(11.0, 4.9)
        fig.set_layout_engine("constrained")
        axes = fig.subplots(1, 2)
        for ax, key, label, base in ((axes[0], "macs", "Multiply-adds (MACs)", study.base_macs),
                                     (axes[1], "params", "Parameters", study.base_params)):
            for s in study.series:
                values = getattr(s, key)
                if not values:
                    continue
                name = f"{s.axis} \u00d7 m" if s.axis != "resolution" else f"resolution \u00d7 m (base {res})"
                if len(set(s.macs)) == 1 and len(set(s.params)) == 1:
                    name += ": no effect on this spec"
                ax.plot(s.multipliers, values, marker=_MARKERS[s.axis], color=_COLORS[s.axis], linewidth=1.6,
                        markersize=5, label=name)
                k = IDEAL_EXPONENTS[key][s.axis]
                lo, hi = min(s.multipliers), max(s.multipliers)
                grid = [lo + (hi - lo) * i / 40 for i in range(41)]
                ax.plot(grid, [base * g ** k for g in grid], color=_COLORS[s.axis], linestyle=":", linewidth=1.0,
                        alpha=0.9, label=f"{s.axis}: ideal m{_SUPERSCRIPT[k]}")
            ax.set_xscale("log")
            ax.set_yscale("log")
            ms = sorted({m for s in study.series for m in s.multipliers})
            ax.xaxis.set_major_locator(FixedLocator(ms))
            ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:g}"))
            ax.xaxis.set_minor_formatter(NullFormatter())
            ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
            ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: tick_text(human_count(v))))
            ax.yaxis.set_minor_formatter(NullFormatter())
            ax.set_xlabel("multiplier m (log scale)")
            ax.set_ylabel(f"{label} (log scale)")
            ax.set_title(f"{label}: base {tick_text(human_count(base))}")
            ax.axvline(1.0, color="#999999", linewidth=0.8)
        axes[0].legend(loc="upper left")
        head = title or f"{study.name}: cost under width, depth and resolution scaling"
        fig.suptitle(f"{head}\nsolid: archcalc static count of the scaled spec; dotted: ideal power law "
                     f"(every layer scaling exactly)", fontsize=10)
    return fig
