"""The host of a scenario: its local disk, the remote servers it mounts, overlay2's options.

Like the spec sheet of a server before anything is deployed on it, ``host:`` names the
hardware the containers share: a disk profile (``nvme``, ``ssd``, ``hdd``...) with some
of its figures overridden, the page cache, the per-syscall cost, and the remote storage
servers that distributed bind mounts point at (``nas:/export``).
"""

# ruff: noqa: RUF012  (pydantic copies a mutable field default for each instance; ruff
# exempts pydantic models only when BaseModel is a base class within the same file)

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, field_validator, model_validator

from storsim.names import Op
from storsim.scenario.fields import Bandwidth, Duration, Size, Spec

__all__ = ["DiskSpec", "HostSpec", "OverlaySpec", "RemoteSpec"]


def _profile_names(kind: str) -> tuple[str, ...]:
    # Imported at first use: the profiles belong to the device layer, which the scenario
    # format does not load at import time (it imports only the shared small modules).
    from storsim.devices import profiles

    table = profiles.DISK_PROFILES if kind == "disk" else profiles.REMOTE_PROFILES
    return tuple(table)


def _known(value: str, kind: str) -> str:
    names = _profile_names(kind)
    if value not in names:
        raise ValueError(f"must be one of {', '.join(names)}")
    return value


class DiskSpec(Spec):
    """The host's local disk: a profile, optionally with some of its figures overridden."""

    profile: str = "nvme"
    latency: Duration | None = None
    read_bandwidth: Bandwidth | None = None
    write_bandwidth: Bandwidth | None = None
    queue_depth: Annotated[int, Field(gt=0)] | None = None
    service: Literal["fixed", "exponential"] | None = None

    @field_validator("profile")
    @classmethod
    def _known_profile(cls, value: str) -> str:
        return _known(value, "disk")


class RemoteSpec(Spec):
    """A remote storage server that distributed bind mounts point at (``name:/export``)."""

    profile: str
    rtt: Duration | None = None
    bandwidth: Bandwidth | None = None
    server_queue_depth: Annotated[int, Field(gt=0)] | None = None
    server_bandwidth: Bandwidth | None = None
    attr_cache_min: Duration | None = None
    attr_cache_max: Duration | None = None
    unsupported: list[Op] | None = None
    # what flock/fcntl do: "nlm" (NFS lock manager) or "brl" (SMB byte-range locks) lock
    # on the server; "local" (NFS nolock, CIFS nobrl) only on the client; "none" fails
    locks: Literal["nlm", "brl", "local", "none"] | None = None

    @field_validator("profile")
    @classmethod
    def _known_profile(cls, value: str) -> str:
        return _known(value, "remote")

    @model_validator(mode="after")
    def _cache_order(self) -> RemoteSpec:
        # one bound given: the other is the profile's (NFS: acregmin 3 s, acregmax 60 s)
        from storsim.devices import profiles

        profile = profiles.REMOTE_PROFILES[self.profile]
        low = profile.attr_cache_min_s if self.attr_cache_min is None else self.attr_cache_min
        high = profile.attr_cache_max_s if self.attr_cache_max is None else self.attr_cache_max
        if low > high:
            raise ValueError(
                f"attr_cache_min must be <= attr_cache_max (got {low:g} s > {high:g} s; "
                f"profile {self.profile}: {profile.attr_cache_min_s:g} s to "
                f"{profile.attr_cache_max_s:g} s)"
            )
        return self


class OverlaySpec(Spec):
    """overlay2 mount options and limits."""

    metacopy: bool = False
    redirect_dir: bool = False
    # Docker's overlay2 refuses more than 128 lower layers [D8]; the kernel allows 500 [K2].
    max_layers: Annotated[int, Field(gt=0, le=500)] = 128


def _disk_shorthand(value: Any) -> Any:
    return {"profile": value} if isinstance(value, str) else value


class HostSpec(Spec):
    """The machine the containers run on."""

    disk: Annotated[
        DiskSpec, BeforeValidator(_disk_shorthand, json_schema_input_type=str | DiskSpec)
    ] = DiskSpec()
    page_cache: Size = 4 * 2**30
    # [D10] native per-syscall latency, warm, "< 10 us"; 5 us is the middle of 5-10 us.
    syscall_latency: Duration = 5e-6
    overlay: OverlaySpec = OverlaySpec()
    remotes: dict[str, RemoteSpec] = {}
