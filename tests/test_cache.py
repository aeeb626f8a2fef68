"""The output cache of ``archcalc report`` (:mod:`archcalc.cache`): a hit is the computed output, byte for
byte, without loading the spec; any change to what decides the output is a miss; the cache never fails a
command and never touches files it did not write."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from archcalc import cache
from archcalc.cli import main
from archcalc.commands import report as report_command

ROOT = Path(__file__).resolve().parent.parent

SPEC = """\
name: tiny
input: [3, 32, 32]
params: {width: 8}
layers:
  - {type: conv, name: conv1, out: $width, kernel: 3, padding: 1}
  - {type: relu}
  - {type: global_avgpool}
  - {type: flatten}
  - {type: linear, name: fc, out: 10}
"""


@pytest.fixture()
def cached(tmp_path, monkeypatch):
    """The cache on, in a folder of this test; returns that folder."""
    folder = tmp_path / "cache"
    monkeypatch.setenv(cache.CACHE_ENV, "on")
    monkeypatch.setenv(cache.DIR_ENV, str(folder))
    return folder


@pytest.fixture()
def loads(monkeypatch):
    """Counts the spec loads the report command makes (a hit makes none)."""
    calls = []
    real = report_command.load_from_args

    def counting(path, args):
        calls.append(path)
        return real(path, args)

    monkeypatch.setattr(report_command, "load_from_args", counting)
    return calls


def report(capsys, *args: str) -> str:
    assert main(["report", *args]) == 0
    return capsys.readouterr().out


def spec_file(tmp_path: Path, text: str = SPEC, name: str = "tiny.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize("fmt", ["table", "json", "csv", "markdown", "latex"])
def test_a_hit_is_the_computed_output_without_loading(cached, loads, capsys, tmp_path, fmt):
    spec = spec_file(tmp_path)
    first = report(capsys, str(spec), "--format", fmt)
    second = report(capsys, str(spec), "--format", fmt)
    fresh = report(capsys, str(spec), "--format", fmt, "--no-cache")
    assert first == second == fresh
    assert loads == [str(spec), str(spec)]  # the first run and --no-cache; the hit loaded nothing
    assert len(list(cached.glob("*.json"))) == 1


def test_a_hit_imports_neither_pydantic_nor_the_spec_language(cached, tmp_path):
    spec = spec_file(tmp_path)
    code = ("import sys\nfrom archcalc.cli import main\nmain(['report', %r, '--format', 'json'])\n"
            "print(sorted(m for m in ('pydantic', 'archcalc.spec.load', 'yaml') if m in sys.modules), file=sys.stderr)"
            % str(spec))
    runs = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=os.environ.copy(),
                           cwd=tmp_path, check=True) for _ in range(2)]
    assert runs[0].stdout == runs[1].stdout and '"params"' in runs[0].stdout
    assert runs[0].stderr.strip() == "['archcalc.spec.load', 'pydantic', 'yaml']"
    assert runs[1].stderr.strip() == "[]"


def test_changes_that_decide_the_output_are_misses(cached, loads, capsys, tmp_path):
    base = spec_file(tmp_path, name="base.yaml")
    child = spec_file(tmp_path, "extends: base.yaml\nname: child\n", name="child.yaml")
    before = report(capsys, str(child), "--format", "json", "--raw")
    assert json.loads(before)["totals"]["params"] == 3 * 8 * 9 + 8 + 8 * 10 + 10  # 224 + 8 + 80 + 10 = 322
    # the parent of the extends: chain changes: the child's report follows
    base.write_text(SPEC.replace("width: 8", "width: 16"))
    after = report(capsys, str(child), "--format", "json", "--raw")
    assert json.loads(after)["totals"]["params"] == 3 * 16 * 9 + 16 + 16 * 10 + 10  # 432 + 16 + 160 + 10 = 618
    # an option, a --param
    report(capsys, str(child), "--format", "json", "--raw", "--batch", "2")
    report(capsys, str(child), "--format", "json", "--raw", "--param", "width=4")
    assert len(loads) == 4
    # each of those is a hit now
    report(capsys, str(child), "--format", "json", "--raw", "--param", "width=4")
    assert report(capsys, str(child), "--format", "json", "--raw") == after
    assert len(loads) == 4


def test_the_same_path_from_another_folder_is_another_entry(cached, loads, capsys, tmp_path, monkeypatch):
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        spec_file(tmp_path / folder, SPEC.replace("out: 10", "out: 10" if folder == "a" else "out: 20"))
    monkeypatch.chdir(tmp_path / "a")
    in_a = report(capsys, "tiny.yaml", "--format", "csv", "--raw")
    monkeypatch.chdir(tmp_path / "b")
    in_b = report(capsys, "tiny.yaml", "--format", "csv", "--raw")
    assert in_a != in_b and len(loads) == 2


def test_off_means_nothing_written(tmp_path, monkeypatch, loads, capsys):
    folder = tmp_path / "cache"
    monkeypatch.setenv(cache.DIR_ENV, str(folder))
    monkeypatch.setenv(cache.CACHE_ENV, "off")
    spec = spec_file(tmp_path)
    report(capsys, str(spec))
    report(capsys, str(spec))
    assert len(loads) == 2 and not folder.exists()


def test_errors_and_html_are_not_cached(cached, capsys, tmp_path):
    spec = spec_file(tmp_path, SPEC.replace("kernel: 3", "kernel: 0"))
    for _ in range(2):
        assert main(["report", str(spec), "--format", "json"]) == 2
        assert "must be >= 1" in capsys.readouterr().err
    assert not cached.exists() or not list(cached.glob("*.json"))
    args = argparse.Namespace(format="html", no_cache=False, spec=str(spec))
    assert report_command._cache_key(args) is None  # its charts need matplotlib: nothing to save
    assert report_command._cache_key(argparse.Namespace(format="json", no_cache=True, spec=str(spec))) is None


def test_a_damaged_entry_is_computed_again(cached, loads, capsys, tmp_path):
    spec = spec_file(tmp_path)
    good = report(capsys, str(spec), "--format", "json")
    (entry,) = cached.glob("*.json")
    for damage in ("{not json", json.dumps({"format": 1, "key": entry.stem, "inputs": {}, "output": "x"}),
                   json.dumps({"format": 1, "key": "another", "inputs": {str(spec): "0"}, "output": "x"}), ""):
        entry.write_text(damage)
        assert report(capsys, str(spec), "--format", "json") == good
    # a recorded input that no longer matches its digest (the file was replaced by one with other bytes)
    record = json.loads(entry.read_text())
    record["inputs"][str(spec)] = "sha256:" + "0" * 64
    record["output"] = "stale"
    entry.write_text(json.dumps(record))
    assert report(capsys, str(spec), "--format", "json") == good
    assert len(loads) == 6


def test_a_cache_that_cannot_be_written_never_fails_the_command(tmp_path, monkeypatch, capsys):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("mine")
    monkeypatch.setenv(cache.CACHE_ENV, "on")
    monkeypatch.setenv(cache.DIR_ENV, str(blocker / "cache"))
    spec = spec_file(tmp_path)
    assert report(capsys, str(spec), "--format", "csv") == report(capsys, str(spec), "--format", "csv")
    assert blocker.read_text() == "mine"


def test_pruning_removes_only_the_least_recently_used_entries(cached, capsys, tmp_path, monkeypatch):
    monkeypatch.setattr(cache, "MAX_ENTRIES", 2)
    cached.mkdir()
    mine = cached / "notes.json"  # not named like an entry: archcalc did not write it, never removes it
    mine.write_text("{}")
    old = [cached / f"{n:040x}.json" for n in range(3)]
    for age, path in enumerate(old):
        path.write_text("{}")
        os.utime(path, ns=(10**18 + age, 10**18 + age))  # 2001: older than anything written now
    spec = spec_file(tmp_path)
    report(capsys, str(spec), "--format", "csv")
    kept = sorted(p.name for p in cached.iterdir())
    assert len([k for k in kept if k != "notes.json"]) == 2 and mine.read_text() == "{}"
    assert old[2].name in kept and not old[0].exists() and not old[1].exists()


def test_the_key_covers_archcalc_source_and_libraries(monkeypatch):
    key = cache.command_key("report", {"spec": "a.yaml"})
    assert key == cache.command_key("report", {"spec": "a.yaml"})
    assert key != cache.command_key("report", {"spec": "b.yaml"})
    assert key != cache.command_key("memory", {"spec": "a.yaml"})
    stamp = cache._program_stamp()
    sources = {Path(f[0]).name for f in stamp[3]}
    assert {"cache.py", "load.py", "engine.py"} <= sources
    libraries = stamp[4]
    assert len(libraries) == len(cache.LIBRARIES) and all(size is not None for _, size, *_ in libraries)
