"""The ``weekly-report`` Prefect flow: compute, render, save, store, publish artifacts, deliver.

A thin wrapper around :func:`flows.report.produce.produce_report` (the fast path, usable without Prefect)
and :mod:`flows.report.delivery`. In the Prefect UI each run shows a Markdown artifact (the summary) and a
table artifact (one row per exercise and side), both keyed ``weekly-report``.
"""

from __future__ import annotations

import logging
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from flows.report.delivery import (
    DeliveryConfig,
    EmailConfig,
    WebhookConfig,
    email_for_report,
    load_delivery_config,
    post_webhook,
    send_email,
)
from flows.report.model import IsoWeek
from flows.report.produce import FORMATS, ProducedReport, produce_report
from flows.report.render import render_markdown, table_rows
from flows.tasks import io_task
from storage import paths

logger = logging.getLogger(__name__)


@io_task("produce-report", task_run_name="produce report {week}")
def produce_report_task(db_path: Path, week: str, reports_dir: Path) -> ProducedReport:
    """Read the database, render HTML/Markdown/JSON under ``reports_dir`` and store them in ``reports``."""
    return produce_report(db_path, IsoWeek.parse(week), reports_dir=reports_dir, formats=FORMATS)


@task(name="publish-artifacts", cache_policy=NO_CACHE)
def publish_artifacts_task(produced: ProducedReport) -> None:
    """The summary as a Markdown artifact and the per-exercise table as a table artifact."""
    create_markdown_artifact(
        render_markdown(produced.report),
        key="weekly-report",
        description=f"hipsync weekly report {produced.week}",
    )
    rows = table_rows(produced.report)
    if rows:
        create_table_artifact(
            rows, key="weekly-report-exercises", description=f"Per exercise, {produced.week}"
        )


@io_task("email-report")
def email_report_task(produced: ProducedReport, cfg: EmailConfig) -> None:
    send_email(email_for_report(produced, cfg), cfg)


@io_task("post-report-webhook")
def webhook_report_task(produced: ProducedReport, cfg: WebhookConfig) -> int:
    return post_webhook(produced.document, cfg)


@flow(name="weekly-report", log_prints=False)
def weekly_report(week: str | None = None, home: str | None = None, deliver: bool = True) -> str:
    """Build the report for ISO ``week`` (``YYYY-Www``; default: the last complete week).

    Saves ``hipsync-report-<week>.{html,md,json}`` under ``$HIPSYNC_HOME/reports``, stores them in the
    ``reports`` table, publishes the artifacts and, with ``deliver``, emails/posts it where configured.
    Returns the HTML report's path.
    """
    iso = IsoWeek.parse(week) if week else IsoWeek.last_complete()
    base = Path(home) if home else paths.hipsync_home()
    produced = produce_report_task(paths.db_path(base), str(iso), paths.reports_dir(base))
    publish_artifacts_task(produced)
    if deliver:
        cfg: DeliveryConfig = load_delivery_config(base)
        if cfg.email is not None:
            email_report_task(produced, cfg.email)
        if cfg.webhook is not None:
            webhook_report_task(produced, cfg.webhook)
        if cfg.email is None and cfg.webhook is None:
            get_run_logger().info("no email or webhook configured: report saved only")
    html = produced.paths["html"]
    get_run_logger().info("weekly report %s: %s", iso, html)
    return str(html)
