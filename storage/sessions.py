"""Session listing (``hipsync sessions``) and user corrections (``hipsync log``): loads and session RPE.

Sessions are named on the command line by their id, any unique prefix of it (6+ characters), or ``last``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from storage.db import DEFAULT_LOCK_TIMEOUT_S, connect_readonly, schema_version, transaction
from storage.errors import NotFoundError
from storage.history import timestamp_literal
from storage.plan import Resistance

log = logging.getLogger(__name__)

__all__ = ["LogResult", "SessionSummary", "list_sessions", "log_session", "resolve_session"]

MIN_PREFIX = 6


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionSummary:
    """One row of ``hipsync sessions``: times UTC, ``duration_s`` seconds, counts of the current analysis."""

    session_id: str
    started_at: datetime
    duration_s: float | None
    exercises: tuple[str, ...]
    n_sets: int
    n_reps: int
    status: str
    status_reason: str | None
    source: str
    n_samples: int
    rpe: float | None
    algorithm_version: str | None
    n_corrected: int = 0  # sets a user edit changed (``hipsync edit``)


@dataclass(frozen=True, slots=True, kw_only=True)
class LogResult:
    """What ``hipsync log`` changed."""

    session_id: str
    set_index: int | None
    resistance: Resistance | None
    rpe: float | None


_LIST_SQL = """
SELECT s.session_id, s.started_at, epoch(s.ended_at) - epoch(s.started_at) AS duration_s,
       coalesce(list_sort(list_distinct(list(st.exercise) FILTER (WHERE st.exercise IS NOT NULL))), [])
           AS exercises,
       count(st.set_id) AS n_sets, coalesce(sum(st.n_reps), 0) AS n_reps,
       s.status, s.status_reason, s.source, coalesce(s.n_samples, 0), s.rpe,
       (SELECT max(r.algorithm_version) FROM analysis_runs r
        WHERE r.session_id = s.session_id AND r.is_current),
       {corrected} AS n_corrected
FROM sessions s LEFT JOIN sets st ON st.session_id = s.session_id
WHERE s.started_at >= {since}
GROUP BY ALL
ORDER BY s.started_at DESC
LIMIT {limit:d}
"""


def list_sessions(
    db_path: Path | str,
    *,
    since: datetime | None = None,
    limit: int = 1000,
    timeout_s: float = DEFAULT_LOCK_TIMEOUT_S,
) -> list[SessionSummary]:
    """Sessions newest first (read-only connection; quarantined ones included, with their reason)."""
    since = since or datetime(1970, 1, 1, tzinfo=UTC)
    with connect_readonly(db_path, timeout_s=timeout_s) as con:
        # a database not yet at schema 4 (read-only, before the next write migrates it) has no corrections
        corrected = "count(st.set_id) FILTER (WHERE st.corrected)" if schema_version(con) >= 4 else "0"
        # Literals, not bound parameters: binding makes DuckDB import pandas (1-3 s; see storage.history).
        sql = _LIST_SQL.format(corrected=corrected, since=timestamp_literal(since), limit=int(limit))
        rows = con.execute(sql).fetchall()
    return [
        SessionSummary(
            session_id=r[0],
            started_at=r[1].astimezone(UTC),
            duration_s=None if r[2] is None else float(r[2]),
            exercises=tuple(r[3]),
            n_sets=int(r[4]),
            n_reps=int(r[5]),
            status=r[6],
            status_reason=r[7],
            source=r[8],
            n_samples=int(r[9]),
            rpe=r[10],
            algorithm_version=r[11],
            n_corrected=int(r[12]),
        )
        for r in rows
    ]


def resolve_session(con: duckdb.DuckDBPyConnection, ref: str) -> str:
    """The session id for ``ref``: a full id, a unique prefix of at least 6 characters, or ``last``."""
    ref = ref.strip().lower()
    if ref == "last":
        row = con.execute(
            "SELECT session_id FROM sessions WHERE status <> 'quarantined' ORDER BY started_at DESC LIMIT 1"
        ).fetchone()
        if row is None:
            raise NotFoundError("no sessions stored yet")
        return str(row[0])
    if len(ref) < MIN_PREFIX:
        raise NotFoundError(f"session reference {ref!r} is too short: give at least {MIN_PREFIX} characters")
    rows = con.execute(
        "SELECT session_id FROM sessions WHERE starts_with(session_id, ?) LIMIT 3", [ref]
    ).fetchall()
    if not rows:
        raise NotFoundError(f"no session starts with {ref!r} (see `hipsync sessions`)")
    if len(rows) > 1:
        raise NotFoundError(f"{ref!r} matches several sessions; give more characters")
    return str(rows[0][0])


def log_session(
    db_path: Path | str,
    session: str,
    set_index: int | None = None,
    *,
    load: Resistance | str | None = None,
    rpe: float | None = None,
) -> LogResult:
    """Correct the load of one set (``load_source = 'user'``) and/or record the session RPE (0-10).

    ``set_index`` is the 1-based set number shown by ``hipsync sessions``/reports.
    """
    if load is None and rpe is None:
        raise ValueError("nothing to log: give a load, an RPE or both")
    if rpe is not None and not 0.0 <= rpe <= 10.0:
        raise ValueError(f"RPE must be between 0 and 10, got {rpe}")
    if load is not None and set_index is None:
        raise ValueError("a load belongs to one set: give the set number")
    res = Resistance.parse(load) if isinstance(load, str) else load
    # Here, not at the top: storage.writes brings NumPy and pyarrow, which listing sessions never needs.
    from storage.writes import write_with_retry

    def write(con: duckdb.DuckDBPyConnection) -> str:
        with transaction(con):
            sid = resolve_session(con, session)
            now = datetime.now(UTC)
            if res is not None:
                row = con.execute(
                    "SELECT set_id FROM sets WHERE session_id = ? AND set_index = ?", [sid, set_index]
                ).fetchone()
                if row is None:
                    n = con.execute("SELECT count(*) FROM sets WHERE session_id = ?", [sid]).fetchone()
                    raise NotFoundError(
                        f"session {sid[:8]} has no set {set_index} (it has {n[0] if n else 0})"
                    )
                con.execute(
                    "UPDATE sets SET resistance = ?, load_value = ?, load_unit = ?, load_source = 'user', "
                    "load_set_at = ? WHERE set_id = ?",
                    [res.text, res.load_value, res.load_unit, now, row[0]],
                )
            if rpe is not None:
                con.execute("UPDATE sessions SET rpe = ? WHERE session_id = ?", [rpe, sid])
        return sid

    sid = write_with_retry(Path(db_path), write)
    log.info("logged session %s set %s load %s rpe %s", sid, set_index, res, rpe)
    return LogResult(session_id=sid, set_index=set_index, resistance=res, rpe=rpe)
