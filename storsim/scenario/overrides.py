"""Overrides: ``--set dotted.path=VALUE`` changes a scenario's data before validation.

Like a correction slip pasted over one line of a printed form, an override replaces one
value of the YAML tree (``services.web.deploy.replicas=4``, ``host.disk.latency=2 ms``,
``services.web.workload[0].count=10``) and the whole scenario is validated again, so an
override can break no rule that a file could not. A list item is named by its index,
``workload[0]`` or ``workload.0``, or by its ``name:`` key, ``workload[wal]``, the way a
reader points at a row of a form by its number or its label; ``sweep --grid`` takes the
same paths.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from storsim.errors import ScenarioError
from storsim.scenario.messages import dotted, plain, short
from storsim.scenario.text import check_data, parse_yaml

__all__ = ["Named", "apply_overrides", "parse_path"]

# A key (``deploy``, or ``0`` for a list item), ``[0]``, ``["./x"]`` (JSON-quoted, as the
# messages write keys with dots), or ``[name]``.
_SEGMENT = re.compile(r'([^.\[\]]+)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]|\[([^\[\]"]+)\]')


class Named(str):
    """A bracketed path segment that is not a number (``workload[wal]``): a key of a
    mapping, or the list item whose ``name`` it is."""

    __slots__ = ()


def parse_path(path: str) -> list[str | int]:
    """The segments of an override path.

    ``workload[0]`` and ``workload.0`` are both the list item 0 (the int 0);
    ``workload[wal]`` is :class:`Named` ``"wal"``: a list's item with ``name: wal``.

    Raises:
        ValueError: ``path`` is not dotted keys with ``[index]``, ``.index`` or ``[name]``.
    """
    parts: list[str | int] = []
    pos = 0
    for match in _SEGMENT.finditer(path):
        between = path[pos : match.start()]
        if between not in ("", "."):
            raise ValueError(path)
        key, index, quoted, name = match.groups()
        if index is not None or (key is not None and key.isdigit() and key.isascii()):
            parts.append(int(index if index is not None else key))
        elif key is not None:
            parts.append(key)
        else:
            parts.append(Named(json.loads(quoted) if quoted is not None else name))
        pos = match.end()
    if not parts or pos != len(path):
        raise ValueError(path)
    return parts


def _items(node: list[Any]) -> str:
    """A list's items as a message lists them: ``[0] 'wal', [1] 'data'`` (by name)."""
    if not node:
        return "it is empty"
    names = [
        f"[{i}] {item['name']!r}" if isinstance(item, dict) and "name" in item else f"[{i}]"
        for i, item in enumerate(node[:12])
    ]
    more = f", ... ({len(node)} items)" if len(node) > 12 else ""
    return "it has " + ", ".join(names) + more


def _list_index(node: list[Any], part: str | int, where: str, path: str) -> int:
    """The index in ``node`` (a list) that ``part`` names, by number or by name."""
    if isinstance(part, int):
        if part < len(node):
            return part
        raise ScenarioError(f"--set {where}: no such list item; {_items(node)} (got {path!r})")
    if not isinstance(part, Named):
        raise ScenarioError(
            f"--set {where}: a list is indexed [N], .N or [name]; {_items(node)} (got {path!r})"
        )
    found = [
        i for i, item in enumerate(node) if isinstance(item, dict) and item.get("name") == part
    ]
    if len(found) == 1:
        return found[0]
    why = "names more than one list item" if found else "names no list item"
    raise ScenarioError(f"--set {where}: {str(part)!r} {why}; {_items(node)} (got {path!r})")


def apply_overrides(tree: Any, overrides: Mapping[str, Any] | Sequence[str]) -> list[str]:
    """Set values in a scenario's YAML tree, in place; missing mappings are created.

    Args:
        tree: the scenario's data (plain or ruamel round-trip containers).
        overrides: ``{"dotted.path": value}`` or ``["dotted.path=yaml-value", ...]`` (the
            value then parsed as YAML; an empty one is ``""``).

    Returns:
        The paths set, as the messages write them, list items by index
        (``services.web.workload[1].rate`` for ``services.web.workload[wal].rate``).

    Raises:
        ScenarioError: (naming no file: an override is an option, not a line of the
            file) an override is not ``dotted.path=VALUE``, its value is not valid
            YAML (or nests too deeply, or expands too far), its path is not dotted keys
            with ``[index]``, ``.index`` or ``[name]`` for list items, names a list item
            that does not exist (or a name that no item or several items have), indexes a
            mapping by number, or goes through a value that is not a mapping; the message
            lists the items or keys that exist.
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
            parts = parse_path(path)
        except ValueError:
            raise ScenarioError(
                "--set path must be dotted keys, with [index], .index or [name] for a list "
                f"item (got {path!r})"
            ) from None
        node = tree
        resolved: list[str | int] = []
        for depth, part in enumerate(parts):
            last = depth == len(parts) - 1
            where = dotted([*resolved, part])
            if isinstance(part, Named) and isinstance(node, list):
                where = f"{dotted(resolved)}[{part}]"
            if isinstance(node, list):
                part = _list_index(node, part, where, path)
            elif isinstance(node, str) and resolved == ["host", "disk"]:
                # `disk: ssd` is shorthand for {profile: ssd}: expand it to set a field
                node = tree["host"]["disk"] = {"profile": node}
            if isinstance(part, str):
                part = str(part)  # a Named key of a mapping is a plain key
            if not isinstance(node, list | dict):
                parent = dotted(resolved)
                raise ScenarioError(
                    f"--set {where}: {parent} is {short(node)}, not a mapping; set {parent} itself"
                )
            if isinstance(node, dict) and isinstance(part, int):
                keys = ", ".join(map(str, list(node)[:12])) or "none"
                raise ScenarioError(
                    f"--set {where}: {dotted(resolved)} is a mapping, not a list; "
                    f"its keys: {keys} (got {path!r})"
                )
            resolved.append(part)
            here: Any = node  # a list indexed by an int, or a mapping by a str
            if last:
                here[part] = value
            else:
                if isinstance(part, str) and part not in here:
                    here[part] = {}
                node = here[part]
        changed.append(dotted(resolved))
    return changed
