"""Hostile values are refused at load time, each with its line and the rule it breaks.

Every case here once reached the run and failed there (issue 11): an OverflowError, a
negative size, a KeyError from a path template, a ValueError from the file-system
model. A run that starts has a valid scenario.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

import storsim
from storsim.errors import ScenarioError
from storsim.scenario import load_scenario
from storsim.scenario.overrides import apply_overrides

W0 = "services.web.workload[0]"
L0 = "images.app.layers[0]"

REFUSED = [
    # numbers: finite, in range, the range in the message
    ({"host.page_cache": 10**400}, r"host\.page_cache: must be a size from 0 B to 8 PiB"),
    ({"host.disk.read_bandwidth": 0}, r"read_bandwidth: must be a bandwidth from 1 B/s"),
    ({"host.disk.write_bandwidth": "0 MB/s"}, r"write_bandwidth: must be a bandwidth from"),
    ({f"{L0}.files": {"/a": "1e30"}}, r'files\["/a"\]: must be a size from 0 B to 8 PiB'),
    ({f"{W0}.ops[0].size": {"dist": "lognormal", "median": "1e308"}}, r"size\.median: must be"),
    (
        {f"{W0}.ops[0].size": {"dist": "lognormal", "median": "1 TiB", "sigma": 3}},
        r"median \* e\^\(8 \* sigma\) must be at most 8 PiB.*\(got median 1099511627776, sigma 3",
    ),
    ({f"{W0}.ops[0].size": {"dist": "exponential", "mean": "1 PiB"}}, r"mean \* 40 must be"),
    ({"duration": -0.0}, r"^F:\d+: duration: must be > 0 \(got -0\.0\)$"),
    ({"duration": "0 s"}, r"duration: must be > 0"),
    ({f"{W0}.duration": 0}, r"workload\[0\]\.duration: must be > 0"),
    ({f"{W0}.count": 2**60}, r"count: must be <= 9007199254740992"),
    ({f"{W0}.zipf_s": ".inf"}, r"zipf_s: must be"),
    ({f"{W0}.zipf_s": float("inf")}, r"zipf_s: "),
    (
        {
            "images.app.layers[0].generate": [
                {
                    "dir": "/g",
                    "count": 2,
                    "size": {"dist": "lognormal", "median": 1, "sigma": float("nan")},
                }
            ]
        },
        r"sigma: ",
    ),
    ({"seed": 2**64}, r"seed: must be <= 9223372036854775807"),
    ({f"{W0}.rate": "1e12/s", f"{W0}.threads": None}, r"rate: must be a rate above 0/s and"),
    # paths: absolute, not "/" where that is meaningless, no NUL, at most PATH_MAX
    ({f"{W0}.path": "data/big.db"}, r"workload\[0\]\.path: must be an absolute path, glob or"),
    ({f"{W0}.ops[0].path": "rel/{i}"}, r"ops\[0\]\.path: must be an absolute path"),
    ({f"{L0}.files": {"/": 1}}, r"must name a path below '/' \(the root itself cannot be one\)"),
    ({f"{L0}.files": {"/..": 1}}, r"must name a path below '/'"),
    ({f"{L0}.delete": ["//"]}, r"delete\[0\]: must name a path below '/'"),
    ({f"{L0}.opaque": ["/"]}, r"opaque\[0\]: must name a path below '/'"),
    ({"services.web.volumes": ["data:/.."]}, r"volumes\[0\]: must name a path below '/'"),
    ({"services.web.tmpfs": "/"}, r"tmpfs(\[0\])?: must name a path below '/'"),
    ({"compare": {"path": "/", "choices": ["volume"]}}, r"compare\.path: must name a path below"),
    ({f"{L0}.files": {"/a\x00b": 1}}, r"must not contain a NUL character"),
    ({f"{L0}.files": {"/" + "d/" * 2100: 1}}, r"must be shorter than 4096 bytes \(PATH_MAX\)"),
    ({f"{L0}.symlinks": {"/l": ""}}, r'symlinks\["/l"\]: must be a non-empty path'),
    # templates: only the fields workloads fill in, no attribute or index access
    (
        {f"{W0}.path": "/x/{nope}"},
        r"only the template fields \{i\}, \{thread\}, .*\(got \{nope\}\)",
    ),
    ({f"{W0}.path": "/x/{__class__}"}, r"\(got \{__class__\}\)"),
    ({f"{W0}.path": "/x/{i[0]}"}, r"\(got \{i\[0\]\}\)"),
    ({f"{W0}.path": "/x/{i.real}"}, r"\(got \{i\.real\}\)"),
    ({f"{W0}.path": "/x/{"}, r"balanced braces \(Single '\{' encountered"),
    ({f"{W0}.path": "/x/}"}, r"balanced braces \(Single '\}' encountered"),
    ({f"{W0}.path": "/x/{}"}, r"\(got \{\}\)"),
    (
        {f"{W0}.path": "/x/{i:>999999999}"},
        r"as an integer, such as \{i:04d\} \(got \{i:>999999999\}\)",
    ),
    ({f"{W0}.path": "/x/{i!r}"}, r"\(got \{i!r:\}\)"),
    ({f"{W0}.path": "/x/{i:{thread}}"}, r"as an integer"),
    ({f"{W0}.ops[0]": {"op": "rename", "to": "/y/{run"}}, r"ops\[0\]\.to: must be a template"),
    # names: exact, the invisible character shown
    (
        {"services.web.lifecycle": [{"at": 0, "action": "run\u200b"}]},
        r"lifecycle\[0\]\.action: must be one of 'run', 'stop', 'start' or 'rm' "
        r"\(got 'run\\u200b'\)",
    ),
    ({f"{W0}.ops[0].op": "write\x00"}, r"ops\[0\]\.op: must be one of .*\(got 'write\\x00'\)"),
    # cross-checks against the device profiles
    (
        {"host.remotes": {"nas": {"profile": "nfs", "attr_cache_min": "2 min"}}},
        r"attr_cache_min must be <= attr_cache_max \(got 120 s > 60 s; profile nfs: 3 s to 60 s\)",
    ),
    ({"services.web.x-prefill": {"/data": {}}}, r"x-prefill: x-prefill is storsim's own key"),
    # a folio is a power-of-two number of pages (mm/filemap.c)
    (
        {"host.max_folio": "12 KiB"},
        r"host\.max_folio: must be a power of two of at least 4096 bytes \(got 12288\)",
    ),
    ({"host.max_folio": 2048}, r"host\.max_folio: must be a power of two .*\(got 2048\)"),
    # generated layers: no more copies than the kernel stacks, nor than overlay2 mounts
    ({f"{L0}.repeat": 10**12}, r"layers\[0\]\.repeat: must be <= 500 \(got 1000000000000\)"),
    ({f"{L0}.repeat": 0}, r"layers\[0\]\.repeat: must be >= 1 \(got 0\)"),
    (
        {"images.app.layers": [{"repeat": 500}] * 3},
        r"images\.app\.layers: must stack at most 500 layers, repeats included, .*\(got 1500\)",
    ),
    (
        {f"{L0}.repeat": 200},
        r"images\.app\.layers: must have at most 128 layers, overlay2's limit .*\(got 201\)",
    ),
]


@pytest.mark.parametrize(("overrides", "pattern"), REFUSED)
def test_hostile_values_are_refused_at_load_time(
    tiny: dict[str, Any], write_yaml: Any, overrides: dict[str, Any], pattern: str
) -> None:
    """Each hostile value, written into a file, is one printable line FILE:LINE: path:
    rule (got VALUE), raised by load_scenario."""
    _assert_refused(tiny, write_yaml, overrides, pattern)


def _assert_refused(
    tiny: dict[str, Any], write_yaml: Any, overrides: dict[str, Any], pattern: str
) -> None:
    """Write the scenario with ``overrides`` into a file: loading it is one printable
    line ``F:LINE: ...`` (F the file) that matches ``pattern``."""
    apply_overrides(tiny, overrides)
    path = write_yaml(tiny)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    text = str(info.value).replace(str(path), "F")
    assert re.match(r"F:\d+: ", text), text
    assert text.isprintable(), text
    assert re.search(pattern, text), text


ACCEPTED = [
    {f"{W0}.path": "/data/{i:04d}-{thread}-{replica}-{run}-{start}.db"},
    {f"{W0}.path": "/data/{{literal}}"},
    {f"{W0}.path": "/data/x/../big.db"},
    {f"{W0}.path": "/"},  # stat and readdir of the root are meaningful
    {f"{W0}.ops[0].size": "8 PiB", f"{W0}.count": 1},  # valid, though over the budget
    {f"{W0}.ops[0].size": {"dist": "lognormal", "median": "1 MiB", "sigma": 2.5}},
    {f"{W0}.duration": "1e9 s"},
    {f"{L0}.dirs": ["/"]},
    {f"{L0}.symlinks": {"/l": "../relative/target"}},
]


@pytest.mark.parametrize("overrides", ACCEPTED)
def test_sound_values_near_the_edges_load(tiny: dict[str, Any], overrides: dict[str, Any]) -> None:
    """Values at the edges of the rules (every template field, escaped braces, the
    largest size, a root directory entry) are valid."""
    apply_overrides(tiny, overrides)
    load_scenario(tiny)


TREES = [
    (
        {f"{L0}.files": {"/etc/base.conf": 1, "/etc/base.conf/x": 1}},
        r"/etc/base\.conf/x must not be below /etc/base\.conf, which is a file",
    ),
    (
        {f"{L0}.dirs": ["/etc/base.conf"]},
        r"/etc/base\.conf must be given once, not as a directory and a file",
    ),
    ({f"{L0}.delete": ["/etc/base.conf"]}, r"given once, not as a file and a whiteout"),
    ({f"{L0}.opaque": ["/etc/base.conf"]}, r"given once, not as a directory and a file"),
    (
        {f"{L0}.symlinks": {"/etc": "/x"}},
        r"/etc/base\.conf must not be below /etc, which is a symlink",
    ),
    (
        {f"{L0}.generate": [{"dir": "/etc/base.conf/g", "count": 3}]},
        r"/etc/base\.conf is a file, but generate\[0\] puts files below it",
    ),
    (
        {
            f"{L0}.generate": [{"dir": "/etc", "count": 3, "prefix": "x"}],
            f"{L0}.dirs": ["/etc/x000001"],
        },
        r"/etc/x000001 is a directory, but generate\[0\] makes a file",
    ),
    (
        {
            f"{L0}.generate": [{"dir": "/g", "count": 300, "fanout": 100}],
            f"{L0}.files": {"/g/d0002/f000250/x": 1},
        },
        r"must not be below a file that generate\[0\] makes",
    ),
    (
        {f"{L0}.generate": [{"dir": "/g", "count": 3}, {"dir": "/g/f000001/h", "count": 1}]},
        r"generate\[1\] must not put files where generate\[0\] makes a file",
    ),
    (
        {"sources": {"data": {"files": {"/a": 1, "/a/b": 2}}}},
        r"sources\.data: /a/b must not be below /a, which is a file",
    ),
    (
        {"sources": {"data": {"symlinks": {"/a": "b"}, "dirs": ["/a/c"]}}},
        r"/a/c must not be below /a, which is a symlink",
    ),
    (
        {"services.web.volumes": ["data:/etc/base.conf"]},
        r"volumes\[0\]: cannot mount on /etc/base\.conf: "
        r"the image has /etc/base\.conf, a file there",
    ),
    (
        {"services.web.volumes": ["./src:/data/big.db/x"]},
        r"cannot mount on /data/big\.db/x: the image has /data/big\.db, a file",
    ),
    ({"services.web.tmpfs": ["/app/main.py"]}, r"tmpfs\[0\]: cannot mount on /app/main\.py"),
    (
        {"images.app.volumes": ["/etc/base.conf"]},
        r"images\.app\.volumes\[0\]: cannot mount on /etc/base\.conf",
    ),
    (
        {
            "sources": {"data": {"files": {"/x": 1}}},
            "services.web.volumes": ["data:/m", "./b:/m/x/y"],
        },
        r"volumes\[1\]: cannot mount on /m/x/y: the volume mount at /m has /m/x, a file",
    ),
    (
        {"compare": {"path": "/etc/base.conf", "choices": ["writable_layer"]}},
        r"compare\.path: cannot place /etc/base\.conf on another storage: in service web, "
        r"the image has /etc/base\.conf, a file",
    ),
    (
        {
            "compare": {"path": "/m", "choices": ["volume"], "content": {"files": {"/x": 1}}},
            "services.web.volumes": ["./b:/m/x"],
        },
        r"compare\.content: has /x, a file where service web mounts /m/x",
    ),
]


@pytest.mark.parametrize(("overrides", "pattern"), TREES)
def test_trees_are_checked_before_anything_is_built(
    tiny: dict[str, Any], write_yaml: Any, overrides: dict[str, Any], pattern: str
) -> None:
    """Entries below a file, a path given twice in a layer, a population below a file, a
    mount on a file of the image or of the mount above: refused at load time (the
    file-system model would raise during the run)."""
    _assert_refused(tiny, write_yaml, overrides, pattern)


SOUND_TREES = [
    {f"{L0}.dirs": ["/etc"], f"{L0}.files": {"/etc/x": 1}},
    {f"{L0}.opaque": ["/etc"], f"{L0}.dirs": ["/etc"]},  # a directory may also be opaque
    {f"{L0}.generate": [{"dir": "/etc", "count": 3, "prefix": "base.con"}]},
    {f"{L0}.generate": [{"dir": "/g", "count": 300}], f"{L0}.files": {"/g/d0001/extra": 1}},
    {"services.web.volumes": ["data:/etc"]},  # a mount over a directory hides it
    {
        "images.app.layers[1].delete": ["/etc/base.conf"],
        "services.web.volumes": ["data:/etc/base.conf"],
    },
    {"images.app.layers[1].files": {"/data": 5}, "images.app.layers[1].delete": []},
    {"compare": {"path": "/data/big.db", "choices": ["image_layer"]}},
    {"sources": {"data": {"dirs": ["/a"], "files": {"/a": 1}}}},  # the file replaces the dir
]


@pytest.mark.parametrize("overrides", SOUND_TREES)
def test_sound_trees_load_and_run(tiny: dict[str, Any], overrides: dict[str, Any]) -> None:
    """Trees the model accepts (a whiteout then a mount there, a population next to a
    listed file, a dir marked opaque) load and run."""
    apply_overrides(tiny, overrides)
    storsim.simulate(load_scenario(tiny), ops="summary")
