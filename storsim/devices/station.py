"""The station: identical servers in front of one FIFO queue, under every device here.

A bank with a few tellers and one line: a customer who finds a free teller is served at
once, the others wait in the order they came, and a teller who finishes calls the
oldest of them at that very moment. A disk's ``queue_depth`` slots, a remote server's
threads, a network link's wire (one teller) and a file lock (one teller) are all this
one station; only what happens at the counter differs.

A customer comes in one of two ways:

* **timed** (``request(mean_s)``): the station knows the service time when service
  starts (a disk access, a CPU burst), so it serves the request itself as one
  scheduled event and hands the slot on when that event fires. A request that finds a
  free slot costs one event (a timeout), and so does one that waits: the event it waits
  on is itself scheduled as its completion when a slot is handed to it. No generator,
  no ``simpy.Resource`` (whose request, grant and release events cost more than the
  rest of a simulated disk access). A disk's station also has a transfer stage whose
  bandwidth the requests share (:mod:`storsim.devices.bandwidth`).
* **held** (``acquire()`` ... ``release()``): the caller holds the slot for as long as it
  likes (a lock over an operation, a payload on the wire inside a process) and gives it
  back itself. ``acquire()`` returns None when a slot was free (held from now, no event)
  or an event to yield that triggers when the slot is handed to it.

Both kinds wait in the same queue and a released slot passes straight to the oldest
waiter, so the discipline is strictly FIFO, unlike ``simpy.Resource``, which lets a
process that releases and at once requests again jump the queue.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Generator
from heapq import heappush
from typing import Any, overload

import numpy as np
import simpy
from simpy.events import NORMAL, Event, Timeout

from storsim.devices.bandwidth import SharedBandwidth, schedule_completion
from storsim.devices.service import ServiceShape, service_shape

__all__ = ["QueueMarks", "ProcessGen", "QueuedDevice", "Slots", "Station", "service_factors"]

_new = object.__new__  # an event without its __init__ (the fields set inline)

ProcessGen = Generator[simpy.Event, Any, None]
"""What a device access returns: a generator to run with ``yield from``."""


def service_factors(
    service: ServiceShape | str, rng: np.random.Generator
) -> Callable[[], float] | None:
    """The service-time factors (mean 1) of a station whose service is ``service``.

    Args:
        service: a shape of :mod:`storsim.devices.service`, or its name.
        rng: the generator to draw from (the devices of one host share one).

    Returns:
        None for fixed service (nothing drawn); else a stream of factors drawn in
        blocks (:mod:`storsim.draws`).
    """
    return service_shape(service).factors(rng)


class QueueMarks:
    """How long a station's queue was at a few instants: enough to tell a queue that
    grows through the run (an overloaded device) from one that comes and goes.

    The station notes its queue's length at the first change of the queue after each
    mark instant, and the next mark instant is a quarter later (1.25 times the time), so
    a run of T seconds has about ``log(T / 1 us) / log(1.25)`` marks (60 for an hour)
    and one of them falls in every stretch [0.8 t, t]. No event is scheduled: marks are
    taken only when a request joins or leaves the queue (the queue cannot change
    otherwise), so a run ends at the same instant with or without them.

    Attributes:
        marks: ``(instant, queue length)`` pairs, oldest first.
    """

    __slots__ = ("marks", "next_s")

    def __init__(self) -> None:
        self.marks: list[tuple[float, int]] = []
        self.next_s = 0.0

    def note(self, now: float, length: int) -> None:
        """The queue is ``length`` long at ``now``, a mark instant or later."""
        self.marks.append((now, length))
        self.next_s = max(1.25 * now, now + 1e-6)

    def before(self, t: float) -> tuple[float, int]:
        """The last mark at or before ``t`` (``(0.0, 0)``: the queue starts empty)."""
        last = (0.0, 0)
        for mark in self.marks:
            if mark[0] > t:
                break
            last = mark
        return last


class Station:
    """``capacity`` identical servers in front of one FIFO queue: a bank's tellers.

    Usage, timed (the station serves it)::

        yield station.request(mean_s)   # triggers when the request has been served

    Usage, held (the caller serves it)::

        wait = station.acquire()
        if wait is not None:
            yield wait
        ...  # holding one slot
        station.release(held_s)

    A station with ``bandwidth=True`` has a transfer stage after its servers
    (:class:`~storsim.devices.bandwidth.SharedBandwidth`): a timed request may then
    carry ``transfer_s`` of work at full bandwidth, which it does after its own service
    time, still holding its slot, sharing the bandwidth with the other requests
    transferring at the same time.

    Args:
        env: the simulation environment.
        capacity: number of servers (>= 1).
        factors: service-time factors for timed requests and :meth:`service_s` (mean 1,
            e.g. :func:`service_factors`); None serves every request in its mean time.
        bandwidth: give the station a shared transfer stage.

    Raises:
        ValueError: ``capacity`` < 1.

    Attributes:
        capacity: number of servers.
        count: slots in use now (in service or held).
        queue: the requests waiting now, oldest first, as (event, mean service time in
            s or None for a held request, transfer work in s).
        busy_s: total service time of the requests that have left, s (slot-seconds).
        completed: number of requests that have left (timed ones served, held ones
            released).
        bandwidth: the transfer stage, or None.
        peak_queued: the longest the queue has been.
        marks: the queue's length at a few instants (:class:`QueueMarks`).
    """

    __slots__ = (
        "_env",
        "_event",
        "_factors",
        "_timeout",
        "bandwidth",
        "busy_s",
        "capacity",
        "completed",
        "count",
        "marks",
        "peak_queued",
        "queue",
    )

    def __init__(
        self,
        env: simpy.Environment,
        capacity: int,
        factors: Callable[[], float] | None = None,
        *,
        bandwidth: bool = False,
    ) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be >= 1 (got {capacity!r})")
        self.capacity = capacity
        self.count = 0
        self.queue: deque[tuple[simpy.Event, float | None, float]] = deque()
        self.busy_s = 0.0
        self.completed = 0
        self.peak_queued = 0
        self.marks = QueueMarks()
        self.bandwidth = SharedBandwidth(env) if bandwidth else None
        self._env = env
        self._factors = factors
        # Bound methods are looked up once: request and _start are the disk's hot path.
        self._event = env.event
        self._timeout = env.timeout

    @overload
    def request(self) -> simpy.Event | None: ...

    @overload
    def request(self, mean_s: float, transfer_s: float = 0.0) -> simpy.Event: ...

    def request(self, mean_s: float | None = None, transfer_s: float = 0.0) -> simpy.Event | None:
        """Join the station: served by it (``mean_s`` given) or held by the caller (None).

        Args:
            mean_s: mean service time, s, for a timed request; None to hold a slot
                until :meth:`release`.
            transfer_s: a timed request's transfer work at full bandwidth, s, done after
                its service time in the shared stage (a station with ``bandwidth``;
                without one, it is added to the service time).

        Returns:
            Timed: an event that triggers when the request has been served, with its
            slot time (s) as value. Held: None if a slot was free (held now), else an
            event to yield, which triggers when a slot is handed over.
        """
        if self.count < self.capacity:  # a free slot, so nobody waits: no queue, no event
            self.count += 1
            return None if mean_s is None else self._start(mean_s, transfer_s, None)
        wait = self._event()
        queue = self.queue
        queue.append((wait, mean_s, transfer_s))
        if len(queue) > self.peak_queued:
            self.peak_queued = len(queue)
        marks = self.marks
        now = self._env.now
        if now >= marks.next_s:
            marks.note(now, len(queue))
        return wait

    def acquire(self) -> simpy.Event | None:
        """``request()``: the name the holders (locks, the link, the remote server) use.

        A method, not an alias of :meth:`request`: a compiled build (mypyc) does not
        keep a method alias as a class attribute.
        """
        return self.request()

    def timed(self, mean_s: float) -> simpy.Event:
        """``request(mean_s)`` with no transfer work: a CPU burst, every operation's path.

        The free-slot case with ``_start`` inlined (one Python call fewer a burst); the
        same event, the same instants as :meth:`request`.
        """
        env = self._env
        if self.count < self.capacity:
            self.count += 1
            factors = self._factors
            service_s = mean_s if factors is None else mean_s * factors()
            if service_s < 0:
                raise ValueError(f"Negative delay {service_s}")
            # env.timeout(service_s, service_s) with its __init__ and env.schedule inlined
            # (two Python calls fewer a burst, the same event with the same id): the same
            # attributes Timeout.__init__ sets, pushed as Environment.schedule pushes it
            service = _new(Timeout)
            service.env = env
            service.callbacks = [self._finish]  # runs before the requester resumes
            service._value = service_s
            service._delay = service_s
            service._ok = True
            heappush(env._queue, (env._now + service_s, NORMAL, next(env._eid), service))
            return service
        # request(mean_s) inlined for a busy station: the CPU's queue, at every burst
        # that finds every core busy (an Event made as Event.__init__ makes it)
        wait = _new(Event)
        wait.env = env
        wait.callbacks = []
        queue = self.queue
        queue.append((wait, mean_s, 0.0))
        if len(queue) > self.peak_queued:
            self.peak_queued = len(queue)
        marks = self.marks
        now = env._now
        if now >= marks.next_s:
            marks.note(now, len(queue))
        return wait

    def release(self, held_s: float = 0.0) -> None:
        """Give a slot back; the oldest waiter, if any, gets it at this instant.

        Args:
            held_s: how long the slot was held, s, added to ``busy_s`` (0 for a holder
                that measures nothing, such as a lock).
        """
        self.busy_s += held_s
        self.completed += 1
        queue = self.queue
        if queue:
            wait, mean_s, transfer_s = queue.popleft()  # the slot passes on: count unchanged
            marks = self.marks
            now = self._env.now
            if now >= marks.next_s:
                marks.note(now, len(queue))
            if mean_s is None:
                wait.succeed()  # a holder: it resumes at this instant, holding the slot
            else:
                self._start(mean_s, transfer_s, wait)  # served from now
        else:
            self.count -= 1

    def service_s(self, mean_s: float) -> float:
        """The service time, s, of a request of mean ``mean_s`` that starts service now."""
        factors = self._factors
        return mean_s if factors is None else mean_s * factors()

    def _start(self, mean_s: float, transfer_s: float, wait: simpy.Event | None) -> simpy.Event:
        """Begin serving a timed request now: its service is one scheduled event (its
        own ``wait`` event if it waited in the queue, a new timeout otherwise)."""
        factors = self._factors  # service_s() inlined: this is the disk's hot path
        service_s = mean_s if factors is None else mean_s * factors()
        if transfer_s:
            bandwidth = self.bandwidth
            if bandwidth is not None:
                return bandwidth.start(service_s, transfer_s, self._finish, wait)
            service_s += transfer_s
        if wait is None:
            service = self._timeout(service_s, service_s)
            service.callbacks.append(self._finish)  # runs before the requester resumes
            return service
        # A waiter's own event becomes its completion: one event, not a timeout that
        # then triggers it (the release path of every queued request).
        schedule_completion(self._env, wait, self._finish, service_s)
        return wait

    def _finish(self, service: simpy.Event) -> None:
        """A timed request has been served: its slot goes to the next in line."""
        # Its value is its slot time (_start), read as ``_value`` like SimPy's own
        # callbacks do: the ``value`` property and a ``cast`` would be two more Python
        # calls, a tenth of the instructions of a disk access (valgrind: 14,090 vs 12,752).
        queue = self.queue
        if queue:
            # release() and, for a timed request with no transfer, _start() and
            # schedule_completion() inlined: the hand-over of a busy CPU at every burst
            self.busy_s += service._value
            self.completed += 1
            wait, mean_s, transfer_s = queue.popleft()  # the slot passes on: count unchanged
            marks = self.marks
            env = self._env
            now = env._now
            if now >= marks.next_s:
                marks.note(now, len(queue))
            if mean_s is None:
                wait.succeed()  # a holder: it resumes at this instant, holding the slot
            elif transfer_s:
                self._start(mean_s, transfer_s, wait)  # served from now
            else:
                factors = self._factors
                service_s = mean_s if factors is None else mean_s * factors()
                wait._ok = True
                wait._value = service_s
                wait.callbacks.insert(0, self._finish)
                heappush(env._queue, (now + service_s, NORMAL, next(env._eid), wait))
        else:  # release() inlined for the commonest case: nobody waits
            self.busy_s += service._value
            self.completed += 1
            self.count -= 1

    @property
    def queued(self) -> int:
        """Requests waiting for a slot now."""
        return len(self.queue)

    def utilisation(self, elapsed_s: float | None = None) -> float:
        """Fraction of the slots' capacity used by the requests that have left.

        Args:
            elapsed_s: observation window, s; defaults to the simulation time so far.

        Returns:
            ``busy_s / (capacity * elapsed_s)``, 0.0 for an empty window.
        """
        elapsed = self._env.now if elapsed_s is None else elapsed_s
        if elapsed <= 0:
            return 0.0
        return self.busy_s / (self.capacity * elapsed)

    def bandwidth_utilisation(self, elapsed_s: float | None = None) -> float:
        """Fraction of the time the transfer stage moved bytes (0.0 without one).

        Args:
            elapsed_s: observation window, s; defaults to the simulation time so far.
        """
        elapsed = self._env.now if elapsed_s is None else elapsed_s
        if self.bandwidth is None or elapsed <= 0:
            return 0.0
        return min(self.bandwidth.busy_s() / elapsed, 1.0)

    def __repr__(self) -> str:
        return f"Station(capacity={self.capacity}, count={self.count}, queued={self.queued})"


Slots = Station
"""The station under the name the locks and workloads know it by (``acquire``/``release``)."""


class QueuedDevice:
    """A device whose requests queue at one :class:`Station`: its counters are the station's.

    The base of the disk, the remote server and the link (whose station is its wire).

    Attributes:
        station: the device's slots and their queue.
    """

    __slots__ = ()

    station: Station

    @property
    def busy_s(self) -> float:
        """Total service time of completed requests, s (slot-seconds)."""
        return self.station.busy_s

    @property
    def completed(self) -> int:
        """Number of completed requests."""
        return self.station.completed

    @property
    def in_service(self) -> int:
        """Requests being served now."""
        return self.station.count

    @property
    def queued(self) -> int:
        """Requests waiting for a slot now."""
        return self.station.queued

    def utilisation(self, elapsed_s: float | None = None) -> float:
        """Fraction of slot capacity used by completed requests.

        Args:
            elapsed_s: observation window, s; defaults to the simulation time so far.

        Returns:
            ``busy_s / (slots * elapsed_s)``, 0.0 for an empty window.
        """
        return self.station.utilisation(elapsed_s)
