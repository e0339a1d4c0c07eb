"""Simulation: build the host, images, volumes and containers of a scenario, run, collect.

Like a stage manager on opening night: set up the stage (devices, images, volumes),
send each actor on at their cue (``docker run`` at its time), strike the set when the
play ends, and hand the recording over for review. :func:`simulate` is the whole
pipeline scenario -> model -> records -> statistics for one seed.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import gc
import itertools
import math
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import simpy

from storsim import budget, guard, profiles  # issue 11: the work budget and the watchdog
from storsim.backends.bind import BindBackend
from storsim.backends.overlay import OverlayBackend
from storsim.backends.remote import RemoteBackend
from storsim.backends.tmpfs import TmpfsBackend
from storsim.backends.volume import VolumeBackend
from storsim.conflicts import ConflictTracker
from storsim.context import Host, SimContext
from storsim.devices import Disk, PageCache, RemoteServer
from storsim.fs import ContainerView, FsError, Layer, LowerStack, Mount, Node, OverlayFS, PlainFS
from storsim.progress import StatusLine
from storsim.records import EventRecord, Recorder
from storsim.scenario import Content, LayerSpec, MountSpec, Scenario, ServiceSpec
from storsim.stats import (
    GroupStats,
    StreamingSummary,
    errors_by_errno,
    summarize_by_service,
    summarize_ops,
)
from storsim.workload import ContainerRun, size_sampler, start_workload

__all__ = ["OPS_MODES", "Result", "simulate"]

#: What :func:`simulate` keeps of the operations: every row, or streaming totals only.
OPS_MODES = ("full", "summary")

# Fixed CPU-side costs, each with its source.
# [B4] bench.local: native small-file create ~60 us per file on a warm local fs.
METADATA_UPDATE_S = 60e-6
# Per-layer CPU cost of an overlay lookup once the lower directory is cached: a few
# dcache hash lookups; "order of microseconds" ([P1] text, VT1: must not show at 30 layers).
LOOKUP_PER_LAYER_S = 1e-6


@dataclass(frozen=True, slots=True)
class Result:
    """What one simulation produced.

    Attributes:
        scenario: the scenario that was run.
        seed: the seed it ran with.
        ops: one row per file operation (:class:`storsim.records.IoRecord` + ``latency_s``);
            with ``ops_mode == "summary"``, an empty frame with the same columns.
        events: one row per lifecycle event (:class:`storsim.records.EventRecord`).
        summary: one row per storage choice (:data:`storsim.stats.SUMMARY_COLUMNS`).
        by_service: the same per service and storage choice (``service`` column first).
        errors: failed operations per storage choice and errno.
        mounts: one row per mount per container run, with the image entries it hides.
        comparison: with a ``compare:`` section, one row per candidate storage choice for
            the compared path (``placement`` column, then the summary columns of the
            operations on that path); otherwise None.
        records: the final value of every record that workloads read-modify-wrote or
            wrote (``path``, ``offset``, ``nbytes``, ``value``: increments that survived).
        sim_time_s: simulated seconds when the run ended.
        ops_mode: ``"full"``: ``ops`` holds every operation and the tables are computed
            from it exactly; ``"summary"``: no per-operation rows were kept, and the
            tables come from streaming totals (:class:`storsim.stats.StreamingSummary`:
            counts, sums, means and maxima exact, percentiles within 0.5 %).
    """

    scenario: Scenario
    seed: int
    ops: pd.DataFrame
    events: pd.DataFrame
    summary: pd.DataFrame
    by_service: pd.DataFrame
    errors: pd.DataFrame
    mounts: pd.DataFrame
    comparison: pd.DataFrame | None
    records: pd.DataFrame
    sim_time_s: float
    ops_mode: str = "full"


def simulate(
    scenario: Scenario,
    *,
    seed: int | None = None,
    compare: bool = True,
    ops: str = "full",
    progress: bool = False,
    max_ops: int | None = budget.DEFAULT_MAX_OPS,
) -> Result:
    """Run a scenario once.

    Args:
        scenario: a validated scenario (:func:`storsim.load_scenario`).
        seed: the random seed; the scenario's own ``seed`` when None. The same scenario
            and seed give identical results.
        compare: also run the placements of the scenario's ``compare:`` section.
        ops: ``"full"`` keeps one row per operation in ``Result.ops`` (what reports plot
            from; memory grows with the number of operations, about 100 bytes each).
            ``"summary"`` keeps streaming totals only: memory stays bounded however long
            the run, ``Result.ops`` is empty, and the percentiles of ``summary``,
            ``by_service`` and ``comparison`` are within 0.5 % of the exact ones (every
            count is exact). The simulated operations are the same either way.
        progress: show how far a run has got on stderr (simulated time, the share of the
            scenario's duration, operations so far), once it has taken a second; the
            results are the same with or without it.
        max_ops: the work budget (:mod:`storsim.budget`): a scenario estimated to do
            more operations (files built and walked included), or to need more memory
            than 100 bytes per operation allowed, is refused before anything is built;
            a run that does twice as many is stopped. None: no limit.

    Returns:
        The :class:`Result`.

    Raises:
        RunawayError: the scenario is over the budget (the message gives the estimate
            and the ``max_ops`` that allows it), or its simulated clock stopped advancing.
        ValueError: ``ops`` is not one of :data:`OPS_MODES`, or ``max_ops`` < 1, or
            ``seed`` is negative.
    """
    if ops not in OPS_MODES:
        raise ValueError(f"ops must be one of {', '.join(OPS_MODES)} (got {ops!r})")
    budget.check(scenario, max_ops, ops=ops, compare=compare)  # issue 11: before any build
    seed = scenario.seed if seed is None else seed
    result, _ = _run_once(
        scenario, seed, ops, progress="run" if progress else None, max_ops=max_ops
    )
    if compare and scenario.compare is not None:
        rows = []
        c = scenario.compare
        for choice in c.choices:
            servers: list[str | None] = [None]
            if choice == "distributed_bind":
                servers = list(c.server or [next(iter(scenario.host.remotes))])
            for server in servers:
                variant = placement_variant(scenario, choice, server)
                label = f"{choice}:{server}" if server and len(servers) > 1 else choice
                sub, streamed = _run_once(
                    variant,
                    seed,
                    ops,
                    focus=c.path,
                    progress=f"compare {label}" if progress else None,
                    max_ops=max_ops,
                )
                if streamed is not None and streamed.focus is not None:
                    row = _focus_row(streamed.focus, sub.sim_time_s)
                else:
                    row = _aggregate_row(_under(sub.ops, c.path), sub.sim_time_s)
                rows.append(_placement(label, row, sub.events))
        comparison = pd.DataFrame(rows)
        result = dataclasses.replace(result, comparison=comparison)
    return result


def _under(ops: pd.DataFrame, path: str) -> pd.DataFrame:
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


def _placement(label: str, row: dict[str, Any] | None, events: pd.DataFrame) -> dict[str, Any]:
    out: dict[str, Any] = {"placement": label}
    if row is not None:
        out.update(row)
    else:
        out["ops"] = 0
    for column in ("data_lost_bytes", "orphaned_volumes", "orphaned_bytes"):
        out[column] = int(events[column].sum()) if len(events) else 0
    return out


# --- placements ---------------------------------------------------------------------------


def placement_variant(scenario: Scenario, choice: str, server: str | None = None) -> Scenario:
    """The scenario with the compared path placed on ``choice`` (see ``CompareSpec``).

    Args:
        scenario: a scenario with a ``compare:`` section.
        choice: the storage choice to place ``compare.path`` on.
        server: for ``distributed_bind``, the remote server (default: the first declared).
    """
    assert scenario.compare is not None
    c = scenario.compare
    data = scenario.to_data()
    data.pop("compare", None)
    data["name"] = f"{scenario.name} [{c.path} on {choice}]"
    services = [c.service] if c.service else list(data["services"])
    content = c.content.model_dump() if c.content is not None else None
    tag = "compare" + c.path.replace("/", "-").rstrip("-")
    for name in services:
        svc = data["services"][name]
        svc["volumes"] = [m for m in svc.get("volumes", []) if _target(m) != c.path]
        tmpfs = svc.get("tmpfs", [])
        svc["tmpfs"] = [t for t in ([tmpfs] if isinstance(tmpfs, str) else tmpfs) if t != c.path]
        if choice == "volume":
            data.setdefault("volumes", {})[tag] = {}
            svc["volumes"].append({"type": "volume", "source": tag, "target": c.path})
            if content is not None:
                data.setdefault("sources", {})[tag] = content
        elif choice == "local_bind":
            source = f"./{tag}"
            svc["volumes"].append({"type": "bind", "source": source, "target": c.path})
            data.setdefault("sources", {})[source] = content or _image_content(
                scenario, name, c.path
            )
        elif choice == "distributed_bind":
            server = server or next(iter(scenario.host.remotes))
            source = f"{server}:/{tag}"
            svc["volumes"].append({"type": "bind", "source": source, "target": c.path})
            data.setdefault("sources", {})[source] = content or _image_content(
                scenario, name, c.path
            )
        elif choice == "tmpfs":
            svc["volumes"].append({"type": "tmpfs", "target": c.path})
            svc.setdefault("x-prefill", {})[c.path] = content or _image_content(
                scenario, name, c.path
            )
        elif choice == "writable_layer":
            svc.setdefault("x-prefill", {})[c.path] = content or _image_content(
                scenario, name, c.path
            )
        elif choice == "image_layer" and content is not None:
            image = data["images"][scenario.services[name].image]
            image["layers"].append({"name": f"compare {c.path}", **_rebase(content, c.path)})
    variant = Scenario.model_validate(data)
    variant._tree = data
    variant._file = scenario.file
    return variant


def _target(mount: Any) -> str | None:
    if isinstance(mount, str):
        parts = [p for p in mount.split(":") if p not in ("ro", "rw")]
        return parts[-1] if parts else None
    if isinstance(mount, Mapping):
        return str(mount.get("target"))
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


def _image_content(scenario: Scenario, service: str, path: str) -> dict[str, Any]:
    """The files the service's image has below ``path``, relative to it, as Content data."""
    stack = _build_stack(scenario, scenario.services[service].image, np.random.default_rng(0))
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


# --- building ----------------------------------------------------------------------------


def _content_entries(content: Content, rng: np.random.Generator) -> dict[str, int]:
    files = dict(content.files)
    for gen in content.generate:
        sizes = size_sampler(gen.size, rng, 4096)
        base = gen.dir.rstrip("/")
        nested = gen.count > gen.fanout
        for i in range(gen.count):
            folder = f"{base}/d{i // gen.fanout:04d}" if nested else base
            files[f"{folder}/{gen.prefix}{i:06d}"] = sizes()
    return files


def _build_layer(spec: LayerSpec, index: int, rng: np.random.Generator) -> Layer:
    return Layer.build(
        spec.name or f"layer{index}",
        files=_content_entries(spec, rng),
        dirs=spec.dirs,
        whiteouts=spec.delete,
        opaque=spec.opaque,
        symlinks=spec.symlinks,
    )


def _build_stack(scenario: Scenario, image: str, rng: np.random.Generator) -> LowerStack:
    layers = [_build_layer(spec, i, rng) for i, spec in enumerate(scenario.images[image].layers)]
    # The scenario lists layers base first, as a Dockerfile does; overlayfs wants top first.
    return LowerStack(list(reversed(layers)), max_layers=scenario.host.overlay.max_layers)


def _populate(fs: PlainFS, content: Content | None, rng: np.random.Generator) -> None:
    if content is None:
        return
    entries: dict[str, Node] = {}
    for d in content.dirs:
        entries[d] = Node("dir", mode=0o755)
    for path, size in _content_entries(content, rng).items():
        entries[path] = Node("file", size_bytes=size)
    for path, target in content.symlinks.items():
        entries[path] = Node("symlink", target=target)
    fs.populate(entries)


def _given(values: dict[str, Any]) -> dict[str, Any]:
    """The overrides a scenario gives (None means: keep the profile's value)."""
    return {k: v for k, v in values.items() if v is not None}


def _host(scenario: Scenario, env: simpy.Environment, rng: np.random.Generator) -> Host:
    h = scenario.host
    base = profiles.DISK_PROFILES[h.disk.profile]
    disk_params = dataclasses.replace(
        base,
        **_given(
            {
                "latency_s": h.disk.latency,
                "read_bytes_per_s": h.disk.read_bandwidth,
                "write_bytes_per_s": h.disk.write_bandwidth,
                "queue_depth": h.disk.queue_depth,
                "service": h.disk.service,
            }
        ),
    )
    cache_params = dataclasses.replace(profiles.PAGE_CACHE, size_bytes=h.page_cache)
    remotes: dict[str, RemoteServer] = {}
    for name, spec in h.remotes.items():
        params = dataclasses.replace(
            profiles.REMOTE_PROFILES[spec.profile],
            **_given(
                {
                    "rtt_s": spec.rtt,
                    "link_bytes_per_s": spec.bandwidth,
                    "server_queue_depth": spec.server_queue_depth,
                    "server_bytes_per_s": spec.server_bandwidth,
                    "attr_cache_min_s": spec.attr_cache_min,
                    "attr_cache_max_s": spec.attr_cache_max,
                    "locks": spec.locks,
                    "unsupported_ops": frozenset(spec.unsupported)
                    if spec.unsupported is not None
                    else None,
                }
            ),
        )
        remotes[name] = RemoteServer(env, params, rng, name)
    return Host(
        disk=Disk(env, disk_params, rng, "disk"),
        page_cache=PageCache(cache_params),
        remotes=remotes,
        syscall_s=h.syscall_latency,
        metadata_s=METADATA_UPDATE_S,
        lookup_per_layer_s=LOOKUP_PER_LAYER_S,
        copy_bytes_per_s=cache_params.copy_bytes_per_s,
        cache_hit_s=cache_params.hit_latency_s,
    )


class _World:
    """Everything built for one run: file systems that outlive containers, and counters."""

    def __init__(self, scenario: Scenario, ctx: SimContext, seeds: np.random.SeedSequence):
        self.scenario = scenario
        self.ctx = ctx
        content_rng = np.random.default_rng(seeds.spawn(1)[0])
        self.stacks = {name: _build_stack(scenario, name, content_rng) for name in scenario.images}
        self.volumes: dict[str, PlainFS] = {}
        for name in scenario.volumes:
            fs = PlainFS()
            _populate(fs, scenario.sources.get(name), content_rng)
            self.volumes[name] = fs
        self.binds: dict[str, PlainFS] = {}
        for svc in scenario.services.values():
            for m in svc.mounts:
                if m.type == "bind" and m.source is not None and m.source not in self.binds:
                    fs = PlainFS()
                    _populate(fs, scenario.sources.get(m.source), content_rng)
                    self.binds[m.source] = fs
        self.anonymous = itertools.count(1)
        self.mount_rows: list[dict[str, Any]] = []
        self.workload_seeds = seeds.spawn(1)[0]


def _run_once(
    scenario: Scenario,
    seed: int,
    ops: str = "full",
    *,
    focus: str | None = None,
    progress: str | None = None,
    max_ops: int | None = None,
) -> tuple[Result, StreamingSummary | None]:
    """Build and run one scenario; with ``ops == "summary"``, also its streaming totals
    (with ``focus``: of the operations under that path too); with ``progress``, a
    progress line on stderr labelled with it; watched by :class:`storsim.guard.Watchdog`
    (``max_ops``: its budget)."""
    seeds = np.random.SeedSequence(seed)
    device_seq, world_seq = seeds.spawn(2)
    env = simpy.Environment()
    streamed = StreamingSummary(focus=focus) if ops == "summary" else None
    ctx = SimContext(
        env=env,
        rng=np.random.default_rng(device_seq),
        recorder=Recorder(sink=streamed.add if streamed is not None else None),
        host=_host(scenario, env, np.random.default_rng(device_seq.spawn(1)[0])),
        tracker=ConflictTracker(env),
    )
    world = _World(scenario, ctx, world_seq)
    service_seeds = world.workload_seeds.spawn(len(scenario.services))
    for (sname, svc), sseq in zip(scenario.services.items(), service_seeds, strict=True):
        for replica, rseq in enumerate(sseq.spawn(svc.deploy.replicas), start=1):
            env.process(_lifecycle(world, sname, svc, replica, rseq))
    with _quiet_collector():
        # issue 11: every run goes in watched slices (a clock that stops is an error)
        watchdog = guard.Watchdog(scenario, max_ops=max_ops, recorded=lambda: ctx.recorder.recorded)
        shown = _RunProgress(progress, scenario.duration, ctx) if progress is not None else None
        guard.advance(env, scenario.duration, watchdog, shown)
        return _collect(scenario, seed, ops, world, streamed)


# --- progress ----------------------------------------------------------------------------

_QUIET_S = 1.0  # a run shorter than this shows no progress at all


class _RunProgress:
    """How far a run has got, on stderr: simulated time (of the duration, when there is
    one), operations so far, and wall time. Redrawn in place in a terminal or a notebook,
    a line every 10 s in a log; nothing until the run has taken a second."""

    def __init__(self, label: str, duration: float | None, ctx: SimContext) -> None:
        self._label = label
        self._duration = duration
        self._recorder = ctx.recorder
        self._line = StatusLine()
        self._start = time.monotonic()
        self._last = -math.inf

    def show(self, now: float) -> None:
        wall = time.monotonic()
        elapsed = wall - self._start
        if elapsed < _QUIET_S or wall - self._last < (0.2 if self._line.live else 10.0):
            return
        self._last = wall
        text = f"{self._label}: {now:.6g} s simulated"
        if self._duration:
            text += f" ({100 * now / self._duration:.0f} % of {self._duration:g} s)"
        text += f", {self._recorder.recorded:,} operations, {elapsed:.0f} s"
        self._line.show(text)

    def close(self) -> None:
        self._line.close()


def _collect(
    scenario: Scenario, seed: int, ops: str, world: _World, streamed: StreamingSummary | None
) -> tuple[Result, StreamingSummary | None]:
    """The Result of a finished run: its records turned into tables."""
    ctx, env = world.ctx, world.ctx.env
    frame = ctx.recorder.frame()  # empty when the rows went to the streaming totals
    events = ctx.recorder.events_frame()
    span = float(env.now) if env.now > 0 else None
    if streamed is not None:
        summary = streamed.summary(events, span_s=span)
        by_service = streamed.by_service(events, span_s=span)
        errors = streamed.errors()
    else:
        summary = summarize_ops(frame, events, span_s=span)
        by_service = summarize_by_service(frame, events, span_s=span)
        errors = errors_by_errno(frame)
    result = Result(
        scenario=scenario,
        seed=seed,
        ops=frame,
        events=events,
        summary=summary,
        by_service=by_service,
        errors=errors,
        mounts=pd.DataFrame(
            world.mount_rows,
            columns=["container", "target", "storage", "source", "read_only", "hidden_entries"],
        ),
        comparison=None,
        records=_records(ctx.tracker),
        sim_time_s=float(env.now),
        ops_mode=ops,
    )
    return result, streamed


def _records(tracker: ConflictTracker) -> pd.DataFrame:
    columns = ["path", "offset", "nbytes", "value"]
    table = tracker.table()
    if not table["path"]:
        return pd.DataFrame([], columns=columns)  # dtypes of an empty table, as always
    return pd.DataFrame(table, columns=columns)


@contextlib.contextmanager
def _quiet_collector() -> Iterator[None]:
    """Keep the cyclic garbage collector off the model built before the run.

    A run allocates and frees millions of small objects (events, generators, records);
    every few hundred allocations CPython's collector runs, and its older generations
    scan the whole heap: the layer trees and file tables built before the run, which
    cannot become garbage during it. ``gc.freeze()`` moves them out of the collector's
    sight for the run and the collection of its tables (it still collects what the run
    makes) and ``gc.unfreeze()`` gives them back afterwards; only speed changes, never
    results. (A full collection over the model right after the run cost as much as
    building the per-operation table.) What the run itself keeps (rows, upper files,
    cache keys) grows all along, so the collector also runs less often meanwhile:
    every 10,000 net allocations instead of 700, and the full collections far less
    (13 % less time for the copy-up benchmark at 200,000 operations; bench/run.py).
    Before freezing, one full collection clears what earlier runs left.
    """
    threshold = gc.get_threshold()
    # What earlier runs left (their worlds are cycles: processes, events, generators)
    # must go first, or freezing would keep it for good: repeated runs in one process
    # (a notebook, a serial sweep) then grew by one world each (tests/test_streaming.py).
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 50, 1_000)
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        gc.unfreeze()


_STORAGE_OF_MOUNT = {"volume": "volume", "tmpfs": "tmpfs"}


def _create(
    world: _World, sname: str, svc: ServiceSpec, replica: int, name: str
) -> tuple[ContainerRun, list[PlainFS], list[PlainFS]]:
    """``docker run``'s create half: a fresh writable layer, mounts, anonymous volumes."""
    scenario, ctx = world.scenario, world.ctx
    env, host = ctx.env, ctx.host
    overlay = scenario.host.overlay
    root = OverlayFS(
        world.stacks[svc.image], metacopy=overlay.metacopy, redirect_dir=overlay.redirect_dir
    )
    upper_key = ("upper", name, next(world.anonymous))
    backends: dict[str | None, Any] = {
        None: OverlayBackend(env, host, upper_key, ("lower", svc.image))
    }
    mounts: list[Mount] = []
    anonymous: list[PlainFS] = []
    tmpfs: list[PlainFS] = []
    declared = {m.target for m in svc.mounts}
    image = scenario.images[svc.image]
    specs: list[MountSpec] = list(svc.mounts) + [
        MountSpec(type="volume", target=t) for t in image.volumes if t not in declared
    ]
    for m in specs:
        if m.type == "volume":
            if m.source is None:  # anonymous: a new one at every run (Dockerfile VOLUME)
                fs = PlainFS()
                anonymous.append(fs)
                key: object = ("anon", next(world.anonymous))
            else:
                fs = world.volumes[m.source]
                key = ("volume", m.source)
            nocopy = m.volume is not None and m.volume.nocopy
            if not nocopy and not fs.visible_tree().keys() - {"/"}:
                # Docker copies the image's content at the target into a new empty volume.
                _copy_image_dir(root, m.target, fs)
            mount = Mount(m.target, fs, "volume", read_only=m.read_only)
            backends[m.target] = VolumeBackend(env, host, key)
        elif m.type == "tmpfs":
            fs = PlainFS()
            tmpfs.append(fs)
            mount = Mount(m.target, fs, "tmpfs", read_only=m.read_only)
            backends[m.target] = TmpfsBackend(env, host)
        else:
            assert m.source is not None
            fs = world.binds[m.source]
            remote = m.remote if m.remote and m.remote[0] in scenario.host.remotes else None
            if remote is not None:
                server = host.remotes[remote[0]]
                mount = Mount(
                    m.target,
                    fs,
                    "distributed_bind",
                    read_only=m.read_only,
                    unsupported=server.params.unsupported_ops,
                    unsupported_errno=server.params.unsupported_errno,
                )
                backends[m.target] = RemoteBackend(
                    env, host, server, ("remote", m.source), ctx.tracker, id(fs)
                )
            else:
                mount = Mount(m.target, fs, "local_bind", read_only=m.read_only)
                backends[m.target] = BindBackend(env, host, ("bind", m.source))
        mounts.append(mount)
    view = ContainerView(root, mounts)
    for mount in mounts:
        world.mount_rows.append(
            {
                "container": name,
                "target": mount.target,
                "storage": mount.storage,
                "source": next((m.source for m in specs if m.target == mount.target), None),
                "read_only": mount.read_only,
                "hidden_entries": view.hidden_entries(mount.target),
            }
        )
    prefill = (svc.model_extra or {}).get("x-prefill") or {}
    for base, content in prefill.items():
        _prefill(view, base, Content.model_validate(content), np.random.default_rng(0))
    run = ContainerRun(name=name, service=sname, replica=replica, view=view, backends=backends)
    return run, anonymous, tmpfs


def _copy_image_dir(root: OverlayFS, target: str, fs: PlainFS) -> None:
    base = target.rstrip("/")
    entries = {
        p[len(base) :] or "/": node
        for p, node in root.visible_tree().items()
        if p.startswith(base + "/") and node.kind in ("file", "dir", "symlink")
    }
    if entries:
        fs.populate(entries)


def _prefill(view: ContainerView, base: str, content: Content, rng: np.random.Generator) -> None:
    """Put content below ``base`` as if the application wrote it before the run started."""
    root = base.rstrip("/")
    for d in sorted(content.dirs):
        _mkdirs(view, root + d)
    for path, size in _content_entries(content, rng).items():
        full = root + path
        _mkdirs(view, full.rsplit("/", 1)[0])
        view.open(full, write=True, create=True, trunc=True)
        if size:
            view.write(full, 0, size)


def _mkdirs(view: ContainerView, path: str) -> None:
    parts = [p for p in path.split("/") if p]
    for i in range(1, len(parts) + 1):
        sub = "/" + "/".join(parts[:i])
        try:
            view.stat(sub)
        except FsError:  # missing: create it
            view.mkdir(sub)


def _lifecycle(
    world: _World, sname: str, svc: ServiceSpec, replica: int, seq: np.random.SeedSequence
) -> Any:
    """The process of one replica: its ``docker`` commands at their times."""
    env, rec = world.ctx.env, world.ctx.recorder
    name = f"{sname}-{replica}"
    run: ContainerRun | None = None
    anonymous: list[PlainFS] = []
    tmpfs: list[PlainFS] = []
    starts = 0
    runs = 0

    def start() -> None:
        nonlocal starts
        assert run is not None
        for i, w in enumerate(svc.workload):
            rng = np.random.default_rng(seq.spawn(1)[0])
            start_workload(world.ctx, run, w, i, rng)
        starts += 1

    def tmpfs_lost() -> int:
        return sum(_bytes(fs) for fs in tmpfs)

    for event in svc.lifecycle:
        if event.at > env.now:
            yield env.timeout(event.at - env.now)
        if event.action == "run":
            run, anonymous, tmpfs = _create(world, sname, svc, replica, name)
            run.run_index = runs
            runs += 1
            rec.event(EventRecord(env.now, name, sname, "run", "", 0, 0, 0))
            start()
        elif event.action == "start":
            assert run is not None
            run.running = True
            rec.event(EventRecord(env.now, name, sname, "start", "", 0, 0, 0))
            start()
        elif event.action in ("stop", "rm"):
            assert run is not None
            if run.running:
                run.running = False
                run.generation += 1
                lost = tmpfs_lost()
                rec.event(EventRecord(env.now, name, sname, "stop", "tmpfs", lost, 0, 0))
                for fs in tmpfs:
                    fs.clear()
            if event.action == "rm":
                lost = run.view.root.upper_bytes()
                rec.event(EventRecord(env.now, name, sname, "rm", "writable_layer", lost, 0, 0))
                if anonymous:  # `docker rm` without -v leaves anonymous volumes behind
                    orphaned = sum(_bytes(fs) for fs in anonymous)
                    rec.event(
                        EventRecord(
                            env.now, name, sname, "rm", "volume", 0, len(anonymous), orphaned
                        )
                    )
                run = None
                anonymous, tmpfs = [], []


def _bytes(fs: PlainFS) -> int:
    return sum(n.size_bytes for n in fs.visible_tree().values() if n.kind == "file")
