"""``hipsync report``: the weekly volume, tempo, overload and recovery report for one ISO week.

Database -> :func:`flows.report.produce.produce_report` (the fast path the ``weekly-report`` flow wraps;
no Prefect server needed) -> HTML/Markdown/JSON files under ``$HIPSYNC_HOME/reports`` -> optionally
:func:`flows.report.delivery.deliver`. matplotlib, DuckDB and the report package are imported inside the
command so ``hipsync --help`` stays fast.
"""

from __future__ import annotations

import enum
import sys
from pathlib import Path
from typing import Annotated

import typer

from hipsync.cli._utilities import exit_with_error


class ReportFormat(enum.StrEnum):
    """Output format of ``hipsync report``."""

    html = "html"
    md = "md"
    json = "json"


def report(
    week: Annotated[
        str | None,
        typer.Option(
            "--week",
            "-w",
            help="ISO week to report, YYYY-Www (e.g. 2026-W47). Default, in every format: the week of "
            "your latest session (a week still running is reported 'so far'). Weeks run Monday 00:00 to "
            "Sunday 24:00 local time.",
        ),
    ] = None,
    fmt: Annotated[
        ReportFormat,
        typer.Option(
            "--format",
            "-f",
            help="html: a file with inline charts (its path is printed); md or json: printed to stdout "
            "unless --out is given. All three are always saved under $HIPSYNC_HOME/reports/.",
        ),
    ] = ReportFormat.html,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Also write the chosen format to this file (its path is printed)."),
    ] = None,
    deliver: Annotated[
        bool,
        typer.Option(
            "--deliver/--no-deliver",
            help="Email and/or POST the report where configured (HIPSYNC_SMTP_*, HIPSYNC_WEBHOOK_URL or "
            "$HIPSYNC_HOME/delivery.toml; see docs/reports.md).",
        ),
    ] = False,
) -> None:
    """Write the weekly volume, tempo, overload and recovery report for one ISO week (default: the week of your latest session).

    The report is computed from the local database (no Prefect server needed), saved as hipsync-report-YYYY-Www.{html,md,json} under $HIPSYNC_HOME/reports/ and recorded in the database's `reports` table.
    """  # noqa: E501 (one line: Typer keeps docstring line breaks in --help)
    from flows.report.model import IsoWeek, WeekFormatError
    from flows.report.produce import default_week, produce_report
    from storage import paths

    try:
        iso = IsoWeek.parse(week) if week else default_week(paths.db_path())
    except WeekFormatError as e:
        raise typer.BadParameter(str(e), param_hint="--week") from e
    produced = produce_report(paths.db_path(), iso, reports_dir=paths.reports_dir())
    typer.echo(f"report for {produced.report.period.label}", err=True)
    chosen = produced.paths[fmt.value]
    if deliver:
        from flows.report.delivery import DeliveryError, load_delivery_config
        from flows.report.delivery import deliver as send

        try:
            done = send(produced, load_delivery_config(paths.hipsync_home()))
        except DeliveryError as e:
            exit_with_error(f"delivery failed: {e}")
        typer.echo(f"delivered by: {', '.join(done) or 'nothing configured'}", err=True)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(chosen.read_bytes())
        typer.echo(str(out))
    elif fmt is ReportFormat.html:
        typer.echo(str(chosen))
    else:
        sys.stdout.write(chosen.read_text(encoding="utf-8"))
        if fmt is ReportFormat.md:
            sys.stdout.write("\n")
