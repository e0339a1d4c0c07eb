"""One file operation, from the application's call to its record.

Like a clerk at a counter who handles every form by the same four moves: check it
against the rules (the semantic model decides: does the file exist, is it copied up,
which error), send it to the right office and wait (the backend of the storage choice
that holds the path charges its time), note what it changed in the shared ledger
(conflict tracking), and file a copy (the record). What differs between operations is
their row of the op table (:mod:`storsim.run.ops`), never this code.

An :class:`Operation` is one step of a workload, prepared when the workload starts (its
row, size draws, codes); :meth:`Operation.run` performs it once. The lock a workload
takes around its iteration (:mod:`storsim.run.locks`) is taken here, before the
iteration's first byte range.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any, NamedTuple, cast

import simpy

from storsim.backends.base import Backend, ChargesFailures, ClosesApart, Served
from storsim.backends.local import LocalBackend
from storsim.backends.overlay import OverlayBackend
from storsim.devices import Slots
from storsim.fs import (
    ContainerView,
    FileSystem,
    FsError,
    Listing,
    Lookup,
    Mount,
    Opened,
    Read,
    Wrote,
)
from storsim.run.ops import OP_TABLE
from storsim.scenario import Step, WorkloadSpec

if TYPE_CHECKING:
    from storsim.records import Code, Source
    from storsim.run.containers import ContainerRun
    from storsim.run.context import SimContext
    from storsim.run.locks import Locking
    from storsim.run.workload import RandomStream

__all__ = [
    "LEAN_LOCAL",
    "LEAN_OVERLAY",
    "Iteration",
    "Locator",
    "OffsetAt",
    "Operation",
    "Where",
    "from_image",
    "lean_kind",
]

OffsetAt = Callable[[int, int], int]
"""``at(size, nbytes)``: the offset of a write from the size of the file its open finds."""

_SIZED = ("random", "end", "same")  # offsets computed from the file's size
_WHERE_MAX = 65_536  # resolved paths cached per workload


LEAN_LOCAL = 1  # a LocalBackend: volumes, local binds
LEAN_OVERLAY = 2  # an OverlayBackend: the root


def lean_kind(backend: Backend) -> int:
    """The lean path of ``backend`` (:data:`LEAN_LOCAL`, :data:`LEAN_OVERLAY`), or 0.

    Exact types only: a subclass may charge otherwise (the lean steps skip ``charge``'s
    dispatch for a warm path; :mod:`storsim.run.lean`)."""
    kind = type(backend)
    if kind is OverlayBackend:
        return LEAN_OVERLAY
    if kind is LocalBackend:
        return LEAN_LOCAL
    return 0


class Where(NamedTuple):
    """Where a path lives in one container run: resolved once per path and workload
    (the mount table of a run never changes), not at every operation."""

    mount: Mount | None  # None: the root overlay
    inner: str  # the path inside the mount's (or the root's) file system
    backend: Backend
    file_key: tuple[int, str]  # the file's identity in the conflict tracker
    storage: int  # code of the mount's storage choice; -1 for the root (depends on result)
    separate: bool  # its backend's clients are separate kernels (a distributed mount)
    # Who answers read, stat and open_write: the file system itself at the inner path when
    # that is the same as asking the view (ContainerView.route), else the view.
    answer: FileSystem | ContainerView
    apath: str
    stat_ok: bool  # the mount does not refuse stat (an open may then give the size)
    # Which lean step path its backend has (:mod:`storsim.run.lean`): LEAN_LOCAL, LEAN_OVERLAY,
    # or 0 (none: every operation on it goes the generic way, Operation.run).
    lean: int = 0
    seen_key: tuple[object, str] | None = None  # (backend's fs_key, inner): host.metadata_seen


class Locator:
    """Resolves paths of one container run through its mount table, with a cache.

    Args:
        run: the container run.
        code: the recorder's string codes (for the storage choice of each mount).
    """

    __slots__ = ("_code", "_run", "cache")

    def __init__(self, run: ContainerRun, code: Callable[[str], Code]) -> None:
        self._run = run
        self._code = code
        self.cache: dict[str, Where] = {}

    def __call__(self, path: str) -> Where:
        """Where ``path`` lives (cached: see :class:`Where`)."""
        where = self.cache.get(path)
        if where is None:
            run = self._run
            view = run.view
            mount, fs, inner, direct = view.route(path)
            answer, apath = (fs, inner) if direct else (view, path)
            if mount is None:
                backend = run.backends[None]
                where = Where(
                    None,
                    inner,
                    backend,
                    (id(view.root), inner),
                    -1,
                    backend.separate_clients,
                    answer,
                    apath,
                    True,
                    lean_kind(backend),
                    (getattr(backend, "fs_key", None), inner),
                )
            else:
                backend = run.backends[mount.target]
                where = Where(
                    mount,
                    inner,
                    backend,
                    (id(mount.fs), inner),
                    self._code(mount.storage),
                    backend.separate_clients,
                    answer,
                    apath,
                    "stat" not in mount.unsupported,
                    lean_kind(backend),
                    (getattr(backend, "fs_key", None), inner),
                )
            if len(self.cache) >= _WHERE_MAX:  # templated paths ({i}) never repeat:
                self.cache.clear()  # keep the cache, and memory, bounded
            self.cache[path] = where
        return where


class Iteration:
    """State of one iteration: what it read, its last byte range, the lock it holds."""

    __slots__ = ("last", "lock", "lock_failed", "pending", "seen")

    def __init__(self) -> None:
        # values read per (file, offset, nbytes), for read-modify-writes; made at first read
        self.seen: dict[tuple[object, int, int], int] | None = None
        self.last: tuple[int, int] | None = None
        self.lock: tuple[Slots, Backend] | None = None
        self.lock_failed = False
        # a lean step's operation between its start and its end (storsim.run.lean)
        self.pending: tuple[Any, ...] = ()


class Operation:
    """One step of a workload in one container run, ready to be performed.

    Args:
        ctx: the run's context.
        run: the container run.
        spec: the workload.
        step: this step.
        size: draws the step's sizes, in bytes.
        rand: the workload's uniform and exponential draws (random offsets).
        locate: the workload's :class:`Locator`.
        locking: the workload's lock around each iteration, or None if it takes none.
        source: the workload's record source (:meth:`storsim.records.Recorder.source`).
        feeds_write: a later step of the iteration writes back what this one reads.
    """

    __slots__ = (
        "_account",
        "_at",
        "_code",
        "_compute",
        "_env",
        "_image",
        "_locate",
        "_locking",
        "_needs_size",
        "_ok",
        "_op_code",
        "_rand",
        "_record",
        "_run",
        "_same",
        "_sized_by_open",
        "_source",
        "_to",
        "_where",
        "_writable",
        "cost",
        "row",
        "size",
        "step",
        "view",
    )

    def __init__(
        self,
        ctx: SimContext,
        run: ContainerRun,
        spec: WorkloadSpec,
        step: Step,
        *,
        size: Callable[[], int],
        rand: RandomStream,
        locate: Locator,
        locking: Locking | None,
        source: Source,
        feeds_write: bool,
    ) -> None:
        self.row = row = OP_TABLE[step.op]
        self.step = step
        self.view = run.view
        self.size = size
        # a workload that keeps its files open does not reopen them for each operation
        self.cost = dataclasses.replace(row.cost, reopens=False) if spec.keep_open else row.cost
        self._account = (
            None
            if row.account is None
            else row.account(ctx.tracker, run.name, o_append=spec.o_append, feeds_write=feeds_write)
        )
        self._env: simpy.Environment = ctx.env
        self._compute = ctx.host.cpu.compute  # the host's cores: every CPU part runs there
        self._run = run
        self._rand = rand
        self._locate = locate
        self._locking = locking
        self._where = locate.cache
        self._same = step.offset == "same"  # the byte range of the iteration's last one
        self._needs_size = row.appends or step.offset in _SIZED  # the offset needs the size
        # A write or append that takes no lock opens the file at once: its size (for the
        # offset) comes from that open, at the same instant, instead of a stat before.
        self._sized_by_open = self._needs_size and row.cost.writes and locking is None
        self._to = step.to if row.to else None
        self._at: OffsetAt = _random_at(rand) if step.offset == "random" else self._offset
        # Records carry integer codes for their strings, looked up once here.
        rec = ctx.recorder
        self._record = rec.op
        self._code = rec.code
        self._source = source
        self._op_code = rec.code(step.op)
        self._ok = rec.code("ok")
        self._image = rec.code("image_layer")
        self._writable = rec.code("writable_layer")

    # The hot path: everything here runs once per simulated operation. The path is
    # resolved once per workload (Locator), strings are integer codes, and the record
    # is built by keyword from local variables.
    def run(
        self, path: str, i: int, thread: int, it: Iteration
    ) -> Generator[simpy.Event, Any, bool]:
        """Decide, charge, account and record the operation on ``path``.

        Args:
            path: the path the application names.
            i: the iteration's number (for templates in ``to``).
            thread: the closed-loop thread (for templates in ``to``).
            it: the iteration's state.

        Returns:
            False to abandon the iteration (its lock could not be taken).
        """
        env = self._env
        row = self.row
        nbytes = 0
        offset = 0
        outcome = self._ok
        where = self._where.get(path) or self._locate(path)
        at: OffsetAt | None = None  # when the size its open finds gives the offset
        if row.sized:
            last = it.last
            if self._same and last is not None:
                offset, nbytes = last
            else:
                nbytes = self.size()
                if self._needs_size:
                    if self._sized_by_open and where.stat_ok:
                        at = self._at
                    else:
                        offset = self._offset_now(where, nbytes)
            locking = self._locking
            if locking is not None and it.lock is None and not it.lock_failed:
                ok = yield from locking.take(it, path, where, offset, nbytes)
                if not ok:
                    it.lock_failed = True
                    return False
            it.last = (offset, nbytes)
        to = self._to
        if to is not None:
            to = self._run.fill(to, i, thread)
        t_start = env.now
        failure: FsError | None = None
        try:
            result, charged, offset, nbytes = row.decide(self, where, path, to, offset, nbytes, at)
        except FsError as error:
            outcome = self._code(error.errno)
            result = None
            failure = error
            if at is not None:  # the open failed: the offset as a stat before would give it
                it.last = (self._offset_now(where, nbytes), nbytes)
        else:
            if at is not None:
                it.last = (offset, nbytes)
            if charged != path:  # a symlink is charged and recorded on the new link
                path = charged
                where = self._locate(path)
        return (
            yield from self.complete(
                where, path, result, failure, outcome, t_start, offset, nbytes, it
            )
        )

    def failed(
        self,
        error: FsError,
        where: Where,
        path: str,
        t_start: float,
        offset: int,
        nbytes: int,
        at: OffsetAt | None,
        it: Iteration,
    ) -> Generator[simpy.Event, Any, bool]:
        """The rest of :meth:`run` for an operation whose decision raised ``error``
        (a lean step's failure goes on here: :mod:`storsim.run.lean`)."""
        if at is not None:  # the open failed: the offset as a stat before would give it
            it.last = (self._offset_now(where, nbytes), nbytes)
        outcome = self._code(error.errno)
        return self.complete(where, path, None, error, outcome, t_start, offset, nbytes, it)

    def complete(
        self,
        where: Where,
        path: str,
        result: Any,
        failure: FsError | None,
        outcome: Code,
        t_start: float,
        offset: int,
        nbytes: int,
        it: Iteration,
    ) -> Generator[simpy.Event, Any, bool]:
        """Charge, account and record a decided operation (the rest of :meth:`run`).

        Args:
            where: where ``path`` lives.
            path: the path it is charged and recorded on.
            result: what the file system returned (None: it failed).
            failure: the error it failed with, or None.
            outcome: the record's outcome code.
            t_start: when it started, simulated s.
            offset: its byte offset.
            nbytes: the bytes it moved.
            it: the iteration's state.

        Returns:
            True (the iteration goes on).
        """
        env = self._env
        storage = where.storage
        if storage < 0:  # the root overlay: image or writable layer, by the result
            if type(result) is Listing:
                storage = self._code(self.view.storage_of(path, result))
            else:
                storage = self._image if from_image(result) else self._writable
        account = self._account
        if account is not None and result is not None:
            token = account.before(where, offset, nbytes)
        if failure is None:
            cost = where.backend.charge(self.cost, where.inner, result, nbytes, offset)
        else:  # its lookups and any copy-up, for a backend that charges them
            failed = getattr(where.backend, "failed", None)
            if failed is None:
                cost = where.backend.charge(self.cost, where.inner, None, nbytes, offset)
            else:
                cost = cast("ChargesFailures", where.backend).failed(
                    self.cost, where.inner, failure
                )
        if type(cost) is float:  # CPU time only, the common case: one burst on a core
            served = None
            yield self._compute(cost)
        else:  # a generator: it returns the file version it served (None: the latest)
            served = yield from cast(Served, cost)
        lost = lost_records = 0
        torn = stale = False
        if account is not None and result is not None:
            lost, lost_records, torn, stale = account.after(
                where, offset, nbytes, token, served, it
            )
        if self.cost.closes and result is not None:
            # A distributed mount's close (a COMMIT, a CLOSE) comes after the accounting:
            # the server applied the write when it answered it (RemoteBackend.close).
            close = getattr(where.backend, "close", None)
            if close is not None:
                closing = cast("ClosesApart", where.backend).close(self.cost, where.inner, result)
                if closing is not None:
                    yield from closing
        kind = type(result)
        if kind is Read or result is None:  # the commonest results first
            copy_bytes = visited = 0
            copied = False
        elif kind is Wrote:
            copy_bytes, copied, visited = (
                result.copy_up_bytes,
                result.copied_up,
                result.layers_visited,
            )
        else:
            copy_bytes = getattr(result, "copy_up_bytes", 0) or 0
            copied = bool(copy_bytes or getattr(result, "copied_up", False))
            visited = getattr(result, "layers_visited", 0) or 0
        self._record(
            t_start=t_start,
            t_end=env.now,
            source=self._source,
            op=self._op_code,
            path=path,
            storage=storage,
            nbytes=nbytes,
            outcome=outcome,
            copied_up=copied,
            copy_up_bytes=copy_bytes,
            layers_visited=visited,
            lost_updates=lost,
            lost_records=lost_records,
            torn=torn,
            stale=stale,
        )
        return True

    # --- offsets ----------------------------------------------------------------------

    def _offset_now(self, where: Where, nbytes: int) -> int:
        """The offset of a byte range, from the file's size now (0 if it cannot be had)."""
        try:
            size = where.answer.stat(where.apath).size_bytes
        except FsError:
            size = 0
        if self.row.appends:
            return size
        return self._offset(size, nbytes, write=self.cost.writes)

    def _offset(self, size: int, n: int, *, write: bool = True) -> int:
        spec = self.step.offset
        if spec == "random" or spec == "same":  # a random record, aligned to its size
            span = size - n if size > n else 0
            align = n if 0 < n < 4096 else (4096 if n else 1)  # min(n, 4 KiB), at least 1
            return int(self._rand.uniform() * (span // align + 1)) * align
        if spec == "start":
            return 0
        if spec == "end":
            return size if write else max(size - n, 0)
        return int(spec)


def _random_at(rand: RandomStream) -> OffsetAt:
    """``Operation._offset`` of a random offset for a write, made for it: a write's offset
    from the size its open finds, once per write (the same draw, the same arithmetic)."""
    uniform = rand.uniform

    def at(size: int, n: int) -> int:
        span = size - n if size > n else 0
        align = n if 0 < n < 4096 else (4096 if n else 1)  # min(n, 4 KiB), at least 1
        return int(uniform() * (span // align + 1)) * align

    return at


def from_image(result: Any) -> bool:
    """Whether an operation on the root overlay was served by an image layer.

    ``ContainerView.storage_of`` for a path of the root file system and any result but
    a ``Listing`` (which needs another lookup), without routing the path through the
    mount table again (tests/test_streaming.py checks that the two agree).
    """
    kind = type(result)
    if kind is Opened:
        return bool(result.layer >= 1 and not result.copied_up)
    if kind is Lookup or kind is Read:
        return bool(result.layer >= 1)
    return False  # written, changed or failed: the writable layer
