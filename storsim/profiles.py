"""Device parameters and the named profiles that give them realistic defaults.

Like the spec sheet taped inside a machine's door: how fast it answers, how much it
moves per second and how many jobs it takes at once. A scenario picks a sheet by name
(``nvme``, ``ssd``, ``hdd``, ``tmpfs``; ``nfs``, ``smb``, ``s3-fuse``, ``efs``) and may
override single figures with ``dataclasses.replace``.

Every default cites its source. Keys in brackets without an ``X`` ([D10], [K9], [B4]...)
are those of ``shared/reference/published-figures.md``; the figures that document does
not hold come from the sources below, keyed ``[X1]``..``[X11]``:

* [X1] Samsung SSD 960 EVO (NVMe, 500 GB) spec sheet: 3,200 MB/s sequential read,
  1,800 MB/s write; 4 KB random read 14K IOPS at QD1, 330K IOPS at QD32
  (hothardware.com/reviews/samsung-ssd-960-evo-nvme-m2-review).
* [X2] Samsung SSD 850 EVO (SATA, 1 TB) spec sheet: 540 MB/s read, 520 MB/s write;
  4 KB random read 10K IOPS at QD1, 98K IOPS at QD32
  (wired2fire.co.uk samsung-1tb-850-evo; cio.de "Samsung packs more speed ... 850 Evo").
* [X3] Western Digital Ultrastar DC HC310 OEM specification rev. 1.4, section 4.5.1:
  average seek 7.4 ms (read), average rotational latency 4.16 ms at 7,200 rpm.
* [X4] Seagate Constellation ES.3 product manual, section 4.1.2: sustained transfer rate
  83 to 175 MB/s (inner to outer zone), 7,200 rpm.
* [X5] J. Dean, "Latency numbers every programmer should know": round trip within the
  same datacenter 500 us (zie.one/en/latency).
* [X6] nfs-utils sysconfig: "the number of instances of nfsd (8 is default)".
* [X7] smb.conf(5): ``aio max threads`` default 100; ``strict sync`` default yes (an SMB
  FLUSH is an fsync on the server).
* [X8] s3fs-fuse: s3fs(1) ``stat_cache_expire`` default 900 s, ``use_cache`` default off;
  ``s3fs_link()`` in ``src/s3fs.cpp`` returns ``-ENOTSUP`` (= EOPNOTSUPP on Linux).
* [X9] RFC 1813 (NFSv3, kept by NFSv4): WRITE may be UNSTABLE (server memory) until a
  COMMIT; operations that change the namespace reply only once on stable storage.
* [X10] IEEE 802.3ae: 10 Gb/s Ethernet, 1.25e9 bytes/s line rate.
* [X11] Linux ``fs/nfs/inode.c`` ``nfs_update_inode()``: the attribute timeout doubles at
  each revalidation that finds the file unchanged, capped at acregmax, and resets to
  acregmin when the file changed (see ``storsim.devices.AttrCache``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal, get_args

from storsim.names import UNSUPPORTABLE_OPS

__all__ = [
    "DISK_PROFILES",
    "OP_CLASSES",
    "OP_CLASS_OF",
    "OP_NAMES",
    "PAGE_CACHE",
    "REMOTE_PROFILES",
    "DiskParams",
    "LatencyTable",
    "LockSemantics",
    "PageCacheParams",
    "RemoteParams",
    "ServiceDistribution",
]

ServiceDistribution = Literal["fixed", "exponential"]
"""Distribution of a device's service time around its mean.

``"fixed"``: always the mean (the realistic default: a device does the same work in
the same time). ``"exponential"``: memoryless with that mean, for checks against
M/M/c queueing theory.
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

OP_CLASSES: tuple[str, ...] = (
    "meta", "create", "remove", "read", "write", "readdir", "rename", "setattr", "commit",
    "lock",
)  # fmt: skip
"""The classes of server work a remote file operation falls into (``server_latency_s`` keys)."""

OP_CLASS_OF: Mapping[str, str] = MappingProxyType({
    "stat": "meta", "open": "meta", "read": "read", "write": "write", "append": "write",
    "create": "create", "mkdir": "create", "link": "create", "symlink": "create",
    "unlink": "remove", "rmdir": "remove", "rename": "rename", "readdir": "readdir",
    "chmod": "setattr", "truncate": "setattr", "fsync": "commit", "lock": "lock",
})  # fmt: skip
"""Operation name -> the server's operation class."""

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


class LatencyTable(Mapping[str, float]):
    """A read-only, hashable mapping from operation class to seconds.

    Profiles are module-level singletons shared by every run: a plain dict inside a
    frozen dataclass could still be changed in place by one run and leak into the next.
    """

    __slots__ = ("_data",)

    def __init__(self, data: Mapping[str, float] | Iterable[tuple[str, float]]) -> None:
        self._data: dict[str, float] = dict(data)

    def __getitem__(self, key: str) -> float:
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
        return f"LatencyTable({self._data!r})"


@dataclass(frozen=True, slots=True, kw_only=True)
class DiskParams:
    """A block device (or RAM for tmpfs) seen as a multi-server queue.

    One request waits for one of ``queue_depth`` slots and holds it for
    ``latency_s + nbytes / bandwidth`` seconds (the mean, see ``service``).

    Attributes:
        latency_s: fixed cost of one request (seek, flash read, command overhead), s.
        read_bytes_per_s: sequential read bandwidth, bytes/s.
        write_bytes_per_s: sequential write bandwidth, bytes/s.
        queue_depth: requests the device serves at once (its internal parallelism).
        service: distribution of the service time around its mean.
    """

    latency_s: float
    read_bytes_per_s: float
    write_bytes_per_s: float
    queue_depth: int
    service: ServiceDistribution = "fixed"

    def __post_init__(self) -> None:
        _non_negative("latency_s", self.latency_s)
        _positive("read_bytes_per_s", self.read_bytes_per_s)
        _positive("write_bytes_per_s", self.write_bytes_per_s)
        _check(
            isinstance(self.queue_depth, int) and self.queue_depth >= 1,
            "queue_depth",
            "an integer >= 1",
            self.queue_depth,
        )
        _check(
            self.service in get_args(ServiceDistribution),
            "service",
            f"one of {', '.join(get_args(ServiceDistribution))}",
            self.service,
        )


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
        _check(
            isinstance(self.size_bytes, int) and self.size_bytes >= 0,
            "size_bytes",
            "an integer >= 0",
            self.size_bytes,
        )
        _non_negative("hit_latency_s", self.hit_latency_s)
        _positive("copy_bytes_per_s", self.copy_bytes_per_s)


@dataclass(frozen=True, slots=True, kw_only=True)
class RemoteParams:
    """A network file server and the client's caching rules for its mounts.

    A request costs one network round trip, a wait for one of ``server_queue_depth``
    server slots, the server's work (``server_latency_s[op_class]`` plus the payload at
    the server's bandwidth) and the payload's transfer on the shared link.

    Attributes:
        protocol: wire protocol, for reports (``"nfsv4"``, ``"smb3"``, ``"s3"``...).
        rtt_s: network round-trip time between client and server, s.
        link_bytes_per_s: bandwidth of the link all clients share, bytes/s.
        server_queue_depth: requests the server works on at once (its threads).
        server_latency_s: server work per request of each class in ``OP_CLASSES``, s.
        server_bytes_per_s: server's data bandwidth for downloads (reads), bytes/s.
        attr_cache_min_s: shortest time the client trusts cached attributes, s.
        attr_cache_max_s: longest time the client trusts cached attributes, s.
        data_cache: whether the client may serve reads from its page cache.
        close_to_open: whether each open revalidates attributes (and so cached data).
        unsupported_ops: operations (``OP_NAMES``) the mount refuses.
        unsupported_errno: the errno name a refused operation returns.
        locks: what ``lock`` does on this mount (see ``LockSemantics``).
        server_write_bytes_per_s: server's bandwidth for uploads (``write``, ``create``,
            ``commit`` payloads), bytes/s; ``None`` means ``server_bytes_per_s``.
        service: distribution of the server's work time around its mean.
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
    server_write_bytes_per_s: float | None = None
    service: ServiceDistribution = "fixed"

    def __post_init__(self) -> None:
        _non_negative("rtt_s", self.rtt_s)
        _positive("link_bytes_per_s", self.link_bytes_per_s)
        _check(
            isinstance(self.server_queue_depth, int) and self.server_queue_depth >= 1,
            "server_queue_depth",
            "an integer >= 1",
            self.server_queue_depth,
        )
        table = LatencyTable(self.server_latency_s)
        missing = [c for c in OP_CLASSES if c not in table]
        unknown = sorted(k for k in table if k not in OP_CLASSES)
        _check(
            not missing and not unknown,
            "server_latency_s",
            f"a mapping with exactly the keys {', '.join(OP_CLASSES)}",
            dict(table),
        )
        for op_class, seconds in table.items():
            _non_negative(f"server_latency_s.{op_class}", seconds)
        # Frozen dataclasses need object.__setattr__ to normalise a field once.
        object.__setattr__(self, "server_latency_s", table)
        _positive("server_bytes_per_s", self.server_bytes_per_s)
        if self.server_write_bytes_per_s is not None:
            _positive("server_write_bytes_per_s", self.server_write_bytes_per_s)
        _non_negative("attr_cache_min_s", self.attr_cache_min_s)
        _non_negative("attr_cache_max_s", self.attr_cache_max_s)
        _check(
            self.attr_cache_max_s >= self.attr_cache_min_s,
            "attr_cache_max_s",
            f">= attr_cache_min_s ({self.attr_cache_min_s})",
            self.attr_cache_max_s,
        )
        ops = frozenset(self.unsupported_ops)
        _check(
            ops <= OP_NAMES,
            "unsupported_ops",
            f"a subset of {', '.join(sorted(OP_NAMES))}",
            sorted(ops - OP_NAMES),
        )
        object.__setattr__(self, "unsupported_ops", ops)
        _check(
            self.unsupported_errno in _ERRNOS,
            "unsupported_errno",
            f"one of {', '.join(sorted(_ERRNOS))}",
            self.unsupported_errno,
        )
        _check(
            self.locks in get_args(LockSemantics),
            "locks",
            f"one of {', '.join(get_args(LockSemantics))}",
            self.locks,
        )
        _check(
            self.service in get_args(ServiceDistribution),
            "service",
            f"one of {', '.join(get_args(ServiceDistribution))}",
            self.service,
        )


PAGE_CACHE: PageCacheParams = PageCacheParams()
"""The default page cache (each default cites its source in ``PageCacheParams``)."""


# --- disks ------------------------------------------------------------------------------

DISK_PROFILES: Mapping[str, DiskParams] = MappingProxyType(
    {
        "nvme": DiskParams(
            latency_s=1 / 14_000,  # [X1] 14K IOPS 4 KB random read at QD1: 71 us each
            read_bytes_per_s=3_200e6,  # [X1] sequential read
            write_bytes_per_s=1_800e6,  # [X1] sequential write (500 GB model)
            # [X1] 330K IOPS at QD32 / 14K at QD1: the flash serves ~24 requests at once.
            queue_depth=round(330_000 / 14_000),
        ),
        "ssd": DiskParams(
            latency_s=1 / 10_000,  # [X2] 10K IOPS 4 KB random read at QD1: 100 us each
            read_bytes_per_s=540e6,  # [X2] sequential read, the SATA 6 Gb/s ceiling
            write_bytes_per_s=520e6,  # [X2] sequential write
            queue_depth=round(98_000 / 10_000),  # [X2] QD32 IOPS / QD1 IOPS: ~10 in parallel
        ),
        "hdd": DiskParams(
            # [X3] a random access = average seek 7.4 ms + half a turn at 7,200 rpm 4.16 ms.
            latency_s=7.4e-3 + 4.16e-3,
            read_bytes_per_s=(83e6 + 175e6) / 2,  # [X4] sustained 83-175 MB/s: zone average
            write_bytes_per_s=(83e6 + 175e6) / 2,  # [X4] same media rate for writes
            queue_depth=1,  # one actuator: the heads serve one request at a time
        ),
        "tmpfs": DiskParams(
            latency_s=5e-6,  # [D10] native per-operation latency under 10 us (low end)
            read_bytes_per_s=1000e6 / 0.57,  # [B4] bench.local: 1000 MB into memory in 0.57 s
            write_bytes_per_s=1000e6 / 0.57,  # [B4] same memory copy
            # Assumption, no figure: RAM has no device queue; CPU cores copy in parallel,
            # so any depth beyond the number of concurrent writers means "no queueing".
            queue_depth=64,
        ),
    }
)
"""Local storage profiles by name (read-only)."""


# --- remote servers ---------------------------------------------------------------------

_LAN_RTT_S = 500e-6  # [X5] round trip within one datacenter
_TEN_GBE_BYTES_PER_S = 10e9 / 8  # [X10] 10 Gb/s Ethernet
_SERVER_OP_S = 10e-6  # [D10] a warm local file-system operation on the server, < 10 us
_SERVER_STABLE_S = _SERVER_OP_S + DISK_PROFILES["ssd"].latency_s  # plus one SSD write [X2]

# S3 through s3fs, bucket in the same region [B4]: each measured per-operation time
# includes one round trip, taken as 1 ms because S3 Express One Zone answers a whole
# request in single-digit milliseconds [B8]. Server figures are the rest.
_S3_RTT_S = 1e-3
_S3_CREATE_S = 0.116 - _S3_RTT_S  # [B4] N8: s3fs 100 sequential creates 11.6 s
_S3_DELETE_S = 0.026 - _S3_RTT_S  # [B4] N10: s3fs 100 sequential rm 2.6 s
_S3_FIRST_BYTE_S = 0.260 - _S3_RTT_S  # [B4] N12: s3fs median first byte 0.26 s
_S3_LIST_S = 0.31 / 2 - _S3_RTT_S  # [B4] N11: goofys lists 2,000 keys (2 LIST pages) in 0.31 s
# [B4] N12 on EC2 hi1.4xlarge (10 GbE): 1000 MB read in 9.5 s and written in 49 s,
# less the first-byte (or create) latency and the link's share of the time.
_S3_LINK_S_PER_1000MB = 1000e6 / _TEN_GBE_BYTES_PER_S

REMOTE_PROFILES: Mapping[str, RemoteParams] = MappingProxyType(
    {
        # NFSv4 server on the same LAN, exporting an SSD.
        "nfs": RemoteParams(
            protocol="nfsv4",
            rtt_s=_LAN_RTT_S,  # [X5]
            link_bytes_per_s=_TEN_GBE_BYTES_PER_S,  # [X10]
            server_queue_depth=8,  # [X6] default nfsd thread count
            server_latency_s={
                "meta": _SERVER_OP_S,  # [D10] GETATTR from the server's inode cache
                "read": _SERVER_OP_S,  # [D10] READ from the server's page cache
                "write": _SERVER_OP_S,  # [X9] UNSTABLE WRITE lands in server memory
                "readdir": _SERVER_OP_S,  # [D10]
                "lock": _SERVER_OP_S,  # [D10] lock state is in server memory
                "create": _SERVER_STABLE_S,  # [X9] namespace changes reply once stable
                "remove": _SERVER_STABLE_S,  # [X9]
                "rename": _SERVER_STABLE_S,  # [X9]
                "setattr": _SERVER_STABLE_S,  # [X9]
                "commit": _SERVER_STABLE_S,  # [X9] COMMIT flushes to stable storage
            },
            server_bytes_per_s=DISK_PROFILES["ssd"].write_bytes_per_s,  # [X2] the export's SSD
            attr_cache_min_s=3.0,  # [K9] acregmin
            attr_cache_max_s=60.0,  # [K9] acregmax
            data_cache=True,  # [K9] the client caches file data, revalidated at open
            close_to_open=True,  # [K9] GETATTR on open, flush on close (cto is the default)
            unsupported_ops=frozenset(),  # [K9] NFSv4 supports every workload operation
            unsupported_errno="EOPNOTSUPP",
            locks="nlm",  # [K9] NLM / NFSv4 advisory locks unless mounted nolock
        ),
        # SMB3 (Linux cifs client) to a Samba server on the same LAN, exporting an SSD.
        "smb": RemoteParams(
            protocol="smb3",
            rtt_s=_LAN_RTT_S,  # [X5]
            link_bytes_per_s=_TEN_GBE_BYTES_PER_S,  # [X10]
            server_queue_depth=100,  # [X7] Samba aio max threads
            server_latency_s={
                "meta": _SERVER_OP_S,  # [D10]
                "read": _SERVER_OP_S,  # [D10]
                "write": _SERVER_OP_S,  # [D10] Samba writes into the server's page cache
                "readdir": _SERVER_OP_S,  # [D10]
                "lock": _SERVER_OP_S,  # [D10]
                "create": _SERVER_OP_S,  # [D10] no forced sync of metadata (unlike NFS)
                "remove": _SERVER_OP_S,  # [D10]
                "rename": _SERVER_OP_S,  # [D10]
                "setattr": _SERVER_OP_S,  # [D10]
                "commit": _SERVER_STABLE_S,  # [X7] strict sync: FLUSH is an fsync
            },
            server_bytes_per_s=DISK_PROFILES["ssd"].write_bytes_per_s,  # [X2]
            attr_cache_min_s=1.0,  # [K10] actimeo default 1 s, a fixed timeout
            attr_cache_max_s=1.0,  # [K10]
            data_cache=True,  # [K10] cache=strict (default): cached while an oplock is held
            close_to_open=True,  # [K10] cache=strict: without a lease, open asks the server
            # [K10] without Unix Extensions (Windows or default Samba) no symlinks unless
            # mfsymlinks; the cifs client's cifs_symlink() then returns -EOPNOTSUPP.
            unsupported_ops=frozenset({"symlink"}),
            unsupported_errno="EOPNOTSUPP",
            locks="brl",  # [K10] byte-range locks sent to the server unless nobrl
        ),
        # S3 bucket mounted with s3fs-fuse, same region.
        "s3-fuse": RemoteParams(
            protocol="s3",
            rtt_s=_S3_RTT_S,  # [B8] see above
            link_bytes_per_s=_TEN_GBE_BYTES_PER_S,  # [X10] the [B4] instance's 10 GbE
            # [B4] N9: 100 parallel creates take as long as 100 sequential ones (11.3 s vs
            # 11.6 s): s3fs serialises its requests.
            server_queue_depth=1,
            server_latency_s={
                "meta": _S3_DELETE_S,  # HEAD: no figure; a DELETE is the nearest bodiless call [B4]
                "create": _S3_CREATE_S,  # [B4] N8
                "remove": _S3_DELETE_S,  # [B4] N10
                "read": _S3_FIRST_BYTE_S,  # [B4] N12 first byte
                "write": _S3_CREATE_S,  # [B4] N8: a PUT of the object, as a create does
                "readdir": _S3_LIST_S,  # [B4] N11 (s3fs's extra HEAD per entry is "meta")
                # [B6] rename = server-side copy (a PUT) + delete, not atomic.
                "rename": _S3_CREATE_S + _S3_DELETE_S,
                "setattr": _S3_CREATE_S,  # [B6] chmod rewrites the object's metadata (a copy)
                "commit": _S3_CREATE_S,  # [B5] fsync uploads the object (a PUT)
                "lock": _S3_DELETE_S,  # never sent: locks are local (see below)
            },
            # [B4] N12: 1000 MB read in 9.5 s, less first byte and link time.
            server_bytes_per_s=1000e6 / (9.5 - 0.260 - _S3_LINK_S_PER_1000MB),
            # [B4] N12: 1000 MB written in 49 s, less the PUT latency and link time.
            server_write_bytes_per_s=1000e6 / (49.0 - 0.116 - _S3_LINK_S_PER_1000MB),
            attr_cache_min_s=900.0,  # [X8] stat_cache_expire: a fixed 900 s
            attr_cache_max_s=900.0,  # [X8]
            data_cache=False,  # [X8] use_cache is off by default: reads go to S3
            close_to_open=True,  # [B4] goofys README / [B5]: uploaded on close, read on open
            unsupported_ops=frozenset({"link"}),  # [B6] no hard links; [X8] s3fs_link()
            unsupported_errno="EOPNOTSUPP",  # [X8] -ENOTSUP, the same number on Linux
            # [B6] "no coordination between multiple clients": s3fs has no lock handler, so
            # the FUSE kernel module grants POSIX locks locally.
            locks="local",
        ),
        # Amazon EFS, Regional, General Purpose mode, NFSv4.1 from the same region.
        "efs": RemoteParams(
            protocol="nfsv4.1",
            rtt_s=_LAN_RTT_S,  # [X5] within the region's datacenter network
            link_bytes_per_s=1500 * 2**20,  # [B7] N4: 1,500 MiB/s per client
            # [B7] N4: 900K read IOPS (the lower Elastic figure) x 0.5 ms of server work.
            server_queue_depth=round(900_000 * (1e-3 - _LAN_RTT_S)),
            server_latency_s={
                "meta": 1e-3 - _LAN_RTT_S,  # [B7] N4 read ~1 ms: GETATTR as a read
                "read": 1e-3 - _LAN_RTT_S,  # [B7] N4 read ~1 ms
                "readdir": 1e-3 - _LAN_RTT_S,  # [B7] N4 as a read
                "write": 2.7e-3 - _LAN_RTT_S,  # [B7] N4 write ~2.7 ms
                "create": 2.7e-3 - _LAN_RTT_S,  # [B7] N4 durable across zones, as a write
                "remove": 2.7e-3 - _LAN_RTT_S,  # [B7] N4
                "rename": 2.7e-3 - _LAN_RTT_S,  # [B7] N4
                "setattr": 2.7e-3 - _LAN_RTT_S,  # [B7] N4
                "commit": 2.7e-3 - _LAN_RTT_S,  # [B7] N5 durable on fsync
                "lock": 2.7e-3 - _LAN_RTT_S,  # [B7] N5 lock state is durable server state
            },
            server_bytes_per_s=1500 * 2**20,  # [B7] N4 per-client throughput
            attr_cache_min_s=3.0,  # [K9] Linux client defaults
            attr_cache_max_s=60.0,  # [K9]
            data_cache=True,  # [K9]
            close_to_open=True,  # [B7] N5 close-to-open consistency
            unsupported_ops=frozenset(),
            unsupported_errno="EOPNOTSUPP",
            locks="nlm",  # [B7] N5 NFSv4 advisory locks
        ),
    }
)
"""Remote storage profiles by name (read-only)."""
