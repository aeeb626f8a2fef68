"""Shared test fixtures: the spec zoo, golden files, optional-dependency skips.

Golden files live in ``tests/golden/``; run ``pytest --update-golden`` to rewrite them after an
intended change, then review the diff.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "specs"
GOLDEN = Path(__file__).resolve().parent / "golden"


def zoo_specs() -> list[Path]:
    """Every spec in ``specs/`` (parametrize over this so new specs are covered automatically)."""
    return sorted(SPECS.glob("*.yaml"))


def has_module(name: str) -> bool:
    return importlib.util.find_spec(name) is not None


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true", default=False,
                     help="rewrite tests/golden/* from the current output instead of comparing")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if has_module("torch"):
        return
    skip = pytest.mark.skip(reason="torch is not installed (pip install 'archcalc[torch]')")
    for item in items:
        if "torch" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def golden(request: pytest.FixtureRequest):
    """``golden("name.txt", text)`` compares ``text`` with ``tests/golden/name.txt``."""
    update = request.config.getoption("--update-golden")

    def check(name: str, text: str) -> None:
        path = GOLDEN / name
        if update or not path.exists():
            if not update:
                pytest.fail(f"golden file {path} is missing; run pytest --update-golden to create it")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            return
        expected = path.read_text(encoding="utf-8")
        assert text == expected, f"output differs from {path}; run pytest --update-golden if the change is intended"

    return check
