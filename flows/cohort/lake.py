"""``hipsync cohort export``: the cohort's incremental Parquet lake of sessions, sets and reps.

The lake (layout in :mod:`storage.lake`) is Hive-partitioned by athlete and ISO week, so DuckDB, pyarrow,
Spark or pandas read it directly, and a query about a few weeks opens only their files. It is derived
data: every file can be rebuilt from the athletes' databases.

Incremental: ``LAKE/_manifest.json`` remembers, per athlete, a fingerprint of its database file (size and
modification time of ``hipsync.duckdb`` and its WAL, and the content of ``athlete.json``) and a digest of
every partition it wrote (row count and md5 of the rows, :func:`storage.lake.week_digests`). An athlete
whose fingerprint did not move is skipped without opening its database; otherwise only partitions whose
digest changed are rewritten, partitions of weeks that no longer have rows are deleted, and so are the
partitions of athletes no longer in the cohort. Then the by-week copy (:func:`storage.lake.compact`: every
athlete's rows of one week in one file, what the cohort report reads) is rebuilt for the weeks whose
athlete partitions moved. Each file is replaced atomically; the manifest is written last, so an export
that stops half-way is finished by the next one.

One export writes a lake at a time: ``LAKE/.lock`` is held (``flock``) while it runs; a second export
fails at once with :class:`LakeBusyError`. Readers need no lock (every file is replaced atomically).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flows.cohort.layout import Athlete, find_athletes
from storage import lake as lake_files
from storage.paths import DB_FILENAME

log = logging.getLogger(__name__)

__all__ = ["LAKE_VERSION", "MANIFEST", "AthleteExport", "LakeBusyError", "LakeExport", "export_lake"]

MANIFEST = "_manifest.json"
#: Bumped when the lake's columns change: a lake of another version is rewritten whole.
LAKE_VERSION = 1
_LOCK = ".lock"

#: Progress callback: (athletes done, athletes in the cohort, what happened to the last one).
OnAthlete = Callable[[int, int, "AthleteExport"], None]


class LakeBusyError(RuntimeError):
    """Another export is writing this lake right now."""


@dataclass(frozen=True, slots=True, kw_only=True)
class AthleteExport:
    """What the export did for one athlete: ``unchanged`` (database not touched since), or the partitions
    (files) written and removed."""

    athlete: str
    unchanged: bool
    written: int = 0
    removed: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class LakeExport:
    """The whole export: per athlete, the athletes whose partitions were removed (gone from the cohort),
    and the by-week files rebuilt or removed."""

    lake: Path
    athletes: tuple[AthleteExport, ...]
    dropped_athletes: tuple[str, ...] = field(default_factory=tuple)
    by_week: int = 0

    @property
    def written(self) -> int:
        return sum(a.written for a in self.athletes)

    @property
    def removed(self) -> int:
        return sum(a.removed for a in self.athletes)

    @property
    def unchanged(self) -> int:
        return sum(a.unchanged for a in self.athletes)


@contextmanager
def _exclusive(lake_dir: Path) -> Iterator[None]:
    lake_dir.mkdir(parents=True, exist_ok=True)
    with (lake_dir / _LOCK).open("a") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as e:
            raise LakeBusyError(f"another export is writing {lake_dir}") from e
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _read_manifest(lake_dir: Path) -> dict[str, Any]:
    path = lake_dir / MANIFEST
    try:
        data = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        return {"lake_version": LAKE_VERSION, "athletes": {}}
    except (OSError, json.JSONDecodeError) as e:
        log.warning("%s unreadable (%s): every athlete is checked again", path, e)
        return {"lake_version": LAKE_VERSION, "athletes": {}}
    if not isinstance(data, dict) or data.get("lake_version") != LAKE_VERSION:
        log.warning("%s: lake version differs from %d: rewriting every partition", path, LAKE_VERSION)
        return {"lake_version": LAKE_VERSION, "athletes": {}}
    return data


def _write_manifest(lake_dir: Path, manifest: dict[str, Any]) -> None:
    path = lake_dir / MANIFEST
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(manifest, indent=1, sort_keys=True), encoding="utf-8")
    tmp.replace(path)


def fingerprint(a: Athlete) -> list[Any]:
    """What changes whenever the athlete's data may have: database and WAL size and mtime, athlete.json."""
    parts: list[Any] = []
    for f in (a.home / DB_FILENAME, a.home / f"{DB_FILENAME}.wal"):
        st = f.stat() if f.exists() else None
        parts.append(None if st is None else [st.st_size, st.st_mtime_ns])
    info = json.dumps([a.info.sessions_per_week, list(a.info.sides), a.info.sensor, a.info.note])
    parts.append(hashlib.sha256(info.encode()).hexdigest()[:16])
    return parts


def _files_present(lake_dir: Path, athlete: str, partitions: dict[str, dict[str, str]]) -> bool:
    return all(
        lake_files.partition_path(lake_dir, table, athlete, week).exists()
        for table, weeks in partitions.items()
        for week in weeks
    )


def _remove_partition(lake_dir: Path, table: str, athlete: str, week: str) -> None:
    path = lake_files.partition_path(lake_dir, table, athlete, week)
    path.unlink(missing_ok=True)
    with contextlib.suppress(OSError):  # not empty (someone put a file there) or already gone
        path.parent.rmdir()


def _changed_weeks(
    lake_dir: Path, athlete: str, old: dict[str, dict[str, str]], new: dict[str, dict[str, str]]
) -> dict[str, list[str]]:
    """table -> weeks whose digest moved or whose file is missing."""
    return {
        table: [
            w
            for w, digest in weeks.items()
            if old.get(table, {}).get(w) != digest
            or not lake_files.partition_path(lake_dir, table, athlete, w).exists()
        ]
        for table, weeks in new.items()
    }


def _write_athlete_row(lake_dir: Path, a: Athlete) -> Path:
    return lake_files.write_athlete_row(
        lake_dir,
        a.athlete,
        sessions_per_week=a.info.sessions_per_week,
        sides=a.info.sides,
        sensor=a.info.sensor,
        note=a.info.note,
    )


def export_athlete(
    lake_dir: Path, a: Athlete, entry: dict[str, Any] | None
) -> tuple[AthleteExport, dict[str, Any]]:
    """Bring one athlete's partitions up to date; returns what was done and its new manifest entry."""
    fp = fingerprint(a)
    entry = entry or {}
    old_parts: dict[str, dict[str, str]] = entry.get("partitions", {})
    info_file = lake_files.partition_path(lake_dir, "athletes", a.athlete)
    if (
        entry.get("fingerprint") == fp
        and info_file.exists()
        and _files_present(lake_dir, a.athlete, old_parts)
    ):
        return AthleteExport(athlete=a.athlete, unchanged=True), entry
    empty: dict[str, dict[str, str]] = {t: {} for t in lake_files.LAKE_TABLES}
    new_parts = lake_files.week_digests(a.db_path) if a.db_path.exists() else empty
    todo = _changed_weeks(lake_dir, a.athlete, old_parts, new_parts)
    written = lake_files.write_partitions(a.db_path, lake_dir, a.athlete, todo) if any(todo.values()) else []
    gone = [(t, w) for t, weeks in old_parts.items() for w in set(weeks) - set(new_parts.get(t, {}))]
    for table, week in gone:
        _remove_partition(lake_dir, table, a.athlete, week)
    if (entry.get("fingerprint") or [None] * 3)[2] != fp[2] or not info_file.exists():
        written.append(_write_athlete_row(lake_dir, a))
    done = AthleteExport(athlete=a.athlete, unchanged=False, written=len(written), removed=len(gone))
    return done, {"fingerprint": fp, "partitions": new_parts}


def _drop_athlete(lake_dir: Path, athlete: str) -> None:
    for table in (*lake_files.LAKE_TABLES, "athletes"):
        shutil.rmtree(lake_dir / table / f"athlete={athlete}", ignore_errors=True)


def _by_week_digests(entries: dict[str, Any]) -> dict[str, dict[str, str]]:
    """table -> week -> a digest of what every athlete's partition of that week holds; ``athletes`` -> ""."""
    parts: dict[str, dict[str, list[str]]] = {t: {} for t in lake_files.LAKE_TABLES}
    for athlete, entry in sorted(entries.items()):
        for table, weeks in entry.get("partitions", {}).items():
            for week, digest in weeks.items():
                parts[table].setdefault(week, []).append(f"{athlete}={digest}")
    out = {t: {w: _sha(";".join(d)) for w, d in weeks.items()} for t, weeks in parts.items()}
    out["athletes"] = {"": _sha(";".join(f"{a}={e['fingerprint'][2]}" for a, e in sorted(entries.items())))}
    return out


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def refresh_by_week(lake_dir: Path, manifest: dict[str, Any]) -> int:
    """Rebuild the by-week files whose athletes' partitions moved (or that are missing), remove those of
    weeks nobody has any more; returns the files rebuilt or removed."""
    want = _by_week_digests(manifest["athletes"])
    have: dict[str, dict[str, str]] = manifest.get("by_week", {})
    touched = 0
    for table, weeks in want.items():
        for week, digest in weeks.items():
            key = week or None
            if (
                have.get(table, {}).get(week) != digest
                or not lake_files.by_week_path(lake_dir, table, key).exists()
            ):
                lake_files.compact(lake_dir, table, key)
                touched += 1
        for week in set(have.get(table, {})) - set(weeks):
            lake_files.compact(lake_dir, table, week or None)  # no athlete has it: removes the file
            touched += 1
    manifest["by_week"] = want
    return touched


def export_lake(root: Path, lake_dir: Path, *, on_athlete: OnAthlete | None = None) -> LakeExport:
    """Bring the lake at ``lake_dir`` up to date with every athlete under ``root`` (see the module docstring).

    Raises :class:`flows.cohort.layout.CohortError` for a missing cohort and :class:`LakeBusyError` when
    another export holds the lake.
    """
    found = find_athletes(root)
    with _exclusive(lake_dir):
        manifest = _read_manifest(lake_dir)
        entries: dict[str, Any] = manifest["athletes"]
        results: list[AthleteExport] = []
        gone: list[str] = []
        by_week = 0
        try:
            for i, a in enumerate(found, start=1):
                res, entries[a.athlete] = export_athlete(lake_dir, a, entries.get(a.athlete))
                results.append(res)
                if on_athlete is not None:
                    on_athlete(i, len(found), res)
            gone = sorted(set(entries) - {a.athlete for a in found})
            for athlete in gone:
                _drop_athlete(lake_dir, athlete)
                del entries[athlete]
            by_week = refresh_by_week(lake_dir, manifest)
        finally:
            _write_manifest(lake_dir, manifest)
    return LakeExport(lake=lake_dir, athletes=tuple(results), dropped_athletes=tuple(gone), by_week=by_week)
