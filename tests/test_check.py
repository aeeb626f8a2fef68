"""``archcalc check``: tolerances, units, statuses, every output format, and the zoo against its papers."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest

from archcalc.check import (FAILING, Status, check_spec, derive_tolerance, figure_status, parse_printed,
                            summarize, to_unit)
from archcalc.cli import main
from archcalc.errors import SpecError
from archcalc.spec import load_spec
from archcalc.spec.document import QUANTITIES

from conftest import zoo_specs

# A tiny network whose figures are easy to derive by hand:
#   stage.conv1  4x8x8   params 4*3*3*3 + 4 = 112      macs 4*8*8 * 3*3*3 = 6,912   bytes 4*8*8*4 = 1,024
#   stage.relu1  4x8x8                                                              bytes 1,024
#   stage.pool   4x4x4   pooling ops 4*4*4 * 2*2 = 256                              bytes 4*4*4*4 = 256
#   flatten      64                                                                 bytes 256
#   fc           10      params 64*10 + 10 = 650       macs 64*10 = 640             bytes 10*4 = 40
#   totals       params 112 + 650 = 762, macs 6,912 + 640 = 7,552, seed_flops 7,552 + 256 = 7,808,
#                flops 2*7,552 = 15,104, activation_bytes 1,024+1,024+256+256+40 = 2,600
TINY_LAYERS = """\
name: tiny
input: [3, 8, 8]
layers:
  - name: stage
    type: sequential
    layers:
      - {name: conv1, type: conv, out: 4, kernel: 3, padding: 1}
      - {type: relu}
      - {name: pool, type: maxpool, kernel: 2, stride: 2}
  - {name: flatten, type: flatten}
  - {name: fc, type: linear, out: 10}
"""


def write_spec(tmp_path: Path, references: str, name: str = "tiny.yaml") -> Path:
    path = tmp_path / name
    path.write_text(TINY_LAYERS + "references:\n" + textwrap.indent(textwrap.dedent(references), "  "),
                    encoding="utf-8")
    return path


def check_file(path: Path):
    return {c.figure: c for c in check_spec(load_spec(path))}


# --------------------------------------------------------------------------- tolerance, units, status


@pytest.mark.parametrize("text, tolerance", [
    ("105", "0.5"),      # integer: half a unit
    ("0.6", "0.05"),     # one decimal
    ("4.09", "0.005"),   # two decimals
    ("0.60", "0.005"),   # a trailing zero is a printed digit
    ("15.470", "0.0005"),
    ("0", "0.5"),
    ("-3.5", "0.05"),
    ("1_000", "0.5"),    # YAML 1.1 digit separators
    ("1.2e3", "50"),     # 1.2 x 10^3: the last digit is the hundreds
    ("2.5E-2", "0.0005"),
])
def test_derive_tolerance(text, tolerance):
    assert derive_tolerance(text) == Decimal(tolerance)


@pytest.mark.parametrize("text", [".inf", "nan", "abc", "", "1.2.3"])
def test_parse_printed_rejects_non_numbers(text):
    with pytest.raises(ValueError):
        parse_printed(text)


@pytest.mark.parametrize("value, unit, expected", [
    (1_161_600, "KiB", Fraction(1134375, 1000)),   # 96*55*55*4 = 1,161,600 B / 1024 = 1134.375 KiB
    (34_944, "K", Fraction(34944, 1000)),          # 96*3*11*11 + 96 = 34,944 = 34.944 K
    (105_415_200, "M", Fraction(1054152, 10000)),  # 96*55*55 * 3*11*11 = 105,415,200 = 105.4152 M
    (4_089_184_256, "G", Fraction(4089184256, 10**9)),
    (3 * 2**20, "MiB", Fraction(3)),
    (138_357_544, "1", Fraction(138_357_544)),
])
def test_to_unit(value, unit, expected):
    assert to_unit(value, unit) == expected


@pytest.mark.parametrize("printed, computed, tolerance, erratum, status", [
    ("105", Fraction(1054152, 10000), "0.5", None, Status.OK),          # 105.4152 M rounds to 105
    ("254", Fraction(2535, 10), "0.5", None, Status.OK),                # 253.5 KiB: the boundary is inclusive
    ("254", Fraction(2534, 10), "0.5", None, Status.MISMATCH),          # 253.4 does not round to 254
    ("4096", Fraction(4097), "0.5", "bias omitted", Status.ERRATUM),    # AlexNet fc8 params (K)
    ("4096", Fraction(4097), "0.5", None, Status.MISMATCH),
    ("35", Fraction(34944, 1000), "0.5", "not wrong at all", Status.STALE),
    ("4.1", Fraction(4089184256, 10**9), "0.05", None, Status.OK),      # explicit coarse tolerance
    ("4.09", Fraction(4089184256, 10**9), "0.0005", None, Status.MISMATCH),
])
def test_figure_status(printed, computed, tolerance, erratum, status):
    assert figure_status(printed=Decimal(printed), computed=computed, tolerance=Decimal(tolerance),
                         erratum=erratum) is status


@pytest.mark.parametrize("printed, computed, erratum, status", [
    ((96, 55, 55), (96, 55, 55), None, Status.OK),
    ((96, 56, 56), (96, 55, 55), None, Status.MISMATCH),
    ((96, 56, 56), (96, 55, 55), "pad 2 in the table", Status.ERRATUM),
    ((96, 55, 55), (96, 55, 55), "pad 2 in the table", Status.STALE),
])
def test_figure_status_shapes_are_exact(printed, computed, erratum, status):
    assert figure_status(printed=printed, computed=computed, tolerance=None, erratum=erratum) is status


# --------------------------------------------------------------------------- check_spec


def test_every_quantity_on_leaves_groups_and_totals(tmp_path):
    path = write_spec(tmp_path, """\
        - source: hand derivation (see the comment at the top of this file)
          units: {activation_bytes: KiB, seed_flops: K}
          rows:
            stage.conv1: {output_shape: [4, 8, 8], activation_bytes: 1, params: 112, macs: 6912, ops: 0, flops: 13824}
            pool: {output_shape: [4, 4, 4], seed_flops: 0.256, ops: 256}
            stage: {output_shape: [4, 4, 4], params: 112, macs: 6912, seed_flops: 7.168}
          totals: {output_shape: [10], params: 762, macs: 7552, seed_flops: 7.808, flops: 15104, activation_bytes: 2.54}
        """)
    checks = check_file(path)
    assert {c.quantity for c in checks.values()} == set(QUANTITIES)
    assert all(c.status is Status.OK for c in checks.values()), [c for c in checks.values() if c.status is not Status.OK]
    assert checks["pool.seed_flops"].layer == "stage.pool"             # unique last component resolves
    assert checks["stage.seed_flops"].computed_exact == 6912 + 256     # group subtotal: macs + pooling
    assert checks["totals.flops"].computed_exact == 2 * 7552            # flops = 2 * macs = 15,104
    assert checks["totals.activation_bytes"].computed == Fraction(2600, 1024)  # 2,600 B = 2.5390625 KiB
    assert checks["totals.activation_bytes"].tolerance == Decimal("0.005")
    assert checks["totals.output_shape"].computed == (10,)


def test_tolerance_follows_the_digits_as_written(tmp_path):
    # 6,912 MACs = 6.912 K. Written "6.90" (+-0.005) it is wrong; written "6.9" (+-0.05) it is right,
    # although YAML reads both as the same float.
    wrong = check_file(write_spec(tmp_path, """\
        - source: two decimals
          units: {macs: K}
          rows: {conv1: {macs: 6.90}}
        """, name="a.yaml"))["conv1.macs"]
    right = check_file(write_spec(tmp_path, """\
        - source: one decimal
          units: {macs: K}
          rows: {conv1: {macs: 6.9}}
        """, name="b.yaml"))["conv1.macs"]
    assert (wrong.tolerance, wrong.status) == (Decimal("0.005"), Status.MISMATCH)
    assert (right.tolerance, right.status) == (Decimal("0.05"), Status.OK)
    assert wrong.printed_text == "6.90" and wrong.delta == Fraction(6912, 1000) - Fraction(69, 10)


def test_explicit_tolerance_overrides_the_derived_one(tmp_path):
    # 762 params = 0.762 K, printed "0.7": derived +-0.05 fails, an explicit 0.1 passes.
    checks = check_file(write_spec(tmp_path, """\
        - source: coarse
          units: {params: K}
          tolerance: {params: 0.1}
          totals: {params: 0.7}
        """))
    c = checks["totals.params"]
    assert c.tolerance == Decimal("0.1") and c.tolerance_explicit and c.status is Status.OK


def test_errata_statuses(tmp_path):
    checks = check_file(write_spec(tmp_path, """\
        - source: a table with slips
          units: {params: K}
          rows:
            fc: {params: 0.64, output_shape: [10]}
            conv1: {params: 0.112}
          totals: {params: 0.762}
          errata:
            fc.params: "bias omitted: 64*10 = 640; with the 10 biases 650"
            conv1.params: "claimed wrong, but 0.112 K is right"
            conv9.params: "names a figure nobody recorded"
            conv1.padding: "the table prints pad 2"
        """))
    assert checks["fc.params"].status is Status.ERRATUM                 # 0.65 K is not 0.64 K, explained
    assert "bias omitted" in checks["fc.params"].note
    assert checks["fc.params"].computed == Fraction(650, 1000) and checks["fc.params"].unit == "K"
    assert checks["conv1.params"].status is Status.STALE                # matches: the erratum is stale
    assert checks["conv9.params"].status is Status.STALE and "no recorded figure" in checks["conv9.params"].note
    assert checks["conv1.padding"].status is Status.NOTE                # not a figure: listed only
    assert checks["totals.params"].status is Status.OK
    summary = summarize(checks.values())
    # compared: fc.params, fc.output_shape, conv1.params, totals.params + the stray erratum conv9.params
    assert (summary.figures, summary.ok, summary.errata, summary.stale, summary.notes) == (5, 2, 1, 2, 1)
    assert summary.failed


def test_unexplained_difference_is_a_mismatch(tmp_path):
    checks = check_file(write_spec(tmp_path, """\
        - source: wrong on purpose
          rows: {fc: {params: 640}}
        """))
    c = checks["fc.params"]
    assert c.status is Status.MISMATCH and c.status in FAILING
    assert c.delta == 10 and c.line == TINY_LAYERS.count("\n") + 3


@pytest.mark.parametrize("references, message", [
    ("rows: {conv2: {params: 112}}", "row 'conv2' names no layer"),
    ("rows: {conv1: {params: [1, 2]}}", "params is a number"),
    ("rows: {conv1: {output_shape: 4}}", "output_shape is a list"),
    ("units: {output_shape: K}\n  rows: {conv1: {output_shape: [4, 8, 8]}}", "takes no unit"),
])
def test_spec_errors_name_file_and_line(tmp_path, references, message):
    path = write_spec(tmp_path, f"- source: s\n  {references}\n")
    with pytest.raises(SpecError) as info:
        check_spec(load_spec(path))
    text = str(info.value)
    assert message in text
    assert text.startswith(f"{path}:{TINY_LAYERS.count(chr(10)) + 3}: references[0].")


def test_ambiguous_row_key(tmp_path):
    path = tmp_path / "two.yaml"
    path.write_text(textwrap.dedent("""\
        name: two
        input: [3, 8, 8]
        layers:
          - {name: a, type: sequential, layers: [{name: conv, type: conv, out: 4, kernel: 3}]}
          - {name: b, type: sequential, layers: [{name: conv, type: conv, out: 4, kernel: 3}]}
        references:
          - source: s
            rows: {conv: {params: 112}}
        """), encoding="utf-8")
    with pytest.raises(SpecError, match="ambiguous"):
        check_spec(load_spec(path))


# --------------------------------------------------------------------------- the command


@pytest.fixture
def wrong_spec(tmp_path):
    """conv1 right, fc on the rounding boundary (0.65 K printed 0.6), totals wrong and explained."""
    return write_spec(tmp_path, """\
        - source: deliberately wrong table
          units: {params: K}
          rows:
            conv1: {params: 0.112}
            fc: {params: 0.6}
          totals: {params: 0.75}
          errata:
            totals.params: "the table forgot conv1's 12 weights: 0.75 K instead of 0.762 K"
        """)


def test_command_exit_1_and_file_line_message(tmp_path, capsys):
    path = write_spec(tmp_path, """\
        - source: deliberately wrong table
          units: {params: K}
          rows:
            fc: {params: 0.64}
          errata:
            conv1.padding: "a note"
        """)
    assert main(["check", str(path)]) == 1
    out = capsys.readouterr().out
    line = TINY_LAYERS.count("\n") + 5
    assert (f"{path}:{line}: fc.params: mismatch: printed 0.64 K, computed 0.65 K (delta +0.01, tolerance ±0.005)"
            in out)
    assert "1 figure in 1 spec: 0 ok, 0 errata (the source is wrong), 1 mismatch, 0 stale; 1 note" in out


def test_command_spec_error_exits_2(tmp_path, capsys):
    path = write_spec(tmp_path, "- source: s\n  rows: {conv2: {params: 112}}\n")
    assert main(["check", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}:" in err and "row 'conv2' names no layer" in err and "did you mean 'conv1'" in err
    assert "Traceback" not in err


def test_command_passes_with_errata_and_shows_them(wrong_spec, capsys):
    assert main(["check", str(wrong_spec), "--show", "errata"]) == 0
    out = capsys.readouterr().out
    assert "totals.params" in out and "erratum" in out and "forgot conv1's 12 weights" in out
    assert "conv1.params" not in out  # ok rows are hidden by --show errata
    assert "3 figures in 1 spec: 2 ok, 1 erratum (the source is wrong), 0 mismatches, 0 stale" in out


@pytest.mark.parametrize("fmt", ["table", "markdown", "json", "junit"])
def test_every_format(fmt, tmp_path, capsys):
    path = write_spec(tmp_path, """\
        - source: formats
          units: {params: K}
          rows:
            conv1: {params: 0.112, output_shape: [4, 8, 8]}
            fc: {params: 0.64}
          totals: {params: 0.75}
          errata:
            totals.params: "twelve weights forgotten"
        """)
    out_file = tmp_path / "out" / f"check.{fmt}"
    assert main(["check", str(path), "--format", fmt, "-o", str(out_file)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "4 figures in 1 spec: 2 ok, 1 erratum" in captured.err
    text = out_file.read_text(encoding="utf-8")
    if fmt == "json":
        records = {r["figure"]: r for r in json.loads(text)}
        assert set(records) == {"conv1.params", "conv1.output_shape", "fc.params", "totals.params"}
        fc = records["fc.params"]
        assert {"spec", "source", "figure", "printed", "computed", "unit", "tolerance", "delta", "status",
                "note"} <= set(fc)
        # fc: 64*10 + 10 = 650 params = 0.65 K; printed 0.64 K
        assert (fc["printed"], fc["computed"], fc["computed_exact"], fc["unit"], fc["status"]) == \
            (0.64, 0.65, 650, "K", "mismatch")
        assert fc["delta"] == pytest.approx(0.01) and fc["tolerance"] == 0.005
        assert records["totals.params"]["note"] == "twelve weights forgotten"
        assert records["conv1.output_shape"]["computed"] == [4, 8, 8]
    elif fmt == "junit":
        root = ET.fromstring(text)
        assert (root.get("tests"), root.get("failures")) == ("4", "1")
        failures = root.findall(".//testcase/failure")
        assert [f.get("type") for f in failures] == ["mismatch"]
        assert "fc.params" in failures[0].get("message")
    else:
        assert "0.65 K" in text and "MISMATCH" in text and "twelve weights forgotten" in text
        assert "formats" in text and str(path) in text
        if fmt == "markdown":
            assert "| figure" in text and "|---" in text


def test_json_to_stdout_is_pure_json(wrong_spec, capsys):
    assert main(["check", str(wrong_spec), "--format", "json", "--failures-only"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out) == []  # no failures to list
    assert "figures" in captured.err


def test_quiet(tmp_path, capsys):
    path = write_spec(tmp_path, "- source: s\n  rows: {fc: {params: 640}}\n")
    assert main(["check", str(path), "-q"]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and lines[0].startswith(f"{path}:") and "mismatch" in lines[1]


def test_skip_non_specs(tmp_path, wrong_spec, capsys):
    other = tmp_path / ".pre-commit-config.yaml"
    other.write_text("repos: []\n", encoding="utf-8")
    assert main(["check", str(other)]) == 2                      # not a spec
    assert main(["check", "--skip-non-specs", str(other), str(wrong_spec)]) == 0
    assert "3 figures in 1 spec" in capsys.readouterr().out


def test_pre_commit_hook_definition():
    import yaml
    root = Path(__file__).resolve().parent.parent
    hooks = {h["id"]: h for h in yaml.safe_load((root / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))}
    hook = hooks["archcalc-check"]
    assert (hook["language"], hook["entry"], hook["pass_filenames"]) == ("python", "archcalc check", True)
    assert hook["files"] == r"\.ya?ml$"
    from archcalc.cli import build_parser
    build_parser().parse_args(["check", *hook.get("args", []), "x.yaml"])  # its args are real options


def test_check_stays_off_torch():
    code = ("import sys, archcalc.check, archcalc.commands.check; "
            "assert 'torch' not in sys.modules and 'matplotlib' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


# --------------------------------------------------------------------------- the zoo against its papers


@pytest.mark.parametrize("path", zoo_specs(), ids=lambda p: p.stem)
def test_zoo_specs_match_their_references(path):
    spec = load_spec(path)
    checks = check_spec(spec)
    recorded = sum(len(q) for ref in spec.references for q in ref.rows.values()) \
        + sum(len(ref.totals) for ref in spec.references)
    assert sum(c.quantity is not None for c in checks) == recorded  # every recorded figure was compared
    failures = [f"{c.spec}:{c.line}: {c.figure}: {c.status.value}: printed {c.printed_text}, "
                f"computed {c.computed} {c.unit or ''}: {c.note}" for c in checks if c.failed]
    assert not failures, "\n".join(failures)
