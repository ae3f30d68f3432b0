"""``hipsync edit ...``: correct a set the sensor got wrong, in one command, for good.

Sets are named as ``hipsync log`` names them: a session (its id, a unique prefix of 6+ characters, or
``last``) and the set's number in it. Each correction is stored with who made it and when, applies again
after every re-analysis (``hipsync reprocess``, a re-sync) and can be undone; see :mod:`flows.edits`.
After each edit the session's sets are printed as they now stand. flows is imported inside the commands
so ``hipsync --help`` stays fast.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Annotated

import typer

from hipsync.cli._utilities import DbOption, db_or_default, exit_with_error

if TYPE_CHECKING:
    from flows.edits import EditResult
    from storage.edits import Edit, SetView

app = typer.Typer(
    help="Correct a set: its exercise, its rep count, two sets that were one, one set that was two, a set "
    "that was none; undo. Corrections survive every re-analysis. Sets are named like `hipsync log` names "
    "them: SESSION (id, 6+ character prefix, or 'last') and SET (its number, see `hipsync edit show`).",
    no_args_is_help=True,
)

SessionArg = Annotated[
    str, typer.Argument(help="Session id, a unique prefix of it (6+ characters), or 'last'.")
]
SetArg = Annotated[
    int, typer.Argument(help="Set number within the session (1-based, see `hipsync edit show`).")
]

#: How the exercise column marks where a set's exercise came from (nothing: the sensor's recogniser).
SOURCE_MARK = {"user": " (you)", "plan": " (plan)", "recognised": ""}


def _apply(action: Callable[[], EditResult], *, undoing: bool = False) -> None:
    """Run one edit (or undo); bad input exits with status 2 and one line, a storage problem with status 1."""
    from flows.edits import EditError
    from storage.errors import StorageError

    try:
        result = action()
    except EditError as e:
        exit_with_error(str(e), code=2)
    except StorageError as e:
        exit_with_error(f"edit failed: {e}")
    from flows.edits import describe

    edit = result.edit
    if undoing:
        typer.echo(f"undid edit #{edit.edit_id} ({describe(edit)} of set {edit.set_number})")
    else:
        status = "" if edit.applied else " (kept, but not applied)"
        typer.echo(f"edit #{edit.edit_id}{status}: {edit.note}")
    _print_sets(edit.session_id, result.sets)


def _print_sets(session_id: str, sets: Sequence[SetView]) -> None:
    """The session's sets as plain aligned lines (read in a terminal, a log or a test alike)."""
    from flows.edits import clock
    from flows.report.figures import LOW_EXERCISE_CONFIDENCE  # the report marks the same sets

    if not sets:
        typer.echo(f"session {session_id[:8]} has no sets")
        return
    typer.echo(f"session {session_id[:8]}:")
    typer.echo(f"  {'set':>3}  {'time':<13}  {'exercise':<34}  {'reps':<20}  load")
    for s in sets:
        doubtful = s.exercise_source != "user" and (s.exercise_confidence or 1.0) < LOW_EXERCISE_CONFIDENCE
        exercise = s.exercise + SOURCE_MARK.get(s.exercise_source, "") + (" ?" if doubtful else "")
        reps = str(s.n_reps) if s.n_reps == len(s.reps) else f"{s.n_reps} (you; {len(s.reps)} found)"
        span = f"{clock(s.start_s)}-{clock(s.end_s)}"
        number = f"{s.set_index}{'*' if s.corrected else ''}"
        typer.echo(f"  {number:>3}  {span:<13}  {exercise:<34}  {reps:<20}  {s.resistance or '-'}")
    if any(s.exercise_source != "recognised" or s.corrected for s in sets):
        typer.echo(
            "  *: you corrected this set; (you): your words; (plan): from your plan; ?: unsure, check it"
        )


@app.command("exercise")
def edit_exercise(
    session: SessionArg,
    set_number: SetArg,
    exercise: Annotated[str, typer.Argument(help="What the set was, e.g. clamshell, side_lying_leg_raise.")],
    db: DbOption = None,
) -> None:
    """Set SET of SESSION was EXERCISE."""
    from flows.edits import correct_exercise

    _apply(lambda: correct_exercise(db_or_default(db), session, set_number, exercise))


@app.command("reps")
def edit_reps(
    session: SessionArg,
    set_number: SetArg,
    reps: Annotated[int, typer.Argument(help="How many reps the set really had.")],
    db: DbOption = None,
) -> None:
    """Set SET of SESSION had REPS reps (the detected reps stay for tempo and range of motion)."""
    from flows.edits import correct_reps

    _apply(lambda: correct_reps(db_or_default(db), session, set_number, reps))


@app.command("merge")
def edit_merge(
    session: SessionArg,
    set_number: SetArg,
    other: Annotated[
        int | None, typer.Argument(help="The neighbouring set it belongs with (default: the next one).")
    ] = None,
    db: DbOption = None,
) -> None:
    """Sets SET and OTHER were one set (you paused in the middle)."""
    from flows.edits import merge_sets

    _apply(lambda: merge_sets(db_or_default(db), session, set_number, other))


@app.command("split")
def edit_split(
    session: SessionArg,
    set_number: SetArg,
    after_rep: Annotated[
        int | None, typer.Option("--after-rep", help="The last rep of the first set (1-based).")
    ] = None,
    at: Annotated[
        str | None,
        typer.Option("--at", help="Where the second set starts: minutes:seconds into the session."),
    ] = None,
    db: DbOption = None,
) -> None:
    """Set SET was two sets: give where the second one starts."""
    from flows.edits import split_set

    _apply(lambda: split_set(db_or_default(db), session, set_number, after_rep=after_rep, at=at))


@app.command("delete")
def edit_delete(session: SessionArg, set_number: SetArg, db: DbOption = None) -> None:
    """Set SET was no set (the sensor took something else for one)."""
    from flows.edits import delete_set

    _apply(lambda: delete_set(db_or_default(db), session, set_number))


@app.command("undo")
def edit_undo(
    edit_id: Annotated[
        int | None, typer.Argument(help="The edit to take back (see `hipsync edit list`; default: the last).")
    ] = None,
    db: DbOption = None,
) -> None:
    """Take back the last edit, or edit EDIT_ID; it stays in the list, marked undone."""
    from flows.edits import undo

    _apply(lambda: undo(db_or_default(db), edit_id), undoing=True)


@app.command("list")
def edit_list(
    session: Annotated[
        str | None, typer.Argument(help="Only this session's edits (id, 6+ character prefix, or 'last').")
    ] = None,
    db: DbOption = None,
) -> None:
    """Every edit with who made it and when, and whether the latest analysis could apply it."""
    from flows.edits import EditError, edit_history
    from storage.errors import StorageError

    try:
        edits = edit_history(db_or_default(db), session)
    except EditError as e:
        exit_with_error(str(e), code=2)
    except StorageError as e:
        exit_with_error(str(e))
    if not edits:
        typer.echo("no edits yet; correct a set with e.g. `hipsync edit exercise last 2 clamshell`")
        return
    for edit in edits:
        typer.echo(_edit_line(edit))


def _edit_line(e: Edit) -> str:
    """``#3  3f2a91c0 set 2  exercise clamshell  anna 2026-03-04 19:02  applied``."""
    from flows.edits import describe

    when = e.created_at.astimezone().strftime("%Y-%m-%d %H:%M")
    if not e.active:
        undone = "" if e.undone_at is None else e.undone_at.astimezone().strftime(" %Y-%m-%d %H:%M")
        state = f"undone by {e.undone_by}{undone}"
    elif e.applied is False:
        state = e.note or "not applied"
    else:
        state = "applied"
    what = f"{e.session_id[:8]} set {e.set_number:<2} {describe(e):<36}"
    return f"#{e.edit_id:<3} {what} {e.created_by} {when}  {state}"


@app.command("show")
def edit_show(session: SessionArg, db: DbOption = None) -> None:
    """A session's sets as they now stand, with where each exercise came from."""
    from flows.edits import EditError, session_view
    from storage.errors import StorageError

    try:
        sid, sets = session_view(db_or_default(db), session)
    except EditError as e:
        exit_with_error(str(e), code=2)
    except StorageError as e:
        exit_with_error(str(e))
    _print_sets(sid, sets)
