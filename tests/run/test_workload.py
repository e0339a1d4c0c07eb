"""Workloads: when they start and when they stop (start + duration, or count iterations)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

import storsim

#: One service whose one workload stats a file of the image once a second (fixed think).
TIMED: dict[str, Any] = {
    "name": "timed",
    "duration": "20 s",
    "host": {"disk": {"profile": "ssd", "service": "fixed"}},
    "images": {"app": {"layers": [{"files": {"/etc/app.conf": "1 KiB"}}]}},
    "services": {
        "web": {
            "image": "app",
            "workload": [
                {
                    "path": "/etc/app.conf",
                    "threads": 1,
                    "think": "1 s",
                    "think_dist": "fixed",
                    "ops": [{"op": "stat"}],
                }
            ],
        }
    },
}


def _starts(**workload: Any) -> list[float]:
    data = copy.deepcopy(TIMED)
    data["services"]["web"]["workload"][0].update(workload)
    ops = storsim.simulate(storsim.load_scenario(data)).ops
    return [float(t) for t in ops["t_start_s"]]


def test_a_closed_loop_runs_duration_from_its_start() -> None:
    """A closed loop with start 5 s and duration 3 s starts iterations at 5, 6 and 7 s
    (each after a 1 s think and one stat of under a millisecond), none at or after 8 s."""
    starts = _starts(start="5 s", duration="3 s")
    assert [round(t, 2) for t in starts] == [5.0, 6.0, 7.0]


def test_a_closed_loop_with_a_count_runs_count_iterations_after_its_start() -> None:
    """count 2 with start 5 s and duration 4 s: two iterations, at 5 and 6 s (a deadline
    counted from 0 would have ended the workload at 4 s, before its start)."""
    assert [round(t, 2) for t in _starts(start="5 s", count=2, duration="4 s")] == [5.0, 6.0]
    assert [round(t, 2) for t in _starts(start="5 s", count=9, duration="2 s")] == [5.0, 6.0]


def test_an_open_loop_runs_duration_from_its_start() -> None:
    """An open loop at 50/s with start 5 s and duration 3 s issues every operation
    within [5 s, 8 s), about 150 of them."""
    starts = _starts(start="5 s", duration="3 s", threads=None, rate="50/s", think=0)
    assert min(starts) >= 5.0
    assert max(starts) < 8.0
    assert len(starts) == pytest.approx(150, rel=0.3)
