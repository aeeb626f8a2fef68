"""Content digests that decide what the reports tree must rebuild (see :mod:`.incremental`).

Each is a ``"sha256:<hex>"`` string of bytes, never of times or sizes: the same inputs give the
same digest on every machine.
"""

from __future__ import annotations

__all__ = ["DEPENDENCIES", "data_digest", "file_digest", "spec_inputs", "source_digest", "build_key"]

import hashlib
import json
import os
import stat
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping

from .._version import __version__
from ..fileio import content_hash

DEPENDENCIES = ("matplotlib", "numpy", "tabulate", "pyyaml", "pydantic")
"""The distributions whose version can change the bytes of a report (charts, tables, specs read)."""


def data_digest(data: Any) -> str:
    """The digest of JSON-able ``data`` (keys sorted)."""
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return content_hash(text)


def file_digest(path: Path) -> str | None:
    """The digest of a spec file's bytes; None when it is not a regular file that a spec could be
    (larger than a spec may be, a device: a record in the output folder names the files to hash)."""
    from ..yamlio import MAX_FILE_BYTES

    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_FILE_BYTES:
            return None
        return content_hash(path.read_bytes())
    except (OSError, ValueError):
        return None


def spec_inputs(path: Path) -> dict[str, str] | None:
    """The files the spec at ``path`` is made of (itself and its ``extends:`` chain), each as
    ``{path relative to the spec's folder: digest}``; None when the chain cannot be read (loading
    the spec reports why)."""
    from ..errors import ArchcalcError
    from ..spec.extends import extends_files

    try:
        files = extends_files(path)
    except (ArchcalcError, OSError, RecursionError):
        return None
    out: dict[str, str] = {}
    for f in files:
        digest = file_digest(f)
        if digest is None:
            return None
        out[Path(os.path.relpath(f, path.parent)).as_posix()] = digest
    return out


@lru_cache(maxsize=1)
def source_digest() -> str:
    """The digest of archcalc's own source: every ``.py`` file of the package, by relative path.

    The version number does not change on every edit, so the source itself is what says
    "the same program"."""
    root = Path(__file__).resolve().parent.parent
    h = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        h.update(path.relative_to(root).as_posix().encode() + b"\0")
        h.update(path.read_bytes() + b"\0")
    return "sha256:" + h.hexdigest()


def _version(dist: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return "absent"


def build_key(options: Mapping[str, Any]) -> str:
    """Everything besides the specs that decides the bytes of the reports: archcalc's version and
    source, the versions of :data:`DEPENDENCIES`, Python's minor version and the build ``options``."""
    return data_digest({
        "archcalc": __version__, "source": source_digest(), "python": list(sys.version_info[:2]),
        "dependencies": {d: _version(d) for d in DEPENDENCIES}, "options": dict(options)})
