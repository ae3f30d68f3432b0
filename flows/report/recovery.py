"""Recovery: session count, rest between sessions, acute:chronic load, left/right balance; small rules.

training.md: 2-3 glute sessions a week with at least 48 h between them. Each rule is a function of the
stored rows or of the exercise figures, testable alone; :func:`build_recovery` puts them together.

- :func:`trained_sessions`: start times of sessions with at least one set (a recording without sets is
  not training);
- :func:`session_gaps`: hours between consecutive sessions that end in the week, the gap into the week
  included (Sunday then Monday is 24 h across the boundary);
- :func:`sessions_status`: below, on or above the :data:`TARGET_SESSIONS` range;
- :func:`acute_chronic_load`: time under tension (s) of the last 7 days against the weekly mean of the
  last 28 days, and their ratio (context, not a verdict: :data:`ACWR_CAVEAT`);
- :func:`asymmetries`: left vs right volume load (in the unit both sides share, else reps) and ROM per
  exercise trained on both sides;
- :func:`recovery_advice`: the sentences the summary shows.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta, tzinfo

from flows.report.figures import RepsBySet, rep_time_under_tension_s
from flows.report.model import Asymmetry, ExerciseReport, Gap, Recovery, WeekPeriod, local
from flows.report.names import exercise_name, volume_unit
from storage.report_queries import SetRow

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
ACWR_MEASURE = "time under tension (s): 7-day total / (28-day total / 4)"
#: Volume asymmetry (fraction of the larger side) above which the advice names the weaker side.
ASYMMETRY_ADVICE_FRACTION = 0.15


def trained_sessions(sets: Iterable[SetRow]) -> list[datetime]:
    """Start times (UTC) of the sessions that have at least one set, oldest first."""
    return sorted({s.session_started_at for s in sets})


def session_gaps(trained: Sequence[datetime], start: datetime, end: datetime) -> list[Gap]:
    """Gaps between consecutive sessions whose later session lies in ``[start, end)``; ``short`` under
    :data:`MIN_RECOVERY_H`. The last session before ``start`` opens the first gap."""
    before = [t for t in trained if t < start]
    seq = before[-1:] + [t for t in trained if start <= t < end]
    gaps = []
    for a, b in itertools.pairwise(seq):
        hours = (b - a).total_seconds() / 3600.0
        gaps.append(Gap(from_started_at=a, to_started_at=b, hours=hours, short=hours < MIN_RECOVERY_H))
    return gaps


def sessions_status(n_sessions: int) -> str:
    """``below_target``, ``on_target`` or ``above_target`` against :data:`TARGET_SESSIONS`."""
    lo, hi = TARGET_SESSIONS
    if n_sessions < lo:
        return "below_target"
    return "above_target" if n_sessions > hi else "on_target"


def acute_chronic_load(
    sets: Iterable[SetRow], reps_by_set: RepsBySet, end: datetime
) -> tuple[float | None, float, float]:
    """``(ratio, acute_s, chronic_s)``: time under tension of the 7 days before ``end``, and the weekly mean
    of the 28 days before it; the ratio is None without chronic load. Time under tension is the one load
    measure comparable across exercises and resistances."""
    tut_by_session: dict[datetime, float] = defaultdict(float)
    for s in sets:
        for r in reps_by_set.get(s.set_id, []):
            tut_by_session[s.session_started_at] += rep_time_under_tension_s(r)
    acute = sum(v for t, v in tut_by_session.items() if end - timedelta(days=7) <= t < end)
    chronic = sum(v for t, v in tut_by_session.items() if end - timedelta(days=28) <= t < end) / 4.0
    return (acute / chronic if chronic > 0 else None), acute, chronic


def _fraction_of_larger(left: float, right: float) -> float | None:
    larger = max(left, right)
    return (left - right) / larger if larger else None


def _comparable_volumes(left: ExerciseReport, right: ExerciseReport) -> tuple[str, float, float]:
    """``(measure, left, right)``: volume load when both sides used one and the same load unit, else reps."""
    if (
        len(left.volumes) == len(right.volumes) == 1
        and left.volumes[0].load_unit == right.volumes[0].load_unit
        and left.volume_load is not None
        and right.volume_load is not None
    ):
        return volume_unit(left.load_unit), left.volume_load, right.volume_load
    return "reps", float(left.reps), float(right.reps)


def asymmetry(exercise: str, left: ExerciseReport, right: ExerciseReport) -> Asymmetry:
    """``(left - right) / max(left, right)`` of volume (or reps, see :func:`_comparable_volumes`) and of
    median ROM for one exercise."""
    both_roms = left.rom_deg is not None and right.rom_deg is not None
    measure, vol_left, vol_right = _comparable_volumes(left, right)
    return Asymmetry(
        exercise=exercise,
        measure=measure,
        volume_left=vol_left,
        volume_right=vol_right,
        volume_asymmetry=_fraction_of_larger(vol_left, vol_right),
        rom_left_deg=left.rom_deg,
        rom_right_deg=right.rom_deg,
        rom_asymmetry=(_fraction_of_larger(left.rom_deg or 0.0, right.rom_deg or 0.0) if both_roms else None),
    )


def asymmetries(exercises: Iterable[ExerciseReport]) -> list[Asymmetry]:
    """One :class:`Asymmetry` per exercise trained on both sides this week, by exercise name."""
    by_ex: dict[str, dict[str | None, ExerciseReport]] = defaultdict(dict)
    for e in exercises:
        by_ex[e.exercise][e.side] = e
    return [
        asymmetry(exercise, sides["left"], sides["right"])
        for exercise, sides in sorted(by_ex.items())
        if "left" in sides and "right" in sides
    ]


def _sessions_advice(n_sessions: int, status: str, period: WeekPeriod) -> list[str]:
    lo, hi = TARGET_SESSIONS
    if status == "below_target" and not period.complete:
        return [f"{n_sessions} glute session(s) so far ({period.day_range}); the target is {lo}-{hi} a week"]
    if status == "below_target":
        return [f"{n_sessions} glute session(s) this week, below the {lo}-{hi} target"]
    if status == "above_target":
        return [f"{n_sessions} glute sessions this week, above the {lo}-{hi} target: leave 48 h between them"]
    return []


def recovery_advice(
    n_sessions: int,
    status: str,
    gaps: Iterable[Gap],
    asym: Iterable[Asymmetry],
    period: WeekPeriod,
    tz: tzinfo | None = None,
) -> list[str]:
    """Sentences for the summary: sessions off target (so far, in a running week), short gaps (local
    times), clear left/right differences."""
    advice = _sessions_advice(n_sessions, status, period)
    advice.extend(
        f"only {g.hours:.0f} h between sessions ({local(g.from_started_at, tz):%a %H:%M} -> "
        f"{local(g.to_started_at, tz):%a %H:%M}): under the {MIN_RECOVERY_H:.0f} h minimum"
        for g in gaps
        if g.short
    )
    for a in asym:
        if a.volume_asymmetry is not None and abs(a.volume_asymmetry) > ASYMMETRY_ADVICE_FRACTION:
            weaker = "right" if a.volume_asymmetry > 0 else "left"
            advice.append(
                f"{exercise_name(a.exercise)}: {abs(a.volume_asymmetry):.0%} less {a.measure} on the "
                f"{weaker} side"
            )
    return advice


def build_recovery(
    sets: Sequence[SetRow],
    reps_by_set: RepsBySet,
    exercises: Sequence[ExerciseReport],
    period: WeekPeriod,
    window: tuple[datetime, datetime, datetime],
    tz: tzinfo | None = None,
) -> Recovery:
    """The recovery section from all fetched sets; ``window`` is ``(start, end, now)`` in UTC: the week
    ``[start, end)`` and when the report is made. The acute:chronic load ends at the earlier of ``end``
    and ``now`` (a running week's last 7 days are the 7 days before now)."""
    start, end, now = window
    trained = trained_sessions(sets)
    n = sum(1 for t in trained if start <= t < end)
    gaps = session_gaps(trained, start, end)
    status = sessions_status(n)
    acwr, acute, chronic = acute_chronic_load(sets, reps_by_set, min(end, now))
    asym = asymmetries(exercises)
    return Recovery(
        sessions=n,
        target_sessions=TARGET_SESSIONS,
        sessions_status=status,
        min_hours_between_sessions=min((g.hours for g in gaps), default=None),
        short_gaps=tuple(g for g in gaps if g.short),
        flag_under_48h=any(g.short for g in gaps),
        acwr=acwr,
        acute_load_s=acute,
        chronic_load_s=chronic,
        acwr_measure=ACWR_MEASURE,
        acwr_band=ACWR_BAND,
        acwr_caveat=ACWR_CAVEAT,
        asymmetry=tuple(asym),
        advice=tuple(recovery_advice(n, status, gaps, asym, period, tz)),
    )
