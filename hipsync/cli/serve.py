"""``hipsync serve``: record whenever a sensor is worn, sync each session, build weekly reports.

The work is :func:`flows.serve.serve_async` on an embedded Prefect server (:class:`flows.serve.
PrefectServer`, or ``PREFECT_API_URL``); this module turns the options into a
:class:`flows.serve.ServeConfig` and stops cleanly on Ctrl-C or SIGTERM. Prefect and the BLE stack are
imported inside the command so ``hipsync --help`` stays fast.
"""

from __future__ import annotations

from typing import Annotated

import typer


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
