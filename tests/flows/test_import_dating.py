"""``hipsync import`` dates a file by its own timestamps when it has them (MEx rows), not by its mtime."""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from flows.imports import import_file
from storage.sessions import list_sessions

MTIME = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def _touch(path: Path) -> None:
    os.utime(path, (MTIME.timestamp(), MTIME.timestamp()))


def test_a_mex_file_is_dated_by_its_rows(
    real_data_dir: Path, db_file: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    src = real_data_dir / "mex" / "01" / "02_act_1.csv.gz"
    copy = tmp_path / src.name
    copy.write_bytes(src.read_bytes())
    _touch(copy)
    with caplog.at_level(logging.WARNING, logger="flows.imports"):
        res = import_file(db_file, copy)
    assert res.status in ("analysed", "imported")
    [row] = list_sessions(db_file)
    # The first row of the file: 2018-11-08 11:41:07.456 (the file carries no zone: read as UTC).
    assert row.started_at == datetime(2018, 11, 8, 11, 41, 7, 456000, tzinfo=UTC)
    assert "modification time" not in caplog.text


def test_a_plain_csv_falls_back_to_the_mtime_and_says_so(
    db_file: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    t = np.arange(0, 20, 0.02)
    rows = "\n".join(f"{x:.3f},0,0,1" for x in t)
    csv = tmp_path / "plain.csv"
    csv.write_text("time,ax,ay,az\n" + rows + "\n")
    _touch(csv)
    with caplog.at_level(logging.WARNING, logger="flows.imports"):
        import_file(db_file, csv)
    [row] = list_sessions(db_file)
    assert row.started_at == MTIME
    assert "modification time" in caplog.text


def test_an_explicit_start_wins_over_the_file(real_data_dir: Path, db_file: Path) -> None:
    when = datetime(2026, 1, 5, 8, 30, tzinfo=UTC)
    import_file(db_file, real_data_dir / "mex" / "01" / "02_act_1.csv.gz", started_at=when)
    [row] = list_sessions(db_file)
    assert row.started_at == when
