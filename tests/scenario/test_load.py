"""Scenario loading: valid files load with defaults, unreadable ones are one error line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from storsim.errors import ScenarioError
from storsim.scenario import load_scenario


def test_tiny_loads(tiny: dict[str, Any]) -> None:
    """A minimal scenario loads, with compose-style defaults filled in."""
    s = load_scenario(tiny)
    web = s.services["web"]
    assert web.deploy.replicas == 1
    assert [(e.at, e.action) for e in web.lifecycle] == [(0.0, "run")]
    assert s.images["app"].layers[0].files["/data/big.db"] == 64 * 2**20
    assert s.host.disk.profile == "ssd"


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ("name: [unclosed\n", r":\d+: invalid YAML"),
        ("- a list\n- not a mapping\n", r":1: a scenario must be a mapping"),
        ("name: x\n", r"images: required key is missing"),
    ],
)
def test_unparsable_files(write_yaml: Any, text: str, pattern: str) -> None:
    """YAML syntax errors and wrong top-level shapes are one-line ScenarioErrors too."""
    with pytest.raises(ScenarioError, match=pattern):
        load_scenario(write_yaml(text))


def test_missing_file(tmp_path: Path) -> None:
    """A file that does not exist is a ScenarioError naming it."""
    with pytest.raises(ScenarioError, match=r"nope\.yaml: cannot read scenario"):
        load_scenario(tmp_path / "nope.yaml")
