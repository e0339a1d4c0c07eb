"""Tests of ``storsim.fs.overlay``: lookup, copy-up, removal, rename, errors and
introspection of one container's root, then properties against a flat POSIX tree."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from storsim.fs import (
    BLOCKDEV,
    CHARDEV,
    DIR,
    FIFO,
    FILE,
    SPECIAL,
    SYMLINK,
    WHITEOUT,
    Changed,
    ContainerView,
    FsError,
    Layer,
    Listing,
    Lookup,
    LowerStack,
    Mount,
    Node,
    Opened,
    OverlayFS,
    PlainFS,
    Read,
    Written,
    Xattr,
)
from tests.fs.support import (
    PATHS,
    Reference,
    bare,
    call_op,
    draw_op,
    errno_of,
    extract,
    layers_st,
    model_apply,
)

# --------------------------------------------------------------------------- lookup


def test_top_most_layer_wins(fs: OverlayFS) -> None:
    """A name in several layers is served by the top-most one."""
    assert fs.stat("/d/f") == Lookup(FILE, 7, 1, 1)
    assert fs.read("/d/f", 0, 100) == Read(7, 1)


def test_lower_file_is_found_in_its_layer(fs: OverlayFS) -> None:
    """A name only the bottom layer has is served from it, after visiting the layers above."""
    assert fs.stat("/etc/app.conf") == Lookup(FILE, 100, 2, 1)  # /etc lives in layer 2 only
    assert fs.stat("/z") == Lookup(FILE, 0, 2, 3)  # upper root, then layers 1 and 2


def test_whiteout_hides_lower_entry(fs: OverlayFS) -> None:
    """A whiteout in an upper layer hides the name below it."""
    assert errno_of(lambda: fs.stat("/d/g")) == "ENOENT"
    assert "g" not in fs.readdir("/d").names


def test_opaque_directory_stops_the_merge(fs: OverlayFS) -> None:
    """An opaque directory hides everything the layers below have in it."""
    assert fs.readdir("/e") == Listing(("new",), 1, (1,))
    assert errno_of(lambda: fs.stat("/e/x")) == "ENOENT"


def test_directories_merge_across_layers(fs: OverlayFS) -> None:
    """readdir shows the union of a directory's layers minus whiteouts."""
    assert fs.readdir("/d") == Listing(("f", "h"), 2, (3, 2))  # app: f, g (a whiteout), h
    names = ("app", "d", "data", "e", "etc", "lib", "s", "z")
    assert fs.readdir("/") == Listing(names, 3, (0, 3, 7))  # upper root, app, base


def test_layers_visited_counts_the_lookup_loop() -> None:
    """A hit stops at its layer; a miss visits every layer where the parent directory exists."""
    layers = [Layer.build(f"l{i}", dirs=["/x"]) for i in range(4)]
    layers.append(Layer.build("bottom", files={"/x/f": 1}))
    fs = OverlayFS(LowerStack(layers))
    assert fs.stat("/x/f") == Lookup(FILE, 1, 5, 5)
    assert fs.stat("/x") == Lookup(DIR, 0, 1, 6)  # upper root + all five layers
    assert fs.open("/x/new", create=True).layers_visited == 5  # /x is not in the upper yet
    assert fs.open("/x/new2", create=True).layers_visited == 6  # now it is: upper + 5


def test_one_layer_directory_lists_its_whiteouts() -> None:
    """A directory that lives in one layer only is read raw: its whiteouts appear as ghost
    names that stat reports as missing (kernel behaviour)."""
    fs = OverlayFS(LowerStack([Layer.build("l", files={"/a/y": 1}, whiteouts=["/a/x"])]))
    assert fs.readdir("/a").names == ("x", "y")
    assert errno_of(lambda: fs.stat("/a/x")) == "ENOENT"
    fs.chmod("/a", 0o700)  # copied up: now merged, whiteouts filtered
    assert fs.readdir("/a").names == ("y",)


# --------------------------------------------------------------------------- copy-up


def test_open_for_write_copies_the_whole_file(fs: OverlayFS) -> None:
    """The first write-open of a lower file copies all of it, parents as metadata only."""
    assert bare(fs.open("/data/big.db", write=True)) == Opened(FILE, 1000, 0, 1, False, 1000, True)
    assert fs.upper_tree() == {"/data": Node(DIR), "/data/big.db": Node(FILE, 1000)}
    assert fs.upper_bytes() == 1000
    assert fs.copied_up_paths() == {"/data", "/data/big.db"}


def test_o_trunc_open_copies_no_data(fs: OverlayFS) -> None:
    """An O_TRUNC open copies the file up without its data."""
    assert bare(fs.open("/data/big.db", write=True, trunc=True)) == Opened(
        FILE, 0, 0, 1, False, 0, True
    )
    assert fs.upper_tree()["/data/big.db"] == Node(FILE, 0)


def test_read_only_opens_never_copy_up(fs: OverlayFS) -> None:
    """Opening and reading a lower file leaves the upper layer empty."""
    assert bare(fs.open("/data/big.db")) == Opened(FILE, 1000, 2, 1, False, 0, False)
    assert fs.read("/data/big.db", 900, 500) == Read(100, 2)
    fs.fsync("/data/big.db")
    assert fs.readdir("/d").names == ("f", "h")
    assert fs.upper_tree() == {}


def test_later_writes_hit_the_copy(fs: OverlayFS) -> None:
    """Only the first write copies up; later ones write into the copy."""
    assert bare(fs.write("/data/big.db", 0, 1)) == Written(1000, 1000)
    assert bare(fs.write("/data/big.db", 1000, 24)) == Written(1024, 0)
    assert fs.open("/data/big.db", write=True).copy_up_bytes == 0
    assert fs.read("/data/big.db", 0, 4096) == Read(1024, 0)


@pytest.mark.parametrize(
    ("call", "size_after"),
    [
        (lambda fs: fs.write("/etc/app.conf", 200, 1), 201),
        (lambda fs: fs.append("/etc/app.conf", 5), 105),
        (lambda fs: fs.truncate("/etc/app.conf", 0), 0),
        (lambda fs: fs.chmod("/etc/app.conf", 0o600), 100),
    ],
)
def test_data_and_metadata_changes_copy_the_file_up(
    fs: OverlayFS, call: Callable[[OverlayFS], Written | Changed], size_after: int
) -> None:
    """write, append, truncate (even to 0) and chmod copy all 100 bytes up first."""
    assert call(fs).copy_up_bytes == 100
    assert fs.stat("/etc/app.conf") == Lookup(FILE, size_after, 0, 1)


def test_metacopy_chmod_copies_metadata_only(image: LowerStack) -> None:
    """With metacopy, chmod copies no data and reads still come from the lower layer until
    the first data write copies the data."""
    fs = OverlayFS(image, metacopy=True)
    assert bare(fs.chmod("/data/big.db", 0o600)) == Changed(0, copied_up=True)
    assert fs.upper_tree()["/data/big.db"] == Node(FILE, 1000, 0o600, metacopy=True)
    assert fs.read("/data/big.db", 0, 10) == Read(10, 2)
    assert fs.upper_bytes() == 0
    assert bare(fs.write("/data/big.db", 0, 1)) == Written(1000, 1000)
    assert fs.upper_tree()["/data/big.db"] == Node(FILE, 1000, 0o600)
    assert fs.read("/data/big.db", 0, 10) == Read(10, 0)
    assert fs.upper_bytes() == 1000


def test_metacopy_file_lookup_continues_below(image: LowerStack) -> None:
    """A metacopy file is found in the upper, and its lookup goes on to the lower layer that
    holds its data: stat and open count both."""
    fs = OverlayFS(image, metacopy=True)
    fs.chmod("/data/big.db", 0o600)
    assert fs.stat("/data/big.db") == Lookup(FILE, 1000, 0, 2)
    assert bare(fs.open("/data/big.db")) == Opened(FILE, 1000, 0, 2, False, 0, False)


def test_metacopy_truncate_copies_the_data(image: LowerStack) -> None:
    """Truncating a metacopy file copies its data up first, as truncate(2) does."""
    fs = OverlayFS(image, metacopy=True)
    fs.chmod("/etc/app.conf", 0o600)
    assert bare(fs.truncate("/etc/app.conf", 10)) == Changed(100)
    assert fs.upper_tree()["/etc/app.conf"] == Node(FILE, 10, 0o600)


def test_metacopy_implies_redirect_dir(image: LowerStack) -> None:
    """metacopy turns redirect_dir on, as the kernel does (it refuses them apart)."""
    fs = OverlayFS(image, metacopy=True)
    assert fs.redirect_dir
    assert bare(fs.rename("/lib", "/lib2")) == Changed(0)


def test_metacopy_rename_and_link_keep_data_below(image: LowerStack) -> None:
    """With metacopy, rename and link copy metadata only and store a redirect to the data."""
    fs = OverlayFS(image, metacopy=True)
    assert bare(fs.rename("/data/big.db", "/data/old.db")) == Changed(0)
    assert bare(fs.link("/etc/app.conf", "/app.conf")) == Changed(0)
    assert fs.redirects() == {"/app.conf": "/etc/app.conf", "/data/old.db": "big.db",
                              "/etc/app.conf": "/etc/app.conf"}  # fmt: skip
    assert fs.read("/data/old.db", 0, 2000) == Read(1000, 2)


def test_link_copies_a_lower_file_up_first(fs: OverlayFS) -> None:
    """A hard link to a lower file copies it up, and both names then share one inode."""
    assert bare(fs.link("/etc/app.conf", "/app.conf")) == Changed(100)
    assert bare(fs.append("/app.conf", 10)) == Written(110, 0)
    assert fs.stat("/etc/app.conf") == Lookup(FILE, 110, 0, 1)
    assert fs.upper_bytes() == 110  # one inode, counted once


def test_rename_lower_file_copies_it_up_and_whiteouts_the_source(fs: OverlayFS) -> None:
    """Renaming a lower file copies it up, moves it, and leaves a whiteout at the source."""
    assert bare(fs.rename("/etc/app.conf", "/app.conf")) == Changed(100)
    assert fs.upper_tree() == {
        "/app.conf": Node(FILE, 100),
        "/etc": Node(DIR),
        "/etc/app.conf": Node(WHITEOUT),
    }
    assert fs.readdir("/etc").names == ()


# --------------------------------------------------------------------------- removal


def test_unlink_lower_file_leaves_a_whiteout(fs: OverlayFS) -> None:
    """Unlinking a lower file writes a whiteout into the upper."""
    fs.unlink("/d/f")
    assert fs.upper_tree() == {"/d": Node(DIR), "/d/f": Node(WHITEOUT)}
    assert fs.readdir("/d").names == ("h",)


def test_unlink_upper_only_file_removes_it(fs: OverlayFS) -> None:
    """Unlinking a file that only the upper has leaves nothing behind."""
    fs.open("/new", create=True)
    fs.unlink("/new")
    assert fs.upper_tree() == {}


def test_unlink_copied_up_file_leaves_a_whiteout(fs: OverlayFS) -> None:
    """Unlinking the copy of a lower file replaces it with a whiteout."""
    fs.write("/z", 0, 10)
    fs.unlink("/z")
    assert fs.upper_tree() == {"/z": Node(WHITEOUT)}
    assert fs.upper_bytes() == 0


def test_rmdir_needs_an_empty_merged_view(fs: OverlayFS) -> None:
    """rmdir of a directory whose merged view is not empty is ENOTEMPTY."""
    assert errno_of(lambda: fs.rmdir("/d")) == "ENOTEMPTY"
    fs.unlink("/d/f")
    assert errno_of(lambda: fs.rmdir("/d")) == "ENOTEMPTY"


def test_rmdir_lower_directory_leaves_a_whiteout(fs: OverlayFS) -> None:
    """rmdir of an emptied lower directory drops its upper whiteouts and leaves one whiteout."""
    fs.unlink("/d/f")
    fs.unlink("/d/h")
    fs.rmdir("/d")
    assert fs.upper_tree() == {"/d": Node(WHITEOUT)}


def test_mkdir_over_a_whiteout_is_opaque(fs: OverlayFS) -> None:
    """A directory made where a whiteout is hides what the lowers had there."""
    fs.unlink("/d/f")
    fs.unlink("/d/h")
    fs.rmdir("/d")
    fs.mkdir("/d")
    assert fs.upper_tree() == {"/d": Node(DIR, opaque=True)}
    assert fs.readdir("/d") == Listing((), 1, (0,))  # opaque, and empty in the upper


def test_mkdir_opacity_depends_on_redirect_dir(image: LowerStack) -> None:
    """A new directory in a merged parent is plain without redirect_dir, opaque with it."""
    plain, redirecting = OverlayFS(image), OverlayFS(image, redirect_dir=True)
    for fs in (plain, redirecting):
        fs.mkdir("/d/new")
        fs.mkdir("/d/new/sub")  # its parent has no lower part: never opaque
    assert plain.upper_tree()["/d/new"] == Node(DIR)
    assert redirecting.upper_tree()["/d/new"] == Node(DIR, opaque=True)
    assert redirecting.upper_tree()["/d/new/sub"] == Node(DIR)


# --------------------------------------------------------------------------- rename


def test_rename_lower_directory_is_exdev_without_redirect_dir(fs: OverlayFS) -> None:
    """Renaming a directory that has a lower part fails with EXDEV; an upper-only one moves."""
    assert errno_of(lambda: fs.rename("/d", "/d2")) == "EXDEV"
    fs.write("/d/f", 0, 1)  # /d is merged now
    assert errno_of(lambda: fs.rename("/d", "/d2")) == "EXDEV"
    fs.mkdir("/n")
    assert bare(fs.rename("/n", "/n2")) == Changed(0)


def test_rename_lower_directory_with_redirect_dir(image: LowerStack) -> None:
    """With redirect_dir the rename works, records a redirect and whiteouts the source."""
    fs = OverlayFS(image, redirect_dir=True)
    assert bare(fs.rename("/d", "/lib/d")) == Changed(0)
    assert fs.readdir("/lib/d").names == ("f", "h")
    assert fs.stat("/lib/d/f") == Lookup(FILE, 7, 1, 2)  # upper /lib/d, then layer 1
    assert fs.redirects() == {"/lib/d": "/d"}
    assert fs.upper_tree() == {"/d": Node(WHITEOUT), "/lib": Node(DIR), "/lib/d": Node(DIR)}
    assert bare(fs.rename("/lib/d", "/lib/e")) == Changed(0)  # an absolute redirect is kept
    assert fs.redirects() == {"/lib/e": "/d"}


def test_rename_in_the_same_directory_records_a_relative_redirect(image: LowerStack) -> None:
    """A merged directory renamed within its parent gets its old name as a relative
    redirect; moved to another parent later, the redirect becomes absolute."""
    fs = OverlayFS(image, redirect_dir=True)
    fs.rename("/d", "/d2")
    assert fs.redirects() == {"/d2": "d"}
    fs.rename("/d2", "/lib/d3")
    assert fs.redirects() == {"/lib/d3": "/d"}
    assert fs.readdir("/lib/d3").names == ("f", "h")


def test_failed_rename_onto_upper_directory_keeps_its_marks(image: LowerStack) -> None:
    """Renaming onto a non-empty upper-only directory fails with ENOTEMPTY only after the
    source was copied up and given its redirect (the upper file system refuses last)."""
    fs = OverlayFS(image, redirect_dir=True)
    fs.mkdir("/n")
    fs.mkdir("/n/x")
    assert errno_of(lambda: fs.rename("/lib", "/n")) == "ENOTEMPTY"
    assert fs.redirects() == {"/lib": "lib"}
    assert fs.copied_up_paths() == {"/lib"}
    assert fs.readdir("/lib").names == ("a",)
    plain = OverlayFS(image, redirect_dir=True)
    plain.unlink("/d/f")  # /d is in the upper now, and merged: checked up front
    assert errno_of(lambda: plain.rename("/lib", "/d")) == "ENOTEMPTY"
    assert plain.redirects() == {}


def test_rename_upper_directory_into_merged_directory_marks_it_opaque(fs: OverlayFS) -> None:
    """A directory with no lower part moved into a merged directory becomes opaque."""
    fs.mkdir("/n")
    fs.rename("/n", "/d/n")
    assert fs.upper_tree()["/d/n"] == Node(DIR, opaque=True)


def test_rename_onto_own_hard_link_does_nothing(fs: OverlayFS) -> None:
    """rename(a, b) where b is a hard link of a (or a itself) is a no-op, with no copy-up."""
    assert bare(fs.rename("/z", "/z")) == Changed(0)
    assert fs.upper_tree() == {}
    fs.link("/z", "/z2")
    assert bare(fs.rename("/z", "/z2")) == Changed(0)
    assert set(fs.upper_tree()) == {"/z", "/z2"}


# --------------------------------------------------------------------------- new operations


def test_copy_up_keeps_the_lower_attributes() -> None:
    """A copy-up (of data, or only metadata) gives the copy the lower entry's attributes;
    the upper tree shows a process's trusted.overlay.* escaped, as the upperdir holds it."""
    layer = Layer.build("l", files={"/f": 4, "/g": 4}, xattrs={"/f": {"user.a": b"1"}})
    fs = OverlayFS(LowerStack([layer]), metacopy=True)
    assert fs.getxattr("/f", "user.a") == Xattr(b"1", 1, 2)  # the upper root, then layer 1
    fs.chmod("/f", 0o600)
    assert fs.upper_tree()["/f"] == Node(FILE, 4, 0o600, metacopy=True, xattrs=(("user.a", b"1"),))
    assert fs.getxattr("/f", "user.a") == Xattr(b"1", 0, 2)  # the upper's, after its lookup
    fs.setxattr("/g", "trusted.overlay.x", b"o")
    assert fs.getxattr("/g", "trusted.overlay.x").value == b"o"
    assert fs.upper_tree()["/g"].xattrs == (("trusted.overlay.overlay.x", b"o"),)
    assert fs.visible_tree()["/g"].xattrs == (("trusted.overlay.x", b"o"),)


def test_plain_tree_stores_trusted_overlay_names_as_they_are() -> None:
    """Outside an overlay, trusted.overlay.* is an attribute like any other, and a 0:0
    character device can be made."""
    vol = PlainFS()
    vol.mknod("/c", CHARDEV, 0o600, (0, 0))
    vol.setxattr("/c", "trusted.overlay.", b"1")
    assert vol.upper_tree()["/c"] == Node(CHARDEV, 0, 0o600, xattrs=(("trusted.overlay.", b"1"),))
    assert errno_of(lambda: vol.open("/c")) == "ENXIO"


def test_mknod_makes_fifos_and_devices_that_hold_no_data(fs: OverlayFS) -> None:
    """mknod (mkfifo) makes a FIFO, device or empty file; data calls on them fail the way
    non-blocking opens of them do; chmod and rename copy a lower one up whole, 0 bytes."""
    assert bare(fs.mknod("/p")) == Changed(0)
    fs.mknod("/b", BLOCKDEV, 0o600, (240, 3))
    fs.mknod("/r", FILE)
    assert fs.stat("/p") == Lookup(FIFO, 0, 0, 1)
    assert fs.visible_tree()["/b"] == Node(BLOCKDEV, 0, 0o600, rdev=(240, 3))
    assert fs.stat("/r").kind == FILE
    assert bare(fs.open("/p", trunc=True)) == Opened(FIFO, 0, 0, 1, False, 0, False)
    calls = [
        functools.partial(fs.write, "/p", 0, 1), functools.partial(fs.read, "/p", 0, 1),
        functools.partial(fs.fsync, "/p"), functools.partial(fs.read, "/b", 0, 1),
        functools.partial(fs.truncate, "/b", 0), functools.partial(fs.readdir, "/p"),
    ]  # fmt: skip
    assert [errno_of(c) for c in calls] == [
        "ENXIO",
        "ESPIPE",
        "EINVAL",
        "ENXIO",
        "ENXIO",
        "ENOTDIR",
    ]
    assert errno_of(lambda: fs.mknod("/c", CHARDEV)) == "EPERM"  # 0:0: overlay's whiteout
    with pytest.raises(ValueError, match="kind must be one of"):
        fs.mknod("/s", SYMLINK)
    lower = OverlayFS(LowerStack([Layer.build("l", fifos=["/q"])]), metacopy=True)
    assert bare(lower.chmod("/q", 0o600)) == Changed(0, copied_up=True)
    assert lower.upper_tree()["/q"] == Node(FIFO, 0, 0o600)  # no metacopy: nothing to keep


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("call", "errno"),
    [
        (lambda fs: fs.stat("/nope"), "ENOENT"),
        (lambda fs: fs.stat("/z/x"), "ENOTDIR"),
        (lambda fs: fs.stat("/s/x"), "ELOOP"),
        (lambda fs: fs.open("/d"), None),
        (lambda fs: fs.open("/d", write=True), "EISDIR"),
        (lambda fs: fs.open("/d", create=True), "EISDIR"),
        (lambda fs: fs.open("/d", create=True, excl=True), "EEXIST"),
        (lambda fs: fs.open("/s"), "ELOOP"),
        (lambda fs: fs.open("/s", create=True, excl=True), "EEXIST"),
        (lambda fs: fs.open("/no/x", create=True), "ENOENT"),
        (lambda fs: fs.read("/d", 0, 1), "EISDIR"),
        (lambda fs: fs.write("/nope", 0, 1), "ENOENT"),
        (lambda fs: fs.truncate("/d", 0), "EISDIR"),
        (lambda fs: fs.chmod("/s", 0o600), "EOPNOTSUPP"),
        (lambda fs: fs.unlink("/d"), "EISDIR"),
        (lambda fs: fs.unlink("/"), "EISDIR"),
        (lambda fs: fs.rmdir("/z"), "ENOTDIR"),
        (lambda fs: fs.rmdir("/"), "EBUSY"),
        (lambda fs: fs.mkdir("/d"), "EEXIST"),
        (lambda fs: fs.mkdir("/"), "EEXIST"),
        (lambda fs: fs.symlink("t", "/z"), "EEXIST"),
        (lambda fs: fs.symlink("", "/new"), "ENOENT"),
        (lambda fs: fs.link("/d", "/d2"), "EPERM"),
        (lambda fs: fs.link("/d", "/z"), "EEXIST"),
        (lambda fs: fs.link("/nope", "/x"), "ENOENT"),
        (lambda fs: fs.rename("/nope", "/x"), "ENOENT"),
        (lambda fs: fs.rename("/nope", "/z/x"), "ENOTDIR"),
        (lambda fs: fs.rename("/lib", "/lib/a/x"), "EINVAL"),
        (lambda fs: fs.rename("/lib/a/b", "/lib"), "ENOTEMPTY"),
        (lambda fs: fs.rename("/d", "/z"), "ENOTDIR"),
        (lambda fs: fs.rename("/z", "/d"), "EISDIR"),
        (lambda fs: fs.rename("/lib/a", "/d"), "EXDEV"),
        (lambda fs: fs.readdir("/z"), "ENOTDIR"),
        (lambda fs: fs.readdir("/s"), "ENOTDIR"),
        (lambda fs: fs.fsync("/s"), "ELOOP"),
    ],
)
def test_errors_are_the_kernels(
    fs: OverlayFS, call: Callable[[OverlayFS], object], errno: str | None
) -> None:
    """Each misuse fails with the errno the kernel gives (None: it succeeds)."""
    if errno is None:
        call(fs)
    else:
        assert errno_of(lambda: call(fs)) == errno


@pytest.mark.parametrize(
    "call",
    [
        lambda fs: fs.read("/z", -1, 1),
        lambda fs: fs.write("/z", 0, -1),
        lambda fs: fs.truncate("/z", -1),
        lambda fs: fs.chmod("/z", 0o10000),
        lambda fs: fs.stat("relative"),
    ],
)
def test_api_misuse_is_a_value_error(fs: OverlayFS, call: Callable[[OverlayFS], object]) -> None:
    """Negative counts, bad modes and relative paths are programming errors, not errno."""
    with pytest.raises(ValueError, match="must be"):
        call(fs)


def test_paths_are_normalised(fs: OverlayFS) -> None:
    """Paths are normalised lexically: doubled slashes, '.', '..' and a trailing slash."""
    assert fs.stat("//d/./f/") == fs.stat("/d/f") == fs.stat("/etc/../d/f")


# --------------------------------------------------------------------------- introspection


def test_visible_tree_and_upper_tree(fs: OverlayFS) -> None:
    """visible_tree is what processes see; upper_tree what the upperdir holds."""
    fs.mkdir("/new", 0o700)
    fs.symlink("../z", "/new/link")
    fs.unlink("/e/new")
    tree = fs.visible_tree()
    assert tree["/new"] == Node(DIR, mode=0o700)
    assert tree["/new/link"] == Node(SYMLINK, target="../z")
    assert "/e/new" not in tree
    assert "/d/g" not in tree
    assert tree["/d/f"] == Node(FILE, 7)
    assert fs.upper_tree() == {
        "/e": Node(DIR),
        "/e/new": Node(WHITEOUT),
        "/new": Node(DIR, mode=0o700),
        "/new/link": Node(SYMLINK, target="../z"),
    }
    assert fs.copied_up_paths() == {"/e"}


def test_visible_tree_under_a_directory(fs: OverlayFS) -> None:
    """visible_tree(under) lists only what is below that directory."""
    assert fs.visible_tree("/d") == {"/d/f": Node(FILE, 7), "/d/h": Node(FILE, 3)}
    assert fs.visible_tree("/z") == {}
    assert errno_of(lambda: fs.visible_tree("/nope")) == "ENOENT"


def test_upper_bytes_is_what_docker_rm_loses(fs: OverlayFS) -> None:
    """upper_bytes counts file data in the upper: copies, new files, hard links once."""
    fs.write("/etc/app.conf", 0, 1)
    fs.open("/log", create=True, write=True)
    fs.append("/log", 50)
    fs.link("/log", "/log.1")
    assert fs.upper_bytes() == 150
    fs.unlink("/log")
    assert fs.upper_bytes() == 150
    fs.unlink("/log.1")
    fs.truncate("/etc/app.conf", 30)
    assert fs.upper_bytes() == 30


# --------------------------------------------------------------------------- properties


@settings(max_examples=300, deadline=None)
@given(
    layers=layers_st,
    variant=st.sampled_from(["plain", "off", "redirect", "metacopy"]),
    data=st.data(),
)
def test_random_operations_match_the_reference(
    layers: list[Layer], variant: str, data: st.DataObject
) -> None:
    """After any sequence of operations, outcomes and the visible tree are those of a flat
    POSIX tree: layers, whiteouts, opaque dirs, redirects and copy-ups are invisible."""
    if variant == "plain":
        fs: OverlayFS | PlainFS = PlainFS()
        ref = Reference({}, redirect_dir=True, overlay=False)
    else:
        stack = LowerStack(layers)
        fs = OverlayFS(stack, metacopy=variant == "metacopy", redirect_dir=variant == "redirect")
        ref = Reference(extract(layers), redirect_dir=variant != "off")
    for _ in range(data.draw(st.integers(1, 40))):
        op = draw_op(data, list(ref.tree()))
        assert model_apply(fs, op) == ref.apply(op), op
    assert fs.visible_tree() == ref.tree()


@settings(max_examples=200, deadline=None)
@given(layers=layers_st, metacopy=st.booleans(), data=st.data())
def test_each_lower_file_is_copied_up_at_most_once(
    layers: list[Layer], metacopy: bool, data: st.DataObject
) -> None:
    """Copy-ups never move more bytes than the image has, and never twice for one write."""
    stack = LowerStack(layers)
    fs = OverlayFS(stack, metacopy=metacopy)
    image_bytes = sum(n.size_bytes for n in stack.visible_tree().values() if n.kind == FILE)
    total = 0
    for _ in range(data.draw(st.integers(1, 40))):
        op = draw_op(data, list(fs.visible_tree()))
        before = fs.upper_tree()
        try:
            result = call_op(fs, op)
        except FsError as e:
            total += e.copy_up_bytes  # a setxattr the upper refuses copies up first
            continue
        copied = getattr(result, "copy_up_bytes", 0)
        total += copied
        if copied:
            assert op[1] not in before or before[op[1]].metacopy, op  # it was below
            now = op[2] if op[0] == "rename" else op[1]  # where the copy is now
            assert not fs.upper_tree()[now].metacopy
            assert fs.write(now, 0, 0).copy_up_bytes == 0  # the next write hits the copy
    assert total <= image_bytes


@settings(max_examples=200, deadline=None)
@given(layers=layers_st, metacopy=st.booleans(), data=st.data())
def test_upper_bytes_is_the_sum_of_upper_file_sizes(
    layers: list[Layer], metacopy: bool, data: st.DataObject
) -> None:
    """Without hard links, upper_bytes equals the sizes of the upper files that hold data."""
    fs = OverlayFS(LowerStack(layers), metacopy=metacopy)
    for _ in range(data.draw(st.integers(1, 40))):
        model_apply(fs, draw_op(data, list(fs.visible_tree()), links=False))
        upper = fs.upper_tree().values()
        assert fs.upper_bytes() == sum(
            n.size_bytes for n in upper if n.kind == FILE and not n.metacopy
        )


def _outcome(call: Callable[[], object]) -> object:
    """What ``call`` returns, or the errno name it fails with."""
    try:
        return call()
    except FsError as e:
        return e.errno


@settings(max_examples=200, deadline=None)
@given(
    layers=layers_st,
    variant=st.sampled_from(["off", "redirect", "metacopy"]),
    data=st.data(),
)
def test_stat_and_read_agree_with_the_general_lookup(
    layers: list[Layer], variant: str, data: st.DataObject
) -> None:
    """``stat`` and ``read``, which skip the general lookup for upper files and for lower
    entries under no cut, give what a read-only ``open`` (always the general lookup) gives:
    the same kind, size, layer and layers visited, or the same errno, on every path."""
    fs = OverlayFS(
        LowerStack(layers), metacopy=variant == "metacopy", redirect_dir=variant == "redirect"
    )
    for _ in range(data.draw(st.integers(0, 30))):
        model_apply(fs, draw_op(data, list(fs.visible_tree())))
    for path, node in fs.visible_tree().items():  # with metacopy: metacopy files
        if node.kind == FILE and data.draw(st.booleans()):
            fs.chmod(path, 0o600)
    upper = fs.upper_tree()
    for path in PATHS:
        looked = _outcome(functools.partial(fs.stat, path))
        opened = _outcome(functools.partial(fs.open, path))
        read = _outcome(functools.partial(fs.read, path, 1, 4))
        if not isinstance(looked, Lookup):
            assert opened == read == looked, path
        elif looked.kind == SYMLINK:
            assert opened == read == "ELOOP", path
        elif looked.kind in SPECIAL:  # a FIFO opens to read, but has no offsets
            assert read == ("ESPIPE" if looked.kind == FIFO else "ENXIO"), path
            if looked.kind != FIFO:
                assert opened == "ENXIO", path
            else:
                assert isinstance(opened, Opened)
                assert looked[:4] == opened[:4], path
        else:
            assert isinstance(opened, Opened)
            assert looked[:4] == opened[:4], path
            if looked.kind == DIR:
                assert read == "EISDIR", path
            else:
                assert isinstance(read, Read)
                assert read.nbytes == max(0, min(4, looked.size_bytes - 1)), path
                if path in upper and upper[path].metacopy:  # the data is still below
                    assert read.layer >= 1, path
                else:
                    assert read.layer == looked.layer, path


# --------------------------------------------------------------------------- open_write


def _open_then_write(
    target: OverlayFS | ContainerView, path: str, offset: int, nbytes: int, append: bool
) -> tuple[object, ...]:
    """What ``open_write`` stands for: open(O_WRONLY|O_CREAT), then write or append."""
    try:
        opened = target.open(path, write=True, create=True)
        at = opened.size_bytes if append else offset
        written = target.append(path, nbytes) if append else target.write(path, offset, nbytes)
    except FsError as e:
        return (e.errno,)
    copy = opened.copy_up_bytes + written.copy_up_bytes
    return (written.size_bytes, opened.layers_visited, copy, opened.copied_up or bool(copy), at)


def _open_write(
    target: OverlayFS | ContainerView, path: str, offset: int, nbytes: int, append: bool
) -> tuple[object, ...]:
    try:
        before = target.read(path, 0, 0).layer
    except FsError:
        before = 0
    try:
        w = target.open_write(path, offset, nbytes, append=append)
    except FsError as e:
        return (e.errno,)
    # the source layer is where the file's data was before the open, if it copied it up
    assert w.source_layer == (before if w.copied_up else 0)
    assert w.layer == 0
    return (w.size_bytes, w.layers_visited, w.copy_up_bytes, w.copied_up, w.offset)


def _mounted(root: OverlayFS) -> ContainerView:
    """``root`` with a plain volume, a read-only bind and a mount refusing writes."""
    mounts = []
    for target, kwargs in [
        ("/m/v", {}),
        ("/m/ro", {"read_only": True}),
        ("/m/x", {"unsupported": frozenset({"write", "create"})}),
    ]:
        plain = PlainFS()
        plain.populate({"/a": Node(FILE, 3), "/b": Node(DIR)})
        mounts.append(Mount(target, plain, "volume", **kwargs))  # type: ignore[arg-type]
    return ContainerView(root, mounts)


_MOUNT_PATHS = ("/m/v/a", "/m/v/b", "/m/v/c", "/m/ro/a", "/m/ro/c", "/m/x/a", "/m/x/c")


@settings(max_examples=300, deadline=None)
@given(data=st.data(), metacopy=st.booleans(), view=st.booleans())
def test_open_write_is_open_then_write(data: st.DataObject, metacopy: bool, view: bool) -> None:
    """``open_write`` (one lookup) gives what ``open`` + ``write``/``append`` give: the same
    outcome, sizes, copy-up and layers visited, and leaves the same trees behind, on an
    overlay after random operations, and through mounts that refuse things."""
    layers = data.draw(layers_st)
    history = [draw_op(data, list(PATHS)) for _ in range(data.draw(st.integers(0, 12)))]
    steps: list[tuple[str, int, int, bool]] = []

    def build() -> OverlayFS | ContainerView:
        """The same state again: the history, then the open_writes so far."""
        fs = OverlayFS(LowerStack(layers), metacopy=metacopy, redirect_dir=metacopy)
        for op in history:
            model_apply(fs, op)
        target: OverlayFS | ContainerView = _mounted(fs) if view else fs
        for step in steps:
            with contextlib.suppress(FsError):
                target.open_write(*step[:3], append=step[3])
        return target

    paths = PATHS + _MOUNT_PATHS if view else PATHS
    for _ in range(data.draw(st.integers(1, 6))):
        path = data.draw(st.sampled_from(paths))
        offset, nbytes = data.draw(st.integers(0, 16)), data.draw(st.integers(0, 8))
        append = data.draw(st.booleans())
        target, twin = build(), build()
        assert _open_write(target, path, offset, nbytes, append) == _open_then_write(
            twin, path, offset, nbytes, append
        )
        assert target.visible_tree() == twin.visible_tree()
        roots = [t.root if isinstance(t, ContainerView) else t for t in (target, twin)]
        assert roots[0].upper_tree() == roots[1].upper_tree()
        steps.append((path, offset, nbytes, append))


def test_open_write_computes_the_offset_from_the_opened_size(fs: OverlayFS) -> None:
    """``at`` sees the size after the open (a copied-up file's) and the bytes to write,
    and its offset is used."""
    sizes: list[int] = []

    def at(size: int, nbytes: int) -> int:
        sizes.append(size)
        return size - nbytes // 2

    w = fs.open_write("/data/big.db", 0, 20, at=at)
    assert sizes == [1000]
    assert (w.offset, w.size_bytes, w.copy_up_bytes, w.source_layer) == (990, 1010, 1000, 2)
    assert fs.open_write("/data/new", 5, 1).size_bytes == 6  # created, then written at 5


def test_link_and_rename_of_the_root_fail_as_the_kernel_fails_them() -> None:
    """link("/", x) is EPERM (no hard link to a directory) and rename("/", x) EBUSY (the
    root is a mount point), each with the lookups it made: the root itself needs none
    (a generated scenario once reached an IndexError here)."""
    fs = OverlayFS(LowerStack([Layer.build("l", files={"/a": 1})]))
    with pytest.raises(FsError) as linked:
        fs.link("/", "/x")
    assert linked.value.errno == "EPERM"
    assert linked.value.walk is not None
    assert len(linked.value.walk) == 1  # the target's name, looked up after the root
    with pytest.raises(FsError) as renamed:
        fs.rename("/", "/x")
    assert renamed.value.errno == "EBUSY"
