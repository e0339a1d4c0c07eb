"""Application locks: ``flock``/``fcntl`` around each iteration of a workload.

Like the key to a shared ledger's drawer: a clerk who agreed to take it first waits
while someone else holds it, and others who never agreed are not stopped at all. What a
lock excludes depends on where the file lives (``Backend.lock_semantics``): every
process of the host's kernel for local storage; every client of the server's lock
manager for NFS (``nlm``) and SMB (``brl``), one round trip per lock and unlock; only
this container's processes when the mount emulates locks locally (NFS ``nolock``,
CIFS ``nobrl``); and nothing when the mount refuses locks (ENOLCK): the iteration is
then abandoned, as an application whose lock call fails abandons its update.

A waiter sleeps, holding no CPU, until the holder's unlock hands it the lock; then it
must be scheduled again before its ``flock`` returns: it spends ``host.wakeup_latency``
of CPU time on a core (a context switch and its cache refill), after any burst already
queued for the cores. So a lock hand-off costs the critical section plus one wake-up,
and on a host with fewer cores than busy processes the wake-up also waits for a core:
the tail of a lock wait comes from the scheduler.

Each lock taken is one ``lock`` record: how long taking it took, and how much of that
was spent waiting for another holder.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING, Any

import simpy

from storsim.backends.base import Cost, spend
from storsim.scenario import WorkloadSpec

if TYPE_CHECKING:
    from storsim.records import Source
    from storsim.run.context import SimContext
    from storsim.run.operation import Iteration, Where

__all__ = ["Locking", "unlock"]


class Locking:
    """The lock one workload takes in one container run, once per iteration.

    Args:
        ctx: the run's context (its conflict tracker holds the locks).
        client: the container (the scope of a lock emulated on the client).
        spec: the workload (``lock: flock`` locks the file, ``fcntl`` a byte range).
        source: the workload's record source.
    """

    __slots__ = (
        "_client",
        "_cpu",
        "_enolck",
        "_env",
        "_flock",
        "_lock",
        "_ok",
        "_record",
        "_source",
        "_tracker",
        "_wakeup_s",
        "_writable",
    )

    def __init__(self, ctx: SimContext, client: str, spec: WorkloadSpec, source: Source) -> None:
        self._env = ctx.env
        self._cpu = ctx.host.cpu
        self._wakeup_s = ctx.host.wakeup_s
        self._tracker = ctx.tracker
        self._client = client
        self._flock = spec.lock == "flock"
        rec = ctx.recorder
        self._record = rec.op
        self._source = source
        self._lock = rec.code("lock")
        self._ok = rec.code("ok")
        self._enolck = rec.code("ENOLCK")
        self._writable = rec.code("writable_layer")

    def take(
        self, it: Iteration, path: str, where: Where, offset: int, nbytes: int
    ) -> Generator[simpy.Event, Any, bool]:
        """Take the lock on ``path`` (the byte range ``offset``, ``nbytes`` for fcntl).

        Returns:
            False if the lock cannot be taken (the mount refuses locks).
        """
        env = self._env
        backend, storage = where.backend, where.storage
        if storage < 0:
            storage = self._writable
        semantics = backend.lock_semantics
        t0 = env.now
        if semantics == "none":
            yield from spend(self._cpu, backend.lock_cost())
            self._record_lock(t0, path, storage, self._enolck, 0.0)
            return False
        # What the lock excludes: the whole file (flock) or a byte range (fcntl), for
        # this container only (emulated on the client), or for every process of one
        # kernel (the host) or of the server's lock manager (nlm, brl).
        what = "file" if self._flock else (offset, nbytes)
        key: tuple[Any, ...] = (where.file_key, what)
        if semantics == "local":
            key = ("client", self._client, *key)
        cost = backend.lock_cost()
        if type(cost) is float:
            yield self._cpu.compute(cost)
        else:
            yield from spend(self._cpu, cost)
        lock = self._tracker.lock(key)
        waited_from = env.now
        wait = lock.acquire()
        if wait is not None:
            yield wait  # asleep until the holder's unlock hands the lock over
            yield self._cpu.compute(self._wakeup_s)  # then scheduled again, on a core
        it.lock = (lock, backend)
        backend.locked(where.inner)  # an NFS client revalidates its cache then
        self._record_lock(t0, path, storage, self._ok, env.now - waited_from)
        return True

    def _record_lock(self, t0: float, path: str, storage: int, outcome: int, wait_s: float) -> None:
        """One ``lock`` record: how long taking the lock took, and the part spent waiting."""
        self._record(
            t_start=t0,
            t_end=self._env.now,
            source=self._source,
            op=self._lock,
            path=path,
            storage=storage,
            nbytes=0,
            outcome=outcome,
            lock_wait_s=wait_s,
        )


def unlock(it: Iteration) -> Cost:
    """Release the iteration's lock now (at the end of the iteration; it holds one).

    Returns:
        The time of the unlock call, for the caller to spend.
    """
    assert it.lock is not None
    lock, backend = it.lock
    it.lock = None
    lock.release()
    return backend.lock_cost()
