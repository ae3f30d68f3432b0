"""The bleak backend on bumble: bleak's public API over a real GATT/ATT stack on an in-process link."""

from __future__ import annotations

import asyncio
import time

import pytest
from bleak import BleakClient, BleakScanner
from bleak.exc import BleakDeviceNotFoundError
from bumble import core, gatt

from ingest.ble.virtual_backend import (
    BLE_MODE_ENV,
    VirtualBleakClient,
    VirtualBleakScanner,
    backend_for_mode,
    bleak_uuid,
    current_world,
    reset_world,
)
from ingest.profiles import PMD_CONTROL_POINT_UUID, PMD_DATA_UUID, PMD_SERVICE_UUID, WITMOTION_SERVICE_UUID

ADDRESS = "F0:11:22:33:44:55"


@pytest.fixture(autouse=True)
def _fresh_world() -> object:
    yield
    reset_world()


class _Peripheral:
    """A bare bumble GATT server (no hipsync code) to test the backend against."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []

    async def start(self, address: str = ADDRESS, name: str = "Test Peripheral") -> None:
        world = await current_world()
        self.device = world.create_device(name, address)
        props = gatt.Characteristic.Properties
        self.echo = gatt.Characteristic[bytes](
            PMD_CONTROL_POINT_UUID.upper(),
            props.READ | props.WRITE | props.INDICATE,
            gatt.Characteristic.READABLE | gatt.Characteristic.WRITEABLE,
            gatt.CharacteristicValue(read=lambda _c: b"hello", write=self._on_write),
        )
        self.data = gatt.Characteristic[bytes](
            PMD_DATA_UUID.upper(), props.NOTIFY, gatt.Characteristic.READABLE, b""
        )
        self.device.add_service(gatt.Service(PMD_SERVICE_UUID.upper(), [self.echo, self.data]))
        t = core.AdvertisingData.Type
        self.device.advertising_data = bytes(
            core.AdvertisingData(
                [
                    (t.COMPLETE_LOCAL_NAME, name.encode()),
                    (
                        t.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
                        core.UUID(WITMOTION_SERVICE_UUID).to_bytes(),
                    ),
                ]
            )
        )
        await self.device.power_on()
        await self.device.start_advertising(advertising_interval_min=20, advertising_interval_max=20)

    def _on_write(self, _connection: object, value: bytes) -> None:
        self.writes.append(bytes(value))


def test_backend_for_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(BLE_MODE_ENV, raising=False)
    assert backend_for_mode() == (None, None)
    assert backend_for_mode(virtual=True) == (VirtualBleakScanner, VirtualBleakClient)
    monkeypatch.setenv(BLE_MODE_ENV, "Virtual")
    assert backend_for_mode() == (VirtualBleakScanner, VirtualBleakClient)


def test_bleak_uuid_spelling() -> None:
    assert bleak_uuid(core.UUID.from_16_bits(0x2902)) == "00002902-0000-1000-8000-00805f9b34fb"
    assert bleak_uuid(core.UUID(PMD_SERVICE_UUID.upper())) == PMD_SERVICE_UUID


async def test_scanner_reports_name_services_rssi_and_filters_by_uuid() -> None:
    p = _Peripheral()
    await p.start()
    found = await BleakScanner.discover(timeout=0.3, return_adv=True, backend=VirtualBleakScanner)
    device, adv = found[ADDRESS]
    assert device.name == adv.local_name == "Test Peripheral"
    assert adv.service_uuids == [WITMOTION_SERVICE_UUID]
    assert isinstance(adv.rssi, int)
    none = await BleakScanner.discover(
        timeout=0.3, return_adv=True, backend=VirtualBleakScanner, service_uuids=[PMD_SERVICE_UUID]
    )
    assert ADDRESS not in none
    by_name = await BleakScanner.find_device_by_name(
        "Test Peripheral", timeout=1, backend=VirtualBleakScanner
    )
    assert by_name is not None and by_name.address == ADDRESS


async def test_client_discovers_reads_writes_and_gets_notifications() -> None:
    p = _Peripheral()
    await p.start()
    async with BleakClient(ADDRESS, backend=VirtualBleakClient, timeout=5) as client:
        # The MTU was exchanged on connect: bumble's server offers 517, we ask for 512.
        assert client.mtu_size == 512
        service = client.services.get_service(PMD_SERVICE_UUID)
        assert service is not None
        cp = service.get_characteristic(PMD_CONTROL_POINT_UUID)
        assert cp is not None and set(cp.properties) == {"read", "write", "indicate"}
        assert [d.uuid for d in cp.descriptors] == ["00002902-0000-1000-8000-00805f9b34fb"]
        assert await client.read_gatt_char(PMD_CONTROL_POINT_UUID) == bytearray(b"hello")
        await client.write_gatt_char(PMD_CONTROL_POINT_UUID, b"\x01\x02", response=True)
        assert p.writes == [b"\x01\x02"]
        got: list[bytes] = []
        indications: list[bytes] = []
        await client.start_notify(PMD_DATA_UUID, lambda _c, d: got.append(bytes(d)))
        await client.start_notify(PMD_CONTROL_POINT_UUID, lambda _c, d: indications.append(bytes(d)))
        big = bytes(range(256)) + bytes(200)  # longer than the default MTU: must arrive whole
        await p.device.notify_subscribers(p.data, big)
        await p.device.indicate_subscribers(p.echo, b"ind")
        await asyncio.sleep(0.05)
        assert got == [big] and indications == [b"ind"]
        await client.stop_notify(PMD_DATA_UUID)
        await p.device.notify_subscribers(p.data, b"after")
        await asyncio.sleep(0.05)
        assert got == [big]


async def test_disconnect_callback_only_on_unsolicited_disconnects() -> None:
    p = _Peripheral()
    await p.start()
    calls: list[str] = []
    client = BleakClient(
        ADDRESS, disconnected_callback=lambda c: calls.append(c.address), backend=VirtualBleakClient
    )
    await client.connect()
    await client.disconnect()
    await asyncio.sleep(0.05)
    assert calls == [] and not client.is_connected
    await p.device.start_advertising(advertising_interval_min=20, advertising_interval_max=20)
    await client.connect()
    for connection in list(p.device.connections.values()):
        await connection.disconnect()
    for _ in range(50):
        if calls:
            break
        await asyncio.sleep(0.02)
    assert calls == [ADDRESS] and not client.is_connected


async def test_connecting_to_an_absent_device_fails_fast_and_leaves_the_central_usable() -> None:
    t0 = time.monotonic()
    with pytest.raises(BleakDeviceNotFoundError):
        await BleakClient("F7:00:00:00:00:07", backend=VirtualBleakClient, timeout=0.5).connect()
    assert time.monotonic() - t0 < 5
    p = _Peripheral()
    await p.start()
    async with BleakClient(ADDRESS, backend=VirtualBleakClient, timeout=5) as client:
        assert client.is_connected


async def test_two_clients_at_once() -> None:
    a, b = _Peripheral(), _Peripheral()
    await a.start(ADDRESS, "A")
    await b.start("F1:11:22:33:44:55", "B")
    async with (
        BleakClient(ADDRESS, backend=VirtualBleakClient) as ca,
        BleakClient("F1:11:22:33:44:55", backend=VirtualBleakClient) as cb,
    ):
        await ca.write_gatt_char(PMD_CONTROL_POINT_UUID, b"a", response=True)
        await cb.write_gatt_char(PMD_CONTROL_POINT_UUID, b"b", response=True)
        assert ca.name == "A" and cb.name == "B"
    assert a.writes == [b"a"] and b.writes == [b"b"]
