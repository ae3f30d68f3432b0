"""``hipsync plan show|set|edit``: the training plan (exercise -> sets x reps, resistance).

The plan lives in ``$HIPSYNC_HOME/plan.toml`` (read and written by :mod:`storage.plan`); each change is
also recorded in the database's plan history, so synced sets take the resistance planned on their day.
:func:`current_plan` is shared with ``sync`` and ``import``. storage is imported inside the commands so
``hipsync --help`` stays fast.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from hipsync.cli._utilities import exit_with_error

if TYPE_CHECKING:
    from storage.plan import Plan

#: ``--file`` of the plan commands.
PlanFileOption = Annotated[
    Path | None, typer.Option("--file", help="Plan file (default: $HIPSYNC_HOME/plan.toml).")
]

app = typer.Typer(
    help="Your training plan (exercise -> sets x reps, resistance), kept in $HIPSYNC_HOME/plan.toml. "
    "Synced sets take the planned resistance; `hipsync log` corrects single sets.",
    no_args_is_help=True,
)


@app.command("show")
def plan_show(
    plan_file: PlanFileOption = None,
) -> None:
    """Print the current plan (and check the file)."""
    from storage import paths

    path = plan_file or paths.plan_path()
    plan = current_plan(path)
    if plan is None:
        typer.echo(f"no plan yet at {path}; add exercises with `hipsync plan set EXERCISE ...`")
        return
    typer.echo(f"plan {path} (valid from {plan.valid_from.isoformat()}):")
    for it in plan.items:
        typer.echo(f"  {it.exercise.value:<28} {it.target_sets} x {it.reps_text():<6} {it.resistance.text}")


@app.command("set")
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
    plan_file: PlanFileOption = None,
) -> None:
    """Add or change one exercise in the plan (a new plan version from --from, default today)."""
    from hipsync.records import Exercise
    from storage import paths
    from storage.plan import Plan, PlanItem, Resistance, parse_reps, save_plan

    path = plan_file or paths.plan_path()
    known = [e.value for e in Exercise if e is not Exercise.UNKNOWN]
    if exercise not in known:
        exit_with_error(f"unknown exercise {exercise!r}; known: {', '.join(known)}")
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
        exit_with_error(str(e))
    current = current_plan(path) or Plan(valid_from=start, items=())
    new_plan = current.with_item(item, valid_from=start)
    save_plan(new_plan, path)
    _remember_plans(plan_file, current if current.items else None, new_plan)
    typer.echo(
        f"{ex.value}: {sets} x {item.reps_text()} {item.resistance.text} (from {start.isoformat()}) -> {path}"
    )


@app.command("edit")
def plan_edit(
    plan_file: PlanFileOption = None,
) -> None:
    """Open the plan file in $EDITOR, then check it."""
    from storage import paths
    from storage.plan import Plan, save_plan

    path = plan_file or paths.plan_path()
    if not path.exists():
        save_plan(Plan(valid_from=datetime.now().date(), items=()), path)
    import click  # typer's own dependency; typer has no edit() of its own

    before = current_plan(path)
    click.edit(filename=str(path))
    plan = current_plan(path)
    _remember_plans(plan_file, before, plan)
    typer.echo(f"plan OK: {0 if plan is None else len(plan.items)} exercise(s)")


def current_plan(plan_file: Path | None) -> Plan | None:
    """The plan in ``plan_file`` (default: ``$HIPSYNC_HOME/plan.toml``); None when there is none yet."""
    from storage import paths
    from storage.errors import PlanError
    from storage.plan import load_plan

    path = plan_file or paths.plan_path()
    if not path.exists():
        return None
    try:
        return load_plan(path)
    except PlanError as e:
        exit_with_error(f"plan file {path}: {e}")


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
