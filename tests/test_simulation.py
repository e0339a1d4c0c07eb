"""End-to-end: scenarios run, results are deterministic, and the headline rules show."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import storsim
from storsim.cli import main, result_json
from storsim.stats import SUMMARY_COLUMNS

SCENARIOS = sorted((Path(__file__).parent.parent / "scenarios").glob("*.yaml"))


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_shipped_scenario_runs(path: Path, tmp_path: Path) -> None:
    """Every shipped scenario runs from the command line and writes its JSON summary."""
    out = tmp_path / "summary.json"
    assert main(["run", str(path), "--json", str(out), "--quiet"]) == 0
    data = json.loads(out.read_text())
    assert data["storage"], "a scenario that exercises no storage choice"
    for choice, row in data["storage"].items():
        assert choice in storsim.STORAGE_CHOICES
        assert set(row) == {
            "ops", "latency_ms", "throughput_ops_s", "bytes_read", "bytes_written",
            "copy_ups", "copy_up_bytes", "errors", "data_lost_bytes", "conflicts", "lifecycle",
        }  # fmt: skip


def test_same_seed_same_bytes(tmp_path: Path) -> None:
    """The same scenario and seed give byte-identical JSON; another seed differs."""
    path = str(SCENARIOS[0].parent / "ch06-lab.yaml")
    outs = []
    for i, seed in enumerate(["1", "1", "2"]):
        out = tmp_path / f"{i}.json"
        assert main(["run", path, "--seed", seed, "--json", str(out), "--quiet"]) == 0
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]
    assert outs[0] != outs[2]


def test_ch06_lab_semantics() -> None:
    """The lab: the read-only config refuses writes, the bind hides the image's config,
    the writable layer's log is lost at rm, and the volume's database is not."""
    result = storsim.simulate(storsim.load_scenario(SCENARIOS[0].parent / "ch06-lab.yaml"))
    ops = result.ops
    config_writes = ops[(ops["workload"] == "try to change the config (read-only)")]
    assert set(config_writes["outcome"]) == {"EROFS"}
    assert set(config_writes["storage"]) == {"local_bind"}
    config = result.mounts[result.mounts["target"] == "/app/config"]
    assert config["container"].tolist() == ["todo-1", "todo-1"]  # run, rm, run again
    assert config["hidden_entries"].tolist() == [2, 2]  # the image's config.json, logging.json
    rm = result.events[result.events["action"] == "rm"]
    assert len(rm) == 1
    assert rm["storage"].iloc[0] == "writable_layer"
    assert rm["data_lost_bytes"].iloc[0] > 0  # the request log in the writable layer
    summary = result.summary.set_index("storage")
    assert summary.loc["volume", "data_lost_bytes"] == 0
    assert summary.loc["writable_layer", "data_lost_bytes"] == rm["data_lost_bytes"].iloc[0]
    assert summary.loc["volume", "errors"] == 0
    assert list(result.summary.columns) == list(SUMMARY_COLUMNS)


def test_copy_up_happens_once_per_container(tiny: dict[str, Any]) -> None:
    """Three 4 KiB writes to a 64 MiB image file: the first copies 64 MiB up, later ones don't."""
    tiny["services"]["web"]["deploy"] = {"replicas": 2}
    result = storsim.simulate(storsim.load_scenario(tiny))
    writes = result.ops[result.ops["op"] == "write"].sort_values(["container", "t_start_s"])
    per = writes.groupby("container", observed=True)["copy_up_bytes"].apply(list).to_dict()
    assert per == {"web-1": [64 * 2**20, 0, 0], "web-2": [64 * 2**20, 0, 0]}
    assert set(writes["storage"]) == {"writable_layer"}
    first, later = writes["latency_s"].iloc[0], writes["latency_s"].iloc[1]
    assert first > 100 * later  # the copy-up dominates the first write


def test_copy_up_time_grows_with_file_size(tiny: dict[str, Any]) -> None:
    """The first write's latency grows about linearly with the lower file's size."""
    latencies = []
    for size in ("16 MiB", "64 MiB", "256 MiB"):
        tiny["images"]["app"]["layers"][0]["files"]["/data/big.db"] = size
        ops = storsim.simulate(storsim.load_scenario(tiny)).ops
        latencies.append(ops[ops["op"] == "write"]["latency_s"].iloc[0])
    assert latencies[0] < latencies[1] < latencies[2]
    assert latencies[2] / latencies[1] == pytest.approx(4, rel=0.15)


def test_volume_placement_avoids_copy_up(tiny: dict[str, Any]) -> None:
    """Compared placements: on a volume the same writes copy nothing up."""
    tiny["compare"] = {"path": "/data", "choices": ["image_layer", "volume", "tmpfs"]}
    result = storsim.simulate(storsim.load_scenario(tiny))
    assert result.comparison is not None
    comp = result.comparison.set_index("placement")
    assert comp.loc["image_layer", "copy_up_bytes"] == 64 * 2**20
    assert comp.loc["volume", "copy_up_bytes"] == 0
    assert comp.loc["tmpfs", "copy_up_bytes"] == 0
    assert comp.loc["volume", "mean_ms"] < comp.loc["image_layer", "mean_ms"]


def test_result_json_matches_summary(tiny: dict[str, Any]) -> None:
    """The JSON has one entry per summary row with the same numbers."""
    result = storsim.simulate(storsim.load_scenario(tiny))
    data = result_json(result)
    assert list(data["storage"]) == result.summary["storage"].tolist()
    row = result.summary.iloc[0]
    entry = data["storage"][row["storage"]]
    assert entry["ops"] == row["ops"]
    assert entry["latency_ms"]["p99"] == pytest.approx(row["p99_ms"])


def test_bad_scenario_exits_2_with_one_line(tmp_path: Path, capsys: Any) -> None:
    """A broken scenario: exit code 2, one line on stderr, no output file written."""
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nimages: {}\nservices: {}\n")
    out = tmp_path / "out.json"
    assert main(["run", str(bad), "--json", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith(f"{bad}:2: images: must have at least 1 item")
    assert not out.exists()


def test_schema_command(capsys: Any) -> None:
    """`storsim schema` prints a JSON Schema."""
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["title"] == "storsim scenario"


def test_ops_frame_columns(tiny: dict[str, Any]) -> None:
    """Every operation record has the documented columns."""
    ops = storsim.simulate(storsim.load_scenario(tiny)).ops
    assert isinstance(ops, pd.DataFrame)
    assert list(ops.columns) == [
        "t_start_s", "t_end_s", "container", "service", "workload", "op", "path", "storage",
        "nbytes", "outcome", "copied_up", "copy_up_bytes", "layers_visited",
        "lost_updates", "lost_records", "torn", "stale", "lock_wait_s", "latency_s",
    ]  # fmt: skip


def test_concurrent_writers_wait_for_the_one_copy_up(tiny: dict[str, Any]) -> None:
    """Two threads write a 64 MiB image file at the same instant: one copies it up, and the
    other waits for that copy-up (the kernel's per-inode copy-up lock) instead of writing
    to a file that is not there yet."""
    tiny["services"]["web"]["workload"][0].update(threads=2, count=2)
    ops = storsim.simulate(storsim.load_scenario(tiny)).ops
    writes = ops[ops["op"] == "write"].sort_values("t_end_s")
    copier = writes[writes["copy_up_bytes"] > 0]
    assert len(copier) == 1
    other_first = writes[(writes["copy_up_bytes"] == 0) & (writes["t_start_s"] == 0.0)]
    assert len(other_first) == 1
    assert other_first["t_end_s"].iloc[0] >= copier["t_end_s"].iloc[0] - 1e-3


def test_summary_mode_cli(tmp_path: Path, capsys: Any) -> None:
    """--ops summary prints the same operation count, and refuses --report (exit 2)."""
    path = str(SCENARIOS[0].parent / "ch06-lab.yaml")
    assert main(["run", path, "--ops", "summary"]) == 0
    summary_out = capsys.readouterr().out
    assert main(["run", path]) == 0
    assert summary_out.splitlines()[0] == capsys.readouterr().out.splitlines()[0]
    report = tmp_path / "r.html"
    assert main(["run", path, "--ops", "summary", "--report", str(report)]) == 2
    assert "--report plots every operation" in capsys.readouterr().err
    assert not report.exists()


@pytest.mark.parametrize("name", ["copy-up", "layer-depth"])  # with and without a duration
def test_progress_changes_nothing(
    name: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Running in slices to show progress gives the same operations, summary, comparison
    and end time as one run, and the progress line says where the run is."""
    import storsim.guard as guard
    import storsim.simulation as simulation

    scenario = storsim.load_scenario(Path(__file__).parent.parent / "scenarios" / f"{name}.yaml")
    assert (scenario.duration is None) == (name == "layer-depth")
    plain = storsim.simulate(scenario)
    assert capsys.readouterr().err == ""  # no progress unless asked
    monkeypatch.setattr(simulation, "_QUIET_S", 0.0)  # show it at once,
    monkeypatch.setattr(guard, "STEPS_PER_LOOK", 97)  # after every few events
    sliced = storsim.simulate(scenario, progress=True)
    assert sliced.sim_time_s == plain.sim_time_s
    pd.testing.assert_frame_equal(sliced.ops, plain.ops)
    pd.testing.assert_frame_equal(sliced.summary, plain.summary)
    pd.testing.assert_frame_equal(sliced.events, plain.events)
    if plain.comparison is not None:
        pd.testing.assert_frame_equal(sliced.comparison, plain.comparison)
    err = capsys.readouterr().err
    assert "run: " in err
    assert " s simulated" in err
    assert " operations, " in err
    if scenario.duration is not None:
        assert f"% of {scenario.duration:g} s)" in err
