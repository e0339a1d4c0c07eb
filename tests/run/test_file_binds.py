"""Single-file bind mounts in a scenario: the YAML forms, their load-time rules, and a run
that meets the target's EBUSY."""

from __future__ import annotations

import copy
from typing import Any

import pytest

import storsim
from storsim.errors import ScenarioError
from storsim.records import Recorder
from storsim.run.containers import create
from storsim.run.world import World
from tests.run.conftest import INSTANT

FILE_BINDS: dict[str, Any] = {
    "name": "file binds",
    "duration": "1 s",
    "host": {"remotes": {"nas": {"profile": "nfs"}}},
    "images": {
        "web": {
            "layers": [
                {
                    "files": {"/etc/nginx/nginx.conf": "1 KiB", "/etc/nginx/mime": 40},
                    "dirs": ["/www"],
                }
            ]
        }
    },
    "sources": {
        "./conf": {"files": {"/nginx.conf": "2 KiB", "/site.conf": 300}},
        "./secret.txt": {"file": 30},
        "nas:/exports/app.conf": {"file": 50},
    },
    "services": {
        "web": {
            "image": "web",
            "volumes": [
                "./conf/nginx.conf:/etc/nginx/nginx.conf",
                "./secret.txt:/run/secrets/db:ro",
                "./conf:/srv/conf",
                "nas:/exports/app.conf:/etc/app.conf",
            ],
            "workload": [{"path": "/etc/nginx/nginx.conf", "count": 1, "ops": [{"op": "stat"}]}],
        }
    },
}


def _container(data: dict[str, Any]) -> Any:
    s = storsim.load_scenario(data)
    world = World.build(s, 1, Recorder(), backends=INSTANT)
    run, _, _ = create(world, "web", s.services["web"], 1, "web-1")
    return s, world, run


def test_a_file_of_a_directory_source_and_a_file_source_are_file_binds() -> None:
    """A bind of a file inside a directory source shares that directory's tree (and its
    page-cache key); a ``{file: SIZE}`` source is one file; a remote file is a
    distributed bind; each serves only its target, the image's siblings stay."""
    s, world, run = _container(FILE_BINDS)
    places = s.bind_sources
    assert places["./conf/nginx.conf"].root == "./conf"
    assert places["./conf/nginx.conf"].file
    assert places["./secret.txt"].inner == "/secret.txt"
    assert not places["./conf"].file
    view = run.view
    assert view.stat("/etc/nginx/nginx.conf").size_bytes == 2048
    assert view.stat("/etc/nginx/mime").size_bytes == 40  # the image's sibling
    assert view.stat("/run/secrets/db").size_bytes == 30
    assert view.stat("/etc/app.conf").size_bytes == 50
    assert run.backends["/etc/nginx/nginx.conf"].at.fs is world.binds["./conf"]
    assert run.backends["/etc/nginx/nginx.conf"].at.key == ("bind", "./conf")
    assert run.backends["/srv/conf"].at.key == ("bind", "./conf")
    storages = {m.target: m.storage for m in view.mounts}
    assert storages["/etc/app.conf"] == "distributed_bind"
    assert storages["/run/secrets/db"] == "local_bind"
    view.append("/srv/conf/nginx.conf", 10)  # through the directory's bind
    assert view.stat("/etc/nginx/nginx.conf").size_bytes == 2058
    assert view.readdir("/etc/nginx").names == ("mime", "nginx.conf")


def test_an_atomic_rewrite_of_the_target_fails_ebusy_in_the_results() -> None:
    """Writing a temporary file and renaming it over a file bind's target (``sed -i``)
    fails EBUSY, counted with the errors like any errno."""
    data = copy.deepcopy(FILE_BINDS)
    data["services"]["web"]["workload"] = [
        {
            "path": "/etc/nginx/nginx.conf.tmp",
            "count": 3,
            "threads": 1,
            "ops": [
                {"op": "write", "size": "2 KiB"},
                {"op": "rename", "to": "/etc/nginx/nginx.conf"},
            ],
        }
    ]
    result = storsim.simulate(storsim.load_scenario(data), seed=1)
    errors = result.ops[result.ops["outcome"] != "ok"]
    assert list(errors["outcome"]) == ["EBUSY"] * 3
    assert list(errors["op"]) == ["rename"] * 3
    assert list(errors["storage"]) == ["writable_layer"] * 3  # the renamed file's


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda d: d["services"]["web"]["volumes"].append("./secret.txt:/www"),
            r"services\.web\.volumes\[4\]: cannot mount the file ./secret.txt on /www: "
            r"the image has a directory there",
        ),
        (
            lambda d: d["services"]["web"]["volumes"].append("./conf/site.conf/x:/x"),
            r"services\.web\.volumes\[4\]: source './conf/site.conf/x' is below 'site.conf' of "
            r"'./conf', a file under sources \(not a directory\)",
        ),
        (
            lambda d: d["services"]["web"]["volumes"].append("./secret.txt/x:/x"),
            r"services\.web\.volumes\[4\]: source './secret.txt/x' is below './secret.txt', a "
            r"file under sources",
        ),
        (
            lambda d: (
                d["sources"].update({"./conf/more": {"files": {"/a": 1}}}),
                d["services"]["web"]["volumes"].append("./conf/more:/more"),
            ),
            r"sources\[\"./conf/more\"\]: is inside the bind source './conf'",
        ),
        (
            lambda d: d["sources"]["./secret.txt"].update({"files": {"/a": 1}}),
            r"sources\[\"./secret.txt\"\]: file is a single host file",
        ),
        (
            lambda d: d["services"]["web"]["volumes"].append("./conf:/etc/nginx/nginx.conf/d"),
            r"services\.web\.volumes\[4\]: cannot mount on /etc/nginx/nginx.conf/d: the file "
            r"bind at /etc/nginx/nginx.conf has /etc/nginx/nginx.conf, a file there",
        ),
        (
            lambda d: d.update({"compare": {"path": "/run/secrets/db", "choices": ["volume"]}}),
            r"compare\.path: is the target of the file bind ./secret.txt in service web",
        ),
    ],
)
def test_file_bind_rules_are_one_line_errors_at_load(change: Any, message: str) -> None:
    """Each rule of file binds is refused at load time with the YAML path and the rule."""
    data = copy.deepcopy(FILE_BINDS)
    change(data)
    with pytest.raises(ScenarioError, match=message):
        storsim.load_scenario(data)


def test_a_volume_is_never_a_file() -> None:
    """``file:`` under sources is for a bind source: a volume is a directory."""
    data = copy.deepcopy(FILE_BINDS)
    data["volumes"] = {"data": {}}
    data["sources"]["data"] = {"file": 3}
    with pytest.raises(ScenarioError, match=r"sources\.data: a volume is a directory"):
        storsim.load_scenario(data)
