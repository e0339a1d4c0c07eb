"""The named profiles against their sources, and the parameters' validation."""

from __future__ import annotations

import dataclasses
import math
import pickle
from typing import Any

import pytest

from storsim.devices.params import OP_NAMES, RemoteParams
from storsim.devices.profiles import DISK_PROFILES, OP_CLASS_OF, OP_CLASSES, REMOTE_PROFILES


@pytest.mark.parametrize("name", sorted(DISK_PROFILES))
def test_disk_profiles_are_positive(name: str) -> None:
    """Every disk profile has positive, finite figures (a flush may cost nothing)."""
    p = DISK_PROFILES[name]
    figures = (p.read_latency_s, p.write_latency_s, p.read_bytes_per_s, p.write_bytes_per_s)
    for value in (*figures, p.queue_depth):
        assert 0 < value < math.inf
    assert 0 <= p.flush_latency_s < math.inf


def test_disk_profiles_are_ordered_by_speed() -> None:
    """tmpfs < nvme < ssd < hdd in read latency, and the reverse in read bandwidth."""
    order = ["tmpfs", "nvme", "ssd", "hdd"]
    latencies = [DISK_PROFILES[n].read_latency_s for n in order]
    assert latencies == sorted(latencies)
    bandwidths = [DISK_PROFILES[n].read_bytes_per_s for n in ("nvme", "ssd", "hdd")]
    assert bandwidths == sorted(bandwidths, reverse=True)


def test_disk_latencies_match_their_sources() -> None:
    """Flash writes at QD1 beat reads [X1] [X2]; a flush is a page program [X12]; an hdd
    access is a seek plus half a turn [X3]; only tmpfs is volatile and flushes for free."""
    nvme, ssd, hdd, tmpfs = (DISK_PROFILES[n] for n in ("nvme", "ssd", "hdd", "tmpfs"))
    assert (nvme.write_latency_s, ssd.write_latency_s) == (1 / 50_000, 1 / 40_000)
    assert nvme.flush_latency_s == ssd.flush_latency_s == 300e-6
    assert math.isclose(hdd.read_latency_s, 11.56e-3)
    assert math.isclose(hdd.write_latency_s, hdd.flush_latency_s)
    assert math.isclose(hdd.write_latency_s, 12.36e-3)
    assert (tmpfs.flush_latency_s, tmpfs.volatile) == (0.0, True)
    assert not any(DISK_PROFILES[n].volatile for n in ("nvme", "ssd", "hdd"))


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
    """NFS trusts attributes 3-60 s [K9], SMB 1 s [K10], s3fs creates in ~116 ms [B4]: a
    HEAD of the new name, a PUT of the empty object and a PUT of its data [X22]."""
    nfs, smb, s3 = REMOTE_PROFILES["nfs"], REMOTE_PROFILES["smb"], REMOTE_PROFILES["s3-fuse"]
    assert (nfs.attr_cache_min_s, nfs.attr_cache_max_s, nfs.locks) == (3.0, 60.0, "nlm")
    assert (smb.attr_cache_min_s, smb.attr_cache_max_s) == (1.0, 1.0)
    head, put = s3.server_latency_s["meta"], s3.server_latency_s["create"]
    assert s3.round_trips["create"] == ("create", "write")
    assert s3.lookup_before_create
    assert math.isclose(3 * s3.rtt_s + head + put + s3.server_latency_s["write"], 0.116)
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
        ({"read_latency_s": math.nan}, r"read_latency_s must be a finite number >= 0"),
        ({"flush_latency_s": -1.0}, r"flush_latency_s must be a finite number >= 0"),
        (
            {"service": "normal"},
            r"service must be one of fixed, exponential, h2, hdd \(got 'normal'\)",
        ),
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
