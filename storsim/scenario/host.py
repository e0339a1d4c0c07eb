"""The host of a scenario: its CPUs, memory, local disk, remote servers, overlay2's options.

Like the spec sheet of a server before anything is deployed on it, ``host:`` names the
hardware the containers share: the cores, the memory's copy speed and the page cache, a
disk profile (``nvme``, ``ssd``, ``hdd``...) with some of its figures overridden, the
per-syscall and scheduler costs, and the remote storage servers that distributed bind
mounts point at (``nas:/export``): a remote profile (``nfs3``, ``nfs4``, ``smb``,
``s3-fuse``, ``sshfs``, ``efs``) with its protocol's round trips per operation, its
server's latency per class of work and its client's caches, any of them overridden
(``RemoteSpec.params`` builds the model's parameters). Every figure that shapes a time
is a key here (or in a remote's profile), documented with its unit, default and source
(``storsim schema``).
"""

# ruff: noqa: RUF012  (pydantic copies a mutable field default for each instance; ruff
# exempts pydantic models only when BaseModel is a base class within the same file)

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BeforeValidator, ConfigDict, Field, field_validator, model_validator

from storsim.names import Op, OpClass, RoundTripKey
from storsim.scenario.fields import Bandwidth, Duration, Size, Spec

if TYPE_CHECKING:
    from storsim.devices.params import RemoteParams

__all__ = [
    "DiskSpec",
    "ExponentialService",
    "FixedService",
    "FuseSpec",
    "H2Service",
    "HddService",
    "HostSpec",
    "MemorySpec",
    "OverlaySpec",
    "RemoteSpec",
    "ServiceSpec",
]


def _profile_names(kind: str) -> tuple[str, ...]:
    # Imported at first use: the profiles belong to the device layer, which the scenario
    # format does not load at import time (it imports only the shared small modules).
    from storsim.devices import profiles

    table = profiles.DISK_PROFILES if kind == "disk" else profiles.REMOTE_PROFILES
    return tuple(table)


def _known(value: str, kind: str) -> str:
    names = _profile_names(kind)
    if value not in names:
        raise ValueError(f"must be one of {', '.join(names)}")
    return value


class FixedService(Spec):
    """Every access takes exactly its mean latency (an M/D/c queue)."""

    dist: Literal["fixed"]
    """``fixed``."""


class ExponentialService(Spec):
    """Exponential access times of the mean latency (M/M/c, for checks against theory)."""

    dist: Literal["exponential"]
    """``exponential``."""


class H2Service(Spec):
    """Two exponential phases, the best fit to storage traces' service times ([W1]
    Wajahat et al., Performance Evaluation 142, 2020): a fast phase, and a slow one (an
    access that waits behind a flash block erase). The mean stays the latency."""

    dist: Literal["h2"]
    """``h2``."""
    slow_fraction: Annotated[float, Field(ge=0, lt=1)] | None = None
    """Share of accesses in the slow phase. Default 0.01: an assumption (an idle drive
    has fewer, a write-heavy drive's garbage collection many more)."""
    slow_ratio: Annotated[float, Field(ge=1)] | None = None
    """Mean of the slow phase over the mean of the fast one. Default 20: a 2 ms block
    erase (NAND datasheets) against a 100 us flash access."""


class HddService(Spec):
    """A disk head's seek (growing as the square root of the distance between two
    random tracks) plus a rotational latency uniform over one revolution. The mean is
    then scaled to the disk's latency of each kind."""

    dist: Literal["hdd"]
    """``hdd``."""
    single_track_seek: Duration | None = None
    """Seek to the next track (s). Default 0.23 ms (WD Ultrastar HC310, read)."""
    average_seek: Duration | None = None
    """Mean seek between random tracks (s). Default 7.4 ms (HC310, read)."""
    revolution: Duration | None = None
    """One turn of the platters (s). Default 8.33 ms (7,200 rpm)."""

    @model_validator(mode="after")
    def _seek_order(self) -> HddService:
        # the defaults of storsim.devices.service.HDD, for a key left out
        single = 0.23e-3 if self.single_track_seek is None else self.single_track_seek
        average = 7.4e-3 if self.average_seek is None else self.average_seek
        if not average > single:
            raise ValueError(
                f"average_seek must be > single_track_seek ({single!r} s) (got {average!r} s)"
            )
        return self


ServiceSpec = Annotated[
    FixedService | ExponentialService | H2Service | HddService, Field(discriminator="dist")
]
"""A service-time shape: ``{dist: h2, slow_fraction: 0.02}`` and the like."""


def _service_shorthand(value: Any) -> Any:
    return {"dist": value} if isinstance(value, str) else value


Service = Annotated[
    ServiceSpec,
    BeforeValidator(
        _service_shorthand,
        json_schema_input_type=Literal["fixed", "exponential", "h2", "hdd"] | ServiceSpec,
    ),
]
"""A service-time shape, or its name alone for its default parameters (``service: hdd``)."""


class DiskSpec(Spec):
    """The host's local disk: a profile, optionally with some of its figures overridden."""

    profile: str = "nvme"
    """The disk's profile: ``nvme``, ``ssd``, ``hdd`` or ``tmpfs`` (a RAM disk: the
    Docker data root on tmpfs). Each figure of a profile cites its source."""
    latency: Duration | None = None
    """Shorthand that sets ``read_latency``, ``write_latency`` and ``flush_latency`` to
    one value (s); a specific key given as well wins over it."""
    read_latency: Duration | None = None
    """Mean access time of a read: data, a directory block, an inode (s). Default: the
    profile's (nvme 71 us, ssd 100 us: 4 KiB random reads at queue depth 1; hdd 11.56
    ms: average seek and half a turn)."""
    write_latency: Duration | None = None
    """Mean access time of a write (s). Default: the profile's (nvme 20 us, ssd 25 us:
    4 KiB random writes at queue depth 1, into the drive's cache; hdd 12.36 ms)."""
    flush_latency: Duration | None = None
    """Mean time of a cache flush or journal commit, what ``fsync`` waits for after its
    data (s). Default: the profile's (nvme, ssd 300 us: one NAND page program; hdd 12.36
    ms; tmpfs 0). A drive with power-loss protection flushes in tens of microseconds."""
    read_bandwidth: Bandwidth | None = None
    """Sequential read bandwidth (bytes/s), shared by the reads transferring at once.
    Default: the profile's."""
    write_bandwidth: Bandwidth | None = None
    """Sequential write bandwidth (bytes/s), shared by the writes transferring at once.
    Default: the profile's."""
    queue_depth: Annotated[int, Field(gt=0)] | None = None
    """Requests the device serves at once (latency and IOPS; their bytes share the
    bandwidth). Default: the profile's (QD32 over QD1 IOPS of its drive)."""
    service: Service | None = None
    """Shape of the access times around their means: ``fixed``, ``exponential``,
    ``h2`` or ``hdd``, or a mapping with ``dist`` and its parameters. Default: the
    profile's (``h2`` for flash, ``hdd`` for a disk, ``fixed`` for tmpfs)."""

    @field_validator("profile")
    @classmethod
    def _known_profile(cls, value: str) -> str:
        return _known(value, "disk")


class MemorySpec(Spec):
    """The host's memory: what a page-cache hit and a memory copy cost."""

    copy_bandwidth: Bandwidth | None = None
    """Memory copy bandwidth between the page cache and an application, or within the
    kernel (bytes/s). Default 1.75 GB/s: 1000 MB written into the page cache by dd in
    0.57 s (goofys bench.local)."""
    cache_hit_latency: Duration | None = None
    """Fixed cost of a read served from the page cache (s). Default 5 us: the low end
    of native per-operation latency "under 10 us" (Docker osxfs docs)."""


class FuseSpec(Spec):
    """The kernel's caches in front of a FUSE daemon (``s3-fuse``, ``sshfs``): each
    field overrides the profile's (libfuse's defaults)."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    entry_timeout: Duration | None = None
    """How long the kernel trusts a looked-up name (s). Default 1 s: libfuse's
    ``entry_timeout`` [X16]."""
    attr_timeout: Duration | None = None
    """How long the kernel trusts a file's attributes (s). Default 1 s: libfuse's
    ``attr_timeout`` [X16]."""
    negative_timeout: Duration | None = None
    """How long the kernel remembers that a name does not exist (s). Default 0: libfuse's
    ``negative_timeout`` [X16]."""
    request_latency: Duration | None = None
    """One request from the kernel to the daemon and back (s). Default 30 us: [P5] N15, a
    FUSE operation takes up to 4x a native one (< 10 us [D10])."""
    keep_cache: bool | None = None
    """Keep a file's cached pages across opens (libfuse ``kernel_cache``). Default false
    [X16]: each open drops them and reads from the server again."""


#: RemoteSpec field -> RemoteParams field, for the overrides that map one to one.
_REMOTE_FIELDS = {
    "rtt": "rtt_s",
    "bandwidth": "link_bytes_per_s",
    "server_queue_depth": "server_queue_depth",
    "server_bandwidth": "server_bytes_per_s",
    "attr_cache_min": "attr_cache_min_s",
    "attr_cache_max": "attr_cache_max_s",
    "dir_cache_min": "dir_cache_min_s",
    "dir_cache_max": "dir_cache_max_s",
    "listing_cache": "listing_cache",
    "close_to_open": "close_to_open",
    "data_cache": "data_cache",
    "unstable_writes": "unstable_writes",
    "lookup_before_create": "lookup_before_create",
    "open_by_name": "open_by_name",
    "readdir_entries": "readdir_entries",
    "readdir_entry_bytes": "readdir_entry_bytes",
    "locks": "locks",
}
_FUSE_FIELDS = {
    "entry_timeout": "entry_timeout_s",
    "attr_timeout": "attr_timeout_s",
    "negative_timeout": "negative_timeout_s",
    "request_latency": "request_s",
    "keep_cache": "keep_cache",
}


class RemoteSpec(Spec):
    """A remote storage server that distributed bind mounts point at (``name:/export``):
    a profile, optionally with some of its figures overridden. Every field but
    ``profile`` defaults to the profile's value (``storsim.devices.profiles``, where
    each cites its source)."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    profile: str
    """The server and protocol: ``nfs3``, ``nfs4`` (``nfs``: the same, what ``mount -t
    nfs`` negotiates), ``smb``, ``s3-fuse`` (s3fs), ``sshfs``, ``efs``."""
    rtt: Duration | None = None
    """Network round trip between client and server (s). nfs/smb/sshfs 500 us [X5];
    s3-fuse 1 ms [B8]."""
    bandwidth: Bandwidth | None = None
    """Bandwidth of the link every client shares (bytes/s). 10 GbE [X10]; efs 1,500 MiB/s
    per client [B7]."""
    server_queue_depth: Annotated[int, Field(gt=0)] | None = None
    """Requests the server works on at once (its threads). nfs 8 nfsd [X6]; smb 100 [X7];
    s3-fuse 1 (s3fs serialises, [B4] N9); sshfs 1 (sftp-server, [X20])."""
    server_bandwidth: Bandwidth | None = None
    """The server's data bandwidth (bytes/s). The export's SSD [X2]; s3-fuse from [B4]
    N12."""
    server_latency: dict[OpClass, Duration] | None = None
    """The server's work per request, by class (``meta``, ``open``, ``close``,
    ``create``, ``remove``, ``read``, ``write``, ``readdir``, ``rename``, ``setattr``,
    ``commit``, ``lock``), in seconds; the classes not given keep the profile's. nfs:
    10 us in memory [D10], 110 us for what must reach stable storage [X9] [X2];
    s3-fuse: a PUT 44 ms, a HEAD or DELETE 25 ms, a GET's first byte 259 ms [B4]."""
    round_trips: dict[RoundTripKey, Annotated[int, Field(ge=0)] | list[OpClass]] | None = None
    """Requests each operation sends (besides the lookups of its path's uncached
    components and its file's open and close, the rows ``open`` and ``close``): a list
    of classes of server work, or a count ``n``: the profile's first ``n`` requests, then
    requests of the operation's own class. E.g. nfs3 ``create: [create, setattr,
    write]`` [X17], nfs4 ``create: [create, write]`` [X18]."""
    attr_cache_min: Duration | None = None
    """Shortest time the client trusts a file's cached attributes (s). nfs acregmin 3 s
    [K9]; smb actimeo 1 s [K10]; s3-fuse stat_cache_expire 900 s [X8]; sshfs 20 s
    [X20]."""
    attr_cache_max: Duration | None = None
    """Longest time the client trusts a file's cached attributes (s). nfs acregmax 60 s
    [K9]."""
    dir_cache_min: Duration | None = None
    """Shortest time the client trusts a directory's attributes, looked-up names and
    listing (s). nfs acdirmin 30 s [K9]; smb 1 s [K10]; s3-fuse 900 s [X8]; sshfs 20 s
    [X20]."""
    dir_cache_max: Duration | None = None
    """Longest such time (s). nfs acdirmax 60 s [K9]."""
    listing_cache: bool | None = None
    """The client keeps a directory's listing while the directory is fresh and unchanged:
    nfs and sshfs yes [K9] [X20]; smb and s3-fuse no [X19] [X22]."""
    close_to_open: bool | None = None
    """Each open revalidates the file's attributes, and so its cached data (false: NFS
    ``nocto``). nfs, smb, sshfs yes [K9] [K10] [X20]; s3-fuse no [X22]."""
    data_cache: bool | None = None
    """The client may serve reads from its page cache, revalidated at open
    (``close_to_open``) and when the attributes go stale; false: every read fetches its
    bytes from the server (as SMB's ``cache=none``). Default true on every profile: the
    kernel's page cache [K9] [K10] [X16]."""
    unstable_writes: bool | None = None
    """Writes reach server memory only and are COMMITted at fsync and at the close of a
    written file: nfs yes [X9] [X17]."""
    lookup_before_create: bool | None = None
    """The client looks a new name up before creating it: FUSE yes [X16]; nfs no (the
    exclusive-create optimisation [X17]), smb no [X19]."""
    open_by_name: bool | None = None
    """An open names the file in its own request, so the last path component is not
    looked up first: nfs4 OPEN [X18], smb CREATE [X19]."""
    readdir_entries: Annotated[int, Field(gt=0)] | None = None
    """Directory entries one readdir reply carries. nfs 204 (32 KiB replies [X17]); smb
    148; s3-fuse 1,000 [X21]; sshfs 100 [X20]."""
    readdir_entry_bytes: Annotated[int, Field(ge=0)] | None = None
    """Bytes one entry takes in a readdir reply. nfs 160 (RFC 1813 entryplus3)."""
    unsupported: list[Op] | None = None
    """Operations the mount refuses (with the profile's errno, EOPNOTSUPP): smb
    ``[symlink]`` [K10], s3-fuse ``[link]`` [B6] [X8]."""
    locks: Literal["nlm", "brl", "local", "none"] | None = None
    """What flock/fcntl do: ``nlm`` (NFS lock manager) or ``brl`` (SMB byte-range locks)
    lock on the server; ``local`` (NFS nolock, CIFS nobrl, FUSE without a lock handler)
    only on the client; ``none`` fails (ENOLCK)."""
    fuse: FuseSpec | None = None
    """The kernel's caches in front of the FUSE daemon (s3-fuse, sshfs only)."""
    service: Service | None = None
    """Shape of the server's work times around their means (``fixed``, ``exponential``,
    ``h2``, ``hdd`` or a mapping with ``dist``). Default ``h2``: the hyper-exponential
    that fits storage and Internet traces best ([W1] Wajahat et al., 2020)."""

    @field_validator("profile")
    @classmethod
    def _known_profile(cls, value: str) -> str:
        return _known(value, "remote")

    @model_validator(mode="after")
    def _valid_params(self) -> RemoteSpec:
        # one bound given: the other is the profile's (NFS: acregmin 3 s, acregmax 60 s)
        from storsim.devices import profiles

        profile = profiles.REMOTE_PROFILES[self.profile]
        low = profile.attr_cache_min_s if self.attr_cache_min is None else self.attr_cache_min
        high = profile.attr_cache_max_s if self.attr_cache_max is None else self.attr_cache_max
        if low > high:
            raise ValueError(
                f"attr_cache_min must be <= attr_cache_max (got {low:g} s > {high:g} s; "
                f"profile {self.profile}: {profile.attr_cache_min_s:g} s to "
                f"{profile.attr_cache_max_s:g} s)"
            )
        if self.fuse is not None and profile.fuse is None:
            fused = ", ".join(n for n, p in profiles.REMOTE_PROFILES.items() if p.fuse)
            raise ValueError(f"fuse applies to a FUSE profile only ({fused})")
        try:
            self.params()  # the profile with these overrides must be valid
        except ValueError as error:  # named as the scenario names them
            text = str(error)
            for key, name in (*_REMOTE_FIELDS.items(), *_FUSE_FIELDS.items()):
                text = text.replace(name, key) if name != key else text
            raise ValueError(text.replace("server_latency_s", "server_latency")) from None
        return self

    def params(self) -> RemoteParams:
        """The server's parameters: its profile with the values this spec gives.

        Raises:
            ValueError: the values contradict each other or the profile's (a cache
                minimum above its maximum, say).
        """
        from storsim.devices import profiles  # the device layer, at first use

        base = profiles.REMOTE_PROFILES[self.profile]
        changes: dict[str, Any] = {
            name: getattr(self, key)
            for key, name in _REMOTE_FIELDS.items()
            if getattr(self, key) is not None
        }
        if self.unsupported is not None:
            changes["unsupported_ops"] = frozenset(self.unsupported)
        if self.server_latency is not None:
            changes["server_latency_s"] = {**base.server_latency_s, **self.server_latency}
        if self.round_trips is not None:
            rows = dict(base.round_trips)
            for key, value in self.round_trips.items():
                if isinstance(value, int):
                    own = profiles.OP_CLASS_OF.get(key, "meta")
                    row = base.round_trips[key]
                    rows[key] = (*row[:value], *[own] * (value - len(row)))
                else:
                    rows[key] = tuple(value)
            changes["round_trips"] = rows
        if self.fuse is not None and base.fuse is not None:
            given = {
                name: getattr(self.fuse, key)
                for key, name in _FUSE_FIELDS.items()
                if getattr(self.fuse, key) is not None
            }
            changes["fuse"] = dataclasses.replace(base.fuse, **given)
        return dataclasses.replace(base, **changes)


class OverlaySpec(Spec):
    """overlay2 mount options and limits."""

    metacopy: bool = False
    redirect_dir: bool = False
    # Docker's overlay2 refuses more than 128 lower layers [D8]; the kernel allows 500 [K2].
    max_layers: Annotated[int, Field(gt=0, le=500)] = 128
    lookup_per_layer: Duration = 1e-6
    """CPU time to consult one layer's directory in a lookup, its blocks cached (s),
    paid by each component of a path the first time a mount looks it up, once per layer
    it visits (``ovl_lookup`` in fs/overlayfs/namei.c consults the layers one after
    another). Default 1 us: [P1] VT1 (a 30-layer lookup must not show); a fresh mount
    of this kind of host measures 1 to 1.5 us a layer (``storsim calibrate``, lookup)."""
    op_overhead: Duration = 0.5e-6
    """CPU time each call on an open file of the overlay (an open, a read, a write, an
    fsync, a listing) costs on top of the backing file system's: the indirection to the
    real file (``ovl_open`` opens it, ``ovl_real_fdget`` finds it, with the mounter's
    credentials; ``backing_file_read_iter``/``write_iter``, fs/backing-file.c) (s). A
    call on a path (``stat``, ``chmod``, ``unlink``...) opens no file and does not pay
    it: its overlay work is its walk and attributes (``walk_per_component``,
    ``getattr_latency``). Default 0.5 us: an assumption of the order of
    ``ovl_real_fdget`` plus ``override_creds`` per call; calibrate it from a cached
    4 KiB read and overwrite on overlay against ext4 (``storsim calibrate``,
    data_path_overlay: 0.58 us for the read on this kind of host)."""
    lookup_per_component: Duration = 2.5e-6
    """CPU time of the first lookup of a path component on an overlay mount, besides its
    layer visits (s): the overlay's own dentry and inode are allocated and filled
    (``ovl_lookup`` in fs/overlayfs/namei.c: ``d_alloc``, ``ovl_alloc_entry``;
    ``ovl_get_inode`` in inode.c: ``iget5_locked``, ``ovl_inode_init``). Default
    2.5 us: a new container's first ``stat`` on this kind of host measures 2.5 to 3 us a
    component beyond its layer visits (``storsim calibrate``, lookup and lookup_depth
    fresh)."""
    cold_lookup_per_layer: Duration = 1e-6
    """CPU time per lower layer in which the host looks a name up for the first time, on
    top of ``lookup_per_layer`` (s): the layer's file system allocates its own dentry
    and, for a name it has, its inode from the cached inode-table block
    (``d_alloc_parallel``, ``ext4_lookup``, ``ext4_iget``); later lookups of the name in
    that layer, by any container of the image, find its dentry. Default 1 us: a stat of
    a file in the root of 4 layers measures 12.5 us on a cold host against 7.7 us on a
    new mount over warm layers, nothing read from disk (``storsim calibrate``,
    lookup_depth of depth 1)."""
    walk_per_component: Duration = 0.8e-6
    """CPU time of each component of every path walk on an overlay mount, its dentry
    cached (s): the dcache hit, ``ovl_permission`` checking the real inode with the
    mounter's credentials, ``ovl_dentry_revalidate`` (fs/overlayfs/inode.c, super.c),
    which a warm ``stat`` pays per component where ext4 pays far less. Default 0.8 us:
    a warm ``stat`` on this kind of host grows 0.8 to 0.9 us a component
    (``storsim calibrate``, lookup_depth warm)."""
    walk_per_layer: Duration = 10e-9
    """CPU time per layer a component's lookup visited, paid at every walk (s): the
    lower stack a merged dentry keeps is walked again (``ovl_dentry_revalidate`` over
    ``ovl_lowerstack``, ``ovl_i_path_real``). Default 10 ns: a warm ``stat`` of ``d/f``
    on this kind of host grows about 1 us from 2 to 128 layers (``storsim calibrate``,
    lookup warm)."""
    copy_up_flush: Duration | None = None
    """Mean time of the journal commit a copy-up's ``fsync`` of the new upper file waits
    for, in place of the disk's ``flush_latency`` (s): its transaction holds more than a
    write's (the work-directory entry, the new inode and its extended attributes, the
    blocks allocated for all its data: ``ovl_copy_up_data`` then ``vfs_fsync`` in
    fs/overlayfs/copy_up.c), and jbd2 commits on its timer's ticks, so a copy-up often
    waits two where a 4 KiB fsync waits one. Default: the disk's ``flush_latency``.
    ``storsim calibrate`` does not fit it: on the development machine, five samples a
    copy-up size switch between one and two ticks, and the held-out copy-ups fit better
    with the fsyncs' flush (9 % off) than with a commit fitted from the others (15 %)."""
    readdir_per_layer: Duration = 2e-6
    """CPU time to open and read one layer's copy of a merged directory in a ``readdir``
    (s), paid at every listing: the kernel merges every layer's names into a list kept
    with the open directory only (``ovl_dir_read_merged``, ``ovl_cache_get`` in
    fs/overlayfs/readdir.c). Default 2 us: an assumption, a directory open and iterate
    per layer, twice a lookup's per-layer cost; calibrate it (readdir vs layers)."""
    readdir_merge_per_entry: Duration = 0.25e-6
    """CPU time per entry of a merged directory's listing, on top of
    ``readdir_per_entry`` (s): each name read from a layer is looked up in the merge's
    red-black tree and, if new, allocated and inserted (``ovl_fill_merge``,
    ``ovl_cache_entry_add_rb``, ``ovl_cache_entry_new``), then emitted from the merged
    list and freed at close (``ovl_iterate``, ``ovl_cache_free``; fs/overlayfs/readdir.c).
    Linear in entries: the tree's O(log n) search is a few string compares, a small
    part of the allocation. Default 0.25 us: 4096 entries over 4 layers list 1 ms
    slower than a plain directory of 4096 on this kind of host (``storsim calibrate``,
    readdir warm)."""


def _disk_shorthand(value: Any) -> Any:
    return {"profile": value} if isinstance(value, str) else value


class HostSpec(Spec):
    """The machine the containers run on."""

    profile: str | None = None
    """A host profile YAML written by ``storsim calibrate``, relative to the scenario
    (``host: {profile: ./host.yaml}``): its fitted keys fill this ``host:``, and any
    key the scenario sets itself wins (:mod:`storsim.scenario.profile`). Default:
    none."""
    cpus: Annotated[int, Field(gt=0)] = 2
    """CPU cores shared by every process of every container (the CPU part of each
    operation and each step's ``think`` runs on them, FIFO). Default 2."""
    disk: Annotated[
        DiskSpec, BeforeValidator(_disk_shorthand, json_schema_input_type=str | DiskSpec)
    ] = DiskSpec()
    """The local disk: a profile name, or a mapping with ``profile`` and overrides."""
    memory: MemorySpec = MemorySpec()
    """Memory copy bandwidth and page-cache hit cost."""
    page_cache: Size = 4 * 2**30
    """Memory the page cache may hold (bytes). Default 4 GiB: an assumption, a host with
    a few GiB reclaimable; set it to the host's free RAM."""
    syscall_latency: Duration = 5e-6
    """CPU time of entering the kernel for one file operation (s). Default 5 us: the
    middle of 5-10 us, native per-syscall latency warm "< 10 us" (Docker osxfs docs)."""
    inode_readahead: Annotated[int, Field(gt=0)] = 512
    """Inodes one read of the inode table brings into memory. An image's files are
    numbered as unpacking its layers numbers them (bottom layer first, each layer's
    entries in its archive's depth-first order, each layer from a run of its own:
    :func:`storsim.run.context.image_inodes`), and a lookup of one reads from disk only
    if its run of this many inodes has not been read on the host. On a volume or a bind
    mount, whose files the application made in any order, one lookup of a new inode in
    this many reads. Default 512: ext4 reads ``inode_readahead_blks`` = 32 blocks of
    the table at once (Documentation/admin-guide/ext4.rst), 16 inodes of 256 bytes each
    (mke2fs's default). 1: every inode its own read (files scattered over a large file
    system)."""
    write_overhead: Duration = 0.1e-6
    """Extra CPU time of a buffered write call beyond ``syscall_latency``, whatever its
    size and its folios (s): the write's own checks and bookkeeping, which a read does
    not do: the inode lock, ``generic_write_checks``, ``file_modified`` (the mtime and
    ctime update when the clock has moved; on ext4 a journal handle for the inode,
    ``ext4_dirty_inode``) and ``balance_dirty_pages_ratelimited`` after it
    (``ext4_buffered_write_iter``, ``shmem_file_write_iter``; mm/filemap.c). Without it
    a calibration fits a read's page-cache hit below zero (a cached 4 KiB read is
    cheaper than the syscall a write implies). Default 0.1 us: ``storsim calibrate``'s
    fit on this kind of host (Linux 6.18; data_path and data_path_tmpfs, 4 KiB and 1 MiB
    cached reads and overwrites), 0-0.34 us in seven runs of one evening, median 0.05
    us."""
    noop_syscall_latency: Duration = 0.2e-6
    """CPU time of a file operation the file system answers without work: an ``fsync``
    on tmpfs, whose ``fsync`` is ``noop_fsync`` (mm/shmem.c, fs/libfs.c), costs the
    system call's entry and exit and the file lookup, not the read/write path that
    ``syscall_latency`` measures (s). Default 0.2 us: fio's fsync on tmpfs on this kind
    of host, 0.18 us (``storsim calibrate``, data_path_tmpfs)."""
    getattr_latency: Duration = 0.5e-6
    """Extra CPU time of an operation that finds its file and hands back its attributes
    (``stat``, ``getxattr``): the file system's ``getattr`` (``ext4_getattr``; on an
    overlay ``ovl_getattr``, which asks the real inode) and the copy of the result to
    user space (``vfs_getattr``, ``cp_new_stat``/``cp_statx``; fs/stat.c), which a
    missing name, failing in its walk, never reaches (s). Default 0.5 us: a warm
    ``stat`` of an existing file against one of a missing name on this kind of host,
    0.85 us on ext4 and 0-0.9 us through overlays of 1-64 layers (``storsim
    calibrate``, lookup warm, hit against miss; the fit over the overlay's: 0.17 us)."""
    readdir_open_close: Duration = 8e-6
    """Extra CPU time of a directory listing beyond its system call and its entries:
    the directory opened (``open(O_DIRECTORY)``: a file allocated, the overlay's
    ``ovl_dir_open``), the listing's own state (ext4's hashed-tree cursor,
    ``ext4_htree_create_dir_info``), the last ``getdents64`` that finds the end, and
    the close that frees it all (``ext4_release_dir``, ``ovl_dir_release``) (s): what
    ``os.listdir``, ``ls`` or a ``readdir(3)`` loop costs besides its names. Default
    8 us: a warm listing of 16 entries of a plain ext4 directory takes 13.6 us on this
    kind of host, 4.4 us of them its names (``storsim calibrate``, readdir warm, the
    intercept along entries)."""
    wakeup_latency: Duration = 5e-6
    """CPU time a woken thread needs before it runs again: a context switch and its
    cache refill (s), spent on a core by a lock waiter when the lock is handed to it
    (so it also waits for a free core). Default 5 us: the upper end of the 1-5 us of a
    Linux context switch; measure yours with ``storsim calibrate`` (rmw lock waits)."""
    metadata_update: Duration = 60e-6
    """CPU time of one metadata update on a local file system: a create, unlink,
    rename, mkdir, chmod... in memory, the journal written back later (s). Default 60 us:
    a native small-file create on a warm local file system, 0.006 s per 100 files
    ([B4] goofys bench.local)."""
    extend_write: Duration = 0.25e-6
    """Extra CPU time of a write that extends a file, per 4 KiB page it adds beyond the
    old end of file: block (delayed) allocation and the size update, which an overwrite
    of existing pages does not pay (s). Default 0.25 us: an assumption of the order of
    ext4's per-page delalloc reservation; calibrate it from 1 MiB appends against 1 MiB
    overwrites (``storsim calibrate``, data_path)."""
    walk_per_component: Duration = 0.3e-6
    """CPU time per path component of every walk on a local file system or a tmpfs, its
    dentries cached (s): each component is found in the dentry cache and its directory's
    permission checked (``link_path_walk``, ``lookup_fast``, ``may_lookup`` in
    fs/namei.c). Paid by every call that names a path (a ``stat``, an ``open``, a read
    or write that opens its file), not by one on a file the application keeps open; an
    overlay's walk has its own cost (``overlay.walk_per_component``). Default 0.3 us: a
    warm ``stat`` of a missing ``d/f`` on ext4 on this kind of host takes 1.5 us, 0.5 us
    more than a cached 4 KiB read of an open file (``storsim calibrate``, lookup warm,
    layers 0)."""
    buffer_head_walk: Duration = 10e-9
    """CPU time per 4 KiB block of every page-cache folio a buffered write touches on a
    local block file system (ext4, xfs), whatever the write's own size (s): the write
    maps and then marks each buffer head of the folio (``ext4_block_write_begin``,
    ``block_commit_write`` in fs/buffer.c walk the whole folio), so a 4 KiB overwrite of
    a file cached in 1 MiB folios walks 256 of them. tmpfs has no buffer heads and does
    not pay it. Default 10 ns: random 4 KiB overwrites of a cached ext4 file on this
    kind of host (Linux 6.18) take 2.0-2.9 us in 4 KiB folios, 2.8-3.0 us in 256 KiB,
    4.7-5.4 us in 1 MiB and 9.4-11.6 us in 2 MiB (``storsim calibrate``, data_path: a
    4 KiB overwrite against a 4 KiB append)."""
    folio_write: Duration = 0.4e-6
    """CPU time per page-cache folio a buffered write goes through, on every file system
    (s): ``generic_perform_write`` (mm/filemap.c) takes the write one folio at a time:
    ``write_begin`` (find and lock the folio), the copy, ``write_end`` (mark it dirty,
    unlock it), then ``balance_dirty_pages_ratelimited``. A 1 MiB write into a file
    cached in 4 KiB folios pays it 256 times, into one cached in 1 MiB folios once; a
    tmpfs keeps its files in 4 KiB folios (its default, ``huge=never``). Default 0.4
    us: on this kind of host (Linux 6.18), a 1 MiB overwrite of a cached ext4 file
    takes 154-155 us in 1 MiB folios, 166 us in 64 KiB ones and 287-303 us in 4 KiB
    ones (0.52-0.58 us a folio more), and 257-276 us on a tmpfs (0.40-0.47 us);
    ``storsim calibrate`` fits it from a 1 MiB overwrite on tmpfs against one on ext4
    (data_path: 0.30-0.35 us in five runs of one evening)."""
    folio_read: Duration = 0.2e-6
    """CPU time per page-cache folio a read served from the page cache goes through, on
    every file system (s): ``filemap_read`` (mm/filemap.c) gets the cached folios in
    batches (``filemap_get_pages``), copies each one out on its own
    (``copy_folio_to_iter``) and drops each one's reference; tmpfs's
    ``shmem_file_read_iter`` finds and copies one folio at a time. A 1 MiB read of a
    file cached in 4 KiB folios pays it 256 times, of one cached in 1 MiB folios once.
    Default 0.2 us: on this kind of host (Linux 6.18), a cached 1 MiB ``preadv`` into
    a buffer it reuses takes 62-75 us of an ext4 file in 1 MiB folios, 108-159 us in 4
    KiB folios (0.19 us a folio more, the medians of two runs) and 106-140 us on a tmpfs
    (0.22-0.24 us); a 64 KiB one, 3.8-10.5 us in 1 MiB folios and 14-18 us in 4 KiB ones.
    ``storsim calibrate`` fits it from a 1 MiB read on tmpfs (256 folios of 4 KiB)
    against one on ext4 (one folio; data_path)."""
    max_folio: Size = 2 * 2**20
    """The largest page-cache folio of a regular file (bytes, a power of two from 4 KiB):
    a write that brings a file's pages into the cache makes them folios of its own size,
    the largest power of two in it that its offset is aligned to, up to this
    (``fgf_set_order`` and ``__filemap_get_folio`` in mm/filemap.c); a read that brings
    them, folios of the read's size (a random reader's: a sequential reader's readahead
    grows them up to this, which the model does not follow); a copy-up, folios of 64 KiB
    (its splice writes through a pipe of 16 pages). Default 2 MiB: x86-64's
    ``MAX_PAGECACHE_ORDER`` (PMD order 9), ext4's since Linux 6.16 (xfs's since 5.18),
    the largest folio seen on this kind of host (``/proc/kpageflags``). 4 KiB: a kernel
    or file system without large folios."""

    @field_validator("max_folio")
    @classmethod
    def _folio_power_of_two(cls, value: int) -> int:
        if value < 4096 or value & (value - 1):
            raise ValueError(f"must be a power of two of at least 4096 bytes (got {value!r})")
        return value

    readdir_per_entry: Duration = 0.2e-6
    """CPU time per directory entry a ``readdir`` reads, in each layer it reads for a
    merged directory (s): the entries are copied out (and merged, for an overlay).
    Default 0.2 us: an assumption, a ``getdents64`` of a few hundred entries of a
    cached ext4 directory taking tens of microseconds; calibrate it (readdir vs
    entries)."""
    overlay: OverlaySpec = OverlaySpec()
    """overlay2 mount options, limits and per-layer costs."""
    remotes: dict[str, RemoteSpec] = {}
    """Remote storage servers by name, for distributed bind mounts (``name:/export``)."""
