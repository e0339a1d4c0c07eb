"""Tests of ``storsim.fs.layers``: image layers and their merge, against Docker's own layer
extraction."""

from __future__ import annotations

import pytest
from hypothesis import given, settings

from storsim.fs import (
    CHARDEV,
    DIR,
    FIFO,
    FILE,
    WHITEOUT,
    Layer,
    Lookup,
    LowerStack,
    Node,
    OverlayFS,
)
from tests.fs.support import extract, layers_st


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


def test_layer_build_adds_fifos_and_attributes() -> None:
    """Layer.build makes FIFOs and attaches attributes to given or implied entries."""
    layer = Layer.build(
        "l",
        files={"/a/f": 1},
        fifos=["/p"],
        xattrs={"/a/f": {"user.a": b"1"}, "/a": {"user.d": b""}},
    )
    assert layer.entries["/p"] == Node(FIFO)
    assert layer.entries["/a/f"] == Node(FILE, 1, xattrs=(("user.a", b"1"),))
    assert layer.entries["/a"] == Node(DIR, xattrs=(("user.d", b""),))


def test_layer_refuses_the_whiteout_device() -> None:
    """A 0:0 character device in a layer is what overlayfs reads as a whiteout: say so."""
    with pytest.raises(ValueError, match="0:0 chardev: write a whiteout"):
        Layer("l", {"/c": Node(CHARDEV)})
    assert Layer("l", {"/c": Node(CHARDEV, rdev=(1, 3))}).entries["/c"].rdev == (1, 3)


def test_merged_directory_keeps_its_top_copys_attributes() -> None:
    """The merged view of a directory in several layers shows the top-most copy's mode and
    attributes, which getxattr reads and a copy-up copies."""
    top = Layer.build("top", dirs=["/d"], xattrs={"/d": {"user.top": b"t"}})
    low = Layer.build("low", files={"/d/x": 1}, xattrs={"/d": {"user.low": b"l"}})
    entry = LowerStack([top, low]).lookup("/d")
    assert entry is not None
    assert entry.node == Node(DIR, xattrs=(("user.top", b"t"),))


def test_absolute_layers_counts_the_root_stack_search() -> None:
    """An absolute redirect is searched in every layer from the root, top-most first, until
    a layer stops it: a non-directory or whiteout on the way, an opaque directory on the
    way or as the target, or (for a file's data) the target itself."""
    stack = LowerStack(
        [
            Layer.build("l1", files={"/x/d/f": 1}),
            Layer.build("l2", files={"/y": 1}),
            Layer.build("l3", files={"/x": 1}),
            Layer.build("l4", dirs=["/x/d"]),
        ]
    )
    assert stack.absolute_layers("/x/d", is_dir=True) == 3  # /x is a file in layer 3
    assert stack.absolute_layers("/x/d/f", is_dir=False) == 1  # the data, in layer 1
    assert stack.absolute_layers("/nowhere", is_dir=True) == 4
    assert LowerStack([Layer.build("o", opaque=["/x"])]).absolute_layers("/x/d", is_dir=True) == 1


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


def test_lookup_does_not_walk_the_layers() -> None:
    """The merged index answers a lookup in an image of 128 layers without walking them."""
    layers = [Layer.build(f"l{i}", files={f"/d/f{i}": i}) for i in range(128)]
    stack = LowerStack(layers)
    entry = stack.lookup("/d/f127")
    assert entry is not None
    assert (entry.layer, entry.layers_visited, entry.ancestors) == (128, 128, ("/", "/d"))
    assert OverlayFS(stack).stat("/d/f127") == Lookup(FILE, 127, 128, 128)


@settings(max_examples=300, deadline=None)
@given(layers=layers_st)
def test_merged_lowers_equal_docker_layer_extraction(layers: list[Layer]) -> None:
    """The precomputed merge of the lowers equals unpacking the layers one over another."""
    stack = LowerStack(layers)
    assert stack.visible_tree() == extract(layers)
    assert OverlayFS(stack).visible_tree() == extract(layers)
