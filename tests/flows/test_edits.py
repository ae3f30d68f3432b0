"""``hipsync edit`` as a service: each correction, undo, how edits survive re-analysis, and bad input.

A session of four handmade sets (times in s on the session's axis)::

    1 clamshell             5-35   10 reps
    2 clamshell            40-64    8 reps
    3 side_lying_leg_raise 80-104   8 reps
    4 side_lying_leg_raise 110-122  4 reps
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from flows.edits import (
    EditError,
    apply_edits,
    correct_exercise,
    correct_reps,
    delete_set,
    edit_history,
    merge_sets,
    parse_clock,
    parse_exercise,
    split_set,
    undo,
)
from flows.imports import import_recording
from flows.report.build import build_weekly_report
from flows.report.model import IsoWeek
from flows.reprocess import reprocess
from hipsync.records import Exercise, ExerciseSet, Recording, SessionAnalysis
from storage.db import connect_readonly
from storage.edits import Edit, EditKind
from storage.report_queries import fetch_report_rows

CLAM = Exercise.CLAMSHELL
RAISE = Exercise.SIDE_LYING_LEG_RAISE
TABLES = ("sessions", "analysis_runs", "run_sets", "sets", "reps", "plans", "edits")


def four_sets(kit: Any, shift_s: float = 0.0) -> tuple[ExerciseSet, ...]:
    return (
        kit.make_set(CLAM, 5.0 + shift_s, 10),
        kit.make_set(CLAM, 40.0 + shift_s, 8),
        kit.make_set(RAISE, 80.0 + shift_s, 8),
        kit.make_set(RAISE, 110.0 + shift_s, 4),
    )


@pytest.fixture
def session(db_file: Path, rng: np.random.Generator, kit: Any) -> str:
    rec = kit.make_recording(rng, duration_s=130.0)
    res = import_recording(db_file, rec, analysis=kit.make_analysis("v1", sets=four_sets(kit)))
    assert res.session_id is not None
    return res.session_id


def stored(db: Path) -> list[tuple[Any, ...]]:
    """(set, exercise, source, reps, detected reps, corrected, start, end) of the current sets."""
    with connect_readonly(db) as con:
        return con.execute(
            "SELECT st.set_index, st.exercise, st.exercise_source, st.n_reps, "
            "(SELECT count(*) FROM reps r WHERE r.set_id = st.set_id), st.corrected, st.start_s, st.end_s "
            "FROM sets st ORDER BY st.set_index"
        ).fetchall()


def reanalyse(db: Path, version: str, sets: tuple[ExerciseSet, ...]) -> Any:
    def analyze(rec: Recording) -> SessionAnalysis:
        return SessionAnalysis(sets=sets, algorithm_version=version)

    (result,) = reprocess(db, analyze_fn=analyze, version=version, force=True)
    return result


# ------------------------------------------------------------------------------------------ each edit


def test_relabel_a_set(db_file: Path, session: str) -> None:
    res = correct_exercise(db_file, session, 2, "Side-lying leg raise", who="anna")
    assert res.edit.applied and res.edit.created_by == "anna" and res.edit.exercise == "side_lying_leg_raise"
    rows = stored(db_file)
    assert rows[1][1:3] == ("side_lying_leg_raise", "user") and rows[1][5] is True
    assert [r[2] for r in rows] == ["recognised", "user", "recognised", "recognised"]
    with connect_readonly(db_file) as con:
        assert con.execute("SELECT recognised_exercise FROM sets WHERE set_index = 2").fetchone() == (
            "clamshell",
        )


def test_set_the_rep_count(db_file: Path, session: str) -> None:
    correct_reps(db_file, "last", 4, 6)
    assert stored(db_file)[3][3:6] == (6, 4, True)  # 6 reps counted, the 4 detected ones kept


def test_merge_two_sets(db_file: Path, session: str) -> None:
    res = merge_sets(db_file, session[:8], 3)
    assert res.edit.note == "the 2 sets at 1:20-2:02 are one set"
    rows = stored(db_file)
    assert len(rows) == 3 and rows[2][1] == "side_lying_leg_raise" and rows[2][3:5] == (12, 12)
    assert (rows[2][6], rows[2][7]) == (80.0, 122.0)


def test_split_after_a_rep_and_at_a_time(db_file: Path, session: str) -> None:
    split_set(db_file, session, 1, after_rep=4)
    split_set(db_file, session, 3, at="0:49")  # set 2 of the start is now set 3: 8 reps from 40 s, 3 s each
    rows = stored(db_file)
    assert [r[3] for r in rows] == [4, 6, 3, 5, 8, 4]
    assert [r[5] for r in rows] == [True, True, True, True, False, False]


def test_delete_a_false_set(db_file: Path, session: str) -> None:
    delete_set(db_file, session, 4)
    assert [r[1] for r in stored(db_file)] == ["clamshell", "clamshell", "side_lying_leg_raise"]


def test_undo_the_last_edit_or_a_given_one(db_file: Path, session: str) -> None:
    before = stored(db_file)
    first = correct_exercise(db_file, session, 1, "side_lying_leg_raise").edit
    delete_set(db_file, session, 4)
    res = undo(db_file, who="ben")  # the delete
    assert res.edit.undone_by == "ben" and len(stored(db_file)) == 4
    undo(db_file, first.edit_id)
    assert stored(db_file) == before
    edits = edit_history(db_file, session)
    assert [(e.kind, e.active) for e in edits] == [("exercise", False), ("delete", False)]
    with pytest.raises(EditError, match="nothing to undo"):
        undo(db_file)


# ----------------------------------------------------------------------------- surviving re-analysis


def test_corrections_survive_reprocess(db_file: Path, session: str, kit: Any) -> None:
    correct_exercise(db_file, session, 2, "side_lying_leg_raise")
    correct_reps(db_file, session, 1, 12)
    merge_sets(db_file, session, 3, 4)
    before = stored(db_file)
    result = reanalyse(db_file, "v2", four_sets(kit))
    assert (result.edits_applied, result.edits_not_applied) == (3, 0)
    assert stored(db_file) == before


def test_corrections_follow_moved_boundaries(db_file: Path, session: str, kit: Any) -> None:
    """v2 finds every set 1.5 s later and already joins the two leg-raise sets: the edits still apply."""
    correct_exercise(db_file, session, 2, "side_lying_leg_raise")
    merge_sets(db_file, session, 3)
    moved = four_sets(kit, shift_s=1.5)
    joined = (*moved[:2], kit.make_set(RAISE, 81.5, 14))
    result = reanalyse(db_file, "v2", joined)
    assert (result.edits_applied, result.edits_not_applied) == (2, 0)
    assert [r[1:3] for r in stored(db_file)] == [
        ("clamshell", "recognised"),
        ("side_lying_leg_raise", "user"),
        ("side_lying_leg_raise", "recognised"),
    ]
    assert "one set already" in (edit_history(db_file)[1].note or "")


def test_an_edit_whose_set_is_gone_is_kept_and_comes_back(db_file: Path, session: str, kit: Any) -> None:
    correct_exercise(db_file, session, 2, "side_lying_leg_raise")
    without = reanalyse(db_file, "v2", tuple(s for i, s in enumerate(four_sets(kit)) if i != 1))
    assert (without.edits_applied, without.edits_not_applied) == (0, 1)
    (edit,) = edit_history(db_file)
    assert edit.active and edit.applied is False and "0:40-1:04" in (edit.note or "")
    assert [r[2] for r in stored(db_file)] == ["recognised"] * 3
    back = reanalyse(db_file, "v3", four_sets(kit))
    assert back.edits_applied == 1 and stored(db_file)[1][1:3] == ("side_lying_leg_raise", "user")


def test_user_loads_and_corrections_live_together(db_file: Path, session: str) -> None:
    from storage.sessions import log_session

    log_session(db_file, session, 3, load="ankle:2kg")
    merge_sets(db_file, session, 3)
    with connect_readonly(db_file) as con:
        assert con.execute("SELECT resistance, load_source FROM sets WHERE set_index = 3").fetchone() == (
            "ankle:2kg",
            "user",
        )


def test_the_weekly_report_reads_the_corrections(db_file: Path, session: str, kit: Any) -> None:
    week = IsoWeek.of(kit.STARTED_AT.date())
    start, end = week.bounds()

    def report() -> Any:
        return build_weekly_report(fetch_report_rows(db_file, start, end), week)

    assert {e.exercise: e.sets for e in report().exercises} == {"clamshell": 2, "side_lying_leg_raise": 2}
    correct_exercise(db_file, session, 2, "side_lying_leg_raise")
    correct_reps(db_file, session, 4, 9)
    after = report()
    assert {e.exercise: (e.sets, e.reps) for e in after.exercises} == {
        "clamshell": (1, 10),
        "side_lying_leg_raise": (3, 25),
    }
    raises = next(e for e in after.exercises if e.exercise == "side_lying_leg_raise")
    assert [(s.set_number, s.exercise_source, "corrected" in s.flags) for s in raises.set_details] == [
        (2, "user", True),
        (3, "recognised", False),
        (4, "recognised", True),
    ]
    assert any(n.startswith("2 set(s) with the exercise corrected by you") for n in raises.notes)


# --------------------------------------------------------------------------------------- bad input


def snapshot(db: Path) -> tuple[str, dict[str, list[tuple[Any, ...]]]]:
    """The database file's sha256 and every table's rows."""
    assert not db.with_name(db.name + ".wal").exists()
    digest = hashlib.sha256(db.read_bytes()).hexdigest()
    with connect_readonly(db) as con:
        rows = {t: sorted(con.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in TABLES}
    return digest, rows


BAD: dict[str, tuple[Callable[[Path, str], object], str]] = {
    "unknown session": (
        lambda db, s: correct_exercise(db, "abcdef12", 1, "clamshell"),
        "no session starts with 'abcdef12'.*give 'last' or one of: [0-9a-f]{8} \\(2026-11-16\\)",
    ),
    "session prefix too short": (lambda db, s: delete_set(db, s[:3], 1), "at least 6 characters"),
    "set number too high": (lambda db, s: correct_reps(db, s, 5, 10), "has sets 1-4; there is no set 5"),
    "set number zero": (lambda db, s: delete_set(db, s, 0), "has sets 1-4; there is no set 0"),
    "misspelt exercise": (
        lambda db, s: correct_exercise(db, s, 1, "clamshel"),
        "unknown exercise 'clamshel'; did you mean clamshell\\? choose one of: clamshell, side_lying",
    ),
    "not an exercise": (lambda db, s: correct_exercise(db, s, 1, "unknown"), "choose one of"),
    "no reps": (lambda db, s: correct_reps(db, s, 1, 0), "1 to 200 reps; got 0"),
    "merge non-neighbours": (lambda db, s: merge_sets(db, s, 1, 3), "not neighbours; merge 1 with 2"),
    "merge the last set alone": (lambda db, s: merge_sets(db, s, 4), "last set; merge it with set 3"),
    "split after the last rep": (
        lambda db, s: split_set(db, s, 4, after_rep=4),
        "has 4 reps: split after rep 1 to 3",
    ),
    "split outside the set": (
        lambda db, s: split_set(db, s, 1, at="5:00"),
        "runs 0:05-0:35; give a time between its first and last rep",
    ),
    "split at an unreadable time": (lambda db, s: split_set(db, s, 1, at="noon"), "cannot read the time"),
    "split nowhere": (lambda db, s: split_set(db, s, 1), "say where to split"),
    "undo an unknown edit": (lambda db, s: undo(db, 99), "no edit #99; edits in force: #1"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_changes_nothing(db_file: Path, session: str, case: str) -> None:
    correct_exercise(db_file, session, 1, "clamshell")  # one edit in force (for the undo cases)
    action, message = BAD[case]
    before = snapshot(db_file)
    with pytest.raises(EditError, match=message) as err:
        action(db_file, session)
    assert "\n" not in str(err.value)
    assert snapshot(db_file) == before


def test_undoing_twice_changes_nothing(db_file: Path, session: str) -> None:
    edit = correct_exercise(db_file, session, 1, "clamshell").edit
    undo(db_file, edit.edit_id)
    before = snapshot(db_file)
    with pytest.raises(EditError, match=f"edit #{edit.edit_id} was already undone"):
        undo(db_file, edit.edit_id)
    assert snapshot(db_file) == before


# ------------------------------------------------------------------------------------- pure helpers


def test_user_words() -> None:
    assert parse_exercise(" Single-leg glute bridge ") == Exercise.SINGLE_LEG_GLUTE_BRIDGE
    assert (parse_clock("2:05"), parse_clock("1:02:05"), parse_clock("7.5")) == (125.0, 3725.0, 7.5)
    with pytest.raises(EditError, match="did you mean banded_abduction_seated"):
        parse_exercise("banded abduction sated")


def test_edits_apply_in_order_on_the_sets_they_made(kit: Any) -> None:
    """A split, then a relabel of its second half: replayed, the relabel finds the half the split made."""

    def edit(i: int, kind: EditKind, a: float, b: float, **kw: Any) -> Edit:
        fields = {"at_s": None, "exercise": None, "n_reps": None} | kw
        when = datetime(2026, 11, 16, tzinfo=UTC)
        return Edit(
            **fields,
            edit_id=i,
            session_id="s",
            kind=kind,
            set_number=1,
            start_s=a,
            end_s=b,
            created_by="t",
            created_at=when,
            undone_by=None,
            undone_at=None,
            applied=None,
            note=None,
        )

    base = four_sets(kit)
    split = edit(1, "split", 5.0, 35.0, at_s=25.75)  # after rep 7 of 10
    relabel = edit(2, "exercise", 26.0, 35.0, exercise="side_lying_leg_raise")
    sets, outcomes = apply_edits(base, [split, relabel])
    assert [o.applied for o in outcomes] == [True, True]
    assert [(len(w.set.reps), w.user_exercise) for w in sets[:2]] == [(7, None), (3, RAISE)]
    _, alone = apply_edits(base, [relabel])  # without the split the anchor overlaps 9 s of 30: no set
    assert [o.applied for o in alone] == [False]


# ------------------------------------------------------------------------------------------ re-sync


def _spool_of_a_simulated_session(path: Path) -> Path:
    """A WitMotion spool of a short simulated session: two sets of 8 clamshells, 50 Hz."""
    from ingest.spool.format import SpoolHeader
    from ingest.spool.writer import SpoolWriter
    from ingest.witmotion.encode import encode_witmotion_packets
    from simulate.session import SessionSpec, simulate_session

    sim = simulate_session(3, spec=SessionSpec.quick("clamshell", sets=2, fs_hz=50.0, side="left"))
    assert sim.gyro_dps is not None
    header = SpoolHeader(
        session_id="resync0001",
        profile="witmotion-wt901",
        side="left",
        device_address="AA:BB:CC:00:00:01",
        device_name="WT901BLE",
        streams={"imu": {"fs_hz": 50.0}},
        host_started_at_utc=datetime(2026, 11, 16, 7, 30, tzinfo=UTC),
        host_monotonic_ref_s=1000.0,
    )
    per = 10
    with SpoolWriter.open(path, header) as w:
        for j in range(len(sim.time_s) // per):
            sl = slice(j * per, (j + 1) * per)
            packets = encode_witmotion_packets(sim.accel_g[sl], sim.gyro_dps[sl])
            w.append("imu", packets, 1000.0 + (j + 1) * per / 50.0 + 0.01)
    return path


@pytest.mark.slow
def test_corrections_survive_a_re_sync(tmp_path: Path, db_file: Path) -> None:
    from flows.imports import import_file, sync_spools

    spools = tmp_path / "spool"
    spools.mkdir()
    spool = _spool_of_a_simulated_session(spools / "a.spool")
    first = sync_spools(db_file, spools)
    assert [s.status for s in first.sessions] == ["analysed"] and first.sessions[0].n_sets == 2
    correct_exercise(db_file, "last", 2, "side_lying_leg_raise")
    correct_reps(db_file, "last", 1, 9)
    before = snapshot(db_file)[1]
    corrected = stored(db_file)
    assert corrected[0][1:4] == ("clamshell", "recognised", 9)
    assert corrected[1][1:3] == ("side_lying_leg_raise", "user")
    again = sync_spools(db_file, spools)
    assert [s.status for s in again.sessions] == ["skipped"]
    assert import_file(db_file, spool).status == "skipped"
    assert snapshot(db_file)[1] == before
    # and a re-analysis with the real pipeline (as after an upgrade) keeps them too
    (result,) = reprocess(db_file, force=True)
    assert (result.edits_applied, result.edits_not_applied) == (2, 0)
    # (the stored samples are fixed-point: the new analysis' boundaries move by a few microseconds)
    assert [r[:6] for r in stored(db_file)] == [r[:6] for r in corrected]
