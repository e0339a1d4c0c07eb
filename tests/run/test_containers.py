"""Containers: what ``docker run`` builds (mounts, backends from the registry, the
service's ``prefill``), and placements as real scenario variants."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

import storsim
from storsim.backends.instant import InstantBackend
from storsim.compare import placement_variant
from storsim.devices import profiles
from storsim.errors import ScenarioError
from storsim.names import STORAGES
from storsim.records import Recorder
from storsim.run.containers import start_containers
from storsim.run.world import World
from tests.run.conftest import INSTANT, SCENARIO, container, perform, scenario


def test_mounts_get_their_backends_from_the_registry() -> None:
    """Each mount's backend is built from the registry with its file system, and the
    mount table names the storage choice."""
    world, run, _ = container(SCENARIO)
    assert set(run.backends) == {None, "/srv"}
    volume = run.backends["/srv"]
    assert volume.at.fs is world.volumes["shared"]
    assert volume.at.key == ("volume", "shared")
    assert [(m.target, m.storage) for m in run.view.mounts] == [("/srv", "volume")]


def test_prefill_writes_into_the_writable_layer_at_run() -> None:
    """Content a service prefills below an image directory is in the writable layer at
    ``docker run``, so a later write to it copies nothing up."""
    data = scenario(ops=[{"op": "write", "size": "4 KiB", "offset": "start"}])
    data["services"]["web"]["prefill"] = {"/data": {"files": {"/new.db": "8 KiB"}}}
    world, run, w = container(data)
    assert run.view.root.upper_bytes() == 8192
    perform(world, w, "/data/new.db")
    frame = world.ctx.recorder.frame()
    assert frame[["storage", "copied_up"]].values.tolist() == [["writable_layer", False]]


def test_prefill_writes_into_a_tmpfs() -> None:
    """Prefilled content below a tmpfs mount lands in the tmpfs, symlinks included."""
    data = copy.deepcopy(SCENARIO)
    web = data["services"]["web"]
    web["tmpfs"] = ["/cache"]
    web["prefill"] = {"/cache": {"files": {"/a": 100}, "symlinks": {"/b": "a"}}}
    _, run, _ = container(data)
    tmpfs = next(m.fs for m in run.view.mounts if m.target == "/cache")
    tree = tmpfs.visible_tree()
    assert (tree["/a"].size_bytes, tree["/b"].kind, tree["/b"].target) == (100, "symlink", "a")


@pytest.mark.parametrize(
    ("mount", "rule"),
    [
        ("./config:/etc/app:ro", "must not be on a read-only mount"),
        ("nas:/export:/etc/app", "must not be on a distributed bind mount"),
    ],
)
def test_prefill_is_refused_where_it_cannot_be_written(
    tmp_path: Path, mount: str, rule: str
) -> None:
    """Prefill below a read-only mount or a distributed bind is a scenario error that
    names the file, the line and the service."""
    data = copy.deepcopy(SCENARIO)
    data["host"] = {"remotes": {"nas": {"profile": "nfs"}}}
    web = data["services"]["web"]
    web["volumes"] = [mount]
    web["prefill"] = {"/etc/app/x": {"files": {"/y": 1}}}
    path = tmp_path / "s.yaml"
    with path.open("w") as handle:
        YAML(typ="safe", pure=True).dump(data, handle)
    with pytest.raises(ScenarioError, match=rf"^{path}:\d+: services\.web: .*{rule}"):
        storsim.load_scenario(path)


def test_placements_are_real_validated_variants(tmp_path: Path) -> None:
    """A placement is the scenario with the compared path moved, made through the public
    override path: it keeps the scenario's file, drops compare and uses public fields."""
    data: dict[str, Any] = copy.deepcopy(SCENARIO)
    data["compare"] = {"path": "/data", "choices": ["tmpfs", "writable_layer", "volume"]}
    path = tmp_path / "s.yaml"
    with path.open("w") as handle:
        YAML(typ="safe", pure=True).dump(data, handle)
    s = storsim.load_scenario(path)
    on_tmpfs = placement_variant(s, "tmpfs")
    assert on_tmpfs.file == str(path)
    assert on_tmpfs.compare is None
    web = on_tmpfs.services["web"]
    assert "/data" in {m.target for m in web.mounts if m.type == "tmpfs"}
    assert web.prefill["/data"].files == {"/big.db": 64 * 2**20}
    assert not any(str(k).startswith("x-") for k in on_tmpfs.to_data()["services"]["web"])
    on_volume = placement_variant(s, "volume")
    assert "compare-data" in on_volume.volumes
    assert on_volume.services["web"].prefill == {}


def test_a_whole_run_on_the_instant_double_takes_no_time() -> None:
    """With every storage choice served by the instant double, the run decides the same
    operations with the same outcomes as the real backends, each in zero time."""
    data = scenario(
        count=3,
        ops=[{"op": "write", "size": "4 KiB"}, {"op": "stat", "path": "/nope"}, {"op": "fsync"}],
    )
    frames = []
    for backends in (INSTANT, None):
        kwargs = {} if backends is None else {"backends": backends}
        world = World.build(storsim.load_scenario(data), 1, Recorder(), **kwargs)
        start_containers(world)
        world.ctx.env.run()
        frames.append(world.ctx.recorder.frame())
    instant, real = frames
    assert instant[["op", "outcome"]].values.tolist() == real[["op", "outcome"]].values.tolist()
    assert (instant["latency_s"] == 0).all()
    assert (real["latency_s"] > 0).all()


def test_prefill_that_the_file_system_refuses_is_a_scenario_error() -> None:
    """Prefill below an image file (not a directory) fails at ``docker run`` with a
    ScenarioError naming the service's prefill path and the errno."""
    data = copy.deepcopy(SCENARIO)
    data["services"]["web"]["prefill"] = {"/etc/app.conf": {"files": {"/y": 1}}}
    with pytest.raises(
        ScenarioError,
        match=r'^services\.web\.prefill\["/etc/app\.conf"\] cannot be written.*ENOTDIR',
    ):
        container(data)


def test_a_read_only_service_writes_only_to_its_mounts() -> None:
    """read_only: true (docker run --read-only): a write to an image file fails with EROFS
    and copies nothing up; the same write on the service's volume succeeds."""
    data = scenario(ops=[{"op": "write", "size": "4 KiB", "offset": "start"}])
    data["services"]["web"]["read_only"] = True
    world, run, w = container(data)
    perform(world, w, "/data/big.db")
    perform(world, w, "/srv/counters.db")
    frame = world.ctx.recorder.frame()
    assert frame[["storage", "outcome", "copied_up"]].values.tolist() == [
        ["writable_layer", "EROFS", False],
        ["volume", "ok", False],
    ]
    assert run.view.root.upper_bytes() == 0


def test_a_read_only_service_prefills_only_its_mounts() -> None:
    """Prefill on the read-only root of a read_only service is a scenario error."""
    data = copy.deepcopy(SCENARIO)
    data["services"]["web"]["read_only"] = True
    data["services"]["web"]["prefill"] = {"/data": {"files": {"/x": 1}}}
    with pytest.raises(ScenarioError, match=r"prefill '/data' must be on a mount of a read_only"):
        storsim.load_scenario(data)
    data["services"]["web"]["prefill"] = {"/srv/new": {"files": {"/x": 1}}}
    storsim.load_scenario(data)


def test_a_volume_subpath_mounts_one_directory_of_the_volume() -> None:
    """volume.subpath mounts that directory of the volume at the target: a file there is
    the volume's file below the subpath; a subpath the volume lacks refuses the container."""
    data = copy.deepcopy(SCENARIO)
    data["sources"] = {"shared": {"files": {"/tenant-a/counters.db": "64 KiB"}}}
    web = data["services"]["web"]
    web["volumes"] = [
        {
            "type": "volume",
            "source": "shared",
            "target": "/srv",
            "volume": {"subpath": "/tenant-a/"},
        }
    ]
    _, run, _ = container(data)
    assert run.view.stat("/srv/counters.db").size_bytes == 65536
    assert run.view.resolve("/srv/counters.db")[1] == "/tenant-a/counters.db"
    web["volumes"][0]["volume"] = {"subpath": "tenant-b"}
    with pytest.raises(ScenarioError, match=r"volumes\[0\]\.volume\.subpath: 'tenant-b' does not"):
        container(data)
    web["volumes"][0]["volume"] = {"subpath": "../x"}
    with pytest.raises(ScenarioError, match=r"without '\.\.'"):
        storsim.load_scenario(data)


# --- start-up: Docker fills a new empty volume from the image -----------------------------

#: Seconds the timed double charges per operation (powers of two: exact sums).
_TIMES = {"stat": 0.125, "read": 1.0, "create": 0.5, "mkdir": 0.25, "symlink": 0.0625}


class _Timed(InstantBackend):
    """The instant double, charging a fixed time per operation (:data:`_TIMES`)."""

    def charge(self, op: Any, path: str, result: Any, nbytes: int, offset: int) -> float:
        super().charge(op, path, result, nbytes, offset)
        return _TIMES.get(op.name, 0.0)


def _image_under_empty_volume(**volume: Any) -> dict[str, Any]:
    """An image with two files, a directory and a symlink below /data, and a new empty
    named volume mounted there; the workload stats /data/big.db once."""
    data = scenario(path="/data/big.db", ops=[{"op": "stat"}])
    data["images"]["app"]["layers"] = [
        {
            "files": {"/data/big.db": "64 MiB", "/data/sub/a": "1 KiB"},
            "symlinks": {"/data/link": "big.db"},
        }
    ]
    data["volumes"] = {"fresh": {}}
    data["sources"] = {}
    data["services"]["web"]["volumes"] = [
        {"type": "volume", "source": "fresh", "target": "/data", **volume}
    ]
    return data


def _run_timed(data: dict[str, Any]) -> tuple[list[_Timed], Any, Any]:
    """Run ``data``'s lifecycle on the timed double: the backends made (in order), the
    operations and the lifecycle events."""
    made: list[_Timed] = []

    def factory(ctx: Any, at: Any) -> _Timed:
        made.append(_Timed(ctx, at))
        return made[-1]

    registry = dict.fromkeys(STORAGES, factory)
    world = World.build(storsim.load_scenario(data), 1, Recorder(), backends=registry)
    start_containers(world)
    world.ctx.env.run()
    return made, world.ctx.recorder.frame(), world.ctx.recorder.events_frame()


def test_docker_fills_an_empty_volume_before_the_container_starts() -> None:
    """Each image entry below the volume's mount point is looked up (a file also read)
    in the image, then made in the volume, one after another; the workloads start when
    the last is made, and the run's start-up is that time, with the bytes copied."""
    (root, volume), ops, events = _run_timed(_image_under_empty_volume())
    big = 64 * 2**20
    assert root.calls == [
        ("charge", "stat", "/data/big.db", 0, 0, True),
        ("charge", "read", "/data/big.db", big, 0, True),
        ("charge", "stat", "/data/link", 0, 0, True),
        ("charge", "stat", "/data/sub", 0, 0, True),
        ("charge", "stat", "/data/sub/a", 0, 0, True),
        ("charge", "read", "/data/sub/a", 1024, 0, True),
    ]
    assert volume.calls == [
        ("charge", "create", "/big.db", big, 0, True),
        ("charge", "symlink", "/link", 0, 0, True),
        ("charge", "mkdir", "/sub", 0, 0, True),
        ("charge", "create", "/sub/a", 1024, 0, True),
        ("charge", "stat", "/big.db", 0, 0, True),  # the workload, once started
    ]
    # big.db: stat 1/8 + read 1 + create 1/2; link: stat + symlink 1/16;
    # sub: stat + mkdir 1/4; sub/a: stat + read + create
    startup = (0.125 + 1 + 0.5) + (0.125 + 0.0625) + (0.125 + 0.25) + (0.125 + 1 + 0.5)
    assert startup == 3.8125
    runs = events[events["action"] == "run"]
    assert runs[["t_s", "startup_s", "copy_bytes"]].values.tolist() == [[0.0, startup, big + 1024]]
    assert ops[["op", "t_start_s", "t_end_s"]].values.tolist() == [
        ["stat", startup, startup + 0.125]
    ]


def test_a_volume_that_holds_files_or_says_nocopy_is_not_filled() -> None:
    """A named volume that already holds files, and one mounted with ``nocopy``, hide the
    image's files: nothing is copied and the container starts at once."""
    nocopy, _, events = _run_timed(_image_under_empty_volume(volume={"nocopy": True}))
    assert events[events["action"] == "run"]["startup_s"].tolist() == [0.0]
    assert [c[1] for c in nocopy[0].calls] == []  # the root backend copied nothing
    full = _image_under_empty_volume()
    full["sources"] = {"fresh": {"files": {"/other": "1 KiB"}}}
    _, _, events = _run_timed(full)
    assert events[events["action"] == "run"][["startup_s", "copy_bytes"]].values.tolist() == [
        [0.0, 0]
    ]


def test_the_second_replica_finds_the_shared_volume_filled() -> None:
    """Two replicas created at the same instant on one new named volume: the first fills
    it and waits for the copy, the second finds it filled and starts at once."""
    data = _image_under_empty_volume()
    data["services"]["web"]["deploy"] = {"replicas": 2}
    _, _, events = _run_timed(data)
    runs = events[events["action"] == "run"].sort_values("container")
    assert runs["startup_s"].tolist() == [3.8125, 0.0]  # as in the test above


def test_start_up_is_in_the_result_and_the_comparison() -> None:
    """With the real backends the start-up is at least the copied bytes' disk read and
    their two memory copies (read out of the image, written into the volume); the
    result lists it per ``docker run``, and a comparison gives each placement's
    slowest start-up (none on the image layer, which copies nothing)."""
    data = _image_under_empty_volume()
    data["host"] = {"disk": "ssd"}
    data["compare"] = {"path": "/data", "choices": ["image_layer", "volume"]}
    result = storsim.simulate(storsim.load_scenario(data))
    (row,) = result.startup.to_dict("records")
    copied = 64 * 2**20 + 1024
    assert (row["container"], row["service"], row["t_s"], row["copy_bytes"]) == (
        "web-1",
        "web",
        0.0,
        copied,
    )
    ssd, cache = profiles.DISK_PROFILES["ssd"], profiles.PAGE_CACHE
    floor_s = copied / ssd.read_bytes_per_s + 2 * copied / cache.copy_bytes_per_s
    assert row["startup_ms"] >= floor_s * 1e3
    assert result.comparison is not None
    comparison = result.comparison
    slowest = dict(zip(comparison["placement"], comparison["startup_max_ms"], strict=True))
    assert slowest["image_layer"] == 0.0
    assert slowest["volume"] >= floor_s * 1e3
