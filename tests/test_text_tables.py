"""archcalc.report.text writes what tabulate writes for the report's text and Markdown tables, byte for byte."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any, Sequence

import pytest
from tabulate import SEPARATING_LINE, tabulate

from archcalc.report import table as report_table
from archcalc.report.table import render_report
from archcalc.report.text import pipe_table, simple_table

from conftest import zoo_analysis, zoo_specs


def tabulate_simple(headers: Sequence[Any], rows: Sequence[Any], colalign: Sequence[str]) -> str:
    return tabulate([SEPARATING_LINE if r is None else r for r in rows], headers=headers, tablefmt="simple",
                    colalign=colalign, disable_numparse=True)


def tabulate_pipe(headers: Sequence[Any], rows: Sequence[Any], colalign: Sequence[str]) -> str:
    return tabulate(rows, headers=headers, tablefmt="pipe", colalign=colalign, disable_numparse=True)


def test_small_tables_by_hand():
    # widths: max(widest cell, header + 2); "simple" lines are stripped on the right, None is a rule
    assert simple_table(["Layer", "P"], [["a", ""], ["bbb", "22"], None, ["Total", "5"]], ["left", "right"]) == (
        "Layer      P\n"
        "-------  ---\n"
        "a\n"
        "bbb       22\n"
        "-------  ---\n"
        "Total      5")
    assert pipe_table(["L", "P"], [["a", None], ["bbb", 22]], ["right", "left"]) == (
        "|   L | P   |\n"
        "|----:|:----|\n"
        "|   a |     |\n"
        "| bbb | 22  |")


def test_random_tables_match_tabulate():
    rng = random.Random(7)
    cells = ["", "a", "bb", "1,234", "34.9 K", " padded ", "conv1.block2", "-", "3x224x224", None, 17, "é", "**x**"]
    heads = ["", "L", "Layer", "Params", "Output mem", "K"]
    for _ in range(500):
        n = rng.randint(1, 6)
        headers = [rng.choice(heads) for _ in range(n)]
        align = [rng.choice(["left", "right"]) for _ in range(n)]
        rows = [[rng.choice(cells) for _ in range(n)] for _ in range(rng.randint(0, 5))]
        total = [rng.choice(cells) for _ in range(n)]
        assert simple_table(headers, [*rows, None, total], align) == tabulate_simple(headers, [*rows, None, total], align)
        assert pipe_table(headers, [*rows, total], align) == tabulate_pipe(headers, [*rows, total], align)


def test_refusals():
    with pytest.raises(ValueError, match="alignment"):
        simple_table(["a"], [["x"]], ["center"])
    with pytest.raises(ValueError, match="cells"):
        simple_table(["a", "b"], [["x"]], ["left", "left"])
    with pytest.raises(ValueError, match="single lines"):
        pipe_table(["a"], [["x\ny"]], ["left"])
    with pytest.raises(ValueError, match="no rules"):
        pipe_table(["a"], [None], ["left"])


@pytest.mark.parametrize("path", zoo_specs(), ids=lambda p: p.stem)
def test_zoo_reports_match_tabulate(path: Path, monkeypatch: pytest.MonkeyPatch):
    a = zoo_analysis(path)
    cases = [dict(fmt="table"), dict(fmt="markdown", style="seed", raw=True)]
    ours = [render_report(a, **case) for case in cases]
    monkeypatch.setattr(report_table, "simple_table", tabulate_simple)
    monkeypatch.setattr(report_table, "pipe_table", tabulate_pipe)
    assert ours == [render_report(a, **case) for case in cases]
