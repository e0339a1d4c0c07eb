"""Exact, deterministic checks of the device models and the named profiles."""

from __future__ import annotations

import dataclasses
import math
import pickle
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import simpy
from hypothesis import given
from hypothesis import strategies as st

from storsim.devices import AttrCache, Disk, Link, PageCache, ProcessGen, RemoteServer
from storsim.profiles import (
    DISK_PROFILES,
    OP_CLASS_OF,
    OP_CLASSES,
    OP_NAMES,
    PAGE_CACHE,
    REMOTE_PROFILES,
    DiskParams,
    PageCacheParams,
    RemoteParams,
)


@pytest.fixture
def env() -> simpy.Environment:
    """A fresh simulation environment."""
    return simpy.Environment()


def _disk(env: simpy.Environment, **changes: Any) -> Disk:
    params = DiskParams(
        latency_s=1.0, read_bytes_per_s=100.0, write_bytes_per_s=50.0, queue_depth=1
    )
    return Disk(env, dataclasses.replace(params, **changes), np.random.default_rng(0))


def _run(
    env: simpy.Environment, jobs: dict[str, Callable[[], ProcessGen]]
) -> list[tuple[str, float]]:
    """Start every job at t=0 in order and return (name, end time) in completion order."""
    log: list[tuple[str, float]] = []

    def job(name: str, access: Callable[[], ProcessGen]) -> ProcessGen:
        yield from access()
        log.append((name, env.now))

    for name, access in jobs.items():
        env.process(job(name, access))
    env.run()
    return log


# --- Disk -----------------------------------------------------------------------------


def test_disk_serves_one_request_at_a_time_with_queue_depth_one(env: simpy.Environment) -> None:
    """Two metadata accesses on a queue-depth-1 disk finish at 1.0 and 2.0."""
    disk = _disk(env)
    assert _run(env, {"a": disk.meta, "b": disk.meta}) == [("a", 1.0), ("b", 2.0)]


def test_disk_serves_queue_depth_requests_in_parallel(env: simpy.Environment) -> None:
    """Three accesses on a depth-2 disk: two finish at 1.0, the third waits and ends at 2.0."""
    disk = _disk(env, queue_depth=2)
    log = _run(env, {"a": disk.meta, "b": disk.meta, "c": disk.meta})
    assert log == [("a", 1.0), ("b", 1.0), ("c", 2.0)]


def test_disk_service_is_latency_plus_size_over_bandwidth(env: simpy.Environment) -> None:
    """A 100-byte read takes 1 + 100/100 s and a 100-byte write 1 + 100/50 s, FIFO."""
    disk = _disk(env)
    log = _run(env, {"read": lambda: disk.read(100), "write": lambda: disk.write(100)})
    assert log == [("read", 2.0), ("write", 5.0)]


def test_disk_counts_busy_time_and_utilisation(env: simpy.Environment) -> None:
    """After two 1-s requests and 2 s idle, the disk was busy 2 s: utilisation 0.5."""
    disk = _disk(env)
    _run(env, {"a": disk.meta, "b": disk.meta})
    env.run(until=4.0)
    assert (disk.busy_s, disk.completed, disk.utilisation()) == (2.0, 2, 0.5)
    assert disk.utilisation(elapsed_s=2.0) == 1.0


def test_disk_reports_queue_and_service_counts(env: simpy.Environment) -> None:
    """While the first of three requests runs on a depth-1 disk, one is served and two wait."""
    disk = _disk(env)
    for access in (disk.meta, disk.meta, disk.meta):
        env.process(access())
    env.run(until=0.5)
    assert (disk.in_service, disk.queued) == (1, 2)


def test_fixed_service_draws_no_random_numbers(env: simpy.Environment) -> None:
    """A fixed-service disk leaves its random generator untouched."""
    rng = np.random.default_rng(7)
    before = rng.bit_generator.state
    disk = Disk(env, DISK_PROFILES["ssd"], rng)
    _run(env, {"a": lambda: disk.read(4096)})
    assert rng.bit_generator.state == before


def test_exponential_service_is_reproducible_and_varies() -> None:
    """Two exponential disks with equal seeds finish identically; the service times differ."""

    def completions(seed: int) -> list[float]:
        env = simpy.Environment()
        params = DiskParams(
            latency_s=1.0,
            read_bytes_per_s=1.0,
            write_bytes_per_s=1.0,
            queue_depth=1,
            service="exponential",
        )
        disk = Disk(env, params, np.random.default_rng(seed))
        return [t for _, t in _run(env, {str(i): disk.meta for i in range(50)})]

    first = completions(3)
    assert first == completions(3)
    gaps = np.diff([0.0, *first])
    assert len(set(gaps.tolist())) == len(gaps)
    assert (gaps > 0).all()


# --- PageCache ------------------------------------------------------------------------


def _cache(size_bytes: int = 100) -> PageCache:
    return PageCache(PageCacheParams(size_bytes=size_bytes))


def test_page_cache_evicts_least_recently_used() -> None:
    """With room for two 40-byte files, touching a then inserting c evicts b, not a."""
    cache = _cache()
    cache.insert("a", 40)
    cache.insert("b", 40)
    assert cache.lookup("a")
    cache.insert("c", 40)
    assert ("a" in cache, "b" in cache, "c" in cache) == (True, False, True)
    assert (cache.used_bytes, cache.evictions, cache.hits, cache.misses) == (80, 1, 1, 0)


def test_page_cache_counts_hits_and_misses() -> None:
    """A lookup of a cached key is a hit, of any other key a miss."""
    cache = _cache()
    cache.insert("a", 10)
    assert [cache.lookup("a"), cache.lookup("b"), cache.lookup("a")] == [True, False, True]
    assert (cache.hits, cache.misses) == (2, 1)


def test_page_cache_reinsert_replaces_size() -> None:
    """Inserting a cached key again replaces its size instead of adding to it."""
    cache = _cache()
    cache.insert("a", 30)
    cache.insert("a", 70)
    assert (cache.used_bytes, len(cache)) == (70, 1)


def test_page_cache_refuses_objects_larger_than_itself() -> None:
    """A file bigger than the cache is not cached and does not flush what is cached."""
    cache = _cache()
    cache.insert("small", 10)
    cache.insert("huge", 101)
    assert ("small" in cache, "huge" in cache, cache.used_bytes) == (True, False, 10)


def test_page_cache_invalidate_frees_bytes() -> None:
    """Invalidating a key drops it and its bytes; invalidating an absent key is a no-op."""
    cache = _cache()
    cache.insert("a", 60)
    cache.invalidate("a")
    cache.invalidate("missing")
    assert ("a" in cache, cache.used_bytes) == (False, 0)


def test_page_cache_rejects_negative_sizes() -> None:
    """A negative size is a programming error."""
    with pytest.raises(ValueError, match=r"nbytes must be >= 0 \(got -1\)"):
        _cache().insert("a", -1)


def test_page_cache_defaults_to_the_default_profile() -> None:
    """Without parameters the cache uses PAGE_CACHE."""
    assert PageCache().params == PAGE_CACHE


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["insert", "lookup", "invalidate"]),
            st.integers(0, 9),
            st.integers(0, 60),
        ),
        max_size=200,
    )
)
def test_page_cache_never_exceeds_capacity(ops: list[tuple[str, int, int]]) -> None:
    """Under any sequence of operations, used bytes equal the cached sizes and fit the cache."""
    cache = _cache()
    sizes: dict[int, int] = {}
    for op, key, nbytes in ops:
        if op == "insert":
            cache.insert(key, nbytes)
        elif op == "lookup":
            cache.lookup(key)
        else:
            cache.invalidate(key)
        sizes = {k: v for k, v in sizes.items() if k in cache}
        if op == "insert" and key in cache:
            sizes[key] = nbytes
        assert cache.used_bytes == sum(sizes.values()) <= cache.capacity_bytes


# --- Link -----------------------------------------------------------------------------


def test_link_serialises_transfers(env: simpy.Environment) -> None:
    """Two 100-byte payloads on a 100 B/s link finish at 1.0 and 2.0."""
    link = Link(env, rtt_s=0.5, bytes_per_s=100.0)
    log = _run(env, {"a": lambda: link.transfer(100), "b": lambda: link.transfer(100)})
    assert log == [("a", 1.0), ("b", 2.0)]
    assert (link.bytes_sent, link.busy_s) == (200, 2.0)


def test_link_round_trips_overlap(env: simpy.Environment) -> None:
    """Round trips are latency, not wire time: two at once both end at rtt."""
    link = Link(env, rtt_s=0.5, bytes_per_s=100.0)
    assert _run(env, {"a": link.round_trip, "b": link.round_trip}) == [("a", 0.5), ("b", 0.5)]


def test_link_empty_transfer_takes_no_time(env: simpy.Environment) -> None:
    """A zero-byte payload neither waits for nor occupies the wire."""
    link = Link(env, rtt_s=0.5, bytes_per_s=100.0)
    log = _run(env, {"a": lambda: link.transfer(100), "b": lambda: link.transfer(0)})
    assert log == [("b", 0.0), ("a", 1.0)]


def test_link_rejects_bad_parameters(env: simpy.Environment) -> None:
    """A link needs a non-negative round trip and a positive bandwidth."""
    with pytest.raises(ValueError, match=r"bytes_per_s must be > 0 \(got 0\)"):
        Link(env, rtt_s=0.1, bytes_per_s=0)
    with pytest.raises(ValueError, match=r"rtt_s must be >= 0"):
        Link(env, rtt_s=-1.0, bytes_per_s=1.0)


# --- RemoteServer ---------------------------------------------------------------------

# Powers of two keep every sum exact in binary floating point.
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
    )
    return RemoteServer(env, dataclasses.replace(params, **changes), np.random.default_rng(0))


def test_remote_read_is_round_trip_service_then_download(env: simpy.Environment) -> None:
    """A 64-byte read: 0.25 rtt + (0.5 + 64/64) server + 64/32 link = 3.75 s."""
    server = _server(env)
    assert _run(env, {"read": lambda: server.request("read", 64)}) == [("read", 3.75)]
    assert (server.busy_s, server.completed, server.link.busy_s) == (1.5, 1, 2.0)


def test_remote_write_uploads_before_service(env: simpy.Environment) -> None:
    """A 64-byte write: 0.25 rtt + 64/32 link + (0.5 + 64/16) server = 6.75 s."""
    server = _server(env)
    assert _run(env, {"write": lambda: server.request("write", 64)}) == [("write", 6.75)]
    assert server.busy_s == 4.5


def test_remote_write_rate_defaults_to_read_rate(env: simpy.Environment) -> None:
    """Without a separate upload rate, a 64-byte write is served at 64 B/s: 0.25 + 2 + 1.5."""
    server = _server(env, server_write_bytes_per_s=None)
    assert _run(env, {"write": lambda: server.request("write", 64)}) == [("write", 3.75)]


def test_remote_metadata_request_is_round_trip_plus_latency(env: simpy.Environment) -> None:
    """A payload-free request costs one round trip and the class's server latency."""
    server = _server(env)
    assert _run(env, {"stat": lambda: server.request("meta")}) == [("stat", 0.75)]


def test_remote_requests_queue_at_server_then_on_link(env: simpy.Environment) -> None:
    """Two 64-byte reads on a one-slot server: served 0.25-1.75 and 1.75-3.25, then the
    second payload waits for the first on the link (1.75-3.75) and ends at 5.75."""
    server = _server(env)
    log = _run(
        env, {"a": lambda: server.request("read", 64), "b": lambda: server.request("read", 64)}
    )
    assert log == [("a", 3.75), ("b", 5.75)]


def test_remote_servers_can_share_one_link(env: simpy.Environment) -> None:
    """Two servers built on one link serialise their payloads on it."""
    link = Link(env, rtt_s=0.25, bytes_per_s=32.0)
    params = _server(env).params
    a = RemoteServer(env, params, np.random.default_rng(0), "a", link=link)
    b = RemoteServer(env, params, np.random.default_rng(0), "b", link=link)
    log = _run(env, {"a": lambda: a.request("read", 64), "b": lambda: b.request("read", 64)})
    assert log == [("a", 3.75), ("b", 5.75)]


def test_remote_rejects_unknown_operation_class(env: simpy.Environment) -> None:
    """An unknown operation class fails at the call, naming the valid classes."""
    with pytest.raises(
        ValueError, match=r"op_class must be one of meta, create.* \(got 'getattr'\)"
    ):
        _server(env).request("getattr")


def test_remote_utilisation(env: simpy.Environment) -> None:
    """A one-slot server busy 1.5 s of a 3.75 s run is 40 % utilised."""
    server = _server(env)
    _run(env, {"read": lambda: server.request("read", 64)})
    assert math.isclose(server.utilisation(), 1.5 / 3.75)


# --- AttrCache ------------------------------------------------------------------------


def test_attr_cache_expires_after_minimum_timeout() -> None:
    """Attributes filled at t=0 are fresh until just before acregmin (3 s), stale at 3 s."""
    cache = AttrCache(3.0, 60.0)
    assert not cache.fresh("f", 0.0)
    assert cache.fill("f", 0.0) == 3.0
    assert (cache.fresh("f", 2.999), cache.fresh("f", 3.0)) == (True, False)
    assert (cache.hits, cache.misses) == (1, 2)


def test_attr_cache_timeout_doubles_while_unchanged_up_to_maximum() -> None:
    """Each expired refill of an unchanged file doubles the timeout: 3, 6, ..., 48, 60, 60."""
    cache = AttrCache(3.0, 60.0)
    now, timeouts = 0.0, []
    for _ in range(7):
        timeouts.append(cache.fill("f", now, version=1))
        now += timeouts[-1]
    assert timeouts == [3.0, 6.0, 12.0, 24.0, 48.0, 60.0, 60.0]


def test_attr_cache_change_resets_to_minimum() -> None:
    """A refill that sees a new version (the file changed) goes back to acregmin."""
    cache = AttrCache(3.0, 60.0)
    cache.fill("f", 0.0, version=1)
    cache.fill("f", 3.0, version=1)
    assert cache.fill("f", 9.0, version=2) == 3.0


def test_attr_cache_early_refill_keeps_timeout() -> None:
    """A refill before expiry restarts the same timeout instead of doubling it."""
    cache = AttrCache(3.0, 60.0)
    cache.fill("f", 0.0)
    assert cache.fill("f", 1.0) == 3.0
    assert (cache.fresh("f", 3.5), cache.fresh("f", 4.0)) == (True, False)


def test_attr_cache_invalidate_forgets() -> None:
    """An invalidated file is stale at once and starts again from the minimum."""
    cache = AttrCache(3.0, 60.0)
    cache.fill("f", 0.0)
    cache.fill("f", 3.0)
    cache.invalidate("f")
    assert (cache.fresh("f", 3.1), cache.timeout_s("f")) == (False, None)
    assert cache.fill("f", 4.0) == 3.0


def test_attr_cache_fixed_and_disabled() -> None:
    """Equal bounds give a fixed timeout (CIFS actimeo); zero bounds never cache (noac)."""
    fixed = AttrCache(1.0, 1.0)
    assert [fixed.fill("f", t) for t in (0.0, 1.0, 2.0)] == [1.0, 1.0, 1.0]
    noac = AttrCache(0.0, 0.0)
    noac.fill("f", 0.0)
    assert not noac.fresh("f", 0.0)


def test_attr_cache_rejects_inverted_bounds() -> None:
    """The minimum may not exceed the maximum."""
    with pytest.raises(ValueError, match=r"0 <= min_s <= max_s \(got 60.0, 3.0\)"):
        AttrCache(60.0, 3.0)


# --- profiles -------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(DISK_PROFILES))
def test_disk_profiles_are_positive(name: str) -> None:
    """Every disk profile has positive, finite figures and the fixed service default."""
    p = DISK_PROFILES[name]
    for value in (p.latency_s, p.read_bytes_per_s, p.write_bytes_per_s, p.queue_depth):
        assert 0 < value < math.inf
    assert p.service == "fixed"


def test_disk_profiles_are_ordered_by_speed() -> None:
    """tmpfs < nvme < ssd < hdd in latency, and the reverse in read bandwidth."""
    order = ["tmpfs", "nvme", "ssd", "hdd"]
    latencies = [DISK_PROFILES[n].latency_s for n in order]
    assert latencies == sorted(latencies)
    bandwidths = [DISK_PROFILES[n].read_bytes_per_s for n in ("nvme", "ssd", "hdd")]
    assert bandwidths == sorted(bandwidths, reverse=True)


@pytest.mark.parametrize("name", sorted(REMOTE_PROFILES))
def test_remote_profiles_are_positive_and_complete(name: str) -> None:
    """Every remote profile has positive figures and a latency for every operation class."""
    p = REMOTE_PROFILES[name]
    for value in (p.rtt_s, p.link_bytes_per_s, p.server_queue_depth, p.server_bytes_per_s):
        assert 0 < value < math.inf
    assert sorted(p.server_latency_s) == sorted(OP_CLASSES)
    assert all(v > 0 for v in p.server_latency_s.values())
    assert 0 < p.attr_cache_min_s <= p.attr_cache_max_s
    assert p.unsupported_ops <= OP_NAMES


def test_remote_profile_figures_match_their_sources() -> None:
    """NFS trusts attributes 3-60 s [K9], SMB 1 s [K10], s3fs creates in ~116 ms [B4]."""
    nfs, smb, s3 = REMOTE_PROFILES["nfs"], REMOTE_PROFILES["smb"], REMOTE_PROFILES["s3-fuse"]
    assert (nfs.attr_cache_min_s, nfs.attr_cache_max_s, nfs.locks) == (3.0, 60.0, "nlm")
    assert (smb.attr_cache_min_s, smb.attr_cache_max_s) == (1.0, 1.0)
    assert math.isclose(s3.rtt_s + s3.server_latency_s["create"], 0.116)
    assert math.isclose(
        REMOTE_PROFILES["efs"].rtt_s + REMOTE_PROFILES["efs"].server_latency_s["write"], 2.7e-3
    )


def test_s3_fuse_refuses_hard_links() -> None:
    """s3-fuse refuses link with EOPNOTSUPP and its locks exclude nothing across hosts."""
    s3 = REMOTE_PROFILES["s3-fuse"]
    assert "link" in s3.unsupported_ops
    assert (s3.unsupported_errno, s3.locks) == ("EOPNOTSUPP", "local")


def test_every_operation_has_a_server_class() -> None:
    """Each workload operation maps to one of the server's operation classes."""
    assert set(OP_CLASS_OF) == OP_NAMES
    assert set(OP_CLASS_OF.values()) <= set(OP_CLASSES)


def test_profiles_are_immutable_and_picklable() -> None:
    """A profile cannot be changed in place (not even its latency table) and survives pickle."""
    nfs = REMOTE_PROFILES["nfs"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        nfs.rtt_s = 1.0  # type: ignore[misc]
    with pytest.raises(TypeError):
        nfs.server_latency_s["meta"] = 1.0  # type: ignore[index]
    with pytest.raises(TypeError):
        REMOTE_PROFILES["x"] = nfs  # type: ignore[index]
    assert pickle.loads(pickle.dumps(nfs)) == nfs
    assert hash(nfs) == hash(dataclasses.replace(nfs))


def test_override_replaces_one_figure() -> None:
    """dataclasses.replace derives a variant and leaves the profile as it was."""
    fast = dataclasses.replace(DISK_PROFILES["hdd"], queue_depth=4)
    assert (fast.queue_depth, DISK_PROFILES["hdd"].queue_depth) == (4, 1)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"queue_depth": 0}, r"queue_depth must be an integer >= 1 \(got 0\)"),
        ({"read_bytes_per_s": 0.0}, r"read_bytes_per_s must be a finite number > 0"),
        ({"latency_s": math.nan}, r"latency_s must be a finite number >= 0"),
        ({"service": "normal"}, r"service must be one of fixed, exponential \(got 'normal'\)"),
    ],
)
def test_disk_params_reject_bad_values(changes: dict[str, Any], message: str) -> None:
    """Bad disk parameters raise ValueError naming the field and the rule."""
    with pytest.raises(ValueError, match=message):
        dataclasses.replace(DISK_PROFILES["ssd"], **changes)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"server_latency_s": {"meta": 1.0}}, r"server_latency_s must be a mapping with exactly"),
        (
            {"unsupported_ops": frozenset({"fly"})},
            r"unsupported_ops must be a subset of .*\['fly'\]",
        ),
        ({"attr_cache_max_s": 1.0}, r"attr_cache_max_s must be >= attr_cache_min_s \(3.0\)"),
        ({"locks": "maybe"}, r"locks must be one of nlm, brl, local, none"),
        ({"unsupported_errno": "EFUN"}, r"unsupported_errno must be one of"),
    ],
)
def test_remote_params_reject_bad_values(changes: dict[str, Any], message: str) -> None:
    """Bad remote parameters raise ValueError naming the field and the rule."""
    with pytest.raises(ValueError, match=message):
        dataclasses.replace(REMOTE_PROFILES["nfs"], **changes)


def test_remote_params_accept_any_iterable_of_unsupported_ops() -> None:
    """Unsupported operations given as a list are stored as a frozenset."""
    params = dataclasses.replace(REMOTE_PROFILES["nfs"], unsupported_ops=["link"])  # type: ignore[arg-type]
    assert params.unsupported_ops == frozenset({"link"})
    assert isinstance(params, RemoteParams)
