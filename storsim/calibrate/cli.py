"""The command line of the measurement half: ``storsim calibrate``.

Like a thermometer's one button, it takes few options: where to work (``--dir``),
which remote directories to include (``--remote``), how long to take (``--quick``) and
where the measurements go (``-o``). A refused directory or bad option gets one line on
stderr and exit code 2; an interrupt cleans up and exits with 128 + the signal number
(130 for Ctrl-C); an experiment that failed (not merely unavailable here) gives 1.

After measuring, it fits the model (:mod:`.fit`) and writes the host profile
(``--profile``, default ``host.yaml`` next to the measurement file); ``--fit FILE`` fits
a saved measurement file without measuring again.

``main(argv)`` is the whole command; ``add_arguments`` and ``run`` let ``storsim``'s own
parser host it as a subcommand.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from pydantic import ValidationError

from storsim.calibrate.fit import fit
from storsim.calibrate.profile import profile_text
from storsim.calibrate.runner import NAMES, calibrate, default_dir, print_summary
from storsim.calibrate.schema import Measurements, load_measurements
from storsim.calibrate.workspace import Interrupted
from storsim.errors import StorsimError
from storsim.files import write_atomic

__all__ = ["add_arguments", "add_validate_arguments", "main", "run", "run_validate"]

DEFAULT_OUTPUT = "storsim-measurements.json"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add calibrate's options to ``parser`` (its own, or a ``storsim`` subparser)."""
    parser.add_argument(
        "--dir",
        type=Path,
        default=None,
        metavar="PATH",
        help="work directory, on the file system to measure: new, empty, or an earlier "
        f"run's (default: {default_dir()})",
    )
    parser.add_argument(
        "--remote",
        action="append",
        default=[],
        metavar="PATH[=PEER]",
        help="a mounted NFS/SMB/FUSE directory to measure (repeatable); PEER: a second "
        "path to the same directory, through which changes are made (staleness)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="fewer and smaller points (CI; under a minute)"
    )
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        default=Path(DEFAULT_OUTPUT),
        metavar="FILE",
        help=f"the measurement file (JSON; default {DEFAULT_OUTPUT})",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        default=None,
        metavar="FILE",
        help="the fitted host profile (YAML; default host.yaml next to the measurement file)",
    )
    parser.add_argument(
        "--fit",
        type=Path,
        default=None,
        metavar="MEASUREMENTS",
        help="measure nothing: fit this saved measurement file into --profile",
    )
    parser.add_argument(
        "--engine",
        choices=("auto", "fio", "python"),
        default="auto",
        help="data-path engine: fio if installed (auto, default), fio, or the Python loop",
    )
    parser.add_argument(
        "--only",
        type=lambda text: [name.strip() for name in text.split(",") if name.strip()],
        default=None,
        metavar="NAME,...",
        help="run only these experiments: " + ", ".join(NAMES),
    )


def run(args: argparse.Namespace, argv: Sequence[str] = ()) -> int:
    """Run calibrate with parsed arguments; returns the exit code."""
    profile = args.profile or args.output.parent / "host.yaml"
    if args.fit is not None:
        try:
            doc = load_measurements(args.fit)
        except (OSError, ValidationError) as error:
            first = str(error).splitlines()[0]
            print(
                f"storsim calibrate: --fit {args.fit}: not a measurement file ({first})",
                file=sys.stderr,
            )
            return 2
        return write_profile(doc, profile, args.fit.name)
    try:
        doc = calibrate(
            directory=args.dir,
            remotes=args.remote,
            quick=args.quick,
            output=args.output,
            engine=args.engine,
            only=args.only,
            argv=list(argv),
        )
    except Interrupted as stop:
        print(
            f"storsim calibrate: interrupted ({stop}): unmounted and removed what it had "
            "made; nothing written",
            file=sys.stderr,
        )
        return 128 + stop.signum
    except StorsimError as error:
        print(f"storsim calibrate: {error}", file=sys.stderr)
        return 2
    print_summary(doc, args.output)
    code = write_profile(doc, profile, args.output.name)
    return code or (1 if any(s.reason.startswith("failed") for s in doc.skipped) else 0)


def write_profile(doc: Measurements, profile: Path, source: str) -> int:
    """Fit ``doc`` and write the profile; 0, or 2 when nothing could be fitted or the
    file not written (one line on stderr)."""
    fitted = fit(doc)
    if not fitted:
        print(
            "storsim calibrate: no parameter could be fitted from these experiments "
            "(the fit needs data_path, lookup, copy_up...); no profile written",
            file=sys.stderr,
        )
        return 0
    try:
        write_atomic(profile, profile_text(fitted, doc, source))
    except (OSError, StorsimError) as error:
        print(f"storsim calibrate: --profile {profile}: {error}", file=sys.stderr)
        return 2
    clamped = [f.row.key for f in fitted if f.clamped]
    print(
        f"calibrate: fitted {len(fitted)} parameters into {profile}"
        + (f" ({', '.join(clamped)} clamped to 0)" if clamped else ""),
        file=sys.stderr,
    )
    return 0


def add_validate_arguments(parser: argparse.ArgumentParser) -> None:
    """Add validate's options to ``parser``."""
    parser.add_argument("profile", type=Path, help="the host profile (storsim calibrate's)")
    parser.add_argument(
        "--measurements",
        type=Path,
        default=None,
        metavar="FILE",
        help="compare with this saved measurement file (default: measure again now)",
    )
    parser.add_argument(
        "--report", type=Path, default=None, metavar="FILE.html", help="also write an HTML report"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="measure with calibrate's quick plan, and fewer simulated repetitions",
    )
    parser.add_argument(
        "--dir",
        type=Path,
        default=None,
        metavar="PATH",
        help="work directory when measuring (as calibrate's --dir)",
    )


def run_validate(args: argparse.Namespace) -> int:
    """``storsim validate``: 0 when it ran (the table says what holds), 2 for a bad
    profile, measurement file or option (one line), 128 + N after signal N."""
    import tempfile

    from storsim.calibrate.validate import print_table, validate, write_validation_report
    from storsim.scenario.profile import read_host_profile, read_profile_fit

    try:
        host = read_host_profile(str(args.profile))
        calibration = read_profile_fit(str(args.profile))
    except StorsimError as error:
        print(f"storsim validate: {error}", file=sys.stderr)
        return 2
    if args.report is not None:
        from storsim.files import check_outputs

        try:
            check_outputs({"--report": str(args.report)})
        except StorsimError as error:
            print(f"storsim validate: {error}", file=sys.stderr)
            return 2
    if args.measurements is not None:
        try:
            doc = load_measurements(args.measurements)
        except (OSError, ValidationError) as error:
            first = str(error).splitlines()[0]
            print(
                f"storsim validate: --measurements {args.measurements}: not a measurement "
                f"file ({first})",
                file=sys.stderr,
            )
            return 2
    else:
        with tempfile.TemporaryDirectory(prefix="storsim-validate-") as scratch:
            try:
                doc = calibrate(
                    directory=args.dir,
                    quick=args.quick,
                    output=Path(scratch) / "measurements.json",
                    argv=["validate", str(args.profile)],
                )
            except Interrupted as stop:
                print(f"storsim validate: interrupted ({stop}): cleaned up", file=sys.stderr)
                return 128 + stop.signum
            except StorsimError as error:
                print(f"storsim validate: {error}", file=sys.stderr)
                return 2
    result = validate(doc, host, calibration, quick=args.quick, progress=sys.stderr)
    print_table(result, sys.stdout)
    if args.report is not None:
        write_validation_report(result, args.report, title=f"storsim validate {args.profile.name}")
        print(f"validate: wrote {args.report}", file=sys.stderr)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``storsim calibrate [--dir PATH] [--remote PATH ...] [--quick] [-o FILE]``.

    Args:
        argv: the arguments after ``calibrate``; ``sys.argv[1:]`` when None.

    Returns:
        0 when the file was written, 1 when an experiment failed (the file lists it),
        2 for a refused directory or bad option, 128 + N after signal N.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(
        prog="storsim calibrate",
        description="Measure this host's container storage (overlayfs copy-up and "
        "lookups, data path, tmpfs, concurrent writers, remote directories) into a "
        "measurement file.",
    )
    add_arguments(parser)
    return run(parser.parse_args(argv), ["calibrate", *argv])


if __name__ == "__main__":
    sys.exit(main())
