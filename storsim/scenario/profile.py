"""Host profiles: a host's fitted figures in a file of their own, under a scenario's host.

Like a tailor's card with a customer's measurements, kept apart from any one order and
pinned to each new one, a host profile (written by ``storsim calibrate``) holds the
``host:`` keys fitted on one machine; a scenario names it with ``host: {profile:
./host.yaml}`` (a path relative to the scenario file) or ``storsim run --host FILE``
pins it from the command line, and any key the scenario sets itself wins.

A profile file is a mapping of ``host:`` keys plus two blocks the loader does not
validate: ``fit:`` (what each value was fitted from, and how well) and ``pending:``
(values fitted for parameters this version of the model may not have yet: each one is
applied as soon as :class:`~storsim.scenario.host.HostSpec` has its key, and ignored
until then).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, MutableMapping
from typing import Any

from pydantic import BaseModel, ValidationError

from storsim.errors import ScenarioError
from storsim.scenario.host import HostSpec
from storsim.scenario.messages import plain, translate
from storsim.scenario.text import parse_yaml, read_scenario_text

__all__ = ["apply_host_profile", "read_host_profile", "read_profile_fit"]

# Blocks of a profile file that are not host keys: the fit's record, and values for
# keys the model does not have yet.
_NOT_HOST = ("fit", "pending", "measured")
# The disk figures the ``latency`` shorthand sets: a scenario's shorthand must win over
# a profile's specific keys, which would otherwise win over it (DiskSpec's rule).
_LATENCIES = ("read_latency", "write_latency", "flush_latency")


def _known_keys(model: type[BaseModel], data: Mapping[str, Any]) -> dict[str, Any]:
    """``data`` reduced to the keys ``model`` has, recursively (a pending block)."""
    kept: dict[str, Any] = {}
    for key, value in data.items():
        info = model.model_fields.get(key)
        if info is None:
            continue
        sub = info.annotation
        if isinstance(value, Mapping) and isinstance(sub, type) and issubclass(sub, BaseModel):
            inner = _known_keys(sub, value)
            if inner:
                kept[key] = inner
        else:
            kept[key] = value
    return kept


def read_host_profile(path: str) -> dict[str, Any]:
    """The host keys of a profile file, checked, with its applicable ``pending`` keys.

    Args:
        path: the profile's path.

    Returns:
        A plain mapping of ``host:`` keys.

    Raises:
        ScenarioError: the file cannot be read or parsed, or a host key breaks a rule
            (naming the profile file and the line).
    """
    tree = parse_yaml(read_scenario_text(path), path)
    if not isinstance(tree, Mapping):
        raise ScenarioError(
            f"a host profile must be a mapping of host keys (got {type(tree).__name__})",
            file=path,
            line=1,
        )
    host = {k: v for k, v in tree.items() if k not in _NOT_HOST}
    try:
        HostSpec.model_validate(plain(host))
    except ValidationError as exc:
        raise translate(exc, tree, path, HostSpec) from None  # tree: its lines
    data: dict[str, Any] = plain(host)
    pending = tree.get("pending")
    if isinstance(pending, Mapping):
        _fill(data, _known_keys(HostSpec, plain(pending)))
    return data


def read_profile_fit(path: str) -> set[str]:
    """The calibration points a profile was fitted on (its ``fit:`` block's ``points``),
    which validation keeps out of its error figure.

    Raises:
        ScenarioError: the file cannot be read or parsed.
    """
    tree = parse_yaml(read_scenario_text(path), path)
    points: set[str] = set()
    record = tree.get("fit") if isinstance(tree, Mapping) else None
    for row in record if isinstance(record, list) else []:
        if isinstance(row, Mapping) and isinstance(row.get("points"), list):
            points.update(str(p) for p in row["points"])
    return points


def _fill(target: MutableMapping[str, Any], defaults: Mapping[str, Any]) -> None:
    """Put each key of ``defaults`` into ``target`` where ``target`` has none, into
    nested mappings too (``target`` wins)."""
    for key, value in defaults.items():
        if key not in target:
            target[key] = value
        elif isinstance(target[key], MutableMapping) and isinstance(value, Mapping):
            _fill(target[key], value)


def apply_host_profile(tree: Any, file: str | None, profile: str | None = None) -> None:
    """Fill a scenario tree's ``host:`` from its profile, in place.

    Args:
        tree: the scenario's YAML tree (a mapping).
        file: the scenario's file: ``host.profile`` is relative to its directory (to the
            working directory for a scenario given as a mapping).
        profile: a profile path given on the command line (``--host``): used instead
            of the scenario's ``host.profile``, relative to the working directory.

    Raises:
        ScenarioError: ``host.profile`` is not a path, or the profile is unreadable or
            invalid.
    """
    if not isinstance(tree, MutableMapping):
        return
    host = tree.get("host")
    if host is None and profile is None:
        return
    if host is None:
        host = tree["host"] = {}
    if not isinstance(host, MutableMapping):
        return  # the scenario's own validation says what is wrong with it
    named = host.pop("profile", None)
    if profile is None:
        if named is None:
            return
        if not isinstance(named, str) or not named.strip():
            raise ScenarioError(
                f"host.profile: must be the path of a host profile file (got {named!r})",
                file=file,
            )
        base = os.path.dirname(file) if file else ""
        profile = os.path.join(base, os.path.expanduser(named))
    data = read_host_profile(profile)
    disk = host.get("disk")
    if isinstance(disk, str):  # the shorthand ``disk: ssd``
        disk = host["disk"] = {"profile": disk}
    if isinstance(disk, Mapping) and isinstance(data.get("disk"), dict):
        fitted = data["disk"]
        if "profile" in disk and disk["profile"] != fitted.get("profile"):
            del data["disk"]  # another device: the fitted figures were this one's
        elif "latency" in disk:
            for key in _LATENCIES:
                fitted.pop(key, None)
    _fill(host, data)
