"""The shipped compose examples: their scenarios are what storsim init makes, and they run.

``python tests/interop/test_shipped.py`` writes the scenarios again (after a change to
the importers that is meant to change them).
"""

from __future__ import annotations

import sys
from pathlib import Path

import jsonschema
import pytest
from ruamel.yaml import YAML

import storsim
from storsim.interop.cli import build_scenario

ROOT = Path(__file__).parent.parent.parent
EXAMPLES = ROOT / "scenarios" / "compose"
#: (input file, the scenario storsim init makes from it), relative to EXAMPLES
SHIPPED = [
    ("webapp/compose.yaml", "webapp/scenario.yaml"),
    ("nfs-gallery/compose.yaml", "nfs-gallery/scenario.yaml"),
    ("readonly-api/compose.yaml", "readonly-api/scenario.yaml"),
    ("fio/randrw.fio", "fio/randrw.yaml"),
]


def made(source: str) -> str:
    """What storsim init writes for a shipped input, with no environment variables."""
    imported, _ = build_scenario([str(EXAMPLES / source)], environ={})
    return imported.to_yaml()


@pytest.mark.parametrize(("source", "scenario"), SHIPPED)
def test_shipped_scenarios_are_what_init_makes(source: str, scenario: str) -> None:
    """Each shipped scenario is byte for byte what storsim init makes from its input."""
    assert (EXAMPLES / scenario).read_text() == made(source)


@pytest.mark.parametrize(("source", "scenario"), SHIPPED)
def test_shipped_scenarios_validate_load_and_run(source: str, scenario: str) -> None:
    """Each shipped scenario validates against storsim's schema and runs, with its compare
    placements, without a failed operation (a short run)."""
    path = EXAMPLES / scenario
    jsonschema.validate(YAML(typ="safe", pure=True).load(path), storsim.scenario_schema())
    loaded = storsim.load_scenario(path)
    overrides = {"duration": "1 s"}
    for name, svc in loaded.services.items():
        for i, workload in enumerate(svc.workload):
            if workload.duration is not None:
                overrides[f"services.{name}.workload[{i}].duration"] = "200 ms"
    result = storsim.simulate(loaded.with_overrides(overrides))
    assert result.summary["ops"].sum() > 0
    assert (result.summary["errors"] == 0).all()
    assert result.comparison is not None
    assert (result.comparison["errors"] == 0).all()


def main() -> None:
    """Write the shipped scenarios again."""
    for source, scenario in SHIPPED:
        (EXAMPLES / scenario).write_text(made(source))
        print(f"wrote {EXAMPLES / scenario}", file=sys.stderr)


if __name__ == "__main__":
    main()
