"""fio workloads in a scenario: a job file (or its text) expanded to workloads."""

from __future__ import annotations

from pathlib import Path

import pytest

import storsim
from storsim.errors import ScenarioError

SCENARIO = """\
name: fio
duration: 1
images:
  app: {layers: [{files: {/bin/app: 1000}}]}
volumes: {data: {}}
services:
  db:
    image: app
    volumes: [data:/data]
    workload: WORKLOAD
"""
JOB = "[global]\nsize=1m\nbs=4k\nruntime=100ms\ntime_based\n[mix]\nrw=randrw\nnumjobs=2\n"


def write(tmp_path: Path, workload: str) -> Path:
    """The scenario with ``workload`` as db's workload."""
    path = tmp_path / "s.yaml"
    path.write_text(SCENARIO.replace("WORKLOAD", workload))
    return path


def test_a_job_file_relative_to_the_scenario_is_one_workload_per_clone(tmp_path: Path) -> None:
    """{fio: jobs/x.fio} is read next to the scenario: each numjobs clone is a workload and
    the files fio lays out are the service's prefill; the jobs are kept for fio's layout."""
    (tmp_path / "jobs").mkdir()
    (tmp_path / "jobs" / "mix.fio").write_text(JOB)
    scenario = storsim.load_scenario(write(tmp_path, "{fio: jobs/mix.fio}"))
    db = scenario.services["db"]
    assert [w.name for w in db.workload] == ["mix[0]", "mix[1]"]
    assert [w.duration for w in db.workload] == [0.1, 0.1]
    assert [s.op for s in db.workload[0].ops] == ["read", "write"]
    assert set(db.prefill) == {"/data"}
    assert [(j.name, j.workloads) for j in scenario.fio_jobs["db"]] == [
        ("mix", ["mix[0]", "mix[1]"])
    ]
    # a sweep or an override validates the data again, with the jobs expanded again
    again = scenario.with_overrides({"duration": 2})
    assert [w.name for w in again.services["db"].workload] == ["mix[0]", "mix[1]"]


def test_inline_job_text_beside_plain_workloads(tmp_path: Path) -> None:
    """A block of job text works like a file, next to workloads written in storsim's form."""
    text = "\n".join(
        ["", "      - {path: /data/x, ops: [{op: stat}], rate: 10/s}", "      - fio: |"]
    )
    text += "".join(f"\n          {line}" for line in JOB.replace("numjobs=2", "").splitlines())
    scenario = storsim.load_scenario(write(tmp_path, text))
    assert [w.name for w in scenario.services["db"].workload] == [None, "mix"]


def test_an_unsupported_option_is_refused_at_its_line(tmp_path: Path) -> None:
    """An option storsim cannot express names the job file and its line; inline, the
    scenario's line."""
    (tmp_path / "j.fio").write_text("[j]\nrw=randread\nsize=1m\nioengine=libaio\n")
    with pytest.raises(ScenarioError) as info:
        storsim.load_scenario(write(tmp_path, "{fio: j.fio}"))
    assert str(info.value).startswith(f"{tmp_path / 'j.fio'}:4: option 'ioengine=libaio': ")
    inline = "\n      fio: |\n        [j]\n        rw=randread\n        direct=1"
    with pytest.raises(ScenarioError) as info:
        storsim.load_scenario(write(tmp_path, inline))
    assert str(info.value).startswith(f"{tmp_path / 's.yaml'}:14: option 'direct=1': ")


def test_a_missing_job_file_or_an_unknown_key_is_one_error(tmp_path: Path) -> None:
    """A job file that cannot be read, or a key beside fio and directory, is refused."""
    with pytest.raises(ScenarioError, match=r"s\.yaml:10: services\.db\.workload\.fio: cannot "):
        storsim.load_scenario(write(tmp_path, "{fio: nope.fio}"))
    with pytest.raises(ScenarioError, match=r"takes fio and directory only \(got rate\)"):
        storsim.load_scenario(write(tmp_path, "{fio: nope.fio, rate: 1/s}"))


def test_the_schema_describes_fio_workloads() -> None:
    """storsim schema documents the fio form of a workload."""
    text = str(storsim.scenario_schema())
    assert "FioWorkloadSpec" in text
    assert "relative to the scenario file" in text
