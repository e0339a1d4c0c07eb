"""The run's watchdog: the event loop in slices, with a look at the clock between them.

Like the dead man's switch of a train, which stops it when the driver no longer
responds, :func:`advance` runs the SimPy event loop a slice of events at a time and,
between slices, lets a :class:`Watchdog` look at the simulated clock and the operations
recorded so far, and a progress line show where the run is. A run whose clock no longer
advances (a workload whose operations take no time, failing again and again at one
instant, forever) or that has done twice the operations of its budget is stopped with a
:class:`~storsim.errors.RunawayError` naming the workload; Ctrl-C (KeyboardInterrupt)
reaches the loop between any two events, as it would a plain ``env.run``.

Slicing changes no result: :func:`advance` processes the same events in the same order
as one ``env.run(until)`` (tests/test_guard.py compares the two on every shipped
scenario).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from heapq import heappop
from typing import Any, Protocol

import simpy
from simpy.core import StopSimulation
from simpy.events import EventPriority

from storsim.errors import RunawayError
from storsim.scenario import Scenario, WorkloadSpec
from storsim.scenario.messages import dotted, locate

__all__ = ["STALL_EVENTS", "STEPS_PER_LOOK", "Watchdog", "advance"]

#: Events between two looks at the clock: about 40 ms of a typical run (5 us an event).
STEPS_PER_LOOK = 8192
#: Events at one instant after which the clock is taken to have stopped: 200,000 is
#: far more than any instant of a shipped scenario (the most: one event or two per
#: simulated thread starting at once), and a few seconds of work.
STALL_EVENTS = 200_000


class Progress(Protocol):
    """What :func:`advance` shows progress on (``storsim.simulation``'s status line)."""

    def show(self, now: float) -> None: ...

    def close(self) -> None: ...


class Watchdog:
    """Stops a run whose clock stopped, or that went far over its budget.

    Args:
        scenario: the scenario being run (for the messages: its file and workloads).
        max_ops: the run's budget (:func:`storsim.budget.check`); a run that records
            twice as many operations is stopped. None: no limit.
        recorded: returns the operations recorded so far.
    """

    def __init__(
        self, scenario: Scenario, *, max_ops: int | None, recorded: Callable[[], int]
    ) -> None:
        self._scenario = scenario
        self._recorded = recorded
        self._max_recorded = 2 * max_ops if max_ops is not None else None
        self._max_ops = max_ops
        # every simulated thread may start at the same instant, with an event or two each
        threads = sum(
            svc.deploy.replicas * sum(w.threads or 1 for w in svc.workload)
            for svc in scenario.services.values()
        )
        self._limit = STALL_EVENTS + 4 * threads
        self._now = -math.inf
        self._still = 0  # events processed since the clock last moved (a lower bound)

    def look(self, env: simpy.Environment, steps: int) -> None:
        """Look at the run after ``steps`` more events.

        Raises:
            RunawayError: the clock has not moved for more than ``STALL_EVENTS`` events
                (plus four per simulated thread), or the run has recorded more than twice
                its budget of operations.
        """
        now = env.now
        if now != self._now:
            self._now, self._still = now, 0
        else:
            self._still += steps
            if self._still > self._limit:
                raise self._stalled(env)
        if self._max_recorded is not None and self._recorded() > self._max_recorded:
            raise RunawayError(
                f"the run has done {self._recorded():,} operations, more than twice its budget of "
                f"{self._max_ops:,}, at {now:.6g} s simulated; operations took less time "
                "than the estimate assumed; allow more with --max-ops (max_ops= in Python)",
                file=self._scenario.file,
            )

    def _stalled(self, env: simpy.Environment) -> RunawayError:
        path = _culprit(env, self._scenario)
        line = None
        tree = getattr(self._scenario, "_tree", None)
        if path is not None and tree is not None:
            _, line = locate(tree, path)
        where = dotted(path) if path is not None else None
        message = (
            f"simulated time stopped advancing at {env.now:.6g} s: more than "
            f"{self._limit:,} events happened at that instant (a loop of operations that "
            "take no time, such as writes that fail at once); give the workload a count, "
            "a think time or a rate"
        )
        return RunawayError(
            f"{where}: {message}" if where else message,
            file=self._scenario.file,
            line=line,
            where=where,
        )


def advance(
    env: simpy.Environment,
    until: float | None,
    watchdog: Watchdog,
    progress: Progress | None = None,
) -> None:
    """``env.run(until)``, in slices of :data:`STEPS_PER_LOOK` events, with the watchdog
    (and the progress line, if any) between them.

    The same events happen in the same order as in one ``env.run(until)``: each slice
    steps through the events scheduled before ``until`` (``run`` processes exactly those:
    its stop event at ``until`` is urgent, so it comes before every event at that
    instant, which can only have been scheduled by events at that instant), and the
    last ``env.run(until)`` moves the clock to ``until`` as ``run`` does. With no
    ``until``, stepping until the schedule is empty is what ``run`` does.

    Raises:
        RunawayError: the watchdog stopped the run.
    """
    try:
        if until is None:
            while _slice(env, None) == STEPS_PER_LOOK:
                watchdog.look(env, STEPS_PER_LOOK)
                if progress is not None:
                    progress.show(env.now)
            return  # the schedule is empty (a last, partial slice is not looked at)
        queue: list[Any] = env._queue
        while queue and queue[0][0] < until:
            watchdog.look(env, _slice(env, until))
            if progress is not None:
                progress.show(env.now)
        env.run(until=until)  # no event left before until: only moves the clock there
    finally:
        if progress is not None:
            progress.close()  # also on an error: the message starts on a line of its own


def _slice(env: simpy.Environment, until: float | None) -> int:
    """Process up to :data:`STEPS_PER_LOOK` events due before ``until`` (None: any),
    exactly as that many calls of ``env.step()`` would; the number processed (fewer:
    none is left).

    ``Environment.step`` inlined, with ``peek`` as a look at the heap: at 1-4 events a
    simulated operation, the two Python calls an event saved are 2-4 % of a run
    (bench/run.py --quick, issue 13).
    """
    queue: list[Any] = env._queue
    pop = heappop
    steps = 0
    while steps < STEPS_PER_LOOK and queue:
        if until is not None and queue[0][0] >= until:
            break
        env._now, _, _, event = pop(queue)
        steps += 1
        callbacks, event.callbacks = event.callbacks, None
        try:
            for callback in callbacks:
                callback(event)
        except StopSimulation:  # as step() does: the rest of its callbacks run later
            event.callbacks = callbacks[callbacks.index(callback) + 1 :]
            env.schedule(event, EventPriority(-1))
            raise
        if not event._ok and not hasattr(event, "_defused"):
            # A failed event nobody handled crashes the run, as in step().
            exc = type(event._value)(*event._value.args)
            exc.__cause__ = event._value
            raise exc
    return steps


def _culprit(env: simpy.Environment, scenario: Scenario) -> list[str | int] | None:
    """The YAML path of the workload whose processes are waiting at the instant the clock
    stopped (found through the callbacks of the events scheduled next), if any."""
    owners: dict[int, list[str | int]] = {
        id(spec): ["services", sname, "workload", w]
        for sname, svc in scenario.services.items()
        for w, spec in enumerate(svc.workload)
    }
    queue: list[Any] = getattr(env, "_queue", [])
    for item in sorted(queue[:256])[:64]:
        for callback in getattr(item[-1], "callbacks", None) or ():
            process = getattr(callback, "__self__", None)
            # a workload's process carries its spec (storsim.run.workload); others (a
            # container's lifecycle) are found through their generators' frames
            spec = getattr(process, "storsim_workload", None)
            if isinstance(spec, WorkloadSpec) and id(spec) in owners:
                return owners[id(spec)]
            generator = getattr(process, "_generator", None)
            while generator is not None:
                frame = getattr(generator, "gi_frame", None)
                for value in frame.f_locals.values() if frame is not None else ():
                    spec = (
                        value if isinstance(value, WorkloadSpec) else getattr(value, "spec", None)
                    )
                    if isinstance(spec, WorkloadSpec) and id(spec) in owners:
                        return owners[id(spec)]
                generator = getattr(generator, "gi_yieldfrom", None)
    return None
