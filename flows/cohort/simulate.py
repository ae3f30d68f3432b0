"""``hipsync cohort simulate``: many simulated athletes, each imported into its own home.

Each athlete is the demo's simulator (:func:`simulate.simulate_program`, compact sessions) with its own
draw of what differs between people: the program (2-3 sessions a week, 3-4 exercises, the starting
resistance, drawn inside the simulator from the athlete's seed), adherence (the chance a planned session
is missed, :data:`MISS_PROBS`), the sensor (:data:`SENSORS`: Polar Verity Sense, WitMotion WT901 or an
accelerometer-only Polar H10) and the legs trained with it (:data:`SIDES`). Progress (strength gained
per session) is drawn by the simulator too.

An athlete who trains both legs moves the one sensor across: the second leg's program is simulated from
its own seed (another person's strength, so the sides differ) with the same exercises and week rhythm,
and each second-leg session is placed on the first leg's training day, right after the first leg's
session when there was one. Its loads are the second program's plan (stored as the athlete's own
entries, ``load_source = 'user'``); the first leg's loads come from the weekly plans, as in the demo.

Sessions are imported through :func:`flows.imports.import_recording` (analysed, idempotent by content);
an athlete whose simulation completed leaves ``simulated.json`` (its spec and counts) in its home, so
running the same command again simulates only the athletes not finished before. With ``workers > 1``
the athletes are simulated on a Dask ``LocalCluster``, one task per athlete (each task is the only writer
of its athlete's database).
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from flows.cohort.layout import AthleteInfo, write_athlete_info
from flows.demo import plan_for_week
from flows.imports import import_recording
from hipsync.records import Recording
from simulate import SensorSpec, SimulatedProgram, SimulatedSession, WeekPlan, simulate_program
from storage import paths
from storage.plan import save_plan

log = logging.getLogger(__name__)

__all__ = [
    "AthleteSpec",
    "SimulatedAthlete",
    "draw_athletes",
    "first_monday",
    "simulate_athlete",
    "simulate_cohort",
]

#: (profile id, sample rate Hz, accelerometer only, share of athletes).
SENSORS: tuple[tuple[str, float, bool, float], ...] = (
    ("polar-verity-sense", 52.0, False, 0.6),
    ("witmotion-wt901", 50.0, False, 0.15),
    ("witmotion-wt901", 100.0, False, 0.15),
    ("polar-h10", 50.0, True, 0.1),
)
#: The legs trained with a sensor, and the share of athletes for each.
SIDES: tuple[tuple[tuple[str, ...], float], ...] = (
    (("left",), 0.4),
    (("right",), 0.35),
    (("left", "right"), 0.25),
)
#: Chance a planned session is missed: from faithful to patchy adherence.
MISS_PROBS = (0.0, 0.05, 0.1, 0.15, 0.25, 0.4)
#: Written into an athlete's home when its simulation is complete: the spec and what was imported.
DONE_FILE = "simulated.json"
#: Rest between the first leg's session and the second leg's on the same day (s).
SECOND_LEG_AFTER_S = 180.0

#: Progress callback: (stage ``athletes`` | ``sessions``, done, total, message).
Progress = Callable[[str, int, int, str], None]


def _noop(stage: str, done: int, total: int, message: str) -> None:
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class AthleteSpec:
    """What one simulated athlete is drawn to be (see the module docstring)."""

    athlete: str
    seed: int
    weeks: int
    start: date
    sides: tuple[str, ...]
    sensor: str
    fs_hz: float
    accel_only: bool
    miss_prob: float


@dataclass(frozen=True, slots=True, kw_only=True)
class SimulatedAthlete:
    """What simulating one athlete stored: sessions planned (over every leg), imported, already there."""

    athlete: str
    home: Path
    sessions_per_week: int
    planned: int
    imported: int
    skipped: int
    quarantined: int
    n_reps: int


def first_monday(weeks: int, today: date) -> date:
    """The Monday ``weeks`` weeks before this week's Monday: the program ends with the last complete week."""
    monday = today - timedelta(days=today.weekday())
    return monday - timedelta(weeks=weeks)


def _pick(rng: np.random.Generator, shares: list[float]) -> int:
    p = np.asarray(shares, dtype=float)
    return int(rng.choice(len(p), p=p / p.sum()))


def draw_athletes(n: int, weeks: int, seed: int, start: date) -> list[AthleteSpec]:
    """``n`` athletes (ids ``athlete-001`` ...), deterministic for ``seed``; each has its own program seed."""
    if n < 1 or weeks < 1:
        raise ValueError(f"need at least one athlete and one week, got {n} athletes, {weeks} weeks")
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0xC0407]))
    width = max(3, len(str(n)))
    specs = []
    for i in range(1, n + 1):
        profile, fs_hz, accel_only, _ = SENSORS[_pick(rng, [s[3] for s in SENSORS])]
        sides = SIDES[_pick(rng, [s[1] for s in SIDES])][0]
        specs.append(
            AthleteSpec(
                athlete=f"athlete-{i:0{width}d}",
                seed=int(rng.integers(0, 2**31 - 1)),
                weeks=weeks,
                start=start,
                sides=sides,
                sensor=profile,
                fs_hz=fs_hz,
                accel_only=accel_only,
                miss_prob=float(rng.choice(MISS_PROBS)),
            )
        )
    return specs


def _program(
    spec: AthleteSpec, side: str, seed: int, like: SimulatedProgram | None = None
) -> SimulatedProgram:
    """One leg's program; ``like``: take its exercises (in its order) and sessions per week."""
    exercises = None if like is None else list(like.plan[0].targets)
    per_week = None if like is None else _sessions_per_week(like)
    return simulate_program(
        spec.weeks,
        seed,
        sessions_per_week=per_week,
        exercises=exercises,
        start_date=spec.start,
        side=side,
        fs_hz=spec.fs_hz,
        compact=True,
        miss_prob=spec.miss_prob,
        sensor=SensorSpec(accel_only=spec.accel_only),
    )


def _sessions_per_week(program: SimulatedProgram) -> int:
    return sum(1 for s in program.schedule if s.week == 1)


@dataclass(frozen=True, slots=True)
class _Planned:
    """A session to import: the simulated session, when it starts, its week's plan, whose loads."""

    session: SimulatedSession
    started_at: datetime
    week: WeekPlan
    own_loads: bool


def _slots(program: SimulatedProgram) -> dict[tuple[int, int], tuple[date, SimulatedSession | None]]:
    """(week, slot in the week) -> (training day, the session done or None when missed)."""
    out: dict[tuple[int, int], tuple[date, SimulatedSession | None]] = {}
    seen: dict[int, int] = defaultdict(int)
    for s in program.schedule:
        k = seen[s.week]
        seen[s.week] += 1
        out[(s.week, k)] = (s.day, None if s.session_index is None else program.sessions[s.session_index])
    return out


def planned_sessions(first: SimulatedProgram, second: SimulatedProgram | None) -> Iterator[_Planned]:
    """Every session to import, first leg's then second leg's, with their start times and plans."""
    weeks = {p.week: p for p in first.plan}
    for x in first.schedule:
        if x.session_index is not None:
            s = first.sessions[x.session_index]
            yield _Planned(s, s.started_at, weeks[x.week], own_loads=False)
    if second is None:
        return
    first_slots = _slots(first)
    second_weeks = {p.week: p for p in second.plan}
    for (week, k), (_, s2) in _slots(second).items():
        if s2 is None:
            continue
        day, s1 = first_slots.get((week, k), (s2.started_at.date(), None))
        if s1 is not None:
            at = s1.started_at + timedelta(seconds=s1.duration_s + SECOND_LEG_AFTER_S)
        else:
            at = datetime.combine(day, s2.started_at.timetz())
        yield _Planned(s2, at.astimezone(UTC), second_weeks[week], own_loads=True)


def _import_all(db: Path, todo: list[_Planned], sensor: str, progress: Progress) -> tuple[int, int, int, int]:
    imported = skipped = quarantined = n_reps = 0
    recorded: set[int] = set()
    for i, p in enumerate(todo, start=1):
        rec = replace(Recording.of(p.session, profile=sensor), started_at=p.started_at)
        loads = {ex: t.resistance for ex, t in p.week.targets.items()} if p.own_loads else None
        # Each week's plan goes into the plan history once, with the week's first session (a write each).
        plan = None if p.own_loads or p.week.week in recorded else plan_for_week(p.week)
        if plan is not None:
            recorded.add(p.week.week)
        res = import_recording(db, rec, started_at=p.started_at, plan=plan, loads=loads)
        if res.status == "skipped":
            skipped += 1
        elif res.status == "quarantined":
            quarantined += 1
        else:
            imported += 1
        n_reps += res.n_reps
        progress("sessions", i, len(todo), f"{p.started_at:%a %d %b} {rec.side}: {res.status}")
    return imported, skipped, quarantined, n_reps


def _spec_json(spec: AthleteSpec) -> dict[str, Any]:
    out: dict[str, Any] = json.loads(json.dumps(asdict(spec), default=str))
    return out


def _done_before(home: Path, spec: AthleteSpec) -> SimulatedAthlete | None:
    """What an earlier run with the same spec stored (``home/simulated.json``), as nothing new to import."""
    try:
        marker = json.loads((home / DONE_FILE).read_text("utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    if marker.get("spec") != _spec_json(spec):
        return None
    r = marker["result"]
    return SimulatedAthlete(
        athlete=spec.athlete,
        home=home,
        sessions_per_week=r["sessions_per_week"],
        planned=r["planned"],
        imported=0,
        skipped=r["imported"] + r["skipped"],
        quarantined=r["quarantined"],
        n_reps=r["n_reps"],
    )


def simulate_athlete(root: Path, spec: AthleteSpec, progress: Progress = _noop) -> SimulatedAthlete:
    """Simulate one athlete's program(s) and import them into ``root/<athlete>`` (idempotent: an athlete
    finished before with the same spec is not simulated again)."""
    home = root / spec.athlete
    if (earlier := _done_before(home, spec)) is not None:
        return earlier
    first = _program(spec, spec.sides[0], spec.seed)
    second = None
    if len(spec.sides) > 1:
        second_seed = int(np.random.SeedSequence([spec.seed, 2]).generate_state(1)[0] >> 1)
        second = _program(spec, spec.sides[1], second_seed, like=first)
    per_week = _sessions_per_week(first)
    write_athlete_info(
        home,
        AthleteInfo(
            sessions_per_week=per_week,
            sides=spec.sides,
            sensor=spec.sensor,
            note=f"simulated: seed {spec.seed}, {spec.fs_hz:g} Hz, missed-session chance {spec.miss_prob:g}",
        ),
    )
    todo = list(planned_sessions(first, second))
    imported, skipped, quarantined, n_reps = _import_all(paths.db_path(home), todo, spec.sensor, progress)
    # The athlete's current plan file: what a real user would have after the program's last week.
    save_plan(plan_for_week(first.plan[-1]), paths.plan_path(home))
    done = SimulatedAthlete(
        athlete=spec.athlete,
        home=home,
        sessions_per_week=per_week,
        planned=len(first.schedule) + (len(second.schedule) if second else 0),
        imported=imported,
        skipped=skipped,
        quarantined=quarantined,
        n_reps=n_reps,
    )
    result = {k: v for k, v in asdict(done).items() if k != "home"}
    (home / DONE_FILE).write_text(json.dumps({"spec": _spec_json(spec), "result": result}, indent=1), "utf-8")
    return done


def simulate_cohort(
    root: Path,
    athletes: int,
    weeks: int,
    *,
    seed: int = 2026,
    start: date | None = None,
    workers: int = 1,
    progress: Progress = _noop,
) -> list[SimulatedAthlete]:
    """Simulate ``athletes`` athletes of ``weeks`` weeks into ``root`` (created), in athlete order.

    ``start`` is the Monday of week 1 (default: the program ends with the last complete week). With
    ``workers > 1`` athletes run in parallel on a Dask ``LocalCluster`` of that many processes.
    """
    root.mkdir(parents=True, exist_ok=True)
    specs = draw_athletes(athletes, weeks, seed, start or first_monday(weeks, datetime.now().date()))
    if workers <= 1:
        done = []
        for i, spec in enumerate(specs, start=1):
            done.append(simulate_athlete(root, spec, progress))
            progress("athletes", i, len(specs), _describe(done[-1]))
        return done
    return _simulate_on_dask(root, specs, workers, progress)


def _describe(a: SimulatedAthlete) -> str:
    return f"{a.athlete}: {a.imported} new, {a.skipped} already there, {a.n_reps} reps"


def _simulate_on_dask(
    root: Path, specs: list[AthleteSpec], workers: int, progress: Progress
) -> list[SimulatedAthlete]:
    # Imported here: only the parallel path needs Dask (its import alone takes about a second).
    from distributed import Client, LocalCluster, as_completed

    results: dict[str, SimulatedAthlete] = {}
    with (
        LocalCluster(  # type: ignore[no-untyped-call]
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as cluster,
        Client(cluster) as client,  # type: ignore[no-untyped-call]
    ):
        futures = [
            client.submit(simulate_athlete, root, spec, key=f"simulate-{spec.athlete}") for spec in specs
        ]
        for i, fut in enumerate(as_completed(futures), start=1):  # type: ignore[no-untyped-call]
            res: SimulatedAthlete = fut.result()
            results[res.athlete] = res
            progress("athletes", i, len(specs), _describe(res))
    return [results[s.athlete] for s in specs]
