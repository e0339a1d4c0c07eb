"""Quantities written the way people write them: "4 KiB", "2 ms", "500 MB/s", "100/s".

Like a recipe that says "2 cups" rather than "473 ml", scenario files say "4 KiB" and
"2 ms"; this module turns them into the SI numbers the model works in (bytes, seconds,
bytes per second, events per second). Plain numbers are taken as already in those units.

Every quantity must also lie in the range the model can work with, and the message says
which (:data:`MAX_SIZE_BYTES`, :data:`MAX_DURATION_S`, ...): a number such as ``10**400``
or ``1e400`` is refused here with that range, never passed on as an overflow or an
infinity.
"""

from __future__ import annotations

import math
import re

__all__ = [
    "MAX_BANDWIDTH_BYTES_PER_S",
    "MAX_DURATION_S",
    "MAX_RATE_PER_S",
    "MAX_SIZE_BYTES",
    "MIN_BANDWIDTH_BYTES_PER_S",
    "parse_bandwidth",
    "parse_duration",
    "parse_rate",
    "parse_size",
    "pattern",
]

#: The largest size (8 PiB): byte counts up to 2**53 are exact in the float arithmetic
#: of the timing model (``nbytes / bandwidth``); the kernel's own limit, 2**63 - 1 (off_t),
#: would not be.
MAX_SIZE_BYTES = 2**53
#: The longest duration or time (about 32 years): at 1e9 s the clock still resolves
#: 0.12 us (a float's precision there), well below one system call (5 us, [D10]).
MAX_DURATION_S = 1e9
#: Bandwidths from 1 B/s to 8 PiB/s: the slowest makes the largest transfer last
#: 9e15 s, still a finite time; the fastest is far beyond any memory bus.
MIN_BANDWIDTH_BYTES_PER_S = 1.0
MAX_BANDWIDTH_BYTES_PER_S = float(2**53)
#: The highest rate: a billion events per second, one per nanosecond.
MAX_RATE_PER_S = 1e9

_RANGES = {
    "size": (0.0, float(MAX_SIZE_BYTES), "from 0 B to 8 PiB (2**53 bytes)"),
    "duration": (0.0, MAX_DURATION_S, "from 0 s to 1e9 s (about 32 years)"),
    "bandwidth": (
        MIN_BANDWIDTH_BYTES_PER_S,
        MAX_BANDWIDTH_BYTES_PER_S,
        "from 1 B/s to 8 PiB/s",
    ),
    "rate": (0.0, MAX_RATE_PER_S, "above 0/s and at most 1e9/s"),
}

_SIZE_UNITS: dict[str, int] = {
    "": 1, "b": 1, "byte": 1, "bytes": 1,
    "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12, "pb": 10**15,
    "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40, "p": 2**50,
    "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40, "pib": 2**50,
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


def _number(value: int | float, kind: str) -> float:
    """A plain number as a float, or the range error (a huge int overflows ``float``)."""
    try:
        return float(value)
    except OverflowError:
        raise ValueError(_out_of_range(kind, value)) from None


def _check(value: float, kind: str, original: object) -> float:
    low, high, _ = _RANGES[kind]
    # a rate must be above its lower end (0/s: no events at all); the others may equal it
    too_low = value <= low if kind == "rate" else value < low
    # an integer is compared exactly: float(2**53 + 1) would round down into the range
    too_high = value > high or (isinstance(original, int) and original > high)
    if not math.isfinite(value) or too_low or too_high:
        raise ValueError(_out_of_range(kind, original))
    return value + 0.0  # -0.0 becomes 0.0: a negative zero is no time at all


def _out_of_range(kind: str, original: object) -> str:
    shown = repr(original)
    if len(shown) > 40:  # a 400-digit number: its start and its size are enough
        shown = f"{shown[:20]}... ({len(shown)} characters)"
    return f"must be a {kind} {_RANGES[kind][2]} (got {shown})"


def parse_size(value: str | int | float) -> int:
    """Parse a size in bytes.

    Args:
        value: ``"4 KiB"`` (binary, 4096), ``"4 KB"`` (decimal, 4000), or a number of bytes.

    Returns:
        The size in bytes, rounded to the nearest whole byte.

    Raises:
        ValueError: unknown unit, malformed value, or outside 0 B to 8 PiB.
    """
    if isinstance(value, bool):
        raise ValueError(f"must be a size such as {_EXAMPLES['size']} (got {value!r})")
    if isinstance(value, int | float):
        return round(_check(_number(value, "size"), "size", value))
    return round(_check(_split(value, "size", _SIZE_UNITS), "size", value))


def parse_duration(value: str | int | float) -> float:
    """Parse a duration in seconds.

    Args:
        value: ``"2 ms"``, ``"150 us"``, ``"1.5 s"``, ``"2 min"``, or a number of seconds.

    Returns:
        The duration in seconds.

    Raises:
        ValueError: unknown unit, malformed value, or outside 0 s to 1e9 s.
    """
    if isinstance(value, bool):
        raise ValueError(f"must be a duration such as {_EXAMPLES['duration']} (got {value!r})")
    if isinstance(value, int | float):
        return _check(_number(value, "duration"), "duration", value)
    return _check(_split(value, "duration", _TIME_UNITS), "duration", value)


def _per(value: str | int | float, kind: str) -> tuple[str | None, float]:
    """``(amount, seconds)`` of ``"AMOUNT/TIME"``; ``(None, value)`` for a plain number."""
    if isinstance(value, bool):
        raise ValueError(f"must be a {kind} such as {_EXAMPLES[kind]} (got {value!r})")
    if isinstance(value, int | float):
        return None, _check(_number(value, kind), kind, value)
    parts = _PER.split(value.strip(), maxsplit=1)
    if len(parts) != 2 or not parts[0]:  # "/s" has no amount: not a rate of 1/s
        raise ValueError(f"must be a {kind} such as {_EXAMPLES[kind]} (got {value!r})")
    per = parts[1] if parts[1][:1].isdigit() else "1 " + parts[1]
    seconds = _split(per, "duration", _TIME_UNITS)
    if not 0 < seconds < math.inf:
        raise ValueError(f"must be a {kind} over a positive time (got {value!r})")
    return parts[0], seconds


def parse_bandwidth(value: str | int | float) -> float:
    """Parse a bandwidth in bytes per second.

    Args:
        value: ``"500 MB/s"``, ``"1 GiB/s"``, ``"10 MiB per ms"`` or a number of bytes/s.

    Returns:
        Bytes per second.

    Raises:
        ValueError: unknown unit, malformed value, or outside 1 B/s to 8 PiB/s.
    """
    amount, seconds = _per(value, "bandwidth")
    if amount is None:
        return seconds  # a plain number: already bytes per second
    return _check(_split(amount, "size", _SIZE_UNITS) / seconds, "bandwidth", value)


def parse_rate(value: str | int | float) -> float:
    """Parse an event rate in events per second.

    Args:
        value: ``"100/s"``, ``"5 per ms"``, ``"3/min"`` or a number of events per second.

    Returns:
        Events per second.

    Raises:
        ValueError: malformed value, or not above 0/s and at most 1e9/s.
    """
    amount, seconds = _per(value, "rate")
    if amount is None:
        return seconds
    return _check(_split(amount, "rate", {"": 1.0}) / seconds, "rate", value)


def _any_case(unit: str) -> str:
    # JSON Schema patterns are ECMA-262 regular expressions, without an ignore-case flag
    return "".join(f"[{c.lower()}{c.upper()}]" if c.lower() != c.upper() else c for c in unit)


def _units(units: dict[str, float] | dict[str, int]) -> str:
    names = sorted((u for u in units if u), key=lambda u: (-len(u), u))  # longest first
    return "(?:" + "|".join(_any_case(u) for u in names) + ")?"


def pattern(kind: str) -> str:
    """The regular expression of the strings that ``parse_<kind>`` reads (the unit and
    the number's form; not the range), for a JSON Schema's ``pattern``.

    It is ECMA-262 (what JSON Schema validators and editors use) and Python ``re`` alike:
    each unit spelled in any case by character classes, ``\\s`` for spaces.

    Args:
        kind: ``"size"``, ``"duration"``, ``"bandwidth"`` or ``"rate"``.

    Raises:
        KeyError: another ``kind``.
    """
    number = _NUMBER.replace("(", "(?:", 1)
    # a time after the "/" that is a number starts with a digit ("/0.5 s", not "/.5 s")
    per = rf"\s*(?:/|{_any_case('per')}\s+)\s*(?:(?=[0-9]){number}\s*)?{_units(_TIME_UNITS)}"
    body = {
        "size": rf"{number}\s*{_units(_SIZE_UNITS)}",
        "duration": rf"{number}\s*{_units(_TIME_UNITS)}",
        "bandwidth": rf"{number}\s*{_units(_SIZE_UNITS)}{per}",
        "rate": rf"{number}{per}",
    }[kind]
    return rf"^\s*{body}\s*$"
