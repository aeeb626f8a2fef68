"""archcalc sweep: design points, error rows, --where, chunks and --resume, the pool and Dask, the chart.

Small zoo specs (CIFAR ResNet-32, whose `n` sets the blocks per stage, and RegNetX-400MF's list
parameters by element) keep the whole file to a few seconds.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from archcalc import analyze, load_spec
from archcalc.cli import main
from archcalc.errors import UsageError
from archcalc.sweep import (SweepDefinition, check_axes, compile_where, load_template, parse_grid, parse_range,
                            parse_scale_grid, read_results)
from archcalc.sweep.columns import TOTALS
from archcalc.sweep.evaluate import evaluate_points, where_columns
from archcalc.sweep.store import output_format

from conftest import ROOT, SPECS, has_module

CIFAR = str(SPECS / "cifar_resnet32.yaml")
REGNET = str(SPECS / "regnet_x_400mf.yaml")
needs_pyarrow = pytest.mark.skipif(not has_module("pyarrow"), reason="pyarrow is not installed (archcalc[sweep])")
needs_dask = pytest.mark.skipif(not has_module("distributed"), reason="dask.distributed is not installed (archcalc[sweep])")


def sweep(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["sweep", *args])
    out, err = capsys.readouterr()
    return code, out, err


def rows_of(columns: dict[str, list]) -> list[dict]:
    names = list(columns)
    return [dict(zip(names, values)) for values in zip(*columns.values())]


def report_totals(spec: str, params: dict, resolution: int | None, capsys: pytest.CaptureFixture[str]) -> dict:
    """What `archcalc report --format json` prints for the variant, in the sweep's columns."""
    args = ["report", spec, "--format", "json"]
    args += [f"--param={k}={v}" for k, v in params.items()]
    if resolution is not None:
        args += ["--scale", f"resolution={resolution}"]
    assert main(args) == 0
    doc = json.loads(capsys.readouterr().out)
    t = doc["totals"]
    fields = [max(r["receptive_field"]) for r in doc["layers"] if r["receptive_field"]]
    out = {k: t[k] for k in ("params", "macs", "ops", "pooling_ops", "activation_bytes", "peak_activation_bytes",
                              "saved_bytes")}
    out["receptive_field"] = max(fields)
    out["output_elements"] = 10 if doc["output_shape"] == [10] else None
    return out


# --------------------------------------------------------------------------- points


def test_grid_axes_and_point_order() -> None:
    assert parse_grid("n=1..7:3").values == (1, 4, 7)  # HI included when the steps reach it
    assert parse_grid("n=1..8:3").values == (1, 4, 7)
    assert parse_grid("w=0.1..0.3:0.1").values == (0.1, 0.2, 0.3)  # not 0.30000000000000004
    assert parse_grid("bn=true,false").values == (True, False) and parse_grid("bn=true,false").kind == "bool"
    assert parse_grid("widths=[32,64],[48,96]").values == ([32, 64], [48, 96])
    assert parse_grid("depths[2]=5,2").index == 2
    assert [a.name for a in parse_scale_grid("width=1.0,1.1,resolution=224..256:16")] == \
        ["scale_width", "scale_resolution"]
    grid = SweepDefinition(spec_sha256="x", axes=(parse_grid("a=1,2"), parse_grid("b=10,20,30")))
    assert grid.size == 6
    assert [grid.point(i) for i in (0, 1, 3, 5)] == [{"a": 1, "b": 10}, {"a": 1, "b": 20}, {"a": 2, "b": 10},
                                                      {"a": 2, "b": 30}]  # the last axis varies fastest


def test_sample_points_are_a_function_of_seed_and_index() -> None:
    axes = (parse_range("n=1..9"), parse_range("w=0.5..2.0"), parse_grid("bn=true,false"))
    one = SweepDefinition(spec_sha256="x", axes=axes, samples=50, seed=7)
    points = [one.point(i) for i in range(50)]
    assert [one.point(i) for i in reversed(range(50))] == points[::-1]  # any order, any process
    assert all(1 <= p["n"] <= 9 and isinstance(p["n"], int) and 0.5 <= p["w"] <= 2.0 for p in points)
    assert len({p["n"] for p in points}) > 3 and {p["bn"] for p in points} == {True, False}
    other = SweepDefinition(spec_sha256="x", axes=axes, samples=50, seed=8)
    assert [other.point(i) for i in range(50)] != points
    assert one.fingerprint != other.fingerprint and one.differences(other) == ["--seed"]


@pytest.mark.parametrize("text, words", [
    ("n", "expected NAME=VALUES"), ("n=", "no values"), ("=1,2", "expected NAME=VALUES"),
    ("n=1..4:0", "the step must not be 0"), ("n=4..1:1", "no values"), ("n=1,,2", "an empty value"),
    ("n=1.0..2.0", "needs a step"), ("n-1=2", "not a parameter name"), ("scale_size=1,2", "unknown scaling axis"),
    ("n=a..b", "not a number"),
])
def test_malformed_axes_are_usage_errors(text: str, words: str) -> None:
    with pytest.raises(UsageError, match=words):
        parse_grid(text)


# --------------------------------------------------------------------------- rows


def test_grid_rows_equal_archcalc_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "r.csv"
    code, stdout, err = sweep([CIFAR, "--grid", "n=0..4", "--scale-grid", "resolution=16,32", "--workers", "2",
                               "-o", str(out)], capsys)
    assert code == 0 and stdout == "", err
    assert "10 points" in err and "8 analyzed, 2 errors" in err and f"-> {out}" in err
    rows = rows_of(read_results(out))
    assert [r["point"] for r in rows] == list(range(10))
    assert [(r["n"], r["scale_resolution"]) for r in rows] == [(n, res) for n in range(5) for res in (16, 32)]
    assert not (tmp_path / "r.csv.partial").exists()
    # an invalid combination is a row with its reason
    assert all("'repeat' must be a positive integer, got 0" in r["error"] and r["macs"] is None for r in rows[:2])
    for row in random.Random(1).sample(rows[2:], 3):  # exactness: the same numbers as archcalc report
        expected = report_totals(CIFAR, {"n": row["n"]}, row["scale_resolution"], capsys)
        assert {k: row[k] for k in TOTALS} == expected


def test_list_elements_equal_load_spec() -> None:
    template = load_template(REGNET)
    axes = (parse_range("depths[3]=1..12"), parse_range("widths[3]=256..512:16"), parse_grid("group_widths[3]=8,16"))
    check_axes(template, axes)
    definition = SweepDefinition(spec_sha256=template.sha256, axes=axes, samples=4, seed=3)
    for row in evaluate_points(template, definition, 0, 4):
        params = {"depths": [1, 2, 7, row["depths[3]"]], "widths": [32, 64, 160, row["widths[3]"]],
                  "group_widths": [16, 16, 16, row["group_widths[3]"]]}
        assert row["error"] is None
        t = analyze(load_spec(REGNET, params=params)).totals
        assert (row["params"], row["macs"], row["peak_activation_bytes"], row["saved_bytes"]) == \
            (t.params, t.macs, t.peak_activation_bytes, t.saved_bytes)


@needs_pyarrow
def test_random_sample_to_parquet_with_where(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "s.parquet"
    args = [CIFAR, "--sample", "12", "--seed", "5", "--range", "n=1..6", "--grid", "scale_resolution=16,24,32",
            "--where", "macs < 20e6 and $params >= 0", "--workers", "0", "-o", str(out)]
    code, _, err = sweep(args, capsys)
    assert code == 0, err
    rows = rows_of(read_results(out))
    assert rows and all(r["macs"] < 20e6 for r in rows)
    template = load_template(CIFAR)
    definition = SweepDefinition(spec_sha256=template.sha256, axes=(parse_grid("scale_resolution=16,24,32"),
                                 parse_range("n=1..6")), samples=12, seed=5)  # --grid axes first, then --range
    every = evaluate_points(template, definition, 0, 12)
    assert [r["point"] for r in rows] == [r["point"] for r in every if r["macs"] < 20e6]
    assert f"{12 - len(rows)} points left out by --where" in err
    # the same command again is the same file
    again = tmp_path / "t.parquet"
    assert sweep([*args[:-1], str(again)], capsys)[0] == 0
    assert read_results(again) == read_results(out)
    assert main(["plot", "sweep", str(out), "-o", str(tmp_path / "s.png"), "--color", "n"]) == 0
    assert (tmp_path / "s.png").read_bytes()[:4] == b"\x89PNG"


def test_rows_to_stdout_without_output(capsys: pytest.CaptureFixture[str]) -> None:
    code, stdout, _ = sweep([CIFAR, "--grid", "n=1,2", "--workers", "0"], capsys)
    assert code == 0
    lines = stdout.splitlines()
    assert lines[0].startswith("point,n,error,params,macs") and len(lines) == 3


# --------------------------------------------------------------------------- --where


@pytest.mark.parametrize("condition, words", [
    ("__import__('os').system('touch PWNED')", "only these functions may be called"),
    ("exec('x')", "only these functions may be called"),
    ("().__class__.__bases__", "attribute access"),
    ("macs.real > 0", "attribute access"),
    ("open('x') or macs > 0", "only these functions may be called"),
    ("macs < 1 or foo", "unknown name 'foo'"),
    ("[c for c in 'ab']", "comprehension|not an arithmetic expression"),
    ("macs ** 2 > 0", r"the operator \*\*"),
    ("macs + 1", "must be a condition"),
    ("flops < 1e9", "unknown name 'flops'"),
])
def test_where_rejects_code(condition: str, words: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "r.csv"
    code, stdout, err = sweep([CIFAR, "--grid", "n=1,2", "--where", condition, "-o", str(out)], capsys)
    assert code == 2 and stdout == "" and "Traceback" not in err
    assert "--where" in err and __import__("re").search(words, err), err
    assert sorted(os.listdir(tmp_path)) == []  # nothing written, nothing run


def test_where_binds_list_parameters() -> None:
    template = load_template(REGNET)
    definition = SweepDefinition(spec_sha256=template.sha256, axes=(parse_grid("depths[3]=1..4"),),
                                 where="depths[3] >= 3 and depths[0] == 1")
    compile_where(definition.where, columns=where_columns(template, definition))
    assert [r["depths[3]"] for r in evaluate_points(template, definition, 0, 4)] == [3, 4]


# --------------------------------------------------------------------------- bad arguments


@pytest.mark.parametrize("args, words", [
    (["--grid", "n=1..4:0"], "the step must not be 0"),
    (["--grid", "n"], "expected NAME=VALUES"),
    (["--grid", "depth=1,2"], "unknown spec parameter 'depth'"),
    (["--grid", "n[0]=1,2"], "is not a list"),
    (["--grid", "n=1,2", "--grid", "n=3"], "swept twice"),
    (["--range", "n=1..4"], "needs --sample"),
    (["--sample", "3", "--range", "n=4..1"], "HI must not be below LO"),
    (["--scale-grid", "size=1,2"], "unknown scaling setting"),
    ([], "nothing to sweep"),
    (["--grid", "n=1,2", "--resume"], "give the same -o"),
])
def test_bad_arguments_exit_2_and_write_nothing(args: list[str], words: str, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    out = ["-o", str(tmp_path / "r.csv")] if "--resume" not in args else []
    code, stdout, err = sweep([CIFAR, *args, *out], capsys)
    assert code == 2 and stdout == "" and words in err and "Traceback" not in err, err
    assert os.listdir(tmp_path) == []


def test_parquet_without_pyarrow_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # import pyarrow now fails
    with pytest.raises(UsageError, match="needs pyarrow"):
        output_format("r.parquet")
    assert output_format("r.csv") == "csv"


# --------------------------------------------------------------------------- interrupt and resume


def test_resume_after_a_kill(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "r.csv"
    args = [CIFAR, "--grid", "n=1..12", "--scale-grid", "resolution=16,24,32", "--chunk-size", "2",
            "--workers", "0", "-o", str(out)]
    partial = tmp_path / "r.csv.partial"
    proc = subprocess.Popen([sys.executable, "-m", "archcalc", "sweep", *args], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            if partial.is_dir() and len(list(partial.glob("chunk-*.csv"))) >= 2:
                break
            time.sleep(0.01)
        assert proc.poll() is None, "the sweep ended before it could be interrupted"
        proc.send_signal(signal.SIGKILL)  # no clean-up of any kind
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    done = sorted(partial.glob("chunk-*.csv"))
    assert 2 <= len(done) < 18 and not out.exists()
    # a new sweep, or a resume of another one, refuses the folder and changes nothing
    code, _, err = sweep(args, capsys)
    assert code == 2 and "holds an interrupted sweep" in err and "--resume" in err
    code, _, err = sweep([*args, "--resume", "--where", "macs > 0"], capsys)
    assert code == 2 and "different sweep (--where changed)" in err
    assert sorted(partial.glob("chunk-*.csv")) == done
    code, _, err = sweep([*args, "--resume"], capsys)
    assert code == 0, err
    assert f"{2 * len(done)} resumed" in err
    rows = rows_of(read_results(out))
    assert [r["point"] for r in rows] == list(range(36))  # no row lost, none twice
    assert not partial.exists()
    fresh = tmp_path / "fresh.csv"
    assert sweep([*args[:-1], str(fresh)], capsys)[0] == 0
    assert fresh.read_bytes() == out.read_bytes()


# --------------------------------------------------------------------------- Dask


@needs_dask
def test_dask_local_cluster_on_loopback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from dask.distributed import LocalCluster

    # in this process (threads), but over TCP on the loopback interface, as a remote scheduler is reached
    with LocalCluster(n_workers=1, threads_per_worker=2, processes=False, protocol="tcp", host="127.0.0.1",
                      scheduler_port=0, dashboard_address=None) as cluster:
        assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
        out = tmp_path / "d.csv"
        code, _, err = sweep([CIFAR, "--grid", "n=0..3", "--chunk-size", "2", "--scheduler",
                              cluster.scheduler_address, "-o", str(out)], capsys)
    assert code == 0, err
    assert f"Dask at {cluster.scheduler_address}" in err
    local = tmp_path / "l.csv"
    assert sweep([CIFAR, "--grid", "n=0..3", "--workers", "0", "-o", str(local)], capsys)[0] == 0
    assert out.read_bytes() == local.read_bytes()


@needs_dask
def test_an_unreachable_scheduler_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("archcalc.sweep.execute.CONNECT_TIMEOUT", "1s")
    code, _, err = sweep([CIFAR, "--grid", "n=1", "--scheduler", "tcp://127.0.0.1:9", "-o",
                          str(tmp_path / "r.csv")], capsys)
    assert code == 2 and "cannot reach the Dask scheduler" in err and "Traceback" not in err
    assert os.listdir(tmp_path) == []  # nothing was written


def test_the_template_travels_by_pickle() -> None:
    """A Dask cluster (and a spawned pool) receives the spec read once as a pickle."""
    import pickle

    template = load_template(CIFAR)
    definition = SweepDefinition(spec_sha256=template.sha256, axes=(parse_grid("n=0..2"),))
    copy = pickle.loads(pickle.dumps(template))
    assert evaluate_points(copy, definition, 0, 3) == evaluate_points(template, definition, 0, 3)


def test_pareto_fronts_of_the_chart() -> None:
    from archcalc.plots.sweep import pareto_indices, sweep_chart

    xs, ys = [1, 2, 2, 3, 4], [5, 4, 7, 6, 9]
    assert pareto_indices(xs, ys, "upper") == [0, 2, 4]  # the most y for each budget of x: 5, 7 (not 4), 9
    assert pareto_indices(xs, ys, "lower") == [0, 1]  # the least y: 5, then 4 at x=2; nothing beats 4 after
    columns = {"point": [0, 1, 2], "n": [1, 2, 3], "error": [None, "bad", None], "macs": [10, None, 30],
               "params": [3, None, 2]}
    chart = sweep_chart(columns)
    assert chart.xs == (10.0, 30.0) and chart.errors == 1 and chart.color == "n" and chart.front == (0,)
    with pytest.raises(UsageError, match="no column 'flops'"):
        sweep_chart(columns, x="flops")
