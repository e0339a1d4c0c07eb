"""The lookup experiments' order of measurement: every point in every repetition."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from storsim.calibrate.context import Context, Engine, Progress
from storsim.calibrate.lookups import _Stack, _states
from storsim.calibrate.plan import QUICK
from storsim.calibrate.workspace import Workspace


def test_repetitions_are_outermost_and_alternate_direction(tmp_path: Path) -> None:
    """Three points, three repetitions: A B C, then C B A, then A B C, so that a drift
    of the host over the experiment reaches every point alike (no loop file system
    here: plain points are measured warm only, one pass a kind); each point keeps its
    own samples."""
    order: list[str] = []

    def one_pass(root: Path, kind: str) -> list[int]:
        order.append(f"{root.name}:{kind}")
        return [len(order)]

    with Workspace.claim(tmp_path / "w", say=lambda _: None) as ws:
        ctx = Context(
            ws=ws, plan=dataclasses.replace(QUICK, reps=3), engine=Engine(name="python"),
            progress=Progress(1), backing=ws.root, overlay_home=ws.root,
        )  # fmt: skip
        stacks = [_Stack(None, tmp_path / name, one_pass, name) for name in "ABC"]
        _states(ctx, stacks, ("hit", "miss"))
    visits = [entry.split(":")[0] for entry in order[::2]]
    assert visits == list("ABCCBAABC")
    assert order[:2] == ["A:hit", "A:miss"]
    assert stacks[0].out == {"warm": {"hit": [1, 11, 13], "miss": [2, 12, 14]}}
