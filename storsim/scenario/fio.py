"""fio workloads: a workload given as a fio job file, expanded before validation.

Like a recipe card slipped into a cookbook, a workload entry ``{fio: jobs/randwrite.fio}``
(a path relative to the scenario file) or ``{fio: |`` followed by the job file's text
stands for the workloads that :mod:`storsim.interop.fio` makes of those jobs: one per
``numjobs`` clone, with the files fio lays out before its jobs added to the service's
``prefill`` (a path the scenario already prefills keeps the scenario's content). The
expansion runs on the scenario's data before pydantic sees it, so every rule of the
format still applies to the workloads made; an option storsim cannot express is refused
as ``FILE:LINE: option 'ioengine=libaio': why`` (the job file's line, or for inline text
the scenario's line).

The jobs are kept (:func:`expand_fio` returns them by service) so that ``storsim run
--output-format fio-json`` names each job, its clones and its options as fio does.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, MutableMapping
from pathlib import Path
from typing import Any

from storsim.errors import ScenarioError
from storsim.scenario.fields import AbsPath, Spec
from storsim.scenario.messages import locate

__all__ = ["FioWorkloadSpec", "expand_fio"]

_KEYS = frozenset({"fio", "directory"})


class FioWorkloadSpec(Spec):
    """A workload given as fio jobs (each ``numjobs`` clone one workload)."""

    fio: str
    """A fio job file, relative to the scenario file (``jobs/randwrite.fio``), or the job
    file's text itself (a block with a ``[job]`` line). Supported: ``rw`` (randread,
    randwrite, randrw with ``rwmixread``), ``bs``, ``size``, ``filename``/``directory``,
    ``numjobs``, ``iodepth``, ``rate_iops``, ``runtime``/``time_based``,
    ``fsync``/``fdatasync``, ``end_fsync``, ``create_on_open``, ``file_append``; any other
    option that changes the I/O is refused with its line."""
    directory: AbsPath | None = None
    """The jobs' directory in the container when a job names none (default ``/data``)."""


def _is_text(value: str) -> bool:
    """Inline job text rather than a file name: it has a line break or a section."""
    return "\n" in value or value.lstrip().startswith("[")


def expand_fio(data: MutableMapping[str, Any], tree: Any, file: str | None) -> dict[str, list[Any]]:
    """Replace each ``{fio: ...}`` workload entry of ``data`` by the workloads it makes.

    Args:
        data: the scenario's plain data (changed in place).
        tree: the YAML tree it came from (for line numbers).
        file: the scenario file, if any (relative job files are found next to it).

    Returns:
        service name -> its :class:`storsim.interop.fio.FioJob` list (services without fio
        workloads are left out).

    Raises:
        ScenarioError: a job file cannot be read, an entry has other keys, or a job uses
            what storsim cannot express.
    """
    from storsim.interop.fio import parse_fio  # interop builds on the scenario package

    jobs: dict[str, list[Any]] = {}
    services = data.get("services")
    if not isinstance(services, Mapping):
        return jobs
    base = Path(file).resolve().parent if file is not None else Path.cwd()
    for sname, svc in services.items():
        if not isinstance(svc, MutableMapping):
            continue
        entries = svc.get("workload")
        shorthand = isinstance(entries, Mapping)
        if shorthand:
            entries = [entries]
        if not isinstance(entries, list) or not any(
            isinstance(e, Mapping) and "fio" in e for e in entries
        ):
            continue
        expanded: list[Any] = []
        for i, entry in enumerate(entries):
            if not (isinstance(entry, Mapping) and "fio" in entry):
                expanded.append(entry)
                continue
            path: list[str | int] = ["services", sname, "workload"]
            path += [] if shorthand else [i]
            fio = _parse(entry, [*path, "fio"], tree, file, base, parse_fio)
            expanded.extend(fio.workloads)
            jobs.setdefault(str(sname), []).extend(fio.jobs)
            prefill = svc.setdefault("prefill", {})
            if isinstance(prefill, MutableMapping):
                for directory, content in fio.layout.items():
                    prefill.setdefault(directory, content)
        svc["workload"] = expanded
    return jobs


def _parse(
    entry: Mapping[str, Any],
    path: list[str | int],
    tree: Any,
    file: str | None,
    base: Path,
    parse_fio: Any,
) -> Any:
    where = ".".join(str(p) if isinstance(p, str) else f"[{p}]" for p in path).replace(".[", "[")
    _, line = locate(tree, path)
    extra = sorted(str(k) for k in entry if k not in _KEYS)
    if extra:
        raise ScenarioError(
            f"{where[: -len('.fio')]}: a fio workload takes fio and directory only "
            f"(got {', '.join(extra)})",
            file=file,
            line=line,
        )
    value, directory = entry["fio"], entry.get("directory")
    if not isinstance(value, str) or not value.strip():
        raise ScenarioError(
            f"{where}: must be a fio job file or its text (got {value!r})", file=file, line=line
        )
    if directory is not None and not isinstance(directory, str):
        raise ScenarioError(
            f"{where[: -len('.fio')]}.directory: must be an absolute path (got {directory!r})",
            file=file,
            line=line,
        )
    if _is_text(value):
        try:
            return parse_fio(value, file=file, directory=directory)
        except ScenarioError as error:
            # a block scalar's first line is the one after its key's
            shifted = line + error.line if line is not None and error.line is not None else line
            raise ScenarioError(error.message, file=file, line=shifted) from None
    job_file = Path(value) if os.path.isabs(value) else base / value
    try:
        text = job_file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise ScenarioError(
            f"{where}: cannot read the fio job file {value}: {why}", file=file, line=line
        ) from None
    shown = value if file is None or os.path.isabs(value) else os.fspath(Path(file).parent / value)
    return parse_fio(text, file=shown, directory=directory)
