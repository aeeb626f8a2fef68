"""One zoo row per spec: load, analyze and check it once (:func:`summarize_spec`)."""

from __future__ import annotations

__all__ = ["SpecSummary", "summarize_spec", "summary_of", "check_text", "shown_path", "top1_text"]

from dataclasses import dataclass
from pathlib import Path

from ..analysis import Analysis, analyze
from ..check import check_spec, summarize
from ..errors import ArchcalcError
from ..plots.accuracy import protocol_rank, select_accuracy
from ..spec import Spec, load_spec


@dataclass(frozen=True)
class SpecSummary:
    """One row of the zoo table."""

    stem: str
    path: str  # as shown: "specs/resnet50.yaml"
    name: str
    family: str
    year: int | None
    input_shape: tuple[int, ...]
    params: int | None
    macs: int | None
    activation_bytes: int | None
    top1: float | None
    top1_single_crop: bool
    top1_protocol: str | None
    top1_source: str | None
    check: str  # "12 ok, 2 errata", "no reference figures", "FAILED: 1 mismatch"
    check_failed: bool
    error: str | None = None


def shown_path(path: Path) -> str:
    return f"{path.parent.name}/{path.name}" if path.parent.name else path.name


def check_text(spec: Spec, analysis: Analysis, shown: str) -> tuple[str, bool]:
    try:
        s = summarize(check_spec(spec, analysis=analysis, label=shown))
    except ArchcalcError as exc:
        return f"FAILED: {exc.message}", True
    if s.figures == 0:
        return "no reference figures", False
    parts = [f"{s.ok} ok"]
    if s.errata:
        parts.append(f"{s.errata} errat{'um' if s.errata == 1 else 'a'}")
    if s.conventions:
        parts.append(f"{s.conventions} convention{'' if s.conventions == 1 else 's'}")
    if s.mismatches:
        parts.append(f"{s.mismatches} mismatch{'es' if s.mismatches != 1 else ''}")
    if s.stale:
        parts.append(f"{s.stale} stale")
    return ("FAILED: " if s.failed else "") + ", ".join(parts), s.failed


def summarize_spec(path: Path) -> tuple[Spec | None, Analysis | None, SpecSummary]:
    """Load, analyze and check one spec; a spec that fails to load becomes a row with ``error``."""
    shown = shown_path(path)
    try:
        spec = load_spec(path)
        analysis = analyze(spec)
    except ArchcalcError as exc:
        return None, None, SpecSummary(
            stem=path.stem, path=shown, name=path.stem, family="", year=None, input_shape=(), params=None, macs=None,
            activation_bytes=None, top1=None, top1_single_crop=False, top1_protocol=None, top1_source=None,
            check="not checked", check_failed=True, error=str(exc).replace(str(path), shown))
    return spec, analysis, summary_of(spec, analysis, shown=shown, stem=path.stem)


def summary_of(spec: Spec, analysis: Analysis, *, shown: str, stem: str) -> SpecSummary:
    """The zoo row of a loaded spec (accuracy chosen as the accuracy chart does; reference check)."""
    chosen = select_accuracy(spec.accuracy, "top1")
    check, failed = check_text(spec, analysis, shown)
    t = analysis.totals
    return SpecSummary(
        stem=stem, path=shown, name=spec.name, family=spec.family or "", year=spec.document.year,
        input_shape=spec.input_shape, params=t.params, macs=t.macs, activation_bytes=t.activation_bytes,
        top1=chosen[0] if chosen else None,
        top1_single_crop=bool(chosen) and protocol_rank(chosen[1].protocol) == 0,
        top1_protocol=chosen[1].protocol if chosen else None, top1_source=chosen[1].source if chosen else None,
        check=check, check_failed=failed)


def top1_text(s: SpecSummary) -> str:
    if s.top1 is None:
        return ""
    return f"{s.top1:.2f}" + ("" if s.top1_single_crop else "\u2020")
