"""Ctrl-C of a real ``storsim run``: its progress line shows, and SIGINT ends it with one
line and exit code 130, writing nothing."""

from __future__ import annotations

import os
import re
import signal
import threading
from pathlib import Path

from tests.processes import storsim, wait_for, write_long

PROGRESS = re.compile(
    r"^run: [\d.e+-]+ s simulated \(\d+ % of 100000 s\), [\d,]+ operations, \d+ s\n$"
)


def test_ctrl_c_of_a_run(tmp_path: Path) -> None:
    """A run that would take minutes shows its progress (after a second) and, on SIGINT
    to its process group (a terminal's Ctrl-C), exits 130 with ``storsim: interrupted``
    as its only line besides the progress lines; the JSON is not written."""
    json = tmp_path / "r.json"
    lines: list[str] = []
    with storsim(
        "run", str(write_long(tmp_path)), "--json", str(json), "--max-ops", "1e12"
    ) as proc:
        stderr = proc.stderr
        assert stderr is not None
        reader = threading.Thread(target=lambda: lines.extend(stderr), daemon=True)
        reader.start()
        wait_for(lambda: any(PROGRESS.match(line) for line in lines))
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(timeout=120)
        reader.join(timeout=60)
    assert proc.returncode == 130
    assert lines[-1] == "storsim: interrupted\n"
    assert all(PROGRESS.match(line) for line in lines[:-1]), lines
    assert not json.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["long.yaml"]
