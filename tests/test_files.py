"""Output files: checked before anything runs, written whole, several as one unit, never
over a device or another special file."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from storsim import files
from storsim.errors import OutputError


def _node(path: Path) -> Path:
    """A character device node like /dev/null (1, 3), made in the test's own folder."""
    os.mknod(path, 0o600 | stat.S_IFCHR, os.makedev(1, 3))
    return path


def test_check_outputs_refuses_what_cannot_be_written(tmp_path: Path) -> None:
    """A missing folder, a folder as the target, a device, a FIFO, a dangling symlink and
    two outputs naming one file are each refused, naming the output; None is skipped."""
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "dir").mkdir()
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere" / "x")
    cases = {
        str(tmp_path / "no" / "x.json"): f"--json {tmp_path}/no/x.json: folder {tmp_path}/no "
        "does not exist",
        str(tmp_path / "dir"): "is a folder, not a regular file",
        str(_node(tmp_path / "null")): "is a device or special file, not a regular file",
        str(tmp_path / "fifo"): "is a device or special file",
        str(tmp_path / "dangling"): "is a symlink to nothing",
    }
    for path, message in cases.items():
        with pytest.raises(OutputError, match=message.replace("(", r"\(")):
            files.check_outputs({"--json": path, "--report": None})
    same = tmp_path / "a.json"
    with pytest.raises(OutputError, match=r"--report .*a\.json: --json writes the same file"):
        files.check_outputs({"--json": str(same), "--report": str(tmp_path / "." / "a.json")})
    files.check_outputs({"--json": str(same), "--report": str(tmp_path / "r.html")})


def test_a_device_is_never_replaced(tmp_path: Path) -> None:
    """write_atomic refuses a device node as its target (renaming over it would replace
    the device with a regular file) and leaves no temporary file behind."""
    node = _node(tmp_path / "null")
    with pytest.raises(OutputError, match="is a device or special file"):
        files.write_atomic(node, "text")
    assert stat.S_ISCHR(node.lstat().st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["null"]


def test_a_symlink_to_a_regular_file_is_fine(tmp_path: Path) -> None:
    """A target that is a symlink to a regular file is written (the link is replaced)."""
    (tmp_path / "real.json").write_text("old")
    (tmp_path / "link.json").symlink_to(tmp_path / "real.json")
    files.write_atomic(tmp_path / "link.json", "new")
    assert (tmp_path / "link.json").read_text() == "new"


def _unit(writes: dict[Path, str], error: BaseException | None = None) -> None:
    """Write files as one unit; raise ``error`` inside the block, after the writes."""
    with files.output_unit():
        for path, text in writes.items():
            files.write_atomic(path, text)
            assert path.read_text() != text  # not yet: at the end of the unit
        if error is not None:
            raise error


def test_a_unit_writes_all_or_nothing(tmp_path: Path) -> None:
    """Inside output_unit, files appear only when the block ends; an error (or Ctrl-C)
    in the block leaves every old file as it was and no temporary file."""
    a, b = tmp_path / "a.json", tmp_path / "b.html"
    a.write_text("old a")
    b.write_text("old b")
    for error in (ValueError("boom"), KeyboardInterrupt()):
        with pytest.raises(type(error)):
            _unit({a: "new a"}, error)
        assert (a.read_text(), b.read_text()) == ("old a", "old b")
        assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json", "b.html"]
    _unit({a: "new a", b: "new b"})
    assert (a.read_text(), b.read_text()) == ("new a", "new b")


def test_a_failed_rename_puts_the_old_files_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the second rename of a unit fails, the first is undone: the old JSON comes
    back, no new JSON stands beside an old report, and nothing temporary is left."""
    a, b = tmp_path / "a.json", tmp_path / "b.html"
    a.write_text("old a")
    b.write_text("old b")
    real_replace = os.replace
    calls = []

    def replace(src: str, dst: str) -> None:
        calls.append(dst)
        if len(calls) == 2:
            raise OSError(28, "No space left on device", dst)
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(OutputError, match=r"cannot write .*b\.html: No space left on device"):
        _unit({a: "new a", b: "new b"})
    assert (a.read_text(), b.read_text()) == ("old a", "old b")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json", "b.html"]
