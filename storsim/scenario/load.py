"""Loading: a scenario file (or mapping) read, parsed as YAML and validated.

Like a clerk at the counter who takes a form, checks that it is legible and filled in on
the right sheet before handing it on, :func:`load_scenario` reads the file (a regular
file of UTF-8 text, within a size limit), parses it with ruamel's round-trip loader
(which keeps every key's line for the messages; nesting and aliases within budgets:
:mod:`.text`), applies the overrides and validates it; any problem on the way is one
:class:`~storsim.errors.ScenarioError` naming the file and the line.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping, Sequence
from typing import Any

from storsim.errors import ScenarioError
from storsim.scenario.model import Scenario, validate
from storsim.scenario.profile import apply_host_profile
from storsim.scenario.text import check_data, parse_yaml, read_scenario_text

__all__ = ["load_scenario"]


def load_scenario(
    source: str | os.PathLike[str] | Mapping[str, Any],
    *,
    overrides: Mapping[str, Any] | Sequence[str] | None = None,
    host_profile: str | os.PathLike[str] | None = None,
) -> Scenario:
    """Load and validate a scenario.

    Args:
        source: a YAML file's path, or the scenario as a mapping (e.g. from a notebook).
        overrides: values to change before validation, as ``{"dotted.path": value}`` or
            ``["dotted.path=value", ...]`` (the value then parsed as YAML), e.g.
            ``{"services.web.deploy.replicas": 4}``.
        host_profile: a host profile file (``storsim calibrate``'s) to use under the
            scenario's ``host:`` instead of its ``host.profile``; the scenario's own
            host keys still win (:mod:`.profile`).

    Returns:
        The validated, frozen scenario.

    Raises:
        ScenarioError: the file cannot be read or parsed, or breaks a rule; the message
            names the file, the line and the YAML path.
    """
    if isinstance(source, Mapping):
        data = copy.deepcopy(dict(check_data(source, "the scenario")))
        apply_host_profile(data, None, _path(host_profile))
        return validate(data, None, overrides)
    path = os.fspath(source)
    tree = parse_yaml(read_scenario_text(path), path)
    if not isinstance(tree, Mapping):
        raise ScenarioError(
            f"a scenario must be a mapping of keys (got {type(tree).__name__})", file=path, line=1
        )
    apply_host_profile(tree, path, _path(host_profile))
    return validate(tree, path, overrides)


def _path(value: str | os.PathLike[str] | None) -> str | None:
    return None if value is None else os.fspath(value)
