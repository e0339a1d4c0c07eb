"""Overrides: --set values change a scenario's data, and the result is validated again."""

from __future__ import annotations

from typing import Any

import pytest

from storsim.errors import ScenarioError
from storsim.scenario import load_scenario


def test_overrides_from_command_line_strings(tiny: dict[str, Any]) -> None:
    """--set values are parsed as YAML and can add keys; bad paths are errors."""
    s = load_scenario(tiny, overrides=["services.web.deploy.replicas=3", "host.disk.latency=2 ms"])
    assert s.services["web"].deploy.replicas == 3
    assert s.host.disk.latency == pytest.approx(0.002)
    with pytest.raises(ScenarioError, match=r"--set must be dotted\.path=VALUE"):
        load_scenario(tiny, overrides=["services.web.deploy.replicas"])
    with pytest.raises(ScenarioError, match=r"no such list item"):
        load_scenario(tiny, overrides=["services.web.workload[7].count=1"])
    with pytest.raises(ScenarioError, match=r"--set name\.x: name is 'tiny', not a mapping"):
        load_scenario(tiny, overrides=["name.x=1"])


def test_overrides_reach_into_the_disk_shorthand(tiny: dict[str, Any]) -> None:
    """`disk: ssd` is shorthand for {profile: ssd}; --set host.disk.latency works on it."""
    s = load_scenario(tiny, overrides={"host.disk": "hdd", "host.disk.latency": "2 ms"})
    assert (s.host.disk.profile, s.host.disk.latency) == ("hdd", pytest.approx(0.002))


def test_with_overrides_keeps_the_original(tiny: dict[str, Any]) -> None:
    """with_overrides returns a new validated scenario and leaves the original unchanged."""
    s = load_scenario(tiny)
    t = s.with_overrides({"services.web.deploy.replicas": 5})
    assert (s.services["web"].deploy.replicas, t.services["web"].deploy.replicas) == (1, 5)
