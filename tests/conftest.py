"""Shared test helpers: the spec zoo, the ``--update-golden`` option, optional-dependency skips.

``pytest --update-golden`` rewrites the expected outputs kept beside the tests (the malformed-spec
corpus's ``tests/malformed/expected.json``) from the current code; review the diff afterwards.
"""

from __future__ import annotations

import copy
import functools
import importlib.util
import os
from pathlib import Path
from typing import Any

import pytest

# The suite computes every output and never writes to the user's cache (~/.cache/archcalc): the cache is
# off in this process and in every command it starts; tests/test_cache.py turns it on in a tmp_path.
os.environ["ARCHCALC_CACHE"] = "off"

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "specs"


def zoo_specs() -> list[Path]:
    """Every spec in ``specs/`` (parametrize over this so new specs are covered automatically)."""
    return sorted(SPECS.glob("*.yaml"))


def zoo_doc(path: Path) -> dict[str, Any]:
    """A spec file's YAML as written (no ``extends`` resolved), parsed once per test process with libyaml
    where PyYAML has it (collection reads every spec several times; the pure-Python parser took seconds)."""
    return copy.deepcopy(_parsed(path))


@functools.lru_cache(maxsize=None)
def _parsed(path: Path) -> dict[str, Any]:
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(path.read_text(encoding="utf-8"), Loader=loader) or {}


ZOO_BOXES = {"proposals": 16, "detections": 4}
"""The per-box counts the zoo's torch tests run detectors with (every row still runs; the full counts are
checked statically, and at a larger input with more boxes in tests/test_detection.py)."""


def zoo_params(path: Path) -> dict[str, int] | None:
    """``params`` for a zoo spec in the torch tests: fewer proposals and detections for a detector, else None."""
    from archcalc.spec.load import read_tree

    declared = read_tree(path).get("params") or {}  # as merged over its extends chain; nothing expanded
    small = {k: v for k, v in ZOO_BOXES.items() if k in declared}
    return small or None


def has_module(name: str) -> bool:
    return importlib.util.find_spec(name) is not None


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true", default=False,
                     help="rewrite the expected outputs (tests/malformed/expected.json) instead of comparing")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if has_module("torch"):
        return
    skip = pytest.mark.skip(reason="torch is not installed (pip install 'archcalc[torch]')")
    for item in items:
        if "torch" in item.keywords:
            item.add_marker(skip)
