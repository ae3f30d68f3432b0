"""``hipsync demo``: the whole pipeline on a virtual sensor, with progress bars; prints the report path.

The work is :func:`flows.demo.run_demo` (simulate -> import history -> stream live over virtual BLE ->
``sync-sessions`` flow -> ``weekly-report`` flow); this module only draws its progress. Prefect, bumble and
the simulator are imported inside the command so ``hipsync --help`` stays fast.
"""

from __future__ import annotations

from typing import Annotated

import typer


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
