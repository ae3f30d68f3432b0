"""The coach's weekly cohort report: one row per athlete, ranked by who needs attention first.

Rows come from the Parquet lake (:func:`storage.lake_queries.fetch_cohort_rows`: DuckDB aggregates the reps
per session, exercise and side, and the report week's tempo and left/right figures); the rules are the
single-user report's wherever they fit (:mod:`flows.report`), applied athlete by athlete:

- sessions done vs planned: training sessions of the week (a session with at least one set; recordings
  that start within :data:`BOUT_GAP_H` of each other are one training session, e.g. the second leg right
  after the first) against ``sessions_per_week`` of the athlete's ``athlete.json``, else the usual
  2-3 (:data:`flows.report.recovery.TARGET_SESSIONS`);
- weekly volume: reps and time under tension (s, the one load measure comparable across exercises and
  resistances, as the acute:chronic ratio uses it), 9 weeks for the sparkline, and the direction of the
  last 4 weeks (:func:`flows.report.progression.trend_direction`);
- tempo: the week's median phases (s) and the coaches' notation (:func:`~flows.report.progression.
  tempo_notation`); rushed when the concentric or eccentric median is under
  :data:`~flows.report.progression.MIN_CONTROLLED_PHASE_S`;
- stalls: the double-progression verdict per exercise and side (:func:`flows.report.progression.overload`,
  over the same 8 weeks of history as the single-user report; each session enters the rules as its
  median rep, since the rules only read session medians);
- recovery: rest between training sessions (:func:`flows.report.recovery.session_gaps`, 48 h minimum) and
  the acute:chronic ratio of time under tension (7 days against the weekly mean of 28, as
  :func:`flows.report.recovery.acute_chronic_load`), with its caveat;
- left/right: ``(left - right) / max(left, right)`` of volume load and ROM per exercise trained on both sides
  this week (as :func:`flows.report.recovery.asymmetry`);
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

from flows.report.build import plan_for
from flows.report.figures import TrainingSession
from flows.report.model import HISTORY_WEEKS, Asymmetry, IsoWeek, week_of
from flows.report.progression import (
    MIN_CONTROLLED_PHASE_S,
    overload,
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
from storage.lake_queries import (
    AthleteRow,
    CohortRows,
    SessionRepsRow,
    SideWeekRow,
    TempoRow,
    fetch_cohort_rows,
)
from storage.report_queries import PlanRow, RepRow, SetRow

__all__ = [
    "BOUT_GAP_H",
    "FLAG_WEIGHTS",
    "AthleteWeek",
    "CohortReport",
    "ExerciseStatus",
    "Flag",
    "Tempo",
    "build_cohort_report",
    "compute_cohort_report",
    "lake_weeks",
]

REPORT_VERSION = "1"
#: Recordings starting within this many hours of the previous one belong to the same training session.
BOUT_GAP_H = 3.0
#: Weeks of volume shown per athlete (the report week last).
SPARK_WEEKS = HISTORY_WEEKS + 1
#: Finding -> weight in the attention score (per missed session, per exercise, or once).
FLAG_WEIGHTS: dict[str, int] = {
    "no_training": 6,
    "missed_sessions": 2,  # per session missed, at most 3 counted
    "load_spike": 3,
    "short_rest": 2,
    "rom_dropping": 2,  # per exercise and side
    "asymmetry": 2,  # once, whatever the number of uneven exercises
    "stalled": 1,  # per exercise and side
    "rushed_tempo": 1,
    "volume_falling": 1,
    "load_drop": 1,
    "quarantined": 1,
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Flag:
    """One finding about an athlete: ``code`` (a :data:`FLAG_WEIGHTS` key), its weight, and a sentence."""

    code: str
    weight: int
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Tempo:
    """The week's median phase durations (s), ROM (degrees) and the notation eccentric-pause-concentric-
    pause; ``rushed`` when the concentric or eccentric median is under the controlled minimum."""

    concentric_s: float | None
    top_hold_s: float | None
    eccentric_s: float | None
    bottom_pause_s: float | None
    rom_deg: float | None
    notation: str | None
    rushed: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class ExerciseStatus:
    """The double-progression verdict of one exercise and side trained this week (``flows.report`` status:
    increase | new_resistance | rom_dropping | stalled | building)."""

    exercise: str
    side: str | None
    status: str
    advice: str
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
    tut_s: float
    weekly_tut_s: tuple[float, ...]
    trend: str
    tempo: Tempo
    min_rest_h: float | None
    short_rests: int
    acwr: float | None
    acute_load_s: float
    chronic_load_s: float
    exercises: tuple[ExerciseStatus, ...]
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
    days = (last - first).days
    return sorted({str(IsoWeek.of(first + timedelta(days=d))) for d in range(days + 1)})


def bouts(starts: Iterable[datetime], gap_h: float = BOUT_GAP_H) -> list[datetime]:
    """Training sessions: start times (sorted) with recordings within ``gap_h`` of the previous one merged."""
    out: list[datetime] = []
    last: datetime | None = None
    for t in sorted(set(starts)):
        if last is None or (t - last).total_seconds() > gap_h * 3600.0:
            out.append(t)
        last = t
    return out


# ------------------------------------------------------------------------------------------ the figures


def _summary_rep(r: SessionRepsRow) -> RepRow:
    """A session's reps of one exercise and side as their median rep (the progression rules read only
    per-session medians of these fields)."""
    return RepRow(
        set_id="",
        rep_index=0,
        concentric_s=r.concentric_s or 0.0,
        top_hold_s=r.top_hold_s or 0.0,
        eccentric_s=r.eccentric_s or 0.0,
        bottom_pause_s=None,
        rom_deg=r.rom_deg or 0.0,
        partial=False,
    )


def weeks_of(times: Iterable[datetime], tz: tzinfo | None) -> dict[datetime, IsoWeek]:
    """The ISO week (in ``tz``) of each distinct time: one conversion per session, not per set."""
    return {t: week_of(t, tz) for t in set(times)}


def _by_week(sets: Iterable[SetRow], weeks: Mapping[datetime, IsoWeek]) -> dict[IsoWeek, list[SetRow]]:
    """Sets grouped by the ISO week their session started in (as ``flows.report.figures.sets_by_week``)."""
    out: dict[IsoWeek, list[SetRow]] = defaultdict(list)
    for s in sets:
        out[weeks[s.session_started_at]].append(s)
    return out


def exercise_statuses(
    sets: Sequence[SetRow],
    session_reps: Sequence[SessionRepsRow],
    plans: Sequence[PlanRow],
    week: IsoWeek,
    tz: tzinfo | None,
    weeks: Mapping[datetime, IsoWeek] | None = None,
) -> list[ExerciseStatus]:
    """The overload verdict of each exercise and side trained in ``week`` (sets up to the week's end);
    ``weeks``: the week of each session start, when already known."""
    start, end = week.bounds(tz)
    weeks = weeks if weeks is not None else weeks_of((s.session_started_at for s in sets), tz)
    summary = {(r.session_started_at, r.exercise, r.side): r for r in session_reps if r.n_reps}
    by_key: dict[tuple[str, str | None], list[SetRow]] = defaultdict(list)
    for s in sets:
        if s.session_started_at < end:
            by_key[(s.exercise, s.side)].append(s)
    out = []
    for (exercise, side), key_sets in sorted(by_key.items(), key=lambda kv: (kv[0][0], kv[0][1] or "")):
        if not any(s.session_started_at >= start for s in key_sets):
            continue
        sessions = []
        for t, group in itertools.groupby(
            sorted(key_sets, key=lambda s: s.session_started_at), lambda s: s.session_started_at
        ):
            rep = summary.get((t, exercise, side))
            sessions.append(
                TrainingSession(started_at=t, sets=tuple(group), reps=(_summary_rep(rep),) if rep else ())
            )
        verdict = overload(sessions, _by_week(key_sets, weeks), week, tz, plan_for(plans, exercise, end))
        out.append(
            ExerciseStatus(
                exercise=exercise,
                side=side,
                status=verdict.status,
                advice=verdict.advice,
                resistance=verdict.resistance,
            )
        )
    return out


def _fraction_of_larger(left: float | None, right: float | None) -> float | None:
    if left is None or right is None:
        return None
    larger = max(left, right)
    return (left - right) / larger if larger else None


def side_balance(rows: Iterable[SideWeekRow]) -> list[Asymmetry]:
    """Left vs right of each exercise trained on both sides this week: volume load and median ROM."""
    by_ex: dict[str, dict[str | None, SideWeekRow]] = defaultdict(dict)
    for r in rows:
        by_ex[r.exercise][r.side] = r
    out = []
    for exercise, sides in sorted(by_ex.items()):
        left, right = sides.get("left"), sides.get("right")
        if left is None or right is None:
            continue
        out.append(
            Asymmetry(
                exercise=exercise,
                volume_left=left.volume_load,
                volume_right=right.volume_load,
                volume_asymmetry=_fraction_of_larger(left.volume_load, right.volume_load),
                rom_left_deg=left.rom_deg,
                rom_right_deg=right.rom_deg,
                rom_asymmetry=_fraction_of_larger(left.rom_deg, right.rom_deg),
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
    notation = tempo_notation(
        row.eccentric_s or 0.0, row.bottom_pause_s or 0.0, row.concentric_s or 0.0, row.top_hold_s or 0.0
    )
    rushed = any(x is not None and x < MIN_CONTROLLED_PHASE_S for x in (row.concentric_s, row.eccentric_s))
    return Tempo(
        concentric_s=row.concentric_s,
        top_hold_s=row.top_hold_s,
        eccentric_s=row.eccentric_s,
        bottom_pause_s=row.bottom_pause_s,
        rom_deg=row.rom_deg,
        notation=notation,
        rushed=rushed,
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


def session_flags(a: AthleteWeek) -> list[Flag]:
    """Sessions missed or absent, short rest, load spikes and drops, quarantined recordings."""
    flags = []
    if a.sessions_done == 0:
        flags.append(_flag("no_training", "no training session recorded this week"))
    elif a.sessions_planned and a.sessions_done < a.sessions_planned:
        missed = a.sessions_planned - a.sessions_done
        flags.append(
            _flag(
                "missed_sessions",
                f"{a.sessions_done} of {a.sessions_planned} planned sessions",
                min(missed, 3),
            )
        )
    if a.short_rests:
        flags.append(
            _flag(
                "short_rest",
                f"{a.short_rests} rest(s) under {MIN_RECOVERY_H:.0f} h (shortest {a.min_rest_h:.0f} h)",
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
    """Progression, range of motion, left/right balance, tempo and volume trend."""
    flags = []
    for e in a.exercises:
        side = f" ({e.side})" if e.side else ""
        if e.status == "rom_dropping":
            flags.append(
                _flag("rom_dropping", f"{e.exercise}{side}: range of motion dropping after a load step")
            )
        elif e.status == "stalled":
            flags.append(_flag("stalled", f"{e.exercise}{side}: {e.advice.split(':')[0]}"))
    uneven = [
        f"{b.exercise} {abs(v):.0%} less on the {'right' if v > 0 else 'left'}"
        for b in a.balance
        if (v := b.volume_asymmetry) is not None and abs(v) > ASYMMETRY_ADVICE_FRACTION
    ]
    if uneven:  # one flag however many exercises: it is one athlete's imbalance
        flags.append(_flag("asymmetry", "left/right volume: " + ", ".join(uneven)))
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
    session_reps: list[SessionRepsRow] = field(default_factory=list)
    side_week: list[SideWeekRow] = field(default_factory=list)
    plans: list[PlanRow] = field(default_factory=list)
    quarantined: list[datetime] = field(default_factory=list)


def _split(rows: CohortRows) -> dict[str, _AthleteRows]:
    by: dict[str, _AthleteRows] = defaultdict(_AthleteRows)
    for athlete, s in rows.sets:
        by[athlete].sets.append(s)
    for r in rows.session_reps:
        by[r.athlete].session_reps.append(r)
    for w in rows.side_week:
        by[w.athlete].side_week.append(w)
    for athlete, p in rows.plans:
        by[athlete].plans.append(p)
    for q in rows.sessions:
        if q.status == "quarantined":
            by[q.athlete].quarantined.append(q.started_at)
    return by


def athlete_week(
    info: AthleteRow,
    mine: _AthleteRows,
    tempo: TempoRow | None,
    week: IsoWeek,
    weeks: Sequence[IsoWeek],
    tz: tzinfo | None,
) -> AthleteWeek:
    """One athlete's figures and flags for ``week`` from its rows (history: ``weeks``, oldest first)."""
    start, end = week.bounds(tz)
    in_week = weeks_of(
        [s.session_started_at for s in mine.sets] + [r.session_started_at for r in mine.session_reps], tz
    )
    trained = bouts(s.session_started_at for s in mine.sets)
    weekly_sessions: dict[IsoWeek, int] = defaultdict(int)
    for t in trained:
        weekly_sessions[in_week[t]] += 1
    tut_by_session: dict[datetime, float] = defaultdict(float)
    weekly_tut: dict[IsoWeek, float] = defaultdict(float)
    for r in mine.session_reps:
        tut_by_session[r.session_started_at] += r.tut_s
        weekly_tut[in_week[r.session_started_at]] += r.tut_s
    this_week = [s for s in mine.sets if start <= s.session_started_at < end]
    gaps = session_gaps(trained, start, end)
    acwr, acute, chronic = acute_chronic(tut_by_session, end)
    done = weekly_sessions.get(week, 0)
    draft = AthleteWeek(
        athlete=info.athlete,
        sensor=info.sensor,
        sides=info.sides,
        sessions_done=done,
        sessions_planned=info.sessions_per_week,
        sessions_status=plan_status(done, info.sessions_per_week),
        weekly_sessions=tuple(
            None if info.first_week is None or str(w) < info.first_week else weekly_sessions.get(w, 0)
            for w in weeks
        ),
        sets=len(this_week),
        reps=sum(s.n_reps for s in this_week),
        tut_s=weekly_tut.get(week, 0.0),
        weekly_tut_s=tuple(weekly_tut.get(w, 0.0) for w in weeks),
        trend=trend_direction([weekly_tut.get(week.shift(k), 0.0) for k in range(-3, 1)]),
        tempo=tempo_of(tempo),
        min_rest_h=min((g.hours for g in gaps), default=None),
        short_rests=sum(g.short for g in gaps),
        acwr=acwr,
        acute_load_s=acute,
        chronic_load_s=chronic,
        exercises=tuple(exercise_statuses(mine.sets, mine.session_reps, mine.plans, week, tz, in_week)),
        balance=tuple(side_balance(mine.side_week)),
        quarantined=sum(start <= t < end for t in mine.quarantined),
        flags=(),
    )
    return _with_flags(draft)


def _with_flags(a: AthleteWeek) -> AthleteWeek:
    return replace(a, flags=tuple(session_flags(a) + training_flags(a)))


PARAMETERS: dict[str, Any] = {
    "bout_gap_h": BOUT_GAP_H,
    "flag_weights": FLAG_WEIGHTS,
    "target_sessions": list(TARGET_SESSIONS),
    "min_recovery_h": MIN_RECOVERY_H,
    "acwr_band": list(ACWR_BAND),
    "acwr_caveat": ACWR_CAVEAT,
    "asymmetry_fraction": ASYMMETRY_ADVICE_FRACTION,
    "min_controlled_phase_s": MIN_CONTROLLED_PHASE_S,
    "history_weeks": HISTORY_WEEKS,
}


def build_cohort_report(
    rows: CohortRows, week: IsoWeek, *, tz: tzinfo | None = None, generated_at: datetime | None = None
) -> CohortReport:
    """The report for ``week`` from rows covering it and :data:`HISTORY_WEEKS` weeks before."""
    start, end = week.bounds(tz)
    weeks = [week.shift(k) for k in range(-HISTORY_WEEKS, 1)]
    mine = _split(rows)
    tempo = {t.athlete: t for t in rows.tempo}
    athletes = [
        athlete_week(a, mine[a.athlete], tempo.get(a.athlete), week, weeks, tz) for a in rows.athletes
    ]
    athletes.sort(key=lambda a: (-a.attention, a.athlete))
    return CohortReport(
        week=str(week),
        start=start,
        end=end,
        generated_at=generated_at or datetime.now(UTC),
        weeks=tuple(str(w) for w in weeks),
        athletes=tuple(athletes),
        parameters=dict(PARAMETERS),
    )


def compute_cohort_report(lake_dir: Path, week: IsoWeek, *, tz: tzinfo | None = None) -> CohortReport:
    """Read the lake (the week and :data:`HISTORY_WEEKS` before it) and build the report."""
    start, end = week.bounds(tz)
    hist_start = start - timedelta(weeks=HISTORY_WEEKS)
    rows = fetch_cohort_rows(
        lake_dir, hist_start, end, start, lake_weeks(hist_start, end), lake_weeks(start, end)
    )
    return build_cohort_report(rows, week, tz=tz)
