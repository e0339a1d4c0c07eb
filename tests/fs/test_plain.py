"""Tests of ``storsim.fs.plain``: a plain tree, the overlay engine over no layers (the
random-operation property of ``test_overlay.py`` also runs on a ``PlainFS``)."""

from __future__ import annotations

import pytest

from storsim.fs import (
    DIR,
    FILE,
    SYMLINK,
    WHITEOUT,
    Changed,
    Listing,
    Lookup,
    Node,
    Opened,
    PlainFS,
    Written,
)
from tests.fs.support import bare


def test_plainfs_has_one_layer_and_never_copies_up() -> None:
    """A PlainFS answers from layer 0 after visiting 1 directory, and moves directories freely."""
    vol = PlainFS()
    vol.mkdir("/db")
    assert bare(vol.open("/db/data", create=True, write=True)) == Opened(
        FILE, 0, 0, 1, True, 0, False
    )
    assert bare(vol.write("/db/data", 0, 4096)) == Written(4096, 0)
    assert vol.stat("/db/data") == Lookup(FILE, 4096, 0, 1)
    assert bare(vol.rename("/db", "/db2")) == Changed(0)
    assert vol.readdir("/") == Listing(("db2",), 1, (1,))
    assert (
        vol.upper_tree() == vol.visible_tree() == {"/db2": Node(DIR), "/db2/data": Node(FILE, 4096)}
    )
    assert vol.upper_bytes() == 4096


def test_plainfs_populate_copies_image_content() -> None:
    """populate adds entries with implied parents and returns the file bytes it added."""
    vol = PlainFS()
    added = vol.populate({"/conf/a.yaml": Node(FILE, 10), "/conf/b": Node(SYMLINK, target="a")})
    assert added == 10
    assert vol.visible_tree() == {
        "/conf": Node(DIR),
        "/conf/a.yaml": Node(FILE, 10),
        "/conf/b": Node(SYMLINK, target="a"),
    }
    with pytest.raises(ValueError, match="a plain tree holds no"):
        vol.populate({"/x": Node(WHITEOUT)})


def test_plainfs_clear_empties_it() -> None:
    """clear removes everything, like a tmpfs when its container stops, and returns the bytes."""
    tmp = PlainFS()
    tmp.populate({"/a/b": Node(FILE, 7)})
    assert tmp.clear() == 7
    assert tmp.visible_tree() == {}
    assert tmp.upper_bytes() == 0
