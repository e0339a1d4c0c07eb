"""A sweep's campaign: every run of a grid, wherever it runs, in one tidy table.

Like a wind-tunnel campaign: the same model is tested at every combination of wind speed
and angle, several times each, and every run is logged on one line of the same sheet, so
that afterwards anyone can plot drag against speed, one curve per angle, with error bars.
:func:`sweep` runs the full factorial grid of ``{"dotted.path": [values...]}`` times
``replications`` seeds (in this process, a local process pool or a Dask cluster) and
returns one row per run and storage choice; :func:`storsim.summarize` turns the
replications into a mean and a Student-t confidence interval per grid point and storage
choice.

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
- ``series``: the storage choice, or where one storage choice hides several backends
  (an NFS and an S3-FUSE bind), the share of one remote: ``"distributed_bind (nas,
  nfs)"`` (:func:`storsim.stats.series.series_summary`); missing on placement rows;
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

import os
import time
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import pandas as pd

from storsim.budget import DEFAULT_MAX_OPS, check
from storsim.errors import RunawayError
from storsim.progress import StatusLine
from storsim.scenario import Scenario
from storsim.stats import SUMMARY_COLUMNS
from storsim.sweeps.executors import Row, check_executor, execute, failed
from storsim.sweeps.grid import RUN_COLUMNS, Task, cell, tasks
from storsim.sweeps.runlog import RunLog, run_key, scenario_digest

__all__ = ["sweep"]


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
    max_ops: int | None = DEFAULT_MAX_OPS,
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
        max_ops: the work budget of each run (:func:`storsim.simulate`); every grid point
            is checked against it before any run starts. None: no limit.

    Returns:
        One row per run and storage choice (and placement): see the module docstring.
        Rows are in grid order, then replication, whatever order the runs finished in.

    Raises:
        ScenarioError: a grid path or value makes an invalid scenario, or a value list
            is empty or repeats a value; every point is checked before any run starts.
        RunawayError: a grid point is over the budget ``max_ops`` (the message names it).
        ValueError: ``replications`` or ``jobs`` < 1, ``max_ops`` < 1, an unknown
            ``executor`` or ``on_error``.
    """
    if replications < 1:
        raise ValueError(f"replications must be >= 1 (got {replications!r})")
    if on_error not in ("record", "raise"):
        raise ValueError(f"on_error must be 'record' or 'raise' (got {on_error!r})")
    workers = check_executor(executor, jobs)
    params, runs = tasks(scenario, grid or {}, replications)
    for task in runs[::replications]:  # one per grid point: its replications are alike
        try:
            check(task.scenario, max_ops, ops="summary", compare=compare)
        except RunawayError as exc:
            point = ", ".join(f"{p}={task.point[p]!r}" for p in params)
            raise RunawayError(
                f"{exc.message} (grid point {point})" if point else exc.message,
                file=exc.file,
                line=exc.line,
                where=exc.where,
            ) from None
    digest = scenario_digest(scenario, compare)

    log = RunLog(out, digest) if out is not None else None
    done = log.done if log is not None else {}
    results: dict[int, list[Row]] = {}
    todo: list[tuple[int, Task]] = []
    for i, task in enumerate(runs):
        rows = done.get(run_key(digest, task))
        if rows is not None and not failed(rows):
            results[i] = rows
        else:
            todo.append((i, task))

    bar = _Progress(len(runs), len(results), enabled=progress)
    finished = execute(todo, executor, workers, compare, on_error == "record", max_ops)
    try:
        for i, rows in finished:
            results[i] = rows
            if log is not None:
                log.append(runs[i], rows)
            bar.update(failed=failed(rows))
    finally:
        finished.close()  # stops the pool or cluster now, even on an error or an interrupt
        bar.close()
        if log is not None:
            log.close()
    return _frame(params, runs, results)


def _frame(
    params: list[str], runs: Sequence[Task], results: Mapping[int, list[Row]]
) -> pd.DataFrame:
    """The sweep frame: the rows of every run in task order, with their point and seed."""
    records: list[Row] = []
    metrics: list[str] = [c for c in SUMMARY_COLUMNS if c != "storage"]
    has_placement = False
    for i, task in enumerate(runs):
        head: Row = {p: cell(task.point[p]) for p in params}
        head["replication"] = task.replication
        head["seed"] = task.seed
        for row in results[i]:
            has_placement = has_placement or "placement" in row
            for column in row:
                if column not in RUN_COLUMNS and column not in metrics:
                    metrics.append(column)
            records.append({**head, **row})
    columns = [*params, "replication", "seed", "storage", "series"]
    columns += ["placement"] if has_placement else []
    columns += [*metrics, "error"]
    frame = pd.DataFrame.from_records(records, columns=columns)
    for column in metrics:  # a metric missing from every row is still numeric
        frame[column] = pd.to_numeric(frame[column])
    frame["replication"] = frame["replication"].astype("int64")
    frame["seed"] = frame["seed"].astype("int64")
    frame["error"] = frame["error"].astype(object).where(frame["error"].notna(), None)
    # rows logged before series existed: a storage choice is its own series
    frame["series"] = (
        frame["series"].astype(object).where(frame["series"].notna(), frame["storage"])
    )
    return frame


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
