"""Concurrent writers: the shared state of files, and what interleavings do to it.

Like a shared ledger on a desk that several clerks update, each by copying a balance to
a slip, working it out, and writing the result back: if a second clerk copies the same
balance before the first writes back, one of the two results is lost. Nothing stops
them unless they agree to take a key first (a lock). This module keeps the ledger: for
every record (a byte range of a file) its current value and version, and counts, from
what the simulation really interleaved (never from a probability):

- **lost updates**: a read-modify-write writes back a value computed from a read that
  other writers' commits have since overtaken; each overtaken commit is one lost update
  (so ``final value + lost updates == increments performed``);
- **torn writes**: a record damaged by a concurrent writer: an append that was not
  atomic (no ``O_APPEND``, or ``O_APPEND`` across NFS clients, which the client only
  emulates [K7]) raced with another append and landed on the same offset; or two writes
  of overlapping byte ranges from different clients of a distributed mount overlapped in
  time (one kernel serialises writes to a file with its inode lock; network clients do
  not share one);
- **stale reads**: a read served from a client cache whose version is older than the
  latest commit (counted by the distributed-mount backend, which knows its caches).

Locks are one-slot FIFO queues (:class:`storsim.devices.Slots`) keyed by what they
exclude: the whole file (``flock``) or a byte range (``fcntl``), within a scope: the
host's kernel for local storage, the server for NFS/SMB locks, the client container for
locks a mount only emulates locally.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import simpy

from storsim.devices import Slots

__all__ = ["ConflictTracker", "RangeState"]

_HISTORY = 64  # versions of a record kept for stale reads (older ones read as the oldest)


@dataclass(slots=True)
class RangeState:
    """One record: its value (an increment counter) and the file versions it had."""

    value: int = 0
    # (file version at commit, value after it), oldest first, for stale reads
    history: list[tuple[int, int]] = field(default_factory=list)

    def value_at(self, version: int) -> int:
        """The record's value as of file version ``version``."""
        for committed, value in reversed(self.history):
            if committed <= version:
                return value
        # older than every kept commit: the value before the oldest one kept
        return self.history[0][1] - 1 if self.history else 0


class _FileState:
    """What is known of one file: made for every file a workload touches (hot path)."""

    __slots__ = ("active", "append_clients", "ranges", "version")

    def __init__(self) -> None:
        self.version = 0  # bumped by every committed write of any range
        self.ranges: dict[tuple[int, int], RangeState] = {}
        self.append_clients: list[str] = []  # who committed each append
        # writes in progress: (client, offset, nbytes)
        self.active: list[tuple[str, int, int]] = []


class ConflictTracker:
    """The shared state of every file that workloads write, for one simulation run."""

    __slots__ = ("_env", "_files", "_locks")

    def __init__(self, env: simpy.Environment) -> None:
        self._env = env
        self._files: dict[object, _FileState] = {}
        self._locks: dict[object, Slots] = {}

    def _file(self, key: object) -> _FileState:
        state = self._files.get(key)
        if state is None:
            state = self._files[key] = _FileState()
        return state

    # (Each method below looks its file up once: they run at every simulated write.)

    def touch(self, key: object) -> None:
        """A file was read: from now on it is known (and listed in this order)."""
        if key not in self._files:
            self._files[key] = _FileState()

    def version(self, key: object) -> int:
        """The file's current version (number of committed writes)."""
        state = self._files.get(key)
        return state.version if state is not None else 0

    # --- read-modify-write -------------------------------------------------------------

    def read(self, key: object, offset: int, nbytes: int, version: int | None = None) -> int:
        """The value a read of a record sees: the latest, or as of a (stale) version."""
        state = self._file(key)
        record = state.ranges.get((offset, nbytes))
        if record is None:
            return 0
        if version is None or version >= state.version:
            return record.value
        return record.value_at(version)

    def commit(self, key: object, offset: int, nbytes: int, seen: int | None) -> int:
        """Commit a write of a record; returns the updates it lost (overwrote).

        Args:
            key: the file's identity.
            offset: byte offset of the record.
            nbytes: its size.
            seen: the value this writer read before (a read-modify-write), or None for a
                blind write, which increments whatever is there and loses nothing.
        """
        state = self._file(key)
        ranges = state.ranges
        record = ranges.get((offset, nbytes))
        if record is None:
            record = ranges[(offset, nbytes)] = RangeState()
        lost = 0
        if seen is None:
            record.value += 1
        else:
            lost = max(record.value - seen, 0)
            record.value = seen + 1
        state.version += 1
        record.history.append((state.version, record.value))
        if len(record.history) > _HISTORY:
            del record.history[0]
        return lost

    def value(self, key: object, offset: int, nbytes: int) -> int:
        """A record's current value."""
        return self.read(key, offset, nbytes)

    # --- torn writes ---------------------------------------------------------------------

    def start_write(
        self, key: object, client: str, offset: int, nbytes: int, *, shared: bool
    ) -> bool:
        """Register a write in progress; True if it overlaps another client's write.

        Args:
            shared: the storage is reached by independent clients (a distributed mount),
                so nothing serialises writes of different containers.
        """
        state = self._file(key)
        torn = shared and any(
            other != client and offset < o + n and o < offset + nbytes
            for other, o, n in state.active
        )
        state.active.append((client, offset, nbytes))
        return torn

    def end_write(self, key: object, client: str, offset: int, nbytes: int) -> None:
        """The write registered by :meth:`start_write` completed."""
        self._file(key).active.remove((client, offset, nbytes))

    def start_append(self, key: object) -> int:
        """An append begins (finds the end of the file): returns a token for end_append."""
        return len(self._file(key).append_clients)

    def end_append(self, key: object, client: str, token: int, *, mode: str) -> bool:
        """An append completes; True if it was torn (raced to the same offset).

        Args:
            mode: ``"atomic"`` (O_APPEND on one kernel: never torn), ``"per_client"``
                (O_APPEND on a distributed mount: atomic among one client's appends only)
                or ``"racy"`` (seek to the end, then write: any append in between tears).
        """
        state = self._file(key)
        since = state.append_clients[token:]
        if mode == "atomic":
            torn = False
        elif mode == "per_client":
            torn = any(other != client for other in since)
        else:
            torn = bool(since)
        state.append_clients.append(client)
        state.version += 1
        return torn

    # --- locks ---------------------------------------------------------------------------

    def lock(self, key: object) -> Slots:
        """The lock (one slot, FIFO waiters) for ``key``."""
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = Slots(self._env, 1)
        return lock

    def table(self) -> dict[str, list[Any]]:
        """Every record's final value as columns ``path``, ``offset``, ``nbytes``,
        ``value``: files in the order they were first used, records by offset. A file's
        key is ``(file system, path)``; the path is listed."""
        out: dict[str, list[Any]] = {"path": [], "offset": [], "nbytes": [], "value": []}
        for key, state in self._files.items():
            if not state.ranges:
                continue
            ranges = sorted(state.ranges.items())
            out["path"].extend([key[1]] * len(ranges))  # type: ignore[index]
            out["offset"].extend([r[0][0] for r in ranges])
            out["nbytes"].extend([r[0][1] for r in ranges])
            out["value"].extend([r[1].value for r in ranges])
        return out

    def snapshot(self) -> dict[Any, dict[tuple[int, int], int]]:
        """Current record values, for tests and reports."""
        return {
            key: {rng: rec.value for rng, rec in state.ranges.items()}
            for key, state in self._files.items()
        }
