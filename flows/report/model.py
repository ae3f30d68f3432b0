"""The weekly report model: the ISO week, the report's records, and its JSON document.

Nothing here touches a database, Prefect or the file system. The records are filled by
:func:`flows.report.build.build_weekly_report` from stored rows (``storage.report_queries``) and drawn by
:mod:`flows.report.render` and :mod:`flows.report.charts`.

Units: durations in seconds, ROM in degrees, velocity loss as a fraction 0-1, ACWR dimensionless. Volume
load is ``reps x load_value`` kept **per load unit** (:class:`LoadVolume`): band-level reps, kg reps or
bodyweight reps, never added across units; pounds are converted to kg when a load is stored.

Tempo notation (:data:`flows.report.names.TEMPO_ORDER`): four medians in seconds,
**eccentric-pause-concentric-hold** (the bottom pause follows the lowering, the top hold the lifting),
e.g. ``2-1-2-1``; the phase medians are kept in the same order.

Every record that stands for sets says which: session id and set number, as ``hipsync log`` takes them.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

from flows.report.names import TEMPO_ORDER

REPORT_VERSION = "2"
#: Weeks of history fetched before the report week (4-week trend, 28-day chronic load, stalls).
HISTORY_WEEKS = 8
#: Characters of a session id the report shows (``hipsync log`` takes any unique prefix of 6 or more).
SHORT_ID = 8


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

    def day_bounds(self, days: int, tz: tzinfo | None = None) -> tuple[datetime, datetime]:
        """``[start, end)`` in UTC of the week's first ``days`` days (1 = Monday only, 7 = the whole week)."""
        return _local_midnight(self.monday, tz), _local_midnight(self.monday + timedelta(days=days), tz)


def week_of(t: datetime, tz: tzinfo | None = None) -> IsoWeek:
    """The ISO week holding instant ``t`` in time zone ``tz`` (default: local time)."""
    return IsoWeek.of(local(t, tz).date())


def local(t: datetime, tz: tzinfo | None = None) -> datetime:
    """Instant ``t`` in time zone ``tz`` (default: the machine's local time)."""
    return t.astimezone(tz) if tz is not None else t.astimezone()


def _local_midnight(day: date, tz: tzinfo | None) -> datetime:
    naive = datetime(day.year, day.month, day.day)
    # A naive datetime's astimezone() uses the system's local rules, DST included.
    aware = naive.replace(tzinfo=tz) if tz is not None else naive.astimezone()
    return aware.astimezone(UTC)


@dataclass(frozen=True, slots=True, kw_only=True)
class WeekPeriod:
    """Which part of the week the report covers, and what it is compared with.

    A week still running when the report is made covers Monday to the day it was made (``days`` < 7,
    ``label`` e.g. ``2026-W49 so far (Mon-Fri)``); it is compared with the same days of the week before
    (``compared_with`` e.g. ``Mon-Fri of 2026-W48``), and its trend uses the four complete weeks before it.
    """

    week: str
    complete: bool
    days: int
    day_range: str
    label: str
    compared_with: str


@dataclass(frozen=True, slots=True, kw_only=True)
class PhaseStats:
    """Median and interquartile range (s) of one tempo phase over the week's reps."""

    median_s: float | None
    iqr_s: float | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Tempo:
    """The four phases in notation order; ``notation`` their medians in whole seconds (``2-1-2-1``)."""

    eccentric: PhaseStats
    bottom_pause: PhaseStats
    concentric: PhaseStats
    top_hold: PhaseStats
    notation: str | None
    notation_order: str = TEMPO_ORDER


@dataclass(frozen=True, slots=True, kw_only=True)
class Trend:
    """Volume load of one load unit in 4 consecutive weeks (oldest first) and its direction.

    ``volume_load`` is ``None`` for a week without sets in that unit (not 0: nothing was measured).
    ``direction``: rising | falling | flat | insufficient_data.
    """

    weeks: tuple[str, ...]
    volume_load: tuple[float | None, ...]
    direction: str


@dataclass(frozen=True, slots=True, kw_only=True)
class LoadVolume:
    """One exercise and side's sets this week in one load unit (``None``: no load logged, no volume).

    ``volume_load`` = sum of ``reps x load_value`` in ``unit_words``; ``previous_volume_load`` the same for
    the period the week is compared with (:attr:`WeekPeriod.compared_with`), ``change_pct`` the relative
    change (fraction), ``None`` when either side is missing.
    """

    load_unit: str | None
    unit_words: str
    sets: int
    reps: int
    volume_load: float | None
    resistances: tuple[str, ...]
    resistance_words: tuple[str, ...]
    previous_volume_load: float | None
    change_pct: float | None
    trend: Trend


@dataclass(frozen=True, slots=True, kw_only=True)
class Change:
    """This week against :attr:`WeekPeriod.compared_with`: reps and median ROM; ``None`` without data."""

    reps: int | None
    rom_deg: float | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Overload:
    """Double-progression verdict for one implement (load unit) of one exercise and side.

    ``status``: increase | new_resistance | changed_implement | rom_dropping | stalled | building |
    no_load | no_data; ``status_words`` the same in words. ``resistance`` is the heaviest resistance of
    the latest session in this unit, ``next_step`` what to do next in words (``2 kg ankle weight x 12-15``);
    ``advice`` is ``reason; next: next_step``.
    """

    status: str
    status_words: str
    reason: str
    advice: str
    load_unit: str | None
    resistance: str | None
    resistance_words: str
    next_resistance: str | None
    next_step: str
    qualifying_sessions: int


@dataclass(frozen=True, slots=True, kw_only=True)
class SetSummary:
    """One set this week: where to find it (``session_id``, ``set_number``), its load and medians.

    Phase medians in seconds, ROM in degrees. ``flags``: ``implausible_rom`` (left out of the ROM
    figures), ``low_confidence`` (the recogniser was unsure of the exercise), ``load_logged`` (load set
    with ``hipsync log``), ``corrected`` (changed by a user edit). ``exercise_source``: where the exercise
    label came from (recognised | plan | user) where stored. ``session_label``: the
    session's weekday in the report's time zone (``Mon``; ``Mon 19:11`` when two sessions share a day).
    """

    session_id: str
    session_started_at: datetime
    set_number: int
    exercise: str
    side: str | None
    reps: int
    resistance: str | None
    load_value: float | None
    load_unit: str | None
    eccentric_s: float | None
    bottom_pause_s: float | None
    concentric_s: float | None
    top_hold_s: float | None
    rom_deg: float | None
    velocity_loss: float | None
    exercise_confidence: float | None
    flags: tuple[str, ...] = ()
    session_label: str = ""
    exercise_source: str | None = None

    @property
    def ref(self) -> str:
        """``5cc75cbc #3``: the short session id and the set number (``hipsync log 5cc75cbc 3``)."""
        return f"{self.session_id[:SHORT_ID]} #{self.set_number}"


@dataclass(frozen=True, slots=True, kw_only=True)
class ExerciseReport:
    """Week figures for one exercise and side.

    ``volumes`` one entry per load unit used this week; ``volume_load`` and ``load_unit`` repeat the
    single unit's figures, or are ``None`` and ``mixed`` when the week used several (never summed).
    ``overloads`` one verdict per load unit used this week, the one in use last first (``overload``).
    ``rom_deg`` leaves out sets flagged ``implausible_rom`` (``rom_sets_left_out``); ``notes`` say so,
    and name implement changes and low-confidence sets.
    """

    exercise: str
    name: str
    side: str | None
    sessions: int
    sets: int
    reps: int
    volumes: tuple[LoadVolume, ...]
    volume_load: float | None
    load_unit: str | None
    resistance: str | None
    time_under_tension_s: float
    tempo: Tempo
    rom_deg: float | None
    rom_sets_left_out: int
    velocity_loss: float | None
    change: Change
    overload: Overload
    overloads: tuple[Overload, ...]
    notes: tuple[str, ...]
    set_details: tuple[SetSummary, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionSummary:
    """One session this week with sets; ``rpe`` 0-10 as logged, ``rpe_load`` = RPE x minutes (session RPE)."""

    session_id: str
    started_at: datetime
    label: str
    duration_s: float | None
    sets: int
    reps: int
    exercises: tuple[str, ...]
    rpe: float | None
    rpe_load: float | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Gap:
    """Time between two consecutive glute sessions (h); ``short`` when under the 48 h minimum."""

    from_started_at: datetime
    to_started_at: datetime
    hours: float
    short: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class Asymmetry:
    """Left vs right for one exercise: ``(left - right) / max(left, right)`` of volume and ROM.

    ``measure`` is what was compared: the volume unit both sides share (``band-level reps``), or ``reps``
    when the sides used different units.
    """

    exercise: str
    measure: str
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
    sessions_status: str  # below_target | on_target | above_target | so_far_below_target
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
class WeekVolume:
    """One exercise's sets of one week in one load unit; ``volume_load`` None without a logged load."""

    load_unit: str | None
    sets: int
    reps: int
    volume_load: float | None


@dataclass(frozen=True, slots=True, kw_only=True)
class WeeklyHistoryPoint:
    """Per exercise (all sides together) and week, for the trend charts: reps, median ROM (implausible
    sets left out) and the volume per load unit; ``complete`` is False for a week still running."""

    week: str
    exercise: str
    reps: int
    rom_deg: float | None
    volumes: tuple[WeekVolume, ...]
    complete: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class WeeklyReport:
    """The report of one ISO week. ``unrecognised``: sets whose exercise is ``unknown``, kept out of
    every exercise figure; ``personal_records``: lines for a "new records" section (empty until the
    records work fills it)."""

    week: str
    period: WeekPeriod
    start: datetime
    end: datetime
    generated_at: datetime
    sessions: tuple[SessionSummary, ...]
    rpe_mean: float | None
    exercises: tuple[ExerciseReport, ...]
    unrecognised: tuple[SetSummary, ...]
    recovery: Recovery
    history: tuple[WeeklyHistoryPoint, ...]
    summary: tuple[str, ...]
    personal_records: tuple[str, ...] = ()
    report_version: str = REPORT_VERSION
    parameters: dict[str, Any] = field(default_factory=dict)

    @property
    def totals(self) -> dict[str, int]:
        """Sessions with sets, sets and reps of the week, unrecognised sets included."""
        return {
            "sessions": len(self.sessions),
            "sets": sum(s.sets for s in self.sessions),
            "reps": sum(s.reps for s in self.sessions),
        }


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


def _with_refs(sets: list[dict[str, Any]], summaries: tuple[SetSummary, ...]) -> None:
    for doc, s in zip(sets, summaries, strict=True):
        doc["ref"] = s.ref


def report_to_json(report: WeeklyReport) -> dict[str, Any]:
    """The ``hipsync report --format json`` document (keys listed in docs/reports.md)."""
    doc: dict[str, Any] = _jsonable(asdict(report))
    doc["totals"] = report.totals
    for e_doc, e in zip(doc["exercises"], report.exercises, strict=True):
        _with_refs(e_doc["set_details"], e.set_details)
    _with_refs(doc["unrecognised"], report.unrecognised)
    return doc
