"""The watchdog: runs in slices change no result; a clock that stops, or a run far over
its budget, is stopped with an error that names the workload."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import simpy

import storsim
from storsim import guard
from storsim.errors import RunawayError
from storsim.scenario.overrides import apply_overrides

SHIPPED = sorted((Path(__file__).parent.parent / "scenarios").glob("*.yaml"))
W0 = "services.web.workload[0]"


def _plain_run(
    env: simpy.Environment, until: float | None, watchdog: Any, progress: Any = None
) -> None:
    env.run(until=until)


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_slices_change_nothing(
    path: Path, shipped_results: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every shipped scenario gives the same operations, events, summary, comparison and
    end time through the watched slices as through one plain env.run(until)."""
    watched = shipped_results[path.stem]
    monkeypatch.setattr(guard, "advance", _plain_run)
    plain = storsim.simulate(storsim.load_scenario(path))
    assert watched.sim_time_s == plain.sim_time_s
    for table in ("ops", "events", "summary", "by_service", "errors", "records", "comparison"):
        if getattr(plain, table) is None:
            assert getattr(watched, table) is None
        else:
            pd.testing.assert_frame_equal(getattr(watched, table), getattr(plain, table))


def _zero_time_loop(tiny: dict[str, Any]) -> dict[str, Any]:
    """The issue's case: a workload with no count and no pause whose write fails at once
    (a read-only mount: EROFS), with system calls and path walks that cost nothing, so
    no operation takes time."""
    apply_overrides(
        tiny,
        {
            "duration": "60 s",
            "host.syscall_latency": 0,
            "host.walk_per_component": 0,
            "services.web.volumes": ["./config:/config:ro"],
            "sources": {"./config": {"files": {"/app.json": 100}}},
            f"{W0}.path": "/config/app.json",
            f"{W0}.count": None,
            f"{W0}.start": "10 s",
        },
    )
    return tiny


def test_a_clock_that_stops_is_stopped(
    tiny: dict[str, Any], write_yaml: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A loop of operations that take no time stops with a RunawayError naming the file,
    the workload's line and path, and the instant the clock stopped at."""
    monkeypatch.setattr(guard, "STALL_EVENTS", 20_000)  # the same rule, sooner
    path = write_yaml(_zero_time_loop(tiny))
    scenario = storsim.load_scenario(path)
    with pytest.raises(RunawayError) as info:
        storsim.simulate(scenario, ops="summary", max_ops=10**9)
    text = str(info.value)
    assert re.match(
        rf"{re.escape(str(path))}:\d+: services\.web\.workload\[0\]: simulated time stopped "
        # 10 s and a little: the first failing write pays its cold lookups (its walk's
        # directory reads); the failures after it cost no time
        r"advancing at 10(\.\d+)? s: more than 20,004 events happened at that instant",
        text,
    ), text
    assert info.value.line is not None
    assert "give the workload a count, a think time or a rate" in text


def test_a_zero_time_loop_over_the_budget_is_refused_first(tiny: dict[str, Any]) -> None:
    """The same loop under the default budget is refused before it starts: a closed loop
    with no count is estimated at one operation per microsecond at most."""
    scenario = storsim.load_scenario(_zero_time_loop(tiny))
    with pytest.raises(RunawayError, match=r"workload\[0\]: the run would do about 5e\+07"):
        storsim.simulate(scenario, ops="summary")


def test_a_run_far_over_its_budget_is_stopped(tiny: dict[str, Any]) -> None:
    """Operations that take less time than the estimate assumes (here 0.1 us each, where
    the estimate allows 1 us) cannot run on past twice the budget."""
    apply_overrides(tiny, _zero_time_loop(tiny))
    apply_overrides(tiny, {"host.syscall_latency": "100 ns", "duration": "10.001 s"})
    scenario = storsim.load_scenario(tiny)
    with pytest.raises(
        RunawayError, match=r"has done [\d,]+ operations, more than twice its budget of 2,000"
    ):
        storsim.simulate(scenario, ops="summary", max_ops=2000)


def test_a_busy_instant_is_no_stall(tiny: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """Many threads starting at the same instant are not a stopped clock: the limit grows
    with the simulated threads (four events each)."""
    monkeypatch.setattr(guard, "STALL_EVENTS", 1)
    apply_overrides(tiny, {f"{W0}.threads": 5000, f"{W0}.count": 5000})
    result = storsim.simulate(storsim.load_scenario(tiny), ops="summary")
    assert int(result.summary["ops"].sum()) == 5000
