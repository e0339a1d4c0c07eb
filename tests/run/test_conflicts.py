"""Concurrent writers: lost updates, torn writes, stale reads and locks, from interleavings."""

from __future__ import annotations

import math
import multiprocessing
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats as sstats

import storsim
from storsim.run.conflicts import ConflictTracker


def writers(
    *,
    replicas: int = 2,
    threads: int = 1,
    lock: str = "none",
    think: str = "2 ms",
    records: int = 1,
    mount: str = "shared:/data",
    count: int = 40,
    remote: dict[str, Any] | None = None,
    rate: str | None = None,
) -> dict[str, Any]:
    """A scenario: replicas doing read-modify-write increments of records of one file."""
    workload: dict[str, Any] = {
        "name": "increment",
        "path": "/data/counters.db",
        "lock": lock,
        "count": count,
        "ops": [
            {"op": "read", "size": "4 KiB", "think": think},
            {"op": "write", "offset": "same"},
        ],
    }
    if rate is None:
        workload["threads"] = threads
        workload["think"] = "1 ms"
    else:
        workload["rate"] = rate
    data: dict[str, Any] = {
        "name": "writers",
        "seed": 1,
        "images": {"app": {"layers": [{"dirs": ["/data"]}]}},
        "volumes": {"shared": {}},
        "sources": {},
        "services": {"w": {"image": "app", "deploy": {"replicas": replicas}, "workload": workload}},
    }
    if mount.startswith("shared:"):
        data["sources"]["shared"] = {"files": {"/counters.db": records * 4096}}
        data["services"]["w"]["volumes"] = [mount]
    elif mount.startswith("nas:"):
        data["host"] = {"remotes": {"nas": remote or {"profile": "nfs"}}}
        data["sources"]["nas:/export"] = {"files": {"/counters.db": records * 4096}}
        data["services"]["w"]["volumes"] = ["nas:/export:/data"]
        del data["volumes"]
    else:  # the container's own writable layer: the file ships in the image
        data["images"]["app"]["layers"][0]["files"] = {"/data/counters.db": records * 4096}
        del data["volumes"], data["sources"]
    return data


def run(data: dict[str, Any], seed: int | None = None) -> storsim.Result:
    return storsim.simulate(storsim.load_scenario(data), seed=seed)


def increments(result: storsim.Result) -> int:
    ops = result.ops
    return int(((ops["op"] == "write") & (ops["outcome"] == "ok")).sum())


def test_tracker_counts_a_lost_update_exactly() -> None:
    """Two overlapping read-modify-writes: the second write loses the first's update."""
    t = ConflictTracker(env=None)  # type: ignore[arg-type]
    a = t.read("f", 0, 8)
    b = t.read("f", 0, 8)
    assert t.commit("f", 0, 8, a) == 0
    assert t.commit("f", 0, 8, b) == 1
    assert t.value("f", 0, 8) == 1  # two increments performed, one survived
    assert t.commit("f", 0, 8, t.read("f", 0, 8)) == 0
    assert t.value("f", 0, 8) == 2


def test_tracker_stale_read_sees_the_old_value() -> None:
    """A read at an older file version returns the value that version had."""
    t = ConflictTracker(env=None)  # type: ignore[arg-type]
    t.commit("f", 0, 8, t.read("f", 0, 8))
    t.commit("f", 0, 8, t.read("f", 0, 8))
    assert t.read("f", 0, 8, version=1) == 1
    assert t.read("f", 0, 8, version=2) == 2
    assert t.commit("f", 0, 8, t.read("f", 0, 8, version=1)) == 1


def test_tracker_keeps_no_history_where_nothing_reads_it() -> None:
    """A commit without history counts and values the same but keeps no old version,
    so a stale read of it reads the oldest value known (there is none: the latest)."""
    t = ConflictTracker(env=None)  # type: ignore[arg-type]
    for _ in range(3):
        assert t.commit("f", 0, 8, t.read("f", 0, 8), history=False) == 0
    assert t.value("f", 0, 8) == 3
    assert t.version("f") == 3
    assert t._files["f"].ranges[(0, 8)].history == []


@pytest.mark.parametrize(("mount", "kept"), [("shared:/data", False), ("nas:", True)])
def test_only_distributed_mounts_keep_a_version_history(
    monkeypatch: pytest.MonkeyPatch, mount: str, kept: bool
) -> None:
    """Only separate clients (a distributed mount) read stale versions, so only their
    writes keep a record's history; a local volume's writes keep none (summary mode's
    memory stays flat), with the same lost-update accounting."""
    trackers: list[ConflictTracker] = []
    init = ConflictTracker.__init__

    def spy(self: ConflictTracker, env: Any) -> None:
        init(self, env)
        trackers.append(self)

    monkeypatch.setattr(ConflictTracker, "__init__", spy)
    result = run(writers(mount=mount))
    assert increments(result) > 0
    (tracker,) = trackers
    histories = [r.history for f in tracker._files.values() for r in f.ranges.values()]
    assert histories
    assert all(bool(h) == kept for h in histories)
    assert int(result.summary["lost_updates"].sum()) > 0


def test_racing_seek_and_write_appends_overwrite_whole_records() -> None:
    """Two appends that seek to the same end of file: the later write replaces the
    earlier's record whole (one lost record, nothing torn); a third that began after
    both lands after them."""
    t = ConflictTracker(env=None)  # type: ignore[arg-type]
    a, b = t.start_append("f"), t.start_append("f")
    assert t.end_append("f", "c1", a, 64, mode="racy") == (0, False)
    assert t.end_append("f", "c2", b, 64, mode="racy") == (1, False)
    c = t.start_append("f")
    assert t.end_append("f", "c1", c, 64, mode="racy") == (0, False)


def test_a_record_is_lost_once_and_a_partial_overwrite_tears() -> None:
    """Three appends find the same end: the second overwrites the first, the third
    overwrites the second (the first is not counted again); a shorter record that lands
    on a longer one tears it instead of losing it."""
    t = ConflictTracker(env=None)  # type: ignore[arg-type]
    a, b, c = t.start_append("f"), t.start_append("f"), t.start_append("f")
    assert t.end_append("f", "c1", a, 64, mode="racy") == (0, False)
    assert t.end_append("f", "c2", b, 64, mode="racy") == (1, False)
    assert t.end_append("f", "c3", c, 64, mode="racy") == (1, False)
    d, e = t.start_append("f"), t.start_append("f")
    assert t.end_append("f", "c1", d, 128, mode="racy") == (0, False)
    assert t.end_append("f", "c2", e, 64, mode="racy") == (0, True)


def test_o_append_is_atomic_on_one_kernel_and_per_client_across_nfs() -> None:
    """O_APPEND on one kernel never overwrites; across NFS clients a client's own
    appends follow each other, another client's land on the end it found first."""
    t = ConflictTracker(env=None)  # type: ignore[arg-type]
    a, b = t.start_append("f"), t.start_append("f")
    assert t.end_append("f", "c1", a, 64, mode="atomic") == (0, False)
    assert t.end_append("f", "c2", b, 64, mode="atomic") == (0, False)
    a, b, c = t.start_append("g"), t.start_append("g"), t.start_append("g")
    assert t.end_append("g", "c1", a, 64, mode="per_client") == (0, False)
    assert t.end_append("g", "c1", b, 64, mode="per_client") == (0, False)
    assert t.end_append("g", "c2", c, 64, mode="per_client") == (1, False)


def test_appends_forget_records_no_append_in_progress_can_reach() -> None:
    """Once no append that began before them is in progress, appended records are dropped
    from the tracker (a long log keeps no list of every record)."""
    t = ConflictTracker(env=None)  # type: ignore[arg-type]
    for _ in range(1000):
        t.end_append("f", "c1", t.start_append("f"), 64, mode="racy")
    state = t._file("f")
    assert (len(state.appended), state.appended_base, state.append_end) == (0, 1000, 64_000)
    held = t.start_append("f")
    t.end_append("f", "c2", t.start_append("f"), 64, mode="racy")
    assert len(state.appended) == 1  # the held append can still overwrite it
    assert t.end_append("f", "c1", held, 64, mode="racy") == (1, False)
    assert len(state.appended) == 0


def test_unlocked_writers_lose_updates_and_locked_ones_do_not() -> None:
    """Four unlocked replicas lose updates on a volume; with flock or fcntl none are lost."""
    unlocked = run(writers(replicas=4))
    assert unlocked.summary.set_index("storage").loc["volume", "lost_updates"] > 0
    for lock in ("flock", "fcntl"):
        locked = run(writers(replicas=4, lock=lock))
        row = locked.summary.set_index("storage").loc["volume"]
        assert row["lost_updates"] == 0
        assert row["lock_waits"] > 0
        assert locked.records["value"].sum() == increments(locked) == 4 * 40


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    replicas=st.integers(1, 4),
    threads=st.integers(1, 3),
    lock=st.sampled_from(["none", "flock", "fcntl"]),
    think=st.sampled_from(["0 ms", "1 ms", "5 ms"]),
    records=st.integers(1, 4),
    mount=st.sampled_from(["shared:/data", "image", "nas"]),
    seed=st.integers(0, 2**16),
)
def test_increments_are_conserved(
    replicas: int, threads: int, lock: str, think: str, records: int, mount: str, seed: int
) -> None:
    """final values + lost updates == increments performed; one writer or working locks lose
    nothing; nothing is counted twice."""
    data = writers(
        replicas=replicas,
        threads=threads,
        lock=lock,
        think=think,
        records=records,
        mount="nas:" if mount == "nas" else mount,
        count=10,
    )
    result = run(data, seed)
    done = increments(result)
    lost = int(result.ops["lost_updates"].sum())
    assert result.records["value"].sum() + lost == done
    assert (result.ops.loc[result.ops["op"] != "write", "lost_updates"] == 0).all()
    if mount != "nas":  # one kernel serialises writes to a file (inode lock)
        assert not result.ops["torn"].any()
    single_writer = replicas == 1 and threads == 1
    if single_writer or lock != "none":
        assert lost == 0


def test_an_nfs_write_counts_when_the_server_applies_it_not_at_its_commit() -> None:
    """A write to an NFS mount is applied (and seen by every client) when the server
    answers its UNSTABLE WRITE; the COMMIT at close only makes it durable, so the write is
    accounted before its COMMIT. Here one increment's COMMIT takes 20 ms while another
    container, which keeps the file open (no COMMIT), does 8 increments: only the other's
    first write, which lands just after, loses the slow one's update, and increments are
    conserved (counted at the end of its COMMIT, the slow write would overwrite 6 of the
    other's increments, and those would come back with the other's next write: counted
    twice)."""
    data = writers(
        replicas=1,
        think="1 ms",
        mount="nas:",
        count=1,
        remote={"profile": "nfs", "service": "fixed", "server_latency": {"commit": "20 ms"}},
    )
    data["services"]["x"] = {
        "image": "app",
        "volumes": ["nas:/export:/data"],
        "workload": {**data["services"]["w"]["workload"], "count": 8, "keep_open": True},
    }
    result = run(data, 1)
    writes = result.ops[result.ops["op"] == "write"]
    slow = writes[writes["container"] == "w-1"]
    other = writes[writes["container"] == "x-1"]
    # the slow write ends (its COMMIT) after 6 of the other's writes
    assert (other["t_end_s"] < slow["t_end_s"].iloc[0]).sum() == 6
    assert slow["lost_updates"].tolist() == [0]
    assert other["lost_updates"].tolist() == [1, 0, 0, 0, 0, 0, 0, 0]
    assert result.records["value"].tolist() == [8]
    assert result.records["value"].sum() + writes["lost_updates"].sum() == increments(result)


@pytest.mark.parametrize("rate", [5.0, 10.0])
def test_lost_updates_match_the_poisson_closed_form(rate: float) -> None:
    """Two writers with Poisson-spaced read-modify-write cycles of fixed length w on one record:
    a cycle loses the net change that other commits made in its window. Commits arrive at
    rate 2*lambda (Poisson superposition) and each changes the value by 1 - (its own lost
    updates), so L = 2*lambda*w*(1 - L), i.e. L = r / (1 + r) with r = 2*lambda*w."""
    per_cycle = []
    windows = []
    for seed in range(12):
        data = writers(replicas=2, think="10 ms", count=400, rate=f"{rate}/s", mount="image")
        # one record in a tmpfs-like fast store: put it on a volume on tmpfs disk
        data["images"]["app"]["layers"][0]["files"] = {}
        data["volumes"] = {"shared": {}}
        data["sources"] = {"shared": {"files": {"/counters.db": 4096}}}
        data["services"]["w"]["volumes"] = ["shared:/data"]
        data["host"] = {"disk": "tmpfs"}
        result = run(data, seed)
        ops = result.ops
        writes = ops[ops["op"] == "write"]
        reads = ops[ops["op"] == "read"]
        per_cycle.append(writes["lost_updates"].mean())
        windows.append(float(writes["t_end_s"].mean() - reads["t_end_s"].mean()))
    r = 2 * rate * float(np.mean(windows))
    expected = r / (1 + r)
    mean = float(np.mean(per_cycle))
    half = (
        sstats.t.ppf(0.995, len(per_cycle) - 1)
        * np.std(per_cycle, ddof=1)
        / math.sqrt(len(per_cycle))
    )
    assert abs(mean - expected) <= half, (mean, expected, half)
    assert mean == pytest.approx(expected, rel=0.1)


def test_more_writers_and_longer_think_lose_more() -> None:
    """Lost updates grow with the number of writers and with the read-to-write time."""
    lost = {
        (n, think): int(run(writers(replicas=n, think=think, count=60)).ops["lost_updates"].sum())
        for n in (2, 6)
        for think in ("0.5 ms", "4 ms")
    }
    assert lost[(2, "0.5 ms")] < lost[(6, "0.5 ms")]
    assert lost[(2, "0.5 ms")] < lost[(2, "4 ms")]
    assert lost[(6, "0.5 ms")] < lost[(6, "4 ms")]


def test_nfs_locks_cost_round_trips_and_nolock_loses_updates() -> None:
    """On NFS, locks work through the lock manager at a round trip each; under nolock they
    exclude only within a client, and containers on different nodes lose updates."""
    nlm = run(writers(replicas=3, lock="fcntl", mount="nas:", count=30))
    local = run(
        writers(
            replicas=3,
            lock="fcntl",
            mount="nas:",
            count=30,
            remote={"profile": "nfs", "locks": "local"},
        )
    )
    none = run(
        writers(
            replicas=3,
            lock="fcntl",
            mount="nas:",
            count=30,
            remote={"profile": "nfs", "locks": "none"},
        )
    )
    nlm_row = nlm.summary.set_index("storage").loc["distributed_bind"]
    assert nlm_row["lost_updates"] == 0
    locks = nlm.ops[nlm.ops["op"] == "lock"]
    assert (locks["latency_s"] >= 0.5e-3).all()  # at least one round trip to the lock manager
    assert local.summary.set_index("storage").loc["distributed_bind", "lost_updates"] > 0
    none_row = none.summary.set_index("storage").loc["distributed_bind"]
    assert none_row["lock_errors"] == 3 * 30
    assert (none.ops["op"] == "write").sum() == 0  # every update was abandoned


def test_stale_reads_on_nfs_with_files_kept_open() -> None:
    """A reader that keeps the file open reads stale data from its client cache; reopening
    (close-to-open) never does."""
    data = writers(replicas=1, mount="nas:", count=200, think="0 ms")
    data["services"]["w"]["workload"]["think"] = "20 ms"
    reader = {
        "image": "app",
        "volumes": ["nas:/export:/data"],
        "workload": {
            "path": "/data/counters.db",
            "rate": "100/s",
            "count": 400,
            "keep_open": True,
            "ops": [{"op": "read", "size": "4 KiB", "offset": "start"}],
        },
    }
    data["services"]["r"] = reader
    kept = run(data)
    reads = kept.ops[(kept.ops["service"] == "r")]
    assert reads["stale"].sum() > 0
    reader["workload"]["keep_open"] = False
    reopened = run(data)
    assert reopened.ops["stale"].sum() == 0


def test_appends_without_o_append_lose_records() -> None:
    """Appenders that seek to the end and write race on the offset and overwrite whole
    records (lost, not torn: equal sizes); O_APPEND appenders on a local volume lose
    none; O_APPEND across NFS clients does."""

    def appenders(o_append: bool, nfs: bool) -> storsim.Result:
        data = writers(replicas=3, mount="nas:" if nfs else "shared:/data", count=100)
        data["services"]["w"]["workload"] = {
            "path": "/data/log",
            "rate": "200/s",
            "count": 100,
            "o_append": o_append,
            "ops": [{"op": "append", "size": "256 KiB"}],
        }
        return run(data)

    racy = appenders(o_append=False, nfs=False).ops
    assert racy["lost_records"].sum() > 0
    assert racy["torn"].sum() == 0
    local = appenders(o_append=True, nfs=False).ops
    assert local["lost_records"].sum() == local["torn"].sum() == 0
    nfs = appenders(o_append=True, nfs=True).ops
    assert nfs["lost_records"].sum() > 0
    assert nfs["torn"].sum() == 0


def test_lifecycle_counts_lost_and_orphaned_data() -> None:
    """rm loses the writable layer, stop loses tmpfs, and each run's anonymous volume is
    orphaned at rm, while the named volume keeps its data."""
    path = Path(__file__).parents[2] / "scenarios" / "lifecycle.yaml"
    result = storsim.simulate(storsim.load_scenario(path))
    s = result.summary.set_index("storage")
    ops = result.ops
    created = ops[(ops["op"] == "create") & (ops["outcome"] == "ok")]
    by_workload = created.groupby("workload", observed=True)["nbytes"].sum()
    run1 = created[created["t_start_s"] < 20]
    assert s.loc["writable_layer", "data_lost_bytes"] == by_workload["writable layer"] - int(
        created[(created["workload"] == "writable layer") & (created["t_start_s"] >= 20)][
            "nbytes"
        ].sum()
    )
    assert s.loc["volume", "orphaned_volumes"] == 1
    assert s.loc["volume", "orphaned_bytes"] == int(
        run1[run1["workload"] == "anonymous volume"]["nbytes"].sum()
    )
    assert s.loc["volume", "data_lost_bytes"] == 0
    assert s.loc["local_bind", "data_lost_bytes"] == 0
    tmpfs_before_rm = created[(created["workload"] == "tmpfs") & (created["t_start_s"] < 20)]
    assert s.loc["tmpfs", "data_lost_bytes"] == int(tmpfs_before_rm["nbytes"].sum())


# --- against real processes on a real shared directory -----------------------------------


def _increment(path: str, count: int, think_s: float, lock: bool) -> None:
    import fcntl

    for _ in range(count):
        with open(path, "r+b") as handle:
            if lock:
                fcntl.flock(handle, fcntl.LOCK_EX)
            value = int(handle.read() or b"0")
            if think_s:
                time.sleep(think_s)
            handle.seek(0)
            handle.write(b"%012d" % (value + 1))
            handle.flush()
            os.fsync(handle.fileno())
            if lock:
                fcntl.flock(handle, fcntl.LOCK_UN)


def _real_lost(tmp_path: Path, writers_n: int, think_s: float, lock: bool) -> int:
    path = tmp_path / f"counter-{writers_n}-{think_s}-{lock}"
    path.write_bytes(b"%012d" % 0)
    count = 30
    ctx = multiprocessing.get_context("fork")
    procs = [
        ctx.Process(target=_increment, args=(str(path), count, think_s, lock))
        for _ in range(writers_n)
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    return writers_n * count - int(path.read_bytes())


def test_model_agrees_with_real_processes(tmp_path: Path) -> None:
    """Real processes incrementing a shared file under flock lose no update, and without it
    they lose some; the model agrees, and (deterministically) loses more with more writers
    and longer think time. How many updates real processes lose depends on how a loaded
    machine schedules them (4 writers with 6 ms of think time once lost 70, with 2 ms 79),
    so their ordering is a measurement: STORSIM_MEASURE=1 asserts it too, summed over
    five trials."""
    trials = 5 if os.environ.get("STORSIM_MEASURE") else 1
    settings_ = [(2, 0.002, False), (4, 0.002, False), (4, 0.006, False), (4, 0.002, True)]
    real = {key: sum(_real_lost(tmp_path, *key) for _ in range(trials)) for key in settings_}
    model = {
        (n, think, lock): int(
            run(
                writers(
                    replicas=n,
                    think=f"{think * 1000} ms",
                    lock="flock" if lock else "none",
                    count=30,
                )
            )
            .ops["lost_updates"]
            .sum()
        )
        for n, think, lock in settings_
    }
    # what holds whatever the scheduling: flock serialises every read-modify-write
    assert real[(4, 0.002, True)] == 0 == model[(4, 0.002, True)], (real, model)
    # 2 or 4 writers doing 30 unlocked cycles of 2 to 6 ms each overlap: some update is lost
    assert sum(v for (_, _, lock), v in real.items() if not lock) > 0, real
    assert all(v > 0 for (_, _, lock), v in model.items() if not lock), model
    assert model[(2, 0.002, False)] < model[(4, 0.002, False)]
    assert model[(4, 0.002, False)] <= model[(4, 0.006, False)]
    if trials > 1:  # the measurement: the same directions in real processes
        assert real[(2, 0.002, False)] < real[(4, 0.002, False)], real
        assert real[(4, 0.002, False)] <= real[(4, 0.006, False)], real
