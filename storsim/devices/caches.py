"""Caches: what a host or a client remembers so that it need not ask the device again.

Like a desk drawer of photocopies: a clerk who keeps copies of the files asked for most
often answers at once from the drawer (a hit) and walks to the archive only for the
others (a miss), throwing out the copy untouched the longest when the drawer is full.
The page cache is that drawer for file data on one host; the attribute cache is a
client's note of when it last checked a file on a server, and how long it trusts it.

Caches hold no time: the backends that use them charge a hit or a miss on the devices.
Sources in brackets are keys of ``shared/reference/published-figures.md``, or, with an
``X`` ([X11]), of the list in :mod:`storsim.devices.profiles`.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable

from storsim.devices.params import PageCacheParams

__all__ = ["AttrCache", "PageCache"]


class PageCache:
    """The host's page cache: a byte-capacity LRU of file (or chunk) keys.

    Shared by every container on the host: overlayfs serves an image layer's file to
    every container from one cache entry [L13]. It holds no time; the caller charges
    ``params.hit_latency_s`` and the copy for a hit, and the device for a miss.

    Args:
        params: capacity and hit costs; defaults to ``PageCacheParams()``.

    Attributes:
        hits: lookups that found the key.
        misses: lookups that did not.
        evictions: entries dropped to make room.
        used_bytes: bytes currently cached.
    """

    __slots__ = (
        "_entries",
        "capacity_bytes",
        "evictions",
        "hits",
        "misses",
        "params",
        "used_bytes",
    )

    def __init__(self, params: PageCacheParams | None = None) -> None:
        self.params = PageCacheParams() if params is None else params
        self.capacity_bytes = self.params.size_bytes
        self.used_bytes = 0
        self.hits = 0
        self.misses = 0
        self.evictions = 0
        self._entries: OrderedDict[Hashable, int] = OrderedDict()

    def lookup(self, key: Hashable) -> bool:
        """Whether ``key`` is cached; a hit makes it the most recently used.

        Args:
            key: the cached object's identity, e.g. ``(fs, path)`` or ``(fs, path, chunk)``.

        Returns:
            True on a hit.
        """
        entries = self._entries
        if key in entries:
            entries.move_to_end(key)
            self.hits += 1
            return True
        self.misses += 1
        return False

    def access(self, key: Hashable, nbytes: int) -> bool:
        """``lookup``, then on a miss ``insert(key, nbytes)``: a read that brings the
        object into the cache (or a write that puts it there) in one call.

        Returns:
            True on a hit.
        """
        # lookup() inlined: this is the local backends' hot path, one call for every
        # chunk a read or write touches.
        entries = self._entries
        if key in entries:
            entries.move_to_end(key)
            self.hits += 1
            return True
        self.misses += 1
        self.insert(key, nbytes)
        return False

    def insert(self, key: Hashable, nbytes: int) -> None:
        """Cache ``key`` with size ``nbytes``, evicting least recently used entries.

        Re-inserting a key replaces its size. An object larger than the whole cache is
        not cached (and any older copy of it is dropped), as a streaming read of a huge
        file would only flush the cache.

        Args:
            key: the object's identity.
            nbytes: its size, bytes (>= 0).

        Raises:
            ValueError: ``nbytes`` is negative.
        """
        if nbytes < 0:
            raise ValueError(f"nbytes must be >= 0 (got {nbytes!r})")
        entries = self._entries
        old = entries.pop(key, None)
        if old is not None:
            self.used_bytes -= old
        if nbytes > self.capacity_bytes:
            return
        self.used_bytes += nbytes
        entries[key] = nbytes
        while self.used_bytes > self.capacity_bytes:
            _, size = entries.popitem(last=False)
            self.used_bytes -= size
            self.evictions += 1

    def invalidate(self, key: Hashable) -> None:
        """Drop ``key`` if cached (the file changed or went away)."""
        size = self._entries.pop(key, None)
        if size is not None:
            self.used_bytes -= size

    def __contains__(self, key: object) -> bool:
        """Whether ``key`` is cached, without touching LRU order or counters."""
        return key in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return (
            f"PageCache({self.used_bytes}/{self.capacity_bytes} bytes, {len(self)} entries, "
            f"hits={self.hits}, misses={self.misses}, evictions={self.evictions})"
        )


class AttrCache:
    """One client's NFS-style attribute cache: how long it trusts a file's metadata.

    nfs(5) [K9] bounds the time a client caches a regular file's attributes between
    ``acregmin`` and ``acregmax``; within those bounds the Linux client adapts it
    ([X11] ``nfs_update_inode()``), and this class implements the same rule:

    * a key seen for the first time, or whose ``version`` differs from the one last
      filled (the file changed on the server), gets the minimum timeout;
    * a refill after the timeout expired that finds the same ``version`` doubles the
      timeout, up to the maximum, so files that have not changed for a long time are
      revalidated rarely and recently changed files often;
    * a refill before expiry keeps the timeout and restarts it.

    With ``min_s == max_s`` the timeout is fixed (CIFS ``actimeo`` [K10], s3fs
    ``stat_cache_expire``); with ``max_s == 0`` nothing is cached (``noac``).

    Args:
        min_s: shortest trust period, s (acregmin).
        max_s: longest trust period, s (acregmax).

    Raises:
        ValueError: negative bounds or ``max_s < min_s``.

    Attributes:
        hits: ``fresh`` calls that answered True.
        misses: ``fresh`` calls that answered False.
    """

    __slots__ = ("_entries", "hits", "max_s", "min_s", "misses")

    def __init__(self, min_s: float, max_s: float) -> None:
        if not 0 <= min_s <= max_s:
            raise ValueError(
                f"attribute cache bounds must be 0 <= min_s <= max_s (got {min_s!r}, {max_s!r})"
            )
        self.min_s = min_s
        self.max_s = max_s
        self.hits = 0
        self.misses = 0
        # key -> (filled at, timeout, version)
        self._entries: dict[Hashable, tuple[float, float, Hashable]] = {}

    def fresh(self, key: Hashable, now: float) -> bool:
        """Whether cached attributes of ``key`` may be used at time ``now`` (s)."""
        entry = self._entries.get(key)
        if entry is not None and now < entry[0] + entry[1]:
            self.hits += 1
            return True
        self.misses += 1
        return False

    def fill(self, key: Hashable, now: float, version: Hashable = None) -> float:
        """Store attributes of ``key`` fetched from the server at time ``now`` (s).

        Args:
            key: the file's identity.
            now: simulation time of the fetch, s.
            version: the file's change attribute on the server (mtime, a counter);
                the default None means "unchanged since the last fill".

        Returns:
            The timeout now in force for ``key``, s.
        """
        old = self._entries.get(key)
        if old is None or old[2] != version:
            timeout_s = self.min_s
        elif now >= old[0] + old[1]:
            timeout_s = min(2 * old[1], self.max_s)
        else:
            timeout_s = old[1]
        self._entries[key] = (now, timeout_s, version)
        return timeout_s

    def invalidate(self, key: Hashable) -> None:
        """Forget ``key``: the client changed it, so its attributes are stale."""
        self._entries.pop(key, None)

    def timeout_s(self, key: Hashable) -> float | None:
        """The timeout in force for ``key``, s, or None if it is not cached."""
        entry = self._entries.get(key)
        return None if entry is None else entry[1]

    def __len__(self) -> int:
        return len(self._entries)
