"""Delivering a weekly report: email over SMTP (stdlib ``smtplib``) and a JSON webhook (stdlib ``urllib``).

Configuration comes from environment variables, falling back to ``$HIPSYNC_HOME/delivery.toml``
(documented in ``docs/reports.md``); an unset destination is simply skipped.

==========================  =====================================  ====================================
environment variable        delivery.toml                          meaning
==========================  =====================================  ====================================
``HIPSYNC_SMTP_HOST``       ``[email] host``                       SMTP server; email is off without it
``HIPSYNC_SMTP_PORT``       ``[email] port``                       default 587 with STARTTLS, else 25
``HIPSYNC_SMTP_USER``       ``[email] user``                       login (optional)
``HIPSYNC_SMTP_PASSWORD``   ``[email] password``                   password (optional)
``HIPSYNC_SMTP_STARTTLS``   ``[email] starttls``                   ``1``/``0``; default on for port 587
``HIPSYNC_EMAIL_FROM``      ``[email] from``                       sender address
``HIPSYNC_EMAIL_TO``        ``[email] to``                         recipients, comma-separated
``HIPSYNC_WEBHOOK_URL``     ``[webhook] url``                      POST target for the JSON report
==========================  =====================================  ====================================

The email is ``multipart/alternative`` (Markdown-as-text and HTML) whose HTML part sits in a
``multipart/related`` container with the chart PNGs attached inline under ``Content-ID``s, which is what
email clients display without fetching anything remote.
"""

from __future__ import annotations

import json
import logging
import os
import smtplib
import ssl
import tomllib
import urllib.error
import urllib.request
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Any

from flows.report.charts import render_charts
from flows.report.produce import ProducedReport
from flows.report.render import chart_cid, render_html, render_markdown

logger = logging.getLogger(__name__)

CONFIG_FILENAME = "delivery.toml"


class DeliveryError(RuntimeError):
    """A report could not be delivered; ``transient`` says whether retrying may help."""

    def __init__(self, message: str, *, transient: bool) -> None:
        super().__init__(message)
        self.transient = transient


class DeliveryConfigError(DeliveryError, ValueError):
    """The delivery configuration is incomplete or malformed (never transient)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, transient=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class EmailConfig:
    host: str
    port: int
    sender: str
    recipients: tuple[str, ...]
    user: str | None = None
    password: str | None = None
    starttls: bool = False
    timeout_s: float = 30.0


@dataclass(frozen=True, slots=True, kw_only=True)
class WebhookConfig:
    url: str
    timeout_s: float = 15.0


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliveryConfig:
    email: EmailConfig | None = None
    webhook: WebhookConfig | None = None


def _truthy(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def load_delivery_config(home: Path | None = None, env: dict[str, str] | None = None) -> DeliveryConfig:
    """Email and webhook settings from ``env`` (default ``os.environ``), else ``home/delivery.toml``."""
    env = dict(os.environ) if env is None else env
    file_cfg: dict[str, Any] = {}
    if home is not None and (home / CONFIG_FILENAME).is_file():
        try:
            file_cfg = tomllib.loads((home / CONFIG_FILENAME).read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as e:
            raise DeliveryConfigError(f"{home / CONFIG_FILENAME}: {e}") from e
    mail = dict(file_cfg.get("email", {}))
    hook = dict(file_cfg.get("webhook", {}))

    def pick(var: str, section: dict[str, Any], key: str) -> Any:
        return env[var] if env.get(var) else section.get(key)

    email: EmailConfig | None = None
    host = pick("HIPSYNC_SMTP_HOST", mail, "host")
    if host:
        to = pick("HIPSYNC_EMAIL_TO", mail, "to")
        recipients = tuple(
            a.strip() for a in (to.split(",") if isinstance(to, str) else (to or [])) if a.strip()
        )
        sender = pick("HIPSYNC_EMAIL_FROM", mail, "from")
        if not recipients or not sender:
            raise DeliveryConfigError(
                "email delivery needs HIPSYNC_EMAIL_FROM and HIPSYNC_EMAIL_TO (or [email])"
            )
        starttls_raw = pick("HIPSYNC_SMTP_STARTTLS", mail, "starttls")
        port_raw = pick("HIPSYNC_SMTP_PORT", mail, "port")
        try:
            port = int(port_raw) if port_raw is not None else 587 if _truthy(starttls_raw or "1") else 25
        except ValueError as e:
            raise DeliveryConfigError(f"SMTP port is not a number: {port_raw!r}") from e
        starttls = _truthy(starttls_raw) if starttls_raw is not None else port == 587
        email = EmailConfig(
            host=str(host),
            port=port,
            sender=str(sender),
            recipients=recipients,
            user=pick("HIPSYNC_SMTP_USER", mail, "user"),
            password=pick("HIPSYNC_SMTP_PASSWORD", mail, "password"),
            starttls=starttls,
        )
    url = pick("HIPSYNC_WEBHOOK_URL", hook, "url")
    webhook = WebhookConfig(url=str(url)) if url else None
    return DeliveryConfig(email=email, webhook=webhook)


def build_email(
    *,
    subject: str,
    sender: str,
    recipients: tuple[str, ...],
    html_cid: str,
    text: str,
    charts: dict[str, bytes],
) -> EmailMessage:
    """A ``multipart/alternative`` message; the HTML part is ``multipart/related`` with inline PNGs.

    ``html_cid`` is the report rendered with ``images="cid"`` so its ``<img src="cid:...">`` resolve.
    """
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = sender
    msg["To"] = ", ".join(recipients)
    msg["Message-ID"] = make_msgid(domain="hipsync.local")
    msg.set_content(text)
    msg.add_alternative(html_cid, subtype="html")
    html_part = msg.get_body(preferencelist=("html",))
    if not isinstance(html_part, EmailMessage):  # set just above; a failure here is a bug
        raise TypeError("HTML part missing from the report email")
    for name, png in charts.items():
        html_part.add_related(
            png, maintype="image", subtype="png", cid=f"<{chart_cid(name)}>", filename=f"{name}.png"
        )
    return msg


def send_email(msg: EmailMessage, cfg: EmailConfig) -> None:
    """Send ``msg``; network/server trouble is a transient :class:`DeliveryError`, rejection is not."""
    try:
        with smtplib.SMTP(cfg.host, cfg.port, timeout=cfg.timeout_s) as smtp:
            if cfg.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if cfg.user:
                smtp.login(cfg.user, cfg.password or "")
            smtp.send_message(msg)
    except (smtplib.SMTPAuthenticationError, smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused) as e:
        raise DeliveryError(
            f"SMTP server {cfg.host}:{cfg.port} refused the report: {e}", transient=False
        ) from e
    except smtplib.SMTPResponseException as e:
        # 4xx replies are "try again later" by definition; 5xx are permanent.
        raise DeliveryError(
            f"SMTP {e.smtp_code} from {cfg.host}: {e.smtp_error!r}", transient=400 <= e.smtp_code < 500
        ) from e
    except (OSError, smtplib.SMTPException) as e:
        raise DeliveryError(f"cannot send mail via {cfg.host}:{cfg.port}: {e}", transient=True) from e
    logger.info("report emailed to %s", ", ".join(cfg.recipients))


def post_webhook(document: dict[str, Any], cfg: WebhookConfig) -> int:
    """POST the JSON report; returns the HTTP status. 5xx/429/network errors are transient."""
    body = json.dumps(document).encode("utf-8")
    req = urllib.request.Request(
        cfg.url,
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", "User-Agent": "hipsync"},
    )
    try:
        with urllib.request.urlopen(req, timeout=cfg.timeout_s) as resp:
            status = int(resp.status)
    except urllib.error.HTTPError as e:
        raise DeliveryError(
            f"webhook {cfg.url} answered {e.code}", transient=e.code >= 500 or e.code == 429
        ) from e
    except (urllib.error.URLError, OSError) as e:
        raise DeliveryError(f"webhook {cfg.url} unreachable: {e}", transient=True) from e
    logger.info("report posted to %s (%d)", cfg.url, status)
    return status


def email_for_report(produced: ProducedReport, cfg: EmailConfig) -> EmailMessage:
    """The report email: the HTML report with ``cid:`` charts, its Markdown as the plain-text part."""
    report = produced.report
    charts = produced.charts or render_charts(report)
    return build_email(
        subject=f"hipsync weekly report {report.period.label}",
        sender=cfg.sender,
        recipients=cfg.recipients,
        html_cid=render_html(report, charts, images="cid"),
        text=render_markdown(report),
        charts=charts,
    )


def deliver(produced: ProducedReport, cfg: DeliveryConfig) -> list[str]:
    """Send the report to every configured destination; returns what was done (``["email", ...]``)."""
    done: list[str] = []
    if cfg.email is not None:
        send_email(email_for_report(produced, cfg.email), cfg.email)
        done.append("email")
    if cfg.webhook is not None:
        post_webhook(produced.document, cfg.webhook)
        done.append("webhook")
    return done
