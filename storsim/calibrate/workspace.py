"""The calibration's own directory: everything it makes lives there, or is named there.

Like a laboratory bench signed out in the lab's log book, the work directory carries a
marker file (``storsim-calibrate.json``) that names the run that holds it and every
mount point, loop device and outside directory that run uses, written *before* each is
made. Whoever finds the bench after a power cut reads the log and puts everything
away: the next run unmounts what a killed run left mounted (deepest first), detaches
its loop devices, removes its files, and only then starts.

Rules that keep user data safe:

- a directory is used only if it is new, empty, or holds a marker (an earlier run's
  bench); anything else is refused (:class:`WorkspaceError`), as is a symlink or a
  directory owned by another user;
- the directory is locked (``flock`` on the directory itself) while a run uses it, so
  two runs never share one, and a marker whose lock is free belongs to a dead run;
- nothing is deleted while a mount remains below it (``/proc/self/mountinfo`` is read
  first), so a failed unmount can never turn into deleting files through a mount;
- a mount below the directory that the marker does not name is not ours: it is left
  alone and the run refuses to start.

Signals: inside :func:`signals_raise`, SIGINT, SIGTERM and SIGHUP raise
:class:`Interrupted`, so that ``finally`` blocks unwind the run; :meth:`Workspace.close`
ignores them while it cleans up (a second Ctrl-C would otherwise leave half a cleanup).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from multiprocessing.process import BaseProcess
from pathlib import Path
from types import FrameType
from typing import Any

from storsim.calibrate import system
from storsim.errors import StorsimError

__all__ = ["MARKER", "Interrupted", "Workspace", "WorkspaceError", "signals_raise"]

MARKER = "storsim-calibrate.json"
OWNER = ".storsim-calibrate-owner"  # in each directory made outside the work directory
FOREIGN_PREFIX = "storsim-calibrate-"
_TOOL = "storsim calibrate"
_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class WorkspaceError(StorsimError):
    """The work directory cannot be used safely (the run refuses to start)."""


class Interrupted(KeyboardInterrupt):
    """The run got SIGINT, SIGTERM or SIGHUP; ``signum`` says which."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


@contextlib.contextmanager
def signals_raise() -> Iterator[None]:
    """Within the block, SIGINT, SIGTERM and SIGHUP raise :class:`Interrupted`."""

    def handler(signum: int, frame: FrameType | None) -> None:
        raise Interrupted(signum)

    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread may set handlers; a caller's thread keeps its own
        return
    old = {sig: signal.signal(sig, handler) for sig in _SIGNALS}
    try:
        yield
    finally:
        for sig, previous in old.items():
            signal.signal(sig, previous)


@contextlib.contextmanager
def _signals_ignored() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = {sig: signal.signal(sig, signal.SIG_IGN) for sig in _SIGNALS}
    try:
        yield
    finally:
        for sig, previous in old.items():
            signal.signal(sig, previous)


def _stderr(text: str) -> None:
    print(f"calibrate: {text}", file=sys.stderr, flush=True)


@dataclass(slots=True)
class _Marker:
    run_id: str
    pid: int
    started: float
    created: bool = False  # the run made the directory: the last clean-up removes it
    mounts: list[str] = field(default_factory=list)
    loops: list[dict[str, str]] = field(default_factory=list)
    foreign_dirs: list[str] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps(
            {
                "tool": _TOOL,
                "run_id": self.run_id,
                "pid": self.pid,
                "started": self.started,
                "created": self.created,
                "mounts": self.mounts,
                "loops": self.loops,
                "foreign_dirs": self.foreign_dirs,
            },
            indent=1,
        )

    @classmethod
    def read(cls, path: Path) -> _Marker | None:
        """The marker at ``path``, or None when it is not one of ours."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("tool") != _TOOL:
                return None
            return cls(
                run_id=str(data["run_id"]),
                pid=int(data["pid"]),
                started=float(data["started"]),
                created=bool(data.get("created", False)),
                mounts=[str(m) for m in data["mounts"]],
                loops=[
                    {"device": str(x["device"]), "image": str(x["image"])} for x in data["loops"]
                ],
                foreign_dirs=[str(d) for d in data["foreign_dirs"]],
            )
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None


@dataclass(frozen=True, slots=True)
class Cleanup:
    """What a clean-up did (the CLI prints it)."""

    unmounted: int
    loops_detached: int
    left_mounted: tuple[str, ...]
    removed: bool


class Workspace:
    """A locked work directory and the mounts, loop devices and children of one run.

    Use :meth:`claim` to get one, then as a context manager: leaving the block (normally,
    by an exception or by :class:`Interrupted`) unmounts everything and removes every
    file the run made.

    Attributes:
        root: the work directory (absolute, symlinks resolved).
        run_id: this run's identifier (in the marker and in outside directories' names).
        recovered: what the clean-up after an earlier, killed run did, if there was one.
    """

    def __init__(
        self,
        root: Path,
        lock_fd: int,
        *,
        created: bool,
        recovered: Cleanup | None,
        say: Callable[[str], None],
    ) -> None:
        self.root = root
        self.run_id = uuid.uuid4().hex[:12]
        self.recovered = recovered
        self._lock_fd = lock_fd
        self._created = created
        self._say = say
        self._marker = _Marker(
            run_id=self.run_id, pid=os.getpid(), started=time.time(), created=created
        )
        self._loops: list[tuple[system.LoopDevice, Path]] = []
        self._children: list[subprocess.Popen[Any] | BaseProcess] = []
        self._closed = False
        self._write_marker()

    # ------------------------------------------------------------------ claiming

    @classmethod
    def claim(cls, path: Path, *, say: Callable[[str], None] = _stderr) -> Workspace:
        """Take ``path`` as the work directory, cleaning up after a killed earlier run.

        Args:
            path: a new, empty, or earlier work directory.
            say: where to report a clean-up of an earlier run (stderr by default).

        Raises:
            WorkspaceError: the path holds other data, is a symlink, a file or another
                user's, a live run holds it, or an earlier run left a mount that cannot
                be removed.
        """
        path = Path(os.path.abspath(path))
        if path == Path(path.anchor):
            raise WorkspaceError(f"--dir must not be the root directory (got {str(path)!r})")
        created, recovered = False, None
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            os.makedirs(path, mode=0o700)
            created = True
        else:
            cls._check_owned(path, st)
        root = Path(os.path.realpath(path))
        lock_fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            marker = _Marker.read(root / MARKER)
            if not created and marker is None and os.listdir(root):
                raise WorkspaceError(
                    f"{root} is not empty and is not a work directory of storsim calibrate: "
                    "it would modify your data there; give a new or an empty directory"
                )
            try:
                fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                pid = marker.pid if marker else "?"
                raise WorkspaceError(
                    f"{root} is in use by another storsim calibrate (pid {pid})"
                ) from None
            if marker is not None:
                recovered = _recover(root, marker)
                created = created or marker.created
                say(
                    f"cleaned up after an earlier run (pid {marker.pid}) in {root}: "
                    f"{recovered.unmounted} mount(s) unmounted, "
                    f"{recovered.loops_detached} loop device(s) detached"
                )
            return cls(root, lock_fd, created=created, recovered=recovered, say=say)
        except BaseException:
            os.close(lock_fd)
            raise

    @staticmethod
    def _check_owned(path: Path, st: os.stat_result) -> None:
        import stat

        if stat.S_ISLNK(st.st_mode):
            raise WorkspaceError(f"--dir must not be a symlink (got {str(path)!r})")
        if not stat.S_ISDIR(st.st_mode):
            raise WorkspaceError(f"--dir must be a directory (got {str(path)!r}, a file)")
        if st.st_uid != os.geteuid():
            raise WorkspaceError(f"--dir must be owned by you (got {str(path)!r})")

    # ------------------------------------------------------------------ resources

    def mount(
        self,
        source: str,
        target: Path,
        fstype: str,
        data: str = "",
        *,
        flags: int = 0,
        cwd: Path | None = None,
    ) -> None:
        """Mount below the work directory; the marker names the mount point first.

        Raises:
            ValueError: ``target`` is outside the work directory.
            OSError: the kernel refused.
        """
        target = Path(os.path.abspath(target))
        if not target.is_relative_to(self.root) or target == self.root:
            raise ValueError(f"mount point must be below {self.root} (got {target})")
        if str(target) not in self._marker.mounts:
            self._marker.mounts.append(str(target))
            self._write_marker()
        system.mount(source, target, fstype, data, flags=flags, cwd=cwd)

    def umount(self, target: Path) -> None:
        """Unmount a mount point of this run."""
        system.umount(Path(os.path.abspath(target)))

    def attach_loop(self, image: Path) -> system.LoopDevice:
        """Attach an image below the work directory to a loop device (named in the marker)."""
        image = Path(os.path.abspath(image))
        if not image.is_relative_to(self.root):
            raise ValueError(f"loop image must be below {self.root} (got {image})")
        loop = system.attach_loop(image)
        self._loops.append((loop, image))
        self._marker.loops.append({"device": str(loop.path), "image": str(image)})
        self._write_marker()
        return loop

    def foreign_dir(self, parent: Path) -> Path:
        """Make this run's own directory inside ``parent`` (a remote mount, /dev/shm).

        It is named ``storsim-calibrate-<run id>`` and holds an owner file, so that a
        later clean-up removes it only when it is certainly ours. Asking again for the
        same parent returns the same directory.
        """
        path = Path(os.path.abspath(parent)) / f"{FOREIGN_PREFIX}{self.run_id}"
        if str(path) in self._marker.foreign_dirs and path.is_dir():
            return path  # one per parent and run
        self._marker.foreign_dirs.append(str(path))
        self._write_marker()
        path.mkdir(mode=0o700)
        (path / OWNER).write_text(self.run_id + "\n", encoding="utf-8")
        return path

    def track(self, child: subprocess.Popen[Any] | BaseProcess) -> None:
        """Kill ``child`` at clean-up if it still runs (fio, a forked writer)."""
        self._children.append(child)

    def untrack(self, child: subprocess.Popen[Any] | BaseProcess) -> None:
        """Forget a child that has finished."""
        with contextlib.suppress(ValueError):
            self._children.remove(child)

    # ------------------------------------------------------------------ clean-up

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> Cleanup:
        """Kill children, unmount (deepest first), detach loops, remove every file.

        Idempotent. If a mount cannot be removed, the files and the marker stay, so that
        the next run retries, and the mount is reported.
        """
        if self._closed:
            return Cleanup(0, 0, (), removed=False)
        self._closed = True
        with _signals_ignored():
            try:
                return self._clean()
            finally:
                os.close(self._lock_fd)

    def _clean(self) -> Cleanup:
        for child in self._children:
            _kill(child)
        self._children.clear()
        unmounted = _unmount_ours(self.root, set(self._marker.mounts), self._say)
        detached = 0
        for loop, image in self._loops:
            loop.close()
            detached += _detach_if_ours(loop.path, image)
        left = tuple(str(m.mountpoint) for m in system.mounted_below(self.root))
        if left:
            self._say(
                "could not unmount " + ", ".join(left)
                + f"; {self.root} is kept and the next run will retry"
            )  # fmt: skip
            return Cleanup(unmounted, detached, left, removed=False)
        for foreign in self._marker.foreign_dirs:
            _remove_foreign(Path(foreign), self._say)
        _remove_contents(self.root)
        with contextlib.suppress(FileNotFoundError):
            (self.root / MARKER).unlink()
        if self._created:
            with contextlib.suppress(OSError):
                self.root.rmdir()
        return Cleanup(unmounted, detached, left, removed=True)

    def _write_marker(self) -> None:
        tmp = self.root / (MARKER + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        try:
            os.write(fd, self._marker.to_json().encode())
            os.fsync(fd)  # the marker must be on disk before the mount it names exists
        finally:
            os.close(fd)
        os.replace(tmp, self.root / MARKER)


# --------------------------------------------------------------------------- helpers


def _kill(child: subprocess.Popen[Any] | BaseProcess) -> None:
    if isinstance(child, subprocess.Popen):
        if child.poll() is None:
            child.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.wait(timeout=5)
    elif child.is_alive():
        child.kill()
        child.join(timeout=5)


def _unmount_ours(root: Path, ours: set[str], say: Callable[[str], None]) -> int:
    count = 0
    # mountinfo lists parents before children: unmount in reverse, deepest first; a
    # mount point mounted twice appears twice and is unmounted twice.
    for entry in reversed(system.mounted_below(root)):
        if str(entry.mountpoint) in ours:
            try:
                system.umount(entry.mountpoint)
                count += 1
            except OSError as error:
                say(str(error))
    return count


def _detach_if_ours(device: Path, image: Path) -> int:
    if system.loop_backing_file(device) != str(image):
        return 0  # already detached by autoclear (or reused by someone else: not ours)
    try:
        system.detach_loop(device)
    except OSError as error:
        if error.errno in (errno.ENXIO, errno.EBUSY):  # gone, or autoclear will detach it
            return 0
        raise
    return 1


def _recover(root: Path, marker: _Marker) -> Cleanup:
    ours = set(marker.mounts)
    strangers = [
        str(m.mountpoint) for m in system.mounted_below(root) if str(m.mountpoint) not in ours
    ]
    if strangers:
        raise WorkspaceError(
            f"{root} holds mounts that storsim calibrate did not make: {', '.join(strangers)}; "
            "unmount them first"
        )
    unmounted = _unmount_ours(root, ours, _stderr)
    left = [str(m.mountpoint) for m in system.mounted_below(root)]
    if left:
        raise WorkspaceError(f"could not unmount {', '.join(left)} left by an earlier run")
    detached = sum(_detach_if_ours(Path(x["device"]), Path(x["image"])) for x in marker.loops)
    for foreign in marker.foreign_dirs:
        _remove_foreign(Path(foreign), _stderr)
    _remove_contents(root, keep=MARKER)
    return Cleanup(unmounted, detached, (), removed=True)


def _remove_contents(root: Path, *, keep: str | None = None) -> None:
    if system.mounted_below(root):  # never delete through a mount
        raise WorkspaceError(f"refusing to remove files below {root}: a mount remains there")
    with os.scandir(root) as entries:
        for entry in entries:
            if entry.name == keep:
                continue
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path)
            else:
                os.unlink(entry.path)


def _remove_foreign(path: Path, say: Callable[[str], None]) -> None:
    if not path.name.startswith(FOREIGN_PREFIX) or not (path / OWNER).is_file():
        if path.exists():
            say(f"left {path} alone: it has no owner file of storsim calibrate")
        return
    if system.mounted_below(Path(os.path.realpath(path)), include_root=True):
        say(f"left {path} alone: something is mounted there")
        return
    shutil.rmtree(path, ignore_errors=True)
