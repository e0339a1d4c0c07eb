"""The JSON Schema of scenario files: what editors check a scenario against."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from storsim.scenario import scenario_schema

SCENARIOS = Path(__file__).parents[2] / "scenarios"


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
