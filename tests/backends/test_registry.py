"""The registry: every storage choice has a backend; an unknown one is refused."""

from __future__ import annotations

import pytest

from storsim.backends import BACKENDS, Attachment, Backend, backend_factory
from storsim.backends.instant import InstantBackend
from storsim.backends.local import LocalBackend
from storsim.backends.overlay import OverlayBackend
from storsim.backends.remote import RemoteBackend
from storsim.backends.tmpfs import TmpfsBackend
from storsim.fs import PlainFS
from storsim.names import STORAGES
from storsim.run.context import SimContext


def test_every_storage_choice_has_a_backend() -> None:
    """The registry names exactly the storage choices, in their order; the root's two
    choices share the overlay, volumes and local binds the local file system."""
    assert tuple(BACKENDS) == STORAGES
    assert BACKENDS["image_layer"] is BACKENDS["writable_layer"] is OverlayBackend
    assert BACKENDS["volume"] is BACKENDS["local_bind"] is LocalBackend
    assert (BACKENDS["distributed_bind"], BACKENDS["tmpfs"]) == (RemoteBackend, TmpfsBackend)


def test_an_unknown_storage_choice_is_refused() -> None:
    """Looking up a storage choice nobody registered raises ValueError naming the choices."""
    with pytest.raises(
        ValueError, match=r"storage must be one of image_layer, .*tmpfs \(got 'nfs'\)"
    ):
        backend_factory("nfs")


def test_a_registry_of_doubles_is_used_as_given() -> None:
    """backend_factory looks in the registry it is given (how tests swap in doubles)."""
    assert backend_factory("volume", {"volume": InstantBackend}) is InstantBackend
    with pytest.raises(ValueError, match=r"must be one of volume \(got 'tmpfs'\)"):
        backend_factory("tmpfs", {"volume": InstantBackend})


@pytest.mark.parametrize("storage", STORAGES)
def test_each_backend_is_built_from_an_attachment(ctx: SimContext, storage: str) -> None:
    """Every registered factory builds a backend from the context and an attachment, and
    it offers the whole protocol."""
    at = Attachment(fs=PlainFS(), key=("k", storage), image=("lower", "app"), server="nas")
    backend: Backend = BACKENDS[storage](ctx, at)
    assert backend.lock_semantics in ("host", "nlm", "brl", "local", "none")
    assert isinstance(backend.separate_clients, bool)
    assert backend.separate_clients == (storage == "distributed_bind")
    assert backend.unsupported == frozenset()
    for hook in ("charge", "lock_cost", "locked", "committed"):
        assert callable(getattr(backend, hook))


def test_a_remote_backend_needs_a_declared_server(ctx: SimContext) -> None:
    """A distributed bind attached to a server the host does not reach is refused."""
    with pytest.raises(ValueError, match=r"server must name a remote of the host: nas \(got 'x'\)"):
        RemoteBackend(ctx, Attachment(fs=PlainFS(), key="k", server="x"))
