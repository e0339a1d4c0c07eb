"""The measurement file: written with one line per point, read back validated."""

from __future__ import annotations

import json
from pathlib import Path

import pydantic
import pytest

from storsim.calibrate.schema import (
    Experiment,
    Measurements,
    Point,
    dump_measurements,
    load_measurements,
)


def _doc() -> Measurements:
    point = Point(
        params={"size_bytes": 4096, "cache": "cold"},
        samples_s=[0.001, 0.002],
        parts_s={"open_s": [0.0009, 0.0019]},
        counts={"lost_updates": [0, 3]},
    )
    return Measurements(
        created_utc="2025-01-01T00:00:00+00:00",
        storsim_version="0.1.0",
        mode="quick",
        argv=["calibrate", "--quick"],
        duration_s=1.5,
        host={"kernel": "6.1", "cpus": 2},
        experiments=[
            Experiment(
                name="copy_up",
                description="d",
                where="w",
                cold="c",
                duration_s=1.0,
                points=[point, point],
            ),
            Experiment(name="empty", description="d", where="w", duration_s=0.0, points=[]),
        ],
        skipped=[{"name": "lookup", "reason": "needs root"}],  # type: ignore[list-item]
    )


def test_a_file_reads_back_as_written(tmp_path: Path) -> None:
    """dump then load gives the same document, and every point is one line of the file."""
    text = dump_measurements(_doc())
    (tmp_path / "m.json").write_text(text)
    assert load_measurements(tmp_path / "m.json") == _doc()
    assert json.loads(text)["format"] == "storsim-measurements"
    assert sum(1 for line in text.splitlines() if line.lstrip().startswith('{"params"')) == 2


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.update(format_version=2), "format_version"),
        (lambda d: d.update(surprise=1), "surprise"),
        (lambda d: d["experiments"][0]["points"][0].update(samples_s=[-1.0]), "finite"),
        (lambda d: d["experiments"][0].pop("points"), "points"),
    ],
)
def test_a_malformed_file_is_rejected(tmp_path: Path, change: object, message: str) -> None:
    """Another format version, an unknown key, a negative sample or a missing field fail."""
    data = json.loads(dump_measurements(_doc()))
    change(data)  # type: ignore[operator]
    (tmp_path / "m.json").write_text(json.dumps(data))
    with pytest.raises(pydantic.ValidationError, match=message):
        load_measurements(tmp_path / "m.json")


def test_an_experiment_is_found_by_name() -> None:
    """Measurements.experiment finds a name and raises KeyError for one that did not run."""
    doc = _doc()
    assert doc.experiment("copy_up").points[0].params["cache"] == "cold"
    with pytest.raises(KeyError):
        doc.experiment("lookup")
