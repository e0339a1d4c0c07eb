"""``storsim validate``: the demerit figure, held-out points, the table, and (as root)
``storsim calibrate --quick`` then ``storsim validate --quick`` end to end. No measured
time is asserted: only that everything ran, is well formed and left nothing behind."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import pytest

from storsim.calibrate import EXPERIMENTS, load_measurements
from storsim.calibrate.fit import fit
from storsim.calibrate.profile import profile_text
from storsim.calibrate.validate import (
    BUILDERS,
    NOT_SIMULATED,
    PointResult,
    _series,
    demerit,
    validate,
)
from storsim.cli.commands import main
from storsim.scenario.profile import read_host_profile
from tests.calibrate.helpers import loops_backed_below, mounts_below
from tests.calibrate.test_fit import _doc

SUMMARY = re.compile(
    r"^validation: (\d+) of (\d+) shapes hold, median error (\d+|nan) % on (\d+) held-out points$"
)


def test_demerit_is_zero_for_equal_samples_and_the_shift_for_shifted_ones() -> None:
    """Equal distributions have demerit 0; one shifted by d has demerit d / measured mean."""
    measured = [1.0, 2.0, 3.0, 4.0]
    assert demerit(measured, measured) == 0.0
    assert demerit(measured, [x + 0.5 for x in measured]) == pytest.approx(0.5 / 2.5)
    with pytest.raises(ValueError, match="samples on both sides"):
        demerit([], measured)


def _sweep(measured: list[float], predicted: list[float]) -> bool:
    """Whether a copy_up sweep with these medians holds its shape."""
    points = [
        PointResult(
            "copy_up", {"size_bytes": 4096 << i, "cache": "cold"}, "", m, p, 0.0, 0.0, False
        )
        for i, (m, p) in enumerate(zip(measured, predicted, strict=True))
    ]
    [series] = _series("copy_up", points)
    return series.holds


def test_a_shape_is_judged_at_every_point_and_fails_when_it_cannot_be_judged() -> None:
    """A shape holds when every point's predicted growth is within a factor 2 of the
    measured one: ends that agree do not save a middle point 3 times off; two sweeps
    "flat" within 2 that go opposite ways (x1.9, x0.55) do not hold; a first median of 0
    (no growth to compare) fails rather than leaving the count."""
    assert _sweep([1.0, 2.0, 4.0], [1.0, 3.0, 5.0])
    assert not _sweep([1.0, 2.0, 4.0], [1.0, 6.0, 4.0])
    assert not _sweep([1.0, 1.9], [1.0, 0.55])
    assert not _sweep([1.0, 2.0], [0.0, 2.0])


def test_every_experiment_is_simulated_or_says_why_not() -> None:
    """Each experiment calibrate runs has a scenario builder or a reason in NOT_SIMULATED."""
    for spec in EXPERIMENTS:
        assert spec.name in BUILDERS or spec.name in NOT_SIMULATED, spec.name


def test_validation_keeps_the_calibration_points_out_of_the_error(tmp_path: Path) -> None:
    """Points the profile was fitted on are marked and left out of the summary's count;
    every measured point of a simulated experiment gets a prediction."""
    doc = _doc()
    fitted = fit(doc)
    path = tmp_path / "host.yaml"
    path.write_text(profile_text(fitted, doc, "m.json"))
    used = {p for f in fitted for p in f.points}
    result = validate(doc, read_host_profile(str(path)), used, quick=True)
    assert len(result.points) == sum(len(e.points) for e in doc.experiments)
    assert {p.key for p in result.points if p.calibration} <= used
    assert all(p.predicted_s > 0 for p in result.points)
    match = SUMMARY.match(result.summary())
    assert match is not None, result.summary()
    assert int(match[4]) == len(result.points) - sum(p.calibration for p in result.points)
    assert int(match[2]) == len(result.series) > 0


@pytest.mark.kernel
def test_quick_calibrate_then_validate_leave_nothing(
    overlay_ok: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """storsim calibrate --quick writes a measurement file and a profile that loads;
    storsim validate --quick measures again, prints a row per point and the summary,
    writes its report; neither leaves a mount, loop device or temporary file."""
    scratch = set(Path(tempfile.gettempdir()).glob("storsim-validate-*"))
    work, out, profile = tmp_path / "work", tmp_path / "m.json", tmp_path / "host.yaml"
    code = main(["calibrate", "--quick", "--dir", str(work), "-o", str(out),
                 "--profile", str(profile)])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    doc = load_measurements(out)
    assert [e.name for e in doc.experiments] == [s.name for s in EXPERIMENTS if s.name in
                                                 {e.name for e in doc.experiments}]  # fmt: skip
    assert {s.name for s in doc.skipped} <= {"remote_ops", "remote_staleness"}
    host = read_host_profile(str(profile))
    assert "disk" in host
    assert "syscall_latency" in host
    capsys.readouterr()
    report = tmp_path / "validation.html"
    code = main(["validate", str(profile), "--quick", "--dir", str(work), "--report", str(report)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    lines = captured.out.strip().splitlines()
    assert SUMMARY.match(lines[-1]), lines[-1]
    simulated = [e for e in doc.experiments if e.name in BUILDERS]
    for experiment in simulated:
        assert any(line.startswith(experiment.name + " ") for line in lines), experiment.name
    assert report.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert mounts_below(work) == []
    assert not work.exists()
    assert loops_backed_below(tmp_path) == []
    assert set(Path(tempfile.gettempdir()).glob("storsim-validate-*")) == scratch
