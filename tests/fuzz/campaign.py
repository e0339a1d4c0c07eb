"""Fuzz campaigns: generated hostile scenarios through the API and through the real CLI.

Like a test track with a marshal at every corner, each case runs in a worker process
that is watched from outside: a case that takes longer than its time limit is a hang
(the worker is killed and replaced), one that exhausts the worker's memory limit is a
memory blow-up, one that kills the worker or raises anything but storsim's own errors
is a crash, and one that breaks the contract is a violation. The contract:

- API: ``load_scenario`` raises a :class:`~storsim.ScenarioError` naming the file (and
  the line, unless the file as a whole is unreadable) in one printable line; or the
  scenario simulates to completion within the budget (``max_ops``), or is refused or
  stopped by a :class:`~storsim.RunawayError` that names the file; its ``--json``
  document is valid JSON. No Python tag runs code and no host file outside the case's
  folder is opened (an audit hook watches ``open``, ``os.system`` and process starts).
- CLI: ``storsim run`` exits 0 with its outputs written and valid (and on stderr at
  most its warnings, ``storsim: warning: ...``, one printable line each), or exits 2 with
  exactly one line on stderr (``FILE:LINE: ...``, ``FILE: ...`` or ``storsim: ...``),
  no traceback, and no output written or changed.

Run a long campaign with::

    PYTHONPATH=$PWD python -m tests.fuzz.campaign --api 10000 --cli 1000 --jobs 2

or through pytest: ``STORSIM_FUZZ_CASES=10000 STORSIM_FUZZ_CLI_CASES=1000 pytest tests/fuzz``.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import random
import re
import resource
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.fuzz.mutate import CANARY, Case, make_case

ROOT = Path(__file__).resolve().parents[2]
#: The budget the API campaign runs with: small, so that a valid case is quick and a
#: large one is refused (which is one of the outcomes the contract allows).
BUDGET_OPS = 40_000
#: The address-space limit of a worker: a case that needs more is a memory blow-up.
MEMORY_LIMIT_BYTES = 3 * 2**30
#: A case that takes longer than this is a hang (a valid case within the budget takes
#: a second or two on a loaded machine; the limit leaves a wide margin).
TIMEOUT_S = 120.0

OUTCOMES = ("ran", "refused", "runaway", "crash", "hang", "memory", "violation")
_BAD = ("crash", "hang", "memory", "violation")


@dataclass
class Report:
    """The counts of one campaign and the cases that broke the contract."""

    mode: str
    counts: collections.Counter[str] = field(default_factory=collections.Counter)
    failures: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0

    def add(self, result: dict[str, Any]) -> None:
        self.counts[result["outcome"]] += 1
        if result["outcome"] in _BAD:
            self.failures.append(result)

    @property
    def bad(self) -> int:
        """Crashes, hangs, memory blow-ups and contract violations together."""
        return sum(self.counts[k] for k in _BAD)

    def line(self) -> str:
        total = sum(self.counts.values())
        parts = ", ".join(f"{k} {self.counts[k]}" for k in OUTCOMES)
        return f"{self.mode}: {total} cases in {self.seconds:.0f} s: {parts}"


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT_BYTES, MEMORY_LIMIT_BYTES))


def _environment() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    # one BLAS thread: the machine is shared, and thread stacks count against RLIMIT_AS
    env.update(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    return env


# --- the API contract, checked inside a worker -----------------------------------------

_ONE_LINE = re.compile(r"[^\n\r\x85\u2028\u2029]*")
# Errors about the file as a whole: an unreadable file, and the watchdog's stop of a
# running scenario (the whole run went over twice its budget: no one line caused it)
_FILE_LEVEL = ("cannot read scenario", "the run has done")


def _error_problem(error: Exception, path: str) -> str | None:
    """What is wrong with a storsim error, or None if it keeps the contract."""
    text = str(error)
    if not text.isprintable() or not _ONE_LINE.fullmatch(text):
        return f"message is not one printable line: {text!r}"
    file = getattr(error, "file", None)
    if file != path:
        return f"error names file {file!r}, not the case"
    line = getattr(error, "line", None)
    message = getattr(error, "message", text)
    if line is None and not message.startswith(_FILE_LEVEL):
        return f"error has no line: {text!r}"
    return None


class _Watch:
    """An audit hook: files opened outside the allowed folders, and code started."""

    def __init__(self) -> None:
        self.active = False
        self.allowed: list[str] = []
        self.seen: list[str] = []
        roots = {sys.prefix, sys.base_prefix, sys.exec_prefix, str(ROOT)}
        roots |= {p for p in sys.path if p and os.path.isdir(p)}
        self._imports = tuple(sorted(os.path.realpath(r) for r in roots))

    def __call__(self, event: str, args: tuple[Any, ...]) -> None:
        if not self.active:
            return
        if event in ("os.system", "subprocess.Popen", "os.exec", "os.posix_spawn", "os.spawn"):
            self.seen.append(f"{event} {args!r:.80}")
        elif event == "open" and args and isinstance(args[0], str | bytes | os.PathLike):
            path = os.fsdecode(args[0])
            real = os.path.realpath(path)
            if real.startswith(self._imports) or any(real.startswith(a) for a in self.allowed):
                return
            if real in ("/dev/null", "/dev/urandom") or real.startswith("/proc/self/"):
                return
            self.seen.append(f"open {path}")


def check_api_case(case: Case, folder: Path, watch: _Watch) -> dict[str, Any]:
    """Load and simulate one case in this process; its outcome against the contract."""
    import storsim
    from storsim.cli import result_json

    path = str(case.write(folder))
    watch.allowed = [os.path.realpath(folder), path, os.path.realpath(path)]
    watch.seen = []
    watch.active = True
    outcome: dict[str, Any] = {"index": case.index, "base": case.base, "why": ""}
    try:
        try:
            scenario = storsim.load_scenario(path)
        except storsim.ScenarioError as error:
            problem = _error_problem(error, path)
            outcome.update(outcome="violation" if problem else "refused", why=problem or str(error))
            return outcome
        try:
            result = storsim.simulate(scenario, ops="summary", max_ops=BUDGET_OPS)
        except storsim.RunawayError as error:
            problem = _error_problem(error, path)
            outcome.update(outcome="violation" if problem else "runaway", why=problem or str(error))
            return outcome
        json.loads(
            json.dumps(result_json(result), allow_nan=False),
            parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c)),
        )
        outcome.update(outcome="ran", why=f"{result.sim_time_s:g} s simulated")
        return outcome
    except MemoryError:
        outcome.update(outcome="memory", why="MemoryError")
        return outcome
    except Exception as exc:  # anything else is a crash: the case is a bug to fix
        import traceback

        where = traceback.extract_tb(exc.__traceback__)[-1]
        outcome.update(
            outcome="crash",
            why=f"{type(exc).__name__}: {exc!s:.300} at {where.filename}:{where.lineno}",
        )
        return outcome
    finally:
        watch.active = False
        if watch.seen and outcome.get("outcome") not in ("crash", "memory"):
            outcome.update(outcome="violation", why="; ".join(watch.seen[:5]))
        if Path(folder, CANARY).exists() or Path(CANARY).exists():
            outcome.update(outcome="violation", why="a Python tag ran code (canary exists)")


def worker_main() -> None:
    """A worker: read ``seed index`` lines on stdin, write one JSON outcome per line."""
    _limit_memory()
    import storsim
    import storsim.cli  # noqa: F401

    watch = _Watch()
    sys.addaudithook(watch)
    out = sys.stdout
    sys.stdout = sys.stderr  # nothing a case prints may corrupt the protocol
    for text in sys.stdin:
        seed, index = (int(x) for x in text.split())
        case = make_case(seed, index)
        folder = Path(tempfile.mkdtemp(prefix=f"fuzz-{index}-"))
        try:
            result = check_api_case(case, folder, watch)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        result["mutations"] = list(case.mutations)
        out.write(json.dumps(result, default=str) + "\n")
        out.flush()


class _Worker:
    """A worker process, with the case it is running and when that case started."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", "from tests.fuzz.campaign import worker_main; worker_main()"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            cwd=ROOT,
            env=_environment(),
        )
        self.case: int | None = None
        self.started = 0.0

    def send(self, seed: int, index: int) -> None:
        assert self.proc.stdin is not None
        self.case, self.started = index, time.monotonic()
        self.proc.stdin.write(f"{seed} {index}\n")
        self.proc.stdin.flush()

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                stream.close()


def run_api_campaign(
    seed: int, indices: Iterable[int], jobs: int = 2, timeout_s: float = TIMEOUT_S
) -> Report:
    """Run API cases in ``jobs`` watched worker processes."""
    report = Report("api")
    start = time.monotonic()
    todo = collections.deque(indices)
    workers = [_Worker() for _ in range(jobs)]
    try:
        for w in workers:
            if todo:
                w.send(seed, todo.popleft())
        while any(w.case is not None for w in workers):
            busy = {w.proc.stdout: w for w in workers if w.case is not None}
            ready, _, _ = select.select(list(busy), [], [], 1.0)
            for stream in ready:
                w = busy[stream]
                text = stream.readline()
                if text:
                    report.add(json.loads(text))
                else:  # the worker died: a crash (a signal) of this case
                    code = w.proc.wait()
                    kind = "memory" if code == -signal.SIGKILL else "crash"
                    report.add({"index": w.case, "outcome": kind, "why": f"worker died ({code})"})
                    w.kill()
                    workers[workers.index(w)] = w = _Worker()
                w.case = None
                if todo:
                    w.send(seed, todo.popleft())
            for i, w in enumerate(workers):
                if w.case is not None and time.monotonic() - w.started > timeout_s:
                    report.add({"index": w.case, "outcome": "hang", "why": f"> {timeout_s} s"})
                    w.kill()
                    workers[i] = _Worker()
                    if todo:
                        workers[i].send(seed, todo.popleft())
    finally:
        for w in workers:
            w.kill()
    report.seconds = time.monotonic() - start
    return report


# --- the CLI contract --------------------------------------------------------------------

_LINE = re.compile(r"^(storsim: .+|.+?:(\d+: )?.+)$")
_WARNING = re.compile(r"storsim: warning: \S")
_PROGRESS = re.compile(r"^(run|compare .+): .* s simulated")


def _cli_options(rng: random.Random, out: Path) -> tuple[list[str], list[Path]]:
    """Options for one CLI case (mostly sound, sometimes hostile) and its output files."""
    options: list[str] = []
    outputs: list[Path] = []
    roll = rng.random()
    if roll < 0.6:
        target = out / "result.json"
        options += ["--json", str(target)]
        outputs.append(target)
    elif roll < 0.65:
        options += ["--json", "-"]
    elif roll < 0.7:
        options += ["--json", rng.choice(["/dev/null", str(out), str(out / "no" / "x.json")])]
    if rng.random() < 0.15:
        target = out / "report.html"
        if rng.random() < 0.2 and outputs:
            target = outputs[0]  # the same file twice: refused
        options += ["--report", str(target)]
        outputs.append(target)
    if rng.random() < 0.2:
        options += ["--seed", rng.choice(["0", "7", "-1", "abc", str(2**64), "1e3", ""])]
    if rng.random() < 0.15:
        value = rng.choice(
            ["duration=1 s", "duration=[unclosed", "name=\x1b[2J", "seed=-5", "bogus.path=1",
             "services=1", "duration=!!python/object/apply:os.system [x]", "=1", "x",
             "host.disk.latency=1e400 s", "duration={a: &a [*a]}"]
        )  # fmt: skip
        options += ["--set", value]
    if rng.random() < 0.1:
        options += ["--max-ops", rng.choice(["10", "1e3", "-1", "0", "many", "1000000"])]
    if rng.random() < 0.2:
        options += ["--ops", rng.choice(["summary", "full", "none"])]
    if rng.random() < 0.9:
        options.append("--quiet")
    return options, outputs


def check_cli_case(seed: int, index: int, timeout_s: float = TIMEOUT_S) -> dict[str, Any]:
    """Run one case through ``python -m storsim run``; its outcome against the contract."""
    case = make_case(seed, index)
    rng = random.Random(f"storsim-fuzz-cli:{seed}:{index}")
    folder = Path(tempfile.mkdtemp(prefix=f"fuzz-cli-{index}-"))
    outcome: dict[str, Any] = {"index": index, "base": case.base, "mutations": case.mutations}
    try:
        path = case.write(folder)
        out = folder / "out"
        out.mkdir()
        sentinel = out / "old.txt"
        sentinel.write_text("old")
        options, outputs = _cli_options(rng, out)
        before = sorted(p.name for p in out.iterdir())
        budget = [] if "--max-ops" in options else ["--max-ops", str(BUDGET_OPS)]
        command = [sys.executable, "-m", "storsim", "run", str(path), *options, *budget]
        outcome["command"] = command[2:]
        try:
            done = subprocess.run(
                command,
                capture_output=True,
                timeout=timeout_s,
                cwd=folder,
                env=_environment(),
                preexec_fn=_limit_memory,
                check=False,
            )
        except subprocess.TimeoutExpired:
            outcome.update(outcome="hang", why=f"> {timeout_s} s")
            return outcome
        stderr = done.stderr.decode("utf-8", "replace")
        lines = [line for line in stderr.splitlines() if not _PROGRESS.match(line)]
        if "Traceback" in stderr:
            kind = "memory" if "MemoryError" in stderr else "crash"
            outcome.update(outcome=kind, why=stderr.strip().splitlines()[-1][:300])
        elif done.returncode == 0:
            problem = None
            for target in outputs:
                if not target.is_file():
                    problem = f"exit 0 but {target.name} is missing"
                elif target.suffix == ".json":
                    try:
                        json.loads(target.read_text(), parse_constant=float.__call__)
                    except ValueError as exc:
                        problem = f"invalid JSON: {exc}"
            # a run that did its work may warn (the verdict's warnings, printed on stderr
            # when the summary is not): one printable line each, nothing else
            unexpected = [
                line for line in lines if not (_WARNING.match(line) and line.isprintable())
            ]
            if unexpected:
                problem = problem or f"exit 0 with stderr {unexpected[:2]!r}"
            outcome.update(outcome="violation" if problem else "ran", why=problem or "")
        elif done.returncode == 2:
            after = sorted(p.name for p in out.iterdir())
            problem = None
            if len(lines) != 1 or not _LINE.match(lines[0]) or not lines[0].isprintable():
                problem = f"exit 2 with stderr {stderr[-400:]!r}"
            elif after != before or sentinel.read_text() != "old":
                problem = f"exit 2 but outputs changed: {after}"
            what = "runaway" if "budget" in stderr or "advancing" in stderr else "refused"
            outcome.update(outcome="violation" if problem else what, why=problem or lines[0][:200])
        else:
            kind = "memory" if done.returncode in (-signal.SIGKILL, -signal.SIGABRT) else "crash"
            outcome.update(outcome=kind, why=f"exit {done.returncode}: {stderr[-300:]!r}")
        return outcome
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def run_cli_campaign(
    seed: int, indices: Iterable[int], jobs: int = 2, timeout_s: float = TIMEOUT_S
) -> Report:
    """Run CLI cases, ``jobs`` subprocesses at a time."""
    report = Report("cli")
    start = time.monotonic()
    with ThreadPoolExecutor(jobs) as pool:
        for result in pool.map(lambda i: check_cli_case(seed, i, timeout_s), indices):
            report.add(result)
    report.seconds = time.monotonic() - start
    return report


def main(argv: list[str] | None = None) -> int:
    """``python -m tests.fuzz.campaign``: run campaigns and print their counts."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--api", type=int, default=1000, help="API cases")
    parser.add_argument("--cli", type=int, default=100, help="CLI cases")
    parser.add_argument("--seed", type=int, default=1, help="campaign seed")
    parser.add_argument("--jobs", type=int, default=2, help="cases at a time")
    parser.add_argument("--start", type=int, default=0, help="first case index")
    parser.add_argument("--failures", metavar="FILE", help="write the failing cases here")
    parser.add_argument("--replay", type=int, metavar="INDEX", help="run one API case here")
    args = parser.parse_args(argv)
    if args.replay is not None:
        case = make_case(args.seed, args.replay)
        print(case.base, case.mutations)
        with tempfile.TemporaryDirectory() as folder:
            print(check_api_case(case, Path(folder), _Watch()))
        return 0
    reports = []
    if args.api:
        reports.append(
            run_api_campaign(args.seed, range(args.start, args.start + args.api), args.jobs)
        )
        print(reports[-1].line(), flush=True)
    if args.cli:
        reports.append(
            run_cli_campaign(args.seed, range(args.start, args.start + args.cli), args.jobs)
        )
        print(reports[-1].line(), flush=True)
    failures = [f for r in reports for f in r.failures]
    for failure in failures[:20]:
        print(json.dumps(failure, default=str)[:600])
    if args.failures:
        Path(args.failures).write_text("".join(json.dumps(f, default=str) + "\n" for f in failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
