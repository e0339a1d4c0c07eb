"""Local file systems on the host's disk, behind the host's page cache.

Like a library with a reading room: a book already on the reading-room shelf (the page
cache) is handed over at once; any other is fetched from the stacks (the disk), and
stays on the shelf for the next reader. Writes are left on the shelf as dirty pages
(buffered I/O) and reach the disk when the application calls ``fsync``.

The host's page cache is shared by everything on the host, so two containers reading
the same file of the same volume pay the disk only once.
"""

from __future__ import annotations

from typing import Any, ClassVar

from storsim.backends import ProcessGen
from storsim.context import Host
from storsim.devices import Disk

__all__ = ["CHUNK_BYTES", "LocalBackend"]

# The page cache is tracked in chunks of the kernel's default readahead window
# (read_ahead_kb = 128): a miss brings in a whole chunk, as readahead does.
CHUNK_BYTES = 128 * 1024

_READS = frozenset({"read"})
_WRITES = frozenset({"write", "append", "create"})
_LOOKUPS = frozenset({"stat", "open", "readdir"})
_METADATA = frozenset(
    {"unlink", "rename", "mkdir", "rmdir", "chmod", "link", "symlink", "truncate", "create"}
)


class LocalBackend:
    """A plain local file system (ext4/xfs) on the host disk: the volume and bind base."""

    storage: ClassVar[str] = "volume"
    __slots__ = ("_dirty", "_disk", "_env", "_host", "fs_key")

    def __init__(self, env: Any, host: Host, fs_key: object) -> None:
        self._env = env
        self._host = host
        self._disk: Disk = host.disk
        self.fs_key = fs_key  # identifies this file system in the host's caches
        self._dirty: dict[str, int] = {}

    #: what a lock does on this file system: excludes every process on the host
    lock_semantics: ClassVar[str] = "host"

    def lock_cost(self) -> ProcessGen:
        """Time of one flock/fcntl call on a local file system: a syscall."""
        yield self._env.timeout(self._host.syscall_s)

    # The hot path: one timeout for all CPU and memory time of the operation, plus a
    # device access only when the operation really reaches the disk.
    def charge(self, op: str, path: str, result: Any, nbytes: int, offset: int) -> ProcessGen:
        host = self._host
        delay = host.syscall_s
        if result is None:  # the operation failed in the semantic model: the syscall only
            yield self._env.timeout(delay)
            return
        seen = host.metadata_seen
        if (self.fs_key, path) not in seen:  # cold lookup: directory block and inode
            seen.add((self.fs_key, path))
            parent = (self.fs_key, path.rpartition("/")[0] or "/")
            if parent not in seen:
                seen.add(parent)
                yield from self._disk.meta()
            yield from self._disk.meta()
        if op in _READS:
            yield from self.read_data(self.fs_key, path, offset, nbytes)
            delay += host.cache_hit_s + nbytes / host.copy_bytes_per_s
        elif op in _WRITES:
            self.cache_written(self.fs_key, path, offset, nbytes)
            self._dirty[path] = self._dirty.get(path, 0) + nbytes
            delay += nbytes / host.copy_bytes_per_s
            if op == "create":
                delay += host.metadata_s
        elif op == "fsync":
            dirty = self._dirty.pop(path, 0)
            if dirty:
                yield from self._disk.write(dirty)
                yield from self._disk.meta()  # journal commit
        elif op in _METADATA:
            delay += host.metadata_s
            if op in ("unlink", "truncate"):
                self._dirty.pop(path, None)
        yield self._env.timeout(delay)

    def read_data(self, key: object, path: str, offset: int, nbytes: int) -> ProcessGen:
        """Read through the page cache: chunks not cached come from the disk."""
        cache = self._host.page_cache
        missing = 0
        first = offset // CHUNK_BYTES
        last = (offset + max(nbytes, 1) - 1) // CHUNK_BYTES
        for chunk in range(first, last + 1):
            ckey = (key, path, chunk)
            if not cache.lookup(ckey):
                cache.insert(ckey, CHUNK_BYTES)
                missing += CHUNK_BYTES
        if missing:
            yield from self._disk.read(missing)

    def cache_written(self, key: object, path: str, offset: int, nbytes: int) -> None:
        """Written data sits in the page cache (dirty) until written back."""
        cache = self._host.page_cache
        first = offset // CHUNK_BYTES
        last = (offset + max(nbytes, 1) - 1) // CHUNK_BYTES
        for chunk in range(first, last + 1):
            ckey = (key, path, chunk)
            if not cache.lookup(ckey):
                cache.insert(ckey, CHUNK_BYTES)

    def forget(self) -> None:
        """Drop dirty-page accounting (the file system went away)."""
        self._dirty.clear()
