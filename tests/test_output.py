"""Outputs never destroy anything: how ``-o`` treats each kind of target, and ``report --all``'s manifest.

Everything happens under tmp_path: "non-regular files" are FIFOs made here, never real device nodes.
"""

from __future__ import annotations

import errno
import json
import os
import re
import stat
from pathlib import Path

import pytest

from archcalc.cli import main
from archcalc.errors import OutputError
from archcalc.fileio import MANIFEST_NAME, content_hash, read_manifest, write_output, write_tree

from conftest import ROOT, SPECS

ALEXNET = SPECS / "alexnet.yaml"
TINY = "name: tiny\ninput: [3, 8, 8]\nlayers:\n  - {type: conv, out: 4, kernel: 3}\n  - {type: relu}\n"
BROKEN = "name: broken\ninput: [3, 8, 8]\nlayers:\n  - {type: conv, out: 4, kernl: 3}\n"


def report(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["report", str(ALEXNET), "--format", "csv", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def csv_text(capsys) -> str:
    code, out, _ = report(capsys)
    assert code == 0
    return out


def leftovers(folder: Path) -> list[str]:
    """Temporary files a failed write would leave (``.NAME.XXXX.tmp``)."""
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


@pytest.fixture
def umask():
    """Set the process umask for one test, restoring it afterwards."""
    saved = os.umask(0o022)
    os.umask(saved)
    yield os.umask
    os.umask(saved)


# --------------------------------------------------------------------------- regular files


@pytest.mark.parametrize("mask,mode", [(0o022, 0o644), (0o027, 0o640), (0o077, 0o600)])
def test_new_file_honours_umask(tmp_path, capsys, umask, mask, mode):
    umask(mask)
    out = tmp_path / "r.csv"
    assert report(capsys, "-o", str(out))[0] == 0
    assert stat.S_IMODE(out.stat().st_mode) == mode  # 0o666 & ~umask, as open() would create it
    assert out.read_text() == csv_text(capsys)


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_replaced_file_keeps_its_mode(tmp_path, capsys, umask, mode):
    umask(0o077)  # the old file's mode wins over the umask
    out = tmp_path / "r.csv"
    out.write_text("old")
    out.chmod(mode)
    inode = out.stat().st_ino
    assert report(capsys, "-o", str(out))[0] == 0
    assert stat.S_IMODE(out.stat().st_mode) == mode
    assert out.read_text() == csv_text(capsys)
    assert out.stat().st_ino != inode  # replaced atomically, not rewritten in place
    assert leftovers(tmp_path) == []


def test_write_protected_file_is_refused_without_force(tmp_path, capsys):
    out = tmp_path / "r.csv"
    out.write_text("old")
    out.chmod(0o444)  # root could write it anyway: the mode bits decide
    code, _, err = report(capsys, "-o", str(out))
    assert code == 2 and "write-protected" in err and "--force" in err and "Traceback" not in err
    assert out.read_text() == "old"
    assert report(capsys, "-o", str(out), "--force")[0] == 0
    assert out.read_text() == csv_text(capsys) and stat.S_IMODE(out.stat().st_mode) == 0o444


def test_input_spec_is_never_written_over(tmp_path, capsys):
    spec = tmp_path / "net.yaml"
    spec.write_text(TINY)
    (tmp_path / "link.yaml").symlink_to(spec)
    os.link(spec, tmp_path / "hard.yaml")
    for target in (spec, tmp_path / "link.yaml", tmp_path / "hard.yaml"):
        for extra in ([], ["--force"]):
            assert main(["report", str(spec), "-o", str(target), *extra]) == 2
            assert "refusing to write over the input file" in capsys.readouterr().err
    assert spec.read_text() == TINY and (tmp_path / "link.yaml").is_symlink()


def test_plot_refuses_to_write_over_its_input(tmp_path, capsys):
    spec = tmp_path / "net.svg"  # a spec with an image's name, given as the output too
    spec.write_text(TINY)
    assert main(["plot", "layers", str(spec), "-o", str(spec)]) == 2
    assert "input file" in capsys.readouterr().err and spec.read_text() == TINY


def test_nothing_written_when_the_command_fails(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text(BROKEN)
    old, new = tmp_path / "old.txt", tmp_path / "new.txt"
    old.write_text("previous")
    for out in (old, new):
        assert main(["report", str(bad), "-o", str(out)]) == 2
        assert "kernl" in capsys.readouterr().err
    assert old.read_text() == "previous" and not new.exists() and leftovers(tmp_path) == []


# --------------------------------------------------------------------------- other kinds of target


def test_symlink_is_written_through(tmp_path, capsys):
    target = tmp_path / "real.csv"
    target.write_text("old")
    target.chmod(0o640)
    link = tmp_path / "link.csv"
    link.symlink_to(target.name)
    assert report(capsys, "-o", str(link))[0] == 0
    assert link.is_symlink() and os.readlink(link) == "real.csv"
    assert target.read_text() == csv_text(capsys) and stat.S_IMODE(target.stat().st_mode) == 0o640


def test_dangling_symlink_creates_its_target(tmp_path, capsys):
    (tmp_path / "sub").mkdir()
    link = tmp_path / "link.csv"
    link.symlink_to("sub/made.csv")
    assert report(capsys, "-o", str(link))[0] == 0
    assert link.is_symlink() and (tmp_path / "sub" / "made.csv").read_text() == csv_text(capsys)


def test_fifo_is_written_directly(tmp_path, capsys):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # a reader is there: the writer cannot block
    try:
        assert report(capsys, "-o", str(fifo))[0] == 0  # a few KB: fits in the pipe buffer
        chunks = []
        while chunk := os.read(reader, 1 << 16):
            chunks.append(chunk)
    finally:
        os.close(reader)
    assert b"".join(chunks).decode() == csv_text(capsys)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)  # still a FIFO, not replaced by a regular file
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pipe"]


def test_non_regular_file_is_opened_not_replaced(tmp_path, monkeypatch, capsys):
    """Whatever is not a regular file (a device, say) is opened for writing, never renamed over."""
    import archcalc.fileio as fileio

    out = tmp_path / "device"
    out.write_text("")
    real_lstat = os.lstat

    def lstat(path, *a, **k):
        st = real_lstat(path, *a, **k)
        if os.fspath(path) == str(out):  # pretend it is a character device
            return os.stat_result((stat.S_IFCHR | 0o666, *tuple(st)[1:]))
        return st

    monkeypatch.setattr(fileio.os, "lstat", lstat)
    monkeypatch.setattr(fileio.os, "replace", lambda *a: pytest.fail("a device must not be replaced"))
    inode = out.stat().st_ino
    assert report(capsys, "-o", str(out))[0] == 0
    assert out.stat().st_ino == inode and out.read_text() == csv_text(capsys)


def test_dash_is_stdout(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    code, out, _ = report(capsys, "-o", "-")
    assert code == 0 and out == csv_text(capsys) and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("case", ["directory", "missing folder", "file as folder", "read-only folder", "empty"])
def test_unwritable_targets_are_clean_errors(tmp_path, capsys, case):
    folder = tmp_path / "d"
    folder.mkdir()
    target, expected = {
        "directory": (folder, "is a directory"),
        "missing folder": (tmp_path / "no" / "such" / "r.csv", f"the folder {tmp_path / 'no' / 'such'} does not exist"),
        "file as folder": (tmp_path / "f.txt" / "r.csv", "Not a directory"),
        "read-only folder": (folder / "r.csv", "not writable"),
        "empty": ("", "empty"),
    }[case]
    if case == "file as folder":
        (tmp_path / "f.txt").write_text("x")
    if case == "read-only folder":
        folder.chmod(0o555)  # root may still write there: the mode bits decide
    try:
        before = sorted(tmp_path.rglob("*"))
        code, out, err = report(capsys, "-o", str(target))
        assert code == 2 and out == "" and "Traceback" not in err
        assert err.startswith("archcalc: error: ") and expected in err
        assert sorted(tmp_path.rglob("*")) == before  # no folder created, no temporary file left
    finally:
        folder.chmod(0o755)


def test_full_disk_on_a_file_leaves_the_old_file(tmp_path, monkeypatch, capsys):
    import archcalc.fileio as fileio

    def full(fd, data):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    out = tmp_path / "r.csv"
    out.write_text("previous")
    monkeypatch.setattr(fileio, "_write_all", full)
    for target in (out, tmp_path / "new.csv"):
        code, _, err = report(capsys, "-o", str(target))
        assert code == 2 and "no space left" in err and "Traceback" not in err
    assert out.read_text() == "previous" and sorted(p.name for p in tmp_path.iterdir()) == ["r.csv"]


def test_full_disk_on_stdout_is_a_clean_error(monkeypatch, capsys):
    class Full:
        encoding = "utf-8"

        def write(self, data):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        def flush(self):
            pass

    monkeypatch.setattr("sys.stdout", Full())
    code = main(["report", str(ALEXNET)])
    err = capsys.readouterr().err
    assert code == 2 and err == "archcalc: error: standard output: cannot write: no space left on the device\n"


def test_library_writer_raises_output_error(tmp_path):
    with pytest.raises(OutputError) as exc:
        write_output(tmp_path, "x")
    assert exc.value.location.file == str(tmp_path) and exc.value.exit_code == 2
    write_output(tmp_path / "b.bin", b"\x00\xff")
    assert (tmp_path / "b.bin").read_bytes() == b"\x00\xff"


def test_test_suite_never_writes_to_dev():
    """No test passes a path under /dev as an output (it once replaced /dev/null as root)."""
    pattern = re.compile(r"""["'](-o|--output|--save-dir)["']\s*,\s*["']/dev/""")
    offenders = [p.name for p in sorted((ROOT / "tests").glob("*.py")) if pattern.search(p.read_text())]
    assert offenders == []


# --------------------------------------------------------------------------- trees with a manifest


def tree(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def test_tree_writes_files_and_manifest(tmp_path):
    out = tmp_path / "site"
    result = write_tree(out, {"a.md": "A", "sub/b.svg": "B"})
    assert sorted(result.written) == ["a.md", "sub/b.svg"]
    manifest = json.loads((out / MANIFEST_NAME).read_text())["files"]
    assert manifest == {"a.md": content_hash("A"), "sub/b.svg": content_hash("B")}
    assert read_manifest(out) == manifest
    again = write_tree(out, {"a.md": "A", "sub/b.svg": "B"})
    assert again.written == [] and sorted(again.unchanged) == ["a.md", "sub/b.svg"]


def test_tree_refuses_files_it_did_not_write(tmp_path):
    out = tmp_path / "site"
    (out / "sub").mkdir(parents=True)
    (out / "README.md").write_text("the user's own")
    (out / "sub" / "same.svg").write_text("S")  # already what would be written: adopted as is
    before = tree(out)
    with pytest.raises(OutputError) as exc:
        write_tree(out, {"README.md": "generated", "sub/new.svg": "N", "sub/same.svg": "S"})
    assert "README.md (not written by archcalc)" in str(exc.value) and "--force" in str(exc.value)
    assert tree(out) == before  # nothing written, not even the manifest
    write_tree(out, {"README.md": "generated", "sub/new.svg": "N", "sub/same.svg": "S"}, force=True)
    assert (out / "README.md").read_text() == "generated" and set(read_manifest(out)) == {
        "README.md", "sub/new.svg", "sub/same.svg"}


def test_tree_refuses_files_changed_since(tmp_path):
    out = tmp_path / "site"
    write_tree(out, {"a.md": "A", "b.md": "B"})
    (out / "a.md").write_text("edited by hand")
    (out / "b.md").write_text("edited too")
    with pytest.raises(OutputError, match=r"a\.md \(changed since archcalc wrote it\)"):
        write_tree(out, {"a.md": "A2"})  # b.md would be removed as stale: refused as well
    assert (out / "a.md").read_text() == "edited by hand" and (out / "b.md").read_text() == "edited too"


def test_tree_removes_only_its_own_stale_files(tmp_path):
    out = tmp_path / "site"
    write_tree(out, {"specs/x.md": "X", "specs/y.md": "Y", "index.md": "I"})
    (out / "specs" / "my_notes.md").write_text("mine")
    (out / "bench").mkdir()
    (out / "bench" / "run.json").write_text("{}")
    result = write_tree(out, {"index.md": "I2"})
    assert sorted(result.removed) == ["specs/x.md", "specs/y.md"] and result.written == ["index.md"]
    assert tree(out) == {"bench/run.json": b"{}", "index.md": b"I2", "specs/my_notes.md": b"mine",
                         MANIFEST_NAME: (out / MANIFEST_NAME).read_bytes()}
    assert set(read_manifest(out)) == {"index.md"}


def test_tree_failing_half_way_keeps_an_honest_manifest(tmp_path, monkeypatch):
    import archcalc.fileio as fileio

    out = tmp_path / "site"
    write_tree(out, {"a.md": "A", "b.md": "B"})
    real, calls = fileio._write_all, []

    def second_write_fails(fd, data):
        calls.append(data)
        if len(calls) == 2:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real(fd, data)

    monkeypatch.setattr(fileio, "_write_all", second_write_fails)
    with pytest.raises(OutputError, match="no space left"):
        write_tree(out, {"a.md": "A2", "b.md": "B2"})
    assert (out / "a.md").read_text() == "A2" and (out / "b.md").read_text() == "B"
    assert read_manifest(out) == {"a.md": content_hash("A2"), "b.md": content_hash("B")}
    assert leftovers(out) == []
    monkeypatch.setattr(fileio, "_write_all", real)
    assert write_tree(out, {"a.md": "A2", "b.md": "B2"}).written == ["b.md"]  # no conflict: both are ours


def test_tree_never_follows_or_replaces_links_and_folders(tmp_path):
    out = tmp_path / "site"
    outside = tmp_path / "outside.md"
    outside.write_text("elsewhere")
    out.mkdir()
    (out / "a.md").symlink_to(outside)
    (out / "b.md").mkdir()
    for force in (False, True):
        with pytest.raises(OutputError, match="not a regular file.*b.md .is a folder"):
            write_tree(out, {"a.md": "A", "b.md": "B"}, force=force)
    assert outside.read_text() == "elsewhere" and (out / "a.md").is_symlink()


@pytest.mark.parametrize("manifest", ['{"files": {"../escape.md": "sha256:0"}}', "not json", '{"files": []}'])
def test_tree_rejects_a_bad_manifest(tmp_path, manifest):
    out = tmp_path / "site"
    out.mkdir()
    (out / MANIFEST_NAME).write_text(manifest)
    (tmp_path / "escape.md").write_text("keep")
    with pytest.raises(OutputError, match="manifest"):
        write_tree(out, {"a.md": "A"})
    assert not (out / "a.md").exists()
    write_tree(out, {"a.md": "A"}, force=True)  # --force starts a new manifest
    assert read_manifest(out) == {"a.md": content_hash("A")} and (tmp_path / "escape.md").read_text() == "keep"


def test_tree_output_folder_rules(tmp_path):
    with pytest.raises(OutputError, match="is not a folder"):
        (tmp_path / "file").write_text("")
        write_tree(tmp_path / "file", {"a.md": "A"})
    with pytest.raises(OutputError, match="does not exist"):
        write_tree(tmp_path / "no" / "site", {"a.md": "A"})
    assert not (tmp_path / "no").exists()


# --------------------------------------------------------------------------- report --all


@pytest.fixture
def spec_dir(tmp_path):
    specs = tmp_path / "specs"
    specs.mkdir()
    (specs / "tiny.yaml").write_text(TINY)
    return specs


def test_report_all_failing_run_changes_nothing(tmp_path, spec_dir, capsys):
    out = tmp_path / "reports"
    assert main(["report", "--all", str(spec_dir), "-o", str(out)]) == 0
    assert {"specs/tiny.md", "specs/tiny.html", "README.md"} <= set(read_manifest(out))
    (spec_dir / "tiny.yaml").write_text(BROKEN.replace("broken", "tiny"))  # the spec breaks
    (spec_dir / "other.yaml").write_text(TINY.replace("tiny", "other"))
    before = tree(out)
    capsys.readouterr()
    assert main(["report", "--all", str(spec_dir), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "kernl" in err and "nothing written" in err
    assert tree(out) == before  # tiny's four pages are still there; no page for other


def test_report_all_refuses_user_files_unless_force(tmp_path, spec_dir, capsys):
    out = tmp_path / "reports"
    out.mkdir()
    (out / "README.md").write_text("my readme")
    assert main(["report", "--all", str(spec_dir), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "README.md (not written by archcalc)" in err and "--force" in err
    assert tree(out) == {"README.md": b"my readme"}
    assert main(["report", "--all", str(spec_dir), "-o", str(out), "--force"]) == 0
    assert (out / "README.md").read_text() != "my readme" and "README.md" in read_manifest(out)


def test_report_all_output_must_be_a_folder(tmp_path, spec_dir, capsys):
    (tmp_path / "file").write_text("x")
    for target in (str(tmp_path / "file"), "-"):
        assert main(["report", "--all", str(spec_dir), "-o", target]) == 2
        assert "-o must name a directory" in capsys.readouterr().err
    assert (tmp_path / "file").read_text() == "x"
