"""fio, the flexible I/O tester, as the data-path engine where it is installed.

Like hiring a professional surveyor when one is in town and pacing the field yourself
when not, the data-path experiments run through fio when it is on the PATH (its
per-I/O timing is done in C, and its JSON output is what storage engineers read) and
through a Python loop otherwise (:mod:`storsim.calibrate.datapath`); both produce the
same points, and ``engine`` in each point says which made it.

fio's ``--output-format=json+`` output holds, per job and data direction,
``clat_ns`` (min, max, mean, stddev, N, ``percentile``) and ``bins``: a map from a
latency in ns (the midpoint of one of fio's histogram bins, within 1/64 of the true
value, fio's ``stat.h``) to how many I/Os took it; ``sync.lat_ns`` holds the same for
the fsyncs that ``--fsync=1`` issues. The samples this package records from fio are
those bins expanded (sorted, so their order in time is lost).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

from storsim.calibrate import system
from storsim.calibrate.context import Engine
from storsim.calibrate.workspace import Workspace
from storsim.errors import StorsimError

__all__ = ["FioError", "choose_engine", "fio_samples", "run_fio"]

_SUMMARY_KEYS = ("min", "max", "mean", "stddev", "N", "percentile")


class FioError(StorsimError, RuntimeError):
    """fio failed, is missing when asked for, or wrote something this package cannot read."""


def choose_engine(requested: str, *, which: Any = shutil.which) -> Engine:
    """Pick the data-path engine.

    Args:
        requested: ``"auto"`` (fio if installed, else Python), ``"fio"`` or ``"python"``.
        which: looks up an executable (``shutil.which``; tests pass another).

    Raises:
        FioError: ``"fio"`` was requested and no usable fio (3.0 or newer: nanosecond
            JSON fields) is installed.
    """
    if requested == "python":
        return Engine(name="python", reason="--engine python")
    path = which("fio")
    version, why = _version(path) if path else (None, "fio is not installed")
    if path and version and why is None:
        return Engine(name="fio", fio=path, fio_version=version, reason=f"{path} found")
    if requested == "fio":
        raise FioError(f"--engine fio: {why}")
    return Engine(name="python", fio_version=version, reason=f"Python fallback: {why}")


def _version(path: str) -> tuple[str | None, str | None]:
    try:
        out = subprocess.run(
            [path, "--version"], capture_output=True, text=True, timeout=30, check=True
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError) as error:
        return None, f"{path} --version failed: {error}"
    match = re.match(r"fio-(\d+)", out)
    if match is None or int(match.group(1)) < 3:
        return out or None, f"{out!r} is older than fio 3.0 (no nanosecond JSON fields)"
    return out, None


def run_fio(ws: Workspace, fio: str, args: list[str], output: Path) -> dict[str, Any]:
    """Run one fio job with ``--output-format=json+`` and return its JSON document.

    The process is tracked by the work directory, so an interrupt kills it.

    Raises:
        FioError: fio exited with an error, or its job reports one.
    """
    # --thread: jobs are threads of the one fio process, so that killing it (or its
    # death with this process, PR_SET_PDEATHSIG) stops every job; forked job processes
    # would outlive both and keep writing below a mount being removed.
    cmd = [fio, "--thread", *args, "--output-format=json+", f"--output={output}"]
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=system.kill_with_parent,
    )
    ws.track(proc)
    try:
        _, err = proc.communicate()
    except BaseException:  # Interrupted: stop fio before its files are removed
        proc.kill()
        proc.wait()
        raise
    finally:
        ws.untrack(proc)
    if proc.returncode != 0:
        raise FioError(f"fio exited with {proc.returncode}: {err.strip()[-500:]}")
    try:
        doc: dict[str, Any] = json.loads(output.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise FioError(f"cannot read fio's JSON output {output}: {error}") from None
    output.unlink()
    for job in doc.get("jobs", []):
        if job.get("error"):
            raise FioError(f"fio job {job.get('jobname')} failed with error {job['error']}")
    return doc


def fio_samples(job: dict[str, Any], section: str) -> tuple[list[int], dict[str, Any]]:
    """The latency samples (ns) of one section of one job of fio's JSON+ output.

    Args:
        job: one element of the document's ``jobs``.
        section: ``"read"`` or ``"write"`` (their ``clat_ns``), or ``"sync"`` (the
            fsyncs' ``lat_ns``).

    Returns:
        (the bins expanded into one value per I/O, sorted; fio's summary of them).

    Raises:
        FioError: the section or its bins are missing (not json+ output).
    """
    try:
        stats = job["sync"]["lat_ns"] if section == "sync" else job[section]["clat_ns"]
        bins = stats["bins"]
    except (KeyError, IndexError, TypeError):
        raise FioError(f"fio output has no {section} latency bins (not json+?)") from None
    samples = sorted(int(value) for value, count in bins.items() for _ in range(int(count)))
    if len(samples) != int(stats["N"]):
        raise FioError(f"fio's {section} bins hold {len(samples)} I/Os, N says {stats['N']}")
    summary = {k: stats[k] for k in _SUMMARY_KEYS if k in stats}
    return samples, summary
