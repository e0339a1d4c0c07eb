"""Tests of ``storsim.fs.layers``: image layers and their merge, against Docker's own layer
extraction."""

from __future__ import annotations

import pytest
from hypothesis import given, settings

from storsim.fs import (
    DIR,
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
