"""`kill -9` of a live `hipsync record` (issue 2): the spool it leaves behind is read, decoded and synced.

End to end through the real CLI in a child process (virtual Polar Verity Sense over the bumble link, spool
under ``$HIPSYNC_HOME/spool``). The parent watches the spool grow, snapshots it, kills the child's whole
process group with SIGKILL mid-stream and then checks what ``docs/spool-format.md`` promises: the file
is an unfinished but valid spool whose readable part still holds everything the snapshot held, the sync
picks it up because its writer is gone, and it decodes to a gap-free, duplicate-free recording that
covers the streamed sensor time but at most the last second, which then imports into a fresh database.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from flows.imports import sync_one_spool
from hipsync.records import Recording
from ingest.spool.decode import CONTROL_STREAMS, decode_spool
from ingest.spool.format import Spool, SpoolEventKind
from ingest.spool.reader import finished_spools, read_spool, writer_alive
from storage.db import connect_readonly

REPO_ROOT = Path(__file__).resolve().parents[2]

#: Seconds of data (host receive time, first to last data chunk) to let the child stream before the kill.
STREAM_BEFORE_KILL_S = 3.0
#: Generous bounds for a loaded 2-core CI machine; normally the child streams ~3 s after starting.
START_TIMEOUT_S = 90.0
STREAM_TIMEOUT_S = 60.0
POLL_S = 0.1
#: The spool's promise: `kill -9` loses at most the last second.
MAX_LOSS_S = 1.0


def _data_chunks(spool: Spool) -> list[float]:
    """Host receive times (monotonic s) of the sample-carrying chunks, in file order."""
    return [c.host_time_s for c in spool.chunks if c.stream not in CONTROL_STREAMS]


def _live_spool(spool_dir: Path) -> Path | None:
    found = sorted(p for p in spool_dir.glob("*.spool") if not p.name.startswith("."))
    assert len(found) <= 1, found
    return found[0] if found else None


def _child_output(tmp_path: Path) -> str:
    out = (tmp_path / "child.stdout").read_text(errors="replace")
    err = (tmp_path / "child.stderr").read_text(errors="replace")
    return f"--- child stdout ---\n{out[-2000:]}\n--- child stderr ---\n{err[-4000:]}"


def _wait_until_streaming(proc: subprocess.Popen[bytes], spool_dir: Path, tmp_path: Path) -> Spool:
    """Poll until the spool exists and holds STREAM_BEFORE_KILL_S of data chunks; return that snapshot."""
    deadline = time.monotonic() + START_TIMEOUT_S
    path: Path | None = None
    while path is None:
        assert proc.poll() is None, f"record exited early ({proc.returncode})\n{_child_output(tmp_path)}"
        assert time.monotonic() < deadline, f"no spool after {START_TIMEOUT_S} s\n{_child_output(tmp_path)}"
        time.sleep(POLL_S)
        path = _live_spool(spool_dir)
    deadline = time.monotonic() + START_TIMEOUT_S + STREAM_TIMEOUT_S
    while True:
        assert proc.poll() is None, f"record exited early ({proc.returncode})\n{_child_output(tmp_path)}"
        spool = read_spool(path)  # a live spool: may end in a half-written chunk, never raises for it
        times = _data_chunks(spool)
        if times and times[-1] - times[0] >= STREAM_BEFORE_KILL_S:
            return spool
        assert time.monotonic() < deadline, (
            f"spool did not grow to {STREAM_BEFORE_KILL_S} s of data ({len(times)} data chunks)\n"
            f"{_child_output(tmp_path)}"
        )
        time.sleep(POLL_S)


@pytest.mark.slow
def test_kill_9_during_record_leaves_a_readable_spool_that_syncs(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    spool_dir = home / "spool"
    env = {
        **os.environ,
        "HIPSYNC_HOME": str(home),
        "HIPSYNC_BLE": "virtual",
        "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
        "PYTHONUNBUFFERED": "1",
    }
    argv = [
        sys.executable,
        "-m",
        "hipsync.cli",
        "record",
        "--virtual",
        "polar-verity-sense",
        "--duration",
        "120",
    ]
    t_launch = time.monotonic()
    with (tmp_path / "child.stdout").open("wb") as out, (tmp_path / "child.stderr").open("wb") as err:
        # Its own session (process group), so the kill takes everything the command may have started.
        proc = subprocess.Popen(argv, cwd=REPO_ROOT, env=env, stdout=out, stderr=err, start_new_session=True)
    try:
        before = _wait_until_streaming(proc, spool_dir, tmp_path)
        path = before.path
        assert not before.finished and writer_alive(path)
        assert path not in finished_spools(spool_dir), "a live spool must not be offered for import"
        t_kill = time.monotonic()
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
    t_killed = time.monotonic()
    assert proc.returncode == -signal.SIGKILL, _child_output(tmp_path)

    # -- the file: unfinished, a valid prefix, and everything the snapshot held is still there ----------
    spool = read_spool(path)
    streamed_s = _check_the_killed_file(spool, before, path, t_kill)

    # -- the writer is gone (the kernel dropped its lock): the sync now offers the spool -----------------
    assert not writer_alive(path)
    assert finished_spools(spool_dir) == [path]

    # -- decoded: every streamed second but at most the last one, no gap, nothing twice ----------------
    rec = _check_decoded(spool, before, streamed_s)

    # -- imported into a fresh database, once ----------------------------------------------------------
    _check_imported_once(tmp_path / "fresh.duckdb", path, spool, rec.n_samples)

    print(
        f"record child: streaming after {before.chunks[0].host_time_s - t_launch:.1f} s, killed "
        f"{t_killed - t_kill:.2f} s after SIGKILL; {streamed_s:.1f} s streamed, {rec.n_samples} samples "
        f"({len(spool.chunks)} chunks, tail {spool.tail_bytes} B); test {time.monotonic() - t_launch:.1f} s"
    )


def _check_the_killed_file(spool: Spool, before: Spool, path: Path, t_kill: float) -> float:
    """The spool is unfinished, a valid prefix holding all the snapshot held; returns the seconds streamed."""
    assert not spool.finished and spool.end_host_time_s is None
    assert spool.valid_bytes + spool.tail_bytes == path.stat().st_size
    assert spool.valid_bytes >= before.valid_bytes
    assert spool.chunks[: len(before.chunks)] == before.chunks
    assert spool.events[: len(before.events)] == before.events
    assert spool.header == before.header and spool.header.profile == "polar-verity-sense"
    assert SpoolEventKind.CONNECTED in {e.kind for e in spool.events}
    assert not {e.kind for e in spool.events} & {SpoolEventKind.LOST, SpoolEventKind.STALLED}
    times = _data_chunks(spool)
    assert times == sorted(times)
    # Host receive times are CLOCK_MONOTONIC, shared with this process: the data ends before the kill.
    assert times[-1] <= t_kill
    streamed_s = times[-1] - times[0]
    assert streamed_s >= STREAM_BEFORE_KILL_S
    return streamed_s


def _check_decoded(spool: Spool, before: Spool, streamed_s: float) -> Recording:
    """Every streamed second but at most the last one, no gap, nothing twice; returns the recording."""
    decoded = decode_spool(spool)
    rec = decoded.recording
    fs_hz = decoded.fs_hz
    assert fs_hz == 52.0
    assert rec.n_samples >= (streamed_s - MAX_LOSS_S) * fs_hz, (rec.n_samples, streamed_s)
    assert rec.n_samples >= decode_spool(before).recording.n_samples
    assert decoded.gaps == () and rec.n_samples >= 0.99 * decoded.expected_samples
    assert decoded.malformed_chunks == 0
    assert decoded.duplicate_frames == 0 and decoded.duplicate_samples == 0
    assert np.all(np.diff(rec.time_s) > 0), "duplicated or unordered sample times"
    assert np.unique(decoded.acc.sensor_time_s).size == decoded.acc.sensor_time_s.size
    assert rec.gyro_dps is not None and np.isfinite(rec.gyro_dps).all() and np.isfinite(rec.accel_g).all()
    # The sensor-clock span agrees with the host's view of the stream (frames hold <= 0.5 s of samples).
    sensor_span_s = float(rec.time_s[-1] - rec.time_s[0])
    assert sensor_span_s >= streamed_s - MAX_LOSS_S
    return rec


def _check_imported_once(db: Path, path: Path, spool: Spool, n_samples: int) -> None:
    """The spool syncs into a fresh database with all its samples, a second sync skips it, the file stays."""
    res = sync_one_spool(db, path)
    assert res.status in ("analysed", "imported"), res
    assert res.n_samples == n_samples and res.source_path is not None
    with connect_readonly(db) as con:
        row = con.execute(
            "SELECT count(*) FROM samples JOIN sessions USING (session_key) WHERE session_id = ?",
            [res.session_id],
        ).fetchone()
    assert row == (n_samples,)
    assert sync_one_spool(db, path).status == "skipped"
    assert read_spool(path) == spool, "sync must never modify a spool"
