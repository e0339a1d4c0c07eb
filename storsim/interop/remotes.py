"""Network volumes: Docker's ``local`` driver options for NFS and CIFS -> storsim remotes.

A named volume with ``driver: local`` and ``driver_opts: {type: nfs, o: "addr=...,nolock",
device: ":/export"}`` is not a local volume at all: Docker hands ``type``, ``o`` and
``device`` to mount(2) when a container first uses it ([D5]; published-figures §2.4 #5),
so the container gets an NFS (or CIFS) mount with those options, like a shop that sells
under its own sign goods that come from the wholesaler down the road. storsim models
that as a distributed bind mount of ``SERVER:/export`` on a server under
``host.remotes``, whose figures come from the ``nfs`` or ``smb`` profile and whose
options that change what the application sees are taken from ``o``:

========================  ===============================================================
mount option              storsim
========================  ===============================================================
``nolock``                ``locks: local``: locks exclude only on the client ([K9] lock/nolock)
``local_lock=all``        ``locks: local`` ([K9] local_lock)
``actimeo=N``             ``attr_cache_min`` = ``attr_cache_max`` = N s ([K9], [K10])
``acregmin``/``acregmax`` ``attr_cache_min`` / ``attr_cache_max`` ([K9])
``noac``                  attribute cache 0 s ([K9]; its synchronous writes are not modelled)
``vers``/``nfsvers``      4.x: the ``nfs`` profile (NFSv4 costs); 3: the same, with a note
``ro``                    every mount of the volume is read-only
CIFS ``nobrl``            ``locks: local`` ([K10] nobrl)
CIFS ``mfsymlinks``       symlinks supported (``unsupported: []``; [K10] mfsymlinks)
========================  ===============================================================

Every other option is named in a note (with what it would change), never dropped
silently; option values are never copied into notes (``password=`` stays private).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["NetworkVolume", "network_volume", "remote_key"]

_NFS_TYPES = {"nfs": "3-or-4", "nfs4": "4"}
_CIFS_TYPES = frozenset({"cifs", "smb3"})

# Options that change nothing storsim models, by what they concern (for one note each).
_NFS_FAILURE = frozenset({"soft", "hard", "softerr", "timeo", "retrans", "intr", "nointr", "retry"})
_NFS_TRANSPORT = frozenset(
    {"proto", "port", "mountport", "mountproto", "mounthost", "mountaddr", "clientaddr",
     "nconnect", "noresvport", "resvport", "udp", "tcp", "rdma", "sec", "fsc", "nofsc",
     "max_connect", "xprtsec", "namlen", "bg", "fg", "addr", "_netdev"}
)  # fmt: skip
_NFS_REQUEST = frozenset({"rsize", "wsize", "bsize"})
_TIMES = frozenset({"noatime", "atime", "relatime", "norelatime", "nodiratime", "strictatime"})
_CIFS_ACCESS = frozenset(
    {"username", "user", "password", "pass", "credentials", "domain", "dom", "workgroup",
     "uid", "gid", "forceuid", "forcegid", "noforceuid", "noforcegid", "file_mode",
     "dir_mode", "noperm", "perm", "sec", "seal", "sign", "cruid", "multiuser", "iocharset",
     "serverino", "noserverino", "nounix", "unix", "nosetuids", "setuids", "mapchars",
     "mapposix", "nomapchars", "port", "ip", "addr", "netbiosname", "servern", "_netdev"}
)  # fmt: skip
_CIFS_FAILURE = frozenset({"hard", "soft", "echo_interval", "handletimeout", "nohandlecache"})


@dataclass(slots=True)
class NetworkVolume:
    """A named volume that Docker mounts over the network.

    Attributes:
        kind: ``"nfs"`` or ``"cifs"``.
        host: the server's address (``addr=`` or the device's host part).
        export: the exported path (``/export``; CIFS ``//host/share/dir`` -> ``/share/dir``).
        remote: the ``host.remotes`` entry (RemoteSpec data: ``profile`` and overrides).
        read_only: the ``ro`` option: every mount of the volume is read-only.
        notes: one message per option (or group of options) storsim does not model.
    """

    kind: str
    host: str
    export: str
    remote: dict[str, Any]
    read_only: bool = False
    notes: list[str] = field(default_factory=list)


def _options(text: str) -> list[tuple[str, str | None]]:
    out: list[tuple[str, str | None]] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        key, sep, value = part.partition("=")
        out.append((key.strip().lower(), value.strip() if sep else None))
    return out


def _seconds(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if number >= 0 else None


def network_volume(driver_opts: Mapping[str, Any]) -> NetworkVolume | None:
    """Read a ``local`` volume's ``driver_opts``; None unless it is an NFS or CIFS mount.

    Args:
        driver_opts: compose ``driver_opts`` (or ``docker volume inspect``'s ``Options``):
            ``type``, ``o`` and ``device``.

    Returns:
        The network volume, or None when ``type`` is not nfs, nfs4, cifs or smb3.
    """
    fstype = str(driver_opts.get("type", "")).strip().lower()
    if fstype not in _NFS_TYPES and fstype not in _CIFS_TYPES:
        return None
    opts = _options(str(driver_opts.get("o", "") or ""))
    device = str(driver_opts.get("device", "") or "").strip()
    if fstype in _NFS_TYPES:
        return _nfs(fstype, opts, device)
    return _cifs(opts, device)


def _nfs(fstype: str, opts: list[tuple[str, str | None]], device: str) -> NetworkVolume:
    values = dict(opts)
    host, _, export = device.rpartition(":") if ":" in device else ("", "", device)
    host = values.get("addr") or host or "nfs-server"
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    export = export or "/"
    profile = "efs" if ".efs." in host and host.endswith(".amazonaws.com") else "nfs"
    remote: dict[str, Any] = {"profile": profile}
    vol = NetworkVolume("nfs", host, export if export.startswith("/") else "/" + export, remote)
    version = _NFS_TYPES[fstype]
    ignored: dict[str, list[str]] = {}
    for key, value in opts:
        if key == "nolock":
            remote["locks"] = "local"  # [K9] lock/nolock: exclusion only on this client
        elif key == "lock":
            remote.pop("locks", None)
        elif key == "local_lock":
            if value == "all":
                remote["locks"] = "local"  # [K9] local_lock=all: flock and POSIX locks local
            elif value in ("flock", "posix"):
                vol.notes.append(
                    f"local_lock={value}: only {value} locks are local and the others go to "
                    "the server; storsim has one lock rule per server (kept: the server's)"
                )
        elif key == "actimeo":
            seconds = _seconds(value)
            if seconds is not None:  # [K9] actimeo sets all four attribute-cache times
                remote["attr_cache_min"] = remote["attr_cache_max"] = f"{seconds:g} s"
        elif key in ("acregmin", "acregmax"):
            seconds = _seconds(value)
            if seconds is not None:
                remote["attr_cache_min" if key == "acregmin" else "attr_cache_max"] = (
                    f"{seconds:g} s"
                )
        elif key in ("acdirmin", "acdirmax"):
            ignored.setdefault("directory attribute caching is not modelled apart", []).append(key)
        elif key == "noac":
            remote["attr_cache_min"] = remote["attr_cache_max"] = "0 s"
            vol.notes.append(
                "noac: attribute cache off (0 s); noac also makes every write synchronous, "
                "which storsim does not model (add an fsync step after each write)"
            )
        elif key in ("vers", "nfsvers"):
            version = value or version
        elif key == "ro":
            vol.read_only = True
        elif key in ("rw", "defaults"):
            pass
        elif key == "nocto":
            vol.notes.append(
                "nocto: opens do not revalidate the cache; storsim's nfs profile always does "
                "close-to-open (proposed field host.remotes.NAME.close_to_open)"
            )
        elif key in ("cto",):
            pass
        elif key in _NFS_FAILURE:
            ignored.setdefault("server failures and retries are not modelled", []).append(key)
        elif key in _NFS_REQUEST:
            ignored.setdefault("each read or write is one request of its own size", []).append(key)
        elif key in _NFS_TRANSPORT:
            if key != "addr":
                ignored.setdefault("transport and security are not modelled", []).append(key)
        elif key in _TIMES:
            ignored.setdefault("access times are not modelled", []).append(key)
        elif key in ("sync", "async"):
            if key == "sync":
                vol.notes.append(
                    "sync: every write is sent at once and waits; storsim's nfs profile "
                    "writes UNSTABLE and commits at fsync (add an fsync step after each write)"
                )
        elif key == "lookupcache":
            ignored.setdefault("the client's lookup cache is not modelled", []).append(key)
        else:
            ignored.setdefault("not modelled", []).append(key)
    if str(version).startswith("3"):
        vol.notes.append(
            "vers=3: locks go through the NLM sideband protocol, a round trip to the server "
            "per lock and unlock like NFSv4's LOCK (storsim: locks nlm); the operation costs "
            "are the nfs profile's (NFSv4)"
        )
    elif str(version).startswith("2"):
        vol.notes.append("vers=2: modelled with the nfs profile (NFSv4 costs)")
    for why, keys in ignored.items():
        vol.notes.append(f"{', '.join(dict.fromkeys(keys))}: {why} (ignored)")
    _order_cache_times(remote)
    return vol


def _order_cache_times(remote: dict[str, Any]) -> None:
    """The kernel caps the attribute timeout at acregmax whatever acregmin says
    ([X11] nfs_update_inode), so a maximum below the minimum (given, or the profile's)
    lowers the minimum to it: the scenario then states what the client does."""
    from storsim import units
    from storsim.devices import profiles

    if "attr_cache_max" not in remote:
        return
    top = units.parse_duration(remote["attr_cache_max"])
    if "attr_cache_min" in remote:
        low = units.parse_duration(remote["attr_cache_min"])
    else:
        low = profiles.REMOTE_PROFILES[remote["profile"]].attr_cache_min_s
    if low > top:
        remote["attr_cache_min"] = remote["attr_cache_max"]


_UNC = re.compile(r"^(?://|\\\\)([^/\\]+)[/\\]?(.*)$")


def _cifs(opts: list[tuple[str, str | None]], device: str) -> NetworkVolume:
    values = dict(opts)
    match = _UNC.match(device)
    host, share = (match.group(1), match.group(2)) if match else ("", device)
    host = values.get("addr") or values.get("ip") or host or "smb-server"
    export = "/" + share.replace("\\", "/").strip("/")
    remote: dict[str, Any] = {"profile": "smb"}
    vol = NetworkVolume("cifs", host, export, remote)
    ignored: dict[str, list[str]] = {}
    for key, value in opts:
        if key == "nobrl":
            remote["locks"] = "local"  # [K10] nobrl: byte-range locks not sent to the server
        elif key == "brl":
            remote.pop("locks", None)
        elif key == "actimeo":
            seconds = _seconds(value)
            if seconds is not None:  # [K10] actimeo: one fixed attribute timeout
                remote["attr_cache_min"] = remote["attr_cache_max"] = f"{seconds:g} s"
        elif key == "acregmax":
            seconds = _seconds(value)
            if seconds is not None:
                remote["attr_cache_max"] = f"{seconds:g} s"
                remote.setdefault("attr_cache_min", f"{min(seconds, 1.0):g} s")
        elif key == "acdirmax":
            ignored.setdefault("directory attribute caching is not modelled apart", []).append(key)
        elif key == "mfsymlinks":
            remote["unsupported"] = []  # [K10] Minshall+French symlinks: symlink works
        elif key == "cache":
            if value == "none":
                vol.notes.append(
                    "cache=none: the client caches no file data; storsim's smb profile caches "
                    "it (proposed field host.remotes.NAME.data_cache)"
                )
            elif value == "loose":
                vol.notes.append(
                    "cache=loose: opens do not revalidate the cache; storsim's smb profile "
                    "does (proposed field host.remotes.NAME.close_to_open)"
                )
        elif key == "vers":
            if value is not None and value.startswith("1"):
                vol.notes.append("vers=1.0 (SMB1): modelled with the smb profile (SMB3 costs)")
        elif key == "ro":
            vol.read_only = True
        elif key in ("rw", "defaults"):
            pass
        elif key in _CIFS_ACCESS:
            if key not in ("addr", "ip"):
                ignored.setdefault("access control is not modelled", []).append(key)
        elif key in _CIFS_FAILURE:
            ignored.setdefault("server failures and retries are not modelled", []).append(key)
        elif key in ("rsize", "wsize", "bsize"):
            ignored.setdefault("each read or write is one request of its own size", []).append(key)
        elif key in _TIMES:
            ignored.setdefault("access times are not modelled", []).append(key)
        else:
            ignored.setdefault("not modelled", []).append(key)
    for why, keys in ignored.items():
        vol.notes.append(f"{', '.join(dict.fromkeys(keys))}: {why} (ignored)")
    _order_cache_times(remote)
    return vol


_KEY_CHARS = re.compile(r"[^A-Za-z0-9_.-]+")


def remote_key(host: str) -> str:
    """A ``host.remotes`` key for a server address (``SERVER:/export`` sources need
    ``[A-Za-z0-9][A-Za-z0-9_.-]*``): ``fd00::5`` -> ``fd00-5``."""
    key = _KEY_CHARS.sub("-", host).strip("-._") or "server"
    return key if key[0].isalnum() else "s" + key
