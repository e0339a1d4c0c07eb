"""Containers: what ``docker run`` builds (mounts, backends from the registry, the
service's ``prefill``), and placements as real scenario variants."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

import storsim
from storsim.compare import placement_variant
from storsim.errors import ScenarioError
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
