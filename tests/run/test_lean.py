"""The lean operation path (storsim.run.lean) gives exactly what the general one gives:
the same records, the same instants, the same final state, for every scenario shipped
and for workloads that leave the lean path (locks, failures, copy-ups, volumes, cold
lookups, page-cache misses, a second step on the same record)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

import storsim
from storsim.run import workload

ROOT = Path(__file__).resolve().parent.parent.parent
SHIPPED = sorted((ROOT / "scenarios").glob("*.yaml"))


def _digest(scenario: Any, *, lean: bool, monkeypatch: pytest.MonkeyPatch) -> str:
    with monkeypatch.context() as m:
        if not lean:
            m.setattr(workload, "lean_step", lambda ctx, op: None)
        result = storsim.simulate(scenario)
    csv = result.ops.to_csv(index=False, float_format="%.17g")
    summary = result.summary.to_csv(index=False, float_format="%.17g")
    return hashlib.sha256((csv + summary).encode()).hexdigest()


def _mixed(lock: str, service: str) -> dict[str, Any]:
    """Writes, reads and stats on the root overlay and a volume, with missing files
    (ENOENT), copy-ups, a cache too small for the files (misses) and a lock."""
    return {
        "name": "lean-mixed",
        "seed": 5,
        "host": {
            "disk": {"profile": "ssd", "service": service}
            if service != "default"
            else {"profile": "ssd"},
            "cpus": 1,
            "page_cache": "256 KiB",
        },
        "images": {
            "app": {
                "layers": [
                    {"generate": [{"dir": "/srv/a", "count": 30, "size": "40 KiB"}]},
                    {"generate": [{"dir": "/srv/b", "count": 10, "size": "300 KiB"}]},
                ]
            }
        },
        "volumes": {"data": {}},
        "sources": {"data": {"files": {"/db": "64 KiB", "/log": "1 KiB"}}},
        "services": {
            "root": {
                "image": "app",
                "deploy": {"replicas": 2},
                "workload": {
                    "path": "/srv/*",
                    "threads": 3,
                    "count": 300,
                    "ops": [
                        {"op": "stat"},
                        {"op": "read", "size": "8 KiB"},
                        {"op": "write", "size": "4 KiB", "offset": "end"},
                        {"op": "read", "size": "4 KiB", "offset": "same"},
                        {"op": "stat", "path": "/srv/missing"},
                        {"op": "write", "path": "/srv/missing/x", "size": "1 KiB"},
                    ],
                },
            },
            "vol": {
                "image": "app",
                "deploy": {"replicas": 2},
                "volumes": ["data:/data"],
                "workload": {
                    "path": "/data/db",
                    "lock": lock,
                    "threads": 2,
                    "count": 200,
                    "think": "50 us",
                    "ops": [
                        {"op": "read", "size": "4 KiB"},
                        {"op": "write", "offset": "same"},
                        {"op": "stat", "path": "/data/log"},
                        {"op": "read", "path": "/data/nothing"},
                    ],
                },
            },
        },
    }


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_shipped_scenarios_are_the_same_with_and_without_the_lean_path(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every shipped scenario's records and summary are identical on both paths."""
    scenario = storsim.load_scenario(path)
    assert _digest(scenario, lean=True, monkeypatch=monkeypatch) == _digest(
        scenario, lean=False, monkeypatch=monkeypatch
    )


@pytest.mark.parametrize("lock", ["none", "flock"])
@pytest.mark.parametrize("service", ["default", "fixed"])
def test_mixed_workloads_are_the_same_with_and_without_the_lean_path(
    lock: str, service: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Workloads that leave the lean path at every turn (failures, copy-ups, misses,
    locks, a busy single core) give identical records and summaries on both paths."""
    scenario = storsim.load_scenario(_mixed(lock, service))
    assert _digest(scenario, lean=True, monkeypatch=monkeypatch) == _digest(
        scenario, lean=False, monkeypatch=monkeypatch
    )


def _trace(make: Any) -> list[Any]:
    """What a process sees: values, a failure it handles, its end, its own failure."""
    import simpy

    env = simpy.Environment()
    log: list[Any] = []

    def child() -> Any:
        yield env.timeout(1)
        raise ValueError("inner")

    def proc() -> Any:
        log.append((env.now, (yield env.timeout(2, value="a"))))
        failing = env.event()
        failing.fail(KeyError("k"))
        try:
            yield failing
        except KeyError as e:
            log.append((env.now, repr(e)))
        done = env.event()
        done.succeed("now")
        log.append((env.now, (yield done)))  # already triggered: resumed at once
        try:
            yield env.process(child())
        except ValueError as e:
            log.append((env.now, repr(e)))
        return "end"

    def bad() -> Any:
        yield env.timeout(1)
        yield 42

    p = make(env, proc())
    env.run()
    log.append(p.value)
    make(env, bad())
    try:
        env.run()
    except RuntimeError as e:
        log.append(str(e).splitlines()[-1])
    return log


def test_a_workload_thread_resumes_as_a_simpy_process() -> None:
    """A workload's process (workload._Thread) sees the same values, failures, instants
    and end as a simpy.Process, and rejects a yield of a non-event the same way."""
    expected = _trace(lambda env, gen: env.process(gen))
    assert _trace(workload._Thread) == expected
    assert expected[-1] == 'Invalid yield value "42"'
