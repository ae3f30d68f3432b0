"""The recorder end to end: emulated sensors -> bumble link -> bleak (virtual backend) -> spool -> summary.

Everything is real: the GATT stack, the control-point exchanges, the spool files in tmp_path. Faults
(link drop, stall, malformed frames, refusal to start, a sensor that never advertises) are switched on in
the emulator while the recorder runs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import numpy as np
import pytest

from hipsync.records import Side
from ingest.ble.recorder import Backoff, LinkState, RecordSummary, RecordTarget, SensorStatus, record
from ingest.ble.virtual_backend import VirtualBleakClient, VirtualBleakScanner, current_world, reset_world
from ingest.emulator import EmulatedSensor, StillMotion, create_emulated_sensor
from ingest.errors import ControlPointError, SensorNotFoundError
from ingest.polar.constants import PmdStatus
from ingest.polar.control import start_request
from ingest.polar.settings import PmdSettings
from ingest.profiles import PMD_CONTROL_POINT_UUID
from ingest.spool.decode import decode_spool, spool_to_recording
from ingest.spool.format import SpoolEventKind
from ingest.spool.reader import read_spool


@pytest.fixture(autouse=True)
def _fresh_world() -> object:
    yield
    reset_world()


async def _start(profile: str, **kwargs: object) -> EmulatedSensor:
    world = await current_world()
    sensor = create_emulated_sensor(world, profile, **kwargs)  # type: ignore[arg-type]
    await sensor.start()
    return sensor


async def _record(
    sensors: list[EmulatedSensor],
    spool_dir: Path,
    *,
    duration_s: float,
    faults: Callable[[], Awaitable[None]] | None = None,
    **kwargs: object,
) -> list[RecordSummary]:
    targets = [RecordTarget(address=s.address, profile=s.profile.id, side=Side.LEFT) for s in sensors]  # type: ignore[attr-defined]
    task = asyncio.create_task(faults()) if faults is not None else None
    try:
        return await record(
            targets,
            spool_dir,
            duration_s=duration_s,
            scanner_backend=VirtualBleakScanner,
            client_backend=VirtualBleakClient,
            connect_timeout_s=kwargs.pop("connect_timeout_s", 3.0),  # type: ignore[arg-type]
            stall_timeout_s=kwargs.pop("stall_timeout_s", 1.0),  # type: ignore[arg-type]
            backoff=Backoff(initial_s=0.1, max_s=0.5),
            **kwargs,  # type: ignore[arg-type]
        )
    finally:
        if task is not None:
            await task
        for s in sensors:
            await s.stop()


def _assert_no_duplicates(summary: RecordSummary) -> None:
    decoded = decode_spool(read_spool(summary.spool))
    assert decoded.duplicate_samples == 0 and decoded.duplicate_frames == 0
    assert np.all(np.diff(decoded.acc.sensor_time_s) > 0)


@pytest.mark.parametrize("profile", ["polar-verity-sense", "polar-h10", "witmotion-wt901"])
async def test_every_profile_records_through_the_link(profile: str, tmp_path: Path) -> None:
    sensor = await _start(profile)
    statuses: list[list[SensorStatus]] = []
    [summary] = await _record(
        [sensor], tmp_path, duration_s=2.5, on_status=statuses.append, status_interval_s=0.2
    )
    assert summary.stop_reason == "duration" and summary.profile == profile
    assert summary.gaps == ()
    assert summary.samples >= 0.99 * summary.expected_samples
    fs = {"polar-verity-sense": 52, "polar-h10": 50, "witmotion-wt901": 50}[profile]
    assert summary.samples >= 1.2 * fs  # at least 1.2 s of data reached the spool
    spool = read_spool(summary.spool)
    assert spool.finished and not spool.truncated_tail
    assert spool.header.profile == profile and spool.header.side == "left"
    recording = spool_to_recording(spool)
    assert recording.n_samples == summary.samples
    assert recording.fs_hz == fs
    assert recording.has_gyro == (profile != "polar-h10")
    # The built-in leg raises: gravity magnitude ~1 g at every sample.
    assert np.linalg.norm(recording.accel_g, axis=1) == pytest.approx(1.0, abs=0.01)
    assert any(s[0].state == LinkState.STREAMING and s[0].samples > 0 for s in statuses)
    assert statuses[-1][0].state == LinkState.STOPPED


async def test_two_sensors_at_once(tmp_path: Path) -> None:
    verity = await _start("polar-verity-sense")
    h10 = await _start("polar-h10")
    summaries = await _record([verity, h10], tmp_path, duration_s=2.5)
    assert [s.profile for s in summaries] == ["polar-verity-sense", "polar-h10"]
    assert len({s.spool for s in summaries}) == 2
    for s in summaries:
        assert s.gaps == () and s.samples >= 0.99 * s.expected_samples > 0


async def test_link_drop_reconnects_records_the_gap_and_never_duplicates(tmp_path: Path) -> None:
    sensor = await _start("polar-h10")

    async def faults() -> None:
        await asyncio.sleep(1.2)
        await sensor.drop_link(offline_s=0.5)

    [summary] = await _record([sensor], tmp_path, duration_s=3.5, faults=faults)
    assert summary.reconnects == 1 and summary.stop_reason == "duration"
    assert len(summary.gaps) == 1
    gap = summary.gaps[0]
    assert gap.end_s - gap.start_s >= 0.5  # at least the time the sensor was away
    assert summary.samples < summary.expected_samples  # the gap's samples are missing, not invented
    _assert_no_duplicates(summary)
    kinds = [e.kind for e in read_spool(summary.spool).events]
    assert SpoolEventKind.LOST in kinds and SpoolEventKind.RECONNECTED in kinds


async def test_stream_left_running_by_a_previous_host_is_restarted(tmp_path: Path) -> None:
    """A START without STOP before the host vanished: the sensor keeps streaming (doc §1.10)."""
    from bleak import BleakClient

    sensor = await _start("polar-verity-sense")
    async with BleakClient(sensor.address, backend=VirtualBleakClient) as client:
        got: list[bytes] = []
        await client.start_notify(PMD_CONTROL_POINT_UUID, lambda _c, d: got.append(bytes(d)))
        settings = PmdSettings.selected(sample_rate_hz=52, resolution_bits=16, range_=8, channels=3)
        await client.write_gatt_char(PMD_CONTROL_POINT_UUID, start_request(2, settings), response=True)
        await asyncio.sleep(0.1)
    assert 2 in sensor.streams  # type: ignore[attr-defined]
    [summary] = await _record([sensor], tmp_path, duration_s=2.5)
    assert summary.stop_reason == "duration" and summary.samples > 52
    assert summary.gaps == ()


async def test_stalled_stream_is_treated_as_link_loss(tmp_path: Path) -> None:
    sensor = await _start("polar-verity-sense")

    async def faults() -> None:
        await asyncio.sleep(1.2)
        sensor.stall()

    [summary] = await _record([sensor], tmp_path, duration_s=4.3, faults=faults)
    assert summary.reconnects == 1
    assert len(summary.gaps) == 1
    kinds = [e.kind for e in read_spool(summary.spool).events]
    assert SpoolEventKind.STALLED in kinds
    _assert_no_duplicates(summary)


async def test_malformed_frames_are_counted_and_skipped(tmp_path: Path) -> None:
    sensor = await _start("polar-h10")

    async def faults() -> None:
        await asyncio.sleep(1.0)
        sensor.inject_malformed(3)

    [summary] = await _record([sensor], tmp_path, duration_s=2.5, faults=faults)
    assert summary.malformed_notifications == 3 == sensor.malformed_sent
    assert summary.gaps == () and summary.reconnects == 0
    assert summary.samples >= 0.99 * summary.expected_samples
    # Samples kept arriving after the malformed frames.
    decoded = decode_spool(read_spool(summary.spool))
    assert decoded.recording.time_s[-1] > 1.5


async def test_refusal_to_start_is_a_clear_error(tmp_path: Path) -> None:
    sensor = await _start("polar-verity-sense")
    sensor.faults.refuse_start_status = PmdStatus.DEVICE_IN_CHARGER
    with pytest.raises(ControlPointError) as info:
        await _record([sensor], tmp_path, duration_s=2.0)
    assert info.value.status == PmdStatus.DEVICE_IN_CHARGER
    assert "DEVICE_IN_CHARGER" in str(info.value)
    assert list(tmp_path.glob("*.spool")) == []


async def test_sensor_that_never_appears(tmp_path: Path) -> None:
    present = await _start("polar-verity-sense")
    sensor = await _start("polar-h10", advertise=False)
    with pytest.raises(SensorNotFoundError) as info:
        await _record([present, sensor], tmp_path, duration_s=2.0, connect_timeout_s=1.0)
    assert sensor.address in str(info.value) and "not found" in str(info.value)
    assert info.value.target == sensor.address
    # Nothing was recorded, not even for the sensor that was there; and it was told to stop streaming.
    assert list(tmp_path.glob("*.spool")) == []
    assert present.streams == {}  # type: ignore[attr-defined]


async def test_record_reads_the_callers_stop_event_but_never_sets_it(tmp_path: Path) -> None:
    sensor = await _start("polar-verity-sense")
    untouched = asyncio.Event()
    (summary,) = await _record([sensor], tmp_path, duration_s=1.0, stop_event=untouched)
    assert summary.stop_reason == "duration" and not untouched.is_set()
    # and setting it does stop a recording that would otherwise run for a minute
    sensor = await _start("polar-verity-sense")
    stop = asyncio.Event()
    asyncio.get_running_loop().call_later(1.5, stop.set)
    (summary,) = await _record([sensor], tmp_path, duration_s=60.0, stop_event=stop)
    assert summary.stop_reason == "stopped" and summary.samples > 0


async def test_until_idle_stops_a_still_sensor(tmp_path: Path) -> None:
    sensor = await _start("polar-h10", motion=StillMotion())
    [summary] = await _record([sensor], tmp_path, duration_s=20.0, until_idle_min=1.5 / 60)
    assert summary.stop_reason == "idle"
    assert summary.samples < 50 * 10  # far less than the 20 s limit


@pytest.mark.slow
async def test_a_simulated_session_arrives_sample_for_sample(tmp_path: Path) -> None:
    """Replay the simulator's arrays through the whole stack and compare the spool with the source."""
    from ingest.emulator import simulated_motion

    motion = simulated_motion(3)
    sensor = await _start("polar-verity-sense", motion=motion)
    start_s = sensor.clock.start_s
    [summary] = await _record([sensor], tmp_path, duration_s=2.5)
    decoded = decode_spool(read_spool(summary.spool))
    acc_expected = motion.sample(decoded.acc.sensor_time_s - start_s)[0]
    assert np.max(np.abs(decoded.acc.values - acc_expected)) < 0.0011  # 1 mG quantisation
    assert decoded.gyro is not None
    gyro_at = motion.sample(decoded.gyro.sensor_time_s - start_s)[1]
    assert np.max(np.abs(decoded.gyro.values - gyro_at)) < 2000 / 32768 + 1e-9
    assert summary.gaps == () and summary.samples == summary.expected_samples
