"""``hipsync serve``: record whenever a sensor is worn, sync each session, build weekly reports.

The work is :func:`flows.serve.serve_async` on an embedded Prefect server (:class:`flows.serve.
PrefectServer`, or ``PREFECT_API_URL``); this module turns the options into a
:class:`flows.serve.ServeConfig` and stops cleanly on Ctrl-C or SIGTERM. Prefect and the BLE stack are
imported inside the command so ``hipsync --help`` stays fast.
"""

from __future__ import annotations

from typing import Annotated, Any

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

    Uses an embedded Prefect server (token-protected, its files in $HIPSYNC_HOME/prefect) unless PREFECT_API_URL is set. On a terminal it shows your reps live. Ctrl-C or SIGTERM stops within a few seconds: an open recording is closed and kept, and synced on the next start; a second Ctrl-C quits at once.
    """  # noqa: E501 (one line per paragraph: Typer keeps docstring line breaks in --help)
    import asyncio
    import os
    import sys

    from flows.serve import PrefectServer, ServeConfig, serve_async
    from hipsync.cli.ble import LiveLines
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
    live = LiveLines() if sys.stderr.isatty() else None

    async def main() -> None:
        stop = asyncio.Event()
        shutdown = _Shutdown(stop, asyncio.get_running_loop())
        shutdown.install()
        stats = await serve_async(
            cfg,
            stop,
            on_ready=shutdown.install,  # again: the Prefect runner sets its own SIGTERM handler
            on_event=lambda m: typer.echo(m, err=True),
            on_live=None if live is None else live.show,
        )
        if stats.interrupted_recording is not None:
            typer.echo(
                f"stopped during a session; kept {stats.interrupted_recording} for the next sync", err=True
            )

    with PrefectServer(cfg.home) as api_url:
        typer.echo(f"Prefect API: {api_url}", err=True)
        asyncio.run(main())


class _Shutdown:
    """Ctrl-C / SIGTERM: the first sets ``stop`` and arms a deadline; a second one, or the deadline
    passing, ends the process at once (spools are crash-safe: at most the last second is lost)."""

    DEADLINE_S = 15.0

    def __init__(self, stop: Any, loop: Any) -> None:
        self.stop = stop
        self.loop = loop

    def install(self) -> None:
        import signal

        for sig in (signal.SIGINT, signal.SIGTERM):
            self.loop.add_signal_handler(sig, self.signalled)

    def signalled(self) -> None:
        import os
        import threading

        if self.stop.is_set():
            typer.echo("stopping now", err=True)
            os._exit(130)
        typer.echo("stopping (Ctrl-C again to quit at once)", err=True)
        self.stop.set()

        def deadline() -> None:
            typer.echo(f"not stopped after {self.DEADLINE_S:g} s: quitting", err=True)
            os._exit(1)

        timer = threading.Timer(self.DEADLINE_S, deadline)
        timer.daemon = True
        timer.start()
