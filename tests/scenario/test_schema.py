"""The JSON Schema of scenario files: what editors check a scenario against."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from storsim.scenario import scenario_schema
from storsim.scenario.schema import SCHEMA_FILE, SCHEMA_ID

ROOT = Path(__file__).parents[2]
SCENARIOS = ROOT / "scenarios"


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
    paths = sorted(SCENARIOS.glob("*.yaml"))
    assert paths, f"no scenarios found in {SCENARIOS}"
    for path in paths:
        data = YAML(typ="safe", pure=True).load(path.read_text())
        jsonschema.validate(data, schema)


def _properties(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(object, property, its schema) of the top level and of every object in $defs."""
    nodes = [("Scenario", schema), *schema["$defs"].items()]
    return [
        (name, key, prop)
        for name, node in nodes
        for key, prop in node.get("properties", {}).items()
    ]


#: The objects of storsim/scenario/host.py, whose field docstrings another branch adds
#: (issue 12); every other object's every field has a description.
HOST_OBJECTS = {"OverlaySpec", "RemoteSpec"}


def test_every_property_has_a_description() -> None:
    """Each property of the schema says what it is (the field's docstring, or for compose
    keys that are ignored, that they are)."""
    schema = scenario_schema()
    missing = [
        f"{name}.{key}"
        for name, key, prop in _properties(schema)
        if not prop.get("description") and name not in HOST_OBJECTS
    ]
    assert missing == []
    assert schema["$defs"]["WorkloadSpec"]["properties"]["rate"]["description"].startswith(
        "Open loop: iterations start at this rate"
    )


def test_quantities_have_unit_patterns_and_the_schema_an_id() -> None:
    """A size, duration, rate or bandwidth string must match its unit pattern (editors
    flag '4 KB/s' as a size); the schema names itself with $id."""
    jsonschema = pytest.importorskip("jsonschema")
    schema = scenario_schema()
    assert schema["$id"] == SCHEMA_ID
    assert schema["title"] == "storsim scenario"
    size = schema["$defs"]["FixedSize"]["properties"]["size"]
    validator = jsonschema.Draft202012Validator(size)
    assert validator.is_valid("4 KiB")
    assert validator.is_valid(4096)
    assert not validator.is_valid("4 KB/s")
    rate = schema["$defs"]["WorkloadSpec"]["properties"]["rate"]
    assert jsonschema.Draft202012Validator(rate).is_valid("200/s")
    assert not jsonschema.Draft202012Validator(rate).is_valid("200 per")


def test_shipped_scenarios_name_the_shipped_schema() -> None:
    """Each shipped scenario's first line points editors at scenarios/scenario.schema.json,
    which is what `storsim schema` prints (regenerate it with that command)."""
    shipped = ROOT / SCHEMA_FILE
    assert json.loads(shipped.read_text()) == scenario_schema()
    for path in sorted(SCENARIOS.glob("*.yaml")):
        first = path.read_text().splitlines()[0]
        assert first == f"# yaml-language-server: $schema={shipped.name}", path
