"""NFS and CIFS mount options -> host.remotes entries: the options that matter, noted rest."""

from __future__ import annotations

import pytest

import storsim
from storsim.interop.remotes import network_volume, remote_key


def remote(o: str, *, fstype: str = "nfs", device: str = ":/export") -> dict[str, object]:
    """The host.remotes entry of a volume with these mount options."""
    vol = network_volume({"type": fstype, "o": o, "device": device})
    assert vol is not None
    return vol.remote


def test_nfs_lock_options() -> None:
    """nolock and local_lock=all make locks local (exclusion on the client only); lock
    and local_lock=none keep the server's lock manager."""
    assert remote("addr=a,nolock")["locks"] == "local"
    assert remote("addr=a,local_lock=all")["locks"] == "local"
    assert "locks" not in remote("addr=a,nolock,lock")
    assert "locks" not in remote("addr=a,local_lock=none")


def test_partial_local_lock_is_noted() -> None:
    """local_lock=posix (only some locks local) cannot be one storsim rule: noted."""
    vol = network_volume({"type": "nfs", "o": "addr=a,local_lock=posix", "device": ":/x"})
    assert vol is not None
    assert "locks" not in vol.remote
    assert any("only posix locks are local" in n for n in vol.notes)


def test_attribute_cache_options() -> None:
    """actimeo sets both times, acregmin/acregmax each one, noac both to zero (noted)."""
    assert remote("addr=a,actimeo=7") == {
        "profile": "nfs",
        "attr_cache_min": "7 s",
        "attr_cache_max": "7 s",
    }
    assert remote("addr=a,acregmin=1,acregmax=10") == {
        "profile": "nfs",
        "attr_cache_min": "1 s",
        "attr_cache_max": "10 s",
    }
    vol = network_volume({"type": "nfs", "o": "addr=a,noac", "device": ":/x"})
    assert vol is not None
    assert vol.remote["attr_cache_max"] == "0 s"
    assert any("synchronous" in n for n in vol.notes)


def test_acregmax_below_the_profiles_minimum_lowers_the_minimum() -> None:
    """acregmax=1 alone (below the nfs profile's 3 s acregmin) caps the minimum too, as
    the kernel caps the timeout at acregmax, so the scenario stays valid."""
    entry = remote("addr=a,acregmax=1")
    assert entry == {"profile": "nfs", "attr_cache_min": "1 s", "attr_cache_max": "1 s"}
    data = {
        "name": "x",
        "duration": "1 s",
        "host": {"remotes": {"a": entry}},
        "images": {"i": {"layers": [{"dirs": ["/m"]}]}},
        "services": {"s": {"image": "i", "volumes": ["a:/export:/m"]}},
    }
    storsim.simulate(storsim.load_scenario(data))


def test_versions_and_unmodelled_options_are_noted() -> None:
    """vers=3 is noted (NLM locking, NFSv4 costs); failure, transport and request-size
    options are named in notes as ignored."""
    vol = network_volume(
        {
            "type": "nfs",
            "o": "addr=a,vers=3,soft,timeo=30,proto=tcp,rsize=65536,weird",
            "device": ":/x",
        }
    )
    assert vol is not None
    text = "\n".join(vol.notes)
    assert "vers=3: locks go through the NLM sideband protocol" in text
    assert "soft, timeo: server failures and retries are not modelled (ignored)" in text
    assert "proto: transport and security are not modelled (ignored)" in text
    assert "rsize: each read or write is one request of its own size (ignored)" in text
    assert "weird: not modelled (ignored)" in text
    quiet = network_volume({"type": "nfs4", "o": "addr=a,vers=4.2,rw", "device": ":/x"})
    assert quiet is not None
    assert quiet.notes == []


def test_server_address_and_export_path() -> None:
    """The server is addr=, else the device's host part; the export is the device's path;
    an EFS address picks the efs profile."""
    vol = network_volume({"type": "nfs", "o": "nolock", "device": "nas.lan:/srv/x"})
    assert vol is not None
    assert (vol.host, vol.export) == ("nas.lan", "/srv/x")
    efs = network_volume(
        {"type": "nfs4", "o": "addr=fs-1.efs.eu-west-1.amazonaws.com", "device": ":/"}
    )
    assert efs is not None
    assert efs.remote["profile"] == "efs"
    assert efs.export == "/"


def test_cifs_options_and_unc_device() -> None:
    """CIFS: //host/share/dir is the export /share/dir; nobrl -> locks local; actimeo;
    cache=none noted with its proposed field; mfsymlinks -> symlinks supported."""
    vol = network_volume(
        {"type": "cifs", "o": "nobrl,actimeo=2,cache=none,mfsymlinks", "device": "//srv/share/dir"}
    )
    assert vol is not None
    assert (vol.host, vol.export) == ("srv", "/share/dir")
    assert vol.remote == {
        "profile": "smb",
        "locks": "local",
        "attr_cache_min": "2 s",
        "attr_cache_max": "2 s",
        "unsupported": [],
    }
    assert any("data_cache" in n for n in vol.notes)


def test_other_file_systems_are_not_network_volumes() -> None:
    """tmpfs, ext4 and bind local volumes are not network volumes."""
    for fstype in ("tmpfs", "ext4", "none", ""):
        assert network_volume({"type": fstype, "device": "x"}) is None


@pytest.mark.parametrize(
    ("host", "key"),
    [("nas.lan", "nas.lan"), ("10.0.0.5", "10.0.0.5"), ("fd00::5", "fd00-5"), ("_x", "x")],
)
def test_remote_keys_fit_server_export_sources(host: str, key: str) -> None:
    """A server's key is usable in SERVER:/export bind sources."""
    assert remote_key(host) == key
