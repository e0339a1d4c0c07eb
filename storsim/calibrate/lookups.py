"""Lookup and directory-listing experiments through many lower layers.

Like asking for a book in a library with N floors of stacks, searched top floor down:
a name that exists only on the ground floor is asked for on every floor on the way, and
a name that does not exist at all is asked for on every floor (``ovl_lookup`` stops at
a hit, an opaque directory or the bottom layer, [K1]). The first time a floor is
searched its catalogue must be fetched from the cellar (a cold directory block); after
that it is on the desk (the dentry cache).

Three states per point, each on its own set of mounts:

- ``cold``: the layers' file system (:class:`~storsim.calibrate.layers.LoopFs`) was just
  remounted (its page cache, dentries and inodes dropped) and the overlay is new: each
  lookup reads directory blocks and inodes from the device. The layers' root
  directories are read by the first lookup and found cached by the later ones of the
  same pass, as a container's later first-lookups find them.
- ``fresh``: a new overlay mount over layers whose file system caches are warm: the
  overlay's own dentries are new, each lookup walks the layers in memory.
- ``warm``: the same lookup again on the same mount: the overlay's dentry cache answers.

``layers = 0`` is the plain file system (no overlay), the baseline of every slope; it
includes Python's cost of one ``os.stat`` call (and of raising FileNotFoundError on a
miss), which the ``timer`` experiment measures alone.
"""

from __future__ import annotations

import ctypes
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from storsim.calibrate import system
from storsim.calibrate.context import Context, seconds
from storsim.calibrate.layers import META_OFF, build_stack, overlay
from storsim.calibrate.schema import Experiment, Point

__all__ = ["lookup", "lookup_depth", "readdir"]

Pass = Callable[[Path, str], list[int]]


def _home(ctx: Context) -> tuple[Path, str]:
    if ctx.loopfs is not None:
        return ctx.loopfs.mountpoint, f"loop ext4 ({ctx.loopfs.device})"
    assert ctx.overlay_home is not None
    return ctx.overlay_home, ctx.overlay_home_fs


@dataclass(slots=True)
class _Stack:
    """One point's directories: a layer stack (``lowers``) or the plain file system's
    directory (``plain``), what one pass over it times, and its results.

    Attributes:
        lowers: the layer directories, top first, or None for the plain file system.
        plain: the plain file system's directory (``lowers`` None).
        one_pass: times one pass of one kind.
        label: for the progress line.
        out: state -> (kind -> nanosecond samples), filled by :func:`_states`.
    """

    lowers: list[Path] | None
    plain: Path | None
    one_pass: Pass
    label: str
    out: dict[str, dict[str, list[int]]] = field(default_factory=dict)

    def add(self, state: str, kind: str, values: list[int]) -> None:
        self.out.setdefault(state, {}).setdefault(kind, []).extend(values)


def _states(ctx: Context, stacks: Sequence[_Stack], kinds: Sequence[str]) -> None:
    """Run each stack's pass for each kind in every state the host allows, ``plan.reps``
    times, into its ``out``.

    Repetitions are the outer loop, and every other one visits the stacks in reverse
    order (as in copy_up): the host's device and CPU drift over minutes. In one full
    calibration on this project's development VM, cold listings that read one 4 KiB
    directory block took 110-230 us at the plain file system's point and about 80 us at
    the one-layer point measured next, a shape of the drift: the same two layouts
    measured alternately took the same 100-260 us. Each point's samples span the whole
    experiment instead.

    Each kind gets its own cold remount: a miss pass after a hit pass would find the
    inode-table blocks that the hits read (ext4 reads 32 of them ahead) and look cheaper
    than it is. The plain file system's directory is looked up once (untimed) after the
    remount, as an overlay mount looks up its layer directories before any lookup.
    """
    # The overlay's upper and work directories go to overlay_home (the backing file
    # system), not to the loop file system: it stays read-only while it is measured.
    home = ctx.overlay_home
    assert home is not None
    cold = ctx.loopfs is not None
    read_only = ctx.loopfs is not None and home != ctx.loopfs.mountpoint
    for rep in range(ctx.plan.reps):
        for stack in stacks if rep % 2 == 0 else reversed(stacks):
            ctx.progress.step(f"{stack.label}, repetition {rep + 1}/{ctx.plan.reps}")
            for kind in kinds:
                if ctx.loopfs is not None:
                    ctx.loopfs.remount_cold(read_only=read_only)
                if stack.lowers is None:
                    assert stack.plain is not None
                    if cold:
                        os.stat(stack.plain)
                        stack.add("cold", kind, stack.one_pass(stack.plain, kind))
                    stack.add("warm", kind, stack.one_pass(stack.plain, kind))
                    continue
                with overlay(ctx.ws, home, stack.lowers, options=META_OFF) as merged:
                    stack.add("cold" if cold else "fresh", kind, stack.one_pass(merged, kind))
                    stack.add("warm", kind, stack.one_pass(merged, kind))
                if cold:  # the layers' caches now hold this kind's directories
                    with overlay(ctx.ws, home, stack.lowers, options=META_OFF) as merged:
                        stack.add("fresh", kind, stack.one_pass(merged, kind))


def _stat_pass(names: dict[str, list[str]]) -> Pass:
    def one_pass(root: Path, kind: str) -> list[int]:
        paths = [os.path.join(root, r) for r in names[kind]]  # built outside the timing
        samples = []
        for path in paths:
            t0 = time.perf_counter_ns()
            try:  # noqa: SIM105 (contextlib.suppress would add its own cost)
                os.stat(path)
            except FileNotFoundError:
                pass
            samples.append(time.perf_counter_ns() - t0)
        return samples

    return one_pass


def _writable(ctx: Context) -> None:
    if ctx.loopfs is not None:  # a cold remount of the last point left it read-only
        ctx.loopfs.writable()


def _touch(path: Path) -> None:
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))


def _cold_note(ctx: Context, experiment: str) -> str | None:
    if ctx.loopfs is None:
        ctx.skip(f"{experiment}[cold]", "no loop file system to remount (see host.loopfs)")
        return None
    how = "direct I/O" if ctx.loopfs.direct_io else "no readahead, its pages dropped too"
    return (
        "cold: the layers' ext4 loop file system was unmounted and mounted again (its "
        f"page cache, dentries and inodes dropped; its image read with {how}) and the "
        "overlay mount is new; one remount per kind (hit, miss). fresh: a new overlay "
        "mount right after the cold and warm passes of the same kind (the layers' caches "
        "warm). warm: the same operation again on the same mount"
    )


def lookup(ctx: Context) -> Experiment:
    """stat of a name in the bottom layer (hit) and of a missing name (miss) against layers."""
    start = time.monotonic()
    home, fs = _home(ctx)
    cold = _cold_note(ctx, "lookup")
    paths = ctx.plan.lookup_paths
    hits = [f"h{k}/f" for k in range(paths)]
    misses = [f"m{k}/x" for k in range(paths)]
    one_pass = _stat_pass({"hit": hits, "miss": misses})
    stacks = []
    _writable(ctx)
    for layers in ctx.plan.lookup_layers:
        base = home / "lookup" / f"n{layers}"
        dirs = build_stack(base, layers) if layers else [base]
        for layer in dirs:
            layer.mkdir(parents=True, exist_ok=True)
            for k in range(paths):
                (layer / f"h{k}").mkdir()
                (layer / f"m{k}").mkdir()
        for k in range(paths):  # the file lives in the bottom layer only
            _touch(dirs[-1] / f"h{k}" / "f")
        stacks.append(
            _Stack(dirs if layers else None, None if layers else base, one_pass, f"{layers} layers")
        )
    if ctx.loopfs is not None:
        ctx.loopfs.sync()
    _states(ctx, stacks, ("hit", "miss"))
    points = [
        Point(
            params={"layers": layers, "result": kind, "state": state},
            samples_s=seconds(samples),
        )
        for layers, stack in zip(ctx.plan.lookup_layers, stacks, strict=True)
        for state, kinds in stack.out.items()
        for kind, samples in kinds.items()
    ]
    return Experiment(
        name="lookup",
        description="os.stat of DIR/f (hit: f is in the bottom layer, DIR in every layer) "
        "and of DIR/x (miss: x nowhere, DIR in every layer), one directory per sample; "
        "layers 0 is the plain file system",
        where=f"overlay on {fs}, options {META_OFF}",
        cold=cold,
        duration_s=time.monotonic() - start,
        points=points,
    )


def lookup_depth(ctx: Context) -> Experiment:
    """stat of a path of D components, each directory merged across the layers."""
    start = time.monotonic()
    home, fs = _home(ctx)
    cold = _cold_note(ctx, "lookup_depth")
    plan = ctx.plan
    stacks = []
    _writable(ctx)
    for depth in plan.depth_components:
        base = home / "depth" / f"d{depth}"
        stack = build_stack(base, plan.depth_layers)
        names = []
        for k in range(plan.lookup_paths):
            parts = [f"p{k}"] + ["c"] * (depth - 2) + ["f"] if depth > 1 else [f"p{k}"]
            names.append("/".join(parts))
            for layer in stack:  # every directory of the path in every layer: merged
                if depth > 1:
                    (layer / os.path.dirname(names[-1])).mkdir(parents=True)
            _touch(stack[-1] / names[-1])
        stacks.append(_Stack(stack, None, _stat_pass({"hit": names}), f"depth {depth}"))
    if ctx.loopfs is not None:
        ctx.loopfs.sync()
    _states(ctx, stacks, ("hit",))
    points = [
        Point(
            params={"depth": depth, "layers": plan.depth_layers, "state": state},
            samples_s=seconds(kinds["hit"]),
        )
        for depth, stack in zip(plan.depth_components, stacks, strict=True)
        for state, kinds in stack.out.items()
    ]
    return Experiment(
        name="lookup_depth",
        description="os.stat of p/c/.../f with depth components (the file included), "
        "every directory of the path present in every layer, f in the bottom layer",
        where=f"overlay on {fs}, options {META_OFF}",
        cold=cold,
        duration_s=time.monotonic() - start,
        points=points,
    )


def readdir(ctx: Context) -> Experiment:
    """Listing a directory merged across N layers with E entries spread over them."""
    start = time.monotonic()
    home, fs = _home(ctx)
    cold = _cold_note(ctx, "readdir")
    plan = ctx.plan
    buffer = ctypes.create_string_buffer(1 << 20)
    try:
        system.getdents_all(home, buffer)
        method = "getdents64"
    except NotImplementedError:
        method = "os.listdir"
    names = [f"r{k}" for k in range(plan.readdir_dirs)]

    def one_pass(root: Path, kind: str) -> list[int]:
        samples = []
        for name in names:
            path = root / name
            t0 = time.perf_counter_ns()
            if method == "getdents64":
                system.getdents_all(path, buffer)
            else:
                os.listdir(path)
            samples.append(time.perf_counter_ns() - t0)
        return samples

    built: list[tuple[int, int, Path, _Stack]] = []
    _writable(ctx)
    for layers in plan.readdir_layers:
        for entries in plan.readdir_entries:
            base = home / "readdir" / f"n{layers}-e{entries}"
            dirs = build_stack(base, layers) if layers else [base]
            for name in names:
                for layer in dirs:
                    (layer / name).mkdir(parents=True)
                for i in range(entries):  # entry i lives in layer i mod N
                    _touch(dirs[i % len(dirs)] / name / f"e{i}")
            label = f"{layers} layers, {entries} entries"
            lowers, plain = (dirs, None) if layers else (None, base)
            built.append((layers, entries, base, _Stack(lowers, plain, one_pass, label)))
    if ctx.loopfs is not None:
        ctx.loopfs.sync()
    _states(ctx, [b[3] for b in built], ("list",))
    points: list[Point] = []
    for layers, entries, base, stack in built:
        _check_listing(ctx, stack.lowers, base / names[0], entries)
        points.extend(
            Point(
                params={"layers": layers, "entries": entries, "state": state},
                samples_s=seconds(kinds["list"]),
            )
            for state, kinds in stack.out.items()
        )
    return Experiment(
        name="readdir",
        description=f"open(O_DIRECTORY) + {method} to the end + close of a directory with "
        "entries names, entry i in layer i mod layers (the directory itself in every "
        "layer); layers 0 is the plain file system",
        where=f"overlay on {fs}, options {META_OFF}",
        cold=cold,
        duration_s=time.monotonic() - start,
        points=points,
    )


def _check_listing(ctx: Context, lowers: list[Path] | None, plain: Path, entries: int) -> None:
    """The merged directory lists every entry once (a harness check, not timed)."""
    if lowers is None:
        found = len(os.listdir(plain))
    else:
        assert ctx.overlay_home is not None
        with overlay(ctx.ws, ctx.overlay_home, lowers) as merged:
            found = len(os.listdir(merged / plain.name))
    if found != entries:
        raise RuntimeError(f"merged listing has {found} entries, expected {entries}")
