"""fio job files -> storsim workloads, and a scenario that runs them on each storage choice.

fio is the storage engineer's test bench: a job file says what I/O to issue (``rw``,
``bs``, ``size``, ``numjobs``, ``iodepth``...) and fio issues it against real files.
storsim can issue the same I/O against its model, like a flight simulator flying the
route a pilot filed. Each fio job (each ``numjobs`` clone) becomes one storsim workload:

========================  ================================================================
fio option                storsim workload
========================  ================================================================
``rw=randread``           ``ops: [{op: read, size: BS}]`` (random offsets)
``rw=randwrite``          ``ops: [{op: write, size: BS}]``
``rw=randrw``             reads and writes interleaved evenly at ``rwmixread`` % (70 ->
                          7 reads and 3 writes per iteration; fio draws each at random)
``rw=read|write|rw``      sequential offsets: refused until the format has them
                          (:data:`SEQUENTIAL_OFFSET`, proposed ``offset: next``)
``bs=4k[,8k]``            ``size`` of the read (and write) steps
``size``, ``filesize``,   the files fio lays out before the job (:attr:`FioWorkloads.layout`)
``nrfiles``, ``filename``, and the workload's ``path`` (a glob over the job's files when
``directory``             ``nrfiles`` > 1; fio's default names ``JOB.CLONE.FILE``)
``numjobs=N``             N workloads (each clone has its own files, as in fio)
``iodepth=N``             ``threads: N``: N requests outstanding, each issued when one
                          completes (async engines; sync engines have depth 1)
``rate_iops=N``           ``rate: N/s`` per I/O (open loop) with ``threads: IODEPTH`` (at
                          most iodepth outstanding) and ``arrivals: fixed``
                          (``rate_process=linear``, fio's default; poisson: Poisson)
``runtime``,              ``duration`` (with ``time_based``), else ``count`` = the I/Os that
``time_based``            ``size`` (``io_size``, ``loops``) makes, within ``duration``
``fsync=N``,              an ``fsync`` step after every N writes (fdatasync: fsync)
``fdatasync=N``
``end_fsync=1``           an ``fsync`` of each file when a time-based job ends
``create_on_open=1``      no layout: the first write creates the file
``file_append=1``         writes at the end of the file (``offset: end``)
``thinktime``             ``think`` after each I/O
``startdelay``,           ``start`` (a stonewalled job starts when the time-based jobs
``stonewall``             before it end)
========================  ================================================================

Sizes follow fio's rules: ``4k`` is 4096 and, with the default ``kb_base=1024``,
``4KiB`` is 4000 (fio's compatibility mode swaps the SI and IEC prefixes); fio rounds
a job's I/O size down to a whole number of blocks. Whatever storsim cannot express
(``ioengine=libaio``, ``direct=1``, ``ramp_time``...) is refused with one line,
``FILE:LINE: option 'ioengine=libaio': why`` (a :class:`~storsim.errors.ScenarioError`),
never dropped silently; what it expresses only approximately is a
:class:`~storsim.interop.common.Note`.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from storsim.errors import ScenarioError
from storsim.interop.common import Imported, Note, format_duration, format_rate, format_size

__all__ = [
    "DEFAULT_DIRECTORY",
    "MAX_STEPS",
    "SEQUENTIAL_OFFSET",
    "FioJob",
    "FioWorkloads",
    "fio_scenario",
    "load_fio",
    "parse_fio",
]

#: The step offset of sequential I/O, once the scenario format has one (proposed:
#: ``"next"``, the byte after the thread's previous I/O on the file, wrapping at EOF).
#: While None, sequential jobs (``rw=read``, ``write``, ``rw``) are refused.
SEQUENTIAL_OFFSET: str | None = None
#: Where a job's files are when it names neither ``directory`` nor an absolute
#: ``filename`` and the caller gives no directory.
DEFAULT_DIRECTORY = "/data"
#: Most steps in one iteration (a mix such as rwmixread=33 with fsync=7 needs many).
MAX_STEPS = 1000

_SYNC_ENGINES = frozenset({"sync", "psync", "vsync", "pvsync", "pvsync2"})
_ASYNC_ENGINES = frozenset({"posixaio", "io_uring"})
_RW = {
    # fio rw= value -> (reads, writes, random)
    "read": (True, False, False),
    "write": (False, True, False),
    "rw": (True, True, False),
    "readwrite": (True, True, False),
    "randread": (True, False, True),
    "randwrite": (False, True, True),
    "randrw": (True, True, True),
}
_ALIASES = {
    "readwrite": "rw",
    "blocksize": "bs",
    "timeout": "runtime",
    "io_limit": "io_size",
    "wait_for_previous": "stonewall",
}
# Options that shape the workload (handled below).
_HANDLED = frozenset(
    {"rw", "bs", "size", "filesize", "nrfiles", "filename", "directory", "numjobs",
     "iodepth", "rate_iops", "rate_process", "runtime", "time_based", "fsync", "fdatasync",
     "end_fsync", "create_on_open", "file_append", "rwmixread", "rwmixwrite", "ioengine",
     "direct", "buffered", "sync", "loops", "io_size", "number_ios", "startdelay",
     "thinktime", "thinktime_blocks", "norandommap", "random_distribution",
     "file_service_type", "stonewall", "new_group", "group_reporting", "kb_base", "name",
     "invalidate", "openfiles", "offset", "percentile_list", "percentage_random",
     "fadvise_hint"}
)  # fmt: skip
# Options that change nothing storsim models: data content, CPU placement, file clean-up,
# the random seed (storsim's draws come from the scenario's seed), the reports fio prints.
_NO_EFFECT = frozenset(
    {"description", "thread", "randrepeat", "randseed", "unlink", "fallocate", "overwrite",
     "zero_buffers", "refill_buffers", "scramble_buffers", "buffer_compress_percentage",
     "buffer_compress_chunk", "buffer_pattern", "dedupe_percentage", "cpus_allowed",
     "cpus_allowed_policy", "cpumask", "nice", "prio", "prioclass", "clat_percentiles",
     "lat_percentiles", "slat_percentiles", "allow_file_create", "continue_on_error",
     "gtod_reduce", "disable_lat", "disable_clat", "disable_slat", "disable_bw_measurement",
     "clocksource", "significant_figures", "bwavgtime", "iopsavgtime", "exec_prerun",
     "exec_postrun", "uid", "gid", "create_serialize", "create_fsync", "lockfile",
     "filename_format"}
)  # fmt: skip
# Refused with a reason of their own (the generic reason is below).
_REFUSED = {
    "ramp_time": "fio leaves the ramp out of its statistics; storsim's statistics have no "
    "warm-up to leave out (remove ramp_time, or compare runs of the same length)",
    "rate": "a bandwidth cap; storsim's open loop has a rate of I/Os (use rate_iops)",
    "rate_min": "a minimum bandwidth; storsim has no such rule",
    "rate_iops_min": "a minimum rate; storsim has no such rule",
    "bsrange": "block sizes from a range; storsim's steps have one size each (give bs)",
    "bssplit": "a mix of block sizes; give one bs (or a job per size)",
    "blockalign": "storsim aligns random offsets to min(bs, 4 KiB)",
    "offset_increment": "clones at staggered offsets; storsim's offsets span the whole file",
    "pre_read": "reading the files into the page cache before the job is not modelled",
    "fsync_on_close": "storsim's iterations do not open and close files as fio's do",
    "verify": "storsim does not model data content, so nothing to verify",
    "exitall": "ending every job when one ends is not modelled",
    "exitall_on_error": "ending every job when one fails is not modelled",
    "wait_for": "waiting for a named job is not modelled (use stonewall)",
    "unified_rw_reporting": "changes fio's output layout (a 'mixed' section), which "
    "storsim's fio-json does not write",
    "write_bw_log": "storsim writes no fio log files (its --json and report hold the "
    "per-operation data)",
    "write_lat_log": "storsim writes no fio log files (its --json and report hold the "
    "per-operation data)",
    "write_iops_log": "storsim writes no fio log files (its --json and report hold the "
    "per-operation data)",
    "write_hist_log": "storsim writes no fio log files",
    "include": "including other job files is not followed",
    "trim_percentage": "trims are not modelled",
    "fill_device": "filling the device is not modelled",
    "fill_fs": "filling the file system is not modelled",
    "iodepth_batch": "batched submission is not modelled (one request at a time)",
    "iodepth_batch_submit": "batched submission is not modelled",
    "iodepth_batch_complete": "batched completion is not modelled",
    "iodepth_batch_complete_min": "batched completion is not modelled",
    "iodepth_batch_complete_max": "batched completion is not modelled",
    "iodepth_low": "the queue refill watermark is not modelled",
    "thinktime_spin": "spinning (CPU busy) think time is not modelled",
    "thinktime_iotime": "think time after a stretch of I/O time is not modelled",
    "zonemode": "zoned devices are not modelled",
}
_KNOWN = _HANDLED | _NO_EFFECT


@dataclass(slots=True)
class FioJob:
    """One fio job as the JSON output will name it.

    Attributes:
        name: the job's name (its section, or ``name=``).
        workloads: the storsim workload of each ``numjobs`` clone, in order.
        groupid: fio's reporting group (a new one at each ``stonewall``/``new_group``).
        group_reporting: report the group's clones as one job.
        options: the job's own options as written (fio's ``"job options"``).
        iodepth: the requests each clone keeps outstanding.
        percentiles: the clat percentiles fio reports (``percentile_list`` or fio's default).
        rw: the ``rw`` option.
    """

    name: str
    workloads: list[str]
    groupid: int
    group_reporting: bool
    options: dict[str, str]
    iodepth: int
    percentiles: tuple[float, ...]
    rw: str


#: fio's default clat percentiles (fio(1) percentile_list).
DEFAULT_PERCENTILES: tuple[float, ...] = (
    1.0, 5.0, 10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0, 95.0, 99.0, 99.5, 99.9,
    99.95, 99.99,
)  # fmt: skip


@dataclass(slots=True)
class FioWorkloads:
    """What a fio job file becomes.

    Attributes:
        workloads: WorkloadSpec data, one per job clone (and one per ``end_fsync``).
        layout: the files fio lays out before the jobs start: directory -> Content data
            (paths relative to the directory, as ``sources`` and ``compare.content`` take).
        jobs: the jobs, for :func:`storsim.interop.fio_json.fio_document`.
        notes: what is expressed only approximately, and how.
        global_options: the ``[global]`` options as written.
        file: the job file, if any.
    """

    workloads: list[dict[str, Any]] = field(default_factory=list)
    layout: dict[str, dict[str, Any]] = field(default_factory=dict)
    jobs: list[FioJob] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    global_options: dict[str, str] = field(default_factory=dict)
    file: str | None = None


@dataclass(frozen=True, slots=True)
class _Option:
    key: str
    value: str | None
    line: int
    section: str

    @property
    def shown(self) -> str:
        return self.key if self.value is None else f"{self.key}={self.value}"


class _Refusal:
    def __init__(self, file: str | None) -> None:
        self.file = file

    def __call__(self, opt: _Option, why: str) -> ScenarioError:
        return ScenarioError(
            f"option '{opt.shown}': {why}",
            file=self.file,
            line=opt.line,
            where=f"[{opt.section}].{opt.key}",
        )


def load_fio(path: str | os.PathLike[str], *, directory: str | None = None) -> FioWorkloads:
    """Read a fio job file (see :func:`parse_fio`).

    Raises:
        ScenarioError: the file cannot be read, or uses what storsim cannot express.
    """
    file = os.fspath(path)
    try:
        text = Path(file).read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(f"cannot read: {exc.strerror}", file=file) from None
    return parse_fio(text, file=file, directory=directory)


def parse_fio(text: str, *, file: str | None = None, directory: str | None = None) -> FioWorkloads:
    """fio job file text -> storsim workloads and the files fio lays out.

    Args:
        text: the job file (ini format: ``[global]`` and one section per job).
        file: its name, for messages.
        directory: where the jobs' files are when a job names no ``directory`` (fio's
            default is the current directory; a container has none): default
            :data:`DEFAULT_DIRECTORY`, with a note.

    Returns:
        The workloads, one per job clone, and the layout.

    Raises:
        ScenarioError: ``FILE:LINE: option 'KEY=VALUE': why`` for the first option storsim
            cannot express, or a malformed file.
    """
    refuse = _Refusal(file)
    sections = _sections(text, file)
    out = FioWorkloads(file=file)
    globals_: dict[str, _Option] = {}
    group = 0
    ends: list[float | None] = []  # each earlier clone's end time (None: not time-based)
    names: set[str] = set()
    for name, line, options in sections:
        if name == "global":
            for opt in options:
                _check_known(opt, refuse)
                globals_[opt.key] = opt
                out.global_options[opt.key] = opt.value if opt.value is not None else ""
            continue
        opts = {**globals_, **{o.key: o for o in options}}
        for opt in options:
            _check_known(opt, refuse)
        job = _Job(name, line, opts, refuse, out, directory, file)
        if job.flag("stonewall") or job.flag("new_group"):
            if ends:
                group += 1
            if job.flag("stonewall"):
                if any(e is None for e in ends):
                    opt = opts["stonewall"] if "stonewall" in opts else opts["new_group"]
                    raise refuse(
                        opt,
                        "a job that waits for the jobs before it to end: storsim can start it "
                        "at their end only when they are time_based (their end is known)",
                    )
                job.offset = max((e for e in ends if e is not None), default=0.0)
        job_name = job.name
        while job_name in names:
            job_name += "'"
        names.add(job_name)
        fio_job = job.build(job_name, group)
        out.jobs.append(fio_job)
        ends.extend(job.ends)
    if not out.jobs:
        raise ScenarioError("a fio job file needs at least one job section", file=file, line=1)
    return out


def _sections(text: str, file: str | None) -> list[tuple[str, int, list[_Option]]]:
    sections: list[tuple[str, int, list[_Option]]] = []
    for n, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        line = re.split(r"\s+[#;]", line, maxsplit=1)[0].strip()
        if line.startswith("[") and line.endswith("]"):
            sections.append((line[1:-1].strip(), n, []))
            continue
        if "$" in line and re.search(r"\$\{?[A-Za-z_]", line):
            raise ScenarioError(
                f"{line!r}: environment variables are not expanded (write the value)",
                file=file,
                line=n,
            )
        if not sections:
            if line.startswith("include "):
                raise ScenarioError(
                    "option 'include': including other job files is not followed",
                    file=file,
                    line=n,
                )
            raise ScenarioError(f"{line!r}: an option outside any [section]", file=file, line=n)
        key, sep, value = line.partition("=")
        key = key.strip().lower()
        key = _ALIASES.get(key, key)
        sections[-1][2].append(_Option(key, value.strip() if sep else None, n, sections[-1][0]))
    return sections


def _check_known(opt: _Option, refuse: _Refusal) -> None:
    if opt.key in _REFUSED:
        raise refuse(opt, _REFUSED[opt.key])
    if opt.key not in _KNOWN:
        raise refuse(
            opt,
            "not an option storsim can express (it maps rw, bs, size, filesize, nrfiles, "
            "filename, directory, numjobs, iodepth, rate_iops, runtime, time_based, fsync, "
            "fdatasync, end_fsync, create_on_open, file_append, rwmixread, loops, io_size, "
            "startdelay, thinktime, stonewall)",
        )


# --- values --------------------------------------------------------------------------------

_INT = re.compile(r"^(\d+(?:\.\d+)?)\s*([kmgtpe]?)(i?)(b?)$", re.IGNORECASE)
_POWERS = {"": 0, "k": 1, "m": 2, "g": 3, "t": 4, "p": 5, "e": 6}
_TIME = re.compile(r"^(\d+(?:\.\d+)?)\s*([a-z]*)$", re.IGNORECASE)
_TIME_UNITS = {
    "us": 1e-6, "usec": 1e-6, "ms": 1e-3, "msec": 1e-3, "s": 1.0, "sec": 1.0,
    "m": 60.0, "min": 60.0, "h": 3600.0, "hour": 3600.0, "d": 86400.0, "day": 86400.0,
}  # fmt: skip


class _Job:
    """One job section with the [global] options before it: checked and mapped."""

    def __init__(
        self,
        section: str,
        line: int,
        opts: dict[str, _Option],
        refuse: _Refusal,
        out: FioWorkloads,
        directory: str | None,
        file: str | None,
    ) -> None:
        self.section = section
        self.line = line
        self.opts = opts
        self.refuse = refuse
        self.out = out
        self.default_dir = directory
        self.file = file
        self.offset = 0.0
        self.linear = False  # rate_process=linear (evenly spaced I/Os)
        self.ends: list[float | None] = []
        self.kb_base = 1024
        if "kb_base" in opts:
            base = self.int_of("kb_base")
            if base not in (1000, 1024):
                raise refuse(opts["kb_base"], "must be 1000 or 1024")
            self.kb_base = base
        self.name = opts["name"].value if "name" in opts and opts["name"].value else section

    # --- reading values ----------------------------------------------------------------

    def get(self, key: str) -> _Option | None:
        return self.opts.get(key)

    def flag(self, key: str) -> bool:
        opt = self.opts.get(key)
        if opt is None:
            return False
        if opt.value is None or opt.value.strip().lower() in ("1", "true", "yes", "on"):
            return True
        if opt.value.strip().lower() in ("0", "false", "no", "off"):
            return False
        raise self.refuse(opt, "must be 0 or 1")

    def size_of(self, opt: _Option, text: str | None = None) -> int:
        """fio's integers with unit suffixes: with kb_base=1024, ``k``/``kb`` are 1024 and
        ``kib`` is 1000 (fio's compatibility mode); with kb_base=1000 the reverse."""
        raw = (text if text is not None else opt.value or "").strip()
        if raw.startswith(("0x", "0X")):
            try:
                return int(raw, 16)
            except ValueError:
                pass
        if "%" in raw:
            raise self.refuse(opt, "a share of a device or file system; give a size")
        if "-" in raw or ":" in raw:
            raise self.refuse(opt, "a range; storsim needs one value (give a single size)")
        match = _INT.match(raw)
        if match is None:
            raise self.refuse(opt, "must be a number with an optional k, m, g, t suffix")
        number, prefix, iec, _ = match.groups()
        power = _POWERS[prefix.lower()]
        binary = (self.kb_base == 1024) != bool(iec)
        factor = (1024 if binary else 1000) ** power
        return int(float(number) * factor)

    def int_of(self, key: str) -> int:
        opt = self.opts[key]
        try:
            return int(str(opt.value).strip())
        except ValueError:
            raise self.refuse(opt, "must be a whole number") from None

    def time_of(self, key: str, default_unit: float) -> float:
        opt = self.opts[key]
        raw = (opt.value or "").strip()
        if "-" in raw or ":" in raw:
            raise self.refuse(opt, "a range; storsim needs one value")
        match = _TIME.match(raw)
        if match is None:
            raise self.refuse(opt, "must be a time such as 30, 30s, 100ms or 2m")
        number, unit = match.groups()
        factor = _TIME_UNITS.get(unit.lower()) if unit else default_unit
        if factor is None:
            raise self.refuse(opt, f"unknown time unit {unit!r} (us, ms, s, m, h, d)")
        return float(number) * factor

    def note(self, opt: _Option | None, message: str) -> None:
        where = f"[{self.section}]" + (f".{opt.key}" if opt is not None else "")
        line = opt.line if opt is not None else self.line
        self.out.notes.append(Note(where, message, self.file, line))

    # --- mapping -------------------------------------------------------------------------

    def build(self, name: str, group: int) -> FioJob:
        engine = self._engine()
        reads, writes, random, rw = self._rw()
        bs_read, bs_write = self._block_sizes()
        for key, why in (
            ("direct", "O_DIRECT bypasses the page cache, which storsim does not model "
             "(storsim models buffered I/O through the page cache)"),
        ):  # fmt: skip
            if self.flag(key):
                opt = self.opts[key]
                raise self.refuse(opt, why)
        if "buffered" in self.opts and not self.flag("buffered"):
            raise self.refuse(
                self.opts["buffered"], "unbuffered I/O (O_DIRECT) is not modelled by storsim"
            )
        if "sync" in self.opts and (self.opts["sync"].value or "1").lower() not in ("0", "none"):
            raise self.refuse(
                self.opts["sync"],
                "O_SYNC makes each write durable inside its own latency; storsim charges "
                "fsync as a step of its own (use fsync=1: fio then reports the syncs apart too)",
            )
        if "invalidate" in self.opts and not self.flag("invalidate"):
            raise self.refuse(
                self.opts["invalidate"],
                "keeps the layout's pages in the page cache; storsim's runs start cold",
            )
        offset = self.get("offset")
        if offset is not None and self.size_of(offset) != 0:
            raise self.refuse(offset, "I/O from an offset; storsim's offsets span the file")
        numjobs = self.int_of("numjobs") if "numjobs" in self.opts else 1
        if numjobs < 1:
            raise self.refuse(self.opts["numjobs"], "must be >= 1")
        iodepth = self.int_of("iodepth") if "iodepth" in self.opts else 1
        if iodepth < 1:
            raise self.refuse(self.opts["iodepth"], "must be >= 1")
        if iodepth > 1 and engine in _SYNC_ENGINES:
            self.note(
                self.opts["iodepth"],
                f"ioengine={engine} is synchronous: fio keeps one request outstanding "
                "whatever iodepth says (so does storsim: threads: 1)",
            )
            depth = 1
        else:
            depth = iodepth
        mix = self._mix(reads, writes)
        files_per_clone = self._files(numjobs)
        steps, data_per_iteration = self._steps(reads, writes, random, bs_read, bs_write, mix)
        duration, count_bytes = self._timing()
        rate = self._rate(reads, writes, data_per_iteration)
        start = self.offset + (
            self.time_of("startdelay", 1.0) if "startdelay" in self.opts else 0.0
        )
        workloads = []
        for k, files in enumerate(files_per_clone):
            wname = name if numjobs == 1 else f"{name}[{k}]"
            w: dict[str, Any] = {"name": wname}
            w["path"] = self._path(files, k)
            if len(files) > 1:
                w["pick"] = self._file_service()
            if rate is not None:
                w["rate"] = format_rate(rate)
                if self.linear:  # fio's default rate_process: evenly spaced
                    w["arrivals"] = "fixed"
            # with a rate: at most iodepth requests outstanding, as fio keeps them
            w["threads"] = depth
            w["ops"] = steps
            if count_bytes is not None:
                ios = self._ios(count_bytes, files, bs_read, bs_write, mix)
                iterations = math.ceil(ios / data_per_iteration)
                if iterations * data_per_iteration != ios:
                    self.note(
                        None,
                        f"{ios} I/Os do not make whole iterations of {data_per_iteration}: "
                        f"storsim issues {iterations * data_per_iteration - ios} more",
                    )
                w["count"] = max(1, iterations)
            if duration is not None:
                w["duration"] = format_duration(duration)
            if start:
                w["start"] = format_duration(start)
            workloads.append(w)
            self.ends.append(
                start + duration if duration is not None and count_bytes is None else None
            )
            if self.flag("end_fsync"):
                workloads.extend(self._end_fsync(wname, files, start, duration, count_bytes))
            self._layout(files)
        self.out.workloads.extend(workloads)
        own = {o.key: (o.value if o.value is not None else "") for o in self.opts.values()}
        return FioJob(
            name=name,
            workloads=[w["name"] for w in workloads if not w["name"].endswith(" end_fsync")],
            groupid=group,
            group_reporting=self.flag("group_reporting"),
            options={k: v for k, v in own.items() if k in self._own_keys()},
            iodepth=iodepth,
            percentiles=self._percentiles(),
            rw=rw,
        )

    def _own_keys(self) -> set[str]:
        return {o.key for o in self.opts.values() if o.section == self.section}

    def _engine(self) -> str:
        opt = self.get("ioengine")
        if opt is None:
            return "psync"  # fio's default on Linux
        engine = (opt.value or "").strip().lower()
        if engine == "libaio":
            raise self.refuse(
                opt,
                "libaio is asynchronous only with direct=1 (O_DIRECT), which storsim does not "
                "model (it models buffered I/O through the page cache); use ioengine=psync, "
                "or io_uring / posixaio to keep iodepth requests outstanding",
            )
        if engine not in _SYNC_ENGINES | _ASYNC_ENGINES:
            raise self.refuse(
                opt,
                "storsim models file system calls: ioengine sync, psync, vsync, pvsync, "
                "pvsync2, posixaio or io_uring",
            )
        return engine

    def _rw(self) -> tuple[bool, bool, bool, str]:
        opt = self.get("rw")
        value = (opt.value or "read").strip().lower() if opt is not None else "read"
        if opt is None:
            opt = _Option("rw", "read", self.line, self.section)
        if ":" in value:
            raise self.refuse(opt, "offset modifiers (rw=...:N) are not modelled")
        if "trim" in value:
            raise self.refuse(opt, "trims (discards) are not modelled")
        if value not in _RW:
            raise self.refuse(opt, f"must be one of {', '.join(_RW)}")
        reads, writes, random = _RW[value]
        if not random:
            if SEQUENTIAL_OFFSET is None and not (
                writes and not reads and self.flag("file_append")
            ):
                raise self.refuse(
                    opt,
                    "sequential offsets need a step offset the scenario format lacks (proposed: "
                    "offset: next, the byte after the thread's previous I/O on the file); "
                    "storsim's steps use random, start, end or fixed offsets (use rand"
                    f"{'rw' if reads and writes else value})",
                )
        elif self.flag("file_append"):
            raise self.refuse(self.opts["file_append"], "appends are sequential: use rw=write")
        if random:
            self._random_rules()
        if random and reads:
            self.note(
                self.get("fadvise_hint"),
                "storsim's page cache brings in a whole 128 KiB readahead chunk at each read "
                "miss (read_ahead_kb); fio's random jobs advise POSIX_FADV_RANDOM "
                "(fadvise_hint=1, its default) and the kernel then reads only the pages asked "
                "for, so storsim's cache warms up faster (proposed: a workload field "
                "readahead: false)",
            )
        if self.flag("create_on_open") and (reads or random):
            raise self.refuse(
                self.opts["create_on_open"],
                "the file is empty until written: storsim places reads and random writes within "
                "the file's current size (use it with rw=write and file_append=1)",
            )
        return reads, writes, random, value

    def _random_rules(self) -> None:
        dist = self.get("random_distribution")
        if dist is not None and (dist.value or "").strip().lower() != "random":
            raise self.refuse(dist, "storsim draws offsets uniformly (random_distribution=random)")
        share = self.get("percentage_random")
        if share is not None and (share.value or "").strip() not in ("100", "100,100"):
            raise self.refuse(share, "a mix of random and sequential offsets is not modelled")
        if not self.flag("norandommap"):
            self.note(
                None,
                "fio visits each block once per pass (its random map); storsim draws offsets "
                "independently, as fio does with norandommap=1",
            )

    def _block_sizes(self) -> tuple[int, int]:
        opt = self.get("bs")
        if opt is None:
            return 4096, 4096  # fio's default bs
        parts = [p.strip() for p in (opt.value or "").split(",")]
        read = self.size_of(opt, parts[0]) if parts[0] else 4096
        write = self.size_of(opt, parts[1]) if len(parts) > 1 and parts[1] else read
        if read <= 0 or write <= 0:
            raise self.refuse(opt, "must be > 0")
        return read, write

    def _mix(self, reads: bool, writes: bool) -> tuple[int, int]:
        if not (reads and writes):
            return (1, 0) if reads else (0, 1)
        if "rwmixread" in self.opts:
            share = self.int_of("rwmixread")
            opt = self.opts["rwmixread"]
        elif "rwmixwrite" in self.opts:
            share = 100 - self.int_of("rwmixwrite")
            opt = self.opts["rwmixwrite"]
        else:
            share, opt = 50, None  # fio's default
        if not 0 <= share <= 100:
            assert opt is not None
            raise self.refuse(opt, "must be between 0 and 100")
        g = math.gcd(share, 100 - share) or 1
        if opt is not None and 0 < share < 100:
            self.note(
                opt,
                f"fio chooses each I/O at random, {share} % reads; storsim interleaves "
                f"{_count(share // g, 'read')} and {_count((100 - share) // g, 'write')} "
                "per iteration evenly (proposed: a random choice of step by weight)",
            )
        return share // g, (100 - share) // g

    def _steps(
        self,
        reads: bool,
        writes: bool,
        random: bool,
        bs_read: int,
        bs_write: int,
        mix: tuple[int, int],
    ) -> tuple[list[dict[str, Any]], int]:
        r, w = mix
        n = r + w
        # reads spread evenly among the n I/Os (Bresenham): read when the share of reads
        # so far falls behind r/n
        pattern = []
        done = 0
        for i in range(n):
            if r and (done * n < r * (i + 1)):
                pattern.append("read")
                done += 1
            else:
                pattern.append("write")
        every, sync_opt = 0, None
        for key in ("fsync", "fdatasync"):
            if key in self.opts and self.int_of(key) > 0:
                if every:
                    raise self.refuse(self.opts[key], "give fsync or fdatasync, not both")
                every, sync_opt = self.int_of(key), self.opts[key]
        if sync_opt is not None and sync_opt.key == "fdatasync":
            self.note(
                sync_opt,
                "storsim has one flush, fsync: fdatasync skips metadata-only updates, so "
                "storsim's flush costs at least as much",
            )
        if every and w:
            repeat = every // math.gcd(every, w)
            pattern = pattern * repeat
        if len(pattern) + (len(pattern) // every if every and w else 0) > MAX_STEPS:
            opt = sync_opt or self.opts.get("rwmixread") or self.opts.get("rwmixwrite")
            assert opt is not None
            raise self.refuse(
                opt,
                f"one iteration would need more than {MAX_STEPS} steps for this mix; "
                "round rwmixread to a multiple of 5 or 10",
            )
        if random:
            offset: Any = "random"
        elif writes and not reads and self.flag("file_append"):
            offset = "end"
        else:
            offset = SEQUENTIAL_OFFSET
        think = self.time_of("thinktime", 1e-6) if "thinktime" in self.opts else 0.0
        if think and "thinktime_blocks" in self.opts and self.int_of("thinktime_blocks") != 1:
            raise self.refuse(self.opts["thinktime_blocks"], "think time after every I/O only (1)")
        steps: list[dict[str, Any]] = []
        written = 0
        for op in pattern:
            step: dict[str, Any] = {
                "op": op,
                "size": format_size(bs_read if op == "read" else bs_write),
            }
            if offset != "random":
                step["offset"] = offset
            if think:
                step["think"] = format_duration(think)
            steps.append(step)
            if op == "write":
                written += 1
                if every and written % every == 0:
                    steps.append({"op": "fsync"})
        return steps, len(pattern)

    def _files(self, numjobs: int) -> list[list[tuple[str, int]]]:
        """Each clone's files: (absolute path, size)."""
        directory_opt = self.get("directory")
        directory = directory_opt.value if directory_opt is not None else None
        if directory is not None and ":" in directory:
            assert directory_opt is not None
            raise self.refuse(directory_opt, "several directories are not modelled (give one)")
        filename = self.get("filename")
        if filename is not None and filename.value:
            names = [n.replace("\\:", ":") for n in re.split(r"(?<!\\):", filename.value)]
            if len(names) > 1:
                raise self.refuse(
                    filename,
                    "storsim picks an iteration's file by a glob; give nrfiles= for a job's "
                    "several files",
                )
            if names[0].startswith("/dev/"):
                raise self.refuse(filename, "block devices are not modelled (give a file)")
        else:
            names = []
        if directory is None and not (names and names[0].startswith("/")):
            directory = self.default_dir or DEFAULT_DIRECTORY
            if self.default_dir is None:
                self.note(
                    None,
                    f"names no directory: its files are in {directory} (fio would use the "
                    "current directory)",
                )
        if directory is not None and not directory.startswith("/"):
            assert directory_opt is not None
            raise self.refuse(directory_opt, "must be an absolute path in the container")
        nrfiles = self.int_of("nrfiles") if "nrfiles" in self.opts else 1
        if nrfiles < 1:
            raise self.refuse(self.opts["nrfiles"], "must be >= 1")
        if "openfiles" in self.opts and self.int_of("openfiles") < nrfiles:
            raise self.refuse(self.opts["openfiles"], "fewer open files than files is not modelled")
        size = self._file_size(nrfiles)
        out = []
        for k in range(numjobs):
            if names:
                path = names[0] if names[0].startswith("/") else f"{directory}/{names[0]}"
                out.append([(str(PurePosixPath(path)), size)])
            else:
                out.append(
                    [(f"{directory.rstrip('/')}/{self.name}.{k}.{f}", size) for f in range(nrfiles)]
                    if directory is not None
                    else []
                )
        return out

    def _file_size(self, nrfiles: int) -> int:
        if "filesize" in self.opts:
            return self.size_of(self.opts["filesize"])
        if "size" in self.opts:
            return self.size_of(self.opts["size"]) // nrfiles
        opt = _Option("size", None, self.line, self.section)
        raise self.refuse(opt, "fio needs a size= (or filesize=) for the job's files")

    def _path(self, files: list[tuple[str, int]], k: int) -> str:
        if len(files) == 1:
            return files[0][0]
        folder = str(PurePosixPath(files[0][0]).parent)
        return f"{folder.rstrip('/')}/{self.name}.{k}.*"

    def _file_service(self) -> str:
        opt = self.get("file_service_type")
        value = (opt.value or "roundrobin").split(":")[0].lower() if opt else "roundrobin"
        if opt is not None and ":" in (opt.value or ""):
            raise self.refuse(opt, "switching files after N I/Os is not modelled")
        if value == "roundrobin":
            self.note(
                opt,
                "fio switches file after each I/O; storsim after each iteration (its steps "
                "all go to one file)",
            )
            return "sequential"
        if value == "random":
            return "uniform"
        assert opt is not None
        raise self.refuse(opt, "storsim picks files round robin or at random")

    def _timing(self) -> tuple[float | None, int | None]:
        """(duration s or None, bytes each clone transfers or None for time-based jobs)."""
        runtime = self.time_of("runtime", 1.0) if "runtime" in self.opts else None
        if self.flag("time_based"):
            if runtime is None:
                raise self.refuse(self.opts["time_based"], "needs runtime= (it would run forever)")
            return runtime, None
        budget = None
        if "io_size" in self.opts:
            budget = self.size_of(self.opts["io_size"])
        elif "size" in self.opts:
            budget = self.size_of(self.opts["size"])
        elif "filesize" in self.opts:
            nrfiles = self.int_of("nrfiles") if "nrfiles" in self.opts else 1
            budget = self.size_of(self.opts["filesize"]) * nrfiles
        if budget is None:
            raise self.refuse(
                _Option("size", None, self.line, self.section), "fio needs a size= for the job"
            )
        loops = self.int_of("loops") if "loops" in self.opts else 1
        return runtime, budget * max(1, loops)

    def _ios(
        self,
        budget: int,
        files: list[tuple[str, int]],
        bs_read: int,
        bs_write: int,
        mix: tuple[int, int],
    ) -> int:
        r, w = mix
        per_cycle = r * bs_read + w * bs_write
        ios = (budget // per_cycle) * (r + w) if per_cycle else 0
        rest = budget - (budget // per_cycle) * per_cycle if per_cycle else 0
        ios += rest // max(bs_read if r else bs_write, 1)
        if "number_ios" in self.opts:
            ios = min(ios, self.int_of("number_ios"))
        if ios < 1:
            raise self.refuse(
                self.opts.get("size") or _Option("size", None, self.line, self.section),
                "smaller than one block: fio would do no I/O",
            )
        return ios

    def _rate(self, reads: bool, writes: bool, per_iteration: int) -> float | None:
        opt = self.get("rate_iops")
        if opt is None:
            return None
        parts = [p.strip() for p in (opt.value or "").split(",")]
        if reads and writes:
            raise self.refuse(
                opt,
                "with a read-write mix fio caps reads and writes apart; storsim's open loop "
                "has one rate for the mixed stream (give rate_iops to a read or a write job)",
            )
        text = parts[0] if reads else (parts[1] if len(parts) > 1 and parts[1] else parts[0])
        if not text:
            return None
        iops = self.size_of(opt, text)
        if iops <= 0:
            raise self.refuse(opt, "must be > 0")
        process = self.get("rate_process")
        kind = (process.value or "linear").strip().lower() if process else "linear"
        if kind not in ("linear", "poisson"):
            raise self.refuse(process or opt, "must be linear or poisson")
        self.linear = kind == "linear"
        return iops / per_iteration

    def _end_fsync(
        self,
        wname: str,
        files: list[tuple[str, int]],
        start: float,
        duration: float | None,
        count_bytes: int | None,
    ) -> list[dict[str, Any]]:
        opt = self.opts["end_fsync"]
        if count_bytes is not None or duration is None:
            raise self.refuse(
                opt,
                "a flush after the job's last I/O: storsim can time it only for a time_based "
                "job (proposed: a workload's final steps)",
            )
        return [
            {
                "name": f"{wname} end_fsync" if len(files) == 1 else f"{wname} end_fsync {i}",
                "path": path,
                "threads": 1,
                "count": 1,
                "start": format_duration(start + duration),
                "ops": [{"op": "fsync"}],
            }
            for i, (path, _) in enumerate(files)
        ]

    def _layout(self, files: list[tuple[str, int]]) -> None:
        if self.flag("create_on_open"):
            return
        for path, size in files:
            p = PurePosixPath(path)
            content = self.out.layout.setdefault(str(p.parent), {"files": {}})
            content["files"]["/" + p.name] = format_size(size)

    def _percentiles(self) -> tuple[float, ...]:
        opt = self.get("percentile_list")
        if opt is None or not opt.value:
            return DEFAULT_PERCENTILES
        try:
            values = tuple(float(v) for v in opt.value.split(":") if v)
        except ValueError:
            raise self.refuse(opt, "must be percentiles separated by ':'") from None
        if not values or any(not 0 < v <= 100 for v in values):
            raise self.refuse(opt, "must be percentiles in (0, 100]")
        return values


def fio_scenario(
    fio: FioWorkloads,
    *,
    name: str,
    choices: tuple[str, ...] = ("volume", "local_bind", "writable_layer", "tmpfs"),
) -> Imported:
    """A scenario that runs fio's jobs in one container, their directory on a volume, and
    compares the directory's placement over ``choices``.

    Args:
        fio: the parsed job file.
        name: the scenario's name.
        choices: the storage choices of the ``compare:`` section.

    Returns:
        The scenario (the host's disk marked TODO).
    """
    dirs = sorted({str(PurePosixPath(w["path"]).parent) for w in fio.workloads})
    dirs = _outermost(dirs)
    imported = Imported({"name": name})
    data = imported.data
    if fio.file is not None:
        data["description"] = f"the fio jobs of {PurePosixPath(fio.file).name}"
    data["host"] = {"disk": "ssd"}
    imported.comments[("host", "disk")] = "TODO: the host's disk: nvme | ssd | hdd"
    data["images"] = {"fio": {"layers": [{"name": "fio (stub)", "dirs": dirs}]}}
    volumes = {f"fio{d.replace('/', '-')}": d for d in dirs}
    data["volumes"] = {v: {} for v in volumes}
    sources = {}
    for vname, d in volumes.items():
        content = _under(fio.layout, d)
        if content["files"]:
            sources[vname] = content
    if sources:
        data["sources"] = sources
    mounts = [{"type": "volume", "source": v, "target": d} for v, d in volumes.items()]
    data["services"] = {"fio": {"image": "fio", "volumes": mounts, "workload": fio.workloads}}
    compare: dict[str, Any] = {"path": dirs[0], "service": "fio", "choices": list(choices)}
    content = _under(fio.layout, dirs[0])
    if content["files"]:
        compare["content"] = content
    data["compare"] = compare
    imported.notes.extend(fio.notes)
    return imported


def _outermost(dirs: list[str]) -> list[str]:
    out: list[str] = []
    for d in sorted(dirs, key=len):
        if not any(d == o or d.startswith(o.rstrip("/") + "/") for o in out):
            out.append(d)
    return sorted(out)


def _under(layout: Mapping[str, dict[str, Any]], base: str) -> dict[str, Any]:
    """The layout's files below ``base``, relative to it."""
    root = base.rstrip("/")
    files: dict[str, Any] = {}
    for folder, content in sorted(layout.items()):
        if folder == base or folder.startswith(root + "/"):
            rel = folder[len(root) :]
            for path, size in content["files"].items():
                files[rel + path] = size
    return {"files": files}


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'s' if n != 1 else ''}"
