"""BLE streaming through the virtual stack: 10 sensor-clock minutes of two sensors, ACC + GYRO, zero loss.

Run with ``uv run python -m benchmarks ble_stream``.

1. Baseline: raw notification throughput of bumble alone (a bumble GATT client subscribed to a bumble
   server on one ``LocalLink``), next to the same notifications received through bleak's public API with
   hipsync's virtual backend: the cost of the bleak layer.
2. The stream: two emulated Polar Verity Sense in SDK mode at 208 Hz ACC + 208 Hz GYRO (the Verity's
   rates are 26/52/104/208/416 Hz; 208 is the one nearest 200 Hz), recorded by
   :func:`ingest.ble.recorder.record` into spools for 10 minutes of *sensor clock*. The emulators' clocks
   run ``TIME_SCALE`` x faster than real time, so this takes 10 / TIME_SCALE real minutes. Expected samples
   come from the sensor clock (first to last sample), received samples from decoding the spools;
   lost = expected - received.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

SENSOR_MINUTES = 10.0
TIME_SCALE = 20.0
RATE_HZ = 208.0
N_BASELINE = 3000
PAYLOAD_BYTES = 240


async def _baseline() -> tuple[float, float]:
    """Notifications/s: bumble client alone, then bleak + virtual backend, same server and payload."""
    from bleak import BleakClient
    from bumble import core, gatt, hci
    from bumble.device import Peer

    from ingest.ble.virtual_backend import VirtualBleakClient, current_world, reset_world

    reset_world()
    world = await current_world()
    server = world.create_device("bench", "F0:00:00:00:00:01")
    char = gatt.Characteristic[bytes](
        "FB005C82-02E7-F387-1CAD-8ACD2D8DF0C8",
        gatt.Characteristic.Properties.NOTIFY,
        gatt.Characteristic.READABLE,
        b"",
    )
    server.add_service(gatt.Service("FB005C80-02E7-F387-1CAD-8ACD2D8DF0C8", [char]))
    t = core.AdvertisingData.Type
    server.advertising_data = bytes(core.AdvertisingData([(t.COMPLETE_LOCAL_NAME, b"bench")]))
    await server.power_on()
    payload = bytes(PAYLOAD_BYTES)

    # 1) bumble alone
    await server.start_advertising(advertising_interval_min=20, advertising_interval_max=20)
    connection = await world.central.connect(
        hci.Address("F0:00:00:00:00:01", hci.Address.RANDOM_DEVICE_ADDRESS)
    )
    peer = Peer(connection)
    await peer.request_mtu(512)
    await peer.discover_all()  # type: ignore[no-untyped-call]
    [proxy] = peer.get_characteristics_by_uuid(core.UUID("FB005C82-02E7-F387-1CAD-8ACD2D8DF0C8"))
    raw_count = [0]
    done_raw = asyncio.Event()

    def on_raw(_value: bytes) -> None:
        raw_count[0] += 1
        if raw_count[0] == N_BASELINE:
            done_raw.set()

    await peer.subscribe(proxy, on_raw)
    t0 = time.perf_counter()
    for _ in range(N_BASELINE):
        await server.notify_subscribers(char, payload)
    await asyncio.wait_for(done_raw.wait(), 60)
    raw_rate = N_BASELINE / (time.perf_counter() - t0)
    await connection.disconnect()
    await asyncio.sleep(0.1)

    # 2) the same through bleak's public API on the virtual backend
    await server.start_advertising(advertising_interval_min=20, advertising_interval_max=20)
    bleak_count = [0]
    done_bleak = asyncio.Event()

    def on_bleak(_sender: object, _data: bytearray) -> None:
        bleak_count[0] += 1
        if bleak_count[0] == N_BASELINE:
            done_bleak.set()

    async with BleakClient("F0:00:00:00:00:01", backend=VirtualBleakClient) as client:
        await client.start_notify("fb005c82-02e7-f387-1cad-8acd2d8df0c8", on_bleak)
        t0 = time.perf_counter()
        for _ in range(N_BASELINE):
            await server.notify_subscribers(char, payload)
        await asyncio.wait_for(done_bleak.wait(), 60)
        bleak_rate = N_BASELINE / (time.perf_counter() - t0)
    reset_world()
    return raw_rate, bleak_rate


async def _stream(spool_dir: Path) -> list[tuple[str, int, int, int, int, int, float]]:
    from ingest.ble.recorder import Backoff, RecordTarget, record
    from ingest.ble.virtual_backend import VirtualBleakClient, VirtualBleakScanner, current_world, reset_world
    from ingest.emulator import create_emulated_sensor
    from ingest.spool.decode import decode_spool
    from ingest.spool.reader import read_spool

    reset_world()
    world = await current_world()
    sensors = [
        create_emulated_sensor(world, "polar-verity-sense", index=i, time_scale=TIME_SCALE) for i in range(2)
    ]
    for s in sensors:
        await s.start()
    targets = [
        RecordTarget(
            address=s.address, profile="polar-verity-sense", acc_rate_hz=RATE_HZ, gyro_rate_hz=RATE_HZ
        )
        for s in sensors
    ]
    t0 = time.perf_counter()
    summaries = await record(
        targets,
        spool_dir,
        duration_s=SENSOR_MINUTES * 60 / TIME_SCALE,
        scanner_backend=VirtualBleakScanner,
        client_backend=VirtualBleakClient,
        backoff=Backoff(initial_s=0.1),
    )
    wall = time.perf_counter() - t0
    for s in sensors:
        await s.stop()
    reset_world()
    rows = []
    for summary in summaries:
        decoded = decode_spool(read_spool(summary.spool))
        gyro = decoded.gyro
        assert gyro is not None
        span_s = float(decoded.acc.sensor_time_s[-1] - decoded.acc.sensor_time_s[0])
        gyro_expected = round(float(gyro.sensor_time_s[-1] - gyro.sensor_time_s[0]) * RATE_HZ) + 1
        rows.append(
            (
                summary.sensor,
                summary.expected_samples,
                summary.samples,
                gyro_expected,
                gyro.n_samples,
                len(summary.gaps) + summary.reconnects,
                span_s,
            )
        )
    print(f"  stream wall time {wall:.1f} s for {SENSOR_MINUTES:g} sensor minutes (clock x{TIME_SCALE:g})")
    return rows


def main() -> None:
    raw_rate, bleak_rate = asyncio.run(_baseline())
    print(f"baseline: {N_BASELINE} notifications of {PAYLOAD_BYTES} B over the bumble LocalLink")
    print(f"  bumble GATT client alone       : {raw_rate:8.0f} notifications/s")
    print(
        f"  bleak API + virtual backend    : {bleak_rate:8.0f} notifications/s "
        f"({bleak_rate / raw_rate:.2f} x)"
    )
    with tempfile.TemporaryDirectory() as tmp:
        rows = asyncio.run(_stream(Path(tmp)))
    print(
        f"stream: 2 x Polar Verity Sense, ACC + GYRO at {RATE_HZ:g} Hz, "
        f"{SENSOR_MINUTES:g} sensor-clock minutes"
    )
    total_lost = 0
    for sensor, acc_exp, acc_got, gyr_exp, gyr_got, incidents, span_s in rows:
        lost = (acc_exp - acc_got) + (gyr_exp - gyr_got)
        total_lost += lost
        print(
            f"  {sensor}: {span_s / 60:.2f} sensor min | ACC expected {acc_exp} received {acc_got} "
            f"lost {acc_exp - acc_got} | GYRO expected {gyr_exp} received {gyr_got} lost {gyr_exp - gyr_got}"
            f" | gaps+reconnects {incidents}"
        )
    print(f"  total samples lost: {total_lost} ({'zero loss' if total_lost == 0 else 'LOSS'})")


if __name__ == "__main__":
    main()
