"""Diagnostics: where a run's errors come from, and which workloads stopped working.

Like a mechanic reading the fault log of a car: "misfire x5,894" alone says little;
"misfire x5,894, cylinder 3, since the cold start" says where to look. These tables
take the rows of every operation (``Result.ops``, kept with ``ops="full"``) and say,
for each group of failures, which workload and which paths they come from
(:func:`error_sources`), and for each workload in each container whether it made any
progress after its first error (:func:`workload_health`).
"""

from __future__ import annotations

import posixpath

import numpy as np
import pandas as pd

from storsim.names import LOCK
from storsim.stats.summary import storage_order

__all__ = [
    "ERROR_SOURCE_COLUMNS",
    "HEALTH_COLUMNS",
    "error_sources",
    "path_pattern",
    "workload_health",
]

#: Columns of :func:`error_sources`.
ERROR_SOURCE_COLUMNS: tuple[str, ...] = (
    "storage", "errno", "service", "workload", "op", "count", "paths", "path", "first_t_s",
)  # fmt: skip

#: Columns of :func:`workload_health`.
HEALTH_COLUMNS: tuple[str, ...] = (
    "container", "service", "workload", "ops", "errors", "first_error_t_s",
    "first_errno", "first_error_path", "ok_after_error", "failed_after_error",
)  # fmt: skip

_SAMPLE = 200  # paths looked at for a group's pattern: templated paths never repeat


def path_pattern(paths: list[str]) -> str:
    """One path, or the deepest directory they share followed by ``/...``.

    ``["/var/lib/pg/wal/0001", "/var/lib/pg/wal/0002"] -> "/var/lib/pg/wal/..."``.
    """
    unique = sorted(set(paths))
    if len(unique) == 1:
        return unique[0]
    common = posixpath.commonpath(unique) if unique else "/"
    return common.rstrip("/") + "/..."


def error_sources(ops: pd.DataFrame) -> pd.DataFrame:
    """Failed operations per storage choice, errno, workload and operation.

    Args:
        ops: operation records (``Result.ops``); lock calls count with ``op == "lock"``.

    Returns:
        :data:`ERROR_SOURCE_COLUMNS`: the count, how many distinct paths failed, their
        pattern (:func:`path_pattern`) and the time of the first failure (simulated
        seconds); the largest groups first within each storage choice and errno.
    """
    failed = ops[ops["outcome"] != "ok"]
    if failed.empty:
        return pd.DataFrame(columns=list(ERROR_SOURCE_COLUMNS))
    keys = ["storage", "outcome", "service", "workload", "op"]
    rows = []
    for key, g in failed.groupby(keys, observed=True, sort=False):
        storage, errno, service, workload, op = (str(k) for k in key)
        paths = g["path"].astype(str)
        rows.append(
            {
                "storage": storage,
                "errno": errno,
                "service": service,
                "workload": workload,
                "op": op,
                "count": len(g),
                "paths": int(paths.nunique()),
                "path": path_pattern(paths.head(_SAMPLE).tolist() + paths.tail(1).tolist()),
                "first_t_s": float(g["t_start_s"].min()),
            }
        )
    frame = pd.DataFrame(rows, columns=list(ERROR_SOURCE_COLUMNS))
    frame["_order"] = [storage_order(s) for s in frame["storage"]]
    frame = frame.sort_values(["_order", "errno", "count"], ascending=[True, True, False])
    return frame.drop(columns="_order").reset_index(drop=True)


def workload_health(ops: pd.DataFrame) -> pd.DataFrame:
    """For each workload in each container: its errors, and what it did after the first.

    Lock calls count as the workload's operations here (a refused lock abandons an
    iteration just as a failed write does).

    Args:
        ops: operation records (``Result.ops``).

    Returns:
        :data:`HEALTH_COLUMNS`, one row per (container, workload) that had an error:
        ``ok_after_error`` operations succeeded after the first failure began, and
        ``failed_after_error`` failed (the first one included). A workload with
        ``ok_after_error == 0`` never recovered: it stopped working at its first error.
    """
    failed_rows = ops["outcome"] != "ok"
    if not failed_rows.any():
        return pd.DataFrame(columns=list(HEALTH_COLUMNS))
    keys = ["container", "service", "workload"]
    rows = []
    for key, g in ops.groupby(keys, observed=True, sort=True):
        bad = (g["outcome"] != "ok").to_numpy()
        if not bad.any():
            continue
        container, service, workload = (str(k) for k in key)
        t = g["t_start_s"].to_numpy(dtype=float)
        first = int(np.argmin(np.where(bad, t, np.inf)))
        after = t >= t[first]
        rows.append(
            {
                "container": container,
                "service": service,
                "workload": workload,
                "ops": int((g["op"] != LOCK).sum()),
                "errors": int(bad.sum()),
                "first_error_t_s": float(t[first]),
                "first_errno": str(g["outcome"].iloc[first]),
                "first_error_path": str(g["path"].iloc[first]),
                "ok_after_error": int((after & ~bad).sum()),
                "failed_after_error": int((after & bad).sum()),
            }
        )
    return pd.DataFrame(rows, columns=list(HEALTH_COLUMNS))
