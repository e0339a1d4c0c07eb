"""Simulation: one scenario, one seed: build the world, run it, collect the results.

Like a stage manager on opening night: set up the stage (:mod:`storsim.run.world`:
devices, images, volumes), send each actor on at their cue (:mod:`storsim.run.containers`:
``docker run`` at its time), strike the set when the play ends, and hand the recording
over for review. :func:`simulate` is the whole pipeline scenario -> model -> records ->
statistics for one seed, with the placements of a ``compare:`` section
(:mod:`storsim.compare`) run after it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pandas as pd

from storsim import budget, guard  # issue 11: the work budget and the watchdog
from storsim.compare import placement_row, placements, under
from storsim.progress import StatusLine
from storsim.records import Recorder
from storsim.run.conflicts import ConflictTracker
from storsim.run.containers import start_containers
from storsim.run.context import SimContext
from storsim.run.overload import overload_frame, overloaded_names
from storsim.run.world import World
from storsim.scenario import Scenario
from storsim.stats import (
    StreamingSummary,
    errors_by_errno,
    startup_table,
    summarize_by_service,
    summarize_ops,
)

__all__ = ["OPS_MODES", "Result", "simulate"]

#: What :func:`simulate` keeps of the operations: every row, or streaming totals only.
OPS_MODES = ("full", "summary")


@dataclass(frozen=True, slots=True)
class Result:
    """What one simulation produced.

    Attributes:
        scenario: the scenario that was run.
        seed: the seed it ran with.
        ops: one row per file operation (:data:`storsim.records.FRAME_COLUMNS` +
            ``latency_s``; every time in seconds, named ``*_s``: ``t_start_s``,
            ``t_end_s``, ``lock_wait_s``); with ``ops_mode == "summary"``, an empty frame
            with the same columns.
        events: one row per lifecycle event (:class:`storsim.records.EventRecord`; its
            time as ``t_s``, in seconds).
        summary: one row per storage choice (:data:`storsim.stats.SUMMARY_COLUMNS`).
        by_service: the same per service and storage choice (``service`` column first).
        errors: failed operations per storage choice and errno.
        mounts: one row per mount per container run, with the image entries it hides.
        comparison: with a ``compare:`` section, one row per candidate storage choice for
            the compared path (``placement`` column, then the summary columns of the
            operations on that path); otherwise None.
        records: the final value of every record that workloads read-modify-wrote or
            wrote (``path``, ``offset``, ``nbytes``, ``value``: increments that survived).
        sim_time_s: simulated seconds when the run ended.
        startup: one row per ``docker run`` (:data:`storsim.stats.STARTUP_COLUMNS`): when
            it happened and how long the container took to start (``startup_ms``: Docker
            copying ``copy_bytes`` of image content into new empty volumes).
        ops_mode: ``"full"``: ``ops`` holds every operation and the tables are computed
            from it exactly; ``"summary"``: no per-operation rows were kept, and the
            tables come from streaming totals (:class:`storsim.stats.StreamingSummary`:
            counts, sums, means and maxima exact, percentiles within 0.5 %).
        overload: one row per device (the CPUs, the disk, each remote server and its
            link): its utilisation, how fast its queue grew over the run's second half,
            and whether it could not keep up (:mod:`storsim.run.overload`).
    """

    scenario: Scenario
    seed: int
    ops: pd.DataFrame
    events: pd.DataFrame
    summary: pd.DataFrame
    by_service: pd.DataFrame
    errors: pd.DataFrame
    mounts: pd.DataFrame
    comparison: pd.DataFrame | None
    records: pd.DataFrame
    sim_time_s: float
    ops_mode: str = "full"
    startup: pd.DataFrame = dataclasses.field(default_factory=lambda: startup_table(None))
    overload: pd.DataFrame | None = None


def simulate(
    scenario: Scenario,
    *,
    seed: int | None = None,
    compare: bool = True,
    ops: str = "full",
    progress: bool = False,
    max_ops: int | None = budget.DEFAULT_MAX_OPS,
) -> Result:
    """Run a scenario once.

    Args:
        scenario: a validated scenario (:func:`storsim.load_scenario`).
        seed: the random seed; the scenario's own ``seed`` when None. The same scenario
            and seed give identical results.
        compare: also run the placements of the scenario's ``compare:`` section.
        ops: ``"full"`` keeps one row per operation in ``Result.ops`` (what reports plot
            from; memory grows with the number of operations, about 100 bytes each).
            ``"summary"`` keeps streaming totals only: memory stays bounded however long
            the run, ``Result.ops`` is empty, and the percentiles of ``summary``,
            ``by_service`` and ``comparison`` are within 0.5 % of the exact ones (every
            count is exact). The simulated operations are the same either way.
        progress: show how far a run has got on stderr (simulated time, the share of the
            scenario's duration, operations so far), once it has taken a second; the
            results are the same with or without it.
        max_ops: the work budget (:mod:`storsim.budget`): a scenario estimated to do
            more operations (files built and walked included), or to need more memory
            than 100 bytes per operation allowed, is refused before anything is built;
            a run that does twice as many is stopped. None: no limit.

    Returns:
        The :class:`Result`.

    Raises:
        RunawayError: the scenario is over the budget (the message gives the estimate
            and the ``max_ops`` that allows it), or its simulated clock stopped advancing.
        ValueError: ``ops`` is not one of :data:`OPS_MODES`, or ``max_ops`` < 1, or
            ``seed`` is negative.
    """
    if ops not in OPS_MODES:
        raise ValueError(f"ops must be one of {', '.join(OPS_MODES)} (got {ops!r})")
    budget.check(scenario, max_ops, ops=ops, compare=compare)  # issue 11: before any build
    seed = scenario.seed if seed is None else seed
    result, _ = _run_once(
        scenario, seed, ops, progress="run" if progress else None, max_ops=max_ops
    )
    if compare and scenario.compare is not None:
        path = scenario.compare.path
        rows = []
        for label, variant in placements(scenario):
            sub, streamed = _run_once(
                variant,
                seed,
                ops,
                focus=path,
                progress=f"compare {label}" if progress else None,
                max_ops=max_ops,
            )
            on_path = under(sub.ops, path)  # empty with streaming totals
            row = placement_row(label, on_path, sub.events, sub.sim_time_s, streamed)
            row["overload"] = ", ".join(overloaded_names(sub.overload))
            rows.append(row)
        result = dataclasses.replace(result, comparison=pd.DataFrame(rows))
    return result


def _run_once(
    scenario: Scenario,
    seed: int,
    ops: str = "full",
    *,
    focus: str | None = None,
    progress: str | None = None,
    max_ops: int | None = None,
) -> tuple[Result, StreamingSummary | None]:
    """Build and run one scenario; with ``ops == "summary"``, also its streaming totals
    (with ``focus``: of the operations under that path too); with ``progress``, a
    progress line on stderr labelled with it; watched by :class:`storsim.guard.Watchdog`
    (``max_ops``: its budget)."""
    streamed = StreamingSummary(focus=focus) if ops == "summary" else None
    recorder = Recorder(sink=streamed.add if streamed is not None else None)
    world = World.build(scenario, seed, recorder)
    start_containers(world)
    env = world.ctx.env
    with _quiet_collector():
        # issue 11: every run goes in watched slices (a clock that stops is an error)
        ctx = world.ctx
        watchdog = guard.Watchdog(scenario, max_ops=max_ops, recorded=lambda: ctx.recorder.recorded)
        shown = _RunProgress(progress, scenario.duration, ctx) if progress is not None else None
        guard.advance(env, scenario.duration, watchdog, shown)
        return _collect(scenario, seed, ops, world, streamed)


# --- progress ----------------------------------------------------------------------------

_QUIET_S = 1.0  # a run shorter than this shows no progress at all


class _RunProgress:
    """How far a run has got, on stderr: simulated time (of the duration, when there is
    one), operations so far, and wall time. Redrawn in place in a terminal or a notebook,
    a line every 10 s in a log; nothing until the run has taken a second."""

    def __init__(self, label: str, duration: float | None, ctx: SimContext) -> None:
        self._label = label
        self._duration = duration
        self._recorder = ctx.recorder
        self._line = StatusLine()
        self._start = time.monotonic()
        self._last = -math.inf

    def show(self, now: float) -> None:
        wall = time.monotonic()
        elapsed = wall - self._start
        if elapsed < _QUIET_S or wall - self._last < (0.2 if self._line.live else 10.0):
            return
        self._last = wall
        text = f"{self._label}: {now:.6g} s simulated"
        if self._duration:
            text += f" ({100 * now / self._duration:.0f} % of {self._duration:g} s)"
        text += f", {self._recorder.recorded:,} operations, {elapsed:.0f} s"
        self._line.show(text)

    def close(self) -> None:
        self._line.close()


def _collect(
    scenario: Scenario, seed: int, ops: str, world: World, streamed: StreamingSummary | None
) -> tuple[Result, StreamingSummary | None]:
    """The Result of a finished run: its records turned into tables."""
    ctx, env = world.ctx, world.ctx.env
    frame = ctx.recorder.frame()  # empty when the rows went to the streaming totals
    events = ctx.recorder.events_frame()
    span = float(env.now) if env.now > 0 else None
    if streamed is not None:
        summary = streamed.summary(events, span_s=span)
        by_service = streamed.by_service(events, span_s=span)
        errors = streamed.errors()
    else:
        summary = summarize_ops(frame, events, span_s=span)
        by_service = summarize_by_service(frame, events, span_s=span)
        errors = errors_by_errno(frame)
    result = Result(
        scenario=scenario,
        seed=seed,
        ops=frame,
        events=events,
        summary=summary,
        by_service=by_service,
        errors=errors,
        mounts=pd.DataFrame(
            world.mount_rows,
            columns=["container", "target", "storage", "source", "read_only", "hidden_entries"],
        ),
        comparison=None,
        records=_records(ctx.tracker),
        sim_time_s=float(env.now),
        ops_mode=ops,
        startup=startup_table(events),
        overload=overload_frame(ctx.host, float(env.now)),
    )
    return result, streamed


def _records(tracker: ConflictTracker) -> pd.DataFrame:
    columns = ["path", "offset", "nbytes", "value"]
    table = tracker.table()
    if not table["path"]:
        return pd.DataFrame([], columns=columns)  # dtypes of an empty table, as always
    return pd.DataFrame(table, columns=columns)


@contextlib.contextmanager
def _quiet_collector() -> Iterator[None]:
    """Keep the cyclic garbage collector off the model built before the run.

    A run allocates and frees millions of small objects (events, generators, records);
    every few hundred allocations CPython's collector runs, and its older generations
    scan the whole heap: the layer trees and file tables built before the run, which
    cannot become garbage during it. ``gc.freeze()`` moves them out of the collector's
    sight for the run and the collection of its tables (it still collects what the run
    makes) and ``gc.unfreeze()`` gives them back afterwards; only speed changes, never
    results. (A full collection over the model right after the run cost as much as
    building the per-operation table.) What the run itself keeps (rows, upper files,
    cache keys) grows all along, so the collector also runs less often meanwhile:
    every 10,000 net allocations instead of 700, and the full collections far less
    (13 % less time for the copy-up benchmark at 200,000 operations; bench/run.py).
    Before freezing, one full collection clears what earlier runs left.
    """
    threshold = gc.get_threshold()
    # What earlier runs left (their worlds are cycles: processes, events, generators)
    # must go first, or freezing would keep it for good: repeated runs in one process
    # (a notebook, a serial sweep) then grew by one world each (tests/test_streaming.py).
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 50, 1_000)
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        gc.unfreeze()
