"""The user's corrections (``hipsync edit``), each set's exercise source, and every run's analysed sets.

Three things make a correction last through any re-analysis (schema version 4, ``docs/schema.md``):

- ``edits``: one row per correction with who and when, never deleted (an undo marks it). An edit names its
  set(s) by their **time span** on the session's time axis (the anchor), not by a set id or number: a new
  analysis makes new sets, with boundaries that may move, and the span still finds the set it meant.
- ``run_sets``: each analysis run's sets exactly as the analysis produced them (JSON), the base the edits
  apply to. The rows of ``sets``/``reps`` are always *derived*: base -> edits (in order) -> the plan prior
  -> rows, written again after every analysis (import, reprocess) and every edit or undo. A run stored
  before version 4 has no JSON; its rows (unedited then) serve as its base.
- ``sets.exercise_source`` (``recognised`` | ``plan`` | ``user``), ``exercise_confidence``, the
  recogniser's own vote (``recognised_exercise``, ``recognised_confidence``) and ``corrected``.

How the base becomes rows is a :data:`Labeller`, passed in by ``flows`` (the edit rules and the plan prior
live there and in ``processing``); storage only reads and writes. After each labelling every active
edit's outcome is recorded (``applied``, ``note``): an edit whose anchor no longer matches stays, shown
as not applied, and is tried again after the next analysis.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import duckdb

from hipsync.records import Exercise, ExerciseSet, Rep, Side
from storage.db import schema_version
from storage.plan import Plan

log = logging.getLogger(__name__)

__all__ = [
    "LABELS_VERSION",
    "Edit",
    "EditKind",
    "EditOutcome",
    "ExerciseSource",
    "Labelled",
    "Labeller",
    "NewEdit",
    "SetView",
    "StoredSet",
    "active_edits",
    "add_edit",
    "as_recognised",
    "base_sets",
    "current_sets",
    "get_edit",
    "last_active_edit",
    "list_edits",
    "mark_undone",
    "record_outcomes",
    "sets_from_json",
    "sets_to_json",
    "store_run_sets",
]

#: The schema version that added ``edits``, ``run_sets`` and the sets' exercise sources.
LABELS_VERSION = 4

EditKind = Literal["exercise", "reps", "merge", "split", "delete"]
ExerciseSource = Literal["recognised", "plan", "user"]
EDIT_KINDS: tuple[EditKind, ...] = ("exercise", "reps", "merge", "split", "delete")


@dataclass(frozen=True, slots=True, kw_only=True)
class NewEdit:
    """A correction to store: ``kind`` of the set(s) spanning ``start_s``-``end_s`` (s, session time axis).

    ``exercise`` for ``exercise``, ``n_reps`` for ``reps``, ``at_s`` (s) for ``split``; ``merge`` joins
    every set inside the span; ``set_number`` is the set as the user named it (for display only).
    """

    session_id: str
    kind: EditKind
    set_number: int
    start_s: float
    end_s: float
    at_s: float | None = None
    exercise: str | None = None
    n_reps: int | None = None
    created_by: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Edit:
    """A stored correction (``edit_id`` shown as ``#n``): the new edit plus who/when, undo and outcome."""

    edit_id: int
    session_id: str
    kind: EditKind
    set_number: int
    start_s: float
    end_s: float
    at_s: float | None
    exercise: str | None
    n_reps: int | None
    created_by: str
    created_at: datetime
    undone_by: str | None
    undone_at: datetime | None
    applied: bool | None
    note: str | None

    @property
    def active(self) -> bool:
        return self.undone_at is None


@dataclass(frozen=True, slots=True, kw_only=True)
class EditOutcome:
    """What applying an edit to the latest analysis did: ``applied`` (found its set(s)) and a note."""

    edit_id: int
    applied: bool
    note: str


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredSet:
    """A ``sets`` row to write: ``set`` carries the exercise shown and its confidence (and the reps, times,
    metrics); the recogniser's own vote beside it; ``n_reps`` may be the user's count (the ``reps`` rows
    stay the detected ones); ``corrected`` when a user edit changed the set."""

    set: ExerciseSet
    exercise_source: ExerciseSource
    recognised_exercise: Exercise
    recognised_confidence: float
    n_reps: int
    corrected: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Labelled:
    """A session's sets as stored, and the outcome of every active edit applied to get them."""

    sets: tuple[StoredSet, ...]
    outcomes: tuple[EditOutcome, ...] = ()


#: From a run's analysed sets (time order), the plan in effect on the session's date and the session's
#: active edits (in order) to the sets to store. ``flows.edits.label_sets`` is the one hipsync uses.
Labeller = Callable[[Sequence[ExerciseSet], Plan | None, Sequence[Edit]], Labelled]


def as_recognised(base: Sequence[ExerciseSet], plan: Plan | None, edits: Sequence[Edit]) -> Labelled:
    """The recogniser's labels as they are: no plan prior, no edits (their outcomes are left alone)."""
    return Labelled(
        sets=tuple(
            StoredSet(
                set=s,
                exercise_source="recognised",
                recognised_exercise=s.exercise,
                recognised_confidence=s.exercise_confidence,
                n_reps=len(s.reps),
            )
            for s in base
        )
    )


# ------------------------------------------------------------------------------------ the analysed sets


def _rep_json(r: Rep) -> dict[str, Any]:
    return {
        "start_s": r.start_s,
        "top_start_s": r.top_start_s,
        "top_end_s": r.top_end_s,
        "end_s": r.end_s,
        "rom_deg": r.rom_deg,
        "partial": r.partial,
        "peak_concentric_speed_dps": r.peak_concentric_speed_dps,
    }


def sets_to_json(sets: Sequence[ExerciseSet]) -> str:
    """The sets with everything the analysis gave them (exact floats), for ``run_sets.sets``."""
    return json.dumps(
        [
            {
                "exercise": str(s.exercise),
                "side": None if s.side is None else str(s.side),
                "start_s": s.start_s,
                "end_s": s.end_s,
                "velocity_loss": s.velocity_loss,
                "tempo_consistency": s.tempo_consistency,
                "exercise_confidence": s.exercise_confidence,
                "exercise_reason": s.exercise_reason,
                "exercise_scores": {str(e): v for e, v in s.exercise_scores.items()},
                "reps": [_rep_json(r) for r in s.reps],
            }
            for s in sets
        ]
    )


def sets_from_json(text: str) -> tuple[ExerciseSet, ...]:
    """The inverse of :func:`sets_to_json`."""
    return tuple(
        ExerciseSet(
            exercise=Exercise(d["exercise"]),
            side=None if d["side"] is None else Side(d["side"]),
            start_s=float(d["start_s"]),
            end_s=float(d["end_s"]),
            reps=tuple(Rep(**r) for r in d["reps"]),
            velocity_loss=d["velocity_loss"],
            tempo_consistency=d["tempo_consistency"],
            exercise_confidence=float(d["exercise_confidence"]),
            exercise_reason=str(d["exercise_reason"]),
            exercise_scores={Exercise(e): float(v) for e, v in d["exercise_scores"].items()},
        )
        for d in json.loads(text)
    )


def store_run_sets(
    con: duckdb.DuckDBPyConnection, run_id: str, session_id: str, sets: Sequence[ExerciseSet]
) -> None:
    """Keep a run's analysed sets (inside the caller's transaction)."""
    con.execute(
        "INSERT INTO run_sets (run_id, session_id, sets) VALUES (?, ?, ?) ON CONFLICT (run_id) DO NOTHING",
        [run_id, session_id, sets_to_json(sets)],
    )


_ROWS_BASE_SQL = """
SELECT st.set_id, coalesce(st.recognised_exercise, st.exercise), st.side, st.start_s, st.end_s,
       st.velocity_loss, st.tempo_consistency, coalesce(st.recognised_confidence, 1.0)
FROM sets st WHERE st.run_id = ? ORDER BY st.set_index
"""


def base_sets(con: duckdb.DuckDBPyConnection, run_id: str) -> tuple[ExerciseSet, ...]:
    """A run's analysed sets: from ``run_sets``, or, for a run stored before there was one, from its rows
    (which no edit had touched then). Rows carry no scores: their exercise counts as certain."""
    row = con.execute("SELECT sets FROM run_sets WHERE run_id = ?", [run_id]).fetchone()
    if row is not None:
        return sets_from_json(str(row[0]))
    reps: dict[str, list[Rep]] = {}
    for r in con.execute(
        "SELECT r.set_id, r.start_s, r.top_start_s, r.top_end_s, r.end_s, r.rom_deg, r.partial, "
        "r.peak_concentric_speed_dps FROM reps r JOIN sets st USING (set_id) WHERE st.run_id = ? "
        "ORDER BY r.set_id, r.rep_index",
        [run_id],
    ).fetchall():
        reps.setdefault(str(r[0]), []).append(
            Rep(
                start_s=r[1],
                top_start_s=r[2],
                top_end_s=r[3],
                end_s=r[4],
                rom_deg=r[5],
                partial=bool(r[6]),
                peak_concentric_speed_dps=r[7],
            )
        )
    out = []
    for set_id, ex, side, a, b, vl, tc, conf in con.execute(_ROWS_BASE_SQL, [run_id]).fetchall():
        exercise = Exercise(ex)
        out.append(
            ExerciseSet(
                exercise=exercise,
                side=None if side is None else Side(side),
                start_s=float(a),
                end_s=float(b),
                reps=tuple(reps.get(str(set_id), ())),
                velocity_loss=vl,
                tempo_consistency=tc,
                exercise_confidence=float(conf),
                exercise_scores={} if exercise is Exercise.UNKNOWN else {exercise: 1.0},
            )
        )
    return tuple(out)


# ---------------------------------------------------------------------------------------------- edits

_EDIT_COLUMNS = (
    "edit_id, session_id, kind, set_number, start_s, end_s, at_s, exercise, n_reps, created_by, created_at, "
    "undone_by, undone_at, applied, note"
)


def _edit(row: Sequence[Any]) -> Edit:
    return Edit(
        edit_id=int(row[0]),
        session_id=str(row[1]),
        kind=row[2],
        set_number=int(row[3]),
        start_s=float(row[4]),
        end_s=float(row[5]),
        at_s=None if row[6] is None else float(row[6]),
        exercise=row[7],
        n_reps=None if row[8] is None else int(row[8]),
        created_by=str(row[9]),
        created_at=row[10].astimezone(UTC),
        undone_by=row[11],
        undone_at=None if row[12] is None else row[12].astimezone(UTC),
        applied=row[13],
        note=row[14],
    )


def add_edit(con: duckdb.DuckDBPyConnection, edit: NewEdit, *, now: datetime | None = None) -> int:
    """Store a correction (inside the caller's transaction); returns its ``edit_id``."""
    row = con.execute(
        "INSERT INTO edits (session_id, kind, set_number, start_s, end_s, at_s, exercise, n_reps, "
        "created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING edit_id",
        [
            edit.session_id,
            edit.kind,
            edit.set_number,
            edit.start_s,
            edit.end_s,
            edit.at_s,
            edit.exercise,
            edit.n_reps,
            edit.created_by,
            now or datetime.now(UTC),
        ],
    ).fetchone()
    assert row is not None  # RETURNING of a one-row INSERT
    return int(row[0])


def list_edits(con: duckdb.DuckDBPyConnection, session_id: str | None = None) -> list[Edit]:
    """Every edit (of one session), undone ones included, oldest first."""
    where, params = ("WHERE session_id = ?", [session_id]) if session_id is not None else ("", [])
    rows = con.execute(f"SELECT {_EDIT_COLUMNS} FROM edits {where} ORDER BY edit_id", params).fetchall()
    return [_edit(r) for r in rows]


def active_edits(con: duckdb.DuckDBPyConnection, session_id: str) -> list[Edit]:
    """A session's edits in force, in the order they were made (the order they apply in)."""
    return [e for e in list_edits(con, session_id) if e.active]


def get_edit(con: duckdb.DuckDBPyConnection, edit_id: int) -> Edit | None:
    row = con.execute(f"SELECT {_EDIT_COLUMNS} FROM edits WHERE edit_id = ?", [edit_id]).fetchone()
    return None if row is None else _edit(row)


def last_active_edit(con: duckdb.DuckDBPyConnection) -> Edit | None:
    """The most recent edit still in force, of any session."""
    row = con.execute(
        f"SELECT {_EDIT_COLUMNS} FROM edits WHERE undone_at IS NULL ORDER BY edit_id DESC LIMIT 1"
    ).fetchone()
    return None if row is None else _edit(row)


def mark_undone(
    con: duckdb.DuckDBPyConnection, edit_id: int, who: str, *, now: datetime | None = None
) -> None:
    """Take an edit out of force (it stays listed, with who undid it and when)."""
    con.execute(
        "UPDATE edits SET undone_by = ?, undone_at = ? WHERE edit_id = ?",
        [who, now or datetime.now(UTC), edit_id],
    )


def record_outcomes(con: duckdb.DuckDBPyConnection, outcomes: Sequence[EditOutcome]) -> None:
    """Store what applying each edit to the latest analysis did."""
    for o in outcomes:
        con.execute(
            "UPDATE edits SET applied = ?, note = ? WHERE edit_id = ?", [o.applied, o.note, o.edit_id]
        )


# ------------------------------------------------------------------------------------- the sets as shown


@dataclass(frozen=True, slots=True, kw_only=True)
class SetView:
    """A stored set as the user sees it (``set_index`` 1-based); ``reps``: (start_s, end_s) of each rep."""

    set_index: int
    start_s: float
    end_s: float
    exercise: str
    exercise_source: str
    exercise_confidence: float | None
    recognised_exercise: str | None
    n_reps: int
    corrected: bool
    resistance: str | None
    reps: tuple[tuple[float, float], ...]


def current_sets(con: duckdb.DuckDBPyConnection, session_id: str) -> list[SetView]:
    """A session's sets of its current analysis, in order, with their reps' spans."""
    spans: dict[str, list[tuple[float, float]]] = {}
    for set_id, a, b in con.execute(
        "SELECT set_id, start_s, end_s FROM reps WHERE session_id = ? ORDER BY set_id, rep_index",
        [session_id],
    ).fetchall():
        spans.setdefault(str(set_id), []).append((float(a), float(b)))
    labels = (
        "coalesce(exercise_source, 'recognised'), exercise_confidence, recognised_exercise, n_reps, "
        "coalesce(corrected, FALSE)"
        if schema_version(con) >= LABELS_VERSION
        else "'recognised', NULL, exercise, n_reps, FALSE"  # a read-only look before migration 004
    )
    rows = con.execute(
        f"SELECT set_id, set_index, start_s, end_s, exercise, {labels}, resistance "
        "FROM sets WHERE session_id = ? ORDER BY set_index",
        [session_id],
    ).fetchall()
    return [
        SetView(
            set_index=int(r[1]),
            start_s=float(r[2]),
            end_s=float(r[3]),
            exercise=str(r[4]),
            exercise_source=str(r[5]),
            exercise_confidence=r[6],
            recognised_exercise=r[7],
            n_reps=int(r[8]),
            corrected=bool(r[9]),
            resistance=r[10],
            reps=tuple(spans.get(str(r[0]), ())),
        )
        for r in rows
    ]
