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


def _two_workloads(tiny: dict[str, Any]) -> dict[str, Any]:
    workload = tiny["services"]["web"]["workload"]
    workload.append({**workload[0], "name": "wal"})
    return tiny


def test_list_items_by_index_both_ways_and_by_name(tiny: dict[str, Any]) -> None:
    """workload[1], workload.1 and workload[wal] name the same list item."""
    base = load_scenario(_two_workloads(tiny))
    for path in (
        "services.web.workload[1].count",
        "services.web.workload.1.count",
        "services.web.workload[wal].count",
        'services.web.workload["wal"].count',
    ):
        s = base.with_overrides({path: 7})
        assert [w.count for w in s.services["web"].workload] == [
            base.services["web"].workload[0].count,
            7,
        ], path


def test_list_item_errors_name_the_path_and_what_exists(tiny: dict[str, Any]) -> None:
    """A missing index or name, or a number on a mapping, names the path and what is there."""
    s = load_scenario(_two_workloads(tiny))
    first = s.services["web"].workload[0].name
    with pytest.raises(ScenarioError) as exc:
        s.with_overrides({"services.web.workload[db].count": 1})
    assert exc.value.message == (
        f"--set services.web.workload[db]: 'db' names no list item; it has [0] {first!r}, "
        "[1] 'wal' (got 'services.web.workload[db].count')"
    )
    with pytest.raises(ScenarioError, match=r"workload\[2\]: no such list item; it has \[0\]"):
        s.with_overrides({"services.web.workload.2.count": 1})
    with pytest.raises(ScenarioError, match=r"a list is indexed \[N\], \.N or \[name\]"):
        s.with_overrides({"services.web.workload.wal.count": 1})
    with pytest.raises(ScenarioError, match=r"services\.web is a mapping, not a list; its keys: "):
        s.with_overrides({"services.web[0]": 1})


def test_an_override_by_name_is_blamed_by_index(tiny: dict[str, Any]) -> None:
    """A value set through workload[wal] that breaks a rule is reported at workload[1]."""
    s = load_scenario(_two_workloads(tiny))
    with pytest.raises(ScenarioError, match=r"services\.web\.workload\[1\]\.count"):
        s.with_overrides(["services.web.workload[wal].count=-1"])
