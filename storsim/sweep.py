"""Parameter sweeps: a grid of scenario variants, each run several times, in one tidy table.

Like a wind-tunnel campaign: the same model is tested at every combination of wind speed
and angle, several times each, and every run is logged on one line of the same sheet, so
that afterwards anyone can plot drag against speed, one curve per angle, with error bars.
:func:`sweep` runs the full factorial grid of ``{"dotted.path": [values...]}`` times
``replications`` seeds (in this process, a local process pool or a Dask cluster) and
returns one row per run and storage choice; :func:`summarize` turns the replications into
a mean and a Student-t confidence interval per grid point and storage choice.

The frame of :func:`sweep`, column by column:

- one column per grid parameter, named by its dotted path, holding the value as given
  (a non-scalar value, such as a mapping, as its JSON text);
- ``replication`` (0, 1, ...) and ``seed``: the seed the run used. It is derived from the
  scenario's ``seed``, the grid point's values and the replication (numpy
  ``SeedSequence``), so ``simulate(scenario.with_overrides(point), seed=row.seed,
  ops="summary")`` reproduces any run alone (sweeps keep streaming summaries, whose
  percentiles are within 0.5% of the exact ones), the whole sweep is identical whatever
  the executor, and adding a value to the grid keeps the seeds (and the saved runs) of
  the points already there;
- ``storage``: the storage choice of the row (a row of ``Result.summary``);
- ``placement``, only when the scenario has a ``compare:`` section: the placement of
  ``compare.path`` for a row of ``Result.comparison`` (whose ``storage`` is then missing,
  since those operations are counted whatever served them); missing for the rows of the
  scenario as written. So ``df[df.placement.isna()]`` is the per-storage view and
  ``df[df.placement.notna()]`` the answer to "where should ``compare.path`` live?";
- every column of ``Result.summary`` but ``storage`` (``ops``, ``mean_ms`` ... ``p99_ms``,
  ``throughput_ops_s``, ``copy_ups``, ..., and whatever columns later versions add);
- ``error``: None, or ``"ExceptionType: message"`` for a run that failed; such a run is
  one row with its ``storage`` (and ``placement``) and metrics missing.
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import hashlib
import importlib
import itertools
import json
import math
import multiprocessing
import os
import sys
import time
from collections.abc import Callable, Generator, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, TextIO

import numpy as np
import pandas as pd
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from storsim.errors import ScenarioError
from storsim.progress import StatusLine
from storsim.scenario import Scenario
from storsim.simulation import simulate
from storsim.stats import SUMMARY_COLUMNS, mean_intervals

__all__ = ["grid_columns", "parse_grid", "run_seed", "summarize", "sweep"]

Row = dict[str, Any]

#: Columns of a sweep frame that are neither grid parameters nor metrics.
RUN_COLUMNS: tuple[str, ...] = ("replication", "seed", "storage", "placement", "error")


@dataclasses.dataclass(frozen=True, slots=True)
class _Task:
    """One run of the sweep: a grid point, a replication and its seed."""

    point: dict[str, Any]
    replication: int
    seed: int
    scenario: Scenario

    def key(self, digest: str) -> tuple[str, str, int, int]:
        return (digest, _canonical(self.point), self.replication, self.seed)


def sweep(
    scenario: Scenario,
    grid: Mapping[str, Sequence[Any]] | None = None,
    *,
    replications: int = 1,
    executor: Any = None,
    jobs: int | None = None,
    progress: bool = True,
    out: str | os.PathLike[str] | None = None,
    on_error: Literal["record", "raise"] = "record",
    compare: bool = True,
) -> pd.DataFrame:
    """Run every variant of a scenario on a full factorial grid, several times each.

    Args:
        scenario: the base scenario (:func:`storsim.load_scenario`).
        grid: ``{"dotted.path": [value, ...]}``; each path as for ``--set``
            (``"services.web.deploy.replicas"``, ``"services.web.workload[0].rate"``), each
            value as it would be written in the YAML (``4``, ``"2 ms"``, ``"hdd"``). The
            sweep runs the product of all the lists, first parameter slowest. None or
            ``{}``: the scenario itself, ``replications`` times.
        replications: runs per grid point, each with its own seed (>= 1).
        executor: where the runs go. None: a local process pool over ``jobs`` processes
            (in this process when ``jobs == 1`` or there is one run); ``"serial"``: in
            this process; ``"process"``: a local process pool; ``"dask"``: a new Dask
            ``LocalCluster`` of ``jobs`` single-threaded workers, closed at the end;
            ``"dask=ADDRESS"`` (e.g. ``"dask=tcp://10.0.0.5:8786"``): that Dask scheduler,
            whose workers must have storsim installed; a ``distributed.Client``; or any
            ``concurrent.futures.Executor``. The process pool starts its workers with
            ``forkserver`` (``spawn`` where there is none), which imports the main module
            again: in a script, call ``sweep`` under ``if __name__ == "__main__":``.
        jobs: processes or workers for a pool or cluster that the sweep starts; by
            default the CPUs this process may use.
        progress: show finished/total runs on stderr (a line redrawn in place in a
            terminal or a notebook).
        out: a JSON-lines file to which each finished run is appended as it finishes. A
            later sweep with the same file skips the runs already there (same scenario,
            grid point, replication and seed) and runs only the others; runs that failed
            are tried again.
        on_error: ``"record"``: a run that raises becomes a row with ``error`` set;
            ``"raise"``: the first failure stops the sweep and is raised (runs finished
            before it are already in ``out``).
        compare: also run the placements of the scenario's ``compare:`` section.

    Returns:
        One row per run and storage choice (and placement): see the module docstring.
        Rows are in grid order, then replication, whatever order the runs finished in.

    Raises:
        ScenarioError: a grid path or value makes an invalid scenario, or a value list
            is empty or repeats a value; every point is checked before any run starts.
        ValueError: ``replications`` or ``jobs`` < 1, an unknown ``executor`` or
            ``on_error``.
    """
    if replications < 1:
        raise ValueError(f"replications must be >= 1 (got {replications!r})")
    if on_error not in ("record", "raise"):
        raise ValueError(f"on_error must be 'record' or 'raise' (got {on_error!r})")
    workers = _check_executor(executor, jobs)
    params = _check_grid(grid or {})
    points = [
        dict(zip(params, values, strict=True))
        for values in itertools.product(*((grid or {})[p] for p in params))
    ]
    tasks: list[_Task] = []
    for point in points:
        variant = scenario.with_overrides(point) if point else scenario
        for replication in range(replications):
            seed = run_seed(scenario.seed, point, replication)
            tasks.append(_Task(point, replication, seed, variant))
    digest = _digest(scenario, compare)

    done: dict[tuple[str, str, int, int], list[Row]] = {}
    log: TextIO | None = None
    if out is not None:
        done = _read_log(Path(out), digest)
        log = _open_log(Path(out))
    results: dict[int, list[Row]] = {}
    todo: list[tuple[int, _Task]] = []
    for i, task in enumerate(tasks):
        rows = done.get(task.key(digest))
        if rows is not None and not _failed(rows):
            results[i] = rows
        else:
            todo.append((i, task))

    bar = _Progress(len(tasks), len(results), enabled=progress)
    runs = _execute(todo, executor, workers, compare, catch=on_error == "record")
    try:
        for i, rows in runs:
            results[i] = rows
            if log is not None:
                task = tasks[i]
                line = {
                    "scenario": digest,
                    "point": task.point,
                    "replication": task.replication,
                    "seed": task.seed,
                    "rows": rows,
                }
                log.write(json.dumps(line, default=str, allow_nan=False) + "\n")
                log.flush()
            bar.update(failed=_failed(rows))
    finally:
        runs.close()  # stops the pool or cluster now, even on an error or an interrupt
        bar.close()
        if log is not None:
            log.close()
    return _frame(params, tasks, results)


def run_seed(base_seed: int, point: Mapping[str, Any], replication: int) -> int:
    """The seed of one run of a sweep.

    Args:
        base_seed: the scenario's ``seed``.
        point: the grid point, ``{"dotted.path": value}``.
        replication: the replication number, from 0.

    Returns:
        A non-negative 63-bit integer, a function of the three arguments only: the same
        grid point gets the same seeds in every sweep that contains it.
    """
    words = np.frombuffer(hashlib.sha256(_canonical(point).encode()).digest(), dtype="<u4")
    sequence = np.random.SeedSequence([base_seed, *words.tolist(), replication])
    return int(sequence.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))


def parse_grid(specs: Sequence[str]) -> dict[str, list[Any]]:
    """Parse command-line grid specs, ``"dotted.path=v1,v2,..."``.

    Each value list is read as a YAML flow sequence, so ``4`` is a number, ``2 ms`` a
    string, and a value holding a comma can be quoted or bracketed (``"{a: 1, b: 2}"``).

    Raises:
        ScenarioError: a spec without ``=``, an empty or unreadable value list, or a path
            given twice.
    """
    grid: dict[str, list[Any]] = {}
    for spec in specs:
        path, sep, raw = spec.partition("=")
        path = path.strip()
        if not sep or not path or not raw.strip():
            raise ScenarioError(f"--grid must be dotted.path=v1,v2,... (got {spec!r})")
        try:
            values = YAML(typ="safe", pure=True).load(f"[{raw}]")
        except YAMLError:
            raise ScenarioError(
                f"--grid {path}: values must be YAML scalars separated by commas (got {raw!r})"
            ) from None
        if path in grid:
            raise ScenarioError(f"--grid {path} is given twice")
        grid[path] = list(values)
    return grid


def grid_columns(frame: pd.DataFrame) -> list[str]:
    """The grid parameter columns of a :func:`sweep` or :func:`summarize` frame.

    They are the columns before ``replication`` (a sweep frame) or before ``storage``
    (a summary).
    """
    columns = list(frame.columns)
    for marker in ("replication", "storage"):
        if marker in columns:
            return columns[: columns.index(marker)]
    raise ValueError("not a sweep frame: it has neither a 'replication' nor a 'storage' column")


# --- the grid ---------------------------------------------------------------------------------


def _check_grid(grid: Mapping[str, Sequence[Any]]) -> list[str]:
    params = list(grid)
    for path in params:
        values = grid[path]
        if not isinstance(path, str) or not path:
            raise ScenarioError(f"grid keys must be dotted paths (got {path!r})")
        if path in RUN_COLUMNS:
            why = "; replications vary the seed" if path == "seed" else ""
            raise ScenarioError(
                f"grid {path} must not be swept: it would clash with the {path!r} column{why}",
                where=path,
            )
        if isinstance(values, str | bytes) or not isinstance(values, Sequence):
            raise ScenarioError(
                f"grid {path} must be a list of values (got {values!r})", where=path
            )
        if not values:
            raise ScenarioError(f"grid {path} must have at least one value (got [])", where=path)
        texts = [_canonical(v) for v in values]
        if len(set(texts)) != len(texts):
            raise ScenarioError(
                f"grid {path} must not repeat a value (got {list(values)!r})", where=path
            )
    return params


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def _digest(scenario: Scenario, compare: bool) -> str:
    """Fingerprint of what a run depends on besides its point and seed."""
    text = _canonical({"scenario": scenario.to_data(), "compare": compare})
    return hashlib.sha256(text.encode()).hexdigest()[:16]


# --- one run ----------------------------------------------------------------------------------


def _run(scenario: Scenario, seed: int, compare: bool, catch: bool) -> list[Row]:
    """Simulate one variant and return its rows as plain JSON-able values.

    Runs in a worker process: it returns small dicts rather than the Result, whose
    per-operation frames are large and would cross the process boundary for nothing.
    """
    try:
        # a sweep keeps summaries only: streaming statistics, bounded memory
        result = simulate(scenario, seed=seed, compare=compare, ops="summary")
    except Exception as exc:
        if not catch:
            raise
        return [{"storage": None, "error": f"{type(exc).__name__}: {exc}"}]
    rows: list[Row] = [{**_plain(row), "error": None} for row in result.summary.to_dict("records")]
    if result.comparison is not None:
        rows += [
            {"storage": None, **_plain(row), "error": None}
            for row in result.comparison.to_dict("records")
        ]
    return rows


def _plain(row: Mapping[Any, Any]) -> Row:
    # The same values whether a row comes straight from a worker or back from the JSON
    # log: numpy scalars as Python ones, NaN as None (JSON has no NaN).
    out: Row = {}
    for key, value in row.items():
        if hasattr(value, "item"):
            value = value.item()
        if isinstance(value, float) and not math.isfinite(value):
            value = None
        out[str(key)] = value
    return out


def _failed(rows: Sequence[Row]) -> bool:
    return any(row.get("error") is not None for row in rows)


# --- executors --------------------------------------------------------------------------------


def _check_executor(executor: Any, jobs: int | None) -> int:
    """Check ``executor`` and ``jobs`` before anything runs; return the worker count."""
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


def _execute(
    todo: Sequence[tuple[int, _Task]], executor: Any, workers: int, compare: bool, catch: bool
) -> Generator[tuple[int, list[Row]], None, None]:
    """Run the tasks (``executor`` checked by :func:`_check_executor`).

    Yields:
        ``(index, rows)`` in the order the runs finish.
    """
    if executor is None:
        executor = "serial" if workers == 1 or len(todo) <= 1 else "process"
    if executor == "serial":
        return ((i, _run(task.scenario, task.seed, compare, catch)) for i, task in todo)
    if executor == "process":
        return _process_pool(min(workers, max(len(todo), 1)), todo, compare, catch)
    if isinstance(executor, cf.Executor):
        return _futures(executor, todo, compare, catch, cf.as_completed)
    if isinstance(executor, str):  # "dask" or "dask=ADDRESS"
        address = executor.partition("=")[2] or None
        return _dask(_distributed(), address, workers, todo, compare, catch)
    as_completed = _distributed().as_completed  # a distributed.Client
    return _futures(executor, todo, compare, catch, as_completed, pure=False)


def _process_pool(
    workers: int, todo: Sequence[tuple[int, _Task]], compare: bool, catch: bool
) -> Generator[tuple[int, list[Row]], None, None]:
    if not todo:
        return
    with cf.ProcessPoolExecutor(workers, mp_context=_mp_context()) as pool:
        yield from _futures(pool, todo, compare, catch, cf.as_completed)


def _futures(
    pool: Any,
    todo: Sequence[tuple[int, _Task]],
    compare: bool,
    catch: bool,
    as_completed: Callable[[Any], Any],
    **options: Any,
) -> Generator[tuple[int, list[Row]], None, None]:
    futures = {
        pool.submit(_run, task.scenario, task.seed, compare, catch, **options): i
        for i, task in todo
    }
    try:
        for future in as_completed(list(futures)):
            try:
                rows = future.result()
            except Exception as exc:  # the pool failed, not the run (a worker died)
                if not catch:
                    raise
                rows = [{"storage": None, "error": f"{type(exc).__name__}: {exc}"}]
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
    todo: Sequence[tuple[int, _Task]],
    compare: bool,
    catch: bool,
) -> Generator[tuple[int, list[Row]], None, None]:
    if not todo:
        return
    as_completed = distributed.as_completed
    if address is not None:
        with distributed.Client(address) as client:
            yield from _futures(client, todo, compare, catch, as_completed, pure=False)
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
        yield from _futures(client, todo, compare, catch, as_completed, pure=False)


def _is_dask_client(executor: Any) -> bool:
    # Only a program that imported distributed can hold a Client.
    return "distributed" in sys.modules and isinstance(executor, _distributed().Client)


def _mp_context() -> multiprocessing.context.BaseContext:
    # fork is unsafe once threads exist (a notebook kernel, dask, a BLAS pool); the
    # forkserver imports storsim once and forks each worker from that clean process.
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["storsim.sweep"])
        return context
    return multiprocessing.get_context("spawn")


def _cpus() -> int:
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


# --- the log of finished runs -------------------------------------------------------------------


def _read_log(path: Path, digest: str) -> dict[tuple[str, str, int, int], list[Row]]:
    done: dict[tuple[str, str, int, int], list[Row]] = {}
    if not path.exists():
        return done
    with path.open(encoding="utf-8") as handle:
        for text in handle:
            try:
                line = json.loads(text)
                key = (
                    str(line["scenario"]),
                    _canonical(line["point"]),
                    int(line["replication"]),
                    int(line["seed"]),
                )
                rows = [dict(row) for row in line["rows"]]
            except (ValueError, KeyError, TypeError):
                continue  # a line cut short by a crash, or not ours
            if key[0] == digest:
                done[key] = rows  # a later line (a retried failure) wins
    return done


def _open_log(path: Path) -> TextIO:
    handle = path.open("a+", encoding="utf-8")
    handle.seek(0, os.SEEK_END)
    if handle.tell() > 0:
        handle.seek(handle.tell() - 1)
        if handle.read(1) != "\n":  # the previous sweep died mid-line
            handle.write("\n")
    return handle


# --- the frame ----------------------------------------------------------------------------------


def _frame(
    params: list[str], tasks: Sequence[_Task], results: Mapping[int, list[Row]]
) -> pd.DataFrame:
    records: list[Row] = []
    metrics: list[str] = [c for c in SUMMARY_COLUMNS if c != "storage"]
    has_placement = False
    for i, task in enumerate(tasks):
        head: Row = {p: _cell(task.point[p]) for p in params}
        head["replication"] = task.replication
        head["seed"] = task.seed
        for row in results[i]:
            has_placement = has_placement or "placement" in row
            for column in row:
                if column not in RUN_COLUMNS and column not in metrics:
                    metrics.append(column)
            records.append({**head, **row})
    columns = [*params, "replication", "seed", "storage"]
    columns += ["placement"] if has_placement else []
    columns += [*metrics, "error"]
    frame = pd.DataFrame.from_records(records, columns=columns)
    for column in metrics:  # a metric missing from every row is still numeric
        frame[column] = pd.to_numeric(frame[column])
    frame["replication"] = frame["replication"].astype("int64")
    frame["seed"] = frame["seed"].astype("int64")
    frame["error"] = frame["error"].astype(object).where(frame["error"].notna(), None)
    return frame


def _cell(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return _canonical(value)


# --- summaries ----------------------------------------------------------------------------------


def summarize(frame: pd.DataFrame, *, confidence: float = 0.95) -> pd.DataFrame:
    """Mean and Student-t confidence interval over the replications of each grid point.

    Args:
        frame: a :func:`sweep` frame.
        confidence: the interval's coverage, in (0, 1).

    Returns:
        One row per grid point and storage choice (and placement), in the frame's order:
        the grid columns, ``storage`` (and ``placement``), ``runs`` (rows in the group),
        ``failed`` (of which failed; the failed runs of a point form a group of their own
        with ``storage`` missing), then for each numeric metric ``M``: ``M_mean``,
        ``M_ci_low`` and ``M_ci_high``, the bounds of ``mean -+ t * sd / sqrt(n)`` with
        ``n`` the replications that have a value and ``t`` the Student-t quantile with
        ``n - 1`` degrees of freedom. With one replication the bounds are missing.

    Raises:
        ValueError: ``frame`` is not a sweep frame, or ``confidence`` is not in (0, 1).
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1) (got {confidence!r})")
    params = grid_columns(frame)
    if "replication" not in frame.columns:
        raise ValueError("not a sweep frame: it has no 'replication' column")
    keys = [*params, "storage", *(["placement"] if "placement" in frame.columns else [])]
    skip = {*keys, *RUN_COLUMNS}
    metrics = [
        c
        for c in frame.columns
        if c not in skip
        and pd.api.types.is_numeric_dtype(frame[c])
        and not pd.api.types.is_bool_dtype(frame[c])
    ]
    # Missing keys (storage of a comparison row) must form groups, not vanish.
    grouped = frame.groupby(keys, dropna=False, sort=False)
    head = grouped.size().rename("runs").to_frame()
    head["failed"] = grouped["error"].count() if "error" in frame.columns else 0
    intervals = mean_intervals(grouped, metrics, confidence=confidence)
    return pd.concat([head, intervals], axis=1).reset_index()


# --- progress -----------------------------------------------------------------------------------


class _Progress:
    """Finished runs out of all, on stderr.

    In a terminal or a notebook (both honour a carriage return) one line is redrawn in
    place; in a log file a line is written at every tenth of the runs.
    """

    def __init__(self, total: int, done: int, *, enabled: bool) -> None:
        self._total, self._done, self._failed = total, done, 0
        self._skipped = done
        self._start = time.monotonic()
        self._last = 0.0
        self._line = StatusLine()
        self._enabled = enabled and total > done
        self._step = max(1, (total - done) // 10)
        if self._enabled:
            self._show(force=True)

    def update(self, *, failed: bool) -> None:
        self._done += 1
        self._failed += failed
        if self._enabled:
            fresh = self._done - self._skipped
            if self._line.live or fresh % self._step == 0 or self._done == self._total:
                self._show(force=self._done == self._total)

    def close(self) -> None:
        self._line.close()

    def _show(self, *, force: bool) -> None:
        now = time.monotonic()
        if self._line.live and not force and now - self._last < 0.1:
            return
        self._last = now
        elapsed = now - self._start
        text = f"sweep: {self._done}/{self._total} runs"
        if self._skipped:
            text += f" ({self._skipped} from the log)"
        if self._failed:
            text += f", {self._failed} failed"
        text += f", {elapsed:.1f} s"
        fresh = self._done - self._skipped
        if fresh > 0 and self._done < self._total:
            text += f", ~{elapsed / fresh * (self._total - self._done):.0f} s left"
        self._line.show(text)
