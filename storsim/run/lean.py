"""The lean operation path: each workload step as a function made for what it does.

Like a sorting office that, besides the counter where any parcel is handled by the
general rules, opens a fast lane for the three kinds of letters that make up nearly all
of its mail (a stamped letter, a postcard, a registered letter): the same rules apply,
but whatever the lane's letters never need is not checked at every letter. The general
counter, :meth:`storsim.run.operation.Operation.run`, stays for everything else: any
other operation, and a storage choice with its own charging (tmpfs, a distributed
mount); a lean step hands a failure to its rest (``Operation.failed``), a cold lookup,
a copy-up or a page-cache miss to the backend's own ``charge``, and a lock a remote or
local-only mount takes to ``Locking.take``.

A :class:`LeanStep` is made when a workload starts, for a step that is a ``write``, a
``read`` or a ``stat``; each operation it performs is split in two plain calls around
its wait for the devices, instead of a generator per operation:

* ``begin(path, it)``: decides the operation (the same file-system call as the op
  table's row), accounts its start and asks the backend for its cost. Returns None when
  the step cannot take the lean path this time (nothing done: the workload runs
  ``Operation.run`` instead), the CPU seconds to spend (the common case), or a
  generator that does the rest itself (a device access, a copy-up, a failure).
* ``end(it, served)``: after those CPU seconds, accounts its end and records it.

Each is :meth:`Operation.run`'s code with the branches its row, its offset rule and its
storage choice never take removed; results are identical, event for event (the golden
outputs of ``tests/test_golden.py`` and ``tests/run/test_lean.py`` hold them so).
Dropping a generator and its ``yield from`` chain per operation, and the op table's
indirections, saves 11-22 % of the CPU time per operation (bench/run.py's workloads at
30,000 operations, lean against general path in one process, the best of 4 alternating
runs each: lookups 0.84, copy-up 0.78, read-modify-write under flock 0.89).
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any, cast

import simpy

from storsim.backends.base import Served
from storsim.backends.local import components, pages, read_folios
from storsim.fs import FsError
from storsim.run.operation import LEAN_OVERLAY
from storsim.run.ops import OP_TABLE

if TYPE_CHECKING:
    from storsim.run.context import SimContext
    from storsim.run.operation import Iteration, OffsetAt, Operation, Where

__all__ = ["LeanStep", "lean_step"]

Begin = Callable[[str, "Iteration"], Any]
End = Callable[["Iteration", Any], None]


class LeanStep:
    """The lean path of one step (``begin`` and ``end``: see the module docstring).

    Args:
        ctx: the run's context.
        op: the step, prepared (its ``cost`` as :func:`storsim.run.workload` leaves it).
    """

    __slots__ = (
        "_cache_hit_s",
        "_compute",
        "_copy_bytes_per_s",
        "_env",
        "_extend_page_s",
        "_folio_read_s",
        "_getattr_s",
        "_image",
        "_local_walk_s",
        "_locate",
        "_locking",
        "_max_folio_bytes",
        "_metadata_seen",
        "_needs_size",
        "_ok",
        "_op",
        "_op_code",
        "_overlay_op_s",
        "_row",
        "_same",
        "_size",
        "_sized_by_open",
        "_source",
        "_syscall_s",
        "_tracker",
        "_walks",
        "_where",
        "_writable",
        "_write_overhead_s",
        "begin",
        "cost",
        "end",
        "feeds",
    )

    def __init__(self, ctx: SimContext, op: Operation) -> None:
        self._op = op
        self._env = ctx.env
        self._tracker = ctx.tracker
        self._locate = op._locate
        self._where = op._where
        self._locking = op._locking
        self._size = op.size
        self._same = op._same
        self._needs_size = op._needs_size
        self._sized_by_open = op._sized_by_open
        self._row = ctx.recorder.io
        self._source = op._source
        self._op_code = op._op_code
        self._ok = op._ok
        self._image = op._image
        self._writable = op._writable
        self.cost = op.cost
        # whether the step walks its path (OverlayBackend.charge: a step on a file the
        # application keeps open walks none)
        self._walks = op.cost.reopens or not op.cost.opens
        # The host's figures, read once (they are fixed for the run), and its page cache.
        host = ctx.host
        self._syscall_s = host.syscall_s
        self._getattr_s = host.getattr_s
        self._local_walk_s = host.local_walk_s
        self._overlay_op_s = host.overlay_op_s
        self._copy_bytes_per_s = host.copy_bytes_per_s
        self._cache_hit_s = host.cache_hit_s
        self._extend_page_s = host.extend_page_s
        self._folio_read_s = host.folio_read_s
        self._write_overhead_s = host.write_overhead_s
        self._max_folio_bytes = host.max_folio_bytes
        self._metadata_seen = host.metadata_seen
        self._compute = host.cpu.compute
        # whether a later write of the iteration uses what this read reads
        self.feeds = bool(op._account is not None and op._account._feeds_write)  # type: ignore[attr-defined]
        name = op.step.op
        self.begin: Begin
        self.end: End
        if name == "write":
            self.begin, self.end = self._write, self._write_end
        elif name == "read":
            self.begin, self.end = self._read, self._read_end
        else:
            self.begin, self.end = self._stat, self._stat_end

    def _locked(
        self,
        decide: Callable[[Where, str, int, int, Iteration], Any],
        where: Where,
        path: str,
        offset: int,
        nbytes: int,
        it: Iteration,
    ) -> Generator[simpy.Event, Any, bool]:
        """The iteration's lock first (this is its first byte range), then the operation,
        as :meth:`Operation.run` takes it: after the size and offset are drawn."""
        locking = self._locking
        assert locking is not None
        backend: Any = where.backend
        if backend.lock_semantics == "host" and type(lock_s := backend.lock_cost()) is float:
            # Locking.take of a lock of the host's kernel, inline (no generator of its
            # own, one yield-from level fewer at its two or three events)
            env = self._env
            t0 = env._now
            storage = where.storage
            if storage < 0:
                storage = self._writable
            yield self._compute(lock_s)
            lock = self._tracker.lock(
                (where.file_key, "file" if locking._flock else (offset, nbytes))
            )
            waited_from = env._now
            wait = lock.acquire()
            if wait is not None:
                yield wait  # asleep until the holder's unlock hands the lock over
                yield self._compute(locking._wakeup_s)  # then scheduled again, on a core
            it.lock = (lock, backend)
            backend.locked(where.inner)
            locking._record_lock(t0, path, storage, locking._ok, env._now - waited_from)
        else:
            ok = yield from locking.take(it, path, where, offset, nbytes)
            if not ok:
                it.lock_failed = True
                return False
        it.last = (offset, nbytes)
        cost = decide(where, path, offset, nbytes, it)
        if type(cost) is float:
            yield self._compute(cost)
            self.end(it, None)
            return True
        done: bool = yield from cost
        return done

    def _walk_s(self, inner: str) -> float:
        """LocalBackend.path_walk_s of ``inner``, the same float."""
        return self._local_walk_s * components(inner)

    def _slow(self, cost: Served, it: Iteration) -> Generator[simpy.Event, Any, bool]:
        """A charge that waits for devices: spend it, then end the operation."""
        served = yield from cost
        self.end(it, served)
        return True

    # --- write: a buffered write (its open included) -----------------------------------

    def _write(self, path: str, it: Iteration) -> Any:
        where = self._where.get(path) or self._locate(path)
        if not where.lean:
            return None
        at = None
        last = it.last
        if self._same and last is not None:
            offset, nbytes = last
        else:
            offset = 0
            nbytes = self._size()
            if self._needs_size:
                if self._sized_by_open and where.stat_ok:
                    at = self._op._at
                else:
                    offset = self._op._offset_now(where, nbytes)
        locking = self._locking
        if locking is not None and it.lock is None and not it.lock_failed:
            return self._locked(self._write_decide, where, path, offset, nbytes, it)
        it.last = (offset, nbytes)
        return self._write_decide(where, path, offset, nbytes, it, at)

    def _write_decide(
        self,
        where: Where,
        path: str,
        offset: int,
        nbytes: int,
        it: Iteration,
        at: OffsetAt | None = None,
    ) -> Any:
        t_start = self._env._now
        try:
            result = where.answer.open_write(where.apath, offset, nbytes, append=False, at=at)
        except FsError as error:
            return self._op.failed(error, where, path, t_start, offset, nbytes, at, it)
        offset = result.offset
        if at is not None:
            it.last = (offset, nbytes)
        storage = where.storage
        if storage < 0:  # the root overlay: written, so the writable layer
            storage = self._writable
        key = where.file_key  # WriteAccounting.before, one kernel: the file is known
        self._tracker.touch(key)
        backend: Any = where.backend
        inner = where.inner
        lean = where.lean
        if lean == LEAN_OVERLAY:  # OverlayBackend.charge's test for a warm path
            copying = backend._copyups.by_path
            walk_s = backend._dentries.get(inner)  # its cached walk's CPU time
            warm = (
                not result.copied_up and walk_s is not None and not (copying and inner in copying)
            )
            # the cached walk (none for a file kept open), then _after_lookup's indirection
            owed = ((walk_s if self._walks else 0.0) + self._overlay_op_s) if warm else 0.0
        else:  # LocalBackend.charge's, its path's cached walk owed (none for a file kept open)
            warm = where.seen_key in self._metadata_seen
            owed = self._walk_s(inner) if self._walks else 0.0
        if warm:
            # LocalBackend.warm's write branch (a write: no metadata), operation for
            # operation: the same floats, in the same order
            delay = owed + self._syscall_s
            walk_s = backend.write_pages(inner, offset, nbytes)
            dirty = backend._dirty
            dirty[inner] = dirty.get(inner, 0) + nbytes
            delay += self._write_overhead_s
            delay += nbytes / self._copy_bytes_per_s
            delay += walk_s
            grown = result.grown
            if grown:
                delay += self._extend_page_s * pages(grown)
            it.pending = (where, path, t_start, storage, offset, nbytes, result)
            return delay
        cost = backend.charge(self.cost, inner, result, nbytes, offset)
        it.pending = (where, path, t_start, storage, offset, nbytes, result)
        if type(cost) is float:
            return cost
        return self._slow(cast(Served, cost), it)

    def _write_end(self, it: Iteration, served: Any) -> None:
        where, path, t_start, storage, offset, nbytes, result = it.pending
        key = where.file_key  # WriteAccounting.after, one kernel
        seen = it.seen
        last = seen.pop((key, offset, nbytes), None) if seen else None
        # no history: one kernel, nobody reads a stale version
        lost = self._tracker.commit(key, offset, nbytes, last, history=False)
        # Recorder.op's row, in OP_FIELDS order (a positional tuple: no keywords)
        self._row((
            t_start, self._env._now, self._source, self._op_code, path, storage, nbytes,
            self._ok, result.copied_up, result.copy_up_bytes, result.layers_visited, lost, 0,
            False, False, 0.0,
        ))  # fmt: skip

    # --- read ----------------------------------------------------------------------------

    def _read(self, path: str, it: Iteration) -> Any:
        where = self._where.get(path) or self._locate(path)
        if not where.lean:
            return None
        last = it.last
        if self._same and last is not None:
            offset, nbytes = last
        else:
            offset = 0
            nbytes = self._size()
            if self._needs_size:
                offset = self._op._offset_now(where, nbytes)
        locking = self._locking
        if locking is not None and it.lock is None and not it.lock_failed:
            return self._locked(self._read_decide, where, path, offset, nbytes, it)
        it.last = (offset, nbytes)
        return self._read_decide(where, path, offset, nbytes, it)

    def _read_decide(self, where: Where, path: str, offset: int, nbytes: int, it: Iteration) -> Any:
        t_start = self._env._now
        try:
            result = where.answer.read(where.apath, offset, nbytes)
        except FsError as error:
            return self._op.failed(error, where, path, t_start, offset, nbytes, None, it)
        nbytes = result.nbytes  # clipped at the end of the file
        storage = where.storage
        if storage < 0:  # the root overlay: from_image of a Read
            storage = self._image if result.layer >= 1 else self._writable
        backend: Any = where.backend
        inner = where.inner
        if where.lean == LEAN_OVERLAY:  # OverlayBackend.charge's test for a warm path
            copying = backend._copyups.by_path
            walk_s = backend._dentries.get(inner)  # its cached walk's CPU time
            if walk_s is not None and not (copying and inner in copying):
                it.pending = (where, path, t_start, storage, offset, nbytes)
                # the cached walk (none for a file kept open), then the indirection
                owed = (walk_s if self._walks else 0.0) + self._overlay_op_s
                layer = result.layer
                if layer >= 1:  # OverlayBackend._after_lookup's lower-layer read
                    missing = backend.missing_chunks(
                        (backend.lower_key, layer), inner, offset, nbytes
                    )
                    delay = (
                        owed + self._syscall_s + self._cache_hit_s + nbytes / self._copy_bytes_per_s
                    )
                    if self._folio_read_s:  # its folios, as a random reader's reads make them
                        delay += self._folio_read_s * read_folios(
                            offset, nbytes, self._max_folio_bytes
                        )
                    if not missing:
                        return delay
                    return self._slow(backend._then(backend._disk.submit_read(missing), delay), it)
                cost = backend.warm(owed, self.cost, inner, result, nbytes, offset)
                return cost if type(cost) is float else self._slow(cost, it)
        elif where.seen_key in self._metadata_seen:  # LocalBackend.charge's warm path
            it.pending = (where, path, t_start, storage, offset, nbytes)
            owed = self._walk_s(inner) if self._walks else 0.0
            cost = backend.warm(owed, self.cost, inner, result, nbytes, offset)
            return cost if type(cost) is float else self._slow(cost, it)
        cost = backend.charge(self.cost, inner, result, nbytes, offset)
        it.pending = (where, path, t_start, storage, offset, nbytes)
        if type(cost) is float:
            return cost
        return self._slow(cast(Served, cost), it)

    def _read_end(self, it: Iteration, served: Any) -> None:
        where, path, t_start, storage, offset, nbytes = it.pending
        key = where.file_key  # ReadAccounting.after, one kernel (its token: 0)
        stale = served is not None and served < 0
        if self.feeds:  # a later write of this iteration may use it
            seen = it.seen
            if seen is None:
                seen = it.seen = {}
            seen[(key, offset, nbytes)] = self._tracker.read(key, offset, nbytes, served)
        else:
            self._tracker.touch(key)
        # Recorder.op's row, in OP_FIELDS order
        self._row((
            t_start, self._env._now, self._source, self._op_code, path, storage, nbytes,
            self._ok, False, 0, 0, 0, 0, False, stale, 0.0,
        ))  # fmt: skip

    # --- stat ----------------------------------------------------------------------------

    def _stat(self, path: str, it: Iteration) -> Any:
        where = self._where.get(path) or self._locate(path)
        if not where.lean:
            return None
        t_start = self._env._now
        try:
            result = where.answer.stat(where.apath)
        except FsError as error:
            return self._op.failed(error, where, path, t_start, 0, 0, None, it)
        storage = where.storage
        if storage < 0:  # the root overlay: from_image of a Lookup
            storage = self._image if result.layer >= 1 else self._writable
        it.pending = (path, t_start, storage, result.layers_visited or 0)
        backend: Any = where.backend
        inner = where.inner
        if where.lean == LEAN_OVERLAY:  # OverlayBackend.charge's test for a warm path
            copying = backend._copyups.by_path
            walk_s = backend._dentries.get(inner)  # its cached walk's CPU time
            if walk_s is not None and not (copying and inner in copying):
                # _after_lookup (a stat opens no file: no indirection), then
                # LocalBackend.warm of an attributes-only operation
                return ((walk_s if self._walks else 0.0) + self._syscall_s) + self._getattr_s
        elif where.seen_key in self._metadata_seen:  # LocalBackend.charge's warm path
            # LocalBackend.warm of a stat, its path's cached walk owed
            return (self._walk_s(inner) + self._syscall_s) + self._getattr_s
        cost = backend.charge(self.cost, inner, result, 0, 0)
        if type(cost) is float:
            return cost
        return self._slow(cast(Served, cost), it)

    def _stat_end(self, it: Iteration, served: Any) -> None:
        path, t_start, storage, visited = it.pending
        # Recorder.op's row, in OP_FIELDS order
        self._row((
            t_start, self._env._now, self._source, self._op_code, path, storage, 0, self._ok,
            False, 0, visited, 0, 0, False, False, 0.0,
        ))  # fmt: skip


def lean_step(ctx: SimContext, op: Operation) -> LeanStep | None:
    """The lean path of a step, or None if it has none (any operation but a plain
    ``write``, ``read`` or ``stat`` of the op table)."""
    name = op.step.op
    if name not in ("write", "read", "stat") or op.row is not OP_TABLE[name]:
        return None
    return LeanStep(ctx, op)
