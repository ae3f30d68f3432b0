"""A second real process reads the database in a loop while this one writes sessions (one of them long).

DuckDB lets no reader open the file while the writer has it, so both sides retry briefly; the reader must
never fail and must only ever see whole sessions (samples, sets and reps of a session land together).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from flows.imports import import_recording
from storage.db import connect_readonly

REPO_ROOT = Path(__file__).resolve().parents[2]

_READER = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    from storage.db import connect_readonly
    from storage.errors import StorageError

    db, stop, out = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
    CHECK = '''
        SELECT (SELECT count(*) FROM sessions),
               (SELECT count(*) FROM sessions s
                 WHERE s.n_samples <> (SELECT count(*) FROM samples x WHERE x.session_key = s.session_key)
                    OR (SELECT coalesce(sum(n_reps), 0) FROM sets t WHERE t.session_id = s.session_id)
                       <> (SELECT count(*) FROM reps r WHERE r.session_id = s.session_id))
    '''
    reads, counts, broken, errors = 0, [], 0, []
    print("READY", flush=True)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        last = stop.exists()
        try:
            with connect_readonly(db, timeout_s=60) as con:
                n, bad = con.execute(CHECK).fetchone()
        except StorageError as e:
            errors.append(f"{type(e).__name__}: {e}")
        else:
            reads += 1
            counts.append(n)
            broken += bad
        if last:
            break
        time.sleep(0.01)
    out.write_text(json.dumps({"reads": reads, "counts": counts, "broken": broken, "errors": errors}))
    """
)


@pytest.mark.slow
def test_reader_process_during_writes(
    tmp_path: Path, db_file: Path, rng: np.random.Generator, kit: Any
) -> None:
    # Create the file (and schema) first so the reader has something to open.
    first = import_recording(db_file, kit.make_recording(rng, duration_s=10.0), analysis=kit.make_analysis())
    assert first.status == "analysed"
    stop, out = tmp_path / "stop", tmp_path / "reader.json"
    reader = subprocess.Popen(
        [sys.executable, "-c", _READER, str(db_file), str(stop), str(out)],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )
    try:
        assert reader.stdout is not None
        assert reader.stdout.readline().strip() == "READY"
        n_written = 1
        for i in range(6):
            # One long session (20 min at 100 Hz = 120k samples in one transaction); the others 1 min.
            duration_s = 1200.0 if i == 3 else 60.0
            rec = kit.make_recording(
                rng, duration_s=duration_s, started_at=kit.STARTED_AT + timedelta(days=i + 1)
            )
            res = import_recording(db_file, rec, analysis=kit.make_analysis())
            assert res.status == "analysed"
            n_written += 1
        stop.touch()
        _, stderr = reader.communicate(timeout=120)
    finally:
        if reader.poll() is None:
            reader.kill()
    assert reader.returncode == 0, stderr
    result = json.loads(out.read_text())
    print(result["reads"], len(result["counts"]))
    assert result["errors"] == []
    assert result["broken"] == 0  # never a half-written session
    assert result["reads"] >= 2
    assert result["counts"] == sorted(result["counts"])  # sessions only ever appear, whole
    assert result["counts"][-1] == n_written  # the last read (after the writer finished) sees everything
    with connect_readonly(db_file) as con:
        assert con.execute("SELECT count(*) FROM sessions").fetchone() == (n_written,)


@pytest.mark.slow
def test_concurrent_writer_threads_in_one_process(
    tmp_path: Path, db_file: Path, rng: np.random.Generator, kit: Any
) -> None:
    """Prefect may run one sync task per spool in threads: same device rows, same file, no lost sessions."""
    from concurrent.futures import ThreadPoolExecutor

    from flows.imports import sync_one_spool

    spools = [kit.write_witmotion_spool(tmp_path / f"{i}.spool", rng, n=600) for i in range(4)]
    spools.append(spools[0])  # the same spool twice at once: stored once
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda p: sync_one_spool(db_file, p), spools))
    assert sorted(r.status for r in results) == ["analysed"] * 4 + ["skipped"]
    counts = kit.table_counts(db_file)
    assert (counts["sessions"], counts["samples"], counts["devices"]) == (4, 2400, 1)


def test_reader_and_writer_in_the_same_process_wait_for_each_other(
    db_file: Path, rng: np.random.Generator, kit: Any
) -> None:
    """DuckDB refuses a read-only and a read-write connection to one file in one process; both wait."""
    import threading

    import_recording(db_file, kit.make_recording(rng, duration_s=5.0), analysis=kit.make_analysis())
    release = threading.Event()

    def hold_reader() -> None:
        with connect_readonly(db_file) as con:
            con.execute("SELECT count(*) FROM sessions").fetchone()
            release.wait(timeout=30)

    holder = threading.Thread(target=hold_reader)
    holder.start()
    timer = threading.Timer(0.3, release.set)
    timer.start()
    try:
        res = import_recording(db_file, kit.make_recording(rng, duration_s=5.0), analysis=kit.make_analysis())
    finally:
        release.set()
        holder.join()
        timer.cancel()
    assert res.status == "analysed"
    assert kit.table_counts(db_file)["sessions"] == 2
