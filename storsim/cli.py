"""The command line: ``storsim run | schema``.

Like a car's dashboard, it shows the few numbers a driver needs and hides the engine:
``storsim run SCENARIO`` prints one row per storage choice; ``--json`` writes the same
numbers for machines. A broken scenario gets one line on stderr and exit code 2;
nothing is written.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from typing import Any, TextIO

import pandas as pd

from storsim import __version__
from storsim.errors import StorsimError
from storsim.files import write_atomic
from storsim.report import write_report
from storsim.scenario import load_scenario, scenario_schema
from storsim.simulation import Result, simulate

__all__ = ["main", "result_json"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line.

    Args:
        argv: arguments without the program name; ``sys.argv[1:]`` when None.

    Returns:
        The exit code: 0 on success, 2 for a bad scenario or usage.
    """
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.func(args))
    except StorsimError as error:
        print(f"storsim: {error}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `storsim run x | head`: not an error of ours
        return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="storsim",
        description="Simulate container storage: where should each path of an app live?",
    )
    parser.add_argument("--version", action="version", version=f"storsim {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = sub.add_parser("run", help="run a scenario and print its summary")
    run.add_argument("scenario", help="scenario YAML file")
    run.add_argument("--seed", type=int, default=None, help="random seed (default: the file's)")
    _add_set(run, "override a value, e.g. --set services.web.deploy.replicas=4 (repeatable)")
    run.add_argument("--json", metavar="FILE", help="write the summary as JSON ('-' for stdout)")
    run.add_argument(
        "--quiet", action="store_true", help="print neither the table nor a progress line"
    )
    run.add_argument(
        "--report", metavar="FILE.html", help="also write a self-contained HTML report"
    )
    run.add_argument(
        "--ops",
        choices=("full", "summary"),
        default="full",
        help="keep every operation (full, default: reports plot them) or streaming totals "
        "only (summary: bounded memory for long runs, percentiles within 0.5%%)",
    )
    run.set_defaults(func=_cmd_run)

    _add_sweep_parser(sub)

    schema = sub.add_parser("schema", help="print the JSON Schema of scenario files")
    schema.set_defaults(func=_cmd_schema)
    return parser


def _add_set(parser: argparse.ArgumentParser, help_text: str) -> None:
    """The --set PATH=VALUE option of the commands that load a scenario."""
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="PATH=VALUE",
        help=help_text,
    )


def _cmd_schema(args: argparse.Namespace) -> int:
    json.dump(scenario_schema(), sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    if args.report and args.ops == "summary":
        raise StorsimError("--report plots every operation: it needs --ops full (the default)")
    scenario = load_scenario(args.scenario, overrides=args.overrides)
    result = simulate(scenario, seed=args.seed, ops=args.ops, progress=not args.quiet)
    if args.json:
        text = json.dumps(result_json(result), indent=2) + "\n"
        if args.json == "-":
            sys.stdout.write(text)
        else:
            write_atomic(args.json, text)
    if args.report:
        write_report(result, args.report)
    if not args.quiet and args.json != "-":
        print_summary(result, sys.stdout)
    return 0


def _add_sweep_parser(sub: Any) -> None:
    sweep = sub.add_parser(
        "sweep", help="run a scenario over a grid of values and print means with 95%% CIs"
    )
    sweep.add_argument("scenario", help="scenario YAML file")
    sweep.add_argument(
        "--grid",
        action="append",
        default=[],
        metavar="PATH=V1,V2,...",
        help="values of one parameter, read as YAML, e.g. "
        "--grid services.web.deploy.replicas=1,2,4 (repeatable: every combination runs)",
    )
    sweep.add_argument(
        "--replications", type=_positive, default=1, metavar="R", help="runs per grid point"
    )
    sweep.add_argument(
        "--jobs", type=_positive, default=None, metavar="N", help="processes (default: all CPUs)"
    )
    sweep.add_argument(
        "--executor",
        type=_executor,
        default=None,
        metavar="process|serial|dask[=ADDRESS]",
        help="a local process pool (default), this process, a Dask LocalCluster, or the "
        "Dask scheduler at ADDRESS",
    )
    sweep.add_argument(
        "--out",
        metavar="FILE",
        help="append each finished run to this JSON-lines file; a rerun skips the runs in it",
    )
    sweep.add_argument("--report", metavar="FILE.html", help="write a self-contained HTML report")
    _add_set(sweep, "override a value of the base scenario (repeatable)")
    sweep.add_argument("--quiet", action="store_true", help="no progress line")
    sweep.set_defaults(func=_cmd_sweep)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1 (got {text!r})")
    return value


def _executor(text: str) -> str:
    if text in ("process", "serial", "dask") or (text.startswith("dask=") and len(text) > 5):
        return text
    raise argparse.ArgumentTypeError(
        f"must be process, serial, dask or dask=ADDRESS (got {text!r})"
    )


def _cmd_sweep(args: argparse.Namespace) -> int:
    # Imported here: `storsim run` should not pay for the sweep machinery.
    from storsim.sweeps import parse_grid, summarize, sweep

    scenario = load_scenario(args.scenario, overrides=args.overrides)
    grid = parse_grid(args.grid)
    frame = sweep(
        scenario,
        grid,
        replications=args.replications,
        executor=args.executor,
        jobs=args.jobs,
        progress=not args.quiet,
        out=args.out,
    )
    summary = summarize(frame)
    print_sweep_summary(summary, list(grid), sys.stdout)
    if args.report:
        from storsim.report import sweep_report

        sweep_report(frame, args.report, scenario=scenario)
    failed = frame[frame["error"].notna()]
    if len(failed):
        first = failed.iloc[0]
        point = ", ".join(f"{p}={first[p]}" for p in grid) or "the scenario"
        print(
            f"storsim: {len(failed)} of {frame['seed'].nunique()} runs "
            f"failed; first: {point}, seed {first['seed']}: {first['error']}",
            file=sys.stderr,
        )
        return 1
    return 0


#: The metrics :func:`print_sweep_summary` shows: (column, heading).
_SWEEP_METRICS = (
    ("ops", "ops"),
    ("mean_ms", "mean ms"),
    ("p50_ms", "p50 ms"),
    ("p99_ms", "p99 ms"),
    ("throughput_ops_s", "ops/s"),
    ("copy_ups", "copy-ups"),
    ("errors", "errors"),
)


def print_sweep_summary(summary: pd.DataFrame, params: Sequence[str], out: TextIO) -> None:
    """Print a :func:`storsim.summarize` table: mean +-95% CI half-width per metric."""
    placement = "placement" in summary.columns
    metrics = [(c, h) for c, h in _SWEEP_METRICS if f"{c}_mean" in summary.columns]
    header = [*params, "storage", *(["placement"] if placement else []), "runs"]
    header += [h for _, h in metrics]
    rows = []
    for r in summary.to_dict("records"):
        row = [str(r[p]) for p in params]
        row.append(_text(r["storage"]))
        if placement:
            row.append(_text(r["placement"]))
        row.append(f"{r['runs']}" + (f" ({r['failed']} failed)" if r["failed"] else ""))
        for column, _ in metrics:
            mean, high = float(r[f"{column}_mean"]), float(r[f"{column}_ci_high"])
            text = _ms(mean) if column.endswith("_ms") else _count(mean)
            half = high - mean
            if math.isfinite(half) and half > 1e-9 * abs(mean):  # not float noise
                text += " ±" + (_ms(half) if column.endswith("_ms") else _count(half))
            row.append(text)
        rows.append(row)
    _table(rows, header, out)


def _text(value: Any) -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)


def _count(x: float) -> str:
    if not math.isfinite(x):
        return "-"
    return f"{x:.0f}" if x == round(x) or abs(x) >= 100 else f"{x:.1f}"


def _num(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "item"):  # numpy scalar
        return _num(value.item())
    return value


def result_json(result: Result) -> dict[str, Any]:
    """The machine-readable summary of a run (the ``--json`` output).

    Returns:
        ``{"scenario", "seed", "sim_time_s", "storage": {CHOICE: {...}}, "mounts",
        "comparison"}``; latencies in ms, NaN as null.
    """
    storage: dict[str, Any] = {}
    errors = result.errors
    for row in result.summary.to_dict("records"):
        choice = row["storage"]
        mine = errors[errors["storage"] == choice]
        storage[choice] = {
            "ops": _num(row["ops"]),
            "latency_ms": {k: _num(row[f"{k}_ms"]) for k in ("mean", "p50", "p95", "p99", "max")},
            "throughput_ops_s": _num(row["throughput_ops_s"]),
            "bytes_read": _num(row["bytes_read"]),
            "bytes_written": _num(row["bytes_written"]),
            "copy_ups": _num(row["copy_ups"]),
            "copy_up_bytes": _num(row["copy_up_bytes"]),
            "errors": {str(e): _num(c) for e, c in zip(mine["errno"], mine["count"], strict=True)},
            "data_lost_bytes": _num(row["data_lost_bytes"]),
            "conflicts": {
                "lost_updates": _num(row["lost_updates"]),
                "torn_writes": _num(row["torn_writes"]),
                "stale_reads": _num(row["stale_reads"]),
                "lock_waits": _num(row["lock_waits"]),
                "lock_wait_ms": {
                    "p50": _num(row["lock_wait_p50_ms"]),
                    "p99": _num(row["lock_wait_p99_ms"]),
                },
                "lock_errors": _num(row["lock_errors"]),
            },
            "lifecycle": {
                "data_lost_bytes": _num(row["data_lost_bytes"]),
                "orphaned_volumes": _num(row["orphaned_volumes"]),
                "orphaned_bytes": _num(row["orphaned_bytes"]),
            },
        }
    out: dict[str, Any] = {
        "scenario": result.scenario.name,
        "seed": result.seed,
        "sim_time_s": _num(result.sim_time_s),
        "storage": storage,
        "mounts": [
            {k: _num(v) for k, v in row.items()} for row in result.mounts.to_dict("records")
        ],
    }
    if result.comparison is not None:
        out["comparison"] = {
            "path": result.scenario.compare.path if result.scenario.compare else None,
            "placements": [
                {k: _num(v) for k, v in row.items()} for row in result.comparison.to_dict("records")
            ],
        }
    return out


# --- the table ------------------------------------------------------------------------------


def _bytes(n: Any) -> str:
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"


def _ms(x: Any) -> str:
    x = float(x)
    if not math.isfinite(x):
        return "-"
    return f"{x:.3f}" if x < 10 else f"{x:.1f}"


def _table(rows: list[list[str]], header: list[str], out: TextIO) -> None:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    line = "  ".join(
        h.ljust(w) if i == 0 else h.rjust(w)
        for i, (h, w) in enumerate(zip(header, widths, strict=True))
    )
    out.write(line + "\n")
    out.write("  ".join("-" * w for w in widths) + "\n")
    for r in rows:
        out.write(
            "  ".join(
                c.ljust(w) if i == 0 else c.rjust(w)
                for i, (c, w) in enumerate(zip(r, widths, strict=True))
            )
            + "\n"
        )


def _summary_rows(df: pd.DataFrame, first: str) -> list[list[str]]:
    rows = []
    for row in df.to_dict("records"):
        rows.append(
            [
                str(row[first]),
                f"{int(row['ops'])}",
                _ms(row["mean_ms"]),
                _ms(row["p50_ms"]),
                _ms(row["p95_ms"]),
                _ms(row["p99_ms"]),
                _ms(row["max_ms"]),
                f"{float(row['throughput_ops_s']):.1f}"
                if math.isfinite(float(row["throughput_ops_s"]))
                else "-",
                _bytes(row["bytes_read"]),
                _bytes(row["bytes_written"]),
                f"{int(row['copy_ups'])}",
                _bytes(row["copy_up_bytes"]),
                f"{int(row['errors'])}",
                _bytes(row["data_lost_bytes"]),
            ]
        )
    return rows


_HEADER = [
    "ops", "mean ms", "p50 ms", "p95 ms", "p99 ms", "max ms", "ops/s",
    "read", "written", "copy-ups", "copied", "errors", "lost",
]  # fmt: skip


_CONFLICT_HEADER = [
    "lost updates", "torn", "stale reads", "lock waits", "wait p50 ms", "wait p99 ms",
    "lock errors", "data lost", "orphaned vols", "orphaned",
]  # fmt: skip


def _conflict_table(df: pd.DataFrame, first: str, out: TextIO) -> None:
    """Conflicts and lifecycle per row, printed only when something happened."""
    cols = ["lost_updates", "torn_writes", "stale_reads", "lock_waits", "lock_errors"]
    cols += ["data_lost_bytes", "orphaned_volumes"]
    if not len(df) or not df[cols].to_numpy().any():
        return
    rows = [
        [
            str(r[first]),
            str(int(r["lost_updates"])),
            str(int(r["torn_writes"])),
            str(int(r["stale_reads"])),
            str(int(r["lock_waits"])),
            _ms(r["lock_wait_p50_ms"]),
            _ms(r["lock_wait_p99_ms"]),
            str(int(r["lock_errors"])),
            _bytes(r["data_lost_bytes"]),
            str(int(r["orphaned_volumes"])),
            _bytes(r["orphaned_bytes"]),
        ]
        for r in df.to_dict("records")
    ]
    out.write("\nconflicts and lifecycle\n\n")
    _table(rows, [first, *_CONFLICT_HEADER], out)


def print_summary(result: Result, out: TextIO) -> None:
    """Print the human-readable summary of a run."""
    s = result.scenario
    out.write(f"{s.name}: seed {result.seed}, {result.sim_time_s:.3f} s simulated, ")
    out.write(f"{int(result.summary['ops'].sum())} operations\n\n")
    _table(_summary_rows(result.summary, "storage"), ["storage", *_HEADER], out)
    _conflict_table(result.summary, "storage", out)
    if result.by_service["service"].nunique() > 1:
        out.write("\nby service\n\n")
        frame = result.by_service.assign(
            label=result.by_service["service"] + " " + result.by_service["storage"]
        )
        _table(_summary_rows(frame, "label"), ["service storage", *_HEADER], out)
    if len(result.errors):
        out.write("\nerrors: ")
        out.write(
            ", ".join(
                f"{r['storage']} {r['errno']} x{r['count']}"
                for r in result.errors.to_dict("records")
            )
        )
        out.write("\n")
    hiding = result.mounts[result.mounts["hidden_entries"] > 0].drop_duplicates(
        ["target", "hidden_entries"]
    )
    for r in hiding.to_dict("records"):
        out.write(
            f"note: the {r['storage']} mount at {r['target']} hides {r['hidden_entries']} "
            f"image entr{'y' if r['hidden_entries'] == 1 else 'ies'} below it\n"
        )
    if result.comparison is not None and s.compare is not None:
        out.write(f"\nwhere should {s.compare.path} live? (operations on that path)\n\n")
        _table(_summary_rows(result.comparison, "placement"), ["placement", *_HEADER], out)
        _conflict_table(result.comparison, "placement", out)
