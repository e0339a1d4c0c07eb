"""Distributed bind mounts: a directory on a network file server (NFS, SMB, S3-FUSE).

Like ordering from a warehouse across town instead of the shop's back room: every
request is a trip (a network round trip) and a wait at the warehouse counter (the
server's queue). The client keeps notes to avoid trips: an attribute cache that trusts
a file's size and date for a few seconds (NFS ``acregmin``..``acregmax`` [K9]) and a
data cache that is checked again at each open (close-to-open consistency [K9]).
Operations the server's protocol does not support fail before any trip (decided by the
semantic model, from the profile).

Each container is its own client (as replicas spread over nodes are): its caches are
its own, so it can read a version older than another container's latest write (a
stale read) when it keeps a file open and its attribute cache is still fresh.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from storsim.backends.base import Attachment, Cost, OpCost, Served, Version
from storsim.backends.local import CHUNK_BYTES
from storsim.devices import AttrCache
from storsim.devices.profiles import OP_CLASS_OF

if TYPE_CHECKING:
    from storsim.run.context import SimContext

__all__ = ["RemoteBackend"]


class RemoteBackend:
    """One container's client of a remote export."""

    __slots__ = ("_attr", "_cached", "_env", "_host", "_server", "_tracker", "fs_id", "fs_key")

    separate_clients = True  # each container is a client of its own

    def __init__(self, ctx: SimContext, at: Attachment) -> None:
        if at.server is None or at.server not in ctx.host.remotes:
            raise ValueError(
                f"server must name a remote of the host: {', '.join(ctx.host.remotes)} "
                f"(got {at.server!r})"
            )
        self._env = ctx.env
        self._host = ctx.host
        self._server = server = ctx.host.remotes[at.server]
        self.fs_key = at.key  # identifies the export in the host's page cache
        self.fs_id = id(at.fs)  # identifies the export's files in the conflict tracker
        self._tracker = ctx.tracker
        params = server.params
        self._attr = AttrCache(params.attr_cache_min_s, params.attr_cache_max_s)
        self._cached: dict[str, int] = {}  # path -> file version of this client's cached data

    @property
    def lock_semantics(self) -> str:
        """What a lock does here: "nlm"/"brl" (server-wide), "local" or "none"."""
        return str(self._server.params.locks)

    @property
    def unsupported(self) -> frozenset[str]:
        """What the server's protocol refuses (its profile's ``unsupported_ops``)."""
        return self._server.params.unsupported_ops

    @property
    def unsupported_errno(self) -> str:
        """The errno a refused operation gives (its profile's ``unsupported_errno``)."""
        return self._server.params.unsupported_errno

    def lock_cost(self) -> Cost:
        """Time of one lock or unlock call: a round trip to the server's lock manager."""
        if self.lock_semantics in ("nlm", "brl"):
            return self._server.request("lock")
        return self._host.syscall_s

    def locked(self, path: str) -> None:
        """A lock from the server's lock manager makes the NFS client revalidate the
        file's attributes [K9] (a lock only emulated locally does not)."""
        if self.lock_semantics in ("nlm", "brl"):
            self._attr.invalidate(path)

    def committed(self, path: str, version: Version) -> None:
        """This client's own write is in its cache: its cached version is the new one."""
        self._cached[path] = version

    def charge(self, op: OpCost, path: str, result: Any, nbytes: int, offset: int) -> Served:
        """Spend the time of ``op``; for a read, return the file version it was served at."""
        env, host, server = self._env, self._host, self._server
        delay = host.syscall_s
        if result is None:  # refused locally (unsupported) or a failed lookup
            if not self._attr.fresh(path, env.now):
                yield from server.request("meta")
            yield host.cpu.compute(delay)
            return None
        served = None
        if op.attributes:
            if not self._attr.fresh(path, env.now):
                yield from server.request("meta")
                self._attr.fill(path, env.now, self._tracker.version((self.fs_id, path)))
        elif op.reads:
            served = yield from self._read(path, offset, nbytes, reopens=op.reopens)
            delay += host.cache_hit_s + nbytes / host.copy_bytes_per_s
        else:
            payload = nbytes if op.writes else 0
            yield from server.request(OP_CLASS_OF.get(op.name, "meta"), payload)
            self._attr.invalidate(path)
        yield host.cpu.compute(delay)  # the syscall (and a cached read's copy) on a core
        return served

    def _read(self, path: str, offset: int, nbytes: int, *, reopens: bool) -> Served:
        env, server, params = self._env, self._server, self._server.params
        current = self._tracker.version((self.fs_id, path))
        if (params.close_to_open and reopens) or not self._attr.fresh(path, env.now):
            yield from server.request("meta")  # GETATTR: is my cached copy still good?
            self._attr.fill(path, env.now, current)
            self._cached[path] = current
        version = self._cached.get(path, current)
        missing = self._missing(path, offset, nbytes, version) if params.data_cache else nbytes
        if missing:
            yield from server.request("read", missing)
            self._cached[path] = version = current
            if params.data_cache:
                self._fill(path, offset, nbytes, current)
        return version

    def _chunks(self, offset: int, nbytes: int) -> range:
        return range(offset // CHUNK_BYTES, (offset + max(nbytes, 1) - 1) // CHUNK_BYTES + 1)

    def _missing(self, path: str, offset: int, nbytes: int, version: int) -> int:
        cache = self._host.page_cache
        missing = 0
        for chunk in self._chunks(offset, nbytes):
            if not cache.lookup((self.fs_key, path, chunk, version)):
                missing += CHUNK_BYTES
        return missing

    def _fill(self, path: str, offset: int, nbytes: int, version: int) -> None:
        cache = self._host.page_cache
        for chunk in self._chunks(offset, nbytes):
            cache.insert((self.fs_key, path, chunk, version), CHUNK_BYTES)
