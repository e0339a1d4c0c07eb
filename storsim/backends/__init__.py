"""Backends: one per storage choice, each turning a file operation into simulated time.

Like the different carriers a parcel service hands a parcel to, each backend delivers
the same operation (read 4 KiB of this file) by its own route and at its own cost: the
page cache or the local disk, an overlay copy-up first, a network round trip to a
remote server. The *semantics* (does the file exist, is it copied up, which error) are
decided before, by :mod:`storsim.fs`; a backend only charges time for them.

Every backend implements :class:`Backend`. ``BACKENDS`` maps each storage choice to its
class; ``storsim.backends.instant.InstantBackend`` is a zero-cost double for tests.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any, ClassVar, Protocol

import simpy

__all__ = ["BACKENDS", "Backend", "ProcessGen"]

ProcessGen = Generator[simpy.Event, Any, None]


class Backend(Protocol):
    """Turns one file operation, already decided by the semantic model, into time."""

    storage: ClassVar[str]

    def charge(self, op: str, path: str, result: Any, nbytes: int, offset: int) -> ProcessGen:
        """Spend the simulated time of ``op`` on ``path``.

        Args:
            op: the operation name (``scenario.OPS``).
            path: the path inside this backend's file system.
            result: what :mod:`storsim.fs` returned for it, or ``None`` if it failed.
            nbytes: bytes the operation reads or writes.
            offset: byte offset of a read or write.
        """
        ...


def _registry() -> dict[str, type[Any]]:
    from storsim.backends.bind import BindBackend
    from storsim.backends.overlay import OverlayBackend
    from storsim.backends.remote import RemoteBackend
    from storsim.backends.tmpfs import TmpfsBackend
    from storsim.backends.volume import VolumeBackend

    return {
        "image_layer": OverlayBackend,
        "writable_layer": OverlayBackend,
        "local_bind": BindBackend,
        "distributed_bind": RemoteBackend,
        "volume": VolumeBackend,
        "tmpfs": TmpfsBackend,
    }


BACKENDS: dict[str, type[Any]] = _registry()
