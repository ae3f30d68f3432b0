"""Progressive overload by double progression, and stalls: one rule per verdict, each testable alone.

Double progression (training.md): build every set from the bottom to the top of the rep range with a
slow, controlled tempo and full range; after :data:`SESSIONS_TO_PROGRESS` such sessions at the same
resistance, step the resistance up and restart at the bottom of the range.

Loads are only compared within one load unit (an implement: bands by level, weights in kg, bodyweight):
the sets of one exercise and side are split by unit into *tracks* and every track used in the report week
gets its own verdict. A session's resistance is the **heaviest** it used in that unit. :func:`overload`
asks the rules in order and takes the first verdict:

1. :func:`no_load_rule`: the sets have no load logged -> ``no_load`` (say how to log it);
2. :func:`implement_rule`: the unit is new this week while earlier weeks used another -> ``new_resistance``
   after bodyweight, else ``changed_implement`` (band levels and kg are not compared);
3. :func:`increase_rule`: enough qualifying sessions in a row -> ``increase`` (name the next resistance);
4. :func:`load_rose_rule`: the heaviest load rose against last week -> ``rom_dropping`` when the range of
   motion fell by more than :data:`ROM_DROP_FRACTION`, else ``new_resistance``;
5. :func:`stall_rule`: no progress for :data:`STALL_WEEKS` weeks -> ``stalled``;
6. otherwise :func:`building_rule` -> ``building``.

Every verdict names resistances in words (:func:`flows.report.names.describe_resistance`) and ends with
the next step, ``next: <resistance> x <low>-<high>``. Units: band levels, kg, bodyweight; s; degrees.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import tzinfo

from flows.report.figures import TrainingSession, heaviest, load_rank, median
from flows.report.model import IsoWeek, Overload, SetSummary, week_of
from flows.report.names import describe_implement, describe_resistance, status_words
from storage.plan import BAND_LEVELS
from storage.report_queries import PlanRow, SetRow

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
#: Band colours lightest first, as the plan file knows them (storage.plan.BAND_LEVELS).
BAND_COLOURS = tuple(sorted(BAND_LEVELS, key=BAND_LEVELS.__getitem__))
#: Weekly volume change (fraction of the mean per week) under which a trend is flat: one rep more or less
#: per set is noise at this scale.
FLAT_TREND_FRACTION = 0.05
#: Steps up for weights: +0.5 kg under 2 kg, else +1 kg; +2.5 lb for weights written in pounds.
SMALL_KG_STEP, KG_STEP, LB_STEP = 0.5, 1.0, 2.5

NO_DATA = Overload(
    status="no_data",
    status_words=status_words("no_data"),
    reason="no sessions",
    advice="no sessions",
    load_unit=None,
    resistance=None,
    resistance_words=describe_resistance(None),
    next_resistance=None,
    next_step="",
    qualifying_sessions=0,
)


# ------------------------------------------------------------------------------------------- resistances


def _fmt_num(x: float) -> str:
    return f"{x:.0f}" if abs(x - round(x)) < 0.05 else f"{x:.1f}"


def next_resistance(resistance: str | None, load_value: float | None, load_unit: str | None) -> str | None:
    """The next step up: the next band colour/level, +1 kg (+0.5 kg below 2 kg) or +2.5 lb, or a light
    band after bodyweight; None when there is no heavier step (a black band) or the resistance is unknown."""
    if resistance is None:
        return None
    kind, _, spec = resistance.partition(":")
    kind = kind.strip().lower()
    spec = spec.strip().lower()
    if kind == "bodyweight":
        return f"band:{BAND_COLOURS[0]}"
    if kind == "band":
        return _next_band(spec, load_value, load_unit)
    m = re.fullmatch(r"([0-9.]+)\s*(kg|lb|lbs)", spec)
    if m:
        value = float(m.group(1))
        if m.group(2) == "kg":
            return f"{kind}:{_fmt_num(value + (SMALL_KG_STEP if value < 2 else KG_STEP))}kg"
        return f"{kind}:{_fmt_num(value + LB_STEP)}lb"
    return None


def _next_band(spec: str, load_value: float | None, load_unit: str | None) -> str | None:
    if spec in BAND_COLOURS:
        i = BAND_COLOURS.index(spec)
        return f"band:{BAND_COLOURS[i + 1]}" if i + 1 < len(BAND_COLOURS) else None
    if spec.isdigit():
        return f"band:{int(spec) + 1}"
    if load_unit == "band_level" and load_value is not None:
        return f"band:{int(load_value) + 1}"
    return None


def heavier(a: SetRow, b: SetRow) -> bool:
    """Whether ``a``'s load is a step up from ``b``'s: within one unit by value, or from bodyweight to an
    added resistance (bands and kg are not compared with each other)."""
    if a.load_unit == b.load_unit:
        return load_rank(a) > load_rank(b)
    return b.load_unit == "bodyweight" and a.load_unit in ("band_level", "kg")


def rep_target(resistance: str | None, low: int, high: int) -> str:
    """``green band x 10-15``: a resistance in words and the rep range."""
    reps = f"{low}" if low == high else f"{low}-{high}"
    return f"{describe_resistance(resistance)} x {reps}"


# ------------------------------------------------------------------------------------------- tempo, trend


def tempo_notation(eccentric_s: float, bottom_pause_s: float, concentric_s: float, top_hold_s: float) -> str:
    """The report's tempo, eccentric-pause-concentric-hold, each rounded to whole seconds (``2-1-2-1``)."""
    return "-".join(str(round(x)) for x in (eccentric_s, bottom_pause_s, concentric_s, top_hold_s))


def session_tempo(session: TrainingSession) -> str:
    """The session's median tempo in the report's notation; ``?`` for a phase without data."""
    values = [session.median(a) for a in ("eccentric_s", "bottom_pause_s", "concentric_s", "top_hold_s")]
    return "-".join("?" if v is None else str(round(v)) for v in values)


def trend_direction(values: Sequence[float | None]) -> str:
    """``rising``, ``falling`` or ``flat`` by the least-squares slope over the weeks with a value (relative
    to their mean, :data:`FLAT_TREND_FRACTION` per week); ``insufficient_data`` with fewer than two."""
    points = [(i, v) for i, v in enumerate(values) if v is not None and v > 0]
    if len(points) < 2:
        return "insufficient_data"
    mx = statistics.fmean(x for x, _ in points)
    my = statistics.fmean(y for _, y in points)
    sxx = sum((x - mx) ** 2 for x, _ in points)
    slope = sum((x - mx) * (y - my) for x, y in points) / sxx if sxx else 0.0
    rel = slope / my if my else 0.0
    if rel > FLAT_TREND_FRACTION:
        return "rising"
    if rel < -FLAT_TREND_FRACTION:
        return "falling"
    return "flat"


# ------------------------------------------------------------------------------------- qualifying, stalls


def qualifies(session: TrainingSession, reps_high: int, best_rom: float | None) -> bool:
    """Every set at the top of the rep range, slow concentric and eccentric, and full range."""
    if not session.sets or any(s.n_reps < reps_high for s in session.sets):
        return False
    conc, ecc = session.median("concentric_s"), session.median("eccentric_s")
    if conc is None or ecc is None:
        return False
    if conc < MIN_CONTROLLED_PHASE_S or ecc < MIN_CONTROLLED_PHASE_S:
        return False
    rom = session.median("rom_deg")
    return not (best_rom is not None and rom is not None and rom < FULL_ROM_FRACTION * best_rom)


def qualifying_streak(sessions: Sequence[TrainingSession], reps_high: int) -> int:
    """Qualifying sessions in a row, counted back from the last, at the last session's resistance."""
    at_res = [s for s in sessions if s.resistance == sessions[-1].resistance]
    roms = [r for r in (s.median("rom_deg") for s in at_res) if r is not None]
    best_rom = max(roms) if roms else None
    streak = 0
    for s in reversed(at_res):
        if not qualifies(s, reps_high, best_rom):
            break
        streak += 1
    return streak


def stalled_weeks(weekly: Mapping[IsoWeek, Sequence[SetRow]], week: IsoWeek) -> int:
    """Weeks since the last improvement of (heaviest load, mean reps per set) in one load unit, counting
    this week."""
    best: tuple[float, float] | None = None
    last_improved: IsoWeek | None = None
    for w in sorted(w for w in weekly if w <= week):
        sets = weekly[w]
        score = (load_rank(heaviest(sets)), round(statistics.fmean(s.n_reps for s in sets), 1))
        if best is None or score > best:
            best, last_improved = score, w
    if last_improved is None:
        return 0
    return (week.monday - last_improved.monday).days // 7


# ------------------------------------------------------------------------------------------------ rules


@dataclass(frozen=True, slots=True, kw_only=True)
class Progression:
    """What the overload rules look at for one exercise, side and load unit, up to the report week's end.

    ``sessions`` oldest first (at least one) and ``weekly`` (the same sets by ISO week) hold this unit's
    sets only; ``streak`` counts qualifying sessions in a row at the current resistance; ``before`` is the
    exercise's last set before the report week in *another* unit (None if none), for implement changes;
    ``week_sets`` this unit's sets of the report week, as the report lists them; ``last_week_rom_deg`` the
    median of last week's session ROM medians over every unit (for a step up from bodyweight).
    """

    sessions: Sequence[TrainingSession]
    weekly: Mapping[IsoWeek, Sequence[SetRow]]
    week: IsoWeek
    tz: tzinfo | None
    reps_low: int
    reps_high: int
    streak: int
    before: SetRow | None = None
    week_sets: Sequence[SetSummary] = ()
    last_week_rom_deg: float | None = None

    @property
    def current(self) -> TrainingSession:
        return self.sessions[-1]

    @property
    def load_unit(self) -> str | None:
        return self.current.top.load_unit

    @property
    def resistance(self) -> str | None:
        return self.current.resistance

    @property
    def next_resistance(self) -> str | None:
        top = self.current.top
        return next_resistance(top.resistance, top.load_value, top.load_unit)

    @property
    def target(self) -> str:
        """The current resistance with the rep range: ``red band x 10-15``."""
        return rep_target(self.resistance, self.reps_low, self.reps_high)

    def week_rom(self, week: IsoWeek) -> float | None:
        """Median over ``week``'s sessions of each session's median ROM (degrees)."""
        roms = [s.median("rom_deg") for s in self.sessions if week_of(s.started_at, self.tz) == week]
        return median([r for r in roms if r is not None])

    def verdict(self, status: str, why: str, next_step: str | None = None) -> Overload:
        step = self.target if next_step is None else next_step
        return Overload(
            status=status,
            status_words=status_words(status),
            reason=why,
            advice=f"{why}; next: {step}",
            load_unit=self.load_unit,
            resistance=self.resistance,
            resistance_words=describe_resistance(self.resistance),
            next_resistance=self.next_resistance,
            next_step=step,
            qualifying_sessions=self.streak,
        )


def rep_range(plan: PlanRow | None) -> tuple[int, int]:
    """The planned rep range, else :data:`DEFAULT_REPS_LOW`-:data:`DEFAULT_REPS_HIGH`."""
    low = plan.target_reps_low if plan and plan.target_reps_low else DEFAULT_REPS_LOW
    high = plan.target_reps_high if plan and plan.target_reps_high else DEFAULT_REPS_HIGH
    return low, high


def no_load_rule(p: Progression) -> Overload | None:
    """``no_load`` for sets without a logged load: progress cannot be judged, say how to log it."""
    if p.load_unit is not None:
        return None
    refs = [s for s in p.week_sets if s.load_unit is None]
    example = refs[0] if refs else None
    how = f"hipsync log {example.ref.replace(' #', ' ')} --load band:red" if example else "hipsync log"
    return p.verdict(
        "no_load",
        f"no load logged for {len(refs)} set(s) this week, so progress cannot be judged: log it with "
        f"`{how}` (or put the exercise in your plan)",
        f"log the load, then x {p.reps_low}-{p.reps_high}",
    )


def stepped_up(p: Progression, before: str | None, now: str | None, rom_last: float | None) -> Overload:
    """The verdict after a step up from ``before`` to ``now``: ``rom_dropping`` when this week's ROM fell
    by more than :data:`ROM_DROP_FRACTION` against ``rom_last``, else ``new_resistance``."""
    was, is_now = describe_resistance(before), describe_resistance(now)
    rom_this = p.week_rom(p.week)
    if rom_this is not None and rom_last and rom_this < (1 - ROM_DROP_FRACTION) * rom_last:
        return p.verdict(
            "rom_dropping",
            f"range of motion fell from {rom_last:.0f} to {rom_this:.0f} deg after stepping up from {was} "
            f"to {is_now}: stay at {is_now} and work back to full range before adding reps",
        )
    this = p.weekly.get(p.week, [])
    on_it = sum(1 for s in this if s.resistance == now)
    return p.verdict(
        "new_resistance",
        f"stepped up from {was} to {is_now} ({on_it} of {len(this)} sets this week): restart at "
        f"{p.reps_low} reps and build every set to {p.reps_high} with controlled tempo",
    )


def implement_rule(p: Progression) -> Overload | None:
    """A unit first used this week after another one: a step up after bodyweight (:func:`stepped_up`),
    else ``changed_implement`` (the two units' loads are not compared; progress restarts on the new one)."""
    if p.before is None or any(w < p.week for w in p.weekly):
        return None
    if heavier(p.current.top, p.before):
        return stepped_up(p, p.before.resistance, p.resistance, p.last_week_rom_deg)
    implement = describe_implement(p.resistance, p.load_unit)
    old = describe_implement(p.before.resistance, p.before.load_unit)
    return p.verdict(
        "changed_implement",
        f"changed from {describe_resistance(p.before.resistance)} to {implement} this week (heaviest: "
        f"{describe_resistance(p.resistance)}); {old} and {implement} loads are not compared, so progress "
        f"restarts here: build every set to {p.reps_high} reps",
    )


def increase_rule(p: Progression) -> Overload | None:
    """``increase`` after :data:`SESSIONS_TO_PROGRESS` qualifying sessions in a row."""
    if p.streak < SESSIONS_TO_PROGRESS:
        return None
    tempo = session_tempo(p.current)
    nxt = p.next_resistance
    why = (
        f"every set at {p.reps_high} reps with controlled tempo ({tempo}) and full range for {p.streak} "
        f"sessions at {describe_resistance(p.resistance)}"
    )
    if nxt is None:
        return p.verdict(
            "increase",
            f"{why}, and no heavier step is known: add a set or slow the lowering",
            f"{describe_resistance(p.resistance)} x {p.reps_high}, one set more",
        )
    return p.verdict(
        "increase",
        f"{why}: step up to {describe_resistance(nxt)} and restart at {p.reps_low} reps",
        rep_target(nxt, p.reps_low, p.reps_high),
    )


def load_rose_rule(p: Progression) -> Overload | None:
    """After a step up of the heaviest load against last week (one unit): :func:`stepped_up`."""
    this, last = p.weekly.get(p.week, []), p.weekly.get(p.week.shift(-1), [])
    if not this or not last:
        return None
    top_this, top_last = heaviest(this), heaviest(last)
    if not heavier(top_this, top_last):
        return None
    return stepped_up(p, top_last.resistance, top_this.resistance, p.week_rom(p.week.shift(-1)))


def stall_rule(p: Progression) -> Overload | None:
    """``stalled`` when neither load nor reps improved for :data:`STALL_WEEKS` weeks."""
    stalled = stalled_weeks(p.weekly, p.week)
    if stalled < STALL_WEEKS:
        return None
    reps = [s.n_reps for s in p.current.sets]
    return p.verdict(
        "stalled",
        f"stalled {stalled} weeks at {describe_resistance(p.resistance)} (sets of {min(reps)}-{max(reps)} "
        f"reps): add one rep per set each session, slow the lowering, or take a lighter week",
    )


def building_rule(p: Progression) -> Overload:
    """``building``: keep the resistance and build every set to the top of the range."""
    low_now = min(s.n_reps for s in p.current.sets)
    return p.verdict(
        "building",
        f"keep {describe_resistance(p.resistance)}: build every set to {p.reps_high} reps with controlled "
        f"tempo (lowest set last session {low_now}; {p.streak} of {SESSIONS_TO_PROGRESS} sessions with "
        "every set at the top)",
    )


#: The rules :func:`overload` asks, in order; the first verdict wins, :func:`building_rule` otherwise.
OVERLOAD_RULES: tuple[Callable[[Progression], Overload | None], ...] = (
    no_load_rule,
    implement_rule,
    increase_rule,
    load_rose_rule,
    stall_rule,
)


def overload(
    sessions: Sequence[TrainingSession],
    weekly: Mapping[IsoWeek, Sequence[SetRow]],
    week: IsoWeek,
    tz: tzinfo | None,
    plan: PlanRow | None,
    *,
    before: SetRow | None = None,
    week_sets: Sequence[SetSummary] = (),
    last_week_rom_deg: float | None = None,
) -> Overload:
    """The double-progression verdict for one exercise, side and load unit (see the module docstring).

    ``sessions`` and ``weekly`` hold the sets of one load unit only; ``before`` is the exercise's last set
    before the week in another unit, if any; ``last_week_rom_deg`` see :class:`Progression`.
    """
    if not sessions:
        return NO_DATA
    reps_low, reps_high = rep_range(plan)
    p = Progression(
        sessions=sessions,
        weekly=weekly,
        week=week,
        tz=tz,
        reps_low=reps_low,
        reps_high=reps_high,
        streak=qualifying_streak(sessions, reps_high),
        before=before,
        week_sets=week_sets,
        last_week_rom_deg=last_week_rom_deg,
    )
    for rule in OVERLOAD_RULES:
        verdict = rule(p)
        if verdict is not None:
            return verdict
    return building_rule(p)
