"""Distributed bind mounts: a directory on a network file server (NFS, SMB, S3-FUSE).

Like ordering from a warehouse across town instead of the shop's back room: every
request is a trip (a network round trip) and a wait at the warehouse counter (the
server's queue). The client keeps notes to avoid trips: an attribute cache that trusts
a file's size and date for a few seconds (NFS ``acregmin``..``acregmax`` [K9]) and a
data cache that is checked again at each open (close-to-open consistency [K9]).
Operations the server's protocol does not support fail before any trip (decided by the
semantic model, from the profile).
"""

from __future__ import annotations

from typing import Any, ClassVar

from storsim.backends import ProcessGen
from storsim.backends.local import CHUNK_BYTES
from storsim.context import Host
from storsim.devices import AttrCache, RemoteServer

__all__ = ["RemoteBackend"]

# Operation -> the server's operation class (RemoteParams.server_latency_s keys).
_OP_CLASS = {
    "stat": "meta",
    "open": "meta",
    "read": "read",
    "write": "write",
    "append": "write",
    "create": "create",
    "mkdir": "create",
    "link": "create",
    "symlink": "create",
    "unlink": "remove",
    "rmdir": "remove",
    "rename": "rename",
    "readdir": "readdir",
    "chmod": "setattr",
    "truncate": "setattr",
    "fsync": "commit",
}
_CHANGES_DATA = frozenset({"write", "append", "truncate", "unlink", "rename", "create"})


class RemoteBackend:
    """One container's client of a remote export."""

    storage: ClassVar[str] = "distributed_bind"
    __slots__ = ("_attr", "_env", "_host", "_server", "fs_key", "versions")

    def __init__(
        self,
        env: Any,
        host: Host,
        server: RemoteServer,
        fs_key: object,
        versions: dict[str, int],
    ) -> None:
        self._env = env
        self._host = host
        self._server = server
        self.fs_key = fs_key
        # Shared by every client of the export: bumped by each data change, so a client's
        # cached pages of an older version no longer hit.
        self.versions = versions
        params = server.params
        self._attr = AttrCache(params.attr_cache_min_s, params.attr_cache_max_s)

    def charge(self, op: str, path: str, result: Any, nbytes: int, offset: int) -> ProcessGen:
        env, host, server = self._env, self._host, self._server
        params = server.params
        delay = host.syscall_s
        if result is None:  # refused locally (unsupported) or failed lookup
            if not self._attr.fresh(path, env.now):
                yield from server.request("meta")
            yield env.timeout(delay)
            return
        if op == "stat":
            if not self._attr.fresh(path, env.now):
                yield from server.request("meta")
                self._attr.fill(path, env.now)
        elif op == "read":
            if params.close_to_open or not self._attr.fresh(path, env.now):
                yield from server.request("meta")  # open revalidates the attributes
                self._attr.fill(path, env.now)
            missing = self._missing(path, offset, nbytes) if params.data_cache else nbytes
            if missing:
                yield from server.request("read", missing)
            delay += host.cache_hit_s + nbytes / host.copy_bytes_per_s
        else:
            yield from server.request(
                _OP_CLASS.get(op, "meta"), nbytes if op in ("write", "append") else 0
            )
            if op in _CHANGES_DATA:
                self.versions[path] = self.versions.get(path, 0) + 1
                self._attr.invalidate(path)
        yield env.timeout(delay)

    def _missing(self, path: str, offset: int, nbytes: int) -> int:
        cache = self._host.page_cache
        version = self.versions.get(path, 0)
        missing = 0
        first = offset // CHUNK_BYTES
        last = (offset + max(nbytes, 1) - 1) // CHUNK_BYTES
        for chunk in range(first, last + 1):
            key = (self.fs_key, path, chunk, version)
            if not cache.lookup(key):
                cache.insert(key, CHUNK_BYTES)
                missing += CHUNK_BYTES
        return missing
