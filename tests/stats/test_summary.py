"""Exact summaries: lock calls counted apart, the tail percentiles, series by remote."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import storsim
from storsim.stats import LATENCY_COLUMNS, summarize_ops
from storsim.stats.diagnostics import error_sources, path_pattern, workload_health
from storsim.stats.series import series_labels, series_summary

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def test_lock_calls_are_not_file_operations() -> None:
    """Under flock, each iteration records a lock call: it counts in ``locks``, not in
    ``ops``, throughput or the latency percentiles, which are those of the file
    operations alone."""
    scenario = storsim.load_scenario(
        SCENARIOS / "shared-volume-writers.yaml",
        overrides={"services.counter.workload.lock": "flock", "duration": "5 s"},
    )
    result = storsim.simulate(scenario)
    ops = result.ops
    files = ops[ops["op"] != "lock"]
    locks = ops[ops["op"] == "lock"]
    assert len(locks) > 0
    row = result.summary.set_index("storage").loc["volume"]
    assert row["ops"] == len(files)
    assert row["locks"] == len(locks)
    assert row["throughput_ops_s"] == pytest.approx(len(files) / result.sim_time_s)
    ms = files["latency_s"].to_numpy() * 1e3
    assert row["p99_ms"] == pytest.approx(np.percentile(ms, 99))
    assert row["lock_waits"] == int((locks["lock_wait_s"] > 0).sum())


def test_latency_columns_are_exact() -> None:
    """min, mean, std (ddof 0), p50 ... p99.99 and max of the latencies, in ms."""
    rng = np.random.default_rng(3)
    latency = rng.lognormal(-7, 1.5, 20_000)
    ops = pd.DataFrame(
        {
            "t_start_s": np.zeros(len(latency)),
            "t_end_s": latency,
            "latency_s": latency,
            "storage": "volume",
            "op": "read",
            "outcome": "ok",
            "nbytes": 4096,
            "copied_up": False,
            "copy_up_bytes": 0,
            "lost_updates": 0,
            "lost_records": 0,
            "torn": False,
            "stale": False,
            "lock_wait_s": 0.0,
        }
    )
    row = summarize_ops(ops).iloc[0]
    ms = latency * 1e3
    expected = [ms.min(), ms.mean(), ms.std(), *np.percentile(ms, [50, 95, 99, 99.9, 99.99])]
    expected.append(ms.max())
    assert row[list(LATENCY_COLUMNS)].tolist() == pytest.approx(expected, rel=1e-12)


def test_series_tell_remotes_of_one_storage_choice_apart(
    shipped_results: dict[str, Any],
) -> None:
    """An NFS and an S3-FUSE bind are both distributed_bind; their series name the remote
    and its profile, found from the mount of each operation's container."""
    result = shipped_results["bind-local-vs-distributed"]
    remotes = {"nas": "nfs", "bucket": "s3-fuse"}
    labels = series_labels(result.ops, result.mounts, remotes)
    by_service = pd.crosstab(result.ops["service"].astype(str), labels)
    assert {s: set(by_service.columns[by_service.loc[s] > 0]) for s in by_service.index} == {
        "local": {"local_bind"},
        "nfs": {"distributed_bind (nas, nfs)"},
        "s3": {"distributed_bind (bucket, s3-fuse)"},
    }
    table = series_summary(result).set_index("series")
    for series, count in labels.value_counts().items():
        assert table.loc[series, "ops"] == count  # no lock calls in this scenario


def test_series_from_streaming_totals_equal_the_exact_ones() -> None:
    """With ops="summary", the per-service totals give the same series and counts."""
    scenario = storsim.load_scenario(
        SCENARIOS / "bind-local-vs-distributed.yaml", overrides={"duration": "5 s"}
    )
    full = series_summary(storsim.simulate(scenario))
    short = series_summary(storsim.simulate(scenario, ops="summary"))
    counts = ["series", "storage", "ops", "errors", "bytes_read", "bytes_written"]
    assert short[counts].values.tolist() == full[counts].values.tolist()
    assert short["p99_ms"].to_numpy() == pytest.approx(full["p99_ms"].to_numpy(), rel=0.01)


def test_path_pattern() -> None:
    """One path as it is; several as the deepest directory they share, then /..."""
    assert path_pattern(["/a/b"]) == "/a/b"
    assert path_pattern(["/var/lib/pg/wal/1", "/var/lib/pg/wal/2"]) == "/var/lib/pg/wal/..."
    assert path_pattern(["/a/x", "/b/y"]) == "/..."


def test_error_sources_and_health(shipped_results: dict[str, Any]) -> None:
    """ch06-lab: the two EROFS come from the config workload, which never succeeded."""
    ops = shipped_results["ch06-lab"].ops
    sources = error_sources(ops)
    assert sources[["storage", "errno", "workload", "count", "path"]].values.tolist() == [
        ["local_bind", "EROFS", "try to change the config (read-only)", 2,
         "/app/config/config.json"],
    ]  # fmt: skip
    health = workload_health(ops)
    assert health[["workload", "errors", "ok_after_error"]].values.tolist() == [
        ["try to change the config (read-only)", 2, 0]
    ]
