"""Storage devices as queues: disks, the page cache, network links and remote servers.

A disk is like a post office with a few counters: each customer (an I/O request) waits
for a free counter (one of the device's ``queue_depth`` slots), is served for a time
that grows with the size of the parcel (``latency + nbytes / bandwidth``) and leaves.
A remote server is a post office in another town: first the trip there and back (the
network round trip), then its own counters, then the parcel's ride home on the one
road every customer shares (the link).

Every access is a generator that the calling process runs with ``yield from``::

    def reader(env, disk):
        yield from disk.read(4096)   # waits for a slot, then holds it while served

API:

* ``Disk(env, params, rng, name)``: ``read(nbytes)``, ``write(nbytes)``, ``meta()``;
  ``busy_s``, ``completed``, ``utilisation()``.
* ``PageCache(params)``: ``lookup(key)``, ``insert(key, nbytes)``, ``access(key, nbytes)``
  (lookup, and insert on a miss), ``invalidate(key)``;
  ``hits``, ``misses``, ``evictions``, ``used_bytes``. No time: callers charge hits.
* ``Link(env, rtt_s, bytes_per_s, name)``: ``round_trip()``, ``transfer(nbytes)``.
* ``RemoteServer(env, params, rng, name, link=None)``: ``request(op_class, nbytes=0)``.
* ``AttrCache(min_s, max_s)``: ``fresh(key, now)``, ``fill(key, now, version)``,
  ``invalidate(key)``.
* ``Slots(env, capacity)``: the FIFO multi-server queue under all of them (and locks):
  ``acquire()`` -> None or an event to yield, ``release()``.

Devices never record or print: the backends that call them write the records.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Generator, Hashable
from typing import Any, cast

import numpy as np
import simpy

from storsim.draws import BlockDraws
from storsim.profiles import OP_CLASSES, DiskParams, PageCacheParams, RemoteParams

__all__ = ["AttrCache", "Disk", "Link", "PageCache", "ProcessGen", "RemoteServer", "Slots"]

ProcessGen = Generator[simpy.Event, Any, None]
"""What a device access returns: a generator to run with ``yield from``."""


def _service_draws(rng: np.random.Generator) -> BlockDraws[float]:
    """Exp(1) service-time factors, drawn in blocks (:mod:`storsim.draws`); each block is
    handed out last draw first, the order these devices have always used."""
    return BlockDraws(lambda n: rng.standard_exponential(n)[::-1])


# Operation classes whose payload travels server -> client; every other payload is an
# upload (client -> server) and is served at the server's write bandwidth.
_DOWNLOADS = frozenset({"meta", "read", "readdir"})


class Slots:
    """``capacity`` identical servers in front of one FIFO queue: a bank's tellers.

    The same queueing discipline as ``simpy.Resource`` (first come, first served, at most
    ``capacity`` in service), without its events when nobody has to wait: a request
    that finds a free slot takes it at once (a counter), and only a request that must
    wait gets an event, which the release that frees a slot for it triggers. A SimPy
    ``Resource`` spends three events on every access (request, grant, release), which
    cost more than the rest of a simulated disk access. A released slot passes straight
    to the oldest waiter, so the queue is strictly FIFO (a ``Resource`` lets a process
    that releases and at once requests again jump the queue).

    Usage, in a process::

        wait = slots.acquire()
        if wait is not None:
            yield wait
        ...  # holding one slot
        slots.release()

    Args:
        env: the simulation environment.
        capacity: number of servers (>= 1).

    Attributes:
        count: slots in use now.
        queue: events of the requests waiting now, oldest first.
    """

    __slots__ = ("_event", "capacity", "count", "queue")

    def __init__(self, env: simpy.Environment, capacity: int) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be >= 1 (got {capacity!r})")
        self.capacity = capacity
        self.count = 0
        self.queue: deque[simpy.Event] = deque()
        self._event = env.event

    def acquire(self) -> simpy.Event | None:
        """Take a slot: None if one was free (held now), else an event to yield for it."""
        if self.count < self.capacity:  # then nobody waits either: no queue, no event
            self.count += 1
            return None
        wait = self._event()
        self.queue.append(wait)
        return wait

    def release(self) -> None:
        """Give a slot back; the oldest waiter, if any, gets it at this instant."""
        if self.queue:
            self.queue.popleft().succeed()  # the slot passes on: count is unchanged
        else:
            self.count -= 1


class Disk:
    """A block device (or RAM) as a FIFO multi-server queue.

    Two ways to access it: ``yield from disk.read(n)`` (a generator, like every device
    here), or ``yield disk.submit_read(n)`` (one event that triggers when the request
    completes, like ``io_submit``). The second is the hot path of the backends: an
    access that finds a free slot is then a single timeout event, with no generator
    and no SimPy ``Resource`` events (request, grant, release) around it.

    Args:
        env: the simulation environment.
        params: latency, bandwidths, queue depth and service distribution.
        rng: random generator, used only when ``params.service == "exponential"``.
        name: label for reports.

    Attributes:
        busy_s: total service time of completed requests, s (slot-seconds).
        completed: number of completed requests.
    """

    __slots__ = (
        "_capacity",
        "_count",
        "_draws",
        "_env",
        "_event",
        "_exponential",
        "_latency_s",
        "_queue",
        "_read_s_per_byte",
        "_rng",
        "_timeout",
        "_write_s_per_byte",
        "busy_s",
        "completed",
        "name",
        "params",
    )

    def __init__(
        self,
        env: simpy.Environment,
        params: DiskParams,
        rng: np.random.Generator,
        name: str = "disk",
    ) -> None:
        self.params = params
        self.name = name
        self.busy_s = 0.0
        self.completed = 0
        self._env = env
        self._rng = rng
        self._capacity = params.queue_depth
        self._count = 0  # requests in service
        self._queue: deque[tuple[simpy.Event, float]] = deque()  # (completion, mean service)
        # Bound methods and reciprocals are looked up once: this is the hot path.
        self._timeout = env.timeout
        self._event = env.event
        self._latency_s = params.latency_s
        self._read_s_per_byte = 1.0 / params.read_bytes_per_s
        self._write_s_per_byte = 1.0 / params.write_bytes_per_s
        self._draws = _service_draws(rng)
        self._exponential = params.service == "exponential"

    def read(self, nbytes: int) -> ProcessGen:
        """Read ``nbytes`` from the device.

        Args:
            nbytes: bytes to read (0 for a latency-only access).

        Returns:
            A generator to ``yield from``; it ends when the data has been read.
        """
        yield self.submit(self._latency_s + nbytes * self._read_s_per_byte)

    def write(self, nbytes: int) -> ProcessGen:
        """Write ``nbytes`` to the device.

        Args:
            nbytes: bytes to write (0 for a latency-only access).

        Returns:
            A generator to ``yield from``; it ends when the data is on the device.
        """
        yield self.submit(self._latency_s + nbytes * self._write_s_per_byte)

    def meta(self) -> ProcessGen:
        """One metadata access (inode read, journal commit): latency only.

        Returns:
            A generator to ``yield from``.
        """
        yield self.submit(self._latency_s)

    def submit_read(self, nbytes: int) -> simpy.Event:
        """Like :meth:`read`, as one event to ``yield``: it triggers at completion."""
        return self.submit(self._latency_s + nbytes * self._read_s_per_byte)

    def submit_write(self, nbytes: int) -> simpy.Event:
        """Like :meth:`write`, as one event to ``yield``: it triggers at completion."""
        return self.submit(self._latency_s + nbytes * self._write_s_per_byte)

    def submit_meta(self) -> simpy.Event:
        """Like :meth:`meta`, as one event to ``yield``: it triggers at completion."""
        return self.submit(self._latency_s)

    def submit(self, mean_s: float) -> simpy.Event:
        """Queue one request of mean service time ``mean_s``; the event triggers when it
        has been served (FIFO, at most ``queue_depth`` in service)."""
        if self._count < self._capacity:  # a free slot, so nobody waits: serve at once
            self._count += 1
            return self._start(mean_s)
        done = self._event()
        self._queue.append((done, mean_s))
        return done

    def _start(self, mean_s: float) -> simpy.Event:
        """Begin serving a request now: its service is one timeout event."""
        service_s = mean_s * self._draws() if self._exponential else mean_s
        service = self._timeout(service_s, service_s)
        service.callbacks.append(self._finish)  # runs before the requester resumes
        return service

    def _finish(self, service: simpy.Event) -> None:
        """A request completed: account for it and give its slot to the next in line."""
        self.busy_s += cast(float, service.value)  # its value is its service time (_start)
        self.completed += 1
        if self._queue:
            done, mean_s = self._queue.popleft()
            self._start(mean_s).callbacks.append(done.trigger)
        else:
            self._count -= 1

    @property
    def in_service(self) -> int:
        """Requests being served now."""
        return self._count

    @property
    def queued(self) -> int:
        """Requests waiting for a slot now."""
        return len(self._queue)

    def utilisation(self, elapsed_s: float | None = None) -> float:
        """Fraction of slot capacity used by completed requests.

        Args:
            elapsed_s: observation window, s; defaults to the simulation time so far.

        Returns:
            ``busy_s / (queue_depth * elapsed_s)``, 0.0 for an empty window.
        """
        elapsed = self._env.now if elapsed_s is None else elapsed_s
        if elapsed <= 0:
            return 0.0
        return self.busy_s / (self.params.queue_depth * elapsed)

    def __repr__(self) -> str:
        return f"Disk({self.name!r}, {self.params!r})"


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


class Link:
    """A network link shared by all clients of one server.

    A round trip is pure delay (requests fly in parallel); payloads are serialised on
    the wire one after another (FIFO) at the link's bandwidth.

    Args:
        env: the simulation environment.
        rtt_s: round-trip time, s.
        bytes_per_s: bandwidth, bytes/s.
        name: label for reports.

    Raises:
        ValueError: negative ``rtt_s`` or non-positive ``bytes_per_s``.

    Attributes:
        busy_s: time the wire spent transferring, s.
        bytes_sent: payload bytes transferred.
    """

    __slots__ = (
        "_env",
        "_s_per_byte",
        "_wire",
        "busy_s",
        "bytes_per_s",
        "bytes_sent",
        "name",
        "rtt_s",
    )

    def __init__(
        self, env: simpy.Environment, rtt_s: float, bytes_per_s: float, name: str = "link"
    ) -> None:
        if not rtt_s >= 0:
            raise ValueError(f"rtt_s must be >= 0 (got {rtt_s!r})")
        if not bytes_per_s > 0:
            raise ValueError(f"bytes_per_s must be > 0 (got {bytes_per_s!r})")
        self.name = name
        self.rtt_s = rtt_s
        self.bytes_per_s = bytes_per_s
        self.busy_s = 0.0
        self.bytes_sent = 0
        self._env = env
        self._s_per_byte = 1.0 / bytes_per_s
        self._wire = Slots(env, 1)

    def round_trip(self) -> ProcessGen:
        """One request/response exchange without payload: ``rtt_s`` of delay."""
        yield self._env.timeout(self.rtt_s)

    def transfer(self, nbytes: int) -> ProcessGen:
        """Send ``nbytes`` over the wire, after the payloads queued before it.

        Args:
            nbytes: payload bytes; 0 or less takes no time.

        Returns:
            A generator to ``yield from``.
        """
        if nbytes <= 0:
            return
        wire = self._wire
        turn = wire.acquire()
        if turn is not None:
            yield turn
        duration_s = nbytes * self._s_per_byte
        yield self._env.timeout(duration_s)
        wire.release()
        self.busy_s += duration_s
        self.bytes_sent += nbytes

    def utilisation(self, elapsed_s: float | None = None) -> float:
        """Fraction of ``elapsed_s`` (default: simulation time so far) the wire was busy."""
        elapsed = self._env.now if elapsed_s is None else elapsed_s
        return self.busy_s / elapsed if elapsed > 0 else 0.0

    def __repr__(self) -> str:
        return f"Link({self.name!r}, rtt_s={self.rtt_s!r}, bytes_per_s={self.bytes_per_s!r})"


class RemoteServer:
    """A network file server (NFS, SMB, S3) behind a link shared by all its clients.

    One request costs, in order: a round trip on the link; for an upload, the payload's
    transfer on the link; a wait for one of ``server_queue_depth`` server slots; the
    server's work ``server_latency_s[op_class] + nbytes / bandwidth``; for a download,
    the payload's transfer on the link. Transfers are store-and-forward: a backend
    that wants pipelining splits a large transfer into several requests (as the NFS
    client does with ``rsize``/``wsize`` [K9]).

    Args:
        env: the simulation environment.
        params: the server's profile.
        rng: random generator, used only when ``params.service == "exponential"``.
        name: label for reports.
        link: the network link to share; a new one from ``params`` if None.

    Attributes:
        link: the link every client of this server shares.
        busy_s: total server work of completed requests, s (slot-seconds).
        completed: number of completed requests.
    """

    __slots__ = (
        "_draws",
        "_env",
        "_exponential",
        "_latency_s",
        "_read_s_per_byte",
        "_rng",
        "_slots",
        "_write_s_per_byte",
        "busy_s",
        "completed",
        "link",
        "name",
        "params",
    )

    def __init__(
        self,
        env: simpy.Environment,
        params: RemoteParams,
        rng: np.random.Generator,
        name: str = "remote",
        link: Link | None = None,
    ) -> None:
        self.params = params
        self.name = name
        self.busy_s = 0.0
        self.completed = 0
        self.link = (
            Link(env, params.rtt_s, params.link_bytes_per_s, name=f"{name}.link")
            if link is None
            else link
        )
        self._env = env
        self._rng = rng
        self._slots = Slots(env, params.server_queue_depth)
        self._latency_s = dict(params.server_latency_s)
        self._read_s_per_byte = 1.0 / params.server_bytes_per_s
        write_bytes_per_s = params.server_write_bytes_per_s or params.server_bytes_per_s
        self._write_s_per_byte = 1.0 / write_bytes_per_s
        self._exponential = params.service == "exponential"
        self._draws = _service_draws(rng)

    def request(self, op_class: str, nbytes: int = 0) -> ProcessGen:
        """One request to the server.

        Args:
            op_class: one of ``OP_CLASSES`` (``"meta"``, ``"read"``, ``"write"``...).
            nbytes: payload bytes: received for ``meta``, ``read`` and ``readdir``, sent
                for every other class (``write``, ``create``, ``commit``...).

        Returns:
            A generator to ``yield from``; it ends when the reply has arrived.

        Raises:
            ValueError: unknown ``op_class`` (raised at once, not when run).
        """
        latency_s = self._latency_s.get(op_class)
        if latency_s is None:
            raise ValueError(f"op_class must be one of {', '.join(OP_CLASSES)} (got {op_class!r})")
        return self._serve(op_class, latency_s, nbytes)

    def _serve(self, op_class: str, latency_s: float, nbytes: int) -> ProcessGen:
        env, link = self._env, self.link
        yield env.timeout(link.rtt_s)
        upload = op_class not in _DOWNLOADS
        if upload:
            yield from link.transfer(nbytes)
            mean_s = latency_s + nbytes * self._write_s_per_byte
        else:
            mean_s = latency_s + nbytes * self._read_s_per_byte
        slots = self._slots
        slot = slots.acquire()
        if slot is not None:
            yield slot
        service_s = mean_s * self._draws() if self._exponential else mean_s
        yield env.timeout(service_s)
        slots.release()
        self.busy_s += service_s
        self.completed += 1
        if not upload:
            yield from link.transfer(nbytes)

    def utilisation(self, elapsed_s: float | None = None) -> float:
        """Fraction of server slot capacity used (default window: simulation time so far)."""
        elapsed = self._env.now if elapsed_s is None else elapsed_s
        if elapsed <= 0:
            return 0.0
        return self.busy_s / (self.params.server_queue_depth * elapsed)

    def __repr__(self) -> str:
        return f"RemoteServer({self.name!r}, protocol={self.params.protocol!r})"


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
