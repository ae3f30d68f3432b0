"""Small measures over stored sets and reps that several report rules share.

Pure functions over ``storage.report_queries`` rows: medians and interquartile ranges (s, degrees), volume
load per load unit (reps x load, the user's unit), time under tension (s), which sets' ROM can be trusted,
and the grouping of sets into training sessions and ISO weeks.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo

from flows.report.model import IsoWeek, PhaseStats, week_of
from storage.report_queries import RepRow, SetRow

#: Reps of each set, by ``set_id``.
RepsBySet = Mapping[str, Sequence[RepRow]]

#: The exercise id of sets the recogniser could not name; they count in no exercise figure.
UNKNOWN = "unknown"
#: Top of each exercise's typical range of motion (degrees, training.md). A set whose median ROM is more
#: than :data:`IMPLAUSIBLE_ROM_FACTOR` times this is a misrecognised fragment, not that exercise.
TYPICAL_ROM_TOP_DEG: dict[str, float] = {
    "clamshell": 50.0,
    "side_lying_leg_raise": 45.0,
    "banded_abduction_standing": 40.0,
    "banded_abduction_seated": 35.0,
    "single_leg_glute_bridge": 45.0,
}
IMPLAUSIBLE_ROM_FACTOR = 1.5
#: Sets whose recogniser confidence (0-1, ``sets.exercise_confidence`` where stored) is below this are
#: marked; the recogniser itself calls a set ``unknown`` below 0.5.
LOW_EXERCISE_CONFIDENCE = 0.7


def median(values: Sequence[float]) -> float | None:
    """The median, or None without values."""
    return float(statistics.median(values)) if values else None


def iqr(values: Sequence[float]) -> float | None:
    """Interquartile range (inclusive quartiles); 0 for one value, None without values."""
    if len(values) < 2:
        return 0.0 if values else None
    q = statistics.quantiles(values, n=4, method="inclusive")
    return float(q[2] - q[0])


def phase_stats(values: Sequence[float]) -> PhaseStats:
    """Median and IQR (s) of one tempo phase."""
    return PhaseStats(median_s=median(values), iqr_s=iqr(values))


def by_unit(sets: Iterable[SetRow]) -> dict[str | None, list[SetRow]]:
    """Sets grouped by load unit (``None``: no load logged), in order of first appearance."""
    groups: dict[str | None, list[SetRow]] = {}
    for s in sets:
        groups.setdefault(s.load_unit, []).append(s)
    return groups


def volume_load(sets: Iterable[SetRow]) -> float | None:
    """Sum of reps x load value of sets **of one load unit**; None when they have no load logged.

    Raises ValueError for sets of several units: band levels and kilograms do not add up.
    """
    sets = list(sets)
    units = {s.load_unit for s in sets}
    if len(units) > 1:
        raise ValueError(f"volume load over several load units: {sorted(map(str, units))}")
    if units == {None}:
        return None
    return float(sum(s.n_reps * (s.load_value or 0.0) for s in sets))


def relative_change(new: float | None, old: float | None) -> float | None:
    """``(new - old) / old``, or None when either is missing or ``old`` is 0."""
    if new is None or old is None or old == 0:
        return None
    return (new - old) / old


def rep_time_under_tension_s(rep: RepRow) -> float:
    """Concentric + top hold + eccentric seconds of one rep (the bottom pause is rest)."""
    return rep.concentric_s + rep.top_hold_s + rep.eccentric_s


def time_under_tension_s(reps: Iterable[RepRow]) -> float:
    """Time under tension (s) summed over the reps."""
    return float(sum(rep_time_under_tension_s(r) for r in reps))


def reps_of(sets: Iterable[SetRow], reps_by_set: RepsBySet) -> list[RepRow]:
    """The reps of ``sets``, set by set."""
    return [r for s in sets for r in reps_by_set.get(s.set_id, [])]


def set_rom_deg(s: SetRow, reps_by_set: RepsBySet) -> float | None:
    """Median ROM (degrees) of one set's reps."""
    return median([r.rom_deg for r in reps_by_set.get(s.set_id, [])])


def implausible_rom(s: SetRow, reps_by_set: RepsBySet) -> bool:
    """Whether the set's median ROM is beyond what its exercise reaches (:data:`TYPICAL_ROM_TOP_DEG`)."""
    top = TYPICAL_ROM_TOP_DEG.get(s.exercise)
    rom = set_rom_deg(s, reps_by_set)
    return top is not None and rom is not None and rom > IMPLAUSIBLE_ROM_FACTOR * top


def rom_reps(sets: Iterable[SetRow], reps_by_set: RepsBySet) -> list[RepRow]:
    """The reps whose ROM counts: those of sets without an implausible ROM."""
    return [r for s in sets if not implausible_rom(s, reps_by_set) for r in reps_by_set.get(s.set_id, [])]


def rom_median_deg(sets: Iterable[SetRow], reps_by_set: RepsBySet) -> float | None:
    """Median ROM (degrees) over the reps of ``sets``, implausible sets left out."""
    return median([r.rom_deg for r in rom_reps(sets, reps_by_set)])


def set_flags(s: SetRow, reps_by_set: RepsBySet) -> tuple[str, ...]:
    """Marks a reader should see on a set (see :class:`flows.report.model.SetSummary`)."""
    flags = []
    if implausible_rom(s, reps_by_set):
        flags.append("implausible_rom")
    if s.exercise_confidence is not None and s.exercise_confidence < LOW_EXERCISE_CONFIDENCE:
        flags.append("low_confidence")
    if s.load_source == "user":
        flags.append("load_logged")
    if s.corrected or s.exercise_source == "user":
        flags.append("corrected")
    return tuple(flags)


def sets_by_week(sets: Iterable[SetRow], tz: tzinfo | None) -> dict[IsoWeek, list[SetRow]]:
    """Sets grouped by the ISO week (in ``tz``) their session started in."""
    weekly: dict[IsoWeek, list[SetRow]] = defaultdict(list)
    for s in sets:
        weekly[week_of(s.session_started_at, tz)].append(s)
    return weekly


def load_rank(s: SetRow) -> float:
    """Orders the loads of one unit: by value; a set without a value ranks lowest."""
    return s.load_value if s.load_value is not None else float("-inf")


def heaviest(sets: Sequence[SetRow]) -> SetRow:
    """The set with the heaviest load of ``sets`` (one load unit; the latest among equals)."""
    return max(reversed(sets), key=load_rank)


@dataclass(frozen=True, slots=True)
class TrainingSession:
    """One session's sets of one exercise, side and load unit, with their reps (ROM-trusted reps apart)."""

    started_at: datetime
    sets: tuple[SetRow, ...]
    reps: tuple[RepRow, ...]
    rom_reps: tuple[RepRow, ...] = ()

    @property
    def top(self) -> SetRow:
        """The set with the heaviest resistance of the session."""
        return heaviest(self.sets)

    @property
    def resistance(self) -> str | None:
        """The heaviest resistance the session used."""
        return self.top.resistance

    def median(self, attr: str) -> float | None:
        """Median of a rep attribute (``concentric_s``, ``rom_deg``, ...) over the session's reps; ROM
        only over the reps of sets whose ROM is plausible."""
        reps = self.rom_reps if attr == "rom_deg" else self.reps
        values = [getattr(r, attr) for r in reps]
        return median([float(v) for v in values if v is not None])


def training_sessions(sets: Iterable[SetRow], reps_by_set: RepsBySet) -> list[TrainingSession]:
    """The sets grouped by session, oldest first."""
    by_start: dict[datetime, list[SetRow]] = defaultdict(list)
    for s in sets:
        by_start[s.session_started_at].append(s)
    return [
        TrainingSession(
            started_at=t,
            sets=tuple(ss),
            reps=tuple(reps_of(ss, reps_by_set)),
            rom_reps=tuple(rom_reps(ss, reps_by_set)),
        )
        for t, ss in sorted(by_start.items())
    ]
