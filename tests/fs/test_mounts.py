"""Tests of ``storsim.fs.mounts`` and ``storsim.fs.view``: the mount table and every
operation through it."""

from __future__ import annotations

import pytest

from storsim.fs import (
    DIR,
    FILE,
    Changed,
    Component,
    ContainerView,
    FsError,
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
from tests.fs.support import BASE, bare, errno_of


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
    assert bare(view.open("/etc/app.conf")) == Opened(FILE, 55, 0, 1, False, 0, False)
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
    assert bare(view.open("/d/f")) == Opened(FILE, 7, 1, 1, False, 0, False)


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
    assert bare(view.append("/s3/obj", 1)) == Written(6, 0)
    assert view.open("/s3/obj", create=True, write=True).created is False
    with pytest.raises(ValueError, match="unsupported must be op names"):
        Mount("/x", s3, "volume", unsupported=frozenset({"lock"}))


def test_rename_and_link_across_mounts_are_exdev(view: ContainerView) -> None:
    """Moving or linking between two mounts (or a mount and the root) is EXDEV."""
    view.open("/data/f", create=True)
    assert errno_of(lambda: view.rename("/data/f", "/data/cache/f")) == "EXDEV"
    assert errno_of(lambda: view.rename("/data/f", "/f")) == "EXDEV"
    assert errno_of(lambda: view.link("/data/f", "/f")) == "EXDEV"
    assert bare(view.rename("/data/f", "/data/g")) == Changed(0)


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


def test_read_only_mount_refuses_attributes_and_nodes_after_the_lookup(
    view: ContainerView,
) -> None:
    """On a read-only mount, setxattr is EROFS once the path resolves (ENOENT first) and
    mknod EROFS after EEXIST; getxattr reads; the view checks the name's length first."""
    assert errno_of(lambda: view.setxattr("/etc/app.conf", "user.a", b"1")) == "EROFS"
    assert errno_of(lambda: view.mknod("/etc/app.conf")) == "EEXIST"
    assert errno_of(lambda: view.getxattr("/etc/app.conf", "user.a")) == "ENODATA"
    assert errno_of(lambda: view.setxattr("/etc/app.conf", "", b"1")) == "ERANGE"
    ro = ContainerView(OverlayFS(LowerStack([BASE])), read_only=True)
    assert errno_of(lambda: ro.setxattr("/nope", "user.a", b"1")) == "ENOENT"
    assert errno_of(lambda: ro.mknod("/fifo")) == "EROFS"
    assert errno_of(lambda: ro.mknod("/etc", "dir")) == "EPERM"


def test_a_mount_may_refuse_attributes_and_nodes() -> None:
    """setxattr, getxattr and mknod can be listed as unsupported (a FUSE mount without
    xattr support); ERANGE still comes first."""
    fuse = PlainFS()
    fuse.populate({"/obj": Node(FILE, 5)})
    ops = frozenset({"setxattr", "getxattr", "mknod"})
    view = ContainerView(OverlayFS(LowerStack([])), [Mount("/s3", fuse, "distributed_bind",
                         unsupported=ops, unsupported_errno="EPERM")])  # fmt: skip
    assert errno_of(lambda: view.setxattr("/s3/obj", "user.a", b"1")) == "EPERM"
    assert errno_of(lambda: view.getxattr("/s3/obj", "user.a")) == "EPERM"
    assert errno_of(lambda: view.mknod("/s3/p")) == "EPERM"
    assert errno_of(lambda: view.getxattr("/s3/obj", "")) == "ERANGE"
    view.mknod("/fifo")  # the root accepts them
    assert bare(view.setxattr("/fifo", "trusted.a", b"1")) == Changed(0)


def test_errors_through_mounts_carry_the_serving_file_systems_walk(
    view: ContainerView,
) -> None:
    """A mounted file system's error is reported on the container's path with that file
    system's walk; the view's own refusals carry the walk of the path below them."""
    volume = view.mounts[0].fs
    with pytest.raises(FsError) as missing:
        view.stat("/data/nope")
    assert missing.value.path == "/data/nope"
    assert missing.value.walk == volume.walk("/nope") == (Component("/nope", 1, True, False),)
    with pytest.raises(FsError) as refused:
        view.setxattr("/etc/app.conf", "user.a", b"1")
    bound = view.mounts[2].fs
    assert refused.value.walk == bound.walk("/app.conf")
    assert view.walk("/data/cache/x") == view.mounts[3].fs.walk("/x")
    view.open("/data/f", create=True)
    with pytest.raises(FsError) as across:
        view.rename("/data/f", "/f")
    assert across.value.walk == volume.walk("/") + view.root.walk("/")  # both parents: roots
