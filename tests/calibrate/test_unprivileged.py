"""The experiments that need no privilege: the data path (both engines), remote
directories and the concurrent writers, run through ``calibrate`` itself."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from storsim.calibrate import calibrate, load_measurements
from storsim.calibrate.datapath import CASES
from storsim.calibrate.plan import QUICK
from storsim.calibrate.remote import OPS


def _run(tmp_path: Path, **options: object) -> Path:
    out = tmp_path / "m.json"
    calibrate(directory=tmp_path / "work", quick=True, output=out, **options)  # type: ignore[arg-type]
    assert not (tmp_path / "work").exists()
    return out


@pytest.mark.parametrize(
    "engine",
    [
        "python",
        pytest.param("fio", marks=pytest.mark.skipif(shutil.which("fio") is None, reason="no fio")),
    ],
)
def test_the_data_path_runs_every_case_with_each_engine(tmp_path: Path, engine: str) -> None:
    """Each engine gives one point per case with one sample per I/O (fsync: per fsync)."""
    doc = load_measurements(_run(tmp_path, engine=engine, only=["data_path"]))
    experiment = doc.experiment("data_path")
    assert [p.params["case"] for p in experiment.points] == [c.name for c in CASES]
    for point in experiment.points:
        assert point.engine == engine
        expected = int(point.params["ops_per_rep"]) * int(point.params["reps"])
        if point.params["op"] == "fsync":  # fio issues no fsync after the last write
            assert expected - 1 <= len(point.samples_s) <= expected
            assert len(point.parts_s["write_s"]) == expected
        else:
            assert len(point.samples_s) == expected
        assert (point.fio is not None) == (engine == "fio")
    assert doc.host["engine"]["name"] == engine


def test_a_remote_directory_is_measured_and_left_clean(tmp_path: Path) -> None:
    """Every operation is timed, every change is seen, and the remote keeps nothing of ours."""
    share = tmp_path / "share"
    share.mkdir()
    (share / "users-file").write_text("keep")
    doc = load_measurements(
        _run(tmp_path, remotes=[str(share)], only=["remote_ops", "remote_staleness"])
    )
    ops = doc.experiment("remote_ops")
    assert [p.params["op"] for p in ops.points] == list(OPS)
    assert all(len(p.samples_s) == QUICK.remote_ops for p in ops.points)
    stale = doc.experiment("remote_staleness")
    assert {p.params["change"] for p in stale.points} == {"create", "modify", "unlink"}
    # one local directory through one path is coherent: every change is visible
    assert all(p.counts["not_visible"] == [0] for p in stale.points)
    assert sorted(p.name for p in share.iterdir()) == ["users-file"]


def test_without_remote_the_remote_experiments_are_listed_as_skipped(tmp_path: Path) -> None:
    """Asked for remote experiments without --remote, the file says why they are missing."""
    doc = load_measurements(_run(tmp_path, only=["remote_ops", "rmw"]))
    assert [e.name for e in doc.experiments] == ["rmw"]
    assert [(s.name, s.reason) for s in doc.skipped] == [("remote_ops", "no --remote PATH given")]
    counts = doc.experiment("rmw").points[0].counts
    assert set(counts) == {"lost_updates", "expected_updates"}
