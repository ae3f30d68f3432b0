"""The one Prefect task decorator of hipsync's flows, and what counts as a transient error.

Tasks are small typed functions around package code (:mod:`flows.imports`, :mod:`flows.report.produce`,
:mod:`flows.report.delivery`) that take paths, ids and weeks, not connections or arrays. Only I/O tasks
retry (:func:`io_task`), with backoff :data:`RETRY_DELAYS_S`, and only on transient errors
(:func:`is_transient`): a database locked by another process, timeouts, dropped connections, delivery
errors that say they are transient. A malformed spool is not an error at all (it is quarantined); a bug
raises once and fails the task. Results are never cached: every run reads the current database.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import State, TaskRun
from prefect.tasks import Task

P = ParamSpec("P")
R = TypeVar("R")

#: Backoff between the retries of an I/O task (s): 1, 4, 16.
RETRY_DELAYS_S = [1.0, 4.0, 16.0]


def is_transient(exc: BaseException | None) -> bool:
    """Errors worth retrying: a locked database, timeouts, connection trouble, transient delivery errors."""
    if exc is None:
        return False
    transient_flag = getattr(exc, "transient", None)
    if isinstance(transient_flag, bool):  # flows.report.delivery.DeliveryError says so itself
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


def io_task(name: str, *, task_run_name: str | None = None) -> Callable[[Callable[P, R]], Task[P, R]]:
    """``@task`` for a task that reads or writes the outside world: retried on transient errors only,
    after 1, 4 and 16 s, never cached."""
    return task(
        name=name,
        task_run_name=task_run_name,
        retries=len(RETRY_DELAYS_S),
        retry_delay_seconds=RETRY_DELAYS_S,
        retry_condition_fn=retry_on_transient,
        cache_policy=NO_CACHE,
    )
