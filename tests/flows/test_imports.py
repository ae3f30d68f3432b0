"""Importing spools, files and recordings: idempotency, quarantine, planned loads, logging, listing."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from flows.imports import import_file, import_recording, sync_one_spool, sync_spools
from hipsync.records import Exercise
from storage.db import connect, connect_readonly, transaction
from storage.errors import NotFoundError
from storage.plan import parse_plan, record_plan
from storage.sessions import list_sessions, log_session
from storage.writes import SourceInfo, write_session

PLAN = """
valid_from = 2026-11-02
[exercises.clamshell]
sets = 3
reps = "10-15"
resistance = "band:red"
"""


def _snapshot(path: Path) -> tuple[bytes, int]:
    return path.read_bytes(), path.stat().st_mtime_ns


def test_double_sync_changes_nothing(
    tmp_path: Path, db_file: Path, rng: np.random.Generator, kit: Any
) -> None:
    spool_dir = tmp_path / "spool"
    spool_dir.mkdir()
    for i in range(3):
        kit.write_witmotion_spool(spool_dir / f"2026111{i}-wt901.spool", rng, n=1500 + 100 * i)
    first = sync_spools(db_file, spool_dir)
    assert [s.status for s in first.sessions] == ["analysed"] * 3
    counts = kit.table_counts(db_file)
    assert counts["sessions"] == 3
    assert counts["samples"] == 1500 + 1600 + 1700 == first.n_samples
    assert counts["devices"] == 1  # the same sensor in all three spools
    second = sync_spools(db_file, spool_dir)
    assert [s.status for s in second.sessions] == ["skipped"] * 3
    assert {s.session_id for s in second.sessions} == {s.session_id for s in first.sessions}
    assert kit.table_counts(db_file) == counts
    with connect_readonly(db_file) as con:
        row = con.execute(
            "SELECT min(started_at), max(n_samples), bool_and(has_gyro) FROM sessions"
        ).fetchone()
    assert row == (kit.STARTED_AT.replace(microsecond=row[0].microsecond), 1700, True)


def test_spool_metadata_and_samples_round_trip(
    tmp_path: Path, db_file: Path, rng: np.random.Generator, kit: Any
) -> None:
    from ingest.spool.decode import spool_to_recording
    from ingest.spool.reader import read_spool

    spool = kit.write_witmotion_spool(tmp_path / "a.spool", rng, n=1000, session_id="feedc0ffee01")
    res = sync_one_spool(db_file, spool)
    assert res.status == "analysed" and res.session_id == "feedc0ffee01"  # the recorder's id is kept
    rec = spool_to_recording(read_spool(spool))
    with connect_readonly(db_file) as con:
        meta = con.execute(
            "SELECT profile, side, device_id, source, source_path, sample_rate_hz, n_samples FROM sessions"
        ).fetchone()
        got = con.execute(
            "SELECT t_us, ax_ug, ay_ug, az_ug, gx_mdps, gy_mdps, gz_mdps FROM samples"
        ).fetchnumpy()
    assert meta == ("witmotion-wt901", "left", "AA:BB:CC:00:00:01", "spool", str(spool), rec.fs_hz, 1000)
    np.testing.assert_array_equal(got["t_us"], np.rint(rec.time_s * 1e6))  # microseconds
    acc = np.column_stack([got["ax_ug"], got["ay_ug"], got["az_ug"]]) / 1e6  # micro-g
    np.testing.assert_allclose(acc, rec.accel_g, rtol=0, atol=0.51e-6)
    assert rec.gyro_dps is not None
    np.testing.assert_allclose(
        np.column_stack([got["gx_mdps"], got["gy_mdps"], got["gz_mdps"]]) / 1e3,
        rec.gyro_dps,
        rtol=0,
        atol=0.51e-3,
    )


def test_corrupt_spools_are_quarantined_and_untouched(
    tmp_path: Path, db_file: Path, rng: np.random.Generator, kit: Any
) -> None:
    spool_dir = tmp_path / "spool"
    spool_dir.mkdir()
    good = kit.write_witmotion_spool(spool_dir / "b-good.spool", rng, n=800)
    garbage = spool_dir / "a-garbage.spool"
    garbage.write_bytes(bytes(rng.integers(0, 256, 4096, dtype=np.uint8)))
    # A real spool whose header was damaged after the fact (one flipped byte inside the JSON header).
    damaged = spool_dir / "c-damaged.spool"
    raw = bytearray(good.read_bytes())
    raw[30] ^= 0xFF
    damaged.write_bytes(bytes(raw))
    os.utime(garbage, ns=(1_700_000_000_000_000_000, 1_700_000_000_000_000_000))
    before = {p: _snapshot(p) for p in (garbage, damaged)}

    result = sync_spools(db_file, spool_dir)
    by_path = {Path(s.source_path or ""): s for s in result.sessions}
    assert by_path[good].status == "analysed"
    for p in (garbage, damaged):
        assert by_path[p].status == "quarantined"
        assert by_path[p].reason and "SpoolError" in by_path[p].reason
        assert _snapshot(p) == before[p]  # bytes and mtime unchanged
        assert p.exists()
    listed = {s.session_id: s for s in list_sessions(db_file)}
    q = listed[by_path[garbage].session_id or ""]
    assert q.status == "quarantined" and q.status_reason == by_path[garbage].reason and q.n_samples == 0
    # Quarantined sources are not retried (and not duplicated) by the next sync.
    again = sync_spools(db_file, spool_dir)
    assert [s.status for s in again.sessions] == ["skipped"] * 3
    assert kit.table_counts(db_file)["sessions"] == 3


def test_import_file_csv_and_quarantine(
    tmp_path: Path, db_file: Path, rng: np.random.Generator, kit: Any
) -> None:
    from ingest.files import write_recording_csv

    rec = kit.make_recording(rng, duration_s=20.0, started_at=None)
    csv = tmp_path / "other-tool.csv"
    write_recording_csv(csv, rec)
    started = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)
    res = import_file(db_file, csv, side="right", started_at=started)
    assert res.status == "analysed" and res.n_samples == rec.n_samples
    assert import_file(db_file, csv, side="right", started_at=started).status == "skipped"
    with connect_readonly(db_file) as con:
        assert con.execute("SELECT started_at, side, source FROM sessions").fetchall() == [
            (started, "right", "csv")
        ]

    bad = tmp_path / "broken.csv"
    bad.write_text("time,ax,ay\n0,1,2\n0.01,1,2\n")
    before = _snapshot(bad)
    q = import_file(db_file, bad, started_at=started)
    assert q.status == "quarantined" and q.reason and "az" in q.reason
    assert _snapshot(bad) == before
    with pytest.raises(ValueError, match="acc_units"):  # the caller's mistake: not a quarantine
        import_file(
            db_file, write_recording_csv(tmp_path / "new.csv", kit.make_recording(rng)), acc_units="furlongs"
        )


def test_import_file_takes_spools_and_parquet(
    tmp_path: Path, db_file: Path, rng: np.random.Generator, kit: Any
) -> None:
    from ingest.files import write_recording_parquet

    spool = kit.write_witmotion_spool(tmp_path / "copied-from-phone.bin", rng, n=500)
    res = import_file(db_file, spool)
    assert res.status == "analysed" and res.started_at is not None
    assert abs((res.started_at - kit.STARTED_AT).total_seconds()) < 1.0  # from the spool, not the mtime
    pq = write_recording_parquet(
        tmp_path / "x.parquet", kit.make_recording(rng, duration_s=5.0, started_at=None)
    )
    assert import_file(db_file, pq, started_at=kit.STARTED_AT).status == "analysed"
    with connect_readonly(db_file) as con:
        assert sorted(r[0] for r in con.execute("SELECT source FROM sessions").fetchall()) == [
            "parquet",
            "spool",
        ]


def test_sets_take_the_planned_load(db_file: Path, rng: np.random.Generator, kit: Any) -> None:
    with connect(db_file) as con, transaction(con):
        record_plan(con, parse_plan(PLAN))
    in_plan = import_recording(db_file, kit.make_recording(rng), analysis=kit.make_analysis())
    before_plan = import_recording(
        db_file,
        kit.make_recording(rng, started_at=datetime(2026, 10, 30, 9, 0, tzinfo=UTC)),
        analysis=kit.make_analysis(),
    )
    with connect_readonly(db_file) as con:
        rows = con.execute(
            "SELECT session_id, exercise, resistance, load_value, load_unit, load_source FROM sets "
            "ORDER BY session_id, set_index"
        ).fetchall()
    got = {(r[0], r[1]): r[2:] for r in rows}
    assert got[(in_plan.session_id, "clamshell")] == ("band:red", 2.0, "band_level", "plan")
    # Not in the plan: no load. Before the first plan: no load (a guess would corrupt overload numbers).
    assert got[(in_plan.session_id, "side_lying_leg_raise")] == (None, None, None, None)
    assert got[(before_plan.session_id, "clamshell")] == (None, None, None, None)


def test_explicit_loads_by_exercise_or_set_order(db_file: Path, rng: np.random.Generator, kit: Any) -> None:
    a = import_recording(
        db_file, kit.make_recording(rng), analysis=kit.make_analysis(), loads={"clamshell": "band:blue"}
    )
    b = import_recording(
        db_file, kit.make_recording(rng), analysis=kit.make_analysis(), loads=[None, "ankle:1kg"]
    )
    c = import_recording(db_file, kit.make_recording(rng), analysis=kit.make_analysis(), loads="bodyweight")
    with connect_readonly(db_file) as con:
        rows = con.execute(
            "SELECT session_id, set_index, resistance, load_source FROM sets ORDER BY session_id, set_index"
        ).fetchall()
    got = {(r[0], r[1]): (r[2], r[3]) for r in rows}
    assert got[(a.session_id, 1)] == ("band:blue", "user")
    assert got[(a.session_id, 2)] == (None, None)
    assert got[(b.session_id, 1)] == (None, None)
    assert got[(b.session_id, 2)] == ("ankle:1kg", "user")
    assert got[(c.session_id, 1)] == got[(c.session_id, 2)] == ("bodyweight", "user")


def test_log_load_and_rpe(db_file: Path, rng: np.random.Generator, kit: Any) -> None:
    res = import_recording(db_file, kit.make_recording(rng), analysis=kit.make_analysis())
    assert res.session_id is not None
    out = log_session(db_file, res.session_id[:8], 2, load="band:green", rpe=7.5)
    assert out.session_id == res.session_id and out.resistance is not None
    log_session(db_file, "last", rpe=8)
    with connect_readonly(db_file) as con:
        row = con.execute(
            "SELECT resistance, load_value, load_unit, load_source, load_set_at IS NOT NULL FROM sets "
            "WHERE set_index = 2"
        ).fetchone()
        rpe = con.execute("SELECT rpe FROM sessions").fetchone()
    assert row == ("band:green", 3.0, "band_level", "user", True)
    assert rpe == (8.0,)
    with pytest.raises(NotFoundError, match="no set 9"):
        log_session(db_file, res.session_id, 9, load="band:red")
    with pytest.raises(NotFoundError):
        log_session(db_file, "ffffffffff", 1, load="band:red")
    with pytest.raises(ValueError):
        log_session(db_file, res.session_id, 1, rpe=11)


def test_list_sessions_summarises(db_file: Path, rng: np.random.Generator, kit: Any) -> None:
    import_recording(db_file, kit.make_recording(rng, duration_s=90.0), analysis=kit.make_analysis())
    rows = list_sessions(db_file)
    assert len(rows) == 1
    s = rows[0]
    assert s.exercises == ("clamshell", "side_lying_leg_raise")
    assert (s.n_sets, s.n_reps, s.status, s.algorithm_version) == (2, 18, "analysed", "test-1")
    assert s.duration_s is not None and abs(s.duration_s - 89.99) < 1e-3


def test_samples_only_when_analysis_is_missing(db_file: Path, rng: np.random.Generator, kit: Any) -> None:
    rec = kit.make_recording(rng, gyro=False)
    info = SourceInfo(source="recording", content_sha256="x" * 64)
    with connect(db_file) as con:
        res = write_session(con, info, rec, None, analysis_error="analysis failed: boom")
    assert (res.status, res.reason, res.n_sets) == ("imported", "analysis failed: boom", 0)
    with connect_readonly(db_file) as con:
        row = con.execute(
            "SELECT count(*), count(gx_mdps), bool_and(ax_ug IS NOT NULL) FROM samples"
        ).fetchone()
        status = con.execute("SELECT status, status_reason, has_gyro FROM sessions").fetchone()
    assert row == (rec.n_samples, 0, True)
    assert status == ("imported", "analysis failed: boom", False)
    assert Exercise.CLAMSHELL  # the enum used by the hand-built analyses is the shared one
