"""Where hipsync keeps its data: ``$HIPSYNC_HOME`` or the platform's user data dir.

Layout under the home directory::

    hipsync.duckdb      the database (one writer at a time, readers read-only)
    spool/              one append-only spool file per sensor session (never rewritten)
    reports/            rendered weekly reports (html, md, json)
    sensors.json        the sensors this user owns (``hipsync sensors add``)
    plan.toml           the current training plan (``hipsync plan``)
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import platformdirs

DB_FILENAME = "hipsync.duckdb"


def hipsync_home() -> Path:
    """The data directory, created if missing."""
    env = os.environ.get("HIPSYNC_HOME")
    home = Path(env).expanduser() if env else Path(platformdirs.user_data_dir("hipsync", appauthor=False))
    home.mkdir(parents=True, exist_ok=True)
    return home


def db_path(home: Path | None = None) -> Path:
    return (home or hipsync_home()) / DB_FILENAME


def spool_dir(home: Path | None = None) -> Path:
    d = (home or hipsync_home()) / "spool"
    d.mkdir(parents=True, exist_ok=True)
    return d


def reports_dir(home: Path | None = None) -> Path:
    d = (home or hipsync_home()) / "reports"
    d.mkdir(parents=True, exist_ok=True)
    return d


def sensors_path(home: Path | None = None) -> Path:
    return (home or hipsync_home()) / "sensors.json"


def plan_path(home: Path | None = None) -> Path:
    return (home or hipsync_home()) / "plan.toml"


def private_file(path: Path) -> None:
    """Make a file readable and writable by its owner only (health data), if it is ours to change."""
    with contextlib.suppress(OSError):
        if path.stat().st_uid == os.getuid():
            os.chmod(path, 0o600)
