"""The work directory: what it refuses, what it cleans, and what it never touches."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from storsim.calibrate import system
from storsim.calibrate.workspace import MARKER, OWNER, Workspace, WorkspaceError
from tests.calibrate.helpers import mounts_below


def _stale_marker(root: Path, **fields: object) -> None:
    """Write the marker a killed run would have left (a pid that is not running)."""
    marker = {
        "tool": "storsim calibrate",
        "run_id": "deadbeef0000",
        "pid": 999999,
        "started": 0.0,
        "mounts": [],
        "loops": [],
        "foreign_dirs": [],
    } | fields
    (root / MARKER).write_text(json.dumps(marker), encoding="utf-8")


def test_a_new_directory_is_made_and_removed(tmp_path: Path) -> None:
    """A path that does not exist is created for the run and removed by the clean-up."""
    root = tmp_path / "new" / "work"
    with Workspace.claim(root, say=lambda _: None) as ws:
        (ws.root / "scratch").write_bytes(b"x")
        assert (ws.root / MARKER).is_file()
    assert not root.exists()


def test_an_empty_directory_is_used_and_left_empty(tmp_path: Path) -> None:
    """An empty directory given by the user is used, then left in place and empty."""
    with Workspace.claim(tmp_path, say=lambda _: None) as ws:
        (ws.root / "scratch").mkdir()
    assert tmp_path.is_dir()
    assert list(tmp_path.iterdir()) == []


def test_a_directory_with_user_data_is_refused_and_untouched(tmp_path: Path) -> None:
    """A non-empty directory without a marker is refused; its files stay as they were."""
    (tmp_path / "thesis.tex").write_text("chapter 1")
    with pytest.raises(WorkspaceError, match="not empty and is not a work directory"):
        Workspace.claim(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["thesis.tex"]
    assert (tmp_path / "thesis.tex").read_text() == "chapter 1"


def test_a_file_a_symlink_and_the_root_are_refused(tmp_path: Path) -> None:
    """A regular file, a symlink to a directory and / are not work directories."""
    (tmp_path / "file").write_text("")
    (tmp_path / "target").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "target")
    with pytest.raises(WorkspaceError, match="must be a directory"):
        Workspace.claim(tmp_path / "file")
    with pytest.raises(WorkspaceError, match="must not be a symlink"):
        Workspace.claim(tmp_path / "link")
    with pytest.raises(WorkspaceError, match="root directory"):
        Workspace.claim(Path("/"))


def test_a_directory_in_use_is_refused(tmp_path: Path) -> None:
    """While one run holds the directory (its lock), a second claim is refused."""
    with (
        Workspace.claim(tmp_path / "w", say=lambda _: None),
        pytest.raises(WorkspaceError, match="in use by another storsim calibrate"),
    ):
        Workspace.claim(tmp_path / "w")


def test_a_dead_runs_files_are_removed_by_the_next_run(tmp_path: Path) -> None:
    """A marker whose lock is free is a dead run's: its files are removed before the run."""
    root = tmp_path / "w"
    root.mkdir()
    _stale_marker(root)
    (root / "backing").mkdir()
    (root / "backing" / "big.dat").write_bytes(b"x" * 4096)
    said: list[str] = []
    with Workspace.claim(root, say=said.append) as ws:
        assert sorted(p.name for p in ws.root.iterdir()) == [MARKER]
        assert ws.recovered is not None
    assert any("cleaned up after an earlier run (pid 999999)" in s for s in said)


def test_a_foreign_directory_is_removed_only_with_its_owner_file(tmp_path: Path) -> None:
    """Outside directories named in the marker are removed only if they hold our owner file."""
    root, outside = tmp_path / "w", tmp_path / "remote"
    root.mkdir()
    outside.mkdir()
    ours, other = outside / "storsim-calibrate-aaa", outside / "storsim-calibrate-bbb"
    ours.mkdir()
    (ours / OWNER).write_text("aaa")
    (ours / "f0").write_bytes(b"")
    other.mkdir()
    (other / "precious").write_bytes(b"")
    _stale_marker(root, foreign_dirs=[str(ours), str(other)])
    with Workspace.claim(root, say=lambda _: None):
        pass
    assert not ours.exists()
    assert (other / "precious").exists()


def test_foreign_dir_is_removed_at_the_end(tmp_path: Path) -> None:
    """A directory the run makes in a remote directory is gone after the clean-up."""
    outside = tmp_path / "remote"
    outside.mkdir()
    with Workspace.claim(tmp_path / "w", say=lambda _: None) as ws:
        made = ws.foreign_dir(outside)
        assert ws.foreign_dir(outside) == made
        (made / "f").write_bytes(b"")
    assert list(outside.iterdir()) == []


def test_mounts_must_be_below_the_work_directory(tmp_path: Path) -> None:
    """The workspace refuses to mount anywhere but below its own directory."""
    with Workspace.claim(tmp_path / "w", say=lambda _: None) as ws:
        with pytest.raises(ValueError, match="must be below"):
            ws.mount("tmpfs", tmp_path, "tmpfs")
        with pytest.raises(ValueError, match="must be below"):
            ws.mount("tmpfs", ws.root, "tmpfs")


@pytest.mark.kernel
def test_a_dead_runs_mount_is_unmounted_by_the_next_run(tmp_path: Path) -> None:
    """A mount a killed run left (named in its marker) is unmounted, then its files and the
    directory it made are removed."""
    if os.geteuid() != 0:
        pytest.skip("needs root to mount a tmpfs")
    root = tmp_path / "w"
    (root / "tmpfs").mkdir(parents=True)
    _stale_marker(root, mounts=[str(root / "tmpfs")], created=True)
    system.mount("tmpfs", root / "tmpfs", "tmpfs", "size=1m")
    (root / "tmpfs" / "f").write_bytes(b"x")
    with Workspace.claim(root, say=lambda _: None) as ws:
        assert ws.recovered is not None
        assert ws.recovered.unmounted == 1
        assert mounts_below(root) == []
    assert not root.exists()


@pytest.mark.kernel
def test_a_mount_the_marker_does_not_name_is_left_alone(tmp_path: Path) -> None:
    """A mount below the directory that no run of ours made stops the run; it stays mounted."""
    if os.geteuid() != 0:
        pytest.skip("needs root to mount a tmpfs")
    root = tmp_path / "w"
    (root / "theirs").mkdir(parents=True)
    _stale_marker(root)
    system.mount("tmpfs", root / "theirs", "tmpfs", "size=1m")
    (root / "theirs" / "data").write_bytes(b"keep")
    try:
        with pytest.raises(WorkspaceError, match="did not make"):
            Workspace.claim(root, say=lambda _: None)
        assert (root / "theirs" / "data").read_bytes() == b"keep"
        assert mounts_below(root) == [str(root / "theirs")]
    finally:
        system.umount(root / "theirs")
