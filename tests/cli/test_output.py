"""The command line's tables: the verdict first, each unit written one way, columns
aligned, nothing hidden, and every table within an 80-column terminal."""

from __future__ import annotations

import copy
import csv
import dataclasses
import io
import json
import math
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import storsim
from storsim.cli import main, print_summary, print_sweep_summary, result_json
from storsim.cli.tables import Column, Table, render
from storsim.stats.summary import empty_row, errors_table

SCENARIOS = sorted((Path(__file__).resolve().parents[2] / "scenarios").glob("*.yaml"))


def _shown(tiny: dict[str, Any]) -> storsim.Result:
    """A result whose tables hold chosen values: every unit, a conflict, a lost tmpfs."""
    result = storsim.simulate(storsim.load_scenario(tiny))
    quick = empty_row("volume") | {
        "ops": 4, "min_ms": 0.004, "mean_ms": 0.0073, "std_ms": 0.5, "p50_ms": 0.005,
        "p95_ms": 9.9994, "p99_ms": 12.34, "p999_ms": 100.0, "p9999_ms": 200.0,
        "max_ms": 250.0, "throughput_ops_s": 2.25, "bytes_read": 1536, "bytes_written": 2**30,
        "copy_ups": 0, "copy_up_bytes": 0, "errors": 1, "lost_updates": 2, "locks": 3,
        "lock_waits": 1, "lock_wait_p50_ms": 0.25, "lock_wait_p99_ms": 0.25,
    }  # fmt: skip
    idle = empty_row("tmpfs") | {"data_lost_bytes": 3 * 2**20}
    summary = pd.DataFrame([quick, idle])
    mounts = pd.DataFrame(
        {
            "container": ["web-1"] * 2,
            "target": ["/data"] * 2,
            "storage": ["volume"] * 2,
            "source": ["data"] * 2,
            "read_only": [False] * 2,
            "hidden_entries": [1, 1],
        }
    )
    return dataclasses.replace(
        result,
        summary=summary,
        by_service=summary.assign(service="web")[["service", *summary.columns]],
        errors=errors_table([("volume", "EROFS", 1)]),
        mounts=mounts,
        comparison=None,
        ops=result.ops.iloc[0:0],
        ops_mode="summary",
    )


def test_summary_opens_with_the_verdict_and_writes_each_unit_its_way(
    tiny: dict[str, Any],
) -> None:
    """The verdict comes first (its problems and their hints); then milliseconds with 3
    decimals below 10 ms and 1 above, bytes in binary units, a dash for a missing value,
    lock calls apart from operations; conflicts only where something happened, errors and
    hidden image entries on their own lines."""
    out = io.StringIO()
    print_summary(_shown(tiny), out, width=80)
    assert out.getvalue().splitlines() == [
        "tiny: seed 1, 0.294 s simulated, 4 operations and 3 lock calls",
        "",
        "VERDICT: what each storage choice of the run did",
        "",
        "storage  p50 ms  p99 ms  p99.9 ms  ops/s  errors  lost upd  data lost",
        "-------  ------  ------  --------  -----  ------  --------  ---------",
        "volume    0.005    12.3     100.0    2.2       1         2        0 B",
        "tmpfs         -       -         -    0.0       0         0    3.0 MiB",
        "(0 for every storage: copied, lock err, lost rec, torn, stale, orphaned)",
        "",
        "problems: volume loses 2 updates, fails 1 operation; tmpfs loses 3.0 MiB at stop",
        "  volume: loses 2 updates: read-modify-writes overlapped: take a lock (lock:",
        "      flock or fcntl); fails 1 operation: see the errors below",
        "  tmpfs: loses 3.0 MiB at stop: the data goes with the container: keep it on a",
        "      volume",
        "errors: volume EROFS x1 (workloads and paths: run with --ops full)",
        "",
        "storage choices:",
        "  volume  a Docker volume: outlives the container (at /data)",
        "  tmpfs   memory: lost at docker stop",
        "",
        "latency per storage choice (ms)",
        "",
        "storage  ops    min   mean    std    p50    p95   p99  p99.9  p99.99    max",
        "-------  ---  -----  -----  -----  -----  -----  ----  -----  ------  -----",
        "volume     4  0.004  0.007  0.500  0.005  9.999  12.3  100.0   200.0  250.0",
        "tmpfs      0      -      -      -      -      -     -      -       -      -",
        "",
        "operations",
        "",
        "storage  ops  ops/s     read  written  copy-ups  copied  errors  locks",
        "-------  ---  -----  -------  -------  --------  ------  ------  -----",
        "volume     4    2.2  1.5 KiB  1.0 GiB         0     0 B       1      3",
        "tmpfs      0    0.0      0 B      0 B         0     0 B       0      0",
        "",
        "conflicts and lifecycle (lock waits in ms)",
        "",
        "storage  lost upd  waits  wait p50  wait p99  data lost",
        "-------  --------  -----  --------  --------  ---------",
        "volume          2      1     0.250     0.250        0 B",
        "tmpfs           0      0         -         -    3.0 MiB",
        "(0 for every row: lost rec, torn, stale, lock err, orph vols, orphaned)",
        "",
        "note: the volume mount at /data hides 1 image entry below it",
    ]


@pytest.mark.parametrize("stem", [p.stem for p in SCENARIOS])
def test_every_line_fits_an_80_column_terminal(stem: str, shipped_results: dict[str, Any]) -> None:
    """Each shipped scenario's summary fits 80 columns: wide tables are split into blocks
    that repeat the row names, prose is wrapped; the verdict is printed first."""
    out = io.StringIO()
    print_summary(shipped_results[stem], out, width=80)
    lines = out.getvalue().splitlines()
    assert max(len(line) for line in lines) <= 80
    assert lines[2].startswith("VERDICT: ")


def test_a_table_too_wide_for_the_terminal_is_split_in_blocks() -> None:
    """Blocks repeat the naming column; where the names are too wide to repeat, the rows
    are numbered instead."""
    frame = pd.DataFrame({"name": ["a", "b"], **{f"m{i}": [1.0, 2.0] for i in range(8)}})
    columns = [Column("name", "name"), *(Column(f"m{i}", f"metric {i}", "rate") for i in range(8))]
    out = io.StringIO()
    render([Table("", frame, columns)], "table", out, width=40)
    blocks = out.getvalue().split("\n\n")
    assert len(blocks) == 2  # 4 + 8 columns of 8: one space between them, 4 per block
    assert all(block.startswith("name") for block in blocks)
    assert max(len(line) for line in out.getvalue().splitlines()) <= 40
    wide = frame.assign(name=["x" * 30, "y" * 30])
    out = io.StringIO()
    render([Table("", wide, columns)], "table", out, width=40)
    first, *rest = out.getvalue().split("\n\n")
    assert first.startswith("#")
    assert all(b.startswith("#") and "x" * 30 not in b for b in rest)


def test_csv_markdown_and_json_formats(shipped_results: dict[str, Any]) -> None:
    """--format csv writes raw numbers under column names (the verdict's ranks first),
    markdown writes pipe tables, and json the --json document."""
    result = shipped_results["copy-up"]
    out = io.StringIO()
    print_summary(result, out, fmt="csv")
    text = out.getvalue()
    tables = [t for t in text.split("\n\n") if t.strip()]
    verdict = [line for line in tables[0].splitlines() if not line.startswith("#")]
    rows = list(csv.DictReader(verdict))
    assert [r["rank"] for r in rows] == ["1", "2", "3", "4"]
    image = next(r for r in rows if r["placement"] == "image_layer")
    assert float(image["copy_up_bytes"]) == 2 * 512 * 2**20  # raw bytes, not "1.0 GiB"
    assert "description" in text  # the placements' descriptions, as a column
    out = io.StringIO()
    print_summary(result, out, fmt="markdown")
    assert "## Verdict: where should /var/lib/app live?" in out.getvalue()
    assert "| --- | ---: |" in out.getvalue()
    assert json.loads(json.dumps(result_json(result)))["verdict"]["rows"][0]["rank"] == 1


def test_format_json_prints_the_json_document(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`storsim run --format json` prints what --json writes, verdict first."""
    path = str(SCENARIOS[0].parent / "ch06-lab.yaml")
    out = tmp_path / "r.json"
    assert main(["run", path, "--format", "json", "--json", str(out), "--quiet"]) == 0
    assert capsys.readouterr().out == ""  # --quiet: nothing on stdout
    assert main(["run", path, "--format", "json"]) == 0
    printed = capsys.readouterr().out
    assert printed == out.read_text()
    assert next(iter(json.loads(printed))) == "verdict"


def test_strict_turns_warnings_into_exit_code_1(
    tiny: dict[str, Any], write_yaml: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """A scenario that simulates no operation exits 0 with a warning, and 1 with --strict;
    the warning goes to stderr when the verdict is not printed."""
    tiny["services"]["web"]["deploy"] = {"replicas": 0}
    path = str(write_yaml(tiny))
    assert main(["run", path]) == 0
    printed = capsys.readouterr()
    assert "warning: the scenario simulated no operation" in printed.out
    assert main(["run", path, "--quiet", "--strict"]) == 1
    assert "storsim: warning: the scenario simulated no operation" in capsys.readouterr().err
    fine = str(SCENARIOS[0].parent / "copy-up.yaml")
    assert main(["run", fine, "--quiet", "--strict", "--set", "duration=2 s"]) == 0


def test_sweep_summary_shows_mean_and_half_width() -> None:
    """Each metric is its mean and, when the interval is wider than float noise, the half
    width of its 95 % interval; a group of failed runs says so and shows dashes; a
    conflict metric shows once some row has it non-zero."""
    nan = math.nan
    summary = pd.DataFrame(
        {
            "x": [1, 1, 2],
            "storage": ["volume", "tmpfs", None],
            "runs": [3, 3, 2],
            "failed": [0, 0, 2],
            "ops_mean": [10.0, 2.5, nan],
            "ops_ci_low": [8.0, 2.5, nan],
            "ops_ci_high": [12.0, 2.5, nan],
            "mean_ms_mean": [0.5, 12.0, nan],
            "mean_ms_ci_low": [0.4, 11.75, nan],
            "mean_ms_ci_high": [0.6, 12.25, nan],
            "stale_reads_mean": [0.0, 0.0, nan],
            "stale_reads_ci_low": [0.0, 0.0, nan],
            "stale_reads_ci_high": [0.0, 0.0, nan],
        }
    )
    out = io.StringIO()
    print_sweep_summary(summary, ["x"], out, width=80)
    assert out.getvalue().splitlines() == [
        "x  storage  runs            ops       mean ms",
        "-  -------  ------------  -----  ------------",
        "1  volume   3             10 ±2  0.500 ±0.100",
        "1  tmpfs    3               2.5   12.0 ±0.250",
        "2  -        2 (2 failed)      -             -",
    ]
    summary.loc[0, "stale_reads_mean"] = 1.5
    out = io.StringIO()
    print_sweep_summary(summary, ["x"], out, width=80)
    assert out.getvalue().splitlines()[0].endswith("stale")


def test_a_slow_start_up_is_printed_and_in_the_json(tiny: dict[str, Any]) -> None:
    """A container that waited for Docker to fill a new empty volume from the image gets
    a start-up table (when, how long, how much was copied) and a ``startup`` entry in
    the JSON; a run without such a wait prints no table."""
    data = copy.deepcopy(tiny)
    data["images"]["app"]["layers"].append({"files": {"/seed/db": "64 MiB"}})
    data["volumes"]["seed"] = {}
    data["services"]["web"]["volumes"] = ["seed:/seed"]
    result = storsim.simulate(storsim.load_scenario(data))
    (row,) = result_json(result)["startup"]
    assert row["copy_bytes"] == 64 * 2**20
    assert row["startup_ms"] == result.startup["startup_ms"].iloc[0] > 0
    out = io.StringIO()
    print_summary(result, out, width=80)
    text = out.getvalue()
    assert "container start-up (ms)" in text
    assert "64.0 MiB" in text
    plain = io.StringIO()
    print_summary(storsim.simulate(storsim.load_scenario(tiny)), plain, width=80)
    assert "container start-up" not in plain.getvalue()
