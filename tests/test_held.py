"""What held under hostile input, and must keep holding: no host file read, JSON always
valid, the same bytes for the same seed whatever the hash seed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from storsim.cli import result_json
from tests.processes import ROOT, environment

SHIPPED = sorted((ROOT / "scenarios").glob("*.yaml"))

WATCH = """
import os, sys
scenario_file, out = sys.argv[1], sys.argv[2]
import storsim  # imports before the watch: modules are not host files
opened = []
def hook(event, args):
    if event == "open" and isinstance(args[0], (str, bytes)):
        opened.append(os.path.realpath(os.fsdecode(args[0])))
sys.addaudithook(hook)
s = storsim.load_scenario(scenario_file)
r = storsim.simulate(s)
storsim.write_report(r, out)
roots = tuple(os.path.realpath(p) for p in sys.path if p) + (sys.prefix, sys.base_prefix)
print("\\n".join(p for p in opened if not p.startswith(roots)))
"""


def test_bind_sources_on_the_host_are_never_read(tmp_path: Path, write_yaml: Any) -> None:
    """A scenario that binds /etc and ../../../etc into a container is simulated and
    reported without storsim opening anything of the host but the scenario and the
    report: bind sources are names, their content is what ``sources:`` says."""
    scenario = {
        "name": "binds",
        "images": {"app": {"layers": [{"files": {"/app/x": 1}}]}},
        "sources": {"/etc": {"files": {"/passwd": 10}}},
        "services": {
            "web": {
                "image": "app",
                "volumes": ["/etc:/host-etc:ro", "../../../etc:/up-etc"],
                "workload": [
                    {"path": "/host-etc/passwd", "count": 3, "threads": 1, "ops": [{"op": "read"}]},
                    {"path": "/up-etc/*", "count": 3, "threads": 1, "ops": [{"op": "stat"}]},
                ],
            }
        },
    }
    path = write_yaml(scenario)
    report = tmp_path / "r.html"
    done = subprocess.run(
        [sys.executable, "-c", WATCH, str(path), str(report)],
        capture_output=True,
        text=True,
        env=environment(),
        timeout=600,
        check=True,
    )
    opened = set(done.stdout.split())
    assert str(path.resolve()) in opened  # the watch sees what is opened
    allowed = {str(path.resolve()), str(report.resolve().parent)}
    assert {p for p in opened if not p.startswith(tuple(allowed))} == set(), opened
    assert report.exists()


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_json_is_always_valid(path: Path, shipped_results: Any) -> None:
    """Every shipped scenario's --json document is strict JSON: no NaN or Infinity."""

    def refuse(constant: str) -> None:
        raise ValueError(f"{constant} is not JSON")

    text = json.dumps(result_json(shipped_results[path.stem]), allow_nan=False)
    json.loads(text, parse_constant=refuse)


def test_same_seed_same_bytes_across_hash_seeds() -> None:
    """The same scenario and seed give byte-identical --json output in processes with
    different string hash seeds (no result depends on set or dict-of-str order)."""
    scenario = str(ROOT / "scenarios" / "shared-volume-writers.yaml")
    outputs = []
    for hash_seed in ("0", "4242"):
        env = environment() | {"PYTHONHASHSEED": hash_seed}
        done = subprocess.run(
            [sys.executable, "-m", "storsim", "run", scenario, "--json", "-", "--quiet",
             "--set", "duration=5 s"],
            capture_output=True,
            text=True,
            env=env,
            timeout=600,
            check=True,
        )  # fmt: skip
        outputs.append(done.stdout)
    assert outputs[0] == outputs[1]
    assert json.loads(outputs[0])["scenario"] == "shared-volume-writers"
