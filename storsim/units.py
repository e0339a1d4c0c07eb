"""Quantities written the way people write them: "4 KiB", "2 ms", "500 MB/s", "100/s".

Like a recipe that says "2 cups" rather than "473 ml", scenario files say "4 KiB" and
"2 ms"; this module turns them into the SI numbers the model works in (bytes, seconds,
bytes per second, events per second). Plain numbers are taken as already in those units.
"""

from __future__ import annotations

import math
import re

__all__ = ["parse_bandwidth", "parse_duration", "parse_rate", "parse_size"]

_SIZE_UNITS: dict[str, int] = {
    "": 1, "b": 1, "byte": 1, "bytes": 1,
    "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
    "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40,
    "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40,
}  # fmt: skip
_TIME_UNITS: dict[str, float] = {
    "": 1.0, "s": 1.0, "sec": 1.0, "secs": 1.0, "second": 1.0, "seconds": 1.0,
    "ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3,
    "min": 60.0, "m": 60.0, "h": 3600.0, "hour": 3600.0, "hours": 3600.0, "d": 86400.0,
}  # fmt: skip
_NUMBER = r"([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)"
_QUANTITY = re.compile(rf"^\s*{_NUMBER}\s*([a-zA-Zµ]*)\s*$")
_PER = re.compile(r"\s*(?:/|per\s+)\s*", re.IGNORECASE)


def _split(text: str, kind: str, units: dict[str, float] | dict[str, int]) -> float:
    match = _QUANTITY.match(text)
    if match is None:
        raise ValueError(f"must be a {kind} such as {_EXAMPLES[kind]} (got {text!r})")
    number, unit = match.groups()
    factor = units.get(unit.lower())
    if factor is None:
        valid = ", ".join(u for u in units if u)
        raise ValueError(f"must use a {kind} unit, one of {valid} (got {text!r})")
    return float(number) * factor


_EXAMPLES = {
    "size": "'4 KiB' or '1.5 GB'",
    "duration": "'2 ms' or '1.5 s'",
    "bandwidth": "'500 MB/s'",
    "rate": "'100/s' or '5 per ms'",
}


def _check(value: float, kind: str, original: object) -> float:
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"must be a finite, non-negative {kind} (got {original!r})")
    return value


def parse_size(value: str | int | float) -> int:
    """Parse a size in bytes.

    Args:
        value: ``"4 KiB"`` (binary, 4096), ``"4 KB"`` (decimal, 4000), or a number of bytes.

    Returns:
        The size in bytes, rounded to the nearest whole byte.

    Raises:
        ValueError: unknown unit, negative or malformed value.
    """
    if isinstance(value, bool):
        raise ValueError(f"must be a size such as {_EXAMPLES['size']} (got {value!r})")
    if isinstance(value, int | float):
        return round(_check(float(value), "size", value))
    return round(_check(_split(value, "size", _SIZE_UNITS), "size", value))


def parse_duration(value: str | int | float) -> float:
    """Parse a duration in seconds.

    Args:
        value: ``"2 ms"``, ``"150 us"``, ``"1.5 s"``, ``"2 min"``, or a number of seconds.

    Returns:
        The duration in seconds.

    Raises:
        ValueError: unknown unit, negative or malformed value.
    """
    if isinstance(value, bool):
        raise ValueError(f"must be a duration such as {_EXAMPLES['duration']} (got {value!r})")
    if isinstance(value, int | float):
        return _check(float(value), "duration", value)
    return _check(_split(value, "duration", _TIME_UNITS), "duration", value)


def _per(value: str | int | float, kind: str) -> tuple[str, float]:
    if isinstance(value, bool):
        raise ValueError(f"must be a {kind} such as {_EXAMPLES[kind]} (got {value!r})")
    if isinstance(value, int | float):
        return "", _check(float(value), kind, value)
    parts = _PER.split(value.strip(), maxsplit=1)
    if len(parts) != 2:
        raise ValueError(f"must be a {kind} such as {_EXAMPLES[kind]} (got {value!r})")
    per = parts[1] if parts[1][:1].isdigit() else "1 " + parts[1]
    seconds = _split(per, "duration", _TIME_UNITS)
    if seconds <= 0:
        raise ValueError(f"must be a {kind} over a positive time (got {value!r})")
    return parts[0], seconds


def parse_bandwidth(value: str | int | float) -> float:
    """Parse a bandwidth in bytes per second.

    Args:
        value: ``"500 MB/s"``, ``"1 GiB/s"``, ``"10 MiB per ms"`` or a number of bytes/s.

    Returns:
        Bytes per second.

    Raises:
        ValueError: unknown unit, negative or malformed value.
    """
    amount, seconds = _per(value, "bandwidth")
    if amount == "":
        return seconds  # a plain number: already bytes per second
    return _check(_split(amount, "size", _SIZE_UNITS) / seconds, "bandwidth", value)


def parse_rate(value: str | int | float) -> float:
    """Parse an event rate in events per second.

    Args:
        value: ``"100/s"``, ``"5 per ms"``, ``"3/min"`` or a number of events per second.

    Returns:
        Events per second.

    Raises:
        ValueError: negative or malformed value.
    """
    amount, seconds = _per(value, "rate")
    if amount == "":
        return seconds
    return _check(_split(amount, "rate", {"": 1.0}) / seconds, "rate", value)
