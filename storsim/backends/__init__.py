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

__all__ = ["BACKENDS", "Backend", "Cost", "ProcessGen", "spend"]

ProcessGen = Generator[simpy.Event, Any, None]

Cost = float | ProcessGen
"""What :meth:`Backend.charge` returns: seconds of CPU time to spend in one timeout
(most operations: nothing to wait for but the CPU), or a generator to ``yield from``
(an operation that waits for a device)."""


def spend(env: simpy.Environment, cost: Cost) -> ProcessGen:
    """Spend a :data:`Cost` in a process: ``yield from spend(env, cost)``."""
    if isinstance(cost, int | float):
        yield env.timeout(cost)
    else:
        yield from cost


class Backend(Protocol):
    """Turns one file operation, already decided by the semantic model, into time."""

    storage: ClassVar[str]

    def charge(self, op: str, path: str, result: Any, nbytes: int, offset: int) -> Cost:
        """The simulated time of ``op`` on ``path``.

        Args:
            op: the operation name (``scenario.OPS``).
            path: the path inside this backend's file system.
            result: what :mod:`storsim.fs` returned for it, or ``None`` if it failed.
            nbytes: bytes the operation reads or writes.
            offset: byte offset of a read or write.

        Returns:
            Seconds of CPU time when the operation waits for no device (the caller
            spends them in one timeout, see :func:`spend`), else a generator that spends
            all of its time when run with ``yield from``. The backend's state (caches,
            dirty pages) is updated by the call itself in the first case.
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
