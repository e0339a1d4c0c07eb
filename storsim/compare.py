"""Placements: the same scenario run again with one path on each storage choice.

Like trying a sofa in every room of a house before buying it: the scenario's
``compare:`` section names a path and the storage choices to try; each placement is a
real variant of the scenario (its mounts, volumes, bind sources, image layers or the
services' ``prefill`` changed, then validated again like any scenario), run with the
same seed, and summarised by the operations on that path, whatever served them.

- ``image_layer``: the path stays in the image (the compared content, if given, as one
  more layer);
- ``writable_layer``: the path's content is written into each new container's writable
  layer at ``docker run`` (``prefill``), so that it never copies up;
- ``volume``: a new named volume at the path, holding the content (``sources``);
- ``local_bind`` / ``distributed_bind``: a host directory or a remote export at the
  path, holding the content (``sources``; the image's files at the path by default);
- ``tmpfs``: a tmpfs at the path, filled at ``docker run`` (``prefill``).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
import pandas as pd

from storsim.fs import OverlayFS
from storsim.run.world import build_stack
from storsim.scenario import Scenario
from storsim.stats import GroupStats, StreamingSummary, summarize_ops

__all__ = ["placement_row", "placement_variant", "placements"]


def placements(scenario: Scenario) -> Iterator[tuple[str, Scenario]]:
    """Each placement of the scenario's ``compare:`` section: ``(label, variant)``.

    The label is the storage choice, or ``"distributed_bind:SERVER"`` when several
    servers are compared. Nothing when the scenario has no ``compare:`` section.
    """
    c = scenario.compare
    if c is None:
        return
    for choice in c.choices:
        servers: list[str | None] = [None]
        if choice == "distributed_bind":
            servers = list(c.server or [next(iter(scenario.host.remotes))])
        for server in servers:
            label = f"{choice}:{server}" if server and len(servers) > 1 else choice
            yield label, placement_variant(scenario, choice, server)


def placement_row(
    label: str,
    ops: pd.DataFrame,
    events: pd.DataFrame,
    span_s: float,
    streamed: StreamingSummary | None,
) -> dict[str, Any]:
    """One row of ``Result.comparison``: the summary of the operations on the compared
    path (from ``streamed.focus`` when the run kept streaming totals, else from
    ``ops``), the data each placement lost or left behind, and its slowest container
    start-up (``startup_max_ms``: Docker filling a new empty volume from the image).

    Args:
        label: the placement (:func:`placements`).
        ops: the variant's operations under the compared path (empty in summary mode).
        events: the variant's lifecycle events.
        span_s: the variant's simulated seconds.
        streamed: the variant's streaming totals, focused on the compared path, or None.
    """
    if streamed is not None and streamed.focus is not None:
        row = _focus_row(streamed.focus, span_s)
    else:
        row = _aggregate_row(ops, span_s)
    out: dict[str, Any] = {"placement": label}
    if row is not None:
        out.update(row)
    else:
        out["ops"] = 0
    for column in ("data_lost_bytes", "orphaned_volumes", "orphaned_bytes"):
        out[column] = int(events[column].sum()) if len(events) else 0
    # the slowest container start-up (Docker filling a new empty volume from the image)
    runs = events[events["action"] == "run"] if len(events) else events
    out["startup_max_ms"] = float(runs["startup_s"].max()) * 1e3 if len(runs) else 0.0
    return out


def under(ops: pd.DataFrame, path: str) -> pd.DataFrame:
    """The operations on ``path`` or below it."""
    prefix = path.rstrip("/") + "/"
    paths = ops["path"].astype(str)
    return ops[(paths == path) | paths.str.startswith(prefix)]


def _aggregate_row(ops: pd.DataFrame, span_s: float) -> dict[str, Any] | None:
    """Summary of the operations on the compared path, whatever storage served them."""
    merged = ops.assign(storage="image_layer")  # one group, whatever served each op
    row = summarize_ops(merged, None, span_s=span_s or None)
    if not len(row):
        return None
    return {str(k): v for k, v in row.iloc[0].drop(labels=["storage"]).items()}


def _focus_row(focus: GroupStats, span_s: float) -> dict[str, Any] | None:
    """:func:`_aggregate_row` from streaming totals."""
    if focus.ops == 0:
        return None
    span = span_s or (focus.t_last - focus.t_first)
    row = focus.row("image_layer", span)
    del row["storage"]
    return row


# --- variants -------------------------------------------------------------------------------


def placement_variant(scenario: Scenario, choice: str, server: str | None = None) -> Scenario:
    """The scenario with the compared path placed on ``choice`` (see ``CompareSpec``).

    Args:
        scenario: a scenario with a ``compare:`` section.
        choice: the storage choice to place ``compare.path`` on.
        server: for ``distributed_bind``, the remote server (default: the first declared).

    Returns:
        A scenario without ``compare:``, validated as any scenario is
        (:meth:`Scenario.with_overrides`: errors name the scenario's file).

    Raises:
        ValueError: the scenario has no ``compare:`` section.
        ScenarioError: the variant breaks a rule (a compared path below a read-only
            mount that ``prefill`` cannot write, say).
    """
    c = scenario.compare
    if c is None:
        raise ValueError("scenario must have a compare: section (got none)")
    data = scenario.to_data()
    services = [c.service] if c.service else list(data["services"])
    content = c.content.model_dump() if c.content is not None else None
    tag = "compare" + c.path.replace("/", "-").rstrip("-")
    volumes = data.setdefault("volumes", {}) or {}
    sources = data.setdefault("sources", {}) or {}
    for name in services:
        svc = data["services"][name]
        # what the mount at the compared path held (its bind source's or volume's content)
        # is what every placement holds, unless compare: gives the content
        replaced = [m for m in svc.get("volumes", []) if _target(m) == c.path]
        held = next((sources[s] for s in map(_source, replaced) if s in sources), None)
        if content is None and held is not None:
            content = held
        svc["volumes"] = [m for m in svc.get("volumes", []) if _target(m) != c.path]
        tmpfs = svc.get("tmpfs", [])
        svc["tmpfs"] = [t for t in ([tmpfs] if isinstance(tmpfs, str) else tmpfs) if t != c.path]
        if choice == "volume":
            volumes[tag] = {}
            svc["volumes"].append({"type": "volume", "source": tag, "target": c.path})
            if content is not None:
                sources[tag] = content
        elif choice in ("local_bind", "distributed_bind"):
            if choice == "local_bind":
                source = f"./{tag}"
            else:
                source = f"{server or next(iter(scenario.host.remotes))}:/{tag}"
            svc["volumes"].append({"type": "bind", "source": source, "target": c.path})
            sources[source] = _content(scenario, name, c.path, content)
        elif choice in ("tmpfs", "writable_layer"):
            if choice == "tmpfs":
                svc["volumes"].append({"type": "tmpfs", "target": c.path})
            # the content is written at `docker run`, in the tmpfs or the writable layer
            svc.setdefault("prefill", {})[c.path] = _content(scenario, name, c.path, content)
        elif choice == "image_layer" and content is not None:
            image = data["images"][scenario.services[name].image]
            image["layers"].append({"name": f"compare {c.path}", **_rebase(content, c.path)})
    # a bind source that no service mounts any more (itself or a path inside it, as a
    # file bind of one of its files) has no place under sources
    mounted = {_source(m) for svc in data["services"].values() for m in svc.get("volumes", [])}
    inside = {k for k in sources for m in mounted if str(m).startswith(k.rstrip("/") + "/")}
    sources = {k: v for k, v in sources.items() if k in mounted or k in volumes or k in inside}
    return scenario.with_overrides(
        {
            "name": f"{scenario.name} [{c.path} on {choice}]",
            "compare": None,
            "images": data["images"],
            "volumes": volumes,
            "sources": sources,
            "services": data["services"],
        }
    )


def _target(mount: Any) -> str | None:
    if isinstance(mount, str):
        parts = [p for p in mount.split(":") if p not in ("ro", "rw")]
        return parts[-1] if parts else None
    if isinstance(mount, Mapping):
        return str(mount.get("target"))
    return None


def _source(mount: Any) -> str | None:
    """The source of a mount as the YAML gives it (short or long syntax), if any."""
    if isinstance(mount, str):
        parts = [p for p in mount.split(":") if p not in ("ro", "rw")]
        return ":".join(parts[:-1]) or None
    if isinstance(mount, Mapping):
        source = mount.get("source")
        return str(source) if source is not None else None
    return None


def _rebase(content: dict[str, Any], base: str) -> dict[str, Any]:
    """Content whose paths are relative to ``base`` -> the same with absolute paths."""
    root = base.rstrip("/")
    out = copy.deepcopy(content)
    out["files"] = {root + p: s for p, s in content.get("files", {}).items()}
    out["dirs"] = [root + p for p in content.get("dirs", [])]
    out["symlinks"] = {root + p: t for p, t in content.get("symlinks", {}).items()}
    out["generate"] = [{**g, "dir": root + g["dir"]} for g in content.get("generate", [])]
    return out


def _content(
    scenario: Scenario, service: str, path: str, given: dict[str, Any] | None
) -> dict[str, Any]:
    """What a placement holds at ``path``: the compared content if given, else the
    files the service's image has below ``path``, relative to it, as Content data."""
    if given is not None:
        return given
    stack = build_stack(scenario, scenario.services[service].image, np.random.default_rng(0))
    root = path.rstrip("/")
    files: dict[str, int] = {}
    dirs: list[str] = []
    for p, node in OverlayFS(stack).visible_tree().items():
        if p.startswith(root + "/"):
            if node.kind == "file":
                files[p[len(root) :]] = node.size_bytes
            elif node.kind == "dir":
                dirs.append(p[len(root) :])
    return {"files": files, "dirs": dirs}
