"""One calibration run: check what the host allows, run each experiment, write the file.

Like a pre-flight checklist followed by the flight plan, :func:`calibrate` first finds
out what this host lets it do (mount overlay? attach a loop device? mount a tmpfs?),
says what it cannot measure and why, then runs the experiments of :data:`EXPERIMENTS`
in order inside the locked work directory, and writes the measurement file only when
every experiment has finished. Whatever happens (an error, Ctrl-C, SIGTERM), the work
directory's clean-up unmounts everything and removes every file before it returns.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from storsim.calibrate import concurrency, copyup, datapath, host, lookups, remote, system
from storsim.calibrate.context import Context, Engine, Progress
from storsim.calibrate.fio import choose_engine
from storsim.calibrate.layers import META_OFF, META_ON, LoopFs, probe_overlay
from storsim.calibrate.plan import FULL, QUICK, Plan
from storsim.calibrate.schema import Experiment, Measurements, dump_measurements
from storsim.calibrate.workspace import Workspace, WorkspaceError, signals_raise
from storsim.errors import StorsimError
from storsim.files import write_atomic

__all__ = ["EXPERIMENTS", "Spec", "calibrate", "default_dir"]


@dataclass(frozen=True, slots=True)
class Spec:
    """One experiment of the run.

    Attributes:
        name: its name in the file and in ``--only``.
        run: the function that measures it.
        needs: what it cannot run without: ``"overlay"``, ``"loop"`` (optional: only
            its cold state), ``"tmpfs"``, ``"remote"``.
    """

    name: str
    run: Callable[[Context], Experiment]
    needs: tuple[str, ...] = ()


EXPERIMENTS = (
    Spec("timer", host.timer),
    Spec("data_path", datapath.data_path),
    Spec("data_path_tmpfs", datapath.data_path_tmpfs, ("tmpfs",)),
    Spec("copy_up", copyup.copy_up, ("overlay",)),
    Spec("copy_up_meta", copyup.copy_up_meta, ("overlay",)),
    Spec("data_path_overlay", datapath.data_path_overlay, ("overlay",)),
    Spec("lookup", lookups.lookup, ("overlay", "loop")),
    Spec("lookup_depth", lookups.lookup_depth, ("overlay", "loop")),
    Spec("readdir", lookups.readdir, ("overlay", "loop")),
    Spec("rmw", concurrency.rmw),
    Spec("append_race", concurrency.append_race),
    Spec("remote_ops", remote.remote_ops, ("remote",)),
    Spec("remote_staleness", remote.remote_staleness, ("remote",)),
)
NAMES = tuple(spec.name for spec in EXPERIMENTS)


def default_dir() -> Path:
    """``storsim-calibrate`` in Docker's data root if it exists and is writable, else in
    the temporary directory: the same place every run, so that a run finds what a
    killed earlier run left there."""
    root = Path("/var/lib/docker")
    with contextlib.suppress(OSError, ValueError, AttributeError):
        configured = json.loads(Path("/etc/docker/daemon.json").read_text()).get("data-root")
        if configured:
            root = Path(configured)
    if root.is_dir() and os.access(root, os.W_OK):
        return root / "storsim-calibrate"
    return Path(tempfile.gettempdir()) / "storsim-calibrate"


def _why(error: BaseException) -> str:
    if isinstance(error, OSError) and error.errno == 1:  # EPERM
        return f"not permitted (needs root, CAP_SYS_ADMIN): {error.strerror}"
    if isinstance(error, subprocess.CalledProcessError):
        return f"{error.cmd[0]} failed: {(error.stderr or b'').decode(errors='replace').strip()}"
    return str(error)


def _check_paths(root: Path, output: Path, remotes: Sequence[tuple[Path, Path]]) -> None:
    for path, what in [(output, "-o"), *[(p, "--remote") for pair in remotes for p in pair]]:
        if Path(os.path.realpath(path)).is_relative_to(root):
            raise WorkspaceError(
                f"{what} must be outside the work directory {root}, which is removed "
                f"at the end (got {str(path)!r})"
            )
    if output.exists() and not output.is_file():
        raise WorkspaceError(f"-o must be a regular file (got {str(output)!r})")
    if not output.parent.is_dir():
        raise WorkspaceError(f"-o: folder {str(output.parent)!r} does not exist")


def calibrate(
    *,
    directory: Path | None = None,
    remotes: Sequence[str] = (),
    quick: bool = False,
    output: Path,
    engine: str = "auto",
    only: Sequence[str] | None = None,
    argv: Sequence[str] = (),
    stream: TextIO | None = None,
) -> Measurements:
    """Measure this host and write the measurement file.

    Args:
        directory: the work directory (new, empty, or an earlier run's); default
            :func:`default_dir`.
        remotes: ``PATH`` or ``PATH=PEER`` of mounted remote directories.
        quick: the quick plan (CI) instead of the full one.
        output: the measurement file (JSON), written when the run completes.
        engine: ``"auto"``, ``"fio"`` or ``"python"`` for the data path.
        only: run only these experiments (names of :data:`EXPERIMENTS`).
        argv: the command line, recorded in the file.
        stream: where progress goes (stderr by default).

    Returns:
        What was written.

    Raises:
        WorkspaceError: the work directory or an output path is unsafe (nothing done).
        StorsimError: an unknown experiment name or a remote that is no directory;
            FioError (one) for ``engine="fio"`` without a usable fio.
        Interrupted: SIGINT, SIGTERM or SIGHUP; everything was cleaned up, nothing written.
    """
    started = time.monotonic()
    selected = [s for s in EXPERIMENTS if only is None or s.name in only]
    unknown = sorted(set(only or ()) - set(NAMES))
    if unknown:
        raise StorsimError(f"--only must name experiments of {', '.join(NAMES)} (got {unknown})")
    try:
        pairs = [remote.parse_remote(text) for text in remotes]
    except ValueError as error:
        raise StorsimError(str(error)) from None
    if not pairs:
        selected_remote = [s.name for s in selected if "remote" in s.needs]
        selected = [s for s in selected if "remote" not in s.needs]
    else:
        selected_remote = []
    chosen = choose_engine(engine)
    directory = directory or default_dir()
    output = Path(os.path.abspath(output))
    _check_paths(Path(os.path.realpath(directory)), output, pairs)
    plan = QUICK if quick else FULL
    progress = Progress(len(selected), stream)
    try:
        doc = _run(directory, plan, chosen, progress, selected, selected_remote, pairs, argv)
    finally:
        progress.close()  # an interrupt's message starts on a line of its own
    doc.duration_s = time.monotonic() - started
    write_atomic(output, dump_measurements(doc))
    return doc


def _run(
    directory: Path,
    plan: Plan,
    chosen: Engine,
    progress: Progress,
    selected: list[Spec],
    selected_remote: list[str],
    pairs: list[tuple[Path, Path]],
    argv: Sequence[str],
) -> Measurements:
    """Claim the work directory, probe the host and run the experiments in it."""
    with signals_raise(), Workspace.claim(directory, say=progress.note) as ws:
        ctx = _context(ws, plan, chosen, progress, selected, pairs)
        for name in selected_remote:
            ctx.skip(name, "no --remote PATH given")
        facts = host.host_facts(ws.root) | {
            "engine": {
                "name": chosen.name,
                "fio_version": chosen.fio_version,
                "reason": chosen.reason,
            },
            "loopfs": _loop_facts(ctx),
            "overlay": {"home": ctx.overlay_home_fs or None, "metacopy": ctx.metacopy},
            "tmpfs": str(ctx.tmpfs) if ctx.tmpfs else None,
            "remotes": [{"path": str(p), "peer": str(q)} for p, q in pairs],
        }
        experiments = []
        for spec in selected:
            progress.experiment(spec.name)
            missing = _missing(ctx, spec)
            if missing is not None:
                ctx.skip(spec.name, missing)
                continue
            try:
                experiments.append(spec.run(ctx))
            except (OSError, RuntimeError, subprocess.SubprocessError) as error:
                # One experiment's failure (ENOSPC, fio's error) must not lose the others.
                ctx.skip(spec.name, f"failed: {type(error).__name__}: {error}")
        facts["loadavg_end"] = host.loadavg()
        return Measurements(
            created_utc=datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            storsim_version=_version(),
            mode="quick" if plan is QUICK else "full",
            argv=list(argv),
            duration_s=0.0,  # the caller sets it, clean-up included
            host=facts,
            experiments=experiments,
            skipped=ctx.skipped,
        )


def _version() -> str:
    from storsim import __version__

    return __version__


def _context(
    ws: Workspace,
    plan: Plan,
    engine: Engine,
    progress: Progress,
    selected: list[Spec],
    remotes: list[tuple[Path, Path]],
) -> Context:
    """Probe the host: where overlay, the loop file system and a tmpfs can be had."""
    backing = ws.root / "backing"
    backing.mkdir()
    entry = system.mount_of(ws.root)
    ctx = Context(
        ws=ws,
        plan=plan,
        engine=engine,
        progress=progress,
        backing=backing,
        backing_fs_type=entry.fstype if entry else "unknown",
        remotes=remotes,
    )
    needs = {need for spec in selected for need in spec.needs}
    reasons = ctx.unavailable
    if "loop" in needs:
        progress.step("making the loop file system", force=True)
        try:
            ctx.loopfs = LoopFs.create(ws, plan)
        except (OSError, subprocess.SubprocessError) as error:
            reasons["loop"] = _why(error)
            progress.note(f"no loop file system, so no cold lookups: {reasons['loop']}")
    if "overlay" in needs:
        progress.step("probing overlayfs", force=True)
        why = probe_overlay(ws, backing, META_OFF)
        if why is None:
            ctx.overlay_home, ctx.overlay_home_fs = backing, ctx.backing_fs_type
        elif ctx.loopfs is not None and probe_overlay(ws, ctx.loopfs.mountpoint, META_OFF) is None:
            ctx.overlay_home = ctx.loopfs.mountpoint
            ctx.overlay_home_fs = f"loop ext4 ({ctx.loopfs.device})"
            progress.note(f"overlay cannot use {ctx.backing_fs_type} ({why}): using the loop ext4")
        else:
            reasons["overlay"] = f"cannot mount overlayfs: {why}" + (
                " (needs root, CAP_SYS_ADMIN)" if os.geteuid() != 0 or "permitted" in why else ""
            )
        if ctx.overlay_home is not None:
            ctx.metacopy = probe_overlay(ws, ctx.overlay_home, META_ON) is None
    if "tmpfs" in needs:
        ctx.tmpfs, why_tmpfs = _tmpfs(ws, plan)
        if ctx.tmpfs is None:
            reasons["tmpfs"] = why_tmpfs
    return ctx


def _tmpfs(ws: Workspace, plan: Plan) -> tuple[Path | None, str]:
    """A tmpfs of our own (root), else a directory of /dev/shm if that is a tmpfs."""
    target = ws.root / "tmpfs"
    target.mkdir()
    size = 4 * (plan.data_file_bytes + plan.large_file_bytes) + (64 << 20)
    try:
        ws.mount(
            "tmpfs", target, "tmpfs", f"size={size},mode=0700",
            flags=system.MS_NOSUID | system.MS_NODEV,
        )  # fmt: skip
        return target, ""
    except OSError as error:
        mine = _why(error)
    shm = Path("/dev/shm")
    entry = system.mount_of(shm) if shm.is_dir() else None
    if entry is not None and entry.fstype == "tmpfs" and os.access(shm, os.W_OK):
        free = shutil.disk_usage(shm).free
        if free > 2 * size:
            return ws.foreign_dir(shm), ""
    return None, f"cannot mount a tmpfs ({mine}) and /dev/shm is no writable tmpfs"


def _loop_facts(ctx: Context) -> dict[str, object] | None:
    fs = ctx.loopfs
    if fs is None:
        reason = ctx.unavailable.get("loop")
        return {"available": False, "reason": reason} if reason else None
    return {
        "available": True,
        "device": fs.device,
        "direct_io": fs.direct_io,
        "image_bytes": ctx.plan.loop_image_bytes,
        "mkfs": fs.mkfs,
    }


def _missing(ctx: Context, spec: Spec) -> str | None:
    reasons = ctx.unavailable
    for need in spec.needs:
        if need == "overlay" and ctx.overlay_home is None:
            return reasons.get("overlay", "overlayfs cannot be mounted")
        if need == "tmpfs" and ctx.tmpfs is None:
            return reasons.get("tmpfs", "no tmpfs")
    return None


def print_summary(doc: Measurements, output: Path, stream: TextIO | None = None) -> None:
    """One line per experiment (points, samples, seconds) and what was skipped."""
    stream = stream or sys.stderr
    for experiment in doc.experiments:
        samples = sum(len(p.samples_s) for p in experiment.points)
        print(
            f"  {experiment.name:<18} {len(experiment.points):>4} points "
            f"{samples:>8} samples {experiment.duration_s:>7.1f} s",
            file=stream,
        )
    for skipped in doc.skipped:
        print(f"  {skipped.name:<18} not measured: {skipped.reason}", file=stream)
    minutes, secs = divmod(int(doc.duration_s), 60)
    print(
        f"calibrate: wrote {output} ({doc.mode}, {len(doc.experiments)} experiments, "
        f"{minutes}:{secs:02d})",
        file=stream,
    )
