"""Workloads: the processes inside containers that issue file operations.

Like customers arriving at a bank, a workload's iterations arrive either on their own
schedule (open loop: Poisson arrivals at a rate, however busy the tellers are) or from a
fixed number of clerks who each start the next task when the last is done (closed loop:
``threads`` with a think time). Each iteration performs its ``ops`` in order on one
chosen file, so a read-modify-write cycle reads and writes the same file.

Every operation is first decided by the semantic model (:mod:`storsim.fs`: does the
file exist, is it copied up, which error), then charged simulated time by the backend
of the storage choice that holds the path, then recorded.
"""

from __future__ import annotations

import bisect
import dataclasses
import fnmatch
import functools
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
import simpy

from storsim.backends import OpCost, ProcessGen, spend
from storsim.context import SimContext
from storsim.devices import Slots
from storsim.draws import BlockDraws
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
from storsim.scenario import SizeSpec, Step, WorkloadSpec

__all__ = ["ContainerRun", "RandomStream", "size_sampler", "start_workload", "visible_files"]

_GLOB = re.compile(r"[*?\[]")


class RandomStream:
    """The uniform and exponential draws of one workload, each a block stream
    (:class:`storsim.draws.BlockDraws`): ``rand.uniform()`` is U[0, 1), ``rand.exponential()``
    is Exp(1). Both first blocks are drawn at once, uniform first."""

    __slots__ = ("exponential", "uniform")

    def __init__(self, rng: np.random.Generator) -> None:
        self.uniform: BlockDraws[float] = BlockDraws(rng.random, eager=True)
        self.exponential: BlockDraws[float] = BlockDraws(rng.standard_exponential, eager=True)


def size_sampler(
    spec: SizeSpec | None, rng: np.random.Generator, default: int
) -> Callable[[], int]:
    """A function that draws sizes in bytes from ``spec`` (``default`` when it is None)."""
    if spec is None:
        return lambda: default
    if spec.dist == "fixed":
        size = spec.size
        return lambda: size

    def fill(n: int) -> npt.NDArray[np.int64]:
        if spec.dist == "lognormal":
            draws = spec.median * np.exp(spec.sigma * rng.standard_normal(n))
        elif spec.dist == "uniform":
            draws = rng.integers(spec.min, spec.max + 1, n)
        else:
            draws = rng.exponential(spec.mean, n)
        whole: npt.NDArray[np.int64] = np.maximum(np.rint(draws), 0).astype(np.int64)
        return whole

    sizes: BlockDraws[int] = BlockDraws(fill)
    return sizes


def visible_files(view: ContainerView) -> list[str]:
    """Every regular file the container sees, mounts included, sorted."""
    files: list[str] = []
    mounts = sorted(view.mounts, key=lambda m: len(m.target), reverse=True)
    targets = [m.target for m in mounts]

    def hidden(path: str) -> bool:
        return any(path == t or path.startswith(t.rstrip("/") + "/") for t in targets)

    for path, node in view.root.visible_tree().items():
        if node.kind == "file" and not hidden(path):
            files.append(path)
    for mount in mounts:
        root = mount.source_root.rstrip("/")
        for path, node in mount.fs.visible_tree().items():
            if node.kind != "file" or not (path == root or path.startswith(root + "/")):
                continue
            inner = path[len(root) :] if root else path
            outer = mount.target.rstrip("/") + inner
            # a deeper mount hides what a shallower one has below its target
            if not any(
                t != mount.target and (outer == t or outer.startswith(t.rstrip("/") + "/"))
                for t in targets
                if len(t) > len(mount.target)
            ):
                files.append(outer)
    return sorted(files)


@dataclass(slots=True, eq=False)
class ContainerRun:
    """One container between its ``run`` and its ``rm``: what its workloads need."""

    name: str
    service: str
    replica: int
    view: ContainerView
    backends: dict[str | None, Any]  # mount target (None = the root overlay) -> backend
    running: bool = True
    generation: int = 0  # bumped at each stop, so that workloads of an old start end
    run_index: int = 0  # this is the replica's n-th `docker run` (from 0)
    _matches: dict[str, list[str]] = field(default_factory=dict)

    def fill(self, template: str, iteration: int, thread: int) -> str:
        """A path template with ``{i}``, ``{thread}``, ``{replica}``, ``{run}``, ``{start}``."""
        return template.format(
            i=iteration,
            thread=thread,
            replica=self.replica,
            run=self.run_index,
            start=self.generation,
        )

    def matches(self, pattern: str) -> list[str]:
        """Files matching a glob pattern, listed once per run (``*`` also matches ``/``)."""
        found = self._matches.get(pattern)
        if found is None:
            regex = re.compile(fnmatch.translate(pattern))
            found = [p for p in visible_files(self.view) if regex.match(p)]
            self._matches[pattern] = found
        return found


class _Paths:
    """Chooses the path of each iteration from an exact path, a glob or a template."""

    __slots__ = ("_candidates", "_cdf", "_kind", "_pattern", "_pick", "_rand", "_run", "_seq")

    def __init__(self, pattern: str, spec: WorkloadSpec, run: ContainerRun, rand: RandomStream):
        self._pattern = pattern
        self._pick = spec.pick
        self._rand = rand
        self._run = run
        self._seq = 0
        self._cdf: list[float] | None = None
        self._candidates: list[str] | None = None  # a glob's matches, listed at first use
        # What the pattern is, decided once rather than at every iteration.
        if "{" in pattern:
            self._kind = "template"
        elif _GLOB.search(pattern):
            self._kind = "glob"
        else:
            self._kind = "exact"
        if self._kind == "glob" and spec.pick == "zipf":
            n = len(run.matches(pattern))
            weights = 1.0 / np.arange(1, n + 1, dtype=float) ** spec.zipf_s
            self._cdf = (np.cumsum(weights) / weights.sum()).tolist()

    def choose(self, iteration: int, thread: int) -> str | None:
        kind = self._kind
        if kind == "exact":
            return self._pattern
        if kind == "template":
            return self._run.fill(self._pattern, iteration, thread)
        candidates = self._candidates
        if candidates is None:
            candidates = self._candidates = self._run.matches(self._pattern)
        if not candidates:
            return None
        if self._pick == "sequential":
            index = self._seq % len(candidates)
            self._seq += 1
        elif self._cdf is not None:
            index = min(bisect.bisect_left(self._cdf, self._rand.uniform()), len(candidates) - 1)
        else:
            index = int(self._rand.uniform() * len(candidates))
        return candidates[index]


class _Where(NamedTuple):
    """Where a path lives in one container run: resolved once per path and workload
    (the mount table of a run never changes), not at every operation."""

    mount: Mount | None  # None: the root overlay
    inner: str  # the path inside the mount's (or the root's) file system
    backend: Any
    file_key: tuple[int, str]  # the file's identity in the conflict tracker
    storage: int  # code of the mount's storage choice; -1 for the root (depends on result)
    separate: bool  # its backend's clients are separate kernels (a distributed mount)
    # Who answers read, stat and open_write: the file system itself at the inner path when
    # that is the same as asking the view (ContainerView.route), else the view.
    answer: FileSystem | ContainerView
    apath: str


_DATA = frozenset({"read", "write", "append"})
# How each operation is charged (the parts of it that take time on any storage).
_COSTS = {
    op: OpCost(
        name=op,
        reads=op == "read",
        writes=op in ("write", "append", "create"),
        metadata=op
        in ("create", "unlink", "rename", "mkdir", "rmdir", "chmod", "link", "symlink", "truncate"),
        discards=op in ("unlink", "truncate"),
        flushes=op == "fsync",
        attributes=op == "stat",
    )
    for op in ("stat", "open", "read", "write", "append", "create", "unlink", "rename",
               "mkdir", "rmdir", "readdir", "chmod", "fsync", "link", "symlink", "truncate")
}  # fmt: skip
_SIZED = ("random", "end", "same")  # offsets computed from the file's size
_WHERE_MAX = 65_536  # resolved paths cached per workload


class _Workload:
    """The running state of one workload in one container run."""

    def __init__(
        self,
        ctx: SimContext,
        run: ContainerRun,
        spec: WorkloadSpec,
        index: int,
        rng: np.random.Generator,
    ) -> None:
        self.ctx = ctx
        self.env: simpy.Environment = ctx.env
        self.run = run
        self.view = run.view
        self.tracker = ctx.tracker
        self.spec = spec
        self.name = spec.name or f"workload[{index}]"
        self.rand = RandomStream(rng)
        self.generation = run.generation
        self.default_paths = _Paths(spec.path, spec, run, self.rand) if spec.path else None
        self.step_paths = [
            _Paths(s.path, spec, run, self.rand) if s.path is not None else None for s in spec.ops
        ]
        self.sizes = [
            size_sampler(s.size, rng, 4096 if s.op != "truncate" else 0) for s in spec.ops
        ]
        self.started = 0
        now = self.env.now
        self.deadline = now + spec.duration if spec.duration is not None else math.inf
        self.locking = spec.lock != "none"
        self.costs = [
            dataclasses.replace(_COSTS[s.op], reopens=False) if spec.keep_open else _COSTS[s.op]
            for s in spec.ops
        ]
        # Records carry integer codes for their strings, looked up once here.
        rec = ctx.recorder
        self.code = rec.code
        self.record = rec.op
        self.source = rec.source(run.name, run.service, self.name)
        self.op_codes = [rec.code(s.op) for s in spec.ops]
        self.ok_code = rec.code("ok")
        self.lock_code = rec.code("lock")
        self.enolck_code = rec.code("ENOLCK")
        self.flock = spec.lock == "flock"
        self.image_code = rec.code("image_layer")
        self.writable_code = rec.code("writable_layer")
        self.where: dict[str, _Where] = {}
        # per step: offset(size, nbytes) of a write placed by the size its open finds
        self.offset_at = [functools.partial(self._offset, s) for s in spec.ops]
        # whether a write comes after step k: only then is what step k reads remembered
        # (a read-modify-write); only the remote backend serves reads that can be stale
        self.feeds_write = [
            any(s.op == "write" for s in spec.ops[k + 1 :]) for k in range(len(spec.ops))
        ]

    def locate(self, path: str) -> _Where:
        """Resolve ``path`` through the mount table (cached: see :class:`_Where`)."""
        where = self.where.get(path)
        if where is None:
            run = self.run
            view = run.view
            mount, fs, inner, direct = view.route(path)
            answer, apath = (fs, inner) if direct else (view, path)
            if mount is None:
                key = (id(view.root), inner)
                backend = run.backends[None]
                where = _Where(
                    None, inner, backend, key, -1, backend.separate_clients, answer, apath
                )
            else:
                backend = run.backends[mount.target]
                where = _Where(
                    mount,
                    inner,
                    backend,
                    (id(mount.fs), inner),
                    self.code(mount.storage),
                    backend.separate_clients,
                    answer,
                    apath,
                )
            if len(self.where) >= _WHERE_MAX:  # templated paths ({i}) never repeat:
                self.where.clear()  # keep the cache, and memory, bounded
            self.where[path] = where
        return where

    def alive(self) -> bool:
        run = self.run
        return run.running and run.generation == self.generation and self.env.now < self.deadline

    def take(self) -> int | None:
        """Claim the next iteration number, or None when the workload is done."""
        if not self.alive() or (self.spec.count is not None and self.started >= self.spec.count):
            return None
        self.started += 1
        return self.started - 1

    # --- processes ---------------------------------------------------------------------

    def open_loop(self) -> ProcessGen:
        rate = self.spec.rate
        assert rate is not None
        env = self.env
        if self.spec.start:
            yield env.timeout(self.spec.start)
            self.deadline += self.spec.start
        while True:
            yield env.timeout(self.rand.exponential() / rate)
            i = self.take()
            if i is None:
                return
            env.process(self.iteration(i, 0))

    def closed_loop(self, thread: int) -> ProcessGen:
        env = self.env
        if self.spec.start:
            yield env.timeout(self.spec.start)
        think = self.spec.think
        exponential = self.spec.think_dist == "exponential"
        while True:
            i = self.take()
            if i is None:
                return
            yield from self.iteration(i, thread)
            if think:
                yield env.timeout(think * self.rand.exponential() if exponential else think)

    def iteration(self, i: int, thread: int) -> ProcessGen:
        default = self.default_paths.choose(i, thread) if self.default_paths else None
        it = _Iteration()
        run = self.run
        generation = self.generation
        step_paths = self.step_paths
        for k, step in enumerate(self.spec.ops):
            if not run.running or run.generation != generation:
                break
            chooser = step_paths[k]
            path = chooser.choose(i, thread) if chooser is not None else default
            if path is None:  # a glob that matches nothing: nothing to operate on
                continue
            go_on = yield from self.operate(step, path, k, i, thread, it)
            if not go_on:
                break
            if step.think:
                yield self.env.timeout(step.think)
        if it.lock is not None:  # unlock (inline: once per iteration)
            lock, backend = it.lock
            it.lock = None
            lock.release()
            cost = backend.lock_cost()
            if type(cost) is float:
                yield self.env.timeout(cost)
            else:
                yield from spend(self.env, cost)

    # --- locks -------------------------------------------------------------------------

    def lock(self, it: _Iteration, path: str, where: _Where, offset: int, nbytes: int) -> Any:
        """Take the workload's lock on ``path`` before the iteration's first data step.

        Returns:
            False if the lock cannot be taken (the mount refuses locks): the iteration
            is abandoned, as an application whose lock call fails abandons its update.
        """
        env, run = self.env, self.run
        _, inner, backend, file_key, storage, *_ = where
        if storage < 0:
            storage = self.writable_code
        semantics = backend.lock_semantics
        t0 = env.now
        if semantics == "none":
            yield from spend(env, backend.lock_cost())
            self._record_lock(t0, path, storage, self.enolck_code, 0.0)
            return False
        # What the lock excludes: the whole file (flock) or a byte range (fcntl), for
        # this container only (emulated on the client), or for every process of one
        # kernel (the host) or of the server's lock manager (nlm, brl).
        what = "file" if self.flock else (offset, nbytes)
        key = ("client", run.name, file_key, what) if semantics == "local" else (file_key, what)
        cost = backend.lock_cost()
        if type(cost) is float:
            yield env.timeout(cost)
        else:
            yield from spend(env, cost)
        lock = self.tracker.lock(key)
        waited_from = env.now
        wait = lock.acquire()
        if wait is not None:
            yield wait
        it.lock = (lock, backend)
        backend.locked(inner)  # an NFS client revalidates its cache then
        self._record_lock(t0, path, storage, self.ok_code, env.now - waited_from)
        return True

    def _record_lock(self, t0: float, path: str, storage: int, outcome: int, wait_s: float) -> None:
        """One ``lock`` row: how long taking the lock took, and the part spent waiting."""
        self.record(
            t_start=t0,
            t_end=self.env.now,
            source=self.source,
            op=self.lock_code,
            path=path,
            storage=storage,
            nbytes=0,
            outcome=outcome,
            lock_wait_s=wait_s,
        )

    # --- one operation -----------------------------------------------------------------

    # The hot path: everything here runs once per simulated operation. The path is
    # resolved once per workload (locate), strings are integer codes, and the record is
    # one tuple.
    def operate(self, step: Step, path: str, k: int, i: int, thread: int, it: _Iteration) -> Any:
        """Decide, time and record one operation; returns False to abandon the iteration."""
        env = self.env
        view = self.view
        op = step.op
        nbytes = 0
        offset = 0
        result: Any = None
        outcome = self.ok_code
        tracker = self.tracker
        where = self.locate(path)
        mount, inner, backend, file_key, storage, separate, answer, apath = where
        data = op in _DATA
        # A write or append that takes no lock opens the file at once: its size (for the
        # offset) comes from that open, at the same instant, instead of a stat before.
        sized_by_open = False
        if data:
            if step.offset == "same" and it.last is not None:
                offset, nbytes = it.last
            else:
                nbytes = self.sizes[k]()
                if op == "append" or step.offset in _SIZED:  # the offset needs the size
                    if (
                        op != "read"
                        and not self.locking
                        and (mount is None or "stat" not in mount.unsupported)
                    ):
                        sized_by_open = True
                    else:
                        offset = self._offset_now(step, op, where, nbytes)
            if self.locking and it.lock is None and not it.lock_failed:
                ok = yield from self.lock(it, path, where, offset, nbytes)
                if not ok:
                    it.lock_failed = True
                    return False
            it.last = (offset, nbytes)
        t_start = env.now
        try:
            if op == "read":
                result = answer.read(apath, offset, nbytes)
                nbytes = result.nbytes
            elif op == "write" or op == "append":
                append = op == "append"
                # the offset from the size the open finds (an append's is that size)
                at = self.offset_at[k] if sized_by_open and not append else None
                result = answer.open_write(apath, offset, nbytes, append=append, at=at)
                offset = result.offset
                if sized_by_open:
                    it.last = (offset, nbytes)
                    sized_by_open = False
            elif op == "stat":
                result = answer.stat(apath)
            elif op == "create":
                result = view.open(path, write=True, create=True, excl=True)
                n = self.sizes[k]() if step.size is not None else 0
                if n:
                    view.write(path, 0, n)
                nbytes = n
            elif op == "open":
                flags = step.flags
                result = view.open(
                    path, write=flags != "r", create=flags in ("w", "a"), trunc=flags == "w"
                )
            elif op == "readdir":
                result = view.readdir(path)
            elif op == "truncate":
                result = view.truncate(path, self.sizes[k]())
            elif op == "chmod":
                result = view.chmod(path, step.mode)
            elif op in ("rename", "link"):
                assert step.to is not None
                target = self.run.fill(step.to, i, thread)
                result = getattr(view, op)(path, target)
            elif op == "symlink":
                assert step.to is not None
                target = self.run.fill(step.to, i, thread)
                result = view.symlink(path, target)
                path = target  # the operation is charged and recorded on the new link
                _, inner, backend, _, storage, separate, *_ = self.locate(path)
            else:  # unlink, mkdir, rmdir, fsync
                result = getattr(view, op)(path)
        except FsError as error:
            outcome = self.code(error.errno)
            result = None
            if sized_by_open:  # the open failed: the offset as a stat before would give it
                it.last = (self._offset_now(step, op, where, nbytes), nbytes)
        if storage < 0:  # the root overlay: image or writable layer, by the result
            if type(result) is Listing:
                storage = self.code(view.storage_of(path, result))
            else:
                storage = self.image_code if _from_image(result) else self.writable_code
        lost = 0
        torn = False
        stale = False
        ok = result is not None
        if ok and data:
            if op == "read":
                version_before = tracker.version(file_key) if separate else 0
            elif op == "write":
                if separate:
                    # only independent clients of a distributed mount tear each other's
                    # writes (one kernel serialises writes to a file): only they register
                    torn = tracker.start_write(file_key, self.run.name, offset, nbytes, shared=True)
                else:
                    tracker.touch(file_key)
            elif op == "append":
                token = tracker.start_append(file_key)
        cost = backend.charge(self.costs[k], inner, result, nbytes, offset)
        if type(cost) is float:  # CPU time only, the common case: one timeout
            served = None
            yield env.timeout(cost)
        else:  # a generator: it returns the file version it served (None: the latest)
            served = yield from cost
        if ok and data:
            if op == "read":
                # stale: older than what was committed before the read began (a commit
                # that lands while the reply is on its way is concurrent, not stale)
                stale = served is not None and served < version_before
                if self.feeds_write[k]:  # a later write of this iteration may use it
                    seen = it.seen
                    if seen is None:
                        seen = it.seen = {}
                    value = tracker.read(file_key, offset, nbytes, served)
                    seen[(file_key, offset, nbytes)] = value
                else:  # nothing to remember, but the file is known from now on
                    tracker.touch(file_key)
            elif op == "write":
                if separate:
                    tracker.end_write(file_key, self.run.name, offset, nbytes)
                last = it.seen.pop((file_key, offset, nbytes), None) if it.seen else None
                lost = tracker.commit(file_key, offset, nbytes, last)
                if separate:
                    backend.committed(inner, tracker.version(file_key))
            else:
                # O_APPEND is atomic on one kernel; an NFS client only emulates it [K7]
                mode = "racy" if not self.spec.o_append else "per_client" if separate else "atomic"
                torn = tracker.end_append(file_key, self.run.name, token, mode=mode)
                if separate:
                    backend.committed(inner, tracker.version(file_key))
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
        self.record(
            t_start=t_start,
            t_end=env.now,
            source=self.source,
            op=self.op_codes[k],
            path=path,
            storage=storage,
            nbytes=nbytes,
            outcome=outcome,
            copied_up=copied,
            copy_up_bytes=copy_bytes,
            layers_visited=visited,
            lost_updates=lost,
            torn=torn,
            stale=stale,
        )
        return True

    def _offset_now(self, step: Step, op: str, where: _Where, nbytes: int) -> int:
        """The offset of a data step, from the file's size now (0 if it cannot be had)."""
        try:
            size = where.answer.stat(where.apath).size_bytes
        except FsError:
            size = 0
        return size if op == "append" else self._offset(step, size, nbytes, write=op != "read")

    def _offset(self, step: Step, size: int, n: int, *, write: bool = True) -> int:
        spec = step.offset
        if spec == "random" or spec == "same":  # a random record, aligned to its size
            span = size - n if size > n else 0
            align = n if 0 < n < 4096 else (4096 if n else 1)  # min(n, 4 KiB), at least 1
            return int(self.rand.uniform() * (span // align + 1)) * align
        if spec == "start":
            return 0
        if spec == "end":
            return size if write else max(size - n, 0)
        return int(spec)


class _Iteration:
    """State of one iteration: what it read, its last byte range, the lock it holds."""

    __slots__ = ("last", "lock", "lock_failed", "seen")

    def __init__(self) -> None:
        # values read per (file, offset, nbytes), for read-modify-writes; made at first read
        self.seen: dict[tuple[object, int, int], int] | None = None
        self.last: tuple[int, int] | None = None
        self.lock: tuple[Slots, Any] | None = None
        self.lock_failed = False


def _from_image(result: Any) -> bool:
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


def start_workload(
    ctx: SimContext, run: ContainerRun, spec: WorkloadSpec, index: int, rng: np.random.Generator
) -> None:
    """Start the processes of one workload in one container run."""
    workload = _Workload(ctx, run, spec, index, rng)
    if spec.rate is not None:
        ctx.env.process(workload.open_loop())
    else:
        for thread in range(spec.threads or 1):
            ctx.env.process(workload.closed_loop(thread))
