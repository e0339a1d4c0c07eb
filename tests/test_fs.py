"""Tests of storsim.fs: the union file system and mount semantics.

One test per rule, each asserting exact results, then hypothesis properties against two
independent references: Docker's layer extraction (for the merge of the lowers) and a
flat POSIX tree (for operation outcomes and the visible tree). The real kernel is the
judge in ``test_fs_kernel.py``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from storsim.fs import (
    DIR,
    FILE,
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
)

# --------------------------------------------------------------------------- fixtures

# The bottom layer, as a base image would have it.
BASE = Layer.build(
    "base",
    files={
        "/etc/app.conf": 100,
        "/data/big.db": 1000,
        "/d/f": 5,
        "/d/g": 2,
        "/e/x": 10,
        "/z": 0,
        "/lib/a/b": 1,
    },
    symlinks={"/s": "target"},
)
# The top layer: overrides /d/f, deletes /d/g, replaces /e wholesale.
TOP = Layer.build(
    "app",
    files={"/d/h": 3, "/d/f": 7, "/e/new": 4, "/app/main.py": 8},
    whiteouts=["/d/g"],
    opaque=["/e"],
)


@pytest.fixture
def image() -> LowerStack:
    """A two-layer image: ``app`` (layer 1) on ``base`` (layer 2)."""
    return LowerStack([TOP, BASE])


@pytest.fixture
def fs(image: LowerStack) -> OverlayFS:
    """A fresh container root on the image, metacopy and redirect_dir off (Docker's default)."""
    return OverlayFS(image)


def errno_of(call: Callable[[], object]) -> str:
    """The errno name ``call`` fails with."""
    with pytest.raises(FsError) as info:
        call()
    return info.value.errno


# --------------------------------------------------------------------------- nodes, layers


def test_node_mode_defaults_depend_on_kind() -> None:
    """Files default to 0o644, directories to 0o755, symlinks to 0o777 with size = len(target)."""
    assert Node(FILE).mode == 0o644
    assert Node(DIR).mode == 0o755
    assert Node(SYMLINK, target="abc") == Node(SYMLINK, 3, 0o777, target="abc")
    assert Node(WHITEOUT).mode == 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kind": "fifo"}, "kind must be one of"),
        ({"kind": FILE, "size_bytes": -1}, r"size_bytes must be >= 0 \(got -1\)"),
        ({"kind": FILE, "opaque": True}, "only a directory can be opaque"),
        ({"kind": SYMLINK}, "must have a non-empty target"),
        ({"kind": DIR, "metacopy": True}, "only a file can be metacopy"),
        ({"kind": FILE, "mode": 0o10000}, "mode must be within"),
    ],
)
def test_node_rejects_impossible_entries(kwargs: dict[str, Any], message: str) -> None:
    """A Node the kernel could not hold is a ValueError."""
    with pytest.raises(ValueError, match=message):
        Node(**kwargs)


def test_layer_build_implies_parent_directories() -> None:
    """Layer.build adds missing parents as 0o755 directories and keeps whiteouts and opaques."""
    layer = Layer.build("l", files={"/a/b/c": 3}, whiteouts=["/w"], opaque=["/o"])
    assert dict(layer.entries) == {
        "/": Node(DIR),
        "/a": Node(DIR),
        "/a/b": Node(DIR),
        "/a/b/c": Node(FILE, 3),
        "/w": Node(WHITEOUT),
        "/o": Node(DIR, opaque=True),
    }
    assert layer.size_bytes == 3


def test_layer_rejects_entry_below_a_file() -> None:
    """An entry below a non-directory of the same layer is a ValueError."""
    with pytest.raises(ValueError, match="/a/b is below /a, which is a file"):
        Layer.build("l", files={"/a": 1, "/a/b": 2})


def test_lower_stack_refuses_more_than_max_layers() -> None:
    """Docker overlay2 refuses images deeper than 128 layers; the kernel caps at 500."""
    layers = [Layer.build(f"l{i}", files={f"/f{i}": 1}) for i in range(129)]
    assert len(LowerStack(layers[:128])) == 128
    with pytest.raises(ValueError, match=r"max depth exceeded: 129 lower layers > 128"):
        LowerStack(layers)
    with pytest.raises(ValueError, match=r"max depth exceeded: 3 lower layers > 2"):
        LowerStack(layers[:3], max_layers=2)
    many = [Layer("x", {})] * 501
    with pytest.raises(ValueError, match=r"max depth exceeded: 501 lower layers > 500"):
        LowerStack(many, max_layers=1000)


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
    assert fs.readdir("/e") == Listing(("new",), 1)
    assert errno_of(lambda: fs.stat("/e/x")) == "ENOENT"


def test_directories_merge_across_layers(fs: OverlayFS) -> None:
    """readdir shows the union of a directory's layers minus whiteouts."""
    assert fs.readdir("/d") == Listing(("f", "h"), 2)
    assert fs.readdir("/") == Listing(("app", "d", "data", "e", "etc", "lib", "s", "z"), 3)


def test_layers_visited_counts_the_lookup_loop() -> None:
    """A hit stops at its layer; a miss visits every layer where the parent directory exists."""
    layers = [Layer.build(f"l{i}", dirs=["/x"]) for i in range(4)]
    layers.append(Layer.build("bottom", files={"/x/f": 1}))
    fs = OverlayFS(LowerStack(layers))
    assert fs.stat("/x/f") == Lookup(FILE, 1, 5, 5)
    assert fs.stat("/x") == Lookup(DIR, 0, 1, 6)  # upper root + all five layers
    assert fs.open("/x/new", create=True).layers_visited == 5  # /x is not in the upper yet
    assert fs.open("/x/new2", create=True).layers_visited == 6  # now it is: upper + 5


def test_lookup_does_not_walk_the_layers() -> None:
    """The merged index answers a lookup in an image of 128 layers without walking them."""
    layers = [Layer.build(f"l{i}", files={f"/d/f{i}": i}) for i in range(128)]
    stack = LowerStack(layers)
    entry = stack.lookup("/d/f127")
    assert entry is not None
    assert (entry.layer, entry.layers_visited, entry.ancestors) == (128, 128, ("/", "/d"))
    assert OverlayFS(stack).stat("/d/f127") == Lookup(FILE, 127, 128, 128)


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
    assert fs.open("/data/big.db", write=True) == Opened(FILE, 1000, 0, 1, False, 1000, True)
    assert fs.upper_tree() == {"/data": Node(DIR), "/data/big.db": Node(FILE, 1000)}
    assert fs.upper_bytes() == 1000
    assert fs.copied_up_paths() == {"/data", "/data/big.db"}


def test_o_trunc_open_copies_no_data(fs: OverlayFS) -> None:
    """An O_TRUNC open copies the file up without its data."""
    assert fs.open("/data/big.db", write=True, trunc=True) == Opened(FILE, 0, 0, 1, False, 0, True)
    assert fs.upper_tree()["/data/big.db"] == Node(FILE, 0)


def test_read_only_opens_never_copy_up(fs: OverlayFS) -> None:
    """Opening and reading a lower file leaves the upper layer empty."""
    assert fs.open("/data/big.db") == Opened(FILE, 1000, 2, 1, False, 0, False)
    assert fs.read("/data/big.db", 900, 500) == Read(100, 2)
    fs.fsync("/data/big.db")
    assert fs.readdir("/d").names == ("f", "h")
    assert fs.upper_tree() == {}


def test_later_writes_hit_the_copy(fs: OverlayFS) -> None:
    """Only the first write copies up; later ones write into the copy."""
    assert fs.write("/data/big.db", 0, 1) == Written(1000, 1000)
    assert fs.write("/data/big.db", 1000, 24) == Written(1024, 0)
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
    assert fs.chmod("/data/big.db", 0o600) == Changed(0)
    assert fs.upper_tree()["/data/big.db"] == Node(FILE, 1000, 0o600, metacopy=True)
    assert fs.read("/data/big.db", 0, 10) == Read(10, 2)
    assert fs.upper_bytes() == 0
    assert fs.write("/data/big.db", 0, 1) == Written(1000, 1000)
    assert fs.upper_tree()["/data/big.db"] == Node(FILE, 1000, 0o600)
    assert fs.read("/data/big.db", 0, 10) == Read(10, 0)
    assert fs.upper_bytes() == 1000


def test_metacopy_truncate_copies_the_data(image: LowerStack) -> None:
    """Truncating a metacopy file copies its data up first, as truncate(2) does."""
    fs = OverlayFS(image, metacopy=True)
    fs.chmod("/etc/app.conf", 0o600)
    assert fs.truncate("/etc/app.conf", 10) == Changed(100)
    assert fs.upper_tree()["/etc/app.conf"] == Node(FILE, 10, 0o600)


def test_metacopy_implies_redirect_dir(image: LowerStack) -> None:
    """metacopy turns redirect_dir on, as the kernel does (it refuses them apart)."""
    fs = OverlayFS(image, metacopy=True)
    assert fs.redirect_dir
    assert fs.rename("/lib", "/lib2") == Changed(0)


def test_metacopy_rename_and_link_keep_data_below(image: LowerStack) -> None:
    """With metacopy, rename and link copy metadata only and store a redirect to the data."""
    fs = OverlayFS(image, metacopy=True)
    assert fs.rename("/data/big.db", "/data/old.db") == Changed(0)
    assert fs.link("/etc/app.conf", "/app.conf") == Changed(0)
    assert fs.redirects() == {"/app.conf": "/etc/app.conf", "/data/old.db": "big.db",
                              "/etc/app.conf": "/etc/app.conf"}  # fmt: skip
    assert fs.read("/data/old.db", 0, 2000) == Read(1000, 2)


def test_link_copies_a_lower_file_up_first(fs: OverlayFS) -> None:
    """A hard link to a lower file copies it up, and both names then share one inode."""
    assert fs.link("/etc/app.conf", "/app.conf") == Changed(100)
    assert fs.append("/app.conf", 10) == Written(110, 0)
    assert fs.stat("/etc/app.conf") == Lookup(FILE, 110, 0, 1)
    assert fs.upper_bytes() == 110  # one inode, counted once


def test_rename_lower_file_copies_it_up_and_whiteouts_the_source(fs: OverlayFS) -> None:
    """Renaming a lower file copies it up, moves it, and leaves a whiteout at the source."""
    assert fs.rename("/etc/app.conf", "/app.conf") == Changed(100)
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
    assert fs.readdir("/d") == Listing((), 1)


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
    assert fs.rename("/n", "/n2") == Changed(0)


def test_rename_lower_directory_with_redirect_dir(image: LowerStack) -> None:
    """With redirect_dir the rename works, records a redirect and whiteouts the source."""
    fs = OverlayFS(image, redirect_dir=True)
    assert fs.rename("/d", "/lib/d") == Changed(0)
    assert fs.readdir("/lib/d").names == ("f", "h")
    assert fs.stat("/lib/d/f") == Lookup(FILE, 7, 1, 2)  # upper /lib/d, then layer 1
    assert fs.redirects() == {"/lib/d": "/d"}
    assert fs.upper_tree() == {"/d": Node(WHITEOUT), "/lib": Node(DIR), "/lib/d": Node(DIR)}
    assert fs.rename("/lib/d", "/lib/e") == Changed(0)  # an absolute redirect is kept
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
    assert fs.rename("/z", "/z") == Changed(0)
    assert fs.upper_tree() == {}
    fs.link("/z", "/z2")
    assert fs.rename("/z", "/z2") == Changed(0)
    assert set(fs.upper_tree()) == {"/z", "/z2"}


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


# --------------------------------------------------------------------------- PlainFS


def test_plainfs_has_one_layer_and_never_copies_up() -> None:
    """A PlainFS answers from layer 0 after visiting 1 directory, and moves directories freely."""
    vol = PlainFS()
    vol.mkdir("/db")
    assert vol.open("/db/data", create=True, write=True) == Opened(FILE, 0, 0, 1, True, 0, False)
    assert vol.write("/db/data", 0, 4096) == Written(4096, 0)
    assert vol.stat("/db/data") == Lookup(FILE, 4096, 0, 1)
    assert vol.rename("/db", "/db2") == Changed(0)
    assert vol.readdir("/") == Listing(("db2",), 1)
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


# --------------------------------------------------------------------------- mounts


@pytest.fixture
def view(image: LowerStack) -> ContainerView:
    """A container with a volume on /data (over image content), a bind on /srv/conf (a new
    path), a read-only bind of one file onto /etc/app.conf and a tmpfs on /data/cache."""
    volume, host, tmp = PlainFS(), PlainFS(), PlainFS()
    host.populate({"/conf/site.yaml": Node(FILE, 30), "/app.conf": Node(FILE, 55)})
    return ContainerView(
        OverlayFS(image),
        [
            Mount("/data", volume, "volume"),
            Mount("/srv/conf", host, "local_bind", source_root="/conf"),
            Mount("/etc/app.conf", host, "local_bind", read_only=True, source_root="/app.conf"),
            Mount("/data/cache", tmp, "tmpfs"),
        ],
    )


def test_longest_prefix_at_a_component_boundary_wins(view: ContainerView) -> None:
    """/data/cache/x goes to the tmpfs, /data/x to the volume, /database to the root."""
    tmpfs, volume = view.mounts[3], view.mounts[0]
    assert view.resolve("/data/cache/x") == (tmpfs, "/x")
    assert view.resolve("/data/cache") == (tmpfs, "/")
    assert view.resolve("/data/x") == (volume, "/x")
    assert view.resolve("/database") == (None, "/database")
    assert view.resolve("/srv/conf/site.yaml") == (view.mounts[1], "/conf/site.yaml")
    assert view.stat("/srv/conf/site.yaml") == Lookup(FILE, 30, 0, 1)
    assert view.stat("/etc/app.conf") == Lookup(FILE, 55, 0, 1)


def test_missing_mount_points_are_created_in_the_writable_layer(view: ContainerView) -> None:
    """Docker makes missing mount points (parents too) in the upper; existing ones stay below."""
    assert isinstance(view.root, OverlayFS)
    assert view.root.upper_tree() == {"/srv": Node(DIR), "/srv/conf": Node(DIR)}
    volume = view.mounts[0].fs
    assert volume.visible_tree() == {"/cache": Node(DIR)}  # /data/cache was made in the volume


def test_a_mount_hides_the_image_entries_below_it(view: ContainerView) -> None:
    """hidden_entries counts what the image has below a target, at every depth."""
    assert view.hidden_entries("/data") == 1  # big.db
    assert view.hidden_entries("/srv/conf") == 0
    assert view.hidden_entries("/etc/app.conf") == 0
    assert view.hidden_entries("/data/cache") == 0
    assert errno_of(lambda: view.stat("/data/big.db")) == "ENOENT"
    with pytest.raises(ValueError, match="must be a mount target"):
        view.hidden_entries("/etc")


def test_read_only_mount_refuses_changes_with_erofs(view: ContainerView) -> None:
    """Mutating a read-only mount is EROFS, after the errors that come first in the kernel."""
    assert view.read("/etc/app.conf", 0, 100) == Read(55, 0)
    assert view.open("/etc/app.conf") == Opened(FILE, 55, 0, 1, False, 0, False)
    assert errno_of(lambda: view.open("/etc/app.conf", write=True)) == "EROFS"
    assert errno_of(lambda: view.write("/etc/app.conf", 0, 1)) == "EROFS"
    assert errno_of(lambda: view.chmod("/etc/app.conf", 0o600)) == "EROFS"
    assert errno_of(lambda: view.truncate("/etc/app.conf", 0)) == "EROFS"


def test_read_only_root_reports_enoent_before_erofs(image: LowerStack) -> None:
    """On a read-only root, a missing file is still ENOENT and an existing name EEXIST."""
    view = ContainerView(OverlayFS(image), read_only=True)
    assert errno_of(lambda: view.open("/nope", write=True)) == "ENOENT"
    assert errno_of(lambda: view.open("/nope", create=True)) == "EROFS"
    assert errno_of(lambda: view.open("/no/x", create=True)) == "ENOENT"
    assert errno_of(lambda: view.open("/d", write=True)) == "EISDIR"
    assert errno_of(lambda: view.mkdir("/d")) == "EEXIST"
    assert errno_of(lambda: view.mkdir("/new")) == "EROFS"
    assert errno_of(lambda: view.unlink("/d/f")) == "EROFS"
    assert errno_of(lambda: view.rename("/d/f", "/x")) == "EROFS"
    assert view.open("/d/f") == Opened(FILE, 7, 1, 1, False, 0, False)


def test_unsupported_operations_fail_with_the_mounts_errno() -> None:
    """An op a mount lists as unsupported fails with its errno, like link on S3 FUSE."""
    s3 = PlainFS()
    s3.populate({"/obj": Node(FILE, 5)})
    view = ContainerView(
        OverlayFS(LowerStack([])),
        [Mount("/s3", s3, "distributed_bind", unsupported=frozenset({"link", "create", "write"}))],
    )
    assert errno_of(lambda: view.link("/s3/obj", "/s3/obj2")) == "EOPNOTSUPP"
    assert errno_of(lambda: view.open("/s3/new", create=True, write=True)) == "EOPNOTSUPP"
    assert errno_of(lambda: view.write("/s3/obj", 0, 1)) == "EOPNOTSUPP"
    assert view.append("/s3/obj", 1) == Written(6, 0)
    assert view.open("/s3/obj", create=True, write=True).created is False
    with pytest.raises(ValueError, match="unsupported must be op names"):
        Mount("/x", s3, "volume", unsupported=frozenset({"lock"}))


def test_rename_and_link_across_mounts_are_exdev(view: ContainerView) -> None:
    """Moving or linking between two mounts (or a mount and the root) is EXDEV."""
    view.open("/data/f", create=True)
    assert errno_of(lambda: view.rename("/data/f", "/data/cache/f")) == "EXDEV"
    assert errno_of(lambda: view.rename("/data/f", "/f")) == "EXDEV"
    assert errno_of(lambda: view.link("/data/f", "/f")) == "EXDEV"
    assert view.rename("/data/f", "/data/g") == Changed(0)


def test_mount_points_are_busy(view: ContainerView) -> None:
    """A mount point cannot be removed or renamed (EBUSY), nor its parent emptied."""
    assert errno_of(lambda: view.rmdir("/data")) == "EBUSY"
    assert errno_of(lambda: view.unlink("/etc/app.conf")) == "EBUSY"
    assert errno_of(lambda: view.unlink("/data")) == "EISDIR"
    assert errno_of(lambda: view.rename("/srv/conf", "/x")) == "EBUSY"
    assert errno_of(lambda: view.rename("/srv", "/x")) == "EBUSY"
    assert errno_of(lambda: view.rmdir("/srv")) == "ENOTEMPTY"


def test_storage_of_names_the_storage_choice(view: ContainerView) -> None:
    """Image data read untouched is image_layer; anything written or copied is writable_layer."""
    read = view.read("/d/f", 0, 1)
    assert view.storage_of("/d/f", read) == "image_layer"
    assert view.storage_of("/d", view.readdir("/d")) == "image_layer"
    written = view.write("/d/f", 0, 1)
    assert view.storage_of("/d/f", written) == "writable_layer"
    assert view.storage_of("/d/f", view.read("/d/f", 0, 1)) == "writable_layer"
    opened = view.open("/z", write=True)
    assert view.storage_of("/z", opened) == "writable_layer"
    assert view.storage_of("/data/x", Changed(0)) == "volume"
    assert view.storage_of("/nope", None) == "writable_layer"  # a failed operation
    assert view.storage_of("/data/cache/x", Changed(0)) == "tmpfs"


def test_copy_image_fills_an_empty_volume_once(image: LowerStack) -> None:
    """A volume mounted with copy_image gets the image's content at the target if empty."""
    volume = PlainFS()
    first = ContainerView(OverlayFS(image), [Mount("/d", volume, "volume", copy_image=True)])
    assert first.populated_bytes == {"/d": 10}
    assert volume.visible_tree() == {"/f": Node(FILE, 7), "/h": Node(FILE, 3)}
    volume.unlink("/f")
    again = ContainerView(OverlayFS(image), [Mount("/d", volume, "volume", copy_image=True)])
    assert again.populated_bytes == {}
    assert again.readdir("/d").names == ("h",)


def test_file_mount_over_directory_fails() -> None:
    """A single-file bind mount onto a directory is refused (ENOTDIR), like runc does."""
    host = PlainFS()
    host.populate({"/f": Node(FILE, 1)})
    root = OverlayFS(LowerStack([BASE]))
    with pytest.raises(FsError, match="ENOTDIR"):
        ContainerView(root, [Mount("/etc", host, "local_bind", source_root="/f")])


def test_container_visible_tree_grafts_mounts(view: ContainerView) -> None:
    """The container's tree shows mounts in place of what they hide."""
    tree = view.visible_tree()
    assert "/data/big.db" not in tree
    assert tree["/data/cache"] == Node(DIR)
    assert tree["/srv/conf/site.yaml"] == Node(FILE, 30)
    assert tree["/etc/app.conf"] == Node(FILE, 55)
    assert tree["/d/f"] == Node(FILE, 7)


# --------------------------------------------------------------------------- properties

NAMES = ("a", "b")
PATHS = tuple(
    "/" + "/".join(parts)
    for parts in [(x,) for x in NAMES]
    + [(x, y) for x in NAMES for y in NAMES]
    + [(x, y, z) for x in NAMES for y in NAMES for z in NAMES]
)


def _layer_entries(raw: list[tuple[str, str, int]]) -> dict[str, Node]:
    entries: dict[str, Node] = {}
    for path, kind, size in sorted(raw, key=lambda e: e[0].count("/")):
        parts = path.split("/")[1:-1]
        ancestors = ["/" + "/".join(parts[: i + 1]) for i in range(len(parts))]
        if path in entries or any(a in entries and entries[a].kind != DIR for a in ancestors):
            continue
        entries[path] = {
            FILE: Node(FILE, size),
            DIR: Node(DIR, mode=0o700 if size % 2 else 0o755),
            "opaque": Node(DIR, opaque=True),
            WHITEOUT: Node(WHITEOUT),
            SYMLINK: Node(SYMLINK, target="t" * (size + 1)),
        }[kind]
    return entries


layers_st = st.lists(
    st.lists(
        st.tuples(
            st.sampled_from(PATHS),
            st.sampled_from([FILE, FILE, DIR, WHITEOUT, "opaque", SYMLINK]),
            st.integers(0, 9),
        ),
        max_size=12,
    ).map(lambda raw: Layer("l", _layer_entries(raw))),
    max_size=5,
)


def extract(layers: list[Layer]) -> dict[str, Node]:
    """Docker's way of building a root file system without overlayfs: unpack each layer
    (bottom first) over the previous ones, applying whiteouts and opaque markers."""
    tree: dict[str, Node] = {}

    def remove(path: str, *, keep_self: bool = False) -> None:
        for p in [p for p in tree if p.startswith(path + "/") or (p == path and not keep_self)]:
            del tree[p]

    for layer in reversed(layers):
        for path in sorted(layer.entries, key=lambda p: (p.count("/"), p)):
            node = layer.entries[path]
            if path == "/":
                continue
            if node.kind == WHITEOUT:
                remove(path)
            elif node.kind == DIR:
                if path in tree and tree[path].kind != DIR:
                    remove(path)
                if node.opaque:
                    remove(path, keep_self=True)
                tree[path] = Node(DIR, mode=node.mode)
            else:
                remove(path)
                tree[path] = node
    return dict(sorted(tree.items()))


@settings(max_examples=300, deadline=None)
@given(layers=layers_st)
def test_merged_lowers_equal_docker_layer_extraction(layers: list[Layer]) -> None:
    """The precomputed merge of the lowers equals unpacking the layers one over another."""
    stack = LowerStack(layers)
    assert stack.visible_tree() == extract(layers)
    assert OverlayFS(stack).visible_tree() == extract(layers)


@dataclass
class _RFile:
    kind: str
    size: int
    mode: int
    target: str | None = None


@dataclass
class _RDir:
    mode: int
    lower: bool


class Reference:
    """A flat POSIX tree with Linux's error order and no layers: what a container should
    see whatever the layers do underneath. Only EXDEV for directories that have a lower
    part (without redirect_dir) comes from overlayfs."""

    def __init__(self, tree: dict[str, Node], *, redirect_dir: bool) -> None:
        self.redirect_dir = redirect_dir
        self.t: dict[str, _RFile | _RDir] = {"/": _RDir(0o755, True)}
        for p, n in tree.items():
            self.t[p] = (
                _RDir(n.mode, True)
                if n.kind == DIR
                else _RFile(n.kind, n.size_bytes, n.mode, n.target)
            )

    def parent(self, path: str) -> str:
        parent = path.rsplit("/", 1)[0] or "/"
        parts = [p for p in parent.split("/") if p]
        for i in range(len(parts)):
            e = self.t.get("/" + "/".join(parts[: i + 1]))
            if e is None:
                raise FsError("ENOENT", path)
            if isinstance(e, _RFile):
                raise FsError("ELOOP" if e.kind == SYMLINK else "ENOTDIR", path)
        return parent

    def get(self, path: str) -> _RFile | _RDir | None:
        self.parent(path)
        return self.t.get(path)

    def children(self, path: str) -> list[str]:
        prefix = "/" if path == "/" else path + "/"
        return sorted(p[len(prefix) :] for p in self.t if p.startswith(prefix) and p != path
                      and "/" not in p[len(prefix) :])  # fmt: skip

    def existing(self, path: str) -> _RFile | _RDir:
        e = self.get(path)
        if e is None:
            raise FsError("ENOENT", path)
        return e

    def regular(self, path: str) -> _RFile:
        e = self.existing(path)
        if isinstance(e, _RDir):
            raise FsError("EISDIR", path)
        if e.kind == SYMLINK:
            raise FsError("ELOOP", path)
        return e

    def apply(self, op: tuple[Any, ...]) -> object:
        try:
            return getattr(self, "_" + op[0])(*op[1:])
        except FsError as e:
            return e.errno

    def _stat(self, p: str) -> object:
        e = self.existing(p)
        return ("ok", DIR, 0) if isinstance(e, _RDir) else ("ok", e.kind, e.size)

    def _open(self, p: str, write: bool, create: bool, excl: bool, trunc: bool) -> object:
        e = self.get(p)
        if e is None:
            if not create:
                raise FsError("ENOENT", p)
            self.t[p] = _RFile(FILE, 0, 0o644)
            return ("ok", FILE, 0)
        if create and excl:
            raise FsError("EEXIST", p)
        if isinstance(e, _RDir):
            if write or trunc or create:
                raise FsError("EISDIR", p)
            return ("ok", DIR, 0)
        f = self.regular(p)
        if trunc:
            f.size = 0
        return ("ok", FILE, f.size)

    def _read(self, p: str, offset: int, n: int) -> object:
        return ("ok", max(0, min(n, self.regular(p).size - offset)))

    def _write(self, p: str, offset: int, n: int) -> object:
        f = self.regular(p)
        if n:
            f.size = max(f.size, offset + n)
        return ("ok", f.size)

    def _append(self, p: str, n: int) -> object:
        f = self.regular(p)
        f.size += n
        return ("ok", f.size)

    def _truncate(self, p: str, size: int) -> object:
        self.regular(p).size = size
        return "ok"

    def _fsync(self, p: str) -> object:
        e = self.existing(p)
        if isinstance(e, _RFile) and e.kind == SYMLINK:
            raise FsError("ELOOP", p)
        return "ok"

    def _chmod(self, p: str, mode: int) -> object:
        e = self.existing(p)
        if isinstance(e, _RFile) and e.kind == SYMLINK:
            raise FsError("EOPNOTSUPP", p)
        e.mode = mode
        return "ok"

    def _readdir(self, p: str) -> object:
        if not isinstance(self.existing(p), _RDir):
            raise FsError("ENOTDIR", p)
        return ("ok", tuple(self.children(p)))

    def _unlink(self, p: str) -> object:
        if isinstance(self.existing(p), _RDir):
            raise FsError("EISDIR", p)
        del self.t[p]
        return "ok"

    def _rmdir(self, p: str) -> object:
        if not isinstance(self.existing(p), _RDir):
            raise FsError("ENOTDIR", p)
        if self.children(p):
            raise FsError("ENOTEMPTY", p)
        del self.t[p]
        return "ok"

    def _mkdir(self, p: str) -> object:
        if self.get(p) is not None:
            raise FsError("EEXIST", p)
        self.t[p] = _RDir(0o755, False)
        return "ok"

    def _symlink(self, target: str, p: str) -> object:
        if self.get(p) is not None:
            raise FsError("EEXIST", p)
        self.t[p] = _RFile(SYMLINK, len(target), 0o777, target)
        return "ok"

    def _link(self, s: str, d: str) -> object:
        e = self.existing(s)
        if self.get(d) is not None:
            raise FsError("EEXIST", d)
        if isinstance(e, _RDir):
            raise FsError("EPERM", s)
        self.t[d] = e  # the same object: a hard link
        return "ok"

    def _rename(self, s: str, d: str) -> object:
        self.parent(s)
        self.parent(d)
        e = self.existing(s)
        old = self.t.get(d)
        if d.startswith(s + "/"):
            raise FsError("EINVAL", s)
        if s.startswith(d + "/"):
            raise FsError("ENOTEMPTY", d)
        if e is old:
            return "ok"
        if old is not None:
            if isinstance(e, _RDir) and not isinstance(old, _RDir):
                raise FsError("ENOTDIR", d)
            if not isinstance(e, _RDir) and isinstance(old, _RDir):
                raise FsError("EISDIR", d)
        if isinstance(e, _RDir) and e.lower and not self.redirect_dir:
            raise FsError("EXDEV", s)
        if isinstance(old, _RDir) and self.children(d):
            raise FsError("ENOTEMPTY", d)
        moved = {p: v for p, v in self.t.items() if p == s or p.startswith(s + "/")}
        for p in moved:
            del self.t[p]
        self.t.pop(d, None)
        for p, v in moved.items():
            self.t[d + p[len(s) :]] = v
        return "ok"

    def tree(self) -> dict[str, Node]:
        out: dict[str, Node] = {}
        for p, e in sorted(self.t.items()):
            if p != "/":
                out[p] = (
                    Node(DIR, mode=e.mode)
                    if isinstance(e, _RDir)
                    else Node(e.kind, e.size, e.mode, target=e.target)
                )
        return out


def model_apply(fs: OverlayFS | PlainFS, op: tuple[Any, ...]) -> object:
    """Apply ``op`` to the model; returns what ``Reference.apply`` returns."""
    name, args = op[0], op[1:]
    try:
        if name == "stat":
            r = fs.stat(args[0])
            return ("ok", r.kind, 0 if r.kind == DIR else r.size_bytes)
        if name == "open":
            path, write, create, excl, trunc = args
            o = fs.open(path, write=write, create=create, excl=excl, trunc=trunc)
            return ("ok", o.kind, 0 if o.kind == DIR else o.size_bytes)
        if name == "read":
            return ("ok", fs.read(*args).nbytes)
        if name in ("write", "append"):
            return ("ok", getattr(fs, name)(*args).size_bytes)
        if name == "readdir":
            # Drop the ghost names of one-layer directories (see OverlayFS.readdir).
            names = fs.readdir(args[0]).names
            prefix = "/" if args[0] == "/" else args[0] + "/"
            return ("ok", tuple(n for n in names if prefix + n in fs.visible_tree()))
        getattr(fs, name)(*args)
    except FsError as e:
        return e.errno
    return "ok"


def draw_op(data: st.DataObject, visible: list[str], *, links: bool = True) -> tuple[Any, ...]:
    """A random operation, mostly on paths that exist right now."""
    path = (
        st.one_of(st.sampled_from(visible), st.sampled_from(PATHS))
        if visible
        else st.sampled_from(PATHS)
    )
    names = ["open", "write", "append", "read", "truncate", "unlink", "rmdir", "mkdir"]
    names += ["rename", "rename", "chmod", "symlink", "stat", "readdir", "fsync"]
    name = data.draw(st.sampled_from([*names, "link"] if links else names))
    if name == "open":
        return (name, data.draw(path), *data.draw(st.tuples(*[st.booleans()] * 4)))
    if name in ("write", "read"):
        return (name, data.draw(path), data.draw(st.integers(0, 20)), data.draw(st.integers(0, 9)))
    if name in ("append", "truncate"):
        return (name, data.draw(path), data.draw(st.integers(0, 20)))
    if name in ("rename", "link"):
        return (name, data.draw(path), data.draw(path))
    if name == "chmod":
        return (name, data.draw(path), data.draw(st.sampled_from([0o600, 0o700, 0o755])))
    if name == "symlink":
        return (name, data.draw(st.sampled_from(["a", "../b", "/x/y"])), data.draw(path))
    return (name, data.draw(path))


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
        ref = Reference({}, redirect_dir=True)
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
            result = (
                getattr(fs, op[0])(*op[1:])
                if op[0] != "open"
                else fs.open(op[1], write=op[2], create=op[3], excl=op[4], trunc=op[5])
            )
        except FsError:
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
