"""A disk: a block device (or RAM, for tmpfs) as a station with ``queue_depth`` slots.

Like a post office with a few counters and one conveyor belt behind them: each customer
(an I/O request) waits for a free counter, is attended to for a while that depends on
what they ask (a read, a write, a flush: ``read_latency``, ``write_latency``,
``flush_latency``), and then puts their parcels on the belt, which moves the parcels of
everyone at the counters at one total speed (the device's bandwidth, shared). The
counters and the line are a :class:`~storsim.devices.station.Station` with a transfer
stage (:mod:`storsim.devices.bandwidth`); this module only prices the parcels.
"""

from __future__ import annotations

import numpy as np
import simpy

from storsim.devices.params import DiskParams
from storsim.devices.station import ProcessGen, QueuedDevice, Station

__all__ = ["Disk"]


class Disk(QueuedDevice):
    """A block device (or RAM) as a FIFO multi-server queue.

    Two ways to access it: ``yield from disk.read(n)`` (a generator, like every device
    here), or ``yield disk.submit_read(n)`` (one event that triggers when the request
    completes, like ``io_submit``). The second is the hot path of the backends: an
    access that finds a free slot and no other transfer is then a single timeout
    event, with no generator and no SimPy ``Resource`` events (request, grant, release)
    around it.

    Four kinds of request, each with its own mean access latency: a read of data
    (``read``), a metadata read (``meta``: a directory block or an inode, latency only),
    a write (``write``) and a flush (``flush``: the journal commit or cache flush of an
    ``fsync``, latency only). The bytes of reads and writes then share the bandwidth.

    Args:
        env: the simulation environment.
        params: latencies, bandwidths, queue depth and service shape.
        rng: random generator, drawn from unless ``params.service`` is fixed.
        name: label for reports.

    Attributes:
        station: the ``queue_depth`` slots, their queue and the transfer stage
            (``busy_s``, ``completed``, ``in_service``, ``queued`` and
            ``utilisation()`` are its figures).
        volatile: the device is memory: an ``fsync`` has nothing to do on it.
    """

    __slots__ = (
        "_flush_s",
        "_read_latency_s",
        "_read_s_per_byte",
        "_request",
        "_write_latency_s",
        "_write_s_per_byte",
        "name",
        "params",
        "station",
        "volatile",
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
        self.volatile = params.volatile
        self.station = Station(env, params.queue_depth, params.service.factors(rng), bandwidth=True)
        # Reciprocals and bound methods, computed once: this is the hot path.
        self._read_latency_s = params.read_latency_s
        self._write_latency_s = params.write_latency_s
        self._flush_s = params.flush_latency_s
        self._read_s_per_byte = 1.0 / params.read_bytes_per_s
        self._write_s_per_byte = 1.0 / params.write_bytes_per_s
        self._request = self.station.request

    def read(self, nbytes: int) -> ProcessGen:
        """Read ``nbytes`` from the device.

        Args:
            nbytes: bytes to read (0 for a latency-only access).

        Returns:
            A generator to ``yield from``; it ends when the data has been read.
        """
        yield self.submit_read(nbytes)

    def write(self, nbytes: int) -> ProcessGen:
        """Write ``nbytes`` to the device.

        Args:
            nbytes: bytes to write (0 for a latency-only access).

        Returns:
            A generator to ``yield from``; it ends when the data is on the device.
        """
        yield self.submit_write(nbytes)

    def meta(self) -> ProcessGen:
        """One metadata read (a directory block or an inode): read latency only.

        Returns:
            A generator to ``yield from``.
        """
        yield self.submit_meta()

    def flush(self) -> ProcessGen:
        """One cache flush or journal commit: flush latency only.

        Returns:
            A generator to ``yield from``.
        """
        yield self.submit_flush()

    def submit_read(self, nbytes: int) -> simpy.Event:
        """Like :meth:`read`, as one event to ``yield``: it triggers at completion."""
        return self._request(self._read_latency_s, nbytes * self._read_s_per_byte)

    def submit_write(self, nbytes: int) -> simpy.Event:
        """Like :meth:`write`, as one event to ``yield``: it triggers at completion."""
        return self._request(self._write_latency_s, nbytes * self._write_s_per_byte)

    def submit_meta(self) -> simpy.Event:
        """Like :meth:`meta`, as one event to ``yield``: it triggers at completion."""
        return self._request(self._read_latency_s)

    def submit_flush(self) -> simpy.Event:
        """Like :meth:`flush`, as one event to ``yield``: it triggers at completion."""
        return self._request(self._flush_s)

    def submit(self, mean_s: float, transfer_s: float = 0.0) -> simpy.Event:
        """Queue one request of mean access time ``mean_s`` and ``transfer_s`` of work at
        full bandwidth; the event triggers when it has been served (FIFO, at most
        ``queue_depth`` in service, the transfers sharing the bandwidth)."""
        return self._request(mean_s, transfer_s)

    def __repr__(self) -> str:
        return f"Disk({self.name!r}, {self.params!r})"
