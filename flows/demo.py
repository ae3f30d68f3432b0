"""``hipsync demo``: the whole pipeline on a virtual sensor, in a fresh (or reused) ``$HIPSYNC_HOME``.

1. simulate a progressive program of several weeks (``simulate.simulate_program``, double progression);
2. import the older sessions directly through ``flows.imports.import_recording`` (analysed by
   ``processing.analyze``), with each week's plan recorded so loads resolve as for a real user;
3. stream the latest session live from an emulated Polar Verity Sense over the bumble virtual BLE link
   through the normal record path (``ingest.ble.recorder.record`` -> spool), sped up ``speed`` times (the
   sensor clock runs faster than the wall clock; the samples and their sensor timestamps are unchanged);
4. sync it with the ``sync-sessions`` flow and run the ``weekly-report`` flow (embedded Prefect unless
   ``PREFECT_API_URL`` points at a server);
5. return the HTML report's path.

Running it twice works: the imports and the sync are idempotent by content hash, the simulation is
seeded, so only a new live recording is added.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from flows.imports import import_recording
from flows.report.model import IsoWeek
from flows.report_flow import weekly_report
from flows.serve import PrefectServer
from flows.sync_flow import sync_sessions
from hipsync.records import Exercise, Recording, Side
from ingest.ble.recorder import RecordSummary, RecordTarget, SensorStatus, record
from ingest.ble.virtual_backend import VirtualBleakClient, VirtualBleakScanner, current_world
from ingest.emulator import ArrayMotionSource, create_emulated_sensor
from simulate import SimulatedProgram, SimulatedSession, WeekPlan, simulate_program
from storage import paths
from storage.plan import Plan, PlanItem, Resistance, save_plan

logger = logging.getLogger(__name__)

DEMO_SEED = 2026
DEMO_WEEKS = 4
DEMO_EXERCISES = ("clamshell", "banded_abduction_standing", "single_leg_glute_bridge")
DEMO_PROFILE = "polar-verity-sense"
#: Sensor-clock speed-up of the live stream (a ~15-minute compact session streams in ~45 s).
DEFAULT_SPEED = 20.0
RECOVERY_GAP = timedelta(hours=48)  # minimum rest between glute sessions (docs/reports.md)

#: Progress callback: (stage, done, total, message).
Progress = Callable[[str, int, int, str], None]


def _noop(stage: str, done: int, total: int, message: str) -> None:
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class DemoResult:
    """What the demo did: sessions imported/skipped, the live recording, the report."""

    home: Path
    week: str
    history_imported: int
    history_skipped: int
    live_spool: Path
    live_samples: int
    live_duration_s: float
    streamed_s: float
    speed: float
    synced: list[dict[str, Any]]
    report_html: Path


def program_start(weeks: int, today: date) -> date:
    """The Monday ``weeks - 1`` weeks before this week's Monday: the program ends this week."""
    monday = today - timedelta(days=today.weekday())
    return monday - timedelta(weeks=weeks - 1)


def plan_for_week(week: WeekPlan) -> Plan:
    """The simulator's plan of one program week as a ``storage.plan.Plan`` (valid from its Monday)."""

    return Plan(
        valid_from=week.start_date,
        items=tuple(
            PlanItem(
                exercise=Exercise(ex),
                target_sets=t.sets,
                reps_low=t.reps_min,
                reps_high=t.reps_max,
                resistance=Resistance.parse(t.resistance),
            )
            for ex, t in sorted(week.targets.items())
        ),
    )


def simulate_demo_program(weeks: int, seed: int, today: date) -> SimulatedProgram:
    """A compact (short rests, no walking) program of ``weeks`` weeks ending in the current week."""

    return simulate_program(
        weeks,
        seed,
        sessions_per_week=3,
        exercises=DEMO_EXERCISES,
        start_date=program_start(weeks, today),
        side="left",
        fs_hz=52.0,
        compact=True,
    )


def split_program(
    program: SimulatedProgram, now: datetime
) -> tuple[list[tuple[SimulatedSession, WeekPlan]], tuple[SimulatedSession, WeekPlan]]:
    """Past sessions (started at least 48 h before ``now``) with their week plans, and the live one.

    The live one is the first session not in the past; its simulated time is replaced by "now" when it
    is streamed. Later sessions of the program are dropped. The 48 h cut keeps the usual recovery gap
    between the last imported session and the live one, so the demo's report does not flag a short gap
    that only the demo's own time shift created.
    """
    weeks = {p.week: p for p in program.plan}
    planned = [
        (program.sessions[x.session_index], weeks[x.week])
        for x in program.schedule
        if x.session_index is not None
    ]
    cutoff = now - RECOVERY_GAP
    past = [(s, p) for s, p in planned if s.started_at < cutoff]
    future = [(s, p) for s, p in planned if s.started_at >= cutoff]
    live = future[0] if future else past.pop()
    return past, live


def import_history(
    db_path: Path, history: list[tuple[SimulatedSession, WeekPlan]], progress: Progress = _noop
) -> tuple[int, int]:
    """Import past simulated sessions with their week's plan; returns ``(imported, skipped)``."""

    imported = skipped = 0
    for i, (sess, week) in enumerate(history, start=1):
        rec = Recording.of(sess, profile=DEMO_PROFILE)
        res = import_recording(db_path, rec, source="recording", plan=plan_for_week(week))
        if res.status == "skipped":
            skipped += 1
        else:
            imported += 1
        progress("history", i, len(history), f"{sess.started_at:%a %d %b}: {res.status}, {res.n_reps} reps")
    return imported, skipped


async def stream_session(
    session: SimulatedSession,
    spool_dir: Path,
    *,
    speed: float = DEFAULT_SPEED,
    max_s: float | None = None,
    progress: Progress = _noop,
) -> RecordSummary:
    """Play ``session`` through an emulated Verity Sense and record it via bleak-over-bumble to a spool.

    The sensor clock runs ``speed`` times faster than the wall clock, so recording takes
    ``duration / speed`` seconds; the recording stops once the whole session (or its first ``max_s``
    seconds) has been sent.
    """

    n = session.n_samples
    if max_s is not None:
        # Only the first ``max_s`` seconds (tests; --live-minutes): the session is cut, not compressed.
        n = int(np.searchsorted(session.time_s, session.time_s[0] + max_s, side="right"))
    gyro = None if session.gyro_dps is None else session.gyro_dps[:n]
    motion = ArrayMotionSource(session.time_s[:n], session.accel_g[:n], gyro, loop=False)
    world = await current_world()
    sensor = create_emulated_sensor(world, DEMO_PROFILE, motion=motion, time_scale=speed)
    duration_s = float(session.time_s[n - 1] - session.time_s[0])
    expected = int(duration_s * session.fs_hz)
    host_s = duration_s / speed

    def on_status(statuses: list[SensorStatus]) -> None:
        if statuses:
            st = statuses[0]
            progress("live", min(st.samples, expected), expected, f"{st.state}, {st.samples} samples")

    async with sensor:
        target = RecordTarget(
            address=sensor.address, profile=DEMO_PROFILE, side=Side(session.side), name=sensor.name
        )
        [summary] = await record(
            [target],
            spool_dir,
            # A little margin: the stream starts after connecting and the last frame may wait up to 1 s.
            duration_s=host_s + 1.5,
            scanner_backend=VirtualBleakScanner,
            client_backend=VirtualBleakClient,
            on_status=on_status,
        )
    progress("live", expected, expected, f"recorded {summary.samples} samples")
    return summary


def run_demo(
    home: Path,
    *,
    weeks: int = DEMO_WEEKS,
    seed: int = DEMO_SEED,
    speed: float = DEFAULT_SPEED,
    live_max_s: float | None = None,
    progress: Progress = _noop,
    now: datetime | None = None,
) -> DemoResult:
    """Run the whole demo in ``home`` (see the module docstring); returns what it did."""

    now = now or datetime.now(UTC)
    # Start Prefect's embedded server now: it comes up while the program is simulated.
    server = PrefectServer()
    progress("simulate", 0, 1, f"simulating {weeks} weeks of training (seed {seed})")
    program = simulate_demo_program(weeks, seed, now.astimezone().date())
    history, (live, live_week) = split_program(program, now)
    progress("simulate", 1, 1, f"{len(history)} past sessions + 1 live session")

    db = paths.db_path(home)
    imported, skipped = import_history(db, history, progress)
    # The user's current plan file: the live session's loads come from it, like for a real recording.
    save_plan(plan_for_week(live_week), paths.plan_path(home))

    summary = asyncio.run(
        stream_session(live, paths.spool_dir(home), speed=speed, max_s=live_max_s, progress=progress)
    )
    week = IsoWeek.of(now.astimezone().date())
    with server:
        progress("sync", 0, 1, "sync-sessions flow")
        synced = sync_sessions(home=str(home))
        progress("sync", 1, 1, f"{len(synced)} spool(s) looked at")
        progress("report", 0, 1, f"weekly-report flow for {week}")
        html = Path(weekly_report(week=str(week), home=str(home), deliver=False))
        progress("report", 1, 1, str(html))
    return DemoResult(
        home=home,
        week=str(week),
        history_imported=imported,
        history_skipped=skipped,
        live_spool=summary.spool,
        live_samples=summary.samples,
        live_duration_s=live.duration_s,
        streamed_s=min(live.duration_s, live_max_s or live.duration_s),
        speed=speed,
        synced=synced,
        report_html=html,
    )
