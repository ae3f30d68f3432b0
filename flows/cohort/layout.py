"""The cohort folder: athlete homes side by side, each with an ``athlete.json`` the coach can edit.

Layout::

    ROOT/
      athlete-001/          an athlete home: the $HIPSYNC_HOME layout of one user (storage.paths)
        hipsync.duckdb      that athlete's database (one writer at a time, as for a single user)
        plan.toml, spool/, reports/
        athlete.json        what the coach knows: planned sessions per week, sides, sensor
      athlete-002/
      _lake/                the default Parquet lake (flows.cohort.lake); names starting with _ or . are
                            not athletes

An athlete is a subfolder holding ``hipsync.duckdb`` or ``athlete.json``; its folder name is its id,
which must be a plain name (letters, digits, ``-``, ``_``, ``.``) because it becomes a Hive partition
value (``athlete=athlete-001``) in the lake.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from storage import paths

log = logging.getLogger(__name__)

__all__ = [
    "ATHLETE_FILE",
    "DEFAULT_LAKE",
    "Athlete",
    "AthleteInfo",
    "CohortError",
    "find_athletes",
    "is_valid_athlete_id",
    "read_athlete_info",
    "write_athlete_info",
]

ATHLETE_FILE = "athlete.json"
#: The lake's folder inside the cohort when ``--lake`` is not given.
DEFAULT_LAKE = "_lake"
_ATHLETE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


class CohortError(ValueError):
    """The cohort folder or an athlete file is not what it should be (the message says which and why)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class AthleteInfo:
    """What the coach knows about one athlete (``athlete.json``; every field optional).

    ``sessions_per_week`` the planned training sessions per week (the report counts done against it);
    ``sides`` the legs trained with a sensor (``left``, ``right``); ``sensor`` the sensor profile id;
    ``note`` free text (the simulator records its seed there).
    """

    sessions_per_week: int | None = None
    sides: tuple[str, ...] = ()
    sensor: str | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Athlete:
    """One athlete home in the cohort: its id (the folder name), its folder and what ``athlete.json`` says."""

    athlete: str
    home: Path
    info: AthleteInfo

    @property
    def db_path(self) -> Path:
        return paths.db_path(self.home)


def is_valid_athlete_id(athlete: str) -> bool:
    """Whether ``athlete`` can be a folder name and a Hive partition value."""
    return _ATHLETE_ID.fullmatch(athlete) is not None


def _info_from(data: Any, where: Path) -> AthleteInfo:
    if not isinstance(data, dict):
        raise CohortError(f"{where}: expected a JSON object")
    known = set(AthleteInfo.__dataclass_fields__)
    unknown = sorted(set(data) - known)
    if unknown:
        raise CohortError(
            f"{where}: unknown field(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
        )
    per_week = data.get("sessions_per_week")
    if per_week is not None and (not isinstance(per_week, int) or not 1 <= per_week <= 14):
        raise CohortError(f"{where}: sessions_per_week must be a whole number 1-14, got {per_week!r}")
    sides = tuple(data.get("sides") or ())
    if any(s not in ("left", "right") for s in sides):
        raise CohortError(f"{where}: sides must be 'left' and/or 'right', got {list(sides)!r}")
    return AthleteInfo(
        sessions_per_week=per_week, sides=sides, sensor=data.get("sensor"), note=data.get("note")
    )


def read_athlete_info(home: Path) -> AthleteInfo:
    """``home/athlete.json``, or an empty :class:`AthleteInfo` when there is none."""
    path = home / ATHLETE_FILE
    if not path.exists():
        return AthleteInfo()
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise CohortError(f"{path}: cannot read: {e}") from e
    return _info_from(data, path)


def write_athlete_info(home: Path, info: AthleteInfo) -> Path:
    """Write ``home/athlete.json`` atomically (temp file + rename); returns its path."""
    home.mkdir(parents=True, exist_ok=True)
    path = home / ATHLETE_FILE
    data = asdict(info)
    data["sides"] = list(info.sides)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path


def _is_athlete_home(d: Path) -> bool:
    return (d / paths.DB_FILENAME).exists() or (d / ATHLETE_FILE).exists()


def find_athletes(root: Path, only: tuple[str, ...] | None = None) -> list[Athlete]:
    """The athletes of the cohort at ``root``, sorted by id (``only``: just these ids, each must exist).

    Raises :class:`CohortError` when ``root`` is not a folder or an athlete file is malformed. Folders
    whose names start with ``_`` or ``.`` (the lake, hidden files) are not athletes; other folders with
    names that cannot be partition values are skipped with a warning.
    """
    if not root.is_dir():
        raise CohortError(f"no cohort folder at {root}")
    found: list[Athlete] = []
    for d in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(("_", "."))):
        if not _is_athlete_home(d):
            continue
        if not is_valid_athlete_id(d.name):
            log.warning("%s: not a usable athlete id (letters, digits, - _ . only); skipped", d.name)
            continue
        found.append(Athlete(athlete=d.name, home=d, info=read_athlete_info(d)))
    if only is not None:
        have = {a.athlete for a in found}
        missing = [a for a in only if a not in have]
        if missing:
            raise CohortError(f"no athlete {', '.join(missing)} in {root}")
        found = [a for a in found if a.athlete in set(only)]
    return found
