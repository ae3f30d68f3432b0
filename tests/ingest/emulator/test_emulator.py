"""Emulated sensors, exercised through bleak's public API over the bumble link (no mocks).

Control-point byte vectors come from ../shared/reference/ble-sensor-protocols.md §1.3.4 (Polar's own
examples); frames are decoded with the project's codecs and compared with the motion source.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import numpy as np
import pytest
from bleak import BleakClient, BleakScanner

from ingest.ble.virtual_backend import VirtualBleakClient, VirtualBleakScanner, current_world, reset_world
from ingest.emulator import (
    ArrayMotionSource,
    EmulatedPolarSensor,
    EmulatedSensor,
    LegRaiseMotion,
    StillMotion,
    create_emulated_sensor,
    emulated_address,
)
from ingest.polar.constants import FRAME_HEADER_BYTES, PmdStatus
from ingest.polar.control import PmdResponse, get_settings_request, start_request, stop_request
from ingest.polar.decode import PmdStreamDecoder
from ingest.polar.settings import PmdSettings
from ingest.profiles import (
    PMD_CONTROL_POINT_UUID,
    PMD_DATA_UUID,
    WITMOTION_COMMAND_UUID,
    WITMOTION_DATA_UUID,
    match_advertisement,
)
from ingest.witmotion.control import Register, output_rate_command, read_register_command, set_rate_commands
from ingest.witmotion.decode import decode_witmotion
from ingest.witmotion.formats import PACKET_BYTES


@pytest.fixture(autouse=True)
def _fresh_world() -> object:
    yield
    reset_world()


async def _sensor(profile: str, **kwargs: object) -> EmulatedSensor:
    world = await current_world()
    sensor = create_emulated_sensor(world, profile, **kwargs)  # type: ignore[arg-type]
    await sensor.start()
    return sensor


class _Pmd:
    """A minimal PMD client on a BleakClient: request/response through indications."""

    def __init__(self, client: BleakClient) -> None:
        self.client = client
        self.responses: asyncio.Queue[bytes] = asyncio.Queue()
        self.frames: list[bytes] = []

    async def subscribe(self) -> None:
        await self.client.start_notify(
            PMD_CONTROL_POINT_UUID, lambda _c, d: self.responses.put_nowait(bytes(d))
        )
        await self.client.start_notify(PMD_DATA_UUID, lambda _c, d: self.frames.append(bytes(d)))

    async def request(self, payload: bytes) -> bytes:
        await self.client.write_gatt_char(PMD_CONTROL_POINT_UUID, payload, response=True)
        return await asyncio.wait_for(self.responses.get(), 5)


@pytest.fixture
async def verity() -> AsyncIterator[tuple[EmulatedSensor, _Pmd]]:
    sensor = await _sensor("polar-verity-sense")
    async with BleakClient(sensor.address, backend=VirtualBleakClient, timeout=5) as client:
        pmd = _Pmd(client)
        await pmd.subscribe()
        yield sensor, pmd
    await sensor.stop()


@pytest.fixture
async def h10() -> AsyncIterator[tuple[EmulatedSensor, _Pmd]]:
    sensor = await _sensor("polar-h10")
    async with BleakClient(sensor.address, backend=VirtualBleakClient, timeout=5) as client:
        pmd = _Pmd(client)
        await pmd.subscribe()
        yield sensor, pmd
    await sensor.stop()


# -- motion sources --------------------------------------------------------------------------------


def test_array_motion_source_interpolates_and_loops() -> None:
    t = np.array([0.0, 1.0, 2.0])
    acc = np.array([[0.0, 0, 1], [1.0, 0, 1], [2.0, 0, 1]])
    src = ArrayMotionSource(t + 10.0, acc, None)  # any time origin
    a, g = src.sample(np.array([0.5, 1.5, 2.5, 3.5]))
    # Period 3 s: 2.5 s lies on the seam (half way from the last sample back to the first), 3.5 s wraps.
    assert a[:, 0] == pytest.approx([0.5, 1.5, 1.0, 0.5])
    assert np.all(g == 0)
    held = ArrayMotionSource(t, acc, loop=False).sample(np.array([5.0]))[0]
    assert held[0, 0] == pytest.approx(2.0)


def test_array_motion_source_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="increasing"):
        ArrayMotionSource([0.0, 0.0, 1.0], np.zeros((3, 3)))
    with pytest.raises(ValueError, match="shape"):
        ArrayMotionSource([0.0, 1.0], np.zeros((2, 2)))


def test_leg_raise_gyro_is_the_derivative_of_the_angle() -> None:
    motion = LegRaiseMotion()
    t = np.linspace(0, 2 * motion.period_s, 4001)
    acc, gyr = motion.sample(t)
    ang, _ = motion.angle_deg(t)
    numeric = np.gradient(ang, t)
    assert np.max(np.abs(numeric - gyr[:, 0])) < 0.5  # deg/s, finite-difference error only
    assert np.linalg.norm(acc, axis=1) == pytest.approx(np.ones(t.size))
    assert ang.max() == pytest.approx(motion.amplitude_deg, abs=0.01)


# -- advertising -----------------------------------------------------------------------------------


async def test_every_profile_advertises_a_recognisable_name() -> None:
    sensors = [await _sensor(p) for p in ("polar-verity-sense", "polar-h10", "witmotion-wt901")]
    found = await BleakScanner.discover(timeout=0.5, return_adv=True, backend=VirtualBleakScanner)
    profiles = {}
    for device, adv in found.values():
        profile = match_advertisement(adv.local_name, adv.service_uuids)
        profiles[device.address] = None if profile is None else profile.id
    assert profiles == {
        emulated_address("polar-verity-sense"): "polar-verity-sense",
        emulated_address("polar-h10"): "polar-h10",
        emulated_address("witmotion-wt901"): "witmotion-wt901",
    }
    for s in sensors:
        await s.stop()


async def test_a_sensor_that_never_advertises_is_not_found() -> None:
    sensor = await _sensor("polar-h10", advertise=False)
    device = await BleakScanner.find_device_by_address(
        sensor.address, timeout=0.5, backend=VirtualBleakScanner
    )
    assert device is None
    await sensor.stop()


# -- Polar control point ---------------------------------------------------------------------------


async def test_verity_control_point_matches_polar_examples(verity: tuple[EmulatedSensor, _Pmd]) -> None:
    _, pmd = verity
    features = await pmd.client.read_gatt_char(PMD_CONTROL_POINT_UUID)
    assert bytes(features[:3]) == bytes.fromhex("0F6E02") and len(features) == 17
    # doc §1.3.4: Verity (normal mode) GET ACC settings response.
    assert await pmd.request(get_settings_request(2)) == bytes.fromhex(
        "F0 01 02 00 00 00 01 34 00 01 01 10 00 02 01 08 00 04 01 03"
    )
    # doc §1.3.4: Verity START ACC 52 Hz / 16 bit / 8 g / 3 ch; later firmware answers without factor.
    start = bytes.fromhex("02 02 00 01 34 00 01 01 10 00 02 01 08 00 04 01 03")
    assert await pmd.request(start) == bytes.fromhex("F0 02 02 00 00")
    # Started twice: ALREADY_IN_STATE, as after a host restart (doc §1.10).
    assert await pmd.request(start) == bytes.fromhex("F0 02 02 06 00")
    assert await pmd.request(stop_request(2)) == bytes.fromhex("F0 03 02 00 00")
    assert PmdResponse.from_bytes(await pmd.request(stop_request(2))).status == PmdStatus.INVALID_STATE


async def test_h10_control_point_matches_polar_examples(h10: tuple[EmulatedSensor, _Pmd]) -> None:
    _, pmd = h10
    assert bytes((await pmd.client.read_gatt_char(PMD_CONTROL_POINT_UUID))[:3]) == bytes.fromhex("0F0500")
    assert await pmd.request(get_settings_request(2)) == bytes.fromhex(
        "F0 01 02 00 00 00 04 19 00 32 00 64 00 C8 00 01 01 10 00 02 03 02 00 04 00 08 00"
    )
    # The H10 rejects a START that leaves out an offered setting (doc §1.10).
    no_resolution = start_request(2, PmdSettings.selected(sample_rate_hz=200, range_=8))
    assert await pmd.request(no_resolution) == bytes.fromhex("F0 02 02 05 00")
    bad_rate = start_request(2, PmdSettings.selected(sample_rate_hz=52, resolution_bits=16, range_=8))
    assert await pmd.request(bad_rate) == bytes.fromhex("F0 02 02 08 00")
    bad_range = start_request(2, PmdSettings.selected(sample_rate_hz=200, resolution_bits=16, range_=16))
    assert await pmd.request(bad_range) == bytes.fromhex("F0 02 02 09 00")
    # doc §1.3.4: H10 START ACC 8 g / 200 Hz / 16 bit, answered with the reserved trailing byte.
    assert await pmd.request(bytes.fromhex("02 02 02 01 08 00 00 01 C8 00 01 01 10 00")) == bytes.fromhex(
        "F0 02 02 00 00 01"
    )
    assert await pmd.request(bytes.fromhex("02 05")) == bytes.fromhex("F0 02 05 03 00")  # no gyro on an H10


async def test_refuse_to_start_and_sdk_mode(verity: tuple[EmulatedSensor, _Pmd]) -> None:
    sensor, pmd = verity
    sensor.faults.refuse_start_status = PmdStatus.DEVICE_IN_CHARGER
    sensor.faults.refuse_start_times = 1
    acc_208 = start_request(
        2, PmdSettings.selected(sample_rate_hz=208, resolution_bits=16, range_=8, channels=3)
    )
    assert await pmd.request(acc_208) == bytes.fromhex("F0 02 02 0D 00")
    # 208 Hz needs SDK mode.
    assert await pmd.request(acc_208) == bytes.fromhex("F0 02 02 08 00")
    assert await pmd.request(start_request(9)) == bytes.fromhex("F0 02 09 00 00")
    response = PmdResponse.from_bytes(await pmd.request(get_settings_request(2)))
    assert response.settings().sample_rates_hz == (26, 52, 104, 208, 416)
    assert await pmd.request(acc_208) == bytes.fromhex("F0 02 02 00 00")
    # Leaving SDK mode while a stream runs is refused.
    assert await pmd.request(stop_request(9)) == bytes.fromhex("F0 03 09 0C 00")


# -- Polar data frames -----------------------------------------------------------------------------


async def test_verity_frames_fit_the_mtu_use_wide_deltas_and_carry_the_motion(
    verity: tuple[EmulatedSensor, _Pmd],
) -> None:
    sensor, pmd = verity
    settings = PmdSettings.selected(sample_rate_hz=52, resolution_bits=16, range_=8, channels=3)
    assert (await pmd.request(start_request(2, settings)))[3] == 0
    gyro_settings = PmdSettings.selected(sample_rate_hz=52, resolution_bits=16, range_=2000, channels=3)
    gyro_factor = PmdResponse.from_bytes(await pmd.request(start_request(5, gyro_settings))).settings().factor
    assert gyro_factor == pytest.approx(2000 / 32768)
    await asyncio.sleep(2.5)
    assert pmd.frames
    decoders = {
        2: PmdStreamDecoder(2, sample_rate_hz=52),
        5: PmdStreamDecoder(5, sample_rate_hz=52, factor=gyro_factor),
    }
    mtu_payload = pmd.client.mtu_size - 3
    for frame in pmd.frames:
        assert len(frame) <= mtu_payload
        assert frame[9] in (0x81, 0x80)  # ACC compressed type 1, GYRO compressed type 0
        pos = FRAME_HEADER_BYTES + 6
        while pos < len(frame):  # every delta block is at least 2 bits wide
            width, count = frame[pos], frame[pos + 1]
            assert width >= 2
            pos += 2 + (width * count * 3 + 7) // 8
        assert pos == len(frame)
        decoded = decoders[frame[0]].decode(frame)
        t = decoded.block.sensor_time_s - sensor.clock.start_s
        acc, gyr = sensor.motion.sample(t)
        expected = acc if frame[0] == 2 else gyr
        tol = 0.0011 if frame[0] == 2 else 0.07  # one LSB: 1 mG, 2000/32768 deg/s
        assert np.max(np.abs(decoded.block.values - expected)) < tol
    acc_ts = [int.from_bytes(f[1:9], "little") for f in pmd.frames if f[0] == 2]
    assert acc_ts == sorted(acc_ts) and len(set(acc_ts)) == len(acc_ts)


async def test_h10_frames_fill_its_232_byte_mtu(h10: tuple[EmulatedSensor, _Pmd]) -> None:
    _, pmd = h10
    assert pmd.client.mtu_size == 232
    settings = PmdSettings.selected(sample_rate_hz=200, resolution_bits=16, range_=8)
    await pmd.request(start_request(2, settings))
    await asyncio.sleep(1.0)
    sizes = {len(f) for f in pmd.frames}
    assert sizes == {226}  # 10-byte header + 36 samples x 6 bytes (doc §1.5)
    assert all(f[9] == 0x01 for f in pmd.frames)


async def test_stall_withholds_frames_until_restart(h10: tuple[EmulatedSensor, _Pmd]) -> None:
    sensor, pmd = h10
    settings = PmdSettings.selected(sample_rate_hz=200, resolution_bits=16, range_=8)
    await pmd.request(start_request(2, settings))
    await asyncio.sleep(0.5)
    sensor.stall()
    await asyncio.sleep(0.05)
    n = len(pmd.frames)
    await asyncio.sleep(0.6)
    assert len(pmd.frames) == n and pmd.client.is_connected
    await pmd.request(stop_request(2))
    await pmd.request(start_request(2, settings))
    await asyncio.sleep(0.6)
    assert len(pmd.frames) > n


async def test_malformed_frames_are_sent_alongside_good_ones(h10: tuple[EmulatedSensor, _Pmd]) -> None:
    sensor, pmd = h10
    await pmd.request(
        start_request(2, PmdSettings.selected(sample_rate_hz=200, resolution_bits=16, range_=8))
    )
    sensor.inject_malformed(2)
    await asyncio.sleep(0.8)
    decoder = PmdStreamDecoder(2, sample_rate_hz=200)
    bad = 0
    for frame in pmd.frames:
        try:
            decoder.decode(frame)
        except ValueError:
            bad += 1
    assert bad == 2 == sensor.malformed_sent
    assert len(pmd.frames) > 2


# -- WitMotion -------------------------------------------------------------------------------------


async def test_witmotion_streams_packs_and_obeys_unlocked_rate_commands() -> None:
    sensor = await _sensor("witmotion-wt901", motion=StillMotion((0.0, 0.0, 1.0)))
    async with BleakClient(sensor.address, backend=VirtualBleakClient, timeout=5) as client:
        got: list[bytes] = []
        await client.start_notify(WITMOTION_DATA_UUID, lambda _c, d: got.append(bytes(d)))
        # Locked: the rate write is ignored, the read-back says 10 Hz (code 0x06).
        await client.write_gatt_char(WITMOTION_COMMAND_UUID, output_rate_command(100.0), response=False)
        await client.write_gatt_char(
            WITMOTION_COMMAND_UUID, read_register_command(Register.RATE), response=True
        )
        await asyncio.sleep(0.3)
        for cmd in set_rate_commands(100.0):
            await client.write_gatt_char(WITMOTION_COMMAND_UUID, cmd, response=True)
        got.clear()
        await asyncio.sleep(1.0)
    await sensor.stop()
    batches = [decode_witmotion(g) for g in got]
    regs = [r for b in batches for r in b.registers]
    assert regs and regs[0].start_register == Register.RATE and regs[0].values[0] == 0x09  # 100 Hz
    samples = sum(b.n_samples for b in batches)
    assert 80 <= samples <= 120  # ~1 s at 100 Hz
    assert max(len(g) for g in got) > PACKET_BYTES  # several packets per notification
    acc = np.concatenate([b.accel_g for b in batches if b.n_samples])
    assert acc[:, 2] == pytest.approx(1.0, abs=1e-3)


async def test_drop_link_closes_from_the_sensor_side(verity: tuple[EmulatedSensor, _Pmd]) -> None:
    sensor, pmd = verity
    assert isinstance(sensor, EmulatedPolarSensor)
    await sensor.drop_link()
    for _ in range(50):
        if not pmd.client.is_connected:
            break
        await asyncio.sleep(0.02)
    assert not pmd.client.is_connected
    assert sensor.links_dropped == 1
