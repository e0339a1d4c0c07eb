"""The named device profiles: realistic figures for real disks and file servers.

Like a shelf of spec sheets for the machines one can buy: a scenario picks a sheet by
name (``nvme``, ``ssd``, ``hdd``, ``tmpfs``; ``nfs3``, ``nfs4`` (and ``nfs``, its alias),
``smb``, ``s3-fuse``, ``sshfs``, ``efs``) and may
override single figures with ``dataclasses.replace``. The sheets' form (the parameter
classes and their validation) is :mod:`storsim.devices.params`; this module fills it in.

Every default cites its source. Service times vary around each mean: flash disks and
remote servers by the hyper-exponential ``h2``, a disk head by its seek and rotation
(``hdd``), memory not at all (:mod:`storsim.devices.service`). Keys in brackets
without an ``X`` ([D10], [K9], [B4]...) are those of
``shared/reference/published-figures.md``; the figures that document does not hold come
from the sources below, keyed ``[X1]``..``[X22]`` and ``[W1]``:

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
* [X16] libfuse: ``entry_timeout`` (cache timeout for names) 1.0 s, ``attr_timeout`` 1.0 s,
  ``negative_timeout`` 0.0 s by default (mount.fuse(8), ``fuse_new``); without
  ``kernel_cache`` the daemon does not set ``FOPEN_KEEP_CACHE``, and the kernel drops a
  file's cached pages at each open.
* [X17] Linux NFS client, ``fs/nfs``: ``nfs_lookup()`` (dir.c) skips the LOOKUP of an
  exclusive create (``O_CREAT|O_EXCL``, and every ``mkdir``, ``link``, ``symlink``, whose
  lookup is exclusive) and of a rename's target ("optimize away the lookup");
  ``nfs3_proc_create()`` (nfs3proc.c) follows an exclusive CREATE with a SETATTR of
  the mode and times, as RFC 1813 section 3.3.8 asks; ``nfs_file_flush()`` (file.c)
  writes a written file's dirty pages and COMMITs them at close (``nfs_wb_all``); the
  readdir reply size ``dtsize`` is capped at ``PAGE_SIZE * NFS_MAX_READDIR_PAGES`` = 32 KiB
  (client.c ``nfs_server_set_fsinfo``).
* [X18] NFSv4: RFC 7530 (4.0) and RFC 8881 (4.1) section 18.16: an OPEN is one compound
  (PUTFH, OPEN by name, GETFH, ACCESS, GETATTR): lookup, permission check and the
  close-to-open revalidation in one round trip; 4.1's EXCLUSIVE4_1 create carries the
  attributes, so no SETATTR follows; section 18.2: CLOSE releases the open state, one
  round trip (without a delegation).
* [X19] MS-SMB2: CREATE (2.2.13) opens or creates by path, CLOSE (2.2.15), QUERY_DIRECTORY
  (2.2.33), FLUSH (2.2.17), SET_INFO (2.2.39: rename, delete, size, basic information);
  the Linux cifs client compounds CREATE + SET_INFO + CLOSE into one round trip for a
  rename, a delete, a size change (``smb2_compound_op``), queries a new directory's
  information after its MKDIR (``cifs_mkdir_qinfo``) and opens by path
  (``cifs_atomic_open``: no lookup of the final component).
* [X20] sshfs (libfuse/sshfs ``sshfs.c``): an open sends SSH_FXP_OPEN and LSTAT pipelined
  (``sshfs_open_common``: one round trip) and a release its CLOSE without waiting for
  the reply; ``mknod`` of anything but a regular file returns ``-EPERM``; no xattr or
  lock handlers; its directory cache keeps attributes, names and listings 20 s
  (``dcache_timeout``). OpenSSH ``sftp-server.c`` serves one request at a time and sends
  up to 100 entries per READDIR reply.
* [X21] Amazon S3 ListObjectsV2 returns up to 1,000 keys per response (``MaxKeys``).
* [X22] s3fs-fuse ``src/s3fs.cpp``: a create PUTs an empty object at once
  (``create_file_object``) and the data at flush; ``rmdir`` LISTs the prefix to check it
  is empty before its DELETE; a rename is a server-side copy then a delete ([B6]);
  ``open`` answers from the stat cache.

[X3] also gives the write figures: average write seek 8.2 ms, single-track seek 0.23 ms
(read) and 0.32 ms (write). [X13]-[X15] and [W1], the sources of the service-time
shapes, are listed in :mod:`storsim.devices.service`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from types import MappingProxyType

from storsim.devices.params import (
    OP_CLASS_OF,
    OP_CLASSES,
    DiskParams,
    FuseParams,
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
# [P5] N15: a FUSE operation takes up to 4x a native one (< 10 us, [D10]): the other 3x
# are the trip to the daemon and back.
_FUSE_REQUEST_S = 3 * _SERVER_OP_S
# [X16] the kernel's caches in front of a libfuse daemon that keeps the defaults.
_LIBFUSE = FuseParams(
    entry_timeout_s=1.0,  # [X16]
    attr_timeout_s=1.0,  # [X16]
    negative_timeout_s=0.0,  # [X16]
    request_s=_FUSE_REQUEST_S,  # [P5], see above
    keep_cache=False,  # [X16] no kernel_cache
)

# S3 through s3fs, bucket in the same region [B4]: each measured per-operation time
# includes one round trip per request, taken as 1 ms because S3 Express One Zone answers
# a whole request in single-digit milliseconds [B8]. Server figures are the rest.
_S3_RTT_S = 1e-3
_S3_DELETE_S = 0.026 - _S3_RTT_S  # [B4] N10: s3fs 100 sequential rm 2.6 s
_S3_HEAD_S = _S3_DELETE_S  # a HEAD: no figure; a DELETE is the nearest bodiless call [B4]
# [B4] N8: s3fs 100 sequential `echo > fileN` 11.6 s, 116 ms each: a lookup of the new
# name (a HEAD), the create (a PUT of an empty object) and the data (a PUT) [X22]:
# three round trips, a HEAD and two PUTs.
_S3_PUT_S = (0.116 - 3 * _S3_RTT_S - _S3_HEAD_S) / 2
_S3_FIRST_BYTE_S = 0.260 - _S3_RTT_S  # [B4] N12: s3fs median first byte 0.26 s
_S3_LIST_S = 0.31 / 2 - _S3_RTT_S  # [B4] N11: goofys lists 2,000 keys (2 LIST pages) in 0.31 s
# [B4] N12 on EC2 hi1.4xlarge (10 GbE): 1000 MB read in 9.5 s and written in 49 s,
# less the first-byte (or create) latency and the link's share of the time.
_S3_LINK_S_PER_1000MB = 1000e6 / _TEN_GBE_BYTES_PER_S

# The requests of each operation, by protocol, besides the lookups of its path's
# components the client has not cached, and the open and close of its file (rows "open"
# and "close"). See RemoteParams.round_trips for what "read", "write", "readdir" and
# "commit" mean in a row.
_NFS3_ROUND_TRIPS: dict[str, tuple[str, ...]] = {
    "stat": (),  # the lookup and the attribute cache answer it (GETATTR when stale)
    "open": ("meta",),  # [K9] the close-to-open GETATTR (not after a LOOKUP just made)
    "close": (),  # v3 has no CLOSE; a written file's flush COMMITs (unstable_writes) [X17]
    "read": ("read",),  # READ, for the data not cached
    "write": ("write",),  # [X9] an UNSTABLE WRITE
    "append": ("write",),  # the client emulates O_APPEND: a WRITE at its cached size [K7]
    "create": ("create", "setattr", "write"),  # [X17] exclusive CREATE, SETATTR; its data
    "unlink": ("remove",),  # REMOVE
    "rename": ("rename",),  # RENAME (the target is not looked up [X17])
    "mkdir": ("create",),  # MKDIR returns the handle and attributes (RFC 1813 3.3.9)
    "rmdir": ("remove",),  # RMDIR
    "readdir": ("readdir",),  # READDIRPLUS, per page
    "chmod": ("setattr",),  # SETATTR
    "fsync": ("commit",),  # [X9] COMMIT of the unstable writes
    "link": ("create",),  # LINK
    "symlink": ("create",),  # SYMLINK
    "truncate": ("setattr",),  # SETATTR of the size
    "setxattr": ("setattr",),  # refused: v3 has no user xattrs (unsupported_errnos)
    "getxattr": ("meta",),  # refused, as setxattr
    "mknod": ("create",),  # MKNOD (RFC 1813 3.3.11) returns the handle and attributes
    "lock": ("lock",),  # [K9] NLM LOCK or UNLOCK
}
_NFS4_ROUND_TRIPS: dict[str, tuple[str, ...]] = _NFS3_ROUND_TRIPS | {
    "open": ("open",),  # [X18] the OPEN compound, its GETATTR the close-to-open check
    "close": ("close",),  # [X18] CLOSE
    "create": ("create", "write"),  # [X18] OPEN with EXCLUSIVE4_1: attributes included
    "mkdir": ("create",),  # CREATE (NF4DIR)
    "symlink": ("create",),  # CREATE (NF4LNK)
    "lock": ("lock",),  # LOCK or LOCKU
    "setxattr": ("setattr",),  # [X18] SETXATTR (RFC 8276, NFSv4.2)
    "getxattr": ("meta",),  # [X18] GETXATTR (RFC 8276)
    "mknod": ("create",),  # CREATE (NF4FIFO, NF4CHR...: RFC 7530 section 18.4)
}
_SMB_ROUND_TRIPS: dict[str, tuple[str, ...]] = {
    "stat": (),  # a query (one compound) when the 1 s attribute cache is stale [K10]
    "open": ("open",),  # [X19] CREATE by path
    "close": ("close",),  # [X19] CLOSE
    "read": ("read",),  # READ
    "write": ("write",),  # WRITE
    "append": ("write",),  # WRITE at the end the client knows
    "create": ("create", "write"),  # [X19] CREATE (FILE_CREATE); its data as WRITEs
    "unlink": ("remove",),  # [X19] CREATE (delete on close) + CLOSE, compounded
    "rename": ("rename",),  # [X19] CREATE + SET_INFO (rename) + CLOSE, compounded
    "mkdir": ("create", "meta"),  # [X19] CREATE (directory), then its information
    "rmdir": ("remove",),  # [X19] compounded as for unlink
    "readdir": ("open", "readdir", "close"),  # [X19] CREATE, QUERY_DIRECTORY pages, CLOSE
    "chmod": ("setattr",),  # [X19] SET_INFO (the read-only attribute)
    "fsync": ("commit",),  # [X7] FLUSH, an fsync on the server (strict sync)
    "link": ("create",),  # [X19] SET_INFO (FileLinkInformation), compounded
    "symlink": ("create",),  # refused without Unix Extensions (see unsupported_ops)
    "truncate": ("setattr",),  # [X19] SET_INFO (end of file), compounded
    "setxattr": ("setattr",),  # [X19] SET_INFO (FileFullEaInformation), compounded
    "getxattr": ("meta",),  # [X19] QUERY_INFO of the extended attributes, compounded
    "mknod": ("create",),  # refused without sfu: EPERM (unsupported_errnos) [X19]
    "lock": ("lock",),  # [K10] LOCK
}
_SSHFS_ROUND_TRIPS: dict[str, tuple[str, ...]] = {
    "stat": (),  # LSTAT when the kernel's and sshfs's caches are stale
    "open": ("open",),  # [X20] SSH_FXP_OPEN with its LSTAT pipelined: one round trip
    "close": (),  # [X20] CLOSE sent without waiting for its reply
    "read": ("read",),  # SSH_FXP_READ
    "write": ("write",),  # SSH_FXP_WRITE (its reply awaited at the latest at close)
    "append": ("write",),  # a WRITE at the end sshfs knows
    "create": ("create", "write"),  # [X20] OPEN (CREAT|EXCL) + LSTAT pipelined; its data
    "unlink": ("remove",),  # REMOVE
    "rename": ("rename",),  # RENAME
    "mkdir": ("create",),  # MKDIR
    "rmdir": ("remove",),  # RMDIR
    "readdir": ("open", "readdir"),  # [X20] OPENDIR, READDIR per 100 entries; CLOSE unawaited
    "chmod": ("setattr",),  # SETSTAT
    "fsync": ("commit",),  # fsync@openssh.com
    "link": ("create",),  # hardlink@openssh.com
    "symlink": ("create",),  # SYMLINK
    "truncate": ("setattr",),  # SETSTAT of the size
    "setxattr": ("setattr",),  # refused: sshfs has no xattr handler [X20]
    "getxattr": ("meta",),  # refused, as setxattr [X20]
    "mknod": ("create",),  # a FIFO or device refused: EPERM [X20]
    "lock": ("lock",),  # never sent: sshfs has no lock handler (locks: local)
}
_S3FS_ROUND_TRIPS: dict[str, tuple[str, ...]] = {
    "stat": (),  # a HEAD when the stat cache (900 s) has not the file [X8]
    "open": (),  # [X22] answered from the stat cache
    "close": (),  # the data went with the write (below)
    "read": ("read",),  # a ranged GET [X8] (use_cache off)
    "write": ("write",),  # [B6] a PUT of the object
    "append": ("write",),  # [B6] a PUT of the whole object again
    "create": ("create", "write"),  # [X22] a PUT of an empty object; its data as a PUT
    "unlink": ("remove",),  # [B4] N10 DELETE
    "rename": ("rename", "remove"),  # [B6] server-side COPY, then DELETE: not atomic
    "mkdir": ("create",),  # a PUT of the directory's marker object
    "rmdir": ("readdir", "remove"),  # [X22] a LIST (is it empty?), then a DELETE
    "readdir": ("readdir",),  # [X21] LIST, per 1,000 keys
    "chmod": ("setattr",),  # [B6] a COPY of the object onto itself, new metadata
    "fsync": (),  # the object was PUT by the write: nothing left to upload
    "link": ("create",),  # refused (see unsupported_ops)
    "symlink": ("create",),  # [B6] a PUT of the link's object
    "truncate": ("setattr",),  # a PUT of the shortened object
    "setxattr": ("setattr",),  # [X22] a COPY of the object onto itself, new x-amz-meta
    "getxattr": (),  # [X22] answered from the stat cache (a HEAD when the stat is stale)
    "mknod": ("create",),  # [X22] a PUT of an empty object with the node's mode
    "lock": ("lock",),  # never sent: locks are local (see below)
}


def _latencies(default: float, **by_class: float) -> dict[str, float]:
    """A server latency table: ``default`` for every class of work not named."""
    table = dict.fromkeys(OP_CLASSES, default)
    table.update(by_class)
    return table


_NFS_LATENCIES = _latencies(
    _SERVER_OP_S,  # [D10] GETATTR, LOOKUP, READ from the server's caches; OPEN, CLOSE, LOCK
    # state and UNSTABLE WRITEs in server memory [X9]
    create=_SERVER_STABLE_S,  # [X9] namespace changes reply once on stable storage
    remove=_SERVER_STABLE_S,  # [X9]
    rename=_SERVER_STABLE_S,  # [X9]
    setattr=_SERVER_STABLE_S,  # [X9]
    commit=_SERVER_STABLE_S,  # [X9] COMMIT flushes to stable storage
)

_NFS3 = RemoteParams(
    # NFSv3 server on the same LAN, exporting an SSD; the Linux client [X17].
    protocol="nfsv3",
    rtt_s=_LAN_RTT_S,  # [X5]
    link_bytes_per_s=_TEN_GBE_BYTES_PER_S,  # [X10]
    server_queue_depth=8,  # [X6] default nfsd thread count
    server_latency_s=_NFS_LATENCIES,
    server_bytes_per_s=DISK_PROFILES["ssd"].write_bytes_per_s,  # [X2] the export's SSD
    attr_cache_min_s=3.0,  # [K9] acregmin
    attr_cache_max_s=60.0,  # [K9] acregmax
    data_cache=True,  # [K9] the client caches file data, revalidated at open
    close_to_open=True,  # [K9] GETATTR on open, flush on close (cto is the default)
    # [X17] the v3 client has no user extended attributes (only ACLs, by the NFSACL
    # side protocol): listxattr handlers for "user." are v4.2's (RFC 8276)
    unsupported_ops=frozenset({"setxattr", "getxattr"}),
    unsupported_errno="EOPNOTSUPP",
    locks="nlm",  # [K9] NLM advisory locks unless mounted nolock
    round_trips=_NFS3_ROUND_TRIPS,
    dir_cache_min_s=30.0,  # [K9] acdirmin
    dir_cache_max_s=60.0,  # [K9] acdirmax
    listing_cache=True,  # [K9] a listing is kept while the directory is unchanged
    unstable_writes=True,  # [X9]
    lookup_before_create=False,  # [X17]
    open_by_name=False,  # an open needs the file's handle: a LOOKUP when not cached
    # [X17] 32 KiB replies; an entryplus3 (RFC 1813 3.3.17: fileid, name, cookie,
    # attributes, handle) is about 160 bytes for a short name.
    readdir_entries=32 * 1024 // 160,
    readdir_entry_bytes=160,
    service=FLASH,  # [W1] H2: the best fit to storage and Internet traces
)

_NFS4 = RemoteParams(
    # NFSv4.2 server on the same LAN, exporting an SSD (what `mount -t nfs` negotiates
    # with a current Linux server); the Linux client [X17], [X18].
    protocol="nfsv4.2",
    rtt_s=_LAN_RTT_S,  # [X5]
    link_bytes_per_s=_TEN_GBE_BYTES_PER_S,  # [X10]
    server_queue_depth=8,  # [X6] default nfsd thread count
    server_latency_s=_NFS_LATENCIES,
    server_bytes_per_s=DISK_PROFILES["ssd"].write_bytes_per_s,  # [X2] the export's SSD
    attr_cache_min_s=3.0,  # [K9] acregmin
    attr_cache_max_s=60.0,  # [K9] acregmax
    data_cache=True,  # [K9]
    close_to_open=True,  # [K9] [X18] the OPEN's GETATTR
    unsupported_ops=frozenset(),  # [K9] [X18] NFSv4.2 supports every workload operation
    unsupported_errno="EOPNOTSUPP",
    locks="nlm",  # [K9] NFSv4 LOCK: advisory locks the server coordinates
    round_trips=_NFS4_ROUND_TRIPS,
    dir_cache_min_s=30.0,  # [K9] acdirmin
    dir_cache_max_s=60.0,  # [K9] acdirmax
    listing_cache=True,  # [K9]
    unstable_writes=True,  # [X9]
    lookup_before_create=False,  # [X17]
    open_by_name=True,  # [X18] OPEN takes the name
    readdir_entries=32 * 1024 // 160,  # [X17] as for v3 (READDIR with attributes)
    readdir_entry_bytes=160,
    service=FLASH,  # [W1] H2: the best fit to storage and Internet traces
)

REMOTE_PROFILES: Mapping[str, RemoteParams] = MappingProxyType(
    {
        "nfs3": _NFS3,
        "nfs4": _NFS4,
        "nfs": _NFS4,  # `mount -t nfs`: the highest version both sides speak, v4.2
        # SMB3 (Linux cifs client) to a Samba server on the same LAN, exporting an SSD.
        "smb": RemoteParams(
            protocol="smb3",
            rtt_s=_LAN_RTT_S,  # [X5]
            link_bytes_per_s=_TEN_GBE_BYTES_PER_S,  # [X10]
            server_queue_depth=100,  # [X7] Samba aio max threads
            server_latency_s=_latencies(
                _SERVER_OP_S,  # [D10] Samba works in the server's caches (no forced sync
                # of metadata, unlike NFS)
                commit=_SERVER_STABLE_S,  # [X7] strict sync: FLUSH is an fsync
            ),
            server_bytes_per_s=DISK_PROFILES["ssd"].write_bytes_per_s,  # [X2]
            attr_cache_min_s=1.0,  # [K10] actimeo default 1 s, a fixed timeout
            attr_cache_max_s=1.0,  # [K10]
            data_cache=True,  # [K10] cache=strict (default): cached while an oplock is held
            close_to_open=True,  # [K10] cache=strict: without a lease, open asks the server
            # [K10] without Unix Extensions (Windows or default Samba) no symlinks unless
            # mfsymlinks; the cifs client's cifs_symlink() then returns -EOPNOTSUPP.
            # [X19] nor special files without the sfu option: smb2_make_node(), EPERM
            unsupported_ops=frozenset({"symlink", "mknod"}),
            unsupported_errnos={"mknod": "EPERM"},
            unsupported_errno="EOPNOTSUPP",
            locks="brl",  # [K10] byte-range locks sent to the server unless nobrl
            round_trips=_SMB_ROUND_TRIPS,
            dir_cache_min_s=1.0,  # [K10] actimeo covers directories too
            dir_cache_max_s=1.0,  # [K10]
            listing_cache=False,  # [X19] each readdir queries the directory again
            unstable_writes=False,  # [X19] a WRITE is done when answered; FLUSH at fsync
            lookup_before_create=False,  # [X19] CREATE by path
            open_by_name=True,  # [X19] CREATE by path
            # Assumption, no published figure: a 16 KiB QUERY_DIRECTORY reply of
            # FileIdFullDirectoryInformation entries (80 bytes and a UTF-16 name, ~110).
            readdir_entries=16 * 1024 // 110,
            readdir_entry_bytes=110,
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
            server_latency_s=_latencies(
                _S3_HEAD_S,  # HEAD (meta); open, close and lock are never sent
                create=_S3_PUT_S,  # [B4] N8, see above
                write=_S3_PUT_S,  # [B4] N8: the data's PUT
                remove=_S3_DELETE_S,  # [B4] N10
                read=_S3_FIRST_BYTE_S,  # [B4] N12 first byte
                readdir=_S3_LIST_S,  # [B4] N11 (s3fs's extra HEAD per entry not counted)
                rename=_S3_PUT_S,  # [B6] a server-side COPY: a PUT of the object
                setattr=_S3_PUT_S,  # [B6] chmod copies the object onto itself
                commit=_S3_PUT_S,  # [B5] an upload (never sent: the write PUT it)
            ),
            # [B4] N12: 1000 MB read in 9.5 s, less first byte and link time.
            server_bytes_per_s=1000e6 / (9.5 - 0.260 - _S3_LINK_S_PER_1000MB),
            # [B4] N12: 1000 MB written in 49 s, less the create's time and link time.
            server_write_bytes_per_s=1000e6 / (49.0 - 0.116 - _S3_LINK_S_PER_1000MB),
            attr_cache_min_s=900.0,  # [X8] stat_cache_expire: a fixed 900 s
            attr_cache_max_s=900.0,  # [X8]
            data_cache=True,  # [X16] the kernel's page cache while the file is open
            close_to_open=False,  # [X22] an open asks nothing; reads GET the object
            unsupported_ops=frozenset({"link"}),  # [B6] no hard links; [X8] s3fs_link()
            unsupported_errno="EOPNOTSUPP",  # [X8] -ENOTSUP, the same number on Linux
            # [B6] "no coordination between multiple clients": s3fs has no lock handler, so
            # the FUSE kernel module grants POSIX locks locally.
            locks="local",
            round_trips=_S3FS_ROUND_TRIPS,
            dir_cache_min_s=900.0,  # [X8] names come from the stat cache too
            dir_cache_max_s=900.0,  # [X8]
            listing_cache=False,  # [X22] every readdir LISTs the prefix
            unstable_writes=False,
            lookup_before_create=True,  # [X16] FUSE looks a new name up before creating it
            open_by_name=False,  # [X16] FUSE looks every component up
            readdir_entries=1000,  # [X21]
            # Assumption, no published figure: a key's <Contents> element in the LIST
            # reply's XML (key, date, ETag, size, storage class), about 300 bytes.
            readdir_entry_bytes=300,
            fuse=_LIBFUSE,  # [X16] s3fs keeps libfuse's kernel timeouts
            service=FLASH,  # [W1] H2: the best fit to storage and Internet traces
        ),
        # sshfs: an SFTP server (OpenSSH sftp-server) on the same LAN through the FUSE
        # daemon sshfs, exporting an SSD.
        "sshfs": RemoteParams(
            protocol="sftp",
            rtt_s=_LAN_RTT_S,  # [X5]
            link_bytes_per_s=_TEN_GBE_BYTES_PER_S,  # [X10]
            server_queue_depth=1,  # [X20] sftp-server serves one request at a time
            server_latency_s=_latencies(
                _SERVER_OP_S,  # [D10] sftp-server makes one system call per request
                commit=_SERVER_STABLE_S,  # fsync@openssh.com: an fsync on the server [X2]
            ),
            server_bytes_per_s=DISK_PROFILES["ssd"].write_bytes_per_s,  # [X2]
            attr_cache_min_s=20.0,  # [X20] sshfs keeps attributes 20 s, a fixed timeout
            attr_cache_max_s=20.0,  # [X20]
            data_cache=True,  # [X16] the kernel's page cache while the file is open
            close_to_open=True,  # [X20] each open's LSTAT refreshes sshfs's attributes
            # [X20] sshfs has no xattr handlers: libfuse answers ENOSYS, which the
            # kernel turns into EOPNOTSUPP (fuse_setxattr); its mknod refuses a FIFO or
            # device node with EPERM
            unsupported_ops=frozenset({"setxattr", "getxattr", "mknod"}),
            unsupported_errnos={"mknod": "EPERM"},
            unsupported_errno="EOPNOTSUPP",
            locks="local",  # [X20] no lock handler: the FUSE kernel module grants locks
            round_trips=_SSHFS_ROUND_TRIPS,
            dir_cache_min_s=20.0,  # [X20] dcache_timeout: names and listings, 20 s
            dir_cache_max_s=20.0,  # [X20]
            listing_cache=True,  # [X20]
            unstable_writes=False,
            lookup_before_create=True,  # [X16] FUSE looks a new name up first
            open_by_name=False,  # [X16] FUSE looks every component up
            readdir_entries=100,  # [X20]
            # An SSH_FXP_NAME entry: name, ls-style long name and attributes, ~110 bytes.
            readdir_entry_bytes=110,
            fuse=_LIBFUSE,  # [X16] sshfs keeps libfuse's kernel timeouts
            service=FLASH,  # [W1] H2: the best fit to storage and Internet traces
        ),
        # Amazon EFS, Regional, General Purpose mode, NFSv4.1 from the same region.
        "efs": dataclasses.replace(
            _NFS4,
            protocol="nfsv4.1",
            rtt_s=_LAN_RTT_S,  # [X5] within the region's datacenter network
            link_bytes_per_s=1500 * 2**20,  # [B7] N4: 1,500 MiB/s per client
            # [B7] N4: 900K read IOPS (the lower Elastic figure) x 0.5 ms of server work.
            server_queue_depth=round(900_000 * (1e-3 - _LAN_RTT_S)),
            # [X18] user extended attributes are NFSv4.2's (RFC 8276), not 4.1's
            unsupported_ops=frozenset({"setxattr", "getxattr"}),
            server_latency_s=_latencies(
                1e-3 - _LAN_RTT_S,  # [B7] N4 read ~1 ms: GETATTR, LOOKUP, OPEN, CLOSE too
                write=2.7e-3 - _LAN_RTT_S,  # [B7] N4 write ~2.7 ms
                create=2.7e-3 - _LAN_RTT_S,  # [B7] N4 durable across zones, as a write
                remove=2.7e-3 - _LAN_RTT_S,  # [B7] N4
                rename=2.7e-3 - _LAN_RTT_S,  # [B7] N4
                setattr=2.7e-3 - _LAN_RTT_S,  # [B7] N4
                commit=2.7e-3 - _LAN_RTT_S,  # [B7] N5 durable on fsync
                lock=2.7e-3 - _LAN_RTT_S,  # [B7] N5 lock state is durable server state
            ),
            server_bytes_per_s=1500 * 2**20,  # [B7] N4 per-client throughput
            # the Linux client's defaults, as for nfs4 [K9]; close-to-open [B7] N5;
            # NFSv4 advisory locks [B7] N5
        ),
    }
)
"""Remote storage profiles by name (read-only)."""
