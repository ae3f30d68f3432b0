"""The weekly report model: pure functions from stored rows to a :class:`WeeklyReport`.

Nothing here touches a database, Prefect or the file system, so the numbers can be tested on hand-built
rows. ``storage.report_queries.fetch_report_rows`` supplies the rows; ``flows.render`` draws them.

Units: durations in seconds, ROM in degrees, volume load in the user's own unit (``reps x load_value``:
band level, kg, or bodyweight reps), velocity loss as a fraction 0-1, ACWR dimensionless.

Tempo notation follows lifting coaches: four numbers **eccentric-pause-concentric-pause** where the first
pause is the bottom pause (after the eccentric) and the second the top hold (after the concentric), e.g.
``2-1-2-1``. The phase durations are reported alongside, in their natural order.
"""

from __future__ import annotations

import itertools
import math
import re
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

from storage.plan import BAND_LEVELS
from storage.report_queries import PlanRow, ReportRows, RepRow, SetRow

REPORT_VERSION = "1"
#: Weeks of history fetched before the report week (4-week trend, 28-day chronic load, stalls).
HISTORY_WEEKS = 8
#: Default double-progression rep range (training.md: 3-4 sets of 10-15 reps).
DEFAULT_REPS_LOW = 10
DEFAULT_REPS_HIGH = 15
#: Sessions needed at the top of the range before stepping up.
SESSIONS_TO_PROGRESS = 2
#: "Good tempo": concentric and eccentric each at least this long (s), i.e. slow and controlled.
MIN_CONTROLLED_PHASE_S = 1.0
#: "Full range": session median ROM at least this fraction of the best session median at that resistance.
FULL_ROM_FRACTION = 0.85
#: ROM drop (fraction vs last week) that counts as "dropping" when the load rose.
ROM_DROP_FRACTION = 0.10
#: Weeks without progress that count as a stall.
STALL_WEEKS = 3
#: Recovery: 2-3 glute sessions a week with >= 48 h between them (training.md).
TARGET_SESSIONS = (2, 3)
MIN_RECOVERY_H = 48.0
#: The comfortable acute:chronic band usually shown (context, not a verdict).
ACWR_BAND = (0.8, 1.3)
ACWR_CAVEAT = (
    "Acute:chronic load ratio (7-day load / average weekly load over 28 days) is widely shown by training "
    "platforms, with 0.8-1.3 as the comfortable band, but its injury-prediction value is disputed: read it "
    "as context, not as a verdict."
)
TEMPO_ORDER = (
    "eccentric-pause-concentric-pause (bottom pause after the eccentric, top hold after the concentric)"
)
#: Band colours lightest first, as the plan file knows them (storage.plan.BAND_LEVELS).
BAND_COLOURS = tuple(sorted(BAND_LEVELS, key=BAND_LEVELS.__getitem__))


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


# ----------------------------------------------------------------------------------------------- helpers


def _median(values: Sequence[float]) -> float | None:
    return float(statistics.median(values)) if values else None


def _iqr(values: Sequence[float]) -> float | None:
    if len(values) < 2:
        return 0.0 if values else None
    q = statistics.quantiles(values, n=4, method="inclusive")
    return float(q[2] - q[0])


def _phase(values: Sequence[float]) -> PhaseStats:
    return PhaseStats(median_s=_median(values), iqr_s=_iqr(values))


def _fmt_num(x: float) -> str:
    return f"{x:.0f}" if abs(x - round(x)) < 0.05 else f"{x:.1f}"


def tempo_notation(eccentric_s: float, bottom_pause_s: float, concentric_s: float, top_hold_s: float) -> str:
    """Coaches' four-number tempo, eccentric-pause-concentric-pause, each rounded to whole seconds."""
    return "-".join(str(round(x)) for x in (eccentric_s, bottom_pause_s, concentric_s, top_hold_s))


def _short_tempo(concentric_s: float | None, top_hold_s: float | None, eccentric_s: float | None) -> str:
    """The issue's three-number form concentric-hold-eccentric (e.g. ``2-1-2``)."""
    if concentric_s is None or top_hold_s is None or eccentric_s is None:
        return "?"
    return f"{round(concentric_s)}-{round(top_hold_s)}-{round(eccentric_s)}"


def next_resistance(resistance: str | None, load_value: float | None, load_unit: str | None) -> str | None:
    """The next step up: the next band colour/level, +1 kg (+0.5 kg below 2 kg), or a light band."""
    if resistance is None:
        return None
    kind, _, spec = resistance.partition(":")
    kind = kind.strip().lower()
    spec = spec.strip().lower()
    if kind == "bodyweight":
        return f"band:{BAND_COLOURS[0]}"
    if kind == "band":
        if spec in BAND_COLOURS:
            i = BAND_COLOURS.index(spec)
            return f"band:{BAND_COLOURS[i + 1]}" if i + 1 < len(BAND_COLOURS) else None
        if spec.isdigit():
            return f"band:{int(spec) + 1}"
        if load_unit == "band_level" and load_value is not None:
            return f"band:{int(load_value) + 1}"
        return None
    m = re.fullmatch(r"([0-9.]+)\s*kg", spec)
    if m:
        kg = float(m.group(1))
        step = 0.5 if kg < 2 else 1.0
        return f"{kind}:{_fmt_num(kg + step)}kg"
    return None


def _describe(resistance: str | None) -> str:
    if resistance is None:
        return "the current resistance"
    kind, _, spec = resistance.partition(":")
    if kind == "band" and spec:
        return f"{spec} band" if not spec.isdigit() else f"band level {spec}"
    if spec:
        return f"{spec} {kind} weight" if kind == "ankle" else f"{kind} {spec}"
    return kind


def _plan_for(plans: Iterable[PlanRow], exercise: str, at: datetime) -> PlanRow | None:
    best: PlanRow | None = None
    for p in plans:
        if (
            p.exercise == exercise
            and p.valid_from <= at
            and (best is None or p.valid_from >= best.valid_from)
        ):
            best = p
    return best


@dataclass(slots=True)
class _Session:
    """One session's sets for one exercise and side (mutable scratch while building)."""

    started_at: datetime
    sets: list[SetRow]
    reps: list[RepRow]

    @property
    def resistance(self) -> str | None:
        return self.sets[-1].resistance

    @property
    def load_value(self) -> float | None:
        return self.sets[-1].load_value

    def median(self, attr: str) -> float | None:
        return _median([float(getattr(r, attr)) for r in self.reps])


def _volume(sets: Iterable[SetRow]) -> float:
    return float(sum(s.n_reps * (s.load_value if s.load_value is not None else 1.0) for s in sets))


def _main_unit(sets: Sequence[SetRow]) -> str | None:
    units = [s.load_unit for s in sets if s.load_unit]
    return max(set(units), key=units.count) if units else None


def _rel(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b == 0:
        return None
    return (a - b) / b


# ----------------------------------------------------------------------------------------------- the model


def build_weekly_report(
    rows: ReportRows,
    week: IsoWeek,
    *,
    tz: tzinfo | None = None,
    generated_at: datetime | None = None,
) -> WeeklyReport:
    """The report for ``week`` from rows covering at least the week and :data:`HISTORY_WEEKS` before it."""
    start, end = week.bounds(tz)
    reps_by_set: dict[str, list[RepRow]] = defaultdict(list)
    for r in rows.reps:
        reps_by_set[r.set_id].append(r)

    def week_of(t: datetime) -> IsoWeek:
        local = t.astimezone(tz) if tz is not None else t.astimezone()
        return IsoWeek.of(local.date())

    sets_upto = [s for s in rows.sets if s.session_started_at < end]
    by_key: dict[tuple[str, str | None], list[SetRow]] = defaultdict(list)
    for s in sets_upto:
        by_key[(s.exercise, s.side)].append(s)

    exercises: list[ExerciseReport] = []
    for (exercise, side), key_sets in sorted(by_key.items(), key=lambda kv: (kv[0][0], kv[0][1] or "")):
        this_week = [s for s in key_sets if s.session_started_at >= start]
        if not this_week:
            continue
        exercises.append(
            _exercise_report(exercise, side, key_sets, this_week, reps_by_set, week, week_of, rows.plans, end)
        )

    history = _history(sets_upto, reps_by_set, week, week_of)
    recovery = _recovery(rows, reps_by_set, exercises, start, end)
    report = WeeklyReport(
        week=str(week),
        start=start,
        end=end,
        generated_at=generated_at or datetime.now(UTC),
        exercises=tuple(exercises),
        recovery=recovery,
        history=tuple(history),
        summary=(),
        parameters={
            "default_reps_range": [DEFAULT_REPS_LOW, DEFAULT_REPS_HIGH],
            "sessions_to_progress": SESSIONS_TO_PROGRESS,
            "min_controlled_phase_s": MIN_CONTROLLED_PHASE_S,
            "full_rom_fraction": FULL_ROM_FRACTION,
            "rom_drop_fraction": ROM_DROP_FRACTION,
            "stall_weeks": STALL_WEEKS,
            "min_recovery_h": MIN_RECOVERY_H,
        },
    )
    return _with_summary(report)


def _exercise_report(
    exercise: str,
    side: str | None,
    key_sets: list[SetRow],
    this_week: list[SetRow],
    reps_by_set: dict[str, list[RepRow]],
    week: IsoWeek,
    week_of: Any,
    plans: Sequence[PlanRow],
    end: datetime,
) -> ExerciseReport:
    week_reps = [r for s in this_week for r in reps_by_set.get(s.set_id, [])]
    conc = [r.concentric_s for r in week_reps]
    hold = [r.top_hold_s for r in week_reps]
    ecc = [r.eccentric_s for r in week_reps]
    pause = [r.bottom_pause_s for r in week_reps if r.bottom_pause_s is not None]
    notation = None
    if week_reps:
        notation = tempo_notation(
            _median(ecc) or 0.0, _median(pause) or 0.0, _median(conc) or 0.0, _median(hold) or 0.0
        )
    tempo = Tempo(
        concentric=_phase(conc),
        top_hold=_phase(hold),
        eccentric=_phase(ecc),
        bottom_pause=_phase(pause),
        notation=notation,
    )
    vls = [s.velocity_loss for s in this_week if s.velocity_loss is not None]

    weekly: dict[IsoWeek, list[SetRow]] = defaultdict(list)
    for s in key_sets:
        weekly[week_of(s.session_started_at)].append(s)
    last = weekly.get(week.shift(-1), [])
    rom_this = _median([r.rom_deg for r in week_reps])
    rom_last = _median([r.rom_deg for s in last for r in reps_by_set.get(s.set_id, [])])
    vol_this = _volume(this_week)
    vol_last = _volume(last) if last else None
    change = Change(
        volume_load=None if vol_last is None else vol_this - vol_last,
        volume_load_pct=_rel(vol_this, vol_last),
        reps=None if not last else sum(s.n_reps for s in this_week) - sum(s.n_reps for s in last),
        rom_deg=None if rom_this is None or rom_last is None else rom_this - rom_last,
    )
    trend_weeks = [week.shift(k) for k in range(-3, 1)]
    trend_vol = tuple(_volume(weekly.get(w, [])) for w in trend_weeks)
    trend = Trend(
        weeks=tuple(str(w) for w in trend_weeks), volume_load=trend_vol, direction=_direction(trend_vol)
    )

    sessions: dict[datetime, _Session] = {}
    for s in key_sets:
        sess = sessions.setdefault(s.session_started_at, _Session(s.session_started_at, [], []))
        sess.sets.append(s)
        sess.reps.extend(reps_by_set.get(s.set_id, []))
    ordered = [sessions[k] for k in sorted(sessions)]
    plan = _plan_for(plans, exercise, end)
    overload = _overload(ordered, weekly, week, week_of, plan)

    details = []
    for s in this_week:
        rr = reps_by_set.get(s.set_id, [])
        details.append(
            SetSummary(
                session_started_at=s.session_started_at,
                set_index=s.set_index,
                reps=s.n_reps,
                resistance=s.resistance,
                concentric_s=_median([r.concentric_s for r in rr]),
                top_hold_s=_median([r.top_hold_s for r in rr]),
                eccentric_s=_median([r.eccentric_s for r in rr]),
                rom_deg=_median([r.rom_deg for r in rr]),
                velocity_loss=s.velocity_loss,
            )
        )
    return ExerciseReport(
        exercise=exercise,
        side=side,
        sessions=len({s.session_id for s in this_week}),
        sets=len(this_week),
        reps=sum(s.n_reps for s in this_week),
        volume_load=vol_this,
        load_unit=_main_unit(this_week),
        resistance=this_week[-1].resistance,
        time_under_tension_s=float(sum(r.concentric_s + r.top_hold_s + r.eccentric_s for r in week_reps)),
        tempo=tempo,
        rom_deg=rom_this,
        velocity_loss=_median(vls),
        change=change,
        trend=trend,
        overload=overload,
        set_details=tuple(details),
    )


def _direction(values: Sequence[float]) -> str:
    nonzero = [v for v in values if v > 0]
    if len(nonzero) < 2:
        return "insufficient_data"
    xs = [i for i, v in enumerate(values) if v > 0]
    mx, my = statistics.fmean(xs), statistics.fmean(nonzero)
    sxx = sum((x - mx) ** 2 for x in xs)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, nonzero, strict=True)) / sxx if sxx else 0.0
    rel = slope / my if my else 0.0
    # Under 5% of the mean per week is noise at this scale (one rep more or less per set).
    if rel > 0.05:
        return "rising"
    if rel < -0.05:
        return "falling"
    return "flat"


def _qualifies(sess: _Session, reps_high: int, best_rom: float | None) -> bool:
    """Every set at the top of the rep range, slow concentric and eccentric, and full range."""
    if not sess.sets or any(s.n_reps < reps_high for s in sess.sets):
        return False
    conc, ecc, rom = sess.median("concentric_s"), sess.median("eccentric_s"), sess.median("rom_deg")
    if conc is None or ecc is None:
        return False
    if conc < MIN_CONTROLLED_PHASE_S or ecc < MIN_CONTROLLED_PHASE_S:
        return False
    return not (best_rom is not None and rom is not None and rom < FULL_ROM_FRACTION * best_rom)


def _overload(
    sessions: list[_Session],
    weekly: dict[IsoWeek, list[SetRow]],
    week: IsoWeek,
    week_of: Any,
    plan: PlanRow | None,
) -> Overload:
    reps_low = plan.target_reps_low if plan and plan.target_reps_low else DEFAULT_REPS_LOW
    reps_high = plan.target_reps_high if plan and plan.target_reps_high else DEFAULT_REPS_HIGH
    if not sessions:
        return Overload(
            status="no_data",
            advice="no sessions",
            resistance=None,
            next_resistance=None,
            qualifying_sessions=0,
        )
    current = sessions[-1]
    res, load = current.resistance, current.load_value
    at_res = [s for s in sessions if s.resistance == res]
    roms = [r for r in (s.median("rom_deg") for s in at_res) if r is not None]
    best_rom = max(roms) if roms else None
    streak = 0
    for s in reversed(at_res):
        if not _qualifies(s, reps_high, best_rom):
            break
        streak += 1
    nxt = next_resistance(res, load, current.sets[-1].load_unit)
    unit = _describe(res)

    if streak >= SESSIONS_TO_PROGRESS:
        tempo = _short_tempo(
            current.median("concentric_s"), current.median("top_hold_s"), current.median("eccentric_s")
        )
        target = f"move from {_describe(res)} to {_describe(nxt)}" if nxt else "add a set or slow the tempo"
        return Overload(
            status="increase",
            advice=(
                f"all sets at {reps_high} reps with {tempo} tempo (concentric-hold-eccentric, s) for "
                f"{streak} sessions: {target}, and restart at {reps_low} reps"
            ),
            resistance=res,
            next_resistance=nxt,
            qualifying_sessions=streak,
        )

    # Load rose against last week (a resistance step or heavier sets): check that ROM held up.
    last = weekly.get(week.shift(-1), [])
    this = weekly.get(week, [])
    top_this = max(this, key=_load_rank) if this else None
    top_last = max(last, key=_load_rank) if last else None
    if top_this is not None and top_last is not None and _heavier(top_this, top_last):
        prev_res = top_last.resistance
        rom_this = current_rom = _median(
            [
                r
                for s in sessions
                if week_of(s.started_at) == week
                for r in [s.median("rom_deg")]
                if r is not None
            ]
        )
        rom_last = _median(
            [
                r
                for s in sessions
                if week_of(s.started_at) == week.shift(-1)
                for r in [s.median("rom_deg")]
                if r is not None
            ]
        )
        if rom_this is not None and rom_last and rom_this < (1 - ROM_DROP_FRACTION) * rom_last:
            return Overload(
                status="rom_dropping",
                advice=(
                    f"ROM dropping while load rose: {rom_last:.0f} -> {current_rom:.0f} deg after moving "
                    f"from {_describe(prev_res)} to {unit}; keep {unit} and work back to full range "
                    "before adding reps"
                ),
                resistance=res,
                next_resistance=nxt,
                qualifying_sessions=streak,
            )
        return Overload(
            status="new_resistance",
            advice=(
                f"resistance stepped up from {_describe(prev_res)} to {unit}: restart at {reps_low} reps and "
                f"build to {reps_high} in every set with controlled tempo"
            ),
            resistance=res,
            next_resistance=nxt,
            qualifying_sessions=streak,
        )

    stalled = _stalled_weeks(weekly, week)
    low_now = min(s.n_reps for s in current.sets)
    if stalled >= STALL_WEEKS:
        return Overload(
            status="stalled",
            advice=(
                f"stalled {stalled} weeks at {unit} (sets of {low_now}-{max(s.n_reps for s in current.sets)} "
                f"reps): add one rep per set each session, slow the eccentric, or deload a week"
            ),
            resistance=res,
            next_resistance=nxt,
            qualifying_sessions=streak,
        )
    return Overload(
        status="building",
        advice=(
            f"keep {unit}; build every set to {reps_high} reps with controlled tempo "
            f"(lowest set now {low_now}; {streak}/{SESSIONS_TO_PROGRESS} sessions at the top)"
        ),
        resistance=res,
        next_resistance=nxt,
        qualifying_sessions=streak,
    )


def _load_rank(s: SetRow) -> tuple[int, float]:
    """Orders loads: bodyweight below any added resistance; within one unit by value."""
    if s.load_unit is None:
        return (0, 0.0)
    return (0 if s.load_unit == "bodyweight" else 1, s.load_value or 0.0)


def _heavier(a: SetRow, b: SetRow) -> bool:
    """Whether ``a``'s load is a step up from ``b``'s (bands and kg are not compared with each other)."""
    if a.load_unit == b.load_unit:
        return (a.load_value or 0.0) > (b.load_value or 0.0)
    # Going from bodyweight (or an unknown load) to a band or an ankle weight adds resistance.
    return b.load_unit in (None, "bodyweight") and a.load_unit not in (None, "bodyweight")


def _stalled_weeks(weekly: dict[IsoWeek, list[SetRow]], week: IsoWeek) -> int:
    """Weeks since the last improvement of (resistance load, mean reps per set), counting this week."""
    weeks = sorted(w for w in weekly if w <= week)
    best: tuple[float, float, float] | None = None
    last_improved: IsoWeek | None = None
    for w in weeks:
        sets = weekly[w]
        top = _load_rank(max(sets, key=_load_rank))
        score = (top[0], top[1], round(statistics.fmean(s.n_reps for s in sets), 1))
        if best is None or score > best:
            best, last_improved = score, w
    if last_improved is None:
        return 0
    return (week.monday - last_improved.monday).days // 7


def _history(
    sets: list[SetRow], reps_by_set: dict[str, list[RepRow]], week: IsoWeek, week_of: Any
) -> list[WeeklyHistoryPoint]:
    groups: dict[tuple[IsoWeek, str], list[SetRow]] = defaultdict(list)
    for s in sets:
        w = week_of(s.session_started_at)
        if week.shift(-HISTORY_WEEKS) <= w <= week:
            groups[(w, s.exercise)].append(s)
    points = []
    for (w, exercise), ss in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1])):
        points.append(
            WeeklyHistoryPoint(
                week=str(w),
                exercise=exercise,
                volume_load=_volume(ss),
                load_unit=_main_unit(ss),
                rom_deg=_median([r.rom_deg for s in ss for r in reps_by_set.get(s.set_id, [])]),
            )
        )
    return points


def _recovery(
    rows: ReportRows,
    reps_by_set: dict[str, list[RepRow]],
    exercises: Sequence[ExerciseReport],
    start: datetime,
    end: datetime,
) -> Recovery:
    # Glute sessions are sessions with at least one set (a recording without sets is not training).
    trained = sorted({s.session_started_at for s in rows.sets})
    week_sessions = [t for t in trained if start <= t < end]
    # The gap into the week counts too: Sunday then Monday is 24 h even across the boundary.
    before = [t for t in trained if t < start]
    seq = ([before[-1]] if before else []) + week_sessions
    gaps = [
        Gap(
            from_started_at=a,
            to_started_at=b,
            hours=(b - a).total_seconds() / 3600.0,
            short=(b - a).total_seconds() / 3600.0 < MIN_RECOVERY_H,
        )
        for a, b in itertools.pairwise(seq)
        if b >= start
    ]
    min_gap = min((g.hours for g in gaps), default=None)
    n = len(week_sessions)
    lo, hi = TARGET_SESSIONS
    status = "below_target" if n < lo else ("above_target" if n > hi else "on_target")

    # Load for the ratio: time under tension, the one measure comparable across exercises and resistances.
    tut_by_session: dict[datetime, float] = defaultdict(float)
    for s in rows.sets:
        for r in reps_by_set.get(s.set_id, []):
            tut_by_session[s.session_started_at] += r.concentric_s + r.top_hold_s + r.eccentric_s
    acute = sum(v for t, v in tut_by_session.items() if end - timedelta(days=7) <= t < end)
    chronic_total = sum(v for t, v in tut_by_session.items() if end - timedelta(days=28) <= t < end)
    chronic = chronic_total / 4.0
    acwr = acute / chronic if chronic > 0 else None

    asym: list[Asymmetry] = []
    by_ex: dict[str, dict[str | None, ExerciseReport]] = defaultdict(dict)
    for e in exercises:
        by_ex[e.exercise][e.side] = e
    for exercise, sides in sorted(by_ex.items()):
        left, right = sides.get("left"), sides.get("right")
        if left is None or right is None:
            continue
        vmax = max(left.volume_load, right.volume_load)
        rmax = max(left.rom_deg or 0.0, right.rom_deg or 0.0)
        asym.append(
            Asymmetry(
                exercise=exercise,
                volume_left=left.volume_load,
                volume_right=right.volume_load,
                volume_asymmetry=(left.volume_load - right.volume_load) / vmax if vmax else None,
                rom_left_deg=left.rom_deg,
                rom_right_deg=right.rom_deg,
                rom_asymmetry=(
                    ((left.rom_deg or 0.0) - (right.rom_deg or 0.0)) / rmax
                    if rmax and left.rom_deg is not None and right.rom_deg is not None
                    else None
                ),
            )
        )

    advice: list[str] = []
    if status == "below_target":
        advice.append(f"{n} glute session(s) this week, below the {lo}-{hi} target")
    elif status == "above_target":
        advice.append(f"{n} glute sessions this week, above the {lo}-{hi} target: leave 48 h between them")
    for g in gaps:
        if g.short:
            advice.append(
                f"only {g.hours:.0f} h between sessions ({g.from_started_at:%a %H:%M} -> "
                f"{g.to_started_at:%a %H:%M} UTC): under the {MIN_RECOVERY_H:.0f} h minimum"
            )
    for a in asym:
        if a.volume_asymmetry is not None and abs(a.volume_asymmetry) > 0.15:
            weaker = "right" if a.volume_asymmetry > 0 else "left"
            advice.append(f"{a.exercise}: {abs(a.volume_asymmetry):.0%} less volume on the {weaker} side")
    return Recovery(
        sessions=n,
        target_sessions=TARGET_SESSIONS,
        sessions_status=status,
        min_hours_between_sessions=min_gap,
        short_gaps=tuple(g for g in gaps if g.short),
        flag_under_48h=any(g.short for g in gaps),
        acwr=acwr,
        acute_load_s=acute,
        chronic_load_s=chronic,
        acwr_measure="time under tension (s): 7-day total / (28-day total / 4)",
        acwr_band=ACWR_BAND,
        acwr_caveat=ACWR_CAVEAT,
        asymmetry=tuple(asym),
        advice=tuple(advice),
    )


def _with_summary(report: WeeklyReport) -> WeeklyReport:
    lines = [
        f"{report.recovery.sessions} glute session(s), {sum(e.sets for e in report.exercises)} sets, "
        f"{sum(e.reps for e in report.exercises)} reps"
    ]
    for e in report.exercises:
        side = f" ({e.side})" if e.side else ""
        lines.append(f"{e.exercise}{side}: {e.overload.advice}")
    lines.extend(report.recovery.advice)
    if not report.exercises:
        lines = ["no training recorded this week"]
    return WeeklyReport(
        week=report.week,
        start=report.start,
        end=report.end,
        generated_at=report.generated_at,
        exercises=report.exercises,
        recovery=report.recovery,
        history=report.history,
        summary=tuple(lines),
        report_version=report.report_version,
        parameters=report.parameters,
    )


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
