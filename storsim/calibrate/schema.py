"""The measurement file: what ``storsim calibrate`` measured, sample by sample.

Like a lab notebook that records every reading rather than only the average, the file
keeps each raw sample (seconds) of each point of each experiment, with the parameters
of the point and the facts of the host, so that ``storsim validate`` can compare whole
distributions and ``fit`` can choose its own summaries later.

Layout (JSON, ``format_version`` :data:`FORMAT_VERSION`)::

    {"format": "storsim-measurements", "format_version": 1,
     "created_utc": ..., "mode": "quick" | "full", "duration_s": ...,
     "host": {kernel, cpus, memory_bytes, backing: {fs_type, ...}, fio, engine, ...},
     "experiments": [
        {"name": "copy_up", "description": ..., "where": ..., "cold": ...,
         "duration_s": ..., "points": [
            {"params": {"size_bytes": 4096, "cache": "cold"},
             "samples_s": [...],                # the point's main quantity
             "parts_s": {"open_s": [...]},       # breakdowns, same length
             "counts": {"lost_updates": [...]},  # integers, one per repetition
             "engine": "python" | "fio", "fio": {fio's own summary} | null}]}],
     "skipped": [{"name": "lookup", "reason": "needs root: mounting overlayfs"}]}

A reader validates with :func:`load_measurements`; a later format bumps the version.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "Experiment",
    "Measurements",
    "Point",
    "Skipped",
    "dump_measurements",
    "load_measurements",
]

FORMAT: Literal["storsim-measurements"] = "storsim-measurements"
FORMAT_VERSION: Literal[1] = 1

ParamValue = str | int | float | bool


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Point(_Model):
    """One parameter point of an experiment and its raw samples.

    Attributes:
        params: the point's parameters (sizes in bytes, counts, names).
        samples_s: the main quantity of each repetition or operation, in seconds.
        parts_s: named breakdowns of the same operations (e.g. ``lock_wait_s``).
        counts: named integer outcomes, one per repetition (e.g. ``lost_updates``).
        engine: what made the samples: this package's Python loop or fio.
        fio: fio's own summary when fio made them (clat percentiles in ns, as fio
            writes them).
    """

    params: dict[str, ParamValue]
    samples_s: list[float]
    parts_s: dict[str, list[float]] = Field(default_factory=dict)
    counts: dict[str, list[int]] = Field(default_factory=dict)
    engine: Literal["python", "fio"] = "python"
    fio: dict[str, Any] | None = None

    @field_validator("samples_s")
    @classmethod
    def _finite(cls, samples: list[float]) -> list[float]:
        if any(not math.isfinite(x) or x < 0 for x in samples):
            raise ValueError("samples_s must be finite and >= 0")
        return samples


class Experiment(_Model):
    """One experiment: what it measures, where, what "cold" means there, its points."""

    name: str
    description: str
    where: str
    cold: str | None = None
    duration_s: float
    points: list[Point]


class Skipped(_Model):
    """An experiment (or a part of one, ``lookup[cold]``) that could not run here."""

    name: str
    reason: str


class Measurements(_Model):
    """The whole measurement file."""

    format: Literal["storsim-measurements"] = FORMAT
    format_version: Literal[1] = FORMAT_VERSION
    created_utc: str
    storsim_version: str
    mode: Literal["quick", "full"]
    argv: list[str]
    duration_s: float
    host: dict[str, Any]
    experiments: list[Experiment]
    skipped: list[Skipped]

    def experiment(self, name: str) -> Experiment:
        """The experiment called ``name``.

        Raises:
            KeyError: no experiment of that name ran.
        """
        for experiment in self.experiments:
            if experiment.name == name:
                return experiment
        raise KeyError(name)


def load_measurements(path: str | Path) -> Measurements:
    """Read and validate a measurement file.

    Raises:
        OSError: the file cannot be read.
        pydantic.ValidationError: it is not a well-formed measurement file of this
            format version.
    """
    return Measurements.model_validate_json(Path(path).read_text(encoding="utf-8"))


def dump_measurements(doc: Measurements) -> str:
    """The file's text: one line per point, indented structure around the points.

    ``json.dumps(indent=...)`` would put each of some 10^5 samples on a line of its own.
    """
    data = doc.model_dump(mode="json")
    experiments = data.pop("experiments")
    head = json.dumps(data, indent=1)[:-2]  # drop the closing "\n}"
    blocks = []
    for experiment in experiments:
        points = experiment.pop("points")
        lines = ",\n".join("   " + json.dumps(p, separators=(",", ":")) for p in points)
        meta = json.dumps(experiment, indent=None)[:-1]
        blocks.append(f'  {meta}, "points": [\n{lines}\n  ]}}')
    return head + ',\n "experiments": [\n' + ",\n".join(blocks) + "\n ]\n}\n"
