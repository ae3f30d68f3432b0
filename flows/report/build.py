"""Build a :class:`~flows.report.model.WeeklyReport` from stored rows: pure functions, no I/O.

Rows (``storage.report_queries.fetch_report_rows``: the week and :data:`~flows.report.model.HISTORY_WEEKS`
before it) -> the period covered (:func:`week_period`: a running week is "so far" and compared with the
same days of the week before) -> per exercise and side this week's figures (:func:`exercise_report`:
volume per load unit, tempo, ROM without implausible sets, change, trend per unit, one overload verdict per
load unit from :mod:`flows.report.progression`, notes) -> unrecognised sets apart -> sessions with RPE ->
the recovery section (:mod:`flows.report.recovery`) -> the weekly history for the charts -> summary lines.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, tzinfo

from flows.report import figures, progression, recovery
from flows.report.figures import (
    UNKNOWN,
    RepsBySet,
    by_unit,
    heaviest,
    median,
    phase_stats,
    relative_change,
    reps_of,
    rom_median_deg,
    set_flags,
    sets_by_week,
    time_under_tension_s,
    training_sessions,
    volume_load,
)
from flows.report.model import (
    HISTORY_WEEKS,
    SHORT_ID,
    Change,
    ExerciseReport,
    IsoWeek,
    LoadVolume,
    Overload,
    SessionSummary,
    SetSummary,
    Tempo,
    Trend,
    WeeklyHistoryPoint,
    WeeklyReport,
    WeekPeriod,
    WeekVolume,
    local,
    week_of,
)
from flows.report.names import (
    describe_implement,
    describe_resistance,
    exercise_name,
    exercise_title,
    volume_unit,
)
from flows.report.progression import overload, tempo_notation, trend_direction
from storage.report_queries import PlanRow, ReportRows, RepRow, SessionRow, SetRow

#: The rules' thresholds, stored with every report (``parameters``).
PARAMETERS = {
    "default_reps_range": [progression.DEFAULT_REPS_LOW, progression.DEFAULT_REPS_HIGH],
    "sessions_to_progress": progression.SESSIONS_TO_PROGRESS,
    "min_controlled_phase_s": progression.MIN_CONTROLLED_PHASE_S,
    "full_rom_fraction": progression.FULL_ROM_FRACTION,
    "rom_drop_fraction": progression.ROM_DROP_FRACTION,
    "stall_weeks": progression.STALL_WEEKS,
    "min_recovery_h": recovery.MIN_RECOVERY_H,
    "typical_rom_top_deg": dict(figures.TYPICAL_ROM_TOP_DEG),
    "implausible_rom_factor": figures.IMPLAUSIBLE_ROM_FACTOR,
    "low_exercise_confidence": figures.LOW_EXERCISE_CONFIDENCE,
}
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True, slots=True, kw_only=True)
class Context:
    """What every exercise's figures share: the week, its period, the comparison window, the reps.

    ``[start, end)`` is the part of the week covered (Monday to the end of today in a running week).
    """

    week: IsoWeek
    period: WeekPeriod
    tz: tzinfo | None
    start: datetime
    end: datetime
    compare: tuple[datetime, datetime]
    reps_by_set: RepsBySet
    plans: Sequence[PlanRow]
    session_labels: Mapping[str, str]

    def in_week(self, s: SetRow) -> bool:
        return self.start <= s.session_started_at < self.end

    def in_compare(self, s: SetRow) -> bool:
        return self.compare[0] <= s.session_started_at < self.compare[1]

    @property
    def trend_weeks(self) -> list[IsoWeek]:
        """The 4 weeks of a trend: up to this week, or the 4 complete weeks before a running one."""
        last = self.week if self.period.complete else self.week.shift(-1)
        return [last.shift(k) for k in range(-3, 1)]


def week_period(week: IsoWeek, now: datetime, tz: tzinfo | None) -> WeekPeriod:
    """The part of ``week`` that has happened at ``now``, and what it is compared with."""
    start, end = week.bounds(tz)
    before = week.shift(-1)
    if now >= end:
        return WeekPeriod(
            week=str(week), complete=True, days=7, day_range="Mon-Sun", label=str(week),
            compared_with=str(before),
        )  # fmt: skip
    days = max(0, min(7, (local(now, tz).date() - week.monday).days + 1)) if now >= start else 0
    day_range = "-" if days == 0 else _DAYS[0] if days == 1 else f"Mon-{_DAYS[days - 1]}"
    return WeekPeriod(
        week=str(week),
        complete=False,
        days=days,
        day_range=day_range,
        label=f"{week} so far ({day_range})" if days else f"{week} (not started)",
        compared_with=f"{day_range} of {before}" if days else "nothing",
    )


def build_weekly_report(
    rows: ReportRows,
    week: IsoWeek,
    *,
    tz: tzinfo | None = None,
    generated_at: datetime | None = None,
) -> WeeklyReport:
    """The report for ``week`` from rows covering at least the week and :data:`HISTORY_WEEKS` before it.

    ``generated_at`` (default now) decides whether the week is still running (see :func:`week_period`).
    """
    now = generated_at or datetime.now(UTC)
    period = week_period(week, now, tz)
    start, week_end = week.bounds(tz)
    # A running week covers Monday to the end of today: "so far" holds nothing recorded after it.
    end = week.day_bounds(period.days, tz)[1]
    reps_by_set: dict[str, list[RepRow]] = defaultdict(list)
    for r in rows.reps:
        reps_by_set[r.set_id].append(r)
    ctx = Context(
        week=week,
        period=period,
        tz=tz,
        start=start,
        end=end,
        compare=week.shift(-1).day_bounds(period.days, tz),
        reps_by_set=reps_by_set,
        plans=rows.plans,
        session_labels=session_labels(rows.sessions, start, end, tz),
    )
    sets_upto = [s for s in rows.sets if s.session_started_at < end]
    by_key: dict[tuple[str, str | None], list[SetRow]] = defaultdict(list)
    for s in sets_upto:
        if s.exercise != UNKNOWN:
            by_key[(s.exercise, s.side)].append(s)
    exercises = [
        exercise_report(key_sets, ctx)
        for _, key_sets in sorted(by_key.items(), key=lambda kv: (kv[0][0], kv[0][1] or ""))
        if any(ctx.in_week(s) for s in key_sets)
    ]
    week_sets = [s for s in sets_upto if ctx.in_week(s)]
    sessions = session_summaries(rows.sessions, week_sets, ctx)
    rated = [s.rpe for s in sessions if s.rpe is not None]
    report = WeeklyReport(
        week=str(week),
        period=period,
        start=start,
        end=week_end,
        generated_at=now,
        sessions=tuple(sessions),
        rpe_mean=statistics.fmean(rated) if rated else None,
        exercises=tuple(exercises),
        unrecognised=set_summaries([s for s in week_sets if s.exercise == UNKNOWN], ctx),
        recovery=recovery.build_recovery(rows.sets, reps_by_set, exercises, period, (start, end, now), tz),
        history=tuple(weekly_history(sets_upto, ctx)),
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
    """Median and IQR of each phase over the reps, and the notation of the medians (whole seconds)."""
    ecc = [r.eccentric_s for r in reps]
    pause = [r.bottom_pause_s for r in reps if r.bottom_pause_s is not None]
    conc = [r.concentric_s for r in reps]
    hold = [r.top_hold_s for r in reps]
    notation = None
    if reps:
        notation = tempo_notation(
            median(ecc) or 0.0, median(pause) or 0.0, median(conc) or 0.0, median(hold) or 0.0
        )
    return Tempo(
        eccentric=phase_stats(ecc),
        bottom_pause=phase_stats(pause),
        concentric=phase_stats(conc),
        top_hold=phase_stats(hold),
        notation=notation,
    )


def session_labels(
    sessions: Iterable[SessionRow], start: datetime, end: datetime, tz: tzinfo | None
) -> dict[str, str]:
    """Session id -> its weekday (``Mon``) in ``tz``, with the start time when two sessions share a day."""
    week = [s for s in sessions if start <= s.started_at < end]
    days = Counter(f"{local(s.started_at, tz):%a}" for s in week)
    labels = {}
    for s in week:
        t = local(s.started_at, tz)
        labels[s.session_id] = f"{t:%a %H:%M}" if days[f"{t:%a}"] > 1 else f"{t:%a}"
    return labels


def set_summaries(sets: Iterable[SetRow], ctx: Context) -> tuple[SetSummary, ...]:
    """One row per set: where it is, its load, median phase durations (s), ROM (degrees) and flags."""
    reps_by_set = ctx.reps_by_set
    out = []
    for s in sets:
        rr = reps_by_set.get(s.set_id, [])
        out.append(
            SetSummary(
                session_id=s.session_id,
                session_started_at=s.session_started_at,
                set_number=s.set_index,
                exercise=s.exercise,
                side=s.side,
                reps=s.n_reps,
                resistance=s.resistance,
                load_value=s.load_value,
                load_unit=s.load_unit,
                eccentric_s=median([r.eccentric_s for r in rr]),
                bottom_pause_s=median([r.bottom_pause_s for r in rr if r.bottom_pause_s is not None]),
                concentric_s=median([r.concentric_s for r in rr]),
                top_hold_s=median([r.top_hold_s for r in rr]),
                rom_deg=median([r.rom_deg for r in rr]),
                velocity_loss=s.velocity_loss,
                exercise_confidence=s.exercise_confidence,
                exercise_source=s.exercise_source,
                flags=set_flags(s, reps_by_set),
                session_label=ctx.session_labels.get(s.session_id, ""),
            )
        )
    return tuple(out)


def refs_text(sets: Iterable[SetSummary]) -> str:
    """Where sets are, as ``hipsync log`` takes them: ``3439cd33 #9-11, 5cc75cbc #4``."""
    by_session: dict[str, list[int]] = {}
    for s in sets:
        by_session.setdefault(s.session_id[:SHORT_ID], []).append(s.set_number)
    return ", ".join(f"{sid} #{_ranges(sorted(nums))}" for sid, nums in by_session.items())


def _ranges(nums: Sequence[int]) -> str:
    runs: list[list[int]] = []
    for n in nums:
        if runs and n == runs[-1][-1] + 1:
            runs[-1].append(n)
        else:
            runs.append([n])
    return ",".join(f"{r[0]}-{r[-1]}" if len(r) > 1 else f"{r[0]}" for r in runs)


# -------------------------------------------------------------------------------------- volume per unit


def unit_trend(unit_sets: Sequence[SetRow], ctx: Context) -> Trend:
    """Weekly volume of one unit's sets over :attr:`Context.trend_weeks` (None: no sets that week)."""
    weekly = sets_by_week(unit_sets, ctx.tz)
    weeks = ctx.trend_weeks
    values = tuple(volume_load(weekly[w]) if weekly.get(w) else None for w in weeks)
    return Trend(weeks=tuple(str(w) for w in weeks), volume_load=values, direction=trend_direction(values))


def load_volumes(key_sets: Sequence[SetRow], ctx: Context) -> tuple[LoadVolume, ...]:
    """One :class:`LoadVolume` per load unit of this week's sets, in order of first use."""
    out = []
    for unit, unit_sets in by_unit(key_sets).items():
        this = [s for s in unit_sets if ctx.in_week(s)]
        if not this:
            continue
        before = [s for s in unit_sets if ctx.in_compare(s)]
        vol = volume_load(this)
        prev = volume_load(before) if before else None
        resistances = sorted({s.resistance for s in this if s.resistance}, key=lambda r: _rank_of(r, this))
        out.append(
            LoadVolume(
                load_unit=unit,
                unit_words=volume_unit(unit),
                sets=len(this),
                reps=sum(s.n_reps for s in this),
                volume_load=vol,
                resistances=tuple(resistances),
                resistance_words=tuple(describe_resistance(r) for r in resistances),
                previous_volume_load=prev,
                change_pct=relative_change(vol, prev),
                trend=unit_trend(unit_sets, ctx),
            )
        )
    return tuple(out)


def _rank_of(resistance: str, sets: Sequence[SetRow]) -> float:
    return max(figures.load_rank(s) for s in sets if s.resistance == resistance)


# -------------------------------------------------------------------------------------------- overload


def unit_overloads(
    key_sets: Sequence[SetRow], summaries: Sequence[SetSummary], ctx: Context
) -> list[Overload]:
    """One verdict per load unit used this week, the unit first used latest in the week first."""
    plan = plan_for(ctx.plans, key_sets[0].exercise, ctx.end)
    this_week = [s for s in key_sets if ctx.in_week(s)]
    first_use = {unit: sets[0] for unit, sets in by_unit(this_week).items()}
    order = sorted(
        first_use, key=lambda u: (first_use[u].session_started_at, first_use[u].set_index), reverse=True
    )
    # Sets without a load say nothing about progress while others have one: they go last.
    order.sort(key=lambda u: u is None)
    last_week = ctx.week.shift(-1)
    rom_last = median(
        [
            r
            for t in training_sessions(key_sets, ctx.reps_by_set)
            if week_of(t.started_at, ctx.tz) == last_week and (r := t.median("rom_deg")) is not None
        ]
    )
    verdicts = []
    for unit in order:
        unit_sets = [s for s in key_sets if s.load_unit == unit]
        earlier = [
            s for s in key_sets if s.session_started_at < ctx.start and s.load_unit not in (unit, None)
        ]
        verdicts.append(
            overload(
                training_sessions(unit_sets, ctx.reps_by_set),
                sets_by_week(unit_sets, ctx.tz),
                ctx.week,
                ctx.tz,
                plan,
                before=earlier[-1] if earlier else None,
                week_sets=[s for s in summaries if s.load_unit == unit],
                last_week_rom_deg=rom_last,
            )
        )
    return verdicts


# ----------------------------------------------------------------------------------------------- notes


def implement_note(this_week: Sequence[SetRow], summaries: Sequence[SetSummary]) -> str | None:
    """Which implements the week mixed, with their sets; None for one implement."""
    units = by_unit(s for s in this_week if s.load_unit is not None)
    if len(units) < 2:
        return None
    parts = [
        f"{describe_implement(heaviest(ss).resistance, u)} ({refs_text(_matching(summaries, ss))})"
        for u, ss in units.items()
    ]
    return (
        f"changed implement within the week: {' and '.join(parts)}; volume is kept per unit and each is "
        "compared only with the same unit"
    )


def pounds_note(this_week: Sequence[SetRow]) -> str | None:
    """That weights written in pounds count in kg; None without such weights."""
    pounds = sorted({r for s in this_week if (r := s.resistance) and r.endswith(("lb", "lbs"))})
    if not pounds:
        return None
    words = ", ".join(describe_resistance(r) for r in pounds)
    return f"pounds are counted in kg for the volume (1 lb = 0.4536 kg): {words}"


def rom_note(exercise: str, summaries: Sequence[SetSummary]) -> str | None:
    """Which sets' ROM was left out, and why; None when none was."""
    odd = [s for s in summaries if "implausible_rom" in s.flags]
    if not odd:
        return None
    roms = ", ".join(f"{s.rom_deg:.0f}" for s in odd if s.rom_deg is not None)
    top = figures.TYPICAL_ROM_TOP_DEG.get(exercise, 0.0)
    return (
        f"range of motion of {len(odd)} set(s) left out ({roms} deg; a {exercise_name(exercise)} reaches "
        f"about {top:.0f} deg, so these are probably another movement recognised as this one): "
        f"{refs_text(odd)}"
    )


#: Set flags that get a note of their own: flag -> the note's words before the sets.
FLAG_NOTES = {
    "low_confidence": "recognised with low confidence (counted, but check them)",
    "corrected": "with the exercise corrected by you",
}


def exercise_notes(exercise: str, this_week: Sequence[SetRow], summaries: Sequence[SetSummary]) -> list[str]:
    """What a reader must know to trust the figures: implements mixed, pounds, ROM left out, uncertain or
    corrected labels."""
    notes = [implement_note(this_week, summaries), pounds_note(this_week), rom_note(exercise, summaries)]
    for flag, words in FLAG_NOTES.items():
        marked = [s for s in summaries if flag in s.flags]
        if marked:
            notes.append(f"{len(marked)} set(s) {words}: {refs_text(marked)}")
    return [n for n in notes if n]


def _matching(summaries: Sequence[SetSummary], sets: Sequence[SetRow]) -> list[SetSummary]:
    keys = {(s.session_id, s.set_index) for s in sets}
    return [s for s in summaries if (s.session_id, s.set_number) in keys]


# ---------------------------------------------------------------------------------------- per exercise


def exercise_report(key_sets: Sequence[SetRow], ctx: Context) -> ExerciseReport:
    """The week's figures of one exercise and side; ``key_sets`` are all its sets up to the week's end
    (at least one in the week)."""
    this_week = [s for s in key_sets if ctx.in_week(s)]
    compare = [s for s in key_sets if ctx.in_compare(s)]
    week_reps = reps_of(this_week, ctx.reps_by_set)
    summaries = set_summaries(this_week, ctx)
    volumes = load_volumes(key_sets, ctx)
    verdicts = unit_overloads(key_sets, summaries, ctx)
    rom_this = rom_median_deg(this_week, ctx.reps_by_set)
    rom_before = rom_median_deg(compare, ctx.reps_by_set)
    first = this_week[0]
    return ExerciseReport(
        exercise=first.exercise,
        name=exercise_name(first.exercise),
        side=first.side,
        sessions=len({s.session_id for s in this_week}),
        sets=len(this_week),
        reps=sum(s.n_reps for s in this_week),
        volumes=volumes,
        volume_load=volumes[0].volume_load if len(volumes) == 1 else None,
        load_unit=volumes[0].load_unit if len(volumes) == 1 else "mixed",
        resistance=verdicts[0].resistance,
        time_under_tension_s=time_under_tension_s(week_reps),
        tempo=tempo_stats(week_reps),
        rom_deg=rom_this,
        rom_sets_left_out=sum(1 for s in summaries if "implausible_rom" in s.flags),
        velocity_loss=median([s.velocity_loss for s in this_week if s.velocity_loss is not None]),
        change=Change(
            reps=sum(s.n_reps for s in this_week) - sum(s.n_reps for s in compare) if compare else None,
            rom_deg=None if rom_this is None or rom_before is None else rom_this - rom_before,
        ),
        overload=verdicts[0],
        overloads=tuple(verdicts),
        notes=tuple(exercise_notes(first.exercise, this_week, summaries)),
        set_details=summaries,
    )


# ------------------------------------------------------------------------------------ sessions, history


def session_summaries(
    sessions: Iterable[SessionRow], week_sets: Sequence[SetRow], ctx: Context
) -> list[SessionSummary]:
    """The week's sessions that have sets, oldest first, with their RPE and RPE x minutes."""
    sets_of: dict[str, list[SetRow]] = defaultdict(list)
    for s in week_sets:
        sets_of[s.session_id].append(s)
    out = []
    for row in sessions:
        ss = sets_of.get(row.session_id)
        if not ss:
            continue
        minutes = None if row.duration_s is None else row.duration_s / 60.0
        out.append(
            SessionSummary(
                session_id=row.session_id,
                started_at=row.started_at,
                label=f"{local(row.started_at, ctx.tz):%a %d %b %H:%M}",
                duration_s=row.duration_s,
                sets=len(ss),
                reps=sum(s.n_reps for s in ss),
                exercises=tuple(dict.fromkeys(exercise_title(s.exercise, s.side) for s in ss)),
                rpe=row.rpe,
                rpe_load=None if row.rpe is None or minutes is None else row.rpe * minutes,
            )
        )
    return out


def weekly_history(sets: Iterable[SetRow], ctx: Context) -> list[WeeklyHistoryPoint]:
    """Per exercise (all sides together) and week of the last :data:`HISTORY_WEEKS`: reps, median ROM
    (implausible sets left out) and volume per load unit, for the trend charts. Unrecognised sets have no
    history."""
    groups: dict[tuple[IsoWeek, str], list[SetRow]] = defaultdict(list)
    for s in sets:
        w = week_of(s.session_started_at, ctx.tz)
        if s.exercise != UNKNOWN and ctx.week.shift(-HISTORY_WEEKS) <= w <= ctx.week:
            groups[(w, s.exercise)].append(s)
    return [
        WeeklyHistoryPoint(
            week=str(w),
            exercise=exercise,
            reps=sum(s.n_reps for s in ss),
            rom_deg=rom_median_deg(ss, ctx.reps_by_set),
            volumes=tuple(
                WeekVolume(
                    load_unit=unit,
                    sets=len(us),
                    reps=sum(s.n_reps for s in us),
                    volume_load=volume_load(us),
                )
                for unit, us in by_unit(ss).items()
            ),
            complete=w != ctx.week or ctx.period.complete,
        )
        for (w, exercise), ss in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1]))
    ]


def _rpe_line(report: WeeklyReport) -> str:
    rated = [s for s in report.sessions if s.rpe is not None]
    if report.rpe_mean is None:
        return "no session RPE logged (`hipsync log last --rpe 7` rates the latest session 0-10)"
    per = ", ".join(f"{s.label[:3]} {s.rpe:g}" for s in rated)
    return f"average RPE {report.rpe_mean:.1f} ({len(rated)} of {len(report.sessions)} sessions rated: {per})"


def summary_lines(report: WeeklyReport) -> list[str]:
    """Totals and RPE, each exercise's overload advice, unrecognised sets, then the recovery advice."""
    if not report.sessions:
        return [f"{report.period.label}: no training recorded"]
    t = report.totals
    lines = [f"{report.period.label}: {t['sessions']} session(s), {t['sets']} sets, {t['reps']} reps"]
    lines.append(_rpe_line(report))
    for e in report.exercises:
        lines.extend(f"{exercise_title(e.exercise, e.side)}: {o.advice}" for o in e.overloads)
    if report.unrecognised:
        u = report.unrecognised
        lines.append(
            f"unrecognised sets: {len(u)} ({sum(s.reps for s in u)} reps), counted in no exercise: "
            f"{refs_text(u)} (see `hipsync sessions show {u[0].session_id[:SHORT_ID]}`)"
        )
    lines.extend(report.recovery.advice)
    return lines
