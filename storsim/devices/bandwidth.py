"""Shared bandwidth: the bytes of a device's concurrent requests share one data path.

Like one tap filling several buckets: each bucket holder turns up on their own (the
request's access latency, served in parallel by the device's slots), but while several
buckets are under the tap at once the water splits evenly between them. A disk with
``queue_depth`` slots serves that many requests at once for latency and IOPS (flash
channels, NCQ tags), but the bytes of every request cross the same link and flash
interface: eight 512 MiB copy-ups on a 520 MB/s SSD finish together after about
8 x 1.03 s, not each after 1.03 s.

The stage is processor sharing in *work*: a request's work is its transfer time at the
device's full bandwidth (``nbytes / read_bytes_per_s`` for a read, the write bandwidth
for a write), and the device does one second of work per second, split equally among
the requests transferring (Kleinrock's processor sharing). Its own latency comes first
and takes no bandwidth.

The common case costs one event. A request whose transfer overlaps no other is served
*alone*: its completion is one event scheduled at ``latency + work``, known when it
starts. Only when a request arrives whose transfer would overlap another's does the
stage switch to *shared* mode: the completion events of the requests served alone are
replaced (their callbacks move to new events, triggered by the stage), and the stage
follows the virtual time of processor sharing with one timer, rescheduled at each
entry and completion, until no request is left.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from typing import Any

import simpy
from simpy.events import NORMAL

__all__ = ["SharedBandwidth", "schedule_completion"]

# Two finishing tags within this much work of each other finish at the same instant:
# floating-point sums of shares otherwise leave a job 1e-19 s short of done.
_EPSILON = 1e-12


class _Job:
    """One request in the stage: it transfers from ``entry_s`` for ``work_s`` of work."""

    __slots__ = ("end_s", "entry_s", "event", "granted_s", "tag", "work_s")

    def __init__(
        self, granted_s: float, entry_s: float, work_s: float, end_s: float, event: simpy.Event
    ) -> None:
        self.granted_s = granted_s  # when its slot was granted (its latency began)
        self.entry_s = entry_s  # when its transfer begins
        self.work_s = work_s  # its transfer time at full bandwidth
        # its completion if served alone: granted + (latency + work), computed as SimPy
        # computes the instant of the event scheduled for it, to agree to the last bit
        self.end_s = end_s
        self.event = event  # triggers at completion, value: slot time (s)
        self.tag = 0.0  # shared mode: the virtual time at which it is done

    def __lt__(self, other: _Job) -> bool:  # the pending heap orders by entry, then age
        return (self.entry_s, self.granted_s) < (other.entry_s, other.granted_s)


class SharedBandwidth:
    """The transfer stage of one device: processor sharing of its bandwidth.

    Args:
        env: the simulation environment.

    Attributes:
        transferring: requests moving bytes now.
    """

    __slots__ = (
        "_active",
        "_alone",
        "_env",
        "_generation",
        "_pending",
        "_since",
        "_started_s",
        "_timeout",
        "_timer_s",
        "_vtime",
    )

    def __init__(self, env: simpy.Environment) -> None:
        self._env = env
        self._timeout = env.timeout
        self._alone: list[_Job] = []  # served alone: none overlaps another
        self._active: list[_Job] = []  # shared mode: transferring now
        self._pending: list[_Job] = []  # shared mode: in their latency, by entry (heap)
        self._vtime = 0.0  # shared mode: work each active job has received
        self._since = 0.0  # when _vtime was last brought up to date
        self._generation = 0  # the live timer's number (older timers do nothing)
        self._timer_s = float("inf")  # when the live timer fires
        self._started_s = 0.0  # work of every request started so far

    def start(
        self,
        latency_s: float,
        work_s: float,
        finish: Callable[[simpy.Event], None],
        event: simpy.Event | None = None,
    ) -> simpy.Event:
        """A request whose slot was just granted: ``latency_s`` on its own, then
        ``work_s`` of transfer in the shared stage.

        Args:
            latency_s: its access latency, s (no bandwidth used).
            work_s: its transfer time at the device's full bandwidth, s (> 0).
            finish: the station's callback, run first when the request completes.
            event: the request's own event if it has one (a request that waited in the
                station's queue), else None for a new one.

        Returns:
            The event that triggers at completion, with the request's slot time (s) as
            value.
        """
        env = self._env
        now = env.now
        self._started_s += work_s
        entry = now + latency_s
        delay = latency_s + work_s
        if not self._active and not self._pending:
            alone = self._alone
            if alone:
                alone[:] = [j for j in alone if j.end_s > now]  # forget those done
            end = now + delay
            if not any(j.entry_s < end and entry < j.end_s for j in alone):
                # The common case: nobody else transfers meanwhile; one event.
                if event is None:
                    event = self._timeout(delay, delay)
                    event.callbacks.append(finish)
                else:
                    schedule_completion(env, event, finish, delay)
                alone.append(_Job(now, entry, work_s, end, event))
                return event
            self._share_alone(now)
        else:
            self._advance(now)
        if event is None:
            event = env.event()
            event.callbacks.append(finish)
        else:
            assert event.callbacks is not None
            event.callbacks.insert(0, finish)
        job = _Job(now, entry, work_s, now + delay, event)
        if latency_s <= 0:
            job.tag = self._vtime + work_s
            self._active.append(job)
        else:
            heapq.heappush(self._pending, job)
        self._reschedule(now)
        return event

    @property
    def transferring(self) -> int:
        """Requests moving bytes now."""
        now = self._env.now
        alone = sum(1 for j in self._alone if j.entry_s <= now < j.end_s)
        return alone + len(self._active)

    def busy_s(self) -> float:
        """Time the stage has spent transferring so far, s: the work done (the stage is
        work-conserving: one second of work per busy second)."""
        now = self._env.now
        left = 0.0
        for j in self._alone:
            if j.end_s > now:
                left += min(j.work_s, j.end_s - now)
        if self._active or self._pending:
            vtime = self._vtime
            if self._active:
                vtime += (now - self._since) / len(self._active)
            left += sum(max(j.tag - vtime, 0.0) for j in self._active)
            left += sum(j.work_s for j in self._pending)
        return self._started_s - left

    # --- shared mode --------------------------------------------------------------------

    def _share_alone(self, now: float) -> None:
        """Move the requests served alone into shared mode: their scheduled completion
        events are emptied (they fire with no callback) and new events take over."""
        self._since = now
        for job in self._alone:
            scheduled = job.event
            if scheduled.callbacks is None:  # it completed at this very instant
                continue
            replacement = self._env.event()
            replacement.callbacks, scheduled.callbacks = scheduled.callbacks, []
            job.event = replacement
            if job.entry_s <= now:  # alone until now, at full rate
                job.tag = self._vtime + (job.end_s - now)
                self._active.append(job)
            else:
                heapq.heappush(self._pending, job)
        self._alone.clear()

    def _advance(self, now: float) -> None:
        """Bring the virtual time up to ``now``: each active job got an equal share."""
        active = self._active
        if active:
            self._vtime += (now - self._since) / len(active)
        self._since = now

    def _reschedule(self, now: float) -> None:
        """Set the one timer at the next entry or completion, unless the live timer fires
        no later: it then finds nothing to do and sets the next one itself (an arrival
        only delays the completions, so most arrivals schedule nothing)."""
        next_s = float("inf")
        active = self._active
        if active:
            tag = min(j.tag for j in active)
            next_s = now + max(tag - self._vtime, 0.0) * len(active)
        pending = self._pending
        if pending and pending[0].entry_s < next_s:
            next_s = pending[0].entry_s
        if next_s >= self._timer_s:
            return
        self._generation += 1
        self._timer_s = next_s
        timer = self._timeout(max(next_s - now, 0.0), self._generation)
        timer.callbacks.append(self._tick)

    def _tick(self, timer: simpy.Event) -> None:
        """The timer fired: complete the jobs done, start the transfers due."""
        if timer._value != self._generation:  # a timer replaced since it was set
            return
        self._timer_s = float("inf")
        now = self._env.now
        self._advance(now)
        vtime = self._vtime
        done_at = vtime + _EPSILON * (1.0 + abs(vtime))
        active = self._active
        if active:
            still = []
            for job in active:
                if job.tag <= done_at:
                    job.event.succeed(now - job.granted_s)
                else:
                    still.append(job)
            self._active = active = still
        pending = self._pending
        due = now + _EPSILON * (1.0 + abs(now))
        while pending and pending[0].entry_s <= due:
            job = heapq.heappop(pending)
            job.tag = vtime + job.work_s
            active.append(job)
        if active or pending:
            self._reschedule(now)
        else:  # idle: back to serving requests alone
            self._vtime = 0.0
            self._generation += 1  # (no timer is live)


def schedule_completion(
    env: simpy.Environment, event: simpy.Event, finish: Callable[[simpy.Event], None], delay: float
) -> None:
    """Make a waiting request's own event its completion, ``delay`` from now: one event
    instead of a timeout that then triggers it (what ``env.timeout`` does, on an event
    that already has its waiter's callback: ``finish`` goes first, as for a timeout)."""
    value: Any = delay
    event._ok = True
    event._value = value
    assert event.callbacks is not None
    event.callbacks.insert(0, finish)
    env.schedule(event, NORMAL, delay)
