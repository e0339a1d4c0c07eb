"""tmpfs mounts: files that live in RAM only.

Like a whiteboard: fast to write on and read from, wiped when the meeting (the
container) stops. Every operation costs a syscall and a memory copy; nothing touches
the disk, and ``fsync`` is free.
"""

from __future__ import annotations

from typing import Any, ClassVar

from storsim.backends import Cost
from storsim.context import Host

__all__ = ["TmpfsBackend"]

_DATA = frozenset({"read", "write", "append", "create"})


class TmpfsBackend:
    """A tmpfs mount (memory only)."""

    storage: ClassVar[str] = "tmpfs"
    __slots__ = ("_env", "_host")

    def __init__(self, env: Any, host: Host) -> None:
        self._env = env
        self._host = host

    lock_semantics: ClassVar[str] = "host"

    def lock_cost(self) -> Cost:
        """Time of one flock/fcntl call: a syscall."""
        return self._host.syscall_s

    def charge(self, op: str, path: str, result: Any, nbytes: int, offset: int) -> Cost:
        host = self._host
        delay = host.syscall_s
        if result is not None and op in _DATA:
            delay += nbytes / host.copy_bytes_per_s
        return delay  # CPU and memory only: one timeout, spent by the caller
