"""CLI commands: storage (sync, import, sessions, reprocess, plan, log, export).

DuckDB, pyarrow and the ingest/processing packages are imported inside the commands so that
``hipsync --help`` stays fast.
"""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from storage.plan import Plan


class ExportFormatOpt(enum.StrEnum):
    parquet = "parquet"
    csv = "csv"


class SideOpt(enum.StrEnum):
    left = "left"
    right = "right"


_DB_HELP = "Database file (default: $HIPSYNC_HOME/hipsync.duckdb)."


def _db(db: Path | None) -> Path:
    from storage import paths

    return db if db is not None else paths.db_path()


def _fail(message: str) -> typer.Exit:
    typer.secho(message, fg=typer.colors.RED, err=True)
    return typer.Exit(code=1)


def _parse_when(text: str) -> datetime:
    """An ISO date/time; naive values are taken as local time and converted to UTC."""
    try:
        when = datetime.fromisoformat(text)
    except ValueError as e:
        raise typer.BadParameter(f"not an ISO date/time: {text!r} (e.g. 2026-11-20T07:30)") from e
    return when.astimezone(UTC)  # a naive value is local time: astimezone() interprets it so


def _current_plan(plan_file: Path | None) -> Plan | None:
    from storage import paths
    from storage.errors import PlanError
    from storage.plan import load_plan

    path = plan_file or paths.plan_path()
    if not path.exists():
        return None
    try:
        return load_plan(path)
    except PlanError as e:
        raise _fail(f"plan file {path}: {e}") from e


def _remember_plans(plan_file: Path | None, *plans: Plan | None) -> None:
    """Record plan versions in the database's plan history (only for the default plan file)."""
    if plan_file is not None:
        return  # an explicit --file is a scratch plan; `sync --plan` records it when it is used
    from storage import paths
    from storage.db import connect, transaction
    from storage.errors import StorageError
    from storage.plan import record_plan

    try:
        with connect(paths.db_path()) as con, transaction(con):
            for p in plans:
                if p is not None and p.items:
                    record_plan(con, p)
    except StorageError as e:
        typer.secho(f"plan saved, but not yet in the history ({e}); `hipsync sync` records it", err=True)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""

    @app.command("sync")
    def sync_cmd(
        spool_dir: Annotated[
            Path | None,
            typer.Option("--spool-dir", help="Directory of spool files (default: $HIPSYNC_HOME/spool)."),
        ] = None,
        db: Annotated[Path | None, typer.Option("--db", help=_DB_HELP)] = None,
        plan_file: Annotated[
            Path | None,
            typer.Option(
                "--plan", help="Plan file whose resistances new sets take (default: $HIPSYNC_HOME/plan.toml)."
            ),
        ] = None,
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

        from storage import paths
        from storage.errors import StorageError
        from storage.sync import SessionImport, forget_quarantined, sync_spools

        db_file = _db(db)
        plan = _current_plan(plan_file)
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
            raise _fail(f"sync failed: {e}") from e
        for s in result.imported:
            typer.echo(
                f"{s.status:<11} {s.session_id}  {s.n_samples} samples, {s.n_sets} sets, {s.n_reps} reps"
            )
            if s.reason:
                typer.echo(f"            {s.reason}")
        for s in result.quarantined:
            typer.secho(f"quarantined {s.source_path}: {s.reason}", fg=typer.colors.YELLOW)
        typer.echo(
            f"{len(result.imported)} imported, {len(result.skipped)} already stored, "
            f"{len(result.quarantined)} quarantined"
        )

    @app.command("import")
    def import_cmd(
        file: Annotated[
            Path,
            typer.Argument(
                exists=True, dir_okay=False, help="CSV or Parquet file with columns time,ax,ay,az[,gx,gy,gz]."
            ),
        ],
        acc_units: Annotated[str, typer.Option("--acc-units", help="Units of ax..az: g or m/s2.")] = "g",
        gyro_units: Annotated[
            str, typer.Option("--gyro-units", help="Units of gx..gz: dps (deg/s) or rad/s.")
        ] = "dps",
        side: Annotated[SideOpt | None, typer.Option("--side", help="Which thigh the sensor was on.")] = None,
        started_at: Annotated[
            str | None,
            typer.Option(
                "--started-at",
                help="Wall-clock time of time=0, ISO format (local time unless it has an offset). "
                "Default: the file's modification time.",
            ),
        ] = None,
        db: Annotated[Path | None, typer.Option("--db", help=_DB_HELP)] = None,
        plan_file: Annotated[
            Path | None,
            typer.Option(
                "--plan", help="Plan file whose resistances new sets take (default: $HIPSYNC_HOME/plan.toml)."
            ),
        ] = None,
    ) -> None:
        """Import a recording from another tool (CSV/Parquet), analyse it and store it.

        Importing the same file twice does nothing the second time. Files that cannot be read are
        quarantined with the reason; the file itself is never changed.
        """
        from storage.errors import StorageError
        from storage.sync import import_file

        when = _parse_when(started_at) if started_at else None
        try:
            res = import_file(
                _db(db),
                file,
                acc_units=acc_units,
                gyro_units=gyro_units,
                side=None if side is None else side.value,
                started_at=when,
                plan=_current_plan(plan_file),
            )
        except (StorageError, ValueError) as e:
            raise _fail(f"import failed: {e}") from e
        if res.status == "quarantined":
            raise _fail(f"quarantined {file}: {res.reason}")
        if res.status == "skipped":
            typer.echo(f"already stored as session {res.session_id}")
            return
        typer.echo(
            f"{res.status} {res.session_id}: {res.n_samples} samples, {res.n_sets} sets, {res.n_reps} reps"
        )
        if res.reason:
            typer.echo(res.reason)

    @app.command("sessions")
    def sessions_cmd(
        limit: Annotated[
            int, typer.Option("--limit", "-n", help="Show at most this many sessions (newest first).")
        ] = 50,
        db: Annotated[Path | None, typer.Option("--db", help=_DB_HELP)] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON lines instead of a table.")] = False,
    ) -> None:
        """List stored sessions: date, duration, exercises, reps, status and quarantine reason."""
        import json

        from rich.console import Console
        from rich.table import Table

        from storage.errors import NotFoundError, StorageError
        from storage.sessions import list_sessions

        try:
            rows = list_sessions(_db(db), limit=limit)
        except NotFoundError:
            rows = []  # no database yet: simply nothing stored
        except StorageError as e:
            raise _fail(str(e)) from e
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
                        }
                    )
                )
            return
        if not rows:
            typer.echo("no sessions stored yet; run `hipsync sync` or `hipsync import FILE`")
            return
        table = Table("session", "started (local)", "duration", "exercises", "sets", "reps", "RPE", "status")
        for r in rows:
            dur = "" if r.duration_s is None else f"{int(r.duration_s // 60)}:{int(r.duration_s % 60):02d}"
            table.add_row(
                r.session_id[:8],
                r.started_at.astimezone().strftime("%Y-%m-%d %H:%M"),
                dur,
                ", ".join(r.exercises),
                str(r.n_sets),
                str(r.n_reps),
                "" if r.rpe is None else f"{r.rpe:g}",
                r.status,
            )
        Console().print(table)
        # Reasons are long (file paths, decoder messages): printed in full below the table, not squeezed in.
        for r in rows:
            if r.status_reason:
                typer.echo(f"{r.session_id[:8]} {r.status}: {r.status_reason}")

    @app.command("reprocess")
    def reprocess_cmd(
        force: Annotated[
            bool, typer.Option("--force", help="Re-analyse every session, not only outdated ones.")
        ] = False,
        db: Annotated[Path | None, typer.Option("--db", help=_DB_HELP)] = None,
    ) -> None:
        """Re-analyse sessions stored by an older analysis version; user-entered loads stay put."""
        from rich.progress import Progress

        from storage.errors import StorageError
        from storage.reprocess import ReprocessResult, reprocess

        try:
            with Progress(transient=True) as bar:
                task = bar.add_task("re-analysing", total=None)

                def advance(done: int, total: int, res: ReprocessResult) -> None:
                    bar.update(task, completed=done, total=total)

                results = reprocess(_db(db), force=force, progress=advance)
        except StorageError as e:
            raise _fail(f"reprocess failed: {e}") from e
        for r in results:
            if r.error:
                typer.secho(f"{r.session_id[:8]} failed: {r.error}", fg=typer.colors.YELLOW)
            else:
                typer.echo(
                    f"{r.session_id[:8]} {r.old_version} -> {r.new_version}: {r.n_sets} sets, "
                    f"{r.n_reps} reps, "
                    f"{r.kept_user_loads} user loads kept"
                )
        typer.echo(f"{len(results)} session(s) re-analysed" if results else "everything is up to date")

    plan_app = typer.Typer(
        help="Your training plan (exercise -> sets x reps, resistance), kept in $HIPSYNC_HOME/plan.toml. "
        "Synced sets take the planned resistance; `hipsync log` corrects single sets.",
        no_args_is_help=True,
    )
    app.add_typer(plan_app, name="plan")

    @plan_app.command("show")
    def plan_show(
        plan_file: Annotated[
            Path | None, typer.Option("--file", help="Plan file (default: $HIPSYNC_HOME/plan.toml).")
        ] = None,
    ) -> None:
        """Print the current plan (and check the file)."""
        from storage import paths

        path = plan_file or paths.plan_path()
        plan = _current_plan(path)
        if plan is None:
            typer.echo(f"no plan yet at {path}; add exercises with `hipsync plan set EXERCISE ...`")
            return
        typer.echo(f"plan {path} (valid from {plan.valid_from.isoformat()}):")
        for it in plan.items:
            typer.echo(
                f"  {it.exercise.value:<28} {it.target_sets} x {it.reps_text():<6} {it.resistance.text}"
            )

    @plan_app.command("set")
    def plan_set(
        exercise: Annotated[str, typer.Argument(help="Exercise, e.g. clamshell, side_lying_leg_raise.")],
        sets: Annotated[int, typer.Option("--sets", min=1, help="Target sets per session.")] = 3,
        reps: Annotated[
            str, typer.Option("--reps", help="Target reps per set: a number or a range like 8-12.")
        ] = "10-15",
        resistance: Annotated[
            str,
            typer.Option(
                "--resistance", "-r", help="band:<yellow|red|green|blue|black>, ankle:2kg, or bodyweight."
            ),
        ] = "bodyweight",
        valid_from: Annotated[
            str | None,
            typer.Option(
                "--from", help="Date (YYYY-MM-DD) this version of the plan applies from (default: today)."
            ),
        ] = None,
        plan_file: Annotated[
            Path | None, typer.Option("--file", help="Plan file (default: $HIPSYNC_HOME/plan.toml).")
        ] = None,
    ) -> None:
        """Add or change one exercise in the plan (a new plan version from --from, default today)."""
        from hipsync.records import Exercise
        from storage import paths
        from storage.plan import Plan, PlanItem, Resistance, parse_reps, save_plan

        path = plan_file or paths.plan_path()
        known = [e.value for e in Exercise if e is not Exercise.UNKNOWN]
        if exercise not in known:
            raise _fail(f"unknown exercise {exercise!r}; known: {', '.join(known)}")
        try:
            ex = Exercise(exercise)
            low, high = parse_reps(reps, "--reps")
            item = PlanItem(
                exercise=ex,
                target_sets=sets,
                reps_low=low,
                reps_high=high,
                resistance=Resistance.parse(resistance),
            )
            start = date.fromisoformat(valid_from) if valid_from else datetime.now().date()
        except ValueError as e:  # PlanError is a ValueError too
            raise _fail(str(e)) from e
        current = _current_plan(path) or Plan(valid_from=start, items=())
        new_plan = current.with_item(item, valid_from=start)
        save_plan(new_plan, path)
        _remember_plans(plan_file, current if current.items else None, new_plan)
        typer.echo(
            f"{ex.value}: {sets} x {item.reps_text()} {item.resistance.text} "
            f"(from {start.isoformat()}) -> {path}"
        )

    @plan_app.command("edit")
    def plan_edit(
        plan_file: Annotated[
            Path | None, typer.Option("--file", help="Plan file (default: $HIPSYNC_HOME/plan.toml).")
        ] = None,
    ) -> None:
        """Open the plan file in $EDITOR, then check it."""
        from storage import paths
        from storage.plan import Plan, save_plan

        path = plan_file or paths.plan_path()
        if not path.exists():
            save_plan(Plan(valid_from=datetime.now().date(), items=()), path)
        import click  # typer's own dependency; typer has no edit() of its own

        before = _current_plan(path)
        click.edit(filename=str(path))
        plan = _current_plan(path)
        _remember_plans(plan_file, before, plan)
        typer.echo(f"plan OK: {0 if plan is None else len(plan.items)} exercise(s)")

    @app.command("log")
    def log_cmd(
        session: Annotated[
            str, typer.Argument(help="Session id, a unique prefix of it (6+ characters), or 'last'.")
        ],
        set_number: Annotated[
            int | None, typer.Argument(help="Set number within the session (1-based).")
        ] = None,
        load: Annotated[
            str | None,
            typer.Option("--load", help="The resistance actually used: band:green, ankle:2kg, bodyweight."),
        ] = None,
        rpe: Annotated[
            float | None,
            typer.Option("--rpe", min=0, max=10, help="Session effort, rating of perceived exertion 0-10."),
        ] = None,
        db: Annotated[Path | None, typer.Option("--db", help=_DB_HELP)] = None,
    ) -> None:
        """Correct the load of one set and/or record the session's RPE."""
        from storage.errors import StorageError
        from storage.sessions import log_session

        try:
            res = log_session(_db(db), session, set_number, load=load, rpe=rpe)
        except (StorageError, ValueError) as e:
            raise _fail(str(e)) from e
        parts = []
        if res.resistance is not None:
            parts.append(f"set {res.set_index} load {res.resistance.text}")
        if res.rpe is not None:
            parts.append(f"RPE {res.rpe:g}")
        typer.echo(f"session {res.session_id[:8]}: " + ", ".join(parts))

    @app.command("export")
    def export_cmd(
        out_dir: Annotated[Path, typer.Argument(help="Directory to write one file per table into.")],
        fmt: Annotated[
            ExportFormatOpt, typer.Option("--format", help="File format.")
        ] = ExportFormatOpt.parquet,
        samples: Annotated[
            bool, typer.Option("--samples", help="Also export the raw samples (large).")
        ] = False,
        db: Annotated[Path | None, typer.Option("--db", help=_DB_HELP)] = None,
    ) -> None:
        """Export sessions, sets, reps, analysis runs, plans and devices (and optionally samples)."""
        from storage.errors import StorageError
        from storage.export import export

        try:
            written = export(_db(db), out_dir, fmt.value, include_samples=samples)
        except StorageError as e:
            raise _fail(f"export failed: {e}") from e
        for table, path in written.items():
            typer.echo(f"{table:<14} {path}")
