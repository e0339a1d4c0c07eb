"""storsim init: files in, a scenario out, what could not be mapped on stderr."""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import pytest

import storsim
from storsim.interop.cli import init_main, init_parser, run_init

from .conftest import DATA

COMPOSE = """\
services:
  db:
    image: postgres:16
    read_only: true
    volumes: [data:/var/lib/db]
  web:
    image: web
    volumes: [./static:/srv:ro]
volumes: {data: {}}
"""


def run(*argv: str) -> tuple[int, str, str]:
    """init_main in-process: (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    code = init_main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_init_writes_a_scenario_that_runs(tmp_path: Path) -> None:
    """storsim init compose.yaml -o FILE writes a scenario that loads and runs, prints each
    note on stderr and says how many TODO marks to fill in."""
    compose = tmp_path / "compose.yaml"
    compose.write_text(COMPOSE)
    target = tmp_path / "scenario.yaml"
    code, out, err = run(str(compose), "-o", str(target))
    assert (code, out) == (0, "")
    assert f"storsim init: not mapped: {compose}:8: services.web.volumes[0]: source ./static" in err
    assert "TODO marks to fill in, then: storsim run" in err
    scenario = storsim.load_scenario(target, overrides={"duration": "1 s"})
    assert scenario.services["db"].read_only  # compose read_only: true
    assert storsim.simulate(scenario).summary["ops"].sum() > 0


def test_init_prints_to_stdout_and_refuses_to_overwrite(tmp_path: Path) -> None:
    """Without -o the scenario goes to stdout; an existing -o file needs --force."""
    compose = tmp_path / "compose.yaml"
    compose.write_text(COMPOSE)
    code, out, _ = run(str(compose))
    assert code == 0
    assert out.startswith("# Made by storsim init from compose.yaml.")
    target = tmp_path / "s.yaml"
    target.write_text("mine")
    code, _, err = run(str(compose), "-o", str(target))
    assert code == 2
    assert "exists: give --force" in err
    assert target.read_text() == "mine"
    assert run(str(compose), "-o", str(target), "--force")[0] == 0


def test_broken_inputs_exit_2_with_one_line(tmp_path: Path) -> None:
    """A broken compose file or a refused fio option is one line on stderr and exit 2."""
    compose = tmp_path / "compose.yaml"
    compose.write_text("services:\n  a: [\n")
    code, _, err = run(str(compose))
    assert code == 2
    assert err.startswith(f"{compose}:3: invalid YAML")
    assert err.count("\n") == 1
    job = tmp_path / "j.fio"
    job.write_text("[j]\nioengine=libaio\n")
    code, _, err = run(str(job))
    assert (code, err) == (
        2,
        f"{job}:2: option 'ioengine=libaio': libaio is asynchronous only with "
        "direct=1 (O_DIRECT), which storsim does not model (it models buffered I/O through "
        "the page cache); use ioengine=psync, or io_uring / posixaio to keep iodepth "
        "requests outstanding\n",
    )
    assert run(str(tmp_path / "missing.yaml"))[0] == 2


def test_a_fio_job_file_alone_runs_on_each_storage_choice(tmp_path: Path) -> None:
    """storsim init JOB.fio writes a scenario running the jobs with a compare section."""
    job = tmp_path / "j.fio"
    job.write_text("[global]\nsize=1m\nruntime=100ms\ntime_based\nnorandommap\n[j]\nrw=randwrite\n")
    target = tmp_path / "fio.yaml"
    assert run(str(job), "-o", str(target))[0] == 0
    scenario = storsim.load_scenario(target)
    assert scenario.name == "fio-j"
    assert scenario.compare is not None
    assert scenario.services["fio"].workload[0].path == "/data/j.0.0"


def test_a_fio_job_as_the_workload_of_the_service_that_mounts_its_directory(tmp_path: Path) -> None:
    """With a compose file, the fio jobs are the workload of the service mounting their
    directory (or --service), their files laid out in its container; otherwise an error."""
    compose = tmp_path / "compose.yaml"
    compose.write_text(COMPOSE)
    job = tmp_path / "j.fio"
    job.write_text(
        "[global]\ndirectory=/var/lib/db\nsize=1m\nruntime=100ms\ntime_based\nnorandommap\n"
        "[j]\nrw=randrw\n"
    )
    target = tmp_path / "s.yaml"
    assert run(str(compose), str(job), "-o", str(target))[0] == 0
    scenario = storsim.load_scenario(target)
    assert [w.name for w in scenario.services["db"].workload] == ["j"]
    result = storsim.simulate(scenario, compare=False)
    assert (result.summary["errors"] == 0).all()
    assert result.summary["ops"].sum() > 0
    other = tmp_path / "k.fio"
    other.write_text("[k]\ndirectory=/elsewhere\nsize=1m\nrw=randread\n")
    code, _, err = run(str(compose), str(other))
    assert code == 2
    assert "which service runs the fio jobs? give --service" in err
    code, _, err = run(str(compose), str(other), "--service", "nope")
    assert code == 2
    assert "--service must name a service" in err
    ro = tmp_path / "r.fio"
    ro.write_text("[r]\ndirectory=/srv\nsize=1m\nrw=randread\nnorandommap\n")
    code, _, err = run(str(compose), str(ro))
    assert code == 2
    assert "on a read-only mount of service web" in err


def test_inspect_files_alone_or_with_a_compose_file(tmp_path: Path) -> None:
    """docker inspect JSON alone makes a scenario; two compose files are refused."""
    target = tmp_path / "s.yaml"
    files = [
        str(DATA / n) for n in ("inspect-gallery-container.json", "volume-inspect-gallery.json")
    ]
    assert run(*files, "-o", str(target))[0] == 0
    assert "distributed_bind" in storsim.load_scenario(target).compare.choices  # type: ignore[union-attr]
    compose = tmp_path / "compose.yaml"
    compose.write_text(COMPOSE)
    code, _, err = run(str(compose), str(compose))
    assert code == 2
    assert "one compose file at a time" in err


@pytest.mark.parametrize("flag", ["--help"])
def test_help_exits_cleanly(flag: str, capsys: pytest.CaptureFixture[str]) -> None:
    """--help prints the usage of storsim init."""
    with pytest.raises(SystemExit) as info:
        init_main([flag])
    assert info.value.code == 0
    assert "usage: storsim init" in capsys.readouterr().out


def test_init_hooks_into_a_cli_as_a_subcommand(tmp_path: Path) -> None:
    """init_parser and run_init make storsim init a subcommand of an argparse CLI."""
    parser = argparse.ArgumentParser(prog="storsim")
    sub = parser.add_subparsers(dest="command")
    init_parser(sub.add_parser("init")).set_defaults(func=run_init)
    compose = tmp_path / "compose.yaml"
    compose.write_text(COMPOSE)
    args = parser.parse_args(["init", str(compose), "-o", str(tmp_path / "s.yaml")])
    out, err = io.StringIO(), io.StringIO()
    assert args.func(args, stdout=out, stderr=err) == 0
    assert set(storsim.load_scenario(tmp_path / "s.yaml").services) == {"db", "web"}


def test_init_is_a_command_of_storsim(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """storsim init writes the scenario and lists what it could not map; a bad file is one
    line on stderr and exit 2."""
    from storsim.cli import main

    compose = tmp_path / "compose.yaml"
    compose.write_text(COMPOSE)
    target = tmp_path / "s.yaml"
    assert main(["init", str(compose), "-o", str(target)]) == 0
    err = capsys.readouterr().err
    assert "storsim init: not mapped:" in err
    assert f"storsim init: wrote {target} from compose.yaml" in err
    assert set(storsim.load_scenario(target).services) == {"db", "web"}
    compose.write_text("services: 3\n")
    assert main(["init", str(compose)]) == 2
    assert capsys.readouterr().err == f"{compose}:1: a compose file needs a services: mapping\n"
