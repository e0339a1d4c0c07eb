"""Helpers for tests that run storsim in other processes: a long scenario, the process
tree of a command, and waiting (with a hang guard, never a timed assertion)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parent.parent

#: A scenario that runs for minutes: one thread writing as fast as it can for 1e5 s.
LONG = {
    "name": "long",
    "duration": "100000 s",
    "images": {"app": {"layers": [{"files": {"/data/db": "1 MiB"}}]}},
    "services": {
        "web": {
            "image": "app",
            "workload": [{"path": "/data/db", "threads": 1, "ops": [{"op": "write"}]}],
        }
    },
}


def write_long(folder: Path) -> Path:
    """Write :data:`LONG` to ``folder``; return its path."""
    path = folder / "long.yaml"
    with path.open("w") as handle:
        YAML(typ="safe", pure=True).dump(LONG, handle)
    return path


def environment() -> dict[str, str]:
    """The environment of a child: this source tree first on the path."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    return env


def storsim(*args: str, **options: object) -> subprocess.Popen[str]:
    """Start ``python -m storsim ARGS`` in a new session (its own process group)."""
    return subprocess.Popen(
        [sys.executable, "-m", "storsim", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment(),
        start_new_session=True,
        **options,  # type: ignore[arg-type]
    )


def _parents() -> dict[int, int]:
    out = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            if fields[0] != "Z":  # a zombie has exited
                out[int(entry)] = int(fields[1])
    return out


def descendants(pid: int) -> set[int]:
    """The live processes below ``pid`` (children, grandchildren...)."""
    parents = _parents()
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {p for p, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def alive(pids: set[int]) -> set[int]:
    """Those of ``pids`` still running (not exited, not zombies)."""
    return pids & set(_parents())


def wait_for(condition: Callable[[], object], guard_s: float = 120.0) -> None:
    """Wait until ``condition()`` is true; fail after ``guard_s`` (a hang, not a timing)."""
    deadline = time.monotonic() + guard_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"still waiting after {guard_s} s for {condition}")
        time.sleep(0.1)
