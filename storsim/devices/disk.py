"""A disk: a block device (or RAM, for tmpfs) as a station with ``queue_depth`` slots.

Like a post office with a few counters: each customer (an I/O request) waits for a free
counter, is served for a time that grows with the size of the parcel
(``latency + nbytes / bandwidth``) and leaves.
"""

from __future__ import annotations

from collections import deque
from typing import cast

import numpy as np
import simpy

from storsim.devices.params import DiskParams
from storsim.devices.station import ProcessGen, service_draws

__all__ = ["Disk"]


class Disk:
    """A block device (or RAM) as a FIFO multi-server queue.

    Two ways to access it: ``yield from disk.read(n)`` (a generator, like every device
    here), or ``yield disk.submit_read(n)`` (one event that triggers when the request
    completes, like ``io_submit``). The second is the hot path of the backends: an
    access that finds a free slot is then a single timeout event, with no generator
    and no SimPy ``Resource`` events (request, grant, release) around it.

    Args:
        env: the simulation environment.
        params: latency, bandwidths, queue depth and service distribution.
        rng: random generator, used only when ``params.service == "exponential"``.
        name: label for reports.

    Attributes:
        busy_s: total service time of completed requests, s (slot-seconds).
        completed: number of completed requests.
    """

    __slots__ = (
        "_capacity",
        "_count",
        "_draws",
        "_env",
        "_event",
        "_exponential",
        "_latency_s",
        "_queue",
        "_read_s_per_byte",
        "_rng",
        "_timeout",
        "_write_s_per_byte",
        "busy_s",
        "completed",
        "name",
        "params",
    )

    def __init__(
        self,
        env: simpy.Environment,
        params: DiskParams,
        rng: np.random.Generator,
        name: str = "disk",
    ) -> None:
        self.params = params
        self.name = name
        self.busy_s = 0.0
        self.completed = 0
        self._env = env
        self._rng = rng
        self._capacity = params.queue_depth
        self._count = 0  # requests in service
        self._queue: deque[tuple[simpy.Event, float]] = deque()  # (completion, mean service)
        # Bound methods and reciprocals are looked up once: this is the hot path.
        self._timeout = env.timeout
        self._event = env.event
        self._latency_s = params.latency_s
        self._read_s_per_byte = 1.0 / params.read_bytes_per_s
        self._write_s_per_byte = 1.0 / params.write_bytes_per_s
        self._draws = service_draws(rng)
        self._exponential = params.service == "exponential"

    def read(self, nbytes: int) -> ProcessGen:
        """Read ``nbytes`` from the device.

        Args:
            nbytes: bytes to read (0 for a latency-only access).

        Returns:
            A generator to ``yield from``; it ends when the data has been read.
        """
        yield self.submit(self._latency_s + nbytes * self._read_s_per_byte)

    def write(self, nbytes: int) -> ProcessGen:
        """Write ``nbytes`` to the device.

        Args:
            nbytes: bytes to write (0 for a latency-only access).

        Returns:
            A generator to ``yield from``; it ends when the data is on the device.
        """
        yield self.submit(self._latency_s + nbytes * self._write_s_per_byte)

    def meta(self) -> ProcessGen:
        """One metadata access (inode read, journal commit): latency only.

        Returns:
            A generator to ``yield from``.
        """
        yield self.submit(self._latency_s)

    def submit_read(self, nbytes: int) -> simpy.Event:
        """Like :meth:`read`, as one event to ``yield``: it triggers at completion."""
        return self.submit(self._latency_s + nbytes * self._read_s_per_byte)

    def submit_write(self, nbytes: int) -> simpy.Event:
        """Like :meth:`write`, as one event to ``yield``: it triggers at completion."""
        return self.submit(self._latency_s + nbytes * self._write_s_per_byte)

    def submit_meta(self) -> simpy.Event:
        """Like :meth:`meta`, as one event to ``yield``: it triggers at completion."""
        return self.submit(self._latency_s)

    def submit(self, mean_s: float) -> simpy.Event:
        """Queue one request of mean service time ``mean_s``; the event triggers when it
        has been served (FIFO, at most ``queue_depth`` in service)."""
        if self._count < self._capacity:  # a free slot, so nobody waits: serve at once
            self._count += 1
            return self._start(mean_s)
        done = self._event()
        self._queue.append((done, mean_s))
        return done

    def _start(self, mean_s: float) -> simpy.Event:
        """Begin serving a request now: its service is one timeout event."""
        service_s = mean_s * self._draws() if self._exponential else mean_s
        service = self._timeout(service_s, service_s)
        service.callbacks.append(self._finish)  # runs before the requester resumes
        return service

    def _finish(self, service: simpy.Event) -> None:
        """A request completed: account for it and give its slot to the next in line."""
        self.busy_s += cast(float, service.value)  # its value is its service time (_start)
        self.completed += 1
        if self._queue:
            done, mean_s = self._queue.popleft()
            self._start(mean_s).callbacks.append(done.trigger)
        else:
            self._count -= 1

    @property
    def in_service(self) -> int:
        """Requests being served now."""
        return self._count

    @property
    def queued(self) -> int:
        """Requests waiting for a slot now."""
        return len(self._queue)

    def utilisation(self, elapsed_s: float | None = None) -> float:
        """Fraction of slot capacity used by completed requests.

        Args:
            elapsed_s: observation window, s; defaults to the simulation time so far.

        Returns:
            ``busy_s / (queue_depth * elapsed_s)``, 0.0 for an empty window.
        """
        elapsed = self._env.now if elapsed_s is None else elapsed_s
        if elapsed <= 0:
            return 0.0
        return self.busy_s / (self.params.queue_depth * elapsed)

    def __repr__(self) -> str:
        return f"Disk({self.name!r}, {self.params!r})"
