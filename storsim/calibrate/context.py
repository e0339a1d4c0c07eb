"""What every experiment is handed: the work directory, the plan, the engine, progress.

Like a technician's trolley wheeled from bench to bench, one :class:`Context` carries the
shared instruments (the work directory, the loop file system, the data-path engine,
the status line) to each experiment in turn; an experiment returns an
:class:`~storsim.calibrate.schema.Experiment` and notes on the trolley what it had to
leave out (:meth:`Context.skip`).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from storsim.calibrate.plan import Plan
from storsim.calibrate.schema import Skipped
from storsim.progress import StatusLine

if TYPE_CHECKING:
    from storsim.calibrate.layers import LoopFs
    from storsim.calibrate.workspace import Workspace

__all__ = ["Context", "Engine", "Progress", "read_file", "seconds", "write_file"]


def seconds(samples_ns: list[int]) -> list[float]:
    """Nanosecond counts as seconds (the measurement file's unit)."""
    return [x / 1e9 for x in samples_ns]


@dataclass(frozen=True, slots=True)
class Engine:
    """What runs the data-path experiments: fio when it is installed, else Python.

    Attributes:
        name: ``"fio"`` or ``"python"``.
        fio: the fio executable when ``name == "fio"``.
        fio_version: its version string (``"fio-3.33"``), or None.
        reason: why this engine was chosen.
    """

    name: str
    fio: str | None = None
    fio_version: str | None = None
    reason: str = ""


class Progress:
    """The calibration's status line: which experiment, what it is doing, time spent.

    In a terminal the line is redrawn at most ten times a second; in a log (CI) a new
    line is written at most every five seconds, and at each new experiment.
    """

    def __init__(self, total: int, stream: TextIO | None = None) -> None:
        self._line = StatusLine(stream)
        self._total = total
        self._index = 0
        self._name = ""
        self._start = time.monotonic()
        self._shown = 0.0

    def experiment(self, name: str) -> None:
        """A new experiment starts."""
        self._index += 1
        self._name = name
        self._shown = 0.0
        self.step("starting", force=True)

    def step(self, text: str, *, force: bool = False) -> None:
        """Show what the current experiment does now (throttled)."""
        now = time.monotonic()
        gap = 0.1 if self._line.live else 5.0
        if not force and now - self._shown < gap:
            return
        self._shown = now
        elapsed = int(now - self._start)
        self._line.show(
            f"calibrate [{self._index}/{self._total} {self._name}] {text}"
            f" ({elapsed // 60}:{elapsed % 60:02d})"
        )

    def note(self, text: str) -> None:
        """A line that stays (a skipped measurement, a warning)."""
        self._line.close()
        self._line.show(f"calibrate: {text}")
        self._line.close()

    def close(self) -> None:
        """End the status line."""
        self._line.close()


@dataclass(slots=True)
class Context:
    """The shared state of one calibration run.

    Attributes:
        ws: the work directory.
        plan: sizes and repetitions.
        engine: the data-path engine.
        progress: the status line.
        backing: a directory on the file system that holds ``--dir`` (inside ``ws``).
        backing_fs_type: that file system's type (``ext4``, ``xfs``...).
        overlay_home: where overlay mounts go for copy-up and the overlay data path:
            on the backing file system when overlay mounts there, else on the loop
            file system; None when overlay cannot be mounted at all.
        overlay_home_fs: a short name of ``overlay_home``'s file system.
        metacopy: whether ``metacopy=on`` mounts here.
        loopfs: the loop file system for cold metadata, or None.
        tmpfs: a tmpfs directory of this run, or None.
        remotes: (path, peer path) of each ``--remote``.
        skipped: what could not be measured, with the reason.
        unavailable: why a facility is missing (``"overlay"``, ``"loop"``, ``"tmpfs"``).
        seed: seeds the random offsets and record choices.
    """

    ws: Workspace
    plan: Plan
    engine: Engine
    progress: Progress
    backing: Path
    backing_fs_type: str = ""
    overlay_home: Path | None = None
    overlay_home_fs: str = ""
    metacopy: bool = False
    loopfs: LoopFs | None = None
    tmpfs: Path | None = None
    remotes: list[tuple[Path, Path]] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    unavailable: dict[str, str] = field(default_factory=dict)
    seed: int = 20240601

    def skip(self, name: str, reason: str) -> None:
        """Record (and show) that ``name`` could not be measured."""
        self.skipped.append(Skipped(name=name, reason=reason))
        self.progress.note(f"cannot measure {name}: {reason}")

    def scratch(self, *parts: str) -> Path:
        """A fresh directory below the backing directory."""
        path = self.backing.joinpath(*parts)
        path.mkdir(parents=True, exist_ok=True)
        return path


def write_file(path: Path, size_bytes: int, block: bytes) -> None:
    """Write ``size_bytes`` of ``block`` repeated (allocated, not sparse) and fsync."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        left = size_bytes
        while left > 0:
            left -= os.write(fd, block[: min(left, len(block))])
        os.fsync(fd)
    finally:
        os.close(fd)


def read_file(path: Path, buffer: bytearray) -> None:
    """Read a whole file (its pages are then in the page cache)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        while os.readv(fd, [buffer]) > 0:
            pass
    finally:
        os.close(fd)
