"""Data-path experiments: reads, writes and fsyncs on a plain file system, an overlay's
upper layer (after copy-up) and a tmpfs.

Like timing a courier on the same routes in three cities, the same eight cases run on
each target: small (4 KiB) and large (1 MiB) writes that overwrite allocated blocks or
extend the file (an extending write allocates blocks and updates the size), a 4 KiB
write followed by fsync (overwrite: a data flush; append: a journal commit for the new
size), and 4 KiB and 1 MiB reads of a file in the page cache. All through the page
cache (no O_DIRECT), one process, one I/O at a time (fio's ``psync`` engine, or
``os.pwrite``/``os.preadv`` in Python).

Random offsets are a permutation of the file's blocks (fio's random map: no block twice
in one pass); appends start from an empty file each repetition.
"""

from __future__ import annotations

import os
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from storsim.calibrate import fio as fio_engine
from storsim.calibrate.context import Context, read_file, seconds, write_file
from storsim.calibrate.layers import META_OFF, overlay
from storsim.calibrate.schema import Experiment, Point

__all__ = [
    "CASES",
    "PREPARE_WRITE_BYTES",
    "Case",
    "data_path",
    "data_path_overlay",
    "data_path_tmpfs",
    "run_cases",
]

KiB, MiB = 1024, 1024 * 1024
# The prepared files are written in writes of this size (so cached in folios of it:
# storsim.backends.local.folio_bytes), as ``storsim validate`` simulates them.
PREPARE_WRITE_BYTES = 1 * MiB
_BLOCK = os.urandom(PREPARE_WRITE_BYTES)


@dataclass(frozen=True, slots=True)
class Case:
    """One data-path case.

    Attributes:
        name: its identifier in the measurement file.
        op: ``"write"``, ``"read"`` or ``"fsync"`` (the sample is the fsync; the write
            before it is in ``parts_s["write_s"]``).
        size_bytes: bytes per I/O.
        pattern: ``"overwrite"`` (allocated blocks, random order), ``"append"``
            (extending writes to a new file) or ``"random"`` (reads).
        file: which prepared file it uses (``"small"`` or ``"large"``), or None for
            appends.
    """

    name: str
    op: str
    size_bytes: int
    pattern: str
    file: str | None


CASES = (
    Case("write_small_overwrite", "write", 4 * KiB, "overwrite", "small"),
    Case("write_small_append", "write", 4 * KiB, "append", None),
    Case("write_large_overwrite", "write", 1 * MiB, "overwrite", "large"),
    Case("write_large_append", "write", 1 * MiB, "append", None),
    Case("fsync_small_overwrite", "fsync", 4 * KiB, "overwrite", "small"),
    Case("fsync_small_append", "fsync", 4 * KiB, "append", None),
    Case("read_small_cached", "read", 4 * KiB, "random", "small"),
    Case("read_large_cached", "read", 1 * MiB, "random", "large"),
)


def _ops(ctx: Context, case: Case) -> int:
    """I/Os per repetition."""
    plan = ctx.plan
    if case.op == "fsync":
        total = plan.fsync_ops
    elif case.size_bytes >= MiB:
        total = plan.large_file_bytes // case.size_bytes
    else:
        total = plan.small_ops
    return max(1, total // plan.data_reps)


def _file_sizes(ctx: Context) -> dict[str, int]:
    return {"small": ctx.plan.data_file_bytes, "large": ctx.plan.large_file_bytes}


def prepare_files(directory: Path, sizes: dict[str, int]) -> None:
    """Write the files that overwrites and reads use (allocated, fsynced)."""
    for name, size in sizes.items():
        write_file(directory / f"{name}.dat", size, _BLOCK)


@dataclass(frozen=True, slots=True)
class _Job:
    """One case's I/Os in one repetition."""

    case: Case
    path: Path
    ops: int
    blocks: int  # of the prepared file (0 for appends)
    seed: int


_Outcome = tuple[list[int], list[int], dict[str, Any] | None]


def run_cases(ctx: Context, directory: Path, target: str, fs_type: str) -> list[Point]:
    """Run every case in ``directory`` (its files prepared) with the context's engine.

    Each repetition runs the eight cases in order (one fio run of eight jobs, one after
    the other, or the Python loop); appends go to new files each time.
    """
    sizes = _file_sizes(ctx)
    reps = ctx.plan.data_reps
    collected: dict[str, list[_Outcome]] = {case.name: [] for case in CASES}
    for rep in range(reps):
        ctx.progress.step(f"{target}: repetition {rep + 1}/{reps} ({ctx.engine.name})")
        jobs = []
        for index, case in enumerate(CASES):
            if case.file is not None:
                path = directory / f"{case.file}.dat"
                blocks = sizes[case.file] // case.size_bytes
            else:
                path = directory / f"{case.name}-{rep}.dat"
                os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644))
                blocks = 0
            jobs.append(_Job(case, path, _ops(ctx, case), blocks, ctx.seed + 1000 * index + rep))
        outcomes = _fio_jobs(ctx, jobs) if ctx.engine.name == "fio" else _python_jobs(jobs)
        for job, outcome in zip(jobs, outcomes, strict=True):
            collected[job.case.name].append(outcome)
            if job.case.file is None:
                job.path.unlink()
    points = []
    for case in CASES:
        outcomes = collected[case.name]
        summaries = [o[2] for o in outcomes if o[2] is not None]
        writes = [w for o in outcomes for w in o[1]]
        points.append(
            Point(
                params={
                    "target": target,
                    "fs_type": fs_type,
                    "case": case.name,
                    "op": case.op,
                    "size_bytes": case.size_bytes,
                    "pattern": case.pattern,
                    "file_bytes": sizes[case.file] if case.file else 0,
                    "ops_per_rep": _ops(ctx, case),
                    "reps": reps,
                },
                samples_s=seconds([x for o in outcomes for x in o[0]]),
                parts_s={"write_s": seconds(writes)} if writes else {},
                engine="fio" if ctx.engine.name == "fio" else "python",
                fio={"version": ctx.engine.fio_version, "runs": summaries} if summaries else None,
            )
        )
    return points


def _python_jobs(jobs: list[_Job]) -> list[_Outcome]:
    buffer = bytearray(1 << 20)
    outcomes: list[_Outcome] = []
    for job in jobs:
        if job.case.op == "read":
            read_file(job.path, buffer)  # "cached": every page in memory first
        main, writes = _python_case(job.case, job.path, job.ops, job.blocks, job.seed)
        outcomes.append((main, writes, None))
    return outcomes


def _offsets(ops: int, blocks: int, size: int, seed: int) -> list[int]:
    rng = random.Random(seed)
    order: list[int] = []
    while len(order) < ops:  # a permutation per pass, as fio's random map gives
        chunk = list(range(blocks))
        rng.shuffle(chunk)
        order.extend(chunk)
    return [b * size for b in order[:ops]]


def _python_case(
    case: Case, path: Path, ops: int, blocks: int, seed: int
) -> tuple[list[int], list[int]]:
    """Time ``ops`` I/Os of ``case`` on ``path`` one by one (nanoseconds)."""
    data = _BLOCK[: case.size_bytes]
    clock = time.perf_counter_ns
    main: list[int] = []
    writes: list[int] = []
    if case.op == "read":
        buffer = bytearray(case.size_bytes)
        fd = os.open(path, os.O_RDONLY)
        try:
            for offset in _offsets(ops, blocks, case.size_bytes, seed):
                t0 = clock()
                os.preadv(fd, [buffer], offset)
                main.append(clock() - t0)
        finally:
            os.close(fd)
        return main, writes
    if case.pattern == "append":
        offsets = [i * case.size_bytes for i in range(ops)]
    else:
        offsets = _offsets(ops, blocks, case.size_bytes, seed)
    fd = os.open(path, os.O_WRONLY)
    try:
        for offset in offsets:
            t0 = clock()
            os.pwrite(fd, data, offset)
            t1 = clock()
            if case.op == "fsync":
                os.fsync(fd)
                t2 = clock()
                writes.append(t1 - t0)
                main.append(t2 - t1)
            else:
                main.append(t1 - t0)
    finally:
        os.close(fd)
    return main, writes


def _fio_jobs(ctx: Context, jobs: list[_Job]) -> list[_Outcome]:
    """The same I/Os through one fio run: one job per case, each after the previous."""
    assert ctx.engine.fio is not None
    buffer = bytearray(1 << 20)
    for job in jobs:
        if job.case.op == "read":
            read_file(job.path, buffer)  # the write jobs before it keep its pages cached
    args = [
        "--ioengine=psync",
        "--direct=0",
        "--invalidate=0",  # keep the page cache: fio drops a file's pages by default
        "--fallocate=none",
        "--wait_for_previous",  # one job at a time, in order
    ]
    for job in jobs:
        case = job.case
        args += [
            f"--name={case.name}",
            f"--filename={job.path}",
            f"--bs={case.size_bytes}",
            f"--randseed={job.seed}",
        ]
        if case.pattern == "append":
            args += ["--rw=write", "--file_append=1", f"--size={job.ops * case.size_bytes}"]
        else:
            rw = "randread" if case.op == "read" else "randwrite"
            args += [
                f"--rw={rw}",
                f"--size={job.blocks * case.size_bytes}",
                f"--number_ios={job.ops}",
            ]
        if case.op == "fsync":
            args.append("--fsync=1")
    doc = fio_engine.run_fio(ctx.ws, ctx.engine.fio, args, ctx.ws.root / "fio.json")
    by_name = {job_doc.get("jobname"): job_doc for job_doc in doc.get("jobs", [])}
    outcomes: list[_Outcome] = []
    for job in jobs:
        job_doc = by_name.get(job.case.name)
        if job_doc is None:
            raise fio_engine.FioError(f"fio's output has no job {job.case.name}")
        section = "read" if job.case.op == "read" else "write"
        done, summary = fio_engine.fio_samples(job_doc, section)
        if job.case.op != "fsync":
            outcomes.append((done, [], {section: summary}))
        else:
            syncs, sync_summary = fio_engine.fio_samples(job_doc, "sync")
            outcomes.append((syncs, done, {"write": summary, "sync": sync_summary}))
    return outcomes


def _experiment(
    ctx: Context, name: str, where: str, points: list[Point], start: float
) -> Experiment:
    return Experiment(
        name=name,
        description="one process, one I/O at a time through the page cache: "
        + ", ".join(c.name for c in CASES)
        + "; fsync cases sample the fsync (the write before it is parts_s.write_s)",
        where=where,
        cold=None,
        duration_s=time.monotonic() - start,
        points=points,
    )


def data_path(ctx: Context) -> Experiment:
    """The data path on a plain directory of the backing file system."""
    start = time.monotonic()
    directory = ctx.scratch("data_path")
    prepare_files(directory, _file_sizes(ctx))
    fs_type = str(ctx.backing_fs_type)
    points = run_cases(ctx, directory, "backing", fs_type)
    return _experiment(ctx, "data_path", f"{directory} ({fs_type})", points, start)


def data_path_tmpfs(ctx: Context) -> Experiment:
    """The data path on a tmpfs."""
    start = time.monotonic()
    assert ctx.tmpfs is not None
    prepare_files(ctx.tmpfs, _file_sizes(ctx))
    points = run_cases(ctx, ctx.tmpfs, "tmpfs", "tmpfs")
    for name in _file_sizes(ctx):
        (ctx.tmpfs / f"{name}.dat").unlink()
    return _experiment(ctx, "data_path_tmpfs", f"{ctx.tmpfs} (tmpfs)", points, start)


def data_path_overlay(ctx: Context) -> Experiment:
    """The data path in an overlay's upper layer: files copied up first, then the cases."""
    start = time.monotonic()
    home = ctx.overlay_home
    assert home is not None
    lower = home / "data_path_overlay" / "lower"
    lower.mkdir(parents=True, exist_ok=True)
    prepare_files(lower, _file_sizes(ctx))
    with overlay(ctx.ws, home, [lower], options=META_OFF) as merged:
        for name in _file_sizes(ctx):  # copy up now, so that the cases time the upper file
            fd = os.open(merged / f"{name}.dat", os.O_WRONLY)
            os.fsync(fd)
            os.close(fd)
        points = run_cases(ctx, merged, "overlay_upper", f"overlay on {ctx.overlay_home_fs}")
    return _experiment(
        ctx, "data_path_overlay", f"overlay on {ctx.overlay_home_fs}, {META_OFF}", points, start
    )
