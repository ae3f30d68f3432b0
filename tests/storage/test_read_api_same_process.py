"""storage.read_api.open_readonly while THIS process holds the writer connection (a report during a sync).

DuckDB refuses a read-only connection to a file the same process has open read-write with a
``ConnectionException`` ("different configuration"); like a lock held by another process, that clears when
the writer's connection closes, so ``open_readonly`` waits for it.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

import storage
from storage.db import connect
from storage.read_api import DatabaseBusyError, open_readonly


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "hipsync.duckdb"
    with connect(path):
        pass  # migrated, empty
    return path


def test_open_readonly_waits_for_a_writer_in_this_process(db: Path) -> None:
    holding = threading.Event()
    released: list[float] = []

    def write() -> None:
        with connect(db) as con:
            con.execute("SELECT 1")
            holding.set()
            time.sleep(0.5)
            released.append(time.monotonic())

    writer = threading.Thread(target=write)
    writer.start()
    try:
        assert holding.wait(timeout=30)
        conn = open_readonly(db, timeout_s=30.0)
        opened = time.monotonic()
        try:
            assert conn.execute("SELECT count(*) FROM v_sessions").fetchone() == (0,)
        finally:
            conn.close()
    finally:
        writer.join(timeout=30)
    assert released and opened >= released[0]


def test_open_readonly_gives_up_on_a_writer_in_this_process(db: Path) -> None:
    with connect(db), pytest.raises(DatabaseBusyError) as info:
        open_readonly(db, timeout_s=0.3)
    assert "different configuration" in str(info.value)


def test_package_reexports_open_readonly() -> None:
    assert storage.open_readonly is open_readonly
