"""A local cache of command outputs, so that asking again for the same report costs no validation.

``archcalc report SPEC`` does ~20 ms of work after a start-up dominated by importing pydantic to
validate the spec (pydantic's own import is about 2.5x ``python -c "import yaml"``). An output
already computed from the same bytes is printed from here instead, and the spec language is not
imported at all. An entry is used only when

* its **key** matches: the command and every option that shapes its output (the spec path as
  given and as resolved, ``--format``, ``--param``...), archcalc's source (each ``.py`` file of the
  package by path, size and modification time), the Python version, and the installed files of the
  libraries that shape the output (pydantic, pydantic-core, PyYAML, tabulate: path, size and
  modification time of their top module);
* every **input** file it records (the spec and each file of its ``extends:`` chain) still has the
  sha256 recorded, read again on every use.

Anything else (no entry, another key, a changed input, an entry that cannot be read) computes the
output as if there were no cache; errors are never cached. Where the cache lives:
``$ARCHCALC_CACHE_DIR``, else ``$XDG_CACHE_HOME/archcalc``, else ``~/.cache/archcalc``.
``ARCHCALC_CACHE=off`` (or a command's ``--no-cache``) turns it off. A folder that cannot be made,
read or written is skipped without a word: the cache only ever saves time. Entries are written
atomically (a temporary file renamed into place) into a folder archcalc made for them, only
files named like an entry are ever removed, and at most :data:`MAX_ENTRIES` are kept (the least
recently used go first).
"""

from __future__ import annotations

__all__ = ["CACHE_ENV", "DIR_ENV", "MAX_ENTRIES", "MAX_OUTPUT_CHARS", "enabled", "cache_dir", "command_key",
           "input_digests", "lookup", "store"]

import hashlib
import json
import os
import re
import sys
import tempfile
from pathlib import Path
from typing import Any, Iterable, Mapping

from ._version import __version__

CACHE_ENV = "ARCHCALC_CACHE"
"""Set to ``off`` (or ``0``, ``no``, ``false``) to turn the cache off."""
DIR_ENV = "ARCHCALC_CACHE_DIR"
"""The cache's folder, instead of ``$XDG_CACHE_HOME/archcalc`` or ``~/.cache/archcalc``."""
MAX_ENTRIES = 512
MAX_OUTPUT_CHARS = 4_000_000
"""Outputs longer than this are not kept (a report of a 100,000-row chain)."""
FORMAT = 1
LIBRARIES = ("pydantic", "pydantic_core", "yaml", "tabulate")
"""The libraries whose installed files are part of every key (they validate, read and format)."""
_ENTRY = re.compile(r"^[0-9a-f]{40}\.json$")


def enabled(no_cache: bool = False) -> bool:
    """Whether to use the cache: not when ``no_cache`` (the command's flag) or ``$ARCHCALC_CACHE`` says off."""
    return not no_cache and os.environ.get(CACHE_ENV, "").strip().lower() not in ("off", "0", "no", "false")


def cache_dir() -> Path:
    """The cache's folder (see the module's documentation); it may not exist yet."""
    explicit = os.environ.get(DIR_ENV)
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "archcalc"


def _stamp(path: str) -> list[Any]:
    info = os.stat(path)
    return [path, info.st_size, info.st_mtime_ns]


def _program_stamp() -> list[Any]:
    """archcalc's source files and the libraries' top modules, each by path, size and modification time."""
    from importlib.util import find_spec

    package = os.path.dirname(os.path.abspath(__file__))
    files: list[Any] = []
    for folder, dirs, names in os.walk(package):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        files.extend(_stamp(os.path.join(folder, n)) for n in sorted(names) if n.endswith(".py"))
    libraries = []
    for name in LIBRARIES:
        spec = find_spec(name)
        libraries.append(_stamp(spec.origin) if spec is not None and spec.origin else [name, None])
    return [__version__, list(sys.version_info[:3]), sys.implementation.name, files, libraries]


def command_key(command: str, options: Mapping[str, Any]) -> str:
    """The key of ``command`` run with ``options`` (JSON-able values; the program's stamp is added)."""
    text = json.dumps([FORMAT, command, dict(options), _program_stamp()], sort_keys=True, default=str,
                      separators=(",", ":"))
    return hashlib.sha1(text.encode()).hexdigest()


def _digest(path: str) -> str | None:
    from .fileio import content_hash

    try:
        with open(path, "rb") as f:
            return content_hash(f.read())
    except OSError:
        return None


def lookup(key: str) -> str | None:
    """The output stored under ``key`` if each of its input files is unchanged, else None."""
    path = cache_dir() / f"{key}.json"
    try:
        with open(path, encoding="utf-8") as f:
            entry = json.load(f)
        if not (isinstance(entry, dict) and entry.get("format") == FORMAT and entry.get("key") == key):
            return None
        inputs, output = entry.get("inputs"), entry.get("output")
        if not (isinstance(inputs, dict) and inputs and isinstance(output, str)):
            return None
        if any(_digest(p) != d for p, d in inputs.items()):
            return None
    except (OSError, ValueError):
        return None
    try:
        os.utime(path)  # recently used: pruned last
    except OSError:
        pass  # a read-only cache still serves
    return output


def input_digests(files: Iterable[str | Path]) -> dict[str, str] | None:
    """``{absolute path: sha256}`` of ``files``, read now (before the command reads them); None if one cannot be read."""
    out: dict[str, str] = {}
    for f in files:
        p = os.path.abspath(f)
        digest = _digest(p)
        if digest is None:
            return None
        out[p] = digest
    return out


def store(key: str, inputs: Mapping[str, str] | None, output: str) -> None:
    """Keep ``output`` under ``key`` with the ``inputs`` it was computed from; never raises."""
    if not inputs or len(output) > MAX_OUTPUT_CHARS:
        return
    folder = cache_dir()
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        text = json.dumps({"format": FORMAT, "key": key, "inputs": dict(inputs), "output": output})
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
            os.replace(tmp, folder / f"{key}.json")
        except BaseException:
            os.unlink(tmp)
            raise
        _prune(folder)
    except OSError:
        return


def _prune(folder: Path) -> None:
    entries = []
    with os.scandir(folder) as it:
        for e in it:
            if _ENTRY.match(e.name) and e.is_file(follow_symlinks=False):
                entries.append((e.stat(follow_symlinks=False).st_mtime_ns, e.path))
    if len(entries) <= MAX_ENTRIES:
        return
    entries.sort()
    for _, path in entries[:len(entries) - MAX_ENTRIES]:
        try:
            os.unlink(path)
        except OSError:
            pass
