"""A sweep's worker processes: they start wherever a sweep is called from, ignore Ctrl-C
(the sweep answers it with one line), and end with the sweep, even after SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.processes import ROOT, alive, descendants, environment, storsim, wait_for, write_long

SWEEP = f"""
import storsim
scenario = storsim.load_scenario({str(ROOT / "scenarios" / "layer-depth.yaml")!r})
frame = storsim.sweep(scenario, replications=2, jobs=2, executor="process", progress=False)
print("failed runs:", int(frame["error"].notna().sum()), "rows:", len(frame))
"""


@pytest.mark.parametrize("how", ["-c", "stdin", "repl", "script without a main guard"])
def test_a_sweep_runs_wherever_it_is_called_from(tmp_path: Path, how: str) -> None:
    """A process-pool sweep started from python -c, from stdin, from a REPL or from a
    script without ``if __name__ == "__main__":`` runs every run (its workers do not
    import the caller's main module, which cannot be imported again from there)."""
    script = tmp_path / "sweep_script.py"
    script.write_text(SWEEP)
    command: list[str] = [sys.executable]
    stdin = None
    if how == "-c":
        command += ["-c", SWEEP]
    elif how == "stdin":
        command += ["-"]
        stdin = SWEEP
    elif how == "repl":
        command += ["-i"]
        stdin = SWEEP
    else:
        command += [str(script)]
    done = subprocess.run(
        command,
        input=stdin,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=environment(),
        timeout=600,
        check=False,
    )
    assert "failed runs: 0 rows: " in done.stdout, done.stdout + done.stderr
    assert "Traceback" not in done.stderr, done.stderr


def _started(proc: subprocess.Popen[str], workers: int) -> bool:
    # the sweep's forkserver and its workers: at least one more process than workers
    return len(descendants(proc.pid)) > workers


def test_ctrl_c_of_a_sweep_is_one_line_and_ends_its_workers(tmp_path: Path) -> None:
    """Ctrl-C (SIGINT to the whole process group, as a terminal sends it) of a sweep
    whose runs take minutes: exit 130, one line, and its workers are gone."""
    proc = storsim(
        "sweep", str(write_long(tmp_path)), "--replications", "2", "--jobs", "2",
        "--max-ops", "1e12", "--quiet", "--out", str(tmp_path / "runs.jsonl"),
    )  # fmt: skip
    wait_for(lambda: _started(proc, 2))
    below = descendants(proc.pid)
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert err == "storsim: interrupted\n"
    wait_for(lambda: not alive(below))


def test_workers_end_when_their_sweep_is_killed(tmp_path: Path) -> None:
    """After SIGKILL of a sweep (nothing of it runs any more to stop them), its workers
    end too: the kernel's parent-death signal and their own watch of the sweep."""
    long = write_long(tmp_path)
    code = (
        "import storsim\n"
        f"s = storsim.load_scenario({str(long)!r})\n"
        "storsim.sweep(s, replications=2, jobs=2, executor='process', max_ops=None)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        env=environment(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    wait_for(lambda: _started(proc, 2))  # type: ignore[arg-type]
    below = descendants(proc.pid)
    proc.kill()
    proc.wait()
    wait_for(lambda: not alive(below), guard_s=60)


def _session() -> tuple[int, int]:
    return os.getpid(), os.getsid(0)


def test_each_worker_is_a_session_of_its_own() -> None:
    """A pool's worker leads a session of its own, so that a scheduler sharing the CPUs
    between sessions (Linux autogroup) counts each worker, not the whole pool, as one."""
    from storsim.sweeps.workers import hidden_main, mp_context, quiet_start, start_pool

    with quiet_start(mp_context()), hidden_main():
        pool = start_pool(1)
        future = pool.submit(_session)
    try:
        pid, session = future.result(timeout=300)
    finally:
        pool.shutdown(wait=True)
    assert session == pid
    assert session != os.getsid(0)
