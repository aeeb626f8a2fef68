"""The command line: every report format, the schema copy, the static path's imports."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from archcalc.cli import main

from conftest import ROOT, SPECS

ALEXNET = str(SPECS / "alexnet.yaml")


def run(capsys: pytest.CaptureFixture, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_report_table_default(capsys):
    code, out, _ = run(capsys, "report", ALEXNET)
    assert code == 0
    assert out.startswith("AlexNet (lecture table): input 3x227x227, batch 1, float32; 62.4 M params, 1.14 G MACs")
    assert "conv1" in out and "fc8" in out and "Total" in out


def test_report_seed_style_matches_lecture_columns(capsys):
    code, out, _ = run(capsys, "report", ALEXNET, "--style", "seed")
    assert code == 0
    header = out.splitlines()[2].split()
    assert header[:4] == ["Layer", "C_in", "H/W", "Filters"]
    conv1 = next(line for line in out.splitlines() if line.startswith("conv1"))
    # conv1  3  227  96  11  4  0  96  55  1,134  35  105
    assert conv1.split() == ["conv1", "3", "227", "96", "11", "4", "0", "96", "55", "1,134", "35", "105"]
    assert not any(line.startswith("relu") for line in out.splitlines())


def test_report_json(capsys):
    code, out, _ = run(capsys, "report", ALEXNET, "--format", "json")
    assert code == 0
    doc = json.loads(out)
    assert {"name", "input_shape", "layers", "totals"} <= set(doc)
    assert doc["input_shape"] == [3, 227, 227]
    first = doc["layers"][0]
    assert {"name", "type", "input_shape", "output_shape", "params", "macs", "ops", "activation_bytes"} <= set(first)
    assert (first["name"], first["output_shape"], first["params"], first["macs"]) == ("conv1", [96, 55, 55], 34_944,
                                                                                       105_415_200)
    assert sum(r["params"] for r in doc["layers"]) == doc["totals"]["params"] == 62_378_344
    # receptive field, jump and start of conv1 (11x11, stride 4, pad 0): size 11, jump 4, centre 0.5 + 5 = 5.5
    assert (first["receptive_field"], first["jump"], first["start"]) == ([11, 11], [4.0, 4.0], [5.5, 5.5])
    # one row per line: the lines of "layers" are its rows, in order, each a whole JSON object
    lines = out.splitlines()
    start = lines.index('  "layers": [')
    rows = lines[start + 1:start + 1 + len(doc["layers"])]
    assert [json.loads(line.strip().rstrip(",")) for line in rows] == doc["layers"]
    assert lines[start + 1 + len(doc["layers"])].startswith("  ]")


def test_json_lines_is_the_json_of_its_data():
    from archcalc.report.table import json_lines

    data = {"a": [{"x": 1, "y": [1.5, None]}, {"x": "é\n\"q\""}], "b": {"c": [1, 2]}, "empty": [], "n": 3}
    text = json_lines(data)
    assert json.loads(text) == data
    assert text.splitlines()[1:5] == ['  "a": [', '    {"x": 1, "y": [1.5, null]},', '    {"x": "\\u00e9\\n\\"q\\""}',
                                      "  ],"]
    assert json.loads(json_lines({})) == {}


def test_report_csv_raw(capsys):
    code, out, _ = run(capsys, "report", ALEXNET, "--format", "csv", "--raw")
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0][:2] == ["Layer", "Type"]
    body = [r for r in rows[1:] if r[0] != "Total"]
    assert sum(int(r[4]) for r in body) == 62_378_344
    assert rows[-1][0] == "Total"


@pytest.mark.parametrize("fmt,marker", [("markdown", "|"), ("latex", "\\toprule"), ("html", "<table")])
def test_report_other_formats(capsys, fmt, marker):
    code, out, _ = run(capsys, "report", ALEXNET, "--format", fmt)
    assert code == 0 and marker in out and "conv1" in out


def test_report_options(capsys, tmp_path: Path):
    target = tmp_path / "r.json"  # the folder must exist: archcalc does not create it
    code, out, _ = run(capsys, "report", str(SPECS / "resnet50.yaml"), "--format", "json", "--depth", "1",
                       "--batch", "8", "--dtype", "bfloat16", "--convention", "flops", "-o", str(target))
    assert code == 0 and out == ""
    doc = json.loads(target.read_text())
    assert [r["name"] for r in doc["layers"]][:4] == ["conv1", "relu1", "pool1", "conv2_x"]
    # ResNet-50 MACs per image, by stage: conv1 64*112*112 * 3*7*7 = 118,013,952
    # + conv2_x 667,942,912 + conv3_x 1,027,604,480 + conv4_x 1,464,336,384 + conv5_x 809,238,528
    # + fc 2048*1000 = 2,048,000  = 4,089,184,256 (fvcore's count for torchvision's resnet50).
    # A stage, conv2_x at 56x56 (HW = 3136): block1 1x1 64->64 3136*64*64 = 12,845,056, 3x3 3136*64*576
    # = 115,605,504, 1x1 64->256 51,380,224, projection 64->256 51,380,224 (231,211,008); blocks 2-3
    # 1x1 256->64 51,380,224 + 115,605,504 + 51,380,224 = 218,365,952 each: 231,211,008 + 2*218,365,952.
    # --batch 8 multiplies it; --convention flops makes the headline 2 * MACs.
    stage_macs = [64 * 112 * 112 * 3 * 7 * 7, 231_211_008 + 2 * 218_365_952, 1_027_604_480, 1_464_336_384, 809_238_528, 2048 * 1000]
    rows = {r["name"]: r for r in doc["layers"]}
    assert [rows[n]["macs"] for n in ("conv1", "conv2_x", "conv3_x", "conv4_x", "conv5_x", "fc")] == \
        [8 * m for m in stage_macs]
    assert sum(stage_macs) == 4_089_184_256
    assert doc["totals"]["macs"] == 8 * 4_089_184_256
    assert doc["totals"]["headline"] == 2 * 8 * 4_089_184_256
    # params do not grow with the batch: conv1 64*3*7*7 + BN 2*64 = 9,536 + conv2_x 215,808
    # + conv3_x 1,219,584 + conv4_x 7,098,368 + conv5_x 14,964,736 + fc 2048*1000 + 1000 = 2,049,000
    # = 25,557,032, torchvision's resnet50 sum(p.numel() for p in model.parameters())
    assert [rows[n]["params"] for n in ("conv1", "conv2_x", "conv3_x", "conv4_x", "conv5_x", "fc")] == \
        [64 * 3 * 7 * 7 + 2 * 64, 215_808, 1_219_584, 7_098_368, 14_964_736, 2048 * 1000 + 1000]
    assert doc["totals"]["params"] == 25_557_032


def test_report_param_and_scale(capsys):
    code, out, _ = run(capsys, "report", str(SPECS / "vgg16.yaml"), "--param", "bn=true", "--format", "json")
    assert json.loads(out)["totals"]["params"] == 138_365_992  # torchvision vgg16_bn
    code, out, _ = run(capsys, "report", str(SPECS / "resnet50.yaml"), "--scale", "resolution=160", "--format", "json")
    assert json.loads(out)["input_shape"] == [3, 160, 160]


def test_report_param_takes_lists(capsys):
    """Commas inside brackets belong to the value: RegNetX-400MF's own lists give torchvision's count."""
    regnet = str(SPECS / "regnet_x_400mf.yaml")
    code, out, _ = run(capsys, "report", regnet, "--param", "depths=[1, 2, 7, 12],widths=[32,64,160,400]",
                       "--format", "json")
    assert code == 0 and json.loads(out)["totals"]["params"] == 5_495_976  # torchvision regnet_x_400mf
    code, _, err = run(capsys, "report", regnet, "--param", "group_widths=[16,16,24,16]")  # 24 does not divide 160
    # the 3x3 is not named yet when $in_channels is computed: it is shown by its place in the block
    assert code == 2 and "divisible by groups" in err and "stage3.b[0]" in err and "None" not in err
    code, _, err = run(capsys, "report", regnet, "--param", "depths=[1,2,7")
    assert code == 2 and "cannot read the value of 'depths'" in err


def test_usage_errors(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["report", ALEXNET, "--batch", "0"])
    assert exc.value.code == 2
    assert "expected a positive integer" in capsys.readouterr().err
    code, _, err = run(capsys, "report", "no/such/spec.yaml")
    assert code == 2 and err == "archcalc: error: no/such/spec.yaml: no such file\n"
    code, _, err = run(capsys, "report", ALEXNET, "--scale", "width")
    assert code == 2 and "NAME=VALUE" in err


def test_validate(capsys):
    code, out, _ = run(capsys, "validate", ALEXNET, str(SPECS / "vgg16.yaml"))
    assert code == 0 and out.count("ok  ") == 2
    code, _, err = run(capsys, "validate", str(ROOT / "tests" / "malformed" / "unknown_field.yaml"))
    assert code == 2 and "unknown field 'strid'" in err


def test_schema_copy_is_current(capsys):
    code, out, _ = run(capsys, "schema")
    assert code == 0
    committed = (SPECS / "schema.json").read_text()
    assert out == committed, "specs/schema.json is stale: run `archcalc schema -o specs/schema.json`"
    schema = json.loads(out)
    assert "LayerEntry" in schema["$defs"]


def test_static_path_imports_neither_torch_nor_matplotlib(tmp_path: Path):
    target = tmp_path / "alexnet.json"
    code = ("import sys, archcalc\n"
            "from archcalc.cli import main\n"
            "main(['report', %r, '--format', 'json', '-o', %r])\n"
            "bad = [m for m in ('torch', 'matplotlib', 'fvcore') if m in sys.modules]\n"
            "print(','.join(bad))\n") % (str(ALEXNET), str(target))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == ""
    assert json.loads(target.read_text())["totals"]["params"] == 62_378_344


def test_python_dash_m_and_help():
    proc = subprocess.run([sys.executable, "-m", "archcalc", "report", "--help"], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0
    assert "--convention" in proc.stdout and "examples:" in proc.stdout
