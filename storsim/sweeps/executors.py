"""Executors: where a sweep's runs go, and what one run sends back.

Like a print shop that can take a job on its own press, spread it over its presses, or
send it to a partner shop across town: the pages come back the same whichever did the
printing, only faster. A run is :func:`run_one` (simulate one variant, return its summary
rows as plain values); :func:`execute` sends the runs to this process, a local process
pool, a Dask cluster or any ``concurrent.futures.Executor``, and yields each run's rows
as it finishes.
"""

from __future__ import annotations

import concurrent.futures as cf
import importlib
import os
import sys
from collections.abc import Callable, Generator, Mapping, Sequence
from typing import Any

from storsim.scenario import Scenario
from storsim.simulation import simulate
from storsim.stats.series import series_summary
from storsim.stats.summary import plain_value
from storsim.sweeps.grid import Task
from storsim.sweeps.workers import hidden_main, mp_context, quiet_start, start_pool, stop_pool

__all__ = ["Row", "check_executor", "execute", "failed", "run_one"]

#: One row of a run: a summary (or comparison) row as plain JSON-able values.
Row = dict[str, Any]

#: What an executor yields: (the task's index, the run's rows).
Finished = Generator[tuple[int, list[Row]], None, None]


def run_one(
    scenario: Scenario, seed: int, compare: bool, catch: bool, max_ops: int | None = None
) -> list[Row]:
    """Simulate one variant and return its rows as plain JSON-able values.

    Runs in a worker process: it returns small dicts rather than the Result, whose
    per-operation frames are large and would cross the process boundary for nothing.

    Args:
        scenario: the variant.
        seed: its seed.
        compare: also run the placements of its ``compare:`` section.
        catch: return a failure as one row with ``error`` set instead of raising it.
        max_ops: the run's work budget (:func:`storsim.simulate`).

    Returns:
        One row per series of the summary (:func:`storsim.stats.series.series_summary`:
        a storage choice, or a remote's share of one; ``error`` None), then one per
        placement (``storage`` and ``series`` None); or, for a failed run,
        ``[{"storage": None, "error": "Type: message"}]``.
    """
    try:
        # a sweep keeps summaries only: streaming statistics, bounded memory
        result = simulate(scenario, seed=seed, compare=compare, ops="summary", max_ops=max_ops)
    except Exception as exc:
        if not catch:
            raise
        return [_error_row(exc)]
    table = series_summary(result)
    rows: list[Row] = [{**_plain(row), "error": None} for row in table.to_dict("records")]
    if result.comparison is not None:
        rows += [
            {"storage": None, "series": None, **_plain(row), "error": None}
            for row in result.comparison.to_dict("records")
        ]
    return rows


def _error_row(exc: Exception) -> Row:
    return {"storage": None, "error": f"{type(exc).__name__}: {exc}"}


def _plain(row: Mapping[Any, Any]) -> Row:
    # The same values whether a row comes straight from a worker or back from the log.
    return {str(key): plain_value(value) for key, value in row.items()}


def failed(rows: Sequence[Row]) -> bool:
    """Whether a run's rows are those of a failure."""
    return any(row.get("error") is not None for row in rows)


def check_executor(executor: Any, jobs: int | None) -> int:
    """Check ``executor`` and ``jobs`` before anything runs; return the worker count.

    Raises:
        ValueError: ``jobs`` < 1, or an executor that is none of those
            :func:`storsim.sweep` accepts.
        ImportError: a Dask executor without dask.distributed installed.
    """
    workers = jobs if jobs is not None else _cpus()
    if workers < 1:
        raise ValueError(f"jobs must be >= 1 (got {jobs!r})")
    if executor in (None, "serial", "process") or isinstance(executor, cf.Executor):
        return workers
    if isinstance(executor, str) and (executor == "dask" or executor.startswith("dask=")):
        _distributed()  # not installed: say so now, not after the grid was checked
        return workers
    if _is_dask_client(executor):
        return workers
    raise ValueError(
        "executor must be None, 'serial', 'process', 'dask', 'dask=ADDRESS', a "
        f"distributed.Client or a concurrent.futures.Executor (got {executor!r})"
    )


def execute(
    todo: Sequence[tuple[int, Task]],
    executor: Any,
    workers: int,
    compare: bool,
    catch: bool,
    max_ops: int | None = None,
) -> Finished:
    """Run the tasks (``executor`` checked by :func:`check_executor`).

    Closing the generator stops the pool or cluster it started and cancels the runs
    that have not started; a local process pool's workers are killed at once (on an
    error or Ctrl-C a run in progress is not waited for).

    Yields:
        ``(index, rows)`` in the order the runs finish.
    """
    job = (compare, catch, max_ops)
    if executor is None:
        executor = "serial" if workers == 1 or len(todo) <= 1 else "process"
    if executor == "serial":
        return ((i, run_one(task.scenario, task.seed, *job)) for i, task in todo)
    if executor == "process":
        return _process_pool(min(workers, max(len(todo), 1)), todo, job)
    if isinstance(executor, cf.Executor):
        return _futures(_submit(executor, todo, job), catch, cf.as_completed)
    if isinstance(executor, str):  # "dask" or "dask=ADDRESS"
        address = executor.partition("=")[2] or None
        return _dask(_distributed(), address, workers, todo, job)
    as_completed = _distributed().as_completed  # a distributed.Client
    return _futures(_submit(executor, todo, job, pure=False), catch, as_completed)


def _process_pool(workers: int, todo: Sequence[tuple[int, Task]], job: tuple[Any, ...]) -> Finished:
    if not todo:
        return
    pool = None
    try:
        # the submissions start the workers: without the caller's __main__, ignoring SIGINT
        with quiet_start(mp_context()), hidden_main():
            pool = start_pool(workers)
            futures = _submit(pool, todo, job)
        yield from _futures(futures, job[1], cf.as_completed)
    except BaseException:  # an error, Ctrl-C, or the sweep closing this generator early
        if pool is not None:
            stop_pool(pool)
        raise
    pool.shutdown(wait=True)


def _submit(
    pool: Any, todo: Sequence[tuple[int, Task]], job: tuple[Any, ...], **options: Any
) -> dict[Any, int]:
    """Submit every task: future -> the task's index."""
    return {pool.submit(run_one, task.scenario, task.seed, *job, **options): i for i, task in todo}


def _futures(futures: dict[Any, int], catch: bool, as_completed: Callable[[Any], Any]) -> Finished:
    try:
        for future in as_completed(list(futures)):
            try:
                rows = future.result()
            except Exception as exc:  # the pool failed, not the run (a worker died)
                if not catch:
                    raise
                rows = [_error_row(exc)]
            yield futures[future], rows
    finally:
        for future in futures:  # on an error or an interrupt: do not start the rest
            future.cancel()


def _distributed() -> Any:
    """The ``distributed`` module, untyped: it is an optional dependency."""
    try:
        return importlib.import_module("distributed")
    except ImportError:
        raise ImportError(
            "executor='dask' needs dask.distributed: pip install 'storsim[dask]'"
        ) from None


def _dask(
    distributed: Any,
    address: str | None,
    workers: int,
    todo: Sequence[tuple[int, Task]],
    job: tuple[Any, ...],
) -> Finished:
    if not todo:
        return
    as_completed = distributed.as_completed
    catch = job[1]
    if address is not None:
        with distributed.Client(address) as client:
            futures = _submit(client, todo, job, pure=False)
            yield from _futures(futures, catch, as_completed)
        return
    # One single-threaded worker process per job: the simulation holds the GIL.
    with (
        distributed.LocalCluster(
            n_workers=min(workers, len(todo)),
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield from _futures(_submit(client, todo, job, pure=False), catch, as_completed)


def _is_dask_client(executor: Any) -> bool:
    # Only a program that imported distributed can hold a Client.
    return "distributed" in sys.modules and isinstance(executor, _distributed().Client)


def _cpus() -> int:
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1
