"""Units: quantities as people write them -> SI numbers."""

import math
import re
from typing import Any

import pytest

from storsim import units
from storsim.units import parse_bandwidth, parse_duration, parse_rate, parse_size


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("4 KiB", 4096),
        ("4 KB", 4000),
        ("1.5 GB", 1_500_000_000),
        ("2MiB", 2 * 2**20),
        (10, 10),
        ("0", 0),
        ("1 TiB", 2**40),
        ("3 bytes", 3),
        ("8 PiB", 2**53),
        ("1 PB", 10**15),
    ],
)
def test_sizes(text: str | int, expected: int) -> None:
    """Binary (KiB) and decimal (KB) prefixes both parse, and plain numbers are bytes."""
    assert parse_size(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2 ms", 0.002),
        ("150 us", 150e-6),
        ("150 µs", 150e-6),
        ("1.5 s", 1.5),
        ("2 min", 120.0),
        (3, 3.0),
        ("10 ns", 1e-8),
        ("1 h", 3600.0),
    ],
)
def test_durations(text: str | int, expected: float) -> None:
    """Durations parse to seconds."""
    assert parse_duration(text) == pytest.approx(expected)


def test_bandwidth_and_rate() -> None:
    """Bandwidths parse to bytes/s and rates to events/s, 'per' and '/' alike."""
    assert parse_bandwidth("500 MB/s") == 500e6
    assert parse_bandwidth("1 GiB/s") == 2**30
    assert parse_bandwidth("10 MiB per ms") == pytest.approx(10 * 2**20 * 1000)
    assert parse_rate("100/s") == 100.0
    assert parse_rate("5 per ms") == pytest.approx(5000.0)
    assert parse_rate("3/min") == pytest.approx(0.05)


@pytest.mark.parametrize(
    ("func", "text", "match"),
    [
        (parse_size, "4 XB", r"must use a size unit.*got '4 XB'"),
        (parse_size, "lots", r"must be a size such as"),
        (parse_size, -1, r"must be a size from 0 B to 8 PiB \(2\*\*53 bytes\) \(got -1\)"),
        (parse_duration, "3 parsecs", r"must use a duration unit"),
        (parse_rate, "fast", r"must be a rate"),
        (parse_rate, "5/0 s", r"positive time"),
        (parse_size, True, r"must be a size"),
    ],
)
def test_bad_quantities(func, text, match) -> None:  # type: ignore[no-untyped-def]
    """Malformed, negative or unknown-unit quantities are rejected with the rule broken."""
    with pytest.raises(ValueError, match=match):
        func(text)


@pytest.mark.parametrize(
    ("func", "value", "match"),
    [
        (
            parse_size,
            10**400,
            r"from 0 B to 8 PiB .*\(got 10000000000000000000\.\.\. \(401 characters\)\)",
        ),
        (parse_size, "1e400 KiB", r"from 0 B to 8 PiB .*\(got '1e400 KiB'\)"),
        (parse_size, "9" * 400, r"from 0 B to 8 PiB"),
        (parse_size, 2**53 + 1, r"from 0 B to 8 PiB"),
        (parse_size, "1e30", r"from 0 B to 8 PiB"),
        (parse_duration, -(10**400), r"from 0 s to 1e9 s"),
        (parse_duration, "2e9 s", r"from 0 s to 1e9 s \(about 32 years\) \(got '2e9 s'\)"),
        (parse_duration, -1e-9, r"from 0 s to 1e9 s"),
        (parse_bandwidth, 0, r"from 1 B/s to 8 PiB/s \(got 0\)"),
        (parse_bandwidth, "0 MB/s", r"from 1 B/s to 8 PiB/s"),
        (parse_bandwidth, "1 B/1e-400 s", r"positive time"),
        (parse_bandwidth, "1 B/1e400 s", r"positive time"),
        (parse_rate, 0, r"above 0/s and at most 1e9/s \(got 0\)"),
        (parse_rate, "1e10/s", r"above 0/s and at most 1e9/s"),
        (parse_rate, 10**400, r"above 0/s"),
    ],
)
def test_quantities_out_of_range(func, value, match) -> None:  # type: ignore[no-untyped-def]
    """Numbers the model cannot use, however they are written (a 400-digit integer, 1e400,
    a zero bandwidth), are a ValueError that gives the range, never an OverflowError."""
    with pytest.raises(ValueError, match=match):
        func(value)


def test_a_rate_or_bandwidth_needs_its_amount() -> None:
    """ "/s" and "/2 s" are refused: an amount must come before the "/" (they read as
    1/s and 2/s before)."""
    for text in ("/s", "/2 s", " per s"):
        with pytest.raises(ValueError, match="must be a rate"):
            units.parse_rate(text)
        with pytest.raises(ValueError, match="must be a bandwidth"):
            units.parse_bandwidth(text)


def test_negative_zero_is_zero() -> None:
    """-0.0 parses as 0.0 (a negative zero is no time at all), with its sign gone."""
    assert math.copysign(1.0, parse_duration(-0.0)) == 1.0
    assert parse_size(-0.0) == 0


_NUMBERS = ["4", "1.5", ".5", "1e3", "2E-3", "0", "5.", "-1", "1e", "x", ""]
_UNITS = [
    "", "b", "B", "KiB", "kib", "KB", "k", "MiB", "gb", "PiB", "bytes", "Byte",
    "s", "ms", "MS", "us", "µs", "ns", "min", "m", "h", "Hours", "d", "sec", "secs",
    "xb", "kibi", "sx", "µ",
]  # fmt: skip
_SPACES = ["", " ", "  "]


def _form_ok(parse: Any, text: str) -> bool:
    """Whether ``parse`` reads the form of ``text`` (a value out of range has the form)."""
    try:
        parse(text)
    except ValueError as exc:
        return " from " in str(exc) or "at most" in str(exc)  # a range, not a form
    return True


@pytest.mark.parametrize(
    ("kind", "parse"),
    [
        ("size", units.parse_size),
        ("duration", units.parse_duration),
        ("bandwidth", units.parse_bandwidth),
        ("rate", units.parse_rate),
    ],
)
def test_the_schema_pattern_accepts_what_the_parser_reads(kind: str, parse: Any) -> None:
    """pattern(kind) matches a string exactly when parse_<kind> reads its form: numbers
    and units in any case and spacing, with "/" or "per" for bandwidths and rates."""
    regex = re.compile(units.pattern(kind))
    texts = [f"{n}{sp}{u}" for n in _NUMBERS for u in _UNITS for sp in _SPACES]
    if kind in ("bandwidth", "rate"):
        amounts = [
            f"{n}{sp}{u}"
            for n in ["4", "1.5", "x"]
            for u in ["", "MB", "kib", "q"]
            for sp in ["", " "]
        ] + [""]  # fmt: skip ("" : "/s" is no rate)
        pers = ["/s", " / ms", "/2 s", "/0.5min", "/.5 s", " per s", " PER 5 ms", "/", "/x",
                "per s", "//s", "/1/s"]  # fmt: skip
        texts = [a + p for a in amounts for p in pers]
    mismatched = [t for t in texts if bool(regex.fullmatch(t)) != _form_ok(parse, t)]
    assert mismatched == []
