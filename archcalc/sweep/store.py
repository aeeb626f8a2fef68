"""A sweep's results on disk: chunks written as they finish, one file at the end, resumable.

While a sweep runs, its rows go to a working folder beside the output, ``RESULTS.partial/``, which
archcalc creates when the first chunk is done (and refuses to reuse unless resuming): ``sweep.json`` (the sweep's definition and
chunk size) and one file per finished chunk, ``chunk-000042.parquet`` (or ``.csv``), each written
atomically (a temporary file, then a rename). An interrupted sweep therefore loses only the chunks
in flight, and ``--resume`` computes just the chunks that have no file -- after checking that
``sweep.json`` describes the same sweep (same spec bytes, axes, sample, seed, filter, batch, dtype).

When every chunk is there, they are joined in point order into the output file (written with
:func:`archcalc.fileio.write_output`: atomically, never over an input or a write-protected file),
then the working folder's files -- only those archcalc wrote -- and the folder are removed. A Parquet
file records the definition in its metadata (key ``archcalc.sweep``).

Parquet needs ``pyarrow`` (the ``sweep`` extra, imported only here and only for Parquet); CSV needs
nothing.
"""

from __future__ import annotations

__all__ = ["ResultStore", "open_store", "encode_rows", "read_results", "read_definition", "output_format", "FORMATS",
           "PARTIAL_SUFFIX", "METADATA_KEY"]

import csv
import io
import json
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence

from ..errors import Location, OutputError, UsageError
from ..fileio import check_output, write_output
from .columns import column_kinds
from .points import SweepDefinition

FORMATS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv"}
PARTIAL_SUFFIX = ".partial"
METADATA_KEY = "archcalc.sweep"
STATE_NAME = "sweep.json"
_SCHEMA = "archcalc-sweep/1"
_CHUNK = re.compile(r"chunk-(\d{6,})\.(parquet|csv)")
_TEMP = re.compile(r"\.(chunk-\d{6,}\.(parquet|csv)|sweep\.json)\..+\.tmp")  # write_output's temporary files


def output_format(path: str | Path) -> str:
    """``parquet`` or ``csv`` from the output's extension (a :class:`UsageError` otherwise)."""
    fmt = FORMATS.get(Path(path).suffix.lower())
    if fmt is None:
        raise UsageError("cannot tell the results format from the extension (use .parquet or .csv)",
                         Location(file=str(path)))
    if fmt == "parquet":
        _pyarrow(str(path))
    return fmt


def _pyarrow(shown: str) -> Any:
    try:
        import pyarrow
        import pyarrow.parquet  # noqa: F401
    except ImportError:
        raise UsageError("writing Parquet needs pyarrow, which is not installed", Location(file=shown),
                         hint="pip install 'archcalc[sweep]', or write CSV (-o results.csv)") from None
    return pyarrow


# --------------------------------------------------------------------------- encoding


def _cell(value: Any, kind: str) -> Any:
    if value is None:
        return None
    if kind == "json":
        return json.dumps(value, separators=(",", ":"))
    if kind == "float":
        return float(value)
    return value


def encode_rows(rows: Sequence[dict[str, Any]], kinds: dict[str, str], fmt: str, *,
                metadata: dict[str, str] | None = None, header: bool = True) -> bytes:
    """``rows`` as a Parquet file or CSV text (``header``: with the column names first)."""
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        if header:
            writer.writerow(list(kinds))
        for row in rows:
            writer.writerow(["" if (v := _cell(row.get(name), kind)) is None else _csv_text(v)
                             for name, kind in kinds.items()])
        return buf.getvalue().encode("utf-8")
    pa = _pyarrow("-o")
    import pyarrow.parquet as pq

    types = {"int": pa.int64(), "float": pa.float64(), "bool": pa.bool_(), "str": pa.string(), "json": pa.string()}
    schema = pa.schema([(name, types[kind]) for name, kind in kinds.items()],
                       metadata={k.encode(): v.encode() for k, v in (metadata or {}).items()} or None)
    table = pa.table({name: [_cell(row.get(name), kind) for row in rows] for name, kind in kinds.items()},
                     schema=schema)
    out = io.BytesIO()
    pq.write_table(table, out, compression="zstd")
    return out.getvalue()


def _csv_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _join(paths: Sequence[Path], kinds: dict[str, str], fmt: str, metadata: dict[str, str]) -> bytes:
    if fmt == "csv":
        parts = [",".join(_quoted(name) for name in kinds).encode("utf-8") + b"\n"]
        for path in paths:
            data = path.read_bytes()
            parts.append(data.partition(b"\n")[2])  # each chunk starts with the header
        return b"".join(parts)
    pa = _pyarrow("-o")
    import pyarrow.parquet as pq

    tables = [pq.read_table(path) for path in paths]
    table = pa.concat_tables(tables) if tables else pa.table({})
    table = table.replace_schema_metadata({k.encode(): v.encode() for k, v in metadata.items()})
    out = io.BytesIO()
    pq.write_table(table, out, compression="zstd")
    return out.getvalue()


def _quoted(name: str) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="").writerow([name])
    return buf.getvalue()


# --------------------------------------------------------------------------- the working folder


@dataclass
class ResultStore:
    """The output file and its working folder; see the module docstring."""

    output: Path
    folder: Path
    definition: SweepDefinition
    chunk_size: int
    fmt: str
    inputs: tuple[str, ...] = ()

    @property
    def chunks(self) -> int:
        return math.ceil(self.definition.size / self.chunk_size)

    def bounds(self, chunk: int) -> tuple[int, int]:
        """The points ``[start, stop)`` of chunk ``chunk``."""
        start = chunk * self.chunk_size
        return start, min(start + self.chunk_size, self.definition.size)

    def chunk_path(self, chunk: int) -> Path:
        return self.folder / f"chunk-{chunk:06d}.{self.fmt}"

    def done(self) -> set[int]:
        """The chunks whose file is there (each was written whole, by a rename)."""
        found: set[int] = set()
        if not self.folder.is_dir():
            return found
        for entry in os.listdir(self.folder):
            match = _CHUNK.fullmatch(entry)
            if match and match.group(2) == self.fmt and int(match.group(1)) < self.chunks:
                found.add(int(match.group(1)))
        return found

    def write_chunk(self, chunk: int, rows: Sequence[dict[str, Any]]) -> None:
        data = encode_rows(rows, column_kinds(self.definition), self.fmt)
        if not self.folder.is_dir():  # the first chunk of a new sweep: nothing was written before it
            try:
                os.mkdir(self.folder)
            except OSError as exc:
                raise OutputError(f"cannot create the folder: {exc.strerror or exc}",
                                  Location(file=str(self.folder))) from None
            write_output(self.folder / STATE_NAME, _metadata(self.definition, self.chunk_size)[METADATA_KEY] + "\n")
        write_output(self.chunk_path(chunk), data, inputs=self.inputs)

    def finish(self) -> bytes:
        """Join the chunks into the output file, then remove the working folder. Returns the bytes written."""
        if not self.folder.is_dir():
            raise OutputError("no chunk was written", Location(file=str(self.output)))
        missing = sorted(set(range(self.chunks)) - self.done())
        if missing:
            raise OutputError(f"chunks {missing[:5]} are missing from {self.folder}", Location(file=str(self.output)))
        paths = [self.chunk_path(k) for k in range(self.chunks)]
        data = _join(paths, column_kinds(self.definition), self.fmt, _metadata(self.definition, self.chunk_size))
        write_output(self.output, data, inputs=self.inputs)
        for path in [*paths, self.folder / STATE_NAME]:
            try:
                path.unlink()
            except FileNotFoundError:
                pass
        try:
            self.folder.rmdir()
        except OSError:  # someone put a file there: leave the folder and that file alone
            pass
        return data


def _metadata(definition: SweepDefinition, chunk_size: int) -> dict[str, str]:
    state = {"schema": _SCHEMA, "fingerprint": definition.fingerprint, "chunk_size": chunk_size,
             "definition": definition.to_dict()}
    return {METADATA_KEY: json.dumps(state, sort_keys=True)}


def partial_folder(output: str | Path) -> Path:
    output = Path(output)
    return output.with_name(output.name + PARTIAL_SUFFIX)


def open_store(output: str | Path, *, definition: SweepDefinition, chunk_size: int, resume: bool,
               inputs: Iterable[str | Path] = ()) -> ResultStore:
    """The store of a new sweep (creates ``OUTPUT.partial/``) or, with ``resume``, of the interrupted
    sweep there. Everything that would stop the sweep is checked before anything is written:

    * a new sweep refuses an existing working folder (an interrupted sweep: resume it or remove it);
    * a resume refuses a missing folder, and a folder of a *different* sweep, naming what differs;
    * the output itself must be writable (:func:`archcalc.fileio.check_output`).
    """
    output = Path(output)
    fmt = output_format(output)
    inputs = tuple(str(i) for i in inputs)
    check_output(output, inputs=inputs)
    folder = partial_folder(output)
    where = Location(file=str(folder))
    if not resume:
        if os.path.lexists(folder):
            raise OutputError("holds an interrupted sweep", where,
                              hint="continue it with --resume, or remove the folder to start afresh")
        return ResultStore(output, folder, definition, chunk_size, fmt, inputs)  # the folder comes with chunk 1
    if not folder.is_dir() or folder.is_symlink():
        raise OutputError("no interrupted sweep to resume here", where,
                          hint=f"--resume continues a sweep whose working folder {folder.name}/ is there")
    try:
        state = json.loads((folder / STATE_NAME).read_text(encoding="utf-8"))
        if state.get("schema") != _SCHEMA:
            raise ValueError(f"unknown schema {state.get('schema')!r}")
        old = SweepDefinition.from_dict(state["definition"])
        old_chunk = int(state["chunk_size"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise OutputError(f"cannot read {STATE_NAME}: {exc}", where) from None
    if old.fingerprint != definition.fingerprint:
        diff = ", ".join(definition.differences(old)) or "the definition"
        raise UsageError(f"refusing to resume: this is a different sweep ({diff} changed)", where,
                         hint="run the same command as before, or remove the folder to start afresh")
    for entry in os.listdir(folder):  # temporary files of a write a kill interrupted: archcalc's own
        if _TEMP.fullmatch(entry):
            try:
                os.unlink(folder / entry)
            except OSError:
                pass
    return ResultStore(output, folder, definition, old_chunk, fmt, inputs)


# --------------------------------------------------------------------------- reading results


def read_results(path: str | Path) -> dict[str, list[Any]]:
    """A results file (Parquet or CSV) as columns: name -> values (None for empty cells).

    CSV cells come back as numbers where they read as numbers."""
    fmt = output_format(path)
    shown = Location(file=str(path))
    try:
        if fmt == "parquet":
            import pyarrow.parquet as pq

            return pq.read_table(path).to_pydict()
        with open(path, newline="", encoding="utf-8") as handle:
            reader = csv.reader(handle)
            names = next(reader, None)
            if not names:
                raise UsageError("is empty: not a sweep's results", shown)
            columns: dict[str, list[Any]] = {name: [] for name in names}
            for record in reader:
                for name, text in zip(names, record):
                    columns[name].append(_parse_cell(text))
            return columns
    except UsageError:
        raise
    except Exception as exc:  # a file that is not what its extension says
        raise UsageError(f"cannot read the results: {type(exc).__name__}: {exc}", shown) from None


def read_definition(path: str | Path) -> dict[str, Any] | None:
    """The sweep definition recorded in a Parquet results file (None for CSV, or when absent)."""
    if output_format(path) != "parquet":
        return None
    import pyarrow.parquet as pq

    try:
        metadata = pq.read_schema(path).metadata or {}
        return json.loads(metadata[METADATA_KEY.encode()])["definition"]
    except Exception:  # not a sweep's file, or not Parquet at all (pyarrow's own errors)
        return None


def _parse_cell(text: str) -> Any:
    if text == "":
        return None
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text
