"""Volumes and local binds (LocalBackend): page cache, dirty pages and cold lookups, timed
exactly on the constant host of conftest.py (one-slot disk, fixed service)."""

from __future__ import annotations

import dataclasses

import pytest

from storsim.backends import Attachment
from storsim.backends.local import LocalBackend, folio_bytes
from storsim.fs import FsError, Node, PlainFS
from storsim.run.context import SimContext
from storsim.run.ops import OP_TABLE
from tests.backends.conftest import make_ctx, run

STAT, READ, WRITE, FSYNC, UNLINK, MKDIR, READDIR = (
    OP_TABLE[op].cost for op in ("stat", "read", "write", "fsync", "unlink", "mkdir", "readdir")
)
SYSCALL_S = 0.125  # the constant host's syscall
OK = object()  # a successful result: a local backend only asks whether there is one
FILES = ("/d/f", "/a/f", "/b/f", "/a/b/c", "/a/b/d")


def _volume(ctx: SimContext, key: object = ("volume", "data")) -> tuple[PlainFS, LocalBackend]:
    fs = PlainFS()
    fs.populate({path: Node("file", 8192) for path in FILES})
    return fs, LocalBackend(ctx, Attachment(fs=fs, key=key))


def test_cold_lookup_then_buffered_write_then_fsync(ctx: SimContext) -> None:
    """A first stat of /d/f looks up each component: the root's block and /d's inode, then
    /d's block and f's inode (1 s each); a buffered overwrite costs the syscall and the
    copy only; fsync writes the dirty 4 KiB and commits."""
    fs, vol = _volume(ctx)
    over = fs.open_write("/d/f", 0, 4096)
    assert over.grown == 0
    log = run(
        ctx,
        {
            "app": [
                lambda: vol.charge(STAT, "/d/f", fs.stat("/d/f"), 0, 0),
                lambda: vol.charge(WRITE, "/d/f", over, 4096, 0),
                lambda: vol.charge(FSYNC, "/d/f", OK, 0, 0),
                lambda: vol.charge(FSYNC, "/d/f", OK, 0, 0),  # nothing dirty left
            ]
        },
    )
    assert log == [
        ("app", 4.125, None),  # 4 metadata reads + syscall
        ("app", 5.25, None),  # syscall + 4 KiB copy
        ("app", 7.4375, None),  # 4 KiB write (1.0625) + journal commit (1) + syscall
        ("app", 7.5625, None),  # syscall only
    ]
    assert ctx.host.disk.completed == 6


def test_each_directory_of_a_path_is_read_once(ctx: SimContext) -> None:
    """link_path_walk looks each component up in its parent: a first stat of /a/b/c reads
    three directory blocks and three inodes; /a/b/d then reads its inode only."""
    fs, vol = _volume(ctx)
    log = run(
        ctx,
        {
            "app": [
                lambda: vol.charge(STAT, "/a/b/c", fs.stat("/a/b/c"), 0, 0),
                lambda: vol.charge(STAT, "/a/b/d", fs.stat("/a/b/d"), 0, 0),
            ]
        },
    )
    assert log == [("app", 6.125, None), ("app", 7.25, None)]


def test_a_failed_lookup_reads_the_directories_it_walked(ctx: SimContext) -> None:
    """A stat of a missing /a/b/x pays the walk up to the miss (the blocks of /, /a and
    /a/b, the inodes of /a and /a/b: no inode for the missing name), then the syscall;
    a failure the backend is told nothing about costs the syscall only."""
    fs, vol = _volume(ctx)
    with pytest.raises(FsError) as caught:
        fs.stat("/a/b/x")
    error = caught.value
    log = run(
        ctx,
        {
            "app": [
                lambda: vol.failed(STAT, "/a/b/x", error),
                lambda: vol.failed(STAT, "/a/b/x", error),  # a negative dentry now
                lambda: vol.charge(STAT, "/a/b/c", fs.stat("/a/b/c"), 0, 0),
            ]
        },
    )
    assert log == [("app", 5.125, None), ("app", 5.25, None), ("app", 6.375, None)]
    assert vol.charge(STAT, "/a/b/x", None, 0, 0) == 0.125


def test_a_warm_cached_operation_is_cpu_time_only(ctx: SimContext) -> None:
    """On a path the host has looked up, a cached read and a metadata update return a
    number of seconds (one timeout, no generator); a failed operation costs a syscall."""
    _, vol = _volume(ctx)
    ctx.host.metadata_seen.add((vol.fs_key, "/d/f"))
    assert vol.charge(WRITE, "/d/f", OK, 4096, 0) == 1.125  # its pages enter the cache
    assert vol.charge(READ, "/d/f", OK, 4096, 0) == 1.625  # syscall + hit + copy
    assert vol.charge(MKDIR, "/d/f", OK, 0, 0) == 0.375  # syscall + metadata update
    assert vol.charge(READ, "/d/missing", None, 4096, 0) == 0.125
    assert ctx.host.disk.completed == 0


def test_an_extending_write_costs_its_new_pages(ctx: SimContext) -> None:
    """A write past the end of the file allocates its pages and updates the size (1/128 s
    per 4 KiB page added); an overwrite of the same bytes does not."""
    fs, vol = _volume(ctx)
    ctx.host.metadata_seen.add((vol.fs_key, "/d/f"))
    grows = fs.open_write("/d/f", 4096, 12288)  # 8 KiB file: 8 KiB added
    again = fs.open_write("/d/f", 4096, 12288)
    assert (grows.grown, again.grown) == (8192, 0)
    assert vol.charge(WRITE, "/d/f", grows, 12288, 4096) == 0.125 + 3 + 2 * 0.0078125
    assert vol.charge(WRITE, "/d/f", again, 12288, 4096) == 0.125 + 3


def test_readdir_reads_the_directory_once_and_costs_per_entry(ctx: SimContext) -> None:
    """A readdir of /a (2 entries) reads /a's block the first time (its own, not its
    parent's), then costs the syscall and 1/64 s per entry."""
    fs, vol = _volume(ctx)
    listing = fs.readdir("/a")
    assert listing.names == ("b", "f")
    ctx.host.metadata_seen.add((vol.fs_key, "/a"))
    log = run(
        ctx,
        {
            "app": [
                lambda: vol.charge(READDIR, "/a", listing, 0, 0),
                lambda: vol.charge(READDIR, "/a", listing, 0, 0),
            ]
        },
    )
    assert log == [("app", 1.15625, None), ("app", 1.3125, None)]


def test_unlink_discards_dirty_pages(ctx: SimContext) -> None:
    """After unlink, fsync of the same path has nothing to write back."""
    _, vol = _volume(ctx)
    ctx.host.metadata_seen.add((vol.fs_key, "/d/f"))
    vol.charge(WRITE, "/d/f", OK, 4096, 0)
    assert vol.charge(UNLINK, "/d/f", OK, 0, 0) == 0.375
    assert vol.charge(FSYNC, "/d/f", OK, 0, 0) == 0.125


def test_two_containers_of_one_volume_share_the_host_caches(ctx: SimContext) -> None:
    """The second container's read of the same file finds its metadata and its data in
    the host's caches: CPU time only, no disk."""
    (_, a), (_, b) = _volume(ctx), _volume(ctx)
    log = run(
        ctx,
        {
            "a": [lambda: a.charge(READ, "/d/f", OK, 4096, 0)],
            "b": [lambda: 10.0, lambda: b.charge(READ, "/d/f", OK, 4096, 0)],
        },
    )
    assert log == [
        ("a", 7.625, None),  # its walk's 4 blocks, one 128 KiB chunk (2 s), CPU 1.625
        ("b", 10.0, None),
        ("b", 11.625, None),
    ]
    assert ctx.host.disk.completed == 5


def test_cold_lookups_queue_for_the_one_slot_disk(ctx: SimContext) -> None:
    """Two first lookups in different directories at t=0 take turns on the disk, FIFO;
    the root's block, read for the first, is not read again for the second."""
    fs, vol = _volume(ctx)
    log = run(
        ctx,
        {
            "a": [lambda: vol.charge(STAT, "/a/f", fs.stat("/a/f"), 0, 0)],
            "b": [lambda: vol.charge(STAT, "/b/f", fs.stat("/b/f"), 0, 0)],
        },
    )
    # disk: a's 4 reads and b's 3 (no root block) alternate: b done at 6, a at 7
    assert log == [("b", 6.125, None), ("a", 7.125, None)]


def test_a_stat_that_finds_its_file_pays_its_attributes_and_a_listing_its_open(
    ctx: SimContext,
) -> None:
    """With host.getattr_latency at 1/2 s and host.readdir_open_close at 2 s: a warm stat
    of /d/f costs the syscall and the attributes' copy (``vfs_getattr``, ``cp_new_stat``),
    a stat of a missing name only the syscall (it fails in its walk, before getattr); a
    listing of /a (2 entries, its block read already) the syscall, its entries and the
    directory's open, last getdents and close."""
    ctx.host.getattr_s, ctx.host.readdir_open_s = 0.5, 2.0
    fs, vol = _volume(ctx)
    ctx.host.metadata_seen.update((vol.fs_key, p) for p in ("/d", "/d/f", "/d/missing", "/a"))
    ctx.host.dir_blocks_read.add((vol.fs_key, "/a"))
    assert vol.charge(STAT, "/d/f", fs.stat("/d/f"), 0, 0) == SYSCALL_S + 0.5
    with pytest.raises(FsError) as caught:
        fs.stat("/d/missing")
    assert vol.failed(STAT, "/d/missing", caught.value) == SYSCALL_S
    assert vol.charge(READDIR, "/a", fs.readdir("/a"), 0, 0) == SYSCALL_S + 2.0 + 2 * 0.015625
    assert vol.charge(WRITE, "/d/f", OK, 0, 0) == SYSCALL_S  # no attributes handed back


def test_a_first_listing_reads_every_block_of_a_large_directory(ctx: SimContext) -> None:
    """/big holds 300 names of 5 bytes (4824 bytes of ext4 entries: a hashed tree of 2
    leaves and its root): its first listing reads the 3 blocks one after another (1 s
    each), less the one a lookup in /big read already; a second listing reads none."""
    fs = PlainFS()
    fs.populate({f"/big/f{i:04d}": Node("file", 0) for i in range(300)})
    fs.populate({f"/big2/f{i:04d}": Node("file", 0) for i in range(300)})
    vol = LocalBackend(ctx, Attachment(fs=fs, key=("volume", "v")))
    ctx.host.metadata_seen.update((vol.fs_key, p) for p in ("/big", "/big2"))
    ctx.host.dir_blocks_read.add((vol.fs_key, "/big2"))  # a lookup in /big2 read one
    listing, listing2 = fs.readdir("/big"), fs.readdir("/big2")
    entries = SYSCALL_S + 300 * 0.015625
    log = run(
        ctx,
        {
            "app": [
                lambda: vol.charge(READDIR, "/big", listing, 0, 0),
                lambda: vol.charge(READDIR, "/big", listing, 0, 0),
                lambda: vol.charge(READDIR, "/big2", listing2, 0, 0),
            ]
        },
    )
    assert log == [
        ("app", 3 + entries, None),
        ("app", 3 + 2 * entries, None),
        ("app", 5 + 3 * entries, None),
    ]


def test_folio_bytes_follows_the_write_that_makes_the_pages() -> None:
    """mm/filemap.c: the write's length sets the folio's order (``fgf_set_order``: the
    largest power of two in it), an unaligned offset lowers it (``__filemap_get_folio``),
    and the mapping's largest folio caps it; 4 KiB at least."""
    mib = 1 << 20
    assert folio_bytes(0, 4096, 2 * mib) == 4096
    assert folio_bytes(0, mib, 2 * mib) == mib
    assert folio_bytes(5 * mib, mib, 2 * mib) == mib
    assert folio_bytes(0, 12 * 1024, 2 * mib) == 8192  # 12 KiB: an 8 KiB folio first
    assert folio_bytes(8192, 64 * 1024, 2 * mib) == 8192  # aligned to 8 KiB only
    assert folio_bytes(4096, mib, 2 * mib) == 4096  # unaligned: pages
    assert folio_bytes(0, 64 * mib, 2 * mib) == 2 * mib  # the largest folio
    assert folio_bytes(0, mib, 4096) == 4096  # no large folios
    assert folio_bytes(0, 0, 2 * mib) == 4096  # an empty write: a page
    assert folio_bytes(0, 1000, 2 * mib) == 4096  # under a page: a page


def test_a_write_walks_every_block_of_the_folios_it_touches(ctx: SimContext) -> None:
    """host.buffer_head_walk at 1/64 s a block: a 256 KiB write that brings a file's
    pages into the cache makes them 256 KiB folios (64 blocks), so a 4 KiB overwrite of
    that file then walks 64 blocks (1 s) on top of its syscall and copy; a file written
    in 4 KiB writes walks one block a 4 KiB overwrite, and two for an 8 KiB one across
    two of its folios (ext4_block_write_begin, block_commit_write)."""
    host = ctx.host
    host.buffer_head_s, host.max_folio_bytes = 1 / 64, 2 << 20
    fs = PlainFS()
    fs.populate({"/big": Node("file", 256 * 1024), "/small": Node("file", 16384)})
    vol = LocalBackend(ctx, Attachment(fs=fs, key=("volume", "v")))
    host.metadata_seen.update((vol.fs_key, p) for p in ("/big", "/small"))
    page = 4096 / 4096.0  # a 4 KiB copy at the constant host's 4096 B/s: 1 s
    # the whole file in one write: 64 blocks of the folio it makes
    assert vol.charge(WRITE, "/big", OK, 256 * 1024, 0) == SYSCALL_S + 64 * page + 1.0
    assert host.folios[vol.fs_key]["/big"] == 256 * 1024
    assert vol.charge(WRITE, "/big", OK, 4096, 8192) == SYSCALL_S + page + 1.0
    for offset in range(0, 16384, 4096):  # the small file written a page at a time
        assert vol.charge(WRITE, "/small", OK, 4096, offset) == SYSCALL_S + page + 1 / 64
    assert vol.charge(WRITE, "/small", OK, 8192, 4096) == SYSCALL_S + 2 * page + 2 / 64
    # reads walk no buffer heads
    assert vol.charge(READ, "/big", OK, 4096, 0) == SYSCALL_S + 0.5 + page


def test_a_disk_that_is_memory_walks_no_buffer_heads(ctx: SimContext) -> None:
    """A local file system on a RAM disk (``volatile``) has no buffer heads: a write costs
    its syscall and copy, whatever host.buffer_head_walk."""
    host = ctx.host
    host.buffer_head_s, host.max_folio_bytes = 1 / 64, 2 << 20
    host.disk.volatile = True
    _, vol = _volume(ctx)
    host.metadata_seen.update((vol.fs_key, p) for p in ("/d", "/d/f"))
    assert vol.charge(WRITE, "/d/f", OK, 4096, 0) == SYSCALL_S + 1.0


def test_a_call_that_names_a_path_walks_each_component(ctx: SimContext) -> None:
    """host.walk_per_component at 1/4 s: a warm stat of /d/f walks 2 components (1/2 s,
    ``link_path_walk``), a read that opens /a/b/c 3, a read of a file kept open none; a
    stat of a missing /d/missing the 2 components it walked before failing."""
    host = ctx.host
    host.local_walk_s = 0.25
    fs, vol = _volume(ctx)
    host.metadata_seen.update((vol.fs_key, p) for p in ("/d", "/d/f", "/a/b/c", "/d/missing"))
    vol.missing_chunks(vol.fs_key, "/a/b/c", 0, 4096)  # its page cached
    assert vol.charge(STAT, "/d/f", fs.stat("/d/f"), 0, 0) == 0.5 + SYSCALL_S
    read = fs.read("/a/b/c", 0, 4096)
    hit = SYSCALL_S + 0.5 + 1.0  # the syscall, a page-cache hit, the 4 KiB copy
    assert vol.charge(READ, "/a/b/c", read, 4096, 0) == 0.75 + hit
    kept_open = dataclasses.replace(READ, reopens=False)
    assert vol.charge(kept_open, "/a/b/c", read, 4096, 0) == hit
    with pytest.raises(FsError) as caught:
        fs.stat("/d/missing")
    assert vol.failed(STAT, "/d/missing", caught.value) == SYSCALL_S + 0.5


def test_inode_reads_go_by_the_number_the_content_was_unpacked_with(ctx: SimContext) -> None:
    """A volume's content is numbered depth-first, names sorted (as Docker copies an
    image's content into a volume): /a 0, /a/0-/a/5 1-6, /b 7, /b/f 8, /c 9, /c/f 10.
    With runs of 4 inodes a table read, a cold stat of /b/f reads the root's block, /b's
    inode (run 1), /b's block and /b/f's inode (run 2): 4 reads, where counting the
    lookups (two inodes, one read) would give 3; /c/f then reads /c's block only (its
    inodes are in run 2). A path made later takes the next number."""
    ctx.host.inodes_per_read = 4
    fs = PlainFS()
    names = [f"/a/{i}" for i in range(6)] + ["/b/f", "/c/f"]
    fs.populate({path: Node("file", 8192) for path in names})
    vol = LocalBackend(ctx, Attachment(fs=fs, key=("volume", "v")))
    log = run(
        ctx,
        {
            "app": [
                lambda: vol.charge(STAT, "/b/f", fs.stat("/b/f"), 0, 0),
                lambda: vol.charge(STAT, "/c/f", fs.stat("/c/f"), 0, 0),
            ]
        },
    )
    assert log == [("app", 4.125, None), ("app", 5.25, None)]
    numbers = ctx.host.image_inode_numbers[("volume", "v")]
    assert [numbers[p] for p in ("/a", "/a/5", "/b", "/b/f", "/c", "/c/f")] == [0, 6, 7, 8, 9, 10]
    assert vol._inode_number("/d") == 11


def test_a_write_goes_through_each_folio_it_touches(ctx: SimContext) -> None:
    """host.folio_write at 1/8 s a folio (generic_perform_write takes a write one folio
    at a time): a 256 KiB write that makes a file's pages makes one 256 KiB folio (1/8
    s); a 16 KiB overwrite of a file cached in 4 KiB folios goes through 4 of them (1/2
    s), one of a file cached in 256 KiB folios through 1 (and walks its 64 blocks' heads,
    1/64 s each); a 4 KiB write across two 4 KiB folios' boundary touches 2. Reads pay
    none."""
    host = ctx.host
    host.folio_write_s, host.buffer_head_s, host.max_folio_bytes = 1 / 8, 1 / 64, 2 << 20
    fs = PlainFS()
    fs.populate({"/big": Node("file", 256 * 1024), "/small": Node("file", 16384)})
    vol = LocalBackend(ctx, Attachment(fs=fs, key=("volume", "v")))
    host.metadata_seen.update((vol.fs_key, p) for p in ("/big", "/small"))
    page = 1.0  # a 4 KiB copy at the constant host's 4096 B/s
    assert vol.charge(WRITE, "/big", OK, 256 * 1024, 0) == SYSCALL_S + 64 * page + 1 / 8 + 1.0
    assert vol.charge(WRITE, "/big", OK, 16384, 0) == SYSCALL_S + 4 * page + 1 / 8 + 1.0
    for offset in range(0, 16384, 4096):  # the small file written a page at a time
        assert vol.charge(WRITE, "/small", OK, 4096, offset) == SYSCALL_S + page + 1 / 8 + 1 / 64
    assert vol.charge(WRITE, "/small", OK, 16384, 0) == SYSCALL_S + 4 * page + 4 * (1 / 8 + 1 / 64)
    assert vol.charge(WRITE, "/small", OK, 4096, 2048) == SYSCALL_S + page + 2 * (1 / 8 + 1 / 64)
    assert vol.charge(READ, "/big", OK, 4096, 0) == SYSCALL_S + 0.5 + page


def test_a_cached_read_goes_through_each_folio_its_bytes_lie_in(ctx: SimContext) -> None:
    """host.folio_read at 1/8 s a folio (filemap_read copies each folio out on its own):
    a file written in one 256 KiB write is cached in one 256 KiB folio, so a 64 KiB read
    of it goes through 1 (1/8 s); one written 4 KiB at a time is in 4 KiB folios, so a
    16 KiB read of it goes through 4 (1/2 s), a 4 KiB one across a folio boundary 2 and
    an empty one none. A read that brings pages in makes them folios of its size: a
    second 64 KiB read of a file first read 64 KiB at a time goes through 1. The
    folio sizes are kept with folio_read alone (no write cost of folios set)."""
    host = ctx.host
    host.folio_read_s, host.max_folio_bytes = 1 / 8, 2 << 20
    fs = PlainFS()
    fs.populate({p: Node("file", 256 * 1024) for p in ("/big", "/small", "/read")})
    vol = LocalBackend(ctx, Attachment(fs=fs, key=("volume", "v")))
    host.metadata_seen.update((vol.fs_key, p) for p in ("/big", "/small", "/read"))
    page = 1.0  # a 4 KiB copy at the constant host's 4096 B/s
    hit = SYSCALL_S + 0.5  # the syscall and the page-cache hit of the constant host
    assert vol.charge(WRITE, "/big", OK, 256 * 1024, 0) == SYSCALL_S + 64 * page
    for offset in range(0, 16384, 4096):
        assert vol.charge(WRITE, "/small", OK, 4096, offset) == SYSCALL_S + page
    assert host.folios[vol.fs_key] == {"/big": 256 * 1024, "/small": 4096}
    assert vol.charge(READ, "/big", OK, 65536, 65536) == hit + 16 * page + 1 / 8
    assert vol.charge(READ, "/small", OK, 16384, 0) == hit + 4 * page + 4 / 8
    assert vol.charge(READ, "/small", OK, 4096, 2048) == hit + page + 2 / 8
    assert vol.charge(READ, "/small", OK, 0, 0) == hit
    log = run(ctx, {"app": [lambda: vol.charge(READ, "/read", OK, 65536, 0)]})
    assert host.folios[vol.fs_key]["/read"] == 65536
    assert log[0][1] > hit + 16 * page + 1 / 8  # it waited for the disk first
    assert vol.charge(READ, "/read", OK, 65536, 0) == hit + 16 * page + 1 / 8


def test_a_write_call_pays_its_own_checks_once_and_a_read_none() -> None:
    """host.write_overhead at 1/4 s (generic_write_checks, the mtime update, dirty-page
    balancing: once a write call): a 4 KiB overwrite and a 16 KiB one each pay it once
    on top of their copy, an empty write too (the call is made); a read and a stat do
    not, nor an fsync of the pages written."""
    took: dict[float, list[float]] = {}
    for overhead in (0.0, 0.25):
        ctx = make_ctx()
        ctx.host.write_overhead_s = overhead
        fs = PlainFS()
        fs.populate({"/f": Node("file", 65536)})
        vol = LocalBackend(ctx, Attachment(fs=fs, key=("volume", "v")))
        ctx.host.metadata_seen.add((vol.fs_key, "/f"))
        run(ctx, {"warm": [lambda v=vol: v.charge(READ, "/f", OK, 65536, 0)]})  # pages cached
        costs = [
            vol.charge(op, "/f", OK, n, 0)
            for op, n in ((WRITE, 4096), (WRITE, 16384), (WRITE, 0), (READ, 4096), (STAT, 0))
        ]
        start = ctx.env.now
        run(ctx, {"sync": [lambda v=vol: v.charge(FSYNC, "/f", OK, 0, 0)]})
        took[overhead] = [*costs, ctx.env.now - start]
    paid = [b - a for a, b in zip(took[0.0], took[0.25], strict=True)]
    assert paid == [0.25, 0.25, 0.25, 0.0, 0.0, 0.0]
