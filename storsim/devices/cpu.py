"""The host's CPUs: the cores every process of every container shares.

Like the cooks of one restaurant kitchen: however many waiters take orders (the
processes of the containers), only ``cpus`` cooks prepare them, one order at a time
each, in the order the orders arrive. The CPU part of a file operation (entering the
kernel, looking a name up in each layer, copying bytes between the page cache and the
application, updating an inode in memory) and an application's own computation are
such orders: a burst of CPU time on one core. A process waiting for a disk, a lock or a
network reply holds no core.

The cores are one :class:`~storsim.devices.station.Station` with ``cpus`` servers, FIFO,
each burst served in the time it asks for (CPU time varies by the work it stands for,
which the caller prices). A burst that finds a free core costs one event, as a bare
timeout would. The kernel's scheduler would let a process keep its core for a time
slice (milliseconds under load) across several bursts; this station instead serves
each burst on its own, like a round robin whose slice is one burst, so that N busy
processes on fewer cores interleave at every operation.
"""

from __future__ import annotations

from collections.abc import Callable

import simpy

from storsim.devices.station import QueuedDevice, Station

__all__ = ["Cpu"]


class Cpu(QueuedDevice):
    """The host's cores as a FIFO multi-server station.

    Usage::

        yield cpu.compute(5e-6)   # 5 us of CPU time on one core, after those queued

    Args:
        env: the simulation environment.
        cores: number of cores (>= 1).
        name: label for reports.

    Raises:
        ValueError: ``cores`` < 1.

    Attributes:
        cores: number of cores.
        station: the cores and the bursts waiting for one.
        compute: ``compute(seconds)``: one burst of CPU time, as an event that
            triggers when it has run (with its duration as value).
    """

    __slots__ = ("compute", "cores", "name", "station")

    def __init__(self, env: simpy.Environment, cores: int, name: str = "cpu") -> None:
        self.cores = cores
        self.name = name
        self.station = Station(env, cores)
        # The station's timed request itself, bound once: this is every operation's path.
        self.compute: Callable[[float], simpy.Event] = self.station.timed

    def __repr__(self) -> str:
        return f"Cpu({self.name!r}, cores={self.cores})"
