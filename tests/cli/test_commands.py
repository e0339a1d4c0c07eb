"""The command line's failures: exactly one line, exit code 2, nothing written; Ctrl-C is
one line and exit code 130.

A scenario error is ``FILE:LINE: yaml.path: what is wrong (got VALUE)`` (``FILE: ...``
when the file as a whole is unreadable); every other failure is ``storsim: ...``.
"""

from __future__ import annotations

import copy
import os
import re
from pathlib import Path
from typing import Any

import pytest

import storsim
from storsim.cli import commands, main
from storsim.errors import OutputError, ScenarioError

CH06 = str(Path(__file__).parent.parent.parent / "scenarios" / "ch06-lab.yaml")


@pytest.fixture
def out(tmp_path: Path) -> Path:
    """A folder for outputs, holding an old JSON that a failure must leave as it was."""
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "old.json").write_text("old")
    os.mkfifo(folder / "fifo")
    return folder


def _failures(out: Path) -> list[tuple[list[str], str]]:
    json, fifo, report = str(out / "old.json"), str(out / "fifo"), str(out / "r.html")
    return [
        (
            [],
            r"storsim: a command is needed: run, sweep, schema, init, calibrate or validate "
            r"\(see storsim --help\)",
        ),
        (["frob"], r"storsim: argument COMMAND: invalid choice: 'frob'"),
        (["run"], r"storsim: the following arguments are required: scenario"),
        (["run", CH06, "--bogus"], r"storsim: unrecognized arguments: --bogus"),
        (["run", CH06, "--seed", "-1"], r"storsim: argument --seed: must be a whole number "
         r"from 0 to 2\*\*63-1 \(got '-1'\)"),
        (["run", CH06, "--seed", "abc"], r"storsim: argument --seed: .*\(got 'abc'\)"),
        (["run", CH06, "--seed", str(2**63)], r"storsim: argument --seed: "),
        (["run", CH06, "--max-ops", "0"], r"storsim: argument --max-ops: must be a whole "
         r"number >= 1 \(got '0'\)"),
        (["run", CH06, "--max-ops", "1.5"], r"storsim: argument --max-ops: "),
        (["run", CH06, "--ops", "none"], r"storsim: argument --ops: invalid choice"),
        (["run", CH06, "--set", "duration=[unclosed"], r"storsim: --set duration: the value "
         r"is invalid YAML: expected ',' or '\]', but got '<stream end>' \(got '\[unclosed'\)"),
        (["run", CH06, "--set", "name=!!python/name:os.system"], r"storsim: --set name: .*"
         r"tags are not allowed"),
        (["run", CH06, "--set", "duration={a: &a [*a]}"], r"storsim: --set duration: .*cycle"),
        (["run", CH06, "--set", "nodots"], r"storsim: --set must be dotted\.path=VALUE"),
        (["run", CH06, "--set", "services.todo.deploy.replicas=-1"],
         r"storsim: override services\.todo\.deploy\.replicas: must be >= 0 \(got -1\)"),
        (["run", CH06, "--set", "name=\x1b[2J"], r"storsim: --set name: the value is invalid "
         r"YAML: character '\\x1b' is not allowed in YAML \(got '\\x1b\[2J'\)"),
        (["run", CH06, "--set", "name='evil \\e[2J'"], None),  # valid: a name, escaped
        (["run", CH06, "--report", str(out / "no" / "r.html")], r"storsim: --report "
         r".*/no/r\.html: folder .*/no does not exist"),
        (["run", CH06, "--json", json, "--report", str(out / "no" / "r.html")],
         r"storsim: --report .*/no/r\.html: folder .*/no does not exist"),  # JSON kept
        (["run", CH06, "--json", fifo], r"storsim: --json .*fifo: is a device or special file"),
        (["run", CH06, "--json", json, "--report", json], r"storsim: --report .*old\.json: "
         r"--json writes the same file"),
        (["run", CH06, "--ops", "summary", "--report", report], r"storsim: --report plots "
         r"every operation"),
        (["run", CH06, "--max-ops", "100"], rf"{re.escape(CH06)}:\d+: services\.todo\."
         r"workload\[1\]: the run would do about .* over the budget of 100; .*--max-ops"),
        (["run", str(out / "missing.yaml")], r".*/missing\.yaml: cannot read scenario: No "
         r"such file or directory"),
        (["run", fifo], r".*/fifo: cannot read scenario: it is a FIFO, not a regular file"),
        (["sweep", CH06, "--grid", "x"], r"storsim: --grid must be dotted\.path=v1,v2,\.\.\."),
        (["sweep", CH06, "--grid", "duration=[1"], r"storsim: --grid duration: values must be"),
        (["sweep", CH06, "--jobs", "0"], r"storsim: argument --jobs: must be a whole number"),
        (["sweep", CH06, "--out", str(out)], r"storsim: --out .*out: is a folder"),
    ]  # fmt: skip


def test_every_failure_is_one_line(
    out: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each bad command, option, value or output path gives exit code 2 and exactly one
    line on stderr (its form as documented), prints nothing on stdout, and writes
    nothing: the old JSON is as it was and no file is added."""
    monkeypatch.setattr(commands, "simulate", _no_simulation)
    for argv, pattern in _failures(out):
        code = main(argv)
        captured = capsys.readouterr()
        if pattern is None:
            assert code == 0, (argv, captured.err)
            continue
        assert code == 2, (argv, captured.err)
        assert captured.err.count("\n") == 1, (argv, captured.err)
        assert captured.err.isprintable() or captured.err[:-1].isprintable()
        assert re.fullmatch(pattern + r".*\n", captured.err), (argv, captured.err)
        assert captured.out == ""
        assert sorted(p.name for p in out.iterdir()) == ["fifo", "old.json"], argv
        assert (out / "old.json").read_text() == "old"


def _no_simulation(scenario: Any, **options: Any) -> Any:
    """simulate() for these tests: the budget check, then a tiny run (the failures all
    happen before or instead of the real one)."""
    storsim.budget.check(scenario, options["max_ops"], ops=options["ops"])
    return storsim.simulate(
        scenario.with_overrides({"duration": "0.1 s"}), seed=options["seed"], ops=options["ops"]
    )


def test_negative_zero_duration_in_every_entry_point(
    tiny: dict[str, Any], write_yaml: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """duration: -0.0 (once a crash in the API and with --quiet, exit 0 otherwise) is a
    ScenarioError in the API and exit 2 with one line in the CLI, quiet or not."""
    tiny["duration"] = -0.0
    with pytest.raises(ScenarioError, match=r"duration: must be > 0 \(got -0\.0\)"):
        storsim.load_scenario(copy.deepcopy(tiny))
    path = write_yaml(tiny)
    for quiet in ([], ["--quiet"]):
        assert main(["run", str(path), *quiet]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1
        assert re.match(rf"{re.escape(str(path))}:\d+: duration: must be > 0", err)


def test_non_printable_characters_are_escaped(
    tiny: dict[str, Any], write_yaml: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """A name holding a terminal control sequence or a line separator reaches neither the
    error line nor the summary table as such: both show it escaped."""
    tiny["name"] = "evil\x1b[2J\u2028name"
    tiny["services"]["web"]["image"] = "nope\u200b"
    assert main(["run", str(write_yaml(tiny))]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert r"(got 'nope\u200b')" in err
    tiny["services"]["web"]["image"] = "app"
    assert main(["run", str(write_yaml(tiny))]) == 0
    printed = capsys.readouterr().out
    assert printed.splitlines()[0].startswith(r"evil\x1b[2J\u2028name: seed 1")
    assert "\x1b" not in printed


def test_json_and_report_are_written_together_or_not_at_all(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """When writing the report fails, the JSON written just before is not moved into
    place: the old JSON stays beside the old report (no new JSON beside an old report)."""
    json, report = tmp_path / "r.json", tmp_path / "r.html"
    json.write_text("old json")
    report.write_text("old report")

    def failing(result: Any, path: Any, **_: Any) -> None:
        raise OutputError(f"cannot write {path}: No space left on device")

    monkeypatch.setattr(commands, "write_report", failing)
    argv = ["run", CH06, "--set", "duration=1 s", "--json", str(json), "--report", str(report)]
    assert main([*argv, "--quiet"]) == 2
    assert capsys.readouterr().err == f"storsim: cannot write {report}: No space left on device\n"
    assert (json.read_text(), report.read_text()) == ("old json", "old report")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.html", "r.json"]


def test_ctrl_c_is_one_line_and_exit_130(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Ctrl-C during a run (KeyboardInterrupt) ends the command with exit code 130 and
    the one line ``storsim: interrupted``; no output is written."""

    def interrupted(*args: Any, **kwargs: Any) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr(commands, "simulate", interrupted)
    json = tmp_path / "r.json"
    assert main(["run", CH06, "--json", str(json)]) == 130
    assert capsys.readouterr().err == "storsim: interrupted\n"
    assert not json.exists()


def test_budget_and_seed_options_reach_the_run(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """--max-ops takes scientific notation (1e9) and --seed any value from 0 to 2**63-1;
    both reach simulate()."""
    seen: dict[str, Any] = {}

    def spy(scenario: Any, **options: Any) -> Any:
        seen.update(options)
        raise KeyboardInterrupt  # enough: the options were seen

    monkeypatch.setattr(commands, "simulate", spy)
    assert main(["run", CH06, "--max-ops", "1e9", "--seed", str(2**63 - 1)]) == 130
    assert (seen["max_ops"], seen["seed"]) == (10**9, 2**63 - 1)
    assert main(["run", CH06, "--max-ops", "2_000_000", "--seed", "0"]) == 130
    assert (seen["max_ops"], seen["seed"]) == (2_000_000, 0)
    capsys.readouterr()


def test_help_and_version_still_exit_0(capsys: pytest.CaptureFixture[str]) -> None:
    """--help and --version print what was asked for and exit 0."""
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("storsim ")
    assert main(["run", "--help"]) == 0
    assert "--max-ops N" in capsys.readouterr().out
