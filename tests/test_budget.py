"""The work budget: runaway scenarios refused before they run, with the estimate and the
option that allows them; every shipped scenario well within the default."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

import storsim
from storsim import budget
from storsim.errors import RunawayError
from storsim.scenario.overrides import apply_overrides

SHIPPED = sorted((Path(__file__).parent.parent / "scenarios").glob("*.yaml"))
W0 = "services.web.workload[0]"


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_shipped_scenarios_are_well_within_the_default(path: Path, shipped_results: Any) -> None:
    """Each shipped scenario's estimate is under a hundredth of the default budget, and
    close to the operations its run really does: at most a fifth fewer (open loops are
    estimated at their mean rate; Poisson arrivals vary) and at most three times more."""
    scenario = storsim.load_scenario(path)
    found = budget.check(scenario, budget.DEFAULT_MAX_OPS)
    assert found.work < budget.DEFAULT_MAX_OPS / 100
    result = shipped_results[path.stem]
    done = int(result.summary["ops"].sum())
    if result.comparison is not None:
        done += int(result.comparison["ops"].sum())
    assert done / 1.25 <= found.operations <= 3 * done + 1000


RUNAWAYS = [
    # (what, overrides, the estimate's largest part)
    ("count: 10**12", {f"{W0}.count": 10**12, "duration": "1e9 s"}, "iterations"),
    ("duration: 1e9 s", {f"{W0}.count": None, "duration": "1e9 s"}, "iterations"),
    (
        "rate: 1e9/s",
        {f"{W0}.threads": None, f"{W0}.count": None, f"{W0}.rate": "1e9/s", "duration": "1 s"},
        "1e+09",
    ),
    (
        "100,000 threads",
        {f"{W0}.threads": 100_000, f"{W0}.count": None, "duration": "60 s"},
        "iterations",
    ),
    ("a read of 1 TiB", {f"{W0}.ops": [{"op": "read", "size": "1 TiB"}]}, "128 KiB of data"),
    (
        "10 million generated files",
        {"images.app.layers[0].generate": [{"dir": "/g", "count": 10_000_000}]},
        "files built",
    ),
    (
        "a layer of 300,000 files repeated 100 times",
        {
            "images.app.layers[0].generate": [{"dir": "/g", "count": 300_000}],
            "images.app.layers[0].repeat": 100,
        },
        "files built",
    ),
    ("10,000 replicas", {"services.web.deploy": {"replicas": 10_000}}, "random draws"),
    (
        "copy-up of a 1 PiB image file",
        {"images.app.layers[0].files": {"/data/big.db": "1 PiB"}},
        "copy-ups",
    ),
]


@pytest.mark.parametrize(("what", "overrides", "part"), RUNAWAYS, ids=[r[0] for r in RUNAWAYS])
def test_runaway_scenarios_are_refused_with_the_estimate(
    tiny: dict[str, Any], write_yaml: Any, what: str, overrides: dict[str, Any], part: str
) -> None:
    """A scenario over the budget is a RunawayError naming the file and the line of its
    largest part, with the estimate and the --max-ops that allows it, which does."""
    apply_overrides(tiny, overrides)
    path = write_yaml(tiny)
    scenario = storsim.load_scenario(path)
    with pytest.raises(RunawayError) as info:
        storsim.simulate(scenario, ops="summary")
    text = str(info.value)
    assert re.match(rf"{re.escape(str(path))}:\d+: ", text), text
    assert "over the budget" in text
    assert part in text, text
    allowed = int(re.search(r"--max-ops (\d+) \(max_ops=\1 in Python\)", text)[1])  # type: ignore[index]
    found = budget.check(scenario, allowed, ops="summary")
    assert found.work <= allowed


def test_memory_counts_in_full_mode(tiny: dict[str, Any]) -> None:
    """Keeping a row per operation (ops='full') needs memory the summary mode does not:
    a scenario within the budget in summary mode can be refused in full mode."""
    apply_overrides(tiny, {f"{W0}.count": 3_000_000})
    scenario = storsim.load_scenario(tiny)
    summary = budget.estimate(scenario, ops="summary")
    full = budget.estimate(scenario, ops="full")
    assert full.memory_bytes - summary.memory_bytes == pytest.approx(full.operations * 100)
    enough_work = int(full.work) + 1
    budget.check(scenario, enough_work, ops="summary")
    with pytest.raises(RunawayError, match=r"would need about .* GiB of memory.*a row per op"):
        budget.check(scenario, enough_work, ops="full")


def test_no_limit_and_bad_limits(tiny: dict[str, Any]) -> None:
    """max_ops=None allows anything; a budget below 1 is a misuse of the API."""
    apply_overrides(tiny, {f"{W0}.count": 10**12})
    scenario = storsim.load_scenario(tiny)
    assert budget.check(scenario, None).operations >= 10**12
    for bad in (0, -5, True):
        with pytest.raises(ValueError, match="max_ops must be a whole number >= 1"):
            budget.check(scenario, bad)


def test_sweeps_check_every_point_before_running(tiny: dict[str, Any], tmp_path: Path) -> None:
    """A grid point over the budget stops the sweep before any run, naming the point."""
    out = tmp_path / "runs.jsonl"
    scenario = storsim.load_scenario(tiny)
    grid = {f"{W0}.count": [3, 10**12]}
    with pytest.raises(
        RunawayError, match=r"over the budget.*\(grid point .*count=1000000000000\)"
    ):
        storsim.sweep(scenario, grid, executor="serial", out=out, progress=False)
    assert not out.exists() or out.read_text() == ""


def test_a_repeated_layer_is_blamed_at_its_repeat(tiny: dict[str, Any], write_yaml: Any) -> None:
    """The refusal of 100 copies of a layer of 300,000 files names the entry's repeat: line
    (its copies are counted, not one entry's files)."""
    tiny["images"]["app"]["layers"][0] = {
        "generate": [{"dir": "/g", "count": 300_000}],
        "repeat": 100,
    }
    path = write_yaml(tiny)
    scenario = storsim.load_scenario(path)
    found = budget.estimate(scenario, ops="summary")
    assert found.files == 100 * 300_000 + 1  # and the second layer's one file
    with pytest.raises(RunawayError) as info:
        budget.check(scenario, budget.DEFAULT_MAX_OPS, ops="summary")
    assert info.value.where == "images.app.layers[0].repeat"
    assert info.value.line == 8
