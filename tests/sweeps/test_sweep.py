"""Sweeps: grid x replications -> one tidy frame, the same whatever runs it; summaries."""

from __future__ import annotations

import concurrent.futures as cf
import json
import math
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import scipy.stats

import storsim
from storsim.cli import main
from storsim.errors import ModelError, ScenarioError
from storsim.report import figure_sweep_metric
from storsim.stats import SUMMARY_COLUMNS
from storsim.sweeps import executors, grid_columns, parse_grid, run_seed
from storsim.sweeps.summary import LONG_COLUMNS

ROOT = Path(__file__).resolve().parents[2]
COPY_UP = ROOT / "scenarios" / "copy-up.yaml"
CH06 = ROOT / "scenarios" / "ch06-lab.yaml"

#: copy-up.yaml made small: an 8 MiB database, 2 simulated seconds (~0.3 s a run).
SMALL_COPY_UP: dict[str, Any] = {
    "duration": "2 s",
    "images.app.layers[1].files": {"/var/lib/app/catalog.db": "8 MiB"},
}
#: ch06-lab.yaml made small: 10 simulated seconds, one `docker run` (~0.05 s a run).
SMALL_CH06: dict[str, Any] = {
    "duration": "10 s",
    "services.todo.lifecycle": [{"at": "0 s", "action": "run"}],
}
REPLICAS = "services.app.deploy.replicas"
RATE = "services.todo.workload[1].rate"


@pytest.fixture(scope="module")
def copy_up() -> storsim.Scenario:
    """copy-up.yaml, shortened; it has a compare: section."""
    return storsim.load_scenario(COPY_UP, overrides=SMALL_COPY_UP)


@pytest.fixture(scope="module")
def ch06() -> storsim.Scenario:
    """ch06-lab.yaml, shortened; no compare: section."""
    return storsim.load_scenario(CH06, overrides=SMALL_CH06)


@pytest.fixture
def count_runs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Seeds of the runs simulated in this process (serial executor), in order."""
    seeds: list[int] = []
    real = executors.simulate

    def counting(scenario: Any, *, seed: int, **options: Any) -> Any:
        seeds.append(seed)
        return real(scenario, seed=seed, **options)

    monkeypatch.setattr(executors, "simulate", counting)
    return seeds


def test_frame_shape_and_columns(copy_up: storsim.Scenario) -> None:
    """A row per run and storage choice or placement; grid, run, metric and error columns."""
    df = storsim.sweep(
        copy_up, {REPLICAS: [1, 2]}, replications=2, executor="serial", progress=False
    )
    metrics = [c for c in SUMMARY_COLUMNS if c != "storage"]
    assert list(df.columns[:6]) == [
        REPLICAS, "replication", "seed", "storage", "series", "placement",
    ]  # fmt: skip
    assert df.columns[-1] == "error"
    assert set(metrics) <= set(df.columns)
    assert grid_columns(df) == [REPLICAS]
    runs = df.groupby([REPLICAS, "replication"], sort=False)
    assert list(runs.groups) == [(1, 0), (1, 1), (2, 0), (2, 1)]  # grid order, then replication
    for (replicas, replication), run in runs:
        assert run["seed"].nunique() == 1
        assert run["seed"].iloc[0] == run_seed(copy_up.seed, {REPLICAS: replicas}, replication)
        # exactly one of storage and placement is set on each row
        assert (run["storage"].isna() != run["placement"].isna()).all()
        assert list(run["placement"].dropna()) == list(copy_up.compare.choices)
        assert set(run["storage"].dropna()) >= {"writable_layer"}
        # no remote here: each storage choice is its own series; placements have none
        assert run["series"].dropna().tolist() == run["storage"].dropna().tolist()
    assert df["error"].isna().all()
    assert df["error"].map(type).eq(type(None)).all()  # None, not NaN
    assert df["ops"].dtype == "int64"


def test_no_compare_section_means_no_placement_column(ch06: storsim.Scenario) -> None:
    """A scenario without compare: gets no placement column; an empty grid replicates it."""
    df = storsim.sweep(ch06, replications=3, executor="serial", progress=False)
    assert list(df.columns[:4]) == ["replication", "seed", "storage", "series"]
    assert "placement" not in df.columns
    assert sorted(df["replication"].unique()) == [0, 1, 2]
    assert set(df["storage"]) == {"image_layer", "writable_layer", "local_bind", "volume"}


def test_same_frame_whatever_the_executor(copy_up: storsim.Scenario) -> None:
    """Serial, a process pool of 2 and a Dask LocalCluster of 2 give identical frames."""
    grid = {REPLICAS: [1, 2], "services.app.workload[0].rate": ["100/s", "200/s"]}
    serial = storsim.sweep(copy_up, grid, replications=2, executor="serial", progress=False)
    process = storsim.sweep(
        copy_up, grid, replications=2, executor="process", jobs=2, progress=False
    )
    dask = storsim.sweep(copy_up, grid, replications=2, executor="dask", jobs=2, progress=False)
    pd.testing.assert_frame_equal(process, serial)
    pd.testing.assert_frame_equal(dask, serial)
    assert serial["seed"].nunique() == 8


def test_any_executor_instance_and_default(ch06: storsim.Scenario) -> None:
    """A concurrent.futures.Executor and the default pool give the serial frame."""
    grid = {RATE: ["10/s", "40/s"]}
    serial = storsim.sweep(ch06, grid, replications=2, executor="serial", progress=False)
    with cf.ThreadPoolExecutor(2) as pool:
        threads = storsim.sweep(ch06, grid, replications=2, executor=pool, progress=False)
    default = storsim.sweep(ch06, grid, replications=2, jobs=2, progress=False)
    pd.testing.assert_frame_equal(threads, serial)
    pd.testing.assert_frame_equal(default, serial)


def test_a_row_is_reproduced_alone(copy_up: storsim.Scenario) -> None:
    """simulate(scenario.with_overrides(point), seed=row.seed, ops="summary") gives the row's
    numbers (sweeps keep streaming summaries)."""
    df = storsim.sweep(
        copy_up, {REPLICAS: [1, 2]}, replications=2, executor="serial", progress=False
    )
    row = df[(df[REPLICAS] == 2) & (df["replication"] == 1)].iloc[0]
    result = storsim.simulate(
        copy_up.with_overrides({REPLICAS: 2}), seed=int(row["seed"]), ops="summary"
    )
    alone = result.summary.set_index("storage").loc[row["storage"]]
    for column in ("ops", "mean_ms", "p99_ms", "copy_ups", "bytes_written"):
        assert row[column] == alone[column]
    placed = df[(df["seed"] == row["seed"]) & df["placement"].notna()]
    assert placed["mean_ms"].tolist() == result.comparison["mean_ms"].tolist()


def test_seeds_follow_the_point_not_its_position(ch06: storsim.Scenario) -> None:
    """A point keeps its seeds when the grid around it changes; replications differ."""
    a = storsim.sweep(ch06, {RATE: ["10/s", "20/s"]}, executor="serial", progress=False)
    b = storsim.sweep(ch06, {RATE: ["20/s", "40/s"]}, executor="serial", progress=False)
    assert a[a[RATE] == "20/s"]["seed"].iloc[0] == b[b[RATE] == "20/s"]["seed"].iloc[0]
    assert run_seed(6, {RATE: "20/s"}, 0) != run_seed(6, {RATE: "20/s"}, 1)
    assert run_seed(6, {RATE: "20/s"}, 0) != run_seed(7, {RATE: "20/s"}, 0)
    assert 0 <= run_seed(6, {}, 0) < 2**63


def test_a_failing_run_is_a_row(ch06: storsim.Scenario, monkeypatch: pytest.MonkeyPatch) -> None:
    """A run that raises becomes one row with `error`; on_error='raise' raises it."""
    real = executors.simulate

    def flaky(scenario: Any, *, seed: int, **options: Any) -> Any:
        if scenario.services["todo"].workload[1].rate == 40:
            raise ModelError("upper layer lost a file")
        return real(scenario, seed=seed, **options)

    monkeypatch.setattr(executors, "simulate", flaky)
    grid = {RATE: ["10/s", "40/s"]}
    df = storsim.sweep(ch06, grid, replications=2, executor="serial", progress=False)
    failed = df[df["error"].notna()]
    assert failed[[RATE, "replication"]].values.tolist() == [["40/s", 0], ["40/s", 1]]
    assert failed["error"].tolist() == ["ModelError: upper layer lost a file"] * 2
    assert failed["storage"].isna().all()
    assert failed["ops"].isna().all()
    assert df[df[RATE] == "10/s"]["error"].isna().all()
    summary = storsim.summarize(df)
    lost = summary[summary["storage"].isna()]
    assert lost[[RATE, "runs", "failed"]].values.tolist() == [["40/s", 2, 2]]
    with pytest.raises(ModelError, match="upper layer lost a file"):
        storsim.sweep(ch06, grid, executor="serial", progress=False, on_error="raise")


def test_bad_grid_fails_before_any_run(ch06: storsim.Scenario, count_runs: list[int]) -> None:
    """A bad path or value in any grid point raises ScenarioError and runs nothing."""
    with pytest.raises(ScenarioError, match="servics"):
        storsim.sweep(ch06, {"servics.todo.deploy.replicas": [1, 2]}, progress=False)
    with pytest.raises(ScenarioError, match=r"rate"):
        storsim.sweep(ch06, {RATE: ["10/s", "fast"]}, executor="serial", progress=False)
    with pytest.raises(ScenarioError, match="must not repeat a value"):
        storsim.sweep(ch06, {RATE: ["10/s", "10/s"]}, progress=False)
    with pytest.raises(ScenarioError, match="replications vary the seed"):
        storsim.sweep(ch06, {"seed": [1, 2]}, progress=False)
    with pytest.raises(ValueError, match="executor must be"):
        storsim.sweep(ch06, {RATE: ["10/s"]}, executor="threads", progress=False)
    assert count_runs == []


def test_grid_paths_name_list_items_by_index_or_name(
    ch06: storsim.Scenario, count_runs: list[int]
) -> None:
    """A grid takes --set's paths: workload.1.rate and workload[name].rate; two paths for
    one value, or a malformed one, fail before any run."""
    name = ch06.services["todo"].workload[1].name
    _, runs = storsim.sweeps.grid.tasks(
        ch06, {f"services.todo.workload[{name}].rate": ["10/s", "30/s"]}, 1
    )
    assert [t.scenario.services["todo"].workload[1].rate for t in runs] == [10.0, 30.0]
    with pytest.raises(
        ScenarioError, match=r"and services\.todo\.workload\[1\]\.rate name the same"
    ):
        storsim.sweep(
            ch06, {RATE: ["10/s"], "services.todo.workload.1.rate": ["5/s"]}, progress=False
        )
    with pytest.raises(ScenarioError, match=r"grid services\.todo\.workload\[\]: must be dotted"):
        storsim.sweep(ch06, {"services.todo.workload[]": [1]}, progress=False)
    assert count_runs == []


def test_resume_skips_finished_runs(
    ch06: storsim.Scenario, tmp_path: Path, count_runs: list[int]
) -> None:
    """With out=FILE a rerun runs only what the file lacks, and returns the full frame."""
    out = tmp_path / "runs.jsonl"
    grid = {RATE: ["10/s", "40/s"]}
    first = storsim.sweep(ch06, grid, replications=1, executor="serial", progress=False, out=out)
    assert len(count_runs) == 2
    assert len(out.read_text().splitlines()) == 2
    more = storsim.sweep(ch06, grid, replications=3, executor="serial", progress=False, out=out)
    assert len(count_runs) == 2 + 4  # replications 1 and 2 of both points
    assert len(out.read_text().splitlines()) == 6
    fresh = storsim.sweep(ch06, grid, replications=3, executor="serial", progress=False)
    pd.testing.assert_frame_equal(more, fresh)
    pd.testing.assert_frame_equal(more[more["replication"] == 0].reset_index(drop=True), first)
    # a crash mid-line leaves a partial line: it is skipped, and the next line starts anew
    with out.open("a") as handle:
        handle.write('{"scenario": "cut sho')
    again = storsim.sweep(ch06, grid, replications=3, executor="serial", progress=False, out=out)
    assert len(count_runs) == 6 + 6  # the runs above, during `fresh`; none now
    pd.testing.assert_frame_equal(again, fresh)
    # another scenario does not reuse these runs
    other = ch06.with_overrides({"duration": "5 s"})
    storsim.sweep(other, grid, executor="serial", progress=False, out=out)
    assert len(count_runs) == 12 + 2
    lines = [json.loads(t) for t in out.read_text().splitlines() if t.endswith("}")]
    assert len(lines) == 8


def test_resume_retries_failed_runs(
    ch06: storsim.Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run that failed is run again by the next sweep with the same file."""
    out = tmp_path / "runs.jsonl"
    real = executors.simulate
    monkeypatch.setattr(executors, "simulate", _raise)
    failed = storsim.sweep(ch06, executor="serial", progress=False, out=out)
    assert failed["error"].notna().all()
    monkeypatch.setattr(executors, "simulate", real)
    fixed = storsim.sweep(ch06, executor="serial", progress=False, out=out)
    assert fixed["error"].isna().all()
    assert len(fixed) == 4  # a row per storage choice
    assert len(out.read_text().splitlines()) == 2


def _raise(scenario: Any, *, seed: int, **options: Any) -> Any:
    raise OSError("disk full")


def test_summarize_matches_scipy() -> None:
    """Means and Student-t 95% intervals per point and storage match scipy on a known sample."""
    samples = {
        ("a", 1): [1.0, 2.0, 4.0, 7.0],
        ("a", 2): [10.0, 10.5],
        ("b", 1): [3.0, 3.0, 3.0],
        ("b", 2): [5.0],
    }
    rows = [
        {"x": x, "replication": r, "seed": r, "storage": s, "mean_ms": v, "error": None}
        for (s, x), values in samples.items()
        for r, v in enumerate(values)
    ]
    df = pd.DataFrame(rows)
    summary = storsim.summarize(df)
    assert list(summary.columns) == [
        "x", "storage", "runs", "failed", "mean_ms_mean", "mean_ms_ci_low", "mean_ms_ci_high",
    ]  # fmt: skip
    for (storage, x), values in samples.items():
        row = summary[(summary["storage"] == storage) & (summary["x"] == x)].iloc[0]
        assert row["runs"] == len(values)
        assert row["failed"] == 0
        assert row["mean_ms_mean"] == pytest.approx(np.mean(values))
        if len(values) < 2:
            assert math.isnan(row["mean_ms_ci_low"])
            assert math.isnan(row["mean_ms_ci_high"])
            continue
        if np.std(values) == 0:
            low = high = values[0]  # scipy refuses a zero scale; the interval is the point
        else:
            low, high = scipy.stats.t.interval(
                0.95, len(values) - 1, loc=np.mean(values), scale=scipy.stats.sem(values)
            )
        assert row["mean_ms_ci_low"] == pytest.approx(low, rel=1e-10)
        assert row["mean_ms_ci_high"] == pytest.approx(high, rel=1e-10)


def test_scenario_pickles_with_its_source(copy_up: storsim.Scenario) -> None:
    """A loaded scenario survives pickling with its file and data, so workers get it whole."""
    back = pickle.loads(pickle.dumps(copy_up))
    assert back == copy_up
    assert back.file == copy_up.file
    assert back.to_data() == copy_up.to_data()
    assert back.with_overrides({REPLICAS: 3}).services["app"].deploy.replicas == 3


def test_parse_grid_reads_yaml_scalars() -> None:
    """Command-line grid values are YAML scalars; quotes and brackets keep commas."""
    grid = parse_grid(["a.b=1,2.5,4", "host.disk=ssd, hdd", "x=2 ms,'a,b',{p: 1, q: 2}"])
    assert grid == {
        "a.b": [1, 2.5, 4],
        "host.disk": ["ssd", "hdd"],
        "x": ["2 ms", "a,b", {"p": 1, "q": 2}],
    }
    for bad in ["a.b", "a.b=", "=1,2", "a=[1"]:
        with pytest.raises(ScenarioError, match="--grid"):
            parse_grid([bad])


def test_cli_sweep_prints_summary_and_writes_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`storsim sweep` prints mean +-CI per point and storage, and writes an HTML report."""
    monkeypatch.setenv("COLUMNS", "200")  # a wide terminal: one block
    report = tmp_path / "sweep.html"
    out = tmp_path / "runs.jsonl"
    argv = [
        "sweep", str(CH06), "--grid", f"{RATE}=10/s,40/s", "--replications", "2",
        "--jobs", "1", "--set", "duration=10 s", "--out", str(out), "--report", str(report),
    ]  # fmt: skip
    assert main(argv) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].split()[:4] == [RATE, "storage", "runs", "ops"]
    assert sum("volume" in line for line in printed) == 2
    assert "±" in "\n".join(printed)
    assert len(out.read_text().splitlines()) == 4
    page = report.read_text()
    assert page.startswith("<!DOCTYPE html>")
    assert "p99 latency (ms) against" in page
    assert "<script src=" not in page  # nothing fetched: plotly.js is inlined
    assert len(page) > 3_000_000


def test_cli_bad_grid_path_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A bad grid path gives exit code 2 and one line on stderr, and runs nothing."""
    out = tmp_path / "runs.jsonl"
    argv = ["sweep", str(CH06), "--grid", "servics.todo.deploy.replicas=1,2", "--out", str(out)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("storsim: override servics: unknown key 'servics'")
    assert not out.exists()


def test_summarize_in_long_form() -> None:
    """The long form has one row per group and metric, with the wide form's numbers."""
    rows = [
        {"x": x, "replication": r, "seed": r, "storage": "volume", "mean_ms": v, "ops": 10 * v,
         "error": None}
        for x in (1, 2)
        for r, v in enumerate([1.0, 2.0, 4.0])
    ]  # fmt: skip
    wide = storsim.summarize(pd.DataFrame(rows))
    long = storsim.summarize(pd.DataFrame(rows), long=True)
    assert list(long.columns) == ["x", *LONG_COLUMNS]
    assert len(long) == 2 * len(wide)
    for metric in ("mean_ms", "ops"):
        mine = long[long["metric"] == metric]
        assert mine["mean"].tolist() == wide[f"{metric}_mean"].tolist()
        assert mine["ci_low"].tolist() == wide[f"{metric}_ci_low"].tolist()
        assert mine["ci_high"].tolist() == wide[f"{metric}_ci_high"].tolist()
    assert long["series"].isna().all()


def test_a_sweep_splits_a_storage_choice_by_remote() -> None:
    """NFS and S3-FUSE binds are distributed_bind both: the sweep keeps a row per series."""
    scenario = storsim.load_scenario(
        ROOT / "scenarios" / "bind-local-vs-distributed.yaml", overrides={"duration": "1 s"}
    )
    df = storsim.sweep(scenario, replications=2, executor="serial", progress=False)
    assert set(df["series"]) == {
        "local_bind", "distributed_bind (nas, nfs)", "distributed_bind (bucket, s3-fuse)",
    }  # fmt: skip
    summary = storsim.summarize(df)
    assert len(summary) == 3
    assert (summary["runs"] == 2).all()


def test_sweep_figures_draw_categories_as_bars_and_numbers_as_lines(
    copy_up: storsim.Scenario,
) -> None:
    """A categorical parameter gives grouped bars with error bars, a numeric one lines
    with bands; each series has its own colour and the legend says what it lists."""
    df = storsim.sweep(
        copy_up,
        {"host.disk": ["ssd", "hdd"], REPLICAS: [1, 2]},
        executor="serial",
        progress=False,
        replications=2,
    )
    summary = storsim.summarize(df)
    bars = figure_sweep_metric(summary, "host.disk", "p99_ms")
    assert {t.type for t in bars.data} == {"bar"}
    assert all(t.error_y.array is not None for t in bars.data)
    assert bars.layout.xaxis.type == "category"
    assert bars.layout.legend.title.text == f"storage choice, {REPLICAS}"
    colors = [t.marker.color for t in bars.data]
    assert len(set(colors)) == len(colors)
    lines = figure_sweep_metric(summary, REPLICAS, "p99_ms", by="placement")
    assert {t.type for t in lines.data} == {"scatter"}
    drawn = [t for t in lines.data if t.showlegend is not False]
    assert len({t.line.color for t in drawn}) == len(drawn)
    assert lines.layout.legend.title.text == "placement, host.disk"
