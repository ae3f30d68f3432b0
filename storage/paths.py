"""Where hipsync keeps its data: ``$HIPSYNC_HOME`` or the platform's user data dir, private to its user.

Layout under the home directory::

    hipsync.duckdb      the database (one writer at a time, readers read-only)
    spool/              one append-only spool file per sensor session (never rewritten)
    reports/            rendered weekly reports (html, md, json)
    sensors.json        the sensors this user owns (``hipsync sensors add``)
    plan.toml           the current training plan (``hipsync plan``)

Everything there is health data, so it is private whatever the umask: the home and the folders hipsync
makes in it are mode 0700, the files it writes 0600 (:func:`private_dir`, :func:`private_file`,
:func:`write_private`). An existing home is tightened only when it is the user's own and holds nothing but
hipsync's files: ``HIPSYNC_HOME=/tmp`` must not make ``/tmp`` private (a warning says why it stays open).
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
from pathlib import Path

import platformdirs

log = logging.getLogger(__name__)

DB_FILENAME = "hipsync.duckdb"
PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600
#: What hipsync keeps in its home (and temporary siblings of these: ``.NAME...``); a home holding
#: anything else is someone else's folder too, and its mode is left alone.
HOME_ENTRIES = frozenset(
    {
        DB_FILENAME,
        f"{DB_FILENAME}.wal",
        f"{DB_FILENAME}.tmp",
        "spool",
        "reports",
        "sensors.json",
        "plan.toml",
        "delivery.toml",
        "prefect",
        "export",
    }
)


def hipsync_home() -> Path:
    """The data directory, created (mode 0700) if missing."""
    env = os.environ.get("HIPSYNC_HOME")
    home = Path(env).expanduser() if env else Path(platformdirs.user_data_dir("hipsync", appauthor=False))
    return private_home(home)


def private_home(home: Path) -> Path:
    """``home`` created with mode 0700, or an existing one tightened to 0700 when it is ours and holds
    only hipsync's files (see the module docstring); returns ``home``."""
    created = not home.exists()
    private_dir(home)
    if created:
        return home
    with contextlib.suppress(OSError):
        info = home.stat()
        if stat.S_IMODE(info.st_mode) & 0o077 and info.st_uid == os.getuid():
            if _only_hipsync_files(home):
                os.chmod(home, PRIVATE_DIR_MODE)
            else:
                log.warning(
                    "%s is open to other users (mode %o) and holds files that are not hipsync's; its mode is "
                    "left alone: point HIPSYNC_HOME at a folder of its own",
                    home,
                    stat.S_IMODE(info.st_mode),
                )
    return home


def _only_hipsync_files(home: Path) -> bool:
    for entry in home.iterdir():
        name = entry.name
        if name in HOME_ENTRIES or any(name.startswith(f".{known}") for known in HOME_ENTRIES):
            continue
        return False
    return True


def private_dir(path: Path) -> Path:
    """Create ``path`` (and missing parents) if needed; a folder hipsync creates is mode 0700."""
    if not path.is_dir():
        path.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
        # mkdir's mode passes through the umask, which may take more than 0o077 (then leave it).
        with contextlib.suppress(OSError):
            os.chmod(path, PRIVATE_DIR_MODE & stat.S_IMODE(path.stat().st_mode))
    return path


def private_file(path: Path) -> None:
    """Make a file readable and writable by its owner only (health data), if it is ours to change."""
    with contextlib.suppress(OSError):
        if path.stat().st_uid == os.getuid():
            os.chmod(path, PRIVATE_FILE_MODE)


def write_private(path: Path, data: bytes | str) -> None:
    """Write a file atomically (a temporary sibling, fsync, rename over ``path``), mode 0600 from birth."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE_MODE)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, PRIVATE_FILE_MODE)  # an existing temporary keeps its mode through O_CREAT
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _home(home: Path | None) -> Path:
    return hipsync_home() if home is None else private_home(home)


def db_path(home: Path | None = None) -> Path:
    return _home(home) / DB_FILENAME


def spool_dir(home: Path | None = None) -> Path:
    return private_dir(_home(home) / "spool")


def reports_dir(home: Path | None = None) -> Path:
    return private_dir(_home(home) / "reports")


def sensors_path(home: Path | None = None) -> Path:
    return _home(home) / "sensors.json"


def plan_path(home: Path | None = None) -> Path:
    return _home(home) / "plan.toml"
