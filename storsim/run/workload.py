"""Workloads: the processes inside containers that issue file operations.

Like customers arriving at a bank, a workload's iterations arrive either on their own
schedule (open loop: Poisson arrivals at a rate, however busy the tellers are) or from a
fixed number of clerks who each start the next task when the last is done (closed loop:
``threads`` with a think time). Each iteration performs its ``ops`` in order on one
chosen file, so a read-modify-write cycle reads and writes the same file.

Each step of an iteration is an :class:`storsim.run.operation.Operation`, prepared when
the workload starts: decided by the semantic model, charged by the backend of the
storage choice that holds the path, accounted and recorded. This module chooses when
iterations start and which path each one names (an exact path, a glob over the
container's files, or a template).
"""

from __future__ import annotations

import bisect
import dataclasses
import math
import re
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import simpy
from simpy.events import _describe_frame

from storsim.backends import ProcessGen, spend
from storsim.draws import BlockDraws
from storsim.run.context import SimContext
from storsim.run.lean import lean_step
from storsim.run.locks import Locking, unlock
from storsim.run.operation import Iteration, Locator, Operation
from storsim.scenario import SizeSpec, WorkloadSpec

if TYPE_CHECKING:
    from storsim.run.containers import ContainerRun

__all__ = ["RandomStream", "Workload", "size_sampler", "start_workload"]

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


class _Paths:
    """Chooses the path of each iteration from an exact path, a glob or a template."""

    __slots__ = (
        "_candidates", "_cdf", "_kind", "_pattern", "_pick", "_rand", "_run", "_seq", "choose",
    )  # fmt: skip

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
        # choose(iteration, thread): the path of an iteration (None: a glob matched nothing)
        self.choose: Callable[[int, int], str | None] = (
            self._choose_uniform
            if self._kind == "glob" and spec.pick == "uniform"
            else self._choose
        )

    def _choose_uniform(self, iteration: int, thread: int) -> str | None:
        """``_choose`` of a glob picked uniformly at random, made for it (the same draws)."""
        candidates = self._candidates
        if candidates is None:
            candidates = self._candidates = self._run.matches(self._pattern)
        if not candidates:
            return None
        return candidates[int(self._rand.uniform() * len(candidates))]

    def _choose(self, iteration: int, thread: int) -> str | None:
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


class Workload:
    """The running state of one workload in one container run: its steps, prepared as
    :class:`~storsim.run.operation.Operation` objects, and the processes that run them.

    Args:
        ctx: the run's context.
        run: the container run.
        spec: the workload.
        index: its position in the service's list (names an unnamed workload).
        rng: its random generator (arrivals, paths, offsets, sizes).
    """

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
        self.started = 0
        now = self.env.now
        # A workload runs `duration` from its `start`, open or closed loop alike.
        self.deadline = now + spec.duration + spec.start if spec.duration is not None else math.inf
        rec = ctx.recorder
        locate = Locator(run, rec.code)
        source = rec.source(run.name, run.service, self.name)
        locking = Locking(ctx, run.name, spec, source) if spec.lock != "none" else None
        # Whether a write comes after step k: only then is what step k reads remembered
        # (a read-modify-write: the write commits a value computed from it).
        writes = [s.op == "write" for s in spec.ops]
        self.steps = [
            Operation(
                ctx,
                run,
                spec,
                s,
                size=size_sampler(s.size, rng, 4096 if s.op != "truncate" else 0),
                rand=self.rand,
                locate=locate,
                locking=locking,
                source=source,
                feeds_write=any(writes[k + 1 :]),
            )
            for k, s in enumerate(spec.ops)
        ]
        _open_and_close(self.steps, keep_open=spec.keep_open)
        # What iteration() needs of each step, looked up once: it runs every iteration;
        # with the step's lean path (storsim.run.lean), if it has one.
        self._plan = []
        for op, chooser in zip(self.steps, self.step_paths, strict=True):
            lean = lean_step(ctx, op)
            begin, end = (lean.begin, lean.end) if lean is not None else (None, None)
            self._plan.append((op, chooser, op.step.think, begin, end))
        self._compute = ctx.host.cpu.compute

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
        fixed = self.spec.arrivals == "fixed"
        # rate with threads: at most that many iterations in flight (fio's iodepth with
        # rate_iops: a request waits for a free slot, then goes at once)
        slots: simpy.Store | None = None
        if self.spec.threads:  # the free threads' numbers, taken first come, first served
            slots = simpy.Store(env)
            slots.items.extend(range(self.spec.threads))
        while True:
            yield env.timeout(1.0 / rate if fixed else self.rand.exponential() / rate)
            i = self.take()
            if i is None:
                return
            process = env.process(
                self.iteration(i, 0) if slots is None else self._slotted(slots, i)
            )
            process.storsim_workload = self.spec  # type: ignore[attr-defined]  # guard._culprit

    def _slotted(self, slots: simpy.Store, i: int) -> ProcessGen:
        """One open-loop iteration on a free thread (waiting for one if all are busy)."""
        thread = yield slots.get()
        try:
            yield from self.iteration(i, thread)
        finally:
            slots.put(thread)

    def closed_loop(self, thread: int) -> ProcessGen:
        env = self.env
        if self.spec.start:
            yield env.timeout(self.spec.start)
        think = self.spec.think
        exponential = self.spec.think_dist == "exponential"
        # take() and alive() inlined: they run once per iteration (issue 13)
        run = self.run
        generation = self.generation
        deadline = self.deadline
        count = self.spec.count
        # iteration() inlined as well: one generator fewer per iteration, and one level
        # fewer of ``yield from`` at every event of it (the same steps, in the same order)
        plan = self._plan
        compute = self._compute
        default_paths = self.default_paths
        while True:
            if not (run.running and run.generation == generation and env.now < deadline):
                return
            i = self.started
            if count is not None and i >= count:
                return
            self.started = i + 1
            default = default_paths.choose(i, thread) if default_paths else None
            it = Iteration()
            for op, chooser, step_think, begin, end in plan:
                if not run.running or run.generation != generation:
                    break
                path = chooser.choose(i, thread) if chooser is not None else default
                if path is None:  # a glob that matches nothing: nothing to operate on
                    continue
                cost = begin(path, it) if begin is not None else None
                if cost is None:  # the general path (no lean one, or not this time)
                    go_on = yield from op.run(path, i, thread, it)
                    if not go_on:
                        break
                elif type(cost) is float:  # the lean path's common case: one CPU burst
                    yield compute(cost)
                    end(it, None)  # type: ignore[misc]
                else:  # a lean operation that waits or failed: it ends itself
                    go_on = yield from cost
                    if not go_on:  # its lock could not be taken
                        break
                if step_think:
                    yield compute(step_think)
            if it.lock is not None:
                cost = unlock(it)
                if type(cost) is float:
                    yield compute(cost)
                else:
                    yield from spend(self.ctx.host.cpu, cost)
            if think:  # idle between iterations (waiting for a user, a timer): no CPU
                yield env.timeout(think * self.rand.exponential() if exponential else think)

    def iteration(self, i: int, thread: int) -> ProcessGen:
        """One iteration: its steps in order, each step's ``think`` after it, then the
        unlock if it took a lock. A step's ``think`` is the application's computation on
        what the step read (a read-modify-write's modify): it runs on one of the host's
        cores, like the operations' own CPU parts.

        :meth:`closed_loop` runs the same code inlined (keep the two the same)."""
        compute = self._compute
        default = self.default_paths.choose(i, thread) if self.default_paths else None
        it = Iteration()
        run = self.run
        generation = self.generation
        for op, chooser, think, begin, end in self._plan:
            if not run.running or run.generation != generation:
                break
            path = chooser.choose(i, thread) if chooser is not None else default
            if path is None:  # a glob that matches nothing: nothing to operate on
                continue
            cost = begin(path, it) if begin is not None else None
            if cost is None:  # the general path (no lean one, or not this time)
                go_on = yield from op.run(path, i, thread, it)
                if not go_on:
                    break
            elif type(cost) is float:  # the lean path's common case: one CPU burst
                yield compute(cost)
                end(it, None)  # type: ignore[misc]
            else:  # a lean operation that waits (a lock, a device) or failed: it ends itself
                go_on = yield from cost
                if not go_on:  # its lock could not be taken
                    break
            if think:
                yield compute(think)
        if it.lock is not None:
            cost = unlock(it)
            if type(cost) is float:
                yield compute(cost)
            else:
                yield from spend(self.ctx.host.cpu, cost)


def _open_and_close(steps: list[Operation], *, keep_open: bool) -> None:
    """Open each file an iteration works on at its first step on it and close it after
    the last (``OpCost.reopens`` and ``closes``), as an application does: ``open``,
    ``read``, ``write``, ``fsync``, ``close``. Steps name the same file when they give
    the same ``path`` (or none: the workload's). With ``keep_open`` the files stay open
    from one iteration to the next: no step opens or closes one.
    """
    opening = [k for k, op in enumerate(steps) if op.cost.opens]
    for k, op in enumerate(steps):
        if not op.cost.opens:
            continue
        same = [j for j in opening if steps[j].step.path == op.step.path]
        op.cost = dataclasses.replace(
            op.cost,
            reopens=not keep_open and k == same[0],
            closes=not keep_open and k == same[-1],
        )


class _Thread(simpy.Process):
    """A workload's process: ``simpy.Process`` with its resumption made for a process
    that resumes at every event of its operations.

    ``Process._resume`` line for line (the same sends, the same callbacks in the same
    place, the same errors), but for two objects it made at every event and keeps here
    instead: the bound ``generator.send`` and the bound ``_resume`` it appends to the
    next event's callbacks (an interrupt finds the latter by equality, as before).
    """

    def __init__(
        self, env: simpy.Environment, generator: ProcessGen, spec: WorkloadSpec | None = None
    ) -> None:
        super().__init__(env, generator)
        self.storsim_workload = spec  # its workload, for storsim.guard._culprit
        self._send = generator.send
        self._again = self._resume

    def _resume(self, event: simpy.Event) -> None:
        env = self.env
        env._active_proc = self
        send = self._send
        while True:
            try:
                if event._ok:
                    event = send(event._value)
                else:  # as Process._resume: the process handles the failure (or fails)
                    event._defused = True
                    exc = type(event._value)(*event._value.args)
                    exc.__cause__ = event._value
                    event = self._generator.throw(exc)
            except StopIteration as e:
                event = None  # type: ignore[assignment]
                self._ok = True
                self._value = e.args[0] if len(e.args) else None
                env.schedule(self)
                break
            except BaseException as e:
                event = None  # type: ignore[assignment]
                self._ok = False
                e.__traceback__ = e.__traceback__.tb_next  # type: ignore[union-attr]
                self._value = e
                env.schedule(self)
                break
            try:
                callbacks = event.callbacks
            except AttributeError:  # not an event: Process._resume's message
                if hasattr(event, "callbacks"):
                    raise
                descr = _describe_frame(self._generator.gi_frame)  # type: ignore[attr-defined]
                raise RuntimeError(f'\n{descr}Invalid yield value "{event}"') from None
            if callbacks is not None:  # not yet triggered: resume when it is
                callbacks.append(self._again)
                break
        self._target = event
        env._active_proc = None


def start_workload(
    ctx: SimContext, run: ContainerRun, spec: WorkloadSpec, index: int, rng: np.random.Generator
) -> None:
    """Start the processes of one workload in one container run."""
    workload = Workload(ctx, run, spec, index, rng)
    # Each process carries its workload, for the watchdog's message when the clock stops
    # (storsim.guard._culprit; a compiled build's generators have no frame to look in).
    if spec.rate is not None:
        process = ctx.env.process(workload.open_loop())
        process.storsim_workload = spec  # type: ignore[attr-defined]
    else:
        for thread in range(spec.threads or 1):
            _Thread(ctx.env, workload.closed_loop(thread), spec)
