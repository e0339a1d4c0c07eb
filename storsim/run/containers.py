"""Containers: ``docker run`` (create + start), ``stop``, ``start`` and ``rm`` at their times.

Like the stage directions of a play, one line per entrance and exit: each replica of a
service is one process that follows its lifecycle. ``run`` builds a new container run:
a fresh writable layer over the image's layers, its mounts (named and anonymous
volumes, bind mounts, tmpfs), each with the backend its storage choice registers
(:mod:`storsim.backends.registry`), and the content its ``prefill`` writes; then its
workloads start. ``stop`` ends them (a tmpfs loses its files), ``start`` starts them
again, ``rm`` loses the writable layer and leaves anonymous volumes behind.

Start-up: a new, empty volume (named or anonymous) mounted over an image directory
that holds files is filled with them before the container starts ([D5], [D7];
figures doc V1: "cost is proportional to the bytes and files there"; ``nocopy``
avoids it). Docker makes that copy with a tar stream from the container's root file
system into the volume (moby ``copyExistingContents``: ``chrootarchive.CopyWithTar``),
a userspace copy, so each file costs what a workload's ``stat`` and ``read`` of it in
the image cost (the cold lookup through the layers, the data from the page cache or
the disk, one memory copy out) and what a ``create`` of it with its bytes costs on the
volume (the new entry, one memory copy into the page cache, dirty until an ``fsync``
writes it back: the tar does not sync); directories and symlinks cost a ``mkdir`` and a
``symlink``. Files are copied one after another, and the container's workloads start
when the last is copied: that wait is the container's start-up time
(``EventRecord.startup_s`` of its ``run``; ``Result.startup``). A 512 MiB database
shipped in the image is a 512 MiB copy at the first ``run``; a second replica that
mounts the same named volume finds it filled and starts at once.
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import simpy

from storsim.backends import Attachment, Backend, spend
from storsim.errors import ScenarioError
from storsim.fs import Changed, ContainerView, FsError, Mount, Node, OverlayFS, PlainFS, Read
from storsim.records import EventRecord
from storsim.run.context import SimContext
from storsim.run.ops import OP_TABLE
from storsim.run.workload import start_workload
from storsim.run.world import World, content_entries
from storsim.scenario import Content, MountSpec, ServiceSpec

__all__ = [
    "ContainerRun",
    "VolumeCopy",
    "create",
    "lifecycle",
    "populate",
    "start_containers",
    "visible_files",
]


@dataclass(frozen=True, slots=True)
class VolumeCopy:
    """What Docker copies into one new, empty volume before the container starts.

    Attributes:
        target: the volume's mount point in the container (where the image's files were).
        entries: the image's entries below ``target``, as ``(path inside the volume,
            node)`` in path order (parents before their children).
    """

    target: str
    entries: tuple[tuple[str, Node], ...]


@dataclass(slots=True, eq=False)
class ContainerRun:
    """One container between its ``run`` and its ``rm``: what its workloads need."""

    name: str
    service: str
    replica: int
    view: ContainerView
    backends: dict[str | None, Backend]  # mount target (None = the root overlay) -> backend
    # image content ``docker run`` copies into new empty volumes before the start
    copies: list[VolumeCopy] = field(default_factory=list)
    running: bool = True
    generation: int = 0  # bumped at each stop, so that workloads of an old start end
    run_index: int = 0  # this is the replica's n-th `docker run` (from 0)
    _matches: dict[str, list[str]] = field(default_factory=dict)

    def fill(self, template: str, iteration: int, thread: int) -> str:
        """A path template with ``{i}``, ``{thread}``, ``{replica}``, ``{run}``, ``{start}``."""
        return template.format(
            i=iteration,
            thread=thread,
            replica=self.replica,
            run=self.run_index,
            start=self.generation,
        )

    def matches(self, pattern: str) -> list[str]:
        """Files matching a glob pattern, listed once per run (``*`` also matches ``/``)."""
        found = self._matches.get(pattern)
        if found is None:
            regex = re.compile(fnmatch.translate(pattern))
            found = [p for p in visible_files(self.view) if regex.match(p)]
            self._matches[pattern] = found
        return found


def visible_files(view: ContainerView) -> list[str]:
    """Every regular file the container sees, mounts included, sorted."""
    files: list[str] = []
    mounts = sorted(view.mounts, key=lambda m: len(m.target), reverse=True)
    targets = [m.target for m in mounts]

    def hidden(path: str) -> bool:
        return any(path == t or path.startswith(t.rstrip("/") + "/") for t in targets)

    for path, node in view.root.visible_tree().items():
        if node.kind == "file" and not hidden(path):
            files.append(path)
    for mount in mounts:
        root = mount.source_root.rstrip("/")
        for path, node in mount.fs.visible_tree().items():
            if node.kind != "file" or not (path == root or path.startswith(root + "/")):
                continue
            inner = path[len(root) :] if root else path
            outer = mount.target.rstrip("/") + inner
            # a deeper mount hides what a shallower one has below its target
            if not any(
                t != mount.target and (outer == t or outer.startswith(t.rstrip("/") + "/"))
                for t in targets
                if len(t) > len(mount.target)
            ):
                files.append(outer)
    return sorted(files)


def start_containers(world: World) -> None:
    """Start one lifecycle process per replica of every service (seeds in service order)."""
    scenario, env = world.scenario, world.ctx.env
    service_seeds = world.workload_seeds.spawn(len(scenario.services))
    for (sname, svc), sseq in zip(scenario.services.items(), service_seeds, strict=True):
        for replica, rseq in enumerate(sseq.spawn(svc.deploy.replicas), start=1):
            env.process(lifecycle(world, sname, svc, replica, rseq))


def create(
    world: World, sname: str, svc: ServiceSpec, replica: int, name: str
) -> tuple[ContainerRun, list[PlainFS], list[PlainFS]]:
    """``docker run``'s create half: a fresh writable layer, mounts, anonymous volumes.

    Each file system gets its backend from the registry (``world.backends``) by its
    storage choice.
    """
    scenario = world.scenario
    overlay = scenario.host.overlay
    root = OverlayFS(
        world.stacks[svc.image], metacopy=overlay.metacopy, redirect_dir=overlay.redirect_dir
    )
    upper_key = ("upper", name, next(world.anonymous))
    backends: dict[str | None, Backend] = {
        None: world.backend(
            "writable_layer", Attachment(fs=root, key=upper_key, image=("lower", svc.image))
        )
    }
    mounts: list[Mount] = []
    copies: list[VolumeCopy] = []
    anonymous: list[PlainFS] = []
    tmpfs: list[PlainFS] = []
    declared = {m.target for m in svc.mounts}
    image = scenario.images[svc.image]
    specs: list[MountSpec] = list(svc.mounts) + [
        MountSpec(type="volume", target=t) for t in image.volumes if t not in declared
    ]
    for m in specs:
        server: str | None = None
        source_root = "/"
        subpath = m.volume.subpath if m.type == "volume" and m.volume is not None else None
        if m.type == "volume":
            storage = "volume"
            if m.source is None:  # anonymous: a new one at every run (Dockerfile VOLUME)
                fs = PlainFS()
                anonymous.append(fs)
                key: object = ("anon", next(world.anonymous))
            else:
                fs = world.volumes[m.source]
                key = ("volume", m.source)
            nocopy = m.volume is not None and m.volume.nocopy
            if subpath is not None:
                _check_subpath(fs, sname, svc, m, subpath)
            elif not nocopy and not fs.visible_tree().keys() - {"/"}:
                # Docker copies the image's content at the target into a new empty volume
                # (now, so that the container sees it; its time is spent before the start).
                entries = _copy_image_dir(root, m.target, fs)
                if entries:
                    copies.append(VolumeCopy(m.target, entries))
        elif m.type == "tmpfs":
            storage = "tmpfs"
            fs = PlainFS()
            tmpfs.append(fs)
            key = ("tmpfs", name, m.target)
        else:
            assert m.source is not None
            place = scenario.bind_sources[m.source]  # a directory or a file of a host tree
            fs, source_root = world.binds[place.root], place.inner
            remote = m.remote if m.remote and m.remote[0] in scenario.host.remotes else None
            if remote is not None:
                storage, server, key = "distributed_bind", remote[0], ("remote", place.root)
            else:
                storage, key = "local_bind", ("bind", place.root)
        backend = world.backend(storage, Attachment(fs=fs, key=key, server=server))
        backends[m.target] = backend
        mounts.append(
            Mount(
                m.target,
                fs,
                storage,
                read_only=m.read_only,
                source_root="/" + subpath if subpath is not None else source_root,
                unsupported=backend.unsupported,
                unsupported_errno=backend.unsupported_errno,
                # only a remote profile refuses some operations with their own errno
                unsupported_errnos=getattr(backend, "unsupported_errnos", {}),
            )
        )
    view = ContainerView(root, mounts, read_only=svc.read_only)  # docker run --read-only
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
    for base, content in svc.prefill.items():
        _prefill(view, sname, base, content, np.random.default_rng(0))
    run = ContainerRun(
        name=name, service=sname, replica=replica, view=view, backends=backends, copies=copies
    )
    return run, anonymous, tmpfs


def _check_subpath(fs: PlainFS, sname: str, svc: ServiceSpec, m: MountSpec, subpath: str) -> None:
    """Docker refuses to create a container whose volume subpath is missing or no
    directory (``docker run``: "cannot access path ... no such file or directory")."""
    try:
        kind = fs.stat("/" + subpath).kind
    except FsError:
        kind = None
    if kind != "dir":
        index = svc.volumes.index(m) if m in svc.volumes else 0
        where = f"services.{sname}.volumes[{index}].volume.subpath"
        what = "is not a directory" if kind is not None else "does not exist"
        raise ScenarioError(
            f"{where}: {subpath!r} {what} in volume {m.source!r} when the container is "
            "created (Docker refuses it: give the volume that content under sources)",
            where=where,
        )


def _copy_image_dir(root: OverlayFS, target: str, fs: PlainFS) -> tuple[tuple[str, Node], ...]:
    """Fill ``fs`` with the image's entries below ``target``; returns them, in path order."""
    base = target.rstrip("/")
    entries = {
        p[len(base) :] or "/": node
        for p, node in root.visible_tree().items()
        if p.startswith(base + "/") and node.kind in ("file", "dir", "symlink")
    }
    if entries:
        fs.populate(entries)
    return tuple(sorted(entries.items()))


_STAT, _READ, _CREATE, _MKDIR, _SYMLINK = (
    OP_TABLE[op].cost for op in ("stat", "read", "create", "mkdir", "symlink")
)
_MADE = Changed(copy_up_bytes=0)


def populate(ctx: SimContext, run: ContainerRun) -> Generator[simpy.Event, Any, int]:
    """Spend the time of Docker's copies into new empty volumes (``run.copies``), one
    entry after another, before the container starts (see the module docstring).

    Each file is looked up and read in the container's root file system (its overlay
    backend: the image's layers) and created with its bytes in the volume (the
    volume's backend); a directory is made, a symlink created.

    Args:
        ctx: the run's context.
        run: the container run, just created.

    Returns:
        A generator to ``yield from``; it returns the bytes copied.
    """
    cpu = ctx.host.cpu  # the operations' CPU parts run on the host's cores
    image = run.backends[None]
    root = run.view.root
    copied = 0
    for copy in run.copies:
        volume = run.backends[copy.target]
        base = copy.target.rstrip("/")
        for inner, node in copy.entries:
            if inner == "/":  # the volume's own root: it exists
                continue
            outer = base + inner
            found = root.stat(outer)  # the tar's lstat: a lookup through the layers
            yield from spend(cpu, image.charge(_STAT, outer, found, 0, 0))
            if node.kind == "dir":
                yield from spend(cpu, volume.charge(_MKDIR, inner, _MADE, 0, 0))
            elif node.kind == "symlink":
                yield from spend(cpu, volume.charge(_SYMLINK, inner, _MADE, 0, 0))
            else:
                size = node.size_bytes
                data = Read(nbytes=size, layer=found.layer)
                yield from spend(cpu, image.charge(_READ, outer, data, size, 0))
                yield from spend(cpu, volume.charge(_CREATE, inner, _MADE, size, 0))
                copied += size
    return copied


def _prefill(
    view: ContainerView, service: str, base: str, content: Content, rng: np.random.Generator
) -> None:
    """Write ``content`` below ``base`` as the container's first-run init does, before
    its workloads start (the service's ``prefill``): through the container's view, so on
    whatever storage holds ``base``, at no simulated time.

    Raises:
        ScenarioError: the content cannot be written there (a file of the image where a
            directory is needed, say).
    """
    root = base.rstrip("/")
    try:
        for d in sorted(content.dirs):
            _mkdirs(view, root + d)
        for path, size in content_entries(content, rng).items():
            full = root + path
            _mkdirs(view, full.rsplit("/", 1)[0])
            view.open(full, write=True, create=True, trunc=True)
            if size:
                view.write(full, 0, size)
        for path, target in content.symlinks.items():
            _mkdirs(view, (root + path).rsplit("/", 1)[0])
            view.symlink(target, root + path)
    except FsError as error:
        where = f"services.{service}.prefill[{json.dumps(base)}]"
        raise ScenarioError(
            f"{where} cannot be written in the container: {error}", where=where
        ) from None


def _mkdirs(view: ContainerView, path: str) -> None:
    parts = [p for p in path.split("/") if p]
    for i in range(1, len(parts) + 1):
        sub = "/" + "/".join(parts[:i])
        try:
            view.stat(sub)
        except FsError:  # missing: create it
            view.mkdir(sub)


def lifecycle(
    world: World, sname: str, svc: ServiceSpec, replica: int, seq: np.random.SeedSequence
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
            run, anonymous, tmpfs = create(world, sname, svc, replica, name)
            run.run_index = runs
            runs += 1
            t_run = env.now
            copied = (yield from populate(world.ctx, run)) if run.copies else 0
            startup_s = env.now - t_run
            rec.event(EventRecord(t_run, name, sname, "run", "", 0, 0, 0, startup_s, copied))
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
