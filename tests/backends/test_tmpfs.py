"""tmpfs (TmpfsBackend): memory only, never the disk."""

from __future__ import annotations

from storsim.backends import Attachment
from storsim.backends.tmpfs import TmpfsBackend
from storsim.fs import Node, PlainFS
from storsim.run.context import SimContext
from storsim.run.ops import OP_TABLE


def test_tmpfs_costs_a_syscall_and_a_memory_copy(ctx: SimContext) -> None:
    """Data operations copy their bytes in memory; a create's bytes are new pages (2 of
    4 KiB at 1/128 s); failures cost a syscall, fsync a bare one (noop_fsync: 1/16 s)."""
    tmp = TmpfsBackend(ctx, Attachment(fs=PlainFS(), key=None))
    ok = object()
    assert tmp.charge(OP_TABLE["read"].cost, "/f", ok, 4096, 0) == 1.125
    assert tmp.charge(OP_TABLE["create"].cost, "/g", ok, 8192, 0) == 2.140625
    assert tmp.charge(OP_TABLE["fsync"].cost, "/f", ok, 0, 0) == 0.0625
    assert tmp.charge(OP_TABLE["write"].cost, "/f", None, 4096, 0) == 0.125
    assert tmp.lock_cost() == 0.125
    assert ctx.host.disk.completed == 0


def test_tmpfs_extending_writes_allocate_and_readdir_costs_per_entry(ctx: SimContext) -> None:
    """On tmpfs a write past the end pays its new pages (shmem allocates them), an
    overwrite does not; a listing pays each entry."""
    fs = PlainFS()
    tmp = TmpfsBackend(ctx, Attachment(fs=fs, key=None))
    write = OP_TABLE["write"].cost
    grew = fs.open_write("/f", 0, 8192)
    over = fs.open_write("/f", 0, 8192)
    assert (grew.grown, over.grown) == (8192, 0)
    assert tmp.charge(write, "/f", grew, 8192, 0) == 0.125 + 2 + 2 * 0.0078125
    assert tmp.charge(write, "/f", over, 8192, 0) == 0.125 + 2
    fs.open_write("/g", 0, 1)
    listing = fs.readdir("/")
    assert tmp.charge(OP_TABLE["readdir"].cost, "/", listing, 0, 0) == 0.125 + 2 * 0.015625


def test_tmpfs_stat_pays_its_attributes_and_a_listing_its_open(ctx: SimContext) -> None:
    """With host.getattr_latency at 1/2 s and host.readdir_open_close at 2 s, a stat of a
    tmpfs file costs the syscall and its attributes (``shmem_getattr``), a listing the
    syscall, its open and close, and its entries."""
    ctx.host.getattr_s, ctx.host.readdir_open_s = 0.5, 2.0
    fs = PlainFS()
    tmp = TmpfsBackend(ctx, Attachment(fs=fs, key=None))
    fs.open_write("/f", 0, 1)
    assert tmp.charge(OP_TABLE["stat"].cost, "/f", fs.stat("/f"), 0, 0) == 0.125 + 0.5
    listing = fs.readdir("/")
    assert tmp.charge(OP_TABLE["readdir"].cost, "/", listing, 0, 0) == 0.125 + 2.0 + 0.015625


def test_a_stat_on_tmpfs_walks_each_component(ctx: SimContext) -> None:
    """host.walk_per_component at 1/4 s: a stat of /a/b on a tmpfs walks its 2 components
    (the same dentry-cache walk as any local file system's), then the syscall."""
    ctx.host.local_walk_s = 0.25
    fs = PlainFS()
    fs.populate({"/a/b": Node("file", 1)})
    tmp = TmpfsBackend(ctx, Attachment(fs=fs, key=None))
    assert tmp.charge(OP_TABLE["stat"].cost, "/a/b", fs.stat("/a/b"), 0, 0) == 0.125 + 0.5


def test_a_tmpfs_write_goes_through_each_4_kib_folio(ctx: SimContext) -> None:
    """tmpfs keeps its files in 4 KiB folios (huge=never): with host.folio_write at 1/8 s,
    an 8 KiB overwrite goes through 2 (1/4 s), a 4 KiB one across a page boundary 2, a
    1-byte one 1; a read none; and no buffer heads, whatever host.buffer_head_walk."""
    ctx.host.folio_write_s, ctx.host.buffer_head_s = 1 / 8, 1 / 64
    fs = PlainFS()
    tmp = TmpfsBackend(ctx, Attachment(fs=fs, key=None))
    write = OP_TABLE["write"].cost
    fs.open_write("/f", 0, 16384)
    over = fs.open_write("/f", 0, 8192)
    assert tmp.charge(write, "/f", over, 8192, 0) == 0.125 + 2 + 2 / 8
    assert tmp.charge(write, "/f", fs.open_write("/f", 2048, 4096), 4096, 2048) == 0.125 + 1 + 2 / 8
    assert tmp.charge(write, "/f", fs.open_write("/f", 5, 1), 1, 5) == 0.125 + 1 / 4096 + 1 / 8
    assert tmp.charge(OP_TABLE["read"].cost, "/f", object(), 4096, 0) == 1.125


def test_a_tmpfs_read_goes_through_each_4_kib_folio(ctx: SimContext) -> None:
    """tmpfs's files are in 4 KiB folios, whatever wrote them: with host.folio_read at
    1/8 s a folio, a 16 KiB read goes through 4 (1/2 s), a 4 KiB one across a page
    boundary 2, an empty one none; writes pay none of it."""
    ctx.host.folio_read_s = 1 / 8
    fs = PlainFS()
    tmp = TmpfsBackend(ctx, Attachment(fs=fs, key=None))
    read, write = OP_TABLE["read"].cost, OP_TABLE["write"].cost
    made = fs.open_write("/f", 0, 16384)
    with_folios = tmp.charge(write, "/f", made, 16384, 0)
    ctx.host.folio_read_s = 0.0
    assert tmp.charge(write, "/f", made, 16384, 0) == with_folios
    ctx.host.folio_read_s = 1 / 8
    assert tmp.charge(read, "/f", object(), 16384, 0) == 0.125 + 4 + 4 / 8
    assert tmp.charge(read, "/f", object(), 4096, 2048) == 0.125 + 1 + 2 / 8
    assert tmp.charge(read, "/f", object(), 0, 0) == 0.125


def test_a_tmpfs_write_call_pays_its_own_checks_once(ctx: SimContext) -> None:
    """host.write_overhead at 1/4 s (shmem_file_write_iter's checks and mtime update): a
    4 KiB and a 16 KiB overwrite pay it once each; a read and an fsync do not."""
    fs = PlainFS()
    tmp = TmpfsBackend(ctx, Attachment(fs=fs, key=None))
    fs.open_write("/f", 0, 16384)
    read, write, fsync = (OP_TABLE[op].cost for op in ("read", "write", "fsync"))
    calls = [(write, fs.open_write("/f", 0, n), n) for n in (4096, 16384)]
    calls += [(read, object(), 4096), (fsync, object(), 0)]
    without = [tmp.charge(op, "/f", r, n, 0) for op, r, n in calls]
    ctx.host.write_overhead_s = 0.25
    paid = [tmp.charge(op, "/f", r, n, 0) - w for (op, r, n), w in zip(calls, without, strict=True)]
    assert paid == [0.25, 0.25, 0.0, 0.0]
