"""Local bind mounts: a host directory shown inside the container, both ways.

Like a window between two rooms: the host and the container see and change the same
files. On a Linux host its data path is the host's own file system, so it costs what a
volume costs; what differs is the semantics (it hides the image's files at its
target, it may be read-only) and the lifecycle (the host owns the data).
"""

from __future__ import annotations

from typing import ClassVar

from storsim.backends.local import LocalBackend

__all__ = ["BindBackend"]


class BindBackend(LocalBackend):
    """A bind mount of a local host directory."""

    storage: ClassVar[str] = "local_bind"
    __slots__ = ()
