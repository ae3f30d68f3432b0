"""Sensor clock steps (issue 19, item 2): the frames after a step are kept, duplicates still caught.

A Polar sensor's clock is whatever its phone app last set, and an H10 falls back to 2019-01-01 when its
battery is changed (doc §1.8). Before, the recorder dropped every frame not newer than the last one
written, so a clock set back 30 s cost 30 s of data and a reset cost the rest of the session. Now a new
frame with an older timestamp is a ``clock_step`` event in the spool and is kept; the decoder moves the
frames after the step onto the first clock by the host clock; a re-sent frame (the same bytes) is still
dropped.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ingest.emulator.spools import EmulatedSpoolFaults, write_emulated_spool
from ingest.spool.decode import decode_spool
from ingest.spool.format import TIME_FIELD, ChunkType, SpoolEventKind, spool_bytes
from ingest.spool.reader import read_spool, spool_parts


@pytest.mark.parametrize("step_s", [-30.0, -3600.0, -7 * 365 * 86400.0, 3600.0])
@pytest.mark.parametrize("profile", ["polar-verity-sense", "polar-h10"])
def test_spool_with_a_clock_step_decodes_every_sample(tmp_path: Path, profile: str, step_s: float) -> None:
    path = write_emulated_spool(
        tmp_path / "s.spool", profile, seconds=12, faults=EmulatedSpoolFaults(clock_step=(5.0, step_s))
    )
    decoded = decode_spool(read_spool(path))
    fs = decoded.fs_hz
    assert fs is not None
    assert decoded.recording.n_samples == decoded.expected_samples == round(12 * fs)
    assert decoded.duplicate_samples == 0 and decoded.gaps == ()
    steps = np.diff(decoded.recording.time_s)
    assert steps.min() > 0.5 / fs and steps.max() < 1.5 / fs  # one clock, no seam


async def test_recorder_keeps_every_frame_after_the_clock_steps_back(recorder: Any) -> None:
    sensor = await recorder.sensor("polar-verity-sense")

    async def script() -> None:
        await asyncio.sleep(1.5)
        sensor.step_clock(-30.0)  # the auditor's Verity: 82 of 82 samples kept, 26 frames dropped

    [summary] = await recorder.record([sensor], duration_s=4.5, script=script)
    assert summary.stop_reason == "duration" and summary.duplicates_dropped == 0
    assert summary.clock_steps == 2  # ACC and GYRO each saw it
    assert summary.samples == summary.received_samples  # everything the sensor sent is in the spool
    assert summary.samples >= 3.5 * 52 and summary.gaps == ()
    spool = read_spool(summary.spool)
    steps = [e for e in spool.events if e.kind == SpoolEventKind.CLOCK_STEP]
    assert {e.details["stream"] for e in steps} == {"acc", "gyro"}
    assert all(-31.0 < e.details["step_s"] < -29.0 for e in steps)
    decoded = decode_spool(spool)
    assert decoded.recording.n_samples == summary.samples and decoded.duplicate_samples == 0
    assert np.all(np.diff(decoded.recording.time_s) > 0)
    assert decoded.recording.time_s[-1] > 3.0  # the samples after the step are on the recording's axis


async def test_h10_reset_across_a_reconnect_is_kept_and_the_gap_recorded(recorder: Any) -> None:
    sensor = await recorder.sensor("polar-h10")

    async def script() -> None:
        await asyncio.sleep(1.5)
        await sensor.drop_link(offline_s=0.6)
        sensor.step_clock(-3600.0)  # the auditor's H10: reset by an hour while away, 12 frames dropped

    [summary] = await recorder.record([sensor], duration_s=5.0, script=script)
    assert summary.reconnects == 1 and summary.clock_steps == 1
    assert summary.samples == summary.received_samples
    assert len(summary.gaps) == 1 and summary.gaps[0].end_s - summary.gaps[0].start_s >= 0.5
    decoded = decode_spool(read_spool(summary.spool))
    assert np.all(np.diff(decoded.recording.time_s) > 0)
    assert decoded.recording.time_s[-1] > 3.5


def _later_after_the_step(path: Path, delay_s: float) -> None:
    """Deliver every frame after the clock step ``delay_s`` later (a slower link then): same samples."""
    head, chunks = spool_parts(path.read_bytes())
    out, stepped = [], False
    for ctype, body in chunks:
        stepped = stepped or (ctype == ChunkType.EVENT and b"clock_step" in body)
        if stepped and ctype == ChunkType.DATA:
            body = TIME_FIELD.pack(TIME_FIELD.unpack_from(body)[0] + delay_s) + body[TIME_FIELD.size :]
        out.append((ctype, body))
    path.write_bytes(spool_bytes(head, out))


def test_samples_join_across_a_step_whatever_the_link_delay_and_a_real_gap_stays(tmp_path: Path) -> None:
    steady = write_emulated_spool(
        tmp_path / "a.spool", "polar-h10", seconds=12, faults=EmulatedSpoolFaults(clock_step=(5.0, -30.0))
    )
    _later_after_the_step(steady, 0.3)  # the host clock alone would open a 0.3 s gap at the step
    decoded = decode_spool(read_spool(steady))
    assert decoded.recording.n_samples == 600 and decoded.duplicate_samples == 0 and decoded.gaps == ()
    np.testing.assert_allclose(np.diff(decoded.recording.time_s), 1 / 50, atol=1e-6)
    lossy = write_emulated_spool(
        tmp_path / "b.spool",
        "polar-h10",
        seconds=12,
        faults=EmulatedSpoolFaults(drop_s=(4.0, 2.0), clock_step=(5.0, -30.0)),  # the step while away
    )
    decoded = decode_spool(read_spool(lossy))
    [(start, end)] = decoded.gaps
    assert 3.9 < start < 4.1 and 1.9 < end - start < 2.2  # where the host clock saw it, as long
    assert decoded.recording.n_samples == 500 and decoded.expected_samples == 600
