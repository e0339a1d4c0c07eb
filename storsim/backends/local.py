"""Local file systems on the host's disk, behind the host's page cache.

Like a library with a reading room: a book already on the reading-room shelf (the page
cache) is handed over at once; any other is fetched from the stacks (the disk), and
stays on the shelf for the next reader. Writes are left on the shelf as dirty pages
(buffered I/O) and reach the disk when the application calls ``fsync``.

The host's page cache is shared by everything on the host, so two containers reading
the same file of the same volume pay the disk only once. Volumes and local bind mounts
are both served here: on a Linux host both are a directory of the host's own file
system, and differ in semantics and lifecycle (decided by :mod:`storsim.fs` and the
container builder), not in their data path ([P4]: "volume I/O is independent of the
storage driver").
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import simpy

from storsim.backends.base import Attachment, Cost, OpCost, ProcessGen, Version, spend
from storsim.devices import Cpu, Disk

if TYPE_CHECKING:
    from storsim.run.context import SimContext

__all__ = ["CHUNK_BYTES", "LocalBackend"]

# The page cache is tracked in chunks of the kernel's default readahead window
# (read_ahead_kb = 128): a miss brings in a whole chunk, as readahead does.
CHUNK_BYTES = 128 * 1024


class LocalBackend:
    """A plain local file system (ext4/xfs) on the host disk: volumes and local binds."""

    __slots__ = ("_cpu", "_dirty", "_disk", "_env", "_host", "fs_key")

    #: a lock on a local file system excludes every process of the host's kernel
    lock_semantics = "host"
    separate_clients = False  # one kernel serves every container
    unsupported: frozenset[str] = frozenset()
    unsupported_errno = "EOPNOTSUPP"

    def __init__(self, ctx: SimContext, at: Attachment) -> None:
        self._env = ctx.env
        self._host = ctx.host
        self._disk: Disk = ctx.host.disk
        self._cpu: Cpu = ctx.host.cpu
        self.fs_key = at.key  # identifies this file system in the host's caches
        self._dirty: dict[str, int] = {}

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
        if result is None:  # the operation failed in the semantic model: the syscall only
            return self._host.syscall_s
        key = (self.fs_key, path)
        if key not in self._host.metadata_seen:  # cold lookup: directory block and inode
            return self._cold(key, op, path, nbytes, offset)
        return self.warm(0.0, op, path, nbytes, offset)

    def warm(self, owed_s: float, op: OpCost, path: str, nbytes: int, offset: int) -> Cost:
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
        """
        host = self._host
        delay = owed_s + host.syscall_s
        if op.reads:
            missing = self.missing_chunks(self.fs_key, path, offset, nbytes)
            delay += host.cache_hit_s + nbytes / host.copy_bytes_per_s
            return self._then(self._disk.submit_read(missing), delay) if missing else delay
        if op.writes:
            # written pages enter the page cache (dirty until written back): nothing to read
            self.missing_chunks(self.fs_key, path, offset, nbytes)
            dirty = self._dirty
            dirty[path] = dirty.get(path, 0) + nbytes
            delay += nbytes / host.copy_bytes_per_s
            if op.metadata:  # a create: the new inode and directory entry too
                delay += host.metadata_s
        elif op.flushes:
            pending = self._dirty.pop(path, 0)
            # On a disk that is memory (tmpfs) the pages are the storage: nothing to do.
            if pending and not self._disk.volatile:
                return self._fsync(pending, delay)
        elif op.metadata:
            delay += host.metadata_s
            if op.discards:
                self._dirty.pop(path, None)
        return delay

    def _cold(
        self, key: tuple[object, str], op: OpCost, path: str, nbytes: int, offset: int
    ) -> ProcessGen:
        """A first lookup reads the directory block (once per directory) and the inode."""
        seen = self._host.metadata_seen
        seen.add(key)
        parent = (self.fs_key, path.rpartition("/")[0] or "/")
        if parent not in seen:
            seen.add(parent)
            yield self._disk.submit_meta()
        yield self._disk.submit_meta()
        yield from spend(self._cpu, self.warm(0.0, op, path, nbytes, offset))

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
