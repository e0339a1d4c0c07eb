"""Copy-up experiments: what the first write to an image file costs.

Like moving house because one picture needs rehanging, overlayfs copies a whole lower
file into the upper layer the first time it is opened for writing (the copy happens in
``open``, [P1] W2), so a 1-byte write to an N-byte image file costs a copy of N bytes,
and a metadata change (chmod) copies the data too unless ``metacopy=on`` [K1].

- ``copy_up``: ``open(O_WRONLY)`` + ``write(1 byte)`` + ``close`` of a lower file of N
  bytes on a fresh mount; lower file cached (read just before) and cold (its pages
  dropped with ``posix_fadvise(DONTNEED)``: data cold, its inode and dentry cached).
  Both include the kernel's fsync of the new upper file (``ovl_copy_up_data`` syncs
  unless the mount is ``volatile``), so "cached" still writes N bytes to the device.
- ``copy_up_meta``: ``open(O_TRUNC)`` (copies no data) and ``chmod`` (copies all data
  without metacopy, only metadata with it) of a cached lower file, metacopy off and on.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from storsim.calibrate import system
from storsim.calibrate.context import Context, read_file, seconds, write_file
from storsim.calibrate.layers import META_OFF, META_ON, overlay
from storsim.calibrate.schema import Experiment, Point

__all__ = ["copy_up", "copy_up_meta"]

_BLOCK = os.urandom(1 << 20)  # file content: incompressible, written 1 MiB at a time


def _lower_files(ctx: Context, name: str, sizes: tuple[int, ...]) -> Path:
    home = ctx.overlay_home
    assert home is not None  # the runner checks the requirement first
    lower = home / name / "lower"
    lower.mkdir(parents=True, exist_ok=True)
    for size in sizes:
        write_file(lower / f"f{size}", size, _BLOCK)
    return lower


def copy_up(ctx: Context) -> Experiment:
    """Copy-up time of a 1-byte first write against the lower file's size, cached and cold."""
    start = time.monotonic()
    plan, home = ctx.plan, ctx.overlay_home
    assert home is not None
    lower = _lower_files(ctx, "copy_up", plan.copy_up_sizes_bytes)
    buffer = bytearray(1 << 20)
    keys = [(size, cache) for size in plan.copy_up_sizes_bytes for cache in ("cached", "cold")]
    total: dict[tuple[int, str], list[int]] = {k: [] for k in keys}
    parts: dict[tuple[int, str], dict[str, list[int]]] = {
        k: {"open_s": [], "write_s": [], "close_s": []} for k in keys
    }
    # Repetitions outermost, every other one in reverse order: a slow drift of the host
    # spreads over every size instead of making a shape (storsim.calibrate.lookups).
    for rep in range(plan.reps):
        for size, cache in keys if rep % 2 == 0 else reversed(keys):
            ctx.progress.step(f"size {size} B {cache}, repetition {rep + 1}/{plan.reps}")
            source = lower / f"f{size}"
            if cache == "cold":
                system.drop_file_cache(source)
            else:
                read_file(source, buffer)
            with overlay(ctx.ws, home, [lower]) as merged:
                t0 = time.perf_counter_ns()
                fd = os.open(merged / source.name, os.O_WRONLY)
                t1 = time.perf_counter_ns()
                os.write(fd, b"x")
                t2 = time.perf_counter_ns()
                os.close(fd)
                t3 = time.perf_counter_ns()
            total[size, cache].append(t3 - t0)
            for part, value in zip(
                ("open_s", "write_s", "close_s"), (t1 - t0, t2 - t1, t3 - t2), strict=True
            ):
                parts[size, cache][part].append(value)
    points = [
        Point(
            params={"size_bytes": size, "cache": cache},
            samples_s=seconds(total[size, cache]),
            parts_s={k: seconds(v) for k, v in parts[size, cache].items()},
        )
        for size, cache in keys
    ]
    return Experiment(
        name="copy_up",
        description="open(O_WRONLY) + write(1 byte) + close of a lower file of size_bytes "
        "on a fresh overlay mount (one lower layer, empty upper): the copy-up of the whole file",
        where=f"overlay on {ctx.overlay_home_fs}, options {META_OFF}",
        cold="cold: the lower file's data pages dropped (posix_fadvise DONTNEED after "
        "fdatasync); its inode and dentry stay cached. cached: the file was read just before",
        duration_s=time.monotonic() - start,
        points=points,
    )


def copy_up_meta(ctx: Context) -> Experiment:
    """O_TRUNC open and chmod of a cached lower file, metacopy off and on."""
    start = time.monotonic()
    plan, home = ctx.plan, ctx.overlay_home
    assert home is not None
    lower = _lower_files(ctx, "copy_up_meta", plan.meta_sizes_bytes)
    buffer = bytearray(1 << 20)
    metacopies = ("off", "on") if ctx.metacopy else ("off",)
    if not ctx.metacopy:
        ctx.skip("copy_up_meta[metacopy=on]", "the kernel refused metacopy=on,redirect_dir=on")
    keys = [
        (op, meta, size)
        for op in ("trunc_open", "chmod")
        for meta in metacopies
        for size in plan.meta_sizes_bytes
    ]
    samples: dict[tuple[str, str, int], list[int]] = {k: [] for k in keys}
    for rep in range(plan.reps):  # as copy_up
        for op, meta, size in keys if rep % 2 == 0 else reversed(keys):
            ctx.progress.step(f"{op} metacopy={meta} size {size} B, repetition {rep + 1}")
            source = lower / f"f{size}"
            read_file(source, buffer)
            options = META_ON if meta == "on" else META_OFF
            with overlay(ctx.ws, home, [lower], options=options) as merged:
                target = merged / source.name
                if op == "trunc_open":
                    t0 = time.perf_counter_ns()
                    fd = os.open(target, os.O_WRONLY | os.O_TRUNC)
                    t1 = time.perf_counter_ns()
                    os.close(fd)
                else:
                    t0 = time.perf_counter_ns()
                    os.chmod(target, 0o600)
                    t1 = time.perf_counter_ns()
            samples[op, meta, size].append(t1 - t0)
    return Experiment(
        name="copy_up_meta",
        description="open(O_WRONLY|O_TRUNC) (copies no data) and chmod (copies the data "
        "unless metacopy) of a cached lower file of size_bytes, on a fresh overlay mount",
        where=f"overlay on {ctx.overlay_home_fs}; metacopy=on is {META_ON}",
        cold=None,
        duration_s=time.monotonic() - start,
        points=[
            Point(
                params={"op": op, "metacopy": meta, "size_bytes": size},
                samples_s=seconds(samples[op, meta, size]),
            )
            for op, meta, size in keys
        ],
    )
