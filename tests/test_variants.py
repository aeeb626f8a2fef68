"""Variants (``extends:``) differ from their base exactly where they declare.

For every spec in the zoo that extends another: loading the *base* with the variant's declared
``params`` and ``scale`` must give the variant's network, row for row; declared ``set:`` patches
must change the patched layers and nothing before the first of them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import archcalc

from conftest import zoo_analysis, zoo_doc, zoo_spec, zoo_specs

VARIANTS = [p for p in zoo_specs() if "extends" in zoo_doc(p)]
ALLOWED_KEYS = {"extends", "name", "description", "source", "family", "year", "notes", "reference_model", "params",
                "scale", "set", "references", "accuracy", "input"}


def _rows(result: archcalc.Analysis) -> list[tuple]:
    return [(r.name, r.type, r.input_shape, r.output_shape, r.params, r.macs, r.ops) for r in result.layers]


@pytest.mark.parametrize("path", VARIANTS, ids=[p.stem for p in VARIANTS])
def test_variant_is_base_plus_declared_changes(path: Path):
    doc = zoo_doc(path)
    assert set(doc) <= ALLOWED_KEYS, f"{path.name} redefines {sorted(set(doc) - ALLOWED_KEYS)}: derive, don't copy"
    base_path = path.parent / doc["extends"]
    zoo_spec(path)  # the variant loads (once per process: the other zoo tests share it)
    params = dict(doc.get("params") or {})
    scale = doc.get("scale")
    try:
        rebuilt = archcalc.load_spec(base_path, params=params or None, scale=scale)
    except archcalc.SpecError as exc:
        pytest.fail(f"{path.name}: its params/scale do not apply to {base_path.name}: {exc}")
    if "input" in doc:
        assert tuple(doc["input"]) != rebuilt.input_shape  # the declared input override is a real change
        return
    expected, actual = _rows(archcalc.analyze(rebuilt)), _rows(zoo_analysis(path))  # the variant as loaded
    patches = doc.get("set") or {}
    if not patches:
        assert actual == expected, f"{path.name} differs from {base_path.name} + its params/scale"
        return
    names = [r[0] for r in actual]
    first = min(i for i, n in enumerate(names) if any(n == p or n.startswith(p + ".") for p in patches))
    assert actual[:first] == expected[:first], "rows before the first patched layer must not change"
    assert actual != expected, f"{path.name}: its set: patches change nothing"
