"""The JSON Schema of scenario files, for editors (``storsim schema``).

Like the stencil that comes with a printed form, the schema lets an editor check a
scenario while it is typed and complete its keys; it is derived from the Scenario model,
so it cannot drift from what :func:`~storsim.scenario.load_scenario` accepts.
"""

from __future__ import annotations

from typing import Any

from storsim.scenario.model import Scenario
from storsim.scenario.services import COMPOSE_IGNORED_KEYS

__all__ = ["SCHEMA_FILE", "SCHEMA_ID", "scenario_schema"]

#: The schema's ``$id``: names the format (a URN: editors find the schema by the file
#: below, nothing is fetched from it).
SCHEMA_ID = "urn:storsim:scenario"
#: Where the repository keeps the schema, for editors: each shipped scenario's first line
#: is ``# yaml-language-server: $schema=<relative path to it>``; a test keeps it equal to
#: :func:`scenario_schema` (``storsim schema > scenarios/scenario.schema.json``).
SCHEMA_FILE = "scenarios/scenario.schema.json"


def scenario_schema() -> dict[str, Any]:
    """The JSON Schema of scenario files, for editors (``storsim schema``).

    Returns:
        A draft 2020-12 JSON Schema as plain data (``json.dumps`` writes it).
    """
    schema = Scenario.model_json_schema()
    # compose's x-* extension keys are allowed at the top level and in services
    extension = {"description": "a compose extension field (x-*): allowed and ignored"}
    schema["patternProperties"] = {"^x-": extension}
    service = schema["$defs"]["ServiceSpec"]
    service["patternProperties"] = {"^x-": extension}
    service["properties"].update(
        {
            key: {"description": f"compose {key}: accepted and ignored (storsim does not model it)"}
            for key in sorted(COMPOSE_IGNORED_KEYS)
        }
    )
    service["additionalProperties"] = False
    _describe_references(schema)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        **schema,
        "title": "storsim scenario",
    }


def _describe_references(schema: dict[str, Any]) -> None:
    """A property that is one object of ``$defs`` and has no description of its own gets
    the object's (``host``: "The machine the containers run on.")."""
    defs = schema["$defs"]
    for node in [schema, *defs.values()]:
        for prop in node.get("properties", {}).values():
            ref = prop.get("$ref") or next(
                (alt["$ref"] for alt in prop.get("anyOf", []) if "$ref" in alt), None
            )
            if ref is not None and "description" not in prop:
                target = defs[ref.rsplit("/", 1)[1]]
                if "description" in target:
                    prop["description"] = target["description"]
