"""Fixtures shared by every test package.

- ``rng``, ``hipsync_home``, ``real_data_dir``: a seeded generator, an empty $HIPSYNC_HOME, the bundled
  real recordings;
- ``kit``: hand-built records to store (recordings, analyses, a WitMotion spool) and table counts, for the
  storage, flows and CLI tests (no decoder or analysis needed);
- ``hand``: a database of hand-built sessions, sets and reps with known numbers, for the report tests.

Conftest modules are not importable, so helpers reach the tests as fixtures.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from hipsync.records import Exercise, ExerciseSet, Recording, Rep, SessionAnalysis, Side

REPO_ROOT = Path(__file__).resolve().parents[1]
REAL_DATA = REPO_ROOT / "tests" / "data" / "real"


@pytest.fixture
def rng() -> np.random.Generator:
    """A seeded generator: every random test is reproducible."""
    return np.random.default_rng(20261124)


@pytest.fixture
def hipsync_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh, empty $HIPSYNC_HOME for one test."""
    home = tmp_path / "hipsync-home"
    home.mkdir()
    monkeypatch.setenv("HIPSYNC_HOME", str(home))
    yield home


@pytest.fixture(scope="session")
def real_data_dir() -> Path:
    """The real recordings bundled with the tests (tests/data/real, gzip-compressed; see its README)."""
    return REAL_DATA


# --- kit: records and spools to store ------------------------------------------------------------------

STARTED_AT = datetime(2026, 11, 16, 7, 30, tzinfo=UTC)


def make_recording(
    rng: np.random.Generator,
    *,
    duration_s: float = 60.0,
    fs_hz: float = 100.0,
    gyro: bool = True,
    started_at: datetime | None = STARTED_AT,
) -> Recording:
    """A noisy 6-axis recording (g, deg/s) of ``duration_s`` seconds at ``fs_hz``."""
    n = int(duration_s * fs_hz)
    t = np.arange(n) / fs_hz
    acc = np.column_stack([np.sin(t), np.cos(t), np.ones(n)]) + rng.normal(scale=0.01, size=(n, 3))
    gyr = rng.normal(scale=5.0, size=(n, 3)) if gyro else None
    return Recording(
        time_s=t,
        accel_g=acc,
        gyro_dps=gyr,
        fs_hz=fs_hz,
        side=Side.LEFT,
        profile="polar-verity-sense",
        started_at=started_at,
    )


def make_set(exercise: Exercise, start_s: float, n_reps: int, rep_s: float = 3.0) -> ExerciseSet:
    """A set of ``n_reps`` back-to-back reps of ``rep_s`` seconds starting at ``start_s``."""
    reps = tuple(
        Rep(
            start_s=start_s + i * rep_s,
            top_start_s=start_s + i * rep_s + 1.0,
            top_end_s=start_s + i * rep_s + 1.5,
            end_s=start_s + i * rep_s + 2.5,
            rom_deg=40.0 + i,
            partial=i == n_reps - 1,
            peak_concentric_speed_dps=90.0,
        )
        for i in range(n_reps)
    )
    return ExerciseSet(
        exercise=exercise,
        side=Side.LEFT,
        start_s=start_s,
        end_s=start_s + n_reps * rep_s,
        reps=reps,
        velocity_loss=0.1,
    )


def make_analysis(version: str = "test-1", sets: tuple[ExerciseSet, ...] | None = None) -> SessionAnalysis:
    """Two sets: 10 clamshells from 5 s, 8 side-lying leg raises from 40 s."""
    if sets is None:
        sets = (make_set(Exercise.CLAMSHELL, 5.0, 10), make_set(Exercise.SIDE_LYING_LEG_RAISE, 40.0, 8))
    return SessionAnalysis(sets=sets, algorithm_version=version, parameters={"p": 1}, quality={"q": 0.5})


@pytest.fixture
def db_file(tmp_path: Path) -> Path:
    return tmp_path / "hipsync.duckdb"


def write_witmotion_spool(
    path: Path,
    rng: np.random.Generator,
    *,
    n: int = 2000,
    fs_hz: float = 50.0,
    started_at: datetime = STARTED_AT,
    session_id: str | None = None,
) -> Path:
    """A real, closed spool of a WitMotion WT901 session: ``n`` samples at ``fs_hz``."""
    from ingest.spool.format import SpoolHeader
    from ingest.spool.writer import SpoolWriter
    from ingest.witmotion.encode import encode_witmotion_packets

    t = np.arange(n) / fs_hz
    acc = np.column_stack([0.3 * np.sin(t), 0.1 * np.cos(t), np.ones(n)]) + rng.normal(
        scale=0.01, size=(n, 3)
    )
    gyr = np.column_stack([20 * np.cos(t), np.zeros(n), np.zeros(n)]) + rng.normal(scale=1.0, size=(n, 3))
    header = SpoolHeader(
        session_id=session_id or f"s{rng.integers(1 << 60):016x}",
        profile="witmotion-wt901",
        side="left",
        device_address="AA:BB:CC:00:00:01",
        device_name="WT901BLE",
        streams={"imu": {"fs_hz": fs_hz}},
        host_started_at_utc=started_at,
        host_monotonic_ref_s=1000.0,
    )
    per = 10
    with SpoolWriter.open(path, header) as w:
        for j in range(n // per):
            sl = slice(j * per, (j + 1) * per)
            w.append("imu", encode_witmotion_packets(acc[sl], gyr[sl]), 1000.0 + (j + 1) * per / fs_hz + 0.01)
    return path


def table_counts(db: Path) -> dict[str, int]:
    """Row counts of every data table (read-only connection)."""
    from storage.db import connect_readonly

    with connect_readonly(db) as con:
        return {
            t: int(con.execute(f"SELECT count(*) FROM {t}").fetchone()[0])  # type: ignore[index]
            for t in ("sessions", "samples", "analysis_runs", "sets", "reps", "devices", "plans")
        }


class Kit:
    """The helpers above, handed to tests as the ``kit`` fixture (conftest modules are not importable)."""

    STARTED_AT = STARTED_AT
    make_recording = staticmethod(make_recording)
    make_set = staticmethod(make_set)
    make_analysis = staticmethod(make_analysis)
    write_witmotion_spool = staticmethod(write_witmotion_spool)
    table_counts = staticmethod(table_counts)


@pytest.fixture
def kit() -> type[Kit]:
    return Kit


# --- hand: a hand-built report database ---------------------------------------------------------------


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
