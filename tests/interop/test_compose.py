"""Compose files -> scenarios: each mapping rule, and each thing reported as not mapped."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import storsim
from storsim.errors import ScenarioError
from storsim.interop import compose as compose_module
from storsim.interop.common import Imported
from storsim.interop.compose import compose_to_scenario, load_compose, ram_in_bytes

from .conftest import messages

Compose = Callable[..., Imported]


def mounts(imported: Imported, service: str) -> list[dict[str, Any]]:
    """A service's mounts in the imported data."""
    return list(imported.data["services"][service].get("volumes", []))


def runs(imported: Imported) -> storsim.Result:
    """The imported scenario loads and runs for a second of simulated time."""
    scenario = storsim.load_scenario(imported.data, overrides={"duration": "1 s"})
    return storsim.simulate(scenario)


# --- mounts -------------------------------------------------------------------------------


def test_short_syntax_binds_volumes_and_anonymous_volumes(compose: Compose) -> None:
    """Short syntax: ./src is a bind, a name a named volume, a lone path an anonymous
    volume, and :ro makes the mount read-only whatever other flags it has."""
    imported = compose(
        """
        services:
          app:
            image: app
            volumes:
              - ./data:/data
              - cache:/cache:ro,z
              - /scratch
              - /etc/app:/etc/app:ro
        volumes:
          cache:
        """
    )
    assert mounts(imported, "app") == [
        {"type": "bind", "source": "./data", "target": "/data"},
        {"type": "volume", "source": "cache", "target": "/cache", "read_only": True},
        {"type": "volume", "target": "/scratch"},
        {"type": "bind", "source": "/etc/app", "target": "/etc/app", "read_only": True},
    ]
    assert imported.data["volumes"] == {"cache": {}}
    runs(imported)


def test_long_syntax_with_options(compose: Compose) -> None:
    """Long syntax keeps type, source, target, read_only, volume nocopy and a tmpfs size
    in Docker's units (64m = 64 MiB)."""
    imported = compose(
        """
        services:
          app:
            image: app
            volumes:
              - {type: volume, source: data, target: /data, volume: {nocopy: true}}
              - {type: bind, source: ./conf, target: /conf, read_only: true}
              - {type: tmpfs, target: /run/app, tmpfs: {size: 64m}}
        volumes:
          data: {}
        """
    )
    assert mounts(imported, "app") == [
        {"type": "volume", "source": "data", "target": "/data", "volume": {"nocopy": True}},
        {"type": "bind", "source": "./conf", "target": "/conf", "read_only": True},
        {"type": "tmpfs", "target": "/run/app", "tmpfs": {"size": "64 MiB"}},
    ]


def test_service_tmpfs_key_string_and_list_with_size(compose: Compose) -> None:
    """The service tmpfs key (a string or a list of PATH[:OPTIONS]) becomes tmpfs mounts."""
    one = compose("services: {app: {image: app, tmpfs: /tmp}}")
    assert mounts(one, "app") == [{"type": "tmpfs", "target": "/tmp"}]
    many = compose("services: {app: {image: app, tmpfs: [/tmp, '/run:size=16m,mode=1777']}}")
    assert mounts(many, "app") == [
        {"type": "tmpfs", "target": "/tmp"},
        {"type": "tmpfs", "target": "/run", "tmpfs": {"size": "16 MiB"}},
    ]


def test_undeclared_named_volume_is_declared_with_a_note(compose: Compose) -> None:
    """A named volume missing from the top-level volumes (which compose refuses) is
    declared, and a note says so with the line."""
    imported = compose(
        """
        services:
          app:
            image: app
            volumes: ["data:/data"]
        """
    )
    assert imported.data["volumes"] == {"data": {}}
    [note] = [n for n in imported.notes if "not declared" in n.message]
    assert (note.where, note.line) == ("services.app.volumes[0]", 5)


def test_bind_source_directory_gives_the_bind_its_content(compose: Compose) -> None:
    """An existing bind source directory's files (sizes in bytes) are the bind's content."""
    imported = compose(
        "services: {web: {image: nginx, volumes: ['./site:/usr/share/nginx/html:ro']}}",
        files={"site/index.html": "x" * 100, "site/css/app.css": "y" * 4096},
    )
    assert imported.data["sources"]["./site"] == {
        "files": {"/index.html": 100, "/css/app.css": "4 KiB"}
    }


def test_bind_scan_stops_at_the_limit_with_a_note(
    compose: Compose, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A source directory with more files than SCAN_LIMIT gives its first files, noted."""
    monkeypatch.setattr(compose_module, "SCAN_LIMIT", 2)
    imported = compose(
        "services: {web: {image: nginx, volumes: ['./site:/site']}}",
        files={f"site/{name}": "x" for name in ("a", "b", "c")},
    )
    assert imported.data["sources"]["./site"] == {"files": {"/a": 1, "/b": 1}}
    assert any("more than 2 files" in m for m in messages(imported))


def test_missing_bind_source_is_an_empty_directory_with_a_note(compose: Compose) -> None:
    """A bind source that does not exist is the empty directory Docker creates, noted."""
    imported = compose("services: {app: {image: app, volumes: ['./logs:/var/log/app']}}")
    assert mounts(imported, "app") == [
        {"type": "bind", "source": "./logs", "target": "/var/log/app"}
    ]
    assert any("Docker creates an empty directory" in m for m in messages(imported))


def test_single_file_binds_become_file_binds(compose: Compose) -> None:
    """Files bound into one directory become single-file binds of their host files (with
    their real sizes), hiding nothing else of the image, with no note."""
    imported = compose(
        """
        services:
          proxy:
            image: nginx
            volumes:
              - ./nginx.conf:/etc/nginx/conf.d/default.conf:ro
              - ./extra.conf:/etc/nginx/conf.d/extra.conf:ro
        """,
        files={"nginx.conf": "a" * 300, "extra.conf": "b" * 20},
    )
    assert mounts(imported, "proxy") == [
        {
            "type": "bind",
            "source": "./nginx.conf",
            "target": "/etc/nginx/conf.d/default.conf",
            "read_only": True,
        },
        {
            "type": "bind",
            "source": "./extra.conf",
            "target": "/etc/nginx/conf.d/extra.conf",
            "read_only": True,
        },
    ]
    assert imported.data["sources"]["./nginx.conf"] == {"file": 300}
    assert imported.data["sources"]["./extra.conf"] == {"file": 20}
    assert not any("hides" in m or "storsim mounts directories" in m for m in messages(imported))
    runs(imported)


def test_missing_file_bind_by_its_name_is_a_file_of_unknown_size(compose: Compose) -> None:
    """A missing bind source whose name has an extension is taken as a file, its size a
    placeholder marked TODO, and noted."""
    imported = compose("services: {p: {image: nginx, volumes: ['./n.conf:/etc/n/n.conf:ro']}}")
    key = "./n.conf"
    assert imported.data["sources"][key] == {"file": "1 KiB"}
    assert "TODO" in imported.comments[("sources", key)]
    assert any("its name says it is a file" in m for m in messages(imported))


def test_duplicate_targets_keep_the_first_with_a_note(compose: Compose) -> None:
    """Two mounts on one target (compose refuses it) keep the first, noted."""
    imported = compose("services: {a: {image: a, volumes: ['./x:/data', 'v:/data']}}")
    assert mounts(imported, "a") == [{"type": "bind", "source": "./x", "target": "/data"}]
    assert any("mounted twice" in m for m in messages(imported))


def test_unmodelled_mount_types_and_options_are_noted(compose: Compose) -> None:
    """npipe mounts and unknown bind options are noted, not dropped silently; a volume's
    subpath is the mount's volume.subpath."""
    imported = compose(
        """
        services:
          a:
            image: a
            volumes:
              - {type: npipe, source: '\\\\.\\pipe\\docker_engine', target: /pipe}
              - {type: volume, source: v, target: /v, volume: {subpath: sub}}
              - {type: bind, source: ./b, target: /b, bind: {recursive: enabled}}
        volumes: {v: {}}
        """
    )
    text = "\n".join(messages(imported))
    assert "type npipe: not modelled" in text
    assert "subpath" not in text
    assert "services.a.volumes[2].bind.recursive: not modelled" in text
    assert [m["target"] for m in mounts(imported, "a")] == ["/v", "/b"]
    assert mounts(imported, "a")[0]["volume"] == {"subpath": "sub"}
    assert imported.data["sources"]["v"] == {"dirs": ["/sub"]}  # Docker needs it to exist
    runs(imported)


# --- named volumes on the network and other local-driver volumes -------------------


def test_nfs_volume_becomes_a_remote_and_its_mounts_distributed_binds(compose: Compose) -> None:
    """A local-driver NFS volume becomes a server under host.remotes with nolock -> locks
    local and actimeo -> both attribute-cache times, and its mounts binds of SERVER:/export."""
    imported = compose(
        """
        services:
          app:
            image: app
            volumes: ["media:/media:ro", {type: volume, source: media, target: /sub,
                                          volume: {subpath: photos}}]
        volumes:
          media:
            driver: local
            driver_opts:
              type: nfs
              o: addr=10.0.0.5,nolock,actimeo=30,vers=4.1
              device: ":/export/media"
        """
    )
    assert imported.data["host"]["remotes"] == {
        "10.0.0.5": {
            "profile": "nfs",
            "locks": "local",
            "attr_cache_min": "30 s",
            "attr_cache_max": "30 s",
        }
    }
    assert mounts(imported, "app") == [
        {"type": "bind", "source": "10.0.0.5:/export/media", "target": "/media", "read_only": True},
        {"type": "bind", "source": "10.0.0.5:/export/media/photos", "target": "/sub"},
    ]
    assert "volumes" not in imported.data
    result = runs(imported)
    assert set(result.summary["storage"]) == {"distributed_bind"}


def test_nfs_read_only_option_makes_every_mount_read_only(compose: Compose) -> None:
    """The NFS ro option makes the volume's mounts read-only."""
    imported = compose(
        """
        services: {app: {image: app, volumes: ["m:/m"]}}
        volumes:
          m: {driver_opts: {type: nfs, o: "addr=nas,ro", device: "nas:/x"}}
        """
    )
    assert mounts(imported, "app") == [
        {"type": "bind", "source": "nas:/x", "target": "/m", "read_only": True}
    ]


def test_cifs_volume_maps_nobrl_and_mfsymlinks_and_keeps_passwords_out(compose: Compose) -> None:
    """A CIFS volume becomes an smb server (nobrl -> locks local, mfsymlinks -> symlinks
    supported), and the password appears in no note or output."""
    imported = compose(
        """
        services: {app: {image: app, volumes: ["share:/share"]}}
        volumes:
          share:
            driver_opts:
              type: cifs
              o: addr=files.lan,username=bob,password=hunter2,nobrl,mfsymlinks,vers=3.0
              device: //files.lan/team/docs
        """
    )
    assert imported.data["host"]["remotes"] == {
        "files.lan": {"profile": "smb", "locks": "local", "unsupported": []}
    }
    assert mounts(imported, "app") == [
        {"type": "bind", "source": "files.lan:/team/docs", "target": "/share"}
    ]
    assert "hunter2" not in imported.to_yaml() + "".join(messages(imported))
    assert any("username, password: access control" in m for m in messages(imported))


def test_volumes_on_one_server_share_it_unless_their_options_differ(compose: Compose) -> None:
    """Two NFS volumes of one server with the same options are one server; with other
    options the second is a server of its own, noted."""
    same = compose(
        """
        services: {a: {image: a, volumes: ["x:/x", "y:/y"]}}
        volumes:
          x: {driver_opts: {type: nfs, o: addr=nas, device: ":/x"}}
          y: {driver_opts: {type: nfs, o: addr=nas, device: ":/y"}}
        """
    )
    assert list(same.data["host"]["remotes"]) == ["nas"]
    other = compose(
        """
        services: {a: {image: a, volumes: ["x:/x", "y:/y"]}}
        volumes:
          x: {driver_opts: {type: nfs, o: addr=nas, device: ":/x"}}
          y: {driver_opts: {type: nfs, o: "addr=nas,nolock", device: ":/y"}}
        """
    )
    assert list(other.data["host"]["remotes"]) == ["nas", "nas-y"]
    assert [m["source"] for m in mounts(other, "a")] == ["nas:/x", "nas-y:/y"]
    assert any("its own server 'nas-y'" in m for m in messages(other))


def test_tmpfs_and_bind_local_volumes(compose: Compose) -> None:
    """A local volume of type tmpfs is a tmpfs (with its size, noted); one of type none
    with o=bind is a local bind of its device."""
    imported = compose(
        """
        services: {a: {image: a, volumes: ["fast:/fast", "host:/host"]}}
        volumes:
          fast: {driver_opts: {type: tmpfs, device: tmpfs, o: "size=100m,uid=1000"}}
          host: {driver_opts: {type: none, o: bind, device: /srv/data}}
        """
    )
    assert mounts(imported, "a") == [
        {"type": "tmpfs", "target": "/fast", "tmpfs": {"size": "100 MiB"}},
        {"type": "bind", "source": "/srv/data", "target": "/host"},
    ]
    assert any("a tmpfs volume" in m for m in messages(imported))


def test_other_drivers_and_device_volumes_stay_local_with_notes(compose: Compose) -> None:
    """A volume of another driver, or on its own block device, stays a local volume, noted;
    external volumes stay external."""
    imported = compose(
        """
        services: {a: {image: a, volumes: ["x:/x", "y:/y", "z:/z"]}}
        volumes:
          x: {driver: rexray/ebs}
          y: {driver_opts: {type: ext4, device: /dev/sdb1}}
          z: {external: true, name: shared-z}
        """
    )
    assert imported.data["volumes"] == {
        "x": {},
        "y": {},
        "z": {"external": True, "name": "shared-z"},
    }
    text = "\n".join(messages(imported))
    assert "volume driver 'rexray/ebs' is not modelled" in text
    assert "type ext4: a file system on its own device is not modelled" in text


# --- services ------------------------------------------------------------------------------


def test_build_services_get_an_image_stub_with_the_dockerfile_volumes(compose: Compose) -> None:
    """A build: service gets the image PROJECT-SERVICE (or its image:), a stub layer
    marked TODO, and its Dockerfile's VOLUME paths of the target stage."""
    imported = compose(
        """
        name: Shop_1
        services:
          api:
            build: {context: ./api, target: run}
          worker:
            build: ./api
            image: registry.example/worker:2
        """,
        files={
            "api/Dockerfile": (
                'FROM python:3 AS run\nVOLUME /var/cache/api\nVOLUME ["/data", "/logs"]\n'
                "FROM run AS test\nVOLUME /tests \\\n  /more\n"
            )
        },
    )
    images = imported.data["images"]
    assert images["shop_1-api"]["volumes"] == ["/var/cache/api", "/data", "/logs"]
    assert images["registry.example/worker:2"]["volumes"] == ["/tests", "/more"]
    assert imported.data["services"]["api"]["image"] == "shop_1-api"
    assert "TODO" in imported.comments[("images", "shop_1-api", "layers")]
    runs(imported)


def test_replicas_from_deploy_and_scale(compose: Compose) -> None:
    """deploy.replicas and scale give the replica count; deploy.mode global is one, noted."""
    imported = compose(
        """
        services:
          a: {image: a, deploy: {replicas: 3}}
          b: {image: b, scale: 2}
          c: {image: c, deploy: {mode: global}}
        """
    )
    services = imported.data["services"]
    assert services["a"]["deploy"] == {"replicas": 3}
    assert services["b"]["deploy"] == {"replicas": 2}
    assert "deploy" not in services["c"]
    assert any("global" in m for m in messages(imported))


def test_read_only_services_have_a_read_only_root(compose: Compose) -> None:
    """read_only: true is the service's read_only, with no note; the scenario loads."""
    imported = compose("services:\n  api:\n    image: api\n    read_only: true\n")
    assert imported.data["services"]["api"]["read_only"] is True
    assert not any("read_only" in n.where for n in imported.notes)
    assert storsim.load_scenario(imported.data).services["api"].read_only


def test_secrets_and_configs_are_read_only_files_at_their_targets(compose: Compose) -> None:
    """Secrets are files under /run/secrets (long syntax: target relative to it or
    absolute) and configs at their target; sizes come from file, environment or content;
    a config at its default target /NAME too; each is a single-file bind, of its host
    file when it has one."""
    imported = compose(
        """
        services:
          api:
            image: api
            secrets:
              - db_password
              - {source: token, target: token.txt}
              - {source: cert, target: /etc/ssl/api.pem}
            configs:
              - {source: app_config, target: /etc/api/config.yaml}
              - inline
        secrets:
          db_password: {file: ./secrets/db.txt}
          token: {environment: API_TOKEN}
          cert: {external: true}
        configs:
          app_config: {file: ./config.yaml}
          inline: {content: "hello"}
        """,
        files={"secrets/db.txt": "s" * 29, "config.yaml": "c" * 191},
        environ={"API_TOKEN": "t" * 40},
    )
    sources = imported.data["sources"]
    assert sources == {
        "./secrets/db.txt": {"file": 29},
        "./.storsim/api/run/secrets/token.txt": {"file": 40},
        "./.storsim/api/etc/ssl/api.pem": {"file": "1 KiB"},
        "./config.yaml": {"file": 191},
        "./.storsim/api/inline": {"file": 5},
    }
    assert {m["target"]: (m["source"], m.get("read_only")) for m in mounts(imported, "api")} == {
        "/run/secrets/db_password": ("./secrets/db.txt", True),
        "/run/secrets/token.txt": ("./.storsim/api/run/secrets/token.txt", True),
        "/etc/ssl/api.pem": ("./.storsim/api/etc/ssl/api.pem", True),
        "/etc/api/config.yaml": ("./config.yaml", True),
        "/inline": ("./.storsim/api/inline", True),
    }
    text = "\n".join(messages(imported))
    assert "secrets.cert: its size is unknown" in text
    assert "cannot be mounted" not in text
    result = runs(imported)
    reads = result.ops[result.ops["path"].astype(str).str.startswith("/run/secrets/")]
    assert sorted(reads["path"].astype(str)) == [
        "/run/secrets/db_password",
        "/run/secrets/token.txt",
    ]
    assert set(reads["outcome"].astype(str)) == {"ok"}


def test_a_note_on_a_shared_secret_comes_once(compose: Compose) -> None:
    """A secret of unknown size used by two services is noted once."""
    imported = compose(
        """
        services:
          a: {image: a, secrets: [s]}
          b: {image: b, secrets: [s]}
        secrets: {s: {external: true}}
        """
    )
    assert sum("its size is unknown" in m for m in messages(imported)) == 1


def test_a_file_inside_another_mount_is_a_file_bind_there(compose: Compose) -> None:
    """A file mounted into a directory that is itself a mount target is a file bind on
    top of that mount (the kernel's mount stacking), and the scenario runs."""
    imported = compose(
        """
        services:
          a:
            image: a
            volumes: ["./conf:/etc/app", "./x.conf:/etc/app/x.conf"]
        """,
        files={"conf/base.conf": "b", "x.conf": "x"},
    )
    assert [m["target"] for m in mounts(imported, "a")] == ["/etc/app", "/etc/app/x.conf"]
    assert imported.data["sources"]["./x.conf"] == {"file": 1}
    runs(imported)


def test_volumes_from_copies_the_other_services_mounts(compose: Compose) -> None:
    """volumes_from copies named volumes and binds (read-only with :ro); an anonymous
    volume cannot be shared in storsim's format and is noted."""
    imported = compose(
        """
        services:
          data:
            image: data
            volumes: ["shared:/shared", "./conf:/conf", "/anon"]
          app:
            image: app
            volumes_from: ["data:ro", "container:other"]
        volumes: {shared: {}}
        """
    )
    assert mounts(imported, "app") == [
        {"type": "volume", "source": "shared", "target": "/shared", "read_only": True},
        {"type": "bind", "source": "./conf", "target": "/conf", "read_only": True},
    ]
    text = "\n".join(messages(imported))
    assert "anonymous volume at /anon" in text
    assert "a container outside the file" in text


def test_extends_in_the_same_file_merges_the_base_service(compose: Compose) -> None:
    """extends of a service in the same file merges its keys (mounts by target); extends
    from another file is noted."""
    imported = compose(
        """
        services:
          base:
            image: app
            volumes: ["./a:/a", "./b:/b"]
          child:
            extends: base
            volumes: ["./c:/b"]
          other:
            extends: {file: common.yaml, service: web}
            image: other
        """
    )
    assert mounts(imported, "child") == [
        {"type": "bind", "source": "./a", "target": "/a"},
        {"type": "bind", "source": "./c", "target": "/b"},
    ]
    assert imported.data["services"]["child"]["image"] == "app"
    assert any("extends from another file is not followed" in m for m in messages(imported))


def test_interpolation_defaults_environment_dotenv_and_unset(compose: Compose) -> None:
    """${VAR:-default}, ${VAR} from the environment (over .env), $$ and unset variables
    (empty, noted) are interpolated as compose does."""
    imported = compose(
        """
        services:
          app:
            image: "${IMAGE:-app}:${TAG}"
            volumes: ["${DATA_DIR}:/data", "./$${literal}:/lit", "${MISSING}/x:/x"]
        """,
        files={".env": "TAG=1.0\nDATA_DIR=./from-dotenv\n"},
        environ={"DATA_DIR": "./from-env"},
    )
    svc = imported.data["services"]["app"]
    assert svc["image"] == "app:1.0"
    assert [m["source"] for m in svc["volumes"]] == ["./from-env", "./${literal}", "/x"]
    assert any("not set" in m and "MISSING" in m for m in messages(imported))


def test_non_storage_keys_are_listed_once_and_storage_keys_noted(compose: Compose) -> None:
    """Keys that do not concern storage are listed in one note; storage-related keys
    storsim cannot express (devices, shm_size) and unknown keys each get a note."""
    imported = compose(
        """
        services:
          a: {image: a, ports: ["80:80"], environment: {X: 1}, devices: [/dev/sda], shm_size: 1g}
          b: {image: b, ports: ["81:81"], frobnicate: yes}
        networks: {front: {}}
        """
    )
    text = messages(imported)
    assert any(
        m.startswith("services: keys that do not concern storage")
        and "ports (a, b)" in m
        and "environment (a)" in m
        for m in text
    )
    assert "services.a.devices: host devices are not modelled" in text
    assert any(m.startswith("services.a.shm_size:") for m in text)
    assert "services.b.frobnicate: not a service key storsim knows (ignored)" in text


# --- x-storsim ------------------------------------------------------------------------------


def test_x_storsim_blocks_give_workloads_and_scenario_keys(compose: Compose) -> None:
    """x-storsim blocks are taken as they are: a service's workload (no starter then) and
    the top level's duration, host and sources; other keys there are noted."""
    imported = compose(
        """
        services:
          db:
            image: db
            volumes: ["data:/data"]
            x-storsim:
              workload: {name: mine, path: /data/f, rate: 5/s, ops: [{op: read, size: 4 KiB}]}
              ports: [1]
        volumes: {data: {}}
        x-storsim:
          duration: 5 s
          host: {disk: nvme}
          sources: {data: {files: {/f: 1 MiB}}}
          services: {}
        """
    )
    data = imported.data
    assert data["services"]["db"]["workload"]["name"] == "mine"
    assert (data["duration"], data["host"], data["sources"]) == (
        "5 s",
        {"disk": "nvme"},
        {"data": {"files": {"/f": "1 MiB"}}},
    )
    assert ("duration",) not in imported.comments  # not a guess: the user gave it
    text = messages(imported)
    assert any(m.startswith("services.db.x-storsim.ports: not a service key") for m in text)
    assert any(m.startswith("x-storsim.services: not a scenario key") for m in text)
    result = runs(imported)
    assert set(result.ops["workload"].astype(str)) == {"mine"}


def test_load_compose_runs_a_compose_file_directly(tmp_path: Path) -> None:
    """load_compose gives a validated Scenario that runs (storsim's additions in x-storsim)."""
    path = tmp_path / "compose.yaml"
    path.write_text(
        "services:\n  app:\n    image: app\n    volumes: [data:/data]\n"
        "volumes: {data: {}}\nx-storsim: {duration: 2 s}\n"
    )
    scenario = load_compose(path, environ={})
    assert scenario.duration == 2.0
    assert storsim.simulate(scenario).summary["ops"].sum() > 0


def test_storsim_run_takes_a_compose_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """storsim run compose.yaml imports it in memory, prints what it could not map, and
    runs it; an error in an x-storsim block names the compose file, the scenario's YAML
    path and the block's line."""
    from storsim.cli import main

    path = tmp_path / "compose.yaml"
    path.write_text(
        "x-storsim: {duration: 1 s}\n"
        "services:\n"
        "  db:\n"
        "    image: postgres:16\n"
        "    ports: ['5432:5432']\n"
        "    shm_size: 1g\n"
        "    volumes: [data:/var/lib/db]\n"
        "    x-storsim:\n"
        "      workload:\n"
        "        - path: /var/lib/db/wal\n"
        "          rate: 10/s\n"
        "          ops: [{op: append, size: 1 KiB}]\n"
        "volumes: {data: {}}\n"
    )
    assert main(["run", str(path), "--quiet"]) == 0
    err = capsys.readouterr().err
    assert f"storsim: not mapped: {path}:6: services.db.shm_size: /dev/shm" in err
    assert "starter" not in err
    path.write_text(path.read_text().replace("    x-storsim:\n", "    x-storsim-off:\n"))
    assert main(["run", str(path), "--quiet"]) == 0
    assert (
        f"storsim: not mapped: {path}: services.db: no x-storsim workload: running starter "
        "workloads with guessed numbers (write to /var/lib/db); "
    ) in capsys.readouterr().err
    path.write_text(path.read_text().replace("    x-storsim-off:\n", "    x-storsim:\n"))
    path.write_text(path.read_text().replace("rate: 10/s", "rate: often"))
    assert main(["run", str(path), "--quiet"]) == 2
    assert capsys.readouterr().err == (
        f"{path}:11: services.db.workload[0].rate: must be a rate such as '100/s' or "
        "'5 per ms' (got 'often')\n"
    )


@pytest.mark.parametrize(
    ("name", "text", "compose"),
    [
        ("compose.yaml", "services: {a: {image: a}}", True),
        ("docker-compose.yml", "services: {a: {image: a}}", True),
        ("web.compose.yaml", "services: {a: {image: a}}", True),
        ("s.yaml", "x-storsim: {}\nservices: {a: {image: a}}", True),
        ("s.yaml", "services: {a: {build: .}}", True),
        ("s.yaml", "name: s\nservices: {a: {image: a}}", False),
        ("compose.yaml", "images: {a: {}}\nservices: {a: {image: a}}", False),
    ],
)
def test_what_counts_as_a_compose_file(tmp_path: Path, name: str, text: str, compose: bool) -> None:
    """A file with services and no images is a compose file when its name, an x-storsim
    block or a build: service says so; otherwise it is a scenario (with its own errors)."""
    from storsim.scenario.load import is_compose_file
    from storsim.scenario.text import parse_yaml

    path = tmp_path / name
    path.write_text(text)
    assert is_compose_file(parse_yaml(text), str(path)) is compose
    if not compose and "images" not in text:
        with pytest.raises(ScenarioError, match="images: required key is missing"):
            storsim.load_scenario(path)


def test_compose_line_finds_x_storsim_blocks() -> None:
    """A scenario path is found as it is, in the service's x-storsim block, or in the
    top-level one; the deepest match gives the line."""
    tree = compose_module._parse(
        "services:\n  db:\n    image: x\n    x-storsim:\n      workload:\n        - {}\n"
        "x-storsim:\n  duration: 1\n",
        None,
    )
    assert compose_module.compose_line(tree, "services.db.workload[0].rate") == 6
    assert compose_module.compose_line(tree, "services.db.image") == 3
    assert compose_module.compose_line(tree, "duration") == 8
    assert compose_module.compose_line(tree, "images.x") is None


# --- starters and compare ----------------------------------------------------------------


def test_starters_by_mount_kind_and_compare_sections(compose: Compose) -> None:
    """A writable mount gets append+fsync, a read-only one reads (a placeholder file when
    its content is unknown), every number marked TODO; the first writable path is the
    compare path and the others are listed under x-storsim-compare."""
    imported = compose(
        """
        services:
          app:
            image: app
            volumes: ["ro-data:/ref:ro", "data:/data"]
          plain:
            image: plain
        volumes: {ro-data: {}, data: {}}
        """
    )
    data = imported.data
    [reads, writes] = data["services"]["app"]["workload"]
    assert writes == {
        "name": "starter: write to /data",
        "path": "/data/storsim-starter-{replica}.log",
        "rate": "10/s",
        "ops": [{"op": "append", "size": "4 KiB"}, {"op": "fsync"}],
    }
    assert reads["path"] == "/ref/*"
    assert reads["ops"] == [{"op": "read", "size": "4 KiB"}]
    assert data["sources"]["ro-data"] == {"files": {"/storsim-placeholder.dat": "1 MiB"}}
    assert imported.comments[("services", "app", "workload", 1, "rate")].startswith("TODO")
    assert data["compare"] == {
        "path": "/data",
        "service": "app",
        "choices": ["volume", "local_bind", "writable_layer", "tmpfs"],
    }
    assert data["x-storsim-compare"][0]["path"] == "/ref"
    assert data["x-storsim-compare"][0]["content"] == data["sources"]["ro-data"]
    assert any(n.where == "services.plain" and "no mounts" in n.message for n in imported.notes)
    result = runs(imported)
    assert result.comparison is not None
    assert (result.comparison["errors"] == 0).all()
    assert (result.summary["errors"] == 0).all()


def test_mount_points_are_directories_of_the_stub_image(compose: Compose) -> None:
    """A stub image's layer holds the directories its services mount over, so that the
    compare placement on the writable layer finds them."""
    imported = compose("services: {a: {image: a, volumes: ['v:/var/lib/a', '/tmp/x']}}")
    assert imported.data["images"]["a"]["layers"][-1]["dirs"] == ["/tmp/x", "/var/lib/a"]


def test_yaml_output_loads_and_marks_todos(compose: Compose, tmp_path: Path) -> None:
    """The YAML text has the notes in its header and TODO comments, and loads as written."""
    imported = compose("services: {a: {image: a, read_only: true, volumes: ['v:/v']}}")
    text = imported.to_yaml()
    assert "# Not mapped" in text
    assert "volume 'v' is not declared" in text
    assert imported.data["compare"]["choices"] == ["volume", "local_bind", "tmpfs"]
    assert text.count("TODO") >= 4
    path = tmp_path / "scenario.yaml"
    path.write_text(text)
    assert storsim.load_scenario(path).services["a"].volumes[0].source == "v"


# --- errors ---------------------------------------------------------------------------------


def test_not_a_compose_file_and_broken_yaml_are_errors(tmp_path: Path) -> None:
    """A file without services, or broken YAML, is a ScenarioError naming file and line."""
    path = tmp_path / "compose.yaml"
    path.write_text("version: '3'\n")
    with pytest.raises(ScenarioError, match=r"compose.yaml:1: a compose file needs a services"):
        compose_to_scenario(path)
    path.write_text("services:\n  a: [\n")
    with pytest.raises(ScenarioError, match=r"compose.yaml:\d+: invalid YAML"):
        compose_to_scenario(path)
    with pytest.raises(ScenarioError, match="cannot read"):
        compose_to_scenario(tmp_path / "missing.yaml")


def test_docker_sizes() -> None:
    """Docker's sizes are powers of 1024 with or without b/ib: 64m, 1g, 512kb, 1GiB."""
    assert [ram_in_bytes(v) for v in ("64m", "1g", "512kb", "1GiB", 100, "x")] == [
        64 * 2**20,
        2**30,
        512 * 2**10,
        2**30,
        100,
        None,
    ]
