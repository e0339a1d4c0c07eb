"""Series: the storage choices of a run, split where one name hides two backends.

Like a timetable that lists "bus 7" twice when two companies run it on different roads:
an NFS export and an S3 bucket mounted through FUSE are both a ``distributed_bind``, but
one answers in half a millisecond and the other in a tenth of a second, so a table or a
plot that keeps them in one row or curve averages two different things. A *series* is a
storage choice, named with its remote and the remote's profile where it has one:
``"distributed_bind (nas, nfs)"``, ``"distributed_bind (bucket, s3-fuse)"``; every other
storage choice is its own series, named as it is.

The records name the storage choice, not the remote, so the remote of an operation is
found from the mount table (``Result.mounts``): the mount of the operation's container
whose target is the longest prefix of its path. With ``ops="summary"`` there are no
rows: the per-service totals are split instead, which is exact when each remote's
operations come from services of their own (the shipped scenarios) and otherwise keeps
the storage choice whole.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from storsim.stats.summary import SUMMARY_COLUMNS, summarize_ops, summary_table

__all__ = [
    "REMOTE_STORAGE",
    "mount_series",
    "remote_profiles",
    "series_labels",
    "series_name",
    "series_summary",
]

#: The storage choice whose mounts have a remote server.
REMOTE_STORAGE = "distributed_bind"


def series_name(storage: str, remote: str | None, profile: str | None) -> str:
    """The name of a series: ``"distributed_bind (nas, nfs)"``, or the storage choice."""
    if remote is None:
        return storage
    return f"{storage} ({remote}, {profile})" if profile else f"{storage} ({remote})"


def remote_profiles(scenario: Any) -> dict[str, str]:
    """A scenario's remotes: name -> profile (``{"nas": "nfs"}``)."""
    return {name: spec.profile for name, spec in scenario.host.remotes.items()}


def _remote_of(source: Any, remotes: Mapping[str, str]) -> str | None:
    """The remote a bind source names (``"nas:/exports/x"`` -> ``"nas"``), if declared."""
    if not isinstance(source, str) or ":" not in source:
        return None
    name = source.split(":", 1)[0]
    return name if name in remotes else None


def mount_series(mounts: pd.DataFrame, remotes: Mapping[str, str]) -> pd.DataFrame:
    """The distributed mounts of a run with their series name.

    Args:
        mounts: ``Result.mounts`` (``container``, ``target``, ``storage``, ``source``).
        remotes: remote name -> its profile (``{"nas": "nfs"}``).

    Returns:
        Columns ``container``, ``service``, ``target``, ``series``: one row per
        distributed mount of a container (a container run twice is listed once).
    """
    columns = ["container", "service", "target", "series"]
    if mounts.empty:
        return pd.DataFrame(columns=columns)
    rows = []
    for m in mounts[mounts["storage"] == REMOTE_STORAGE].to_dict("records"):
        remote = _remote_of(m["source"], remotes)
        container = str(m["container"])
        rows.append(
            {
                "container": container,
                # containers are named SERVICE-REPLICA (storsim.simulation)
                "service": container.rsplit("-", 1)[0],
                "target": str(m["target"]),
                "series": series_name(REMOTE_STORAGE, remote, remotes.get(remote or "")),
            }
        )
    return pd.DataFrame(rows, columns=columns).drop_duplicates(ignore_index=True)


def series_labels(ops: pd.DataFrame, mounts: pd.DataFrame, remotes: Mapping[str, str]) -> pd.Series:
    """The series of each operation row.

    Args:
        ops: operation records (``container``, ``path``, ``storage``).
        mounts: ``Result.mounts``.
        remotes: remote name -> its profile.

    Returns:
        A string Series aligned with ``ops``: the storage choice, or for a
        ``distributed_bind`` row the series of the mount that served it.
    """
    labels = ops["storage"].astype(str).to_numpy(dtype=object).copy()
    remote = labels == REMOTE_STORAGE
    table = mount_series(mounts, remotes)
    if remote.any() and len(table):
        if table["series"].nunique() == 1:  # the common case: one remote, no matching
            labels[remote] = table["series"].iloc[0]
        else:
            containers = ops["container"].astype(str).to_numpy(dtype=object)
            paths = ops["path"].astype(str)
            todo = remote.copy()
            # longest target first: a mount inside another mount wins for its paths
            order = table["target"].str.len().sort_values(ascending=False).index
            for m in table.loc[order].to_dict("records"):
                target = m["target"].rstrip("/")
                under = (paths == m["target"]) | paths.str.startswith(target + "/")
                mine = todo & (containers == m["container"]) & under.to_numpy()
                labels[mine] = m["series"]
                todo &= ~mine
    return pd.Series(labels, index=ops.index, dtype=object, name="series")


def series_summary(
    result: Any,
    remotes: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """The summary of a run per series: ``Result.summary`` with remotes told apart.

    Args:
        result: a :class:`storsim.Result`.
        remotes: remote name -> profile; by default the scenario's ``host.remotes``.

    Returns:
        ``series`` then :data:`SUMMARY_COLUMNS` (``storage`` is the series' storage
        choice), in storage-choice order. With every row kept (``ops="full"``) it is
        exact; with streaming totals, a storage choice is split only where each of its
        series comes from services of their own, else it stays one row, named by the
        storage choice.
    """
    if remotes is None:
        remotes = remote_profiles(result.scenario)
    summary: pd.DataFrame = result.summary
    if not (summary["storage"] == REMOTE_STORAGE).any():
        return _with_series(summary, summary["storage"].astype(str).tolist())
    if result.ops_mode == "full":
        ops = result.ops
        labels = series_labels(ops, result.mounts, remotes)
        span = result.sim_time_s if result.sim_time_s > 0 else None
        table = summarize_ops(ops.assign(storage=labels), result.events, span_s=span)
        return _with_series(table, table["storage"].tolist())
    return _streamed_series(result, summary, mount_series(result.mounts, remotes))


def _streamed_series(result: Any, summary: pd.DataFrame, table: pd.DataFrame) -> pd.DataFrame:
    """:func:`series_summary` from the per-service totals (no operation rows kept)."""
    names = sorted(set(table["series"]))
    services = {name: set(table.loc[table["series"] == name, "service"]) for name in names}
    by_service: pd.DataFrame = result.by_service
    remote_rows = by_service[by_service["storage"] == REMOTE_STORAGE]
    alone = all(len(services[name]) == 1 for name in names)  # one service per series
    owners = [svc for name in names for svc in services[name]]
    if len(names) == 1 or not alone or len(set(owners)) < len(owners):
        single = names[0] if len(names) == 1 else REMOTE_STORAGE
        labels = [single if s == REMOTE_STORAGE else str(s) for s in summary["storage"]]
        return _with_series(summary, labels)
    rows: dict[str, dict[str, Any]] = {
        str(r["storage"]): {str(k): v for k, v in r.items()} for r in summary.to_dict("records")
    }
    del rows[REMOTE_STORAGE]
    for name in names:
        mine = remote_rows[remote_rows["service"].isin(services[name])]
        if len(mine):
            rows[name] = {c: mine.iloc[0][c] for c in SUMMARY_COLUMNS} | {"storage": name}
    frame = summary_table(rows, result.events)
    return _with_series(frame, frame["storage"].astype(str).tolist())


def _with_series(table: pd.DataFrame, labels: list[str]) -> pd.DataFrame:
    """``table`` with a ``series`` column first and ``storage`` set to each's choice."""
    out = table.copy()
    out["storage"] = [label.split(" (", 1)[0] for label in labels]
    out.insert(0, "series", np.asarray(labels, dtype=object))
    return out.reset_index(drop=True)
