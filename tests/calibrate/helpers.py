"""What a calibration may leave behind: mounts and loop devices below a directory."""

from __future__ import annotations

import os
from pathlib import Path

from storsim.calibrate import system


def mounts_below(path: Path) -> list[str]:
    """Mount points at or below ``path`` in this process's mount table."""
    real = Path(os.path.realpath(path))
    return [str(m.mountpoint) for m in system.mounted_below(real, include_root=True)]


def loops_backed_below(path: Path) -> list[str]:
    """Loop devices whose image file lies below ``path``."""
    real = os.path.realpath(path)
    found = []
    for device in system.loop_devices():
        backing = system.loop_backing_file(device)
        if backing and backing.startswith(real + os.sep):
            found.append(f"{device} -> {backing}")
    return found
