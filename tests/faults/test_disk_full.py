"""A full disk while recording (issue 19, item 1): stop cleanly, say why, keep the spool, count honestly.

Before, ``_consume()`` died on the writer's ``OSError``, ``record()`` dropped the exception, the summary
took ``expected_samples`` from the spool itself (572 of 572: "100 %"), the command exited 0, and the
notification queue grew without bound. Two ways to fill the disk: a fault-injecting writer (a byte
budget, then a partial write and ``ENOSPC``, as a full disk does; always runs) and a real 300 KB tmpfs
filled while ``hipsync record`` runs (needs the right to mount; skipped with the reason otherwise).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import ingest.ble.recorder as recorder_module
import ingest.spool.writer as writer_module
from flows.imports import sync_one_spool
from hipsync.cli import app
from hipsync.records import Side
from ingest.ble.recorder import Backoff, RecordTarget, _Session
from ingest.errors import SpoolWriteError
from ingest.spool.decode import decode_spool
from ingest.spool.reader import read_spool

REPO_ROOT = Path(__file__).resolve().parents[2]


def _disk_with_room(monkeypatch: pytest.MonkeyPatch, room_bytes: int) -> None:
    """The spool writer's disk takes ``room_bytes`` more, then writes part of a chunk and says ENOSPC."""
    real = writer_module._write_all
    left = [room_bytes]

    def write_all(fd: int, data: bytes) -> None:
        if len(data) > left[0]:
            real(fd, data[: left[0]])
            left[0] = 0
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        left[0] -= len(data)
        real(fd, data)

    monkeypatch.setattr(writer_module, "_write_all", write_all)


async def test_full_disk_stops_the_recording_with_the_reason(
    recorder: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _disk_with_room(monkeypatch, 1500)  # the header and ~2.5 s of a Verity's frames
    sensor = await recorder.sensor("polar-verity-sense")
    t0 = time.monotonic()
    [summary] = await recorder.record([sensor], duration_s=30.0)
    assert time.monotonic() - t0 < 20.0, "the recording must stop when the disk is full, not run on"
    assert summary.stop_reason == "failed"
    assert summary.error is not None and "No space left on device" in summary.error
    assert str(summary.spool) in summary.error and "\n" not in summary.error
    # Counted from what the sensor sent, not from what reached the spool (equal only when the write that
    # failed held no ACC samples and nothing else was queued).
    assert summary.samples <= summary.expected_samples and summary.samples <= summary.received_samples
    assert summary.samples > 52
    spool = read_spool(summary.spool)
    assert not spool.truncated_tail  # the partial chunk was cut off: readable to the last whole chunk
    decoded = decode_spool(spool)
    assert decoded.recording.n_samples == summary.samples
    assert summary.expected_samples - decoded.expected_samples == summary.received_samples - summary.samples
    res = sync_one_spool(recorder.spool_dir.parent / "db.duckdb", summary.spool)
    assert res.status in ("analysed", "imported") and res.n_samples == summary.samples


async def test_no_room_for_the_spool_records_nothing(recorder: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    _disk_with_room(monkeypatch, 0)
    sensor = await recorder.sensor("polar-h10")
    with pytest.raises(SpoolWriteError) as err:
        await recorder.record([sensor], duration_s=5.0)
    assert err.value.errno == errno.ENOSPC and "No space left on device" in str(err.value)
    assert list(recorder.spool_dir.iterdir()) == []  # not even a temporary file
    assert sensor.streams == {}  # type: ignore[attr-defined]  # and the sensor was told to stop


async def test_the_notification_queue_is_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(recorder_module, "QUEUE_MAX_NOTIFICATIONS", 5)
    session = _Session(
        RecordTarget(address="E0:9E:1A:00:00:01", profile="polar-h10", side=Side.LEFT),
        tmp_path,
        scanner_backend=None,
        client_backend=None,
        connect_timeout_s=1.0,
        stall_timeout_s=1.0,
        backoff=Backoff(),
        stop=asyncio.Event(),
    )
    for i in range(8):  # nobody consumes: a writer stuck on a hung disk
        session._on_data(None, bytearray([2, i]))
    assert session.queue.qsize() == 5 and session.live.dropped == 3


@contextlib.contextmanager
def _small_tmpfs(where: Path, size: str = "300k") -> Iterator[Path]:
    where.mkdir()
    try:
        mounted = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(where)],
            capture_output=True,
            text=True,
        )
    except FileNotFoundError:
        pytest.skip("no mount command here: the tmpfs case needs it (the fault-injecting writer runs anyway)")
    if mounted.returncode != 0:
        pytest.skip(
            f"mounting a tmpfs is not permitted here ({mounted.stderr.strip()}); it needs root or "
            "CAP_SYS_ADMIN. The fault-injecting writer tests cover the same path."
        )
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def _fill(directory: Path) -> None:
    """Write a file until the file system is full."""
    with (directory / "filler").open("wb", buffering=0) as f, contextlib.suppress(OSError):
        while True:
            f.write(b"\0" * 4096)


@pytest.mark.slow
def test_hipsync_record_on_a_full_tmpfs(tmp_path: Path, spool_with_data: Any) -> None:
    with _small_tmpfs(tmp_path / "small") as small:
        home = small / "home"
        env = {
            **os.environ,
            "HIPSYNC_HOME": str(home),
            "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]),
        }
        argv = [sys.executable, "-m", "hipsync.cli", "record", "--virtual", "polar-verity-sense"]
        pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE}
        proc = subprocess.Popen(
            [*argv, "--duration", "90", "--json"], cwd=REPO_ROOT, env=env, text=True, **pipes
        )
        try:
            spool = spool_with_data(home / "spool", proc)
            _fill(small)
            out, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
        assert proc.returncode == 1, err
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error:") and "No space left on device" in lines[0], (
            err
        )
        summary = json.loads(out)
        assert summary["stop_reason"] == "failed" and summary["error"] in lines[0]
        assert (
            summary["samples"] <= summary["expected_samples"]
            and summary["samples"] <= summary["received_samples"]
        )
        (small / "filler").unlink()
        kept = tmp_path / "kept.spool"
        shutil.copyfile(spool, kept)
    readable = read_spool(kept)
    assert not readable.truncated_tail
    assert decode_spool(readable).recording.n_samples == summary["samples"]


@pytest.mark.parametrize("mode", ["--json", "--live"])
def test_hipsync_record_exits_1_with_one_line_when_the_disk_fills(
    hipsync_home: Path, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    """The command's side of item 1, wherever a tmpfs cannot be mounted: exit 1, the reason in one line,
    the summary counting what the sensor sent, the spool readable (with the live view watching, too)."""
    _disk_with_room(monkeypatch, 1500)
    argv = ["record", "--virtual", "polar-verity-sense", "--duration", "30", mode]
    t0 = time.monotonic()
    r = CliRunner().invoke(app, argv)
    assert time.monotonic() - t0 < 25.0, "the recording must stop when the disk is full, not run on"
    assert r.exit_code == 1 and "Traceback" not in r.output, r.output
    [line] = r.stderr.strip().splitlines()
    assert line.startswith("error:") and "No space left on device" in line, r.stderr
    [spool] = (hipsync_home / "spool").glob("*.spool")
    assert str(spool) in line
    readable = read_spool(spool)
    assert not readable.truncated_tail
    written = decode_spool(readable).recording.n_samples
    if mode == "--json":
        summary = json.loads(r.stdout)
        assert summary["stop_reason"] == "failed" and summary["error"] in line
        assert summary["samples"] == written and written <= summary["received_samples"]
    else:
        assert f"{written} of " in r.stdout and "stopped: failed" in r.stdout, r.stdout
