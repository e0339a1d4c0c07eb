"""The build: pure Python by default; ``STORSIM_COMPILE=1`` compiles the hot modules.

Like a car sold with the standard engine and a tuned one on order: ``pip install .``
builds the plain package (no compiler, nothing but setuptools); ``STORSIM_COMPILE=1
pip install .`` builds the same package with the modules of :data:`COMPILED` compiled
to C extensions by mypyc (mypy's compiler: the type annotations become native types),
which needs a C compiler and the Python headers. The compiled modules sit beside their
sources in the wheel; Python imports the extension first. The results are the same
byte for byte (tests/test_golden.py runs on both builds in .ci/run).

The build requirements of the compiled build (mypy, and the package's dependencies
with pandas-stubs, so that mypy sees the same types as ``mypy storsim``) are added by
``buildsys/backend.py`` only when ``STORSIM_COMPILE=1``.
"""

from __future__ import annotations

import os

from setuptools import setup

#: The modules compiled with ``STORSIM_COMPILE=1``: where the three workloads of
#: bench/run.py spend their time (cProfile, self time by module: the operation path,
#: the workload loop, the event loop's slices, the stations and caches of the devices,
#: the backends and the union file system), and what they call on every operation.
COMPILED = [
    "storsim/guard.py",
    "storsim/draws.py",
    "storsim/run/operation.py",
    "storsim/run/workload.py",
    "storsim/run/lean.py",
    "storsim/run/conflicts.py",
    "storsim/run/locks.py",
    "storsim/run/ops.py",
    "storsim/devices/station.py",
    "storsim/devices/bandwidth.py",
    "storsim/devices/caches.py",
    "storsim/devices/disk.py",
    "storsim/devices/cpu.py",
    "storsim/devices/remote.py",
    "storsim/backends/overlay.py",
    "storsim/backends/local.py",
    "storsim/backends/copyup.py",
    "storsim/backends/remote.py",
    "storsim/fs/overlay.py",
    "storsim/fs/nodes.py",
    "storsim/fs/layers.py",
    "storsim/fs/plain.py",
    "storsim/fs/view.py",
    "storsim/fs/mounts.py",
]


def _extensions() -> list[object]:
    if os.environ.get("STORSIM_COMPILE", "") in ("", "0"):
        return []
    from mypyc.build import mypycify

    # the project's mypy configuration (pyproject.toml: strict, the pydantic plugin)
    return list(mypycify(COMPILED, opt_level="3"))


setup(ext_modules=_extensions())
