"""The simulation context: what every model of one run shares.

Like the stage, lights and clock of a theatre, shared by every actor of one
performance: the SimPy environment, the random generator (seeded once, never global),
the recorder, and the host's devices (its CPUs, disk, page cache and the remote servers
it reaches).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import simpy

from storsim.devices import Cpu, Disk, PageCache, RemoteServer
from storsim.records import Recorder
from storsim.run.conflicts import ConflictTracker

__all__ = [
    "DIR_BLOCK_BYTES",
    "INODE_BYTES",
    "Host",
    "SimContext",
    "blocks_of",
    "dir_blocks",
    "entry_bytes",
    "image_inode_reads",
    "image_inodes",
]


@dataclass(slots=True, kw_only=True)
class Host:
    """The machine's shared devices and kernel caches.

    CPU times (``syscall_s``, ``metadata_s``, ``lookup_per_layer_s``, ``cache_hit_s``, a
    memory copy at ``copy_bytes_per_s``, ``wakeup_s``, ``overlay_op_s``,
    ``readdir_layer_s``, ``readdir_entry_s``, ``extend_page_s``, ``lookup_component_s``,
    ``walk_component_s``, ``walk_layer_s``, ``readdir_merge_s``, ``noop_syscall_s``,
    ``getattr_s``, ``readdir_open_s``, ``buffer_head_s``, ``local_walk_s``) are spent on
    ``cpu``: a backend returns them as seconds, and the operation path runs them there
    (:func:`storsim.backends.spend`).
    Each is a ``host:`` key of the scenario (:mod:`storsim.scenario.host`, with its
    default and source).
    """

    cpu: Cpu  # the cores every process of every container shares
    disk: Disk
    page_cache: PageCache
    remotes: dict[str, RemoteServer]
    syscall_s: float  # fixed cost of entering the kernel for any file operation
    metadata_s: float  # a metadata update (create, unlink, rename...) on a local fs
    lookup_per_layer_s: float  # CPU cost of consulting one layer directory (warm)
    copy_bytes_per_s: float  # memory copy bandwidth (page cache hits, tmpfs)
    cache_hit_s: float  # fixed cost of a page-cache hit
    wakeup_s: float = 0.0  # CPU time a woken thread (a lock waiter) needs to run again
    overlay_op_s: float = 0.0  # each call on an open file of an overlay: the indirection
    readdir_layer_s: float = 0.0  # one layer's copy of a merged directory, per readdir
    readdir_entry_s: float = 0.0  # one directory entry a readdir reads
    extend_page_s: float = 0.0  # each 4 KiB page a write adds to a file's size
    lookup_component_s: float = 0.0  # an overlay's first lookup of a component: its dentry
    walk_component_s: float = 0.0  # each component of every walk on an overlay (cached)
    walk_layer_s: float = 0.0  # each layer a component's lookup visited, at every walk
    readdir_merge_s: float = 0.0  # each entry of a merged directory a readdir reads
    noop_syscall_s: float = 0.0  # a call the file system answers without work (tmpfs fsync)
    getattr_s: float = 0.0  # a call that finds its file and copies its attributes out
    readdir_open_s: float = 0.0  # a listing's open, last getdents and close
    copy_up_flush_s: float | None = None  # a copy-up's commit (None: the disk's flush)
    cold_lookup_layer_s: float = 0.0  # a lower layer's first lookup of a name on the host
    # Each 4 KiB block of each folio a buffered write touches on a block file system
    # (its buffer heads walked), and the largest folio a file's pages may come in.
    buffer_head_s: float = 0.0
    folio_write_s: float = 0.0  # each folio a buffered write goes through, any file system
    folio_read_s: float = 0.0  # each folio a read from the page cache goes through
    write_overhead_s: float = 0.0  # a buffered write call's own fixed part
    local_walk_s: float = 0.0  # each component of every walk on a local fs or tmpfs (cached)
    max_folio_bytes: int = 4096
    # fs key -> path -> the folio size of the file's cached pages (bytes), set by the
    # access that brought them into the page cache
    # (:func:`storsim.backends.local.folio_bytes`); not there: 4 KiB pages.
    folios: dict[object, dict[str, int]] = field(default_factory=dict)
    # Metadata the host kernel has read from disk once: (fs key, path); the dentry and
    # inode caches are per host, shared by every container and mount of the same fs.
    metadata_seen: set[tuple[object, str]] = field(default_factory=set)
    # Directories whose blocks the host has read from disk once: (fs key, path).
    dir_blocks_read: set[tuple[object, str]] = field(default_factory=set)
    # (image layer stack, directory) -> how many of its lower layers' directories the
    # host has read (always the top-most ones: lookups go top-down).
    lower_dirs_read: dict[tuple[object, str], int] = field(default_factory=dict)
    # Directories a listing has read whole on the host (a lookup reads one block of its
    # parent; a listing every block): (fs key, path), and for an image's directories
    # (layer stack, path) -> how many of its top-most lower copies.
    dirs_listed: set[tuple[object, str]] = field(default_factory=set)
    lower_dirs_listed: dict[tuple[object, str], int] = field(default_factory=dict)
    # (image layer stack, path) -> how many of its lower layers the host has looked the
    # name up in (their dentries exist: the top-most ones, lookups go top-down).
    lower_lookups: dict[tuple[object, str], int] = field(default_factory=dict)
    # Inodes one inode-table read brings in (host.inode_readahead: 512 on ext4), and
    # its bytes (256 an inode, mke2fs's default): one request, waited for whole.
    inodes_per_read: int = 512
    inode_table_bytes: int = 512 * 256
    # A file system (an image's layer stack, or a local file system's key) -> the inode
    # number of each path (an image's: its top-most copy's; :func:`image_inodes`), and
    # the runs of inodes_per_read inodes of each the host has read: inode reads go by
    # number, not by count (ext4 reads the inode table ahead, a run at a time).
    image_inode_numbers: dict[object, dict[str, int]] = field(default_factory=dict)
    inode_runs_read: set[tuple[object, int]] = field(default_factory=set)


# ext4's directory blocks (4 KiB, mke2fs's default) and its entries: an 8-byte header
# (inode, rec_len, name_len, file_type) and the name, padded to 4 bytes
# (ext4_dir_entry_2, EXT4_DIR_REC_LEN in fs/ext4/ext4.h); "." and ".." take 12 each.
DIR_BLOCK_BYTES = 4096
# An ext4 inode on disk (mke2fs's default inode_size): an inode-table read of
# host.inode_readahead inodes moves that many times this.
INODE_BYTES = 256
_DOTS_BYTES = 24
# A directory of more than one block is a hashed B-tree (htree, dir_index: mke2fs's
# default): names go to leaves by hash, so in random order, and a full leaf splits in
# two; under random insertions a B-tree's leaves are ln 2 = 69 % full on average (Yao,
# "On random 2-3 trees", Acta Informatica 9, 1978), plus its root index block.
_LEAF_FILL = math.log(2)


def dir_blocks(entries: int, names: Sequence[str]) -> int:
    """Blocks of a directory of ``entries`` names, their lengths those of ``names`` on
    average (all of them when ``names`` is empty: one block): what a listing reads the
    first time (``ext4_readdir``; an htree's leaves one after another,
    ``ext4_htree_fill_tree``, ``ext4_read_dirblock``)."""
    return blocks_of(entries, entry_bytes(names))


def entry_bytes(names: Sequence[str]) -> float:
    """The mean size of ext4's directory entries for ``names`` (0 for none)."""
    if not names:
        return 0.0
    return sum((8 + len(n.encode()) + 3) & ~3 for n in names) / len(names)


def blocks_of(entries: int, per_entry: float) -> int:
    """Blocks of a directory of ``entries`` entries of ``per_entry`` bytes on average
    (:func:`entry_bytes`; 0: one block)."""
    if per_entry <= 0 or entries <= 0:
        return 1
    size = _DOTS_BYTES + entries * per_entry
    if size <= DIR_BLOCK_BYTES:
        return 1
    return 1 + math.ceil(size / (DIR_BLOCK_BYTES * _LEAF_FILL))


def _walk_order(path: str) -> tuple[str, ...]:
    return tuple(path.split("/"))


def image_inodes(layers: Sequence[Iterable[str]], per_run: int) -> dict[str, int]:
    """The inode numbers an image's files get when its layers are unpacked: the bottom
    layer first, each layer's entries in its archive's order (a depth-first walk with
    the names sorted: Go's ``filepath.Walk``, which writes a layer's tar, and the order
    ``tar`` unpacks it in), numbered one after another; each layer starting a run of
    ``per_run`` of its own (its ``diff`` directory is a new directory of Docker's
    ``overlay2`` directory, which ext4's Orlov allocator puts in a block group of its
    own). A path's number is its top-most copy's.

    Args:
        layers: each layer's paths, top-most layer first (``LowerStack.layers``
            order).
        per_run: inodes one inode-table read brings in.
    """
    numbers: dict[str, int] = {}
    n = 0
    for paths in reversed(layers):
        for path in sorted(paths, key=_walk_order):
            numbers[path] = n  # an upper layer's copy replaces a lower one's
            n += 1
        n = -(-n // per_run) * per_run  # the next layer: a run of its own
    return numbers


def image_inode_reads(host: Host, stack: object, number: int) -> int:
    """Reads from disk for looking up the inode numbered ``number`` of an image's layer
    ``stack`` (:func:`image_inodes`): 1 if the run of ``host.inodes_per_read`` it lies
    in has not been read on the host (ext4 reads ``inode_readahead_blks`` blocks of the
    inode table from the one that holds it, a run aligned on the table's blocks), else
    0."""
    run = (stack, number // host.inodes_per_read)
    if run in host.inode_runs_read:
        return 0
    host.inode_runs_read.add(run)
    return 1


@dataclass(slots=True, kw_only=True)
class SimContext:
    """Everything one simulation run shares."""

    env: simpy.Environment
    rng: np.random.Generator
    recorder: Recorder
    host: Host
    tracker: ConflictTracker
