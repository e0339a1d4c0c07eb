"""Loading: a scenario file (or mapping) read, parsed as YAML and validated.

Like a clerk at the counter who takes a form, checks that it is legible and filled in on
the right sheet before handing it on, :func:`load_scenario` reads the file as UTF-8,
parses it with ruamel's round-trip loader (which keeps every key's line for the
messages), applies the overrides and validates it; any problem on the way is one
:class:`~storsim.errors.ScenarioError` naming the file and the line.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping, Sequence
from io import StringIO
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from storsim.errors import ScenarioError
from storsim.scenario.model import Scenario, validate

__all__ = ["load_scenario"]


def load_scenario(
    source: str | os.PathLike[str] | Mapping[str, Any],
    *,
    overrides: Mapping[str, Any] | Sequence[str] | None = None,
) -> Scenario:
    """Load and validate a scenario.

    Args:
        source: a YAML file's path, or the scenario as a mapping (e.g. from a notebook).
        overrides: values to change before validation, as ``{"dotted.path": value}`` or
            ``["dotted.path=value", ...]`` (the value then parsed as YAML), e.g.
            ``{"services.web.deploy.replicas": 4}``.

    Returns:
        The validated, frozen scenario.

    Raises:
        ScenarioError: the file cannot be read or parsed, or breaks a rule; the message
            names the file, the line and the YAML path.
    """
    if isinstance(source, Mapping):
        return validate(copy.deepcopy(dict(source)), None, overrides)
    path = os.fspath(source)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(f"cannot read scenario: {exc.strerror}", file=path) from None
    except UnicodeDecodeError:
        raise ScenarioError("cannot read scenario: not UTF-8 text", file=path) from None
    try:
        tree = YAML(typ="rt", pure=True).load(StringIO(text))
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = exc.problem or exc.context or "invalid YAML"
        raise ScenarioError(f"invalid YAML: {problem}", file=path, line=line) from None
    except YAMLError as exc:
        raise ScenarioError(f"invalid YAML: {exc}", file=path) from None
    if not isinstance(tree, Mapping):
        raise ScenarioError(
            f"a scenario must be a mapping of keys (got {type(tree).__name__})", file=path, line=1
        )
    return validate(tree, path, overrides)
