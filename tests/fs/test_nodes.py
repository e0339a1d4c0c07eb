"""Tests of ``storsim.fs.nodes``: what an entry may be."""

from __future__ import annotations

from typing import Any

import pytest

from storsim.fs import (
    DIR,
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
    ],
)
def test_node_rejects_impossible_entries(kwargs: dict[str, Any], message: str) -> None:
    """A Node the kernel could not hold is a ValueError."""
    with pytest.raises(ValueError, match=message):
        Node(**kwargs)
