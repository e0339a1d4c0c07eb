"""Open-loop arrivals: evenly spaced (arrivals: fixed), and at most threads in flight."""

from __future__ import annotations

from typing import Any

import pytest

import storsim
from storsim.errors import ScenarioError
from storsim.records import Recorder
from storsim.run.containers import start_containers
from storsim.run.world import World
from tests.run.conftest import INSTANT, scenario


def starts(**workload: Any) -> list[list[Any]]:
    """(iteration start time, thread) of each stat (of /logs/{thread}) on the instant
    double (which takes no time), each iteration thinking 0.25 s after its stat."""
    data = scenario(path="/logs/{thread}", ops=[{"op": "stat", "think": "250 ms"}], **workload)
    data["host"] = {"cpus": 4}
    world = World.build(storsim.load_scenario(data), 1, Recorder(), backends=INSTANT)
    start_containers(world)
    world.ctx.env.run()
    frame = world.ctx.recorder.frame()
    rows = frame[["t_start_s", "path"]].values.tolist()
    return [[round(t, 9), int(str(p).rsplit("/", 1)[1])] for t, p in rows]


def test_fixed_arrivals_come_one_every_period() -> None:
    """arrivals: fixed at 10/s starts an iteration every 0.1 s, each on thread 0."""
    assert starts(rate="10/s", arrivals="fixed", count=3, threads=None) == [
        [0.1, 0],
        [0.2, 0],
        [0.3, 0],
    ]


def test_rate_with_threads_keeps_at_most_threads_in_flight() -> None:
    """rate with threads: 2 waits for a free thread when both are busy, then starts at
    once on the thread that freed (iterations of 0.25 s arriving every 0.1 s)."""
    assert starts(rate="10/s", arrivals="fixed", count=5, threads=2) == [
        [0.1, 0],
        [0.2, 1],
        [0.35, 0],
        [0.45, 1],
        [0.6, 0],
    ]


def test_arrivals_need_a_rate() -> None:
    """arrivals: fixed without a rate is a scenario error."""
    with pytest.raises(ScenarioError, match="arrivals needs a rate"):
        storsim.load_scenario(scenario(arrivals="fixed"))
