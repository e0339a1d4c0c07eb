"""Tests of the lookup counts: every operation's walk (``walk`` in its result, or
``FsError.walk``), per component, and ``readdir``'s entries per layer, against
``ovl_walk``, a transcription of the kernel's ``ovl_lookup`` loop run on the raw layers
and the upper tree (the kernel differential test runs it on the kernel's own upperdir)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from storsim.fs import Component, Layer, LowerStack, Node, OverlayFS, PlainFS
from tests.fs.support import (
    PATHS,
    apply_checked,
    draw_op,
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
