"""Rebuilding only what changed: ``archcalc report --all`` over a reports tree it wrote before.

**The rule.** A spec's files (its pages and charts) are a pure function of

* the bytes of the spec file and of every file its ``extends:`` chain reads (its *inputs*);
* the *build key* (:func:`archcalc.site.digest.build_key`): archcalc's version **and the text of
  every ``.py`` file of the package** (the version does not change on every edit), the versions
  of the libraries that shape the bytes (matplotlib, numpy, tabulate, PyYAML, pydantic), Python's
  minor version, and the build options (which charts are drawn).

The manifest of the tree (:data:`archcalc.fileio.MANIFEST_NAME`) keeps a *record* of the last
build beside its list of files: the build key and, per spec, its inputs' digests, its zoo row,
its accuracy-chart point and the files it made. A spec is reused, not built, when the build key
is the same, each of its inputs has the recorded digest, and each of its files is still in the
folder with the content the manifest says archcalc wrote. Anything else -- no record, a record
of another key or format, a record that cannot be read -- means building that spec (or all of
them), never an error. The zoo pages (``README.md``, ``index.html``) are composed again from the
rows every time (milliseconds); a zoo chart is reused when the digest of its data (the accuracy
points; the scaling spec's inputs) is the recorded one.

Reused files are read back from the folder, so :func:`archcalc.fileio.write_tree` sees the same
complete tree as after a full build, with the same guarantees: it rewrites or removes only files
it wrote that are unchanged, and leaves everything else in the folder alone.
"""

from __future__ import annotations

__all__ = ["RECORD_FORMAT", "build_reports", "BUILD_OPTIONS"]

import os
import stat
from dataclasses import asdict
from pathlib import Path
from typing import Any, Mapping, Sequence

from ..plots.accuracy import AccuracyPoint
from .build import SiteBuild, SpecBuild, build_tree
from .digest import build_key, spec_inputs
from .summary import SpecSummary

RECORD_FORMAT = 1
BUILD_OPTIONS: dict[str, Any] = {"charts": True, "zoo_charts": True}
"""The options of ``report --all``'s build (part of the build key)."""


def build_reports(paths: Sequence[Path], out_dir: Path, *, jobs: int | None = None,
                  rebuild: bool = False) -> tuple[SiteBuild, dict[str, Any]]:
    """The reports tree of ``paths`` for ``out_dir`` (reusing what the record there allows,
    unless ``rebuild``) and the record to keep with it."""
    from ..errors import OutputError
    from ..fileio import read_build_record, read_manifest

    key = build_key(BUILD_OPTIONS)
    paths = sorted(Path(p) for p in paths)
    try:
        manifest = read_manifest(out_dir) if out_dir.is_dir() else {}
    except OutputError:  # --force over an unreadable manifest: nothing can be trusted
        manifest = {}
    record = None if rebuild or not manifest else read_build_record(out_dir)
    if not (isinstance(record, dict) and record.get("format") == RECORD_FORMAT and record.get("key") == key):
        record = None
    folder = _Folder(out_dir, manifest)
    old_specs = record.get("specs") if record is not None else None
    old_specs = old_specs if isinstance(old_specs, dict) else {}
    inputs: dict[Path, dict[str, str] | None] = {}
    reuse: dict[Path, SpecBuild] = {}
    for path in paths:
        entry = old_specs.get(path.stem)
        found = _reusable(path, entry, folder) if isinstance(entry, dict) else None
        if found is not None:
            reuse[path] = found
            inputs[path] = entry["inputs"]
        else:
            inputs[path] = spec_inputs(path)  # before the build: a later edit is seen next time
    old_charts = record.get("charts") if record is not None else None
    old_charts = old_charts if isinstance(old_charts, dict) else {}

    def chart_lookup(rel: str, digest: str) -> bytes | None:
        return folder.content(rel) if old_charts.get(rel) == digest else None

    site = build_tree(paths, jobs=jobs, reuse=reuse, chart_lookup=chart_lookup, **BUILD_OPTIONS)
    specs: dict[str, Any] = {}
    for path, (summary, files, point) in site.specs:
        if inputs[path] is None or summary.error is not None:
            continue  # not recorded: built again next time
        specs[path.stem] = {"inputs": inputs[path], "files": sorted(files), "summary": _summary_data(summary),
                            "point": _point_data(point)}
    return site, {"format": RECORD_FORMAT, "key": key, "specs": specs, "charts": site.chart_keys}


class _Folder:
    """The files of the output folder that are still as archcalc wrote them (per the manifest)."""

    def __init__(self, root: Path, manifest: Mapping[str, str]):
        self.root = root
        self.manifest = manifest

    def content(self, rel: str) -> bytes | None:
        """The bytes of ``rel`` when it is a regular file whose digest the manifest records."""
        from ..fileio import content_hash

        digest = self.manifest.get(rel)
        if digest is None:
            return None
        path = self.root / rel
        try:
            if not stat.S_ISREG(os.lstat(path).st_mode):
                return None
            data = path.read_bytes()
        except OSError:
            return None
        return data if content_hash(data) == digest else None


def _reusable(path: Path, entry: Mapping[str, Any], folder: _Folder) -> SpecBuild | None:
    """The recorded build of the spec at ``path`` when it still holds (see the module docstring)."""
    from .digest import file_digest

    recorded = entry.get("inputs")
    if not isinstance(recorded, dict) or path.name not in recorded:
        return None
    for rel, digest in recorded.items():
        if not isinstance(rel, str) or file_digest(path.parent / rel) != digest:
            return None
    rels = entry.get("files")
    if not isinstance(rels, list) or not all(isinstance(r, str) for r in rels):
        return None
    files: dict[str, str | bytes] = {}
    for rel in rels:
        data = folder.content(rel)
        if data is None:
            return None
        files[rel] = data
    try:
        summary = _summary_from(entry["summary"])
        point = entry.get("point")
        point = AccuracyPoint(**point, path=str(path)) if isinstance(point, dict) else point
    except (KeyError, TypeError, ValueError):
        return None
    if summary.stem != path.stem or not (point is None or isinstance(point, (str, AccuracyPoint))):
        return None
    return summary, files, point


def _point_data(point: AccuracyPoint | str | None) -> dict[str, Any] | str | None:
    """A spec's accuracy-chart point as recorded: without its path (where the spec was read: the
    path it is read from next time)."""
    if not isinstance(point, AccuracyPoint):
        return point
    data = asdict(point)
    del data["path"]
    return data


def _summary_data(summary: SpecSummary) -> dict[str, Any]:
    return asdict(summary)


def _summary_from(data: Any) -> SpecSummary:
    if not isinstance(data, dict):
        raise TypeError("a zoo row is a mapping")
    summary = SpecSummary(**data)
    return SpecSummary(**{**data, "input_shape": tuple(summary.input_shape)})
