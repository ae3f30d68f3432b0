"""``hipsync edit`` on the database: the sets a user names, and storing a correction or an undo.

Every change is ONE write transaction: the edit row (or its undo mark), then the session's sets and reps
derived again from its current run's analysed sets (:func:`relabel`, no re-analysis). The caller passes
``make``, which turns the session's current sets into the edit to store and raises ``ValueError`` on bad
input: raised inside the transaction, it rolls everything back. Callers that must leave the file untouched
on bad input check first with :func:`session_sets` (read-only), as ``flows.edits`` does.

Sessions are named as ``hipsync log`` names them (:func:`storage.sessions.resolve_session`): an id, a
unique prefix of 6+ characters, or ``last``; sets by their 1-based number in the session.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import duckdb

from storage.db import connect_readonly, schema_version, transaction
from storage.edits import (
    LABELS_VERSION,
    Edit,
    Labeller,
    NewEdit,
    SetView,
    add_edit,
    base_sets,
    current_sets,
    get_edit,
    last_active_edit,
    list_edits,
    mark_undone,
    store_run_sets,
)
from storage.errors import NotFoundError
from storage.reprocess import started_at_of
from storage.sessions import resolve_session
from storage.writes import user_loads, write_current_sets, write_with_retry

log = logging.getLogger(__name__)

__all__ = [
    "EditMaker",
    "add_correction",
    "check_undo",
    "corrections",
    "relabel",
    "session_sets",
    "undo_correction",
]

#: (session id, its current sets) -> the edit to store; raises ValueError (one line) on bad input.
EditMaker = Callable[[str, list[SetView]], NewEdit]


def _resolve(con: duckdb.DuckDBPyConnection, ref: str) -> str:
    """:func:`resolve_session`, its error naming the sessions there are."""
    try:
        return resolve_session(con, ref)
    except NotFoundError as e:
        recent = con.execute(
            "SELECT session_id, started_at FROM sessions WHERE status <> 'quarantined' "
            "ORDER BY started_at DESC LIMIT 3"
        ).fetchall()
        if not recent:
            raise
        known = ", ".join(f"{sid[:8]} ({when:%Y-%m-%d})" for sid, when in recent)
        raise NotFoundError(f"{e}; give 'last' or one of: {known}, ...") from e


def session_sets(db_path: Path | str, session: str) -> tuple[str, list[SetView]]:
    """The session's id and its current sets, read-only (NotFoundError for an unknown session)."""
    with connect_readonly(db_path) as con:
        sid = _resolve(con, session)
        return sid, current_sets(con, sid)


def relabel(con: duckdb.DuckDBPyConnection, session_id: str, labeller: Labeller) -> tuple[int, int, int]:
    """Derive a session's sets and reps again from its current run's analysed sets (inside the caller's
    transaction); returns (sets, reps, user loads kept). NotFoundError without a current analysis."""
    started_at = started_at_of(con, session_id)
    row = con.execute(
        "SELECT run_id FROM analysis_runs WHERE session_id = ? AND is_current "
        "ORDER BY created_at DESC LIMIT 1",
        [session_id],
    ).fetchone()
    if row is None:
        raise NotFoundError(f"session {session_id[:8]} has no analysis to correct (see `hipsync reprocess`)")
    run_id = str(row[0])
    base = base_sets(con, run_id)  # read before the rows go: a run older than run_sets has only them
    store_run_sets(con, run_id, session_id, base)
    old = user_loads(con, session_id)
    con.execute("DELETE FROM reps WHERE session_id = ?", [session_id])
    con.execute("DELETE FROM sets WHERE session_id = ?", [session_id])
    return write_current_sets(con, session_id, run_id, started_at, base, labeller=labeller, keep_loads=old)


def add_correction(
    db_path: Path | str, session: str, make: EditMaker, labeller: Labeller
) -> tuple[Edit, list[SetView]]:
    """Store the edit ``make`` builds from the session's current sets and derive its sets again, in one
    transaction; returns the stored edit (with its outcome) and the session's sets after it."""

    def write(con: duckdb.DuckDBPyConnection) -> tuple[Edit, list[SetView]]:
        with transaction(con):
            sid = _resolve(con, session)
            edit_id = add_edit(con, make(sid, current_sets(con, sid)))
            relabel(con, sid, labeller)
            edit = get_edit(con, edit_id)
            assert edit is not None  # written just above, same transaction
            return edit, current_sets(con, sid)

    edit, sets = write_with_retry(Path(db_path), write)
    log.info("edit #%d (%s) on session %s: %s", edit.edit_id, edit.kind, edit.session_id, edit.note)
    return edit, sets


def _undoable(con: duckdb.DuckDBPyConnection, edit_id: int | None) -> Edit:
    """The edit to undo: ``edit_id``, or the latest in force; NotFoundError/ValueError naming the choices."""
    edit = last_active_edit(con) if edit_id is None else get_edit(con, edit_id)
    if edit is None:
        ids = [e.edit_id for e in list_edits(con) if e.active]
        if not ids:
            raise NotFoundError("nothing to undo: no edit is in force (see `hipsync edit list`)")
        raise NotFoundError(f"no edit #{edit_id}; edits in force: {', '.join(f'#{i}' for i in ids)}")
    if not edit.active:
        when = "" if edit.undone_at is None else f" on {edit.undone_at:%Y-%m-%d %H:%M} UTC"
        raise ValueError(f"edit #{edit.edit_id} was already undone by {edit.undone_by}{when}")
    return edit


def check_undo(db_path: Path | str, edit_id: int | None) -> Edit:
    """The edit an undo would take back (read-only; the errors of :func:`undo_correction`)."""
    with connect_readonly(db_path) as con:
        if schema_version(con) < LABELS_VERSION:
            raise NotFoundError("nothing to undo: no edit was ever made")
        return _undoable(con, edit_id)


def undo_correction(
    db_path: Path | str, edit_id: int | None, who: str, labeller: Labeller
) -> tuple[Edit, list[SetView]]:
    """Take back edit ``edit_id`` (default: the latest in force) and derive its session's sets again, in
    one transaction; returns the edit (marked undone) and the session's sets after it."""

    def write(con: duckdb.DuckDBPyConnection) -> tuple[Edit, list[SetView]]:
        with transaction(con):
            edit = _undoable(con, edit_id)
            mark_undone(con, edit.edit_id, who)
            relabel(con, edit.session_id, labeller)
            undone = get_edit(con, edit.edit_id)
            assert undone is not None
            return undone, current_sets(con, edit.session_id)

    return write_with_retry(Path(db_path), write)


def corrections(db_path: Path | str, session: str | None = None) -> list[Edit]:
    """Every edit (of one session), undone ones too, oldest first; none before the first edit."""
    if not Path(db_path).exists():
        return []
    with connect_readonly(db_path) as con:
        if schema_version(con) < LABELS_VERSION:
            if session is not None:
                _resolve(con, session)  # an unknown session is still an error
            return []
        return list_edits(con, None if session is None else _resolve(con, session))
