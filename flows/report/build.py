"""Build a :class:`~flows.report.model.WeeklyReport` from stored rows: pure functions, no I/O.

Rows (``storage.report_queries.fetch_report_rows``: the week and :data:`~flows.report.model.HISTORY_WEEKS`
before it) -> per exercise and side this week's figures (:func:`exercise_report`: volume, tempo, ROM,
change against last week, 4-week trend, the overload verdict of :mod:`flows.report.progression`) -> the
recovery section (:mod:`flows.report.recovery`) -> the weekly history for the charts -> summary lines.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, tzinfo

from flows.report import progression, recovery
from flows.report.figures import (
    RepsBySet,
    main_unit,
    median,
    phase_stats,
    relative_change,
    reps_of,
    sets_by_week,
    time_under_tension_s,
    training_sessions,
    volume_load,
)
from flows.report.model import (
    HISTORY_WEEKS,
    Change,
    ExerciseReport,
    IsoWeek,
    SetSummary,
    Tempo,
    Trend,
    WeeklyHistoryPoint,
    WeeklyReport,
    week_of,
)
from flows.report.progression import overload, tempo_notation, trend_direction
from storage.report_queries import PlanRow, ReportRows, RepRow, SetRow

#: The rules' thresholds, stored with every report (``parameters``).
PARAMETERS = {
    "default_reps_range": [progression.DEFAULT_REPS_LOW, progression.DEFAULT_REPS_HIGH],
    "sessions_to_progress": progression.SESSIONS_TO_PROGRESS,
    "min_controlled_phase_s": progression.MIN_CONTROLLED_PHASE_S,
    "full_rom_fraction": progression.FULL_ROM_FRACTION,
    "rom_drop_fraction": progression.ROM_DROP_FRACTION,
    "stall_weeks": progression.STALL_WEEKS,
    "min_recovery_h": recovery.MIN_RECOVERY_H,
}


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
    sets_upto = [s for s in rows.sets if s.session_started_at < end]
    by_key: dict[tuple[str, str | None], list[SetRow]] = defaultdict(list)
    for s in sets_upto:
        by_key[(s.exercise, s.side)].append(s)
    exercises: list[ExerciseReport] = []
    for _, key_sets in sorted(by_key.items(), key=lambda kv: (kv[0][0], kv[0][1] or "")):
        this_week = [s for s in key_sets if s.session_started_at >= start]
        if this_week:
            exercises.append(exercise_report(key_sets, this_week, reps_by_set, week, tz, rows.plans))
    report = WeeklyReport(
        week=str(week),
        start=start,
        end=end,
        generated_at=generated_at or datetime.now(UTC),
        exercises=tuple(exercises),
        recovery=recovery.build_recovery(rows.sets, reps_by_set, exercises, start, end),
        history=tuple(weekly_history(sets_upto, reps_by_set, week, tz)),
        summary=(),
        parameters=dict(PARAMETERS),
    )
    return replace(report, summary=tuple(summary_lines(report)))


def plan_for(plans: Iterable[PlanRow], exercise: str, at: datetime) -> PlanRow | None:
    """The plan line for ``exercise`` in effect at ``at`` (the latest ``valid_from`` not after it)."""
    best: PlanRow | None = None
    for p in plans:
        if (
            p.exercise == exercise
            and p.valid_from <= at
            and (best is None or p.valid_from >= best.valid_from)
        ):
            best = p
    return best


def tempo_stats(reps: Sequence[RepRow]) -> Tempo:
    """Median and IQR of each phase over the reps, and the coaches' notation of the medians."""
    conc = [r.concentric_s for r in reps]
    hold = [r.top_hold_s for r in reps]
    ecc = [r.eccentric_s for r in reps]
    pause = [r.bottom_pause_s for r in reps if r.bottom_pause_s is not None]
    notation = None
    if reps:
        notation = tempo_notation(
            median(ecc) or 0.0, median(pause) or 0.0, median(conc) or 0.0, median(hold) or 0.0
        )
    return Tempo(
        concentric=phase_stats(conc),
        top_hold=phase_stats(hold),
        eccentric=phase_stats(ecc),
        bottom_pause=phase_stats(pause),
        notation=notation,
    )


def week_change(this_week: Sequence[SetRow], last_week: Sequence[SetRow], reps_by_set: RepsBySet) -> Change:
    """This week against last week: volume load (absolute and relative), reps, median ROM (degrees)."""
    rom_this = median([r.rom_deg for r in reps_of(this_week, reps_by_set)])
    rom_last = median([r.rom_deg for r in reps_of(last_week, reps_by_set)])
    vol_this = volume_load(this_week)
    vol_last = volume_load(last_week) if last_week else None
    return Change(
        volume_load=None if vol_last is None else vol_this - vol_last,
        volume_load_pct=relative_change(vol_this, vol_last),
        reps=None if not last_week else sum(s.n_reps for s in this_week) - sum(s.n_reps for s in last_week),
        rom_deg=None if rom_this is None or rom_last is None else rom_this - rom_last,
    )


def volume_trend(weekly: Mapping[IsoWeek, Sequence[SetRow]], week: IsoWeek) -> Trend:
    """Volume load of the 4 weeks up to ``week`` (oldest first) and its direction."""
    weeks = [week.shift(k) for k in range(-3, 1)]
    volumes = tuple(volume_load(weekly.get(w, [])) for w in weeks)
    return Trend(weeks=tuple(str(w) for w in weeks), volume_load=volumes, direction=trend_direction(volumes))


def set_summaries(sets: Iterable[SetRow], reps_by_set: RepsBySet) -> tuple[SetSummary, ...]:
    """One row per set: reps, resistance, median phase durations (s) and ROM (degrees)."""
    out = []
    for s in sets:
        rr = reps_by_set.get(s.set_id, [])
        out.append(
            SetSummary(
                session_started_at=s.session_started_at,
                set_index=s.set_index,
                reps=s.n_reps,
                resistance=s.resistance,
                concentric_s=median([r.concentric_s for r in rr]),
                top_hold_s=median([r.top_hold_s for r in rr]),
                eccentric_s=median([r.eccentric_s for r in rr]),
                rom_deg=median([r.rom_deg for r in rr]),
                velocity_loss=s.velocity_loss,
            )
        )
    return tuple(out)


def exercise_report(
    key_sets: Sequence[SetRow],
    this_week: Sequence[SetRow],
    reps_by_set: RepsBySet,
    week: IsoWeek,
    tz: tzinfo | None,
    plans: Sequence[PlanRow],
) -> ExerciseReport:
    """The week's figures of one exercise and side; ``key_sets`` are all its sets up to the week's end,
    ``this_week`` those of the week (at least one)."""
    week_reps = reps_of(this_week, reps_by_set)
    weekly = sets_by_week(key_sets, tz)
    first = this_week[0]
    return ExerciseReport(
        exercise=first.exercise,
        side=first.side,
        sessions=len({s.session_id for s in this_week}),
        sets=len(this_week),
        reps=sum(s.n_reps for s in this_week),
        volume_load=volume_load(this_week),
        load_unit=main_unit(this_week),
        resistance=this_week[-1].resistance,
        time_under_tension_s=time_under_tension_s(week_reps),
        tempo=tempo_stats(week_reps),
        rom_deg=median([r.rom_deg for r in week_reps]),
        velocity_loss=median([s.velocity_loss for s in this_week if s.velocity_loss is not None]),
        change=week_change(this_week, weekly.get(week.shift(-1), []), reps_by_set),
        trend=volume_trend(weekly, week),
        overload=overload(
            training_sessions(key_sets, reps_by_set),
            weekly,
            week,
            tz,
            plan_for(plans, first.exercise, week.bounds(tz)[1]),
        ),
        set_details=set_summaries(this_week, reps_by_set),
    )


def weekly_history(
    sets: Iterable[SetRow], reps_by_set: RepsBySet, week: IsoWeek, tz: tzinfo | None
) -> list[WeeklyHistoryPoint]:
    """Per exercise (all sides together) and week of the last :data:`HISTORY_WEEKS`: volume load and median
    ROM, for the trend charts."""
    groups: dict[tuple[IsoWeek, str], list[SetRow]] = defaultdict(list)
    for s in sets:
        w = week_of(s.session_started_at, tz)
        if week.shift(-HISTORY_WEEKS) <= w <= week:
            groups[(w, s.exercise)].append(s)
    return [
        WeeklyHistoryPoint(
            week=str(w),
            exercise=exercise,
            volume_load=volume_load(ss),
            load_unit=main_unit(ss),
            rom_deg=median([r.rom_deg for r in reps_of(ss, reps_by_set)]),
        )
        for (w, exercise), ss in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1]))
    ]


def summary_lines(report: WeeklyReport) -> list[str]:
    """Totals, each exercise's overload advice, then the recovery advice."""
    if not report.exercises:
        return ["no training recorded this week"]
    lines = [
        f"{report.recovery.sessions} glute session(s), {sum(e.sets for e in report.exercises)} sets, "
        f"{sum(e.reps for e in report.exercises)} reps"
    ]
    for e in report.exercises:
        side = f" ({e.side})" if e.side else ""
        lines.append(f"{e.exercise}{side}: {e.overload.advice}")
    lines.extend(report.recovery.advice)
    return lines
