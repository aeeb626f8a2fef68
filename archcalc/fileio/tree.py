"""A folder of generated files with a manifest (``archcalc report --all``): :func:`write_tree`.

The manifest (:data:`MANIFEST_NAME`: relative path -> sha256 of what archcalc wrote) lets a
regeneration rewrite or remove only the files archcalc wrote and that are still as it wrote them;
any other file in the way is reported, and nothing is written, unless ``force``. Each file is
written with :func:`archcalc.fileio.write_output`.
"""

from __future__ import annotations

__all__ = ["write_tree", "TreeResult", "MANIFEST_NAME", "read_manifest", "read_build_record", "content_hash"]

import hashlib
import json
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Iterable, Mapping

from . import _WRITE_BITS, _as_bytes, _error, _identity, _os_error, write_output
from ..errors import OutputError

MANIFEST_NAME = ".archcalc-manifest.json"



def content_hash(data: str | bytes) -> str:
    return "sha256:" + hashlib.sha256(_as_bytes(data)).hexdigest()


def _valid_rel(rel: str) -> bool:
    p = PurePosixPath(rel)
    return (bool(rel) and not p.is_absolute() and ".." not in p.parts and "\\" not in rel
            and str(p) == rel and rel != MANIFEST_NAME)


def read_manifest(out_dir: str | Path) -> dict[str, str]:
    """The manifest of ``out_dir`` (relative path -> content hash); empty when there is none."""
    path = Path(out_dir) / MANIFEST_NAME
    if not os.path.lexists(path):
        return {}
    try:
        if not stat.S_ISREG(os.lstat(path).st_mode):
            raise ValueError("not a regular file")
        doc = json.loads(path.read_text(encoding="utf-8"))
        files = doc["files"]
        if not isinstance(files, dict) or not all(isinstance(k, str) and isinstance(v, str) and _valid_rel(k)
                                                  for k, v in files.items()):
            raise ValueError("'files' must map relative paths to hashes")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise _error(path, f"cannot read archcalc's manifest: {exc}",
                     hint="remove it (and check the files beside it) or use --force") from None
    return dict(files)


def read_build_record(out_dir: str | Path) -> dict[str, Any] | None:
    """The ``build`` record kept in the manifest of ``out_dir`` (what the writer stored with
    ``write_tree(record=...)``), or None when there is none or it cannot be read: a record is only
    ever a shortcut, so an unreadable one means "rebuild", never an error."""
    path = Path(out_dir) / MANIFEST_NAME
    try:
        if not stat.S_ISREG(os.lstat(path).st_mode):
            return None
        record = json.loads(path.read_text(encoding="utf-8")).get("build")
    except (OSError, ValueError, AttributeError):
        return None
    return record if isinstance(record, dict) else None


def _manifest_text(files: Mapping[str, str], record: Mapping[str, Any] | None = None) -> str:
    doc: dict[str, Any] = {
        "about": "Files archcalc wrote in this folder, with the sha256 of their content. archcalc rewrites "
                 "or removes only these, and only while they are unchanged; it never touches anything else.",
        "files": dict(sorted(files.items()))}
    if record is not None:
        doc["build"] = record
    return json.dumps(doc, indent=1) + "\n"


@dataclass
class TreeResult:
    """What :func:`write_tree` did (relative paths)."""

    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


def _read_regular(path: Path) -> bytes | None:
    """The bytes of a regular file (not through a symlink); None when it does not exist."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    if not stat.S_ISREG(st.st_mode):
        raise IsADirectoryError(path) if stat.S_ISDIR(st.st_mode) else ValueError("not a regular file")
    return path.read_bytes()


def write_tree(out_dir: str | Path, files: Mapping[str, str | bytes], *, force: bool = False,
               inputs: Iterable[str | Path] = (), record: Mapping[str, Any] | None = None) -> TreeResult:
    """Make ``out_dir`` hold ``files`` (relative POSIX path -> content), keeping its manifest.

    Checks everything first, then writes: a file to write or a stale one to remove (listed in
    the old manifest, no longer generated) that exists but is not in the manifest, or changed
    since archcalc wrote it, is a conflict; conflicts raise one :class:`OutputError` listing
    them and nothing is written, unless ``force`` (then they are replaced or removed). A file
    already holding the wanted bytes is kept as is. Symbolic links, folders and ``inputs`` are
    never written over, even with ``force``. ``out_dir`` is created (not its parents).
    Everything not named by ``files`` or the manifest is left alone.

    ``record`` (JSON data) is kept in the manifest under ``build`` (:func:`read_build_record`) when
    every file was written; after a failure half-way the manifest keeps no record.
    """
    out = Path(out_dir)
    inputs = list(inputs)
    input_ids = {ident for ident in map(_identity, inputs) if ident is not None}  # (device, inode) of each
    if os.path.lexists(out) and not out.is_dir():
        raise _error(out, "is not a folder")
    if not out.exists() and not out.parent.is_dir():
        raise _error(out, f"the folder {out.parent} does not exist (archcalc creates only {out.name}/)")
    for rel in files:
        if not _valid_rel(rel):
            raise ValueError(f"not a relative path inside the tree: {rel!r}")
    try:
        manifest = read_manifest(out) if out.is_dir() else {}
    except OutputError:
        if not force:
            raise
        manifest = {}
    wanted = {rel: _as_bytes(data) for rel, data in files.items()}
    result = TreeResult()
    conflicts: list[str] = []  # "path (reason)"
    refused: list[str] = []  # conflicts --force does not override
    new_manifest: dict[str, str] = {}
    to_write: list[str] = []

    def current(rel: str) -> bytes | None | bool:
        """The file's bytes, None when absent, False when it is in the way (``refused``)."""
        try:
            return _read_regular(out / rel)
        except NotADirectoryError:
            refused.append(f"{rel} (a parent is not a folder)")
        except IsADirectoryError:
            refused.append(f"{rel} (is a folder)")
        except ValueError:
            refused.append(f"{rel} (not a regular file)")
        except OSError as exc:
            refused.append(f"{rel} ({exc.strerror or exc})")
        return False

    manifest_path = out / MANIFEST_NAME
    if os.path.lexists(manifest_path) and not stat.S_ISREG(os.lstat(manifest_path).st_mode):
        refused.append(f"{MANIFEST_NAME} (not a regular file)")
    for rel, data in sorted(wanted.items()):
        old = current(rel)
        new_manifest[rel] = content_hash(data)
        if old is False:
            continue
        if old is None:
            to_write.append(rel)
            continue
        if _identity(out / rel) in input_ids:
            refused.append(f"{rel} (an input file)")
            continue
        if old == data:
            result.unchanged.append(rel)
            continue
        to_write.append(rel)
        if rel not in manifest:
            conflicts.append(f"{rel} (not written by archcalc)")
        elif content_hash(old) != manifest[rel]:
            conflicts.append(f"{rel} (changed since archcalc wrote it)")
        elif not os.lstat(out / rel).st_mode & _WRITE_BITS:
            conflicts.append(f"{rel} (write-protected)")
    to_remove: list[str] = []
    for rel in sorted(set(manifest) - set(wanted)):
        path = out / rel
        if not os.path.lexists(path):
            continue
        try:
            st = os.lstat(path)
        except OSError:
            continue
        if not stat.S_ISREG(st.st_mode):
            continue  # no longer archcalc's file: forget it
        if content_hash(path.read_bytes()) != manifest[rel]:
            conflicts.append(f"{rel} (stale, but changed since archcalc wrote it)")
        to_remove.append(rel)
    if refused or (conflicts and not force):
        problems = refused + ([] if force else conflicts)
        shown = ", ".join(problems[:8]) + (f" and {len(problems) - 8} more" if len(problems) > 8 else "")
        raise _error(out, f"not writing the tree: {len(problems)} file{'s' if len(problems) != 1 else ''} "
                          f"in the way: {shown}",
                     hint=None if refused else "archcalc replaces only files it wrote itself (listed in "
                          f"{MANIFEST_NAME}); move them away or use --force to replace them")
    try:
        out.mkdir(exist_ok=True)
    except OSError as exc:
        raise _os_error(out, exc, "cannot create the folder") from None
    # what the folder holds, kept true as files are written, so that the manifest written at the
    # end (also after a failure half-way, a full disk say) lists exactly what archcalc wrote
    state = {rel: digest for rel, digest in manifest.items() if rel in to_remove}
    state.update({rel: new_manifest[rel] for rel in result.unchanged})
    state.update({rel: manifest[rel] for rel in to_write if rel in manifest})
    complete = False
    try:
        for rel in to_write:
            write_output(out / rel, wanted[rel], force=True, inputs=inputs, make_dirs=True)
            state[rel] = new_manifest[rel]
            result.written.append(rel)
        for rel in to_remove:
            try:
                os.unlink(out / rel)
            except FileNotFoundError:
                pass
            except OSError as exc:
                raise _os_error(out / rel, exc, "cannot remove") from None
            state.pop(rel, None)
            result.removed.append(rel)
            _prune_empty(out, (out / rel).parent)
        complete = True
    finally:
        text = _manifest_text(state, record if complete else None)
        if _read_regular(manifest_path) != text.encode("utf-8"):
            write_output(manifest_path, text, force=True)
    return result


def _prune_empty(root: Path, folder: Path) -> None:
    """Remove ``folder`` and its parents below ``root`` while they are empty."""
    while folder != root and root in folder.parents:
        try:
            folder.rmdir()
        except OSError:
            return
        folder = folder.parent
