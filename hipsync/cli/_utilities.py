"""What the command modules share, defined once: the error exit, the option enums, the common options.

Only typer and the standard library are imported here, because ``hipsync --help`` imports every command
module and with them this one. The option enums repeat a few values of the packages below (sides,
sensor profiles, units) instead of importing them, for the same reason: the packages pull in NumPy and
more. ``tests/cli/test_utilities.py`` checks that each enum still equals the list it mirrors.
"""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer


def exit_with_error(message: str, code: int = 1) -> NoReturn:
    """Print ``error: <message>`` in red on stderr and end the command with exit status ``code``.

    Exit statuses: 1 a failed operation, 2 bad input (a file, an option), 3 Bluetooth unavailable,
    4 a sensor refused to stream.
    """
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code=code)


class SideOption(enum.StrEnum):
    """The thigh a sensor is worn on (the values of ``hipsync.records.Side``)."""

    left = "left"
    right = "right"


class ProfileOption(enum.StrEnum):
    """Supported sensor models (the ids of ``ingest.profiles.PROFILES``)."""

    polar_verity_sense = "polar-verity-sense"
    polar_h10 = "polar-h10"
    witmotion_wt901 = "witmotion-wt901"


class AccUnits(enum.StrEnum):
    """Units of ``ax,ay,az`` in CSV/Parquet files (``ingest.files`` scales them to g)."""

    g = "g"
    ms2 = "m/s2"


class GyroUnits(enum.StrEnum):
    """Units of ``gx,gy,gz`` in CSV/Parquet files (``ingest.files`` scales them to deg/s)."""

    dps = "dps"
    rads = "rad/s"


VIRTUAL_HELP = (
    "Use emulated sensors over an in-process Bluetooth stack (bumble) instead of the radio; "
    "same as HIPSYNC_BLE=virtual."
)

#: ``--db``: the database file; ``None`` means ``$HIPSYNC_HOME/hipsync.duckdb`` (see :func:`db_or_default`).
DbOption = Annotated[
    Path | None, typer.Option("--db", help="Database file (default: $HIPSYNC_HOME/hipsync.duckdb).")
]


def db_or_default(db: Path | None) -> Path:
    """The ``--db`` file, or the default database under ``$HIPSYNC_HOME``."""
    from storage import paths  # storage.paths imports platformdirs only, but not before a command runs

    return db if db is not None else paths.db_path()


#: Exercise names short enough for an 80-column table (keys: the values of ``hipsync.records.Exercise``).
SHORT_EXERCISE = {
    "clamshell": "clam",
    "side_lying_leg_raise": "side raise",
    "banded_abduction_standing": "abd standing",
    "banded_abduction_seated": "abd seated",
    "single_leg_glute_bridge": "bridge",
    "unknown": "unknown",
}


def short_exercise(name: str) -> str:
    """The short display name of an exercise (the name itself when unknown to the table)."""
    return SHORT_EXERCISE.get(name, name)


def minutes_text(seconds: float | None) -> str:
    """A duration for people: ``16 min``, ``45 s`` under a minute, empty when unknown."""
    if seconds is None:
        return ""
    return f"{seconds:.0f} s" if seconds < 60 else f"{seconds / 60:.0f} min"


def narrow_table(*headers: str) -> Any:
    """A rich table for 80 columns: no rules, two spaces between columns, a bold header."""
    from rich.table import Table

    return Table(*headers, box=None, padding=(0, 1), pad_edge=False, header_style="bold")
