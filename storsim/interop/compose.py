"""Compose files -> scenarios: every service, its mounts and its volumes, mapped.

A compose file is the plan of an application's containers, like an architect's drawing
of a house; a storsim scenario is the same house with the plumbing measured. This
module reads the drawing and writes what it can of the scenario, and a note for each
thing it cannot map, with the reason (:class:`~storsim.interop.common.Note`):

- every service, with its image (a stub for ``build:`` services and pulled images,
  whose layers compose does not describe; a Dockerfile's ``VOLUME`` lines are read) and
  its replicas (``deploy.replicas``, ``scale``);
- its mounts, short and long syntax: binds, named and anonymous volumes, tmpfs (with
  ``size``); a bind's source directory, if it exists next to the compose file, gives
  the bind's starting content (sizes of up to :data:`SCAN_LIMIT` files);
- single files mounted into a container (a file bind, ``secrets`` at
  ``/run/secrets/NAME``, ``configs`` at ``/NAME`` unless given a target): single-file
  bind mounts (``sources: {./nginx.conf: {file: SIZE}}``), read-only for secrets and
  configs, which hide nothing of the image but the file at their target;
- named volumes: ``driver: local`` with ``driver_opts`` ``type: nfs``/``cifs`` become
  servers under ``host.remotes`` and their mounts distributed binds
  (:mod:`storsim.interop.remotes`); ``type: tmpfs`` a tmpfs; ``type: none, o: bind``
  a local bind of ``device``; ``external`` volumes stay volumes;
- ``volumes_from``, ``extends`` within the file, ``${VAR:-default}`` interpolation
  (from the ``.env`` file and the given environment);
- ``read_only: true``: the service's ``read_only`` (its root file system refuses every
  change with EROFS; its mounts keep their modes).

Compose ignores ``x-`` keys, so storsim's own additions can live in the compose file:
a top-level ``x-storsim:`` block (``name``, ``duration``, ``host``, ``images``,
``sources``, ``compare``...) and a service-level one (``workload``, ``lifecycle``,
``image``) are taken as they are, and one file serves both tools
(:func:`load_compose`). Services without a workload get starter workloads
(:mod:`storsim.interop.starter`).
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import re
from collections.abc import Callable, Mapping, Sequence
from io import StringIO
from pathlib import Path, PurePosixPath
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from storsim.errors import ScenarioError
from storsim.interop.common import DataPath, Imported, Note, format_size
from storsim.interop.remotes import NetworkVolume, network_volume, remote_key
from storsim.interop.starter import finish
from storsim.scenario.messages import plain

__all__ = [
    "SCAN_LIMIT",
    "UNKNOWN_FILE_SIZE",
    "FileMount",
    "add_mount_points",
    "compose_line",
    "compose_to_scenario",
    "group_file_mounts",
    "is_compose",
    "load_compose",
    "looks_like_file",
    "ram_in_bytes",
    "read_compose",
]

#: Most files read from one bind source directory for its starting content.
SCAN_LIMIT = 1000
#: Size given to a mounted file whose size cannot be known (a missing file, an external
#: secret): a placeholder, marked TODO.
UNKNOWN_FILE_SIZE = 1024

# Service keys that concern networking, process start-up or scheduling: left out of
# the scenario (one note lists those a file used).
_NOT_STORAGE = frozenset(
    {"annotations", "attach", "blkio_config", "cap_add", "cap_drop", "cgroup",
     "cgroup_parent", "command", "container_name", "cpu_count", "cpu_percent", "cpu_period",
     "cpu_quota", "cpu_rt_period", "cpu_rt_runtime", "cpu_shares", "cpus", "cpuset",
     "credential_spec", "depends_on", "develop", "device_cgroup_rules", "dns", "dns_opt",
     "dns_search", "domainname", "entrypoint", "env_file", "environment", "expose",
     "external_links", "extra_hosts", "gpus", "group_add", "healthcheck", "hostname", "init",
     "ipc", "isolation", "labels", "label_file", "links", "logging", "mac_address",
     "mem_limit", "mem_reservation", "mem_swappiness", "memswap_limit", "models",
     "network_mode", "networks", "oom_kill_disable", "oom_score_adj", "pid", "pids_limit",
     "platform", "ports", "post_start", "pre_stop", "privileged", "provider", "pull_policy",
     "restart", "runtime", "security_opt", "stdin_open", "stop_grace_period", "stop_signal",
     "sysctls", "tty", "ulimits", "use_api_socket", "user", "userns_mode", "uts",
     "working_dir"}
)  # fmt: skip
# Service keys that touch storage but that storsim's format cannot express.
_STORAGE_UNMAPPED = {
    "devices": "host devices are not modelled",
    "storage_opt": "the writable layer's size limit is not modelled",
    "shm_size": "/dev/shm is not modelled (mount a tmpfs at /dev/shm to use it)",
    "volume_driver": "volume drivers other than local are not modelled (kept as local volumes)",
}
_SCENARIO_KEYS = (
    "name", "description", "seed", "duration", "host", "images", "volumes", "sources", "compare",
)  # fmt: skip
_SERVICE_X_KEYS = frozenset({"workload", "lifecycle", "image", "deploy"})
_MODE_FLAGS = frozenset({"ro", "rw", "z", "Z", "nocopy", "cached", "delegated", "consistent"})
_PROPAGATION = frozenset({"shared", "slave", "private", "rshared", "rslave", "rprivate"})
_RAM = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgtp]?)i?b?\s*$", re.IGNORECASE)
_RAM_FACTORS = {"": 1, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40, "p": 2**50}


def is_compose(data: Any) -> bool:
    """Whether parsed YAML looks like a compose file rather than a storsim scenario
    (it has ``services`` and no ``images``)."""
    return isinstance(data, Mapping) and "services" in data and "images" not in data


def compose_to_scenario(
    source: str | os.PathLike[str] | Mapping[str, Any],
    *,
    text: str | None = None,
    base_dir: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Imported:
    """Import a compose file as a complete, runnable scenario (with starter workloads).

    Args:
        source: the compose file's path, or its parsed content (then ``base_dir`` is
            where relative paths point, the current directory by default).
        text: the file's text, when ``source`` names a file that should not be read
            again (or is not on disk).
        base_dir: the project directory (default: the compose file's directory).
        environ: variables for ``${VAR}`` interpolation, over those of the ``.env``
            file in ``base_dir`` (compose's order: the shell's environment wins).

    Returns:
        The scenario data, the notes of what could not be mapped, and the comments
        marking the numbers to fill in.

    Raises:
        ScenarioError: the file cannot be read or is not a compose file.
    """
    imported, origins, project = read_compose(source, text=text, base_dir=base_dir, environ=environ)
    return finish(imported, name=project, origins=origins)


def load_compose(
    path: str | os.PathLike[str],
    *,
    text: str | None = None,
    overrides: Mapping[str, Any] | Sequence[str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Any:
    """Load a compose file as a validated :class:`storsim.Scenario` (run it directly).

    Its ``x-storsim`` blocks give what compose does not say (workloads, devices,
    images); what they leave out is filled as :func:`compose_to_scenario` does. What
    could not be mapped is kept as :attr:`storsim.Scenario.import_notes` (``storsim run``
    prints them).

    Args:
        path: the compose file.
        text: its text, when already read (else it is read from ``path``).
        overrides: as :func:`storsim.load_scenario` takes them.
        environ: variables for ``${VAR}`` interpolation (default: none but ``.env``'s).

    Raises:
        ScenarioError: the compose file cannot be read, or the scenario it makes is
            invalid: the message names the compose file, the YAML path of the scenario
            and the line of the compose file it came from (an ``x-storsim`` block's, or
            the service's), or the line of a fio job file a workload names.
    """
    from storsim.scenario.model import validate

    file = os.fspath(path)
    imported = compose_to_scenario(file, text=text, environ=environ)
    try:
        scenario = validate(copy.deepcopy(imported.data), file, overrides)
    except ScenarioError as error:
        if error.file != file or error.line is not None or error.where is None:
            raise
        if text is None:
            text = Path(file).read_text(encoding="utf-8")
        line = compose_line(_parse(text, file), error.where)
        raise ScenarioError(error.message, file=file, line=line, where=error.where) from None
    notes = [str(note) for note in imported.notes]
    for sname, svc in scenario.services.items():
        guessed = [w.name for w in svc.workload if (w.name or "").startswith("starter: ")]
        if guessed:
            # the numbers are storsim's guesses, not the application's: say so on every run
            notes.append(
                f"{file}: services.{sname}: no x-storsim workload: running starter "
                f"workloads with guessed numbers ({'; '.join(str(g)[9:] for g in guessed)}); "
                "give yours in the service's x-storsim block, or storsim init writes them out "
                "to edit"
            )
    scenario._notes = notes
    return scenario


_WHERE_PART = re.compile(r"\[(\d+)\]|([^.\[\]]+)")


def compose_line(tree: Any, where: str) -> int | None:
    """The compose file's line of a scenario's YAML path.

    A scenario path is found where the compose file says it: as it is (``services.web.
    volumes[0]``), in the service's ``x-storsim`` block (``services.db.workload[1]``), or
    in the top-level ``x-storsim`` block (``duration``); the deepest match wins, so an
    error in a value the importer made points at the service or volume it came from.

    Args:
        tree: the compose file's round-trip YAML tree.
        where: the dotted YAML path (``"services.db.workload[0].rate"``).

    Returns:
        The 1-based line, or None when nothing of the path is in the file.
    """
    parts: list[str | int] = [
        int(index) if index else key for index, key in _WHERE_PART.findall(where)
    ]
    # (the path in the compose file, where the inserted x-storsim key is in it)
    candidates: list[tuple[list[str | int], int | None]] = [(parts, None)]
    candidates.append((["x-storsim", *parts], 0))
    if len(parts) >= 2 and parts[0] == "services":
        candidates.append(([*parts[:2], "x-storsim", *parts[2:]], 2))
    best: tuple[int, int | None] = (0, None)
    for candidate, inserted in candidates:
        depth, line = _deepest(tree, candidate)
        if inserted is not None and depth > inserted:
            depth -= 1  # the x-storsim key is not a part of the scenario's path
        elif inserted is not None:
            continue  # stopped before the block: the plain candidate says as much
        if depth > best[0]:
            best = (depth, line)
    return best[1]


def _deepest(tree: Any, path: Sequence[str | int]) -> tuple[int, int | None]:
    """How many parts of ``path`` are in ``tree``, and the line of the last one found."""
    node, depth, line = tree, 0, None
    for part in path:
        if isinstance(node, CommentedMap) and part in node:
            with contextlib.suppress(KeyError, TypeError):
                line = int(node.lc.key(part)[0]) + 1
        elif isinstance(node, CommentedSeq) and isinstance(part, int) and 0 <= part < len(node):
            with contextlib.suppress(KeyError, TypeError, IndexError):
                line = int(node.lc.item(part)[0]) + 1
        else:
            break
        node = node[part]
        depth += 1
    return depth, line


# --- reading -------------------------------------------------------------------------------


class _Reader:
    """One compose file being read: its tree (for line numbers), and the notes so far."""

    def __init__(self, tree: Any, file: str | None, base_dir: Path, environ: Mapping[str, str]):
        self.tree = tree
        self.file = file
        self.base_dir = base_dir
        self.environ = environ
        self.notes: list[Note] = []
        self.unset: set[str] = set()

    def line(self, path: Sequence[Any]) -> int | None:
        node = self.tree
        line: int | None = None
        for part in path:
            if isinstance(node, CommentedMap) and part in node:
                with contextlib.suppress(KeyError, TypeError):
                    line = int(node.lc.key(part)[0]) + 1
                node = node[part]
            elif isinstance(node, CommentedSeq) and isinstance(part, int) and part < len(node):
                with contextlib.suppress(KeyError, TypeError, IndexError):
                    line = int(node.lc.item(part)[0]) + 1
                node = node[part]
            else:
                break
        return line

    def note(self, path: Sequence[Any], message: str) -> None:
        where = ".".join(str(p) if isinstance(p, str) else f"[{p}]" for p in path)
        self.notes.append(Note(where.replace(".[", "["), message, self.file, self.line(path)))


def _parse(text: str, file: str | None) -> Any:
    try:
        tree = YAML(typ="rt", pure=True).load(StringIO(text))
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise ScenarioError(
            f"invalid YAML: {exc.problem or exc.context or 'invalid YAML'}",
            file=file,
            line=mark.line + 1 if mark is not None else None,
        ) from None
    except YAMLError as exc:
        raise ScenarioError(f"invalid YAML: {exc}", file=file) from None
    return tree


def read_compose(
    source: str | os.PathLike[str] | Mapping[str, Any],
    *,
    text: str | None = None,
    base_dir: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> tuple[Imported, dict[tuple[str, str], str], str]:
    """The scenario parts a compose file describes, before starters are added.

    Returns:
        ``(imported, origins, project)``: the data (images, volumes, sources, host
        remotes, services with mounts), where each service's mount targets came from
        (``(service, target) -> "secret db-password"``...), and the project name.

    Raises:
        ScenarioError: the file cannot be read or is not a compose file.
    """
    file: str | None = None
    if isinstance(source, Mapping):
        tree: Any = source
        base = Path(base_dir) if base_dir is not None else Path.cwd()
    else:
        file = os.fspath(source)
        if text is None:
            try:
                text = Path(file).read_text(encoding="utf-8")
            except OSError as exc:
                raise ScenarioError(f"cannot read: {exc.strerror}", file=file) from None
            except UnicodeDecodeError:
                raise ScenarioError("cannot read: not UTF-8 text", file=file) from None
        tree = _parse(text, file)
        base = Path(base_dir) if base_dir is not None else Path(file).resolve().parent
    if not isinstance(tree, Mapping) or not isinstance(tree.get("services"), Mapping):
        raise ScenarioError("a compose file needs a services: mapping", file=file, line=1)
    env = _dotenv(base)
    env.update(environ or {})
    reader = _Reader(tree, file, base, env)
    data = _interpolate(plain(tree), reader)
    if reader.unset:
        reader.note(
            ["interpolation"],
            f"variables not set, read as empty strings as compose does: "
            f"{', '.join(sorted(reader.unset))}",
        )
    project = _project(data, file, base)
    mapper = _Compose(reader, data, project)
    return mapper.build(), mapper.origins, project


def _project(data: Mapping[str, Any], file: str | None, base: Path) -> str:
    """Compose's project name: ``name:``, else the directory's name, lowercased."""
    name = data.get("name")
    if not isinstance(name, str) or not name:
        name = base.name if file is not None else "compose"
    cleaned = re.sub(r"[^a-z0-9_-]", "", name.lower())
    return cleaned or "compose"


def _dotenv(base: Path) -> dict[str, str]:
    """``KEY=VALUE`` lines of the project's ``.env`` file (compose reads it by default)."""
    path = base / ".env"
    out: dict[str, str] = {}
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return out
    for raw in lines:
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.removeprefix("export ").partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        out[key.strip()] = value
    return out


_VAR = re.compile(
    r"\$(?:\$|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])((?:[^{}]|\{[^{}]*\})*))?\}|([A-Za-z_][A-Za-z0-9_]*))"
)


def _interpolate(node: Any, reader: _Reader) -> Any:
    """Compose's ``$VAR``, ``${VAR}``, ``${VAR:-default}``, ``${VAR-default}``,
    ``${VAR:+alt}``, ``${VAR:?error}`` and ``$$`` in every string value."""
    if isinstance(node, dict):
        return {k: _interpolate(v, reader) for k, v in node.items()}
    if isinstance(node, list):
        return [_interpolate(v, reader) for v in node]
    if not isinstance(node, str) or "$" not in node:
        return node

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group(1) or match.group(4)
        op, arg = match.group(2), match.group(3) or ""
        value = reader.environ.get(name)
        empty = value is None or (value == "" and op is not None and op.startswith(":"))
        if op in ("-", ":-"):
            return str(_interpolate(arg, reader)) if (value is None or empty) else str(value)
        if op in ("+", ":+"):
            return "" if (value is None or empty) else str(_interpolate(arg, reader))
        if value is None or (op in ("?", ":?") and empty):
            reader.unset.add(name)
            return ""
        return value

    return _VAR.sub(replace, node)


# --- the mapping ------------------------------------------------------------------------------


def ram_in_bytes(text: str | int) -> int | None:
    """Docker's sizes (``64m``, ``1g``, ``512k``: powers of 1024, go-units RAMInBytes)."""
    if isinstance(text, int):
        return text
    match = _RAM.match(str(text))
    if match is None:
        return None
    return int(float(match.group(1)) * _RAM_FACTORS[match.group(2).lower()])


class FileMount:
    """A single file mounted into a container: a file bind, a secret or a config.

    Attributes:
        target: the file's path in the container.
        size: its size in bytes (:data:`UNKNOWN_FILE_SIZE` when ``known`` is false).
        known: whether the size is the file's (or a placeholder).
        read_only: whether the mount is read-only (secrets and configs always are).
        origin: what it is, for notes and workload names (``"secret db-password"``).
        where: the input path it came from, for notes.
        source: its host file as the scenario names it (``./nginx/default.conf``); None
            for what Docker writes itself (a secret from ``environment`` or ``content``).
    """

    def __init__(
        self,
        target: str,
        size: int,
        known: bool,
        read_only: bool,
        origin: str,
        where: list[Any],
        source: str | None = None,
    ):
        self.source = source
        self.target = target
        self.size = size
        self.known = known
        self.read_only = read_only
        self.origin = origin
        self.where = where


class _Compose:
    def __init__(self, reader: _Reader, data: dict[str, Any], project: str) -> None:
        self.r = reader
        self.c = data
        self.project = project
        self.out: dict[str, Any] = {"images": {}, "volumes": {}, "sources": {}, "services": {}}
        self.imported = Imported(self.out)
        self.comments = self.imported.comments
        self.origins: dict[tuple[str, str], str] = {}
        self.remotes: dict[str, dict[str, Any]] = {}
        self.network: dict[str, tuple[str, NetworkVolume]] = {}  # volume -> (server key, vol)
        self.tmpfs_volumes: dict[str, int | None] = {}
        self.bind_volumes: dict[str, str] = {}
        self.ignored_keys: dict[str, list[str]] = {}
        self.stubs: set[str] = set()

    def build(self) -> Imported:
        top = self.c
        for key in top:
            if key == "include":
                self.r.note([key], "other compose files are not read (import each one)")
            elif key not in ("version", "name", "services", "volumes", "secrets", "configs",
                             "networks") and not key.startswith("x-"):  # fmt: skip
                self.r.note([key], "not a compose key storsim knows (ignored)")
        self._volumes()
        services = self._extended(top["services"])
        for sname, svc in services.items():
            self._service(sname, svc if isinstance(svc, Mapping) else {})
        for sname, svc in services.items():
            if isinstance(svc, Mapping) and svc.get("volumes_from"):
                self._volumes_from(sname, svc["volumes_from"])
        if self.ignored_keys:
            listing = "; ".join(
                f"{key} ({', '.join(names)})" for key, names in sorted(self.ignored_keys.items())
            )
            self.r.note(["services"], f"keys that do not concern storage, left out: {listing}")
        if self.remotes:
            self.out["host"] = {"remotes": self.remotes}
        add_mount_points(self.out, self.stubs)
        self._extensions()
        for key in ("volumes", "sources"):
            if not self.out[key]:
                del self.out[key]
        # a note on a top-level entry (a secret's size) comes once, whoever uses it
        self.imported.notes = list(dict.fromkeys(self.r.notes + self.imported.notes))
        return self.imported

    # --- top-level volumes ---------------------------------------------------------------

    def _volumes(self) -> None:
        volumes = self.c.get("volumes") or {}
        if not isinstance(volumes, Mapping):
            self.r.note(["volumes"], "must be a mapping of volume names (ignored)")
            return
        for vname, spec in volumes.items():
            spec = spec or {}
            where = ["volumes", vname]
            out: dict[str, Any] = {}
            driver = spec.get("driver", "local")
            opts = {str(k): v for k, v in (spec.get("driver_opts") or {}).items()}
            if spec.get("external"):
                out["external"] = True
            if isinstance(spec.get("name"), str):
                out["name"] = spec["name"]
            if driver not in ("local", None):
                self.r.note(
                    [*where, "driver"],
                    f"volume driver {driver!r} is not modelled: kept as a local volume on the "
                    "host's disk",
                )
            elif opts and self._special_volume(vname, opts, where):
                continue
            self.out["volumes"][vname] = out

    def _special_volume(self, vname: str, opts: dict[str, Any], where: list[Any]) -> bool:
        """An NFS, CIFS, tmpfs or bind ``local`` volume; True when it is not a volume."""
        fstype = str(opts.get("type", "")).lower()
        net = network_volume(opts)
        if net is not None:
            key = remote_key(net.host)
            if key in self.remotes and self.remotes[key] != net.remote:
                key = remote_key(f"{net.host}-{vname}")
                self.r.note(
                    [*where, "driver_opts"],
                    f"server {net.host} is mounted with other options by another volume: "
                    f"modelled as its own server {key!r} (its own queue)",
                )
            self.remotes[key] = net.remote
            self.network[vname] = (key, net)
            for message in net.notes:
                self.r.note([*where, "driver_opts", "o"], message)
            self.comments[("host", "remotes", key)] = (
                f"from volume {vname} ({net.kind} {net.host}:{net.export})"
            )
            return True
        if fstype == "tmpfs":
            size = None
            for part in str(opts.get("o", "")).split(","):
                if part.strip().startswith("size="):
                    size = ram_in_bytes(part.strip()[5:])
            self.tmpfs_volumes[vname] = size
            self.r.note(
                where,
                "a tmpfs volume: each container gets its own tmpfs in storsim (Docker shares "
                "one while any container uses it)",
            )
            return True
        options = [p.strip() for p in str(opts.get("o", "")).split(",")]
        if fstype == "none" and ("bind" in options or "rbind" in options) and opts.get("device"):
            self.bind_volumes[vname] = str(opts["device"])
            return True
        if fstype:
            self.r.note(
                [*where, "driver_opts"],
                f"type {fstype}: a file system on its own device is not modelled (storsim "
                "has one host disk): kept as a volume on host.disk",
            )
        return False

    # --- services --------------------------------------------------------------------------

    def _extended(self, services: Mapping[str, Any]) -> dict[str, Any]:
        """``extends`` within the same file: the base service's keys under the service's."""
        return {sname: self._resolve_extends(sname, services, set()) for sname in services}

    def _resolve_extends(self, sname: str, services: Mapping[str, Any], seen: set[str]) -> Any:
        svc = services[sname]
        if not isinstance(svc, Mapping) or "extends" not in svc:
            return svc
        ext = svc["extends"]
        base_name = str(ext if isinstance(ext, str) else (ext or {}).get("service"))
        if isinstance(ext, Mapping) and ext.get("file"):
            self.r.note(["services", sname, "extends"], "extends from another file is not followed")
            return {k: v for k, v in svc.items() if k != "extends"}
        if base_name not in services or base_name in seen or base_name == sname:
            self.r.note(
                ["services", sname, "extends"],
                f"names no service of this file (got {base_name!r}): not followed",
            )
            return {k: v for k, v in svc.items() if k != "extends"}
        base = self._resolve_extends(base_name, services, seen | {sname})
        merged = copy.deepcopy(dict(base)) if isinstance(base, Mapping) else {}
        for key, value in svc.items():
            if key == "extends":
                continue
            if key == "volumes" and isinstance(merged.get("volumes"), list):
                mine = {self._target_of(v) for v in value}
                merged["volumes"] = [
                    v for v in merged["volumes"] if self._target_of(v) not in mine
                ] + list(value)
            elif isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
                merged[key] = {**merged[key], **value}
            else:
                merged[key] = value
        return merged

    @staticmethod
    def _target_of(entry: Any) -> str | None:
        if isinstance(entry, Mapping):
            return str(entry.get("target"))
        parts = str(entry).split(":")
        if len(parts) > 1 and not parts[-1].startswith("/"):
            parts.pop()
        return parts[-1]

    def _service(self, sname: str, svc: Mapping[str, Any]) -> None:
        base = ["services", sname]
        out: dict[str, Any] = {"image": self._image(sname, svc)}
        replicas = self._replicas(sname, svc)
        if replicas != 1:
            out["deploy"] = {"replicas": replicas}
        mounts: list[dict[str, Any]] = []
        files: list[FileMount] = []
        for i, entry in enumerate(svc.get("volumes") or []):
            self._mount(sname, entry, [*base, "volumes", i], mounts, files)
        tmpfs = svc.get("tmpfs")
        for i, entry in enumerate([tmpfs] if isinstance(tmpfs, str) else tmpfs or []):
            where = [*base, "tmpfs"] if isinstance(tmpfs, str) else [*base, "tmpfs", i]
            self._tmpfs_entry(str(entry), where, mounts)
        for kind in ("secrets", "configs"):
            for i, entry in enumerate(svc.get(kind) or []):
                self._file_object(sname, kind, entry, [*base, kind, i], files)
        mounts = self._unique_targets(sname, mounts)
        self._file_groups(sname, files, mounts)
        if mounts:
            out["volumes"] = mounts
        if svc.get("read_only"):
            out["read_only"] = True
        for key in svc:
            if key in _STORAGE_UNMAPPED:
                self.r.note([*base, key], _STORAGE_UNMAPPED[key])
            elif key in _NOT_STORAGE:
                self.ignored_keys.setdefault(key, []).append(sname)
            elif key == "profiles":
                self.r.note(
                    [*base, key],
                    "compose starts this service only with --profile; storsim runs it",
                )
            elif key not in ("image", "build", "volumes", "tmpfs", "secrets", "configs",
                             "read_only", "deploy", "scale", "volumes_from", "extends",
                             "x-storsim") and not key.startswith("x-"):  # fmt: skip
                self.r.note([*base, key], "not a service key storsim knows (ignored)")
        ext = svc.get("x-storsim")
        if isinstance(ext, Mapping):
            for key, value in ext.items():
                if key in _SERVICE_X_KEYS:
                    out[key] = copy.deepcopy(value)
                else:
                    self.r.note(
                        [*base, "x-storsim", key],
                        f"not a service key storsim takes from x-storsim "
                        f"({', '.join(sorted(_SERVICE_X_KEYS))}): ignored",
                    )
        self.out["services"][sname] = out

    def _replicas(self, sname: str, svc: Mapping[str, Any]) -> int:
        deploy = svc.get("deploy") or {}
        if deploy.get("mode") == "global":
            self.r.note(
                ["services", sname, "deploy", "mode"],
                "global: one container per swarm node; storsim runs one (one host)",
            )
            return 1
        for value, where in ((deploy.get("replicas"), "deploy"), (svc.get("scale"), "scale")):
            if value is not None:
                try:
                    return max(0, int(value))
                except (TypeError, ValueError):
                    self.r.note(["services", sname, where], f"not a number (got {value!r})")
        return 1

    # --- images --------------------------------------------------------------------------

    def _image(self, sname: str, svc: Mapping[str, Any]) -> str:
        build = svc.get("build")
        image = svc.get("image")
        if build is None:
            name = str(image) if image else sname
            if not image:
                self.r.note(["services", sname], "has neither image nor build: an empty image")
            if name not in self.out["images"]:
                self.out["images"][name] = {"layers": [{"name": f"{name} (stub)"}]}
                self.stubs.add(name)
                self.comments[("images", name, "layers")] = (
                    "TODO: the image's files (storsim init reads docker image inspect / "
                    "docker history JSON for its layers)"
                )
            return name
        name = str(image) if image else f"{self.project}-{sname}"
        context = build if isinstance(build, str) else (build or {}).get("context", ".")
        layer = {"name": f"{name} (stub: built from {context})"}
        spec: dict[str, Any] = {"layers": [layer]}
        volumes = self._dockerfile_volumes(sname, build)
        if volumes:
            spec["volumes"] = volumes
        self.out["images"][name] = spec
        self.stubs.add(name)
        self.comments[("images", name, "layers")] = (
            "TODO: the image's files (build it, then give storsim init its docker history JSON)"
        )
        return name

    def _dockerfile_volumes(self, sname: str, build: Any) -> list[str]:
        """The ``VOLUME`` paths of the final (or ``target``) stage of the service's
        Dockerfile: each is a new anonymous volume at every run [D7]."""
        if isinstance(build, str):
            build = {"context": build}
        if not isinstance(build, Mapping):
            return []
        text = build.get("dockerfile_inline")
        if not isinstance(text, str):
            context = str(build.get("context", "."))
            if "://" in context or context.startswith("git@"):
                return []
            dockerfile = self.r.base_dir / context / str(build.get("dockerfile", "Dockerfile"))
            try:
                text = dockerfile.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                return []
        found, unresolved = _dockerfile_volume_paths(text, build.get("target"))
        for path in unresolved:
            self.r.note(
                ["services", sname, "build"],
                f"Dockerfile VOLUME {path}: a variable storsim does not expand (left out)",
            )
        return found

    # --- mounts ------------------------------------------------------------------------

    def _mount(
        self,
        sname: str,
        entry: Any,
        where: list[Any],
        mounts: list[dict[str, Any]],
        files: list[FileMount],
    ) -> None:
        if isinstance(entry, str):
            parsed = self._short(entry, where)
            if parsed is None:
                return
        elif isinstance(entry, Mapping):
            parsed = dict(entry)
        else:
            self.r.note(where, f"not a mount (got {entry!r})")
            return
        kind = parsed.get("type", "volume")
        target = parsed.get("target")
        if not isinstance(target, str) or not target.startswith("/"):
            self.r.note(where, f"needs an absolute target (got {target!r}): left out")
            return
        target = _norm(target)
        read_only = bool(parsed.get("read_only", False))
        source = parsed.get("source")
        if kind == "tmpfs":
            mount: dict[str, Any] = {"type": "tmpfs", "target": target}
            size = (parsed.get("tmpfs") or {}).get("size")
            if size is not None and ram_in_bytes(size) is not None:
                mount["tmpfs"] = {"size": format_size(int(ram_in_bytes(size) or 0))}
            mounts.append(mount)
            return
        if kind == "bind":
            self._bind(sname, str(source or ""), target, read_only, parsed, where, mounts, files)
            return
        if kind != "volume":
            self.r.note(where, f"type {kind}: not modelled by storsim (left out)")
            return
        if not source:
            mounts.append(_ro({"type": "volume", "target": target}, read_only))
            return
        self._named(str(source), target, read_only, parsed, where, mounts)

    def _short(self, text: str, where: list[Any]) -> dict[str, Any] | None:
        parts = text.split(":")
        flags: list[str] = []
        if len(parts) > 1 and not parts[-1].startswith("/"):
            flags = parts.pop().split(",")
        unknown = [f for f in flags if f not in _MODE_FLAGS and f not in _PROPAGATION]
        if unknown:
            self.r.note(where, f"mode {','.join(unknown)}: not a compose mode (ignored)")
        target = parts[-1]
        source = ":".join(parts[:-1])
        out: dict[str, Any] = {"target": target, "read_only": "ro" in flags}
        if "nocopy" in flags:
            out["volume"] = {"nocopy": True}
        propagation = [f for f in flags if f in _PROPAGATION]
        if not source:
            out["type"] = "volume"
        elif source.startswith((".", "/", "~")) or re.match(r"^[A-Za-z]:[\\/]", source):
            out["type"] = "bind"
            out["source"] = source
            if propagation:
                out["bind"] = {"propagation": propagation[-1]}
        else:
            out["type"] = "volume"
            out["source"] = source
        return out

    def _named(
        self,
        vname: str,
        target: str,
        read_only: bool,
        parsed: Mapping[str, Any],
        where: list[Any],
        mounts: list[dict[str, Any]],
    ) -> None:
        options = parsed.get("volume") or {}
        subpath = options.get("subpath")
        if vname in self.network:
            key, net = self.network[vname]
            export = net.export.rstrip("/") + ("/" + str(subpath).strip("/") if subpath else "")
            source = f"{key}:{export or '/'}"
            mounts.append(
                _ro(
                    {"type": "bind", "source": source, "target": target}, read_only or net.read_only
                )
            )
            return
        if vname in self.tmpfs_volumes:
            mount: dict[str, Any] = _ro({"type": "tmpfs", "target": target}, read_only)
            size = self.tmpfs_volumes[vname]
            if size:
                mount["tmpfs"] = {"size": format_size(size)}
            mounts.append(mount)
            return
        if vname in self.bind_volumes:
            source = self.bind_volumes[vname]
            mounts.append(_ro({"type": "bind", "source": source, "target": target}, read_only))
            return
        if vname not in self.out["volumes"]:
            self.r.note(
                where,
                f"volume {vname!r} is not declared under the top-level volumes (compose "
                "refuses this): declared as a local volume",
            )
            self.out["volumes"][vname] = {}
        mount = _ro({"type": "volume", "source": vname, "target": target}, read_only)
        if options.get("nocopy"):
            mount["volume"] = {"nocopy": True}
        if subpath:
            mount.setdefault("volume", {})["subpath"] = str(subpath)
            # Docker needs the directory in the volume already: the volume starts with it
            content = self.out["sources"].setdefault(vname, {})
            directory = "/" + str(subpath).strip("/")
            if directory not in content.setdefault("dirs", []):
                content["dirs"].append(directory)
        for key in options:
            if key not in ("nocopy", "subpath"):
                self.r.note([*where, "volume", key], "not modelled (ignored)")
        mounts.append(mount)

    def _bind(
        self,
        sname: str,
        source: str,
        target: str,
        read_only: bool,
        parsed: Mapping[str, Any],
        where: list[Any],
        mounts: list[dict[str, Any]],
        files: list[FileMount],
    ) -> None:
        key = _bind_key(source)
        host = self._host_path(source)
        bind_opts = parsed.get("bind") or {}
        for opt in bind_opts:
            if opt not in ("propagation", "create_host_path", "selinux"):
                self.r.note([*where, "bind", opt], "not modelled (ignored)")
        if host is not None and host.is_file():
            size = host.stat().st_size
            files.append(FileMount(target, size, True, read_only, f"file {source}", where, key))
            return
        if host is None or not host.exists():
            if looks_like_file(source, target):
                self.r.note(
                    where,
                    f"source {source} not found; its name says it is a file (mounted as one, "
                    "size unknown)",
                )
                files.append(
                    FileMount(
                        target, UNKNOWN_FILE_SIZE, False, read_only, f"file {source}", where, key
                    )
                )
                return
            self.r.note(
                where,
                f"source {source} not found: Docker creates an empty directory (its content "
                "is unknown)",
            )
        mount = _ro({"type": "bind", "source": key, "target": target}, read_only)
        propagation = bind_opts.get("propagation")
        if isinstance(propagation, str):
            mount["bind"] = {"propagation": propagation}
        mounts.append(mount)
        if host is not None and host.is_dir() and key not in self.out["sources"]:
            content = self._scan(host, where)
            if content is not None:
                self.out["sources"][key] = content

    def _host_path(self, source: str) -> Path | None:
        if re.match(r"^[A-Za-z]:[\\/]", source):
            return None
        path = Path(os.path.expanduser(source))
        return path if path.is_absolute() else self.r.base_dir / path

    def _scan(self, root: Path, where: list[Any]) -> dict[str, Any] | None:
        """What a bind's source directory holds: file sizes, up to :data:`SCAN_LIMIT`."""
        files: dict[str, Any] = {}
        dirs: list[str] = []
        truncated = False
        for folder, subdirs, names in os.walk(root):
            subdirs.sort()
            rel = Path(folder).relative_to(root).as_posix()
            prefix = "" if rel == "." else "/" + rel
            if prefix and not names and not subdirs:
                dirs.append(prefix)
            for name in sorted(names):
                path = Path(folder) / name
                if path.is_symlink() or not path.is_file():
                    continue
                if len(files) >= SCAN_LIMIT:
                    truncated = True
                    break
                files[f"{prefix}/{name}"] = format_size(path.stat().st_size)
            if truncated:
                break
        if truncated:
            self.r.note(
                where,
                f"the source holds more than {SCAN_LIMIT} files: the first {SCAN_LIMIT} "
                "(sorted) are the bind's content",
            )
        if not files and not dirs:
            return None
        out: dict[str, Any] = {}
        if files:
            out["files"] = files
        if dirs:
            out["dirs"] = dirs
        return out

    def _tmpfs_entry(self, text: str, where: list[Any], mounts: list[dict[str, Any]]) -> None:
        path, _, opts = text.partition(":")
        if not path.startswith("/"):
            self.r.note(where, f"needs an absolute path (got {text!r}): left out")
            return
        mount: dict[str, Any] = {"type": "tmpfs", "target": _norm(path)}
        for opt in opts.split(","):
            if opt.startswith("size="):
                size = ram_in_bytes(opt[5:])
                if size is not None:
                    mount["tmpfs"] = {"size": format_size(size)}
        mounts.append(mount)

    def _unique_targets(self, sname: str, mounts: list[dict[str, Any]]) -> list[dict[str, Any]]:
        seen: set[str] = set()
        out = []
        for m in mounts:
            if m["target"] in seen:
                self.r.note(
                    ["services", sname, "volumes"],
                    f"{m['target']} is mounted twice (compose refuses this): the first kept",
                )
                continue
            seen.add(m["target"])
            out.append(m)
        return out

    # --- secrets, configs and other single files --------------------------------------

    def _file_object(
        self, sname: str, kind: str, entry: Any, where: list[Any], files: list[FileMount]
    ) -> None:
        if isinstance(entry, str):
            name, target = entry, None
        elif isinstance(entry, Mapping) and entry.get("source"):
            name, target = str(entry["source"]), entry.get("target")
        else:
            self.r.note(where, f"needs a source (got {entry!r}): left out")
            return
        if target is None:
            target = f"/run/secrets/{name}" if kind == "secrets" else f"/{name}"
        elif not str(target).startswith("/"):
            target = f"/run/secrets/{target}" if kind == "secrets" else f"/{target}"
        spec = (self.c.get(kind) or {}).get(name)
        single = kind[:-1]
        if spec is None:
            self.r.note(where, f"{single} {name!r} is not declared under the top-level {kind}")
            spec = {}
        size, known = self._object_size(spec)
        host = spec.get("file") if isinstance(spec.get("file"), str) else None
        if not known:
            self.r.note(
                ["secrets" if kind == "secrets" else "configs", name],
                f"its size is unknown (external or not found): {UNKNOWN_FILE_SIZE} bytes "
                "(TODO in the scenario)",
            )
        source = _bind_key(host) if host is not None else None  # compose binds the file
        files.append(
            FileMount(_norm(str(target)), size, known, True, f"{single} {name}", where, source)
        )

    def _object_size(self, spec: Mapping[str, Any]) -> tuple[int, bool]:
        if isinstance(spec.get("content"), str):
            return len(spec["content"].encode()), True
        if isinstance(spec.get("environment"), str):
            value = self.r.environ.get(spec["environment"])
            if value is not None:
                return len(value.encode()), True
            return UNKNOWN_FILE_SIZE, False
        if isinstance(spec.get("file"), str):
            path = self._host_path(spec["file"])
            if path is not None and path.is_file():
                return path.stat().st_size, True
        return UNKNOWN_FILE_SIZE, False

    def _file_groups(
        self, sname: str, files: list[FileMount], mounts: list[dict[str, Any]]
    ) -> None:
        group_file_mounts(
            sname,
            files,
            mounts,
            sources=self.out["sources"],
            comments=self.comments,
            origins=self.origins,
            note=self.r.note,
        )

    # --- volumes_from ----------------------------------------------------------------

    def _volumes_from(self, sname: str, entries: Any) -> None:
        mine = self.out["services"][sname].setdefault("volumes", [])
        for i, entry in enumerate(entries if isinstance(entries, list) else [entries]):
            where: list[Any] = ["services", sname, "volumes_from", i]
            other, _, mode = str(entry).partition(":")
            if other == "container":
                self.r.note(where, "a container outside the file: not followed")
                continue
            if other not in self.out["services"]:
                self.r.note(where, f"names no service (got {other!r}): not followed")
                continue
            targets = {m["target"] for m in mine}
            for m in self.out["services"][other].get("volumes", []):
                if m["target"] in targets:
                    continue
                if m["type"] == "volume" and "source" not in m:
                    self.r.note(
                        where,
                        f"{other}'s anonymous volume at {m['target']}: sharing it needs a "
                        "name in storsim's format (left out; name it in the compose file)",
                    )
                    continue
                if m["type"] == "tmpfs":
                    continue
                copied = dict(m)
                if mode == "ro":
                    copied["read_only"] = True
                mine.append(copied)
        if not mine:
            del self.out["services"][sname]["volumes"]

    # --- x-storsim ----------------------------------------------------------------------

    def _extensions(self) -> None:
        ext = self.c.get("x-storsim")
        if ext is None:
            return
        if not isinstance(ext, Mapping):
            self.r.note(["x-storsim"], "must be a mapping (ignored)")
            return
        for key, value in ext.items():
            if key not in _SCENARIO_KEYS:
                self.r.note(
                    ["x-storsim", key],
                    f"not a scenario key storsim takes from x-storsim "
                    f"({', '.join(_SCENARIO_KEYS)}): ignored",
                )
                continue
            if isinstance(value, Mapping) and isinstance(self.out.get(key), dict):
                for sub, item in value.items():
                    self.out[key][sub] = copy.deepcopy(item)
                    for path in [p for p in self.comments if p[:2] == (key, sub)]:
                        del self.comments[path]
            else:
                self.out[key] = copy.deepcopy(value)


def group_file_mounts(
    sname: str,
    files: list[FileMount],
    mounts: list[dict[str, Any]],
    *,
    sources: dict[str, Any],
    comments: dict[DataPath, str],
    origins: dict[tuple[str, str], str],
    note: Callable[[list[Any], str], None],
) -> None:
    """Files mounted one by one (file binds, secrets, configs) -> single-file bind mounts,
    appended to ``mounts``: each target shows its file and nothing else of the image is
    hidden (:mod:`storsim.scenario.binds`).

    Each source is its host file (``./nginx/default.conf``, a secret's ``file:``), or
    ``./.storsim/SERVICE/TARGET`` for a file Docker writes itself (a secret from
    ``environment``); ``sources`` gets ``{file: SIZE}`` for it, unless a directory
    source already there holds it. A target mounted twice is noted and left out.
    """
    targets = {m["target"] for m in mounts}
    for f in files:
        if f.target in targets:
            note(f.where, f"{f.origin} at {f.target}: the path is mounted already (left out)")
            continue
        targets.add(f.target)
        key = f.source or f"./.storsim/{sname}{f.target}"
        if not any(key.startswith(k.rstrip("/") + "/") for k in sources):
            sources.setdefault(key, {"file": format_size(f.size)})
            comments[("sources", key)] = (
                f.origin if f.known else f"{f.origin} (TODO: its size is unknown)"
            )
        mounts.append(_ro({"type": "bind", "source": key, "target": f.target}, f.read_only))
        origins[(sname, f.target)] = f.origin


def looks_like_file(source: str, target: str) -> bool:
    """Whether a bind whose source is not on this machine mounts a file: its name has an
    extension (``nginx.conf``; not ``conf.d``), or it is a compose secret."""
    suffix = PurePosixPath(source).suffix
    return (bool(suffix) and suffix != ".d") or target.startswith("/run/secrets/")


def _ro(mount: dict[str, Any], read_only: bool) -> dict[str, Any]:
    """A mount's data, with ``read_only: true`` only when it is (false is the default)."""
    if read_only:
        mount["read_only"] = True
    return mount


def add_mount_points(data: dict[str, Any], images: set[str]) -> None:
    """Give the top layer of each image in ``images`` the directories its services mount
    over: real images ship them (postgres has /var/lib/postgresql/data), and a
    placement of the path on the writable layer needs the directory to write in."""
    sources = data.get("sources", {})
    for svc in data.get("services", {}).values():
        if svc.get("image") not in images:
            continue
        layer = data["images"][svc["image"]]["layers"][-1]
        dirs = layer.setdefault("dirs", [])
        for mount in svc.get("volumes", []):
            target = mount["target"]
            if _is_file_bind(mount, sources):  # its directory: Docker makes the file
                target = str(PurePosixPath(target).parent)
            if target != "/" and target not in dirs:
                dirs.append(target)
    for name in images:
        layers = data.get("images", {}).get(name, {}).get("layers", [])
        if layers and "dirs" in layers[-1]:
            layers[-1]["dirs"] = sorted(layers[-1]["dirs"])


def _is_file_bind(mount: Mapping[str, Any], sources: Mapping[str, Any]) -> bool:
    """Whether an imported mount is a single-file bind: its source is a ``{file: SIZE}``
    entry, or a file of a directory source (only file binds are made so)."""
    source = mount.get("source")
    if mount.get("type") != "bind" or not isinstance(source, str):
        return False
    if source in sources:
        return "file" in (sources[source] or {})
    return any(source.startswith(k.rstrip("/") + "/") for k in sources)


def _norm(path: str) -> str:
    normal = os.path.normpath(path)
    return "/" if normal == "//" else normal


def _bind_key(source: str) -> str:
    """A bind source as the scenario names it: relative paths start with ``./``."""
    if source.startswith(("/", "~")) or re.match(r"^[A-Za-z]:[\\/]", source):
        return source.rstrip("/") or "/"
    normal = os.path.normpath(source)
    return normal if normal.startswith("..") else "./" + normal.removeprefix("./")


_FROM = re.compile(r"^FROM\s+(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?", re.IGNORECASE)
_VOLUME = re.compile(r"^VOLUME\s+(.*)$", re.IGNORECASE)


def _dockerfile_volume_paths(text: str, target: Any) -> tuple[list[str], list[str]]:
    """The ``VOLUME`` paths of a Dockerfile's final stage (or the stage named ``target``).

    Returns:
        ``(paths, unresolved)``: absolute paths, and the entries with variables.
    """
    logical: list[str] = []
    buffer = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not buffer and line.startswith("#"):
            continue
        if line.endswith("\\"):
            buffer += line[:-1] + " "
            continue
        logical.append((buffer + line).strip())
        buffer = ""
    if buffer:
        logical.append(buffer.strip())
    stages: list[tuple[str | None, list[str]]] = []
    for line in logical:
        match = _FROM.match(line)
        if match:
            stages.append((match.group(2), []))
        elif stages:
            stages[-1][1].append(line)
    if not stages:
        return [], []
    chosen = stages[-1]
    if isinstance(target, str):
        named = [s for s in stages if s[0] is not None and s[0].lower() == target.lower()]
        if named:
            chosen = named[0]
    found: list[str] = []
    unresolved: list[str] = []
    for line in chosen[1]:
        match = _VOLUME.match(line)
        if not match:
            continue
        arg = match.group(1).strip()
        try:
            paths = json.loads(arg) if arg.startswith("[") else arg.split()
        except json.JSONDecodeError:
            paths = arg.strip("[]").replace(",", " ").replace('"', " ").split()
        for p in paths:
            p = str(p)
            if "$" in p:
                unresolved.append(p)
            elif p.startswith("/") and _norm(p) not in found:
                found.append(_norm(p))
    return found, unresolved
