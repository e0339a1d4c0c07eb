"""tmpfs mounts: files that live in RAM only.

Like a whiteboard: fast to write on and read from, wiped when the meeting (the
container) stops. Every operation costs a syscall and a memory copy; nothing touches
the disk, and ``fsync`` is a bare system call (``host.noop_syscall_latency``: tmpfs's
``fsync`` is ``noop_fsync``, mm/shmem.c). A write pays its own checks and mtime update once
(``host.write_overhead``: ``shmem_file_write_iter``) and goes through its file's 4 KiB folios
one at a time (``host.folio_write`` each: tmpfs's default ``huge=never`` keeps its
files in 4 KiB pages), a read through them too (``host.folio_read`` each:
``shmem_file_read_iter``), and an extending write pays its new pages
(``host.extend_write``: shmem allocates them), a ``readdir`` its entries
(``host.readdir_per_entry``) and the directory's open and close
(``host.readdir_open_close``), a ``stat`` of a file it finds its attributes
(``host.getattr_latency``), and a call that walks its path each component
(``host.walk_per_component``), as on a local file system.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from storsim.backends.base import Attachment, Cost, OpCost, Version
from storsim.backends.local import PAGE_BYTES, components, folios_touched, pages

if TYPE_CHECKING:
    from storsim.run.context import SimContext

__all__ = ["TmpfsBackend"]


class TmpfsBackend:
    """A tmpfs mount (memory only)."""

    __slots__ = ("_env", "_host")

    lock_semantics = "host"  # the host's kernel serves every lock
    separate_clients = False
    unsupported: frozenset[str] = frozenset()
    unsupported_errno = "EOPNOTSUPP"

    def __init__(self, ctx: SimContext, at: Attachment) -> None:
        self._env = ctx.env
        self._host = ctx.host

    def lock_cost(self) -> Cost:
        """Time of one flock/fcntl call: a syscall."""
        return self._host.syscall_s

    def locked(self, path: str) -> None:
        """Nothing to revalidate."""

    def committed(self, path: str, version: Version) -> None:
        """Nothing to note."""

    def charge(self, op: OpCost, path: str, result: Any, nbytes: int, offset: int) -> Cost:
        host = self._host
        if op.flushes and not op.writes:
            # tmpfs's fsync is noop_fsync (mm/shmem.c): the system call, no file work
            return host.noop_syscall_s
        delay = host.syscall_s
        if result is None:
            return delay
        if host.local_walk_s and (op.reopens or not op.opens):  # its path's cached walk
            delay += host.local_walk_s * components(path)
        if op.reads or op.writes:
            delay += nbytes / host.copy_bytes_per_s  # one memory copy, to or from user
            if op.reads and host.folio_read_s:  # each 4 KiB folio found and copied out
                delay += host.folio_read_s * folios_touched(offset, nbytes, PAGE_BYTES)
            if op.writes:  # its own checks and mtime update, then each of its 4 KiB
                # folios (huge=never) written one at a time
                delay += host.write_overhead_s
                if host.folio_write_s:
                    delay += host.folio_write_s * folios_touched(offset, nbytes, PAGE_BYTES)
                # an extending write allocates its new pages (shmem)
                grown = nbytes if op.metadata else (getattr(result, "grown", 0) or 0)
                if grown:
                    delay += host.extend_page_s * pages(grown)
        elif op.lists:  # its entries, and the open, last getdents and close of any listing
            delay += host.readdir_open_s + host.readdir_entry_s * sum(result.layer_entries)
        elif op.attributes:  # the file found: its attributes copied out (shmem_getattr)
            delay += host.getattr_s
        return delay  # CPU and memory only: one timeout, spent by the caller
