"""Services: what runs, where its paths are mounted, when it runs, and what it does.

Like a theatre's running order (who is on stage, with which props, from which cue to
which), a compose service names an image run as ``deploy.replicas`` containers, its
mounts (compose's short ``name:/path:ro`` and long ``type/source/target`` syntax, and
``tmpfs``), its lifecycle (``docker run/stop/start/rm`` at simulated times) and, beyond
compose, the workload each container runs: steps of file operations, open or closed loop.
"""

# ruff: noqa: RUF012  (pydantic copies a mutable field default for each instance; ruff
# exempts pydantic models only when BaseModel is a base class within the same file)

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, ConfigDict, Field, model_validator

from storsim.names import Op
from storsim.scenario.content import Content, SizeSpec
from storsim.scenario.fields import (
    AbsPath,
    Count,
    Duration,
    EntryPath,
    PathPattern,
    PositiveDuration,
    Rate,
    Size,
    Spec,
    one_or_list,
)
from storsim.scenario.fio import FioWorkloadSpec
from storsim.scenario.messages import UnknownKeyError

__all__ = [
    "BindOptions",
    "COMPOSE_IGNORED_KEYS",
    "Deploy",
    "LifecycleEvent",
    "MountSpec",
    "ServiceSpec",
    "Step",
    "TmpfsOptions",
    "VolumeOptions",
    "WorkloadSpec",
]

# Docker compose keys that describe things storsim does not model (networking, process
# start-up...). They are accepted and ignored so that a compose file's services load as
# they are; anything else unknown is an error.
COMPOSE_IGNORED_KEYS: frozenset[str] = frozenset(
    {
        "build", "command", "container_name", "depends_on", "entrypoint", "env_file",
        "environment", "expose", "healthcheck", "hostname", "labels", "logging",
        "networks", "platform", "ports", "profiles", "restart", "stop_grace_period",
        "user", "working_dir",
    }
)  # fmt: skip

_MODES = {"ro": True, "rw": False}
_REMOTE_SOURCE = re.compile(r"^([A-Za-z0-9][A-Za-z0-9_.-]*):(/.*)$")


def _mount_shorthand(value: Any) -> Any:
    """Parse compose's short volume syntax ``[SOURCE:]TARGET[:MODE]``."""
    if not isinstance(value, str):
        return value
    parts = value.split(":")
    read_only = False
    if len(parts) > 1 and parts[-1] in _MODES:
        read_only = _MODES[parts.pop()]
    if not parts or not parts[-1].startswith("/"):
        raise ValueError("must be SOURCE:TARGET[:ro|rw] with an absolute TARGET")
    target = parts.pop()
    source = ":".join(parts) or None
    if source is None:
        kind = "volume"  # "/data" alone: an anonymous volume
    elif source.startswith((".", "/", "~")) or _REMOTE_SOURCE.match(source):
        kind = "bind"
    else:
        kind = "volume"
    return {"type": kind, "source": source, "target": target, "read_only": read_only}


def _subpath(value: Any) -> Any:
    """A path inside a volume, relative (``a/b``; a leading ``/`` is dropped)."""
    if not isinstance(value, str):
        return value
    parts = [p for p in value.split("/") if p not in ("", ".")]
    if not parts or ".." in parts:
        raise ValueError(f"must be a directory inside the volume, without '..' (got {value!r})")
    return "/".join(parts)


class VolumeOptions(Spec):
    """Long-syntax ``volume:`` options."""

    nocopy: bool = False
    """Do not fill a new volume with the image's files at its target (Docker's copy)."""
    subpath: Annotated[str, BeforeValidator(_subpath)] | None = None
    """Mount only this directory of the volume (compose ``volume.subpath``, Docker 26):
    it must exist in the volume when the container is created, as Docker requires; the
    image's files are not copied into it."""


class TmpfsOptions(Spec):
    """Long-syntax ``tmpfs:`` options."""

    size: Size | None = None
    """The tmpfs's size limit (bytes, or with a unit: ``64 MiB``); default: none."""
    mode: Annotated[int, Field(ge=0, le=0o7777)] | None = None
    """The tmpfs root's permission bits (``0o1777``)."""


class BindOptions(Spec):
    """Long-syntax ``bind:`` options."""

    propagation: str | None = None
    """Mount propagation (``rprivate``...): accepted, not modelled."""
    create_host_path: bool = True
    """Create the host directory when it is missing: accepted, not modelled."""


class MountSpec(Spec):
    """A mount in a service (compose long syntax; the short syntax is converted to it)."""

    type: Literal["volume", "bind", "tmpfs"]
    """The kind of mount: a named or anonymous ``volume``, a ``bind`` of a host path or a
    remote export, or a ``tmpfs``."""
    target: EntryPath
    """The path in the container (Docker refuses ``/`` as a destination)."""
    source: str | None = None
    """A volume's name (none: an anonymous volume), or a bind's host path (``./config``)
    or remote export (``nas:/exports/media``, a server under ``host.remotes``)."""
    read_only: bool = False
    """Mount read-only: writes fail with EROFS."""
    consistency: str | None = None
    """compose ``consistency`` (Docker Desktop): accepted, not modelled."""
    volume: VolumeOptions | None = None
    """Options of a ``volume`` mount."""
    tmpfs: TmpfsOptions | None = None
    """Options of a ``tmpfs`` mount."""
    bind: BindOptions | None = None
    """Options of a ``bind`` mount."""

    @model_validator(mode="after")
    def _source_fits_type(self) -> MountSpec:
        if self.type == "bind" and not self.source:
            raise ValueError("a bind mount needs a source (a host path or SERVER:/export)")
        if self.type == "tmpfs" and self.source:
            raise ValueError("a tmpfs mount has no source")
        return self

    @property
    def remote(self) -> tuple[str, str] | None:
        """``(server, export path)`` when this bind's source is on a remote server."""
        if self.type != "bind" or self.source is None:
            return None
        match = _REMOTE_SOURCE.match(self.source)
        return (match.group(1), match.group(2)) if match else None


class Deploy(Spec):
    """Compose ``deploy:``; storsim uses the replica count."""

    replicas: Annotated[int, Field(ge=0, le=10_000)] = 1
    """How many containers run the service (``web-1``, ``web-2``...), on one host."""


class LifecycleEvent(Spec):
    """A ``docker`` command at a simulated time: run (create + start), stop, start, rm."""

    at: Duration
    """When (s, or with a unit: ``60 s``), from the start of the simulation."""
    action: Literal["run", "stop", "start", "rm"]
    """The command: ``run`` (create and start), ``stop``, ``start`` or ``rm``."""


class Step(Spec):
    """One file operation of a workload iteration."""

    op: Op
    """The file operation (README: what each does to a missing file)."""
    path: PathPattern | None = None
    """This step's path (default: the workload's path); a glob or a template."""
    size: SizeSpec | None = None
    """Bytes to read, write or append (4 KiB by default), the new size for truncate, the
    value's size for setxattr: a size (``4 KiB``) or a distribution."""
    offset: Literal["random", "start", "end", "same"] | Size = "random"
    """Where a read or write starts: ``random`` (in the file), ``start``, ``end``, a
    byte offset (``1 MiB``), or ``same``: the byte range of this iteration's previous read
    or write (a read-modify-write writes back what it read)."""
    flags: Literal["r", "r+", "w", "a"] = "r"
    """For open: the mode, as fopen(3)'s (``w`` and ``a`` create a missing file)."""
    to: PathPattern | None = None
    """For rename and link: the destination; for symlink: the new link's path."""
    mode: Annotated[int, Field(ge=0, le=0o7777)] = 0o640
    """For chmod and mknod: the permission bits (``0o640``)."""
    xattr: Annotated[str, Field(min_length=1, max_length=255)] = "user.storsim"
    """For setxattr and getxattr: the extended attribute's name, with its namespace
    (``user.``, ``trusted.``...; 255 bytes at most, XATTR_NAME_MAX). setxattr writes
    ``size`` bytes of value (0 when no size is given; 64 KiB at most, XATTR_SIZE_MAX)."""
    create: bool = True
    """For append: whether the open has ``O_CREAT`` (``open(path, O_WRONLY | O_APPEND |
    O_CREAT)``, a logger's or ``>>``'s open): a missing file is then created, empty, and
    the append writes to it; false: a missing file is ENOENT and nothing is written, as
    ``open(2)`` without ``O_CREAT`` fails [K7]. (``write`` always creates, as ``fopen``'s
    ``"w"``; ``open`` creates with flags ``w`` or ``a``; every other operation on a
    missing file is ENOENT.)"""
    node: Literal["fifo", "chardev", "blockdev"] = "fifo"
    """For mknod: what it makes, a named pipe (``mkfifo``) or a device node."""
    think: Duration = 0.0
    """The application's own computation after this step (s), e.g. the "modify" of a
    read-modify-write: CPU time, run on one of the host's ``cpus`` cores."""

    @model_validator(mode="after")
    def _needs_destination(self) -> Step:
        if self.op in ("rename", "link", "symlink") and self.to is None:
            raise ValueError(f"op {self.op} needs 'to'")
        return self


class WorkloadSpec(Spec):
    """Operations a container issues, open loop (``rate``) or closed loop (``threads``),
    or both (``rate`` with at most ``threads`` iterations in flight).

    Each iteration runs ``ops`` in order. Paths are glob patterns over the container's
    files at workload start (``/usr/lib/*``), exact paths, or templates for new files
    with ``{i}`` (iteration), ``{thread}``, ``{replica}``, ``{run}`` (the replica's n-th
    ``docker run``) and ``{start}`` (the n-th start of this container).
    """

    name: str | None = None
    """The workload's name, in outputs (default: ``workload[N]``); ``--set
    services.web.workload[NAME].rate=...`` finds it by it."""
    path: PathPattern | None = None
    """The file each iteration works on: exact (``/data/app.db``), a glob over the
    container's files (``/usr/lib/*``) or a template for new files (``/tmp/{i}.json``)."""
    pick: Literal["uniform", "zipf", "sequential"] = "uniform"
    """How a glob's file is picked per iteration: ``uniform``, ``zipf`` (a few files most
    often) or ``sequential`` (each in turn)."""
    zipf_s: Annotated[float, Field(gt=1.0, le=10.0)] = 1.2
    """The exponent of ``pick: zipf`` (file n's weight is 1 / n**s; above 10 every pick
    is the first file already)."""
    ops: Annotated[list[Step], Field(min_length=1)]
    """The steps of one iteration, in order, on one file (``[{op: read, size: 4 KiB},
    {op: write, size: 4 KiB}]``)."""
    rate: Rate | None = None
    """Open loop: iterations start at this rate (``200/s``), however long each takes
    (users arriving, whatever the storage's speed)."""
    arrivals: Literal["poisson", "fixed"] = "poisson"
    """Open loop: how the iterations arrive at ``rate``: as a Poisson process (independent
    users, the default; fio's ``rate_process=poisson``) or one every 1/rate s (a timer;
    fio's default ``rate_process=linear``)."""
    threads: Annotated[int, Field(gt=0, le=100_000)] | None = None
    """Closed loop: iterations run at once, each thread starting its next when one ends.
    With ``rate``: the most iterations in flight (fio's ``iodepth`` with ``rate_iops``): an
    arrival that finds them all busy waits for one to end, then starts at once."""
    think: Duration = 0.0
    """Closed loop: each thread's pause between iterations (s, mean): idle time (a user,
    a timer), which holds no core."""
    think_dist: Literal["exponential", "fixed"] = "exponential"
    """The think time's distribution: ``exponential`` (the convention of closed queueing
    models, and what keeps independent clients from marching in lockstep) or ``fixed``."""
    lock: Literal["none", "flock", "fcntl"] = "none"
    """Application locking around each iteration: ``flock`` (flock(2) on the whole file),
    ``fcntl`` (an fcntl(2) byte-range lock on the range of the iteration's first read or
    write) or ``none``."""
    o_append: bool = True
    """Appends open the file with O_APPEND (atomic on one kernel [K7]); false: the
    application seeks to the end and then writes, which races with other appenders."""
    keep_open: bool = False
    """Keep files open between iterations: no open() to revalidate a distributed mount's
    caches (close-to-open), so reads may be served stale from the client cache [K9]."""
    count: Count | None = None
    """Iterations in all, per container start (all threads together)."""
    duration: PositiveDuration | None = None
    """How long the workload runs from its ``start`` (s, or with a unit: ``55 s``);
    default: until ``count`` or the scenario's end."""
    start: Duration = 0.0
    """When the workload starts, after its container starts (s, or with a unit:
    ``10 s``)."""

    @model_validator(mode="after")
    def _one_arrival_model(self) -> WorkloadSpec:
        if self.rate is None and self.arrivals != "poisson":
            raise ValueError("arrivals needs a rate (it says how the rate's iterations come)")
        data_seen = False
        for i, step in enumerate(self.ops):
            if step.path is None and self.path is None:
                raise ValueError(f"ops[{i}] has no path and the workload has no default path")
            if step.offset == "same" and not data_seen:
                raise ValueError(f"ops[{i}] has offset 'same' but no read or write before it")
            data_seen = data_seen or step.op in ("read", "write")
        return self


def _workload_shorthand(value: Any) -> Any:
    return [value] if isinstance(value, Mapping) else value


class ServiceSpec(Spec):
    """A compose service: an image run as ``deploy.replicas`` containers."""

    model_config = ConfigDict(extra="allow", frozen=True)

    image: str
    """The image it runs: a key of ``images``."""
    deploy: Deploy = Deploy()
    """compose ``deploy:``: the replica count."""
    volumes: list[
        Annotated[
            MountSpec, BeforeValidator(_mount_shorthand, json_schema_input_type=str | MountSpec)
        ]
    ] = []
    """Its mounts: compose short syntax (``data:/srv``, ``./config:/etc/app:ro``,
    ``nas:/exports/media:/media``) or long syntax (``{type: bind, source: ..., target:
    ...}``)."""
    tmpfs: Annotated[
        list[EntryPath], BeforeValidator(one_or_list, json_schema_input_type=str | list[str])
    ] = []
    """tmpfs mounts by path (compose ``tmpfs:``, one path or a list)."""
    lifecycle: Annotated[list[LifecycleEvent], Field(min_length=1)] = [
        LifecycleEvent(at=0.0, action="run")
    ]
    """The ``docker`` commands at simulated times, in order (default: ``run`` at 0 s)."""
    workload: Annotated[
        list[WorkloadSpec],
        BeforeValidator(
            _workload_shorthand,
            # {fio: ...} entries are expanded before validation (storsim.scenario.fio)
            json_schema_input_type=WorkloadSpec
            | FioWorkloadSpec
            | list[WorkloadSpec | FioWorkloadSpec],
        ),
    ] = []
    """What each container runs: workloads of file operations, open or closed loop."""
    read_only: bool = False
    """compose ``read_only: true`` (``docker run --read-only``): the container's root file
    system is read-only. Every change outside its mounts (a write, a create, a chmod, an
    unlink...) fails with EROFS, as the kernel's read-only mount does, and the writable
    layer takes nothing; each mount keeps its own mode (a volume or tmpfs stays
    writable)."""
    prefill: dict[AbsPath, Content] = {}
    """Content the container's first-run init writes below each path at ``docker run``,
    before its workloads start, at no simulated time: into whatever storage holds the
    path (the writable layer, a volume, a local bind, a tmpfs). compare: uses it."""

    @model_validator(mode="after")
    def _prefill_is_writable(self) -> ServiceSpec:
        for path in self.prefill:
            if self.read_only and not any(
                path == m.target or path.startswith(m.target.rstrip("/") + "/") for m in self.mounts
            ):
                raise ValueError(
                    f"prefill {path!r} must be on a mount of a read_only service (its root "
                    "file system is read-only)"
                )
            for mount in self.mounts:
                if path != mount.target and not path.startswith(mount.target.rstrip("/") + "/"):
                    continue
                if mount.read_only:
                    raise ValueError(
                        f"prefill {path!r} must not be on a read-only mount "
                        f"(got the mount at {mount.target!r})"
                    )
                if mount.remote is not None:
                    raise ValueError(
                        f"prefill {path!r} must not be on a distributed bind mount: give its "
                        f"content under sources (got the mount at {mount.target!r})"
                    )
        return self

    @model_validator(mode="before")
    @classmethod
    def _only_known_compose_keys(cls, data: Any) -> Any:
        if isinstance(data, Mapping):
            own = set(cls.model_fields)
            for key in data:
                # x-* keys are compose's extension fields: allowed anywhere, ignored.
                if key not in own and key not in COMPOSE_IGNORED_KEYS and not key.startswith("x-"):
                    raise UnknownKeyError(key, sorted(own))
        return data

    @property
    def mounts(self) -> tuple[MountSpec, ...]:
        """All mounts: ``volumes`` entries then ``tmpfs`` paths."""
        extra = tuple(MountSpec(type="tmpfs", target=t) for t in self.tmpfs)
        return (*self.volumes, *extra)
