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
other file in the way is reported, and nothing is written, unless ``force``. The manifest may also
keep the writer's record of how the files were made (``write_tree(record=...)``,
:func:`read_build_record`): ``archcalc report --all`` decides from it what to rebuild.
"""

from __future__ import annotations

__all__ = ["write_output", "check_output", "write_atomic", "write_tree", "TreeResult", "MANIFEST_NAME",
           "read_manifest", "read_build_record", "content_hash"]
# This package's own module is the single-file writer; the tree and its manifest are :mod:`.tree`
# (re-exported at the end, as it builds on the writer).

import errno
import os
import stat
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from ..errors import Location, OutputError

STDOUT = "-"
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


from .tree import MANIFEST_NAME, TreeResult, content_hash, read_build_record, read_manifest, write_tree  # noqa: E402  (builds on the writer)
