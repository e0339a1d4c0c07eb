"""The command line of the measurement half: ``storsim calibrate``.

Like a thermometer's one button, it takes few options: where to work (``--dir``),
which remote directories to include (``--remote``), how long to take (``--quick``) and
where the measurements go (``-o``). A refused directory or bad option gets one line on
stderr and exit code 2; an interrupt cleans up and exits with 128 + the signal number
(130 for Ctrl-C); an experiment that failed (not merely unavailable here) gives 1.

``main(argv)`` is the whole command; ``add_arguments`` and ``run`` let ``storsim``'s own
parser host it as a subcommand.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from storsim.calibrate.runner import NAMES, calibrate, default_dir, print_summary
from storsim.calibrate.workspace import Interrupted
from storsim.errors import StorsimError

__all__ = ["add_arguments", "main", "run"]

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
    return 1 if any(s.reason.startswith("failed") for s in doc.skipped) else 0


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
