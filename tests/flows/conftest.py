"""Fixtures for the flows tests: ONE session-scoped Prefect test harness and a hand-built database.

Prefect's embedded server takes ~30 s to start on a 2-core machine, so every test that needs Prefect
shares :func:`prefect_harness`; report computation and rendering are tested without it.
"""

from __future__ import annotations

import itertools
import os
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """A temporary Prefect server and database shared by the whole test session."""
    from prefect.testing.utilities import prefect_test_harness

    # The test server must not try to send usage telemetry (no network here, and it logs errors).
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    with prefect_test_harness(server_startup_timeout=120):
        yield


@dataclass(frozen=True, slots=True, kw_only=True)
class HandRep:
    """One rep of a hand-built set: phase durations in s, ROM in degrees."""

    concentric_s: float = 2.0
    top_hold_s: float = 1.0
    eccentric_s: float = 2.0
    bottom_pause_s: float = 1.0
    rom_deg: float = 40.0


@dataclass(frozen=True, slots=True, kw_only=True)
class HandSet:
    exercise: str = "clamshell"
    side: str | None = "left"
    reps: Sequence[HandRep] = field(default_factory=lambda: [HandRep()] * 12)
    resistance: str | None = "band:red"
    load_value: float | None = 2.0
    load_unit: str | None = "band_level"
    velocity_loss: float | None = 0.1


@dataclass(frozen=True, slots=True, kw_only=True)
class HandSession:
    started_at: datetime
    sets: Sequence[HandSet]
    side: str | None = "left"


_counter = itertools.count()


def build_db(db: Path, sessions: Sequence[HandSession]) -> None:
    """Write hand-built sessions (one current analysis run each) into ``db``."""
    from storage.db import connect

    with connect(db) as con:
        for sess in sessions:
            sid = uuid.uuid4().hex
            run = uuid.uuid4().hex
            t_end = 60.0 * len(sess.sets) * 2
            con.execute(
                "INSERT INTO sessions (session_id, started_at, ended_at, side, source, content_sha256, "
                "status) "
                "VALUES (?, ?, ? + to_seconds(?), ?, 'csv', ?, 'analysed')",
                [sid, sess.started_at, sess.started_at, t_end, sess.side, f"sha-{next(_counter)}-{sid}"],
            )
            con.execute(
                "INSERT INTO analysis_runs (run_id, session_id, algorithm_version) VALUES (?, ?, 'test')",
                [run, sid],
            )
            t = 0.0
            for i, st in enumerate(sess.sets, start=1):
                set_id = uuid.uuid4().hex
                start_s = t
                for j, r in enumerate(st.reps, start=1):
                    last = j == len(st.reps)
                    con.execute(
                        "INSERT INTO reps (rep_id, session_id, set_id, rep_index, start_s, top_start_s, "
                        "top_end_s, end_s, concentric_s, top_hold_s, eccentric_s, bottom_pause_s, rom_deg, "
                        "partial) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, FALSE)",
                        [
                            uuid.uuid4().hex, sid, set_id, j, t, t + r.concentric_s,
                            t + r.concentric_s + r.top_hold_s,
                            t + r.concentric_s + r.top_hold_s + r.eccentric_s,
                            r.concentric_s, r.top_hold_s, r.eccentric_s,
                            None if last else r.bottom_pause_s, r.rom_deg,
                        ],
                    )  # fmt: skip
                    t += r.concentric_s + r.top_hold_s + r.eccentric_s + r.bottom_pause_s
                con.execute(
                    "INSERT INTO sets (set_id, session_id, run_id, set_index, exercise, side, start_s, "
                    "end_s, started_at, n_reps, velocity_loss, resistance, load_value, load_unit, "
                    "load_source) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ? + to_seconds(?), ?, ?, ?, ?, ?, 'plan')",
                    [
                        set_id, sid, run, i, st.exercise, st.side, start_s, t, sess.started_at, start_s,
                        len(st.reps), st.velocity_loss, st.resistance, st.load_value, st.load_unit,
                    ],
                )  # fmt: skip
                t += 60.0


@dataclass(frozen=True, slots=True)
class HandKit:
    """What the tests use to build a database by hand (conftest modules are not importable here)."""

    Rep: type[HandRep] = HandRep
    Set: type[HandSet] = HandSet
    Session: type[HandSession] = HandSession

    @staticmethod
    def build(db: Path, sessions: Sequence[HandSession]) -> None:
        build_db(db, sessions)


@pytest.fixture
def hand() -> HandKit:
    return HandKit()
