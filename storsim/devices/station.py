"""The slots under every device here: identical servers in front of one FIFO queue.

A bank with a few tellers and one line: a customer who finds a free teller is served at
once, the others wait in the order they came, and a teller who finishes calls the
oldest of them at that very moment.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Generator
from typing import Any

import numpy as np
import simpy

from storsim.draws import BlockDraws

__all__ = ["ProcessGen", "Slots", "service_draws"]

ProcessGen = Generator[simpy.Event, Any, None]
"""What a device access returns: a generator to run with ``yield from``."""


def service_draws(rng: np.random.Generator) -> BlockDraws[float]:
    """Exp(1) service-time factors, drawn in blocks (:mod:`storsim.draws`); each block is
    handed out last draw first, the order these devices have always used."""
    return BlockDraws(lambda n: rng.standard_exponential(n)[::-1])


class Slots:
    """``capacity`` identical servers in front of one FIFO queue: a bank's tellers.

    The same queueing discipline as ``simpy.Resource`` (first come, first served, at most
    ``capacity`` in service), without its events when nobody has to wait: a request
    that finds a free slot takes it at once (a counter), and only a request that must
    wait gets an event, which the release that frees a slot for it triggers. A SimPy
    ``Resource`` spends three events on every access (request, grant, release), which
    cost more than the rest of a simulated disk access. A released slot passes straight
    to the oldest waiter, so the queue is strictly FIFO (a ``Resource`` lets a process
    that releases and at once requests again jump the queue).

    Usage, in a process::

        wait = slots.acquire()
        if wait is not None:
            yield wait
        ...  # holding one slot
        slots.release()

    Args:
        env: the simulation environment.
        capacity: number of servers (>= 1).

    Attributes:
        count: slots in use now.
        queue: events of the requests waiting now, oldest first.
    """

    __slots__ = ("_event", "capacity", "count", "queue")

    def __init__(self, env: simpy.Environment, capacity: int) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be >= 1 (got {capacity!r})")
        self.capacity = capacity
        self.count = 0
        self.queue: deque[simpy.Event] = deque()
        self._event = env.event

    def acquire(self) -> simpy.Event | None:
        """Take a slot: None if one was free (held now), else an event to yield for it."""
        if self.count < self.capacity:  # then nobody waits either: no queue, no event
            self.count += 1
            return None
        wait = self._event()
        self.queue.append(wait)
        return wait

    def release(self) -> None:
        """Give a slot back; the oldest waiter, if any, gets it at this instant."""
        if self.queue:
            self.queue.popleft().succeed()  # the slot passes on: count is unchanged
        else:
            self.count -= 1
