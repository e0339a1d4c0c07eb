"""The registry: which backend serves each storage choice.

Like the carriers' list pinned by a parcel shop's counter: one line per kind of
delivery, naming who does it. The container builder (:mod:`storsim.simulation`) looks
every mount's storage choice up here and builds its backend with
``factory(ctx, attachment)``; a new storage choice is one backend module and one line
below (and its name in :data:`storsim.names.STORAGES`).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from storsim.backends.base import BackendFactory
from storsim.backends.local import LocalBackend
from storsim.backends.overlay import OverlayBackend
from storsim.backends.remote import RemoteBackend
from storsim.backends.tmpfs import TmpfsBackend

__all__ = ["BACKENDS", "backend_factory"]

BACKENDS: Mapping[str, BackendFactory] = MappingProxyType(
    {
        # the root file system: image layers under the container's writable layer
        "image_layer": OverlayBackend,
        "writable_layer": OverlayBackend,
        # A host directory, bind-mounted or managed by Docker: the same data path on a
        # Linux host ([P4] "volume I/O is independent of the storage driver").
        "local_bind": LocalBackend,
        "distributed_bind": RemoteBackend,
        "volume": LocalBackend,
        "tmpfs": TmpfsBackend,
    }
)
"""Storage choice -> the factory of its backends, in :data:`storsim.names.STORAGES` order."""


def backend_factory(
    storage: str, backends: Mapping[str, BackendFactory] = BACKENDS
) -> BackendFactory:
    """The factory of the backends of ``storage``.

    Args:
        storage: a storage choice.
        backends: the registry to look in (tests give one whose entries are doubles).

    Raises:
        ValueError: no backend is registered for ``storage``; the message lists those
            that are.
    """
    factory = backends.get(storage)
    if factory is None:
        raise ValueError(
            f"storage must be one of {', '.join(backends)} (got {storage!r}): "
            "no backend is registered for it"
        )
    return factory
