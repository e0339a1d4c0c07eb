"""Fixtures for the interop tests: compose projects written to a temporary directory."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

from storsim.interop.common import Imported
from storsim.interop.compose import compose_to_scenario

DATA = Path(__file__).parent / "data"


@pytest.fixture
def compose(tmp_path: Path) -> Callable[..., Imported]:
    """Write a compose file (and files next to it) and import it, with no environment."""

    def make(
        text: str,
        files: Mapping[str, str] | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> Imported:
        for rel, content in (files or {}).items():
            path = tmp_path / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content)
        path = tmp_path / "compose.yaml"
        path.write_text(textwrap.dedent(text))
        return compose_to_scenario(path, environ=dict(environ or {}))

    return make


def messages(imported: Imported) -> list[str]:
    """The notes' texts, each as ``where: message``."""
    return [f"{n.where}: {n.message}" for n in imported.notes]
