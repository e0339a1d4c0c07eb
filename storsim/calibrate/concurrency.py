"""Concurrent writers on one file: lost updates, lock waits, overwritten appends.

Like several clerks updating one ledger: if each reads a balance, adds one and writes it
back without holding the book, two who read the same balance lose one update; holding
the book (``flock``) loses none but makes the others wait. Appending clerks who each
look for the last line (``lseek(SEEK_END)``) and then write may both write on the same
line (a lost record); ``O_APPEND`` makes finding the end and writing one step (the
inode lock; a write of a regular file on a local file system is never torn).

- ``rmw``: K processes each do ``cycles`` read-modify-write cycles (``pread`` 8 bytes,
  add one, ``pwrite``) on a record chosen at random among ``records`` records of one
  file, unlocked or holding ``flock(LOCK_EX)`` for each cycle. Counted per repetition:
  ``lost_updates`` = K x cycles - the sum of the records. Samples: the cycle times;
  ``parts_s.lock_wait_s``: the time ``flock`` took.
- ``append_race``: K processes each append ``appends`` 64-byte records, with
  ``O_APPEND`` or with ``lseek(SEEK_END)`` + ``write``. Counted: ``overwritten``
  (records missing from the file) and ``torn`` (64-byte slots that are no whole record).

The processes are forked (no interpreter start-up inside the timing), start together
at a barrier, and die with the parent (``PR_SET_PDEATHSIG``).
"""

from __future__ import annotations

import fcntl
import multiprocessing
import os
import random
import signal
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from multiprocessing.synchronize import Barrier
from pathlib import Path
from typing import Any

from storsim.calibrate import system
from storsim.calibrate.context import Context, seconds
from storsim.calibrate.schema import Experiment, Point

__all__ = ["RECORD_BYTES", "append_race", "count_records", "rmw", "run_appenders", "run_rmw"]

RECORD_BYTES = 64
_COUNTER = 8  # bytes of the counter at the start of each record
_FORK = multiprocessing.get_context("fork")


def _child_setup() -> None:
    # The parent's handlers raise Interrupted; a child just dies with its parent.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGHUP, signal.SIG_DFL)
    system.kill_with_parent()


def _rmw_worker(
    path: str,
    records: int,
    cycles: int,
    locked: bool,
    seed: int,
    barrier: Barrier,
    conn: Connection,
) -> None:
    _child_setup()
    clock = time.perf_counter_ns
    rng = random.Random(seed)
    choice = [rng.randrange(records) * RECORD_BYTES for _ in range(cycles)]
    fd = os.open(path, os.O_RDWR)  # its own open file description: flock excludes others
    waits: list[int] = []
    times: list[int] = []
    barrier.wait()
    for offset in choice:
        t0 = clock()
        if locked:
            fcntl.flock(fd, fcntl.LOCK_EX)
            waits.append(clock() - t0)
        value = int.from_bytes(os.pread(fd, _COUNTER, offset), "little")
        os.pwrite(fd, (value + 1).to_bytes(_COUNTER, "little"), offset)
        if locked:
            fcntl.flock(fd, fcntl.LOCK_UN)
        times.append(clock() - t0)
    os.close(fd)
    conn.send((times, waits))
    conn.close()


def _append_worker(
    path: str, writer: int, appends: int, mode: str, barrier: Barrier, conn: Connection
) -> None:
    _child_setup()
    clock = time.perf_counter_ns
    records = [_record(writer, i) for i in range(appends)]
    flags = os.O_WRONLY | (os.O_APPEND if mode == "o_append" else 0)
    fd = os.open(path, flags)
    times: list[int] = []
    barrier.wait()
    for record in records:
        t0 = clock()
        if mode == "lseek_write":
            os.lseek(fd, 0, os.SEEK_END)
        os.write(fd, record)
        times.append(clock() - t0)
    os.close(fd)
    conn.send((times, []))
    conn.close()


def _record(writer: int, index: int) -> bytes:
    body = f"w{writer:03d} r{index:08d} "
    checksum = sum(body.encode()) % 10_000
    text = f"{body}c{checksum:04d}".ljust(RECORD_BYTES - 1, ".") + "\n"
    return text.encode()


def count_records(data: bytes) -> tuple[set[tuple[int, int]], int]:
    """Parse an append file into 64-byte slots.

    Returns:
        (the distinct (writer, index) records found whole, the number of slots that
        are not a whole record: torn).
    """
    found: set[tuple[int, int]] = set()
    torn = 0
    for start in range(0, len(data), RECORD_BYTES):
        slot = data[start : start + RECORD_BYTES]
        try:
            text = slot.decode()
            body, checksum = text[:15], int(text[16:20])
            writer, index = int(text[1:4]), int(text[6:14])
            ok = (
                len(slot) == RECORD_BYTES
                and text[15] == "c"
                and sum(body.encode()) % 10_000 == checksum
                and slot == _record(writer, index)
            )
        except (UnicodeDecodeError, ValueError):
            ok = False
        if ok:
            found.add((writer, index))
        else:
            torn += 1
    return found, torn


def _run_group(
    ctx: Context, target: Callable[..., None], args_of: Callable[[int], tuple[Any, ...]], k: int
) -> list[tuple[list[int], list[int]]]:
    """Fork ``k`` workers, start them together, collect what each sends back."""
    barrier = _FORK.Barrier(k)
    pipes = [_FORK.Pipe(duplex=False) for _ in range(k)]
    procs = [
        _FORK.Process(target=target, args=(*args_of(i), barrier, pipes[i][1]), daemon=True)
        for i in range(k)
    ]
    for proc in procs:
        ctx.ws.track(proc)
        proc.start()
    results = []
    try:
        for (reader, writer), proc in zip(pipes, procs, strict=True):
            writer.close()
            results.append(reader.recv())
            proc.join()
            if proc.exitcode != 0:
                raise RuntimeError(f"a writer process failed (exit code {proc.exitcode})")
    finally:
        for proc in procs:
            if proc.is_alive():
                proc.kill()
                proc.join()
            ctx.ws.untrack(proc)
    return results


def run_rmw(
    ctx: Context, path: Path, writers: int, locked: bool, cycles: int, records: int, seed: int
) -> tuple[int, list[int], list[int]]:
    """One repetition of the read-modify-write race.

    Returns:
        (lost updates, cycle times in ns, lock waits in ns).
    """
    with open(path, "wb") as handle:
        handle.write(bytes(records * RECORD_BYTES))
    results = _run_group(
        ctx, _rmw_worker, lambda i: (str(path), records, cycles, locked, seed * 100 + i), writers
    )
    data = path.read_bytes()
    total = sum(
        int.from_bytes(data[r * RECORD_BYTES : r * RECORD_BYTES + _COUNTER], "little")
        for r in range(records)
    )
    times = [t for result in results for t in result[0]]
    waits = [w for result in results for w in result[1]]
    return writers * cycles - total, times, waits


def run_appenders(
    ctx: Context, path: Path, writers: int, mode: str, appends: int
) -> tuple[int, int, list[int]]:
    """One repetition of the append race.

    Returns:
        (records overwritten, slots torn, append times in ns).
    """
    path.write_bytes(b"")
    results = _run_group(ctx, _append_worker, lambda i: (str(path), i, appends, mode), writers)
    found, torn = count_records(path.read_bytes())
    times = [t for result in results for t in result[0]]
    return writers * appends - len(found), torn, times


def rmw(ctx: Context) -> Experiment:
    """K processes racing read-modify-write cycles on records of one file, unlocked and locked."""
    start = time.monotonic()
    plan = ctx.plan
    path = ctx.scratch("rmw") / "records"
    points = []
    for writers in plan.writers:
        for locking in ("none", "flock"):
            lost, times, waits = [], [], []
            for rep in range(plan.reps):
                ctx.progress.step(f"{writers} writers, lock {locking}, repetition {rep + 1}")
                n, t, w = run_rmw(
                    ctx, path, writers, locking == "flock", plan.rmw_cycles, plan.rmw_records,
                    ctx.seed + rep,
                )  # fmt: skip
                lost.append(n)
                times.extend(t)
                waits.extend(w)
            points.append(
                Point(
                    params={
                        "writers": writers,
                        "locking": locking,
                        "cycles_per_writer": plan.rmw_cycles,
                        "records": plan.rmw_records,
                    },
                    samples_s=seconds(times),
                    parts_s={"lock_wait_s": seconds(waits)} if waits else {},
                    counts={
                        "lost_updates": lost,
                        "expected_updates": [writers * plan.rmw_cycles] * plan.reps,
                    },
                )
            )
    return Experiment(
        name="rmw",
        description="writers processes, each cycles_per_writer cycles of pread + 1 + pwrite "
        "of an 8-byte counter in one of records 64-byte records of one file; lost_updates "
        "per repetition; samples are cycle times, lock_wait_s the flock(LOCK_EX) times",
        where=f"{path.parent} ({ctx.backing_fs_type})",
        cold=None,
        duration_s=time.monotonic() - start,
        points=points,
    )


def append_race(ctx: Context) -> Experiment:
    """K processes appending records with O_APPEND against lseek(SEEK_END) + write."""
    start = time.monotonic()
    plan = ctx.plan
    path = ctx.scratch("append_race") / "log"
    points = []
    for writers in [k for k in plan.writers if k >= 2] or [2]:
        for mode in ("o_append", "lseek_write"):
            overwritten, torn, times = [], [], []
            for rep in range(plan.reps):
                ctx.progress.step(f"{writers} writers, {mode}, repetition {rep + 1}")
                o, t, lat = run_appenders(ctx, path, writers, mode, plan.appends)
                overwritten.append(o)
                torn.append(t)
                times.extend(lat)
            points.append(
                Point(
                    params={
                        "writers": writers,
                        "mode": mode,
                        "appends_per_writer": plan.appends,
                        "record_bytes": RECORD_BYTES,
                    },
                    samples_s=seconds(times),
                    counts={
                        "overwritten": overwritten,
                        "torn": torn,
                        "expected_records": [writers * plan.appends] * plan.reps,
                    },
                )
            )
    return Experiment(
        name="append_race",
        description="writers processes each append appends_per_writer records of "
        "record_bytes with O_APPEND (mode o_append) or lseek(SEEK_END) + write "
        "(lseek_write); overwritten = records missing, torn = slots that are no whole record",
        where=f"{path.parent} ({ctx.backing_fs_type})",
        cold=None,
        duration_s=time.monotonic() - start,
        points=points,
    )
