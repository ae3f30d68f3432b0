"""Schema 4 (storage.edits): migrating older files, the analysed sets' JSON, a pre-4 run as an edit's base."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flows.edits import correct_exercise
from hipsync.records import Exercise, Side
from storage.db import connect, connect_readonly, schema_version
from storage.edits import LABELS_VERSION, base_sets, sets_from_json, sets_to_json

STARTED = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)


def _v3_session(db_file: Path) -> None:
    """A version-3 file with one analysed session: run r1, two sets of two reps each."""
    with connect(db_file, migrate_to=3) as con:
        con.execute(
            "INSERT INTO sessions (session_id, started_at, source, content_sha256, status) "
            "VALUES ('s1abcdef', ?, 'spool', 'abc', 'analysed')",
            [STARTED],
        )
        con.execute(
            "INSERT INTO analysis_runs (run_id, session_id, algorithm_version) "
            "VALUES ('r1', 's1abcdef', 'v0')"
        )
        for k, (ex, a) in enumerate([("clamshell", 1.0), ("unknown", 40.0)], start=1):
            con.execute(
                "INSERT INTO sets (set_id, session_id, run_id, set_index, exercise, side, start_s, end_s, "
                "started_at, n_reps) VALUES (?, 's1abcdef', 'r1', ?, ?, 'left', ?, ?, ?, 2)",
                [f"x{k}", k, ex, a, a + 8.0, STARTED],
            )
            for j in range(2):
                b = a + 4.0 * j
                con.execute(
                    "INSERT INTO reps (rep_id, session_id, set_id, rep_index, start_s, top_start_s, "
                    "top_end_s, end_s, concentric_s, top_hold_s, eccentric_s, rom_deg, partial) "
                    "VALUES (?, 's1abcdef', ?, ?, ?, ?, ?, ?, 1, 0.5, 1, 42, FALSE)",
                    [f"p{k}{j}", f"x{k}", j + 1, b, b + 1.0, b + 1.5, b + 2.5],
                )


def test_migration_004_marks_stored_sets_recognised(db_file: Path) -> None:
    _v3_session(db_file)
    with connect(db_file) as con:
        assert schema_version(con) >= LABELS_VERSION
        rows = con.execute(
            "SELECT exercise, exercise_source, recognised_exercise, corrected FROM sets ORDER BY set_index"
        ).fetchall()
        assert rows == [
            ("clamshell", "recognised", "clamshell", False),
            ("unknown", "recognised", "unknown", False),
        ]
        assert con.execute("SELECT count(*) FROM edits").fetchone() == (0,)


def test_a_run_from_before_004_is_the_base_of_an_edit(db_file: Path) -> None:
    """Its rows (no edit had touched them) are its analysed sets; the first edit keeps them as JSON."""
    _v3_session(db_file)
    with connect(db_file) as con:
        base = base_sets(con, "r1")
    assert [(s.exercise, s.start_s, len(s.reps), s.exercise_scores) for s in base] == [
        (Exercise.CLAMSHELL, 1.0, 2, {Exercise.CLAMSHELL: 1.0}),
        (Exercise.UNKNOWN, 40.0, 2, {}),
    ]
    correct_exercise(db_file, "s1abcdef", 2, "clamshell")
    with connect_readonly(db_file) as con:
        assert con.execute("SELECT count(*) FROM run_sets WHERE run_id = 'r1'").fetchone() == (1,)
        assert con.execute("SELECT exercise, exercise_source, recognised_exercise FROM sets").fetchall() == [
            ("clamshell", "recognised", "clamshell"),
            ("clamshell", "user", "unknown"),
        ]
    with connect(db_file) as con:
        assert base_sets(con, "r1") == base  # now from the JSON: the same sets


_MIGRATE_004_WITHOUT_CHECKPOINT = """
import os, sys, duckdb
from storage.db import load_migrations
mig = next(m for m in load_migrations() if m.version == 4)
con = duckdb.connect(sys.argv[1])
con.execute("PRAGMA disable_checkpoint_on_shutdown")
con.execute("SET checkpoint_threshold = '10GB'")
con.execute("BEGIN TRANSACTION")
con.execute(mig.sql)
con.execute("INSERT INTO schema_version (version, name) VALUES (4, ?)", [mig.name])
con.execute("COMMIT")
os._exit(0)  # killed before any checkpoint: migration 004 lives only in the WAL
"""


def test_migration_004_replays_from_the_wal(db_file: Path) -> None:
    _v3_session(db_file)
    subprocess.run(
        [sys.executable, "-c", _MIGRATE_004_WITHOUT_CHECKPOINT, str(db_file)], check=True, timeout=60
    )
    wal = db_file.with_name(db_file.name + ".wal")
    assert wal.exists() and wal.stat().st_size > 0
    with connect(db_file) as con:
        assert schema_version(con) >= LABELS_VERSION
        assert con.execute("SELECT count(*) FROM sets WHERE exercise_source = 'recognised'").fetchone() == (
            2,
        )


def test_analysed_sets_round_trip_exactly(kit: Any) -> None:
    s = kit.make_set(Exercise.CLAMSHELL, 5.123456789, 4)
    scored = type(s)(
        exercise=Exercise.UNKNOWN,
        side=Side.RIGHT,
        start_s=s.start_s,
        end_s=s.end_s + 1e-9,
        reps=s.reps,
        velocity_loss=None,
        tempo_consistency=0.1 + 0.2,
        exercise_confidence=0.4999,
        exercise_reason="seated or standing: cannot tell",
        exercise_scores={Exercise.BANDED_ABDUCTION_SEATED: 0.73, Exercise.BANDED_ABDUCTION_STANDING: 1e-300},
    )
    assert sets_from_json(sets_to_json([s, scored])) == (s, scored)
