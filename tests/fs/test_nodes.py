"""Tests of ``storsim.fs.nodes``: what an entry may be."""

from __future__ import annotations

from typing import Any

import pytest

from storsim.fs import (
    BLOCKDEV,
    CHARDEV,
    DIR,
    FIFO,
    FILE,
    SYMLINK,
    WHITEOUT,
    Node,
)


def test_node_mode_defaults_depend_on_kind() -> None:
    """Files default to 0o644, directories to 0o755, symlinks to 0o777 with size = len(target)."""
    assert Node(FILE).mode == 0o644
    assert Node(DIR).mode == 0o755
    assert Node(SYMLINK, target="abc") == Node(SYMLINK, 3, 0o777, target="abc")
    assert Node(WHITEOUT).mode == 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kind": "socket"}, "kind must be one of"),
        ({"kind": FILE, "size_bytes": -1}, r"size_bytes must be >= 0 \(got -1\)"),
        ({"kind": FILE, "opaque": True}, "only a directory can be opaque"),
        ({"kind": SYMLINK}, "must have a non-empty target"),
        ({"kind": DIR, "metacopy": True}, "only a file can be metacopy"),
        ({"kind": FILE, "mode": 0o10000}, "mode must be within"),
        ({"kind": FIFO, "size_bytes": 1}, "a fifo must have size_bytes 0"),
        ({"kind": FILE, "rdev": (1, 3)}, "only a device node has an rdev"),
        ({"kind": CHARDEV, "rdev": (4096, 0)}, r"rdev must be \(0..4095"),
        ({"kind": SYMLINK, "target": "t", "xattrs": (("user.a", b""),)}, "holds no user"),
        ({"kind": FILE, "xattrs": (("foo.a", b""),)}, "xattr names must be"),
        ({"kind": FILE, "xattrs": (("user.", b""),)}, "xattr names must be"),
        ({"kind": FILE, "xattrs": (("user.a", b""), ("user.a", b"1"))}, "must be unique"),
        ({"kind": WHITEOUT, "xattrs": (("trusted.a", b""),)}, "a whiteout holds no xattrs"),
    ],
)
def test_node_rejects_impossible_entries(kwargs: dict[str, Any], message: str) -> None:
    """A Node the kernel could not hold is a ValueError."""
    with pytest.raises(ValueError, match=message):
        Node(**kwargs)


def test_node_holds_device_numbers_and_sorted_attributes() -> None:
    """Device nodes keep (major, minor); attributes are kept sorted by name, so that two
    nodes with the same attributes are equal however they were given."""
    assert Node(BLOCKDEV, rdev=(8, 1)).rdev == (8, 1)
    assert Node(FIFO).mode == 0o644
    a = Node(FILE, xattrs=(("user.b", b"2"), ("trusted.t", b"1")))
    assert a.xattrs == (("trusted.t", b"1"), ("user.b", b"2"))
    assert a == Node(FILE, xattrs=(("trusted.t", b"1"), ("user.b", b"2")))
    assert Node(SYMLINK, target="t", xattrs=(("trusted.t", b""),)).xattrs == (("trusted.t", b""),)
