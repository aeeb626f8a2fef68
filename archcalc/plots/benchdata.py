"""The charts' view of ``archcalc bench`` result files (schema ``archcalc.bench/1``, read by
:func:`archcalc.bench.records.read_documents`).

Only the fields the charts need are read, leniently, so a results file from a slightly newer or
older bench still plots: per model its name, spec path and static MACs per image; per batch
size its status, images/s (with the p10/p90 spread) and achieved MAC/s; per run the device
name and the precision.
"""

from __future__ import annotations

__all__ = ["Measurement", "load_measurements", "read_measurements"]

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from ..bench.records import read_documents
from ..errors import ArchcalcError, Location


@dataclass(frozen=True)
class Measurement:
    """One model at one batch size in one bench run (status ``ok`` only)."""

    model: str
    spec_path: str | None
    batch_size: int
    precision: str
    device_name: str
    images_per_s: float
    images_per_s_p10: float | None
    images_per_s_p90: float | None
    macs_per_image: int | None
    achieved_macs_per_s: float | None
    file: str = ""

    @property
    def series(self) -> tuple[str, str, str]:
        return (self.model, self.precision, self.device_name)


def _get(d: Any, *keys: str, default: Any = None) -> Any:
    for k in keys:
        if not isinstance(d, dict) or k not in d:
            return default
        d = d[k]
    return d


def read_measurements(doc: dict[str, Any], *, file: str = "") -> list[Measurement]:
    """Measurements of one parsed results document."""
    if not isinstance(doc, dict) or not isinstance(doc.get("models"), list):
        raise ArchcalcError("not an archcalc bench results file (no 'models' list)", Location(file=file or None))
    precision = _get(doc, "setup", "precision", default="unknown")
    device = _get(doc, "environment", "device_name", default=None) or str(doc.get("device", "unknown"))
    out = []
    for model in doc["models"]:
        name = str(_get(model, "name", default="?"))
        for r in _get(model, "results", default=[]) or []:
            ips = _get(r, "images_per_s")
            if _get(r, "status") != "ok" or not isinstance(ips, (int, float)) or ips <= 0:
                continue
            out.append(Measurement(
                model=name, spec_path=_get(model, "spec_path"), batch_size=int(_get(r, "batch_size", default=0)),
                precision=str(precision), device_name=str(device), images_per_s=float(ips),
                images_per_s_p10=_get(r, "images_per_s_p10"), images_per_s_p90=_get(r, "images_per_s_p90"),
                macs_per_image=_get(model, "macs_per_image"), achieved_macs_per_s=_get(r, "achieved_macs_per_s"),
                file=file))
    return out


def load_measurements(paths: Iterable[str | Path]) -> list[Measurement]:
    """Measurements from results files (a directory means every ``*.json`` below it)."""
    return [m for file, doc in read_documents(paths) for m in read_measurements(doc, file=file)]
