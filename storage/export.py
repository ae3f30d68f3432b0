"""Export the database to Parquet or CSV files with DuckDB's ``COPY`` (``hipsync export``).

One file per table: ``sessions``, ``sets``, ``reps``, ``analysis_runs``, ``plans``, ``devices`` and, with
``include_samples``, ``samples`` (large: ~10-30 bytes per sample in Parquet), which is exported in seconds, g
and deg/s with the ``session_id``, like the ``v_samples`` view. Columns and units are those of
``docs/schema.md``. The export reads through a read-only connection, so it can run during a sync.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Literal

from storage.db import DEFAULT_LOCK_TIMEOUT_S, connect_readonly
from storage.paths import private_dir, private_file
from storage.samples import SAMPLES_IN_UNITS_SQL

log = logging.getLogger(__name__)

__all__ = ["EXPORT_TABLES", "ExportFormat", "export"]

ExportFormat = Literal["parquet", "csv"]

# Table name -> ORDER BY clause.
EXPORT_TABLES: dict[str, str] = {
    "sessions": "started_at, session_id",
    "sets": "started_at, set_index",
    "reps": "session_id, set_id, rep_index",
    "analysis_runs": "created_at, run_id",
    "plans": "valid_from, exercise",
    "devices": "device_id",
}
_COPY_OPTIONS: dict[str, str] = {
    "parquet": "(FORMAT parquet, COMPRESSION zstd)",
    "csv": "(FORMAT csv, HEADER true)",
}


def _sql_string(text: str) -> str:
    """A SQL string literal: COPY's target cannot be a bound parameter, so quotes are doubled."""
    return "'" + text.replace("'", "''") + "'"


def export(
    db_path: Path | str,
    out_dir: Path | str,
    format: ExportFormat = "parquet",
    include_samples: bool = False,
    *,
    timeout_s: float = DEFAULT_LOCK_TIMEOUT_S,
) -> dict[str, Path]:
    """Write one ``<table>.<format>`` per table into ``out_dir`` (created mode 0700); returns table -> file.

    The files are mode 0600: they hold the same health data as the database.
    """
    if format not in _COPY_OPTIONS:
        raise ValueError(f"format must be 'parquet' or 'csv', got {format!r}")
    out = private_dir(Path(out_dir))
    # table -> query; every part is a constant of this package (identifiers never come from the caller)
    queries = {table: f"SELECT * FROM {table} ORDER BY {order}" for table, order in EXPORT_TABLES.items()}
    if include_samples:
        # In seconds, g and deg/s like the other tables' units; each session's samples in recording order.
        queries["samples"] = f"{SAMPLES_IN_UNITS_SQL} ORDER BY se.started_at, se.session_id, s.rowid"
    written: dict[str, Path] = {}
    with connect_readonly(db_path, timeout_s=timeout_s) as con:
        for table, query in queries.items():
            target = (out / f"{table}.{format}").resolve()
            con.execute(f"COPY ({query}) TO {_sql_string(str(target))} {_COPY_OPTIONS[format]}")
            private_file(target)  # the same health data as the database: private until the user shares it
            written[table] = target
            log.info("exported %s to %s", table, target)
    return written
