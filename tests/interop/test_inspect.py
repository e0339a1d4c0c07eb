"""docker inspect / volume inspect / image inspect / history JSON -> scenario parts."""

from __future__ import annotations

from pathlib import Path

import pytest

import storsim
from storsim import units
from storsim.errors import ScenarioError
from storsim.interop.cli import build_scenario
from storsim.interop.inspect import inspect_to_scenario, read_inspect

from .conftest import DATA


def parts(*names: str) -> tuple[dict, dict, dict]:
    """The scenario parts, aliases and origins of these data files."""
    imported, aliases, origins = inspect_to_scenario([read_inspect(DATA / n) for n in names])
    return imported.data, aliases, origins


def test_files_are_classified_by_their_keys(tmp_path: Path) -> None:
    """Container, image and volume inspect and history (JSON lines or array) are told apart;
    other JSON is refused naming the file."""
    kinds = {
        n: read_inspect(DATA / n).kind
        for n in (
            "inspect-shop-containers.json",
            "image-inspect-shop-web.json",
            "volume-inspect-gallery.json",
            "history-shop-web.jsonl",
            "history-api-nginx.json",
        )
    }
    assert list(kinds.values()) == ["container", "image", "volume", "history", "history"]
    other = tmp_path / "x.json"
    other.write_text('{"hello": 1}')
    with pytest.raises(ScenarioError, match=r"x.json:1: not the output of docker inspect"):
        read_inspect(other)
    broken = tmp_path / "y.json"
    broken.write_text('{"ID": 1}\n{nope\n')
    with pytest.raises(ScenarioError, match=r"y.json:2: not JSON"):
        read_inspect(broken)


def test_containers_become_services_with_their_mounts() -> None:
    """Containers of one compose service are its replicas; Mounts give volumes, tmpfs and
    binds (RW false = read-only), HostConfig.Tmpfs the --tmpfs mounts with their size, the
    image's VOLUME is left to the image, and a secret's file bind a single-file bind of
    its host file."""
    data, _, origins = parts("inspect-shop-containers.json", "image-inspect-shop-web.json")
    web, db = data["services"]["web"], data["services"]["db"]
    assert web["deploy"] == {"replicas": 2}
    assert web["volumes"] == [
        {"type": "volume", "source": "shop_uploads", "target": "/app/uploads"},
        {"type": "tmpfs", "target": "/tmp", "tmpfs": {"size": "64 MiB"}},
    ]
    assert web["read_only"] is True
    assert db["volumes"] == [
        {"type": "volume", "source": "shop_db-data", "target": "/var/lib/postgresql/data"},
        {"type": "tmpfs", "target": "/var/run/postgresql"},
        {
            "type": "bind",
            "source": "/home/ann/shop/db/password.txt",
            "target": "/run/secrets/db-password",
            "read_only": True,
        },
    ]
    assert data["sources"]["/home/ann/shop/db/password.txt"] == {"file": "1 KiB"}
    assert origins[("db", "/run/secrets/db-password")].startswith("file /home/ann")
    assert set(data["volumes"]) == {"shop_uploads", "shop_db-data"}


def test_anonymous_volumes_not_of_the_image_stay_anonymous() -> None:
    """Without the image's inspect, a container's anonymous volume is an anonymous mount."""
    data, _, _ = parts("inspect-shop-containers.json")
    assert {"type": "volume", "target": "/app/cache"} in data["services"]["web"]["volumes"]
    assert data["images"]["shop-web:latest"]["layers"][0]["name"] == "shop-web:latest (stub)"


def test_nfs_volume_inspect_makes_the_mount_a_distributed_bind() -> None:
    """docker volume inspect's Options of an NFS volume give the server and the export."""
    data, _, _ = parts("inspect-gallery-container.json", "volume-inspect-gallery.json")
    assert data["host"]["remotes"]["nas.lan"]["locks"] == "local"
    assert data["services"]["gallery-gallery-1"]["volumes"][0] == {
        "type": "bind",
        "source": "nas.lan:/export/photos",
        "target": "/srv/photos",
        "read_only": True,
    }


def test_history_gives_each_layer_base_first_with_its_bytes() -> None:
    """docker history (newest first, human sizes) gives one layer per RUN/COPY/ADD or
    sized entry, base first, holding exactly its bytes, in the COPY destination (relative
    to the WORKDIR before it) or /layer-NN; the image's VOLUME paths come from inspect."""
    data, aliases, _ = parts("image-inspect-shop-web.json", "history-shop-web.jsonl")
    image = data["images"]["shop-web:latest"]
    layers = image["layers"]
    assert len(layers) == 6
    assert image["volumes"] == ["/app/cache"]
    assert aliases["shop-web:latest"] == ["shop-web:latest"]

    def total(layer: dict) -> int:
        gen = layer.get("generate", [])
        files = layer.get("files", {})
        return sum(g["count"] * units.parse_size(g["size"]) for g in gen) + sum(
            units.parse_size(s) for s in files.values()
        )

    assert [total(layer) for layer in layers] == [
        74_800_000,
        9_500_000,
        41_300_000,
        49,
        52_300_000,
        41_000,
    ]
    assert [layer["generate"][0]["dir"] for layer in layers] == [
        "/layer-00",
        "/layer-01",
        "/layer-02",
        "/app",
        "/layer-04",
        "/app",
    ]
    assert layers[0]["generate"][0]["count"] == 2000  # MAX_FILES


def test_history_and_rootfs_counts_that_differ_are_reconciled(tmp_path: Path) -> None:
    """When RootFS has more layers than the history shows, empty layers are added, noted."""
    text = (DATA / "image-inspect-shop-web.json").read_text()
    wider = text.replace('"Layers": [', '"Layers": ["sha256:extra", ')
    path = tmp_path / "image.json"
    path.write_text(wider)
    imported, _, _ = inspect_to_scenario(
        [read_inspect(path), read_inspect(DATA / "history-shop-web.jsonl")]
    )
    assert len(imported.data["images"]["shop-web:latest"]["layers"]) == 7
    assert any("RootFS 7" in n.message for n in imported.notes)


def test_image_inspect_alone_gives_the_layer_count_and_total(tmp_path: Path) -> None:
    """Without history the image has RootFS's layer count, its total in the base, noted."""
    data, _, _ = parts("image-inspect-shop-web.json")
    layers = data["images"]["shop-web:latest"]["layers"]
    assert len(layers) == 6
    assert "generate" in layers[0]
    assert all("generate" not in layer for layer in layers[1:])


def test_engine_api_history_names_its_image_by_tags() -> None:
    """The Engine API's history (byte sizes, Tags) needs no image inspect to be named;
    classic-builder COPY ... in DIR puts its bytes in DIR."""
    data, aliases, _ = parts("history-api-nginx.json")
    layers = data["images"]["nginx:1.27"]["layers"]
    assert [layer["generate"][0]["dir"] for layer in layers] == [
        "/",
        "/layer-01",
        "/docker-entrypoint.d",
    ]
    assert aliases["nginx:1.27"] == ["nginx:1.27"]


def test_inspect_only_scenario_loads_and_runs() -> None:
    """A scenario from containers, image and history alone is named after the compose
    project, loads and runs."""
    imported, _ = build_scenario(
        [
            str(DATA / n)
            for n in (
                "inspect-shop-containers.json",
                "image-inspect-shop-web.json",
                "history-shop-web.jsonl",
            )
        ],
        environ={},
    )
    assert imported.data["name"] == "shop"
    scenario = storsim.load_scenario(imported.data, overrides={"duration": "1 s"})
    result = storsim.simulate(scenario)
    assert (result.summary["errors"] == 0).all()
    secrets = result.ops[result.ops["path"].astype(str).str.startswith("/run/secrets/")]
    assert len(secrets) == 1  # read once at start-up


def test_inspected_images_replace_compose_stubs_by_their_tags(tmp_path: Path) -> None:
    """With a compose file, an inspected image replaces the stub whose name it is known by
    (nginx:1.27), keeping the mount-point directories; the compose file's services stay."""
    compose = tmp_path / "compose.yaml"
    compose.write_text("services:\n  web:\n    image: nginx:1.27\n    volumes: [./s:/srv:ro]\n")
    imported, _ = build_scenario([str(compose), str(DATA / "history-api-nginx.json")], environ={})
    layers = imported.data["images"]["nginx:1.27"]["layers"]
    assert len(layers) == 3
    assert layers[-1]["dirs"] == ["/srv"]
    assert ("images", "nginx:1.27", "layers") not in imported.comments


def test_compose_services_win_over_inspected_containers(tmp_path: Path) -> None:
    """A container of a service the compose file has is left to the compose file, noted."""
    compose = tmp_path / "compose.yaml"
    compose.write_text(
        "services:\n  web:\n    image: app\n    volumes: [data:/data]\nvolumes: {data: {}}\n"
    )
    imported, _ = build_scenario(
        [str(compose), str(DATA / "inspect-shop-containers.json")], environ={}
    )
    assert imported.data["services"]["web"]["volumes"][0]["source"] == "data"
    assert "db" in imported.data["services"]
    assert any("described by the compose file too" in n.message for n in imported.notes)
