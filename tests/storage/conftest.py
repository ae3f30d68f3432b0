"""Fixtures for the storage tests: ``handmade_db``, a database with known numbers for the read API.

``handmade_db`` holds a few sessions whose every number is written out below, so the views can be checked
against values computed by hand in the tests. The schema comes from the project's migrations (through
``storage.db.connect`` when it exists, otherwise straight from the SQL files).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import numpy as np
import pytest

from hipsync.records import Recording
from storage import samples as stored_samples

REPO_ROOT = Path(__file__).resolve().parents[2]
MIGRATIONS = REPO_ROOT / "storage" / "migrations"

# Seconds between the end of one rep and the start of the next in the hand-made sets.
PAUSE_S = 0.5


@dataclass(frozen=True, slots=True, kw_only=True)
class HandRep:
    concentric_s: float
    top_hold_s: float
    eccentric_s: float
    rom_deg: float
    partial: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class HandSet:
    exercise: str
    side: str | None
    reps: tuple[HandRep, ...]
    start_s: float = 10.0
    resistance: str | None = None
    load_value: float | None = None
    load_unit: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class HandSession:
    session_id: str
    started_at: datetime
    sets: tuple[HandSet, ...] = ()
    side: str | None = "left"
    status: str = "analysed"
    duration_s: float = 600.0
    superseded_sets: tuple[HandSet, ...] = field(default_factory=tuple)


def create_schema(path: Path) -> None:
    """An empty database with the current schema: the writer's migrations when available."""
    try:
        db = importlib.import_module("storage.db")
    except ModuleNotFoundError:
        db = None
    if db is not None and hasattr(db, "connect"):
        with db.connect(path):
            return
    with duckdb.connect(str(path)) as conn:
        for sql_file in sorted(MIGRATIONS.glob("[0-9][0-9][0-9]_*.sql")):
            conn.execute(sql_file.read_text())


def _insert_set(
    conn: duckdb.DuckDBPyConnection, session: HandSession, hand_set: HandSet, set_index: int, run_id: str
) -> None:
    set_id = f"{run_id}-set{set_index}"
    t = hand_set.start_s
    rows = []
    for i, rep in enumerate(hand_set.reps, start=1):
        start = t
        top_start = start + rep.concentric_s
        top_end = top_start + rep.top_hold_s
        end = top_end + rep.eccentric_s
        last = i == len(hand_set.reps)
        rows.append(
            (
                f"{set_id}-rep{i}",
                session.session_id,
                set_id,
                i,
                start,
                top_start,
                top_end,
                end,
                rep.concentric_s,
                rep.top_hold_s,
                rep.eccentric_s,
                None if last else PAUSE_S,
                rep.rom_deg,
                rep.partial,
            )
        )
        t = end + PAUSE_S
    end_s = t - PAUSE_S
    conn.execute(
        "INSERT INTO sets (set_id, session_id, run_id, set_index, exercise, side, start_s, end_s, started_at,"
        " n_reps, resistance, load_value, load_unit, load_source)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?::TIMESTAMPTZ + to_microseconds(?), ?, ?, ?, ?, ?)",
        [
            set_id,
            session.session_id,
            run_id,
            set_index,
            hand_set.exercise,
            hand_set.side,
            hand_set.start_s,
            end_s,
            session.started_at,
            round(hand_set.start_s * 1e6),
            len(hand_set.reps),
            hand_set.resistance,
            hand_set.load_value,
            hand_set.load_unit,
            "plan" if hand_set.load_value is not None else None,
        ],
    )
    conn.executemany(
        "INSERT INTO reps (rep_id, session_id, set_id, rep_index, start_s, top_start_s, top_end_s, end_s,"
        " concentric_s, top_hold_s, eccentric_s, bottom_pause_s, rom_deg, partial)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )


def insert_session(conn: duckdb.DuckDBPyConnection, session: HandSession) -> None:
    """Plain INSERTs of one hand-made session, its current run and (optionally) a superseded run."""
    sid = session.session_id
    conn.execute(
        "INSERT INTO sessions (session_id, started_at, ended_at, side, profile, sample_rate_hz, has_gyro,"
        " n_samples, source, content_sha256, status)"
        " VALUES (?, ?, ?::TIMESTAMPTZ + to_microseconds(?), ?, 'csv', 50.0, TRUE, 0, 'csv', ?, ?)",
        [
            sid,
            session.started_at,
            session.started_at,
            round(session.duration_s * 1e6),
            session.side,
            f"sha-{sid}",
            session.status,
        ],
    )
    if session.superseded_sets:
        conn.execute(
            "INSERT INTO analysis_runs (run_id, session_id, algorithm_version, is_current, created_at)"
            " VALUES (?, ?, 'old', FALSE, TIMESTAMPTZ '2026-01-01 00:00:00+00')",
            [f"{sid}-old", sid],
        )
        for k, s in enumerate(session.superseded_sets, start=1):
            _insert_set(conn, session, s, k, f"{sid}-old")
    if session.sets:
        conn.execute(
            "INSERT INTO analysis_runs"
            " (run_id, session_id, algorithm_version, parameters, quality, is_current)"
            " VALUES (?, ?, 'test-1', '{\"min_rom_deg\": 10}', '{\"gaps\": 0}', TRUE)",
            [f"{sid}-cur", sid],
        )
        for k, s in enumerate(session.sets, start=1):
            _insert_set(conn, session, s, k, f"{sid}-cur")


def insert_samples(
    conn: duckdb.DuckDBPyConnection,
    session_id: str,
    time_s: np.ndarray,
    accel_g: np.ndarray,
    gyro_dps: np.ndarray | None,
) -> None:
    """Bulk insert of raw samples the way sync stores them (fixed-point, under the session's key)."""
    row = conn.execute("SELECT session_key FROM sessions WHERE session_id = ?", [session_id]).fetchone()
    assert row is not None, session_id
    rec = Recording(time_s=time_s, accel_g=accel_g, gyro_dps=gyro_dps)
    stored_samples.insert_samples(conn, int(row[0]), stored_samples.samples_table(rec))


def _r(c: float, h: float, e: float, rom: float, partial: bool = False) -> HandRep:
    return HandRep(concentric_s=c, top_hold_s=h, eccentric_s=e, rom_deg=rom, partial=partial)


RED = {"resistance": "band:red", "load_value": 2.0, "load_unit": "band_level"}
BLUE = {"resistance": "band:blue", "load_value": 3.0, "load_unit": "band_level"}
ANKLE_1KG = {"resistance": "ankle:1kg", "load_value": 1.0, "load_unit": "kg"}

# 2026-11-02 is a Monday (ISO week 2026-W45); S3 starts Sunday 23:30 UTC = Monday 00:30 in Berlin (W46).
HAND_SESSIONS = (
    HandSession(
        session_id="s1",
        started_at=datetime(2026, 11, 2, 8, 0, tzinfo=UTC),
        sets=(
            HandSet(
                exercise="clamshell",
                side="left",
                reps=(_r(1.0, 0.5, 1.5, 40.0), _r(1.2, 0.4, 1.4, 42.0), _r(0.8, 0.6, 1.6, 38.0)),
                **RED,
            ),
            HandSet(
                exercise="side_lying_leg_raise",
                side="left",
                start_s=60.0,
                reps=(_r(1.0, 1.0, 1.0, 30.0), _r(2.0, 1.0, 2.0, 34.0)),
                **ANKLE_1KG,
            ),
        ),
        superseded_sets=(
            HandSet(exercise="clamshell", side="left", reps=(_r(9.0, 9.0, 9.0, 99.0),) * 5, **RED),
        ),
    ),
    HandSession(
        session_id="s2",
        started_at=datetime(2026, 11, 5, 8, 0, tzinfo=UTC),
        sets=(
            HandSet(
                exercise="clamshell",
                side="left",
                reps=(
                    _r(1.0, 0.5, 1.0, 44.0),
                    _r(1.0, 0.5, 2.0, 46.0),
                    _r(1.4, 0.5, 1.0, 48.0),
                    _r(0.3, 0.0, 0.3, 10.0, partial=True),
                ),
                **RED,
            ),
        ),
    ),
    HandSession(
        session_id="s3",
        started_at=datetime(2026, 11, 8, 23, 30, tzinfo=UTC),
        side="right",
        sets=(
            HandSet(
                exercise="clamshell",
                side="right",
                reps=(_r(1.0, 0.5, 1.5, 50.0), _r(1.0, 0.5, 1.5, 52.0)),
                **BLUE,
            ),
        ),
    ),
    HandSession(
        session_id="s4",
        started_at=datetime(2026, 11, 10, 9, 0, tzinfo=UTC),
        status="quarantined",
    ),
)


def build_handmade_db(path: Path) -> Path:
    create_schema(path)
    with duckdb.connect(str(path)) as conn:
        for session in HAND_SESSIONS:
            insert_session(conn, session)
        t, acc, gyro = hand_samples()
        # stored out of order on purpose: load_samples must sort by time
        order = np.r_[np.arange(50, 100), np.arange(0, 50)]
        insert_samples(conn, "s1", t[order], acc[order], gyro[order])
        insert_samples(conn, "s3", t, acc, None)
    return path


def hand_samples() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """100 samples at 50 Hz: time (s), acceleration (g) and gyro (deg/s) with known values."""
    t = np.arange(100) / 50.0
    acc = np.column_stack([np.sin(t), np.cos(t), np.full_like(t, 1.0)])
    gyro = np.column_stack([10 * t, -5 * t, np.zeros_like(t)])
    return t, acc, gyro


@pytest.fixture(scope="session")
def handmade_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database with the four hand-made sessions above (never written to by tests)."""
    return build_handmade_db(tmp_path_factory.mktemp("handmade") / "hipsync.duckdb")
