"""Reading and parsing a scenario's text: only regular files, within budgets, one line each."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from storsim.errors import ScenarioError
from storsim.scenario import load_scenario
from storsim.scenario.text import (
    MAX_DEPTH,
    MAX_FILE_BYTES,
    MAX_LINE_CHARS,
    MAX_LINES,
    MAX_VALUES,
    check_data,
    parse_yaml,
)

GOOD = "name: x\nimages: {app: {layers: [{files: {/a: 1}}]}}\nservices: {web: {image: app}}\n"


def _error(path: Path | str) -> ScenarioError:
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert "\n" not in str(info.value)
    return info.value


@pytest.mark.parametrize(
    ("make", "kind"),
    [
        (lambda p: os.mkfifo(p), "a FIFO"),
        (lambda p: p.mkdir(), "a directory"),
        (lambda p: p.symlink_to("/dev/zero"), "a character device"),
    ],
)
def test_only_regular_files_are_read(tmp_path: Path, make: Any, kind: str) -> None:
    """A FIFO (which would block until a writer comes), a directory or a device (which
    never ends) is refused at once, by what it is, before a byte is read."""
    path = tmp_path / "scenario.yaml"
    make(path)
    error = _error(path)
    assert str(error) == f"{path}: cannot read scenario: it is {kind}, not a regular file"
    assert (error.file, error.line) == (str(path), None)


def test_dev_zero_is_refused() -> None:
    """/dev/zero as the scenario is refused, not read until memory runs out."""
    assert "it is a character device" in str(_error("/dev/zero"))


def test_files_are_read_up_to_a_limit(tmp_path: Path) -> None:
    """A file larger than the limit is refused without reading it all (a sparse file of
    64 MiB here); one of exactly the limit is read (and then parsed)."""
    path = tmp_path / "big.yaml"
    with path.open("wb") as handle:
        handle.truncate(64 * 2**20)
    assert "must be at most 1 MiB (got 67108864 bytes)" in str(_error(path))
    path.write_bytes((b"#" * 1023 + b"\n") * (MAX_FILE_BYTES // 1024))
    assert "a scenario must be a mapping" in str(_error(path))
    path.write_bytes(b"\n" * MAX_LINES)
    error = _error(path)
    assert f"it must have at most {MAX_LINES:,} lines" in str(error)
    assert error.line == MAX_LINES + 1


def test_lines_are_read_up_to_a_limit(write_yaml: Any) -> None:
    """A line longer than the limit is refused at its line (the parser's time grows with
    the square of a comment line's length)."""
    error = _error(write_yaml("name: x\n# " + "x" * MAX_LINE_CHARS + "\n"))
    assert error.line == 2
    assert f"a line must be at most {MAX_LINE_CHARS:,} characters" in str(error)


def test_undecodable_files_say_where_the_first_bad_byte_is(tmp_path: Path) -> None:
    """A file that is not UTF-8 names the line and column of its first bad byte."""
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"name: x\ndescription: caf\xe9 au lait\n")
    error = _error(path)
    assert str(error) == (
        f"{path}:2: cannot read scenario: not UTF-8 text: byte 0xe9 at column 17 "
        "(save the file as UTF-8)"
    )


def test_a_byte_order_mark_is_ignored(tmp_path: Path) -> None:
    """A UTF-8 byte-order mark (editors on Windows write one) is not part of the text."""
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + GOOD.encode())
    assert load_scenario(path).name == "x"


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("name: " + "[" * 1000 + "]" * 1000 + "\n", 1, f"nested more than {MAX_DEPTH} deep"),
        ("".join("  " * i + f"k{i}:\n" for i in range(200)), MAX_DEPTH, "nested more than"),
        ("name: &a [*a]\n", 1, "alias *a is inside the node it names (a cycle)"),
        ("name: a\x00b\n", 1, r"character '\x00' is not allowed in YAML"),
        ("name: x\nname: y\n", 2, 'found duplicate key "name"'),
        ("name: !!python/object/apply:os.system [ls]\n", 1, "tags are not allowed"),
        ("name: !!binary aGk=\n", 1, "tags are not allowed (got '!!binary')"),
        ("name: !custom 5\n", 1, "tags are not allowed (got '!custom')"),
    ],
)
def test_yaml_budgets_and_refusals(write_yaml: Any, text: str, line: int, message: str) -> None:
    """Deep nesting (which would exhaust Python's recursion), cyclic aliases, control
    characters, duplicate keys and every explicit tag are one error at their line."""
    error = _error(write_yaml(text))
    assert error.line == line, str(error)
    assert message in str(error)


def test_alias_bombs_are_stopped_at_the_alias_too_many(write_yaml: Any) -> None:
    """A "billion laughs" (9 levels of 9 aliases, 387 million values once expanded) is
    refused at the line of the first alias past the budget (the expansion is counted,
    never built)."""
    bomb = "a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
    for i in range(1, 9):
        bomb += f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]\n"
    error = _error(write_yaml(bomb + "name: *a8\n"))
    assert f"expands to more than {MAX_VALUES:,} values" in str(error)
    assert error.line == 6  # a5's aliases reach the budget: 9**6 > 200,000


def test_aliases_within_the_budget_are_fine(write_yaml: Any) -> None:
    """Anchors and aliases as compose files use them (x- keys, merge keys) load."""
    text = (
        "x-step: &step {op: read, size: 4 KiB}\n"
        "x-common: &common {image: app}\n"
        "name: x\nimages: {app: {layers: [{files: {/a: 1}}]}}\n"
        "services:\n  web:\n    <<: *common\n"
        "    workload: [{path: /a, count: 1, threads: 1, ops: [*step, *step]}]\n"
    )
    scenario = load_scenario(write_yaml(text))
    assert [s.op for s in scenario.services["web"].workload[0].ops] == ["read", "read"]


def test_a_python_tag_never_runs(write_yaml: Any, tmp_path: Path) -> None:
    """A Python tag is refused before anything is constructed: the command it names
    does not run."""
    canary = tmp_path / "canary"
    text = f"name: !!python/object/apply:os.system ['touch {canary}']\n"
    with pytest.raises(ScenarioError, match="tags are not allowed"):
        load_scenario(write_yaml(text))
    assert not canary.exists()


def test_parser_messages_stay_one_line(write_yaml: Any) -> None:
    """A YAML error whose text holds a control or line-separator character (the parser
    quotes the offending character) is one line, the character escaped."""
    error = _error(write_yaml("name: x\n\x85: [\n"))
    text = str(error)
    assert text.isprintable()
    assert "\n" not in text


def test_parse_yaml_of_option_values() -> None:
    """parse_yaml reads a --set or --grid value with the same budgets, naming no file."""
    assert parse_yaml("[1, 2 ms]") == [1, "2 ms"]
    with pytest.raises(ScenarioError, match="invalid YAML: tags are not allowed") as info:
        parse_yaml("!!python/name:os.system")
    assert info.value.file is None


def test_check_data_bounds_python_objects() -> None:
    """Data given as Python objects (a mapping, an override's value) has the same nesting
    and size budgets; a list that contains itself is infinitely deep."""
    deep: Any = 1
    for _ in range(MAX_DEPTH + 1):
        deep = [deep]
    with pytest.raises(ScenarioError, match=f"--set x: .* nested more than {MAX_DEPTH} deep"):
        check_data(deep, "--set x")
    cyclic: list[Any] = []
    cyclic.append(cyclic)
    with pytest.raises(ScenarioError, match="nested more than"):
        check_data({"name": cyclic}, "the scenario")
    shared = list(range(1000))
    wide = [shared] * 201  # one list, counted at each of its 201 places
    with pytest.raises(ScenarioError, match=f"at most {MAX_VALUES:,} values"):
        check_data(wide, "the scenario")
    assert check_data({"a": [1, {"b": 2}]}, "x") == {"a": [1, {"b": 2}]}
