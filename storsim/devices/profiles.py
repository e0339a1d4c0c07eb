"""The named device profiles: realistic figures for real disks and file servers.

Like a shelf of spec sheets for the machines one can buy: a scenario picks a sheet by
name (``nvme``, ``ssd``, ``hdd``, ``tmpfs``; ``nfs``, ``smb``, ``s3-fuse``, ``efs``) and may
override single figures with ``dataclasses.replace``. The sheets' form (the parameter
classes and their validation) is :mod:`storsim.devices.params`; this module fills it in.

Every default cites its source. Service times vary around each mean: flash disks and
remote servers by the hyper-exponential ``h2``, a disk head by its seek and rotation
(``hdd``), memory not at all (:mod:`storsim.devices.service`). Keys in brackets
without an ``X`` ([D10], [K9], [B4]...) are those of
``shared/reference/published-figures.md``; the figures that document does not hold come
from the sources below, keyed ``[X1]``..``[X15]`` and ``[W1]``:

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
* [X12] European patent application EP 1 850 348 A1, background: Micron NAND flash
  "typical program time is specified to 300 us, whereas the maximum program time is
  specified to 700 us". A cache flush of a consumer SSD waits for its write cache to be
  programmed; a datacenter SSD with power-loss protection acknowledges it from its
  capacitor-backed cache in tens of microseconds (set ``flush_latency`` then).

[X3] also gives the write figures: average write seek 8.2 ms, single-track seek 0.23 ms
(read) and 0.32 ms (write). [X13]-[X15] and [W1], the sources of the service-time
shapes, are listed in :mod:`storsim.devices.service`.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from storsim.devices.params import (
    OP_CLASS_OF,
    OP_CLASSES,
    DiskParams,
    PageCacheParams,
    RemoteParams,
)
from storsim.devices.service import FIXED, FLASH, HDD

__all__ = [
    "DISK_PROFILES",
    "OP_CLASSES",
    "OP_CLASS_OF",
    "PAGE_CACHE",
    "REMOTE_PROFILES",
]


PAGE_CACHE: PageCacheParams = PageCacheParams()
"""The default page cache (each default cites its source in ``PageCacheParams``)."""


# --- disks ------------------------------------------------------------------------------

DISK_PROFILES: Mapping[str, DiskParams] = MappingProxyType(
    {
        "nvme": DiskParams(
            read_latency_s=1 / 14_000,  # [X1] 14K IOPS 4 KB random read at QD1: 71 us each
            write_latency_s=1 / 50_000,  # [X1] 50K IOPS 4 KB random write at QD1: 20 us each
            # [X12] a flush waits for the write cache to reach flash: one page program.
            flush_latency_s=300e-6,
            read_bytes_per_s=3_200e6,  # [X1] sequential read
            write_bytes_per_s=1_800e6,  # [X1] sequential write (500 GB model)
            # [X1] 330K IOPS at QD32 / 14K at QD1: the flash serves ~24 requests at once.
            queue_depth=round(330_000 / 14_000),
            service=FLASH,  # [W1] H2: flash accesses, 1 % behind an erase 20x slower
        ),
        "ssd": DiskParams(
            read_latency_s=1 / 10_000,  # [X2] 10K IOPS 4 KB random read at QD1: 100 us each
            write_latency_s=1 / 40_000,  # [X2] 40K IOPS 4 KB random write at QD1: 25 us each
            flush_latency_s=300e-6,  # [X12] one page program, as for nvme
            read_bytes_per_s=540e6,  # [X2] sequential read, the SATA 6 Gb/s ceiling
            write_bytes_per_s=520e6,  # [X2] sequential write
            queue_depth=round(98_000 / 10_000),  # [X2] QD32 IOPS / QD1 IOPS: ~10 in parallel
            service=FLASH,  # [W1] as for nvme
        ),
        "hdd": DiskParams(
            # [X3] a random access = average seek 7.4 ms (read) + half a turn at 7,200 rpm.
            read_latency_s=7.4e-3 + 4.16e-3,
            write_latency_s=8.2e-3 + 4.16e-3,  # [X3] average write seek 8.2 ms + half a turn
            # [X3] a flush writes the drive's cache to the platters: a write's positioning.
            flush_latency_s=8.2e-3 + 4.16e-3,
            read_bytes_per_s=(83e6 + 175e6) / 2,  # [X4] sustained 83-175 MB/s: zone average
            write_bytes_per_s=(83e6 + 175e6) / 2,  # [X4] same media rate for writes
            queue_depth=1,  # one actuator: the heads serve one request at a time
            service=HDD,  # [X3] [X15] seek (square root of a random distance) + rotation
        ),
        "tmpfs": DiskParams(
            read_latency_s=5e-6,  # [D10] native per-operation latency under 10 us (low end)
            write_latency_s=5e-6,  # [D10] the same for a write into memory
            flush_latency_s=0.0,  # nothing to flush: the pages are the storage
            read_bytes_per_s=1000e6 / 0.57,  # [B4] bench.local: 1000 MB into memory in 0.57 s
            write_bytes_per_s=1000e6 / 0.57,  # [B4] same memory copy
            # Assumption, no figure: RAM has no device queue; CPU cores copy in parallel,
            # so any depth beyond the number of concurrent writers means "no queueing".
            queue_depth=64,
            volatile=True,  # fsync on tmpfs is a no-op (shmem's noop_fsync)
            service=FIXED,  # memory copies: no mechanical or flash variance
        ),
    }
)
"""Local storage profiles by name (read-only)."""


# --- remote servers ---------------------------------------------------------------------

_LAN_RTT_S = 500e-6  # [X5] round trip within one datacenter
_TEN_GBE_BYTES_PER_S = 10e9 / 8  # [X10] 10 Gb/s Ethernet
_SERVER_OP_S = 10e-6  # [D10] a warm local file-system operation on the server, < 10 us
# plus a stable write on the export's SSD: its write and the cache flush after it [X2] [X12]
_SERVER_STABLE_S = (
    _SERVER_OP_S + DISK_PROFILES["ssd"].write_latency_s + DISK_PROFILES["ssd"].flush_latency_s
)

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
            service=FLASH,  # [W1] H2: the best fit to storage and Internet traces
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
            service=FLASH,  # [W1] H2: the best fit to storage and Internet traces
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
            service=FLASH,  # [W1] H2: the best fit to storage and Internet traces
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
            service=FLASH,  # [W1] H2: the best fit to storage and Internet traces
        ),
    }
)
"""Remote storage profiles by name (read-only)."""
