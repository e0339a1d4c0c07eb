"""Overload: a device that cannot keep up with an open-loop workload is named, and one
that is only busy is not (storsim.run.overload)."""

from __future__ import annotations

from typing import Any

import storsim
from storsim.cli.output import result_json
from storsim.report.verdict import judge
from storsim.run.overload import OVERLOAD_COLUMNS

FLUSH_S = 0.01  # every fsync holds the disk's one slot 10 ms: 100 fsyncs/s at most


def _scenario(**arrivals: Any) -> storsim.Scenario:
    return storsim.load_scenario(
        {
            "name": "overload",
            "duration": "20 s",
            "host": {
                "disk": {
                    "profile": "ssd",
                    "queue_depth": 1,
                    "flush_latency": f"{FLUSH_S} s",
                    "service": "fixed",
                }
            },
            "images": {"app": {"layers": [{"files": {"/etc/app.conf": "1 KiB"}}]}},
            "volumes": {"data": {}},
            "services": {
                "db": {
                    "image": "app",
                    "volumes": ["data:/data"],
                    "workload": {
                        "path": "/data/wal",
                        "ops": [{"op": "append", "size": "4 KiB"}, {"op": "fsync"}],
                        **arrivals,
                    },
                }
            },
        }
    )


def _disk(result: storsim.Result) -> dict[str, Any]:
    assert result.overload is not None
    assert tuple(result.overload.columns) == OVERLOAD_COLUMNS
    [row] = result.overload[result.overload["device"] == "disk"].to_dict("records")
    return row


def test_an_open_loop_above_the_disks_service_rate_overloads_it() -> None:
    """200 commits/s against 100 fsyncs/s: the disk is busy all the time and its queue
    grows by about 100 requests a second; the verdict warns, and the JSON says so."""
    result = storsim.simulate(_scenario(rate="200/s"), seed=1)
    disk = _disk(result)
    assert disk["overloaded"]
    assert disk["utilisation"] > 0.99
    assert 80 < disk["queue_growth_per_s"] < 120  # (200 - 100) per second, Poisson noise
    judged = judge(result)
    assert any("disk cannot keep up" in w.message for w in judged.warnings)
    assert "disk" in str(result_json(result, judged=judged))


def test_an_open_loop_below_the_service_rate_is_not_overload() -> None:
    """50 commits/s on the same disk: half busy, a queue that comes and goes."""
    disk = _disk(storsim.simulate(_scenario(rate="50/s"), seed=1))
    assert not disk["overloaded"]
    assert 0.4 < disk["utilisation"] < 0.6


def test_a_saturating_closed_loop_is_busy_but_not_overloaded() -> None:
    """16 threads with no pause keep the disk busy all the time, but their queue is
    bounded by the threads: busy, not overloaded, and no warning."""
    result = storsim.simulate(_scenario(threads=16, think="1 ms"), seed=1)
    disk = _disk(result)
    assert disk["utilisation"] > 0.9
    assert not disk["overloaded"]
    assert not [w for w in judge(result).warnings if "keep up" in w.message]
