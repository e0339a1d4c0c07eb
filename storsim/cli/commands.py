"""The commands: ``storsim run | sweep | schema | init | calibrate | validate``, their
options, and what each does (init: :mod:`storsim.interop.cli`; calibrate and validate:
:mod:`storsim.calibrate.cli`).

Like a car's controls, each command is one lever: ``storsim run SCENARIO`` simulates a
scenario, ``storsim sweep`` runs it over a grid, ``storsim schema`` prints the file
format, ``storsim init`` writes a scenario from a compose file, docker inspect JSON or
fio job files (:mod:`storsim.interop.cli`). What the commands print is :mod:`storsim.cli.output`.

Exit codes: 0 when the command did its work (warnings included: they are printed, in
the verdict and on stderr when the summary is not printed); 1 when it did but the
results need attention: ``--strict`` and a warning (a scenario that simulates no
operation, a workload that stopped working at its first error, mass errors, a device
that cannot keep up), or a sweep run that failed; 2 when it could not run; 130 after
Ctrl-C.

Every failure is exactly one line on stderr and exit code 2, and nothing is written:

- a scenario error: ``FILE:LINE: yaml.path: what is wrong (got VALUE)`` (``FILE: ...``
  when the file as a whole cannot be read), the form compilers use, so that editors
  jump to the line;
- anything else (an option, an output path, a ``--set`` or ``--grid`` value):
  ``storsim: what is wrong``.

Characters that are not printable are escaped in both. Ctrl-C ends a command within a
second: one line, ``storsim: interrupted``, exit code 130, no output written.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from storsim import __version__
from storsim.budget import DEFAULT_MAX_OPS
from storsim.cli.output import print_summary, print_sweep_summary, result_json, sweep_warnings
from storsim.cli.tables import FORMATS
from storsim.errors import ScenarioError, StorsimError, printable
from storsim.files import check_outputs, output_unit, write_atomic
from storsim.interop.cli import init_parser, run_init
from storsim.interop.fio_json import run_document
from storsim.report import sweep_report, write_report
from storsim.report.verdict import judge
from storsim.scenario import load_scenario, scenario_schema
from storsim.simulation import simulate
from storsim.stats.summary import plain_value
from storsim.sweeps import parse_grid, summarize, sweep

__all__ = ["EXIT_INTERRUPTED", "EXIT_USAGE", "main"]

#: The exit code of every failure: a bad scenario, option or output path.
EXIT_USAGE = 2
#: The exit code after Ctrl-C (128 + SIGINT, as a shell reports it).
EXIT_INTERRUPTED = 130


class _UsageError(Exception):
    """An option argparse refused (raised instead of argparse's usage and exit)."""


class _Parser(argparse.ArgumentParser):
    """argparse, with its errors as one line (not the usage and the message)."""

    def error(self, message: str) -> NoReturn:
        raise _UsageError(message)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line.

    Args:
        argv: arguments without the program name; ``sys.argv[1:]`` when None.

    Returns:
        The exit code: 0 on success, 1 for warnings under ``--strict`` or failed sweep
        runs, 2 for a bad scenario, option or output path, 130 after Ctrl-C (see the
        module docstring).
    """
    try:
        try:
            args = _parser(argv).parse_args(argv)
        except SystemExit as exc:  # --help, --version: argparse printed what was asked
            return int(exc.code or 0) if not isinstance(exc.code, str) else EXIT_USAGE
        if args.command is None:
            raise _UsageError(
                "a command is needed: run, sweep, schema, init, calibrate or validate "
                "(see storsim --help)"
            )
        return int(args.func(args))
    except ScenarioError as error:
        # FILE:LINE: ... stands alone; an error that names no file is storsim's own
        _say(str(error) if error.file is not None else f"storsim: {error}")
        return EXIT_USAGE
    except (StorsimError, _UsageError) as error:
        _say(f"storsim: {error}")
        return EXIT_USAGE
    except KeyboardInterrupt:
        _say("storsim: interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `storsim run x | head`: not an error of ours
        return 0


def _say(line: str) -> None:
    """Write one line to stderr: non-printable characters escaped, so it stays one."""
    sys.stderr.write(printable(line) + "\n")
    sys.stderr.flush()


def _parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    parser = _Parser(
        prog="storsim",
        description="Simulate container storage: where should each path of an app live?",
    )
    parser.add_argument("--version", action="version", version=f"storsim {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = sub.add_parser("run", help="run a scenario and print its summary")
    run.add_argument("scenario", help="scenario YAML file")
    run.add_argument(
        "--host",
        metavar="PROFILE",
        help="a host profile (storsim calibrate's) under the scenario's host: keys",
    )
    run.add_argument(
        "--seed", type=_seed, default=None, help="random seed, >= 0 (default: the file's)"
    )
    _add_set(run, "override a value, e.g. --set services.web.deploy.replicas=4 (repeatable)")
    run.add_argument("--json", metavar="FILE", help="write the summary as JSON ('-' for stdout)")
    run.add_argument(
        "--output-format",
        choices=("storsim", "fio-json"),
        default="storsim",
        help="the layout of the --json document: storsim's (default), or fio's "
        "--output-format=json (per job and storage choice; to stdout without --json)",
    )
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
    _add_max_ops(run)
    run.set_defaults(func=_cmd_run)

    _add_sweep_parser(sub)

    schema = sub.add_parser("schema", help="print the JSON Schema of scenario files")
    schema.set_defaults(func=_cmd_schema)

    init = sub.add_parser(
        "init", help="write a scenario from a compose file, docker inspect JSON or fio jobs"
    )
    init_parser(init).set_defaults(func=run_init)

    # storsim.calibrate's own commands (their options, messages and exit codes there)
    from storsim.calibrate import cli as calibrate_cli

    calibrate = sub.add_parser("calibrate", help="measure this host and fit a host profile")
    calibrate_cli.add_arguments(calibrate)
    calibrate.set_defaults(
        func=lambda a: calibrate_cli.run(a, list(sys.argv[1:] if argv is None else argv))
    )
    validate = sub.add_parser("validate", help="compare a host profile with measurements")
    calibrate_cli.add_validate_arguments(validate)
    validate.set_defaults(func=calibrate_cli.run_validate)
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
        _say(f"storsim: warning: {message}")


def _print_table(table: str) -> None:
    """Print a table built from scenario names: no control sequence reaches the terminal."""
    sys.stdout.write("\n".join(printable(line) for line in table.split("\n")))


def _add_max_ops(parser: argparse.ArgumentParser) -> None:
    """The --max-ops option of the commands that simulate."""
    parser.add_argument(
        "--max-ops",
        type=_count,
        default=DEFAULT_MAX_OPS,
        metavar="N",
        help="the work budget: refuse a scenario estimated to do more operations (files "
        "built and walked included) or to need more memory than 100 bytes per operation "
        f"allowed (default {DEFAULT_MAX_OPS:,}; scientific notation such as 1e9 is fine)",
    )


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value < 2**63:
        raise argparse.ArgumentTypeError(f"must be a whole number from 0 to 2**63-1 (got {text!r})")
    return value


def _count(text: str) -> int:
    """A whole number >= 1, also written as 1e9 or 1_000_000."""
    try:
        number = float(text.replace("_", ""))
        value = int(number) if math.isfinite(number) and number == int(number) else 0
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1 (got {text!r})")
    return value


def _cmd_schema(args: argparse.Namespace) -> int:
    json.dump(scenario_schema(), sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    if args.report and args.ops == "summary":
        raise StorsimError("--report plots every operation: it needs --ops full (the default)")
    fio = args.output_format == "fio-json"
    if fio and args.ops == "summary":
        raise StorsimError("--output-format fio-json needs every operation: --ops full")
    scenario = load_scenario(args.scenario, overrides=args.overrides, host_profile=args.host)
    for note in scenario.import_notes:  # a compose file's: what it says that storsim cannot
        _say(f"storsim: not mapped: {note}")
    json_file = args.json if args.json != "-" else None
    check_outputs({"--json": json_file, "--report": args.report})  # before the long part
    result = simulate(
        scenario, seed=args.seed, ops=args.ops, progress=not args.quiet, max_ops=args.max_ops
    )
    judged = judge(result)
    to_stdout = args.json == "-" or (fio and not args.json)
    to_stdout = to_stdout or (args.format == "json" and not args.quiet)
    text = ""
    if args.json or to_stdout:
        document = (
            run_document(result, max_ops=args.max_ops)
            if fio
            else result_json(result, judged=judged)
        )
        text = json.dumps(document, indent=2) + "\n"
    with output_unit():  # the JSON and the report: both, or neither
        if json_file:
            write_atomic(json_file, text)
        if args.report:
            write_report(result, args.report, judged=judged)
    if to_stdout:
        sys.stdout.write(text)
    if not args.quiet and not to_stdout:
        table = io.StringIO()
        print_summary(result, table, fmt=args.format, judged=judged)
        _print_table(table.getvalue())
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
        "--replications", type=_count, default=1, metavar="R", help="runs per grid point"
    )
    parser.add_argument(
        "--jobs", type=_count, default=None, metavar="N", help="processes (default: all CPUs)"
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
    _add_max_ops(parser)
    parser.set_defaults(func=_cmd_sweep)


def _executor(text: str) -> str:
    if text in ("process", "serial", "dask") or (text.startswith("dask=") and len(text) > 5):
        return text
    raise argparse.ArgumentTypeError(
        f"must be process, serial, dask or dask=ADDRESS (got {text!r})"
    )


def _cmd_sweep(args: argparse.Namespace) -> int:
    scenario = load_scenario(args.scenario, overrides=args.overrides)
    grid = parse_grid(args.grid)
    check_outputs({"--out": args.out, "--report": args.report})
    frame = sweep(
        scenario,
        grid,
        replications=args.replications,
        executor=args.executor,
        jobs=args.jobs,
        progress=not args.quiet,
        out=args.out,
        max_ops=args.max_ops,
    )
    summary = summarize(frame)
    if args.format == "json":
        records = [{k: plain_value(v) for k, v in r.items()} for r in summary.to_dict("records")]
        sys.stdout.write(json.dumps(records, indent=2) + "\n")
    else:
        table = io.StringIO()
        print_sweep_summary(summary, list(grid), table, fmt=args.format)
        _print_table(table.getvalue())
    if args.report:
        sweep_report(frame, args.report, scenario=scenario)
    warnings = sweep_warnings(frame, list(grid))
    _warn(warnings)
    failed = frame[frame["error"].notna()]
    if len(failed):
        first = failed.iloc[0]
        point = ", ".join(f"{p}={first[p]}" for p in grid) or "the scenario"
        _say(
            f"storsim: {len(failed)} of {frame['seed'].nunique()} runs "
            f"failed; first: {point}, seed {first['seed']}: {first['error']}"
        )
        return 1
    return 1 if args.strict and warnings else 0
