"""The backend seam: what every storage choice's backend offers, and how it is built.

Like the counter every carrier of a parcel service keeps in the same shop: the clerk
(the operation path) hands over the same form whatever the carrier (read 4 KiB of this
file, already decided by the semantic model :mod:`storsim.fs`), asks the same few
questions (does a lock here exclude the whole host? what does taking it cost?), and
gets back the time the delivery takes. How each carrier delivers is its own business.

A backend is built for one file system mounted in one container from an
:class:`Attachment` (``factory(ctx, attachment)``, see :mod:`storsim.backends.registry`)
and then only answers :class:`Backend`'s calls. Each operation reaches it as an
:class:`OpCost`: which parts of an operation cost time (data read or written, a
metadata update, a flush...), so that a new operation needs no change in any backend.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias

import simpy

if TYPE_CHECKING:
    from storsim.devices import Cpu
    from storsim.fs import FsError
    from storsim.run.context import SimContext

__all__ = [
    "Attachment",
    "Backend",
    "BackendFactory",
    "ChargesFailures",
    "ClosesApart",
    "Cost",
    "OpCost",
    "ProcessGen",
    "Served",
    "Version",
    "spend",
]

ProcessGen = Generator[simpy.Event, Any, None]
"""A process step to run with ``yield from``."""

Version: TypeAlias = int
"""A file's version: the number of writes committed to it (:mod:`storsim.run.conflicts`)."""

Served = Generator[simpy.Event, Any, Version | None]
"""A charge that waits for a device: run it with ``yield from``; it returns the version
of the file its data was served at (a client cache may serve an older one than the
latest commit: a stale read), or None for "the latest", what local storage always
serves."""

Cost = float | Served
"""What :meth:`Backend.charge` returns: seconds of CPU time to spend in one burst on the
host's cores (most operations: nothing to wait for but the CPU), or a :data:`Served`
generator (an operation that waits for a device, and spends its CPU parts itself with
``yield host.cpu.compute(seconds)``)."""


def spend(cpu: Cpu, cost: Cost) -> Served:
    """Spend a :data:`Cost` in a process: ``served = yield from spend(host.cpu, cost)``.

    Args:
        cpu: the host's cores: CPU seconds run there as one burst.
        cost: what a backend's ``charge`` or ``lock_cost`` returned.

    Returns:
        The file version the charge served (None: the latest, or no data served).
    """
    if isinstance(cost, int | float):
        yield cpu.compute(cost)
        return None
    return (yield from cost)


@dataclass(frozen=True, slots=True, kw_only=True)
class OpCost:
    """How an operation is charged: which of its parts take time on any storage.

    Backends read these flags, never the operation's name (the remote backend also
    looks the name up in its profile's ``round_trips``, the requests its protocol
    sends for it), so an operation added to the op table (:mod:`storsim.run.ops`) is
    charged by every backend at once.

    Attributes:
        name: the operation (``names.OPS``).
        reads: its bytes come from the file (page cache, disk, server).
        writes: its bytes go to the file (dirty pages, an upload).
        metadata: it updates a directory or an inode (a journal entry locally).
        discards: the file's dirty pages go away with it (unlink, truncate).
        flushes: the file's dirty pages are written to the device (fsync).
        attributes: it needs only the file's attributes, which a client's attribute
            cache answers while fresh (stat).
        lists: it reads a directory's entries (readdir): it costs per entry read, and
            on an overlay per layer merged.
        reopens: the application opens the file for it, so that a distributed mount
            revalidates its cache first (close-to-open [K9]); False for a workload
            that keeps its files open (``keep_open: true``) and for a step after the
            iteration's first on the same file (the file is open already).
        opens: it works on an open file (or directory: readdir): a distributed mount's
            client sends the open's requests when ``reopens``, and the close's when
            ``closes`` (an NFSv4 OPEN and CLOSE, an SMB2 CREATE and CLOSE).
        closes: the file is closed after it: the iteration's last step on the file
            that needs it open (a written file's close flushes it to an NFS server
            [K9]); False with ``keep_open: true``.
        creates: it makes a new directory entry (create, mkdir, link, symlink), which a
            client need not look up first.
        removes: it removes a directory entry (unlink, rmdir, the source of a rename).
        moves: it moves a name (rename): the result's walk ends with the target, which
            the client knows from then on without a lookup.
    """

    name: str
    reads: bool = False
    writes: bool = False
    metadata: bool = False
    discards: bool = False
    flushes: bool = False
    attributes: bool = False
    lists: bool = False
    reopens: bool = True
    opens: bool = False
    closes: bool = True
    creates: bool = False
    removes: bool = False
    moves: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Attachment:
    """What a backend is built for: one file system, mounted in one container.

    Attributes:
        fs: the file system (its identity keys its files in the conflict tracker).
        key: the file system's identity in the host's caches (page cache, dentries):
            the same for every container that mounts the same volume or bind source.
        image: the image's layer stack, shared by its containers (the root overlay).
        server: the name of the remote server under ``host.remotes`` (a distributed
            bind mount).
    """

    fs: object
    key: object
    image: object = None
    server: str | None = None


class Backend(Protocol):
    """Turns one file operation, already decided by the semantic model, into time.

    Attributes:
        lock_semantics: what a ``flock``/``fcntl`` lock on this storage excludes:
            ``"host"`` (every process of the host's kernel), ``"nlm"``/``"brl"`` (every
            client of the server's lock manager), ``"local"`` (only the processes of this
            container's client: NFS ``nolock``) or ``"none"`` (the call fails: ENOLCK).
        separate_clients: each container reaches the storage through a kernel of its
            own (a distributed mount): nothing serialises writes of different
            containers, ``O_APPEND`` is atomic only among one client's appends [K7],
            and a client may serve reads from a stale cache.
        unsupported: operations (and ``"lock"``) the mount refuses before any time is
            spent (given to :class:`storsim.fs.Mount`).
        unsupported_errno: the errno name a refused operation fails with.
    """

    @property
    def lock_semantics(self) -> str: ...

    @property
    def separate_clients(self) -> bool: ...

    @property
    def unsupported(self) -> frozenset[str]: ...

    @property
    def unsupported_errno(self) -> str: ...

    def charge(self, op: OpCost, path: str, result: Any, nbytes: int, offset: int) -> Cost:
        """The simulated time of ``op`` on ``path``.

        Args:
            op: how the operation is charged.
            path: the path inside this backend's file system.
            result: what :mod:`storsim.fs` returned for it, or ``None`` if it failed
                (a backend that charges a failure's lookups offers :meth:`failed`,
                which the operation path calls instead when it has it).
            nbytes: bytes the operation reads or writes.
            offset: byte offset of a read or write.

        Returns:
            Seconds of CPU time when the operation waits for no device (the caller
            spends them in one burst on the host's CPUs, see :func:`spend`), else a :data:`Served`
            generator that spends all of its time when run with ``yield from``. The
            backend's state (caches, dirty pages) is updated by the call itself in the
            first case.
        """
        ...

    def lock_cost(self) -> Cost:
        """The time of one lock or unlock call on this storage."""
        ...

    def locked(self, path: str) -> None:
        """A lock on ``path`` was granted (an NFS client then revalidates its cache)."""
        ...

    def committed(self, path: str, version: Version) -> None:
        """A write of this container to ``path`` committed as ``version`` (a client's
        cache then holds that version). Called for ``separate_clients`` storage only."""
        ...


class ChargesFailures(Protocol):
    """A backend that charges a failed operation what it did before failing.

    The kernel fails an operation only after its path walk: a missing name is looked
    up in every layer of its merged parent (``ovl_lookup`` in fs/overlayfs/namei.c stops
    only at a hit, an opaque directory or the bottom), and a refused ``setxattr`` has
    copied its file up first. :class:`storsim.fs.FsError` carries both (``walk``,
    ``copy_up_bytes``); the operation path gives it to ``failed`` when the backend has
    that method, else it calls ``charge`` with ``None``.
    """

    def failed(self, op: OpCost, path: str, error: FsError) -> Cost:
        """The simulated time of ``op`` on ``path``, which failed with ``error``."""
        ...


class ClosesApart(Protocol):
    """A backend whose close sends requests after the operation it ends is accounted.

    A distributed mount's server applies a write when it answers its WRITE; the close's
    COMMIT and CLOSE follow, so the operation path accounts the write (commits it to the
    conflict tracker) first, then runs ``close`` (:class:`storsim.backends.RemoteBackend`).
    """

    def close(self, op: OpCost, path: str, result: Any) -> ProcessGen | None:
        """The requests of the close that ends ``op`` on ``path`` (whose result was
        ``result``), or None when it sends none."""
        ...


BackendFactory = Callable[["SimContext", Attachment], Backend]
"""Builds a backend: a backend class, called with the run's context and its attachment."""
