"""``storsim init``: write a scenario from the files a user already has.

Like a removal firm's first visit, ``storsim init`` walks through what is there and
writes the inventory: a compose file (its services, mounts and volumes), ``docker
inspect`` / ``docker history`` JSON (containers' real mounts, images' layers) and fio
job files (the I/O to run) become one scenario file, with ``TODO`` on every number it
had to guess and one line on stderr for everything it could not map::

    storsim init compose.yaml [image.json history.json ...] [-o scenario.yaml]
    storsim init container.json image.json history.json -o scenario.yaml
    storsim init randrw.fio -o fio.yaml             # the job on each storage choice
    storsim init compose.yaml randrw.fio --service db   # the job as db's workload

:func:`init_main` is the command; a CLI with subcommands adds it with
``init_parser(subparsers.add_parser("init")).set_defaults(func=run_init)``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import TextIO

from storsim.errors import ScenarioError, StorsimError, printable
from storsim.files import check_outputs, write_atomic
from storsim.interop.common import Imported
from storsim.interop.compose import read_compose
from storsim.interop.fio import FioWorkloads, fio_scenario, load_fio
from storsim.interop.inspect import (
    InspectFile,
    inspect_to_scenario,
    merge_into,
    project_of,
    read_inspect,
)
from storsim.interop.starter import finish

__all__ = ["build_scenario", "init_main", "init_parser", "run_init"]


def init_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    """The arguments of ``storsim init`` (added to ``parser``, e.g. a subcommand's)."""
    if parser is None:
        parser = argparse.ArgumentParser(
            prog="storsim init",
            description="write a scenario from a compose file, docker inspect / history "
            "JSON, or fio job files",
        )
    parser.add_argument(
        "files",
        nargs="+",
        metavar="FILE",
        help="compose.yaml, docker inspect / image inspect / volume inspect / history JSON, "
        "or a fio job file (.fio)",
    )
    parser.add_argument(
        "-o", "--output", metavar="SCENARIO.yaml", help="write here (default: stdout)"
    )
    parser.add_argument("--force", action="store_true", help="overwrite the output file")
    parser.add_argument("--name", help="the scenario's name (default: the compose project's)")
    parser.add_argument(
        "--service",
        help="with a compose file and a fio job file: the service that runs the jobs "
        "(default: the one that mounts the jobs' directory)",
    )
    parser.add_argument(
        "--directory",
        metavar="PATH",
        help="a fio job's directory in the container when it names none (default: /data)",
    )
    return parser


def init_main(
    argv: Sequence[str] | None = None, *, stdout: TextIO | None = None, stderr: TextIO | None = None
) -> int:
    """Run ``storsim init``.

    Args:
        argv: the arguments after ``init``; ``sys.argv[2:]`` when None.
        stdout: where the scenario goes without ``-o`` (default ``sys.stdout``).
        stderr: where the notes go (default ``sys.stderr``).

    Returns:
        0 when the scenario was written, 2 when an input is invalid (one line on stderr).
    """
    args = init_parser().parse_args(list(argv) if argv is not None else sys.argv[2:])
    return run_init(args, stdout=stdout, stderr=stderr)


def run_init(
    args: argparse.Namespace, *, stdout: TextIO | None = None, stderr: TextIO | None = None
) -> int:
    """``storsim init`` with parsed arguments (:func:`init_parser`'s), for a subcommand.

    Returns:
        0 when the scenario was written, 2 when an input is invalid (one line on stderr).
    """
    out = stdout if stdout is not None else sys.stdout
    err = stderr if stderr is not None else sys.stderr
    try:
        if args.output and os.path.exists(args.output) and not args.force:
            raise StorsimError(f"{args.output} exists: give --force to overwrite it")
        check_outputs({"-o": args.output})  # a folder that is missing, a device file...
        imported, sources = build_scenario(
            args.files,
            name=args.name,
            service=args.service,
            directory=args.directory,
            environ=dict(os.environ),
        )
        text = imported.to_yaml()
        for note in imported.notes:
            print(printable(f"storsim init: not mapped: {note}"), file=err)
        if args.output:
            write_atomic(args.output, text)
            todo = text.count("TODO")
            print(
                f"storsim init: wrote {args.output} from {', '.join(sources)}: {todo} TODO "
                f"mark{'s' if todo != 1 else ''} to fill in, then: storsim run {args.output}",
                file=err,
            )
        else:
            out.write(text)
    except StorsimError as error:
        # storsim's one-line form: FILE:LINE: ... stands alone (editors jump to it)
        named = isinstance(error, ScenarioError) and error.file is not None
        print(printable(str(error) if named else f"storsim: {error}"), file=err)
        return 2
    return 0


def _kind(path: str, text: str) -> str:
    """``"fio"``, ``"json"`` or ``"compose"``, from the name and the first line."""
    if path.endswith((".fio", ".ini", ".job")):
        return "fio"
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith(("[", "{")) and (path.endswith((".json", ".jsonl")) or _json(text)):
            return "json"
        if line.startswith("[") and line.endswith("]"):
            return "fio"
        return "compose"
    return "compose"


def _json(text: str) -> bool:
    try:
        json.loads(text)
    except json.JSONDecodeError:
        try:
            json.loads(text.splitlines()[0])
        except (json.JSONDecodeError, IndexError):
            return False
    return True


def build_scenario(
    files: Sequence[str],
    *,
    name: str | None = None,
    service: str | None = None,
    directory: str | None = None,
    environ: dict[str, str] | None = None,
) -> tuple[Imported, list[str]]:
    """The scenario that ``storsim init FILES`` writes, validated.

    Returns:
        ``(imported, names)``: the scenario, and the input files' names.

    Raises:
        ScenarioError: an input cannot be read or mapped, or the scenario does not load.
    """
    composes: list[str] = []
    inspects: list[InspectFile] = []
    fios: list[FioWorkloads] = []
    for path in files:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise ScenarioError(f"cannot read: {exc.strerror}", file=path) from None
        kind = _kind(path, text)
        if kind == "fio":
            fios.append(load_fio(path, directory=directory))
        elif kind == "json":
            inspects.append(read_inspect(path, text))
        else:
            composes.append(path)
    if len(composes) > 1:
        raise ScenarioError(
            f"one compose file at a time (got {', '.join(composes)}): merge them with "
            "docker compose config first",
            file=composes[1],
        )
    if len(fios) > 1:
        raise ScenarioError("one fio job file at a time", file=fios[1].file)
    shown = [PurePosixPath(p).name for p in files]
    if composes:
        imported, origins, project = read_compose(composes[0], environ=environ)
    elif inspects:
        imported, origins, project = Imported({}), {}, project_of(inspects) or "containers"
    elif fios:
        stem = PurePosixPath(fios[0].file or "fio").stem
        imported = fio_scenario(fios[0], name=name or f"fio-{stem}")
        imported.header = _header(shown)
        _validate(imported, files[0])
        return imported, shown
    else:  # argparse requires a file
        raise ScenarioError("nothing to import")
    if inspects:
        parts, aliases, found = inspect_to_scenario(inspects)
        if composes:
            merge_into(imported, parts, aliases)
            origins = {**found, **origins}
        else:
            imported, origins = parts, found
            imported.data.setdefault("services", {})
    if not imported.data.get("services"):
        raise ScenarioError(
            "no service to simulate: give a compose file or docker inspect of a container",
            file=files[0],
        )
    if fios:
        _attach_fio(imported, fios[0], service)
    finish(imported, name=name or project, origins=origins)
    imported.header = _header(shown)
    _validate(imported, files[0])
    return imported, shown


def _header(shown: Sequence[str]) -> list[str]:
    return [
        f"Made by storsim init from {', '.join(shown)}.",
        "Lines marked TODO hold guesses: put in your own numbers, then `storsim run` this file.",
    ]


def _attach_fio(imported: Imported, fio: FioWorkloads, service: str | None) -> None:
    """The fio jobs as one service's workload, their files laid out in its container."""
    services = imported.data["services"]
    dirs = sorted(fio.layout) or sorted(
        {str(PurePosixPath(w["path"]).parent) for w in fio.workloads}
    )
    if service is None:
        owners = [
            s
            for s, svc in services.items()
            if any(
                d == m["target"] or d.startswith(m["target"].rstrip("/") + "/")
                for d in dirs
                for m in svc.get("volumes", [])
            )
        ]
        if len(owners) != 1:
            raise ScenarioError(
                f"which service runs the fio jobs? give --service ({', '.join(services)}); "
                f"{'none' if not owners else 'several'} mount{'s' if len(owners) == 1 else ''} "
                f"{', '.join(dirs)}",
                file=fio.file,
            )
        service = owners[0]
    if service not in services:
        raise ScenarioError(
            f"--service must name a service: {', '.join(services)} (got {service!r})",
            file=fio.file,
        )
    svc = services[service]
    for d in dirs:
        for m in svc.get("volumes", []):
            inside = d == m["target"] or d.startswith(m["target"].rstrip("/") + "/")
            if inside and m.get("read_only") and d in fio.layout:
                raise ScenarioError(
                    f"the fio jobs' files in {d} are on a read-only mount of service {service}",
                    file=fio.file,
                )
    svc["workload"] = fio.workloads
    if fio.layout:
        # fio lays its files out before the jobs start: untimed, as the container's content
        # at creation (the service field prefill, which storsim's placements use too)
        svc["prefill"] = fio.layout
        imported.comments[("services", service, "prefill")] = (
            "the files fio lays out before its jobs"
        )
    imported.notes.extend(fio.notes)


def _validate(imported: Imported, file: str) -> None:
    from storsim.scenario import load_scenario

    try:
        load_scenario(imported.data)
    except ScenarioError as error:
        raise ScenarioError(
            f"the scenario made from it does not load: {error.message}", file=file
        ) from None
