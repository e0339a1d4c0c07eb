"""The grid of a sweep: which variants of a scenario run, how often, with which seeds.

Like the test matrix pinned on a wind tunnel's wall: every combination of wind speed and
angle, each to be run several times. A grid is ``{"dotted.path": [values...]}``; its
points are the full factorial product of the lists (first parameter slowest), and each
point runs ``replications`` times, each with a seed of its own (:func:`run_seed`): a
:class:`Task` per run. The same module names the columns that frame the results
(:data:`RUN_COLUMNS`, :func:`grid_columns`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from storsim.errors import ScenarioError
from storsim.scenario import Scenario
from storsim.scenario.messages import plain
from storsim.scenario.overrides import parse_path
from storsim.scenario.text import parse_yaml

__all__ = [
    "RUN_COLUMNS",
    "Task",
    "canonical",
    "cell",
    "check_grid",
    "grid_columns",
    "parse_grid",
    "run_seed",
    "tasks",
]

#: Columns of a sweep frame that are neither grid parameters nor metrics.
RUN_COLUMNS: tuple[str, ...] = ("replication", "seed", "storage", "series", "placement", "error")


@dataclasses.dataclass(frozen=True, slots=True)
class Task:
    """One run of the sweep: a grid point, a replication and its seed.

    Attributes:
        point: ``{"dotted.path": value}`` of the grid point (``{}`` without a grid).
        replication: the replication number, from 0.
        seed: the run's seed (:func:`run_seed`).
        scenario: the variant to simulate (the scenario with the point's values).
    """

    point: dict[str, Any]
    replication: int
    seed: int
    scenario: Scenario


def tasks(
    scenario: Scenario, grid: Mapping[str, Sequence[Any]], replications: int
) -> tuple[list[str], list[Task]]:
    """Every run of a grid, in grid order then replication.

    Args:
        scenario: the base scenario.
        grid: ``{"dotted.path": [value, ...]}``, checked by :func:`check_grid`.
        replications: runs per point (>= 1).

    Returns:
        The grid's parameters, in order, and one task per run.

    Raises:
        ScenarioError: the grid is malformed, or a point makes an invalid scenario.
    """
    params = check_grid(grid)
    out: list[Task] = []
    for values in itertools.product(*(grid[p] for p in params)):
        point = dict(zip(params, values, strict=True))
        variant = scenario.with_overrides(point) if point else scenario
        for replication in range(replications):
            out.append(
                Task(point, replication, run_seed(scenario.seed, point, replication), variant)
            )
    return params, out


def run_seed(base_seed: int, point: Mapping[str, Any], replication: int) -> int:
    """The seed of one run of a sweep.

    Args:
        base_seed: the scenario's ``seed``.
        point: the grid point, ``{"dotted.path": value}``.
        replication: the replication number, from 0.

    Returns:
        A non-negative 63-bit integer, a function of the three arguments only: the same
        grid point gets the same seeds in every sweep that contains it.
    """
    words = np.frombuffer(hashlib.sha256(canonical(point).encode()).digest(), dtype="<u4")
    sequence = np.random.SeedSequence([base_seed, *words.tolist(), replication])
    return int(sequence.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))


def parse_grid(specs: Sequence[str]) -> dict[str, list[Any]]:
    """Parse command-line grid specs, ``"dotted.path=v1,v2,..."``.

    Each value list is read as a YAML flow sequence, so ``4`` is a number, ``2 ms`` a
    string, and a value holding a comma can be quoted or bracketed (``"{a: 1, b: 2}"``).

    Raises:
        ScenarioError: a spec without ``=``, an empty or unreadable value list, or a path
            given twice.
    """
    grid: dict[str, list[Any]] = {}
    for spec in specs:
        path, sep, raw = spec.partition("=")
        path = path.strip()
        if not sep or not path or not raw.strip():
            raise ScenarioError(f"--grid must be dotted.path=v1,v2,... (got {spec!r})")
        try:
            values = plain(parse_yaml(f"[{raw}]"))
        except ScenarioError:
            raise ScenarioError(
                f"--grid {path}: values must be YAML scalars separated by commas (got {raw!r})"
            ) from None
        if path in grid:
            raise ScenarioError(f"--grid {path} is given twice")
        grid[path] = list(values)
    return grid


def grid_columns(frame: pd.DataFrame) -> list[str]:
    """The grid parameter columns of a :func:`storsim.sweep` or :func:`storsim.summarize` frame.

    They are the columns before ``replication`` (a sweep frame) or before ``storage``
    (a summary).

    Raises:
        ValueError: ``frame`` has neither column.
    """
    columns = list(frame.columns)
    for marker in ("replication", "storage"):
        if marker in columns:
            return columns[: columns.index(marker)]
    raise ValueError("not a sweep frame: it has neither a 'replication' nor a 'storage' column")


def check_grid(grid: Mapping[str, Sequence[Any]]) -> list[str]:
    """The grid's parameters, in order, once each is known to be a path with a value list.

    The paths are those of ``--set`` (:func:`storsim.scenario.overrides.parse_path`):
    ``workload[0].rate``, ``workload.0.rate`` and ``workload[wal].rate``.

    Raises:
        ScenarioError: a key that is not a dotted path or names a :data:`RUN_COLUMNS`
            column, two keys for one place (``workload[0].rate`` and
            ``workload.0.rate``), or a value list that is not a list, is empty or
            repeats a value.
    """
    params = list(grid)
    places: dict[str, str] = {}
    for path in params:
        values = grid[path]
        if not isinstance(path, str) or not path:
            raise ScenarioError(f"grid keys must be dotted paths (got {path!r})")
        try:
            place = repr(parse_path(path))
        except ValueError:
            raise ScenarioError(
                f"grid {path}: must be dotted keys, with [index], .index or [name] for a list item",
                where=path,
            ) from None
        if place in places:
            raise ScenarioError(
                f"grid {path} and {places[place]} name the same value; give it once", where=path
            )
        places[place] = path
        if path in RUN_COLUMNS:
            why = "; replications vary the seed" if path == "seed" else ""
            raise ScenarioError(
                f"grid {path} must not be swept: it would clash with the {path!r} column{why}",
                where=path,
            )
        if isinstance(values, str | bytes) or not isinstance(values, Sequence):
            raise ScenarioError(
                f"grid {path} must be a list of values (got {values!r})", where=path
            )
        if not values:
            raise ScenarioError(f"grid {path} must have at least one value (got [])", where=path)
        texts = [canonical(v) for v in values]
        if len(set(texts)) != len(texts):
            raise ScenarioError(
                f"grid {path} must not repeat a value (got {list(values)!r})", where=path
            )
    return params


def canonical(value: Any) -> str:
    """One JSON text per value (keys sorted, no spaces): equal values, equal texts."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def cell(value: Any) -> Any:
    """A grid value as a frame cell: a scalar as is, anything else as its JSON text."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return canonical(value)
