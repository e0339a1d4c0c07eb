"""A storsim run in fio's JSON output layout, for the tools that read fio's.

Users who measure storage with ``fio --output-format=json`` have scripts and
dashboards that read its layout; a simulated run written in the same layout goes
through them unchanged, like a translation that keeps the original's page numbers.
:func:`fio_document` writes one fio "job" per workload (per ``numjobs`` clone for fio-made
workloads, or per group with ``group_reporting``) and storage choice, with fio's keys
and value types (checked against fio 3.33's own output, ``tests/interop/data``):

=====================================  =========================================================
fio key                                from storsim's operations (``Result.ops``)
=====================================  =========================================================
``read``                               ``read`` operations that succeeded
``write``                              ``write`` and ``append`` operations that succeeded
``sync``                               ``fsync`` operations (``total_ios``, ``lat_ns``)
``trim``                               zeros (storsim has no trims)
``io_bytes``, ``io_kbytes``            bytes moved (``io_kbytes`` = bytes // 1024)
``runtime``, ``job_runtime``           ms from the job's first operation's start to its last end
                                       (on whatever storage choices: one job's time)
``bw_bytes``, ``bw``, ``iops``         ``io_bytes`` / runtime (``bw`` in KiB/s), I/Os / runtime
``clat_ns``                            latency of each operation, ns: min, max, mean, stddev
                                       (n - 1), N and ``percentile`` at fio's default
                                       percentiles (or the job's ``percentile_list``),
                                       exact (fio reads them from a histogram: within ~1 %)
``lat_ns``                             the same (a synchronous call has no submission latency)
``slat_ns``                            zeros, N 0 (as fio reports for synchronous engines)
``bw_*``, ``iops_*`` (min, max, mean,  over 500 ms windows (fio's ``bwavgtime`` and
dev, samples, agg)                     ``iopsavgtime``); ``bw_agg``: % of the group's bandwidth
``iodepth_level``                      % of I/Os by requests outstanding when each was issued
``latency_ns``/``_us``/``_ms``         % of I/Os by latency bucket (fio's bucket bounds)
``error``                              errno of the job's first failed operation (fio stops there;
                                       storsim goes on, and counts the failures in its own --json)
``job options``                        the fio job's options, plus ``storsim_service``,
                                       ``storsim_storage``, ``storsim_placement``
CPU, context switches, ``disk_util``   zeros and an empty list (not modelled)
=====================================  =========================================================

Operations fio does not report (stat, open, create, rename, locks...) are left out; a
run's every operation is in storsim's own ``--json`` and report.
"""

from __future__ import annotations

import errno as errno_names
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from storsim.interop.fio import DEFAULT_PERCENTILES, FioJob

__all__ = ["WINDOW_S", "fio_document", "placement_results", "run_document"]

#: fio's bandwidth and IOPS sampling window (bwavgtime, iopsavgtime: 500 ms).
WINDOW_S = 0.5
_READS = ("read",)
_WRITES = ("write", "append")
_SYNCS = ("fsync",)
_DEPTH_KEYS = ("1", "2", "4", "8", "16", "32", ">=64")
_BATCH_KEYS = ("0", "4", "8", "16", "32", "64", ">=64")
_NS_KEYS = (2, 4, 10, 20, 50, 100, 250, 500, 750, 1000)
_MS_KEYS = (2, 4, 10, 20, 50, 100, 250, 500, 750, 1000, 2000)
_CLONE = re.compile(r"^(.*)\[\d+\]$")


def placement_results(scenario: Any, *, seed: int | None = None) -> dict[str, Any]:
    """Run each placement of a scenario's ``compare:`` section and keep its operations.

    ``storsim.simulate`` keeps only a summary row per placement; fio's layout needs each
    operation, so each placement is simulated again on its own (same seed).

    Returns:
        placement label -> :class:`storsim.Result`.
    """
    from storsim.compare import placements
    from storsim.simulation import simulate

    return {
        label: simulate(variant, seed=seed, compare=False)
        for label, variant in placements(scenario)
    }


def run_document(result: Any, *, max_ops: int | None = None) -> dict[str, Any]:
    """``storsim run --output-format fio-json``: a run and its placements in fio's layout.

    The jobs of the scenario's ``{fio: ...}`` workloads (:attr:`storsim.Scenario.fio_jobs`)
    are named as fio names them; every other workload is a job of its own. Each placement
    of a ``compare:`` section is simulated again with the same seed (fio's layout needs
    its every operation) and its jobs follow, with ``storsim_placement`` in their options.

    Args:
        result: a :class:`storsim.Result` simulated with ``ops="full"``.
        max_ops: the work budget of each placement's run (as ``simulate`` takes it).

    Returns:
        fio's JSON document (:func:`fio_document`).

    Raises:
        ValueError: the result kept no per-operation rows (``ops="summary"``).
    """
    from storsim.compare import placements as compare_placements
    from storsim.simulation import simulate

    scenario = result.scenario
    jobs = [job for service_jobs in scenario.fio_jobs.values() for job in service_jobs]
    others = {}
    if scenario.compare is not None and result.ops_mode == "full":
        others = {
            label: simulate(variant, seed=result.seed, compare=False, max_ops=max_ops)
            for label, variant in compare_placements(scenario)
        }
    return fio_document(result, jobs=jobs or None, placements=others)


def fio_document(
    result: Any,
    *,
    jobs: Sequence[FioJob] | None = None,
    placements: Mapping[str, Any] | None = None,
    global_options: Mapping[str, str] | None = None,
    version: str | None = None,
) -> dict[str, Any]:
    """A run's operations in fio's ``--output-format=json`` layout.

    Args:
        result: a :class:`storsim.Result` simulated with ``ops="full"``.
        jobs: the fio jobs the workloads came from (:attr:`FioWorkloads.jobs`): their
            names, clones, reporting groups, options and percentiles. Without them each
            (service, workload) is a job of its own.
        placements: more results by placement label (:func:`placement_results`): their
            jobs follow, with ``storsim_placement`` in their job options.
        global_options: fio's ``"global options"`` (the job file's ``[global]``).
        version: the ``"fio version"`` text (default ``storsim-VERSION``).

    Returns:
        fio's JSON document: ``"fio version"``, ``"timestamp"``, ``"timestamp_ms"``,
        ``"time"``, ``"global options"``, ``"jobs"``, ``"disk_util"``. Simulated runs
        have no wall-clock time: the timestamps are 0 and ``"time"`` is empty, so that
        the same scenario and seed give the same document.

    Raises:
        ValueError: the result kept no per-operation rows (``ops="summary"``).
    """
    if version is None:
        from storsim import __version__

        version = f"storsim-{__version__}"
    runs: list[tuple[str | None, Any]] = [(None, result)]
    runs += list((placements or {}).items())
    entries: list[dict[str, Any]] = []
    for label, run in runs:
        if run.ops_mode != "full":
            raise ValueError("fio's layout needs every operation: simulate with ops='full'")
        entries.extend(_jobs_of(run, jobs, label))
    return {
        "fio version": version,
        "timestamp": 0,
        "timestamp_ms": 0,
        "time": "",
        "global options": dict(global_options or {}),
        "jobs": entries,
        "disk_util": [],
    }


def _jobs_of(result: Any, jobs: Sequence[FioJob] | None, label: str | None) -> list[dict[str, Any]]:
    ops = result.ops
    if not len(ops):
        return []
    ops = ops.assign(
        service=ops["service"].astype(str),
        workload=ops["workload"].astype(str),
        op=ops["op"].astype(str),
        storage=ops["storage"].astype(str),
        outcome=ops["outcome"].astype(str),
    )
    groups: list[tuple[dict[str, Any], pd.DataFrame]] = []
    if jobs:
        known = {w: job for job in jobs for w in job.workloads}
        for job in jobs:
            members = [job.workloads] if job.group_reporting else [[w] for w in job.workloads]
            for names in members:
                mine = ops[ops["workload"].isin(names)]
                groups.append(({"job": job, "name": job.name}, mine))
        rest = ops[~ops["workload"].isin(list(known))]
    else:
        rest = ops
    for (_, workload), mine in rest.groupby(["service", "workload"], sort=False):
        match = _CLONE.match(str(workload))
        groups.append(({"job": None, "name": match.group(1) if match else str(workload)}, mine))
    out: list[dict[str, Any]] = []
    for groupid, (meta, mine) in enumerate(groups):
        if not len(mine):
            continue
        # a job's runtime is the job's, whatever storage choices its I/O went to
        t0 = float(mine["t_start_s"].min())
        span = float(mine["t_end_s"].max()) - t0
        entries = [
            _job(meta["name"], meta["job"], groupid, part, str(storage), label, t0, span)
            for storage, part in mine.groupby("storage", sort=False)
        ]
        total = sum(e["read"]["bw"] + e["write"]["bw"] for e in entries)
        for e in entries:
            share = 100.0 * (e["read"]["bw"] + e["write"]["bw"]) / total if total else 0.0
            for direction in ("read", "write"):
                e[direction]["bw_agg"] = share if e[direction]["total_ios"] else 0.0
        out.extend(entries)
    return out


def _job(
    name: str,
    job: FioJob | None,
    groupid: int,
    ops: pd.DataFrame,
    storage: str,
    placement: str | None,
    t0: float,
    span: float,
) -> dict[str, Any]:
    runtime_ms = round(span * 1e3)
    ok = ops[ops["outcome"] == "ok"]
    percentiles = job.percentiles if job is not None else DEFAULT_PERCENTILES
    reads = ok[ok["op"].isin(_READS)]
    writes = ok[ok["op"].isin(_WRITES)]
    syncs = ok[ok["op"].isin(_SYNCS)]
    data = ok[ok["op"].isin(_READS + _WRITES)]
    failed = ops[ops["outcome"] != "ok"]
    error = 0
    if len(failed):
        error = int(getattr(errno_names, str(failed.iloc[0]["outcome"]), 0) or 0)
    options = dict(job.options) if job is not None else {}
    options["storsim_service"] = str(ops["service"].iloc[0])
    options["storsim_storage"] = storage
    if placement is not None:
        options["storsim_placement"] = placement
    iodepth = job.iodepth if job is not None else 1
    return {
        "jobname": name,
        "groupid": groupid,
        "error": error,
        "eta": 0,
        "elapsed": math.ceil(span) if span > 0 else 0,
        "job options": options,
        "read": _direction(reads, t0, span, runtime_ms, percentiles),
        "write": _direction(writes, t0, span, runtime_ms, percentiles),
        "trim": _direction(ok.iloc[0:0], t0, span, 0, percentiles),
        "sync": {
            "total_ios": len(syncs),
            "lat_ns": _latency(_ns(syncs), percentiles),
        },
        "job_runtime": runtime_ms,
        "usr_cpu": 0.0,
        "sys_cpu": 0.0,
        "ctx": 0,
        "majf": 0,
        "minf": 0,
        "iodepth_level": _depths(data),
        "iodepth_submit": _batches(len(data)),
        "iodepth_complete": _batches(len(data)),
        "latency_ns": _buckets(_ns(data), 1, _NS_KEYS, len(data), last=False),
        "latency_us": _buckets(_ns(data), 1_000, _NS_KEYS, len(data), last=False),
        "latency_ms": _buckets(_ns(data), 1_000_000, _MS_KEYS, len(data), last=True),
        "latency_depth": iodepth,
        "latency_target": 0,
        "latency_percentile": 100.0,
        "latency_window": 0,
    }


def _ns(ops: pd.DataFrame) -> npt.NDArray[np.int64]:
    values: npt.NDArray[np.int64] = np.rint(ops["latency_s"].to_numpy() * 1e9).astype(np.int64)
    return values


def _stats(ns: npt.NDArray[np.int64]) -> dict[str, Any]:
    n = len(ns)
    if n == 0:
        return {"min": 0, "max": 0, "mean": 0.0, "stddev": 0.0, "N": 0}
    # fio's stddev is the sample's (n - 1), 0 for one sample
    std = float(np.std(ns, ddof=1)) if n > 1 else 0.0
    return {
        "min": int(ns.min()),
        "max": int(ns.max()),
        "mean": float(ns.mean()),
        "stddev": std,
        "N": n,
    }


def _latency(ns: npt.NDArray[np.int64], percentiles: Sequence[float]) -> dict[str, Any]:
    out = _stats(ns)
    if len(ns):
        # nearest rank: the smallest latency with at least p % of the I/Os at or below it,
        # as fio reads its histogram (it walks the buckets until p % are counted)
        values = np.percentile(ns, list(percentiles), method="inverted_cdf")
        out["percentile"] = {f"{p:f}": int(v) for p, v in zip(percentiles, values, strict=True)}
    return out


def _direction(
    ops: pd.DataFrame, t0: float, span: float, runtime_ms: int, percentiles: Sequence[float]
) -> dict[str, Any]:
    n = len(ops)
    io_bytes = int(ops["nbytes"].sum()) if n else 0
    runtime = runtime_ms if n else 0
    bw_bytes = int(io_bytes * 1000 / runtime) if runtime else 0
    ns = _ns(ops)
    bw_samples, iops_samples = _windows(ops, t0, span)
    return {
        "io_bytes": io_bytes,
        "io_kbytes": io_bytes // 1024,
        "bw_bytes": bw_bytes,
        "bw": bw_bytes // 1024,
        "iops": n * 1000 / runtime if runtime else 0.0,
        "runtime": runtime,
        "total_ios": n,
        "short_ios": 0,
        "drop_ios": 0,
        "slat_ns": _stats(np.zeros(0, dtype=np.int64)),
        "clat_ns": _latency(ns, percentiles),
        "lat_ns": _stats(ns),
        "bw_min": int(bw_samples.min()) if len(bw_samples) else 0,
        "bw_max": int(bw_samples.max()) if len(bw_samples) else 0,
        "bw_agg": 0.0,
        "bw_mean": float(bw_samples.mean()) if len(bw_samples) else 0.0,
        "bw_dev": float(np.std(bw_samples, ddof=1)) if len(bw_samples) > 1 else 0.0,
        "bw_samples": len(bw_samples),
        "iops_min": int(iops_samples.min()) if len(iops_samples) else 0,
        "iops_max": int(iops_samples.max()) if len(iops_samples) else 0,
        "iops_mean": float(iops_samples.mean()) if len(iops_samples) else 0.0,
        "iops_stddev": float(np.std(iops_samples, ddof=1)) if len(iops_samples) > 1 else 0.0,
        "iops_samples": len(iops_samples),
    }


def _windows(
    ops: pd.DataFrame, t0: float, span: float
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """KiB/s and I/Os per second in each whole 500 ms window of the job, by completion."""
    windows = int(span // WINDOW_S) if span > 0 else 0
    if not len(ops) or windows == 0:
        empty = np.zeros(0, dtype=np.float64)
        return empty, empty
    index = ((ops["t_end_s"].to_numpy() - t0) // WINDOW_S).astype(np.int64)
    keep = index < windows
    nbytes = np.bincount(index[keep], weights=ops["nbytes"].to_numpy()[keep], minlength=windows)
    counts = np.bincount(index[keep], minlength=windows).astype(np.float64)
    bw: npt.NDArray[np.float64] = np.floor(nbytes / WINDOW_S / 1024)
    iops: npt.NDArray[np.float64] = np.floor(counts / WINDOW_S)
    return bw, iops


def _depths(ops: pd.DataFrame) -> dict[str, float]:
    """% of I/Os by how many of the job's I/Os were outstanding when each was issued
    (itself included), in fio's buckets 1, 2-3, 4-7, ..., >= 64."""
    out = dict.fromkeys(_DEPTH_KEYS, 0.0)
    n = len(ops)
    if not n:
        return out
    starts = np.sort(ops["t_start_s"].to_numpy())
    ends = np.sort(ops["t_end_s"].to_numpy())
    issued = ops["t_start_s"].to_numpy()
    # started at or before t, minus ended at or before t (a zero-length I/O ends at once)
    depth = np.searchsorted(starts, issued, side="right") - np.searchsorted(
        ends, issued, side="right"
    )
    depth = np.maximum(depth, 1)
    bucket = np.minimum(np.floor(np.log2(depth)).astype(np.int64), len(_DEPTH_KEYS) - 1)
    counts = np.bincount(bucket, minlength=len(_DEPTH_KEYS))
    for key, count in zip(_DEPTH_KEYS, counts, strict=True):
        out[key] = 100.0 * float(count) / n
    return out


def _batches(n: int) -> dict[str, float]:
    """Requests per submission and completion call: one at a time (fio's "4" bucket
    holds 1 to 4), as a synchronous engine reports."""
    out = dict.fromkeys(_BATCH_KEYS, 0.0)
    if n:
        out["4"] = 100.0
    return out


def _buckets(
    ns: npt.NDArray[np.int64], unit_ns: int, keys: Sequence[int], total: int, *, last: bool
) -> dict[str, float]:
    """% of I/Os per fio latency bucket: key K holds latencies below K units and at or
    above the previous key (fio stat.c io_u_mark_lat_*: 0-1 -> "2", 2-3 -> "4", ...)."""
    out = {str(k): 0.0 for k in keys}
    if last:
        out[f">={keys[-1]}"] = 0.0
    if not total:
        return out
    low = unit_ns if unit_ns > 1 else 0
    high = unit_ns * 1000 if not last else None
    values = ns // unit_ns
    in_range = (ns >= low) & ((ns < high) if high is not None else True)
    values = values[in_range]
    edges = np.array(keys)
    index = np.searchsorted(edges, values, side="right")
    counts = np.bincount(index, minlength=len(keys) + 1)
    for i, k in enumerate(keys):
        out[str(k)] = 100.0 * float(counts[i]) / total
    if last:
        out[f">={keys[-1]}"] = 100.0 * float(counts[len(keys)]) / total
    return out
