"""The shared transfer stage: concurrent requests split the device's bandwidth.

Exact event logs on constant parameters (powers of two, so every instant is exact), the
closed form of n equal streams (each gets B/n), and, with hypothesis, the stage against
a plain fluid simulation of the same queue written independently here.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
import simpy
from hypothesis import given, settings
from hypothesis import strategies as st

from storsim.devices import Disk, DiskParams, ProcessGen, Station
from tests.devices.jobs import run_jobs

MB = 2**20


def _disk(env: simpy.Environment, *, depth: int = 8, latency_s: float = 0.0) -> Disk:
    """A disk that moves 1 MiB/s both ways, with one latency for every kind of request."""
    params = DiskParams(
        read_latency_s=latency_s,
        write_latency_s=latency_s,
        flush_latency_s=latency_s,
        read_bytes_per_s=float(MB),
        write_bytes_per_s=float(MB),
        queue_depth=depth,
    )
    return Disk(env, params, np.random.default_rng(0))


def test_a_lone_transfer_gets_the_full_bandwidth(env: simpy.Environment) -> None:
    """One 2 MiB read with nobody else on the disk takes 2 s."""
    disk = _disk(env)
    assert run_jobs(env, {"a": lambda: disk.read(2 * MB)}) == [("a", 2.0)]


def test_two_transfers_at_once_each_get_half(env: simpy.Environment) -> None:
    """Two 1 MiB reads started together share 1 MiB/s: both end at 2 s, not at 1 s."""
    disk = _disk(env)
    log = run_jobs(env, {"a": lambda: disk.read(MB), "b": lambda: disk.read(MB)})
    assert log == [("a", 2.0), ("b", 2.0)]


def test_a_late_transfer_slows_the_earlier_ones(env: simpy.Environment) -> None:
    """a and b (1 MiB each) start at 0; c joins at 0.5: by then a and b have 0.25 MiB
    each, then three share, so a and b end at 2.75 and c, alone for its last 0.25 MiB,
    at 3.0."""
    disk = _disk(env)
    log: list[tuple[str, float]] = []

    def job(name: str, at: float) -> ProcessGen:
        if at:
            yield env.timeout(at)
        yield disk.submit_read(MB)
        log.append((name, env.now))

    for name, at in (("a", 0.0), ("b", 0.0), ("c", 0.5)):
        env.process(job(name, at))
    env.run()
    assert log == [("a", 2.75), ("b", 2.75), ("c", 3.0)]
    assert disk.busy_s == 2.75 * 2 + 2.5  # slot-seconds: each from its grant to its end
    assert disk.station.bandwidth_utilisation() == 1.0  # moved bytes all the time


def test_latency_takes_no_bandwidth(env: simpy.Environment) -> None:
    """With 1 s of latency, a (0.5 MiB, from 0) transfers in [1, 1.5]; b starts at 1.5
    and transfers in [2.5, 3.5]: they never overlap, so neither is slowed."""
    disk = _disk(env, latency_s=1.0)
    log: list[tuple[str, float]] = []

    def job(name: str, at: float, nbytes: int) -> ProcessGen:
        if at:
            yield env.timeout(at)
        yield disk.submit_write(nbytes)
        log.append((name, env.now))

    env.process(job("a", 0.0, MB // 2))
    env.process(job("b", 1.5, MB))
    env.run()
    assert log == [("a", 1.5), ("b", 3.5)]


def test_a_request_without_bytes_is_not_slowed_by_transfers(env: simpy.Environment) -> None:
    """A metadata read (latency only) during a long transfer ends after its latency."""
    disk = _disk(env, latency_s=0.25)
    log = run_jobs(env, {"big": lambda: disk.read(4 * MB), "meta": disk.meta})
    assert log == [("meta", 0.25), ("big", 4.25)]


def test_slots_still_limit_the_requests_in_service(env: simpy.Environment) -> None:
    """On two slots, the third of three 1 MiB reads waits for a slot: a and b share until
    2, then c has the disk alone until 3."""
    disk = _disk(env, depth=2)
    jobs = {name: (lambda: disk.read(MB)) for name in "abc"}
    assert run_jobs(env, jobs) == [("a", 2.0), ("b", 2.0), ("c", 3.0)]


@pytest.mark.parametrize("streams", [1, 2, 3, 8])
def test_n_concurrent_streams_each_get_a_nth_of_the_bandwidth(streams: int) -> None:
    """n sequential streams of 16 reads of 1 MiB, on a disk with more slots than streams,
    each move 16 MiB in 16 n seconds: B/n each, exactly (no latency)."""
    env = simpy.Environment()
    disk = _disk(env, depth=16)
    ends: dict[int, float] = {}

    def stream(k: int) -> ProcessGen:
        for _ in range(16):
            yield disk.submit_read(MB)
        ends[k] = env.now

    for k in range(streams):
        env.process(stream(k))
    env.run()
    assert all(math.isclose(16 * MB / end, MB / streams) for end in ends.values())


def test_streams_with_latency_get_about_a_nth() -> None:
    """With 100 us of latency per 1 MiB request, 8 streams each get within 1 % of B/8."""
    env = simpy.Environment()
    disk = _disk(env, depth=16, latency_s=1e-4)
    ends: list[float] = []

    def stream() -> ProcessGen:
        for _ in range(32):
            yield disk.submit_read(MB)
        ends.append(env.now)

    for _ in range(8):
        env.process(stream())
    env.run()
    for end in ends:
        assert 32 * MB / end == pytest.approx(MB / 8, rel=0.01)


class _Counting(simpy.Environment):
    """An environment that counts the events it processes."""

    def __init__(self) -> None:
        super().__init__()
        self.steps = 0

    def step(self) -> None:
        self.steps += 1
        super().step()


def _steps(access: Any) -> int:
    env = _Counting()
    disk = _disk(env)

    def job() -> ProcessGen:
        yield access(env, disk)

    env.process(job())
    env.run()
    return env.steps


def test_a_lone_transfer_costs_one_event_like_a_timeout() -> None:
    """A read that finds a free slot and no other transfer costs as many events as a
    bare timeout: one."""
    bare = _steps(lambda env, disk: env.timeout(1.0))
    assert _steps(lambda env, disk: disk.submit_read(MB)) == bare


def test_a_queued_request_costs_one_event_more_than_nothing() -> None:
    """A request that waits for a slot is completed by its own waiting event: two
    requests on one slot cost two events, as two timeouts would."""

    def two(on_disk: bool) -> int:
        env = _Counting()
        disk = _disk(env, depth=1)

        def job() -> ProcessGen:
            yield disk.submit_meta() if on_disk else env.timeout(1.0)

        env.process(job())
        env.process(job())
        env.run()
        return env.steps

    assert two(on_disk=True) == two(on_disk=False)


# --- against an independent fluid simulation ------------------------------------------


def _fluid(arrivals: list[tuple[float, float, float]], depth: int) -> list[float]:
    """Completion times of requests ``(arrival, latency, work)`` on ``depth`` FIFO slots,
    each doing its latency and then its work in processor sharing of one unit of work per
    second: a plain event loop, one instant at a time."""
    n = len(arrivals)
    done = [math.nan] * n
    order = sorted(range(n), key=lambda i: arrivals[i][0])
    waiting: list[int] = []
    entry: dict[int, float] = {}  # in their latency, until this instant
    left: dict[int, float] = {}  # transferring, work left
    t, nxt, busy = 0.0, 0, 0
    eps = 1e-12
    while nxt < n or waiting or entry or left:
        k = len(left)
        candidates = []
        if nxt < n:
            candidates.append(arrivals[order[nxt]][0])
        candidates += entry.values()
        if k:
            candidates.append(t + min(left.values()) * k)
        t_new = min(candidates)
        if k:
            for i in left:
                left[i] -= (t_new - t) / k
        t = t_new
        for i in [i for i, w in left.items() if w <= eps * (1 + t)]:
            del left[i]
            done[i] = t
            busy -= 1
        for i in [i for i, e in entry.items() if e <= t + eps * (1 + t)]:
            del entry[i]
            left[i] = arrivals[i][2]
        while nxt < n and arrivals[order[nxt]][0] <= t:
            waiting.append(order[nxt])
            nxt += 1
        while waiting and busy < depth:
            i = waiting.pop(0)
            busy += 1
            entry[i] = t + arrivals[i][1]
    return done


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 12),
    depth=st.integers(1, 4),
)
def test_the_stage_agrees_with_a_fluid_simulation(seed: int, n: int, depth: int) -> None:
    """Random arrivals, latencies and sizes on a few slots complete when a plain fluid
    simulation of processor sharing says, whether each request was served alone or
    shared."""
    rng = np.random.default_rng(seed)
    arrivals = [
        (float(rng.uniform(0, 3)), float(rng.uniform(0, 1)), float(rng.uniform(0.01, 2)))
        for _ in range(n)
    ]
    env = simpy.Environment()
    station = Station(env, depth, bandwidth=True)
    ends = [math.nan] * n

    def job(i: int) -> ProcessGen:
        at, latency, work = arrivals[i]
        yield env.timeout(at)
        yield station.request(latency, work)
        ends[i] = env.now

    for i in range(n):
        env.process(job(i))
    env.run()
    expected = _fluid(arrivals, depth)
    assert ends == pytest.approx(expected, rel=1e-9, abs=1e-9)
    assert station.count == 0
    assert station.bandwidth is not None
    assert station.bandwidth.busy_s() == pytest.approx(sum(w for _, _, w in arrivals))
