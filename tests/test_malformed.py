"""Malformed specs (tests/malformed/*.yaml) and the exact error each one gets.

``tests/malformed/expected.json`` maps each file to its message; run ``pytest --update-golden``
to regenerate it after an intended change to a message, and review the diff.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

import archcalc
from archcalc.errors import ArchcalcError

from conftest import ROOT

CORPUS = ROOT / "tests" / "malformed"
EXPECTED_FILE = CORPUS / "expected.json"
FILES = sorted(CORPUS.glob("*.yaml"))


def _error_of(path: Path) -> str:
    rel = path.relative_to(ROOT)
    try:
        archcalc.analyze(archcalc.load_spec(rel))
    except ArchcalcError as exc:
        return str(exc)
    return "<no error>"


def test_expected_covers_corpus(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(ROOT)
    if request.config.getoption("--update-golden"):
        EXPECTED_FILE.write_text(json.dumps({p.name: _error_of(p) for p in FILES}, indent=2) + "\n")
    expected = json.loads(EXPECTED_FILE.read_text())
    assert sorted(expected) == [p.name for p in FILES]


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_exact_error(path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(ROOT)
    expected = json.loads(EXPECTED_FILE.read_text())[path.name]
    started = time.perf_counter()
    message = _error_of(path)
    assert message == expected
    assert time.perf_counter() - started < 2.0  # alias bombs are refused in bounded time
    # every message names the file and a line
    assert message.startswith(f"tests/malformed/{path.name}:")


@pytest.mark.parametrize("path", FILES[:6], ids=[p.stem for p in FILES[:6]])
def test_cli_exit_2_without_traceback(path: Path):
    proc = subprocess.run([sys.executable, "-m", "archcalc", "report", str(path)], capture_output=True, text=True,
                          cwd=ROOT, timeout=60)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith("archcalc: error: ")
    assert proc.stdout == ""


def test_debug_flag_shows_traceback():
    path = CORPUS / "unknown_field.yaml"
    proc = subprocess.run([sys.executable, "-m", "archcalc", "report", str(path), "--debug"], capture_output=True,
                          text=True, cwd=ROOT, timeout=60)
    assert proc.returncode != 0
    assert "Traceback" in proc.stderr


def test_output_not_half_written(tmp_path: Path):
    out = tmp_path / "report.txt"
    out.write_text("previous")
    proc = subprocess.run([sys.executable, "-m", "archcalc", "report", str(CORPUS / "kernel_too_large.yaml"),
                           "-o", str(out)], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert proc.returncode == 2
    assert out.read_text() == "previous"
    assert list(tmp_path.iterdir()) == [out]
