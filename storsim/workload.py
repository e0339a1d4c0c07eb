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
import fnmatch
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import simpy

from storsim.backends import ProcessGen
from storsim.context import SimContext
from storsim.fs import ContainerView, FsError
from storsim.scenario import SizeSpec, Step, WorkloadSpec

__all__ = ["ContainerRun", "RandomStream", "size_sampler", "start_workload", "visible_files"]

_GLOB = re.compile(r"[*?\[]")
_BLOCK = 4096


class RandomStream:
    """Uniform and exponential draws taken from numpy in blocks.

    One numpy call per 4096 draws instead of one per draw: per-draw calls into numpy
    cost more than the rest of a simulated operation.
    """

    __slots__ = ("_exp", "_ie", "_iu", "_rng", "_uni")

    def __init__(self, rng: np.random.Generator) -> None:
        self._rng = rng
        self._uni = rng.random(_BLOCK).tolist()
        self._exp = rng.standard_exponential(_BLOCK).tolist()
        self._iu = 0
        self._ie = 0

    def uniform(self) -> float:
        """A draw from U[0, 1)."""
        if self._iu == _BLOCK:
            self._uni = self._rng.random(_BLOCK).tolist()
            self._iu = 0
        value: float = self._uni[self._iu]
        self._iu += 1
        return value

    def exponential(self) -> float:
        """A draw from Exp(1)."""
        if self._ie == _BLOCK:
            self._exp = self._rng.standard_exponential(_BLOCK).tolist()
            self._ie = 0
        value: float = self._exp[self._ie]
        self._ie += 1
        return value


def size_sampler(
    spec: SizeSpec | None, rng: np.random.Generator, default: int
) -> Callable[[], int]:
    """A function that draws sizes in bytes from ``spec`` (``default`` when it is None)."""
    if spec is None:
        return lambda: default
    if spec.dist == "fixed":
        size = spec.size
        return lambda: size
    buffer: list[int] = []

    def refill() -> None:
        if spec.dist == "lognormal":
            draws = spec.median * np.exp(spec.sigma * rng.standard_normal(_BLOCK))
        elif spec.dist == "uniform":
            draws = rng.integers(spec.min, spec.max + 1, _BLOCK)
        else:
            draws = rng.exponential(spec.mean, _BLOCK)
        buffer.extend(np.maximum(np.rint(draws), 0).astype(np.int64)[::-1].tolist())

    def draw() -> int:
        if not buffer:
            refill()
        return buffer.pop()

    return draw


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

    __slots__ = ("_cdf", "_pattern", "_pick", "_rand", "_run", "_seq")

    def __init__(self, pattern: str, spec: WorkloadSpec, run: ContainerRun, rand: RandomStream):
        self._pattern = pattern
        self._pick = spec.pick
        self._rand = rand
        self._run = run
        self._seq = 0
        self._cdf: list[float] | None = None
        if _GLOB.search(pattern) and spec.pick == "zipf":
            n = len(run.matches(pattern))
            weights = 1.0 / np.arange(1, n + 1, dtype=float) ** spec.zipf_s
            self._cdf = (np.cumsum(weights) / weights.sum()).tolist()

    def choose(self, iteration: int, thread: int) -> str | None:
        pattern = self._pattern
        if "{" in pattern:
            return self._run.fill(pattern, iteration, thread)
        if not _GLOB.search(pattern):
            return pattern
        candidates = self._run.matches(pattern)
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
        for k, step in enumerate(self.spec.ops):
            if not self.run.running or self.run.generation != self.generation:
                break
            chooser = self.step_paths[k]
            path = chooser.choose(i, thread) if chooser is not None else default
            if path is None:  # a glob that matches nothing: nothing to operate on
                continue
            go_on = yield from self.operate(step, path, k, i, thread, it)
            if not go_on:
                break
            if step.think:
                yield self.env.timeout(step.think)
        if it.lock is not None:
            yield from self.unlock(it)

    # --- locks -------------------------------------------------------------------------

    def lock(self, it: _Iteration, path: str, offset: int, nbytes: int) -> Any:
        """Take the workload's lock on ``path`` before the iteration's first data step.

        Returns:
            False if the lock cannot be taken (the mount refuses locks): the iteration
            is abandoned, as an application whose lock call fails abandons its update.
        """
        env, run = self.env, self.run
        mount, inner = run.view.resolve(path)
        target = mount.target if mount is not None else None
        backend = run.backends[target]
        file_key = (id(mount.fs) if mount is not None else id(run.view.root), inner)
        semantics = backend.lock_semantics
        storage = mount.storage if mount is not None else "writable_layer"
        t0 = env.now
        if semantics == "none":
            yield from backend.lock_cost()
            self._record(t0, "lock", path, storage, 0, "ENOLCK", None, 0, False, False, 0.0)
            return False
        if semantics == "local":  # emulated on the client: excludes only this container
            scope: tuple[object, ...] = ("client", run.name, file_key)
        else:  # one kernel (host), or the server's lock manager (nlm, brl)
            scope = ("shared", file_key)
        key = (*scope, "file") if self.spec.lock == "flock" else (*scope, offset, nbytes)
        yield from backend.lock_cost()
        resource = self.ctx.tracker.lock(key)
        request = resource.request()
        waited_from = env.now
        yield request
        wait = env.now - waited_from
        it.lock = (resource, request, backend)
        if semantics in ("nlm", "brl"):
            backend.revalidate(inner)  # a lock makes the NFS client revalidate its cache
        self._record(t0, "lock", path, storage, 0, "ok", None, 0, False, False, wait)
        return True

    def unlock(self, it: _Iteration) -> ProcessGen:
        assert it.lock is not None
        resource, request, backend = it.lock
        it.lock = None
        resource.release(request)
        yield from backend.lock_cost()

    # --- one operation -----------------------------------------------------------------

    def operate(self, step: Step, path: str, k: int, i: int, thread: int, it: _Iteration) -> Any:
        """Decide, time and record one operation; returns False to abandon the iteration."""
        env = self.env
        run = self.run
        view = run.view
        op = step.op
        nbytes = 0
        offset = 0
        result: Any = None
        outcome = "ok"
        target = path
        tracker = self.ctx.tracker
        mount, inner = view.resolve(path)
        storage_fs = mount.fs if mount is not None else view.root
        file_key = (id(storage_fs), inner)
        data = op in ("read", "write", "append")
        if data:
            try:
                size = view.stat(path).size_bytes
            except FsError:
                size = 0
            if step.offset == "same" and it.last is not None:
                offset, nbytes = it.last
            elif op == "append":
                nbytes = self.sizes[k]()
                offset = size
            else:
                nbytes = self.sizes[k]()
                offset = self._offset(step, size, nbytes, write=op != "read")
            if self.spec.lock != "none" and it.lock is None and not it.lock_failed:
                ok = yield from self.lock(it, path, offset, nbytes)
                if not ok:
                    it.lock_failed = True
                    return False
            it.last = (offset, nbytes)
        t_start = env.now
        try:
            if op == "read":
                result = view.read(path, offset, nbytes)
                nbytes = result.nbytes
            elif op == "write":
                opened = view.open(path, write=True, create=True)
                result = _merge(opened, view.write(path, offset, nbytes))
            elif op == "append":
                opened = view.open(path, write=True, create=True)
                offset = opened.size_bytes
                result = _merge(opened, view.append(path, nbytes))
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
            elif op == "stat":
                result = view.stat(path)
            elif op == "readdir":
                result = view.readdir(path)
            elif op == "truncate":
                result = view.truncate(path, self.sizes[k]())
            elif op == "chmod":
                result = view.chmod(path, step.mode)
            elif op in ("rename", "link"):
                assert step.to is not None
                target = run.fill(step.to, i, thread)
                result = getattr(view, op)(path, target)
            elif op == "symlink":
                assert step.to is not None
                target = run.fill(step.to, i, thread)
                result = view.symlink(path, target)
                path = target
                mount, inner = view.resolve(path)
            else:  # unlink, mkdir, rmdir, fsync
                result = getattr(view, op)(path)
        except FsError as error:
            outcome = error.errno
            result = None
        backend = run.backends[mount.target if mount is not None else None]
        storage = view.storage_of(path, result)
        lost = 0
        torn = False
        stale = False
        remote = storage == "distributed_bind"
        ok = result is not None
        version_before = tracker.version(file_key)
        if ok and op == "write":
            torn = tracker.start_write(file_key, run.name, offset, nbytes, shared=remote)
        elif ok and op == "append":
            token = tracker.start_append(file_key)
        if remote:
            served = yield from backend.charge(
                op, inner, result, nbytes, offset, keep_open=self.spec.keep_open
            )
        else:
            served = None
            yield from backend.charge(op, inner, result, nbytes, offset)
        if ok and op == "read":
            # stale: older than what was committed before the read began (a commit that
            # lands while the reply is on its way is concurrent, not stale)
            stale = served is not None and served < version_before
            it.seen[(file_key, offset, nbytes)] = tracker.read(file_key, offset, nbytes, served)
        elif ok and op == "write":
            tracker.end_write(file_key, run.name, offset, nbytes)
            seen = it.seen.pop((file_key, offset, nbytes), None)
            lost = tracker.commit(file_key, offset, nbytes, seen)
            if remote:
                backend.wrote(inner, tracker.version(file_key))
        elif ok and op == "append":
            # O_APPEND is atomic on one kernel; an NFS client only emulates it [K7]
            mode = "racy" if not self.spec.o_append else "per_client" if remote else "atomic"
            torn = tracker.end_append(file_key, run.name, token, mode=mode)
            if remote:
                backend.wrote(inner, tracker.version(file_key))
        self._record(t_start, op, path, storage, nbytes, outcome, result, lost, torn, stale, 0.0)
        return True

    def _record(
        self,
        t_start: float,
        op: str,
        path: str,
        storage: str,
        nbytes: int,
        outcome: str,
        result: Any,
        lost: int,
        torn: bool,
        stale: bool,
        lock_wait_s: float,
    ) -> None:
        copy_bytes = getattr(result, "copy_up_bytes", 0) or 0
        copied = bool(getattr(result, "copied_up", False) or copy_bytes)
        visited = getattr(result, "layers_visited", 0) or 0
        self.ctx.recorder.io(
            t_start,
            self.env.now,
            self.run.name,
            self.run.service,
            self.name,
            op,
            path,
            storage,
            nbytes,
            outcome,
            copied,
            copy_bytes,
            visited,
            lost,
            torn,
            stale,
            lock_wait_s,
        )

    def _offset(self, step: Step, size: int, n: int, *, write: bool) -> int:
        spec = step.offset
        if spec == "start":
            return 0
        if spec == "end":
            return size if write else max(size - n, 0)
        if spec in ("random", "same"):
            span = max(size - n, 0)
            align = max(min(n, 4096), 1)
            return int(self.rand.uniform() * (span // align + 1)) * align
        return int(spec)


@dataclass(slots=True)
class _Iteration:
    """State of one iteration: what it read, its last byte range, the lock it holds."""

    seen: dict[tuple[object, int, int], int] = field(default_factory=dict)
    last: tuple[int, int] | None = None
    lock: tuple[simpy.Resource, Any, Any] | None = None
    lock_failed: bool = False


@dataclass(frozen=True, slots=True)
class _Merged:
    """An open followed by a write, seen as one operation by the backend and records."""

    kind: str
    size_bytes: int
    layer: int
    layers_visited: int
    copy_up_bytes: int
    copied_up: bool
    source_layer: int


def _merge(opened: Any, written: Any) -> _Merged:
    copy = (opened.copy_up_bytes or 0) + (getattr(written, "copy_up_bytes", 0) or 0)
    return _Merged(
        kind="file",
        size_bytes=getattr(written, "size_bytes", opened.size_bytes),
        layer=0,
        layers_visited=opened.layers_visited,
        copy_up_bytes=copy,
        copied_up=bool(opened.copied_up or copy),
        source_layer=getattr(opened, "source_layer", opened.layer) or 1,
    )


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
