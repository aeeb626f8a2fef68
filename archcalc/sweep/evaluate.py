"""Evaluating design points: the spec read once, then one expansion and analysis per point.

:func:`load_template` reads and validates the spec file once (YAML, ``extends:`` merged) into a
picklable :class:`SpecTemplate`; :func:`evaluate_points` builds each point's spec from it with the
point's ``params``/``scale`` -- exactly what ``load_spec(path, params=..., scale=...)`` builds -- and
analyzes it. A point the spec refuses (a width its group width does not divide, a depth of 0, ...)
is a row holding the reason in ``error``; it never stops the sweep.
"""

from __future__ import annotations

__all__ = ["SpecTemplate", "load_template", "check_axes", "point_overrides", "evaluate_points", "where_columns"]

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from ..analysis import analyze
from ..errors import ArchcalcError, Location, UsageError
from ..expr import ExprError
from ..fileio import content_hash
from ..yamlio import Node
from .columns import ERROR, INDEX, TOTALS, totals_row
from .points import Axis, SweepDefinition
from .where import Where, compile_where


@dataclass(frozen=True)
class SpecTemplate:
    """A spec file read once: its merged YAML tree, its hash and its default ``params``."""

    path: str
    sha256: str
    raw: Node = field(repr=False)
    base_params: dict[str, Any] = field(repr=False)

    def build(self, *, params: dict[str, Any] | None, scale: dict[str, Any] | None) -> Any:
        """The :class:`archcalc.Spec` that ``load_spec(path, params=params, scale=scale)`` returns."""
        from ..spec.load import spec_from_tree

        return spec_from_tree(self.raw, path=self.path, params=params, scale=scale)


def load_template(path: str | Path) -> SpecTemplate:
    """Read, validate (with its default params) and keep the spec at ``path``.

    Raises the :class:`ArchcalcError` ``load_spec`` raises for a spec that does not load as written.
    """
    from ..spec.load import read_tree, spec_from_tree

    raw = read_tree(path)
    spec = spec_from_tree(raw, path=path)  # the whole validation, with the file name in every message
    data = Path(path).read_bytes()
    return SpecTemplate(path=str(path), sha256=content_hash(data), raw=raw,
                        base_params=dict(spec.document.params))


def check_axes(template: SpecTemplate, axes: Sequence[Axis]) -> None:
    """A :class:`UsageError` for an axis the spec does not have: an unknown parameter, an element of a
    parameter that is not a list (or past its end), the same parameter swept twice."""
    known = template.base_params
    seen: dict[str, str] = {}
    for axis in axes:
        option = Location(file="--scale-grid" if axis.scale else "--grid/--range")
        if axis.name in seen:
            raise UsageError(f"{axis.name} is swept twice", option)
        if axis.scale:
            if axis.name in known:
                raise UsageError(f"{axis.name} is both a spec parameter and a scaling axis", option)
            seen[axis.name] = axis.name
            continue
        if axis.param not in known:
            names = ", ".join(sorted(known)) or "none"
            raise UsageError(f"unknown spec parameter {axis.param!r} (this spec's params: {names})", option)
        whole = f"{axis.param}"
        if axis.index is None and any(other.startswith(whole + "[") for other in seen) or \
                axis.index is not None and whole in seen:
            raise UsageError(f"{axis.param} is swept both whole and by element", option)
        if axis.index is not None:
            base = known[axis.param]
            if not isinstance(base, list):
                raise UsageError(f"{axis.name}: the parameter {axis.param} is not a list (its value is {base!r})",
                                 option)
            if axis.index >= len(base):
                raise UsageError(f"{axis.name}: {axis.param} has {len(base)} elements (indices 0 to {len(base) - 1})",
                                 option)
        seen[axis.name] = axis.name


def point_overrides(template: SpecTemplate, axes: Sequence[Axis],
                    values: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """A point's ``params`` and ``scale`` for :meth:`SpecTemplate.build` (list elements set on a copy of
    the spec's default list)."""
    params: dict[str, Any] = {}
    scale: dict[str, Any] = {}
    for axis in axes:
        value = values[axis.name]
        if axis.scale:
            scale[axis.scale] = value
        elif axis.index is None:
            params[axis.param] = value
        else:
            target = params.setdefault(axis.param, list(template.base_params[axis.param]))
            target[axis.index] = value
    return params, scale


def where_columns(template: SpecTemplate, definition: SweepDefinition) -> dict[str, Any]:
    """The names ``--where`` may read, each with an example value of its type."""
    examples = {"int": 1, "float": 1.0, "bool": True, "str": "", "json": ""}
    columns: dict[str, Any] = {name: 1 for name in TOTALS}
    for axis in definition.axes:
        if axis.index is not None:
            columns[axis.param] = list(template.base_params[axis.param])
        elif axis.values is not None:
            columns[axis.name] = axis.values[0]
        else:
            columns[axis.name] = examples[axis.kind]
    return columns


def _message(exc: BaseException) -> str:
    if isinstance(exc, ArchcalcError):
        return str(exc).replace("\n  hint: ", " (hint: ") + (")" if exc.hint else "")
    return f"internal error, please report it: {type(exc).__name__}: {exc}"


def evaluate_points(template: SpecTemplate, definition: SweepDefinition, start: int, stop: int) -> list[dict[str, Any]]:
    """The rows of points ``start`` to ``stop - 1`` that pass ``--where`` (error rows always do), in order."""
    where = Where(definition.where, compile_where(definition.where, columns=where_columns(template, definition)).source) \
        if definition.where else None
    rows: list[dict[str, Any]] = []
    for index in range(start, stop):
        values = definition.point(index)
        row: dict[str, Any] = {INDEX: index, **values, ERROR: None}
        params, scale = point_overrides(template, definition.axes, values)
        try:  # building and analyzing pause the cyclic collector themselves (archcalc.gcpause)
            spec = template.build(params=params or None, scale=scale or None)
            totals = totals_row(analyze(spec, batch_size=definition.batch_size, dtype=definition.dtype))
        except Exception as exc:  # every failure of a point is that point's row, never the sweep's end
            row[ERROR] = _message(exc)
            row.update({name: None for name in TOTALS})
            rows.append(row)
            continue
        row.update(totals)
        if where is not None:
            env = {**row, **{k: v for k, v in params.items() if isinstance(v, list)}}
            try:
                if not where.keeps(env):
                    continue
            except ExprError as exc:
                row[ERROR] = f"--where: {exc}"
        rows.append(row)
    return rows
