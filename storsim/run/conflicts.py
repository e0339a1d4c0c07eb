"""Concurrent writers: the shared state of files, and what interleavings do to it.

Like a shared ledger on a desk that several clerks update, each by copying a balance to
a slip, working it out, and writing the result back: if a second clerk copies the same
balance before the first writes back, one of the two results is lost. Nothing stops
them unless they agree to take a key first (a lock). This module keeps the ledger: for
every record (a byte range of a file) its current value and version, and counts, from
what the simulation really interleaved (never from a probability), four kinds of harm:

- **lost updates**: a read-modify-write writes back a value computed from a read that
  other writers' commits have since overtaken; each overtaken commit is one lost update
  (so ``final value + lost updates == increments performed``). Counted on the write
  that overwrote them.
- **lost records**: appended records overwritten whole by another append that found
  the same end of file. An append that is not atomic (``lseek(SEEK_END)`` then
  ``write()``: ``o_append: false``, on any storage; or ``O_APPEND`` across the clients
  of a distributed mount, which each only emulate it [K7]) writes at the end of file it
  found when it began; if another append landed there meanwhile, one record replaces
  the other. The write itself is whole: one kernel serialises writes to a file with its
  inode lock, and an NFS server applies each WRITE whole, so nothing is torn. This
  machine's kernel agrees (``storsim calibrate``, experiment ``append_race``: 8
  processes appending 64-byte records with ``lseek`` + ``write`` lost up to 3,365 of
  16,000 records per repetition, tore none; with ``O_APPEND`` lost none). Counted on
  the append that overwrote them.
- **torn writes**: a record damaged in part: an append that overwrote only part of
  another append's record (records of different sizes that found the same end of file),
  or two writes of overlapping byte ranges from different clients of a distributed
  mount that overlapped in time (one kernel serialises writes to a file with its inode
  lock; network clients do not share one). Counted on the damaging write.
- **stale reads**: a read served from a client cache whose version is older than the
  latest commit (counted by the distributed-mount backend, which knows its caches).

``O_APPEND`` on one kernel (local storage: volumes, binds, the writable layer, tmpfs)
is atomic: the offset is the end of file at the write, under the inode lock [K7], and
loses nothing.

Locks are one-slot FIFO queues (:class:`storsim.devices.Slots`) keyed by what they
exclude: the whole file (``flock``) or a byte range (``fcntl``), within a scope: the
host's kernel for local storage, the server for NFS/SMB locks, the client container for
locks a mount only emulates locally.

What one operation does to the ledger is its accounting (:class:`ReadAccounting`,
:class:`WriteAccounting`, :class:`AppendAccounting`, named by the op table): a part
before the operation spends its time and a part after, because what overlaps in time
is what conflicts. Storage whose containers are separate clients (a distributed mount,
``Backend.separate_clients``) is accounted as such: its writes of different containers
can tear each other, its ``O_APPEND`` is atomic per client only [K7], and its reads can
be served from a stale cache.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import simpy

from storsim.backends.base import Version
from storsim.devices import Slots

if TYPE_CHECKING:
    from storsim.run.operation import Iteration, Where

__all__ = [
    "Accounting",
    "AppendAccounting",
    "AppendToken",
    "ConflictTracker",
    "Conflicts",
    "RangeState",
    "ReadAccounting",
    "WriteAccounting",
]

_HISTORY = 64  # versions of a record kept for stale reads (older ones read as the oldest)

AppendToken = tuple[int, int]
"""What an append found when it began: ``(records appended so far, end of the appended
records)`` (:meth:`ConflictTracker.start_append`)."""


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


class _Appended:
    """One appended record: where it landed, who wrote it, and whether it is still whole."""

    __slots__ = ("client", "damaged", "nbytes", "offset")

    def __init__(self, offset: int, nbytes: int, client: str) -> None:
        self.offset = offset
        self.nbytes = nbytes
        self.client = client
        self.damaged = False  # overwritten (lost) or torn by a later append: counted once


class _FileState:
    """What is known of one file: made for every file a workload touches (hot path)."""

    __slots__ = ("active", "append_end", "appended", "appended_base", "appending", "ranges",
                 "version")  # fmt: skip

    def __init__(self) -> None:
        self.version = 0  # bumped by every committed write of any range
        self.ranges: dict[tuple[int, int], RangeState] = {}
        # Appends, relative to the file's end when appending began (only overlaps between
        # appended records matter): the end of the appended records, the records appended
        # since the oldest append in progress began (the older ones no append can reach),
        # how many were dropped before them, and the appends in progress by the number
        # of records appended when each began.
        self.append_end = 0
        self.appended: list[_Appended] = []
        self.appended_base = 0
        self.appending: dict[int, int] = {}
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
        """The file's current version (number of committed writes), or a directory's
        (number of changes of its entries, :meth:`changed`)."""
        state = self._files.get(key)
        return state.version if state is not None else 0

    def changed(self, key: object) -> int:
        """A directory's entries changed (a client made or removed a name in it): its
        version goes up, so that other clients' caches of its names and listing go
        stale when they next revalidate it. Returns the new version."""
        state = self._file(key)
        state.version += 1
        return state.version

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

    def commit(
        self, key: object, offset: int, nbytes: int, seen: int | None, *, history: bool = True
    ) -> int:
        """Commit a write of a record; returns the updates it lost (overwrote).

        Args:
            key: the file's identity.
            offset: byte offset of the record.
            nbytes: its size.
            seen: the value this writer read before (a read-modify-write), or None for a
                blind write, which increments whatever is there and loses nothing.
            history: keep the record's value at this version for a later stale read
                (:meth:`read` with ``version``). Only separate clients of a distributed
                mount read stale versions; a local file's history is never read.
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
        if history:
            # up to 64 pairs a record, which nothing reads on local storage: 2 million
            # copy-up writes (bench/run.py, summary mode) peaked at 315 MiB with them,
            # 187 MiB without
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

    def start_append(self, key: object) -> AppendToken:
        """An append begins: it finds the end of the file. Returns a token for
        :meth:`end_append`."""
        state = self._file(key)
        index = state.appended_base + len(state.appended)
        state.appending[index] = state.appending.get(index, 0) + 1
        return index, state.append_end

    def end_append(
        self, key: object, client: str, token: AppendToken, nbytes: int, *, mode: str
    ) -> tuple[int, bool]:
        """An append of ``nbytes`` completes: where it lands, and what it overwrote.

        Args:
            key: the file's identity.
            client: who appends (a container: a client of its own on a distributed mount).
            token: what :meth:`start_append` returned when this append began.
            nbytes: the record's size, bytes.
            mode: ``"atomic"`` (``O_APPEND`` on one kernel: at the end of file when it
                writes, never overwriting), ``"per_client"`` (``O_APPEND`` on a
                distributed mount: the client knows its own appends but not the other
                clients' since it found the end of file [K7]) or ``"racy"``
                (``lseek(SEEK_END)`` then ``write()``: at the end it found when it began).

        Returns:
            ``(lost records, torn)``: how many records appended meanwhile it overwrote
            whole (lost), and whether it overwrote part of one (torn). A record is
            counted once, by the first append that damages it.
        """
        state = self._file(key)
        index, found = token
        since = state.appended[index - state.appended_base :]
        if mode == "atomic":
            offset = state.append_end
        elif mode == "per_client":
            offset = found + sum(r.nbytes for r in since if r.client == client)
        else:
            offset = found
        end = offset + nbytes
        lost = 0
        torn = False
        for record in since:  # only records appended since it began can lie past `found`
            if record.damaged or not (
                record.offset < end and offset < record.offset + record.nbytes
            ):
                continue
            record.damaged = True
            if offset <= record.offset and record.offset + record.nbytes <= end:
                lost += 1
            else:
                torn = True
        state.appended.append(_Appended(offset, nbytes, client))
        if end > state.append_end:
            state.append_end = end
        state.version += 1
        # forget the records that no append in progress can reach any more
        waiting = state.appending
        left = waiting[index] - 1
        if left:
            waiting[index] = left
        else:
            del waiting[index]
        oldest = min(waiting) if waiting else state.appended_base + len(state.appended)
        if oldest > state.appended_base:
            del state.appended[: oldest - state.appended_base]
            state.appended_base = oldest
        return lost, torn

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


# --- what one operation accounts ------------------------------------------------------------

Conflicts = tuple[int, int, bool, bool]
"""What an operation's accounting found: ``(lost updates, lost records, torn, stale)``
(see the module docstring for what each counts)."""


class Accounting(Protocol):
    """What one kind of operation does to the shared state of the records it touches.

    Built once per workload step (:class:`storsim.run.operation.Operation`); called for
    each successful operation, :meth:`before` when it starts and :meth:`after` once its
    time is spent.
    """

    def __init__(
        self, tracker: ConflictTracker, client: str, *, o_append: bool, feeds_write: bool
    ) -> None: ...

    def before(self, where: Where, offset: int, nbytes: int) -> Any:
        """The operation starts; returns what :meth:`after` needs of that instant."""
        ...

    def after(
        self,
        where: Where,
        offset: int,
        nbytes: int,
        token: Any,
        served: Version | None,
        it: Iteration,
    ) -> Conflicts:
        """The operation ended, its data served at file version ``served`` (None: the
        latest); returns the conflicts it suffered."""
        ...


class _Accounting:
    __slots__ = ("_client", "_feeds_write", "_o_append", "_tracker")

    def __init__(
        self, tracker: ConflictTracker, client: str, *, o_append: bool, feeds_write: bool
    ) -> None:
        self._tracker = tracker
        self._client = client  # the container: who wrote, for torn writes across clients
        self._o_append = o_append
        # whether a later step of the iteration writes back what this one reads
        self._feeds_write = feeds_write

    def _committed(self, where: Where) -> None:
        """A write of this separate client committed: its cache now holds that version."""
        where.backend.committed(where.inner, self._tracker.version(where.file_key))


class ReadAccounting(_Accounting):
    """A read: stale when served older than what was committed when it began; what it
    read is remembered when a later write of the iteration writes it back (a
    read-modify-write)."""

    __slots__ = ()

    def before(self, where: Where, offset: int, nbytes: int) -> Any:
        # Only separate clients serve stale data: the version at the start, to compare.
        return self._tracker.version(where.file_key) if where.separate else 0

    def after(
        self,
        where: Where,
        offset: int,
        nbytes: int,
        token: Any,
        served: Version | None,
        it: Iteration,
    ) -> Conflicts:
        # stale: older than what was committed before the read began (a commit that
        # lands while the reply is on its way is concurrent, not stale)
        stale = served is not None and served < token
        tracker, key = self._tracker, where.file_key
        if self._feeds_write:  # a later write of this iteration may use it
            seen = it.seen
            if seen is None:
                seen = it.seen = {}
            seen[(key, offset, nbytes)] = tracker.read(key, offset, nbytes, served)
        else:  # nothing to remember, but the file is known from now on
            tracker.touch(key)
        return 0, 0, False, stale


class WriteAccounting(_Accounting):
    """A write of a record: commits it, losing the updates that overtook the value this
    iteration read (if it read one); torn by another client's overlapping write."""

    __slots__ = ()

    def before(self, where: Where, offset: int, nbytes: int) -> Any:
        if where.separate:
            # only independent clients of a distributed mount tear each other's writes
            # (one kernel serialises writes to a file): only they register
            return self._tracker.start_write(
                where.file_key, self._client, offset, nbytes, shared=True
            )
        self._tracker.touch(where.file_key)
        return False

    def after(
        self,
        where: Where,
        offset: int,
        nbytes: int,
        token: Any,
        served: Version | None,
        it: Iteration,
    ) -> Conflicts:
        tracker, key = self._tracker, where.file_key
        if where.separate:
            tracker.end_write(key, self._client, offset, nbytes)
        last = it.seen.pop((key, offset, nbytes), None) if it.seen else None
        lost = tracker.commit(key, offset, nbytes, last, history=where.separate)
        if where.separate:
            self._committed(where)
        return lost, 0, bool(token), False


class AppendAccounting(_Accounting):
    """An append: when it raced another to the same end of file, it overwrites that
    record, whole (a lost record) or in part (torn); ``O_APPEND`` prevents it on one
    kernel, and only among one client's appends on a distributed mount [K7]."""

    __slots__ = ()

    def before(self, where: Where, offset: int, nbytes: int) -> Any:
        return self._tracker.start_append(where.file_key)

    def after(
        self,
        where: Where,
        offset: int,
        nbytes: int,
        token: Any,
        served: Version | None,
        it: Iteration,
    ) -> Conflicts:
        tracker, key = self._tracker, where.file_key
        separate = where.separate
        mode = "racy" if not self._o_append else "per_client" if separate else "atomic"
        lost, torn = tracker.end_append(key, self._client, token, nbytes, mode=mode)
        if separate:
            self._committed(where)
        return 0, lost, torn, False
