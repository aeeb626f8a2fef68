"""``archcalc report --all`` rebuilds only what changed (:mod:`archcalc.site.incremental`), and the tree
it leaves is byte for byte the one a full build writes, with every guarantee of the manifest kept."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from archcalc.cli import main
from archcalc.fileio import MANIFEST_NAME, read_build_record
from archcalc.site import digest

BASE = """\
name: Base
input: [3, 16, 16]
params: {width: 4}
layers:
  - {name: conv1, type: conv, out: $width, kernel: 3, padding: 1}
  - {type: relu}
  - {type: global_avgpool}
  - {type: flatten}
  - {name: fc, type: linear, out: 10}
accuracy:
  - {dataset: ImageNet val (ILSVRC-2012), top1_error: 40.0, protocol: single crop, source: made up for a test}
"""
VARIANT = "name: Variant\nextends: base.yaml\nparams: {width: 8}\n"
OTHER = "name: Other\ninput: [3, 8, 8]\nlayers:\n  - {type: conv, out: 4, kernel: 3}\n  - {type: relu}\n"


def tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def first_build(tmp_path_factory):
    """Three specs (one extends another) and the tree a first build made of them, with a user's file."""
    root = tmp_path_factory.mktemp("zoo")
    specs = root / "specs"
    specs.mkdir()
    for name, text in (("base", BASE), ("variant", VARIANT), ("other", OTHER)):
        (specs / f"{name}.yaml").write_text(text)
    out = root / "reports"
    (out / "bench").mkdir(parents=True)
    (out / "bench" / "mine.json").write_text("{}")  # a user's file: never touched
    assert main(["report", "--all", str(specs), "-o", str(out)]) == 0
    return root


@pytest.fixture
def zoo(first_build, tmp_path, capsys):
    """A copy of the first build to change: (specs folder, reports folder)."""
    shutil.copytree(first_build, tmp_path, dirs_exist_ok=True)
    capsys.readouterr()
    return tmp_path / "specs", tmp_path / "reports"


def build(capsys, specs: Path, out: Path, *extra: str) -> tuple[int, str, int]:
    """Run report --all; (exit status, stderr, number of specs built)."""
    code = main(["report", "--all", str(specs), "-o", str(out), *extra])
    err = capsys.readouterr().err
    found = re.search(r"\((\d+) built, \d+ unchanged since the last build\)", err)
    return code, err, int(found.group(1)) if found else -1


def fresh(tmp_path: Path, specs: Path, capsys) -> dict[str, bytes]:
    """The tree a full build into an empty folder writes."""
    out = tmp_path / "fresh"
    assert build(capsys, specs, out)[0] == 0
    return tree(out)


def generated(files: dict[str, bytes]) -> dict[str, bytes]:
    return {k: v for k, v in files.items() if not k.startswith("bench/")}


def test_nothing_changed_builds_nothing_and_writes_nothing(zoo, capsys):
    specs, out = zoo
    assert "charts/accuracy_macs.svg" in tree(out)  # the zoo chart is recorded and reused too
    before = tree(out)
    code, err, built = build(capsys, specs, out)
    assert (code, built) == (0, 0) and " 0 written" in err
    assert tree(out) == before  # the manifest included
    code, err, built = build(capsys, specs, out, "--rebuild")
    assert (code, built) == (0, 3) and " 0 written" in err and tree(out) == before


def test_a_changed_spec_is_rebuilt_alone_and_the_tree_is_a_full_builds(zoo, tmp_path, capsys):
    specs, out = zoo
    (specs / "other.yaml").write_text(OTHER.replace("out: 4", "out: 6"))
    code, _, built = build(capsys, specs, out)
    assert (code, built) == (0, 1)
    assert generated(tree(out)) == fresh(tmp_path, specs, capsys)  # the manifest and its record included


def test_a_changed_extends_parent_rebuilds_its_variants(zoo, tmp_path, capsys):
    specs, out = zoo
    (specs / "base.yaml").write_text(BASE.replace("out: 10", "out: 12"))
    code, _, built = build(capsys, specs, out)
    assert (code, built) == (0, 2)  # base and variant; other is reused
    assert generated(tree(out)) == fresh(tmp_path, specs, capsys)


def test_a_deleted_spec_takes_only_its_own_files(zoo, capsys):
    specs, out = zoo
    (out / "specs" / "notes.md").write_text("mine")
    (specs / "other.yaml").unlink()
    code, err, built = build(capsys, specs, out)
    assert (code, built) == (0, 0) and "5 stale removed" in err
    assert not list((out / "specs").glob("other.*"))
    assert (out / "specs" / "notes.md").read_text() == "mine" and (out / "bench" / "mine.json").read_text() == "{}"
    assert "other" not in read_build_record(out)["specs"]


CORRUPTIONS = {  # name -> (the record made of the real one, the specs built after it)
    "not a mapping": (lambda r: "garbage", 3),
    "another build key": (lambda r: {**r, "key": "sha256:0"}, 3),
    "one entry broken": (lambda r: {**r, "specs": {**r["specs"], "base": {"inputs": 7}, "other": []}}, 2),
    "a zoo chart unknown": (lambda r: {**r, "charts": {}}, 0),
    "an input that is a device": (lambda r: {**r, "specs": {**r["specs"], "other": {
        **r["specs"]["other"], "inputs": {**r["specs"]["other"]["inputs"], "/dev/zero": "sha256:0"}}}}, 1),
}


@pytest.mark.parametrize("corruption", list(CORRUPTIONS))
def test_an_unreadable_or_foreign_record_means_a_rebuild(zoo, capsys, corruption):
    specs, out = zoo
    before = tree(out)
    path = out / MANIFEST_NAME
    doc = json.loads(path.read_text())
    change, expected = CORRUPTIONS[corruption]
    doc["build"] = change(doc["build"])
    path.write_text(json.dumps(doc))
    code, err, built = build(capsys, specs, out)
    assert (code, built) == (0, expected) and " 0 written" in err
    assert tree(out) == before  # and the record is whole again


def test_a_corrupt_manifest_is_refused_as_before_and_force_rebuilds(zoo, capsys):
    """The file list says which files are archcalc's: without it nothing is overwritten (the old
    guarantee); --force starts a new manifest, building everything."""
    specs, out = zoo
    before = tree(out)
    (out / MANIFEST_NAME).write_text("not json")
    code, err, _ = build(capsys, specs, out)
    assert code == 2 and "cannot read archcalc's manifest" in err and "Traceback" not in err
    assert {k: v for k, v in tree(out).items() if k != MANIFEST_NAME} == {
        k: v for k, v in before.items() if k != MANIFEST_NAME}
    code, _, built = build(capsys, specs, out, "--force")
    assert (code, built) == (0, 3) and tree(out) == before


def test_a_file_the_user_changed_is_never_overwritten(zoo, capsys):
    specs, out = zoo
    page = out / "specs" / "other.md"
    page.write_text("my edits")
    code, err, _ = build(capsys, specs, out)  # the page no longer matches the record: other is rebuilt
    assert code == 2 and "specs/other.md (changed since archcalc wrote it)" in err
    assert page.read_text() == "my edits"
    (out / "specs" / "other.layers.svg").unlink()  # a generated file gone: written again, nothing else
    page.unlink()
    code, err, built = build(capsys, specs, out)
    assert (code, built) == (0, 1) and " 2 written" in err and (out / "specs" / "other.layers.svg").is_file()


def test_another_archcalc_source_builds_everything(zoo, capsys, monkeypatch):
    specs, out = zoo
    before = tree(out)
    monkeypatch.setattr(digest, "source_digest", lambda: "sha256:another archcalc")
    code, err, built = build(capsys, specs, out)
    assert (code, built) == (0, 3) and " 0 written" in err
    after = tree(out)
    assert after.pop(MANIFEST_NAME) != before.pop(MANIFEST_NAME) and after == before  # a new build key


def test_spec_inputs_follow_the_extends_chain(zoo):
    specs, _ = zoo
    inputs = digest.spec_inputs(specs / "variant.yaml")
    assert list(inputs) == ["variant.yaml", "base.yaml"]
    assert inputs["base.yaml"] == digest.file_digest(specs / "base.yaml")
    (specs / "broken.yaml").write_text("name: b\nextends: missing.yaml\n")
    assert digest.spec_inputs(specs / "broken.yaml") is None  # loading it says why
