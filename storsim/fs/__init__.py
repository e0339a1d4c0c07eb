"""Union file system and mount semantics: what Linux overlayfs and Docker's mounts do, with no time.

A container's root file system is like a stack of overhead-projector transparencies:
image sheets that nobody may draw on, one clean sheet on top for the container, and at
some spots a sheet of another stack slid in (a mount) that hides whatever the image has
there. ``storsim.fs.overlay`` tells the analogy in full.

This package answers "what happens?" for every file operation: which layer served it, how
many layer directories each lookup of its path walk consulted, how many bytes a copy-up
moved, how many entries a ``readdir`` read in each layer, which errno the kernel returns
(and what the failed call cost). It holds no clock; ``storsim.backends`` turns those
answers into time (``storsim.fs.nodes`` says how to read them).

Modules, in the order an operation meets them::

    nodes     Node, FsError, the results (Lookup, Opened, Read, Written, Wrote, Changed,
              Listing, Xattr), Walk and Component, the FileSystem protocol, the node
              kinds, the path helpers
    layers    Layer (one lowerdir), LowerStack (an image's lowers, top-most first, merged
              once and shared by every container of the image), LowerEntry
    overlay   OverlayEngine (the kernel-checked engine: a writable tree over a lower
              stack) and OverlayFS (one container's root); the kernel behaviours that the
              differential test found are listed there
    plain     PlainFS: the same engine over no layers (a volume, a bind mount's host
              directory, a tmpfs)
    mounts    Mount, MountTable: which file system serves a path (longest prefix wins)
    view      ContainerView: every operation through the mount table, with read-only,
              unsupported, EXDEV and EBUSY checks

Every operation returns a small NamedTuple (``Lookup``, ``Opened``, ``Read``, ``Written``,
``Wrote``, ``Changed``, ``Listing``, ``Xattr``) or raises ``FsError`` whose ``errno`` is the
errno *name*. Everything is importable from ``storsim.fs``.

Model choices (simplifications, on purpose; ``storsim.fs.overlay`` adds the overlay's):

- Paths are absolute and normalised lexically (``..`` is resolved as text).
- No symbolic link is ever followed, as if every call used ``openat2(RESOLVE_NO_SYMLINKS)``
  and ``O_NOFOLLOW``: a symlink used as a directory gives ELOOP; opening, reading, writing,
  truncating or fsyncing a symlink gives ELOOP; ``readdir`` of one gives ENOTDIR; ``chmod``
  of one gives EOPNOTSUPP (``fchmodat2(AT_SYMLINK_NOFOLLOW)``); ``stat`` is ``lstat``;
  ``setxattr``/``getxattr`` are ``lsetxattr``/``lgetxattr``.
- Opens never block (``O_NONBLOCK``): a FIFO's peer and a device's driver are not
  modelled (``storsim.fs.overlay`` says what they answer).
- ``truncate(path, size)`` and ``write`` behave like ``open(O_WRONLY)`` followed by
  ``ftruncate``/``pwrite``; negative sizes, offsets and byte counts are API misuse
  (``ValueError``), not simulated failures.
"""

from __future__ import annotations

from storsim.fs.layers import DOCKER_MAX_LAYERS, KERNEL_MAX_LAYERS, Layer, LowerEntry, LowerStack
from storsim.fs.mounts import MUTATING_OPS, OPS, STORAGES, Mount
from storsim.fs.nodes import (
    BLOCKDEV,
    CHARDEV,
    DIR,
    FIFO,
    FILE,
    SPECIAL,
    SYMLINK,
    WHITEOUT,
    XATTR_NAME_MAX,
    XATTR_SIZE_MAX,
    Changed,
    Component,
    FileSystem,
    FsError,
    Listing,
    Lookup,
    Node,
    Opened,
    Read,
    Walk,
    Written,
    Wrote,
    Xattr,
)
from storsim.fs.overlay import OverlayFS
from storsim.fs.plain import PlainFS
from storsim.fs.view import ContainerView

__all__ = [
    "BLOCKDEV",
    "CHARDEV",
    "DIR",
    "DOCKER_MAX_LAYERS",
    "FIFO",
    "FILE",
    "KERNEL_MAX_LAYERS",
    "MUTATING_OPS",
    "OPS",
    "SPECIAL",
    "STORAGES",
    "SYMLINK",
    "WHITEOUT",
    "XATTR_NAME_MAX",
    "XATTR_SIZE_MAX",
    "Changed",
    "Component",
    "ContainerView",
    "FileSystem",
    "FsError",
    "Layer",
    "Listing",
    "Lookup",
    "LowerEntry",
    "LowerStack",
    "Mount",
    "Node",
    "Opened",
    "OverlayFS",
    "PlainFS",
    "Read",
    "Walk",
    "Wrote",
    "Written",
    "Xattr",
]
