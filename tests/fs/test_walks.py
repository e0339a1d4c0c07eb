"""Tests of the lookup counts: every operation's walk (``walk`` in its result, or
``FsError.walk``), per component, and ``readdir``'s entries per layer, against
``ovl_walk``, a transcription of the kernel's ``ovl_lookup`` loop run on the raw layers
and the upper tree (the kernel differential test runs it on the kernel's own upperdir)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from storsim.fs import (
    FILE,
    Component,
    FsError,
    Layer,
    Listing,
    LowerStack,
    Node,
    OverlayFS,
    PlainFS,
)
from tests.fs.support import (
    PATHS,
    apply_checked,
    draw_op,
    errno_of,
    layers_st,
    model_upper,
    ovl_walk,
    plain_upper,
)


@settings(max_examples=400, deadline=None)
@given(
    layers=layers_st,
    variant=st.sampled_from(["plain", "off", "redirect", "metacopy"]),
    data=st.data(),
)
def test_every_walk_counts_the_lookup_loop(
    layers: list[Layer], variant: str, data: st.DataObject
) -> None:
    """After any operations, each operation's walk, its final count, a failure's walk and
    readdir's entries per layer are those of the kernel's lookup loop, and so is
    ``fs.walk`` of every path at the end."""
    if variant == "plain":
        fs: OverlayFS | PlainFS = PlainFS()
        lowers: list[dict[str, Node]] = []
    else:
        fs = OverlayFS(
            LowerStack(layers), metacopy=variant == "metacopy", redirect_dir=variant == "redirect"
        )
        lowers = [dict(layer.entries) for layer in layers]
    for _ in range(data.draw(st.integers(1, 40))):
        apply_checked(fs, lowers, draw_op(data, list(fs.visible_tree())))
    upper = model_upper(fs) if isinstance(fs, OverlayFS) else plain_upper(fs)
    for path in PATHS:
        assert list(fs.walk(path)) == [Component(*c) for c in ovl_walk(lowers, upper, path)[0]]


# --------------------------------------------------------------------------- named cases

_T, _F = True, False


def _image() -> OverlayFS:
    """/a/b/c in layer 1; /a also in layers 2 and 3, /a/b in layer 3; a fourth layer."""
    return OverlayFS(
        LowerStack(
            [
                Layer.build("l1", files={"/a/b/c": 5}),
                Layer.build("l2", dirs=["/a"]),
                Layer.build("l3", dirs=["/a/b"]),
                Layer.build("l4", files={"/x": 1}),
            ]
        )
    )


def test_a_cold_walk_looks_each_component_up_through_its_parents_layers() -> None:
    """/a is looked up in the upper root and all four layers, /a/b in the three layers of
    /a (it has no upper part), /a/b/c in the two of /a/b, where layer 1 stops it."""
    fs = _image()
    walk = (
        Component("/a", 5, _T, _T),
        Component("/a/b", 3, _F, _T),
        Component("/a/b/c", 1, _F, _T),
    )
    assert fs.walk("/a/b/c") == walk
    looked = fs.stat("/a/b/c")
    assert (looked.layers_visited, looked.walk) == (1, None)  # fs.walk gives it


def test_a_failure_carries_the_lookups_it_made() -> None:
    """A negative lookup consults every layer of the parent's merge stack; a missing
    ancestor ends the walk there; a call refused before any lookup made none."""
    fs = _image()
    with pytest.raises(FsError) as missing:
        fs.stat("/a/b/nope")
    assert missing.value.walk == (*fs.walk("/a/b"), Component("/a/b/nope", 2, _F, _F))
    assert missing.value.layers_visited == 2
    with pytest.raises(FsError) as ancestor:
        fs.open("/a/q/r", create=True)
    assert ancestor.value.walk == (Component("/a", 5, _T, _T), Component("/a/q", 3, _F, _F))
    with pytest.raises(FsError) as early:
        fs.getxattr("/a/b/c", "")
    assert (early.value.errno, early.value.walk, early.value.layers_visited) == ("ERANGE", (), 0)


def test_a_negative_lookup_stops_only_at_an_opaque_directory_or_the_bottom() -> None:
    """A miss in a directory of 60 layers consults all 60 (61 once it has an upper part);
    an opaque copy in layer 30 ends the merge, and every miss, there."""
    layers = [Layer.build(f"l{i}", dirs=["/d"]) for i in range(60)]
    fs = OverlayFS(LowerStack(layers))
    assert errno_of(lambda: fs.stat("/d/miss")) == "ENOENT"
    with pytest.raises(FsError) as info:
        fs.stat("/d/miss")
    assert info.value.layers_visited == 60
    fs.chmod("/d", 0o700)  # copied up: its upper directory comes first
    with pytest.raises(FsError) as info:
        fs.stat("/d/miss")
    assert info.value.layers_visited == 61
    layers[29] = Layer.build("opaque", opaque=["/d"])
    with pytest.raises(FsError) as info:
        OverlayFS(LowerStack(layers)).stat("/d/miss")
    assert info.value.layers_visited == 30


def test_a_result_carries_its_walk_when_the_call_changed_the_path() -> None:
    """Copying /a/b/c up gives /a and /a/b upper parts: later walks consult them, but the
    write's own walk, in its result, is the one made before the copy-up."""
    fs = _image()
    before = fs.walk("/a/b/c")
    written = fs.write("/a/b/c", 0, 1)
    assert written.walk == before
    assert fs.walk("/a/b/c") == (
        Component("/a", 5, _T, _T),
        Component("/a/b", 4, _T, _T),
        Component("/a/b/c", 1, _T, _T),
    )
    assert fs.write("/a/b/c", 0, 1).walk is None  # nothing on the path changed


def test_rename_walks_both_parents_then_both_names() -> None:
    """rename's walk is the kernel's order: the source's and the target's parents, then
    the source's name, then the target's."""
    fs = _image()
    ws, wt = fs.walk("/a/b/c"), fs.walk("/a/x")
    assert fs.rename("/a/b/c", "/a/x").walk == (*ws[:-1], *wt[:-1], ws[-1], wt[-1])


def test_a_whiteout_in_the_upper_stops_the_lookup() -> None:
    """Once a lower file is unlinked, its whiteout in the upper answers every lookup of
    the name after one directory (ovl_lookup_single stops at it)."""
    fs = OverlayFS(
        LowerStack([Layer("l1", {}), Layer("l2", {}), Layer.build("l3", files={"/f": 1})])
    )
    assert fs.stat("/f").layers_visited == 4
    fs.unlink("/f")
    with pytest.raises(FsError) as info:
        fs.stat("/f")
    assert info.value.layers_visited == 1
    assert fs.open("/f", create=True).layers_visited == 1


def test_a_directory_made_in_a_parent_copied_up_by_the_same_call_consults_its_lowers() -> None:
    """mkdir in a lower directory copies the parent up; the new (not opaque) directory's
    later lookups consult the parent's upper, then its lowers."""
    fs = OverlayFS(LowerStack([Layer.build("l1", files={"/a/b": 1})]))
    made = fs.mkdir("/a/n")
    assert made.walk == (Component("/a", 2, _T, _T), Component("/a/n", 1, _F, _F))
    assert fs.stat("/a/n").layers_visited == 2


def test_an_absolute_redirect_searches_every_layer_from_the_root() -> None:
    """A directory moved to another parent keeps an absolute redirect; its lookup then walks
    the redirect in every layer, top-most first, not only in its old parent's layers."""
    layers = [
        Layer.build("l1", files={"/x/d/f": 1}),
        Layer.build("l2", files={"/y": 1}),
        Layer.build("l3", dirs=["/x"]),
    ]
    fs = OverlayFS(LowerStack(layers), redirect_dir=True)
    fs.mkdir("/z")
    fs.rename("/x/d", "/z/d")
    assert fs.redirects()["/z/d"] == "/x/d"
    assert fs.stat("/z/d").layers_visited == 4  # its upper, then layers 1, 2 and 3
    assert fs.stat("/z/d/f").layers_visited == 2  # its upper, then layer 1


def test_a_failed_setxattr_says_what_its_copy_up_cost() -> None:
    """Without metacopy, a setxattr that the upper file system refuses has copied the
    whole lower file up first: the error says so, with the layer it came from."""
    fs = OverlayFS(LowerStack([Layer("l1", {}), Layer.build("l2", files={"/f": 100})]))
    before = fs.walk("/f")
    with pytest.raises(FsError) as info:
        fs.setxattr("/f", "foo.x", b"1")
    e = info.value
    assert (e.errno, e.copy_up_bytes, e.copied_up, e.source_layer) == ("EOPNOTSUPP", 100, True, 2)
    assert e.walk == before
    assert fs.upper_tree()["/f"] == Node(FILE, 100)


def test_readdir_says_what_it_read_from_each_layer() -> None:
    """A merged directory's listing counts the entries of each layer's copy it read
    (whiteouts included); a plain tree's, its own."""
    fs = OverlayFS(LowerStack([Layer.build("l1", files={"/d/a": 1}, whiteouts=["/d/b"]),
                               Layer.build("l2", files={"/d/b": 1, "/d/c": 1})]))  # fmt: skip
    assert fs.readdir("/d") == Listing(("a", "c"), 2, (2, 2))
    fs.unlink("/d/c")
    assert fs.readdir("/d") == Listing(("a",), 3, (1, 2, 2))
    plain = PlainFS()
    plain.mknod("/p")
    assert plain.readdir("/") == Listing(("p",), 1, (1,))
