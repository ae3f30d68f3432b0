"""Checks on the JSON a spool carries (header and events), before any of it is used.

A spool is read back by the sync and by ``analyze``, maybe long after it was written and maybe damaged or
edited (the CRCs only say the bytes are the ones written, not that they make sense). So every field the
decoder uses is checked here for type, finiteness and range, and JSON is parsed with a nesting limit,
finite numbers only and short integers; a field that fails raises :class:`~ingest.errors.SpoolError`
naming it, never whatever Python raised on the way (``RecursionError``, ``OverflowError``,
``TypeError``...). The rules are listed in ``docs/spool-format.md`` ("Validation").
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from ingest.errors import SpoolError

__all__ = [
    "MAX_CLOCK_S",
    "MAX_RATE_HZ",
    "MIN_RATE_HZ",
    "event_fields",
    "header_fields",
    "host_time_ok",
    "parse_json",
]

#: Largest |value| of a clock reading in seconds (host monotonic or sensor clock): ~317 years.
MAX_CLOCK_S = 1e10
#: Sample rates a header may state (Hz): the fastest supported sensor streams 416 Hz, the slowest output
#: rate WitMotion offers is 0.1 Hz (a denormal rate such as 1e-320 made the nominal period infinite).
MIN_RATE_HZ = 0.1
MAX_RATE_HZ = 10_000.0
#: Largest conversion factor a header may state (a FACTOR is ~1e-4 .. 1).
MAX_FACTOR = 1e6
#: Nesting limits of the header and of an event (the header needs 2 levels: streams -> stream -> value).
MAX_HEADER_DEPTH = 16
MAX_EVENT_DEPTH = 8
#: Longest text field (addresses, names, kinds) and integer literal (digits) accepted.
MAX_TEXT = 256
MAX_INT_DIGITS = 30
#: Earliest and latest plausible ``host_started_at_utc`` years (a host without a clock may say 1970).
YEARS = (1970, 2200)

_RATE_KEYS = ("fs_hz", "sample_rate_hz", "rate_hz")
_TOKENS = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def _depth(data: bytes) -> int:
    """The deepest nesting of arrays and objects in JSON text, strings skipped (C regex, Python per
    bracket: cheap next to parsing, and it runs before the recursive parser could overflow)."""
    depth = deepest = 0
    for m in _TOKENS.finditer(data):
        tok = m.group()
        if tok in (b"[", b"{"):
            depth += 1
            deepest = max(deepest, depth)
        elif tok in (b"]", b"}"):
            depth -= 1
    return deepest


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text[:40]} is out of range")
    return value


def _short_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise ValueError(f"integer of {len(text)} digits is out of range")
    return int(text)


def _no_constant(text: str) -> Any:
    raise ValueError(f"{text} is not a number")


def parse_json(data: bytes, *, what: str, max_depth: int) -> Any:
    """Parse UTF-8 JSON text with at most ``max_depth`` levels of nesting, finite numbers only (no NaN,
    no Infinity, no 1e999) and integers of at most ``MAX_INT_DIGITS`` digits.

    Raises:
        SpoolError: naming ``what`` (e.g. "spool header") and the problem.
    """
    deepest = _depth(data)
    if deepest > max_depth:
        raise SpoolError(f"{what} is nested {deepest} levels deep (at most {max_depth})")
    try:
        return json.loads(
            data.decode("utf-8"),
            parse_float=_finite_float,
            parse_int=_short_int,
            parse_constant=_no_constant,
        )
    except (UnicodeDecodeError, ValueError, RecursionError) as e:  # JSONDecodeError is a ValueError
        raise SpoolError(f"{what} is not valid JSON: {e}") from e


def _bad(field: str, problem: str) -> SpoolError:
    return SpoolError(f"spool header field {field!r} {problem}")


def _number(
    doc: Mapping[str, Any], key: str, *, lo: float, hi: float, required: bool = False
) -> float | None:
    value = doc.get(key)
    if value is None:
        if required:
            raise _bad(key, "is missing")
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _bad(key, f"must be a number, got {type(value).__name__}")
    if not (math.isfinite(value) and lo <= value <= hi):
        raise _bad(key, f"= {value!r} is out of range [{lo:g}, {hi:g}]")
    return float(value)


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _text(doc: Mapping[str, Any], key: str, *, required: bool = False, lenient: bool = False) -> str | None:
    """A text field; ``lenient`` (names the sensor advertised) replaces control characters and cuts it to
    ``MAX_TEXT`` instead of refusing the spool over a name."""
    value = doc.get(key)
    if value is None:
        if required:
            raise _bad(key, "is missing")
        return None
    if not isinstance(value, str):
        raise _bad(key, f"must be text, got {type(value).__name__}")
    if required and not value:
        raise _bad(key, "is empty")
    if lenient:
        return _CONTROL.sub("\ufffd", value[:MAX_TEXT])
    if len(value) > MAX_TEXT or _CONTROL.search(value):
        raise _bad(key, f"is not a short line of text ({len(value)} characters)")
    return value


def _scalar_ok(value: Any) -> bool:
    if value is None or isinstance(value, bool | int):
        return True
    if isinstance(value, float):
        return math.isfinite(value)
    return isinstance(value, str) and len(value) <= MAX_TEXT


def _setting(stream: str, key: str, value: Any) -> Any:
    """One stream setting: a short scalar; rates, factor and measurement type in their ranges."""
    where = f"streams.{stream}.{key}"
    if not _scalar_ok(value):
        raise _bad(where, f"must be a number or short text, got {type(value).__name__}")
    numeric = isinstance(value, int | float) and not isinstance(value, bool)
    if key in _RATE_KEYS and not (numeric and MIN_RATE_HZ <= value <= MAX_RATE_HZ):
        raise _bad(where, f"= {value!r} is not a sample rate in [{MIN_RATE_HZ:g}, {MAX_RATE_HZ:g}] Hz")
    if key == "factor" and not (numeric and 0 < value <= MAX_FACTOR):
        raise _bad(where, f"= {value!r} is not a conversion factor in (0, {MAX_FACTOR:g}]")
    if key == "measurement_type" and not (isinstance(value, int) and 0 <= value <= 63):
        raise _bad(where, f"= {value!r} is not a measurement type 0..63")
    return value


def _streams(value: Any) -> dict[str, dict[str, Any]]:
    if value is None:
        return {}
    if not isinstance(value, dict) or len(value) > 16:
        raise _bad("streams", "must be an object of at most 16 streams")
    out: dict[str, dict[str, Any]] = {}
    for name, settings in value.items():
        if len(name) > 64 or not isinstance(settings, dict) or len(settings) > 32:
            raise _bad(f"streams.{name[:64]}", "must be an object of at most 32 settings")
        out[name] = {k: _setting(name, k, v) for k, v in settings.items()}
    return out


def _utc(doc: Mapping[str, Any], key: str) -> datetime:
    value = doc.get(key)
    if not isinstance(value, str) or len(value) > 64:
        raise _bad(key, "must be an ISO 8601 date and time")
    try:
        when = datetime.fromisoformat(value)
    except ValueError as e:
        raise _bad(key, f"= {value!r} is not an ISO 8601 date and time") from e
    if when.tzinfo is None or when.utcoffset() is None:
        raise _bad(key, f"= {value!r} has no time zone")
    if not YEARS[0] <= when.astimezone(UTC).year <= YEARS[1]:
        raise _bad(key, f"= {value!r} is outside the years {YEARS[0]}-{YEARS[1]}")
    return when


def header_fields(doc: Any) -> dict[str, Any]:
    """The :class:`~ingest.spool.format.SpoolHeader` keyword arguments of a parsed header, checked.

    Raises:
        SpoolError: naming the first field that is missing, of the wrong type or out of range.
    """
    if not isinstance(doc, dict):
        raise SpoolError(f"spool header must be a JSON object, got {type(doc).__name__}")
    version = doc.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int) or not 1 <= version <= 1000:
        raise _bad("format_version", f"= {version!r} is not a format version")
    extra = doc.get("extra") or {}
    if not isinstance(extra, dict):
        raise _bad("extra", f"must be an object, got {type(extra).__name__}")
    return {
        "format_version": version,
        "session_id": _text(doc, "session_id", required=True),
        "profile": _text(doc, "profile", required=True),
        "side": _text(doc, "side"),
        "device_address": _text(doc, "device_address", lenient=True),
        "device_name": _text(doc, "device_name", lenient=True),
        "streams": _streams(doc.get("streams")),
        "host_started_at_utc": _utc(doc, "host_started_at_utc"),
        "host_monotonic_ref_s": _number(
            doc, "host_monotonic_ref_s", lo=-MAX_CLOCK_S, hi=MAX_CLOCK_S, required=True
        ),
        "sensor_time_ref_s": _number(doc, "sensor_time_ref_s", lo=0.0, hi=MAX_CLOCK_S),
        "extra": extra,
    }


#: Event details the decoder or the summaries read, with their checks.
_EVENT_NUMBERS = ("silent_s", "step_s", "previous_s", "sensor_s")


def event_fields(doc: Any) -> tuple[str, dict[str, Any]]:
    """``(kind, details)`` of a parsed event chunk, checked.

    Raises:
        SpoolError: the event is not an object, has no short text ``kind``, or a detail the decoder
            reads (``stream``, ``attempt``, ``silent_s``, ``step_s``, ...) has the wrong type or range.
    """
    if not isinstance(doc, dict):
        raise SpoolError(f"spool event must be a JSON object, got {type(doc).__name__}")
    details = dict(doc)
    kind = details.pop("kind", None)
    if not isinstance(kind, str) or not 0 < len(kind) <= 64:
        raise SpoolError(f"spool event kind must be short text, got {kind!r:.40}")
    stream = details.get("stream")
    if stream is not None and not (isinstance(stream, str) and len(stream) <= 64):
        raise SpoolError(f"spool event {kind!r}: 'stream' must be short text")
    attempt = details.get("attempt")
    if attempt is not None and (isinstance(attempt, bool) or not isinstance(attempt, int) or attempt < 0):
        raise SpoolError(f"spool event {kind!r}: 'attempt' must be a count")
    for key in _EVENT_NUMBERS:
        value = details.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float) or abs(value) > MAX_CLOCK_S:
            raise SpoolError(f"spool event {kind!r}: {key!r} = {value!r:.40} is not a time in seconds")
    return kind, details


def host_time_ok(t: float) -> bool:
    """Whether a chunk's host time (monotonic s) is finite and within ``MAX_CLOCK_S``."""
    return math.isfinite(t) and abs(t) <= MAX_CLOCK_S
