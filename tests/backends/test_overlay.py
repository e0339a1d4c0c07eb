"""The root overlay (OverlayBackend): lookups component by component through the layers,
failures charged their walk, readdir per layer and per entry, one copy-up per file with
openers waiting for it, timed exactly on the constant host of conftest.py.

Kernel behaviour stated here (Linux fs/overlayfs/): ``ovl_lookup`` (namei.c) consults
the parent's upper directory, then its lower layers top-down until a hit stops it or
the bottom, so a missing name visits every layer; ``ovl_dir_read_merged`` (readdir.c)
reads a merged directory in every layer at each open; ``ovl_copy_up_file`` (copy_up.c)
copies the data in 1 MiB chunks by ``do_splice_direct`` and fsyncs the upper file.
"""

from __future__ import annotations

import dataclasses

import pytest

from storsim.backends import Attachment
from storsim.backends.local import LocalBackend
from storsim.backends.overlay import OverlayBackend
from storsim.fs import FsError, Layer, LowerStack, OverlayFS, PlainFS, Read
from storsim.run.context import SimContext
from storsim.run.ops import OP_TABLE
from tests.backends.conftest import make_ctx, run

STAT, READ, WRITE, READDIR, CREATE, FSYNC = (
    OP_TABLE[op].cost for op in ("stat", "read", "write", "readdir", "create", "fsync")
)
LAYER, SYSCALL, OP = 0.0625, 0.125, 0.03125  # the constant host's per-layer, syscall, overlay


def _container(
    ctx: SimContext, name: str, stack: LowerStack | None = None
) -> tuple[OverlayFS, OverlayBackend]:
    if stack is None:
        stack = LowerStack([Layer.build("top", files={"/data/f": 8192})])
    fs = OverlayFS(stack)
    at = Attachment(fs=fs, key=("upper", name), image=("lower", "app"))
    return fs, OverlayBackend(ctx, at)


def _deep(layers: int) -> LowerStack:
    """``layers`` layers, each holding /d (layer i holds /d/f<i>): /d merged in all."""
    return LowerStack([Layer.build(f"l{i}", files={f"/d/f{i}": 4096}) for i in range(layers)])


def test_the_first_write_copies_up_and_a_concurrent_writer_waits(ctx: SimContext) -> None:
    """Two writers of one lower file at t=0: the first copies the file up (its walk, the
    lower chunk read, one memory copy, the upper's write-back and commit, then its CPU
    part: the workdir entry created and renamed, in memory); the second waits for that
    copy-up to complete and ends with it; a later read finds the copied pages in the
    cache."""
    fs, overlay = _container(ctx, "web-1")
    first, second = fs.open_write("/data/f", 0, 4096), fs.open_write("/data/f", 0, 4096)
    assert (first.copied_up, first.copy_up_bytes, first.layers_visited) == (True, 8192, 1)
    assert not second.copied_up
    read = fs.read("/data/f", 0, 4096)
    log = run(
        ctx,
        {
            "copier": [lambda: overlay.charge(WRITE, "/data/f", first, 4096, 0)],
            "waiter": [lambda: overlay.charge(WRITE, "/data/f", second, 4096, 0)],
            "reader": [lambda: 20.0, lambda: overlay.charge(READ, "/data/f", read, 4096, 0)],
        },
    )
    # copier: the lower root's and /data's blocks, the inodes of /data and f (0-4), 3
    # layers of lookup CPU (3/16), the 128 KiB lower chunk (2), one hit and the 8 KiB
    # memory copy (2.5), the 8 KiB upper write (1.125) and its commit (1): data in place
    # at 10.8125; then create + rename in the workdir (0.5), overlay, syscall and the 4
    # KiB copy (1.15625)
    assert log == [
        ("copier", 12.46875, None),
        ("waiter", 12.46875, None),  # woken at 10.8125, waits to 11.3125, then 1.15625
        ("reader", 20.0, None),
        ("reader", 21.65625, None),  # a hit on the copied pages: overlay, syscall, hit, copy
    ]
    assert ctx.host.disk.completed == 7


def test_a_later_opener_of_a_finished_copy_up_does_not_wait(ctx: SimContext) -> None:
    """Once a copy-up has completed, a write of the file costs its CPU time only."""
    fs, overlay = _container(ctx, "web-1")
    first, second = fs.open_write("/data/f", 0, 4096), fs.open_write("/data/f", 0, 4096)
    log = run(
        ctx,
        {
            "copier": [lambda: overlay.charge(WRITE, "/data/f", first, 4096, 0)],
            "later": [lambda: 20.0, lambda: overlay.charge(WRITE, "/data/f", second, 4096, 0)],
        },
    )
    assert log == [("copier", 12.46875, None), ("later", 20.0, None), ("later", 21.15625, None)]


def test_a_copy_up_pays_a_userspace_copys_parts_but_one_memory_copy(ctx: SimContext) -> None:
    """Copying 8 KiB of cached data by read + create + fsync on a volume pays the source's
    page-cache hit, the write-back and the commit that the copy-up of the same cached 8
    KiB pays, and one more memory copy (to user space and back: 2 s more), its syscalls,
    the create and the new pages; the copy-up its work-directory entry and rename."""
    fs, overlay = _container(ctx, "web-1")
    vol_fs = PlainFS()
    vol = LocalBackend(ctx, Attachment(fs=vol_fs, key=("volume", "v")))
    copy = fs.open_write("/data/f", 0, 0)
    created = vol_fs.open("/g", write=True, create=True, excl=True)
    vol_fs.write("/g", 0, 8192)
    # every lookup and the source's data already cached, so that only the copies differ
    for c in copy.walk or ():
        overlay._dentries[c.path] = 0.0
    overlay._dentries["/data/f"] = 0.0
    ctx.host.metadata_seen.add((vol.fs_key, "/g"))
    source = (("lower", "app"), 1)
    overlay.missing_chunks(source, "/data/f", 0, 8192)
    assert overlay.missing_chunks(source, "/data/f", 0, 8192) == 0
    log = run(
        ctx,
        {
            "copy-up": [lambda: overlay.charge(WRITE, "/data/f", copy, 0, 0)],
            "userspace": [
                lambda: 100.0,
                lambda: overlay.charge(READ, "/data/f", fs.read("/data/f", 0, 8192), 8192, 0),
                lambda: vol.charge(CREATE, "/g", created, 8192, 0),
                lambda: vol.charge(FSYNC, "/g", vol_fs.fsync("/g"), 0, 0),
            ],
        },
    )
    # copy-up: hit + 8 KiB copy (2.5), write-back (1.125) + commit (1), create + rename in
    # the workdir (0.5), then its own write of 0 bytes: overlay + syscall (0.15625)
    # userspace: read (overlay, syscall, hit, copy: 2.65625), create (syscall, copy, the
    # metadata update, 2 new pages: 2.390625), fsync (1.125 + 1 + syscall: 2.25)
    assert log == [
        ("copy-up", 5.28125, None),
        ("userspace", 100.0, None),
        ("userspace", 102.65625, None),
        ("userspace", 105.046875, None),
        ("userspace", 107.296875, None),
    ]


def test_a_second_container_shares_the_image_lookups_and_pages(ctx: SimContext) -> None:
    """Another container of the same image reading the same lower file reads nothing from
    disk: the image's directories, inode and data are in the host's caches, and its own
    upper directories are in memory (created with the container); it pays the lookup CPU
    of each layer its walk visits."""
    fs_a, a = _container(ctx, "web-1")
    fs_b, b = _container(ctx, "web-2")
    read_a, read_b = fs_a.read("/data/f", 0, 4096), fs_b.read("/data/f", 0, 4096)
    assert read_a == read_b == Read(nbytes=4096, layer=1)
    log = run(
        ctx,
        {
            "a": [lambda: a.charge(READ, "/data/f", read_a, 4096, 0)],
            "b": [lambda: 10.0, lambda: b.charge(READ, "/data/f", read_b, 4096, 0)],
        },
    )
    assert log == [
        ("a", 4 + 3 * LAYER + 2 + 1.65625, None),  # 4 metadata reads, 3 layers, chunk, CPU
        ("b", 10.0, None),
        ("b", 10.0 + 3 * LAYER + 1.65625, None),  # the same 3 layers of CPU, then a hit
    ]
    assert ctx.host.disk.completed == 5


def test_a_failed_lookup_costs_its_layers_and_a_syscall(ctx: SimContext) -> None:
    """A miss on a fresh mount reads the directories its walk consulted (the lower root,
    /data's inode, the lower /data: the upper root is in memory), then the syscall."""
    fs, overlay = _container(ctx, "web-1")
    with pytest.raises(FsError) as caught:
        fs.stat("/data/missing")
    log = run(ctx, {"app": [lambda: overlay.failed(READ, "/data/missing", caught.value)]})
    assert log == [("app", 3 + 3 * LAYER + SYSCALL + OP, None)]


def test_a_negative_lookup_visits_every_layer_cold_fresh_and_warm(ctx: SimContext) -> None:
    """A missing name in a directory merged across 4 layers: /d is looked up in the upper
    root and the 4 lower roots, then the name in /d of each of the 4 layers (9 layers of
    CPU). Cold, that reads the 4 lower roots, /d's inode and the 4 lower /d (9 s); on a
    new mount of the same image (the host's caches warm) the CPU only; again on the same
    mount the negative dentry answers: the syscall only."""
    stack = _deep(4)
    fs_a, a = _container(ctx, "web-1", stack)
    fs_b, b = _container(ctx, "web-2", stack)
    errors = []
    for fs in (fs_a, fs_a, fs_b):
        with pytest.raises(FsError) as caught:
            fs.stat("/d/missing")
        errors.append(caught.value)
    assert [(c.layers_visited, c.found) for c in errors[0].walk or ()] == [(5, True), (4, False)]
    log = run(
        ctx,
        {
            "a": [
                lambda: a.failed(STAT, "/d/missing", errors[0]),
                lambda: a.failed(STAT, "/d/missing", errors[1]),
            ],
            "b": [lambda: 20.0, lambda: b.failed(STAT, "/d/missing", errors[2])],
        },
    )
    cold = 9 + 9 * LAYER + SYSCALL
    assert log == [
        ("a", cold, None),
        ("a", cold + SYSCALL, None),
        ("b", 20.0, None),
        ("b", 20.0 + 9 * LAYER + SYSCALL, None),
    ]


def test_each_component_is_looked_up_through_the_layers_where_its_parent_exists(
    ctx: SimContext,
) -> None:
    """stat of /d/f0 through 4 layers: /d visits the upper root and 4 lowers, f0 the top
    lower /d only (it is in the top layer); /d/f3 then, in the bottom layer, visits the 4
    lower /d: it reads the 3 below the top one (not read yet) and its inode."""
    stack = _deep(4)
    fs, overlay = _container(ctx, "web-1", stack)
    log = run(
        ctx,
        {
            "app": [
                lambda: overlay.charge(STAT, "/d/f0", fs.stat("/d/f0"), 0, 0),
                lambda: overlay.charge(STAT, "/d/f3", fs.stat("/d/f3"), 0, 0),
            ]
        },
    )
    # 4 lower roots, /d's inode, the top lower /d, f0's inode (7 s); 5 + 1 layers of CPU.
    # f3: the 3 lower /d below the top one and its inode (4 s), 4 layers of CPU.
    first = 7 + 6 * LAYER + SYSCALL
    assert log == [("app", first, None), ("app", first + 4 + 4 * LAYER + SYSCALL, None)]


def test_readdir_of_a_merged_directory_costs_per_layer_and_per_entry(ctx: SimContext) -> None:
    """readdir of /d merged across 4 layers (one entry in each): the first reads /d's
    block in each of the 4 layers (after /d's own lookup); every listing costs the 4
    layers merged (1/4 s each) and 4 entries (1/64 s each), warm as cold, because the
    kernel keeps the merged list only with the open directory."""
    stack = _deep(4)
    fs, overlay = _container(ctx, "web-1", stack)
    listing = fs.readdir("/d")
    assert (listing.layers_visited, listing.layer_entries) == (4, (1, 1, 1, 1))
    log = run(
        ctx,
        {
            "app": [
                lambda: overlay.charge(READDIR, "/d", listing, 0, 0),
                lambda: overlay.charge(READDIR, "/d", listing, 0, 0),
            ]
        },
    )
    each = SYSCALL + OP + 4 * 0.25 + 4 * 0.015625
    # /d's lookup: 4 lower roots and its inode (5 s), 5 layers of CPU; then 4 blocks
    assert log == [("app", 5 + 5 * LAYER + 4 + each, None), ("app", 9 + 5 * LAYER + 2 * each, None)]


def test_a_directory_in_one_layer_is_read_straight_from_it(ctx: SimContext) -> None:
    """A directory that lives in one lower layer only is not merged: no per-layer cost,
    its block read once, its entries."""
    stack = LowerStack([Layer.build("top", files={"/a/x": 1}), Layer.build("low", files={})])
    fs, overlay = _container(ctx, "web-1", stack)
    listing = fs.readdir("/a")
    assert listing.layers_visited == 1
    overlay._dentries["/a"] = 0.0
    assert overlay.charge(READDIR, "/a", listing, 0, 0) is not None
    assert overlay.charge(READDIR, "/a", listing, 0, 0) == SYSCALL + OP + 0.015625


def test_after_copy_up_each_call_costs_the_overlay_overhead(ctx: SimContext) -> None:
    """A write to a file already in the upper layer costs what the same write costs on the
    backing file system plus the overlay's per-call overhead (1/32 s)."""
    fs, overlay = _container(ctx, "web-1")
    fs.open_write("/data/f", 0, 1)  # copied up
    again = fs.open_write("/data/f", 0, 4096)
    overlay._dentries["/data/f"] = 0.0
    vol_fs = PlainFS()
    vol_fs.open_write("/f", 0, 8192)
    vol = LocalBackend(ctx, Attachment(fs=vol_fs, key=("volume", "v")))
    ctx.host.metadata_seen.add((vol.fs_key, "/f"))
    plain = vol.charge(WRITE, "/f", vol_fs.open_write("/f", 0, 4096), 4096, 0)
    assert overlay.charge(WRITE, "/data/f", again, 4096, 0) == plain + OP


def test_a_metacopy_chmod_copies_up_without_data(ctx: SimContext) -> None:
    """With metacopy, a chmod of a lower file still copies it up, its data left below:
    the upper inode is created in the work directory and renamed into place (create +
    rename: 0.5 s of CPU, the upper's directories in memory), then the chmod (its update
    0.25 s, syscall: a chmod opens no file, so no overlay call); a second chmod, of the
    upper file, costs the chmod alone
    ([K1] "metacopy" in Documentation/filesystems/overlayfs.rst; ``ovl_setattr`` calls
    ``ovl_copy_up``)."""
    chmod = OP_TABLE["chmod"].cost
    stack = LowerStack([Layer.build("top", files={"/data/f": 1 << 30})])
    fs = OverlayFS(stack, metacopy=True)
    overlay = OverlayBackend(ctx, Attachment(fs=fs, key=("upper", "c"), image=("lower", "app")))
    first = fs.chmod("/data/f", 0o600)
    for c in first.walk or ():  # its lookups done: only the copy-up and the chmod remain
        overlay._dentries[c.path] = 0.0
    second = fs.chmod("/data/f", 0o640)
    log = run(
        ctx,
        {
            "c": [
                lambda: overlay.charge(chmod, "/data/f", first, 0, 0),
                lambda: overlay.charge(chmod, "/data/f", second, 0, 0),
            ]
        },
    )
    assert first.copy_up_bytes == 0
    assert log == [("c", 0.875, None), ("c", 1.25, None)]


def test_a_first_lookup_costs_each_new_component_and_every_walk_its_components(
    ctx: SimContext,
) -> None:
    """stat of /d/f1 through 2 layers (/d in both, f1 in the bottom one), with 1/2 s per
    first-looked-up component (the overlay dentry and inode: ``ovl_lookup``,
    ``ovl_get_inode``), 1/4 s per component and 1/64 s per layer visit of every walk
    (``ovl_permission``, ``ovl_dentry_revalidate``): cold, 6 reads (the 2 lower roots,
    /d's inode, the 2 lower /d, f1's inode), 5 visits (/d: upper root and 2 lowers; f1: 2
    lowers), 2 new components and the walk; again on the same mount, the walk alone; on
    a second mount of the image, no reads but the 2 new components again."""
    host = ctx.host
    host.lookup_component_s, host.walk_component_s, host.walk_layer_s = 0.5, 0.25, 0.015625
    stack = _deep(2)
    fs_a, a = _container(ctx, "web-1", stack)
    fs_b, b = _container(ctx, "web-2", stack)
    assert [(c.layers_visited, c.found) for c in fs_a.walk("/d/f1")] == [
        (3, True),
        (2, True),
    ]
    log = run(
        ctx,
        {
            "a": [
                lambda: a.charge(STAT, "/d/f1", fs_a.stat("/d/f1"), 0, 0),
                lambda: a.charge(STAT, "/d/f1", fs_a.stat("/d/f1"), 0, 0),
            ],
            "b": [lambda: 20.0, lambda: b.charge(STAT, "/d/f1", fs_b.stat("/d/f1"), 0, 0)],
        },
    )
    walk = 2 * 0.25 + 5 * 0.015625
    first = 5 * LAYER + 2 * 0.5 + walk
    assert log == [
        ("a", 6 + first + SYSCALL, None),
        ("a", 6 + first + walk + 2 * SYSCALL, None),
        ("b", 20.0, None),
        ("b", 20.0 + first + SYSCALL, None),
    ]


def test_a_cached_miss_pays_its_walk_and_an_open_file_walks_nothing(ctx: SimContext) -> None:
    """A negative dentry still costs its walk (1/4 s per component, 1/64 s per visit: /d
    through the upper root and 4 lowers, the name through 4); a read of a file the
    application keeps open (``reopens`` False) walks no path, one that opens it does."""
    host = ctx.host
    host.walk_component_s, host.walk_layer_s = 0.25, 0.015625
    fs, overlay = _container(ctx, "web-1", _deep(4))
    with pytest.raises(FsError) as caught:
        fs.stat("/d/missing")
    overlay.failed(STAT, "/d/missing", caught.value)  # its first lookups, not timed here
    walk = 2 * 0.25 + 9 * 0.015625
    assert overlay.failed(STAT, "/d/missing", caught.value) == walk + SYSCALL
    open_read = dataclasses.replace(READ, reopens=False)
    read = fs.read("/d/f0", 0, 0)
    overlay.charge(READ, "/d/f0", read, 0, 0)  # cold: its lookups (not timed here)
    overlay.missing_chunks((("lower", "app"), 1), "/d/f0", 0, 0)  # its page cached
    f0_walk = 2 * 0.25 + (5 + 1) * 0.015625  # /d: 5 visits, f0 in the top lower: 1
    cached = SYSCALL + OP + 0.5  # the overlay, the syscall and a page-cache hit of 0 bytes
    assert overlay.charge(READ, "/d/f0", read, 0, 0) == f0_walk + cached
    assert overlay.charge(open_read, "/d/f0", read, 0, 0) == cached


def test_a_merged_listing_costs_each_entry_its_merge(ctx: SimContext) -> None:
    """readdir of /d merged across 4 layers (one entry each) with 1/8 s per merged entry
    (``ovl_cache_entry_add_rb``, ``ovl_iterate``): each listing costs 4 x 1/8 s more; a
    directory in one layer only is not merged and pays no merge."""
    ctx.host.readdir_merge_s = 0.125
    fs, overlay = _container(ctx, "web-1", _deep(4))
    listing = fs.readdir("/d")
    overlay._dentries["/d"] = 0.0  # looked up already: the listing alone
    ctx.host.lower_dirs_read[(("lower", "app"), "/d")] = 4  # its blocks read
    assert overlay.charge(READDIR, "/d", listing, 0, 0) == (
        SYSCALL + OP + 4 * 0.25 + 4 * 0.015625 + 4 * 0.125
    )
    stack = LowerStack([Layer.build("top", files={"/a/x": 1}), Layer.build("low", files={})])
    fs, overlay = _container(ctx, "web-2", stack)
    overlay._dentries["/a"] = 0.0
    ctx.host.lower_dirs_read[(("lower", "app"), "/a")] = 1
    assert overlay.charge(READDIR, "/a", fs.readdir("/a"), 0, 0) == SYSCALL + OP + 0.015625


def test_a_copy_up_waits_for_its_own_commit_latency(ctx: SimContext) -> None:
    """With host.overlay.copy_up_flush at 3 s (the disk's flush takes 1 s), the copy-up of
    the cached 8 KiB /data/f commits for 3 s: 2 s later than with the disk's flush
    (test_a_copy_up_pays_a_userspace_copys_parts_but_one_memory_copy: 5.28125 s)."""
    ctx.host.copy_up_flush_s = 3.0
    fs, overlay = _container(ctx, "web-1")
    copy = fs.open_write("/data/f", 0, 0)
    for c in copy.walk or ():
        overlay._dentries[c.path] = 0.0
    overlay._dentries["/data/f"] = 0.0
    source = (("lower", "app"), 1)
    overlay.missing_chunks(source, "/data/f", 0, 8192)
    log = run(ctx, {"copy-up": [lambda: overlay.charge(WRITE, "/data/f", copy, 0, 0)]})
    assert log == [("copy-up", 7.28125, None)]


def test_an_inode_read_brings_the_next_ones_of_the_image(ctx: SimContext) -> None:
    """With 4 inodes per inode-table read (ext4 reads 32 blocks of the table ahead: 512
    inodes by default) and one layer of /d/f0../d/f5 (unpacked in that order: /, /d,
    f0, f1 one run; f2..f5 the next), first stats read: /d/f0 the lower root, /d's
    inode and the lower /d (3 s; f0's inode came with /d's); /d/f1 nothing; /d/f2 its
    inode's run (1 s). An inode-table read of 64 KiB moves them in 1/2 s more (the
    disk's 128 KiB/s): it is one request of the whole readahead."""
    ctx.host.inodes_per_read = 4
    ctx.host.inode_table_bytes = 65536
    stack = LowerStack([Layer.build("top", files={f"/d/f{i}": 1 for i in range(6)})])
    fs, overlay = _container(ctx, "web-1", stack)
    stats = [
        lambda i=i: overlay.charge(STAT, f"/d/f{i}", fs.stat(f"/d/f{i}"), 0, 0) for i in range(3)
    ]
    log = run(ctx, {"app": stats})
    each = SYSCALL  # a stat opens no file: no overlay call
    t0 = 3.5 + 3 * LAYER + each  # /d: the upper root and the lower; f0: the lower /d
    t1 = t0 + LAYER + each
    t2 = t1 + 1.5 + LAYER + each
    assert log == [("app", t0, None), ("app", t1, None), ("app", t2, None)]


def test_the_hosts_first_lookup_in_a_layer_costs_its_dentry(ctx: SimContext) -> None:
    """With 1/2 s per lower layer the host consults for a name the first time (that file
    system's dentry and inode: ``d_alloc_parallel``, ``ext4_lookup``), a cold stat of
    /d/f1 through 2 layers pays it 4 times (/d in the 2 lower roots, f1 in the 2 lower
    /d: the upper root is in memory); a second container of the image, its own first
    lookups, not the host's again."""
    ctx.host.cold_lookup_layer_s = 0.5
    stack = _deep(2)
    fs_a, a = _container(ctx, "web-1", stack)
    fs_b, b = _container(ctx, "web-2", stack)
    log = run(
        ctx,
        {
            "a": [lambda: a.charge(STAT, "/d/f1", fs_a.stat("/d/f1"), 0, 0)],
            "b": [lambda: 20.0, lambda: b.charge(STAT, "/d/f1", fs_b.stat("/d/f1"), 0, 0)],
        },
    )
    # 6 reads (2 lower roots, /d's inode, 2 lower /d, f1's inode), 5 visits
    assert log == [
        ("a", 6 + 4 * 0.5 + 5 * LAYER + SYSCALL, None),
        ("b", 20.0, None),
        ("b", 20.0 + 5 * LAYER + SYSCALL, None),
    ]


def test_a_stat_on_an_overlay_pays_its_attributes_and_a_listing_its_open(
    ctx: SimContext,
) -> None:
    """With host.getattr_latency at 1/2 s and host.readdir_open_close at 2 s: a stat of a
    looked-up /d/f0 costs its walk (none here), the syscall and the attributes
    (``ovl_getattr`` asks the real inode; a call on a path opens no file, so no
    overlay.op_overhead); a cached miss pays no attributes; a merged listing of /d (an
    open directory: the overlay's call) pays the directory's open and close once,
    whatever its layers."""
    ctx.host.getattr_s, ctx.host.readdir_open_s = 0.5, 2.0
    fs, overlay = _container(ctx, "web-1", _deep(4))
    overlay._dentries.update({"/d/f0": 0.0, "/d": 0.0})
    assert overlay.charge(STAT, "/d/f0", fs.stat("/d/f0"), 0, 0) == SYSCALL + 0.5
    with pytest.raises(FsError) as caught:
        fs.stat("/d/missing")
    overlay.failed(STAT, "/d/missing", caught.value)  # its first lookups, not timed here
    assert overlay.failed(STAT, "/d/missing", caught.value) == SYSCALL
    ctx.host.lower_dirs_read[(("lower", "app"), "/d")] = 4  # its blocks read
    assert overlay.charge(READDIR, "/d", fs.readdir("/d"), 0, 0) == (
        SYSCALL + OP + 2.0 + 4 * 0.25 + 4 * 0.015625
    )


def test_a_first_merged_listing_reads_each_lower_copy_whole(ctx: SimContext) -> None:
    """/d in 2 lower layers, 300 names of 5 bytes in each (each copy 3 blocks: 2 leaves
    and the root): the first listing reads both copies whole (6 s), less the top copy's
    block a lookup read; the next reads nothing."""
    stack = LowerStack(
        [Layer.build(f"l{k}", files={f"/d/{k}{i:04d}": 0 for i in range(300)}) for k in "ab"]
    )
    fs, overlay = _container(ctx, "web-1", stack)
    listing = fs.readdir("/d")
    assert listing.layer_entries == (300, 300)
    overlay._dentries["/d"] = 0.0  # looked up already
    ctx.host.lower_dirs_read[(("lower", "app"), "/d")] = 1  # the top copy's block read
    each = SYSCALL + OP + 2 * 0.25 + 600 * 0.015625
    log = run(
        ctx,
        {
            "app": [
                lambda: overlay.charge(READDIR, "/d", listing, 0, 0),
                lambda: overlay.charge(READDIR, "/d", listing, 0, 0),
            ]
        },
    )
    assert log == [("app", 5 + each, None), ("app", 5 + 2 * each, None)]


def test_a_copied_up_file_is_cached_in_the_splices_64_kib_folios(ctx: SimContext) -> None:
    """A copy-up writes the upper file 64 KiB at a time (do_splice_direct's pipe of 16
    pages), so its pages are 64 KiB folios (an 8 KiB file: one 8 KiB folio); with
    host.buffer_head_walk at 1/64 s a block, a 4 KiB overwrite of the copied-up file then
    walks 16 blocks (1/4 s) on top of what it costs elsewhere; an 8 KiB file's, 2."""
    host = ctx.host
    host.buffer_head_s, host.max_folio_bytes = 1 / 64, 2 << 20
    stack = LowerStack([Layer.build("top", files={"/data/f": 256 * 1024, "/data/g": 8192})])
    fs, overlay = _container(ctx, "web-1", stack)
    copies = {p: fs.open_write(p, 0, 0) for p in ("/data/f", "/data/g")}
    steps = [lambda p=p, c=c: overlay.charge(WRITE, p, c, 0, 0) for p, c in copies.items()]
    run(ctx, {"copy-up": steps})
    assert host.folios[overlay.fs_key]["/data/f"] == 64 * 1024
    assert host.folios[overlay.fs_key]["/data/g"] == 8192
    base = SYSCALL + OP + 4096 / 4096.0  # the syscall, the overlay's call, the 4 KiB copy
    again = fs.open_write("/data/f", 8192, 4096)
    assert overlay.charge(WRITE, "/data/f", again, 4096, 8192) == base + 16 / 64
    again = fs.open_write("/data/g", 0, 4096)
    assert overlay.charge(WRITE, "/data/g", again, 4096, 0) == base + 2 / 64


def test_a_copy_up_writes_its_upper_file_a_64_kib_folio_at_a_time() -> None:
    """With host.folio_write at 1/16 s a folio, copying up a 256 KiB file goes through 4
    folios of 64 KiB (1/4 s more than with none), an 8 KiB one through 1 (1/16 s)."""
    took: dict[tuple[float, str], float] = {}
    for folio_s in (0.0, 1 / 16):
        each = make_ctx()
        each.host.folio_write_s, each.host.max_folio_bytes = folio_s, 2 << 20
        stack = LowerStack([Layer.build("top", files={"/data/f": 256 * 1024, "/data/g": 8192})])
        fs, overlay = _container(each, "web-1", stack)
        for path in ("/data/f", "/data/g"):
            copy = fs.open_write(path, 0, 0)
            start = each.env.now
            run(each, {"copy-up": [lambda b=overlay, p=path, c=copy: b.charge(WRITE, p, c, 0, 0)]})
            took[folio_s, path] = each.env.now - start
    assert took[1 / 16, "/data/f"] - took[0.0, "/data/f"] == pytest.approx(4 / 16)
    assert took[1 / 16, "/data/g"] - took[0.0, "/data/g"] == pytest.approx(1 / 16)


def test_a_read_of_a_lower_file_goes_through_the_folios_of_its_own_size(ctx: SimContext) -> None:
    """With host.folio_read at 1/8 s a folio, a cached read of an image file goes
    through the folios reads like it make (the model does not follow a lower file's
    first reader): a 4 KiB read at 0 one folio (1/8 s), a 64 KiB read at 64 KiB one of
    64 KiB, an 8 KiB read at 4 KiB two of 4 KiB (its offset is not 8 KiB-aligned), an
    empty one none."""
    host = ctx.host
    host.folio_read_s, host.max_folio_bytes = 1 / 8, 2 << 20
    stack = LowerStack([Layer.build("top", files={"/data/f": 256 * 1024})])
    fs, overlay = _container(ctx, "web-1", stack)
    first = fs.read("/data/f", 0, 4096)
    run(ctx, {"app": [lambda: overlay.charge(READ, "/data/f", first, 4096, 0)]})  # cold
    overlay.missing_chunks((("lower", "app"), 1), "/data/f", 0, 256 * 1024)  # all cached
    walk = overlay._dentries["/data/f"]  # the cached walk's CPU time
    cached = walk + OP + SYSCALL + 0.5  # the walk, the overlay, the syscall, the hit
    for offset, nbytes, folios in ((0, 4096, 1), (65536, 65536, 1), (4096, 8192, 2), (0, 0, 0)):
        read = fs.read("/data/f", offset, nbytes)
        copy = nbytes / 4096.0
        assert overlay.charge(READ, "/data/f", read, nbytes, offset) == cached + copy + folios / 8
