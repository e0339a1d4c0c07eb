"""Exact event logs of the station: FIFO order, capacity, hand-over at the same instant."""

from __future__ import annotations

import pytest
import simpy

from storsim.devices import ProcessGen, Slots, Station


def _holder(
    env: simpy.Environment,
    station: Station,
    name: str,
    hold_s: float,
    log: list[tuple[str, str, float]],
    *,
    arrive_s: float = 0.0,
) -> ProcessGen:
    """Arrive at ``arrive_s``, hold one slot for ``hold_s``, log when it starts and ends."""
    if arrive_s:
        yield env.timeout(arrive_s)
    wait = station.acquire()
    if wait is not None:
        yield wait
    log.append((name, "start", env.now))
    yield env.timeout(hold_s)
    station.release(hold_s)
    log.append((name, "end", env.now))


def _timed(
    env: simpy.Environment, station: Station, name: str, mean_s: float, log: list[tuple[str, float]]
) -> ProcessGen:
    """Send one timed request and log when it has been served and with which value."""
    value = yield station.request(mean_s)
    log.append((name, env.now))
    assert value == mean_s  # the event's value is the service time


def test_holders_beyond_capacity_wait_in_arrival_order(env: simpy.Environment) -> None:
    """Four holders on two slots: a and b at once, c when b leaves at 1, d when a leaves at 2."""
    station = Station(env, 2)
    log: list[tuple[str, str, float]] = []
    for name, hold_s in (("a", 2.0), ("b", 1.0), ("c", 3.0), ("d", 1.0)):
        env.process(_holder(env, station, name, hold_s, log))
    env.run()
    assert log == [
        ("a", "start", 0.0),
        ("b", "start", 0.0),
        ("b", "end", 1.0),
        ("c", "start", 1.0),
        ("a", "end", 2.0),
        ("d", "start", 2.0),
        ("d", "end", 3.0),
        ("c", "end", 4.0),
    ]
    assert (station.count, station.queued, station.completed, station.busy_s) == (0, 0, 4, 7.0)


def test_released_slot_passes_to_the_oldest_waiter_not_to_a_newcomer(
    env: simpy.Environment,
) -> None:
    """On one slot, a holder that releases at 1 and at once asks again waits behind b.

    b has waited since 0.5, so it gets the slot at the instant of the release (1.0) and a
    gets it back only when b leaves at 2.0 (``simpy.Resource`` would let a jump ahead).
    """
    station = Station(env, 1)
    log: list[tuple[str, str, float]] = []

    def greedy() -> ProcessGen:
        yield from _holder(env, station, "a", 1.0, log)
        yield from _holder(env, station, "a", 1.0, log)

    env.process(greedy())
    env.process(_holder(env, station, "b", 1.0, log, arrive_s=0.5))
    env.run()
    assert log == [
        ("a", "start", 0.0),
        ("a", "end", 1.0),
        ("b", "start", 1.0),
        ("b", "end", 2.0),
        ("a", "start", 2.0),
        ("a", "end", 3.0),
    ]


def test_hand_over_keeps_the_slot_taken(env: simpy.Environment) -> None:
    """At the instant of a hand-over the slot stays in use, so an arrival at that instant queues."""
    station = Station(env, 1)
    log: list[tuple[str, str, float]] = []
    env.process(_holder(env, station, "a", 1.0, log))
    env.process(_holder(env, station, "b", 1.0, log, arrive_s=0.5))
    env.process(_holder(env, station, "c", 1.0, log, arrive_s=1.0))
    env.run(until=1.5)
    assert (station.count, station.queued) == (1, 1)
    env.run()
    assert [entry for entry in log if entry[1] == "start"] == [
        ("a", "start", 0.0),
        ("b", "start", 1.0),
        ("c", "start", 2.0),
    ]


def test_free_slot_costs_no_event(env: simpy.Environment) -> None:
    """A free slot is taken without an event: acquire gives None, a timed request its timeout."""
    station = Station(env, 2)
    assert station.acquire() is None
    service = station.request(1.0)
    assert isinstance(service, simpy.Timeout)
    wait = station.acquire()
    assert wait is not None
    assert not isinstance(wait, simpy.Timeout)
    assert (station.count, station.queued) == (2, 1)


def test_timed_requests_are_served_one_after_another(env: simpy.Environment) -> None:
    """Three timed requests on one slot end at 1, 3 and 3.5: each starts when the last ends."""
    station = Station(env, 1)
    log: list[tuple[str, float]] = []
    for name, mean_s in (("a", 1.0), ("b", 2.0), ("c", 0.5)):
        env.process(_timed(env, station, name, mean_s, log))
    env.run()
    assert log == [("a", 1.0), ("b", 3.0), ("c", 3.5)]
    assert (station.completed, station.busy_s, station.count) == (3, 3.5, 0)


def test_timed_and_held_requests_share_one_queue(env: simpy.Environment) -> None:
    """On one slot, a timed request, a holder and another timed request are served in turn."""
    station = Station(env, 1)
    timed: list[tuple[str, float]] = []
    held: list[tuple[str, str, float]] = []
    env.process(_timed(env, station, "t1", 1.0, timed))
    env.process(_holder(env, station, "h", 0.5, held))
    env.process(_timed(env, station, "t2", 1.0, timed))
    env.run()
    assert held == [("h", "start", 1.0), ("h", "end", 1.5)]
    assert timed == [("t1", 1.0), ("t2", 2.5)]


def test_factors_scale_the_service_time(env: simpy.Environment) -> None:
    """With factors 2, 3, ... a request of mean 1 s takes 2 s, the next 3 s; service_s draws too."""
    factors = iter([2.0, 3.0, 4.0])
    station = Station(env, 1, lambda: next(factors))
    log: list[tuple[str, float]] = []

    def job(name: str) -> ProcessGen:
        yield station.request(1.0)
        log.append((name, env.now))

    env.process(job("a"))
    env.process(job("b"))
    env.run()
    assert log == [("a", 2.0), ("b", 5.0)]
    assert (station.service_s(0.5), Station(env, 1).service_s(0.5)) == (2.0, 0.5)


def test_utilisation_is_busy_time_over_capacity(env: simpy.Environment) -> None:
    """Two slots busy 1 and 2 s by t=2 are 75 % used; an empty window is 0."""
    station = Station(env, 2)
    assert station.utilisation() == 0.0
    log: list[tuple[str, str, float]] = []
    env.process(_holder(env, station, "a", 1.0, log))
    env.process(_holder(env, station, "b", 2.0, log))
    env.run()
    assert station.utilisation() == 0.75
    assert station.utilisation(elapsed_s=4.0) == 0.375


def test_station_needs_one_slot() -> None:
    """A station without a slot is a misuse of the API."""
    with pytest.raises(ValueError, match=r"capacity must be >= 1 \(got 0\)"):
        Station(simpy.Environment(), 0)


def test_slots_is_the_station() -> None:
    """The locks' and workloads' name for the queue is the station itself."""
    assert Slots is Station
