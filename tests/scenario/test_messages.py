"""Error messages: every broken scenario gets one line, FILE:LINE: yaml.path: rule (got VALUE)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from storsim.errors import ScenarioError
from storsim.scenario import load_scenario
from storsim.scenario.overrides import apply_overrides

ERRORS = [
    (
        {"services.web.deploy.replicas": -1},
        r"^F:\d+: services\.web\.deploy\.replicas: must be >= 0 \(got -1\)$",
    ),
    (
        {"services.web.bogus": 1},
        r"services\.web\.bogus: unknown key 'bogus'; "
        r"valid keys: deploy, image, lifecycle, prefill, read_only, tmpfs, volumes, workload$",
    ),
    (
        {"host.disk": "floppy"},
        r"host\.disk: must be one of nvme, ssd, hdd, tmpfs .*\(got 'floppy'\)",
    ),
    (
        {"services.web.image": "nginx"},
        r"services\.web\.image: must name an image under images: app \(got 'nginx'\)",
    ),
    (
        {"services.web.volumes": ["nope:/x"]},
        r"services\.web\.volumes\[0\]: must use a volume declared",
    ),
    (
        {"services.web.volumes": ["far:/exp:/x"]},
        r"names server 'far', which is not under host\.remotes",
    ),
    (
        {"services.web.workload[0].ops[0].op": "frob"},
        r"ops\[0\]\.op: must be one of 'stat', .*\(got 'frob'\)",
    ),
    ({"services.web.workload[0].ops[0].size": "4 XB"}, r"ops\[0\]\.size: must use a size unit"),
    ({"services.web.workload[0].rate": "fast"}, r"workload\[0\]\.rate: must be a rate such as"),
    ({"services.web.workload[0].count": None}, r"workload\[0\]: needs count or duration"),
    (
        {"services.web.lifecycle": [{"at": 0, "action": "start"}]},
        r"lifecycle\[0\]: cannot start a container that is absent",
    ),
    (
        {"services.web.lifecycle": [{"at": 5, "action": "run"}, {"at": 1, "action": "rm"}]},
        r"lifecycle\[1\]: times must not go backwards",
    ),
    (
        {"host.overlay.max_layers": 1},
        r"images\.app\.layers: must have at most 1 layers.*max depth exceeded.*\(got 2\)",
    ),
    (
        {"sources": {"./elsewhere": {}}},
        r"sources\[\"\./elsewhere\"\]: must name a declared volume or a bind source",
    ),
    ({"images.app.layers[0].files": {"relative": 1}}, r"files\.relative: must be an absolute path"),
    (
        {"compare": {"path": "/data", "choices": ["volume", "volume"]}},
        r"compare\.choices: must not repeat",
    ),
    (
        {"compare": {"path": "/data", "choices": ["distributed_bind"]}},
        r"compare\.choices: distributed_bind needs a server",
    ),
    ({"services.web.workload[0].ops[0]": {"op": "rename"}}, r"ops\[0\]: op rename needs 'to'"),
    (
        {"images.app.layers[0].generate": [{"dir": "/g", "count": 3, "size": {"dist": "weird"}}]},
        r"generate\[0\]\.size: 'dist' must be one of",
    ),
    (
        {"colour": 1},
        r"^F(:\d+)?: colour: unknown key 'colour'; valid keys: compare, description, duration, "
        r"host, images, name, seed, services, sources, volumes$",
    ),
    (
        {"host.disk.colour": 1},
        r"host\.disk\.colour: unknown key 'colour'; valid keys: flush_latency, latency, "
        r"profile, queue_depth, read_bandwidth, read_latency, service, write_bandwidth, "
        r"write_latency$",
    ),
    (  # the valid keys are those of the union member that the tag names
        {
            "images.app.layers[0].generate": [
                {"dir": "/g", "count": 3, "size": {"dist": "lognormal", "median": 1, "colour": 1}}
            ]
        },
        r"size\.colour: unknown key 'colour'; valid keys: dist, median, sigma$",
    ),
]


@pytest.mark.parametrize(("overrides", "pattern"), ERRORS)
def test_errors_name_file_line_path_and_rule(
    tiny: dict[str, Any], write_yaml: Any, overrides: dict[str, Any], pattern: str
) -> None:
    """Each broken scenario file raises one ScenarioError: FILE:LINE: yaml.path: rule (got
    VALUE); the breakage is written into the file (an override's error names no line)."""
    apply_overrides(tiny, overrides)
    path = write_yaml(tiny)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    text = str(info.value).replace(str(path), "F")
    assert "\n" not in text
    assert re.match(r"F:\d+: ", text), text
    assert re.search(pattern, text), text


@pytest.mark.parametrize(("overrides", "pattern"), ERRORS[:12])
def test_errors_of_overridden_values_name_the_override(
    tiny: dict[str, Any], write_yaml: Any, overrides: dict[str, Any], pattern: str
) -> None:
    """A rule broken by a value an override set is the override's error: no file, no line
    (the value is in no line of it), ``override`` and the same path and rule."""
    path = write_yaml(tiny)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, overrides=overrides)
    text = str(info.value)
    if info.value.file is None:
        assert text.startswith("override "), text
        assert re.search(pattern.removeprefix("^F:\\d+: "), text), text
    else:  # the override made a place valid, and a rule of the file's breaks there
        assert re.match(rf"{re.escape(str(path))}:\d+: ", text), text


def test_error_line_points_at_the_offending_value(write_yaml: Any) -> None:
    """The line number is the line of the bad value in the file."""
    path = write_yaml(
        "name: x\n"
        "images:\n"
        "  app:\n"
        "    layers:\n"
        "      - files: {/a: 1 KiB}\n"
        "services:\n"
        "  web:\n"
        "    image: app\n"
        "    deploy:\n"
        "      replicas: many\n"
    )
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert str(info.value) == (
        f"{path}:10: services.web.deploy.replicas: must be a whole number (got 'many')"
    )
    assert info.value.line == 10
    assert info.value.where == "services.web.deploy.replicas"


def test_unknown_key_line_is_the_key_line(write_yaml: Any) -> None:
    """An unknown key is reported at its own line, with the valid keys listed."""
    path = write_yaml(
        "name: x\nimages:\n  app:\n    layers:\n      - files: {}\n        colour: red\n"
        "services:\n  web: {image: app}\n"
    )
    with pytest.raises(ScenarioError, match=r":6: images\.app\.layers\[0\]\.colour: unknown key"):
        load_scenario(path)
