"""Units: quantities as people write them -> SI numbers."""

import pytest

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
        (parse_size, -1, r"non-negative"),
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
