"""Scenario specs: compose's syntax maps onto the objects the model reads."""

from __future__ import annotations

import copy
from typing import Any, get_args

from storsim.scenario import (
    COMPOSE_IGNORED_KEYS,
    STORAGE_CHOICES,
    Storage,
    load_scenario,
)


def test_short_and_long_mount_syntax(tiny: dict[str, Any]) -> None:
    """Compose's short volume syntax becomes the same objects as the long syntax."""
    tiny["host"]["remotes"] = {"nas": {"profile": "nfs"}}
    tiny["services"]["web"]["volumes"] = [
        "data:/var/lib/data",
        "./conf:/etc/app:ro",
        "nas:/exports/shared:/shared",
        "/scratch",
        {"type": "tmpfs", "target": "/run/cache"},
    ]
    tiny["services"]["web"]["tmpfs"] = "/tmp"
    mounts = load_scenario(tiny).services["web"].mounts
    summary = [(m.type, m.source, m.target, m.read_only) for m in mounts]
    assert summary == [
        ("volume", "data", "/var/lib/data", False),
        ("bind", "./conf", "/etc/app", True),
        ("bind", "nas:/exports/shared", "/shared", False),
        ("volume", None, "/scratch", False),
        ("tmpfs", None, "/run/cache", False),
        ("tmpfs", None, "/tmp", False),
    ]
    assert mounts[2].remote == ("nas", "/exports/shared")
    assert mounts[1].remote is None


def test_compose_keys_storsim_ignores_are_accepted(tiny: dict[str, Any]) -> None:
    """Compose keys about networking or processes, and x- extensions, load and change
    nothing else: the scenario equals the one loaded without them."""
    without = load_scenario(copy.deepcopy(tiny))
    ignored: dict[str, Any] = {key: f"any {key}" for key in sorted(COMPOSE_IGNORED_KEYS)}
    ignored.update({"ports": ["80:80"], "environment": {"A": "1"}, "x-note": 1})
    tiny["services"]["web"].update(ignored)
    tiny["x-defaults"] = {"replicas": 2}
    loaded = load_scenario(tiny)
    # pydantic keeps them as the service's extras; every field storsim models is equal
    assert loaded.model_dump(exclude={"services": {"web": set(ignored)}}) == without.model_dump()


def test_storage_choice_names_agree() -> None:
    """The YAML's storage-choice type lists exactly the storage choices, in order."""
    assert get_args(Storage) == STORAGE_CHOICES
