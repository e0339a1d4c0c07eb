"""The commands: ``storsim run | sweep | schema``, their options, and what each does.

Like a car's controls, each command is one lever: ``storsim run SCENARIO`` simulates a
scenario, ``storsim sweep`` runs it over a grid, ``storsim schema`` prints the file
format. What the commands print is :mod:`storsim.cli.output`.

Exit codes: 0 when the command did its work (warnings included: they are printed, in
the verdict and on stderr when the summary is not printed); 1 when it did but the
results need attention: ``--strict`` and a warning (a scenario that simulates no
operation, a workload that stopped working at its first error, mass errors, a device
that cannot keep up), or a sweep run that failed; 2 when it could not run: a broken
scenario or bad usage gets one line on stderr, and nothing is written.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from storsim import __version__
from storsim.cli.output import print_summary, print_sweep_summary, result_json, sweep_warnings
from storsim.cli.tables import FORMATS
from storsim.errors import StorsimError
from storsim.files import write_atomic
from storsim.report import sweep_report, write_report
from storsim.report.verdict import judge
from storsim.scenario import load_scenario, scenario_schema
from storsim.simulation import simulate
from storsim.stats.summary import plain_value
from storsim.sweeps import parse_grid, summarize, sweep

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line.

    Args:
        argv: arguments without the program name; ``sys.argv[1:]`` when None.

    Returns:
        The exit code: 0 on success, 1 for warnings under ``--strict`` or failed sweep
        runs, 2 for a bad scenario or usage (see the module docstring).
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
    _add_output_options(run)
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


def _add_output_options(parser: argparse.ArgumentParser) -> None:
    """--format and --strict, for the commands that print results."""
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default="table",
        help="how the printed tables are written: aligned text that fits the terminal "
        "(table, default), csv, markdown, or json (the --json document)",
    )
    parser.add_argument(
        "--strict",
        action="store_true",
        help="exit 1 when there is a warning (no operation simulated, a workload that "
        "stopped at its first error, mass errors, a device that cannot keep up)",
    )


def _warn(messages: Sequence[str]) -> None:
    for message in messages:
        print(f"storsim: warning: {message}", file=sys.stderr)


def _cmd_schema(args: argparse.Namespace) -> int:
    json.dump(scenario_schema(), sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    if args.report and args.ops == "summary":
        raise StorsimError("--report plots every operation: it needs --ops full (the default)")
    scenario = load_scenario(args.scenario, overrides=args.overrides)
    result = simulate(scenario, seed=args.seed, ops=args.ops, progress=not args.quiet)
    judged = judge(result)
    to_stdout = args.json == "-" or (args.format == "json" and not args.quiet)
    if args.json or to_stdout:
        text = json.dumps(result_json(result, judged=judged), indent=2) + "\n"
        if args.json and args.json != "-":
            write_atomic(args.json, text)
        if to_stdout:
            sys.stdout.write(text)
    if args.report:
        write_report(result, args.report, judged=judged)
    if not args.quiet and not to_stdout:
        print_summary(result, sys.stdout, fmt=args.format, judged=judged)
    else:  # the verdict, which lists them, was not printed
        _warn([w.message for w in judged.warnings])
    return 1 if args.strict and judged.warnings else 0


def _add_sweep_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "sweep", help="run a scenario over a grid of values and print means with 95%% CIs"
    )
    parser.add_argument("scenario", help="scenario YAML file")
    parser.add_argument(
        "--grid",
        action="append",
        default=[],
        metavar="PATH=V1,V2,...",
        help="values of one parameter, read as YAML, e.g. "
        "--grid services.web.deploy.replicas=1,2,4 (repeatable: every combination runs)",
    )
    parser.add_argument(
        "--replications", type=_positive, default=1, metavar="R", help="runs per grid point"
    )
    parser.add_argument(
        "--jobs", type=_positive, default=None, metavar="N", help="processes (default: all CPUs)"
    )
    parser.add_argument(
        "--executor",
        type=_executor,
        default=None,
        metavar="process|serial|dask[=ADDRESS]",
        help="a local process pool (default), this process, a Dask LocalCluster, or the "
        "Dask scheduler at ADDRESS",
    )
    parser.add_argument(
        "--out",
        metavar="FILE",
        help="append each finished run to this JSON-lines file; a rerun skips the runs in it",
    )
    parser.add_argument("--report", metavar="FILE.html", help="write a self-contained HTML report")
    _add_set(parser, "override a value of the base scenario (repeatable)")
    parser.add_argument("--quiet", action="store_true", help="no progress line")
    _add_output_options(parser)
    parser.set_defaults(func=_cmd_sweep)


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
    if args.format == "json":
        records = [{k: plain_value(v) for k, v in r.items()} for r in summary.to_dict("records")]
        sys.stdout.write(json.dumps(records, indent=2) + "\n")
    else:
        print_sweep_summary(summary, list(grid), sys.stdout, fmt=args.format)
    if args.report:
        sweep_report(frame, args.report, scenario=scenario)
    warnings = sweep_warnings(frame, list(grid))
    _warn(warnings)
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
    return 1 if args.strict and warnings else 0
