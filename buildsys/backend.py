"""The build backend: setuptools, with mypy added to the build requirements on demand.

Like a workshop that fetches the tuning kit only for the cars ordered tuned: the
default build (``pip install .``) needs setuptools and nothing else; with
``STORSIM_COMPILE=1`` the compiled build (setup.py) also needs mypy, whose compiler
mypyc turns the hot modules into C extensions, and the package's own dependencies plus
pandas-stubs, so that mypy type-checks them with the same types as ``mypy storsim``
(pyproject.toml's ``[tool.mypy]``: strict, the pydantic plugin). pip installs these
into the isolated build environment only for that build.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from setuptools import build_meta as _setuptools
from setuptools.build_meta import *  # noqa: F403 (the backend's hooks, as setuptools has them)

#: What the compiled build needs besides the package's dependencies: the compiler
#: (mypyc ships in mypy's wheel) and the pandas types that mypy --strict checks with.
COMPILE_REQUIRES = ["mypy>=1.10", "pandas-stubs"]


def compiling() -> bool:
    """Whether this build compiles (``STORSIM_COMPILE`` set, and not to 0)."""
    return os.environ.get("STORSIM_COMPILE", "") not in ("", "0")


def _compile_requires() -> list[str]:
    project = tomllib.loads(Path("pyproject.toml").read_text())["project"]
    return [*COMPILE_REQUIRES, *project["dependencies"]]


def get_requires_for_build_wheel(config_settings: Any = None) -> list[str]:
    """setuptools' requirements; the compiled build's when ``STORSIM_COMPILE=1``.

    (setuptools finds its own by running setup.py, which for the compiled build
    imports mypyc: not installed yet at this stage. setup.py declares no
    ``setup_requires``, so the compiled build needs nothing else.)
    """
    if compiling():
        return _compile_requires()
    return list(_setuptools.get_requires_for_build_wheel(config_settings))


def get_requires_for_build_editable(config_settings: Any = None) -> list[str]:
    """setuptools' requirements for ``pip install -e`` (never compiled: see
    :func:`build_editable`)."""
    _refuse_compiled_editable()
    return list(_setuptools.get_requires_for_build_editable(config_settings))


def build_editable(
    wheel_directory: str, config_settings: Any = None, metadata_directory: str | None = None
) -> str:
    """setuptools' editable build; refused with ``STORSIM_COMPILE=1``.

    An editable compiled build would leave the extensions beside the sources, where
    they shadow them: an edited module would run its old compiled code, silently.
    """
    _refuse_compiled_editable()
    name: str = _setuptools.build_editable(wheel_directory, config_settings, metadata_directory)
    return name


def _refuse_compiled_editable() -> None:
    if compiling():
        raise SystemExit(
            "storsim: STORSIM_COMPILE=1 builds a regular install only (pip install ., not"
            " -e): compiled modules beside the sources would hide later edits of them"
        )
