"""The Prefect flows under the one session-scoped test harness."""

from __future__ import annotations

import asyncio
import email
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import policy
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from flows.report.model import IsoWeek

pytestmark = pytest.mark.prefect


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope.content)
        return "250 OK"


@pytest.fixture
def smtp(monkeypatch: pytest.MonkeyPatch) -> Iterator[_Inbox]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    inbox = _Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setenv("HIPSYNC_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("HIPSYNC_SMTP_PORT", str(port))
    monkeypatch.setenv("HIPSYNC_SMTP_STARTTLS", "0")
    monkeypatch.setenv("HIPSYNC_EMAIL_FROM", "hipsync@example.org")
    monkeypatch.setenv("HIPSYNC_EMAIL_TO", "me@example.org")
    try:
        yield inbox
    finally:
        controller.stop()


async def _artifacts(key: str) -> list[Any]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    async with get_client() as client:
        return list(
            await client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])))
        )


def test_weekly_report_flow_saves_publishes_and_emails(
    prefect_harness: None, hipsync_home: Path, hand: Any, smtp: _Inbox
) -> None:
    from flows.report_flow import weekly_report
    from storage import paths
    from storage.report_queries import list_reports

    monday = datetime.combine(IsoWeek.parse("2026-W45").monday, datetime.min.time()).astimezone(UTC)
    hand.build(
        paths.db_path(hipsync_home),
        [hand.Session(started_at=monday + timedelta(days=d, hours=9), sets=[hand.Set()] * 3) for d in (0, 3)],
    )
    html = Path(weekly_report(week="2026-W45"))
    assert html == paths.reports_dir(hipsync_home) / "hipsync-report-2026-W45.html" and html.exists()
    assert {r[2] for r in list_reports(paths.db_path(hipsync_home), "2026-W45")} == {"html", "md", "json"}
    # Other tests in this session publish under the same keys; look for this report's versions.
    summaries = asyncio.run(_artifacts("weekly-report"))
    assert any(a.type == "markdown" and "Hip training report 2026-W45" in a.data for a in summaries)
    tables = asyncio.run(_artifacts("weekly-report-exercises"))
    assert any(a.type == "table" and "clamshell" in str(a.data) for a in tables)
    [raw] = smtp.messages
    msg = email.message_from_bytes(raw, policy=policy.default)
    assert msg["Subject"] == "hipsync weekly report 2026-W45"


def test_sync_flow_quarantines_garbage_and_is_idempotent(prefect_harness: None, hipsync_home: Path) -> None:
    from flows.sync_flow import sync_sessions
    from storage import paths

    bad = paths.spool_dir(hipsync_home) / "broken.spool"
    bad.write_bytes(b"this is not a spool" * 10)
    first = sync_sessions()
    assert [r["status"] for r in first] == ["quarantined"]
    second = sync_sessions()
    assert [r["status"] for r in second] == ["skipped"]
    assert bad.read_bytes() == b"this is not a spool" * 10  # sources are never modified


def test_io_tasks_retry_transient_errors_only(prefect_harness: None) -> None:
    from prefect import flow, task

    from flows.tasks import retry_on_transient
    from storage.errors import DatabaseLockedError

    calls: list[str] = []

    @task(retries=2, retry_delay_seconds=0, retry_condition_fn=retry_on_transient)
    def flaky(kind: str) -> str:
        calls.append(kind)
        if len(calls) == 1:
            raise DatabaseLockedError("db", 1.0, "locked") if kind == "lock" else ValueError("bad input")
        return "ok"

    @flow
    def run(kind: str) -> str:
        return flaky(kind)

    assert run("lock") == "ok" and calls == ["lock", "lock"]
    calls.clear()
    with pytest.raises(ValueError, match="bad input"):
        run("value")
    assert calls == ["value"]
