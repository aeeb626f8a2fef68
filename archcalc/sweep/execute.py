"""Running a sweep's chunks: in this process, in a local process pool, or on a Dask cluster.

Each task is one chunk (a range of point indices); the worker computes the points from the
definition and returns the chunk's rows, so only a few integers travel to it and rows travel back.
The spec is read once: a pool gives each worker process the :class:`SpecTemplate` at start-up; a
Dask cluster receives it once per worker (``scatter(broadcast=True)``) and every task refers to it.
At most ``2 x workers`` chunks are in flight, so memory stays bounded and an interrupted sweep loses
only those.

* ``workers=0``: in this process, no pool (debugging, tiny sweeps);
* ``workers=N``: a :class:`concurrent.futures.ProcessPoolExecutor` of N processes (the default);
* ``scheduler="tcp://host:8786"``: an existing Dask distributed scheduler (its workers need archcalc
  installed, at the same version); ``scheduler="local"`` starts a Dask ``LocalCluster`` of ``workers``
  processes on the loopback interface for this sweep. Dask is imported only then.
"""

from __future__ import annotations

__all__ = ["run_chunks", "Task"]

import concurrent.futures as cf
from typing import Any, Iterator, Sequence

from ..errors import ArchcalcError, Location, UsageError
from .evaluate import SpecTemplate, evaluate_points
from .points import SweepDefinition

Task = tuple[int, int, int]
"""(chunk number, first point, one past the last point)."""
Rows = list[dict[str, Any]]

CONNECT_TIMEOUT = "10s"
"""How long to try reaching a Dask scheduler."""
_WORKER: dict[str, Any] = {}


def _init_worker(template: SpecTemplate) -> None:
    _WORKER["template"] = template


def _pool_task(definition: SweepDefinition, start: int, stop: int) -> Rows:
    return evaluate_points(_WORKER["template"], definition, start, stop)


def _dask_task(template: SpecTemplate, definition: SweepDefinition, start: int, stop: int) -> Rows:
    return evaluate_points(template, definition, start, stop)


def run_chunks(*, template: SpecTemplate, definition: SweepDefinition, tasks: Sequence[Task], workers: int,
               scheduler: str | None = None) -> Iterator[tuple[int, Rows]]:
    """Yield ``(chunk, rows)`` for every task, in the order they finish."""
    if scheduler is not None:
        yield from _run_dask(template, definition, tasks, workers, scheduler)
    elif workers == 0:
        for chunk, start, stop in tasks:
            yield chunk, evaluate_points(template, definition, start, stop)
    else:
        yield from _run_pool(template, definition, tasks, workers)


def _run_pool(template: SpecTemplate, definition: SweepDefinition, tasks: Sequence[Task],
              workers: int) -> Iterator[tuple[int, Rows]]:
    pending = iter(tasks)
    pool = cf.ProcessPoolExecutor(max_workers=workers, initializer=_init_worker, initargs=(template,))
    try:
        running: dict[cf.Future[Rows], int] = {}

        def fill() -> None:
            while len(running) < 2 * workers:
                task = next(pending, None)
                if task is None:
                    return
                running[pool.submit(_pool_task, definition, task[1], task[2])] = task[0]

        fill()
        while running:
            finished, _ = cf.wait(running, return_when=cf.FIRST_COMPLETED)
            for future in finished:
                chunk = running.pop(future)
                try:
                    rows = future.result()
                except Exception as exc:  # points never raise (their errors are rows): the pool broke
                    raise _failed("a worker process", exc) from None
                yield chunk, rows
            fill()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _failed(who: str, exc: BaseException) -> ArchcalcError:
    return ArchcalcError(f"{who} failed: {type(exc).__name__}: {exc}", Location(file="sweep"),
                         hint="the chunks finished so far are kept: continue with --resume (Dask workers need "
                              "archcalc installed, at the same version)")


def _client(scheduler: str, workers: int) -> tuple[Any, Any]:
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise UsageError("--scheduler needs Dask's distributed scheduler, which is not installed",
                         Location(file="--scheduler"), hint="pip install 'archcalc[sweep]'") from None
    if scheduler == "local":
        cluster = LocalCluster(n_workers=max(workers, 1), threads_per_worker=1, processes=True, host="127.0.0.1",
                               dashboard_address=None)
        return Client(cluster), cluster
    try:
        return Client(scheduler, timeout=CONNECT_TIMEOUT), None
    except (OSError, TimeoutError, ValueError) as exc:
        raise UsageError(f"cannot reach the Dask scheduler at {scheduler}: {exc}", Location(file="--scheduler"),
                         hint="start one with `dask scheduler` (and workers with `dask worker ADDRESS`), "
                              "or use --scheduler local") from None


def _run_dask(template: SpecTemplate, definition: SweepDefinition, tasks: Sequence[Task], workers: int,
              scheduler: str) -> Iterator[tuple[int, Rows]]:
    from dask.distributed import as_completed

    client, cluster = _client(scheduler, workers)
    try:
        slots = 2 * max(len(client.scheduler_info().get("workers", {})), workers, 1)
        shared = client.scatter(template, broadcast=True)  # the spec travels once per worker
        pending = iter(tasks)
        chunks: dict[str, int] = {}

        def submit() -> Any:
            task = next(pending, None)
            if task is None:
                return None
            future = client.submit(_dask_task, shared, definition, task[1], task[2], pure=False)
            chunks[future.key] = task[0]
            return future

        first = [f for f in (submit() for _ in range(slots)) if f is not None]
        running = as_completed(first)
        for future in running:
            try:
                rows = future.result()
            except Exception as exc:  # points never raise (their errors are rows): the worker did
                raise _failed("a Dask worker", exc) from None
            yield chunks.pop(future.key), rows
            more = submit()
            if more is not None:
                running.add(more)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
