"""``hipsync history EXERCISE`` and ``hipsync records``: an exercise's sessions and trends, and personal
records with the date each was set, in the terminal.

The numbers come from :mod:`storage.history` (read-only DuckDB queries); this module only formats them:
a table per session and compact unicode charts (one character per session, ``▁`` to ``█``), all within
80 columns. DuckDB is imported inside the commands so ``hipsync --help`` stays fast.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated

import typer

from hipsync.cli._utilities import (
    SHORT_EXERCISE,
    DbOption,
    db_or_default,
    exit_with_error,
    narrow_table,
    short_exercise,
)

if TYPE_CHECKING:
    from storage.history import HistoryRow

BARS = "▁▂▃▄▅▆▇█"
#: At most this many sessions in a chart (the newest): one character each, within 80 columns.
CHART_WIDTH = 48


def sparkline(values: Sequence[float | None]) -> str:
    """One bar character per value, lowest ``▁`` to highest ``█``; a missing value is a space."""
    known = [v for v in values if v is not None]
    if not known:
        return " " * len(values)
    lo, hi = min(known), max(known)
    span = hi - lo
    out = []
    for v in values:
        if v is None:
            out.append(" ")
        else:
            level = 0 if span == 0 else round((v - lo) / span * (len(BARS) - 1))
            out.append(BARS[level])
    return "".join(out)


def resolve_exercise(text: str) -> str:
    """An exercise's stored name from what a user types: the name, its short name, or a unique start of
    either (``clam``, ``bridge``, ``abd seated``); raises ``typer.BadParameter`` listing the names."""
    wanted = text.strip().lower().replace("-", "_").replace(" ", "_")
    names = [n for n in SHORT_EXERCISE if n != "unknown"]
    exact = [n for n in names if wanted in (n, SHORT_EXERCISE[n].replace(" ", "_"))]
    if exact:
        return exact[0]
    starts = [
        n for n in names if n.startswith(wanted) or SHORT_EXERCISE[n].replace(" ", "_").startswith(wanted)
    ]
    if len(starts) == 1:
        return starts[0]
    choices = ", ".join(f"{n} ({SHORT_EXERCISE[n]})" for n in names)
    raise typer.BadParameter(f"{text!r} is not one exercise; choose from {choices}")


def _trend(label: str, values: list[float | None], unit: str, fmt: str = "{:.0f}") -> str:
    known = [v for v in values if v is not None]
    if not known:
        return f"{label:<14}(none)"
    ends = f"{fmt.format(known[0])} -> {fmt.format(known[-1])} {unit}".rstrip()
    return f"{label:<14}{sparkline(values[-CHART_WIDTH:])}  {ends}"


def _history_table(rows: list[HistoryRow]) -> None:
    from rich.console import Console

    table = narrow_table("date", "sets", "reps", "best set", "resistance", "ROM", "TUT/rep", "volume")
    for r in rows:
        table.add_row(
            r.started_at.astimezone().strftime("%Y-%m-%d"),
            str(r.n_sets),
            str(r.n_reps),
            str(r.max_reps),
            r.resistance or "",
            "" if r.rom_deg is None else f"{r.rom_deg:.0f} deg",
            "" if r.tut_s is None else f"{r.tut_s:.1f} s",
            "" if r.volume_load is None else f"{r.volume_load:g}",
        )
    Console(width=80).print(table)


def history(
    exercise: Annotated[
        str,
        typer.Argument(help="clamshell, side raise, abd standing, abd seated, glute bridge (or a start)."),
    ],
    limit: Annotated[int, typer.Option("--limit", "-n", help="Show the newest sessions only.")] = 20,
    db: DbOption = None,
) -> None:
    """One exercise's sessions and trends: sets, reps, resistance, ROM, tempo and volume, with charts.

    Volume is reps x load (band level, kg, or 1 for bodyweight). The charts show up to the last 48
    sessions, one bar each, lowest to highest.
    """
    from storage.errors import NotFoundError, StorageError
    from storage.history import exercise_history

    name = resolve_exercise(exercise)
    try:
        rows = exercise_history(db_or_default(db), name)
    except NotFoundError:
        rows = []
    except StorageError as e:
        exit_with_error(str(e))
    if not rows:
        typer.echo(f"no {short_exercise(name)} sets stored yet")
        return
    typer.echo(f"{short_exercise(name)}: {len(rows)} sessions, {sum(r.n_reps for r in rows)} reps")
    typer.echo(_trend("reps/session", [float(r.n_reps) for r in rows], "reps"))
    typer.echo(_trend("best set", [float(r.max_reps) for r in rows], "reps"))
    typer.echo(_trend("load", [r.load_value for r in rows], rows[-1].load_unit or "", "{:g}"))
    typer.echo(_trend("ROM", [r.rom_deg for r in rows], "deg"))
    typer.echo(_trend("volume", [r.volume_load for r in rows], "", "{:g}"))
    _history_table(rows[-limit:])


def records(
    exercise: Annotated[
        str | None, typer.Argument(help="Only this exercise (default: all).", show_default=False)
    ] = None,
    db: DbOption = None,
) -> None:
    """Personal records with the date each was set: most reps in a set at each resistance, heaviest
    load, best ROM (mean of a set's full reps) and best weekly volume (reps x load)."""
    from rich.console import Console

    from flows.report.records import record_text
    from storage.errors import NotFoundError, StorageError
    from storage.history import personal_records

    name = None if exercise is None else resolve_exercise(exercise)
    try:
        found = personal_records(db_or_default(db))
    except NotFoundError:
        found = []
    except StorageError as e:
        exit_with_error(str(e))
    found = [r for r in found if name is None or r.exercise == name]
    if not found:
        typer.echo("no records yet: they come with your first analysed sets (`hipsync sync`)")
        return
    table = narrow_table("exercise", "record", "best", "set on", "session")
    for r in found:
        what, value = record_text(r)
        table.add_row(
            short_exercise(r.exercise),
            what,
            value,
            r.set_at.astimezone().strftime("%Y-%m-%d"),
            r.session_id[:8],
        )
    Console(width=80).print(table)
