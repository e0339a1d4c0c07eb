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

from typing import Any, ClassVar

from storsim.backends import Cost
from storsim.backends.local import CHUNK_BYTES
from storsim.conflicts import ConflictTracker
from storsim.context import Host
from storsim.devices import AttrCache, RemoteServer
from storsim.devices.profiles import OP_CLASS_OF

__all__ = ["RemoteBackend"]

_PAYLOAD = frozenset({"write", "append", "create"})


class RemoteBackend:
    """One container's client of a remote export."""

    storage: ClassVar[str] = "distributed_bind"
    __slots__ = ("_attr", "_cached", "_env", "_host", "_server", "_tracker", "fs_id", "fs_key")

    def __init__(
        self,
        env: Any,
        host: Host,
        server: RemoteServer,
        fs_key: object,
        tracker: ConflictTracker,
        fs_id: int,
    ) -> None:
        self._env = env
        self._host = host
        self._server = server
        self.fs_key = fs_key  # identifies the export in the host's page cache
        self.fs_id = fs_id  # identifies the export's files in the conflict tracker
        self._tracker = tracker
        params = server.params
        self._attr = AttrCache(params.attr_cache_min_s, params.attr_cache_max_s)
        self._cached: dict[str, int] = {}  # path -> file version of this client's cached data

    @property
    def lock_semantics(self) -> str:
        """What a lock does here: "nlm"/"brl" (server-wide), "local" or "none"."""
        return str(self._server.params.locks)

    def lock_cost(self) -> Cost:
        """Time of one lock or unlock call: a round trip to the server's lock manager."""
        if self.lock_semantics in ("nlm", "brl"):
            return self._server.request("lock")
        return self._host.syscall_s

    def revalidate(self, path: str) -> None:
        """Forget cached attributes (taking a lock makes the NFS client revalidate)."""
        self._attr.invalidate(path)

    def wrote(self, path: str, version: int) -> None:
        """This client's own write is in its cache: its cached version is the new one."""
        self._cached[path] = version

    def charge(
        self, op: str, path: str, result: Any, nbytes: int, offset: int, *, keep_open: bool = False
    ) -> Any:
        """Spend the time of ``op``; for a read, return the file version it was served at."""
        env, host, server = self._env, self._host, self._server
        delay = host.syscall_s
        if result is None:  # refused locally (unsupported) or a failed lookup
            if not self._attr.fresh(path, env.now):
                yield from server.request("meta")
            yield env.timeout(delay)
            return None
        served = None
        if op == "stat":
            if not self._attr.fresh(path, env.now):
                yield from server.request("meta")
                self._attr.fill(path, env.now, self._tracker.version((self.fs_id, path)))
        elif op == "read":
            served = yield from self._read(path, offset, nbytes, keep_open)
            delay += host.cache_hit_s + nbytes / host.copy_bytes_per_s
        else:
            payload = nbytes if op in _PAYLOAD else 0
            yield from server.request(OP_CLASS_OF.get(op, "meta"), payload)
            self._attr.invalidate(path)
        yield env.timeout(delay)
        return served

    def _read(self, path: str, offset: int, nbytes: int, keep_open: bool) -> Any:
        env, server, params = self._env, self._server, self._server.params
        current = self._tracker.version((self.fs_id, path))
        if (params.close_to_open and not keep_open) or not self._attr.fresh(path, env.now):
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
