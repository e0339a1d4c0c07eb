"""Exact, deterministic checks of the network link and the remote server."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import pytest
import simpy

from storsim.devices import Link, RemoteServer
from storsim.devices.profiles import OP_CLASSES, REMOTE_PROFILES
from tests.devices.jobs import run_jobs

# --- Link -----------------------------------------------------------------------------


def test_link_serialises_transfers(env: simpy.Environment) -> None:
    """Two 100-byte payloads on a 100 B/s link finish at 1.0 and 2.0."""
    link = Link(env, rtt_s=0.5, bytes_per_s=100.0)
    log = run_jobs(env, {"a": lambda: link.transfer(100), "b": lambda: link.transfer(100)})
    assert log == [("a", 1.0), ("b", 2.0)]
    assert (link.bytes_sent, link.busy_s) == (200, 2.0)


def test_link_round_trips_overlap(env: simpy.Environment) -> None:
    """Round trips are latency, not wire time: two at once both end at rtt."""
    link = Link(env, rtt_s=0.5, bytes_per_s=100.0)
    assert run_jobs(env, {"a": link.round_trip, "b": link.round_trip}) == [("a", 0.5), ("b", 0.5)]


def test_link_empty_transfer_takes_no_time(env: simpy.Environment) -> None:
    """A zero-byte payload neither waits for nor occupies the wire."""
    link = Link(env, rtt_s=0.5, bytes_per_s=100.0)
    log = run_jobs(env, {"a": lambda: link.transfer(100), "b": lambda: link.transfer(0)})
    assert log == [("b", 0.0), ("a", 1.0)]


def test_link_rejects_bad_parameters(env: simpy.Environment) -> None:
    """A link needs a non-negative round trip and a positive bandwidth."""
    # a float, as annotated: a compiled build (mypyc) turns an int argument into one
    with pytest.raises(ValueError, match=r"bytes_per_s must be > 0 \(got 0\.0\)"):
        Link(env, rtt_s=0.1, bytes_per_s=0.0)
    with pytest.raises(ValueError, match=r"rtt_s must be >= 0"):
        Link(env, rtt_s=-1.0, bytes_per_s=1.0)


# --- RemoteServer ---------------------------------------------------------------------

_LATENCIES = {c: 0.5 for c in OP_CLASSES}


def _server(env: simpy.Environment, **changes: Any) -> RemoteServer:
    params = dataclasses.replace(
        REMOTE_PROFILES["nfs"],
        rtt_s=0.25,
        link_bytes_per_s=32.0,
        server_queue_depth=1,
        server_latency_s=_LATENCIES,
        server_bytes_per_s=64.0,
        server_write_bytes_per_s=16.0,
        service="fixed",  # constant times: exact logs
    )
    return RemoteServer(env, dataclasses.replace(params, **changes), np.random.default_rng(0))


def test_remote_read_is_round_trip_service_then_download(env: simpy.Environment) -> None:
    """A 64-byte read: 0.25 rtt + (0.5 + 64/64) server + 64/32 link = 3.75 s."""
    server = _server(env)
    assert run_jobs(env, {"read": lambda: server.request("read", 64)}) == [("read", 3.75)]
    assert (server.busy_s, server.completed, server.link.busy_s) == (1.5, 1, 2.0)


def test_remote_write_uploads_before_service(env: simpy.Environment) -> None:
    """A 64-byte write: 0.25 rtt + 64/32 link + (0.5 + 64/16) server = 6.75 s."""
    server = _server(env)
    assert run_jobs(env, {"write": lambda: server.request("write", 64)}) == [("write", 6.75)]
    assert server.busy_s == 4.5


def test_remote_write_rate_defaults_to_read_rate(env: simpy.Environment) -> None:
    """Without a separate upload rate, a 64-byte write is served at 64 B/s: 0.25 + 2 + 1.5."""
    server = _server(env, server_write_bytes_per_s=None)
    assert run_jobs(env, {"write": lambda: server.request("write", 64)}) == [("write", 3.75)]


def test_remote_metadata_request_is_round_trip_plus_latency(env: simpy.Environment) -> None:
    """A payload-free request costs one round trip and the class's server latency."""
    server = _server(env)
    assert run_jobs(env, {"stat": lambda: server.request("meta")}) == [("stat", 0.75)]


def test_remote_requests_queue_at_server_then_on_link(env: simpy.Environment) -> None:
    """Two 64-byte reads on a one-slot server: served 0.25-1.75 and 1.75-3.25, then the
    second payload waits for the first on the link (1.75-3.75) and ends at 5.75."""
    server = _server(env)
    log = run_jobs(
        env, {"a": lambda: server.request("read", 64), "b": lambda: server.request("read", 64)}
    )
    assert log == [("a", 3.75), ("b", 5.75)]


def test_remote_servers_can_share_one_link(env: simpy.Environment) -> None:
    """Two servers built on one link serialise their payloads on it."""
    link = Link(env, rtt_s=0.25, bytes_per_s=32.0)
    params = _server(env).params
    a = RemoteServer(env, params, np.random.default_rng(0), "a", link=link)
    b = RemoteServer(env, params, np.random.default_rng(0), "b", link=link)
    log = run_jobs(env, {"a": lambda: a.request("read", 64), "b": lambda: b.request("read", 64)})
    assert log == [("a", 3.75), ("b", 5.75)]


def test_remote_rejects_unknown_operation_class(env: simpy.Environment) -> None:
    """An unknown operation class fails at the call, naming the valid classes."""
    with pytest.raises(
        ValueError, match=r"op_class must be one of meta, open, close, create.* \(got 'getattr'\)"
    ):
        _server(env).request("getattr")


def test_remote_utilisation(env: simpy.Environment) -> None:
    """A one-slot server busy 1.5 s of a 3.75 s run is 40 % utilised."""
    server = _server(env)
    run_jobs(env, {"read": lambda: server.request("read", 64)})
    assert math.isclose(server.utilisation(), 1.5 / 3.75)
