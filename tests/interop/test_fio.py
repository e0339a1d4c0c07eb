"""fio job files -> storsim workloads: each option's mapping, and each refusal."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

import storsim
from storsim.errors import ScenarioError
from storsim.interop import fio as fio_module
from storsim.interop.fio import FioWorkloads, fio_scenario, load_fio, parse_fio


def jobs(text: str, **kwargs: Any) -> FioWorkloads:
    """Parse a job file given as indented text (file name jobs.fio in messages)."""
    return parse_fio(textwrap.dedent(text), file="jobs.fio", **kwargs)


def ops(text: str) -> list[dict[str, Any]]:
    """The steps of the only workload of a job file."""
    [workload] = jobs(text).workloads
    return list(workload["ops"])


def refused(text: str) -> str:
    """The one-line refusal of a job file."""
    with pytest.raises(ScenarioError) as info:
        jobs(text)
    return str(info.value)


BASE = """
[global]
directory=/data
size=1m
"""


# --- rw, bs, sizes ------------------------------------------------------------------------


def test_random_reads_and_writes() -> None:
    """randread is one random read of bs per iteration, randwrite one random write."""
    assert ops(BASE + "[j]\nrw=randread\nbs=8k\nnorandommap\n") == [{"op": "read", "size": "8 KiB"}]
    assert ops(BASE + "[j]\nrw=randwrite\nnorandommap\n") == [{"op": "write", "size": "4 KiB"}]


def test_randrw_interleaves_reads_and_writes_at_rwmixread() -> None:
    """rwmixread=70 gives 7 reads and 3 writes per iteration, spread evenly; rwmixwrite=25
    gives 3 reads to 1 write; the approximation is noted."""
    steps = [s["op"] for s in ops(BASE + "[j]\nrw=randrw\nrwmixread=70\nnorandommap\n")]
    assert steps == [
        "read",
        "read",
        "read",
        "write",
        "read",
        "read",
        "write",
        "read",
        "read",
        "write",
    ]
    steps = [s["op"] for s in ops(BASE + "[j]\nrw=randrw\nrwmixwrite=25\nnorandommap\n")]
    assert steps == ["read", "read", "read", "write"]
    parsed = jobs(BASE + "[j]\nrw=randrw\nrwmixread=70\nnorandommap\n")
    assert any("7 reads and 3 writes" in n.message for n in parsed.notes)


def test_randrw_defaults_to_half_reads_and_split_block_sizes() -> None:
    """randrw without rwmixread is 50/50; bs=4k,16k sizes reads and writes apart."""
    assert ops(BASE + "[j]\nrw=randrw\nbs=4k,16k\nnorandommap\n") == [
        {"op": "read", "size": "4 KiB"},
        {"op": "write", "size": "16 KiB"},
    ]


def test_fio_units_follow_kb_base() -> None:
    """With kb_base=1024 (fio's default) 4k and 4kb are 4096 and 4KiB is 4000; with
    kb_base=1000 the reverse; hex works."""
    for bs, size in (("4k", "4 KiB"), ("4kb", "4 KiB"), ("4KiB", 4000), ("0x1000", "4 KiB")):
        assert ops(BASE + f"[j]\nrw=randread\nbs={bs}\nnorandommap\n")[0]["size"] == size
    assert ops(BASE + "[j]\nkb_base=1000\nrw=randread\nbs=4k\nnorandommap\n")[0]["size"] == 4000
    assert (
        ops(BASE + "[j]\nkb_base=1000\nrw=randread\nbs=4KiB\nnorandommap\n")[0]["size"] == "4 KiB"
    )


def test_readahead_difference_is_noted_for_random_reads() -> None:
    """Random reads note that storsim reads ahead at a miss where fio's FADV_RANDOM does
    not; random writes do not."""
    assert any("readahead" in n.message for n in jobs(BASE + "[j]\nrw=randread\n").notes)
    quiet = jobs(BASE + "[j]\nrw=randwrite\nnorandommap\n")
    assert quiet.notes == []


def test_random_map_difference_is_noted() -> None:
    """Without norandommap, that fio visits each block once per pass is noted."""
    parsed = jobs(BASE + "[j]\nrw=randread\n")
    assert any("random map" in n.message for n in parsed.notes)


# --- files -------------------------------------------------------------------------------------


def test_files_are_laid_out_with_fio_names() -> None:
    """A job's file is DIRECTORY/JOB.CLONE.FILE of size (split over nrfiles), laid out
    before it runs; several files are picked round robin by a glob, noted."""
    parsed = jobs(BASE + "[j]\nrw=randread\nnrfiles=2\nnorandommap\n")
    [w] = parsed.workloads
    assert (w["path"], w["pick"]) == ("/data/j.0.*", "sequential")
    assert parsed.layout == {"/data": {"files": {"/j.0.0": "512 KiB", "/j.0.1": "512 KiB"}}}
    assert any("after each iteration" in n.message for n in parsed.notes)


def test_filename_and_filesize() -> None:
    """filename (absolute, or in directory) names the file; filesize sets its size."""
    parsed = jobs("[j]\nrw=randread\nfilename=/srv/db.bin\nfilesize=8m\nnorandommap\n")
    assert parsed.workloads[0]["path"] == "/srv/db.bin"
    assert parsed.layout == {"/srv": {"files": {"/db.bin": "8 MiB"}}}
    rel = jobs("[j]\nrw=randread\ndirectory=/d\nfilename=f\nsize=1m\nnorandommap\n")
    assert rel.workloads[0]["path"] == "/d/f"


def test_default_directory_is_noted_or_given() -> None:
    """A job naming no directory uses /data (noted) or the directory the caller gives."""
    parsed = jobs("[j]\nrw=randread\nsize=1m\nnorandommap\n")
    assert parsed.workloads[0]["path"] == "/data/j.0.0"
    assert any("names no directory" in n.message for n in parsed.notes)
    given = jobs("[j]\nrw=randread\nsize=1m\nnorandommap\n", directory="/var/lib/x")
    assert given.workloads[0]["path"] == "/var/lib/x/j.0.0"
    assert not any("names no directory" in n.message for n in given.notes)


def test_numjobs_clones_with_their_own_files() -> None:
    """numjobs=3 gives three workloads j[0]..j[2], each on its own file."""
    parsed = jobs(BASE + "[j]\nrw=randwrite\nnumjobs=3\nnorandommap\n")
    assert [(w["name"], w["path"]) for w in parsed.workloads] == [
        ("j[0]", "/data/j.0.0"),
        ("j[1]", "/data/j.1.0"),
        ("j[2]", "/data/j.2.0"),
    ]
    assert parsed.jobs[0].workloads == ["j[0]", "j[1]", "j[2]"]


# --- concurrency and time ------------------------------------------------------------------


def test_iodepth_is_outstanding_requests_for_async_engines() -> None:
    """iodepth=8 with io_uring is threads: 8; with psync fio keeps one request outstanding
    (threads: 1), noted."""
    [w] = jobs(BASE + "[j]\nrw=randread\nioengine=io_uring\niodepth=8\nnorandommap\n").workloads
    assert w["threads"] == 8
    parsed = jobs(BASE + "[j]\nrw=randread\nioengine=psync\niodepth=8\nnorandommap\n")
    assert parsed.workloads[0]["threads"] == 1
    assert parsed.jobs[0].iodepth == 8
    assert any("synchronous" in n.message for n in parsed.notes)


def test_rate_iops_is_an_open_loop_per_io() -> None:
    """rate_iops=200 is rate 200/s, evenly spaced (rate_process=linear, fio's default) with
    at most iodepth I/Os outstanding; with fsync every 4 writes an iteration holds 4 I/Os,
    so 50 iterations a second; rate_process=poisson is Poisson arrivals."""
    parsed = jobs(BASE + "[j]\nrw=randwrite\nrate_iops=200\nnorandommap\n")
    [w] = parsed.workloads
    assert (w["rate"], w["arrivals"], w["threads"]) == ("200/s", "fixed", 1)
    assert not any("rate_iops" in n.where for n in parsed.notes)
    [w] = jobs(BASE + "[j]\nrw=randwrite\nrate_iops=200\nfsync=4\nnorandommap\n").workloads
    assert w["rate"] == "50/s"
    [w] = jobs(
        BASE + "[j]\nrw=randread\nrate_iops=100\nrate_process=poisson\nnorandommap\n"
    ).workloads
    assert "arrivals" not in w
    [w] = jobs(
        BASE + "[j]\nioengine=io_uring\nrw=randread\nrate_iops=100\niodepth=8\nnorandommap\n"
    ).workloads
    assert (w["rate"], w["threads"]) == ("100/s", 8)
    storsim.load_scenario(
        {
            "name": "r",
            "images": {"a": {"layers": [{"files": {"/data/j.0.0": "1 MiB"}}]}},
            "services": {"s": {"image": "a", "workload": w}},
        }
    )


def test_time_based_jobs_run_for_runtime() -> None:
    """time_based with runtime=30 is duration 30 s and no count; startdelay is start."""
    [w] = jobs(
        BASE + "[j]\nrw=randread\nruntime=30\ntime_based\nstartdelay=2\nnorandommap\n"
    ).workloads
    assert (w["duration"], w.get("count"), w["start"]) == ("30 s", None, "2 s")
    [w] = jobs(BASE + "[j]\nrw=randread\nruntime=1m\ntime_based\nnorandommap\n").workloads
    assert w["duration"] == "60 s"


def test_size_based_jobs_count_their_ios() -> None:
    """Without time_based a job does size/bs I/Os (loops times, io_size instead of size,
    number_ios at most), in iterations; runtime is an upper bound; a remainder is noted."""
    [w] = jobs(BASE + "[j]\nrw=randread\nruntime=5\nnorandommap\n").workloads
    assert (w["count"], w["duration"]) == (256, "5 s")
    [w] = jobs(BASE + "[j]\nrw=randread\nloops=3\nnorandommap\n").workloads
    assert w["count"] == 768
    [w] = jobs(BASE + "[j]\nrw=randread\nio_size=64k\nnorandommap\n").workloads
    assert w["count"] == 16
    [w] = jobs(BASE + "[j]\nrw=randread\nnumber_ios=10\nnorandommap\n").workloads
    assert w["count"] == 10
    parsed = jobs(BASE + "[j]\nrw=randrw\nrwmixread=70\nnorandommap\n")
    assert parsed.workloads[0]["count"] == 26  # 256 I/Os in iterations of 10
    assert any("storsim issues 4 more" in n.message for n in parsed.notes)


def test_fsync_every_n_writes() -> None:
    """fsync=2 adds an fsync after every second write; with a 3:1 mix the iteration
    repeats until its writes are a multiple of 2; fdatasync is an fsync, noted."""
    assert [s["op"] for s in ops(BASE + "[j]\nrw=randwrite\nfsync=2\nnorandommap\n")] == [
        "write",
        "write",
        "fsync",
    ]
    steps = [s["op"] for s in ops(BASE + "[j]\nrw=randrw\nrwmixread=75\nfsync=2\nnorandommap\n")]
    assert steps == ["read", "read", "read", "write", "read", "read", "read", "write", "fsync"]
    parsed = jobs(BASE + "[j]\nrw=randwrite\nfdatasync=1\nnorandommap\n")
    assert [s["op"] for s in parsed.workloads[0]["ops"]] == ["write", "fsync"]
    assert any("fdatasync" in n.message for n in parsed.notes)


def test_end_fsync_of_a_time_based_job() -> None:
    """end_fsync=1 of a time-based job is an fsync of each file at its end."""
    parsed = jobs(BASE + "[j]\nrw=randwrite\nruntime=10\ntime_based\nend_fsync=1\nnorandommap\n")
    assert parsed.workloads[1] == {
        "name": "j end_fsync",
        "path": "/data/j.0.0",
        "threads": 1,
        "count": 1,
        "start": "10 s",
        "ops": [{"op": "fsync"}],
    }
    assert parsed.jobs[0].workloads == ["j"]


def test_create_on_open_and_file_append() -> None:
    """create_on_open lays nothing out; file_append writes at the end of the file."""
    parsed = jobs(BASE + "[j]\nrw=write\nfile_append=1\ncreate_on_open=1\n")
    assert parsed.layout == {}
    assert parsed.workloads[0]["ops"] == [{"op": "write", "size": "4 KiB", "offset": "end"}]
    laid = jobs(BASE + "[j]\nrw=write\nfile_append=1\n")
    assert laid.layout == {"/data": {"files": {"/j.0.0": "1 MiB"}}}


def test_thinktime_after_each_io() -> None:
    """thinktime (microseconds by default) is each data step's think."""
    assert ops(BASE + "[j]\nrw=randread\nthinktime=500\nnorandommap\n") == [
        {"op": "read", "size": "4 KiB", "think": "500 us"}
    ]


def test_stonewall_starts_after_time_based_jobs_in_a_new_group() -> None:
    """A stonewalled job starts when the time-based jobs before it end, in a new group."""
    parsed = jobs(
        BASE
        + "runtime=5\ntime_based\nnorandommap\n[a]\nrw=randwrite\n[b]\nstonewall\nrw=randread\n"
    )
    assert [w.get("start") for w in parsed.workloads] == [None, "5 s"]
    assert [j.groupid for j in parsed.jobs] == [0, 1]


def test_global_sections_apply_to_the_jobs_after_them() -> None:
    """A [global] section applies to the jobs after it, not before; each job keeps its own
    options as fio's job options; group_reporting and percentile_list are kept."""
    parsed = jobs(
        "[global]\ndirectory=/d\nsize=1m\nnorandommap\n[a]\nrw=randread\n"
        "[global]\nbs=8k\ngroup_reporting\npercentile_list=50:99\n[b]\nrw=randread\n"
    )
    assert [w["ops"][0]["size"] for w in parsed.workloads] == ["4 KiB", "8 KiB"]
    assert parsed.jobs[0].options == {"rw": "randread"}
    assert (parsed.jobs[1].group_reporting, parsed.jobs[1].percentiles) == (True, (50.0, 99.0))
    assert parsed.global_options["bs"] == "8k"


def test_sequential_offsets_once_the_format_has_them(monkeypatch: pytest.MonkeyPatch) -> None:
    """With SEQUENTIAL_OFFSET set, rw=read steps carry it."""
    monkeypatch.setattr(fio_module, "SEQUENTIAL_OFFSET", "next")
    assert ops(BASE + "[j]\nrw=read\n") == [{"op": "read", "size": "4 KiB", "offset": "next"}]


# --- refusals ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (
            "rw=randread\nioengine=libaio",
            "jobs.fio:8: option 'ioengine=libaio': libaio is asynchronous only with direct=1",
        ),
        ("rw=randread\nioengine=mmap", "option 'ioengine=mmap': storsim models file system calls"),
        ("rw=randread\ndirect=1", "option 'direct=1': O_DIRECT bypasses the page cache"),
        ("rw=randread\nbuffered=0", "option 'buffered=0': unbuffered I/O"),
        ("rw=randwrite\nsync=1", "option 'sync=1': O_SYNC makes each write durable"),
        (
            "rw=read",
            "option 'rw=read': sequential offsets need a step offset the scenario format lacks",
        ),
        ("rw=randread:8", "option 'rw=randread:8': offset modifiers"),
        ("rw=randtrim", "option 'rw=randtrim': trims (discards) are not modelled"),
        ("rw=randread\nramp_time=5", "option 'ramp_time=5': fio leaves the ramp out"),
        ("rw=randread\nbsrange=4k-16k", "option 'bsrange=4k-16k': block sizes from a range"),
        ("rw=randread\nbs=4k-16k", "option 'bs=4k-16k': a range"),
        ("rw=randread\nsize=50%", "option 'size=50%': a share of a device"),
        ("rw=randread\nfrobnicate=1", "option 'frobnicate=1': not an option storsim can express"),
        ("rw=randread\ntime_based", "option 'time_based': needs runtime="),
        ("rw=randread\ninvalidate=0", "option 'invalidate=0': keeps the layout's pages"),
        ("rw=randread\nfilename=/dev/sdb", "option 'filename=/dev/sdb': block devices"),
        (
            "rw=randread\nfilename=a:b",
            "option 'filename=a:b': storsim picks an iteration's file by a glob",
        ),
        ("rw=randread\nrandom_distribution=zipf:1.2", "option 'random_distribution=zipf:1.2'"),
        ("rw=randrw\nrate_iops=100", "option 'rate_iops=100': with a read-write mix"),
        ("rw=randwrite\nfsync=1\nfdatasync=1", "option 'fdatasync=1': give fsync or fdatasync"),
        ("rw=randwrite\nend_fsync=1", "option 'end_fsync=1': a flush after the job's last I/O"),
        (
            "rw=randwrite\ncreate_on_open=1",
            "option 'create_on_open=1': the file is empty until written",
        ),
        ("rw=randwrite\nfile_append=1", "option 'file_append=1': appends are sequential"),
        ("rw=randread\nthinktime=10\nthinktime_blocks=4", "option 'thinktime_blocks=4'"),
        (
            "rw=randrw\nrwmixread=33\nfsync=13",
            "option 'fsync=13': one iteration would need more than 1000 steps",
        ),
    ],
)
def test_refusals_name_the_file_line_and_option(lines: str, expected: str) -> None:
    """What storsim cannot express is refused in one line: FILE:LINE: option 'K=V': why."""
    text = "[global]\ndirectory=/data\nsize=1m\nnorandommap\n\n[job]\n" + lines + "\n"
    message = refused(text)
    assert expected in message
    assert message.startswith("jobs.fio:")
    assert "\n" not in message


def test_refusal_of_a_global_option_points_at_its_line() -> None:
    """An option given in [global] is refused at its line there."""
    assert refused("[global]\nioengine=libaio\nsize=1m\n[j]\nrw=randread\n").startswith(
        "jobs.fio:2: option 'ioengine=libaio'"
    )


def test_malformed_files_are_refused() -> None:
    """Options outside a section, environment variables, include, no job: refused."""
    assert "jobs.fio:1: 'size=1m': an option outside any [section]" in refused("size=1m\n")
    assert "environment variables are not expanded" in refused("[j]\nsize=${SIZE}\n")
    assert "option 'include'" in refused("include other.fio\n")
    assert "at least one job section" in refused("[global]\nsize=1m\n")
    assert "fio needs a size=" in refused("[j]\nrw=randread\ndirectory=/d\nnorandommap\n")


def test_stonewall_after_a_size_based_job_is_refused() -> None:
    """A stonewalled job after a job that ends by size cannot be timed: refused."""
    message = refused(BASE + "norandommap\n[a]\nrw=randread\n[b]\nstonewall\nrw=randread\n")
    assert "option 'stonewall': a job that waits" in message


# --- the scenario that runs the jobs -------------------------------------------------------


def test_fio_scenario_runs_the_jobs_on_each_storage_choice() -> None:
    """fio_scenario puts the jobs' directory on a volume holding the laid-out files, and
    compares its placement; it loads and runs without an error."""
    parsed = jobs(BASE + "runtime=200ms\ntime_based\nnorandommap\n[j]\nrw=randrw\nfsync=4\n")
    imported = fio_scenario(parsed, name="fio-test")
    data = imported.data
    assert data["sources"] == {"fio-data": {"files": {"/j.0.0": "1 MiB"}}}
    assert data["compare"]["content"] == data["sources"]["fio-data"]
    result = storsim.simulate(storsim.load_scenario(data))
    assert set(result.ops["op"].astype(str)) == {"read", "write", "fsync"}
    assert (result.summary["errors"] == 0).all()
    assert result.comparison is not None
    assert (result.comparison["errors"] == 0).all()


def test_load_fio_reads_a_file(tmp_path: Path) -> None:
    """load_fio names the file in its messages."""
    path = tmp_path / "x.fio"
    path.write_text("[j]\nioengine=libaio\n")
    with pytest.raises(ScenarioError, match=r"x.fio:2: option 'ioengine=libaio'"):
        load_fio(path)
