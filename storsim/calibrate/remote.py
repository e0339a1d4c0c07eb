"""Remote directories (NFS, SMB, FUSE): per-operation latency and the staleness window.

Like posting letters to an office across town, every operation on a network file
system pays a round trip or several, and a note pinned up by a colleague through
another door is seen only when the cached copy of the notice board is refreshed
(NFS's attribute cache, 3-60 s [K9]; CIFS 1 s [K10]; a FUSE daemon's own cache).

For each ``--remote PATH[=PEER]`` (a mounted directory; PEER, optional, is a second
path to the same directory, e.g. the same export mounted again or the server's own
directory), the run makes its own directory inside PATH and:

- ``remote_ops``: times ``remote_ops`` of each operation: create, write 4 KiB, fsync,
  close, stat, open, read 4 KiB, chmod, rename, unlink, mkdir, rmdir, readdir (of a
  directory of 16 entries);
- ``remote_staleness``: a child process changes a file through PEER (create, grow,
  unlink) and reports when its change returned; this process, which looked at the
  file just before (so its client cache holds the old state), polls ``os.stat`` every
  millisecond through PATH until it sees the change. The sample is the delay; a change
  not seen within ``limit_s`` is counted in ``not_visible``. Without PEER the change is
  made through PATH by the other process: a second handle on the same client, which
  on one client normally sees at once.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import time
from multiprocessing.connection import Connection
from pathlib import Path

from storsim.calibrate import system
from storsim.calibrate.context import Context, seconds
from storsim.calibrate.schema import Experiment, Point

__all__ = ["OPS", "parse_remote", "remote_ops", "remote_staleness"]

OPS = (
    "create", "write_4k", "fsync", "close", "stat", "open", "read_4k", "chmod",
    "rename", "unlink", "mkdir", "rmdir", "readdir",
)  # fmt: skip
_FORK = multiprocessing.get_context("fork")
_CHANGES = ("create", "modify", "unlink")


def parse_remote(text: str) -> tuple[Path, Path]:
    """``PATH`` or ``PATH=PEER`` as (path, peer); the peer defaults to the path.

    Raises:
        ValueError: a path is not an existing directory.
    """
    path, _, peer = text.partition("=")
    pair = (Path(path), Path(peer or path))
    for p in pair:
        if not p.is_dir():
            raise ValueError(f"--remote must name an existing directory (got {str(p)!r})")
    return pair


def _fs_of(path: Path) -> str:
    entry = system.mount_of(path)
    return f"{entry.fstype} {entry.source}" if entry else "unknown"


def remote_ops(ctx: Context) -> Experiment:
    """Per-operation latency on each remote directory."""
    start = time.monotonic()
    points = []
    wheres = []
    for number, (remote, _) in enumerate(ctx.remotes):
        own = ctx.ws.foreign_dir(remote)
        wheres.append(f"{remote} ({_fs_of(remote)})")
        samples = _time_ops(ctx, own, ctx.plan.remote_ops, f"remote {number}")
        for op in OPS:
            points.append(
                Point(
                    params={"remote": number, "path": str(remote), "op": op},
                    samples_s=seconds(samples[op]),
                )
            )
    return Experiment(
        name="remote_ops",
        description="the latency of each single operation on a remote directory "
        "(write_4k and read_4k: one pwrite or pread of 4 KiB; readdir: os.listdir of 16 entries)",
        where="; ".join(wheres),
        cold=None,
        duration_s=time.monotonic() - start,
        points=points,
    )


def _time_ops(ctx: Context, own: Path, count: int, label: str) -> dict[str, list[int]]:
    clock = time.perf_counter_ns
    out: dict[str, list[int]] = {op: [] for op in OPS}
    listing = own / "listing"
    listing.mkdir()
    for i in range(16):
        (listing / f"e{i}").write_bytes(b"")
    data = os.urandom(4096)

    def timed(op: str, t0: int) -> None:
        out[op].append(clock() - t0)

    for i in range(count):
        ctx.progress.step(f"{label}: operation round {i + 1}/{count}")
        a, b, d = own / f"f{i}", own / f"g{i}", own / f"d{i}"
        t = clock()
        fd = os.open(a, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        timed("create", t)
        t = clock()
        os.pwrite(fd, data, 0)
        timed("write_4k", t)
        t = clock()
        os.fsync(fd)
        timed("fsync", t)
        t = clock()
        os.close(fd)
        timed("close", t)
        t = clock()
        os.stat(a)
        timed("stat", t)
        t = clock()
        fd = os.open(a, os.O_RDONLY)
        timed("open", t)
        t = clock()
        os.pread(fd, 4096, 0)
        timed("read_4k", t)
        os.close(fd)
        t = clock()
        os.chmod(a, 0o600)
        timed("chmod", t)
        t = clock()
        os.rename(a, b)
        timed("rename", t)
        t = clock()
        os.unlink(b)
        timed("unlink", t)
        t = clock()
        os.mkdir(d)
        timed("mkdir", t)
        t = clock()
        os.rmdir(d)
        timed("rmdir", t)
        t = clock()
        os.listdir(listing)
        timed("readdir", t)
    return out


def _peer(path: str, change: str, conn: Connection) -> None:
    system.kill_with_parent()
    if change == "create":
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
    elif change == "modify":
        fd = os.open(path, os.O_WRONLY | os.O_APPEND)
        os.write(fd, b"y" * 4096)
        os.close(fd)
    else:
        os.unlink(path)
    conn.send(time.perf_counter_ns())  # CLOCK_MONOTONIC: one clock for all processes
    conn.close()


def _visible(path: Path, change: str, before: int) -> bool:
    try:
        size = os.stat(path).st_size
    except FileNotFoundError:
        return change == "unlink"
    return change == "create" or (change == "modify" and size != before)


def remote_staleness(ctx: Context) -> Experiment:
    """How long a change made through a second path stays invisible through the first."""
    start = time.monotonic()
    plan = ctx.plan
    points = []
    wheres = []
    for number, (remote, peer) in enumerate(ctx.remotes):
        own = ctx.ws.foreign_dir(remote)
        peer_own = peer / own.name
        wheres.append(f"{remote} seen, {peer} changed ({_fs_of(remote)})")
        for change in _CHANGES:
            delays: list[int] = []
            missed = 0
            for rep in range(plan.staleness_reps):
                ctx.progress.step(f"remote {number}: {change}, repetition {rep + 1}")
                name = f"{change}{rep}"
                if change != "create":
                    (own / name).write_bytes(b"x" * 4096)
                before = -1
                with contextlib.suppress(FileNotFoundError):  # look first: the client caches it
                    before = os.stat(own / name).st_size
                delay = _observe(
                    ctx, own / name, peer_own / name, change, before, plan.staleness_limit_s
                )
                if delay is None:
                    missed += 1
                else:
                    delays.append(delay)
            points.append(
                Point(
                    params={
                        "remote": number,
                        "path": str(remote),
                        "peer": str(peer),
                        "change": change,
                        "limit_s": plan.staleness_limit_s,
                        "poll_s": 0.001,
                    },
                    samples_s=seconds(delays),
                    counts={"not_visible": [missed], "changes": [plan.staleness_reps]},
                )
            )
    return Experiment(
        name="remote_staleness",
        description="a child process changes a file through peer (create, modify: append "
        "4 KiB, unlink); samples are the delays until os.stat through path shows it",
        where="; ".join(wheres),
        cold=None,
        duration_s=time.monotonic() - start,
        points=points,
    )


def _observe(
    ctx: Context, seen: Path, changed: Path, change: str, before: int, limit_s: float
) -> int | None:
    reader, writer = _FORK.Pipe(duplex=False)
    proc = _FORK.Process(target=_peer, args=(str(changed), change, writer), daemon=True)
    ctx.ws.track(proc)
    proc.start()
    try:
        writer.close()
        done = int(reader.recv())
        proc.join()
        deadline = done + int(limit_s * 1e9)
        while True:
            now = time.perf_counter_ns()
            if _visible(seen, change, before):
                return max(0, now - done)
            if now > deadline:
                return None
            time.sleep(0.001)
    finally:
        if proc.is_alive():
            proc.kill()
            proc.join()
        ctx.ws.untrack(proc)
