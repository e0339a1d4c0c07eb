"""``storsim calibrate`` as root: the quick run end to end, interrupts, a killed run's
leftovers, refusals, and a run without CAP_SYS_ADMIN. No measured time is asserted."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from storsim.calibrate import EXPERIMENTS, load_measurements
from storsim.calibrate.cli import main
from storsim.calibrate.workspace import FOREIGN_PREFIX, MARKER
from tests.calibrate.helpers import loops_backed_below, mounts_below

pytestmark = pytest.mark.kernel
ROOT = Path(__file__).resolve().parents[2]


def _assert_clean(work: Path) -> None:
    assert mounts_below(work) == []
    assert loops_backed_below(work.parent) == []
    assert not work.exists()


def test_quick_runs_every_experiment_and_leaves_nothing(
    overlay_ok: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--quick with a remote runs every experiment, writes a well-formed file, and leaves
    no mount, loop device, work directory or remote file behind."""
    work, out, share = tmp_path / "work", tmp_path / "m.json", tmp_path / "share"
    share.mkdir()
    code = main(["--quick", "--dir", str(work), "--remote", str(share), "-o", str(out)])
    assert code == 0, capsys.readouterr().err
    doc = load_measurements(out)
    assert [e.name for e in doc.experiments] == [s.name for s in EXPERIMENTS]
    assert doc.skipped == []
    assert all(e.points and all(p.samples_s for p in e.points if p.params.get("change") is None)
               for e in doc.experiments)  # fmt: skip
    states = {p.params["state"] for p in doc.experiment("lookup").points}
    assert states == {"cold", "fresh", "warm"}
    assert {p.params["metacopy"] for p in doc.experiment("copy_up_meta").points} == {"off", "on"}
    host = doc.host
    assert host["loopfs"]["available"] is True
    assert host["backing"]["fs_type"]
    assert host["cpus"] >= 1
    assert host["memory_bytes"] > 0
    assert doc.mode == "quick"
    _assert_clean(work)
    assert list(share.iterdir()) == []
    err = capsys.readouterr().err
    assert "calibrate [1/13 timer]" in err  # the progress line
    assert "wrote" in err


# The run under test, made to hold still once it has ``hold`` mounts: the quick lookup
# experiment can mount and unmount faster than a test can look (a loaded machine lost that
# race), so the test waits for a state the run stays in until the signal arrives.
_HOLDING = """
import sys, time
from storsim.calibrate import workspace
from storsim.calibrate.cli import main
mount, hold = workspace.Workspace.mount, int(sys.argv[1])
def holding(self, *args, **kwargs):
    mount(self, *args, **kwargs)
    if len(self._marker.mounts) >= hold:
        time.sleep(3600)  # until the test's signal (or kill) ends the run
workspace.Workspace.mount = holding
sys.exit(main(sys.argv[2:]))
"""


def _start(work: Path, out: Path, *extra: str, hold: int) -> subprocess.Popen[str]:
    env = os.environ | {"PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-c", _HOLDING, str(hold), "--quick", "--dir", str(work),
           "-o", str(out), *extra]  # fmt: skip
    return subprocess.Popen(cmd, env=env, stderr=subprocess.PIPE, text=True, cwd=ROOT)


def _wait_for_mounts(proc: subprocess.Popen[str], work: Path, count: int) -> list[str]:
    """Wait until the run has ``count`` mounts below its directory, named in its marker."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()[1]
        found = mounts_below(work)
        try:
            named = json.loads((work / MARKER).read_text())["mounts"]
        except (OSError, ValueError):
            named = []
        if len(found) >= count and set(found) <= set(named):
            return found
        time.sleep(0.05)
    proc.kill()
    pytest.fail("the run made no mounts within 120 s")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupt_unmounts_and_removes_everything(
    overlay_ok: None, tmp_path: Path, sig: signal.Signals
) -> None:
    """SIGINT or SIGTERM during a run: exit 128+N, nothing mounted, no files, no output."""
    work, out = tmp_path / "work", tmp_path / "m.json"
    proc = _start(work, out, "--only", "lookup", hold=2)
    _wait_for_mounts(proc, work, 2)  # the loop file system and an overlay over it
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 128 + sig, err
    assert "interrupted" in err
    _assert_clean(work)
    assert not out.exists()


def test_a_killed_runs_mounts_are_cleaned_by_the_next_run(
    overlay_ok: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """After SIGKILL the mounts stay; the next run in the same directory removes them first."""
    work, out = tmp_path / "work", tmp_path / "m.json"
    proc = _start(work, out, "--only", "lookup", hold=2)
    _wait_for_mounts(proc, work, 2)
    proc.kill()
    proc.communicate(timeout=60)
    assert mounts_below(work) != []  # what the next run must clean
    assert main(["--quick", "--dir", str(work), "-o", str(out), "--only", "timer"]) == 0
    assert "cleaned up after an earlier run" in capsys.readouterr().err
    _assert_clean(work)
    assert [e.name for e in load_measurements(out).experiments] == ["timer"]


def test_user_data_and_bad_options_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A non-empty directory, an output inside the work directory or an unknown experiment
    give exit code 2 and one line; nothing is touched."""
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "db.sqlite").write_bytes(b"rows")
    assert main(["--quick", "--dir", str(tmp_path / "data"), "-o", str(tmp_path / "m")]) == 2
    assert "not empty" in capsys.readouterr().err
    assert [p.name for p in (tmp_path / "data").iterdir()] == ["db.sqlite"]
    work = tmp_path / "work"
    assert main(["--dir", str(work), "-o", str(work / "m.json")]) == 2
    assert "outside the work directory" in capsys.readouterr().err
    assert main(["--dir", str(work), "-o", str(tmp_path / "m"), "--only", "nope"]) == 2
    assert "--only must name" in capsys.readouterr().err
    assert not work.exists()


@pytest.mark.skipif(shutil.which("setpriv") is None, reason="setpriv (util-linux) missing")
def _own_shm_entries() -> set[str]:
    if not os.path.isdir("/dev/shm"):
        return set()
    return {name for name in os.listdir("/dev/shm") if name.startswith(FOREIGN_PREFIX)}


def test_without_cap_sys_admin_it_says_what_it_cannot_measure(
    overlay_ok: None, tmp_path: Path
) -> None:
    """Without CAP_SYS_ADMIN: overlay and loop experiments are listed with the reason, the
    rest is measured (tmpfs through /dev/shm), and nothing is left behind."""
    work, out = tmp_path / "work", tmp_path / "m.json"
    env = os.environ | {"PYTHONPATH": str(ROOT)}
    cmd = ["setpriv", "--bounding-set=-sys_admin", sys.executable, "-m", "storsim.calibrate",
           "--quick", "--dir", str(work), "-o", str(out),
           "--only", "data_path,data_path_tmpfs,copy_up,lookup,rmw"]  # fmt: skip
    # only this tool's own entries: other processes (a sweep's semaphores) come and go
    shm_before = _own_shm_entries()
    run = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert run.returncode == 0, run.stderr
    doc = load_measurements(out)
    skipped = {s.name: s.reason for s in doc.skipped}
    assert set(skipped) == {"copy_up", "lookup"}
    assert all("not permitted" in reason for reason in skipped.values())
    assert "cannot measure copy_up" in run.stderr
    ran = [e.name for e in doc.experiments]
    if os.path.isdir("/dev/shm"):
        assert ran == ["data_path", "data_path_tmpfs", "rmw"]
        assert _own_shm_entries() == shm_before
    assert doc.host["loopfs"]["available"] is False
    _assert_clean(work)
