"""The inode numbers of an image's files, as unpacking its layers gives them, and the
inode-table reads they cost (ext4 reads the table ahead, a run of inodes at a time)."""

from __future__ import annotations

from storsim.run.context import image_inode_reads, image_inodes
from tests.backends.conftest import make_ctx


def test_a_layer_is_numbered_in_its_archives_depth_first_order() -> None:
    """Each directory's entries follow it, names sorted, before its next sibling: /a,
    /a/b, then /a-c (a plain sort of the paths would put /a-c before /a/b)."""
    numbers = image_inodes([["/a-c", "/a/b", "/", "/a"]], per_run=512)
    assert numbers == {"/": 0, "/a": 1, "/a/b": 2, "/a-c": 3}


def test_each_layer_starts_a_run_and_the_top_copy_counts() -> None:
    """The bottom layer is unpacked first (/, /a, /b: 0-2), the top one from the next run
    of 4 (/, /a, /a/x: 4-6); a path in both layers has its top copy's number."""
    numbers = image_inodes([["/", "/a", "/a/x"], ["/", "/a", "/b"]], per_run=4)
    assert numbers == {"/": 4, "/a": 5, "/b": 2, "/a/x": 6}


def test_an_inode_read_covers_its_run_once_per_host() -> None:
    """With 4 inodes a read, inodes 0-3 are one run: the first lookup in it reads, the
    others of the run and a second lookup do not; inode 4 reads again; another image's
    runs are its own."""
    host = make_ctx().host
    host.inodes_per_read = 4
    reads = [image_inode_reads(host, "img", n) for n in (2, 0, 3, 2, 4)]
    assert reads == [1, 0, 0, 0, 1]
    assert image_inode_reads(host, "other", 0) == 1
