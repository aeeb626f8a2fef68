"""The GPU check script rehearses end to end on the CPU (``--dry-run``): every phase runs, every file is written."""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

import pytest

from conftest import ROOT

# the dry run's bench phase collects garbage after every batch size (see conftest.older_objects_frozen)
pytestmark = [pytest.mark.torch, pytest.mark.usefixtures("older_objects_frozen")]
pytest.importorskip("torch")


def _script():
    """benchmarks/gpu_check.py as the module ``gpu_check`` (importable by name: its reference checks run
    in spawned worker processes, which import it again)."""
    if str(ROOT / "benchmarks") not in sys.path:
        sys.path.insert(0, str(ROOT / "benchmarks"))
    return importlib.import_module("gpu_check")


def test_dry_run_writes_every_phase(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    gpu_check = _script()
    code = gpu_check.main(["--dry-run", "--out", str(tmp_path), "--budget-s", "600", "--workers", "1"])
    out = capsys.readouterr().out
    assert "gpu_check plan (budget 600 s, dry run on the CPU)" in out  # the plan comes first
    assert code == 0, out
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "SUMMARY.md", "bench.json", "environment.json", "memory.json", "references.json"]
    env = json.loads((tmp_path / "environment.json").read_text())
    assert env["dry_run"] is True and env["device"] == "cpu"
    refs = json.loads((tmp_path / "references.json").read_text())
    assert len(refs) == 2 and all(r["status"] in ("ok", "skipped") for r in refs)  # skipped: no torchvision here
    bench = json.loads((tmp_path / "bench.json").read_text())
    (run,) = bench
    assert run["status"] == "ok" and run["run"]["device"] == "cpu"
    assert [b["status"] for b in run["run"]["models"][0]["results"]] == ["ok"]
    memory = json.loads((tmp_path / "memory.json").read_text())  # resnet50, inference and training, batch 2
    assert [(m["mode"], m["batch"], m["status"]) for m in memory] == [("inference", 2, "ok"), ("training", 2, "ok")]
    assert "dry run on the CPU: not measurements" in (tmp_path / "SUMMARY.md").read_text()


def test_reference_specs_name_a_library_model() -> None:
    """Phase 1 covers every spec whose reference_model is torchvision's or timm's (the zoo has dozens)."""
    names = [p.stem for p in _script().reference_specs()]
    assert len(names) > 60 and "resnet50" in names and "convnext_tiny" in names and "regnet_y_128gf" in names
