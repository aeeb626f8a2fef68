"""The cross-check as text and JSON: :class:`~archcalc.torch.crosscheck.CrossCheck` in, strings out."""

from __future__ import annotations

__all__ = ["render_table", "to_dict"]

from typing import Any

from ..kinds import fvcore_rules

_EXPLAIN = {r.name: r.explanation for r in fvcore_rules()}


def to_dict(check: Any) -> dict[str, Any]:
    """The JSON document of one cross-check (exact integers; every row, failures flagged)."""
    ref = check.reference
    return {
        "name": check.name, "path": check.path, "input_shape": list(check.input_shape),
        "resolution_note": check.resolution_note, "ok": check.ok, "error": check.error,
        "shapes": {"ok": check.shapes_ok, "rows": len(check.shapes),
                   "mismatches": [{"name": r.name, "type": r.type, "analyzer": list(r.analyzer),
                                   "torch": None if r.torch is None else list(r.torch)}
                                  for r in check.shapes if not r.ok]},
        "params": {"ok": check.params_ok, "analyzer": check.params_total.analyzer, "torch": check.params_total.torch,
                   "mismatches": [{"name": r.name, "type": r.type, "analyzer": r.analyzer, "torch": r.torch}
                                  for r in check.params if not r.ok]},
        "macs": {"ok": check.flops_ok, "analyzer": check.analyzer_macs, "fvcore": check.fvcore_total,
                 "fvcore_outside_rows": check.fvcore_outside_rows,
                 "unsupported_outside_rows": check.unsupported_outside_rows,
                 "rules": {name: {"rows": n, "flops": d, "explanation": _EXPLAIN[name]}
                           for name, (n, d) in check.rules_applied().items()},
                 "rows": [{"name": r.name, "type": r.type, "analyzer_macs": r.analyzer_macs, "fvcore": r.fvcore,
                           "expected_fvcore": r.expected, "rules": list(r.rules), "unsupported": r.unsupported,
                           "unexplained_ops": list(r.unexplained_ops), "ok": r.ok} for r in check.flops]},
        "reference": None if ref is None else {
            "model": ref.model, "status": ref.status, "reason": ref.reason, "params": ref.params,
            "params_total": ref.params_total, "output_shape": None if ref.output_shape is None else list(ref.output_shape),
            "stages": [{"module": n, "output_shape": list(s), "found": f} for n, s, f in ref.stages]},
    }


def render_table(check: Any, *, verbose: bool = False) -> str:
    """A terminal summary; failing rows as per-layer diff tables (every row with ``verbose``)."""
    from tabulate import tabulate

    from ..units import shape_text

    mark = "OK" if check.ok else "FAILED"
    lines = [f"{check.name} ({check.path or '<spec>'}), input {shape_text(check.input_shape)}, batch 1: {mark}"]
    if check.resolution_note:
        lines.append(f"  ({check.resolution_note})")
    if check.error:
        lines.append(f"  error    {check.error}")
    bad_shapes = [r for r in check.shapes if not r.ok]
    lines.append(f"  shapes   {len(check.shapes) - len(bad_shapes)}/{len(check.shapes)} rows agree with the forward pass")
    if bad_shapes:
        lines.append(_indent(tabulate(
            [[r.name, r.type, shape_text(r.analyzer), "not run" if r.torch is None else shape_text(r.torch)]
             for r in _first(bad_shapes, verbose)], headers=["Layer", "Type", "Analyzer", "Torch"])))
        lines += _more(bad_shapes, verbose)
    pt = check.params_total
    bad_params = [r for r in check.params if not r.ok]
    lines.append(f"  params   analyzer {pt.analyzer:,}, torch {pt.torch:,}: {'agree' if check.params_ok else 'DIFFER'}")
    if bad_params:
        lines.append(_indent(tabulate([[r.name, r.type, f"{r.analyzer:,}", f"{r.torch:,}", f"{r.torch - r.analyzer:+,}"]
                                       for r in _first(bad_params, verbose)],
                                      headers=["Layer", "Type", "Analyzer", "Torch", "Diff"])))
        lines += _more(bad_params, verbose)
    if check.error:
        lines.append("  MACs     not compared: the model does not run")
        return "\n".join(lines + _reference_lines(check)) + "\n"
    rules = check.rules_applied()
    reconciled = sum(d for _, d in rules.values())
    lines.append(f"  MACs     analyzer {check.analyzer_macs:,}; fvcore {check.fvcore_total:,} = MACs "
                 f"{reconciled:+,} by {len(rules)} named rule(s): {'agree' if check.flops_ok else 'DIFFER'}")
    for name, (n, d) in rules.items():
        lines.append(f"    {name:<24} {n:>4} row(s) {d:>+16,}  {_EXPLAIN[name]}")
    shown = list(check.flops) if verbose else [r for r in check.flops if not r.ok]
    if shown:
        lines.append(_indent(tabulate(
            [[r.name, r.type, f"{r.analyzer_macs:,}", f"{r.expected:,}", f"{r.fvcore:,}", f"{r.fvcore - r.expected:+,}",
              ", ".join(r.rules) or "-", ", ".join(r.unexplained_ops) or "-"] for r in _first(shown, verbose)],
            headers=["Layer", "Type", "MACs", "Expected fvcore", "fvcore", "Unexplained", "Rules", "Unexplained ops"])))
        lines += _more(shown, verbose)
    if check.fvcore_outside_rows:
        lines.append(f"    fvcore counted {check.fvcore_outside_rows:,} flops outside every row's module")
    if check.unsupported_outside_rows:
        lines.append(f"    unsupported ops outside every row's module: {check.unsupported_outside_rows}")
    return "\n".join(lines + _reference_lines(check)) + "\n"


def _reference_lines(check: Any) -> list[str]:
    ref = check.reference
    if ref is None:
        return []
    text = f"  reference {ref.model}: {ref.status}"
    if ref.status == "ok":
        extra = "" if ref.params == ref.params_total else f" ({ref.params_total:,} with heads unused in eval)"
        text += f" (params {ref.params:,}{extra}; {len(ref.stages)} stage outputs found in order)"
    elif ref.reason:
        text += f" ({ref.reason})"
    return [text]


_SHOWN = 20  # failing rows shown per table without --verbose


def _first(rows: list[Any], verbose: bool) -> list[Any]:
    return rows if verbose else rows[:_SHOWN]


def _more(rows: list[Any], verbose: bool) -> list[str]:
    return [] if verbose or len(rows) <= _SHOWN else [f"    ... and {len(rows) - _SHOWN} more (--verbose shows all)"]


def _indent(text: str, by: str = "    ") -> str:
    return "\n".join(by + line for line in text.splitlines())
