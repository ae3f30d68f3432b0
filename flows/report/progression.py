"""Progressive overload by double progression, and stalls: one rule per verdict, each testable alone.

Double progression (training.md): build every set from the bottom to the top of the rep range with a
slow, controlled tempo and full range; after :data:`SESSIONS_TO_PROGRESS` such sessions at the same
resistance, step the resistance up and restart at the bottom of the range.

:func:`overload` asks the rules in order and takes the first verdict:

1. :func:`increase_rule`: enough qualifying sessions in a row -> ``increase`` (name the next resistance);
2. :func:`load_rose_rule`: the load rose against last week -> ``rom_dropping`` when the range of motion
   fell by more than :data:`ROM_DROP_FRACTION`, else ``new_resistance``;
3. :func:`stall_rule`: no progress for :data:`STALL_WEEKS` weeks -> ``stalled``;
4. otherwise :func:`building_rule` -> ``building``.

Without sessions the verdict is ``no_data``. Loads: band levels, kg or bodyweight reps; seconds; degrees.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import tzinfo

from flows.report.figures import TrainingSession, median
from flows.report.model import IsoWeek, Overload, week_of
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

NO_DATA = Overload(
    status="no_data", advice="no sessions", resistance=None, next_resistance=None, qualifying_sessions=0
)


# ------------------------------------------------------------------------------------------- resistances


def _fmt_num(x: float) -> str:
    return f"{x:.0f}" if abs(x - round(x)) < 0.05 else f"{x:.1f}"


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
        return _next_band(spec, load_value, load_unit)
    m = re.fullmatch(r"([0-9.]+)\s*kg", spec)
    if m:
        kg = float(m.group(1))
        step = 0.5 if kg < 2 else 1.0
        return f"{kind}:{_fmt_num(kg + step)}kg"
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


def describe_resistance(resistance: str | None) -> str:
    """A resistance in words: ``red band``, ``band level 3``, ``2kg ankle weight``, ``bodyweight``."""
    if resistance is None:
        return "the current resistance"
    kind, _, spec = resistance.partition(":")
    if kind == "band" and spec:
        return f"{spec} band" if not spec.isdigit() else f"band level {spec}"
    if spec:
        return f"{spec} {kind} weight" if kind == "ankle" else f"{kind} {spec}"
    return kind


def load_rank(s: SetRow) -> tuple[int, float]:
    """Orders loads: bodyweight below any added resistance; within one unit by value."""
    if s.load_unit is None:
        return (0, 0.0)
    return (0 if s.load_unit == "bodyweight" else 1, s.load_value or 0.0)


def heavier(a: SetRow, b: SetRow) -> bool:
    """Whether ``a``'s load is a step up from ``b``'s (bands and kg are not compared with each other)."""
    if a.load_unit == b.load_unit:
        return (a.load_value or 0.0) > (b.load_value or 0.0)
    # Going from bodyweight (or an unknown load) to a band or an ankle weight adds resistance.
    return b.load_unit in (None, "bodyweight") and a.load_unit not in (None, "bodyweight")


# ------------------------------------------------------------------------------------------- tempo, trend


def tempo_notation(eccentric_s: float, bottom_pause_s: float, concentric_s: float, top_hold_s: float) -> str:
    """Coaches' four-number tempo, eccentric-pause-concentric-pause, each rounded to whole seconds."""
    return "-".join(str(round(x)) for x in (eccentric_s, bottom_pause_s, concentric_s, top_hold_s))


def short_tempo(concentric_s: float | None, top_hold_s: float | None, eccentric_s: float | None) -> str:
    """The three-number form concentric-hold-eccentric (e.g. ``2-1-2``); ``?`` when a phase is unknown."""
    if concentric_s is None or top_hold_s is None or eccentric_s is None:
        return "?"
    return f"{round(concentric_s)}-{round(top_hold_s)}-{round(eccentric_s)}"


def trend_direction(values: Sequence[float]) -> str:
    """``rising``, ``falling`` or ``flat`` by the least-squares slope over the non-zero weeks (relative to
    their mean, :data:`FLAT_TREND_FRACTION` per week); ``insufficient_data`` with fewer than two."""
    nonzero = [v for v in values if v > 0]
    if len(nonzero) < 2:
        return "insufficient_data"
    xs = [i for i, v in enumerate(values) if v > 0]
    mx, my = statistics.fmean(xs), statistics.fmean(nonzero)
    sxx = sum((x - mx) ** 2 for x in xs)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, nonzero, strict=True)) / sxx if sxx else 0.0
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
    """Weeks since the last improvement of (resistance load, mean reps per set), counting this week."""
    best: tuple[float, float, float] | None = None
    last_improved: IsoWeek | None = None
    for w in sorted(w for w in weekly if w <= week):
        sets = weekly[w]
        top = load_rank(max(sets, key=load_rank))
        score = (top[0], top[1], round(statistics.fmean(s.n_reps for s in sets), 1))
        if best is None or score > best:
            best, last_improved = score, w
    if last_improved is None:
        return 0
    return (week.monday - last_improved.monday).days // 7


# ------------------------------------------------------------------------------------------------ rules


@dataclass(frozen=True, slots=True, kw_only=True)
class Progression:
    """What the overload rules look at for one exercise and side, up to the end of the report week.

    ``sessions`` oldest first (at least one); ``weekly`` the same sets by ISO week; ``streak`` qualifying
    sessions in a row at the current resistance.
    """

    sessions: Sequence[TrainingSession]
    weekly: Mapping[IsoWeek, Sequence[SetRow]]
    week: IsoWeek
    tz: tzinfo | None
    reps_low: int
    reps_high: int
    streak: int

    @property
    def current(self) -> TrainingSession:
        return self.sessions[-1]

    @property
    def resistance(self) -> str | None:
        return self.current.resistance

    @property
    def next_resistance(self) -> str | None:
        return next_resistance(self.resistance, self.current.load_value, self.current.load_unit)

    def week_rom(self, week: IsoWeek) -> float | None:
        """Median over ``week``'s sessions of each session's median ROM (degrees)."""
        roms = [s.median("rom_deg") for s in self.sessions if week_of(s.started_at, self.tz) == week]
        return median([r for r in roms if r is not None])

    def verdict(self, status: str, advice: str) -> Overload:
        return Overload(
            status=status,
            advice=advice,
            resistance=self.resistance,
            next_resistance=self.next_resistance,
            qualifying_sessions=self.streak,
        )


def rep_range(plan: PlanRow | None) -> tuple[int, int]:
    """The planned rep range, else :data:`DEFAULT_REPS_LOW`-:data:`DEFAULT_REPS_HIGH`."""
    low = plan.target_reps_low if plan and plan.target_reps_low else DEFAULT_REPS_LOW
    high = plan.target_reps_high if plan and plan.target_reps_high else DEFAULT_REPS_HIGH
    return low, high


def increase_rule(p: Progression) -> Overload | None:
    """``increase`` after :data:`SESSIONS_TO_PROGRESS` qualifying sessions in a row."""
    if p.streak < SESSIONS_TO_PROGRESS:
        return None
    cur = p.current
    tempo = short_tempo(cur.median("concentric_s"), cur.median("top_hold_s"), cur.median("eccentric_s"))
    nxt = p.next_resistance
    target = (
        f"move from {describe_resistance(p.resistance)} to {describe_resistance(nxt)}"
        if nxt
        else "add a set or slow the tempo"
    )
    return p.verdict(
        "increase",
        f"all sets at {p.reps_high} reps with {tempo} tempo (concentric-hold-eccentric, s) for "
        f"{p.streak} sessions: {target}, and restart at {p.reps_low} reps",
    )


def load_rose_rule(p: Progression) -> Overload | None:
    """After a load step against last week: ``rom_dropping`` if ROM fell, else ``new_resistance``."""
    this, last = p.weekly.get(p.week, []), p.weekly.get(p.week.shift(-1), [])
    if not this or not last:
        return None
    top_this, top_last = max(this, key=load_rank), max(last, key=load_rank)
    if not heavier(top_this, top_last):
        return None
    unit, before = describe_resistance(p.resistance), describe_resistance(top_last.resistance)
    rom_this, rom_last = p.week_rom(p.week), p.week_rom(p.week.shift(-1))
    if rom_this is not None and rom_last and rom_this < (1 - ROM_DROP_FRACTION) * rom_last:
        return p.verdict(
            "rom_dropping",
            f"ROM dropping while load rose: {rom_last:.0f} -> {rom_this:.0f} deg after moving "
            f"from {before} to {unit}; keep {unit} and work back to full range before adding reps",
        )
    return p.verdict(
        "new_resistance",
        f"resistance stepped up from {before} to {unit}: restart at {p.reps_low} reps and "
        f"build to {p.reps_high} in every set with controlled tempo",
    )


def stall_rule(p: Progression) -> Overload | None:
    """``stalled`` when neither load nor reps improved for :data:`STALL_WEEKS` weeks."""
    stalled = stalled_weeks(p.weekly, p.week)
    if stalled < STALL_WEEKS:
        return None
    reps = [s.n_reps for s in p.current.sets]
    return p.verdict(
        "stalled",
        f"stalled {stalled} weeks at {describe_resistance(p.resistance)} (sets of {min(reps)}-{max(reps)} "
        f"reps): add one rep per set each session, slow the eccentric, or deload a week",
    )


def building_rule(p: Progression) -> Overload:
    """``building``: keep the resistance and build every set to the top of the range."""
    low_now = min(s.n_reps for s in p.current.sets)
    return p.verdict(
        "building",
        f"keep {describe_resistance(p.resistance)}; build every set to {p.reps_high} reps with controlled "
        f"tempo (lowest set now {low_now}; {p.streak}/{SESSIONS_TO_PROGRESS} sessions at the top)",
    )


#: The rules :func:`overload` asks, in order; the first verdict wins, :func:`building_rule` otherwise.
OVERLOAD_RULES: tuple[Callable[[Progression], Overload | None], ...] = (
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
) -> Overload:
    """The double-progression verdict for one exercise and side (see the module docstring)."""
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
    )
    for rule in OVERLOAD_RULES:
        verdict = rule(p)
        if verdict is not None:
            return verdict
    return building_rule(p)
