"""The verdict: placements ranked correctness first, why each loses, and the warnings."""

from __future__ import annotations

import dataclasses
import math
import re
from typing import Any

import pandas as pd
import pytest

import storsim
from storsim.report.verdict import (
    PROBLEMS,
    TOLERANCE,
    error_lines,
    judge,
    rank_rows,
    verdict_json,
    verdict_lines,
)
from storsim.stats.summary import empty_row


def row(name: str, **values: float) -> dict[str, Any]:
    """A comparison row: one placement with 100 operations, p99 1 ms, clean, unless told."""
    out: dict[str, Any] = empty_row(name) | {"placement": name, "ops": 100}
    out.update(p50_ms=0.1, p99_ms=1.0, p999_ms=2.0, mean_ms=0.2, throughput_ops_s=100.0)
    out.update(values)
    return out


def test_correctness_comes_before_latency() -> None:
    """A placement that loses data, updates or records, reads stale data or fails ranks
    below every clean one, however fast it is; then the p99 tail decides."""
    rows = [
        row("tmpfs", p99_ms=0.01, data_lost_bytes=1),
        row("volume", p99_ms=3.0),
        row("local_bind", p99_ms=2.0),
        row("distributed_bind", p99_ms=0.5, stale_reads=4),
        row("writable_layer", p99_ms=0.02, lost_updates=1, torn_writes=1),
    ]
    ranked = rank_rows(rows)
    assert [name for name, _ in ranked] == [
        "local_bind", "volume",  # clean: the lower p99 first
        "tmpfs", "distributed_bind",  # one kind of problem each: the lower p99 first
        "writable_layer",  # two kinds of problem
    ]  # fmt: skip
    assert dict(ranked)["writable_layer"] == ["lost_updates", "torn"]


@pytest.mark.parametrize(("kind", "column"), PROBLEMS)
def test_every_problem_ranks_a_placement_down_unless_accepted(kind: str, column: str) -> None:
    """Each correctness problem alone puts a faster placement second; accepted, it does not."""
    rows = [row("tmpfs", p99_ms=0.01, **{column: 1}), row("volume")]
    assert [name for name, _ in rank_rows(rows)] == ["volume", "tmpfs"]
    assert [name for name, _ in rank_rows(rows, accept=[kind])] == ["tmpfs", "volume"]


def test_values_within_the_tolerance_tie_and_the_next_key_decides() -> None:
    """p99 within 5 % counts as equal: p99.9 decides, then throughput, p50, mean, name."""
    close = 1.0 + TOLERANCE / 2
    assert [n for n, _ in rank_rows([row("a", p99_ms=close, p999_ms=1.0), row("b")])] == [
        "a",
        "b",
    ]
    far = 1.0 + 2 * TOLERANCE
    assert [n for n, _ in rank_rows([row("a", p99_ms=far, p999_ms=1.0), row("b")])] == [
        "b",
        "a",
    ]
    faster = [row("a", throughput_ops_s=50.0), row("b")]
    assert [n for n, _ in rank_rows(faster)] == ["b", "a"]
    assert [n for n, _ in rank_rows([row("b"), row("a")])] == ["a", "b"]  # all equal: name


def test_ties_chain_from_the_best_of_a_group() -> None:
    """Three p99s 4 % apart: the second ties with the first, the third (8 % off) does not,
    whatever order the rows come in."""
    rows = [row("c", p99_ms=1.08, p999_ms=0.1), row("b", p99_ms=1.04, p999_ms=1.0), row("a")]
    for order in (rows, rows[::-1], [rows[1], rows[0], rows[2]]):
        assert [n for n, _ in rank_rows(order)] == ["b", "a", "c"]


def test_a_placement_without_operations_ranks_last() -> None:
    """No operation on the path answers nothing: it ranks below one with problems."""
    rows = [row("tmpfs", ops=0, p99_ms=math.nan), row("volume", errors=3)]
    assert [n for n, _ in rank_rows(rows)] == ["volume", "tmpfs"]


def test_copy_up_verdict(shipped_results: dict[str, Any]) -> None:
    """copy-up.yaml: the image_layer placement (shipped in the image) ranks last, its
    reason names the copy-up and its tail; every placement is described."""
    result = shipped_results["copy-up"]
    v = judge(result)
    assert v.kind == "placements"
    assert v.path == "/var/lib/app"
    assert [r.rank for r in v.rows] == [1, 2, 3, 4]
    assert v.rows[-1].name == "image_layer"
    # the tail is the copy-up's: seconds (the figure itself is the model's, in golden)
    assert re.search(
        r"copies 512\.0 MiB up on first write, 2 times \(p99 [\d.]+ s vs", v.rows[-1].why
    )
    assert v.best == v.rows[0].label
    assert v.headline.startswith(f"best: {v.best} (")
    assert all(r.description for r in v.rows)
    assert "copy-up" in next(r.description for r in v.rows if r.name == "image_layer")
    assert "run time" in next(r.description for r in v.rows if r.name == "writable_layer")
    lines = verdict_lines(v)
    assert lines[0] == v.headline
    assert lines[1].startswith("  2. ")


def test_storage_verdict_names_lost_updates(shipped_results: dict[str, Any]) -> None:
    """Without compare: each storage choice used, its problems and what avoids them."""
    result = shipped_results["shared-volume-writers"]
    lost = int(result.summary.set_index("storage").loc["volume", "lost_updates"])
    assert lost > 0
    v = judge(result)
    assert v.kind == "storage"
    assert v.best is None
    assert [r.name for r in v.rows] == ["volume"]
    assert v.rows[0].problems == (f"loses {lost:,} updates",)
    assert "take a lock" in v.rows[0].why
    assert v.headline == f"problems: volume loses {lost:,} updates"


def test_series_split_a_storage_choice_by_remote(shipped_results: dict[str, Any]) -> None:
    """NFS and S3-FUSE binds are two rows of the verdict, named by remote and profile."""
    v = judge(shipped_results["bind-local-vs-distributed"])
    assert [r.name for r in v.rows] == [
        "local_bind", "distributed_bind (bucket, s3-fuse)", "distributed_bind (nas, nfs)",
    ]  # fmt: skip


def test_overload_frame_shows_in_the_verdict(shipped_results: dict[str, Any]) -> None:
    """A device that cannot keep up is a warning of the verdict, with its utilisation and
    queue growth; a device that keeps up is not."""
    overload = pd.DataFrame(
        {
            "device": ["remote bucket (s3-fuse)", "host disk (nvme)"],
            "kind": ["remote", "disk"],
            "utilisation": [1.0, 0.2],
            "queue_growth_per_s": [35.0, 0.0],
            "overloaded": [True, False],
        }
    )
    v = judge(shipped_results["bind-local-vs-distributed"], overload=overload)
    warnings = [w for w in v.warnings if w.kind == "overload"]
    assert [w.message for w in warnings] == [
        "remote bucket (s3-fuse) cannot keep up (utilisation 100%, queue grows by 35.0 "
        "requests/s): its latencies are the queue's, not the storage's"
    ]
    assert [o["device"] for o in v.overload] == ["remote bucket (s3-fuse)"]
    assert verdict_json(v)["overload"][0]["utilisation"] == 1.0
    assert any("cannot keep up" in line for line in verdict_lines(v))
    assert not [w for w in judge(shipped_results["copy-up"]).warnings if w.kind == "overload"]


def _unlinker(tiny: dict[str, Any], ops: list[dict[str, Any]]) -> storsim.Result:
    tiny["services"]["web"]["workload"] = [
        {"name": "cleaner", "path": "/etc/base.conf", "ops": ops, "count": 50, "threads": 1}
    ]
    return storsim.simulate(storsim.load_scenario(tiny))


def test_a_workload_that_stops_at_its_first_error_is_a_warning(tiny: dict[str, Any]) -> None:
    """A workload whose operations all fail from its first error on gets a warning that
    names it, the errno and the path; the errors line says where the errors come from."""
    result = _unlinker(tiny, [{"op": "unlink"}])
    v = judge(result)
    (warning,) = [w for w in v.warnings if w.kind == "stopped_after_error"]
    assert warning.message.startswith("workload 'cleaner' in web-1 stopped working")
    assert "ENOENT on /etc/base.conf" in warning.message
    assert "its 49 operations from then on all failed" in warning.message
    assert error_lines(result) == ["writable_layer ENOENT x49 (workload 'cleaner', /etc/base.conf)"]


def test_mass_errors_are_a_warning_with_their_source(tiny: dict[str, Any]) -> None:
    """A workload half of whose operations fail (but that keeps working) gets a mass-errors
    warning in the form of the errors line."""
    result = _unlinker(tiny, [{"op": "stat", "path": "/etc/missing-{i}"}, {"op": "stat"}])
    v = judge(result)
    assert [w.kind for w in v.warnings] == ["mass_errors"]
    assert v.warnings[0].message == (
        "errors: writable_layer ENOENT x50 (workload 'cleaner', /etc/...); 50 of its 100 "
        "operations failed"
    )


def test_no_operation_is_a_warning(tiny: dict[str, Any]) -> None:
    """A scenario whose services run no container simulates nothing: a warning says so."""
    tiny["services"]["web"]["deploy"] = {"replicas": 0}
    v = judge(storsim.simulate(storsim.load_scenario(tiny)))
    assert [w.kind for w in v.warnings] == ["no_operations"]
    assert v.rows == ()


def test_summary_mode_says_where_to_find_the_error_sources(tiny: dict[str, Any]) -> None:
    """Without rows (ops="summary"), the errors line says how to get its sources."""
    full = _unlinker(tiny, [{"op": "unlink"}])
    short = dataclasses.replace(full, ops=full.ops.iloc[0:0], ops_mode="summary")
    assert error_lines(short) == [
        "writable_layer ENOENT x49 (workloads and paths: run with --ops full)"
    ]


def test_accept_rejects_unknown_problem_kinds(shipped_results: dict[str, Any]) -> None:
    """accept= names problems of PROBLEMS only."""
    with pytest.raises(ValueError, match="accept must name problems of data_lost"):
        judge(shipped_results["copy-up"], accept=["slowness"])
