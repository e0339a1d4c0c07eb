"""Volumes and local binds (LocalBackend): page cache, dirty pages and cold lookups, timed
exactly on the constant host of conftest.py (one-slot disk, fixed service)."""

from __future__ import annotations

from storsim.backends import Attachment
from storsim.backends.local import LocalBackend
from storsim.fs import PlainFS
from storsim.run.context import SimContext
from storsim.run.ops import OP_TABLE
from tests.backends.conftest import run

STAT, READ, WRITE, FSYNC, UNLINK, MKDIR = (
    OP_TABLE[op].cost for op in ("stat", "read", "write", "fsync", "unlink", "mkdir")
)
OK = object()  # a successful result: a local backend only asks whether there is one


def _volume(ctx: SimContext, key: object = ("volume", "data")) -> LocalBackend:
    return LocalBackend(ctx, Attachment(fs=PlainFS(), key=key))


def test_cold_lookup_then_buffered_write_then_fsync(ctx: SimContext) -> None:
    """A first stat reads the directory block and the inode (1 s each); a buffered write
    costs the syscall and the copy only; fsync writes the dirty 4 KiB and commits."""
    vol = _volume(ctx)
    log = run(
        ctx,
        {
            "app": [
                lambda: vol.charge(STAT, "/d/f", OK, 0, 0),
                lambda: vol.charge(WRITE, "/d/f", OK, 4096, 0),
                lambda: vol.charge(FSYNC, "/d/f", OK, 0, 0),
                lambda: vol.charge(FSYNC, "/d/f", OK, 0, 0),  # nothing dirty left
            ]
        },
    )
    assert log == [
        ("app", 2.125, None),  # 2 metadata reads + syscall
        ("app", 3.25, None),  # syscall + 4 KiB copy
        ("app", 5.4375, None),  # 4 KiB write (1.0625) + journal commit (1) + syscall
        ("app", 5.5625, None),  # syscall only
    ]
    assert ctx.host.disk.completed == 4


def test_a_warm_cached_operation_is_cpu_time_only(ctx: SimContext) -> None:
    """On a path the host has looked up, a cached read and a metadata update return a
    number of seconds (one timeout, no generator); a failed operation costs a syscall."""
    vol = _volume(ctx)
    ctx.host.metadata_seen.add((vol.fs_key, "/d/f"))
    assert vol.charge(WRITE, "/d/f", OK, 4096, 0) == 1.125  # its pages enter the cache
    assert vol.charge(READ, "/d/f", OK, 4096, 0) == 1.625  # syscall + hit + copy
    assert vol.charge(MKDIR, "/d/f", OK, 0, 0) == 0.375  # syscall + metadata update
    assert vol.charge(READ, "/d/missing", None, 4096, 0) == 0.125
    assert ctx.host.disk.completed == 0


def test_unlink_discards_dirty_pages(ctx: SimContext) -> None:
    """After unlink, fsync of the same path has nothing to write back."""
    vol = _volume(ctx)
    ctx.host.metadata_seen.add((vol.fs_key, "/d/f"))
    vol.charge(WRITE, "/d/f", OK, 4096, 0)
    assert vol.charge(UNLINK, "/d/f", OK, 0, 0) == 0.375
    assert vol.charge(FSYNC, "/d/f", OK, 0, 0) == 0.125


def test_two_containers_of_one_volume_share_the_host_caches(ctx: SimContext) -> None:
    """The second container's read of the same file finds its metadata and its data in
    the host's caches: CPU time only, no disk."""
    a, b = _volume(ctx), _volume(ctx)
    log = run(
        ctx,
        {
            "a": [lambda: a.charge(READ, "/d/f", OK, 4096, 0)],
            "b": [lambda: 10.0, lambda: b.charge(READ, "/d/f", OK, 4096, 0)],
        },
    )
    assert log == [
        ("a", 5.625, None),  # directory + inode (2 s), one 128 KiB chunk (2 s), CPU 1.625
        ("b", 10.0, None),
        ("b", 11.625, None),
    ]
    assert ctx.host.disk.completed == 3


def test_cold_lookups_queue_for_the_one_slot_disk(ctx: SimContext) -> None:
    """Two first lookups in different directories at t=0 take turns on the disk, FIFO."""
    vol = _volume(ctx)
    log = run(
        ctx,
        {
            "a": [lambda: vol.charge(STAT, "/a/f", OK, 0, 0)],
            "b": [lambda: vol.charge(STAT, "/b/f", OK, 0, 0)],
        },
    )
    # disk: a's directory 0-1, b's directory 1-2, a's inode 2-3, b's inode 3-4
    assert log == [("a", 3.125, None), ("b", 4.125, None)]
