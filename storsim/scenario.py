"""Scenario files: what is simulated, validated once at the edge.

A scenario is to storsim what a docker compose file is to Docker: it names the images
and their layers, the volumes, the services with their replicas and mounts, and, beyond
compose, the host's devices, the workload each container runs and the placements to
compare. The container part speaks compose's language (``services``, ``image``,
``deploy.replicas``, ``volumes`` in short ``name:/path:ro`` and long
``type/source/target/read_only`` syntax, ``tmpfs``, top-level named ``volumes``) so that
users recognise it at once.

Everything that can be wrong with a scenario is found here, before any
``simpy.Environment`` exists, and reported as one :class:`~storsim.errors.ScenarioError`
whose text is ``FILE:LINE: yaml.path: what is wrong (got VALUE)``. The model code then
works on the validated, frozen objects below and never re-checks them.
"""

from __future__ import annotations

import contextlib
import copy
import json
import math
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from io import StringIO
from pathlib import Path
from typing import Annotated, Any, Literal, get_args, get_origin

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from storsim import names, units
from storsim.errors import ScenarioError
from storsim.names import STORAGES, Op, Storage

__all__ = [
    "OPS",
    "STORAGE_CHOICES",
    "CompareSpec",
    "Content",
    "DiskSpec",
    "GenerateSpec",
    "HostSpec",
    "ImageSpec",
    "LayerSpec",
    "LifecycleEvent",
    "MountSpec",
    "RemoteSpec",
    "Scenario",
    "ServiceSpec",
    "Step",
    "WorkloadSpec",
    "load_scenario",
    "scenario_schema",
]

#: The storage choices, in the order reports show them (listed once, in storsim.names).
STORAGE_CHOICES: tuple[str, ...] = STORAGES
#: File operations a workload step can perform (listed once, in storsim.names).
OPS: tuple[str, ...] = names.OPS

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


# --- units ------------------------------------------------------------------------------


def _unit(parse: Any, example: str) -> Any:
    def validate(value: Any) -> Any:
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            return parse(value)
        raise ValueError(f"must be a quantity such as {example}")

    return BeforeValidator(validate)


def _quantity_schema(example: str) -> WithJsonSchema:
    return WithJsonSchema(
        {"anyOf": [{"type": "string", "examples": [example]}, {"type": "number", "minimum": 0}]}
    )


Size = Annotated[int, _unit(units.parse_size, "'4 KiB'"), _quantity_schema("4 KiB")]
Duration = Annotated[float, _unit(units.parse_duration, "'2 ms'"), _quantity_schema("2 ms")]
Bandwidth = Annotated[
    float, _unit(units.parse_bandwidth, "'500 MB/s'"), _quantity_schema("500 MB/s")
]
Rate = Annotated[float, _unit(units.parse_rate, "'100/s'"), _quantity_schema("100/s")]


def _abs_path(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    if not value.startswith("/"):
        raise ValueError("must be an absolute path starting with '/'")
    normal = os.path.normpath(value)
    return "/" if normal == "//" else normal


AbsPath = Annotated[str, BeforeValidator(_abs_path)]


class _Spec(BaseModel):
    """Base of every scenario object: frozen, and unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)


# --- host ---------------------------------------------------------------------------------


def _profile_names(kind: str) -> tuple[str, ...]:
    from storsim import profiles

    table = profiles.DISK_PROFILES if kind == "disk" else profiles.REMOTE_PROFILES
    return tuple(table)


def _known(value: str, kind: str) -> str:
    names = _profile_names(kind)
    if value not in names:
        raise ValueError(f"must be one of {', '.join(names)}")
    return value


class DiskSpec(_Spec):
    """The host's local disk: a profile, optionally with some of its figures overridden."""

    profile: str = "nvme"
    latency: Duration | None = None
    read_bandwidth: Bandwidth | None = None
    write_bandwidth: Bandwidth | None = None
    queue_depth: Annotated[int, Field(gt=0)] | None = None
    service: Literal["fixed", "exponential"] | None = None

    @field_validator("profile")
    @classmethod
    def _known_profile(cls, value: str) -> str:
        return _known(value, "disk")


class RemoteSpec(_Spec):
    """A remote storage server that distributed bind mounts point at (``name:/export``)."""

    profile: str
    rtt: Duration | None = None
    bandwidth: Bandwidth | None = None
    server_queue_depth: Annotated[int, Field(gt=0)] | None = None
    server_bandwidth: Bandwidth | None = None
    attr_cache_min: Duration | None = None
    attr_cache_max: Duration | None = None
    unsupported: list[Op] | None = None
    # what flock/fcntl do: "nlm" (NFS lock manager) or "brl" (SMB byte-range locks) lock
    # on the server; "local" (NFS nolock, CIFS nobrl) only on the client; "none" fails
    locks: Literal["nlm", "brl", "local", "none"] | None = None

    @field_validator("profile")
    @classmethod
    def _known_profile(cls, value: str) -> str:
        return _known(value, "remote")

    @model_validator(mode="after")
    def _cache_order(self) -> RemoteSpec:
        if (
            self.attr_cache_min is not None
            and self.attr_cache_max is not None
            and self.attr_cache_min > self.attr_cache_max
        ):
            raise ValueError("attr_cache_min must be <= attr_cache_max")
        return self


class OverlaySpec(_Spec):
    """overlay2 mount options and limits."""

    metacopy: bool = False
    redirect_dir: bool = False
    # Docker's overlay2 refuses more than 128 lower layers [D8]; the kernel allows 500 [K2].
    max_layers: Annotated[int, Field(gt=0, le=500)] = 128


def _disk_shorthand(value: Any) -> Any:
    return {"profile": value} if isinstance(value, str) else value


class HostSpec(_Spec):
    """The machine the containers run on."""

    disk: Annotated[
        DiskSpec, BeforeValidator(_disk_shorthand, json_schema_input_type=str | DiskSpec)
    ] = DiskSpec()
    page_cache: Size = 4 * 2**30
    # [D10] native per-syscall latency, warm, "< 10 us"; 5 us is the middle of 5-10 us.
    syscall_latency: Duration = 5e-6
    overlay: OverlaySpec = OverlaySpec()
    remotes: dict[str, RemoteSpec] = {}


# --- content: files in layers, volumes and bind sources -----------------------------------


class FixedSize(_Spec):
    """Every file has the same size."""

    dist: Literal["fixed"] = "fixed"
    size: Size


class LognormalSize(_Spec):
    """File sizes spread over orders of magnitude, as real file populations are."""

    dist: Literal["lognormal"]
    median: Size
    sigma: Annotated[float, Field(ge=0, le=10)] = 1.0


class UniformSize(_Spec):
    """Sizes uniform between ``min`` and ``max``."""

    dist: Literal["uniform"]
    min: Size
    max: Size

    @model_validator(mode="after")
    def _ordered(self) -> UniformSize:
        if self.min > self.max:
            raise ValueError("min must be <= max")
        return self


class ExponentialSize(_Spec):
    """Sizes exponentially distributed around ``mean``."""

    dist: Literal["exponential"]
    mean: Size


def _size_shorthand(value: Any) -> Any:
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return {"dist": "fixed", "size": value}
    return value


SizeSpec = Annotated[
    FixedSize | LognormalSize | UniformSize | ExponentialSize,
    Field(discriminator="dist"),
    BeforeValidator(
        _size_shorthand,
        json_schema_input_type=str
        | float
        | FixedSize
        | LognormalSize
        | UniformSize
        | ExponentialSize,
    ),
]


class GenerateSpec(_Spec):
    """A generated population of files: ``count`` files below ``dir``, ``fanout`` per directory."""

    dir: AbsPath
    count: Annotated[int, Field(gt=0, le=10_000_000)]
    size: SizeSpec = FixedSize(size=4096)
    fanout: Annotated[int, Field(gt=0)] = 100
    prefix: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]+$")] = "f"


class Content(_Spec):
    """Files and directories present before the simulation starts."""

    files: dict[AbsPath, Size] = {}
    dirs: list[AbsPath] = []
    symlinks: dict[AbsPath, str] = {}
    generate: list[GenerateSpec] = []


class LayerSpec(Content):
    """One image layer (a Dockerfile instruction's result): content plus deletions."""

    name: str | None = None
    delete: list[AbsPath] = []  # whiteouts: files or directories removed by this layer
    opaque: list[AbsPath] = []  # directories replaced (not merged) by this layer


class ImageSpec(_Spec):
    """An image: layers from the bottom (base) up, and its Dockerfile ``VOLUME`` paths."""

    layers: Annotated[list[LayerSpec], Field(min_length=1)]
    volumes: list[AbsPath] = []


def _none_to_empty(value: Any) -> Any:
    return {} if value is None else value


class VolumeSpec(_Spec):
    """A top-level named volume (compose ``volumes:``)."""

    driver: Literal["local"] = "local"
    external: bool = False
    name: str | None = None
    labels: dict[str, str] = {}


# --- services ------------------------------------------------------------------------------

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


class VolumeOptions(_Spec):
    """Long-syntax ``volume:`` options."""

    nocopy: bool = False


class TmpfsOptions(_Spec):
    """Long-syntax ``tmpfs:`` options."""

    size: Size | None = None
    mode: int | None = None


class BindOptions(_Spec):
    """Long-syntax ``bind:`` options."""

    propagation: str | None = None
    create_host_path: bool = True


class MountSpec(_Spec):
    """A mount in a service (compose long syntax; the short syntax is converted to it)."""

    type: Literal["volume", "bind", "tmpfs"]
    target: AbsPath
    source: str | None = None
    read_only: bool = False
    consistency: str | None = None
    volume: VolumeOptions | None = None
    tmpfs: TmpfsOptions | None = None
    bind: BindOptions | None = None

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


class Deploy(_Spec):
    """Compose ``deploy:``; storsim uses the replica count."""

    replicas: Annotated[int, Field(ge=0, le=10_000)] = 1


class LifecycleEvent(_Spec):
    """A ``docker`` command at a simulated time: run (create + start), stop, start, rm."""

    at: Duration
    action: Literal["run", "stop", "start", "rm"]


class Step(_Spec):
    """One file operation of a workload iteration."""

    op: Op
    path: str | None = None  # defaults to the workload's path
    size: SizeSpec | None = None  # bytes to read/write/append, new size for truncate
    # where a read or write starts: "same" = the byte range of this iteration's previous
    # read or write (a read-modify-write writes back what it read)
    offset: Literal["random", "start", "end", "same"] | Size = "random"
    flags: Literal["r", "r+", "w", "a"] = "r"  # for open: as fopen(3) modes
    to: str | None = None  # destination of rename and link, the link path of symlink
    mode: Annotated[int, Field(ge=0, le=0o7777)] = 0o640  # for chmod
    think: Duration = 0.0  # the application's own time after this step (e.g. the "modify")

    @model_validator(mode="after")
    def _needs_destination(self) -> Step:
        if self.op in ("rename", "link", "symlink") and self.to is None:
            raise ValueError(f"op {self.op} needs 'to'")
        return self


class WorkloadSpec(_Spec):
    """Operations a container issues, open loop (``rate``) or closed loop (``threads``).

    Each iteration runs ``ops`` in order. Paths are glob patterns over the container's
    files at workload start (``/usr/lib/*``), exact paths, or templates for new files
    with ``{i}`` (iteration), ``{thread}``, ``{replica}``, ``{run}`` (the replica's n-th
    ``docker run``) and ``{start}`` (the n-th start of this container).
    """

    name: str | None = None
    path: str | None = None
    pick: Literal["uniform", "zipf", "sequential"] = "uniform"
    zipf_s: Annotated[float, Field(gt=1.0)] = 1.2
    ops: Annotated[list[Step], Field(min_length=1)]
    rate: Rate | None = None
    threads: Annotated[int, Field(gt=0, le=100_000)] | None = None
    think: Duration = 0.0  # closed loop: each thread's pause between iterations (mean)
    # exponential (the convention of closed queueing models, and what keeps independent
    # clients from marching in lockstep) or fixed
    think_dist: Literal["exponential", "fixed"] = "exponential"
    # Application locking around each iteration: flock(2) on the whole file, or an
    # fcntl(2) byte-range lock on the range of the iteration's first read or write.
    lock: Literal["none", "flock", "fcntl"] = "none"
    # Appends open the file with O_APPEND (atomic on one kernel [K7]); false: the
    # application seeks to the end and then writes, which races with other appenders.
    o_append: bool = True
    # Keep files open between iterations: no open() to revalidate a distributed mount's
    # caches (close-to-open), so reads may be served stale from the client cache [K9].
    keep_open: bool = False
    count: Annotated[int, Field(gt=0)] | None = None
    duration: Duration | None = None
    start: Duration = 0.0

    @model_validator(mode="after")
    def _one_arrival_model(self) -> WorkloadSpec:
        if self.rate is not None and self.threads is not None:
            raise ValueError("give either rate (open loop) or threads (closed loop), not both")
        if self.rate is not None and self.rate <= 0:
            raise ValueError("rate must be > 0")
        data_seen = False
        for i, step in enumerate(self.ops):
            if step.path is None and self.path is None:
                raise ValueError(f"ops[{i}] has no path and the workload has no default path")
            if step.offset == "same" and not data_seen:
                raise ValueError(f"ops[{i}] has offset 'same' but no read or write before it")
            data_seen = data_seen or step.op in ("read", "write")
        return self


def _tmpfs_shorthand(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


def _workload_shorthand(value: Any) -> Any:
    return [value] if isinstance(value, Mapping) else value


class ServiceSpec(_Spec):
    """A compose service: an image run as ``deploy.replicas`` containers."""

    model_config = ConfigDict(extra="allow", frozen=True)

    image: str
    deploy: Deploy = Deploy()
    volumes: list[
        Annotated[
            MountSpec, BeforeValidator(_mount_shorthand, json_schema_input_type=str | MountSpec)
        ]
    ] = []
    tmpfs: Annotated[
        list[AbsPath], BeforeValidator(_tmpfs_shorthand, json_schema_input_type=str | list[str])
    ] = []
    lifecycle: Annotated[list[LifecycleEvent], Field(min_length=1)] = [
        LifecycleEvent(at=0.0, action="run")
    ]
    workload: Annotated[
        list[WorkloadSpec],
        BeforeValidator(
            _workload_shorthand, json_schema_input_type=WorkloadSpec | list[WorkloadSpec]
        ),
    ] = []
    # Content the container's first-run init writes below each path at `docker run`,
    # before its workloads start, at no simulated time: into whatever storage holds the
    # path (the writable layer, a volume, a local bind, a tmpfs). compare: uses it.
    prefill: dict[AbsPath, Content] = {}

    @model_validator(mode="after")
    def _prefill_is_writable(self) -> ServiceSpec:
        for path in self.prefill:
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
                    raise _UnknownKeyError(key, sorted(own))
        return data

    @property
    def mounts(self) -> tuple[MountSpec, ...]:
        """All mounts: ``volumes`` entries then ``tmpfs`` paths."""
        extra = tuple(MountSpec(type="tmpfs", target=t) for t in self.tmpfs)
        return (*self.volumes, *extra)


class CompareSpec(_Spec):
    """Run the same scenario with ``path`` placed on each storage choice in turn."""

    path: AbsPath
    choices: Annotated[list[Storage], Field(min_length=1)]
    service: str | None = None  # default: every service
    # remote server(s) for distributed_bind, one placement each; default: the first declared
    server: (
        Annotated[
            list[str], BeforeValidator(_tmpfs_shorthand, json_schema_input_type=str | list[str])
        ]
        | None
    ) = None
    content: Content | None = None  # what lives at path at start; default: the image's

    @field_validator("choices")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("must not repeat a storage choice")
        return value


class Scenario(_Spec):
    """A whole scenario file, validated."""

    name: Annotated[str, Field(min_length=1)]
    description: str = ""
    seed: Annotated[int, Field(ge=0)] = 0
    duration: Duration | None = None
    host: HostSpec = HostSpec()
    images: Annotated[dict[str, ImageSpec], Field(min_length=1)]
    volumes: dict[
        str,
        Annotated[
            VolumeSpec, BeforeValidator(_none_to_empty, json_schema_input_type=VolumeSpec | None)
        ],
    ] = {}
    sources: dict[str, Content] = {}
    services: Annotated[dict[str, ServiceSpec], Field(min_length=1)]
    compare: CompareSpec | None = None

    @model_validator(mode="before")
    @classmethod
    def _drop_extensions(cls, data: Any) -> Any:
        # compose's x-* extension keys (anchors for YAML aliases, notes) are ignored
        if isinstance(data, Mapping):
            return {k: v for k, v in data.items() if not str(k).startswith("x-")}
        return data

    _file: str | None = PrivateAttr(default=None)
    _tree: Any = PrivateAttr(default=None)

    @property
    def file(self) -> str | None:
        """The file this scenario was loaded from, if any."""
        return self._file

    def to_data(self) -> dict[str, Any]:
        """The scenario as plain data (what was loaded, after overrides)."""
        return copy.deepcopy(_plain(self._tree)) if self._tree is not None else self.model_dump()

    def with_overrides(self, overrides: Mapping[str, Any] | Sequence[str]) -> Scenario:
        """A new scenario: this one's data with ``overrides`` applied, validated again.

        Args:
            overrides: ``{"dotted.path": value}`` or ``["dotted.path=yaml-value", ...]``.

        Raises:
            ScenarioError: an override names a bad path or makes the scenario invalid.
        """
        tree = copy.deepcopy(self._tree) if self._tree is not None else self.model_dump()
        return _validate(tree, self._file, overrides)


class _UnknownKeyError(ValueError):
    def __init__(self, key: str, valid: list[str]) -> None:
        super().__init__(f"is not a valid key; valid keys: {', '.join(valid)}")
        self.key = key


# --- loading -----------------------------------------------------------------------------


def load_scenario(
    source: str | os.PathLike[str] | Mapping[str, Any],
    *,
    overrides: Mapping[str, Any] | Sequence[str] | None = None,
) -> Scenario:
    """Load and validate a scenario.

    Args:
        source: a YAML file's path, or the scenario as a mapping (e.g. from a notebook).
        overrides: values to change before validation, as ``{"dotted.path": value}`` or
            ``["dotted.path=value", ...]`` (the value then parsed as YAML), e.g.
            ``{"services.web.deploy.replicas": 4}``.

    Returns:
        The validated, frozen scenario.

    Raises:
        ScenarioError: the file cannot be read or parsed, or breaks a rule; the message
            names the file, the line and the YAML path.
    """
    if isinstance(source, Mapping):
        return _validate(copy.deepcopy(dict(source)), None, overrides)
    path = os.fspath(source)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(f"cannot read scenario: {exc.strerror}", file=path) from None
    except UnicodeDecodeError:
        raise ScenarioError("cannot read scenario: not UTF-8 text", file=path) from None
    try:
        tree = YAML(typ="rt", pure=True).load(StringIO(text))
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = exc.problem or exc.context or "invalid YAML"
        raise ScenarioError(f"invalid YAML: {problem}", file=path, line=line) from None
    except YAMLError as exc:
        raise ScenarioError(f"invalid YAML: {exc}", file=path) from None
    if not isinstance(tree, Mapping):
        raise ScenarioError(
            f"a scenario must be a mapping of keys (got {type(tree).__name__})", file=path, line=1
        )
    return _validate(tree, path, overrides)


def _validate(
    tree: Any, file: str | None, overrides: Mapping[str, Any] | Sequence[str] | None
) -> Scenario:
    if overrides:
        _apply_overrides(tree, overrides, file)
    data = _plain(tree)
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        raise _translate(exc, tree, file) from None
    scenario._file = file
    scenario._tree = tree
    _cross_check(scenario, tree, file)
    return scenario


def _plain(node: Any) -> Any:
    """ruamel's round-trip containers -> plain dicts and lists (pydantic wants those)."""
    if isinstance(node, Mapping):
        return {(str(k) if not isinstance(k, str) else k): _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    if isinstance(node, str):
        return str(node)
    if isinstance(node, bool):
        return bool(node)
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    return node


_SEGMENT = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _parse_dotted(path: str) -> list[str | int]:
    parts: list[str | int] = []
    pos = 0
    for match in _SEGMENT.finditer(path):
        between = path[pos : match.start()]
        if between not in ("", "."):
            raise ValueError(path)
        key, index = match.groups()
        parts.append(int(index) if index is not None else key)
        pos = match.end()
    if not parts or pos != len(path):
        raise ValueError(path)
    return parts


def _apply_overrides(
    tree: Any, overrides: Mapping[str, Any] | Sequence[str], file: str | None
) -> None:
    items: Iterable[tuple[str, Any]]
    if isinstance(overrides, Mapping):
        items = overrides.items()
    else:
        pairs = []
        for text in overrides:
            dotted, sep, raw = text.partition("=")
            if not sep:
                raise ScenarioError(
                    f"--set must be dotted.path=VALUE (got {text!r})", file=file, where=text
                )
            value = YAML(typ="safe", pure=True).load(raw) if raw.strip() else ""
            pairs.append((dotted.strip(), value))
        items = pairs
    for dotted, value in items:
        try:
            parts = _parse_dotted(dotted)
        except ValueError:
            raise ScenarioError(
                f"--set path must be dotted keys with [index] for lists (got {dotted!r})",
                file=file,
            ) from None
        node = tree
        for depth, part in enumerate(parts):
            last = depth == len(parts) - 1
            where = _dotted(parts[: depth + 1])
            if isinstance(part, int):
                if not isinstance(node, list) or not 0 <= part < len(node):
                    raise ScenarioError(
                        f"--set {where}: no such list item (got {dotted!r})", file=file
                    )
            elif isinstance(node, str) and parts[:depth] == ["host", "disk"]:
                # `disk: ssd` is shorthand for {profile: ssd}: expand it to set a field
                node = tree["host"]["disk"] = {"profile": node}
            if not isinstance(part, int) and not isinstance(node, dict):
                parent = _dotted(parts[:depth])
                raise ScenarioError(
                    f"--set {where}: {parent} is {_short(node)}, not a mapping; "
                    f"set {parent} itself",
                    file=file,
                )
            if last:
                node[part] = value
            else:
                if isinstance(part, str) and part not in node:
                    node[part] = {}
                node = node[part]


def _dotted(parts: Sequence[str | int]) -> str:
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", part):
            out += ("." if out else "") + part
        else:
            out += f"[{json.dumps(part)}]"
    return out or "(top level)"


def _locate(tree: Any, loc: Sequence[str | int]) -> tuple[list[str | int], int | None]:
    """Follow a pydantic error location through the YAML tree: data path and 1-based line.

    pydantic puts union member tags into locations ("fixed", "function-before[...]");
    elements that do not index the data are skipped.
    """
    node = tree
    path: list[str | int] = []
    line: int | None = None
    for part in loc:
        if isinstance(node, Mapping) and part in node:
            line = _line_of(node, part, "value") or line
            path.append(part)
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            line = _line_of(node, part, "item") or line
            path.append(part)
            node = node[part]
        elif isinstance(node, CommentedMap) and line is None and node.lc.line is not None:
            line = node.lc.line + 1
    return path, line


def _line_of(node: Any, part: str | int, what: str) -> int | None:
    """1-based line of a key, value or item in the YAML text; None for values that
    overrides added (they have no place in the file)."""
    if not isinstance(node, CommentedMap | CommentedSeq):
        return None
    try:
        return int(getattr(node.lc, what)(part)[0]) + 1
    except (KeyError, IndexError, TypeError):
        return None


def _translate(exc: ValidationError, tree: Any, file: str | None) -> ScenarioError:
    error = exc.errors(include_url=False)[0]
    loc = list(error["loc"])
    kind = error["type"]
    message = error["msg"]
    context_error = (error.get("ctx") or {}).get("error")
    if isinstance(context_error, _UnknownKeyError):
        loc.append(context_error.key)
        kind = "extra_forbidden"
    path, line = _locate(tree, loc)
    if kind == "extra_forbidden":
        key = path[-1] if path else loc[-1]
        valid = _valid_keys(_plain(tree), path[:-1])
        if isinstance(tree, Mapping):
            parent = tree
            for part in path[:-1]:
                parent = parent[part]
            if key in parent:
                line = _line_of(parent, key, "key") or line
        where = _dotted(path)
        return ScenarioError(
            f"{where}: unknown key {key!r}; valid keys: {', '.join(valid)}",
            file=file,
            line=line,
            where=where,
        )
    where = _dotted(path)
    if kind == "missing":
        missing = loc[-1]
        where = _dotted([*path, missing])
        return ScenarioError(f"{where}: required key is missing", file=file, line=line, where=where)
    message = _RULES.get(kind, message.removeprefix("Value error, "))
    with contextlib.suppress(KeyError, IndexError, ValueError):
        message = message.format(**(error.get("ctx") or {}))
    if "(got " in message:  # the unit parsers already say what they got
        return ScenarioError(f"{where}: {message}", file=file, line=line, where=where)
    shown = _short(error.get("input"))
    return ScenarioError(f"{where}: {message} (got {shown})", file=file, line=line, where=where)


# pydantic's wording -> the "must be ..." rule wording used in every storsim message.
_RULES = {
    "greater_than": "must be > {gt}",
    "greater_than_equal": "must be >= {ge}",
    "less_than": "must be < {lt}",
    "less_than_equal": "must be <= {le}",
    "literal_error": "must be one of {expected}",
    "int_parsing": "must be a whole number",
    "int_type": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_parsing": "must be a number",
    "float_type": "must be a number",
    "bool_parsing": "must be true or false",
    "bool_type": "must be true or false",
    "string_type": "must be a string",
    "dict_type": "must be a mapping",
    "model_type": "must be a mapping",
    "model_attributes_type": "must be a mapping",
    "list_type": "must be a list",
    "too_short": "must have at least {min_length} item(s)",
    "too_long": "must have at most {max_length} item(s)",
    "string_too_short": "must not be empty",
    "string_pattern_mismatch": "must match {pattern}",
    "union_tag_invalid": "{discriminator} must be one of {expected_tags}",
    "union_tag_not_found": "needs {discriminator}",
}


def _short(value: Any) -> str:
    text = repr(_plain(value))
    return text if len(text) <= 60 else text[:57] + "..."


def _valid_keys(data: Any, path: Sequence[str | int]) -> list[str]:
    """Field names of the scenario object at ``path`` (for "valid keys: ..." messages)."""
    model: Any = Scenario
    node = data
    for part in path:
        model = _unwrap(model, node)
        if isinstance(part, int):
            model = get_args(model)[0] if get_origin(model) is list else model
        elif isinstance(model, type) and issubclass(model, BaseModel):
            field = model.model_fields.get(part)
            model = field.annotation if field is not None else None
        elif get_origin(model) is dict:
            model = get_args(model)[1]
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int):
            node = node[part]
        else:
            node = None
    model = _unwrap(model, node)
    if isinstance(model, type) and issubclass(model, BaseModel):
        return sorted(model.model_fields)
    return []


def _unwrap(model: Any, node: Any) -> Any:
    """Strip Annotated/Optional/Union down to the member that fits ``node``."""
    while True:
        origin = get_origin(model)
        if origin is Annotated:
            model = get_args(model)[0]
            continue
        args = get_args(model)
        if origin is not None and origin not in (list, dict) and args:
            members = [a for a in args if a is not type(None)]
            models = [m for m in members if isinstance(m, type) and issubclass(m, BaseModel)]
            if isinstance(node, dict) and models:
                tag = node.get("dist") or node.get("type")
                for m in models:
                    field = m.model_fields.get("dist") or m.model_fields.get("type")
                    if field is not None and tag in get_args(field.annotation):
                        return m
                return max(models, key=lambda m: len(set(m.model_fields) & set(node)))
            model = members[0]
            continue
        return model


# --- cross references --------------------------------------------------------------------


def _fail(tree: Any, file: str | None, path: Sequence[str | int], rule: str) -> ScenarioError:
    _, line = _locate(tree, path)
    where = _dotted(path)
    return ScenarioError(f"{where}: {rule}", file=file, line=line, where=where)


def _cross_check(s: Scenario, tree: Any, file: str | None) -> None:
    """Rules that relate several parts of the file (names that must be declared...)."""
    for name, image in s.images.items():
        if len(image.layers) > s.host.overlay.max_layers:
            raise _fail(
                tree,
                file,
                ["images", name, "layers"],
                f"must have at most {s.host.overlay.max_layers} layers, overlay2's limit "
                f"(max depth exceeded) (got {len(image.layers)})",
            )
    bind_sources: set[str] = set()
    for sname, svc in s.services.items():
        if svc.image not in s.images:
            raise _fail(
                tree,
                file,
                ["services", sname, "image"],
                f"must name an image under images: {', '.join(s.images)} (got {svc.image!r})",
            )
        targets: dict[str, int] = {}
        for i, mount in enumerate(svc.mounts):
            where: list[str | int] = (
                ["services", sname, "volumes", i]
                if i < len(svc.volumes)
                else ["services", sname, "tmpfs", i - len(svc.volumes)]
            )
            if mount.target in targets:
                raise _fail(
                    tree, file, where, f"mounts {mount.target!r} twice (mount target repeated)"
                )
            targets[mount.target] = i
            if mount.type == "volume" and mount.source and mount.source not in s.volumes:
                raise _fail(
                    tree,
                    file,
                    where,
                    f"must use a volume declared under the top-level volumes: "
                    f"{', '.join(s.volumes) or '(none declared)'} (got {mount.source!r})",
                )
            remote = mount.remote
            if remote is not None and remote[0] not in s.host.remotes:
                if mount.source is not None and mount.source.startswith((".", "/", "~")):
                    continue
                raise _fail(
                    tree,
                    file,
                    where,
                    f"bind source {mount.source!r} names server {remote[0]!r}, which is not "
                    f"under host.remotes ({', '.join(s.host.remotes) or 'none declared'})",
                )
            if mount.type == "bind" and mount.source:
                bind_sources.add(mount.source)
        _check_lifecycle(svc, sname, tree, file)
        for w, workload in enumerate(svc.workload):
            if workload.count is None and workload.duration is None and s.duration is None:
                raise _fail(
                    tree,
                    file,
                    ["services", sname, "workload", w],
                    "needs count or duration (or a scenario-level duration) so that it ends",
                )
    for key in s.sources:
        if key not in s.volumes and key not in bind_sources:
            raise _fail(
                tree,
                file,
                ["sources", key],
                "must name a declared volume or a bind source that a service mounts",
            )
    if s.compare is not None:
        c = s.compare
        if c.service is not None and c.service not in s.services:
            raise _fail(
                tree,
                file,
                ["compare", "service"],
                f"must name a service: {', '.join(s.services)} (got {c.service!r})",
            )
        if "distributed_bind" in c.choices:
            if not s.host.remotes:
                raise _fail(
                    tree,
                    file,
                    ["compare", "choices"],
                    "distributed_bind needs a server under host.remotes",
                )
            for server in c.server or []:
                if server not in s.host.remotes:
                    raise _fail(
                        tree,
                        file,
                        ["compare", "server"],
                        f"must name servers under host.remotes: {', '.join(s.host.remotes)} "
                        f"(got {server!r})",
                    )


_TRANSITIONS = {
    # action -> states it is allowed from; "absent" = no container (never run, or removed)
    "run": {"absent"},
    "stop": {"running"},
    "start": {"stopped"},
    "rm": {"running", "stopped"},
}
_AFTER = {"run": "running", "stop": "stopped", "start": "running", "rm": "absent"}


def _check_lifecycle(svc: ServiceSpec, sname: str, tree: Any, file: str | None) -> None:
    state = "absent"
    last = -math.inf
    for i, event in enumerate(svc.lifecycle):
        path: list[str | int] = ["services", sname, "lifecycle", i]
        if event.at < last:
            raise _fail(tree, file, path, f"times must not go backwards (got at={event.at} s)")
        if state not in _TRANSITIONS[event.action]:
            raise _fail(
                tree,
                file,
                path,
                f"cannot {event.action} a container that is {state} "
                f"(allowed from: {', '.join(sorted(_TRANSITIONS[event.action]))})",
            )
        state = _AFTER[event.action]
        last = event.at


def scenario_schema() -> dict[str, Any]:
    """The JSON Schema of scenario files, for editors (``storsim schema``)."""
    schema = Scenario.model_json_schema()
    # compose's x-* extension keys are allowed at the top level and in services
    schema["patternProperties"] = {"^x-": {}}
    service = schema["$defs"]["ServiceSpec"]
    service["patternProperties"] = {"^x-": {}}
    service["properties"].update({key: {} for key in sorted(COMPOSE_IGNORED_KEYS)})
    service["additionalProperties"] = False
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "storsim scenario"
    return schema
