"""Overrides: ``--set dotted.path=VALUE`` changes a scenario's data before validation.

Like a correction slip pasted over one line of a printed form, an override replaces one
value of the YAML tree (``services.web.deploy.replicas=4``, ``host.disk.latency=2 ms``,
``services.web.workload[0].count=10``) and the whole scenario is validated again, so an
override can break no rule that a file could not.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from storsim.errors import ScenarioError
from storsim.scenario.messages import dotted, plain, short
from storsim.scenario.text import check_data, parse_yaml

__all__ = ["apply_overrides"]

_SEGMENT = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _parse_dotted(path: str) -> list[str | int]:
    parts: list[str | int] = []
    pos = 0
    for match in _SEGMENT.finditer(path):
        between = path[pos : match.start()]
        if between not in ("", "."):
            raise ValueError(path)
        key, index = match.groups()
        parts.append(int(index) if index is not None else key)
        pos = match.end()
    if not parts or pos != len(path):
        raise ValueError(path)
    return parts


def apply_overrides(tree: Any, overrides: Mapping[str, Any] | Sequence[str]) -> list[str]:
    """Set values in a scenario's YAML tree, in place; missing mappings are created.

    Args:
        tree: the scenario's data (plain or ruamel round-trip containers).
        overrides: ``{"dotted.path": value}`` or ``["dotted.path=yaml-value", ...]`` (the
            value then parsed as YAML; an empty one is ``""``).

    Returns:
        The paths set, as the messages write them (``services.web.deploy.replicas``).

    Raises:
        ScenarioError: (naming no file: an override is an option, not a line of the
            file) an override is not ``dotted.path=VALUE``, its value is not valid
            YAML (or nests too deeply, or expands too far), its path is not dotted keys
            with ``[index]`` for lists, names a list item that does not exist, or goes
            through a value that is not a mapping.
    """
    items: Iterable[tuple[str, Any]]
    if isinstance(overrides, Mapping):
        items = [(path, check_data(value, f"--set {path}")) for path, value in overrides.items()]
    else:
        pairs = []
        for text in overrides:
            if not isinstance(text, str):
                raise TypeError(f"overrides must be strings 'dotted.path=VALUE' (got {text!r})")
            path, sep, raw = text.partition("=")
            if not sep:
                raise ScenarioError(f"--set must be dotted.path=VALUE (got {text!r})", where=text)
            # plain data: the value's own lines (1, 2...) are not lines of the scenario file
            try:
                value = plain(parse_yaml(raw, what="invalid YAML")) if raw.strip() else ""
            except ScenarioError as exc:
                raise ScenarioError(
                    f"--set {path.strip()}: the value is {exc.message} (got {short(raw)})"
                ) from None
            pairs.append((path.strip(), value))
        items = pairs
    changed: list[str] = []
    for path, value in items:
        try:
            if not isinstance(path, str):
                raise ValueError(path)
            parts = _parse_dotted(path)
        except ValueError:
            raise ScenarioError(
                f"--set path must be dotted keys with [index] for lists (got {path!r})"
            ) from None
        node = tree
        for depth, part in enumerate(parts):
            last = depth == len(parts) - 1
            where = dotted(parts[: depth + 1])
            if isinstance(part, int):
                if not isinstance(node, list) or not 0 <= part < len(node):
                    raise ScenarioError(f"--set {where}: no such list item (got {path!r})")
            elif isinstance(node, str) and parts[:depth] == ["host", "disk"]:
                # `disk: ssd` is shorthand for {profile: ssd}: expand it to set a field
                node = tree["host"]["disk"] = {"profile": node}
            if not isinstance(part, int) and not isinstance(node, dict):
                parent = dotted(parts[:depth])
                raise ScenarioError(
                    f"--set {where}: {parent} is {short(node)}, not a mapping; set {parent} itself"
                )
            if last:
                node[part] = value
            else:
                if isinstance(part, str) and part not in node:
                    node[part] = {}
                node = node[part]
        changed.append(dotted(parts))
    return changed
