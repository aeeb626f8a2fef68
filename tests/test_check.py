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

from archcalc.check import (EXPLAINED, FAILING, Status, check_spec, derive_tolerance, figure_status,
                            matches_printed, parse_printed, summarize, to_unit)
from archcalc.cli import main
from archcalc.errors import SpecError
from archcalc.spec import load_spec
from archcalc.spec.document import QUANTITIES

from conftest import zoo_doc, zoo_spec, zoo_specs

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


@pytest.mark.parametrize("text", [".inf", "nan", "abc", "", "1.2.3", "1.0e+999", "1e-999"])
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
    assert ("1 figure in 1 spec: 0 ok, 0 errata (the source is wrong), 0 conventions (right under another counting "
            "convention), 1 mismatch, 0 stale; 1 note") in out


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
    assert "3 figures in 1 spec: 2 ok, 1 erratum (the source is wrong), 0 conventions" in out


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
    out_file.parent.mkdir()
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
    code = ("import sys, archcalc.check, archcalc.commands.check, archcalc.report.check; "
            "assert 'torch' not in sys.modules and 'matplotlib' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


# --------------------------------------------------------------------------- the zoo against its papers


@pytest.mark.parametrize("path", zoo_specs(), ids=lambda p: p.stem)
def test_zoo_specs_match_their_references(path):
    spec = zoo_spec(path)
    checks = check_spec(spec)
    recorded = sum(len(q) for ref in spec.references for q in ref.rows.values()) \
        + sum(len(ref.totals) for ref in spec.references)
    assert sum(c.quantity is not None for c in checks) == recorded  # every recorded figure was compared
    failures = [f"{c.spec}:{c.line}: {c.figure}: {c.status.value}: printed {c.printed_text}, "
                f"computed {c.computed} {c.unit or ''}: {c.note}" for c in checks if c.failed]
    assert not failures, "\n".join(failures)


# --------------------------------------------------------------------------- bad numbers: clean errors


@pytest.mark.parametrize("references, message", [
    ("tolerance: {params: .nan}\n  totals: {params: 762}", "(got nan)"),  # refused by the schema or the checker
    ("tolerance: {params: 1.0e+999}\n  totals: {params: 762}", "a tolerance is a finite number (got inf)"),
    ("totals: {params: 1.0e+999}", "cannot read the printed figure: out of range"),
    ("totals: {params: .nan}", "cannot read the printed figure"),
    ("totals: {params: -.inf}", "cannot read the printed figure"),
])
def test_non_finite_numbers_are_clean_errors(tmp_path, capsys, references, message):
    path = write_spec(tmp_path, f"- source: s\n  {references}\n")
    with pytest.raises(SpecError, match="references\\[0\\]"):
        check_spec(load_spec(path))
    out = tmp_path / "out.txt"
    out.write_text("keep me\n")
    assert main(["check", str(path), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"{path}:{TINY_LAYERS.count(chr(10)) + 3}: references[0]." in err and message in err
    assert "Traceback" not in err and "nothing written" in err
    assert out.read_text() == "keep me\n"  # the command failed: its output file is untouched


def test_failed_check_writes_nothing_even_with_valid_specs(tmp_path, wrong_spec, capsys):
    bad = write_spec(tmp_path, "- source: s\n  rows: {conv2: {params: 112}}\n", name="bad.yaml")
    out = tmp_path / "out.txt"
    out.write_text("keep me\n")
    assert main(["check", str(wrong_spec), str(bad), "-o", str(out)]) == 2
    assert out.read_text() == "keep me\n"
    assert main(["check", str(wrong_spec), "-o", str(out)]) == 0  # a passing check writes its report
    assert "totals.params" in out.read_text()


# --------------------------------------------------------------------------- conventions


def test_matches_printed_round_and_truncate():
    # 7,552 MACs = 7.552 K: rounds to 7.6, truncates to 7.5
    assert matches_printed(Decimal("7.6"), Fraction(7552, 1000), tolerance=Decimal("0.05"))
    assert not matches_printed(Decimal("7.5"), Fraction(7552, 1000), tolerance=Decimal("0.05"))
    assert matches_printed(Decimal("7.5"), Fraction(7552, 1000), tolerance=Decimal("0.05"), rounding="truncate")
    assert not matches_printed(Decimal("7.5"), Fraction(7600, 1000), tolerance=Decimal("0.05"), rounding="truncate")
    assert matches_printed(Decimal("7.5"), Fraction(7500, 1000), tolerance=Decimal("0.05"), rounding="truncate")


def test_convention_status_without_kinds_and_truncation(tmp_path):
    checks = check_file(write_spec(tmp_path, """\
        - source: a table that leaves conv1 out and truncates
          units: {params: K, macs: K}
          totals: {params: 0.65, macs: 7.5}
          errata:
            totals.params:
              status: convention
              convention: "without the convolutions"
              without: [conv]
              value: 650          # 762 - 112 (conv1)
            totals.macs:
              status: convention
              convention: "truncated"
              rounding: truncate
              value: 7552         # 6,912 + 640: 7.552 K rounds to 7.6, truncates to 7.5
        """))
    params, macs = checks["totals.params"], checks["totals.macs"]
    assert params.status is Status.CONVENTION and params.status in EXPLAINED and not params.failed
    assert params.convention_exact == 762 - 112 and params.computed_exact == 762
    assert params.convention_computed == Fraction(650, 1000)
    assert params.note.startswith("counted without the convolutions: 650 = 0.65 K")
    assert macs.status is Status.CONVENTION and macs.convention_exact == 6912 + 640
    assert "truncated (not rounded)" in macs.note
    summary = summarize(checks.values())
    assert (summary.figures, summary.conventions, summary.errata, summary.failed) == (2, 2, 0, False)


def test_convention_rows_and_groups(tmp_path):
    # the stage group without its pooling: conv1 + relu1 activations = 1,024 + 1,024 bytes
    checks = check_file(write_spec(tmp_path, """\
        - source: group figure
          rows: {stage: {activation_bytes: 2048}}
          errata:
            stage.activation_bytes: {status: convention, convention: "without the pooling output",
                                     without: [maxpool], value: 2048}
        """))
    c = checks["stage.activation_bytes"]
    assert c.status is Status.CONVENTION and c.computed_exact == 1024 + 1024 + 256 and c.convention_exact == 2048


BN_SPEC = """\
name: bn
input: [3, 8, 8]
params: {width: 4}
layers:
  - {name: conv1, type: conv, out: $width, kernel: 3, padding: 1, bias: false}
  - {name: bn1, type: batchnorm}
  - {type: relu}
  - {type: global_avgpool}
  - {type: flatten}
  - {name: fc, type: linear, out: 10}
"""
# conv1 4*3*3*3 = 108, bn1 2*4 = 8 (+ 2*4 = 8 running statistics), fc 4*10 + 10 = 50: 166 params
# with width 8: conv1 216, bn1 16, fc 90: 322 params


def write_bn_spec(tmp_path: Path, references: str) -> Path:
    path = tmp_path / "bn.yaml"
    path.write_text(BN_SPEC + "references:\n" + textwrap.indent(textwrap.dedent(references), "  "), encoding="utf-8")
    return path


def test_convention_bn_statistics_and_params(tmp_path):
    write_bn_spec(tmp_path, """\
        - source: with statistics
          totals: {params: 174}
          errata:
            totals.params: {status: convention, convention: "with the BN running statistics", bn_statistics: true,
                            value: 174}   # 166 + 2*4
        - source: a wider variant, without BN
          rows: {conv1: {params: 216}}
          totals: {params: 306}
          errata:
            conv1.params: {status: convention, convention: "at width 8", params: {width: 8}, value: 216}
            totals.params: {status: convention, convention: "at width 8 without BN", params: {width: 8},
                            without: [batchnorm], value: 306}   # 322 - 16
        """)
    records = check_spec(load_spec(tmp_path / "bn.yaml"))  # two references share a figure key
    assert [(c.figure, c.status, c.computed_exact, c.convention_exact) for c in records] == [
        ("totals.params", Status.CONVENTION, 166, 174),
        ("conv1.params", Status.CONVENTION, 108, 216),
        ("totals.params", Status.CONVENTION, 166, 306),
    ]


def test_convention_counts_match_torch(tmp_path):
    """bn_statistics = torch's running_mean/running_var buffers; without: [batchnorm] = parameters
    outside nn.BatchNorm modules."""
    torch = pytest.importorskip("torch")
    from archcalc.analysis import analyze
    from archcalc.check import convention_count
    from archcalc.spec.document import ConventionEntry
    from archcalc.torch.build import build_model

    spec = load_spec(write_bn_spec(tmp_path, "[]\n"))
    model = build_model(spec)
    bns = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    trainable = sum(p.numel() for p in model.parameters())
    statistics = sum(m.running_mean.numel() + m.running_var.numel() for m in bns)
    without_bn = trainable - sum(p.numel() for m in bns for p in m.parameters())
    analysis = analyze(spec)
    entry = dict(status="convention", convention="c", value=0)
    assert convention_count(analysis, ConventionEntry(**entry, bn_statistics=True), quantity="params") \
        == trainable + statistics
    assert convention_count(analysis, ConventionEntry(**entry, without=["batchnorm"]), quantity="params") == without_bn


@pytest.mark.parametrize("entry, status, note", [
    # the recorded value is not what archcalc counts under the convention
    ('{status: convention, convention: "without conv", without: [conv], value: 651}', Status.MISMATCH,
     "records value 651, but counted as without conv the figure is 650"),
    # the convention does not give the printed figure
    ('{status: convention, convention: "without fc", without: [linear], value: 112}', Status.MISMATCH,
     "does not give the printed one"),
])
def test_convention_that_does_not_hold_fails(tmp_path, entry, status, note):
    checks = check_file(write_spec(tmp_path, f"""\
        - source: s
          units: {{params: K}}
          totals: {{params: 0.65}}
          errata:
            totals.params: {entry}
        """))
    c = checks["totals.params"]
    assert c.status is status and c.failed and note in c.note


def test_convention_for_a_matching_figure_or_no_figure_is_stale(tmp_path):
    records = check_spec(load_spec(write_spec(tmp_path, """\
        - source: s
          totals: {params: 762}
          errata:
            totals.params: {status: convention, convention: "as is", value: 762}
            totals.macs: {status: convention, convention: "no such figure", value: 1}
        """)))
    assert [(c.figure, c.status) for c in records] == [("totals.params", Status.STALE), ("totals.macs", Status.STALE)]
    assert "matches as archcalc counts by default" in records[0].note
    assert "convention entry names no recorded figure" in records[1].note


@pytest.mark.parametrize("entry, message", [
    ("conv1.padding: {status: convention, convention: c, value: 1}", "a convention entry names a figure"),
    ("totals.params: {status: convention, convention: c, without: [batchnrom], value: 1}",
     "'batchnrom' is not a layer kind (did you mean 'batchnorm'?)"),
    ("totals.macs: {status: convention, convention: c, bn_statistics: true, value: 1}",
     "bn_statistics counts parameters"),
    ("totals.params: {status: convention, convention: c, params: {nope: 1}, value: 1}",
     "the convention's params {'nope': 1} do not give a valid network"),
])
def test_bad_convention_entries_are_spec_errors(tmp_path, entry, message):
    path = write_spec(tmp_path, f"""\
        - source: s
          totals: {{params: 700, macs: 7000}}
          errata:
            {entry}
        """)
    with pytest.raises(SpecError) as info:
        check_spec(load_spec(path))
    assert message in str(info.value) and f"{path}:{TINY_LAYERS.count(chr(10)) + 5}: references[0].errata." \
        in str(info.value)


def test_command_reports_conventions(tmp_path, capsys):
    path = write_spec(tmp_path, """\
        - source: s
          units: {params: K}
          totals: {params: 0.65}
          errata:
            totals.params: {status: convention, convention: "without the convolutions", without: [conv], value: 650}
        """)
    assert main(["check", str(path), "--show", "errata"]) == 0  # explained, like an erratum
    out = capsys.readouterr().out
    assert "convention" in out and "counted without the convolutions: 650 = 0.65 K" in out
    assert "1 figure in 1 spec: 0 ok, 0 errata (the source is wrong), 1 convention (right under another " \
           "counting convention), 0 mismatches, 0 stale" in out
    assert main(["check", str(path), "--format", "json"]) == 0
    (record,) = json.loads(capsys.readouterr().out)
    assert (record["status"], record["convention"], record["convention_computed_exact"],
            record["convention_computed"], record["convention_rounding"]) == (
        "convention", "without the convolutions", 650, 0.65, "round")


# The audit's cases: figures that are right under another counting convention, each recomputed.
ZOO_CONVENTIONS = {
    # spec: (figure, the source, a word of the convention, how archcalc counts it by default)
    "preact_resnet1001": ("totals.params", "Huang", "batch-norm", 10_327_706),
    "resnet50": ("totals.params", "Xie", "batch-norm", 25_557_032),
    "resnet34": ("totals.macs", "He et al. 2016", "option-A", 3_663_761_408),
    "mobilenet_v2": ("totals.params", "Sandler", "batch-norm", 3_504_872),
    "efficientnet_b2": ("totals.params", "Tan & Le", "running statistics", 9_109_994),
}


@pytest.mark.parametrize("stem", sorted(ZOO_CONVENTIONS))
def test_zoo_conventions(stem):
    figure, source, word, default = ZOO_CONVENTIONS[stem]
    checks = [c for c in check_spec(load_spec(Path("specs") / f"{stem}.yaml"))
              if c.figure == figure and source in c.source]
    assert checks and all(c.status is Status.CONVENTION for c in checks)
    for c in checks:
        assert c.computed_exact == default and c.convention_exact != default and word in c.convention


def test_user_facing_sources_cite_papers_not_seed_files():
    """Reference and accuracy sources name the paper or lecture, not this repository's seed files."""
    offenders = []
    for path in zoo_specs():  # read as written: references and accuracy are never inherited, a source is
        doc = zoo_doc(path)
        sources = [r["source"] for r in doc.get("references") or []] + [a["source"] for a in doc.get("accuracy") or []]
        sources += [doc["source"]] if doc.get("source") else []
        offenders += [f"{path.name}: {s}" for s in sources if "seed 0" in s.lower() or "seed0" in s.lower()]
    assert not offenders, "\n".join(offenders[:20])


def test_convention_entry_missing_its_status_names_the_field(tmp_path, capsys):
    path = write_spec(tmp_path, """\
        - source: s
          totals: {params: 700}
          errata:
            totals.params: {convention: "no BN", value: 3}
        """)
    assert main(["check", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}:{TINY_LAYERS.count(chr(10)) + 5}: references[0].errata.totals.params" in err
    assert "missing required field 'status'" in err and "Traceback" not in err


def test_report_html_honours_style_convention_and_raw(tmp_path):
    """report --format html shapes its layer table like the other formats (it used to ignore the flags)."""
    path = write_spec(tmp_path, "[]\n")
    plain, shaped = tmp_path / "plain.html", tmp_path / "shaped.html"
    assert main(["report", str(path), "--format", "html", "-o", str(plain)]) == 0
    assert main(["report", str(path), "--format", "html", "--style", "seed", "--convention", "flops", "--raw",
                 "-o", str(shaped)]) == 0
    plain_text, shaped_text = plain.read_text(), shaped.read_text()
    assert ">Mem (bytes)<" in shaped_text and ">Mem (bytes)<" not in plain_text  # seed columns, exact integers
    assert ">Live mem<" in plain_text and ">Output mem<" in plain_text
    assert "15.1 K FLOPs (2*MACs)" in shaped_text  # 2 * 7,552 = 15,104
    assert "7.55 K MACs" in plain_text


def test_figures_at_their_own_resolution(tmp_path: Path):
    """A reference's `resolution:` checks its figures on that input (a weights' evaluation crop)."""
    # at 16x16: conv1 4*16*16 * 3*3*3 = 27,648 MACs; pool -> 4x8x8 = 256 features; fc 256*10 = 2,560 MACs
    # (params change too: the fc reads 256 features, 256*10 + 10 = 2,570; total 112 + 2,570 = 2,682)
    path = write_spec(tmp_path, """\
        - source: at the crop
          resolution: 16
          totals: {macs: 30208, params: 2682}
          rows: {stage.pool: {output_shape: [4, 8, 8]}}
        - source: at the spec's input
          totals: {macs: 7552}
    """)
    checks = check_spec(load_spec(path))
    assert all(c.status is Status.OK for c in checks), [(c.figure, c.status, c.computed) for c in checks]
    assert checks[0].source == "at the crop [at input [3, 16, 16]]" and checks[-1].source == "at the spec's input"


def test_figures_at_another_resolution_refused_where_layers_read_the_size(tmp_path: Path):
    path = tmp_path / "sized.yaml"
    path.write_text(textwrap.dedent("""\
        name: sized
        input: [3, 8, 8]
        layers: [{type: conv, out: $in_width, kernel: 1}]
        references:
          - source: elsewhere
            resolution: 16
            totals: {params: 64}
    """), encoding="utf-8")
    with pytest.raises(SpecError) as info:
        check_spec(load_spec(path))
    assert "sized.yaml:6: references[0].resolution: this spec's expressions read the input size" in str(info.value)


def test_convention_with_ops_counts_fvcore_flops(tmp_path: Path):
    """with_ops adds the ops of the named kinds to the MACs (fvcore's FLOPs count layer norm and pooling)."""
    # MACs 7,552 + relu 4*8*8 = 256 ops = 7,808
    path = write_spec(tmp_path, """\
        - source: counted like fvcore
          totals: {macs: 7808}
          errata:
            totals.macs: {status: convention, convention: "with the ReLU's ops", with_ops: [relu], value: 7808}
    """)
    (check,) = check_spec(load_spec(path))
    assert check.status is Status.CONVENTION, check
    with pytest.raises(SpecError, match="with_ops counts ops as multiply-adds; it applies to macs figures"):
        check_spec(load_spec(write_spec(tmp_path, """\
            - source: wrong quantity
              totals: {params: 800}
              errata:
                totals.params: {status: convention, convention: c, with_ops: [relu], value: 800}
        """, name="p.yaml")))
