"""``docker inspect`` and ``docker history`` output -> the matching parts of a scenario.

A compose file is the plan; ``docker inspect`` is the survey of the house as built:
the mounts Docker actually made, the image's layers as they are. Like a surveyor's
report, it settles what the plan leaves open. Given as JSON files, storsim reads:

- ``docker inspect CONTAINER...`` (or ``docker container inspect``): each container's
  ``Mounts`` (bind, volume, tmpfs; ``RW`` false = read-only), ``HostConfig.Tmpfs``
  (``--tmpfs``), ``HostConfig.ReadonlyRootfs`` (the service's ``read_only``) and its
  image; containers of one compose service (label ``com.docker.compose.service``) are
  its replicas;
- ``docker volume inspect VOLUME...``: a ``local`` volume's ``Options`` (NFS or CIFS
  ``type``/``o``/``device``: a server under ``host.remotes``, as in compose files);
- ``docker image inspect IMAGE``: the layer count (``RootFS.Layers``), total ``Size``
  and ``Config.Volumes`` (the image's ``VOLUME`` paths);
- ``docker history --no-trunc --format json IMAGE`` (JSON lines, the ``{{json .}}``
  format, human sizes such as ``74.8MB`` or bytes with ``--human=false``) or the
  Engine API's history (a JSON array with byte sizes): each layer's size, base first.

``docker history`` gives a layer's bytes, not its files: each layer becomes
``generate`` files of :data:`FILE_SIZE` bytes (at most :data:`MAX_FILES` per layer)
in the directory its instruction copied to (``COPY . /app``: ``/app``), else in
``/layer-NN``; the file count is marked TODO.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import Any

from storsim import units
from storsim.errors import ScenarioError
from storsim.interop.common import Imported, Note, format_size
from storsim.interop.compose import (
    UNKNOWN_FILE_SIZE,
    FileMount,
    add_mount_points,
    group_file_mounts,
    looks_like_file,
    ram_in_bytes,
)
from storsim.interop.remotes import network_volume, remote_key

__all__ = [
    "FILE_SIZE",
    "MAX_FILES",
    "InspectFile",
    "inspect_to_scenario",
    "merge_into",
    "project_of",
    "read_inspect",
]

#: Bytes per generated file of a layer known only by its size (a placeholder).
FILE_SIZE = 32 * 2**10
#: Most generated files per layer.
MAX_FILES = 2000

_ANONYMOUS = re.compile(r"^[0-9a-f]{64}$")
_LAYER_INSTRUCTIONS = ("RUN", "COPY", "ADD")


class InspectFile:
    """One JSON file of Docker output, classified.

    Attributes:
        path: the file.
        kind: ``"container"``, ``"volume"``, ``"image"`` or ``"history"``.
        items: its objects (one per container, volume or image; one per history entry).
    """

    def __init__(self, path: str, kind: str, items: list[dict[str, Any]]) -> None:
        self.path = path
        self.kind = kind
        self.items = items


def read_inspect(path: str | os.PathLike[str], text: str | None = None) -> InspectFile:
    """Read and classify a JSON file of ``docker inspect`` / ``history`` output.

    Raises:
        ScenarioError: the file is not JSON (or JSON lines), or not Docker output.
    """
    file = os.fspath(path)
    if text is None:
        try:
            text = Path(file).read_text(encoding="utf-8")
        except OSError as exc:
            raise ScenarioError(f"cannot read: {exc.strerror}", file=file) from None
    try:
        parsed: Any = json.loads(text)
    except json.JSONDecodeError:
        parsed = []
        for n, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                parsed.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise ScenarioError(
                    f"not JSON (nor JSON lines): {exc.msg}", file=file, line=n
                ) from None
    items = parsed if isinstance(parsed, list) else [parsed]
    if not items or not all(isinstance(i, dict) for i in items):
        raise ScenarioError("expected docker inspect or history JSON objects", file=file, line=1)
    first = items[0]
    if "Mounts" in first and ("HostConfig" in first or "Config" in first):
        kind = "container"
    elif "RootFS" in first:
        kind = "image"
    elif "Mountpoint" in first and "Driver" in first:
        kind = "volume"
    elif "CreatedBy" in first and "Size" in first:
        kind = "history"
    else:
        raise ScenarioError(
            "not the output of docker inspect (container, volume, image) or docker history "
            f"(keys: {', '.join(sorted(first)[:8])})",
            file=file,
            line=1,
        )
    return InspectFile(file, kind, items)


def project_of(files: Sequence[InspectFile]) -> str | None:
    """The compose project the containers belong to (label ``com.docker.compose.project``)."""
    for f in files:
        for item in f.items if f.kind == "container" else []:
            labels = (item.get("Config") or {}).get("Labels") or {}
            if labels.get("com.docker.compose.project"):
                return str(labels["com.docker.compose.project"])
    return None


def inspect_to_scenario(
    files: Sequence[InspectFile],
) -> tuple[Imported, dict[str, list[str]], dict[tuple[str, str], str]]:
    """The scenario parts that Docker's JSON output describes.

    Args:
        files: classified files (:func:`read_inspect`).

    Returns:
        ``(imported, aliases, origins)``: images, volumes, host remotes and services
        (with their mounts, no workloads); for each image key the names it is known by
        (``RepoTags``, for matching a compose file's ``image:``); and what the mounts
        made of single files are (``(service, target) -> "file ..."``).
    """
    imported = Imported({"images": {}, "volumes": {}, "sources": {}, "services": {}})
    data = imported.data
    aliases: dict[str, list[str]] = {}
    volumes = {str(v.get("Name")): (f, v) for f in files if f.kind == "volume" for v in f.items}
    images = [(f, i) for f in files if f.kind == "image" for i in f.items]
    histories = [f for f in files if f.kind == "history"]
    by_id: dict[str, str] = {}
    image_volumes: dict[str, set[str]] = {}
    for f, item in images:
        tags = [str(t) for t in item.get("RepoTags") or []]
        name = tags[0] if tags else _short_id(str(item.get("Id", "image")))
        aliases[name] = tags or [name]
        by_id[str(item.get("Id", ""))] = name
        image_volumes[name] = set((item.get("Config") or {}).get("Volumes") or {})
        history = _history_for(item, histories, len(images))
        data["images"][name] = _image(name, item, history, imported, f.path)
    for hist in histories:
        if not any(hist is _history_for(i, histories, len(images)) for _, i in images):
            # the Engine API's history names the image in its top entry's Tags
            tags = [str(t) for t in hist.items[0].get("Tags") or []]
            name = tags[0] if tags else f"image-{len(data['images']) + 1}"
            data["images"][name] = _image(name, None, hist, imported, hist.path)
            aliases[name] = tags or [name]
            if not tags:
                imported.notes.append(
                    Note(
                        "history",
                        f"no docker image inspect matches it (give one to name the image): "
                        f"imported as image {name!r}",
                        hist.path,
                    )
                )
    origins: dict[tuple[str, str], str] = {}
    groups: dict[str, list[tuple[InspectFile, dict[str, Any]]]] = {}
    for f in files:
        if f.kind != "container":
            continue
        for item in f.items:
            labels = (item.get("Config") or {}).get("Labels") or {}
            sname = labels.get("com.docker.compose.service") or str(
                item.get("Name", "container")
            ).lstrip("/")
            groups.setdefault(sname, []).append((f, item))
    stubs: set[str] = set()
    for sname, members in groups.items():
        f, item = members[0]
        svc = _service(sname, item, data, volumes, by_id, image_volumes, imported, f.path)
        if svc["image"] not in data["images"]:
            data["images"][svc["image"]] = {"layers": [{"name": f"{svc['image']} (stub)"}]}
            imported.comments[("images", svc["image"], "layers")] = (
                "TODO: the image's files (give storsim init its docker image inspect and "
                "docker history JSON)"
            )
            aliases[svc["image"]] = [svc["image"]]
            stubs.add(svc["image"])
        if len(members) > 1:
            svc["deploy"] = {"replicas": len(members)}
        files_ = svc.pop("_files")

        def note(where: list[Any], message: str, path: str = f.path) -> None:
            imported.notes.append(Note(".".join(str(w) for w in where), message, path))

        group_file_mounts(
            sname,
            files_,
            svc["volumes"],
            sources=data["sources"],
            comments=imported.comments,
            origins=origins,
            note=note,
        )
        if not svc["volumes"]:
            del svc["volumes"]
        data["services"][sname] = svc
    add_mount_points(data, set(data["images"]))
    for key in ("images", "volumes", "sources", "services"):
        if not data[key]:
            del data[key]
    return imported, aliases, origins


def _short_id(image_id: str) -> str:
    return image_id.removeprefix("sha256:")[:12] or "image"


def _history_for(
    image: Mapping[str, Any], histories: list[InspectFile], n_images: int
) -> InspectFile | None:
    """The history of ``image``: the one whose top entry has the image's ID, or the only
    one when only one image is given."""
    wanted = str(image.get("Id", "")).removeprefix("sha256:")
    for hist in histories:
        top = hist.items[0]
        got = str(top.get("ID", top.get("Id", ""))).removeprefix("sha256:")
        if got and got != "<missing>" and wanted.startswith(got):
            return hist
    if n_images == 1 and len(histories) == 1:
        return histories[0]
    return None


def _size(value: Any) -> int:
    """A history entry's size: bytes (API, ``--human=false``) or ``74.8MB`` (go-units
    HumanSize: decimal units, 3 significant digits)."""
    if isinstance(value, int | float):
        return int(value)
    text = str(value).strip()
    if text.isdigit():
        return int(text)
    try:
        return units.parse_size(text)
    except ValueError:
        return 0


def _is_layer(created_by: str, size: int) -> bool:
    """Whether a history entry made a layer: any that has bytes, and RUN, COPY and ADD
    (metadata instructions such as ENV, CMD, LABEL make none)."""
    if size > 0:
        return True
    text = created_by.strip()
    if "#(nop)" in text:  # classic builder: "/bin/sh -c #(nop)  ENV ..." or "#(nop) COPY ..."
        after = text.split("#(nop)", 1)[1].strip()
        return after.upper().startswith(("COPY", "ADD"))
    if text.startswith("/bin/sh -c") or text.startswith("|"):  # classic RUN
        return True
    return text.upper().startswith(_LAYER_INSTRUCTIONS)


_COPY = re.compile(r"^(?:COPY|ADD)\b(.*)$", re.IGNORECASE)


def _instruction(created_by: str) -> str:
    """A history entry's Dockerfile instruction, without the builders' decorations."""
    text = created_by.strip()
    if "#(nop)" in text:  # classic builder: "/bin/sh -c #(nop)  WORKDIR /app"
        text = text.split("#(nop)", 1)[1].strip()
    return text.removesuffix("# buildkit").strip()


_WORKDIR = re.compile(r"^WORKDIR\s+(\S+)", re.IGNORECASE)


def _layer_dir(created_by: str, index: int, workdir: str) -> str:
    """Where a layer's files are: a COPY or ADD destination (relative to the WORKDIR
    before it), else ``/layer-NN``."""
    match = _COPY.match(_instruction(created_by))
    if match:
        rest = match.group(1).strip()
        words = rest.split()
        dest = rest.rsplit(" in ", 1)[1].strip() if " in " in rest else (words[-1] if words else "")
        if dest and not dest.startswith("/"):
            dest = str(PurePosixPath(workdir) / dest)
        if dest.startswith("/"):
            path = PurePosixPath(os.path.normpath(dest))
            is_file = path.suffix not in ("", ".d") and not dest.endswith("/")
            folder = str(path.parent) if is_file else str(path)
            return folder if folder != "." else "/"
    return f"/layer-{index:02d}"


def _image(
    name: str,
    item: Mapping[str, Any] | None,
    history: InspectFile | None,
    imported: Imported,
    file: str,
) -> dict[str, Any]:
    entries: list[tuple[str, int, str]] = []  # (instruction, bytes, WORKDIR before it)
    workdir = "/"
    if history is not None:
        for h in reversed(history.items):  # docker history lists the newest first
            created = str(h.get("CreatedBy", ""))
            size = _size(h.get("Size", 0))
            if _is_layer(created, size):
                entries.append((created, size, workdir))
            match = _WORKDIR.match(_instruction(created))
            if match:
                workdir = str(PurePosixPath(workdir) / match.group(1))
    count = len(((item or {}).get("RootFS") or {}).get("Layers") or []) if item else None
    if count is not None and history is None:
        total = int((item or {}).get("Size") or 0)
        entries = [(f"layer {i + 1} of {count}", 0, "/") for i in range(count)]
        if count and total:
            # only the total is known: all of it in the base layer
            entries[0] = (entries[0][0], total, "/")
        imported.notes.append(
            Note(
                f"images.{name}",
                f"{count} layers, {total} bytes in all: without docker history the sizes of "
                "each layer are unknown (all in the base layer)",
                file,
            )
        )
    elif count is not None and count != len(entries):
        fix = "empty layers added on top" if count > len(entries) else "empty ones dropped"
        imported.notes.append(
            Note(
                f"images.{name}",
                f"docker history shows {len(entries)} layers, RootFS {count}: {fix}",
                file,
            )
        )
        while len(entries) < count:
            entries.append(("(empty layer)", 0, "/"))
        while len(entries) > count and any(e[1] == 0 for e in entries):
            last_empty = max(i for i, e in enumerate(entries) if e[1] == 0)
            del entries[last_empty]
    layers = []
    for i, (created, size, cwd) in enumerate(entries):
        layer: dict[str, Any] = {"name": _label(created)}
        if size > 0:
            folder = _layer_dir(created, i, cwd)
            n = max(1, min(MAX_FILES, math.ceil(size / FILE_SIZE)))
            each, rest = divmod(size, n)
            layer["generate"] = [{"dir": folder, "count": n, "size": format_size(each)}]
            if rest:
                layer["files"] = {f"{folder.rstrip('/')}/rest-{i:02d}": format_size(rest)}
            shown = format_size(size)
            imported.comments[("images", name, "layers", i, "generate")] = (
                f"TODO: {shown}{' bytes' if isinstance(shown, int) else ''} in {n} "
                f"file{'s' if n != 1 else ''}: docker history gives bytes, not files"
            )
        layers.append(layer)
    if not layers:
        layers = [{"name": f"{name} (no layers given)"}]
    spec: dict[str, Any] = {"layers": layers}
    volumes = sorted(((item or {}).get("Config") or {}).get("Volumes") or {})
    if volumes:
        spec["volumes"] = volumes
    return spec


def _label(created_by: str) -> str:
    text = " ".join(created_by.replace("/bin/sh -c #(nop) ", "").split())
    return text if len(text) <= 60 else text[:57] + "..."


def _service(
    sname: str,
    item: Mapping[str, Any],
    data: dict[str, Any],
    volumes: Mapping[str, tuple[InspectFile, dict[str, Any]]],
    by_id: Mapping[str, str],
    image_volumes: Mapping[str, set[str]],
    imported: Imported,
    file: str,
) -> dict[str, Any]:
    config = item.get("Config") or {}
    host = item.get("HostConfig") or {}
    image = by_id.get(str(item.get("Image", ""))) or str(config.get("Image") or "image")
    svc: dict[str, Any] = {"image": image, "volumes": []}
    files: list[FileMount] = []
    for i, m in enumerate(item.get("Mounts") or []):
        where = ["services", sname, "Mounts", i]
        kind = m.get("Type")
        target = str(m.get("Destination", ""))
        read_only = not m.get("RW", True)
        if not target.startswith("/"):
            continue
        if kind == "tmpfs":
            svc["volumes"].append({"type": "tmpfs", "target": target})
        elif kind == "volume":
            name = str(m.get("Name", ""))
            if _ANONYMOUS.match(name):
                if target in image_volumes.get(image, set()):
                    continue  # the image's VOLUME: storsim makes a new one at every run
                mount: dict[str, Any] = {"type": "volume", "target": target}
            elif name in volumes and network_volume(volumes[name][1].get("Options") or {}):
                net = network_volume(volumes[name][1].get("Options") or {})
                assert net is not None
                key = remote_key(net.host)
                data.setdefault("host", {}).setdefault("remotes", {})[key] = net.remote
                for message in net.notes:
                    imported.notes.append(Note(f"volumes.{name}.Options.o", message, file))
                mount = {"type": "bind", "source": f"{key}:{net.export}", "target": target}
                read_only = read_only or net.read_only
            else:
                if m.get("Driver", "local") != "local":
                    imported.notes.append(
                        Note(
                            ".".join(map(str, where)),
                            f"volume driver {m.get('Driver')!r} is not modelled: kept as a "
                            "local volume",
                            file,
                        )
                    )
                data["volumes"][name] = {}
                mount = {"type": "volume", "source": name, "target": target}
            if read_only:
                mount["read_only"] = True
            svc["volumes"].append(mount)
        elif kind == "bind":
            source = str(m.get("Source", ""))
            path = Path(source)
            if path.is_file() or (not path.is_dir() and looks_like_file(source, target)):
                known = path.is_file()
                size = path.stat().st_size if known else UNKNOWN_FILE_SIZE
                origin = f"file {source}"
                files.append(FileMount(target, size, known, read_only, origin, where, source))
                continue
            mount = {"type": "bind", "source": source, "target": target}
            if read_only:
                mount["read_only"] = True
            svc["volumes"].append(mount)
        else:
            imported.notes.append(
                Note(".".join(map(str, where)), f"type {kind}: not modelled (left out)", file)
            )
    for target, opts in (host.get("Tmpfs") or {}).items():
        mount = {"type": "tmpfs", "target": str(target)}
        for opt in str(opts).split(","):
            limit = ram_in_bytes(opt[5:]) if opt.startswith("size=") else None
            if limit:
                mount["tmpfs"] = {"size": format_size(limit)}
        svc["volumes"].append(mount)
    if host.get("ReadonlyRootfs"):
        svc["read_only"] = True  # docker run --read-only
    svc["_files"] = files
    return svc


def merge_into(base: Imported, parts: Imported, aliases: Mapping[str, Sequence[str]]) -> Imported:
    """Put what ``docker inspect`` describes into an imported compose file.

    Images replace the compose file's stubs of the same name (``RepoTags``; ``postgres``
    matches ``postgres:latest``); volumes and remotes are added; containers of services
    the compose file has are left to the compose file (noted), others become services.

    Returns:
        ``base``, changed.
    """
    data = base.data
    images = data.setdefault("images", {})
    renames: dict[str, str] = {}
    for key, spec in parts.data.get("images", {}).items():
        names = {_tagged(n) for n in aliases.get(key, [key])}
        target = next((name for name in images if _tagged(name) in names), None)
        if target is None:
            images[key] = spec
            renames[key] = key
            continue
        renames[key] = target
        images[target] = {**spec, "volumes": spec.get("volumes", images[target].get("volumes", []))}
        if not images[target]["volumes"]:
            del images[target]["volumes"]
        for path in [p for p in base.comments if p[:2] == ("images", target)]:
            del base.comments[path]
        for path, text in parts.comments.items():
            if path[:2] == ("images", key):
                base.comments[("images", target, *path[2:])] = text
    add_mount_points(data, set(renames.values()))
    for key in ("volumes", "sources"):
        if parts.data.get(key):
            data.setdefault(key, {}).update(parts.data[key])
    remotes = parts.data.get("host", {}).get("remotes")
    if remotes:
        data.setdefault("host", {}).setdefault("remotes", {}).update(remotes)
    services = data.setdefault("services", {})
    for sname, svc in parts.data.get("services", {}).items():
        if sname in services:
            base.notes.append(
                Note(
                    f"services.{sname}",
                    "described by the compose file too: the compose file's mounts are kept "
                    "(docker inspect of it ignored)",
                )
            )
            continue
        svc["image"] = renames.get(svc["image"], svc["image"])
        services[sname] = svc
    base.notes.extend(parts.notes)
    for path, text in parts.comments.items():
        if path[0] != "images":
            base.comments.setdefault(path, text)
    return base


def _tagged(name: str) -> str:
    """``postgres`` -> ``postgres:latest``; ``docker.io/library/postgres:16`` ->
    ``postgres:16`` (how Docker names an image without a tag or registry)."""
    name = name.removeprefix("docker.io/").removeprefix("library/")
    last = name.rsplit("/", 1)[-1]
    return name if ":" in last or "@" in last else name + ":latest"
