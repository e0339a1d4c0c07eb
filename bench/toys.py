"""Toy models: what a user would write in plain SimPy instead of storsim.

Like a back-of-the-envelope sum next to the accountant's ledger: each toy models the
same workload as one of the benchmark's storsim scenarios (same threads, same operation
count, the same SSD's figures [X2]), the way an idiomatic SimPy user would in an
afternoon: a ``simpy.Resource`` for the disk, a dict for the page cache, one timeout per
operation, a whole-file copy on the first write. None of storsim's semantics is here
(no path resolution through layers, no dentry or page-cache accounting by page, no
conflict tracking, no per-operation record beyond a counter), so the ratio
storsim / toy is the price of those semantics, and of whatever is not semantics.

Each toy returns the operations it simulated, counted as storsim counts its rows.

One more model sits between the copy-up toy and storsim: :func:`copyup_floor`, the toy
with the two pieces of storsim's machinery no design of it can drop, and nothing else
of it: every operation's CPU part a burst on the host's cores (storsim's own CPU
station, 2 cores for the 8 threads) and a row recorded per operation. What storsim
costs above the floor is its semantics and the bookkeeping of an operation
(``python bench/opcodes.py --parts`` splits it).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Generator
from typing import Any

import simpy

__all__ = ["FLOORS", "TOYS", "copyup_floor", "copyup_toy", "lookup_toy", "rmw_toy"]

# The SSD of the benchmark's scenarios ([X2]: storsim.devices.profiles "ssd").
READ_S = 100e-6  # a 4 KiB random read at QD1
WRITE_S = 25e-6  # a 4 KiB random write at QD1
FLUSH_S = 300e-6  # a sync
READ_BPS = 540e6
WRITE_BPS = 520e6
QUEUE_DEPTH = 10  # requests the flash serves at once
SYSCALL_S = 2e-6  # the CPU part of a cached operation
KIB = 1024

Proc = Generator[simpy.Event, Any, None]


def lookup_toy(ops: int, shape: int | None = None, seed: int = 1, layers: int = 80) -> int:
    """Stat then read 4 KiB of random files of an image of ``layers`` layers, with as
    many files as the benchmark's scenario for ``shape`` operations (default: ``ops``).

    The first lookup of a file searches the layers (one metadata read per layer above
    the file's, on the disk); later ones hit a dentry dict. A read hits a page-cache
    set or reads from the disk.
    """
    per_layer = max((shape or ops) // 5_000, 1)  # as bench/run.py's lookup_scenario
    rng = random.Random(seed)
    env = simpy.Environment()
    disk = simpy.Resource(env, capacity=QUEUE_DEPTH)
    files = [(layer, i) for layer in range(layers) for i in range(per_layer)]
    dentries: set[tuple[int, int]] = set()
    cached: set[tuple[int, int]] = set()
    done = 0

    def thread() -> Proc:
        nonlocal done
        for _ in range(ops // 16):  # 2 replicas x 4 threads, two operations per loop
            path = rng.choice(files)
            if path in dentries:  # stat: a warm lookup
                yield env.timeout(SYSCALL_S)
            else:  # a cold one: the layers above the file's are searched on disk
                with disk.request() as request:
                    yield request
                    yield env.timeout(READ_S * (layers - path[0]) / layers)
                dentries.add(path)
            if path in cached:  # read: from the page cache
                yield env.timeout(SYSCALL_S + 4 * KIB / 10e9)
            else:
                with disk.request() as request:
                    yield request
                    yield env.timeout(READ_S)
                cached.add(path)
            done += 2

    for _ in range(8):
        env.process(thread())
    env.run()
    return done


def copyup_toy(ops: int, shape: int | None = None, seed: int = 2) -> int:
    """4 KiB writes to random files of a lower layer, from two containers (as many
    files as the benchmark's scenario for ``shape`` operations, default ``ops``).

    A container's first write to a file copies the whole file up (read it, write and
    sync the copy: one disk request); every write then costs one timeout in the page
    cache.
    """
    files = max((shape or ops) // 20, 1)  # as bench/run.py's copyup_scenario
    rng = random.Random(seed)
    env = simpy.Environment()
    disk = simpy.Resource(env, capacity=QUEUE_DEPTH)
    sizes = [rng.lognormvariate(0, 1) * 16 * KIB for _ in range(files)]
    done = 0

    def thread(copied: set[int]) -> Proc:
        nonlocal done
        for _ in range(ops // 8):  # 2 containers x 4 threads
            f = rng.randrange(files)
            if f not in copied:  # copy-up: read the lower file, write and sync the copy
                copied.add(f)
                with disk.request() as request:
                    yield request
                    size = sizes[f]
                    yield env.timeout(
                        READ_S + size / READ_BPS + WRITE_S + size / WRITE_BPS + FLUSH_S
                    )
            yield env.timeout(SYSCALL_S + 4 * KIB / 10e9)  # a buffered write
            done += 1

    for _ in range(2):
        copied: set[int] = set()  # each container's upper layer
        for _ in range(4):
            env.process(thread(copied))
    env.run()
    return done


def copyup_floor(ops: int, shape: int | None = None, seed: int = 2, cores: int = 2) -> int:
    """:func:`copyup_toy` with storsim's CPU model and a record per operation: each
    write's CPU part is a burst on ``cores`` cores (``storsim.devices.station.Station``,
    as ``HostCpu.compute`` serves it, the threads run as storsim's workload processes
    run and the loop steps as ``storsim.simulate``'s does), and each write appends a
    row of storsim's sixteen fields to a list. Everything else is the toy's."""
    from storsim.devices.station import Station  # storsim's own machinery, as it runs
    from storsim.guard import STEPS_PER_LOOK, _slice
    from storsim.run.workload import _Thread

    files = max((shape or ops) // 20, 1)
    rng = random.Random(seed)
    env = simpy.Environment()
    disk = simpy.Resource(env, capacity=QUEUE_DEPTH)
    compute = Station(env, cores).timed
    sizes = [rng.lognormvariate(0, 1) * 16 * KIB for _ in range(files)]
    rows: list[tuple[Any, ...]] = []
    row = rows.append
    done = 0

    def thread(copied: set[int]) -> Proc:
        nonlocal done
        for _ in range(ops // 8):
            f = rng.randrange(files)
            t_start = env.now
            if f not in copied:  # copy-up: read the lower file, write and sync the copy
                copied.add(f)
                with disk.request() as request:
                    yield request
                    size = sizes[f]
                    yield env.timeout(
                        READ_S + size / READ_BPS + WRITE_S + size / WRITE_BPS + FLUSH_S
                    )
            yield compute(SYSCALL_S + 4 * KIB / 10e9)  # a buffered write, on a core
            row((t_start, env.now, 0, 1, f, 1, 4 * KIB, True, False, 0, 0, 0, 0, False, False, 0.0))
            done += 1

    for _ in range(2):
        copied: set[int] = set()
        for _ in range(4):
            _Thread(env, thread(copied))
    while _slice(env, None) == STEPS_PER_LOOK:  # storsim's event loop, with no watchdog
        pass
    return done


def rmw_toy(ops: int, shape: int | None = None, seed: int = 3, replicas: int = 8) -> int:
    """Replicas incrementing a record of a shared file under one lock: lock, read,
    think, write, unlock, think; counted as storsim counts it (a read and a write: the
    lock is part of the cycle, not a row). One file at every size (``shape`` is unused)."""
    rng = random.Random(seed)
    env = simpy.Environment()
    lock = simpy.Resource(env, capacity=1)
    disk = simpy.Resource(env, capacity=QUEUE_DEPTH)
    records = 64 // 4  # 4 KiB records of a 64 KiB file
    cached: set[int] = set()
    counters = [0] * records
    done = 0

    def replica() -> Proc:
        nonlocal done
        for _ in range(ops // 3 // replicas):
            with lock.request() as held:
                yield held
                record = rng.randrange(records)
                if record in cached:
                    yield env.timeout(SYSCALL_S)
                else:
                    with disk.request() as request:
                        yield request
                        yield env.timeout(READ_S)
                    cached.add(record)
                value = counters[record]
                yield env.timeout(200e-6)  # think between read and write
                counters[record] = value + 1
                yield env.timeout(SYSCALL_S)  # a buffered write
            done += 2
            yield env.timeout(1e-3)  # think between cycles

    for _ in range(replicas):
        env.process(replica())
    env.run()
    return done


TOYS: dict[str, Callable[[int, int | None], int]] = {
    "lookup": lookup_toy,
    "copyup": copyup_toy,
    "rmw": rmw_toy,
}

# The floors, per workload: for copy-up, the one whose ratio to its toy is the smallest.
FLOORS: dict[str, Callable[[int, int | None], int]] = {"copyup": copyup_floor}
