"""Shared test helpers: the spec zoo, the ``--update-golden`` option, optional-dependency skips.

``pytest --update-golden`` rewrites the expected outputs kept beside the tests (the malformed-spec
corpus's ``tests/malformed/expected.json``) from the current code; review the diff afterwards.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "specs"


def zoo_specs() -> list[Path]:
    """Every spec in ``specs/`` (parametrize over this so new specs are covered automatically)."""
    return sorted(SPECS.glob("*.yaml"))


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
