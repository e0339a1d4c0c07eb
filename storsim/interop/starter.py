"""Starter workloads and placements for an imported scenario: the numbers to fill in.

A compose file says where each path of an application lives but not what the
application does there, the way a floor plan shows the kitchen but not the cooking. So
that an imported scenario runs at once (rather than running no operation and saying
nothing), each mounted path gets a starter workload of the kind its mount suggests,
and the scenario a ``compare:`` section that asks where that path should live; every
number in them is a guess marked ``TODO`` for the user to replace:

- a writable mount: one 4 KiB append and an fsync per iteration, 10 per second, to a
  file per replica (a log or journal: what most applications write to a volume);
- a read-only mount (a config directory, secrets): its files read at start-up, or, for
  mounts whose content is not known, 4 KiB reads of a placeholder file 10 times a second;
- the first writable mount (else the first read-only one) is the ``compare:`` path,
  over the storage choices that make sense for it; the other mounted paths are listed
  under ``x-storsim-compare`` (the scenario format has one ``compare:`` section).

Defaults that the importer cannot know (the scenario's duration, the host's disk) are
marked the same way.
"""

from __future__ import annotations

from typing import Any

from storsim.interop.common import DataPath, Imported, Note

__all__ = ["STARTER_RATE", "STARTER_SIZE", "finish"]

#: Iterations per second of a starter workload (a placeholder: TODO in the output).
STARTER_RATE = "10/s"
#: Bytes per operation of a starter workload (a placeholder: TODO in the output).
STARTER_SIZE = "4 KiB"
#: What a read-only mount whose content is unknown holds in an imported scenario.
PLACEHOLDER_FILE = "/storsim-placeholder.dat"
PLACEHOLDER_SIZE = "1 MiB"

_WRITABLE_CHOICES = ["volume", "local_bind", "writable_layer", "tmpfs"]
_READ_CHOICES = ["image_layer", "local_bind", "volume"]


def finish(imported: Imported, *, name: str, origins: dict[tuple[str, str], str]) -> Imported:
    """Complete imported scenario data in place: name, duration, disk, starters, compare.

    Args:
        imported: scenario data with images, volumes, sources and services (each with
            its mounts in long syntax); services that already have a ``workload`` keep it.
        name: the scenario's name when the data has none.
        origins: ``(service, mount target) -> what it is`` (``"secret db-password"``...),
            for the names of the starter workloads; files mounted from secrets and
            configs are read once at start-up.

    Returns:
        ``imported`` itself.
    """
    data, comments = imported.data, imported.comments
    data.setdefault("name", name)
    if "duration" not in data:
        data["duration"] = "60 s"
        comments[("duration",)] = "TODO: how long to simulate"
    host = data.setdefault("host", {})
    if "disk" not in host:
        data["host"] = {"disk": "ssd", **host}
        comments[("host", "disk")] = "TODO: the host's disk: nvme | ssd | hdd"
    candidates: list[dict[str, Any]] = []
    for sname, svc in data["services"].items():
        mounts = list(svc.get("volumes", []))
        if "workload" in svc:
            candidates.extend(
                _candidate(data, sname, m) for m in mounts if not _is_file(_content(data, m))
            )
            continue
        if not mounts:
            imported.notes.append(
                Note(
                    f"services.{sname}",
                    "has no mounts: no starter workload (add one if it writes to its "
                    "writable layer)",
                )
            )
            continue
        workloads: list[dict[str, Any]] = []
        for mount in mounts:
            origin = origins.get((sname, mount["target"]))
            workloads.append(_starter(data, comments, sname, mount, origin))
            if not _is_file(_content(data, mount)):  # compare places directories
                candidates.append(_candidate(data, sname, mount))
        svc["workload"] = workloads
        for i, w in enumerate(workloads):
            base: DataPath = ("services", sname, "workload", i)
            if "rate" in w:
                comments[(*base, "rate")] = "TODO: how often your application does this"
            comments[(*base, "ops")] = "TODO: what it does: operations and sizes"
    compare = data.get("compare")
    if isinstance(compare, dict) and "content" not in compare:
        _fill_compare_content(data, compare, comments)
    if candidates and "compare" not in data:
        candidates.sort(key=lambda c: 0 if "writable_layer" in c["choices"] else 1)
        data["compare"] = candidates[0]
        comments[("compare", "path")] = "TODO: the path whose placement you want to decide"
        if len(candidates) > 1:
            data["x-storsim-compare"] = candidates[1:]
            comments[("x-storsim-compare",)] = "other mounted paths: copy one into compare:"
    _order_top_level(data)
    return imported


def _order_top_level(data: dict[str, Any]) -> None:
    """The scenario's keys in the order the shipped scenarios use."""
    order = ["name", "description", "seed", "duration", "host", "images", "volumes"]
    order += ["sources", "services", "compare"]
    keys = [k for k in order if k in data] + [k for k in data if k not in order]
    items = [(k, data.pop(k)) for k in keys]
    data.update(items)


def _source_key(mount: dict[str, Any]) -> str | None:
    return mount.get("source") if mount["type"] in ("bind", "volume") else None


def _content(data: dict[str, Any], mount: dict[str, Any]) -> dict[str, Any] | None:
    key = _source_key(mount)
    return data.get("sources", {}).get(key) if key else None


def _is_file(content: dict[str, Any] | None) -> bool:
    """Whether a mount's source is one file (a single-file bind: a secret, a config)."""
    return bool(content and "file" in content)


def _has_files(content: dict[str, Any] | None) -> bool:
    return bool(content and (content.get("files") or content.get("generate")))


def _starter(
    data: dict[str, Any],
    comments: dict[DataPath, str],
    sname: str,
    mount: dict[str, Any],
    origin: str | None,
) -> dict[str, Any]:
    target = mount["target"].rstrip("/")
    content = _content(data, mount)
    if _is_file(content):  # a config or secret file: read once at start-up
        return {
            "name": f"starter: read {origin or target} at start-up",
            "path": target,
            "threads": 1,
            "count": 1,
            "ops": [{"op": "read", "size": STARTER_SIZE, "offset": "start"}],
        }
    if not mount.get("read_only"):
        return {
            "name": f"starter: write to {target}",
            "path": f"{target}/storsim-starter-{{replica}}.log",
            "rate": STARTER_RATE,
            "ops": [{"op": "append", "size": STARTER_SIZE}, {"op": "fsync"}],
        }
    if origin is not None and origin.startswith(("secret", "config", "file")) and content:
        count = len(content.get("files", {}))
        return {
            "name": f"starter: read {origin} at start-up",
            "path": f"{target}/*",
            "pick": "sequential",
            "threads": 1,
            "count": count,
            "ops": [{"op": "read", "size": STARTER_SIZE, "offset": "start"}],
        }
    key = _source_key(mount)
    if not _has_files(content) and key is not None:
        placeholder = data.setdefault("sources", {}).setdefault(key, {})
        placeholder.setdefault("files", {})[PLACEHOLDER_FILE] = PLACEHOLDER_SIZE
        comments[("sources", key)] = "TODO: what this holds at the start (files and sizes)"
    return {
        "name": f"starter: read {target}",
        "path": f"{target}/*",
        "rate": STARTER_RATE,
        "ops": [{"op": "read", "size": STARTER_SIZE}],
    }


def _candidate(data: dict[str, Any], sname: str, mount: dict[str, Any]) -> dict[str, Any]:
    remotes = bool(data.get("host", {}).get("remotes"))
    writable = not mount.get("read_only")
    choices = list(_WRITABLE_CHOICES if writable else _READ_CHOICES)
    if remotes:
        choices.append("distributed_bind")
    if data["services"][sname].get("read_only") and "writable_layer" in choices:
        # a read-only root refuses every write (EROFS): not a place to weigh
        choices.remove("writable_layer")
    out: dict[str, Any] = {"path": mount["target"], "service": sname, "choices": choices}
    content = _content(data, mount)
    if _has_files(content):
        # every placement starts with the files the mount has, so that reads find them
        assert content is not None
        out["content"] = content
    return out


def _fill_compare_content(
    data: dict[str, Any], compare: dict[str, Any], comments: dict[DataPath, str]
) -> None:
    """A ``compare:`` of a mounted path starts each placement with what the mount holds
    (by default a placement starts with the image's files there, which a volume's or a
    bind's content hides in the scenario's own run)."""
    names = [compare["service"]] if compare.get("service") else list(data["services"])
    for sname in names:
        for mount in data["services"].get(sname, {}).get("volumes", []):
            if mount["target"] == compare.get("path"):
                content = _content(data, mount)
                if _has_files(content):
                    compare["content"] = content
                    comments[("compare", "content")] = "what the mount holds (storsim init)"
                    return
