"""Golden outputs: every shipped scenario's ``--json`` and per-operation rows, pinned.

A change that only moves code (a refactoring) must leave every result as it was, bit
for bit: these files say what "as it was" is. A change of the model changes them on
purpose; then regenerate them and review the diff of the JSON files in the commit::

    python tests/test_golden.py          # rewrites tests/golden/*

Two seeds per scenario: the scenario's own and another one. Besides the JSON summary
(byte for byte), the per-operation frame (``Result.ops``) of the main run is pinned by
a SHA-256 digest of its CSV, so that a change that moves single operations in time is
caught even where the summary's rounding would hide it.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `python tests/test_golden.py` from a source tree
    sys.path.insert(0, str(ROOT))

GOLDEN = Path(__file__).parent / "golden"
SHIPPED = sorted((ROOT / "scenarios").glob("*.yaml"))
SEEDS = (None, 7)  # None: the scenario's own seed


def _name(path: Path, seed: int | None) -> str:
    return f"{path.stem}.seed-{'own' if seed is None else seed}"


def _outputs(path: Path, seed: int | None) -> tuple[str, str]:
    """The ``--json`` text of one run and the digest of its per-operation rows."""
    import storsim
    from storsim.cli import result_json

    result = storsim.simulate(storsim.load_scenario(path), seed=seed)
    text = json.dumps(result_json(result), indent=2) + "\n"
    csv = result.ops.to_csv(index=False, float_format="%.17g")
    return text, hashlib.sha256(csv.encode()).hexdigest() + "\n"


CASES = [(p, s) for p in SHIPPED for s in SEEDS]


@pytest.mark.parametrize(("path", "seed"), CASES, ids=[_name(p, s) for p, s in CASES])
def test_golden_output(path: Path, seed: int | None) -> None:
    """A shipped scenario gives exactly its pinned JSON and per-operation rows."""
    text, digest = _outputs(path, seed)
    name = _name(path, seed)
    expected = (GOLDEN / f"{name}.json").read_text()
    assert text == expected, f"{name}.json changed (regenerate: python tests/test_golden.py)"
    assert digest == (GOLDEN / f"{name}.ops.sha256").read_text(), (
        f"{name}: the per-operation rows changed though the JSON did not"
    )


def test_every_shipped_scenario_is_pinned() -> None:
    """Each shipped scenario has its golden files, and no golden file is left over."""
    expected = {f"{_name(p, s)}{ext}" for p, s in CASES for ext in (".json", ".ops.sha256")}
    assert {f.name for f in GOLDEN.iterdir()} == expected


def regenerate() -> None:
    """Rewrite every golden file from the current model."""
    GOLDEN.mkdir(exist_ok=True)
    for old in GOLDEN.iterdir():
        old.unlink()
    for path, seed in CASES:
        text, digest = _outputs(path, seed)
        (GOLDEN / f"{_name(path, seed)}.json").write_text(text)
        (GOLDEN / f"{_name(path, seed)}.ops.sha256").write_text(digest)
        print(f"wrote {_name(path, seed)}")


if __name__ == "__main__":
    regenerate()
