"""The run log: a sweep's finished runs, one JSON line each, so that a sweep can resume.

Like a lab notebook written in ink as each measurement is taken: if the power fails, the
measurements already written are kept, and the next session starts where the notebook
ends. Each line holds the fingerprint of the scenario (:func:`scenario_digest`), the grid
point, the replication, the seed and the run's rows; a sweep given the same file reads
the lines of its own scenario and runs only the others (and those that failed).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from storsim.scenario import Scenario
from storsim.sweeps.grid import Task, canonical

__all__ = ["RunKey", "RunLog", "run_key", "scenario_digest"]

#: What identifies a run in the log: (scenario digest, grid point's JSON, replication, seed).
RunKey = tuple[str, str, int, int]


def scenario_digest(scenario: Scenario, compare: bool) -> str:
    """Fingerprint of what a run depends on besides its point and seed (16 hex digits)."""
    text = canonical({"scenario": scenario.to_data(), "compare": compare})
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def run_key(digest: str, task: Task) -> RunKey:
    """The log's key of one task of the scenario with fingerprint ``digest``."""
    return (digest, canonical(task.point), task.replication, task.seed)


class RunLog:
    """An open run log: the runs it already holds, and appending finished ones.

    Args:
        path: the JSON-lines file; created if missing.
        digest: the scenario's fingerprint; lines of other scenarios are kept but ignored.

    Attributes:
        done: the runs of this scenario already in the file: key -> rows. Where a run is
            there twice (a failure tried again), the later line wins.
    """

    def __init__(self, path: str | os.PathLike[str], digest: str) -> None:
        self._digest = digest
        self.done = _read(Path(path), digest)
        self._handle = _open(Path(path))

    def append(self, task: Task, rows: Sequence[dict[str, Any]]) -> None:
        """Write one finished run, and flush it to the file at once."""
        line = {
            "scenario": self._digest,
            "point": task.point,
            "replication": task.replication,
            "seed": task.seed,
            "rows": rows,
        }
        self._handle.write(json.dumps(line, default=str, allow_nan=False) + "\n")
        self._handle.flush()

    def close(self) -> None:
        """Close the file."""
        self._handle.close()


def _read(path: Path, digest: str) -> dict[RunKey, list[dict[str, Any]]]:
    done: dict[RunKey, list[dict[str, Any]]] = {}
    if not path.exists():
        return done
    with path.open(encoding="utf-8") as handle:
        for text in handle:
            try:
                line = json.loads(text)
                key = (
                    str(line["scenario"]),
                    canonical(line["point"]),
                    int(line["replication"]),
                    int(line["seed"]),
                )
                rows = [dict(row) for row in line["rows"]]
            except (ValueError, KeyError, TypeError):
                continue  # a line cut short by a crash, or not ours
            if key[0] == digest:
                done[key] = rows  # a later line (a retried failure) wins
    return done


def _open(path: Path) -> TextIO:
    handle = path.open("a+", encoding="utf-8")
    handle.seek(0, os.SEEK_END)
    if handle.tell() > 0:
        handle.seek(handle.tell() - 1)
        if handle.read(1) != "\n":  # the previous sweep died mid-line
            handle.write("\n")
    return handle
