"""The database side of re-analysis: which sessions are stale, their samples, swapping in a new analysis.

A session is *stale* when it has samples and its current analysis run was produced by another
``algorithm_version`` than the one running now (or it has no run, e.g. the analysis failed at import).
:func:`replace_analysis` swaps the sets and reps of one session in ONE write transaction: the old run is
kept with ``is_current = FALSE`` and the new run becomes current, so readers see either the old or the
new analysis. The loop that reads, analyses and replaces is ``flows.reprocess.reprocess``.

User-entered loads (``load_source = 'user'``, from ``hipsync log``) follow the sets: each new set takes
the user load of the old set it overlaps most in time (a positive overlap is required); other new sets take
the plan in effect on the session's date. The user's corrections (``hipsync edit``, :mod:`storage.edits`)
are applied again to the new analysis by the ``labeller`` the caller passes
(:func:`storage.corrections.relabel` derives them again without a new analysis, after an edit or undo).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import duckdb

from hipsync.records import Recording, SessionAnalysis
from storage.db import connect, transaction
from storage.edits import Labeller
from storage.errors import NotFoundError
from storage.read_api import load_samples
from storage.writes import user_loads, write_analysis, write_with_retry

log = logging.getLogger(__name__)

__all__ = [
    "load_for_reanalysis",
    "load_recording",
    "replace_analysis",
    "replace_analysis_in",
    "stale_session_ids",
    "stale_sessions",
    "started_at_of",
]


def stale_sessions(con: duckdb.DuckDBPyConnection, version: str, *, force: bool = False) -> list[str]:
    """Sessions with samples whose current run is not ``version`` (all of them with ``force``)."""
    rows = con.execute(
        "SELECT s.session_id FROM sessions s WHERE s.status IN ('analysed', 'imported') "
        "AND (? OR NOT EXISTS (SELECT 1 FROM analysis_runs r WHERE r.session_id = s.session_id "
        "AND r.is_current AND r.algorithm_version = ?)) ORDER BY s.started_at",
        [force, version],
    ).fetchall()
    return [str(r[0]) for r in rows]


def load_recording(con: duckdb.DuckDBPyConnection, session_id: str) -> Recording:
    """A stored session's samples as a :class:`Recording` (float64 arrays) in recording order, not sorted by
    time: the analysis must see them as recorded even where timestamps repeat or run backwards."""
    return load_samples(con, session_id, order="stored")


def started_at_of(con: duckdb.DuckDBPyConnection, session_id: str) -> datetime:
    row = con.execute("SELECT started_at FROM sessions WHERE session_id = ?", [session_id]).fetchone()
    if row is None:
        raise NotFoundError(f"no session {session_id}")
    return row[0].astimezone(UTC)  # type: ignore[no-any-return]


def replace_analysis(
    con: duckdb.DuckDBPyConnection,
    session_id: str,
    analysis: SessionAnalysis,
    *,
    labeller: Labeller | None = None,
) -> tuple[int, int, int]:
    """In one transaction: retire the current run, swap the sets/reps; returns (sets, reps, kept loads)."""
    with transaction(con):
        started_at = started_at_of(con, session_id)
        old = user_loads(con, session_id)
        con.execute("DELETE FROM reps WHERE session_id = ?", [session_id])
        con.execute("DELETE FROM sets WHERE session_id = ?", [session_id])
        con.execute(
            "UPDATE analysis_runs SET is_current = FALSE WHERE session_id = ? AND is_current", [session_id]
        )
        counts = write_analysis(con, session_id, started_at, analysis, labeller=labeller, keep_loads=old)
        con.execute(
            "UPDATE sessions SET status = 'analysed', status_reason = NULL WHERE session_id = ?", [session_id]
        )
    return counts


# ------------------------------------------------------------------------------------- by database path


def stale_session_ids(db_path: Path, version: str, *, force: bool = False) -> list[str]:
    """:func:`stale_sessions` on a short writer connection (which also applies pending migrations)."""
    with connect(db_path) as con:
        return stale_sessions(con, version, force=force)


def load_for_reanalysis(db_path: Path, session_id: str) -> tuple[Recording, str | None]:
    """A stored session's samples (:func:`load_recording`) and the algorithm version of its current run
    (None without one), on one short connection."""
    with connect(db_path) as con:
        recording = load_recording(con, session_id)
        row = con.execute(
            "SELECT algorithm_version FROM analysis_runs WHERE session_id = ? AND is_current", [session_id]
        ).fetchone()
    return recording, None if row is None else str(row[0])


def replace_analysis_in(
    db_path: Path, session_id: str, analysis: SessionAnalysis, *, labeller: Labeller | None = None
) -> tuple[int, int, int]:
    """:func:`replace_analysis` on a fresh writer connection, run again if it lost a write conflict."""
    return write_with_retry(
        db_path, partial(replace_analysis, session_id=session_id, analysis=analysis, labeller=labeller)
    )
