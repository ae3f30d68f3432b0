"""The weekly report model: the ISO week, the report's records, and its JSON document.

Nothing here touches a database, Prefect or the file system. The records are filled by
:func:`flows.report.build.build_weekly_report` from stored rows (``storage.report_queries``) and drawn by
:mod:`flows.report.render` and :mod:`flows.report.charts`.

Units: durations in seconds, ROM in degrees, volume load in the user's own unit (``reps x load_value``:
band level, kg, or bodyweight reps), velocity loss as a fraction 0-1, ACWR dimensionless.

Tempo notation follows lifting coaches: four numbers **eccentric-pause-concentric-pause** where the first
pause is the bottom pause (after the eccentric) and the second the top hold (after the concentric), e.g.
``2-1-2-1``. The phase durations are reported alongside, in their natural order.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

REPORT_VERSION = "1"
#: Weeks of history fetched before the report week (4-week trend, 28-day chronic load, stalls).
HISTORY_WEEKS = 8
TEMPO_ORDER = (
    "eccentric-pause-concentric-pause (bottom pause after the eccentric, top hold after the concentric)"
)


class WeekFormatError(ValueError):
    """An ISO week string is not ``YYYY-Www``."""


@dataclass(frozen=True, slots=True, kw_only=True, order=True)
class IsoWeek:
    """An ISO 8601 week (Monday to Sunday) such as ``2026-W47``."""

    year: int
    week: int

    @classmethod
    def parse(cls, text: str) -> IsoWeek:
        m = re.fullmatch(r"(\d{4})-?W(\d{1,2})", text.strip(), flags=re.IGNORECASE)
        if not m:
            raise WeekFormatError(f"not an ISO week (YYYY-Www): {text!r}")
        year, week = int(m.group(1)), int(m.group(2))
        try:
            date.fromisocalendar(year, week, 1)
        except ValueError as e:
            raise WeekFormatError(f"no such ISO week: {text!r}") from e
        return cls(year=year, week=week)

    @classmethod
    def of(cls, day: date) -> IsoWeek:
        iso = day.isocalendar()
        return cls(year=iso.year, week=iso.week)

    @classmethod
    def last_complete(cls, now: datetime | None = None) -> IsoWeek:
        """The most recent week that has fully ended (local time)."""
        today = (now or datetime.now().astimezone()).date()
        return cls.of(today).shift(-1)

    def __str__(self) -> str:
        return f"{self.year}-W{self.week:02d}"

    @property
    def monday(self) -> date:
        return date.fromisocalendar(self.year, self.week, 1)

    def shift(self, weeks: int) -> IsoWeek:
        return IsoWeek.of(self.monday + timedelta(weeks=weeks))

    def bounds(self, tz: tzinfo | None = None) -> tuple[datetime, datetime]:
        """``[start, end)`` of the week in UTC; weeks start at Monday 00:00 in ``tz`` (default: local)."""
        return _local_midnight(self.monday, tz), _local_midnight(self.monday + timedelta(days=7), tz)


def week_of(t: datetime, tz: tzinfo | None = None) -> IsoWeek:
    """The ISO week holding instant ``t`` in time zone ``tz`` (default: local time)."""
    local = t.astimezone(tz) if tz is not None else t.astimezone()
    return IsoWeek.of(local.date())


def _local_midnight(day: date, tz: tzinfo | None) -> datetime:
    naive = datetime(day.year, day.month, day.day)
    # A naive datetime's astimezone() uses the system's local rules, DST included.
    aware = naive.replace(tzinfo=tz) if tz is not None else naive.astimezone()
    return aware.astimezone(UTC)


@dataclass(frozen=True, slots=True, kw_only=True)
class PhaseStats:
    """Median and interquartile range (s) of one tempo phase over the week's reps."""

    median_s: float | None
    iqr_s: float | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Tempo:
    concentric: PhaseStats
    top_hold: PhaseStats
    eccentric: PhaseStats
    bottom_pause: PhaseStats
    notation: str | None
    notation_order: str = TEMPO_ORDER


@dataclass(frozen=True, slots=True, kw_only=True)
class Change:
    """This week against last week: absolute and relative (fraction) differences; ``None`` without data."""

    volume_load: float | None
    volume_load_pct: float | None
    reps: int | None
    rom_deg: float | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Trend:
    """Volume load of the last 4 weeks (oldest first, this week last) and its direction."""

    weeks: tuple[str, ...]
    volume_load: tuple[float, ...]
    direction: str  # rising | falling | flat | insufficient_data


@dataclass(frozen=True, slots=True, kw_only=True)
class Overload:
    """Double-progression status: increase | new_resistance | rom_dropping | stalled | building | no_data."""

    status: str
    advice: str
    resistance: str | None
    next_resistance: str | None
    qualifying_sessions: int


@dataclass(frozen=True, slots=True, kw_only=True)
class SetSummary:
    """One set this week, for the tempo-per-set chart and the tables."""

    session_started_at: datetime
    set_index: int
    reps: int
    resistance: str | None
    concentric_s: float | None
    top_hold_s: float | None
    eccentric_s: float | None
    rom_deg: float | None
    velocity_loss: float | None


@dataclass(frozen=True, slots=True, kw_only=True)
class ExerciseReport:
    """Week figures for one exercise and side."""

    exercise: str
    side: str | None
    sessions: int
    sets: int
    reps: int
    volume_load: float
    load_unit: str | None
    resistance: str | None
    time_under_tension_s: float
    tempo: Tempo
    rom_deg: float | None
    velocity_loss: float | None
    change: Change
    trend: Trend
    overload: Overload
    set_details: tuple[SetSummary, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Gap:
    """Time between two consecutive glute sessions (h); ``short`` when under the 48 h minimum."""

    from_started_at: datetime
    to_started_at: datetime
    hours: float
    short: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class Asymmetry:
    """Left vs right for one exercise: ``(left - right) / max(left, right)`` of volume load and ROM."""

    exercise: str
    volume_left: float
    volume_right: float
    volume_asymmetry: float | None
    rom_left_deg: float | None
    rom_right_deg: float | None
    rom_asymmetry: float | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Recovery:
    sessions: int
    target_sessions: tuple[int, int]
    sessions_status: str  # below_target | on_target | above_target
    min_hours_between_sessions: float | None
    short_gaps: tuple[Gap, ...]
    flag_under_48h: bool
    acwr: float | None
    acute_load_s: float
    chronic_load_s: float
    acwr_measure: str
    acwr_band: tuple[float, float]
    acwr_caveat: str
    asymmetry: tuple[Asymmetry, ...]
    advice: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class WeeklyHistoryPoint:
    """Per exercise (all sides together) and week: volume load and median ROM, for the trend charts."""

    week: str
    exercise: str
    volume_load: float
    load_unit: str | None
    rom_deg: float | None


@dataclass(frozen=True, slots=True, kw_only=True)
class WeeklyReport:
    week: str
    start: datetime
    end: datetime
    generated_at: datetime
    exercises: tuple[ExerciseReport, ...]
    recovery: Recovery
    history: tuple[WeeklyHistoryPoint, ...]
    summary: tuple[str, ...]
    report_version: str = REPORT_VERSION
    parameters: dict[str, Any] = field(default_factory=dict)


# ----------------------------------------------------------------------------------------------- JSON


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, float):
        return None if math.isnan(value) else round(value, 4)
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def report_to_json(report: WeeklyReport) -> dict[str, Any]:
    """The ``hipsync report --format json`` document (keys listed in docs/reports.md)."""
    doc: dict[str, Any] = _jsonable(asdict(report))
    for e in doc["exercises"]:
        e["overload"] = {
            k: e["overload"][k]
            for k in ("status", "advice", "resistance", "next_resistance", "qualifying_sessions")
        }
    return doc
