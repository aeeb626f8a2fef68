"""Writing outputs without destroying anything.

:func:`write_output` writes one output file (``-o FILE``):

* a regular file is replaced atomically (a temporary file beside it, then :func:`os.replace`),
  keeping the old file's permission bits (and, as root, its owner); a new file gets
  ``0o666 & ~umask``, as :func:`open` would give it;
* a symbolic link is written *through*: its final target is replaced and the link stays a link;
* a device, FIFO or socket is opened and written directly (no temporary file, never replaced);
  ``-`` is standard output;
* a write-protected file (no write bit for anyone, or not writable for this user) is refused
  unless ``force``; an input file (same inode) is always refused; a directory, a missing or
  read-only folder or any failed write (a full disk) is an :class:`~archcalc.errors.OutputError`,
  with no temporary file left behind. Missing folders are not created (unless ``make_dirs``).

:func:`write_tree` writes a folder of generated files (``archcalc report --all``) and keeps a
manifest there (:data:`MANIFEST_NAME`: relative path -> sha256 of what archcalc wrote). It only
ever rewrites or removes files listed in the manifest whose content is still what it wrote; any
other file in the way is reported, and nothing is written, unless ``force``.
"""

from __future__ import annotations

__all__ = ["write_output", "check_output", "write_atomic", "write_tree", "TreeResult", "MANIFEST_NAME",
           "read_manifest", "content_hash"]

import errno
import hashlib
import json
import os
import stat
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Iterable, Mapping

from .errors import Location, OutputError

STDOUT = "-"
MANIFEST_NAME = ".archcalc-manifest.json"
_WRITE_BITS = stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH


def _error(path: str | Path, message: str, hint: str | None = None) -> OutputError:
    return OutputError(message, Location(file=str(path)), hint=hint)


def _os_error(path: str | Path, exc: OSError, doing: str = "cannot write") -> OutputError:
    reason = exc.strerror or str(exc)
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        reason = "no space left on the device"
    return _error(path, f"{doing}: {reason}")


def _as_bytes(data: str | bytes) -> bytes:
    return data if isinstance(data, bytes) else data.encode("utf-8")


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _identity(path: str | Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def _refuse_inputs(shown: str | Path, target: str | Path, inputs: Iterable[str | Path]) -> None:
    here = _identity(target)
    if here is None:
        return
    for item in inputs:
        if _identity(item) == here:
            raise _error(shown, f"refusing to write over the input file {item}",
                         hint="choose another output file")


def _write_protected(path: str | Path, st: os.stat_result) -> bool:
    # root passes os.access for any file, so the mode bits are checked as well
    return not st.st_mode & _WRITE_BITS or not os.access(path, os.W_OK)


@dataclass(frozen=True)
class _Plan:
    how: str  # "stdout", "direct" (device, FIFO, socket) or "replace" (regular file, new or old)
    target: str  # the file actually written (a symlink's final target)
    mode: int | None = None  # permission bits of the file written by "replace"
    owner: tuple[int, int] | None = None  # (uid, gid) of the file replaced


def _plan(path: str | Path, *, force: bool, inputs: Iterable[str | Path], make_dirs: bool) -> _Plan:
    shown = str(path)
    if shown == STDOUT:
        return _Plan("stdout", STDOUT)
    if not shown:
        raise _error("-o", "the output path is empty")
    inputs = list(inputs)
    target = shown
    try:
        st = os.lstat(target)
    except FileNotFoundError:
        st = None
    except OSError as exc:  # ENOTDIR (a file used as a folder), EACCES, ELOOP, ENAMETOOLONG
        raise _os_error(shown, exc) from None
    if st is not None and stat.S_ISLNK(st.st_mode):  # write through the link
        target = os.path.realpath(shown)
        try:
            st = os.lstat(target)
        except FileNotFoundError:  # a dangling link: create its target
            st = None
        except OSError as exc:
            raise _os_error(shown, exc) from None
        if st is not None and stat.S_ISLNK(st.st_mode):
            raise _error(shown, "symbolic link loop")
    if st is not None:
        _refuse_inputs(shown, target, inputs)
        if stat.S_ISDIR(st.st_mode):
            raise _error(shown, "is a directory; -o names the file to write")
        if not stat.S_ISREG(st.st_mode):
            return _Plan("direct", target)
        if _write_protected(target, st) and not force:
            raise _error(shown, "is write-protected; not replacing it", hint="use --force to replace it anyway")
    elif shown.endswith(os.sep):
        raise _error(shown, "names a directory; -o names the file to write")
    folder = os.path.dirname(target) or "."
    try:
        fst = os.stat(folder)
    except FileNotFoundError:
        if not make_dirs:
            raise _error(shown, f"the folder {folder} does not exist (archcalc does not create it)") from None
        fst = None
    except OSError as exc:
        raise _os_error(shown, exc) from None
    if fst is not None:
        if not stat.S_ISDIR(fst.st_mode):
            raise _error(shown, f"{folder} is not a folder")
        if not fst.st_mode & _WRITE_BITS or not os.access(folder, os.W_OK | os.X_OK):
            raise _error(shown, f"the folder {folder} is not writable")
    if st is None:
        return _Plan("replace", target, mode=0o666 & ~_umask())
    return _Plan("replace", target, mode=stat.S_IMODE(st.st_mode) & 0o777, owner=(st.st_uid, st.st_gid))


def check_output(path: str | Path, *, force: bool = False, inputs: Iterable[str | Path] = (),
                 make_dirs: bool = False) -> None:
    """Raise the :class:`OutputError` that :func:`write_output` would raise before writing
    (a command calls this first, to fail before any work); writes nothing."""
    _plan(path, force=force, inputs=inputs, make_dirs=make_dirs)


def write_output(path: str | Path, data: str | bytes, *, force: bool = False, inputs: Iterable[str | Path] = (),
                 make_dirs: bool = False) -> None:
    """Write ``data`` (text is UTF-8) to ``path`` (``"-"``: standard output) without destroying anything.

    See the module docstring for what happens to each kind of target. ``force`` replaces a
    write-protected file; ``inputs`` are files that must never be written over (the specs read);
    ``make_dirs`` creates missing folders (for result trees, not for ``-o FILE``). Every failure
    is an :class:`OutputError`, and on failure the old file (if any) is untouched.
    """
    plan = _plan(path, force=force, inputs=inputs, make_dirs=make_dirs)
    if plan.how == "stdout":
        _write_stdout(data)
    elif plan.how == "direct":
        _write_direct(str(path), plan.target, _as_bytes(data))
    else:
        _replace(str(path), plan, _as_bytes(data), make_dirs=make_dirs)


def write_atomic(path: str | Path, data: str | bytes) -> None:
    """:func:`write_output` for files in a results tree: missing folders are created."""
    write_output(path, data, make_dirs=True)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _write_stdout(data: str | bytes) -> None:
    stream = sys.stdout
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):  # a stream in memory (tests, embedding)
        fd = None
    try:
        if fd is None:
            if isinstance(data, bytes):
                getattr(stream, "buffer", stream).write(data)
            else:
                stream.write(data)
            stream.flush()
        else:  # unbuffered, so a failure is seen here and nothing is left to fail again at exit
            stream.flush()
            encoded = data if isinstance(data, bytes) else data.encode(stream.encoding or "utf-8",
                                                                        stream.errors or "strict")
            _write_all(fd, encoded)
    except BrokenPipeError:
        raise
    except OSError as exc:
        raise _os_error("standard output", exc) from None


def _write_direct(shown: str, target: str, data: bytes) -> None:
    try:
        fd = os.open(target, os.O_WRONLY | os.O_NOCTTY | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise _os_error(shown, exc, "cannot open for writing") from None
    try:
        _write_all(fd, data)
    except OSError as exc:
        raise _os_error(shown, exc) from None
    finally:
        os.close(fd)


def _replace(shown: str, plan: _Plan, data: bytes, *, make_dirs: bool) -> None:
    folder = os.path.dirname(plan.target) or "."
    if make_dirs:
        try:
            os.makedirs(folder, exist_ok=True)
        except OSError as exc:
            raise _os_error(shown, exc, f"cannot create the folder {folder}") from None
    name = os.path.basename(plan.target)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise _os_error(shown, exc, f"cannot create a file in {folder}") from None
    try:
        try:
            if plan.owner is not None and os.geteuid() == 0:
                try:
                    os.fchown(fd, *plan.owner)
                except OSError:
                    pass
            os.fchmod(fd, plan.mode if plan.mode is not None else 0o644)
            _write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, plan.target)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(exc, OSError):
            raise _os_error(shown, exc) from None
        raise


# --------------------------------------------------------------------------- trees with a manifest


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


def _manifest_text(files: Mapping[str, str]) -> str:
    doc = {"about": "Files archcalc wrote in this folder, with the sha256 of their content. archcalc rewrites "
                    "or removes only these, and only while they are unchanged; it never touches anything else.",
           "files": dict(sorted(files.items()))}
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
               inputs: Iterable[str | Path] = ()) -> TreeResult:
    """Make ``out_dir`` hold ``files`` (relative POSIX path -> content), keeping its manifest.

    Checks everything first, then writes: a file to write or a stale one to remove (listed in
    the old manifest, no longer generated) that exists but is not in the manifest, or changed
    since archcalc wrote it, is a conflict; conflicts raise one :class:`OutputError` listing
    them and nothing is written, unless ``force`` (then they are replaced or removed). A file
    already holding the wanted bytes is kept as is. Symbolic links, folders and ``inputs`` are
    never written over, even with ``force``. ``out_dir`` is created (not its parents).
    Everything not named by ``files`` or the manifest is left alone.
    """
    out = Path(out_dir)
    inputs = list(inputs)
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
        if any(_identity(out / rel) == _identity(i) for i in inputs):
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
    finally:
        text = _manifest_text(state)
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
