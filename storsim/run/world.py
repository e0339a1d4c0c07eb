"""The world of one run: the host's devices, the images' layer stacks, volumes, binds.

Like a film set built before the first take: the host and its disks, the images'
layers, the named volumes and the host directories that bind mounts show, each filled
with the content the scenario gives. Containers come and go during the run
(:mod:`storsim.run.containers`); what is built here outlives them.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Mapping
from typing import Any

import numpy as np
import simpy

from storsim.backends import BACKENDS, Attachment, Backend, BackendFactory, backend_factory
from storsim.devices import Cpu, Disk, PageCache, RemoteServer, profiles, service
from storsim.fs import Layer, LowerStack, Node, PlainFS
from storsim.records import Recorder
from storsim.run.conflicts import ConflictTracker
from storsim.run.context import INODE_BYTES, Host, SimContext
from storsim.run.workload import size_sampler
from storsim.scenario import Content, LayerSpec, Scenario

__all__ = [
    "World",
    "build_host",
    "build_stack",
    "content_entries",
    "populate",
]


def content_entries(content: Content, rng: np.random.Generator) -> dict[str, int]:
    """The files of ``content``, generated ones included: path -> size in bytes (sizes
    drawn from ``rng`` in the order the content lists them)."""
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
        files=content_entries(spec, rng),
        dirs=spec.dirs,
        whiteouts=spec.delete,
        opaque=spec.opaque,
        symlinks=spec.symlinks,
    )


def build_stack(scenario: Scenario, image: str, rng: np.random.Generator) -> LowerStack:
    """The read-only layer stack of ``image`` (generated file sizes drawn from ``rng``)."""
    layers = [_build_layer(spec, i, rng) for i, spec in enumerate(scenario.images[image].layers)]
    # The scenario lists layers base first, as a Dockerfile does; overlayfs wants top first.
    return LowerStack(list(reversed(layers)), max_layers=scenario.host.overlay.max_layers)


def populate(fs: PlainFS, content: Content | None, rng: np.random.Generator) -> None:
    """Put ``content`` (if any) into ``fs``: what a volume or bind source holds at start."""
    if content is None:
        return
    entries: dict[str, Node] = {}
    for d in content.dirs:
        entries[d] = Node("dir", mode=0o755)
    for path, size in content_entries(content, rng).items():
        entries[path] = Node("file", size_bytes=size)
    for path, target in content.symlinks.items():
        entries[path] = Node("symlink", target=target)
    fs.populate(entries)


def _given(values: dict[str, Any]) -> dict[str, Any]:
    """The overrides a scenario gives (None means: keep the profile's value)."""
    return {k: v for k, v in values.items() if v is not None}


def service_shape(spec: Any, base: service.ServiceShape) -> service.ServiceShape:
    """The service-time shape a scenario's ``service`` key gives (``base`` when it gives
    none; a parameter it leaves out keeps the default of its shape).

    Args:
        spec: a :data:`storsim.scenario.host.ServiceSpec` or None.
        base: the profile's shape.
    """
    if spec is None:
        return base
    default = service.SERVICE_NAMES[spec.dist]
    if spec.dist == "h2":
        return dataclasses.replace(
            default,
            **_given({"slow_fraction": spec.slow_fraction, "slow_ratio": spec.slow_ratio}),
        )
    if spec.dist == "hdd":
        return dataclasses.replace(
            default,
            **_given(
                {
                    "single_track_seek_s": spec.single_track_seek,
                    "average_seek_s": spec.average_seek,
                    "revolution_s": spec.revolution,
                }
            ),
        )
    return default


def build_host(scenario: Scenario, env: simpy.Environment, rng: np.random.Generator) -> Host:
    """The host's devices from ``scenario.host``: its profiles with the values it gives.

    Args:
        scenario: the scenario.
        env: the run's environment.
        rng: the devices' random generator (service times).

    Raises:
        ValueError: a combination of figures a device refuses (an ``hdd`` shape whose
            average seek is not above its single-track seek).
    """
    h = scenario.host
    base = profiles.DISK_PROFILES[h.disk.profile]
    latency = h.disk.latency  # the shorthand: read, write and flush at once
    disk_params = dataclasses.replace(
        base,
        **_given(
            {
                "read_latency_s": latency,
                "write_latency_s": latency,
                "flush_latency_s": latency,
            }
        ),
    )
    disk_params = dataclasses.replace(
        disk_params,
        **_given(
            {
                "read_latency_s": h.disk.read_latency,
                "write_latency_s": h.disk.write_latency,
                "flush_latency_s": h.disk.flush_latency,
                "read_bytes_per_s": h.disk.read_bandwidth,
                "write_bytes_per_s": h.disk.write_bandwidth,
                "queue_depth": h.disk.queue_depth,
            }
        ),
        service=service_shape(h.disk.service, base.service),
    )
    cache_params = dataclasses.replace(
        profiles.PAGE_CACHE,
        size_bytes=h.page_cache,
        **_given(
            {
                "copy_bytes_per_s": h.memory.copy_bandwidth,
                "hit_latency_s": h.memory.cache_hit_latency,
            }
        ),
    )
    remotes: dict[str, RemoteServer] = {}
    for name, spec in h.remotes.items():
        params = spec.params()  # the profile with the spec's overrides
        params = dataclasses.replace(params, service=service_shape(spec.service, params.service))
        remotes[name] = RemoteServer(env, params, rng, name)
    return Host(
        cpu=Cpu(env, h.cpus, "cpu"),
        disk=Disk(env, disk_params, rng, "disk"),
        page_cache=PageCache(cache_params),
        remotes=remotes,
        syscall_s=h.syscall_latency,
        metadata_s=h.metadata_update,
        lookup_per_layer_s=h.overlay.lookup_per_layer,
        copy_bytes_per_s=cache_params.copy_bytes_per_s,
        cache_hit_s=cache_params.hit_latency_s,
        wakeup_s=h.wakeup_latency,
        overlay_op_s=h.overlay.op_overhead,
        readdir_layer_s=h.overlay.readdir_per_layer,
        readdir_entry_s=h.readdir_per_entry,
        extend_page_s=h.extend_write,
        buffer_head_s=h.buffer_head_walk,
        folio_write_s=h.folio_write,
        folio_read_s=h.folio_read,
        write_overhead_s=h.write_overhead,
        local_walk_s=h.walk_per_component,
        max_folio_bytes=h.max_folio,
        lookup_component_s=h.overlay.lookup_per_component,
        walk_component_s=h.overlay.walk_per_component,
        walk_layer_s=h.overlay.walk_per_layer,
        readdir_merge_s=h.overlay.readdir_merge_per_entry,
        noop_syscall_s=h.noop_syscall_latency,
        getattr_s=h.getattr_latency,
        readdir_open_s=h.readdir_open_close,
        copy_up_flush_s=h.overlay.copy_up_flush,
        cold_lookup_layer_s=h.overlay.cold_lookup_per_layer,
        inodes_per_read=h.inode_readahead,
        inode_table_bytes=h.inode_readahead * INODE_BYTES,
    )


class World:
    """Everything built for one run: the context, file systems that outlive containers,
    and counters.

    Args:
        scenario: the scenario.
        ctx: the run's context (:meth:`build` makes one).
        seeds: the seeds of the content and the workloads.
        backends: the registry each mount's backend is built from (tests give doubles).

    Attributes:
        stacks: image name -> its layer stack (shared by its containers).
        volumes: named volume -> its file system.
        binds: bind source root -> its file system (a host directory or a remote export;
            ``Scenario.bind_sources`` says which root each bind source is in).
        mount_rows: one row per mount per container run (``Result.mounts``).
        workload_seeds: the seed sequence the services' workloads spawn theirs from.
    """

    def __init__(
        self,
        scenario: Scenario,
        ctx: SimContext,
        seeds: np.random.SeedSequence,
        backends: Mapping[str, BackendFactory] = BACKENDS,
    ) -> None:
        self.scenario = scenario
        self.ctx = ctx
        content_rng = np.random.default_rng(seeds.spawn(1)[0])
        self.stacks = {name: build_stack(scenario, name, content_rng) for name in scenario.images}
        self.volumes: dict[str, PlainFS] = {}
        for name in scenario.volumes:
            fs = PlainFS()
            populate(fs, scenario.sources.get(name), content_rng)
            self.volumes[name] = fs
        self.binds: dict[str, PlainFS] = {}
        places = scenario.bind_sources
        for svc in scenario.services.values():
            for m in svc.mounts:
                if m.type != "bind" or m.source is None:
                    continue
                place = places[m.source]  # its host tree: a root, and its path in it
                if place.root in self.binds:
                    fs = self.binds[place.root]
                else:
                    fs = self.binds[place.root] = PlainFS()
                    spec = scenario.sources.get(place.root)
                    if spec is not None and spec.file is not None:  # one host file
                        fs.populate({place.inner: Node("file", size_bytes=spec.file)})
                    else:
                        populate(fs, spec, content_rng)
                if not place.file and place.inner != "/":
                    fs.populate({place.inner: Node("dir", mode=0o755)})  # `-v` makes it
        self.anonymous = itertools.count(1)
        self.mount_rows: list[dict[str, Any]] = []
        self.workload_seeds = seeds.spawn(1)[0]
        self.backends = backends

    @classmethod
    def build(
        cls,
        scenario: Scenario,
        seed: int,
        recorder: Recorder,
        *,
        backends: Mapping[str, BackendFactory] = BACKENDS,
    ) -> World:
        """A new run of ``scenario``: its environment, host, tracker and file systems.

        The seed is split into a SeedSequence tree: the devices' draws, then the content
        and the workloads (the same seed gives the same run).
        """
        seeds = np.random.SeedSequence(seed)
        device_seq, world_seq = seeds.spawn(2)
        env = simpy.Environment()
        ctx = SimContext(
            env=env,
            rng=np.random.default_rng(device_seq),
            recorder=recorder,
            host=build_host(scenario, env, np.random.default_rng(device_seq.spawn(1)[0])),
            tracker=ConflictTracker(env),
        )
        return cls(scenario, ctx, world_seq, backends)

    def backend(self, storage: str, at: Attachment) -> Backend:
        """A new backend for ``storage``, from the registry."""
        return backend_factory(storage, self.backends)(self.ctx, at)
