"""The ``sync-sessions`` Prefect flow: finished spools -> DuckDB, one task run per spool.

The flow is a thin wrapper: the work is :func:`flows.imports.sync_one_spool` (idempotent by content
sha256, quarantine on undecodable input), so running the flow twice imports nothing the second time.
Tasks run one after the other because DuckDB has a single writer. The per-spool task retries on transient
I/O errors only (:func:`flows.tasks.io_task`).
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact

from flows.imports import sync_one_spool
from flows.tasks import io_task
from ingest.spool.reader import finished_spools
from storage import paths
from storage.plan import load_plan
from storage.writes import SessionImport

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class SpoolSync:
    """What happened to one spool (a JSON-friendly copy of ``storage.writes.SessionImport``)."""

    spool: str
    status: str
    session_id: str | None
    reason: str | None
    n_sets: int
    n_reps: int


def describe_import(status: str, res: SessionImport) -> str:
    """What happened to one spool, for the run log: a spool imported before is "already stored", not
    a session of 0 sets (which read like lost data)."""
    if status == "skipped":
        return f"already stored (session {(res.session_id or '?')[:8]})"
    if status == "quarantined":
        return f"quarantined: {res.reason}"
    return f"{status}, session {(res.session_id or '?')[:8]}: {res.n_sets} sets, {res.n_reps} reps"


@io_task("sync-spool", task_run_name="sync {spool_path.name}")
def sync_spool_task(db_path: Path, spool_path: Path, plan_file: Path | None = None) -> SpoolSync:
    """Import one spool into the database (idempotent)."""
    plan = load_plan(plan_file) if plan_file is not None and plan_file.exists() else None
    res = sync_one_spool(db_path, spool_path, plan)
    get_run_logger().info("%s: %s", spool_path.name, describe_import(res.status, res))
    return SpoolSync(
        spool=str(spool_path),
        status=res.status,
        session_id=res.session_id,
        reason=res.reason,
        n_sets=res.n_sets,
        n_reps=res.n_reps,
    )


@flow(name="sync-sessions", log_prints=False)
def sync_sessions(home: str | None = None, artifact: bool = True) -> list[dict[str, Any]]:
    """Import every finished spool under ``$HIPSYNC_HOME/spool`` (or ``home``) into the database.

    Returns one dict per spool (:class:`SpoolSync` fields). Open spools whose recorder is still running
    are left for the next run.
    """
    base = Path(home) if home else paths.hipsync_home()
    db, spools_dir, plan_file = paths.db_path(base), paths.spool_dir(base), paths.plan_path(base)
    results = [
        sync_spool_task(db, sp, plan_file if plan_file.exists() else None)
        for sp in finished_spools(spools_dir)
    ]
    new = [r for r in results if r.status in ("analysed", "imported")]
    get_run_logger().info(
        "%d spool(s): %d new, %d already stored, %d quarantined",
        len(results),
        len(new),
        sum(r.status == "skipped" for r in results),
        sum(r.status == "quarantined" for r in results),
    )
    if artifact and new:
        lines = ["# Sessions synced", "", "| spool | status | sets | reps |", "|---|---|---|---|"]
        lines += [f"| {Path(r.spool).name} | {r.status} | {r.n_sets} | {r.n_reps} |" for r in new]
        create_markdown_artifact("\n".join(lines), key="sync-sessions", description="Newly synced sessions")
    return [asdict(r) for r in results]
