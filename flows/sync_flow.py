"""The ``sync-sessions`` Prefect flow: finished spools -> DuckDB, one task run per spool.

The flow is a thin wrapper: the work is :func:`flows.imports.sync_one_spool` (idempotent by content
sha256, quarantine on undecodable input), so running the flow twice imports nothing the second time.
Tasks run one after the other because DuckDB has a single writer.

Retries: only the per-spool task retries, only on transient I/O errors (:func:`is_transient`: the database
locked by another process, timeouts, dropped connections), with exponential backoff. A malformed spool
is not an error here at all (it is quarantined); a bug raises once and fails the task.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import State, TaskRun
from prefect.tasks import Task

from storage import paths

logger = logging.getLogger(__name__)

#: Backoff between the retries of an I/O task (s): 1, 4, 16.
RETRY_DELAYS_S = [1.0, 4.0, 16.0]


def is_transient(exc: BaseException | None) -> bool:
    """Errors worth retrying: a locked database, timeouts, connection trouble, transient delivery errors."""
    if exc is None:
        return False
    transient_flag = getattr(exc, "transient", None)
    if isinstance(transient_flag, bool):  # flows.delivery.DeliveryError says so itself
        return transient_flag
    # storage.errors.DatabaseLockedError subclasses TimeoutError.
    return isinstance(exc, TimeoutError | ConnectionError | BlockingIOError | InterruptedError)


def retry_on_transient(task: Task[..., Any], task_run: TaskRun, state: State[Any]) -> bool:
    """Prefect ``retry_condition_fn``: retry only when the failure is transient."""
    exc = state.data if isinstance(state.data, BaseException) else None
    if exc is None:
        try:
            state.result(raise_on_failure=True)
        except BaseException as e:
            exc = e
    return is_transient(exc)


@dataclass(frozen=True, slots=True, kw_only=True)
class SpoolSync:
    """What happened to one spool (a JSON-friendly copy of ``storage.sync.SessionImport``)."""

    spool: str
    status: str
    session_id: str | None
    reason: str | None
    n_sets: int
    n_reps: int


@task(
    name="sync-spool",
    task_run_name="sync {spool_path.name}",
    retries=len(RETRY_DELAYS_S),
    retry_delay_seconds=RETRY_DELAYS_S,
    retry_condition_fn=retry_on_transient,
    cache_policy=NO_CACHE,
)
def sync_spool_task(db_path: Path, spool_path: Path, plan_file: Path | None = None) -> SpoolSync:
    """Import one spool into the database (idempotent)."""
    from flows.imports import sync_one_spool
    from storage.plan import load_plan

    plan = load_plan(plan_file) if plan_file is not None and plan_file.exists() else None
    res = sync_one_spool(db_path, spool_path, plan)
    get_run_logger().info("%s: %s (%d sets, %d reps)", spool_path.name, res.status, res.n_sets, res.n_reps)
    return SpoolSync(
        spool=str(spool_path),
        status=res.status,
        session_id=res.session_id,
        reason=res.reason,
        n_sets=res.n_sets,
        n_reps=res.n_reps,
    )


def find_spools(spool_dir: Path) -> list[Path]:
    """Finished spools (closed, or open with their writer gone) in ``spool_dir``."""
    from ingest.spool import finished_spools

    return finished_spools(spool_dir)


@flow(name="sync-sessions", log_prints=False)
def sync_sessions(home: str | None = None, artifact: bool = True) -> list[dict[str, Any]]:
    """Import every finished spool under ``$HIPSYNC_HOME/spool`` (or ``home``) into the database.

    Returns one dict per spool (:class:`SpoolSync` fields). Open spools whose recorder is still running
    are left for the next run.
    """
    base = Path(home) if home else paths.hipsync_home()
    db, spools_dir, plan_file = paths.db_path(base), paths.spool_dir(base), paths.plan_path(base)
    results = [
        sync_spool_task(db, sp, plan_file if plan_file.exists() else None) for sp in find_spools(spools_dir)
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
