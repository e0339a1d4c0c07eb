"""The JSON Schema of scenario files, for editors (``storsim schema``).

Like the stencil that comes with a printed form, the schema lets an editor check a
scenario while it is typed and complete its keys; it is derived from the Scenario model,
so it cannot drift from what :func:`~storsim.scenario.load_scenario` accepts.
"""

from __future__ import annotations

from typing import Any

from storsim.scenario.model import Scenario
from storsim.scenario.services import COMPOSE_IGNORED_KEYS

__all__ = ["scenario_schema"]


def scenario_schema() -> dict[str, Any]:
    """The JSON Schema of scenario files, for editors (``storsim schema``).

    Returns:
        A draft 2020-12 JSON Schema as plain data (``json.dumps`` writes it).
    """
    schema = Scenario.model_json_schema()
    # compose's x-* extension keys are allowed at the top level and in services
    schema["patternProperties"] = {"^x-": {}}
    service = schema["$defs"]["ServiceSpec"]
    service["patternProperties"] = {"^x-": {}}
    service["properties"].update({key: {} for key in sorted(COMPOSE_IGNORED_KEYS)})
    service["additionalProperties"] = False
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "storsim scenario"
    return schema
