"""Placement names: what each storage choice means, in words a reader cannot mistake.

Like the legend of a floor plan, which says what a dashed line is before anyone reads
the plan: the names ``image_layer`` and ``writable_layer`` are exact but terse, and as
placements of a compared path they mean something a reader may not guess. The
``image_layer`` placement is the path *shipped in the image*, so that the first write of
each file copies it up into the container's writable layer; the ``writable_layer``
placement is the same files *created by the container at run time*, with no copy-up and
lost at ``docker rm``. This module writes those meanings once (:data:`PLACEMENTS` for a
compared path, :data:`STORAGES` for the storage choices of a run as written) and names a
placement of a remote with its server and profile (:func:`placement_label`); the verdict,
the tables, the JSON and the HTML report all use these words, and the README the same.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from storsim.stats.series import remote_profiles, series_name

__all__ = [
    "PLACEMENTS",
    "STORAGES",
    "describe_placement",
    "describe_storage",
    "placement_label",
]

#: What a placement of ``compare.path`` on each storage choice means.
PLACEMENTS: Mapping[str, str] = {
    "image_layer": "shipped in the image; the first write of each file copies it whole "
    "into the writable layer (copy-up)",
    "writable_layer": "created by the container at run time in its writable layer (no "
    "copy-up); lost at docker rm",
    "local_bind": "a host directory bind-mounted at the path, holding the same files; "
    "outlives the container",
    "distributed_bind": "a remote export bind-mounted at the path, holding the same files; "
    "network round trips; outlives the container",
    "volume": "a named volume, filled with the image's files when first mounted; "
    "outlives the container",
    "tmpfs": "memory, filled with the same files at start; lost at docker stop",
}

#: What each storage choice holds in a run as written.
STORAGES: Mapping[str, str] = {
    "image_layer": "files read from the image's read-only layers",
    "writable_layer": "the container's own layer: files created at run time, and image "
    "files after their copy-up; lost at docker rm",
    "local_bind": "a host directory or file bind-mounted into the container",
    "distributed_bind": "a remote export (NFS, SMB, S3 through FUSE) bind-mounted",
    "volume": "a Docker volume: outlives the container",
    "tmpfs": "memory: lost at docker stop",
}


def _server(placement: str, scenario: Any) -> tuple[str, str | None]:
    """A placement's storage choice and, for ``distributed_bind``, its server: the one
    after the colon, else the one :func:`storsim.simulation.placement_variant` used
    (``compare.server``'s only entry, or the first remote declared)."""
    choice, _, server = placement.partition(":")
    if choice != "distributed_bind":
        return choice, None
    if not server:
        compare = scenario.compare
        given = list(compare.server or []) if compare is not None else []
        server = given[0] if given else next(iter(scenario.host.remotes), "")
    return choice, server or None


def placement_label(placement: str, scenario: Any) -> str:
    """The display name of a placement: ``"distributed_bind:nas"`` (or a lone
    ``"distributed_bind"`` on nas) -> ``"distributed_bind (nas, nfs)"``.

    Args:
        placement: a ``placement`` of ``Result.comparison``.
        scenario: the scenario it was compared in.
    """
    choice, server = _server(placement, scenario)
    if server is None:
        return placement
    return series_name(choice, server, remote_profiles(scenario).get(server))


def describe_placement(placement: str, scenario: Any) -> str:
    """What a placement of the compared path means (:data:`PLACEMENTS`), with its remote."""
    choice, server = _server(placement, scenario)
    text = PLACEMENTS.get(choice, "")
    if server is not None:
        profile = remote_profiles(scenario).get(server, "?")
        text = text.replace("a remote export", f"an export of {server} ({profile})")
    return text


def describe_storage(series: str) -> str:
    """What a storage choice (or a series of one) holds in a run (:data:`STORAGES`);
    a series of a remote names it: ``"distributed_bind (nas, nfs)"`` -> ``"an export of
    nas (nfs) bind-mounted"``."""
    choice, _, remote = series.partition(" (")
    if choice == "distributed_bind" and remote:
        server, _, profile = remote.rstrip(")").partition(", ")
        return f"an export of {server}" + (f" ({profile})" if profile else "") + " bind-mounted"
    return STORAGES.get(choice, "")
