"""fio as the data-path engine: choosing it, and reading its json+ output."""

from __future__ import annotations

import shutil
import stat
from pathlib import Path
from typing import Any

import pytest

from storsim.calibrate.fio import FioError, choose_engine, fio_samples


def _job(bins: dict[str, int], n: int) -> dict[str, Any]:
    clat = {"min": 1, "max": 9, "mean": 4.0, "stddev": 1.0, "N": n, "bins": bins,
            "percentile": {"50.000000": 3}}  # fmt: skip
    return {"jobname": "j", "error": 0, "write": {"clat_ns": clat}, "sync": {"lat_ns": clat}}


def test_bins_expand_to_one_sample_per_io() -> None:
    """Each bin value appears as many times as its count, sorted; the summary drops the bins."""
    samples, summary = fio_samples(_job({"3000": 2, "1000": 1}, 3), "write")
    assert samples == [1000, 3000, 3000]
    assert summary == {"min": 1, "max": 9, "mean": 4.0, "stddev": 1.0, "N": 3,
                       "percentile": {"50.000000": 3}}  # fmt: skip
    assert fio_samples(_job({"7": 1}, 1), "sync")[0] == [7]


def test_bins_that_disagree_with_n_or_are_missing_are_errors() -> None:
    """Bins that do not add up to N, or output without bins (plain json), are FioError."""
    with pytest.raises(FioError, match="hold 1 I/Os, N says 2"):
        fio_samples(_job({"5": 1}, 2), "write")
    job = _job({"5": 1}, 1)
    del job["write"]["clat_ns"]["bins"]
    with pytest.raises(FioError, match="not json"):
        fio_samples(job, "write")


def test_without_fio_the_python_engine_is_chosen() -> None:
    """auto falls back to Python and says why; asking for fio without one is an error."""
    engine = choose_engine("auto", which=lambda name: None)
    assert (engine.name, engine.fio) == ("python", None)
    assert "not installed" in engine.reason
    assert choose_engine("python").name == "python"
    with pytest.raises(FioError, match="--engine fio: fio is not installed"):
        choose_engine("fio", which=lambda name: None)


def test_an_old_fio_is_not_used(tmp_path: Path) -> None:
    """A fio older than 3.0 (no nanosecond fields) gives the Python engine."""
    fake = tmp_path / "fio"
    fake.write_text("#!/bin/sh\necho fio-2.2.10\n")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    engine = choose_engine("auto", which=lambda name: str(fake))
    assert engine.name == "python"
    assert "older than fio 3.0" in engine.reason


@pytest.mark.skipif(shutil.which("fio") is None, reason="fio is not installed")
def test_an_installed_fio_is_chosen() -> None:
    """auto picks an installed fio 3 and records its version."""
    engine = choose_engine("auto")
    assert engine.name == "fio"
    assert engine.fio_version is not None
    assert engine.fio_version.startswith("fio-")
