"""Fixtures of the calibration tests: a root check with an overlay probe."""

from __future__ import annotations

import os
import shutil

import pytest

from storsim.calibrate import system
from storsim.calibrate.layers import META_OFF


@pytest.fixture(scope="session")
def overlay_ok(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Skips unless this process can mount overlayfs (root with CAP_SYS_ADMIN)."""
    if os.geteuid() != 0:
        pytest.skip("needs root to mount overlayfs and attach loop devices")
    base = tmp_path_factory.mktemp("probe")
    for name in ("l", "u", "w", "m"):
        (base / name).mkdir()
    data = f"lowerdir={base / 'l'},upperdir={base / 'u'},workdir={base / 'w'},{META_OFF}"
    try:
        system.mount("overlay", base / "m", "overlay", data)
    except OSError as error:
        pytest.skip(f"cannot mount overlayfs here: {error}")
    system.umount(base / "m")
    shutil.rmtree(base)
