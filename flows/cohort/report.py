"""The coach's weekly cohort report: one row per athlete, ranked by who needs attention first.

Rows come from the Parquet lake (:func:`storage.lake_queries.fetch_cohort_rows`: DuckDB reads the window's
sets, each session's reps and time under tension, and the report week's reps); the single-user report's
rules and thresholds (:mod:`flows.report`) are applied athlete by athlete wherever they fit:

- sessions done vs planned: training sessions of the week (a session with at least one set; recordings
  that start within :data:`BOUT_GAP_H` of each other are one training session, e.g. the second leg right
  after the first) against ``sessions_per_week`` of the athlete's ``athlete.json``, else the usual 2-3
  (:data:`flows.report.recovery.TARGET_SESSIONS`); a week still running is reported "so far" and raises
  no adherence flag;
- weekly volume: reps and time under tension (s: the one load measure comparable across exercises,
  implements and athletes, as the acute:chronic ratio uses it), 9 weeks for the sparkline, and the
  direction of the last 4 weeks (:func:`flows.report.progression.trend_direction`);
- tempo: the week's median phases over every rep (s) in the report's notation
  (:func:`~flows.report.progression.tempo_notation`); rushed when the lifting or lowering median is under
  :data:`~flows.report.progression.MIN_CONTROLLED_PHASE_S`; ROM leaves out sets whose ROM is implausible
  for their exercise (:data:`flows.report.figures.TYPICAL_ROM_TOP_DEG`);
- stalls: per exercise, side and load unit trained this week, the weeks since load or reps last improved
  (:func:`flows.report.progression.stalled_weeks`), stalled from
  :data:`~flows.report.progression.STALL_WEEKS` on; the athlete's own report says what to do about it;
- recovery: rest between training sessions (:func:`flows.report.recovery.session_gaps`, 48 h minimum) and
  the acute:chronic ratio of time under tension (7 days against the weekly mean of 28, as
  :func:`flows.report.recovery.acute_chronic_load`), with its caveat;
- left/right: per exercise trained on both sides, ``(left - right) / max(left, right)`` of the volume in the
  load unit both sides share (else of reps) and of ROM, as :func:`flows.report.recovery.asymmetry`;
- attention: every finding is a :class:`Flag` with a weight (:data:`FLAG_WEIGHTS`); athletes are ranked by
  the sum, highest first.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any

from flows.report.build import week_period
from flows.report.figures import IMPLAUSIBLE_ROM_FACTOR, TYPICAL_ROM_TOP_DEG, UNKNOWN, by_unit, volume_load
from flows.report.model import HISTORY_WEEKS, Asymmetry, IsoWeek, WeekPeriod, week_of
from flows.report.names import TEMPO_ORDER, exercise_name, exercise_title, volume_unit
from flows.report.progression import (
    MIN_CONTROLLED_PHASE_S,
    STALL_WEEKS,
    stalled_weeks,
    tempo_notation,
    trend_direction,
)
from flows.report.recovery import (
    ACWR_BAND,
    ACWR_CAVEAT,
    ASYMMETRY_ADVICE_FRACTION,
    MIN_RECOVERY_H,
    TARGET_SESSIONS,
    session_gaps,
)
from storage.lake_queries import AthleteRow, CohortRows, SideRomRow, TempoRow, fetch_cohort_rows
from storage.report_queries import SetRow

__all__ = [
    "BOUT_GAP_H",
    "FLAG_WEIGHTS",
    "AthleteWeek",
    "CohortReport",
    "Flag",
    "Stall",
    "Tempo",
    "build_cohort_report",
    "compute_cohort_report",
    "lake_weeks",
]

REPORT_VERSION = "1"
#: Recordings starting within this many hours of the previous one belong to the same training session.
BOUT_GAP_H = 3.0
#: Finding -> weight in the attention score (per missed session, per stall, or once).
FLAG_WEIGHTS: dict[str, int] = {
    "no_training": 6,
    "missed_sessions": 2,  # per session missed, at most 3 counted
    "load_spike": 3,
    "short_rest": 2,
    "asymmetry": 2,  # once, whatever the number of uneven exercises
    "stalled": 1,  # per exercise, side and load unit
    "rushed_tempo": 1,
    "volume_falling": 1,
    "load_drop": 1,
    "quarantined": 1,
}
#: Set median ROM (degrees) per exercise beyond which the single-user report leaves a set's ROM out.
ROM_LIMITS_DEG = {exercise: IMPLAUSIBLE_ROM_FACTOR * top for exercise, top in TYPICAL_ROM_TOP_DEG.items()}


@dataclass(frozen=True, slots=True, kw_only=True)
class Flag:
    """One finding about an athlete: ``code`` (a :data:`FLAG_WEIGHTS` key), its weight, and a sentence."""

    code: str
    weight: int
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Tempo:
    """The week's median phase durations over every rep (s), median ROM (degrees, plausible sets only)
    and the notation eccentric-pause-concentric-hold; ``rushed`` when the concentric or eccentric median is
    under the controlled minimum."""

    concentric_s: float | None
    top_hold_s: float | None
    eccentric_s: float | None
    bottom_pause_s: float | None
    rom_deg: float | None
    notation: str | None
    rushed: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class Stall:
    """An exercise, side and load unit trained this week whose load and reps have not improved for
    ``weeks`` weeks; ``resistance`` the heaviest of the week."""

    exercise: str
    side: str | None
    load_unit: str | None
    weeks: int
    resistance: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class AthleteWeek:
    """One athlete's week. ``weekly_sessions``/``weekly_tut_s`` follow :attr:`CohortReport.weeks`;
    ``weekly_sessions`` is None for weeks before the athlete's first recorded session."""

    athlete: str
    sensor: str | None
    sides: tuple[str, ...]
    sessions_done: int
    sessions_planned: int | None
    sessions_status: str  # below_plan | on_plan | above_plan (against the plan, else the 2-3 target)
    weekly_sessions: tuple[int | None, ...]
    sets: int
    reps: int
    unrecognised_sets: int
    tut_s: float
    weekly_tut_s: tuple[float, ...]
    trend: str
    tempo: Tempo
    min_rest_h: float | None
    short_rests: int
    acwr: float | None
    acute_load_s: float
    chronic_load_s: float
    stalls: tuple[Stall, ...]
    balance: tuple[Asymmetry, ...]
    quarantined: int
    flags: tuple[Flag, ...]

    @property
    def attention(self) -> int:
        """The attention score: the sum of the flags' weights."""
        return sum(f.weight for f in self.flags)


@dataclass(frozen=True, slots=True, kw_only=True)
class CohortReport:
    """The cohort's week: athletes ranked by attention (highest first, then by id)."""

    week: str
    period: WeekPeriod
    start: datetime
    end: datetime
    generated_at: datetime
    weeks: tuple[str, ...]
    athletes: tuple[AthleteWeek, ...]
    report_version: str = REPORT_VERSION
    parameters: dict[str, Any] = field(default_factory=dict)


# ------------------------------------------------------------------------------------------- the window


def lake_weeks(start: datetime, end: datetime) -> list[str]:
    """The lake's ``week`` partitions (ISO weeks in UTC) that sessions started in ``[start, end)`` fall in."""
    first, last = start.astimezone(UTC).date(), (end - timedelta(microseconds=1)).astimezone(UTC).date()
    return sorted({str(IsoWeek.of(first + timedelta(days=d))) for d in range((last - first).days + 1)})


def bouts(starts: Iterable[datetime], gap_h: float = BOUT_GAP_H) -> list[datetime]:
    """Training sessions: start times (sorted) with recordings within ``gap_h`` of the previous one merged."""
    out: list[datetime] = []
    last: datetime | None = None
    for t in sorted(set(starts)):
        if last is None or (t - last).total_seconds() > gap_h * 3600.0:
            out.append(t)
        last = t
    return out


def weeks_of(times: Iterable[datetime], tz: tzinfo | None) -> dict[datetime, IsoWeek]:
    """The ISO week (in ``tz``) of each distinct time: one conversion per session, not per set."""
    return {t: week_of(t, tz) for t in set(times)}


# ------------------------------------------------------------------------------------------ the figures


def stalls(
    sets: Sequence[SetRow],
    week: IsoWeek,
    bounds: tuple[datetime, datetime],
    weeks: Mapping[datetime, IsoWeek],
) -> list[Stall]:
    """The stalled exercise, side and load unit combinations among those trained in ``week``."""
    start, end = bounds
    by_key: dict[tuple[str, str | None, str | None], list[SetRow]] = defaultdict(list)
    for s in sets:
        if s.session_started_at < end and s.exercise != UNKNOWN and s.load_unit is not None:
            by_key[(s.exercise, s.side, s.load_unit)].append(s)
    out = []
    for (exercise, side, unit), key_sets in sorted(by_key.items(), key=lambda kv: str(kv[0])):
        this_week = [s for s in key_sets if s.session_started_at >= start]
        if not this_week:
            continue
        weekly: dict[IsoWeek, list[SetRow]] = defaultdict(list)
        for s in key_sets:
            weekly[weeks[s.session_started_at]].append(s)
        n = stalled_weeks(weekly, week)
        if n >= STALL_WEEKS:
            top = max(this_week, key=lambda s: s.load_value or 0.0)
            out.append(
                Stall(exercise=exercise, side=side, load_unit=unit, weeks=n, resistance=top.resistance)
            )
    return out


def _fraction_of_larger(left: float | None, right: float | None) -> float | None:
    if left is None or right is None:
        return None
    larger = max(left, right)
    return (left - right) / larger if larger else None


def _volumes(sets: Sequence[SetRow]) -> tuple[str | None, float | None, int]:
    """(the one load unit, its volume load, reps); unit and volume None unless every set shares a logged
    unit (as the single-user report compares sides)."""
    units = by_unit(sets)
    reps = sum(s.n_reps for s in sets)
    if len(units) != 1:
        return None, None, reps
    unit, unit_sets = next(iter(units.items()))
    return unit, volume_load(unit_sets), reps


def side_balance(week_sets: Sequence[SetRow], roms: Iterable[SideRomRow]) -> list[Asymmetry]:
    """Left vs right of each recognised exercise trained on both sides this week: volume in the load unit
    both share (else reps) and median ROM (degrees)."""
    by_ex: dict[str, dict[str | None, list[SetRow]]] = defaultdict(lambda: defaultdict(list))
    for s in week_sets:
        if s.exercise != UNKNOWN:
            by_ex[s.exercise][s.side].append(s)
    rom = {(r.exercise, r.side): r.rom_deg for r in roms}
    out = []
    for exercise, sides in sorted(by_ex.items()):
        if "left" not in sides or "right" not in sides:
            continue
        (lu, lv, lr), (ru, rv, rr) = _volumes(sides["left"]), _volumes(sides["right"])
        same = lu == ru and lv is not None and rv is not None
        measure, left, right = (volume_unit(lu), lv, rv) if same else ("reps", float(lr), float(rr))
        rom_l, rom_r = rom.get((exercise, "left")), rom.get((exercise, "right"))
        out.append(
            Asymmetry(
                exercise=exercise,
                measure=measure,
                volume_left=float(left or 0.0),
                volume_right=float(right or 0.0),
                volume_asymmetry=_fraction_of_larger(left, right),
                rom_left_deg=rom_l,
                rom_right_deg=rom_r,
                rom_asymmetry=_fraction_of_larger(rom_l, rom_r),
            )
        )
    return out


def tempo_of(row: TempoRow | None) -> Tempo:
    """The week's tempo from its medians (all None without reps)."""
    if row is None or not row.n_reps:
        return Tempo(
            concentric_s=None,
            top_hold_s=None,
            eccentric_s=None,
            bottom_pause_s=None,
            rom_deg=None,
            notation=None,
            rushed=False,
        )
    phases = (row.eccentric_s, row.bottom_pause_s, row.concentric_s, row.top_hold_s)
    return Tempo(
        concentric_s=row.concentric_s,
        top_hold_s=row.top_hold_s,
        eccentric_s=row.eccentric_s,
        bottom_pause_s=row.bottom_pause_s,
        rom_deg=row.rom_deg,
        notation=tempo_notation(*(x or 0.0 for x in phases)),
        rushed=any(x is not None and x < MIN_CONTROLLED_PHASE_S for x in (row.concentric_s, row.eccentric_s)),
    )


def acute_chronic(
    tut_by_session: Mapping[datetime, float], end: datetime
) -> tuple[float | None, float, float]:
    """``(ratio, acute_s, chronic_s)``: time under tension of the 7 days before ``end`` against the weekly
    mean of the 28 days before it (None without chronic load), as the single-user report computes it."""
    acute = sum(v for t, v in tut_by_session.items() if end - timedelta(days=7) <= t < end)
    chronic = sum(v for t, v in tut_by_session.items() if end - timedelta(days=28) <= t < end) / 4.0
    return (acute / chronic if chronic > 0 else None), acute, chronic


def plan_status(done: int, planned: int | None) -> str:
    """``below_plan``, ``on_plan`` or ``above_plan``: against the planned sessions, else the 2-3 target."""
    lo, hi = (planned, planned) if planned else TARGET_SESSIONS
    if done < lo:
        return "below_plan"
    return "above_plan" if done > hi else "on_plan"


# ---------------------------------------------------------------------------------------------- flags


def _flag(code: str, text: str, times: int = 1) -> Flag:
    return Flag(code=code, weight=FLAG_WEIGHTS[code] * times, text=text)


def adherence_flags(a: AthleteWeek) -> list[Flag]:
    """No training, or fewer sessions than planned (complete weeks only)."""
    if a.sessions_done == 0:
        return [_flag("no_training", "no training session recorded this week")]
    if a.sessions_planned and a.sessions_done < a.sessions_planned:
        missed = a.sessions_planned - a.sessions_done
        return [
            _flag(
                "missed_sessions",
                f"{a.sessions_done} of {a.sessions_planned} planned sessions",
                min(missed, 3),
            )
        ]
    return []


def recovery_flags(a: AthleteWeek) -> list[Flag]:
    """Short rest, load spikes and drops, recordings that could not be read."""
    flags = []
    if a.short_rests:
        flags.append(
            _flag(
                "short_rest",
                f"{a.short_rests} rest(s) under {MIN_RECOVERY_H:.0f} h (shortest {a.min_rest_h:.1f} h)",
            )
        )
    if a.acwr is not None and a.acwr > ACWR_BAND[1]:
        flags.append(_flag("load_spike", f"load spike: acute:chronic {a.acwr:.2f} (above {ACWR_BAND[1]:g})"))
    elif a.acwr is not None and a.acwr < ACWR_BAND[0] and a.sessions_done:
        flags.append(_flag("load_drop", f"load dropped: acute:chronic {a.acwr:.2f} (under {ACWR_BAND[0]:g})"))
    if a.quarantined:
        flags.append(
            _flag("quarantined", f"{a.quarantined} recording(s) could not be read: check the sensor")
        )
    return flags


def training_flags(a: AthleteWeek) -> list[Flag]:
    """Stalls, left/right balance, tempo and volume trend."""
    flags = [
        _flag("stalled", f"{exercise_title(s.exercise, s.side)}: stalled {s.weeks} weeks") for s in a.stalls
    ]
    uneven = [
        f"{exercise_name(b.exercise)} {abs(v):.0%} less on the {'right' if v > 0 else 'left'}"
        for b in a.balance
        if (v := b.volume_asymmetry) is not None and abs(v) > ASYMMETRY_ADVICE_FRACTION
    ]
    if uneven:  # one flag however many exercises: it is one athlete's imbalance
        flags.append(_flag("asymmetry", "left/right: " + ", ".join(uneven)))
    if a.tempo.rushed:
        flags.append(
            _flag(
                "rushed_tempo",
                f"rushed tempo {a.tempo.notation} (lifting or lowering under {MIN_CONTROLLED_PHASE_S:g} s)",
            )
        )
    if a.trend == "falling":
        flags.append(_flag("volume_falling", "weekly volume falling over 4 weeks"))
    return flags


# ------------------------------------------------------------------------------------------ the report


@dataclass(frozen=True, slots=True)
class _AthleteRows:
    """One athlete's share of the cohort rows."""

    sets: list[SetRow] = field(default_factory=list)
    tut_by_session: dict[datetime, float] = field(default_factory=lambda: defaultdict(float))
    side_rom: list[SideRomRow] = field(default_factory=list)
    quarantined: list[datetime] = field(default_factory=list)


def _split(rows: CohortRows) -> dict[str, _AthleteRows]:
    by: dict[str, _AthleteRows] = defaultdict(_AthleteRows)
    for athlete, s in rows.sets:
        by[athlete].sets.append(s)
    for r in rows.session_loads:
        by[r.athlete].tut_by_session[r.session_started_at] += r.tut_s
    for w in rows.side_rom:
        by[w.athlete].side_rom.append(w)
    for q in rows.sessions:
        if q.status == "quarantined":
            by[q.athlete].quarantined.append(q.started_at)
    return by


@dataclass(frozen=True, slots=True, kw_only=True)
class _Week:
    """The report week as every athlete's figures need it."""

    week: IsoWeek
    period: WeekPeriod
    start: datetime
    end: datetime
    history: tuple[IsoWeek, ...]
    tz: tzinfo | None
    now: datetime


def _weekly(
    mine: _AthleteRows, in_week: dict[datetime, IsoWeek], trained: list[datetime]
) -> tuple[dict[IsoWeek, int], dict[IsoWeek, float]]:
    """Training sessions and time under tension (s) per ISO week."""
    sessions: dict[IsoWeek, int] = defaultdict(int)
    for t in trained:
        sessions[in_week[t]] += 1
    tut: dict[IsoWeek, float] = defaultdict(float)
    for t, v in mine.tut_by_session.items():
        tut[in_week[t]] += v
    return sessions, tut


def _sessions_history(
    info: AthleteRow, weekly_sessions: dict[IsoWeek, int], history: tuple[IsoWeek, ...]
) -> tuple[int | None, ...]:
    """Sessions per history week; None before the athlete's first recording (nothing to miss yet)."""
    first = info.first_week
    return tuple(None if first is None or str(h) < first else weekly_sessions.get(h, 0) for h in history)


def _trend_weeks(w: _Week) -> list[IsoWeek]:
    """The 4 weeks of the volume trend: up to the report week, or up to the week before a running one."""
    last = 0 if w.period.complete else -1
    return [w.week.shift(k) for k in range(last - 3, last + 1)]


def athlete_week(info: AthleteRow, mine: _AthleteRows, tempo: TempoRow | None, w: _Week) -> AthleteWeek:
    """One athlete's figures and flags for the week from its rows."""
    in_week = weeks_of(itertools.chain((s.session_started_at for s in mine.sets), mine.tut_by_session), w.tz)
    trained = bouts(s.session_started_at for s in mine.sets)
    weekly_sessions, weekly_tut = _weekly(mine, in_week, trained)
    this_week = [s for s in mine.sets if w.start <= s.session_started_at < w.end]
    gaps = session_gaps(trained, w.start, w.end)
    # As in the single-user report: a running week's last 7 days are the 7 days before now.
    acwr, acute, chronic = acute_chronic(mine.tut_by_session, min(w.end, w.now))
    done = sum(1 for t in trained if w.start <= t < w.end)
    draft = AthleteWeek(
        athlete=info.athlete,
        sensor=info.sensor,
        sides=info.sides,
        sessions_done=done,
        sessions_planned=info.sessions_per_week,
        sessions_status=plan_status(done, info.sessions_per_week),
        weekly_sessions=_sessions_history(info, weekly_sessions, w.history),
        sets=len(this_week),
        reps=sum(s.n_reps for s in this_week),
        unrecognised_sets=sum(1 for s in this_week if s.exercise == UNKNOWN),
        tut_s=sum(v for t, v in mine.tut_by_session.items() if w.start <= t < w.end),
        weekly_tut_s=tuple(weekly_tut.get(h, 0.0) for h in w.history),
        trend=trend_direction([weekly_tut.get(h) for h in _trend_weeks(w)]),
        tempo=tempo_of(tempo),
        min_rest_h=min((g.hours for g in gaps), default=None),
        short_rests=sum(g.short for g in gaps),
        acwr=acwr,
        acute_load_s=acute,
        chronic_load_s=chronic,
        stalls=tuple(stalls(mine.sets, w.week, (w.start, w.end), in_week)),
        balance=tuple(side_balance(this_week, mine.side_rom)),
        quarantined=sum(w.start <= t < w.end for t in mine.quarantined),
        flags=(),
    )
    flags = (
        (adherence_flags(draft) if w.period.complete else []) + recovery_flags(draft) + training_flags(draft)
    )
    return replace(draft, flags=tuple(flags))


PARAMETERS: dict[str, Any] = {
    "bout_gap_h": BOUT_GAP_H,
    "flag_weights": FLAG_WEIGHTS,
    "target_sessions": list(TARGET_SESSIONS),
    "min_recovery_h": MIN_RECOVERY_H,
    "acwr_band": list(ACWR_BAND),
    "acwr_caveat": ACWR_CAVEAT,
    "asymmetry_fraction": ASYMMETRY_ADVICE_FRACTION,
    "min_controlled_phase_s": MIN_CONTROLLED_PHASE_S,
    "stall_weeks": STALL_WEEKS,
    "rom_limits_deg": ROM_LIMITS_DEG,
    "history_weeks": HISTORY_WEEKS,
    "tempo_order": TEMPO_ORDER,
}


def _report_week(week: IsoWeek, tz: tzinfo | None, now: datetime) -> _Week:
    period = week_period(week, now, tz)
    start, week_end = week.bounds(tz)
    # A running week covers Monday to the end of today, as in the single-user report.
    end = week.day_bounds(period.days, tz)[1] if not period.complete else week_end
    history = tuple(week.shift(k) for k in range(-HISTORY_WEEKS, 1))
    return _Week(week=week, period=period, start=start, end=end, history=history, tz=tz, now=now)


def build_cohort_report(
    rows: CohortRows, week: IsoWeek, *, tz: tzinfo | None = None, generated_at: datetime | None = None
) -> CohortReport:
    """The report for ``week`` from rows covering it and :data:`HISTORY_WEEKS` weeks before."""
    now = generated_at or datetime.now(UTC)
    w = _report_week(week, tz, now)
    mine = _split(rows)
    tempo = {t.athlete: t for t in rows.tempo}
    athletes = [athlete_week(a, mine[a.athlete], tempo.get(a.athlete), w) for a in rows.athletes]
    athletes.sort(key=lambda a: (-a.attention, a.athlete))
    return CohortReport(
        week=str(week),
        period=w.period,
        start=w.start,
        end=week.bounds(tz)[1],
        generated_at=now,
        weeks=tuple(str(h) for h in w.history),
        athletes=tuple(athletes),
        parameters=dict(PARAMETERS),
    )


def compute_cohort_report(
    lake_dir: Path, week: IsoWeek, *, tz: tzinfo | None = None, generated_at: datetime | None = None
) -> CohortReport:
    """Read the lake (the week and :data:`HISTORY_WEEKS` before it) and build the report."""
    start, end = week.bounds(tz)
    hist_start = start - timedelta(weeks=HISTORY_WEEKS)
    rows = fetch_cohort_rows(
        lake_dir,
        hist_start,
        end,
        (start, end),
        lake_weeks(hist_start, end),
        lake_weeks(start, end),
        ROM_LIMITS_DEG,
    )
    return build_cohort_report(rows, week, tz=tz, generated_at=generated_at)
