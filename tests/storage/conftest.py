"""Hand-built recordings and analyses for the storage tests (no decoder, no analysis needed)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from hipsync.records import Exercise, ExerciseSet, Recording, Rep, SessionAnalysis, Side

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
    from ingest.spool import SpoolHeader, SpoolWriter
    from ingest.witmotion import encode_witmotion_packets

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
