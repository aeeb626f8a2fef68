"""One sweep from start to end: the chunks not yet done, run, each stored as it finishes.

:func:`run_sweep` computes nothing itself (see :mod:`.evaluate`), schedules nothing itself (see
:mod:`.execute`) and writes nothing itself (see :mod:`.store`); it ties them together and reports
progress through a callback. Without a store the rows are kept in memory and returned.
"""

from __future__ import annotations

__all__ = ["run_sweep", "SweepRun", "default_chunk_size"]

import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from ..errors import Location, UsageError
from .evaluate import SpecTemplate
from .execute import run_chunks
from .points import SweepDefinition
from .store import ResultStore

Progress = Callable[[int, int], None]
"""``progress(points_done, points_total)``."""


def default_chunk_size(points: int, workers: int) -> int:
    """Points per chunk (and per task): about 16 tasks per worker, 16 to 1,000 points each -- enough
    tasks to balance the workers, few enough files, and each task long against its scheduling."""
    return max(16, min(1000, math.ceil(points / (16 * max(workers, 1)))))


@dataclass
class SweepRun:
    """What :func:`run_sweep` did: points computed in this run (a resume skips the chunks already
    stored), seconds it took, and -- without a store -- the rows."""

    points: int = 0
    skipped: int = 0
    seconds: float = 0.0
    rows: list[dict[str, Any]] | None = field(default=None, repr=False)

    @property
    def rate(self) -> float:
        return self.points / self.seconds if self.seconds > 0 else 0.0


def run_sweep(*, template: SpecTemplate, definition: SweepDefinition, store: ResultStore | None = None,
              chunk_size: int | None = None, workers: int = 1, scheduler: str | None = None,
              progress: Progress | None = None) -> SweepRun:
    """Evaluate every point of ``definition`` not already in ``store``.

    With a ``store``, each chunk is written as it finishes and the store is finished (joined into its
    output file) at the end; without one, the rows are returned in :attr:`SweepRun.rows`, in point order.
    ``workers=0`` runs in this process; ``scheduler`` is a Dask address or ``"local"``.
    """
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 0:
        raise UsageError(f"workers must be 0 (this process) or a positive number of processes, got {workers!r}",
                         Location(file="--workers"))
    total = definition.size
    if store is not None:
        size = store.chunk_size
        done = store.done()
    else:
        size = chunk_size or default_chunk_size(total, workers)
        done = set()
    tasks = []
    skipped = 0
    for chunk in range(math.ceil(total / size)):
        start, stop = chunk * size, min((chunk + 1) * size, total)
        if chunk in done:
            skipped += stop - start
        else:
            tasks.append((chunk, start, stop))
    kept: dict[int, list[dict[str, Any]]] = {}
    finished = skipped
    started = time.monotonic()
    if progress is not None:
        progress(finished, total)
    for chunk, rows in run_chunks(template=template, definition=definition, tasks=tasks, workers=workers,
                                  scheduler=scheduler):
        if store is not None:
            store.write_chunk(chunk, rows)
        else:
            kept[chunk] = rows
        start, stop = chunk * size, min((chunk + 1) * size, total)
        finished += stop - start
        if progress is not None:
            progress(finished, total)
    result = SweepRun(points=finished - skipped, skipped=skipped, seconds=time.monotonic() - started)
    if store is not None:
        store.finish()
    else:
        result.rows = [row for chunk in sorted(kept) for row in kept[chunk]]
    return result
