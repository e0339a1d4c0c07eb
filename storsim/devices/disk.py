"""A disk: a block device (or RAM, for tmpfs) as a station with ``queue_depth`` slots.

Like a post office with a few counters: each customer (an I/O request) waits for a free
counter, is served for a time that grows with the size of the parcel
(``latency + nbytes / bandwidth``) and leaves. The counters and the line are a
:class:`~storsim.devices.station.Station`; this module only prices the parcels.
"""

from __future__ import annotations

import numpy as np
import simpy

from storsim.devices.params import DiskParams
from storsim.devices.station import ProcessGen, QueuedDevice, Station, service_factors

__all__ = ["Disk"]


class Disk(QueuedDevice):
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
        station: the ``queue_depth`` slots and their queue (``busy_s``, ``completed``,
            ``in_service``, ``queued`` and ``utilisation()`` are its figures).
    """

    __slots__ = (
        "_latency_s",
        "_read_s_per_byte",
        "_write_s_per_byte",
        "name",
        "params",
        "station",
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
        self.station = Station(env, params.queue_depth, service_factors(params.service, rng))
        # Reciprocals, computed once: this is the hot path.
        self._latency_s = params.latency_s
        self._read_s_per_byte = 1.0 / params.read_bytes_per_s
        self._write_s_per_byte = 1.0 / params.write_bytes_per_s

    def read(self, nbytes: int) -> ProcessGen:
        """Read ``nbytes`` from the device.

        Args:
            nbytes: bytes to read (0 for a latency-only access).

        Returns:
            A generator to ``yield from``; it ends when the data has been read.
        """
        yield self.station.request(self._latency_s + nbytes * self._read_s_per_byte)

    def write(self, nbytes: int) -> ProcessGen:
        """Write ``nbytes`` to the device.

        Args:
            nbytes: bytes to write (0 for a latency-only access).

        Returns:
            A generator to ``yield from``; it ends when the data is on the device.
        """
        yield self.station.request(self._latency_s + nbytes * self._write_s_per_byte)

    def meta(self) -> ProcessGen:
        """One metadata access (inode read, journal commit): latency only.

        Returns:
            A generator to ``yield from``.
        """
        yield self.station.request(self._latency_s)

    def submit_read(self, nbytes: int) -> simpy.Event:
        """Like :meth:`read`, as one event to ``yield``: it triggers at completion."""
        return self.station.request(self._latency_s + nbytes * self._read_s_per_byte)

    def submit_write(self, nbytes: int) -> simpy.Event:
        """Like :meth:`write`, as one event to ``yield``: it triggers at completion."""
        return self.station.request(self._latency_s + nbytes * self._write_s_per_byte)

    def submit_meta(self) -> simpy.Event:
        """Like :meth:`meta`, as one event to ``yield``: it triggers at completion."""
        return self.station.request(self._latency_s)

    def submit(self, mean_s: float) -> simpy.Event:
        """Queue one request of mean service time ``mean_s``; the event triggers when it
        has been served (FIFO, at most ``queue_depth`` in service)."""
        return self.station.request(mean_s)

    def __repr__(self) -> str:
        return f"Disk({self.name!r}, {self.params!r})"
