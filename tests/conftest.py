"""Shared fixtures: a tiny scenario as data, and a loader that writes it to a file."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

TINY: dict[str, Any] = {
    "name": "tiny",
    "seed": 1,
    "host": {"disk": {"profile": "ssd", "service": "fixed"}},
    "images": {
        "app": {
            "layers": [
                {"files": {"/etc/base.conf": "1 KiB", "/data/big.db": "64 MiB"}},
                {"files": {"/app/main.py": "8 KiB"}, "dirs": ["/logs"]},
            ]
        }
    },
    "volumes": {"data": {}},
    "services": {
        "web": {
            "image": "app",
            "workload": [
                {
                    "name": "update db",
                    "path": "/data/big.db",
                    "ops": [{"op": "write", "size": "4 KiB"}],
                    "count": 3,
                    "threads": 1,
                }
            ],
        }
    },
}


@pytest.fixture
def tiny() -> dict[str, Any]:
    """A small valid scenario as plain data (a fresh copy per test)."""
    return copy.deepcopy(TINY)


@pytest.fixture
def write_yaml(tmp_path: Path) -> Any:
    """Write data (or text) as a YAML file and return its path."""

    def write(data: Any, name: str = "scenario.yaml") -> Path:
        path = tmp_path / name
        if isinstance(data, str):
            path.write_text(data)
        else:
            with path.open("w") as handle:
                YAML(typ="safe", pure=True).dump(data, handle)
        return path

    return write


SHIPPED = sorted((Path(__file__).parent.parent / "scenarios").glob("*.yaml"))


class _ShippedResults(dict[str, Any]):
    """Results of the shipped scenarios, each simulated once per test session, on demand."""

    def __missing__(self, stem: str) -> Any:
        import storsim

        path = next(p for p in SHIPPED if p.stem == stem)
        result = self[stem] = storsim.simulate(storsim.load_scenario(path))
        return result


@pytest.fixture(scope="session")
def shipped_results() -> dict[str, Any]:
    """Shipped scenario stem -> its Result (default seed), simulated once per session."""
    return _ShippedResults()
