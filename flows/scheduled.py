"""The flows ``hipsync serve`` deploys on its schedules: no parameters, the home bound at serve start.

A deployment's parameters can be set by whoever may call the Prefect API (``create_flow_run`` takes
``parameters``), so the deployed flows take none: a caller cannot point them at another folder. They
read ``$HIPSYNC_HOME``, which ``hipsync serve`` fixes in its own environment before the runner starts
(the runner's flow-run processes inherit it). The work is the same as :func:`flows.sync_flow.
sync_sessions` and :func:`flows.report_flow.weekly_report`; the flow names are theirs, so the
deployments read ``sync-sessions/hipsync-catch-up`` and ``weekly-report/hipsync-weekly-report``.
"""

from __future__ import annotations

from typing import Any

from prefect import flow

from flows.report_flow import weekly_report
from flows.sync_flow import sync_sessions
from storage import paths


@flow(name="sync-sessions", log_prints=False)
def catch_up_sync() -> list[dict[str, Any]]:
    """Import the finished spools of the home serve was started with (see :func:`sync_sessions`)."""
    return sync_sessions.fn(home=str(paths.hipsync_home()))


@flow(name="weekly-report", log_prints=False)
def scheduled_weekly_report() -> str:
    """The last complete week's report for the home serve was started with (see :func:`weekly_report`)."""
    return weekly_report.fn(home=str(paths.hipsync_home()))
