"""The database commands: ``sync``, ``import``, ``sessions``, ``reprocess``, ``log``, ``export``.

Spools and files go in through the import services of :mod:`flows.imports` (decode -> analyse -> store),
re-analysis through :mod:`flows.reprocess`; listing, corrections and export read and write
:mod:`storage` directly. DuckDB, pyarrow, NumPy and the analysis are imported inside the commands so
``hipsync --help`` stays fast.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from hipsync.cli._utilities import (
    AccUnits,
    DbOption,
    GyroUnits,
    SideOption,
    db_or_default,
    exit_with_error,
    minutes_text,
    narrow_table,
    short_exercise,
)
from hipsync.cli.plan import current_plan

if TYPE_CHECKING:
    from storage.history import SessionDetail


class ExportFormat(enum.StrEnum):
    """File format of ``hipsync export``."""

    parquet = "parquet"
    csv = "csv"


#: ``--plan`` of ``sync`` and ``import``.
PlanOption = Annotated[
    Path | None,
    typer.Option(
        "--plan", help="Plan file whose resistances new sets take (default: $HIPSYNC_HOME/plan.toml)."
    ),
]


def _parse_when(text: str) -> datetime:
    """An ISO date/time; naive values are taken as local time and converted to UTC."""
    try:
        when = datetime.fromisoformat(text)
    except ValueError as e:
        raise typer.BadParameter(f"not an ISO date/time: {text!r} (e.g. 2026-11-20T07:30)") from e
    return when.astimezone(UTC)  # a naive value is local time: astimezone() interprets it so


def sync_cmd(
    spool_dir: Annotated[
        Path | None,
        typer.Option("--spool-dir", help="Directory of spool files (default: $HIPSYNC_HOME/spool)."),
    ] = None,
    db: DbOption = None,
    plan_file: PlanOption = None,
    retry_quarantined: Annotated[
        bool,
        typer.Option(
            "--retry-quarantined", help="Forget quarantined sessions first and try their sources again."
        ),
    ] = False,
) -> None:
    """Import every finished spool: decode, store samples, analyse, store sets and reps.

    Safe to run any number of times: already-imported spools are skipped (by content hash). A spool
    that cannot be decoded is quarantined (listed by `hipsync sessions` with the reason); spool files
    are never modified or deleted.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from flows.imports import sync_spools
    from storage import paths
    from storage.errors import StorageError
    from storage.writes import SessionImport, forget_quarantined

    db_file = db_or_default(db)
    plan = current_plan(plan_file)
    try:
        if retry_quarantined and db_file.exists():
            n = forget_quarantined(db_file)
            typer.echo(f"retrying {n} quarantined source(s)")
        with Progress(
            TextColumn("syncing"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            TextColumn("{task.description}"),
            transient=True,
        ) as bar:
            task = bar.add_task("", total=None)

            def advance(done: int, total: int, res: SessionImport) -> None:
                bar.update(task, completed=done, total=total, description=res.status)

            result = sync_spools(db_file, spool_dir or paths.spool_dir(), plan, progress=advance)
    except StorageError as e:
        exit_with_error(f"sync failed: {e}")
    for s in result.imported:
        typer.echo(f"{s.status:<11} {s.session_id}  {s.n_samples} samples, {s.n_sets} sets, {s.n_reps} reps")
        if s.reason:
            typer.echo(f"            {s.reason}")
    for s in result.quarantined:
        typer.secho(f"quarantined {s.source_path}: {s.reason}", fg=typer.colors.YELLOW)
    typer.echo(
        f"{len(result.imported)} imported, {len(result.skipped)} already stored, "
        f"{len(result.quarantined)} quarantined"
    )


def import_cmd(
    file: Annotated[
        Path,
        typer.Argument(
            exists=True, dir_okay=False, help="CSV or Parquet file with columns time,ax,ay,az[,gx,gy,gz]."
        ),
    ],
    acc_units: Annotated[
        AccUnits, typer.Option("--acc-units", help="Units of ax..az: g or m/s2.")
    ] = AccUnits.g,
    gyro_units: Annotated[
        GyroUnits, typer.Option("--gyro-units", help="Units of gx..gz: dps (deg/s) or rad/s.")
    ] = GyroUnits.dps,
    side: Annotated[SideOption | None, typer.Option("--side", help="Which thigh the sensor was on.")] = None,
    started_at: Annotated[
        str | None,
        typer.Option(
            "--started-at",
            help="Wall-clock time of time=0, ISO format (local time unless it has an offset). "
            "Default: the file's own timestamps when it has them (MEx), else its modification time.",
        ),
    ] = None,
    db: DbOption = None,
    plan_file: PlanOption = None,
) -> None:
    """Import a recording from another tool (CSV/Parquet), analyse it and store it.

    Importing the same file twice does nothing the second time. Files that cannot be read are
    quarantined with the reason; the file itself is never changed.
    """
    from flows.imports import import_file
    from storage.errors import StorageError

    when = _parse_when(started_at) if started_at else None
    try:
        res = import_file(
            db_or_default(db),
            file,
            acc_units=acc_units.value,
            gyro_units=gyro_units.value,
            side=None if side is None else side.value,
            started_at=when,
            plan=current_plan(plan_file),
        )
    except (StorageError, ValueError) as e:
        exit_with_error(f"import failed: {e}")
    if res.status == "quarantined":
        exit_with_error(f"quarantined {file}: {res.reason}")
    if res.status == "skipped":
        typer.echo(f"already stored as session {res.session_id}")
        return
    typer.echo(
        f"{res.status} {res.session_id}: {res.n_samples} samples, {res.n_sets} sets, {res.n_reps} reps"
    )
    if res.reason:
        typer.echo(res.reason)


app = typer.Typer(
    help="List stored sessions (`hipsync sessions`), or one session's sets (`hipsync sessions show last`).",
    invoke_without_command=True,
    no_args_is_help=False,
)


@app.callback(invoke_without_command=True)
def sessions_cmd(
    ctx: typer.Context,
    limit: Annotated[
        int, typer.Option("--limit", "-n", help="Show at most this many sessions (newest first).")
    ] = 50,
    db: DbOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON lines instead of a table.")] = False,
) -> None:
    """List stored sessions: date, duration, exercises, reps, status and quarantine reason.

    `hipsync sessions show ID|last` lists one session's sets by number, as `hipsync log` takes them.
    """
    if ctx.invoked_subcommand is not None:
        return
    list_sessions_cmd(limit, db, as_json)


def list_sessions_cmd(limit: int, db: Path | None, as_json: bool) -> None:
    """``hipsync sessions`` without a subcommand: the table (or JSON lines) of stored sessions."""
    import json

    from rich.console import Console

    from storage.errors import NotFoundError, StorageError
    from storage.sessions import list_sessions

    try:
        rows = list_sessions(db_or_default(db), limit=limit)
    except NotFoundError:
        rows = []  # no database yet: simply nothing stored
    except StorageError as e:
        exit_with_error(str(e))
    if as_json:
        for r in rows:
            typer.echo(
                json.dumps(
                    {
                        "session_id": r.session_id,
                        "started_at": r.started_at.isoformat(),
                        "duration_s": r.duration_s,
                        "exercises": list(r.exercises),
                        "n_sets": r.n_sets,
                        "n_reps": r.n_reps,
                        "status": r.status,
                        "status_reason": r.status_reason,
                        "rpe": r.rpe,
                        "n_corrected": r.n_corrected,
                    }
                )
            )
        return
    if not rows:
        typer.echo("no sessions stored yet; run `hipsync sync` or `hipsync import FILE`")
        return
    # Fits 80 columns: no vertical rules, short exercise names, lengths in minutes, and the status only
    # when a session is not simply analysed.
    show_rpe = any(r.rpe is not None for r in rows)
    show_status = any(r.status != "analysed" for r in rows)
    table = narrow_table("session", "started", "length", "exercises", "sets", "reps")
    for shown, name in ((show_rpe, "RPE"), (show_status, "status")):
        if shown:
            table.add_column(name)
    for r in rows:
        cells = [
            r.session_id[:8],
            r.started_at.astimezone().strftime("%Y-%m-%d %H:%M"),
            minutes_text(r.duration_s),
            ", ".join(short_exercise(e) for e in r.exercises),
            f"{r.n_sets} ({r.n_corrected} fixed)" if r.n_corrected else str(r.n_sets),
            str(r.n_reps),
        ]
        cells += ["" if r.rpe is None else f"{r.rpe:g}"] if show_rpe else []
        table.add_row(*cells, *([r.status] if show_status else []))
    Console().print(table)
    # Reasons are long (file paths, decoder messages): printed in full below the table, not squeezed in.
    for r in rows:
        if r.status_reason:
            typer.echo(f"{r.session_id[:8]} {r.status}: {r.status_reason}")


@app.command("show")
def show_cmd(
    session: Annotated[
        str, typer.Argument(help="Session id, a unique prefix of it (6+ characters), or 'last'.")
    ],
    db: DbOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the session and its sets as JSON.")] = False,
) -> None:
    """One session's sets, numbered as `hipsync log SESSION SET` takes them: exercise, reps, load, tempo
    (mean up / top / down / pause, s) and ROM (mean of full reps, deg). * marks a value you corrected."""
    import json
    from dataclasses import asdict

    from storage.errors import NotFoundError, StorageError
    from storage.history import session_detail

    try:
        detail = session_detail(db_or_default(db), session)
    except NotFoundError as e:
        exit_with_error(str(e), code=2)
    except StorageError as e:
        exit_with_error(str(e))
    if as_json:
        doc = asdict(detail)
        doc["started_at"] = detail.started_at.isoformat()
        typer.echo(json.dumps(doc, indent=2))
        return
    _print_session(detail)


def _phase(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _print_session(detail: SessionDetail) -> None:
    from rich.console import Console

    rpe = "" if detail.rpe is None else f", RPE {detail.rpe:g}"
    typer.echo(
        f"session {detail.session_id[:8]}  {detail.started_at.astimezone().strftime('%Y-%m-%d %H:%M')}  "
        f"{minutes_text(detail.duration_s)}  {detail.status}{rpe}"
    )
    if not detail.sets:
        typer.echo("no sets found in this session")
        return
    table = narrow_table("set", "exercise", "side", "reps", "load", "up/top/down/pause s", "ROM")
    for s in detail.sets:
        table.add_row(
            str(s.set_index),
            short_exercise(s.exercise),
            s.side or "",
            str(s.n_reps),
            (s.resistance or "") + (" *" if s.corrected else ""),
            "/".join(_phase(v) for v in (s.concentric_s, s.top_hold_s, s.eccentric_s, s.bottom_pause_s)),
            "" if s.rom_deg is None else f"{s.rom_deg:.0f} deg",
        )
    Console(width=80).print(table)
    if any(s.corrected for s in detail.sets):
        typer.echo("* corrected by you (hipsync log)")
    typer.echo(f"correct a set's load: hipsync log {detail.session_id[:8]} SET --load band:green")


def reprocess_cmd(
    force: Annotated[
        bool, typer.Option("--force", help="Re-analyse every session, not only outdated ones.")
    ] = False,
    db: DbOption = None,
) -> None:
    """Re-analyse sessions stored by an older analysis version; user-entered loads stay put."""
    from rich.progress import Progress

    from flows.reprocess import ReprocessResult, reprocess
    from storage.errors import StorageError

    try:
        with Progress(transient=True) as bar:
            task = bar.add_task("re-analysing", total=None)

            def advance(done: int, total: int, res: ReprocessResult) -> None:
                bar.update(task, completed=done, total=total)

            results = reprocess(db_or_default(db), force=force, progress=advance)
    except StorageError as e:
        exit_with_error(f"reprocess failed: {e}")
    for r in results:
        if r.error:
            typer.secho(f"{r.session_id[:8]} failed: {r.error}", fg=typer.colors.YELLOW)
        else:
            typer.echo(
                f"{r.session_id[:8]} {r.old_version} -> {r.new_version}: {r.n_sets} sets, "
                f"{r.n_reps} reps, "
                f"{r.kept_user_loads} user loads kept"
                + (f", {r.edits_applied} edits applied" if r.edits_applied else "")
            )
            if r.edits_not_applied:
                typer.secho(
                    f"  {r.edits_not_applied} edit(s) no longer find their set: kept, see "
                    f"`hipsync edit list {r.session_id[:8]}`",
                    fg=typer.colors.YELLOW,
                )
    typer.echo(f"{len(results)} session(s) re-analysed" if results else "everything is up to date")


def log_cmd(
    session: Annotated[
        str, typer.Argument(help="Session id, a unique prefix of it (6+ characters), or 'last'.")
    ],
    set_number: Annotated[int | None, typer.Argument(help="Set number within the session (1-based).")] = None,
    load: Annotated[
        str | None,
        typer.Option("--load", help="The resistance actually used: band:green, ankle:2kg, bodyweight."),
    ] = None,
    rpe: Annotated[
        float | None,
        typer.Option("--rpe", min=0, max=10, help="Session effort, rating of perceived exertion 0-10."),
    ] = None,
    db: DbOption = None,
) -> None:
    """Correct the load of one set and/or record the session's RPE."""
    from storage.errors import StorageError
    from storage.sessions import log_session

    try:
        res = log_session(db_or_default(db), session, set_number, load=load, rpe=rpe)
    except (StorageError, ValueError) as e:
        exit_with_error(str(e))
    parts = []
    if res.resistance is not None:
        parts.append(f"set {res.set_index} load {res.resistance.text}")
    if res.rpe is not None:
        parts.append(f"RPE {res.rpe:g}")
    typer.echo(f"session {res.session_id[:8]}: " + ", ".join(parts))


def export_cmd(
    out_dir: Annotated[Path, typer.Argument(help="Directory to write one file per table into.")],
    fmt: Annotated[ExportFormat, typer.Option("--format", help="File format.")] = ExportFormat.parquet,
    samples: Annotated[bool, typer.Option("--samples", help="Also export the raw samples (large).")] = False,
    db: DbOption = None,
) -> None:
    """Export sessions, sets, reps, analysis runs, plans and devices (and optionally samples)."""
    from storage.errors import StorageError
    from storage.export import export

    try:
        written = export(db_or_default(db), out_dir, fmt.value, include_samples=samples)
    except StorageError as e:
        exit_with_error(f"export failed: {e}")
    for table, path in written.items():
        typer.echo(f"{table:<14} {path}")
