"""Tables in every format, the HTML pages, and the committed ``reports/`` tree being current."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest

import archcalc
from archcalc.cli import main
from archcalc.fileio import MANIFEST_NAME, content_hash, read_manifest
from archcalc.report import render_report
from archcalc.report.table import LAYOUTS, TITLES, Column, column_title
from archcalc.report.html import html_page, html_table
from archcalc.site import GENERATOR_PREFIX, auto_depth, build_site, chart_engine, stale_files

from conftest import ROOT, SPECS, zoo_specs

ALEXNET = SPECS / "alexnet.yaml"
REPORTS = ROOT / "reports"


@pytest.fixture(scope="module")
def alexnet():
    return archcalc.analyze(archcalc.load_spec(ALEXNET))


# --------------------------------------------------------------------------- tables


def test_terminal_table_right_aligns_numbers_and_labels_total(alexnet):
    text = render_report(alexnet, fmt="table")
    lines = text.splitlines()
    header = next(l for l in lines if l.startswith("Layer"))
    body = [l for l in lines if l.startswith(("conv", "fc", "pool", "relu"))]
    end = header.index("Params") + len("Params")  # right-aligned: values end where the header ends
    assert all(l[end - 1] != " " and (len(l) == end or l[end] == " ") for l in body)
    total = next(i for i, l in enumerate(lines) if l.startswith("Total"))
    assert "62.4 M" in lines[total] and "1.14 G" in lines[total]
    assert set(lines[total - 1].replace(" ", "")) == {"-"}  # a rule above the Total row
    assert lines[total + 2].startswith("Output mem: ")  # then what the two memory columns hold


def test_markdown_alignment_row_and_bold_total(alexnet):
    text = render_report(alexnet, fmt="markdown")
    rows = [l for l in text.splitlines() if l.startswith("|")]
    align = [c.strip() for c in rows[1].strip("|").split("|")]
    header = [c.strip() for c in rows[0].strip("|").split("|")]
    for name, a in zip(header, align):
        numeric = name in ("Params", "MACs", "Other ops", "Output mem", "Live mem", "RF")
        assert a.endswith(":") == numeric and a.startswith(":") != numeric
    assert rows[-1].startswith("| **Total**")


def test_latex_rule_above_total(alexnet):
    lines = render_report(alexnet, fmt="latex").splitlines()
    i = next(k for k, l in enumerate(lines) if l.strip().startswith("Total"))
    assert lines[i - 1] == r"\midrule" and lines[i + 1] == r"\bottomrule"


def test_html_fragment_has_sort_keys_and_tfoot(alexnet):
    text = render_report(alexnet, fmt="html")
    assert '<td class="num" data-sort="105415200">105 M</td>' in text  # 96*55*55 * 3*11*11
    assert "<tfoot><tr><td>Total</td>" in text and text.count("<tr") == len(alexnet.layers) + 2
    assert '<tr data-row="conv1">' in text  # rows carry their layer's name (the diagram finds them by it)


def test_columns_have_titles_and_the_total_row_is_derived_from_them(alexnet):
    assert set(TITLES) == set(Column) and all(set(cols) <= set(Column) for cols in LAYOUTS.values())
    rows = list(csv.reader(io.StringIO(render_report(alexnet, fmt="csv", style="seed"))))
    header, total = rows[0], rows[-1]
    assert header == [column_title(c, raw=True) for c in LAYOUTS["seed"]]
    # the seed layout hides the activation rows, but its Total counts every layer
    assert len(rows) - 2 < len(alexnet.layers)
    assert int(total[header.index("Mem (bytes)")]) == sum(r.activation_bytes for r in alexnet.layers)
    assert int(total[header.index("Params")]) == sum(r.params for r in alexnet.layers)
    assert int(total[header.index("Flops")]) == sum(r.macs + r.pooling_ops for r in alexnet.layers)


def test_csv_is_always_exact(alexnet):
    rows = list(csv.reader(io.StringIO(render_report(alexnet, fmt="csv"))))
    assert rows[1][:2] == ["conv1", "conv"] and rows[1][4] == "34944"
    assert rows[-1][0] == "Total" and int(rows[-1][4]) == alexnet.totals.params == 62_378_344


@pytest.mark.parametrize("fmt", ["table", "markdown", "latex", "html"])
def test_human_units_are_consistent(alexnet, fmt):
    text = render_report(alexnet, fmt=fmt)
    for value in re.findall(r"\b\d[\d.,]* ?([KMGT]B?|B)\b", text):
        assert value in {"K", "M", "G", "T", "B", "KB", "MB", "GB", "TB"}
    assert "1.11 MB" in text and "34.9 K" in text  # 1,161,600 bytes = 1.11 MiB; 34,944 params


def test_html_table_escapes_and_marks_numeric_columns():
    text = html_table(["a", "n"], [["<b>", "1 K"]], align="lr", sort_keys=[[None, 1000]], total=["Total", "1 K"])
    assert "&lt;b&gt;" in text and '<th class="num" scope="col">n</th>' in text and 'data-sort="1000"' in text


def test_html_page_is_self_contained():
    page = html_page("t", "<p>x</p>")
    assert page.startswith("<!DOCTYPE html>") and "<script>" in page and "<style>" in page
    assert not re.search(r'<(link|script)[^>]+(href|src)=', page)


# --------------------------------------------------------------------------- report command


def test_report_html_page(tmp_path, capsys):
    out = tmp_path / "alexnet.html"
    assert main(["report", str(ALEXNET), "--format", "html", "-o", str(out)]) == 0
    page = out.read_text()
    assert page.count("<svg") == 3 and "sortable" in page and "conv1" in page  # two charts and the diagram
    assert not re.search(r'(src|href)="(https?:)?//', page) and "<img" not in page


def test_report_needs_a_spec_or_all(capsys):
    assert main(["report"]) == 2
    assert "--all" in capsys.readouterr().err


def test_auto_depth():
    a = archcalc.analyze(archcalc.load_spec(SPECS / "resnet50.yaml"))
    depth = auto_depth(a, max_rows=60)
    assert depth is not None and len(a.rows_at_depth(depth)) <= 60 < len(a.rows_at_depth(depth + 1))
    assert auto_depth(archcalc.analyze(archcalc.load_spec(ALEXNET))) is None


def test_report_all_writes_tree_and_removes_only_its_own_stale_files(tmp_path, capsys):
    specs = tmp_path / "specs"
    specs.mkdir()
    for name in ("alexnet.yaml", "resnet18.yaml"):
        (specs / name).write_text((SPECS / name).read_text())
    out = tmp_path / "reports"
    (out / "specs").mkdir(parents=True)
    (out / "specs" / "my_notes.md").write_text("mine")  # a user's file: never touched
    (out / "bench").mkdir()
    (out / "bench" / "keep.json").write_text("{}")
    assert main(["report", "--all", str(specs), "-o", str(out)]) == 0
    pages = [f"specs/{s}.{e}" for s in ("alexnet", "resnet18")
             for e in ("md", "html", "layers.svg", "roofline.svg", "graph.svg")]
    generated = ["README.md", "index.html", "charts/accuracy_macs.svg", "charts/accuracy_params.svg"] + pages
    names = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert names == sorted(generated + ["bench/keep.json", "specs/my_notes.md", MANIFEST_NAME])
    assert sorted(read_manifest(out)) == sorted(generated)
    readme = (out / "README.md").read_text()
    assert "[ResNet-18](specs/resnet18.md)" in readme and "69.76" in readme  # torchvision acc@1 69.758
    (specs / "resnet18.yaml").unlink()  # its pages are stale now: archcalc wrote them, so they go
    assert main(["report", "--all", str(specs), "-o", str(out)]) == 0
    assert "5 stale removed" in capsys.readouterr().err
    assert not any((out / p).exists() for p in pages if "resnet18" in p)
    assert (out / "specs" / "my_notes.md").read_text() == "mine" and (out / "bench" / "keep.json").is_file()
    assert main(["report", "--all", str(specs), "-o", str(out)]) == 0
    assert "0 written" in capsys.readouterr().err


# --------------------------------------------------------------------------- the committed reports/


def committed(rel: str) -> str | None:
    path = REPORTS / rel
    return path.read_text(encoding="utf-8") if path.is_file() else None


@pytest.fixture(scope="module")
def regenerated():
    """Every page of the tree, and the charts of two specs plus the zoo charts (drawing all
    ~80 spec charts takes a minute; they come from the same code as these)."""
    files, _ = build_site(zoo_specs(), charts={"alexnet", "resnet50"}, jobs=1)
    return files


def test_reports_pages_are_current(regenerated):
    hint = "reports/ is stale: run `archcalc report --all specs/ -o reports/`"
    pages = {k: v for k, v in regenerated.items() if not k.endswith(".svg")}
    differ = sorted(k for k, v in pages.items() if committed(k) != v)
    assert not differ, f"{hint} ({len(differ)} differ, e.g. {differ[:5]})"
    for spec in zoo_specs():
        for ext in ("layers.svg", "roofline.svg"):
            assert (REPORTS / "specs" / f"{spec.stem}.{ext}").is_file(), hint
    expected = set(regenerated) | {f"specs/{s.stem}.{e}.svg" for s in zoo_specs() for e in ("layers", "roofline")}
    assert not stale_files(REPORTS, expected), hint


def test_reports_manifest_is_current(regenerated):
    """reports/.archcalc-manifest.json lists exactly the generated files, with their current hashes
    (so the next regeneration may replace them, and touches nothing else, e.g. bench/)."""
    hint = "reports/ manifest is stale: run `archcalc report --all specs/ -o reports/`"
    manifest = read_manifest(REPORTS)
    expected = set(regenerated) | {f"specs/{s.stem}.{e}.svg" for s in zoo_specs() for e in ("layers", "roofline")}
    assert set(manifest) == expected, hint
    differ = sorted(rel for rel, digest in manifest.items() if content_hash((REPORTS / rel).read_bytes()) != digest)
    assert not differ, f"{hint} ({differ[:5]})"
    # the committed bench results beside the pages are not archcalc report's: nothing generated is named like them
    bench = {str(p.relative_to(REPORTS)) for p in (REPORTS / "bench").rglob("*") if p.is_file()}
    assert bench and not bench & expected


def test_reports_charts_are_current(regenerated):
    recorded = re.search(re.escape(GENERATOR_PREFIX) + r"(.+)\.", committed("README.md") or "")
    if not recorded or recorded.group(1) != chart_engine():
        pytest.skip(f"reports/ charts were drawn with {recorded.group(1) if recorded else '?'}, "
                    f"this is {chart_engine()}: SVG bytes differ between versions")
    charts = {k: v for k, v in regenerated.items() if k.endswith(".svg")}
    assert any(k.startswith("charts/") for k in charts)
    differ = sorted(k for k, v in charts.items() if committed(k) != v)
    assert not differ, f"reports/ charts are stale: run `archcalc report --all specs/ -o reports/` ({differ})"


def test_reports_tree_layout():
    assert (REPORTS / MANIFEST_NAME).is_file()
    assert (REPORTS / "README.md").is_file() and (REPORTS / "index.html").is_file()
