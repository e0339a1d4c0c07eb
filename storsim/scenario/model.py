"""The Scenario model: a whole scenario file, validated, and the rules across its parts.

Like a building inspector who checks each room against the code and then the plan as a
whole (every door leads somewhere, no two rooms have the same number), validation runs
in two passes: pydantic checks each object against its spec, then :func:`validate`
checks the rules that relate several parts: a service's image is declared, a named
volume exists, a remote server is under ``host.remotes``, the lifecycle's commands come
in an order Docker accepts, every workload ends.
"""

# ruff: noqa: RUF012  (pydantic copies a mutable field default for each instance; ruff
# exempts pydantic models only when BaseModel is a base class within the same file)

from __future__ import annotations

import copy
import math
from collections.abc import Mapping, Sequence
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, PrivateAttr, ValidationError, model_validator

from storsim.errors import ScenarioError
from storsim.scenario.binds import BindSource, bind_problems, bind_sources
from storsim.scenario.compare import CompareSpec
from storsim.scenario.content import ImageSpec, SourceSpec, VolumeSpec
from storsim.scenario.fields import PositiveDuration, Spec
from storsim.scenario.fio import expand_fio
from storsim.scenario.host import HostSpec
from storsim.scenario.messages import plain, rule_error, translate
from storsim.scenario.overrides import apply_overrides
from storsim.scenario.services import ServiceSpec
from storsim.scenario.trees import tree_problems

__all__ = ["Scenario", "validate"]


def _none_to_empty(value: Any) -> Any:
    return {} if value is None else value


class Scenario(Spec):
    """A whole scenario file, validated."""

    name: Annotated[str, Field(min_length=1)]
    """The scenario's name, in outputs and reports (``ch06-lab``)."""
    description: str = ""
    """One line on what the scenario is about, in outputs and reports."""
    seed: Annotated[int, Field(ge=0, le=2**63 - 1)] = 0
    """The random seed: the same scenario and seed give identical results."""
    duration: PositiveDuration | None = None
    """How long the simulation runs (s, or with a unit: ``120 s``); default: until every
    workload has ended."""
    host: HostSpec = HostSpec()
    """The machine the containers run on: its disk, page cache, CPUs, remote servers."""
    images: Annotated[dict[str, ImageSpec], Field(min_length=1)]
    """Images by name (``diamol/ch06-lab``), each its layers."""
    volumes: dict[
        str,
        Annotated[
            VolumeSpec, BeforeValidator(_none_to_empty, json_schema_input_type=VolumeSpec | None)
        ],
    ] = {}
    """Named volumes by name (compose ``volumes:``; ``{}`` or nothing for defaults)."""
    sources: dict[str, SourceSpec] = {}
    """What a named volume or a bind source holds at the start, by its name or host path
    (``./config``); ``{file: SIZE}`` makes a bind source one host file (``./nginx.conf:
    {file: 2 KiB}``). A bind whose source is inside another's (``./config/nginx.conf``
    in ``./config``) is that path of the same tree: a file there is a single-file bind
    mount of it."""
    services: Annotated[dict[str, ServiceSpec], Field(min_length=1)]
    """Services by name (compose ``services:``): an image, its mounts, lifecycle and
    workload."""
    compare: CompareSpec | None = None
    """Run again with one path on each storage choice, and compare the placements."""

    @model_validator(mode="before")
    @classmethod
    def _drop_extensions(cls, data: Any) -> Any:
        # compose's x-* extension keys (anchors for YAML aliases, notes) are ignored
        if isinstance(data, Mapping):
            return {k: v for k, v in data.items() if not str(k).startswith("x-")}
        return data

    _file: str | None = PrivateAttr(default=None)
    _tree: Any = PrivateAttr(default=None)
    _fio_jobs: dict[str, list[Any]] = PrivateAttr(default_factory=dict)
    _notes: list[str] = PrivateAttr(default_factory=list)
    _binds: dict[str, BindSource] | None = PrivateAttr(default=None)

    @property
    def bind_sources(self) -> dict[str, BindSource]:
        """Each bind source the services mount -> its host tree (the root under
        ``sources`` or the bind source that holds it), its path there, and whether it is
        a single file (:mod:`storsim.scenario.binds`)."""
        if self._binds is None:
            self._binds = bind_sources(self)
        return self._binds

    @property
    def import_notes(self) -> list[str]:
        """What could not be mapped when this scenario was made from a compose file
        (``FILE:LINE: where: why``, one line each); empty for a scenario file."""
        return self._notes

    @property
    def fio_jobs(self) -> dict[str, list[Any]]:
        """Service -> the fio jobs its ``{fio: ...}`` workloads came from
        (:class:`storsim.interop.fio.FioJob`: names, clones, options), for fio's layout."""
        return self._fio_jobs

    @property
    def file(self) -> str | None:
        """The file this scenario was loaded from, if any."""
        return self._file

    def to_data(self) -> dict[str, Any]:
        """The scenario as plain data (what was loaded, after overrides)."""
        return copy.deepcopy(plain(self._tree)) if self._tree is not None else self.model_dump()

    def with_overrides(self, overrides: Mapping[str, Any] | Sequence[str]) -> Scenario:
        """A new scenario: this one's data with ``overrides`` applied, validated again.

        Args:
            overrides: ``{"dotted.path": value}`` or ``["dotted.path=yaml-value", ...]``.

        Raises:
            ScenarioError: an override names a bad path or makes the scenario invalid.
        """
        tree = copy.deepcopy(self._tree) if self._tree is not None else self.model_dump()
        return validate(tree, self._file, overrides)


def validate(
    tree: Any, file: str | None, overrides: Mapping[str, Any] | Sequence[str] | None
) -> Scenario:
    """A scenario from its YAML tree: overrides applied, every rule checked.

    Args:
        tree: the scenario's data; ruamel's round-trip containers carry the lines that
            the messages give. Overrides change it in place; the scenario keeps it.
        file: the file the tree was read from, if any (for the messages).
        overrides: as :meth:`Scenario.with_overrides` takes them, or None.

    Returns:
        The validated, frozen scenario.

    Raises:
        ScenarioError: an override is malformed, or the data breaks a rule. A rule that a
            value set by an override breaks names no file (it is in no line of it):
            ``override services.web.deploy.replicas: must be >= 0 (got -1)``.
    """
    changed = apply_overrides(tree, overrides) if overrides else []
    data = plain(tree)
    try:
        fio_jobs = expand_fio(data, tree, file)
        try:
            scenario = Scenario.model_validate(data)
        except ValidationError as exc:
            raise translate(exc, tree, file, Scenario) from None
        scenario._file = file
        scenario._tree = tree
        scenario._fio_jobs = fio_jobs
        _cross_check(scenario, tree, file)
    except ScenarioError as exc:
        raise _blame_override(exc, changed) from None
    return scenario


def _blame_override(exc: ScenarioError, changed: Sequence[str]) -> ScenarioError:
    """The error as an override's when an override set the offending value (or made the
    place where it is, which then has no line in the file)."""
    where = exc.where or ""
    inside = any(where == p or where.startswith((p + ".", p + "[")) for p in changed)
    if not changed or exc.file is None or not (inside or exc.line is None):
        return exc
    return ScenarioError(f"override {exc.message}", where=exc.where)


# --- cross references --------------------------------------------------------------------


def _cross_check(s: Scenario, tree: Any, file: str | None) -> None:
    """Rules that relate several parts of the file (names that must be declared...)."""
    for name, image in s.images.items():
        if len(image.layers) > s.host.overlay.max_layers:
            raise rule_error(
                tree,
                file,
                ["images", name, "layers"],
                f"must have at most {s.host.overlay.max_layers} layers, overlay2's limit "
                f"(max depth exceeded) (got {len(image.layers)})",
            )
    bind_sources: set[str] = set()
    for sname, svc in s.services.items():
        if svc.image not in s.images:
            raise rule_error(
                tree,
                file,
                ["services", sname, "image"],
                f"must name an image under images: {', '.join(s.images)} (got {svc.image!r})",
            )
        bind_sources |= _check_mounts(s, svc, sname, tree, file)
        _check_lifecycle(svc, sname, tree, file)
        if "x-prefill" in (svc.model_extra or {}):
            raise rule_error(
                tree,
                file,
                ["services", sname, "x-prefill"],
                "x-prefill is storsim's own key (compare: fills placements with it); "
                "name the extension field otherwise",
            )
        for w, workload in enumerate(svc.workload):
            if workload.count is None and workload.duration is None and s.duration is None:
                raise rule_error(
                    tree,
                    file,
                    ["services", sname, "workload", w],
                    "needs count or duration (or a scenario-level duration) so that it ends",
                )
    for key in s.sources:
        if key not in s.volumes and not any(
            b == key or b.startswith(key.rstrip("/") + "/") for b in bind_sources
        ):
            raise rule_error(
                tree,
                file,
                ["sources", key],
                "must name a declared volume or a bind source that a service mounts (or "
                "a directory that holds one)",
            )
    for path, rule in bind_problems(s):
        raise rule_error(tree, file, path, rule)
    if s.compare is not None:
        _check_compare(s, s.compare, tree, file)
    for path, rule in tree_problems(s):
        raise rule_error(tree, file, path, rule)


def _check_mounts(
    s: Scenario, svc: ServiceSpec, sname: str, tree: Any, file: str | None
) -> set[str]:
    """Check a service's mounts against the declared volumes and servers.

    Returns:
        The bind sources the service mounts (``sources:`` may name them).
    """
    bind_sources: set[str] = set()
    targets: dict[str, int] = {}
    for i, mount in enumerate(svc.mounts):
        where: list[str | int] = (
            ["services", sname, "volumes", i]
            if i < len(svc.volumes)
            else ["services", sname, "tmpfs", i - len(svc.volumes)]
        )
        if mount.target in targets:
            raise rule_error(
                tree, file, where, f"mounts {mount.target!r} twice (mount target repeated)"
            )
        targets[mount.target] = i
        if mount.type == "volume" and mount.source and mount.source not in s.volumes:
            raise rule_error(
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
            raise rule_error(
                tree,
                file,
                where,
                f"bind source {mount.source!r} names server {remote[0]!r}, which is not "
                f"under host.remotes ({', '.join(s.host.remotes) or 'none declared'})",
            )
        if mount.type == "bind" and mount.source:
            bind_sources.add(mount.source)
    return bind_sources


def _check_compare(s: Scenario, c: CompareSpec, tree: Any, file: str | None) -> None:
    """The compared service and servers must be declared."""
    if c.service is not None and c.service not in s.services:
        raise rule_error(
            tree,
            file,
            ["compare", "service"],
            f"must name a service: {', '.join(s.services)} (got {c.service!r})",
        )
    if "distributed_bind" in c.choices:
        if not s.host.remotes:
            raise rule_error(
                tree,
                file,
                ["compare", "choices"],
                "distributed_bind needs a server under host.remotes",
            )
        for server in c.server or []:
            if server not in s.host.remotes:
                raise rule_error(
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
    """The ``docker`` commands must come in time order, each from a state Docker allows."""
    state = "absent"
    last = -math.inf
    for i, event in enumerate(svc.lifecycle):
        path: list[str | int] = ["services", sname, "lifecycle", i]
        if event.at < last:
            raise rule_error(tree, file, path, f"times must not go backwards (got at={event.at} s)")
        if state not in _TRANSITIONS[event.action]:
            raise rule_error(
                tree,
                file,
                path,
                f"cannot {event.action} a container that is {state} "
                f"(allowed from: {', '.join(sorted(_TRANSITIONS[event.action]))})",
            )
        state = _AFTER[event.action]
        last = event.at
