"""Local file systems on the host's disk, behind the host's page cache.

Like a library with a reading room: a book already on the reading-room shelf (the page
cache) is handed over at once; any other is fetched from the stacks (the disk), and
stays on the shelf for the next reader. Writes are left on the shelf as dirty pages
(buffered I/O) and reach the disk when the application calls ``fsync``.

Costs, with their sources:

- a path is looked up one component at a time (``link_path_walk``); the first lookup of
  a component on the host reads its parent directory's block (once per directory) and,
  if the name exists, its inode (with the next ones of the file system: ext4 reads the
  inode table ahead, ``host.inode_readahead``); the dentry and inode caches keep both,
  for every container (a negative lookup leaves a negative dentry). A failed operation pays the
  lookups it made (``FsError.walk``).
- a copy of bytes costs the same parts whoever makes it: a read served from the page
  cache pays ``host.memory.cache_hit_latency`` and one memory copy to user space
  (``copy_to_user``), a miss the disk read first; a buffered write one memory copy into
  the page cache (``copy_from_user``); the write-back at ``fsync``, then the journal
  commit (the disk's flush latency). A userspace copy of a file thus pays two memory
  copies; the overlay's copy-up one (:mod:`storsim.backends.overlay`).
- a write that extends a file allocates its new pages and updates the size
  (``host.extend_write`` per 4 KiB page added; ext4 delayed allocation); an overwrite of
  existing pages does not.
- a read from the page cache goes through each folio its bytes lie in, one at a time
  (``host.folio_read`` each: ``filemap_read``'s ``copy_folio_to_iter``), in the file's
  folios (below); a tmpfs's are 4 KiB.
- a buffered write call pays its own checks and bookkeeping once (``host.write_overhead``:
  the inode lock, ``generic_write_checks``, the mtime update, dirty-page balancing),
  which a read does not.
- a buffered write goes through every page-cache folio it touches, one at a time
  (``host.folio_write`` each: ``generic_perform_write``), and walks the buffer heads
  of each, each 4 KiB block (``host.buffer_head_walk``: ``ext4_block_write_begin``,
  ``block_commit_write``), whatever its own size. A file's folios are as large as the
  access that brought its pages into the cache (:func:`folio_bytes`, up to
  ``host.max_folio``): a file written in 1 MiB writes is cached in 1 MiB folios, and a
  4 KiB overwrite of it walks 256 blocks. On a disk that is memory (tmpfs) the folios
  are 4 KiB and have no buffer heads.
- ``readdir`` costs ``host.readdir_per_entry`` per entry read and
  ``host.readdir_open_close`` for the directory's open, the last ``getdents64`` and the
  close (what every listing does: ``os.listdir``, ``ls``); its first time on the host
  it reads the directory's blocks one after another (ext4: 4 KiB blocks of 8-byte
  headers and names; beyond one block a hashed tree whose leaves are 69 % full:
  :func:`storsim.run.context.dir_blocks`), but the one a lookup in it read already.
- every call that walks a path (a ``stat``, an ``open``, a read that opens its file: not
  one on a file the application keeps open) pays each of its components' cached lookup
  (``host.walk_per_component``: ``link_path_walk``, ``lookup_fast``, ``may_lookup``),
  as an overlay's walk does (:mod:`storsim.backends.overlay`); a failed one, the
  components it walked.
- an operation that finds its file and returns its attributes (``stat``, ``getxattr``)
  costs ``host.getattr_latency`` on top of its syscall (``vfs_getattr``,
  ``cp_new_stat``); a missing name fails in the walk, before it.
- a metadata update (create, unlink, mkdir...) costs ``host.metadata_update`` of CPU.

The host's page cache is shared by everything on the host, so two containers reading
the same file of the same volume pay the disk only once. Volumes and local bind mounts
are both served here: on a Linux host both are a directory of the host's own file
system, and differ in semantics and lifecycle (decided by :mod:`storsim.fs` and the
container builder), not in their data path ([P4]: "volume I/O is independent of the
storage driver").
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import simpy

from storsim.backends.base import Attachment, Cost, OpCost, ProcessGen, Version, spend
from storsim.devices import Cpu, Disk
from storsim.fs import FsError, Walk, Wrote
from storsim.run.context import dir_blocks, image_inode_reads, image_inodes

if TYPE_CHECKING:
    from storsim.run.context import SimContext

__all__ = [
    "CHUNK_BYTES",
    "PAGE_BYTES",
    "LocalBackend",
    "components",
    "folio_bytes",
    "folios_touched",
    "read_folios",
    "pages",
]

# The page cache is tracked in chunks of the kernel's default readahead window
# (read_ahead_kb = 128): a miss brings in a whole chunk, as readahead does.
CHUNK_BYTES = 128 * 1024
# A page: the unit an extending write allocates (host.extend_write is per page).
PAGE_BYTES = 4096


def pages(nbytes: int) -> int:
    """Pages of :data:`PAGE_BYTES` that ``nbytes`` bytes added to a file occupy (the
    partial last one included): what an extending write allocates."""
    return -(-nbytes // PAGE_BYTES)


def components(path: str) -> int:
    """Components a walk of ``path`` (absolute, normalised) looks up: 2 for ``/d/f``, 0
    for ``/``."""
    return path.count("/") if path != "/" else 0


def folios_touched(offset: int, nbytes: int, folio: int) -> int:
    """Folios of ``folio`` bytes (aligned) that ``nbytes`` bytes at ``offset`` lie in: what
    a read or a buffered write of them goes through (none for an empty one)."""
    return (offset + nbytes - 1) // folio - offset // folio + 1 if nbytes > 0 else 0


def read_folios(offset: int, nbytes: int, largest: int) -> int:
    """Folios a read of ``nbytes`` at ``offset`` goes through in pages that reads like it
    brought into the cache (folios of its own size, :func:`folio_bytes`): one for a read
    aligned to its power-of-two size, none for an empty one. The folios of a lower
    layer's file, whose first reader the model does not follow."""
    return folios_touched(offset, nbytes, folio_bytes(offset, nbytes, largest)) if nbytes else 0


def folio_bytes(offset: int, nbytes: int, largest: int) -> int:
    """The size of the folios an access of ``nbytes`` at ``offset`` makes of the pages it
    brings into the page cache: the largest power of two, 4 KiB at least, that is not
    above ``nbytes`` nor ``largest`` and that ``offset`` is aligned to (the write's
    length sets the folio's order, ``fgf_set_order``; an unaligned index lowers it,
    ``__filemap_get_folio``; mm/filemap.c). Measured on Linux 6.18 ext4 through
    ``/proc/kpageflags``: a file written in 4 KiB, 16 KiB, 64 KiB or 1 MiB writes is
    cached in folios of that size; in 12 KiB writes, in 8 KiB and 4 KiB ones."""
    size = PAGE_BYTES
    limit = nbytes if nbytes < largest else largest
    while size * 2 <= limit and not offset % (size * 2):
        size *= 2
    return size


class LocalBackend:
    """A plain local file system (ext4/xfs) on the host disk: volumes and local binds."""

    __slots__ = ("_cpu", "_dirty", "_disk", "_env", "_folios", "_fs", "_host", "fs_key")

    #: a lock on a local file system excludes every process of the host's kernel
    lock_semantics = "host"
    separate_clients = False  # one kernel serves every container
    # a class variable: a compiled build (mypyc) keeps only constants as instance defaults
    unsupported: ClassVar[frozenset[str]] = frozenset()
    unsupported_errno = "EOPNOTSUPP"

    def __init__(self, ctx: SimContext, at: Attachment) -> None:
        self._env = ctx.env
        self._host = ctx.host
        self._disk: Disk = ctx.host.disk
        self._cpu: Cpu = ctx.host.cpu
        self._fs: Any = at.fs  # asked for a path's walk (``walk(path)``) when cold
        self.fs_key = at.key  # identifies this file system in the host's caches
        self._dirty: dict[str, int] = {}
        # path -> its cached pages' folio size, shared by every mount of this file
        # system on the host (the page cache is the host's)
        self._folios: dict[str, int] = ctx.host.folios.setdefault(at.key, {})

    def lock_cost(self) -> Cost:
        """Time of one flock/fcntl call on a local file system: a syscall."""
        return self._host.syscall_s

    def locked(self, path: str) -> None:
        """Nothing to revalidate: the host's caches are always coherent."""

    def committed(self, path: str, version: Version) -> None:
        """Nothing to note: every reader sees the latest write."""

    # The hot path. Most operations reach no device (a warm lookup, a page-cache hit, a
    # buffered write): they cost CPU time only, returned as a number for the caller to
    # spend in one timeout, with no generator. Only an operation that waits for the
    # disk gets a generator.
    def charge(self, op: OpCost, path: str, result: Any, nbytes: int, offset: int) -> Cost:
        if result is None:  # failed, with nothing known of its lookups: the syscall only
            return self._host.syscall_s
        key = (self.fs_key, path)
        # the cached walk of its components, but for a file the application keeps open
        walk_s = self.path_walk_s(path) if op.reopens or not op.opens else 0.0
        if key not in self._host.metadata_seen:  # cold lookup: directory blocks, inodes
            walk = getattr(result, "walk", None)
            reads = self.lookup_reads(self._fs.walk(path) if walk is None else walk)
            self._host.metadata_seen.add(key)  # the path itself, whatever its walk named
            return self._cold(reads, walk_s, op, path, result, nbytes, offset)
        return self.warm(walk_s, op, path, result, nbytes, offset)

    def path_walk_s(self, path: str) -> float:
        """The cached walk of ``path`` on this file system (s): each component's
        ``host.walk_per_component``."""
        per = self._host.local_walk_s
        return per * components(path) if per else 0.0

    def failed(self, op: OpCost, path: str, error: FsError) -> Cost:
        """A failed operation: the lookups its walk made (a negative lookup reads the
        parent's block the first time, as a positive one does), then the syscall."""
        walk = error.walk
        host = self._host
        delay = host.syscall_s
        if walk:
            if host.local_walk_s:  # the components it walked, the failing one included
                delay += host.local_walk_s * len(walk)
            reads, tables = self.lookup_reads(walk)
            if reads or tables:
                return self._reads_then(reads, delay, tables)
        return delay

    def lookup_reads(self, walk: Walk) -> tuple[int, int]:
        """The reads from disk the first lookups of ``walk``'s components on the host make
        (noted as read now): for each component the host has not looked up, its parent
        directory's block (once per directory) and, if the name exists, its inode (with
        the next ones: an inode-table read, :attr:`Host.inode_table_bytes`).

        Returns:
            (directory blocks, inode-table reads).
        """
        host = self._host
        seen = host.metadata_seen
        blocks = host.dir_blocks_read
        fs_key = self.fs_key
        reads = tables = 0
        for c in walk:
            key = (fs_key, c.path)
            if key in seen:
                continue
            seen.add(key)  # a dentry, positive or negative
            parent = (fs_key, c.path.rpartition("/")[0] or "/")
            if parent not in blocks:
                blocks.add(parent)
                reads += 1
            if c.found:  # its inode, read from disk with the next ones (readahead)
                tables += image_inode_reads(host, fs_key, self._inode_number(c.path))
        return reads, tables

    def _inode_number(self, path: str) -> int:
        """The inode number of ``path`` on this file system: what it held when the host
        first looked a name up in it is numbered as an image's layer is unpacked
        (:func:`~storsim.run.context.image_inodes`: depth-first, names sorted), the way
        its content is written there: Docker copies an image's content into a new
        volume with containerd's ``fs.CopyDir`` (``os.ReadDir``, sorted, recursing into
        each directory as it comes), older versions and ``docker cp`` with a tar; a path
        made later takes the next number (ext4 hands a group's free inodes out in
        order, ``find_inode_bit``). Numbers, not a count of lookups: looking up one
        directory in every 257 inodes reads a new run of the table every other
        directory (measured, tracefs ``ext4_load_inode`` on Linux 6.18), where a count
        would read one in 512 lookups."""
        host = self._host
        numbers = host.image_inode_numbers.get(self.fs_key)
        if numbers is None:
            numbers = image_inodes([list(self._fs.visible_tree())], host.inodes_per_read)
            host.image_inode_numbers[self.fs_key] = numbers
        number = numbers.get(path)
        if number is None:
            number = numbers[path] = len(numbers)
        return number

    def warm(
        self, owed_s: float, op: OpCost, path: str, result: Any, nbytes: int, offset: int
    ) -> Cost:
        """The cost of a successful operation on a path whose metadata the host has
        cached (no cold lookup to charge).

        Args:
            owed_s: CPU time the caller has not spent yet (the overlay's lookup and
                copy-up CPU parts), spent in the same timeout as this part's own:
                consecutive CPU delays with no device access between them are one
                timeout (the same instants, one event instead of several). A caller may
                owe time only for an operation that consults neither the disk nor, for
                a read, the page cache (a write's pages enter the cache at the start
                of its CPU time, as always here).
            result: what :mod:`storsim.fs` returned (a write's ``grown``, a listing's
                entries).
        """
        host = self._host
        delay = owed_s + host.syscall_s
        if op.reads:
            missing = self.missing_chunks(self.fs_key, path, offset, nbytes)
            # a page-cache hit, then one memory copy to user space (copy_to_user)
            delay += host.cache_hit_s + nbytes / host.copy_bytes_per_s
            if missing:  # the pages it reads in: folios of its size
                self._folios[path] = folio_bytes(offset, nbytes, host.max_folio_bytes)
            per_folio = host.folio_read_s
            if per_folio and nbytes:  # each folio its bytes lie in, copied out on its own
                folio = PAGE_BYTES if self._disk.volatile else self._folios.get(path, PAGE_BYTES)
                delay += per_folio * folios_touched(offset, nbytes, folio)
            if not missing:
                return delay
            return self._then(self._disk.submit_read(missing), delay)
        if op.writes:
            # written pages enter the page cache (dirty until written back): nothing to
            # read; one memory copy from user space (copy_from_user), and the walk of
            # the buffer heads of the folios written into
            walk_s = self.write_pages(path, offset, nbytes)
            dirty = self._dirty
            dirty[path] = dirty.get(path, 0) + nbytes
            delay += host.write_overhead_s  # its checks, mtime update, dirty balancing
            delay += nbytes / host.copy_bytes_per_s
            delay += walk_s
            if op.metadata:  # a create: the new inode and directory entry, all bytes new
                delay += host.metadata_s + host.extend_page_s * pages(nbytes)
            elif type(result) is Wrote and result.grown:  # an extending write
                delay += host.extend_page_s * pages(result.grown)
        elif op.flushes:
            pending = self._dirty.pop(path, 0)
            # On a disk that is memory (tmpfs) the pages are the storage: nothing to do.
            if pending and not self._disk.volatile:
                return self._fsync(pending, delay)
        elif op.metadata:
            delay += host.metadata_s
            if op.discards:
                self._dirty.pop(path, None)
        elif op.lists:
            return self._listing(path, result, delay)
        elif op.attributes:  # the file found: its attributes filled in and copied out
            delay += host.getattr_s
        return delay

    def write_pages(self, path: str, offset: int, nbytes: int) -> float:
        """A buffered write's pages: put in the page cache (nothing read: the write
        fills them), and the CPU time of going through each folio the write touches
        (s): ``host.folio_write`` a folio, and ``host.buffer_head_walk`` per 4 KiB block
        of it (none on a disk that is memory, whose files are in 4 KiB folios: tmpfs).
        A write that brings pages into the cache sets the file's folio size
        (:func:`folio_bytes`); one into cached pages finds it."""
        host = self._host
        last = offset + (nbytes if nbytes > 1 else 1) - 1
        chunk = offset // CHUNK_BYTES
        if chunk == last // CHUNK_BYTES:  # missing_chunks of the common one chunk, inlined
            missing = not host.page_cache.access((self.fs_key, path, chunk), CHUNK_BYTES)
        else:
            missing = self.missing_chunks(self.fs_key, path, offset, nbytes) > 0
        if not nbytes:  # an empty write goes through no folio (generic_perform_write)
            return 0.0
        per_folio = host.folio_write_s
        if self._disk.volatile:  # tmpfs: 4 KiB folios (huge=never), no buffer heads
            return per_folio * folios_touched(offset, nbytes, PAGE_BYTES)
        if missing:
            folio = folio_bytes(offset, nbytes, host.max_folio_bytes)
            self._folios[path] = folio  # what later reads and writes of them go through
        else:
            folio = self._folios.get(path, PAGE_BYTES)
        return folios_touched(offset, nbytes, folio) * (
            per_folio + host.buffer_head_s * (folio // PAGE_BYTES)
        )

    def _listing(self, path: str, result: Any, delay: float) -> Cost:
        """readdir: each entry copied out; the directory's blocks read the first time it
        is listed on the host, one after another (less the one a lookup in it read)."""
        host = self._host
        entries = sum(result.layer_entries)
        delay += host.readdir_open_s + host.readdir_entry_s * entries
        key = (self.fs_key, path)
        if key in host.dirs_listed:
            return delay
        host.dirs_listed.add(key)
        reads = dir_blocks(entries, result.names)
        if key in host.dir_blocks_read:
            reads -= 1
        else:
            host.dir_blocks_read.add(key)
        return self._reads_then(reads, delay) if reads else delay

    def _cold(
        self,
        reads: tuple[int, int],
        walk_s: float,
        op: OpCost,
        path: str,
        result: Any,
        nbytes: int,
        offset: int,
    ) -> ProcessGen:
        """A first lookup: its ``reads`` (directory blocks, inode-table reads), one after
        another (each component's lookup needs its parent's), then the operation (its
        walk, ``walk_s``, included)."""
        yield from self.metadata_reads(*reads)
        yield from spend(self._cpu, self.warm(walk_s, op, path, result, nbytes, offset))

    def _reads_then(self, reads: int, delay: float, tables: int = 0) -> ProcessGen:
        """``reads`` metadata blocks and ``tables`` inode-table reads one after another,
        then ``delay`` of CPU time."""
        yield from self.metadata_reads(reads, tables)
        yield self._cpu.compute(delay)

    def metadata_reads(self, blocks: int, tables: int) -> ProcessGen:
        """``blocks`` directory blocks (one access each), then ``tables`` inode-table
        reads, one after another: ext4 reads ``inode_readahead_blks`` blocks of the table
        around the one it needs, in one request it waits for whole
        (``__ext4_get_inode_loc``: the readahead and the block's read under one plug),
        ``host.inode_table_bytes`` at the disk's read bandwidth."""
        disk = self._disk
        for _ in range(blocks):
            yield disk.submit_meta()
        table = self._host.inode_table_bytes
        for _ in range(tables):
            yield disk.submit_read(table)

    def _then(self, access: simpy.Event, delay: float) -> ProcessGen:
        """Wait for a device access, then spend ``delay`` of CPU time."""
        yield access
        yield self._cpu.compute(delay)

    def _fsync(self, dirty: int, delay: float) -> ProcessGen:
        yield self._disk.submit_write(dirty)  # the dirty pages written back
        yield self._disk.submit_flush()  # the journal commit and the drive's cache flush
        yield self._cpu.compute(delay)

    def missing_chunks(self, key: object, path: str, offset: int, nbytes: int) -> int:
        """Read through the page cache: the bytes of the chunks not cached, which the
        caller must read from the disk (they are inserted now: that read brings them)."""
        access = self._host.page_cache.access
        first = offset // CHUNK_BYTES
        last = (offset + max(nbytes, 1) - 1) // CHUNK_BYTES
        if first == last:  # the common case: one chunk
            return 0 if access((key, path, first), CHUNK_BYTES) else CHUNK_BYTES
        missing = 0
        for chunk in range(first, last + 1):
            if not access((key, path, chunk), CHUNK_BYTES):
                missing += CHUNK_BYTES
        return missing
