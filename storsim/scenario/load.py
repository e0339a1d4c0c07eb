"""Loading: a scenario file (or mapping) read, parsed as YAML and validated.

Like a clerk at the counter who takes a form, checks that it is legible and filled in on
the right sheet before handing it on, :func:`load_scenario` reads the file (a regular
file of UTF-8 text, within a size limit), parses it with ruamel's round-trip loader
(which keeps every key's line for the messages; nesting and aliases within budgets:
:mod:`.text`), applies the overrides and validates it; any problem on the way is one
:class:`~storsim.errors.ScenarioError` naming the file and the line. A compose file
(:func:`is_compose_file`) is imported in memory by :mod:`storsim.interop.compose`, its
``x-storsim`` blocks taken as they are, and validated the same way.
"""

from __future__ import annotations

import copy
import os
import re
from collections.abc import Mapping, Sequence
from typing import Any

from storsim.errors import ScenarioError
from storsim.scenario.model import Scenario, validate
from storsim.scenario.profile import apply_host_profile
from storsim.scenario.text import check_data, parse_yaml, read_scenario_text

__all__ = ["is_compose_file", "load_scenario"]


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
    text = read_scenario_text(path)
    tree = parse_yaml(text, path)
    if not isinstance(tree, Mapping):
        raise ScenarioError(
            f"a scenario must be a mapping of keys (got {type(tree).__name__})", file=path, line=1
        )
    apply_host_profile(tree, path, _path(host_profile))
    if is_compose_file(tree, path):
        from storsim.interop.compose import load_compose  # interop builds on this package

        scenario: Scenario = load_compose(
            path, text=text, overrides=overrides, environ=dict(os.environ)
        )
        return scenario
    return validate(tree, path, overrides)


def _path(value: str | os.PathLike[str] | None) -> str | None:
    return None if value is None else os.fspath(value)


_COMPOSE_NAME = re.compile(r"^(docker-)?compose([.-][^/]*)?\.ya?ml$|\.compose\.ya?ml$")


def is_compose_file(tree: Mapping[str, Any], path: str) -> bool:
    """Whether a parsed file is a compose file to import rather than a storsim scenario.

    It has ``services`` and no ``images`` (every scenario declares its images), and says
    it is a compose file: by its name (``compose.yaml``, ``docker-compose.yml``,
    ``compose.prod.yaml``, ``web.compose.yaml``), an ``x-storsim`` block, or a ``build:``
    service. A scenario that merely forgot its ``images`` keeps its own error message.
    """
    services = tree.get("services")
    if "images" in tree or not isinstance(services, Mapping):
        return False
    if _COMPOSE_NAME.search(os.path.basename(path)) or "x-storsim" in tree:
        return True
    return any(
        isinstance(svc, Mapping) and ("x-storsim" in svc or "build" in svc)
        for svc in services.values()
    )
