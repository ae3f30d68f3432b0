"""``hipsync cohort``: many athletes, each in a home of its own under one cohort folder.

- ``cohort simulate ROOT``: simulated athletes imported into ``ROOT/athlete-NNN``
  (:mod:`flows.cohort.simulate`);
- ``cohort reprocess ROOT``: the ``cohort-reprocess`` Prefect flow on Dask (:mod:`flows.cohort.flow`);
- ``cohort export ROOT``: the incremental Parquet lake (:mod:`flows.cohort.lake`);
- ``cohort report ROOT``: the coach's weekly page from the lake (:mod:`flows.cohort.report`).

Dask, Prefect, DuckDB and the simulator are imported inside the commands, so ``hipsync --help`` starts as
fast as before.
"""

from __future__ import annotations

import enum
import os
import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from hipsync.cli._utilities import exit_with_error

if TYPE_CHECKING:
    from rich.progress import Progress

app = typer.Typer(
    help="Many athletes: a folder of athlete homes, re-analysed on Dask, a Parquet lake, the coach's report.",
    no_args_is_help=True,
)

RootArgument = Annotated[
    Path, typer.Argument(help="The cohort folder: one subfolder per athlete, each a $HIPSYNC_HOME.")
]
LakeOption = Annotated[
    Path | None,
    typer.Option("--lake", help="The Parquet lake folder (default: ROOT/_lake)."),
]


#: Characters of a progress bar's note.
NOTE_CHARS = 34


class CohortFormat(enum.StrEnum):
    """Output format of ``hipsync cohort report``."""

    html = "html"
    md = "md"
    json = "json"


def _bars() -> Progress:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    # Sized for 80 columns: a long note would squeeze the bar and the elapsed time to nothing.
    return Progress(
        TextColumn("{task.description:<10}"),
        BarColumn(bar_width=16),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[note]}"),
        console=Console(stderr=True),
    )


def _note(text: str) -> str:
    """A progress note that fits the bar's line (see :func:`_bars`)."""
    return text if len(text) <= NOTE_CHARS else text[: NOTE_CHARS - 1] + "…"


def _quiet_engines() -> None:
    """Prefect and Dask log every task and worker; the progress bars say the same more quietly. The
    environment variables reach the worker processes too."""
    import logging

    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "warning")
    logging.getLogger("distributed").setLevel(logging.WARNING)


def simulate(
    root: RootArgument,
    athletes: Annotated[
        int, typer.Option("--athletes", "-n", min=1, max=100_000, help="How many athletes.")
    ] = 10,
    weeks: Annotated[int, typer.Option("--weeks", min=1, max=104, help="Weeks of training per athlete.")] = 8,
    seed: Annotated[
        int, typer.Option("--seed", help="Seed of the whole cohort (same seed, same athletes).")
    ] = 2026,
    start: Annotated[
        str | None,
        typer.Option("--start", help="Monday of week 1, YYYY-MM-DD (default: the program ends last week)."),
    ] = None,
    workers: Annotated[
        int,
        typer.Option(
            "--workers", min=1, max=256, help="Simulate athletes in parallel on a Dask LocalCluster."
        ),
    ] = 1,
) -> None:
    """Simulate --athletes athletes with varied programs, adherence, sides, sensors and progress, each imported into its own home under ROOT (running it again imports nothing new)."""  # noqa: E501
    try:
        first = date.fromisoformat(start) if start else None
    except ValueError as e:
        raise typer.BadParameter(f"not a date (YYYY-MM-DD): {start!r}", param_hint="--start") from e
    _quiet_engines()
    from flows.cohort.simulate import simulate_cohort

    with _bars() as bars:
        ids = {
            "athletes": bars.add_task("athletes", total=athletes, note=""),
            "sessions": bars.add_task("sessions", total=None, note="", visible=workers == 1),
        }

        def on_progress(stage: str, done: int, total: int, message: str) -> None:
            bars.update(ids[stage], completed=done, total=max(total, 1), note=_note(message))

        done = simulate_cohort(
            root, athletes, weeks, seed=seed, start=first, workers=workers, progress=on_progress
        )
    imported = sum(a.imported for a in done)
    typer.echo(
        f"{len(done)} athlete(s) in {root}: {imported} session(s) imported, "
        f"{sum(a.skipped for a in done)} already there, "
        f"{sum(a.planned - a.imported - a.skipped for a in done)} planned sessions missed, "
        f"{sum(a.quarantined for a in done)} quarantined"
    )


def reprocess(
    root: RootArgument,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers", min=1, max=1024, help="Worker processes of a local Dask cluster (default 2)."
        ),
    ] = None,
    dask_address: Annotated[
        str | None,
        typer.Option(
            "--dask-address",
            help="Use the running Dask cluster whose scheduler is here (tcp://HOST:8786) instead of a "
            "local one.",
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Re-analyse every session, not only outdated ones.")
    ] = False,
    athlete: Annotated[
        list[str] | None, typer.Option("--athlete", help="Only this athlete (repeat for several).")
    ] = None,
) -> None:
    """Re-analyse every athlete's stored sessions as the cohort-reprocess Prefect flow on Dask, one task per athlete; corrections users made survive as in `hipsync reprocess`.

    Prefect: PREFECT_API_URL if set, else an embedded server started for the run (about 30 s).
    """  # noqa: E501 (one line per paragraph: Typer keeps docstring line breaks in --help)
    if workers is not None and dask_address is not None:
        exit_with_error("give --workers or --dask-address, not both", code=2)
    _quiet_engines()
    from flows.cohort.flow import run_cohort_reprocess
    from flows.cohort.layout import CohortError, find_athletes
    from flows.cohort.reprocess import AthleteReprocess, summarize
    from flows.serve import PrefectServer

    try:
        n = len(find_athletes(root, tuple(athlete) if athlete else None))
    except CohortError as e:
        exit_with_error(str(e), code=2)
    server = PrefectServer()
    with _bars() as bars, server:
        bar = bars.add_task("athletes", total=n, note="starting the cluster")

        def on_athlete(done: int, total: int, res: AthleteReprocess | None, who: str) -> None:
            note = f"{who}: {res.sessions} sessions, {res.changed} changed" if res else f"{who}: failed"
            bars.update(bar, completed=done, total=total, note=_note(note))

        result = run_cohort_reprocess(
            root, workers=workers, address=dask_address, force=force, athletes=athlete, on_athlete=on_athlete
        )
    for line in summarize(result.athletes, result.failed_athletes):
        typer.echo(line)
    typer.echo(
        f"{result.sessions_per_s:.2f} sessions/s on {result.workers} worker thread(s) "
        f"in {result.elapsed_s:.0f} s"
    )
    if result.failed_athletes:
        exit_with_error(
            f"{len(result.failed_athletes)} athlete(s) not done; run the command again to finish them"
        )


def _lake(root: Path, lake: Path | None) -> Path:
    from flows.cohort.layout import DEFAULT_LAKE

    return lake if lake is not None else root / DEFAULT_LAKE


def _export(root: Path, lake_dir: Path) -> str:
    """Run the incremental export with a progress bar; returns its one-line summary."""
    from flows.cohort.lake import AthleteExport, LakeBusyError, export_lake
    from flows.cohort.layout import CohortError
    from storage.errors import StorageError

    with _bars() as bars:
        bar = bars.add_task("athletes", total=None, note="")

        def on_athlete(done: int, total: int, res: AthleteExport) -> None:
            note = f"{res.athlete}: unchanged" if res.unchanged else f"{res.athlete}: {res.written} file(s)"
            bars.update(bar, completed=done, total=total, note=_note(note))

        try:
            done = export_lake(root, lake_dir, on_athlete=on_athlete)
        except CohortError as e:
            exit_with_error(str(e), code=2)
        except (LakeBusyError, StorageError) as e:
            exit_with_error(str(e))
    return (
        f"{lake_dir}: {len(done.athletes)} athlete(s), {done.unchanged} unchanged; "
        f"{done.written} file(s) written, "
        f"{done.removed} removed"
        + (f"; dropped {', '.join(done.dropped_athletes)}" if done.dropped_athletes else "")
    )


def export(root: RootArgument, lake: LakeOption = None) -> None:
    """Write the cohort's sessions, sets and reps to a Hive-partitioned Parquet lake (athlete=/week=) that DuckDB and any Parquet reader query directly; running it again writes only what changed."""  # noqa: E501
    typer.echo(_export(root, _lake(root, lake)))


def report(
    root: RootArgument,
    week: Annotated[
        str | None,
        typer.Option(
            "--week", "-w", help="ISO week, YYYY-Www (default: the last complete week, local time)."
        ),
    ] = None,
    fmt: Annotated[
        CohortFormat,
        typer.Option(
            "--format",
            "-f",
            help="html: a file with inline charts (its path is printed); md or json: printed to stdout. "
            "All three are saved in --out.",
        ),
    ] = CohortFormat.html,
    lake: LakeOption = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Folder for the report files (default: ROOT/_reports).")
    ] = None,
    refresh: Annotated[
        bool,
        typer.Option(
            "--export/--no-export", help="Bring the lake up to date first (incremental), or read it as it is."
        ),
    ] = True,
) -> None:
    """The coach's weekly page for the cohort, computed with DuckDB over the lake: sessions done vs planned, volume and its trend, tempo, stalls, recovery flags, left/right balance, and who needs attention first."""  # noqa: E501
    from flows.cohort.render import write_cohort_report
    from flows.cohort.report import compute_cohort_report
    from flows.report.model import IsoWeek, WeekFormatError
    from storage.errors import StorageError

    try:
        iso = IsoWeek.parse(week) if week else IsoWeek.last_complete()
    except WeekFormatError as e:
        raise typer.BadParameter(str(e), param_hint="--week") from e
    lake_dir = _lake(root, lake)
    if refresh:
        typer.echo(_export(root, lake_dir), err=True)
    elif not lake_dir.is_dir():
        exit_with_error(f"no lake at {lake_dir}; run `hipsync cohort export` first", code=2)
    try:
        cohort = compute_cohort_report(lake_dir, iso)
    except StorageError as e:
        exit_with_error(f"cannot read the lake: {e}")
    paths = write_cohort_report(cohort, out if out is not None else root / "_reports")
    chosen = paths[fmt.value]
    if fmt is CohortFormat.html:
        typer.echo(str(chosen))
    else:
        sys.stdout.write(chosen.read_text(encoding="utf-8"))


app.command("simulate")(simulate)
app.command("reprocess")(reprocess)
app.command("export")(export)
app.command("report")(report)
