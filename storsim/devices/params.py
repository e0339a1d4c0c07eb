"""Device parameters: the plain, validated figures a device model is built from.

Like the spec sheet taped inside a machine's door: how fast it answers, how much it
moves per second and how many jobs it takes at once. Each sheet checks its own figures
when it is made (``ValueError`` naming the field and the rule), so every device works on
valid numbers; the named sheets, with their sources, are in
:mod:`storsim.devices.profiles`.

Keys in brackets ([D10], [K9], [B4]...) are those of ``shared/reference/published-figures.md``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Generic, Literal, TypeVar, get_args

from storsim.devices.service import FIXED, ServiceShape, service_shape
from storsim.names import OP_CLASSES, ROUND_TRIP_KEYS, UNSUPPORTABLE_OPS

__all__ = [
    "OP_CLASSES",
    "OP_CLASS_OF",
    "OP_NAMES",
    "DiskParams",
    "ErrnoTable",
    "FuseParams",
    "LatencyTable",
    "LockSemantics",
    "PageCacheParams",
    "RemoteParams",
    "RoundTrips",
    "ServiceDistribution",
]

ServiceDistribution = Literal["fixed", "exponential", "h2", "hdd"]
"""The names of the service-time shapes (:mod:`storsim.devices.service`).

``"fixed"``: always the mean. ``"exponential"``: memoryless with that mean, for checks
against M/M/c queueing theory. ``"h2"``: the two-phase hyper-exponential of flash
accesses. ``"hdd"``: a disk head's seek plus its rotational latency. A parameter class
given one of these names gets that shape with its default parameters.
"""

LockSemantics = Literal["nlm", "brl", "local", "none"]
"""What a ``lock`` does on a mount.

``"nlm"``: advisory POSIX locks that the server coordinates across clients (NFS NLM or
NFSv4 LOCK [K9]). ``"brl"``: SMB byte-range locks that the server enforces [K10].
``"local"``: the call succeeds but excludes only processes of the same client host
(NFS ``nolock``, CIFS ``nobrl``, a FUSE file system without a lock handler): silent
corruption across hosts. ``"none"``: the call fails (list ``"lock"`` in
``unsupported_ops``).
"""

OP_NAMES: frozenset[str] = UNSUPPORTABLE_OPS
"""The operations a mount may refuse: every workload operation, and ``lock``."""

OP_CLASS_OF: Mapping[str, str] = MappingProxyType({
    "stat": "meta", "open": "meta", "read": "read", "write": "write", "append": "write",
    "create": "create", "mkdir": "create", "link": "create", "symlink": "create",
    "unlink": "remove", "rmdir": "remove", "rename": "rename", "readdir": "readdir",
    "chmod": "setattr", "truncate": "setattr", "fsync": "commit", "lock": "lock",
    # NFSv4 SETXATTR/GETXATTR (RFC 8276): an attribute update and an attribute read;
    # mknod is a CREATE of a special file (RFC 7530 section 18.4)
    "setxattr": "setattr", "getxattr": "meta", "mknod": "create",
})  # fmt: skip
"""Operation name -> its main class of server work (:data:`OP_CLASSES`): what a
``round_trips: {op: n}`` override adds when ``n`` is longer than the profile's row."""

_V = TypeVar("_V")

_ERRNOS = frozenset({"EOPNOTSUPP", "ENOTSUP", "EPERM", "ENOSYS", "EINVAL", "EXDEV", "ENOLCK"})


def _check(ok: bool, where: str, rule: str, value: object) -> None:
    if not ok:
        raise ValueError(f"{where} must be {rule} (got {value!r})")


def _positive(where: str, value: float) -> None:
    _check(
        isinstance(value, int | float) and math.isfinite(value) and value > 0,
        where,
        "a finite number > 0",
        value,
    )


def _non_negative(where: str, value: float) -> None:
    _check(
        isinstance(value, int | float) and math.isfinite(value) and value >= 0,
        where,
        "a finite number >= 0",
        value,
    )


def _integer(where: str, value: int, minimum: int) -> None:
    _check(isinstance(value, int) and value >= minimum, where, f"an integer >= {minimum}", value)


def _one_of(where: str, value: str, options: tuple[str, ...]) -> None:
    _check(value in options, where, f"one of {', '.join(options)}", value)


def _exact_keys(where: str, table: Mapping[str, object], keys: tuple[str, ...]) -> None:
    missing = [k for k in keys if k not in table]
    unknown = sorted(k for k in table if k not in keys)
    _check(
        not missing and not unknown,
        where,
        f"a mapping with exactly the keys {', '.join(keys)}",
        dict(table),
    )


class _FrozenTable(Mapping[str, _V], Generic[_V]):
    """A read-only, hashable mapping from names to values.

    Profiles are module-level singletons shared by every run: a plain dict inside a
    frozen dataclass could still be changed in place by one run and leak into the next.
    """

    __slots__ = ("_data",)

    def __init__(self, data: Mapping[str, _V] | Iterable[tuple[str, _V]]) -> None:
        self._data: dict[str, _V] = dict(data)

    def __getitem__(self, key: str) -> _V:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __hash__(self) -> int:
        return hash(frozenset(self._data.items()))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Mapping):
            return self._data == dict(other.items())
        return NotImplemented

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._data!r})"


class LatencyTable(_FrozenTable[float]):
    """A read-only, hashable mapping from a class of server work to seconds."""

    __slots__ = ()


class RoundTrips(_FrozenTable[tuple[str, ...]]):
    """A read-only, hashable mapping from an operation (or ``lock``, ``close``) to the
    requests it sends, each named by its class of server work (:data:`OP_CLASSES`)."""

    __slots__ = ()


class ErrnoTable(_FrozenTable[str]):
    """A read-only, hashable mapping from an operation to the errno name it fails with."""

    __slots__ = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class DiskParams:
    """A block device (or RAM for tmpfs) seen as a multi-server queue.

    One request waits for one of ``queue_depth`` slots and holds it for its access
    latency (the mean of its kind, scaled by a draw from ``service``), then for its
    bytes at the device's bandwidth, which it shares with every other request
    transferring at the same time (:mod:`storsim.devices.bandwidth`).

    Attributes:
        read_latency_s: mean access time of a read (a data block, a directory block, an
            inode), s: seek and rotation, or a flash page read, and command overhead.
        write_latency_s: mean access time of a write, s (a drive's write cache
            acknowledges a write before its media has it: flash writes are faster
            than flash reads at queue depth 1).
        flush_latency_s: mean time of a cache flush or journal commit, s (what an
            ``fsync`` waits for after its data: the drive's write cache reaching stable
            media).
        read_bytes_per_s: sequential read bandwidth, bytes/s.
        write_bytes_per_s: sequential write bandwidth, bytes/s.
        queue_depth: requests the device serves at once (its internal parallelism).
        service: the shape of the access time around its mean (a name of
            :data:`ServiceDistribution` is accepted and replaced by its shape).
        volatile: the device is memory (tmpfs): file pages are the storage, so an
            ``fsync`` has nothing to write back and nothing to commit (the kernel's
            ``noop_fsync`` for shmem).
    """

    read_latency_s: float
    write_latency_s: float
    flush_latency_s: float
    read_bytes_per_s: float
    write_bytes_per_s: float
    queue_depth: int
    service: ServiceShape = FIXED
    volatile: bool = False

    def __post_init__(self) -> None:
        _non_negative("read_latency_s", self.read_latency_s)
        _non_negative("write_latency_s", self.write_latency_s)
        _non_negative("flush_latency_s", self.flush_latency_s)
        _positive("read_bytes_per_s", self.read_bytes_per_s)
        _positive("write_bytes_per_s", self.write_bytes_per_s)
        _integer("queue_depth", self.queue_depth, 1)
        # Frozen dataclasses need object.__setattr__ to normalise a field once.
        object.__setattr__(self, "service", service_shape(self.service))
        _check(isinstance(self.volatile, bool), "volatile", "a bool", self.volatile)


@dataclass(frozen=True, slots=True, kw_only=True)
class PageCacheParams:
    """The host kernel's page cache, shared by every container on the host.

    Attributes:
        size_bytes: memory the cache may hold, bytes.
        hit_latency_s: fixed cost of a read served from the cache, s.
        copy_bytes_per_s: memory copy bandwidth of a cached read, bytes/s.
    """

    # Assumption, no published figure: a host with a few GiB of reclaimable memory. Set
    # it to the host's free RAM (scenario key host.page_cache uses the same default).
    size_bytes: int = 4 * 2**30
    # [D10] native per-operation latency "under 10 us"; the figures doc's section 4
    # suggests 5-10 us warm: the low end, as a hit needs no file-system work.
    hit_latency_s: float = 5e-6
    # [B4] bench.local: 1000 MB written into the page cache by dd in 0.57 s.
    copy_bytes_per_s: float = 1000e6 / 0.57

    def __post_init__(self) -> None:
        _integer("size_bytes", self.size_bytes, 0)
        _non_negative("hit_latency_s", self.hit_latency_s)
        _positive("copy_bytes_per_s", self.copy_bytes_per_s)


@dataclass(frozen=True, slots=True, kw_only=True)
class FuseParams:
    """The kernel's side of a FUSE mount: its caches in front of the daemon's, and the
    cost of asking the daemon.

    The kernel keeps a looked-up name (a dentry) for ``entry_timeout_s`` and a file's
    attributes for ``attr_timeout_s``, fixed timeouts that the daemon sets in each reply
    (libfuse's defaults: 1 s, 1 s, and no negative entries [X16]); within them it
    answers without the daemon. Every other call (and every miss) is a request to the
    daemon, which then answers from its own caches (the profile's attribute and
    directory caches: sshfs 20 s, s3fs 900 s) or asks the server.

    Attributes:
        entry_timeout_s: how long the kernel trusts a looked-up name, s.
        attr_timeout_s: how long the kernel trusts a file's attributes, s.
        negative_timeout_s: how long the kernel remembers that a name does not exist, s
            (0: it asks the daemon again every time).
        request_s: one request from the kernel to the daemon and its reply: two context
            switches and the copies through ``/dev/fuse``, s.
        keep_cache: the daemon lets the kernel keep a file's cached pages across opens
            (``FOPEN_KEEP_CACHE``, libfuse ``kernel_cache``); when False, each open of
            the file drops them, so data is read from the server again [X16].
    """

    entry_timeout_s: float
    attr_timeout_s: float
    negative_timeout_s: float
    request_s: float
    keep_cache: bool

    def __post_init__(self) -> None:
        _non_negative("entry_timeout_s", self.entry_timeout_s)
        _non_negative("attr_timeout_s", self.attr_timeout_s)
        _non_negative("negative_timeout_s", self.negative_timeout_s)
        _non_negative("request_s", self.request_s)


@dataclass(frozen=True, slots=True, kw_only=True)
class RemoteParams:
    """A network file server, its protocol and the client's caching rules for its mounts.

    A request costs one network round trip, a wait for one of ``server_queue_depth``
    server slots, the server's work (``server_latency_s[op_class]`` plus the payload at
    the server's bandwidth) and the payload's transfer on the shared link. What an
    operation sends is, in order (see :mod:`storsim.backends.remote`): a lookup for
    each component of its path the client has not cached (``meta``); for an operation
    on a file it opens, the open's requests (``round_trips["open"]``); its own
    (``round_trips[op]``); and, when its step closes the file, a ``commit`` of unstable
    writes (``unstable_writes``) and the close's requests (``round_trips["close"]``).

    Attributes:
        protocol: wire protocol, for reports (``"nfsv4.2"``, ``"smb3"``, ``"s3"``...).
        rtt_s: network round-trip time between client and server, s.
        link_bytes_per_s: bandwidth of the link all clients share, bytes/s.
        server_queue_depth: requests the server works on at once (its threads).
        server_latency_s: server work per request of each class in ``OP_CLASSES``, s.
        server_bytes_per_s: server's data bandwidth for downloads (reads), bytes/s.
        attr_cache_min_s: shortest time the client trusts a file's cached attributes, s.
        attr_cache_max_s: longest time the client trusts a file's cached attributes, s.
        data_cache: whether the client may serve reads from its page cache.
        close_to_open: whether each open revalidates attributes (and so cached data).
        unsupported_ops: operations (``OP_NAMES``) the mount refuses.
        unsupported_errno: the errno name a refused operation returns.
        locks: what ``lock`` does on this mount (see ``LockSemantics``).
        unsupported_errnos: the errno of a refused operation that fails otherwise
            (``{"mknod": "EPERM"}``: the SMB client without ``sfu`` [X19]); the others
            give ``unsupported_errno``.
        round_trips: the requests of each operation (``names.ROUND_TRIP_KEYS``: the
            operations, ``lock`` and ``close``), besides its path's lookups and its
            file's open and close, each named by its class of server work. In a row,
            ``read`` is sent only for data the client has not cached (with those
            bytes), ``write`` only with bytes to send, ``readdir`` once per page of the
            listing, and ``commit``, with ``unstable_writes``, only after uncommitted
            writes; every other request always.
        dir_cache_min_s: shortest time the client trusts a directory's cached
            attributes, its looked-up names and its listing, s (NFS ``acdirmin``).
        dir_cache_max_s: longest such time, s (``acdirmax``).
        listing_cache: the client keeps a directory's listing while that directory's
            attributes are fresh and unchanged (the NFS client's readdir cache).
        unstable_writes: writes reach server memory only (NFS UNSTABLE): a ``commit``
            is sent at ``fsync`` and at the close of a written file, and only then.
        lookup_before_create: the client looks a new name up before creating it (FUSE);
            False: the create names it (the Linux NFS client skips the lookup of an
            exclusive create, the SMB client creates by path).
        open_by_name: an open names the file in its own request (NFSv4 OPEN, SMB2
            CREATE): the final component is not looked up first.
        readdir_entries: directory entries one ``readdir`` reply carries.
        readdir_entry_bytes: bytes one entry takes in a ``readdir`` reply.
        fuse: the kernel's caches and request cost in front of a FUSE daemon, or None
            for a kernel client (NFS, SMB).
        server_write_bytes_per_s: server's bandwidth for uploads (``write``, ``create``,
            ``commit`` payloads), bytes/s; ``None`` means ``server_bytes_per_s``.
        service: the shape of the server's work time around its mean (a name of
            :data:`ServiceDistribution` is accepted and replaced by its shape).
    """

    protocol: str
    rtt_s: float
    link_bytes_per_s: float
    server_queue_depth: int
    server_latency_s: Mapping[str, float]
    server_bytes_per_s: float
    attr_cache_min_s: float
    attr_cache_max_s: float
    data_cache: bool
    close_to_open: bool
    unsupported_ops: frozenset[str]
    unsupported_errno: str
    locks: LockSemantics
    round_trips: Mapping[str, tuple[str, ...]]
    dir_cache_min_s: float
    dir_cache_max_s: float
    listing_cache: bool
    unstable_writes: bool
    lookup_before_create: bool
    open_by_name: bool
    readdir_entries: int
    readdir_entry_bytes: int
    fuse: FuseParams | None = None
    unsupported_errnos: Mapping[str, str] = ErrnoTable({})
    server_write_bytes_per_s: float | None = None
    service: ServiceShape = FIXED

    def __post_init__(self) -> None:
        _non_negative("rtt_s", self.rtt_s)
        _positive("link_bytes_per_s", self.link_bytes_per_s)
        _integer("server_queue_depth", self.server_queue_depth, 1)
        table = LatencyTable(self.server_latency_s)
        _exact_keys("server_latency_s", table, OP_CLASSES)
        for op_class, seconds in table.items():
            _non_negative(f"server_latency_s.{op_class}", seconds)
        # Frozen dataclasses need object.__setattr__ to normalise a field once.
        object.__setattr__(self, "server_latency_s", table)
        _positive("server_bytes_per_s", self.server_bytes_per_s)
        if self.server_write_bytes_per_s is not None:
            _positive("server_write_bytes_per_s", self.server_write_bytes_per_s)
        _bounds("attr_cache", self.attr_cache_min_s, self.attr_cache_max_s)
        _bounds("dir_cache", self.dir_cache_min_s, self.dir_cache_max_s)
        ops = frozenset(self.unsupported_ops)
        _check(
            ops <= OP_NAMES,
            "unsupported_ops",
            f"a subset of {', '.join(sorted(OP_NAMES))}",
            sorted(ops - OP_NAMES),
        )
        object.__setattr__(self, "unsupported_ops", ops)
        _one_of("unsupported_errno", self.unsupported_errno, tuple(sorted(_ERRNOS)))
        for op, errno in self.unsupported_errnos.items():
            _one_of(f"unsupported_errnos.{op}", op, tuple(sorted(OP_NAMES)))
            _one_of(f"unsupported_errnos.{op}", errno, tuple(sorted(_ERRNOS)))
        object.__setattr__(self, "unsupported_errnos", ErrnoTable(self.unsupported_errnos))
        _one_of("locks", self.locks, get_args(LockSemantics))
        object.__setattr__(self, "service", service_shape(self.service))
        rows = RoundTrips({k: tuple(v) for k, v in self.round_trips.items()})
        _exact_keys("round_trips", rows, ROUND_TRIP_KEYS)
        for key, row in rows.items():
            bad = [c for c in row if c not in OP_CLASSES]
            _check(not bad, f"round_trips.{key}", f"classes of {', '.join(OP_CLASSES)}", bad)
        object.__setattr__(self, "round_trips", rows)
        _check(
            not self.close_to_open or bool(rows["open"]),
            "round_trips.open",
            "a request to revalidate with when close_to_open is set",
            rows["open"],
        )
        _integer("readdir_entries", self.readdir_entries, 1)
        _integer("readdir_entry_bytes", self.readdir_entry_bytes, 0)


def _bounds(name: str, low: float, high: float) -> None:
    _non_negative(f"{name}_min_s", low)
    _non_negative(f"{name}_max_s", high)
    _check(high >= low, f"{name}_max_s", f">= {name}_min_s ({low})", high)
