"""CLI commands: report, serve, demo (the flows-level commands).

Prefect, matplotlib, DuckDB and the BLE stack are imported inside the commands so ``hipsync --help``
stays fast; ``hipsync report`` does not need a Prefect server at all (it runs the same fast path the
``weekly-report`` flow wraps).
"""

from __future__ import annotations

import enum
import sys
from pathlib import Path
from typing import Annotated

import typer


class ReportFormat(enum.StrEnum):
    html = "html"
    md = "md"
    json = "json"


def _fail(message: str) -> typer.Exit:
    typer.secho(message, fg=typer.colors.RED, err=True)
    return typer.Exit(code=1)


def report(
    week: Annotated[
        str | None,
        typer.Option(
            "--week",
            "-w",
            help="ISO week to report, YYYY-Www (e.g. 2026-W47). Default: the last complete week "
            "(weeks run Monday 00:00 to Sunday 24:00 local time).",
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
    """Write the weekly volume, tempo, overload and recovery report for one ISO week.

    The report is computed from the local database (no Prefect server needed), saved as hipsync-report-YYYY-Www.{html,md,json} under $HIPSYNC_HOME/reports/ and recorded in the database's `reports` table.
    """  # noqa: E501 (one line: Typer keeps docstring line breaks in --help)
    from flows.render import produce_report
    from flows.report import IsoWeek, WeekFormatError
    from storage import paths

    try:
        iso = IsoWeek.parse(week) if week else IsoWeek.last_complete()
    except WeekFormatError as e:
        raise typer.BadParameter(str(e), param_hint="--week") from e
    produced = produce_report(paths.db_path(), iso, reports_dir=paths.reports_dir())
    chosen = produced.paths[fmt.value]
    if deliver:
        from flows.delivery import DeliveryError, load_delivery_config
        from flows.delivery import deliver as send

        try:
            done = send(produced, load_delivery_config(paths.hipsync_home()))
        except DeliveryError as e:
            raise _fail(f"delivery failed: {e}") from e
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


def demo(
    weeks: Annotated[
        int,
        typer.Option(
            "--weeks", min=2, max=12, help="Weeks of simulated training history before the live session."
        ),
    ] = 4,
    seed: Annotated[
        int, typer.Option("--seed", help="Seed of the simulated program (same seed, same program).")
    ] = 2026,
    speed: Annotated[
        float,
        typer.Option(
            "--speed",
            min=1.0,
            max=50.0,
            help="How much faster than real time the emulated sensor streams the live session "
            "(1 = real time, about 15 minutes).",
        ),
    ] = 20.0,
    live_minutes: Annotated[
        float | None,
        typer.Option(
            "--live-minutes",
            min=0.5,
            help="Stream only the first N minutes of the live session (default: all of it, about 15 min of "
            "sensor time).",
        ),
    ] = None,
) -> None:
    """Run the whole pipeline on a virtual sensor and print the HTML report's path.

    In $HIPSYNC_HOME (set it to a fresh directory to keep your own data apart): simulate a progressive program, import the past sessions, stream the latest session live from an emulated Polar Verity Sense over a virtual BLE link (sped up, see --speed), sync it with the sync-sessions flow, run the weekly-report flow on an embedded Prefect server (or PREFECT_API_URL), and print the report path. Running it again adds one more live session; everything else is idempotent.
    """  # noqa: E501 (one line per paragraph: Typer keeps docstring line breaks in --help)
    import os
    import time

    # Prefect logs every task run to the console; the progress bars say the same more quietly.
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")

    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

    from flows.demo import run_demo
    from storage import paths

    console = Console(stderr=True)
    home = paths.hipsync_home()
    console.print(f"[bold]hipsync demo[/] in {home}")
    console.print(
        f"The live session is streamed {speed:g}x faster than real time (sensor clock sped up; the samples "
        "and their timestamps are those of a real-time session)."
    )
    labels = {
        "simulate": "Simulating program",
        "history": "Importing past sessions",
        "live": "Streaming live session",
        "sync": "sync-sessions flow",
        "report": "weekly-report flow",
    }
    t0 = time.monotonic()
    with Progress(
        TextColumn("{task.description:<26}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[note]}"),
        console=console,
    ) as bars:
        ids: dict[str, TaskID] = {}

        def on_progress(stage: str, done: int, total: int, message: str) -> None:
            if stage not in ids:
                ids[stage] = bars.add_task(labels.get(stage, stage), total=max(total, 1), note="")
            bars.update(ids[stage], completed=done, total=max(total, 1), note=message[:60])

        result = run_demo(
            home,
            weeks=weeks,
            seed=seed,
            speed=speed,
            live_max_s=None if live_minutes is None else live_minutes * 60,
            progress=on_progress,
        )
    cut = (
        f" (first {result.streamed_s / 60:.1f} of {result.live_duration_s / 60:.1f} min)"
        if result.streamed_s < result.live_duration_s
        else ""
    )
    console.print(
        f"{result.history_imported} past session(s) imported ({result.history_skipped} already there); "
        f"live session{cut}: {result.streamed_s / 60:.1f} min of sensor time streamed "
        f"{result.speed:g}x sped up in {result.streamed_s / result.speed:.0f} s "
        f"({result.live_samples} samples); "
        f"done in {time.monotonic() - t0:.0f} s."
    )
    console.print(f"Report for {result.week} (also: hipsync report --week {result.week} --format json):")
    typer.echo(str(result.report_html))


def serve(
    virtual: Annotated[
        str | None,
        typer.Option(
            "--virtual",
            help="Use an emulated sensor of this profile (e.g. polar-verity-sense) on a virtual BLE link "
            "instead of the sensors in sensors.json; also HIPSYNC_BLE=virtual.",
        ),
    ] = None,
    report_cron: Annotated[
        str,
        typer.Option("--report-cron", help="When to build the weekly report (cron, local time zone)."),
    ] = "0 7 * * 1",
    timezone: Annotated[
        str | None,
        typer.Option("--timezone", help="IANA time zone of the schedules (default: this machine's)."),
    ] = None,
    catchup_min: Annotated[
        float,
        typer.Option("--catchup-min", min=1.0, help="Minutes between catch-up syncs of leftover spools."),
    ] = 60.0,
    idle_min: Annotated[
        float,
        typer.Option(
            "--idle-min", min=0.05, help="Close a session after the sensor was still this many minutes."
        ),
    ] = 2.0,
    rearm_min: Annotated[
        float,
        typer.Option(
            "--rearm-min", min=0.0, help="Minutes to wait after a session before looking for a sensor again."
        ),
    ] = 5.0,
    time_scale: Annotated[
        float,
        typer.Option("--time-scale", min=1.0, help="With --virtual: sensor clock speed-up (demos, tests)."),
    ] = 1.0,
    max_sessions: Annotated[
        int | None,
        typer.Option("--max-sessions", min=1, help="Exit after recording and syncing this many sessions."),
    ] = None,
) -> None:
    """Run in the background: record whenever a sensor is worn, sync each session, build weekly reports.

    Uses an embedded Prefect server unless PREFECT_API_URL is set. Ctrl-C or SIGTERM stops cleanly: an open recording is closed and kept, and synced on the next start.
    """  # noqa: E501 (one line per paragraph: Typer keeps docstring line breaks in --help)
    import asyncio
    import os
    import signal

    from flows.serve import PrefectServer, ServeConfig, serve_async
    from storage import paths

    profile = virtual
    if profile is None and os.environ.get("HIPSYNC_BLE", "").lower() == "virtual":
        profile = "polar-verity-sense"
    cfg = ServeConfig(
        home=paths.hipsync_home(),
        virtual_profile=profile,
        time_scale=time_scale,
        idle_min=idle_min,
        rearm_s=rearm_min * 60,
        report_cron=report_cron,
        timezone=timezone,
        catchup_interval_s=catchup_min * 60,
        max_sessions=max_sessions,
    )

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()

        def on_ready() -> None:
            # Installed after the Prefect runner started: it sets its own SIGTERM handler that exits.
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)

        stats = await serve_async(cfg, stop, on_ready=on_ready, on_event=lambda m: typer.echo(m, err=True))
        if stats.interrupted_recording is not None:
            typer.echo(
                f"stopped during a session; kept {stats.interrupted_recording} for the next sync", err=True
            )

    with PrefectServer() as api_url:
        typer.echo(f"Prefect API: {api_url}", err=True)
        asyncio.run(main())


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.command("report")(report)
    app.command("demo")(demo)
    app.command("serve")(serve)
