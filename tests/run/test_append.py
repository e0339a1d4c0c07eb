"""append and O_CREAT: ``create: true`` (the default) makes a missing file, false is ENOENT."""

from __future__ import annotations

import copy
from typing import Any

import storsim
from tests.conftest import TINY


def _outcomes(path: str, append: dict[str, Any]) -> list[tuple[str, str, int]]:
    data = copy.deepcopy(TINY)
    data["services"]["web"]["workload"] = [
        {
            "path": path,
            "ops": [{"op": "append", "size": 200, **append}, {"op": "stat"}],
            "count": 1,
            "threads": 1,
        }
    ]
    ops = storsim.simulate(storsim.load_scenario(data)).ops
    return [(r.op, r.outcome, int(r.nbytes)) for r in ops.itertuples()]


def test_append_creates_a_missing_file_by_default() -> None:
    """Without create (O_CREAT, as a logger's open), a missing file is made and written."""
    assert _outcomes("/logs/app.log", {}) == [("append", "ok", 200), ("stat", "ok", 0)]
    assert _outcomes("/logs/app.log", {"create": True}) == _outcomes("/logs/app.log", {})


def test_append_without_create_fails_on_a_missing_file_and_makes_none() -> None:
    """create: false is open(2) without O_CREAT: ENOENT (its row keeps the bytes asked
    for, as every failed operation's does) and no file is left behind."""
    assert _outcomes("/logs/app.log", {"create": False}) == [
        ("append", "ENOENT", 200),
        ("stat", "ENOENT", 0),
    ]


def test_append_without_create_writes_to_an_existing_file() -> None:
    """create: false changes nothing for a file that exists (the image's /app/main.py)."""
    assert _outcomes("/app/main.py", {"create": False}) == [
        ("append", "ok", 200),
        ("stat", "ok", 0),
    ]
