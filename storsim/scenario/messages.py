"""Error messages: a pydantic ValidationError becomes one line ``FILE:LINE: yaml.path: rule``.

Like a proof-reader's note in the margin ("p. 12, line 10: 'many' is not a number"),
every scenario error names the file, the line of the offending value, its YAML path and
the rule it breaks, in one wording (``must be >= 0 (got -1)``). The YAML tree that
ruamel's round-trip loader builds keeps the line of every key and item; this module
follows an error's location through that tree, rewords pydantic's messages, and lists
the valid keys when a key is unknown.

It knows YAML trees and pydantic, not the scenario's shape: the root model is an
argument, so that the spec modules and the Scenario model can all use it.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, get_args, get_origin

from pydantic import BaseModel, ValidationError
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from storsim.errors import ScenarioError

__all__ = [
    "UnknownKeyError",
    "dotted",
    "locate",
    "plain",
    "rule_error",
    "short",
    "translate",
    "valid_keys",
]


class UnknownKeyError(ValueError):
    """An unknown key found by a ``mode="before"`` validator (one that allows some keys
    pydantic's ``extra="forbid"`` would refuse); reported like pydantic's own."""

    def __init__(self, key: str, valid: list[str]) -> None:
        super().__init__(f"is not a valid key; valid keys: {', '.join(valid)}")
        self.key = key


def plain(node: Any) -> Any:
    """ruamel's round-trip containers -> plain dicts and lists (pydantic wants those)."""
    if isinstance(node, Mapping):
        return {(str(k) if not isinstance(k, str) else k): plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [plain(v) for v in node]
    if isinstance(node, str):
        return str(node)
    if isinstance(node, bool):
        return bool(node)
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    return node


def dotted(parts: Sequence[str | int]) -> str:
    """A data path as YAML users write it: ``services.web.volumes[0]``, ``sources["./x"]``."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", part):
            out += ("." if out else "") + part
        else:
            out += f"[{json.dumps(part)}]"
    return out or "(top level)"


def short(value: Any) -> str:
    """A value as a message shows it: its repr, cut to 60 characters."""
    text = repr(plain(value))
    return text if len(text) <= 60 else text[:57] + "..."


def locate(tree: Any, loc: Sequence[str | int]) -> tuple[list[str | int], int | None]:
    """Follow a pydantic error location through the YAML tree: data path and 1-based line.

    pydantic puts union member tags into locations ("fixed", "function-before[...]");
    elements that do not index the data are skipped.
    """
    node = tree
    path: list[str | int] = []
    line: int | None = None
    for part in loc:
        if isinstance(node, Mapping) and part in node:
            line = _line_of(node, part, "value") or line
            path.append(part)
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            line = _line_of(node, part, "item") or line
            path.append(part)
            node = node[part]
        elif isinstance(node, CommentedMap) and line is None and node.lc.line is not None:
            line = node.lc.line + 1
    return path, line


def _line_of(node: Any, part: str | int, what: str) -> int | None:
    """1-based line of a key, value or item in the YAML text; None for values that
    overrides added (they have no place in the file)."""
    if not isinstance(node, CommentedMap | CommentedSeq):
        return None
    try:
        return int(getattr(node.lc, what)(part)[0]) + 1
    except (KeyError, IndexError, TypeError):
        return None


def rule_error(tree: Any, file: str | None, path: Sequence[str | int], rule: str) -> ScenarioError:
    """The error for a rule that pydantic does not check, at ``path`` of the YAML tree.

    Args:
        tree: the YAML tree the scenario was validated from.
        file: the scenario file, if any.
        path: the data path of the offending value.
        rule: what is wrong, ``"must ... (got VALUE)"``.

    Returns:
        The ScenarioError to raise (``FILE:LINE: yaml.path: rule``).
    """
    _, line = locate(tree, path)
    where = dotted(path)
    return ScenarioError(f"{where}: {rule}", file=file, line=line, where=where)


def translate(
    exc: ValidationError, tree: Any, file: str | None, root: type[BaseModel]
) -> ScenarioError:
    """The one ScenarioError for pydantic's first error.

    Args:
        exc: what ``root.model_validate`` raised for the plain data of ``tree``.
        tree: the YAML tree (ruamel's round-trip containers carry the lines).
        file: the scenario file, if any.
        root: the model that was validated (it gives the valid keys).

    Returns:
        The error ``FILE:LINE: yaml.path: rule (got VALUE)`` to raise.
    """
    error = exc.errors(include_url=False)[0]
    loc = list(error["loc"])
    kind = error["type"]
    message = error["msg"]
    context_error = (error.get("ctx") or {}).get("error")
    if isinstance(context_error, UnknownKeyError):
        loc.append(context_error.key)
        kind = "extra_forbidden"
    path, line = locate(tree, loc)
    if kind == "extra_forbidden":
        key = path[-1] if path else loc[-1]
        valid = valid_keys(root, plain(tree), path[:-1])
        if isinstance(tree, Mapping):
            parent = tree
            for part in path[:-1]:
                parent = parent[part]
            if key in parent:
                line = _line_of(parent, key, "key") or line
        where = dotted(path)
        return ScenarioError(
            f"{where}: unknown key {key!r}; valid keys: {', '.join(valid)}",
            file=file,
            line=line,
            where=where,
        )
    where = dotted(path)
    if kind == "missing":
        missing = loc[-1]
        where = dotted([*path, missing])
        return ScenarioError(f"{where}: required key is missing", file=file, line=line, where=where)
    message = _RULES.get(kind, message.removeprefix("Value error, "))
    with contextlib.suppress(KeyError, IndexError, ValueError):
        message = message.format(**(error.get("ctx") or {}))
    if "(got " in message:  # the unit parsers already say what they got
        return ScenarioError(f"{where}: {message}", file=file, line=line, where=where)
    shown = short(error.get("input"))
    return ScenarioError(f"{where}: {message} (got {shown})", file=file, line=line, where=where)


# pydantic's wording -> the "must be ..." rule wording used in every storsim message.
_RULES = {
    "greater_than": "must be > {gt}",
    "greater_than_equal": "must be >= {ge}",
    "less_than": "must be < {lt}",
    "less_than_equal": "must be <= {le}",
    "literal_error": "must be one of {expected}",
    "int_parsing": "must be a whole number",
    "int_type": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_parsing": "must be a number",
    "float_type": "must be a number",
    "bool_parsing": "must be true or false",
    "bool_type": "must be true or false",
    "string_type": "must be a string",
    "dict_type": "must be a mapping",
    "model_type": "must be a mapping",
    "model_attributes_type": "must be a mapping",
    "list_type": "must be a list",
    "too_short": "must have at least {min_length} item(s)",
    "too_long": "must have at most {max_length} item(s)",
    "string_too_short": "must not be empty",
    "string_pattern_mismatch": "must match {pattern}",
    "union_tag_invalid": "{discriminator} must be one of {expected_tags}",
    "union_tag_not_found": "needs {discriminator}",
}


def valid_keys(root: type[BaseModel], data: Any, path: Sequence[str | int]) -> list[str]:
    """Field names of the object at ``path`` below ``root`` (for "valid keys: ..." messages).

    Args:
        root: the model of the whole data.
        data: the plain data, to pick the union member (by its ``dist`` or ``type`` tag,
            else the one sharing most keys) where a field admits several models.
        path: the data path of the mapping whose keys are wanted.

    Returns:
        The sorted field names, or ``[]`` when ``path`` is not a model.
    """
    model: Any = root
    node = data
    for part in path:
        model = _unwrap(model, node)
        if isinstance(part, int):
            model = get_args(model)[0] if get_origin(model) is list else model
        elif isinstance(model, type) and issubclass(model, BaseModel):
            field = model.model_fields.get(part)
            model = field.annotation if field is not None else None
        elif get_origin(model) is dict:
            model = get_args(model)[1]
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int):
            node = node[part]
        else:
            node = None
    model = _unwrap(model, node)
    if isinstance(model, type) and issubclass(model, BaseModel):
        return sorted(model.model_fields)
    return []


def _unwrap(model: Any, node: Any) -> Any:
    """Strip Annotated/Optional/Union down to the member that fits ``node``."""
    while True:
        origin = get_origin(model)
        if origin is Annotated:
            model = get_args(model)[0]
            continue
        args = get_args(model)
        if origin is not None and origin not in (list, dict) and args:
            members = [a for a in args if a is not type(None)]
            models = [m for m in members if isinstance(m, type) and issubclass(m, BaseModel)]
            if isinstance(node, dict) and models:
                tag = node.get("dist") or node.get("type")
                for m in models:
                    field = m.model_fields.get("dist") or m.model_fields.get("type")
                    if field is not None and tag in get_args(field.annotation):
                        return m
                return max(models, key=lambda m: len(set(m.model_fields) & set(node)))
            model = members[0]
            continue
        return model
