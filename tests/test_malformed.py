"""Malformed specs (tests/malformed/*.yaml) and the exact error each one gets.

``tests/malformed/expected.json`` maps each file to its message; run ``pytest --update-golden``
to regenerate it after an intended change to a message, and review the diff.
"""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

import archcalc
import archcalc.analysis.engine  # noqa: F401 - build the spec language's models before anything is timed
from archcalc import yamlio
from archcalc.errors import ArchcalcError, Location, SpecError, escape_controls

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
    # every message names a file and a line: this file's, or for a variant, the base's where the line is there
    assert re.match(rf"tests/malformed/({re.escape(path.name)}|bases/\w+\.yaml):\d+: ", message), message


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


# --------------------------------------------------------------------------- reading spec files

SMALL = "name: small\ninput: [3, 8, 8]\nlayers:\n  - {type: conv, out: 4, kernel: 3}\n"


def _in_thread(fn, timeout_s: float = 30.0):
    """Run ``fn`` in a daemon thread; fail (instead of hanging the run) if it does not return."""
    import threading

    box: dict[str, object] = {}

    def target() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - handed back to the test
            box["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(timeout_s)
    assert not thread.is_alive(), "reading the spec hung"
    return box


def test_fifo_is_refused_before_it_is_opened(tmp_path: Path):
    fifo = tmp_path / "spec.yaml"
    os.mkfifo(fifo)  # opening it for reading would block until a writer comes: it must never be opened
    box = _in_thread(lambda: archcalc.load_spec(fifo))
    error = box.get("error")
    assert isinstance(error, SpecError), box
    assert str(error) == f"{fifo}: not a regular file (a FIFO, device or socket); specs are read from regular files"


def test_extends_naming_a_fifo_is_refused(tmp_path: Path):
    os.mkfifo(tmp_path / "base.yaml")
    (tmp_path / "variant.yaml").write_text("extends: base.yaml\nname: v\n")
    box = _in_thread(lambda: archcalc.load_spec(tmp_path / "variant.yaml"))
    assert str(box.get("error")) == (f"{tmp_path / 'variant.yaml'}:1: extends: 'extends' names 'base.yaml', "
                                     "which is not a regular file")


def test_read_is_bounded_whatever_the_size_claims(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A file that reports a small size (like /dev/zero's 0, or a file growing while read) is
    still read at most MAX_FILE_BYTES + 1 bytes, then refused."""
    monkeypatch.setattr(yamlio, "MAX_FILE_BYTES", 256)
    big = tmp_path / "big.yaml"
    big.write_text(SMALL + "# padding\n" * 100)  # 1,000+ bytes
    real_stat, real_fstat = os.stat, os.fstat

    def lying(result: os.stat_result) -> os.stat_result:
        fields = list(result)
        fields[stat.ST_SIZE] = 0
        return os.stat_result(fields)

    monkeypatch.setattr(yamlio.os, "stat", lambda *a, **k: lying(real_stat(*a, **k)))
    monkeypatch.setattr(yamlio.os, "fstat", lambda *a, **k: lying(real_fstat(*a, **k)))
    reads: list[int] = []
    real_open = open

    class Recording:
        def __init__(self, fh):
            self.fh = fh

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.fh.close()

        def fileno(self):
            return self.fh.fileno()

        def read(self, size: int = -1):
            reads.append(size)
            return self.fh.read(size)

    monkeypatch.setattr(yamlio, "open", lambda *a, **k: Recording(real_open(*a, **k)), raising=False)
    with pytest.raises(SpecError) as info:
        archcalc.load_spec(big)
    assert str(info.value) == f"{big}:1: file is larger than 256 bytes, the limit for a spec"
    assert reads == [257]  # one bounded read: the limit plus one byte, never "read to the end"


@pytest.mark.parametrize("name, message", [
    ("missing.yaml", "no such file"),
    ("folder", "is a directory, expected a YAML spec file"),
    ("a" * 300 + ".yaml", "cannot read: File name too long"),
    ("nul\0byte.yaml", "cannot read: embedded null byte"),
], ids=["missing", "directory", "long_name", "nul_in_name"])
def test_unreadable_spec_paths(tmp_path: Path, name: str, message: str):
    (tmp_path / "folder").mkdir()
    path = str(tmp_path / name)
    with pytest.raises(SpecError) as info:
        archcalc.load_spec(path)
    assert info.value.location.file == path
    assert info.value.message == message


# --------------------------------------------------------------------------- the public API's failures


@pytest.mark.parametrize("text, message", [
    ("name: x\ninput: [3, 8, 8]\nlayers: " + "[" * 3000 + "]" * 3000 + "\n", None),
    ("name: x\ninput: [3, 8, 8]\nlayers: [{type: relu, out: !!int 0x}]\n", "!!int '0x' cannot be read as an integer"),
    ("name: x\ninput: [3, 8, 8]\nlayers: [{type: relu, x: !!bool maybe}]\n", "!!bool 'maybe' cannot be read as true or false"),
    ("name: x\ninput: [3, 8, 8]\nlayers: !!pairs [a: 1]\n", "YAML tag '!!pairs' is not allowed: a spec holds only mappings, "
                                                         "lists, strings, numbers, booleans and null"),
    ("name: !thing x\n", "YAML tag '!thing' is not allowed: a spec holds only mappings, lists, strings, numbers, "
                         "booleans and null"),
    ("name: x\ninput: [3, 8, 8]\nlayers: [{type: relu, [1, 2]: x}]\n", "mapping keys must be strings, got [1, 2]"),
    ("name: x\ninput: [3, 8, 8]\nlayers: [{type: relu, null: x}]\n", "mapping keys must be strings, got null; quote it: 'null'"),
    ("name: x\ninput: [3, 8, 8]\nlayers: [{type: relu}]\nextends: [a]\n", "'extends' must be the path of another spec, "
                                                                          "relative to this one"),
    ("a: &a [1]\nb: &b [*a, *a]\n" + "".join(f"c{i}: &c{i} [[[[[[[[[[*{'b' if i == 0 else f'c{i - 1}'}]]]]]]]]]]\n"
                                                for i in range(12)), None),
], ids=["flow_3000_deep", "int_tag", "bool_tag", "pairs_tag", "local_tag", "list_key", "null_key", "extends_list",
        "aliases_nest_deep"])
def test_parse_spec_failures_are_located_spec_errors(text: str, message: str | None):
    with pytest.raises(SpecError) as info:
        archcalc.parse_spec(text, filename="t.yaml")
    assert info.value.location.file == "t.yaml" and info.value.location.line is not None, str(info.value)
    if message is not None:
        assert info.value.message == message


def test_parse_spec_refuses_non_text():
    with pytest.raises(SpecError, match="needs the YAML text as a str, got bytes"):
        archcalc.parse_spec(SMALL.encode(), filename="t.yaml")


def test_dates_stay_strings():
    spec = archcalc.parse_spec(SMALL + "description: 2012-01-01\n")
    assert spec.document.description == "2012-01-01"


@pytest.mark.parametrize("scale, message", [
    ({"resolution": -3}, "scale.resolution: must be >= 1 (got -3)"),
    ({"resolution": 0}, "scale.resolution: must be >= 1 (got 0)"),
    ({"resolution": True}, "scale.resolution: expected an integer (got True)"),
    ({"width": -1.0}, "scale.width: must be > 0.0 (got -1.0)"),
    ({"depth": False}, "scale.depth: expected a number (got False)"),
    ({"speed": 2}, "scale.speed: unknown scale setting 'speed'; expected one of: width, depth, resolution, divisor"),
    ({"resolution": [8, 8, 8]}, "scale.resolution: needs 2 value(s) for input [3, 8, 8] (one per spatial axis), got 3"),
], ids=["negative", "zero", "bool", "width", "depth_bool", "unknown", "count"])
def test_caller_scale_is_checked_and_located(scale, message):
    with pytest.raises(SpecError) as info:
        archcalc.parse_spec(SMALL, filename="t.yaml", scale=scale)
    assert str(info.value) == f"t.yaml:2: {message}"  # the caller's scale is pinned to the input line


def test_unknown_param_is_located():
    with pytest.raises(SpecError) as info:
        archcalc.parse_spec(SMALL + "params: {bn: true}\n", filename="t.yaml", params={"bm": True})
    assert str(info.value) == "t.yaml:5: params: unknown spec parameter(s) bm (this spec's params: bn)"


# --------------------------------------------------------------------------- control characters


@pytest.mark.parametrize("raw, shown", [
    ("\x1b[31m", "\\x1b[31m"), ("\x07", "\\x07"), ("a\nb", "a\\nb"), ("\r", "\\r"), ("\t", "\\t"),
    ("\x85", "\\x85"), ("\x9b", "\\x9b"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029"), ("\u202e", "\\u202e"),
    ("\x7f", "\\x7f"), ("plain é ü 日本", "plain é ü 日本"),
])
def test_escape_controls(raw: str, shown: str):
    assert escape_controls(raw) == shown
    assert escape_controls(shown) == shown  # idempotent: re-wrapping a message changes nothing


def test_messages_escape_user_text_but_keep_the_hint_line():
    error = SpecError("unknown field 'a\x1b[2J'", Location("f\u2028.yaml", 3, "layers[0].a\n", "l\x07"),
                      hint="did you mean\r 'b'?")
    assert str(error) == ("f\\u2028.yaml:3: layers[0].a\\n: unknown field 'a\\x1b[2J' (layer l\\x07)\n"
                          "  hint: did you mean\\r 'b'?")


def test_backstop_locates_deep_recursion_and_fileless_errors(monkeypatch: pytest.MonkeyPatch):
    """Whatever a later stage raises without a location leaves the API with the spec's file."""
    from archcalc.spec import load as load_module

    def recursing(*args, **kwargs):
        raise RecursionError

    monkeypatch.setattr(load_module, "expand_layers", recursing)
    with pytest.raises(SpecError) as info:
        archcalc.parse_spec(SMALL, filename="t.yaml")
    assert str(info.value).startswith("t.yaml:1: the spec nests too deeply to analyze")

    def fileless(*args, **kwargs):
        raise SpecError("something without a location", hint="a hint")

    monkeypatch.setattr(load_module, "expand_layers", fileless)
    with pytest.raises(SpecError) as info:
        archcalc.parse_spec(SMALL, filename="t.yaml")
    assert str(info.value) == "t.yaml: something without a location\n  hint: a hint"
