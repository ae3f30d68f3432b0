"""Report delivery against real local servers: aiosmtpd for SMTP, http.server for the webhook."""

from __future__ import annotations

import email
import json
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from aiosmtpd.controller import Controller

from flows.report.delivery import (
    DeliveryConfig,
    DeliveryConfigError,
    DeliveryError,
    EmailConfig,
    WebhookConfig,
    deliver,
    load_delivery_config,
    post_webhook,
    send_email,
)
from flows.report.model import IsoWeek
from flows.report.produce import produce_report
from flows.report.render import chart_cid
from flows.tasks import is_transient


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server() -> Iterator[tuple[int, _Inbox]]:
    inbox = _Inbox()
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, inbox
    finally:
        controller.stop()


class _Hook(BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[str, bytes]]] = []
    status = 200

    def do_POST(self) -> None:
        n = int(self.headers["Content-Length"])
        type(self).received.append((self.headers["Content-Type"], self.rfile.read(n)))
        self.send_response(type(self).status)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        pass


@pytest.fixture
def webhook_server() -> Iterator[tuple[str, type[_Hook]]]:
    handler = type("Hook", (_Hook,), {"received": [], "status": 200})
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook", handler
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def produced(tmp_path: Path, hand: Any) -> Any:
    db = tmp_path / "hipsync.duckdb"
    hand.build(db, [hand.Session(started_at=datetime(2026, 11, 3, 18, tzinfo=UTC), sets=[hand.Set()] * 3)])
    return produce_report(db, IsoWeek.parse("2026-W45"), reports_dir=tmp_path / "reports", tz=UTC)


def test_email_reaches_a_local_smtp_server_with_inline_charts(
    smtp_server: tuple[int, _Inbox], produced: Any
) -> None:
    port, inbox = smtp_server
    cfg = DeliveryConfig(
        email=EmailConfig(
            host="127.0.0.1", port=port, sender="hipsync@example.org", recipients=("me@example.org",)
        )
    )
    assert deliver(produced, cfg) == ["email"]
    [(sender, rcpts, raw)] = inbox.messages
    assert sender == "hipsync@example.org" and rcpts == ["me@example.org"]
    msg = email.message_from_bytes(raw, policy=policy.default)
    assert isinstance(msg, EmailMessage)
    assert msg["Subject"] == "hipsync weekly report 2026-W45"
    assert msg.get_content_type() == "multipart/alternative"
    text = msg.get_body(preferencelist=("plain",))
    assert text is not None and "# Hip training report 2026-W45" in text.get_content()
    related = [p for p in msg.walk() if p.get_content_type() == "multipart/related"]
    assert len(related) == 1
    html = msg.get_body(preferencelist=("html",))
    assert html is not None and f"cid:{chart_cid('volume')}" in html.get_content()
    images = {p["Content-ID"]: p.get_content() for p in msg.walk() if p.get_content_type() == "image/png"}
    assert set(images) == {f"<{chart_cid(k)}>" for k in ("volume", "tempo", "rom")}
    assert images[f"<{chart_cid('tempo')}>"] == produced.charts["tempo"]


def test_webhook_posts_the_json_document(webhook_server: tuple[str, type[_Hook]], produced: Any) -> None:
    url, handler = webhook_server
    assert deliver(produced, DeliveryConfig(webhook=WebhookConfig(url=url))) == ["webhook"]
    [(ctype, body)] = handler.received
    assert ctype == "application/json"
    doc = json.loads(body)
    assert doc["week"] == "2026-W45" and doc["exercises"][0]["reps"] == 36


def test_failures_are_classified_for_retries(webhook_server: tuple[str, type[_Hook]]) -> None:
    url, handler = webhook_server
    handler.status = 503
    with pytest.raises(DeliveryError) as e503:
        post_webhook({}, WebhookConfig(url=url))
    assert is_transient(e503.value)
    handler.status = 400
    with pytest.raises(DeliveryError) as e400:
        post_webhook({}, WebhookConfig(url=url))
    assert not is_transient(e400.value)
    # Nothing listens on this port: a connection failure, worth retrying.
    with pytest.raises(DeliveryError) as refused:
        send_email(
            EmailMessage(),
            EmailConfig(host="127.0.0.1", port=_free_port(), sender="a@b", recipients=("c@d",), timeout_s=2),
        )
    assert is_transient(refused.value)


def test_config_from_env_overrides_the_file(tmp_path: Path) -> None:
    (tmp_path / "delivery.toml").write_text(
        '[email]\nhost = "smtp.example.org"\nfrom = "a@example.org"\nto = ["b@example.org"]\n'
        '[webhook]\nurl = "http://file.example/hook"\n'
    )
    cfg = load_delivery_config(tmp_path, env={"HIPSYNC_WEBHOOK_URL": "http://env.example/hook"})
    assert cfg.email is not None and cfg.email.port == 587 and cfg.email.starttls
    assert cfg.email.recipients == ("b@example.org",)
    assert cfg.webhook is not None and cfg.webhook.url == "http://env.example/hook"
    assert load_delivery_config(tmp_path / "nothing", env={}) == DeliveryConfig()
    with pytest.raises(DeliveryConfigError):
        load_delivery_config(None, env={"HIPSYNC_SMTP_HOST": "localhost"})
