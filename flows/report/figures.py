"""Small measures over stored sets and reps that several report rules share.

Pure functions over ``storage.report_queries`` rows: medians and interquartile ranges (s, degrees), volume
load (reps x load, the user's unit), time under tension (s), and the grouping of sets into training
sessions and ISO weeks.
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


def volume_load(sets: Iterable[SetRow]) -> float:
    """Sum of reps x load value; a set without a load value counts its reps (bodyweight)."""
    return float(sum(s.n_reps * (s.load_value if s.load_value is not None else 1.0) for s in sets))


def main_unit(sets: Sequence[SetRow]) -> str | None:
    """The load unit most of the sets use, None if none has one."""
    units = [s.load_unit for s in sets if s.load_unit]
    return max(set(units), key=units.count) if units else None


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


def sets_by_week(sets: Iterable[SetRow], tz: tzinfo | None) -> dict[IsoWeek, list[SetRow]]:
    """Sets grouped by the ISO week (in ``tz``) their session started in."""
    weekly: dict[IsoWeek, list[SetRow]] = defaultdict(list)
    for s in sets:
        weekly[week_of(s.session_started_at, tz)].append(s)
    return weekly


@dataclass(frozen=True, slots=True)
class TrainingSession:
    """One session's sets of one exercise and side, with their reps."""

    started_at: datetime
    sets: tuple[SetRow, ...]
    reps: tuple[RepRow, ...]

    @property
    def resistance(self) -> str | None:
        """The resistance of the session's last set (the one the user ended on)."""
        return self.sets[-1].resistance

    @property
    def load_value(self) -> float | None:
        return self.sets[-1].load_value

    @property
    def load_unit(self) -> str | None:
        return self.sets[-1].load_unit

    def median(self, attr: str) -> float | None:
        """Median of a rep attribute (``concentric_s``, ``rom_deg``, ...) over the session's reps."""
        return median([float(getattr(r, attr)) for r in self.reps])


def training_sessions(sets: Iterable[SetRow], reps_by_set: RepsBySet) -> list[TrainingSession]:
    """The sets grouped by session, oldest first."""
    by_start: dict[datetime, list[SetRow]] = defaultdict(list)
    for s in sets:
        by_start[s.session_started_at].append(s)
    return [
        TrainingSession(started_at=t, sets=tuple(ss), reps=tuple(reps_of(ss, reps_by_set)))
        for t, ss in sorted(by_start.items())
    ]
