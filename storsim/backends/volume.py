"""Named and anonymous volumes: a directory Docker manages on the host's disk.

Like a locker rented separately from the hotel room: it outlives any one stay
(container), and several guests can be given its key. Its data path is the host's
local file system, the same as the writable layer's after a copy-up ([P4]: "volume
I/O is independent of the storage driver"), without the copy-up.
"""

from __future__ import annotations

from typing import ClassVar

from storsim.backends.local import LocalBackend

__all__ = ["VolumeBackend"]


class VolumeBackend(LocalBackend):
    """A Docker volume (local driver) on the host disk."""

    storage: ClassVar[str] = "volume"
    __slots__ = ()
