"""Results in fio's JSON layout: fio's keys and types, and each figure from the operations."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import storsim
from storsim.interop.fio import DEFAULT_PERCENTILES, FioJob, fio_scenario, load_fio, parse_fio
from storsim.interop.fio_json import fio_document, placement_results

from .conftest import DATA

ROOT = Path(__file__).parent.parent.parent
SHIPPED_JOB = ROOT / "scenarios" / "compose" / "fio" / "randrw.fio"


@dataclass
class FakeResult:
    """The two attributes of storsim.Result that fio_json reads."""

    ops: pd.DataFrame
    ops_mode: str = "full"


def frame(rows: list[tuple[str, str, str, float, float, int, str]]) -> pd.DataFrame:
    """Operations (workload, op, storage, start s, latency s, bytes, outcome) of service s."""
    return pd.DataFrame(
        [
            {
                "t_start_s": t,
                "t_end_s": t + lat,
                "service": "s",
                "workload": w,
                "op": op,
                "storage": st,
                "outcome": out,
                "nbytes": n,
                "latency_s": lat,
            }
            for w, op, st, t, lat, n, out in rows
        ]
    )


ONE_JOB = frame(
    [
        ("j", "read", "volume", 0.0, 0.001, 4096, "ok"),
        ("j", "read", "volume", 0.1, 0.002, 4096, "ok"),
        ("j", "write", "volume", 0.2, 0.0005, 4096, "ok"),
        ("j", "write", "volume", 0.3, 0.0001, 0, "EROFS"),
        ("j", "read", "volume", 0.6, 0.003, 4096, "ok"),
        ("j", "read", "volume", 0.7, 0.004, 4096, "ok"),
        ("j", "write", "volume", 0.8, 0.0005, 4096, "ok"),
        ("j", "fsync", "volume", 0.9, 0.1, 0, "ok"),
    ]
)


def shape(node: Any) -> Any:
    """Keys and value types of a JSON document (the values themselves left out)."""
    if isinstance(node, dict):
        return {k: shape(v) for k, v in node.items()}
    if isinstance(node, list):
        return [shape(v) for v in node[:1]]
    return type(node).__name__


def job_shape(job: dict[str, Any]) -> Any:
    """A job's shape, its option names left out (they are the job's own)."""
    out = shape(job)
    out["job options"] = "dict"
    return out


def test_each_figure_of_a_job_from_its_operations() -> None:
    """Counts, bytes, bandwidth (KiB/s), IOPS, runtime, clat min/max/mean/stddev (n - 1),
    nearest-rank percentiles, 500 ms windows, latency buckets and the first error's errno."""
    [job] = fio_document(FakeResult(ONE_JOB))["jobs"]
    read = job["read"]
    assert {k: read[k] for k in ("io_bytes", "io_kbytes", "bw_bytes", "bw", "iops", "runtime",
                                  "total_ios")} == {
        "io_bytes": 16384, "io_kbytes": 16, "bw_bytes": 16384, "bw": 16, "iops": 4.0,
        "runtime": 1000, "total_ios": 4,
    }  # fmt: skip
    clat = read["clat_ns"]
    assert (clat["min"], clat["max"], clat["mean"], clat["N"]) == (1_000_000, 4_000_000, 2.5e6, 4)
    assert clat["stddev"] == pytest.approx(1_290_994.448735806)
    assert list(clat["percentile"]) == [f"{p:f}" for p in DEFAULT_PERCENTILES]
    assert [clat["percentile"][k] for k in ("1.000000", "50.000000", "70.000000", "99.990000")] == [
        1_000_000,
        2_000_000,
        3_000_000,
        4_000_000,
    ]
    assert read["lat_ns"] == {k: v for k, v in clat.items() if k != "percentile"}
    assert read["slat_ns"] == {"min": 0, "max": 0, "mean": 0.0, "stddev": 0.0, "N": 0}
    assert (
        read["bw_min"],
        read["bw_max"],
        read["bw_mean"],
        read["bw_dev"],
        read["bw_samples"],
    ) == (16, 16, 16.0, 0.0, 2)
    assert (read["iops_min"], read["iops_max"], read["iops_samples"]) == (4, 4, 2)
    write = job["write"]
    assert (write["total_ios"], write["io_bytes"], write["bw"], write["iops"]) == (2, 8192, 8, 2.0)
    assert job["sync"] == {
        "total_ios": 1,
        "lat_ns": {"min": 100_000_000, "max": 100_000_000, "mean": 1e8, "stddev": 0.0, "N": 1,
                   "percentile": {f"{p:f}": 100_000_000 for p in DEFAULT_PERCENTILES}},
    }  # fmt: skip
    assert job["error"] == 30  # EROFS
    assert (job["job_runtime"], job["elapsed"]) == (1000, 1)
    assert job["iodepth_level"]["1"] == 100.0
    assert job["latency_us"]["750"] == pytest.approx(100 * 2 / 6)
    assert [job["latency_ms"][k] for k in ("2", "4", "10")] == pytest.approx(
        [100 / 6, 200 / 6, 100 / 6]
    )
    assert sum(job["latency_ns"].values()) + sum(job["latency_us"].values()) + sum(
        job["latency_ms"].values()
    ) == pytest.approx(100.0)
    assert job["job options"] == {"storsim_service": "s", "storsim_storage": "volume"}


def test_depth_counts_the_requests_outstanding_at_each_issue() -> None:
    """Two I/Os overlapping then one alone: depths 1, 2 and 1 -> 2/3 at 1 and 1/3 at 2."""
    ops = frame(
        [
            ("j", "read", "volume", 0.0, 0.010, 4096, "ok"),
            ("j", "read", "volume", 0.005, 0.010, 4096, "ok"),
            ("j", "read", "volume", 0.100, 0.010, 4096, "ok"),
        ]
    )
    [job] = fio_document(FakeResult(ops))["jobs"]
    assert job["iodepth_level"]["1"] == pytest.approx(200 / 3)
    assert job["iodepth_level"]["2"] == pytest.approx(100 / 3)


def test_jobs_split_by_storage_choice_with_their_share_of_the_bandwidth() -> None:
    """One workload on two storage choices is two fio jobs over the job's runtime; bw_agg
    is each one's share of the bandwidth."""
    ops = frame(
        [
            ("j", "read", "volume", 0.0, 0.001, 3 * 4096, "ok"),
            ("j", "read", "tmpfs", 0.5, 0.001, 4096, "ok"),
            ("j", "read", "tmpfs", 0.999, 0.001, 0, "ok"),
        ]
    )
    jobs = fio_document(FakeResult(ops))["jobs"]
    assert [j["job options"]["storsim_storage"] for j in jobs] == ["volume", "tmpfs"]
    assert [j["read"]["runtime"] for j in jobs] == [1000, 1000]
    assert [j["read"]["bw"] for j in jobs] == [12, 4]
    assert [j["read"]["bw_agg"] for j in jobs] == pytest.approx([75.0, 25.0])


def test_fio_jobs_name_clones_and_group_reporting() -> None:
    """With the fio jobs given, clones keep the job's name and options (one fio job each),
    group_reporting merges them, and the job's percentile_list is used."""
    ops = frame(
        [
            ("r[0]", "read", "volume", 0.0, 0.001, 4096, "ok"),
            ("r[1]", "read", "volume", 0.0, 0.002, 4096, "ok"),
            ("w", "write", "volume", 0.0, 0.001, 4096, "ok"),
        ]
    )
    clones = FioJob("r", ["r[0]", "r[1]"], 0, False, {"rw": "randread"}, 1, (50.0,), "randread")
    apart = fio_document(FakeResult(ops), jobs=[clones])["jobs"]
    assert [(j["jobname"], j["groupid"], j["read"]["total_ios"]) for j in apart] == [
        ("r", 0, 1),
        ("r", 1, 1),
        ("w", 2, 0),
    ]
    assert apart[0]["job options"]["rw"] == "randread"
    assert list(apart[0]["read"]["clat_ns"]["percentile"]) == ["50.000000"]
    merged = FioJob("r", ["r[0]", "r[1]"], 0, True, {}, 1, (50.0,), "randread")
    together = fio_document(FakeResult(ops), jobs=[merged])["jobs"]
    assert [(j["jobname"], j["read"]["total_ios"]) for j in together] == [("r", 2), ("w", 0)]


def test_summary_mode_results_are_refused() -> None:
    """A run that kept no per-operation rows cannot be written in fio's layout."""
    with pytest.raises(ValueError, match="ops='full'"):
        fio_document(FakeResult(ONE_JOB, ops_mode="summary"))


def small_job(tmp_path: Path) -> Path:
    """The shipped fio job, shortened to 1 s on 4 MiB files in tmp_path."""
    text = SHIPPED_JOB.read_text()
    text = text.replace("directory=/data", f"directory={tmp_path}")
    text = text.replace("size=64m", "size=4m").replace("runtime=10", "runtime=1")
    path = tmp_path / "randrw.fio"
    path.write_text(text)
    return path


def simulated(job: Path, seed: int = 0) -> dict[str, Any]:
    """A fio job run through storsim (its directory on a volume), in fio's layout."""
    fio = load_fio(job)
    scenario = storsim.load_scenario(fio_scenario(fio, name="fio").data)
    result = storsim.simulate(scenario, seed=seed, compare=False)
    return fio_document(result, jobs=fio.jobs, global_options=fio.global_options)


def test_a_shipped_fio_job_through_storsim_has_fios_layout(tmp_path: Path) -> None:
    """The shipped job simulated gives fio 3.33's keys and types (the recorded output of
    the same job), one job per clone, the same for the same seed."""
    reference = json.loads((DATA / "fio-3.33-randrw.json").read_text())
    doc = simulated(small_job(tmp_path))
    assert shape(
        {k: v for k, v in doc.items() if k not in ("jobs", "disk_util", "global options")}
    ) == shape(
        {k: v for k, v in reference.items() if k not in ("jobs", "disk_util", "global options")}
    )
    assert [j["jobname"] for j in doc["jobs"]] == [j["jobname"] for j in reference["jobs"]]
    for mine, theirs in zip(doc["jobs"], reference["jobs"], strict=True):
        assert job_shape(mine) == job_shape(theirs)
        assert mine["read"]["total_ios"] > 0
        assert mine["sync"]["total_ios"] > 0
    assert json.dumps(simulated(small_job(tmp_path))) == json.dumps(doc)


@pytest.mark.skipif(shutil.which("fio") is None, reason="fio is not installed")
def test_the_same_job_run_by_fio_has_the_same_layout(tmp_path: Path) -> None:
    """fio itself, run on the same job in a temporary directory, writes the same keys and
    types as storsim's fio-json of that job."""
    job = small_job(tmp_path)
    real = json.loads(
        subprocess.run(
            ["fio", "--output-format=json", str(job)], capture_output=True, check=True, text=True
        ).stdout
    )
    doc = simulated(job)
    assert [job_shape(j) for j in doc["jobs"]] == [job_shape(j) for j in real["jobs"]]
    assert set(doc) == set(real)


def test_placements_are_jobs_of_their_own() -> None:
    """With the compare placements' results, each placement's jobs follow, named in their
    job options; each placement's operations ran on its storage choice."""
    fio = parse_fio(
        "[global]\ndirectory=/d\nsize=256k\nruntime=50ms\ntime_based\nnorandommap\n[j]\nrw=randread\n"
    )
    scenario = storsim.load_scenario(fio_scenario(fio, name="p", choices=("volume", "tmpfs")).data)
    result = storsim.simulate(scenario, compare=False)
    placements = placement_results(scenario)
    assert list(placements) == ["volume", "tmpfs"]
    doc = fio_document(result, jobs=fio.jobs, placements=placements)
    labels = [(j["job options"].get("storsim_placement"), j["job options"]["storsim_storage"])
              for j in doc["jobs"]]  # fmt: skip
    assert labels == [(None, "volume"), ("volume", "volume"), ("tmpfs", "tmpfs")]


def test_storsim_run_writes_fios_layout(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """storsim run --output-format fio-json writes a scenario's fio workloads in fio's
    layout (to stdout, or to --json FILE with the summary printed), job names and options
    as fio's, with each compare placement's jobs after the run's; --ops summary is refused."""
    from storsim.cli import main

    job = small_job(tmp_path)
    job.write_text(job.read_text().replace("runtime=1\n", "runtime=200ms\n"))
    scenario = tmp_path / "s.yaml"
    scenario.write_text(
        "name: fio\nimages:\n  app: {layers: [{files: {/bin/app: 1000}}]}\n"
        "volumes: {data: {}}\nservices:\n  db:\n    image: app\n"
        f"    volumes: ['data:{tmp_path}']\n    workload: {{fio: randrw.fio}}\n"
        f"compare:\n  service: db\n  path: {tmp_path}\n  choices: [volume, tmpfs]\n"
    )
    reference = json.loads((DATA / "fio-3.33-randrw.json").read_text())
    assert main(["run", str(scenario), "--quiet", "--output-format", "fio-json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert set(doc) == set(reference)
    placed = [
        (j["jobname"], j["job options"].get("storsim_placement"), j["job options"]["rwmixread"])
        for j in doc["jobs"]
    ]
    assert placed == [
        ("randrw", p, "75") for p in (None, None, "volume", "volume", "tmpfs", "tmpfs")
    ]
    for mine in doc["jobs"]:
        assert job_shape(mine) == job_shape(reference["jobs"][0])
    out = tmp_path / "fio.json"
    assert main(["run", str(scenario), "--output-format", "fio-json", "--json", str(out)]) == 0
    assert "volume" in capsys.readouterr().out  # the summary table
    assert json.loads(out.read_text()) == doc
    code = main(["run", str(scenario), "--output-format", "fio-json", "--ops", "summary"])
    assert code == 2
    assert capsys.readouterr().err == (
        "storsim: --output-format fio-json needs every operation: --ops full\n"
    )
