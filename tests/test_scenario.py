"""Scenario loading: valid files load, every broken one gets one precise error line."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from storsim.errors import ScenarioError
from storsim.scenario import load_scenario, scenario_schema


def test_tiny_loads(tiny: dict[str, Any]) -> None:
    """A minimal scenario loads, with compose-style defaults filled in."""
    s = load_scenario(tiny)
    web = s.services["web"]
    assert web.deploy.replicas == 1
    assert [(e.at, e.action) for e in web.lifecycle] == [(0.0, "run")]
    assert s.images["app"].layers[0].files["/data/big.db"] == 64 * 2**20
    assert s.host.disk.profile == "ssd"


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
    """Compose keys about networking or processes, and x- extensions, load and are ignored."""
    tiny["services"]["web"].update(
        {"ports": ["80:80"], "environment": {"A": "1"}, "restart": "always", "x-note": 1}
    )
    load_scenario(tiny)


ERRORS = [
    (
        {"services.web.deploy.replicas": -1},
        r"^F:\d+: services\.web\.deploy\.replicas: must be >= 0 \(got -1\)$",
    ),
    (
        {"services.web.bogus": 1},
        r"services\.web\.bogus: unknown key 'bogus'; "
        r"valid keys: deploy, image, lifecycle, prefill, tmpfs, volumes, workload$",
    ),
    (
        {"host.disk": "floppy"},
        r"host\.disk: must be one of nvme, ssd, hdd, tmpfs .*\(got 'floppy'\)",
    ),
    (
        {"services.web.image": "nginx"},
        r"services\.web\.image: must name an image under images: app \(got 'nginx'\)",
    ),
    (
        {"services.web.volumes": ["nope:/x"]},
        r"services\.web\.volumes\[0\]: must use a volume declared",
    ),
    (
        {"services.web.volumes": ["far:/exp:/x"]},
        r"names server 'far', which is not under host\.remotes",
    ),
    (
        {"services.web.workload[0].ops[0].op": "frob"},
        r"ops\[0\]\.op: must be one of 'stat', .*\(got 'frob'\)",
    ),
    ({"services.web.workload[0].ops[0].size": "4 XB"}, r"ops\[0\]\.size: must use a size unit"),
    ({"services.web.workload[0].rate": "fast"}, r"workload\[0\]\.rate: must be a rate such as"),
    ({"services.web.workload[0].count": None}, r"workload\[0\]: needs count or duration"),
    (
        {"services.web.lifecycle": [{"at": 0, "action": "start"}]},
        r"lifecycle\[0\]: cannot start a container that is absent",
    ),
    (
        {"services.web.lifecycle": [{"at": 5, "action": "run"}, {"at": 1, "action": "rm"}]},
        r"lifecycle\[1\]: times must not go backwards",
    ),
    (
        {"host.overlay.max_layers": 1},
        r"images\.app\.layers: must have at most 1 layers.*max depth exceeded.*\(got 2\)",
    ),
    (
        {"sources": {"./elsewhere": {}}},
        r"sources\[\"\./elsewhere\"\]: must name a declared volume or a bind source",
    ),
    ({"images.app.layers[0].files": {"relative": 1}}, r"files\.relative: must be an absolute path"),
    (
        {"compare": {"path": "/data", "choices": ["volume", "volume"]}},
        r"compare\.choices: must not repeat",
    ),
    (
        {"compare": {"path": "/data", "choices": ["distributed_bind"]}},
        r"compare\.choices: distributed_bind needs a server",
    ),
    ({"services.web.workload[0].ops[0]": {"op": "rename"}}, r"ops\[0\]: op rename needs 'to'"),
    (
        {"images.app.layers[0].generate": [{"dir": "/g", "count": 3, "size": {"dist": "weird"}}]},
        r"generate\[0\]\.size: 'dist' must be one of",
    ),
]


@pytest.mark.parametrize(("overrides", "pattern"), ERRORS)
def test_errors_name_file_line_path_and_rule(
    tiny: dict[str, Any], write_yaml: Any, overrides: dict[str, Any], pattern: str
) -> None:
    """Each broken scenario raises one ScenarioError: FILE:LINE: yaml.path: rule (got VALUE)."""
    path = write_yaml(tiny)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, overrides=overrides)
    text = str(info.value).replace(str(path), "F")
    assert "\n" not in text
    assert text.startswith("F")
    assert re.search(pattern, text), text


def test_error_line_points_at_the_offending_value(write_yaml: Any) -> None:
    """The line number is the line of the bad value in the file."""
    path = write_yaml(
        "name: x\n"
        "images:\n"
        "  app:\n"
        "    layers:\n"
        "      - files: {/a: 1 KiB}\n"
        "services:\n"
        "  web:\n"
        "    image: app\n"
        "    deploy:\n"
        "      replicas: many\n"
    )
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert str(info.value) == (
        f"{path}:10: services.web.deploy.replicas: must be a whole number (got 'many')"
    )
    assert info.value.line == 10
    assert info.value.where == "services.web.deploy.replicas"


def test_unknown_key_line_is_the_key_line(write_yaml: Any) -> None:
    """An unknown key is reported at its own line, with the valid keys listed."""
    path = write_yaml(
        "name: x\nimages:\n  app:\n    layers:\n      - files: {}\n        colour: red\n"
        "services:\n  web: {image: app}\n"
    )
    with pytest.raises(ScenarioError, match=r":6: images\.app\.layers\[0\]\.colour: unknown key"):
        load_scenario(path)


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


def test_schema_describes_the_format() -> None:
    """The JSON Schema names the top-level keys and accepts unit strings for quantities."""
    schema = scenario_schema()
    assert set(schema["properties"]) >= {"name", "host", "images", "volumes", "services"}
    assert schema["required"] == ["name", "images", "services"]
    assert "4 KiB" in json.dumps(schema)


def test_shipped_scenarios_validate_against_the_schema() -> None:
    """Every shipped scenario is valid for editors using the JSON Schema."""
    jsonschema = pytest.importorskip("jsonschema")
    from ruamel.yaml import YAML

    schema = scenario_schema()
    for path in sorted(Path(__file__).parent.parent.glob("scenarios/*.yaml")):
        data = YAML(typ="safe", pure=True).load(path.read_text())
        jsonschema.validate(data, schema)


def test_storage_choice_names_agree() -> None:
    """The YAML's storage-choice type lists exactly the storage choices, in order."""
    from typing import get_args

    from storsim.scenario import STORAGE_CHOICES, Storage

    assert get_args(Storage) == STORAGE_CHOICES
