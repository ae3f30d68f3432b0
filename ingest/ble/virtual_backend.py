"""A bleak backend on bumble: the same application code runs on hardware and on emulated sensors.

bleak talks to the operating system's Bluetooth stack through a backend class (BlueZ, WinRT,
CoreBluetooth). This module adds one more backend, written against bleak's public backend interface
(:class:`bleak.backends.scanner.BaseBleakScanner`, :class:`bleak.backends.client.BaseBleakClient`), that
drives a *real* Bluetooth host stack (bumble: HCI, L2CAP, ATT, GATT) over an in-process link
(:class:`bumble.link.LocalLink`) instead of a radio. Emulated sensors (:mod:`ingest.emulator`) are bumble
devices on the same link, so scanning, connecting, MTU exchange, service discovery, CCCD writes,
notifications, indications and disconnects all go through the same ATT/GATT bytes a real sensor sees.

Selecting the backend::

    scanner_cls, client_cls = backend_for_mode(virtual=True)   # or HIPSYNC_BLE=virtual
    async with BleakClient(address, backend=client_cls) as client: ...

``backend_for_mode`` returns ``(None, None)`` for hardware, which makes bleak pick its platform backend.

The world (:class:`VirtualWorld`) is process-wide but bound to one event loop: bumble schedules link
traffic on the running loop, so a world created in one ``asyncio.run`` cannot serve another. Calling
:func:`current_world` from a different loop replaces it with a fresh, empty world.
"""

from __future__ import annotations

import asyncio
import logging
import os
import uuid as uuidlib
from collections.abc import Callable
from typing import Any, cast

from bleak.args import SizedBuffer
from bleak.assigned_numbers import CharacteristicPropertyName
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient, NotifyCallback
from bleak.backends.descriptor import BleakGATTDescriptor
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData, AdvertisementDataCallback, BaseBleakScanner
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection
from bleak.exc import BleakDeviceNotFoundError, BleakError, BleakGATTProtocolError
from bumble import att, core, hci
from bumble.controller import Controller
from bumble.device import Advertisement, Connection, Device, Peer
from bumble.gatt_client import CharacteristicProxy
from bumble.host import Host
from bumble.link import LocalLink
from bumble.transport.common import AsyncPipeSink

logger = logging.getLogger(__name__)

#: Environment variable that selects the virtual backend when set to ``virtual``.
BLE_MODE_ENV = "HIPSYNC_BLE"

#: Address of the central (the "laptop") on the virtual link.
CENTRAL_ADDRESS = "C0:FF:EE:00:00:01"

#: ATT MTU the central asks for after connecting. Polar's SDK asks for 512; bumble servers cap at their
#: ``max_mtu`` (517 by default), so the negotiated value is min(this, server's).
REQUESTED_MTU = 512

#: RSSI reported for every advertisement (the in-process link has no radio to measure).
VIRTUAL_RSSI_DBM = -50

_BIT_TO_PROPERTY: dict[int, CharacteristicPropertyName] = {
    0x01: "broadcast",
    0x02: "read",
    0x04: "write-without-response",
    0x08: "write",
    0x10: "notify",
    0x20: "indicate",
    0x40: "authenticated-signed-writes",
    0x80: "extended-properties",
}


def ble_mode_is_virtual(virtual: bool = False) -> bool:
    """True when ``virtual`` is set or ``$HIPSYNC_BLE`` is ``virtual`` (case-insensitive)."""
    return virtual or os.environ.get(BLE_MODE_ENV, "").strip().lower() == "virtual"


def backend_for_mode(
    virtual: bool = False,
) -> tuple[type[BaseBleakScanner] | None, type[BaseBleakClient] | None]:
    """The ``backend=`` classes to pass to ``BleakScanner``/``BleakClient``.

    ``(VirtualBleakScanner, VirtualBleakClient)`` when ``virtual`` is true or ``HIPSYNC_BLE=virtual``;
    otherwise ``(None, None)``, i.e. bleak's platform backend (real hardware).
    """
    if ble_mode_is_virtual(virtual):
        return VirtualBleakScanner, VirtualBleakClient
    return None, None


def bleak_uuid(u: core.UUID) -> str:
    """A bumble UUID as bleak spells it: 128-bit, lower case, dashed."""
    little_endian = u.to_bytes(force_128=True)
    return str(uuidlib.UUID(bytes=bytes(reversed(little_endian))))


def address_string(address: hci.Address) -> str:
    """``AA:BB:CC:DD:EE:FF`` without bumble's ``/P`` type qualifier."""
    return address.to_string(with_type_qualifier=False)


class VirtualWorld:
    """One in-process Bluetooth link with a central device and any number of emulated peripherals.

    Peripherals create their own bumble :class:`~bumble.device.Device` with :meth:`create_device`; the
    bleak backend classes use :attr:`central`. Advertisements are fanned out to every running virtual
    scanner; connections are serialised because a bumble central allows one pending LE connection.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.link = LocalLink()  # type: ignore[no-untyped-call]
        self._controllers: dict[str, Controller] = {}
        self.central = self.create_device("hipsync-central", CENTRAL_ADDRESS)
        self.connect_lock = asyncio.Lock()
        self._scanners: set[VirtualBleakScanner] = set()
        self._scan_users = 0
        self._scan_lock = asyncio.Lock()
        self._adv_waiters: dict[str, list[asyncio.Future[hci.Address]]] = {}
        self._powered = False
        self._names: dict[str, str] = {}
        self.central.on(Device.EVENT_ADVERTISEMENT, self._on_advertisement)

    def create_device(self, name: str, address: str) -> Device:
        """A new, powered-off bumble device with its own controller on this world's link."""
        controller = Controller(name, link=self.link, public_address=address)
        self._controllers[address.upper()] = controller
        return Device(
            name=name, address=hci.Address(address), host=Host(controller, AsyncPipeSink(controller))
        )

    async def power_on(self) -> None:
        if not self._powered:
            await self.central.power_on()
            self._powered = True

    def abandon_pending_connection(self) -> None:
        """Clear a connection request the peer never answered.

        bumble's in-process controller treats LE Create Connection Cancel as a no-op, so its pending
        request would make every later connect fail with "command disallowed".
        """
        self._controllers[CENTRAL_ADDRESS].pending_le_connection = None

    def known_name(self, address: str) -> str | None:
        """The local name last advertised by ``address`` (None if never seen)."""
        return self._names.get(address.upper())

    async def _scan_acquire(self) -> None:
        async with self._scan_lock:
            self._scan_users += 1
            if not self.central.is_scanning:
                # Legacy PDUs: the in-process controller delivers legacy advertising to legacy scans.
                await self.central.start_scanning(legacy=True, filter_duplicates=False)

    async def _scan_release(self) -> None:
        async with self._scan_lock:
            self._scan_users = max(0, self._scan_users - 1)
            if self._scan_users == 0 and self.central.is_scanning:
                await self.central.stop_scanning(legacy=True)

    async def add_scanner(self, scanner: VirtualBleakScanner) -> None:
        self._scanners.add(scanner)
        await self._scan_acquire()

    async def remove_scanner(self, scanner: VirtualBleakScanner) -> None:
        if scanner in self._scanners:
            self._scanners.discard(scanner)
            await self._scan_release()

    async def wait_for_advertiser(self, address: str, timeout_s: float) -> hci.Address | None:
        """Scan until ``address`` advertises; its bumble address, or None after ``timeout_s``."""
        key = address.upper()
        fut: asyncio.Future[hci.Address] = self.loop.create_future()
        self._adv_waiters.setdefault(key, []).append(fut)
        await self._scan_acquire()
        try:
            return await asyncio.wait_for(fut, timeout_s)
        except TimeoutError:
            return None
        finally:
            waiters = self._adv_waiters.get(key, [])
            if fut in waiters:
                waiters.remove(fut)
            await self._scan_release()

    def _on_advertisement(self, adv: Advertisement) -> None:
        name = adv.data.get(core.AdvertisingData.Type.COMPLETE_LOCAL_NAME) or adv.data.get(
            core.AdvertisingData.Type.SHORTENED_LOCAL_NAME
        )
        address = address_string(adv.address)
        if isinstance(name, str):
            self._names[address.upper()] = name
        for fut in self._adv_waiters.pop(address.upper(), []):
            if not fut.done():
                fut.set_result(adv.address)
        for scanner in list(self._scanners):
            scanner.on_bumble_advertisement(adv)


_WORLD: VirtualWorld | None = None


async def current_world() -> VirtualWorld:
    """The process-wide virtual world for the running event loop (created and powered on first use)."""
    global _WORLD
    loop = asyncio.get_running_loop()
    if _WORLD is None or _WORLD.loop is not loop or loop.is_closed():
        _WORLD = VirtualWorld(loop)
    await _WORLD.power_on()
    return _WORLD


def reset_world() -> None:
    """Forget the current world (the next :func:`current_world` builds a fresh, empty one)."""
    global _WORLD
    _WORLD = None


def _advertisement_data(adv: Advertisement) -> tuple[str | None, AdvertisementData]:
    data = adv.data
    t = core.AdvertisingData.Type
    name_obj = data.get(t.COMPLETE_LOCAL_NAME) or data.get(t.SHORTENED_LOCAL_NAME)
    name = name_obj if isinstance(name_obj, str) else None
    service_uuids: list[str] = []
    for ad_type in (
        t.COMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
        t.INCOMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
        t.COMPLETE_LIST_OF_32_BIT_SERVICE_CLASS_UUIDS,
        t.INCOMPLETE_LIST_OF_32_BIT_SERVICE_CLASS_UUIDS,
        t.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
        t.INCOMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
    ):
        for uuid_list in data.get_all(ad_type):
            for u in uuid_list:
                service_uuids.append(bleak_uuid(u))
    # Advertising and scan-response data are merged by bumble, so a UUID may appear twice.
    service_uuids = list(dict.fromkeys(service_uuids))
    manufacturer: dict[int, bytes] = {}
    for item in data.get_all(t.MANUFACTURER_SPECIFIC_DATA):
        company_id, payload = item
        manufacturer[company_id] = payload
    tx_power = data.get(t.TX_POWER_LEVEL)
    rssi = adv.rssi if isinstance(adv.rssi, int) and adv.rssi != 127 else VIRTUAL_RSSI_DBM
    return name, AdvertisementData(
        local_name=name,
        manufacturer_data=manufacturer,
        service_data={},
        service_uuids=service_uuids,
        tx_power=tx_power if isinstance(tx_power, int) else None,
        rssi=rssi,
        platform_data=(adv,),
    )


class VirtualBleakScanner(BaseBleakScanner):
    """bleak scanner backend that listens to advertisements on the virtual link."""

    def __init__(
        self,
        detection_callback: AdvertisementDataCallback | None,
        service_uuids: list[str] | None,
        scanning_mode: str = "active",
        **kwargs: Any,
    ) -> None:
        super().__init__(detection_callback, service_uuids)
        self._world: VirtualWorld | None = None

    async def start(self) -> None:
        self.seen_devices = {}
        self._world = await current_world()
        await self._world.add_scanner(self)

    async def stop(self) -> None:
        if self._world is not None:
            await self._world.remove_scanner(self)
            self._world = None

    def on_bumble_advertisement(self, adv: Advertisement) -> None:
        name, ad = _advertisement_data(adv)
        if not self.is_allowed_uuid(ad.service_uuids):
            return
        address = address_string(adv.address)
        device = self.create_or_update_device(address, address, name, adv.address, ad)
        self.call_detection_callbacks(device, ad)


def _properties(bits: int) -> list[CharacteristicPropertyName]:
    return [name for bit, name in _BIT_TO_PROPERTY.items() if bits & bit]


def _protocol_error(exc: core.ProtocolError) -> BleakError:
    code = exc.error_code if isinstance(exc.error_code, int) else 0x0E
    return BleakGATTProtocolError(code)


class VirtualBleakClient(BaseBleakClient):
    """bleak client backend that connects over the virtual link with bumble's GATT client.

    ``connect`` does what an OS stack does for an application: LE connection, ATT MTU exchange (so
    notifications up to MTU-3 bytes arrive whole), and full service/characteristic/descriptor discovery.
    Unsolicited disconnects (the peripheral or the link going away) call bleak's disconnected callback;
    a disconnect we asked for does not.
    """

    def __init__(
        self,
        address_or_ble_device: BLEDevice | str,
        *,
        disconnected_callback: Callable[[], None] | None = None,
        timeout: float = 10.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(address_or_ble_device, disconnected_callback=disconnected_callback, timeout=timeout)
        self._bumble_address: hci.Address | None = None
        self._name: str | None = None
        if isinstance(address_or_ble_device, BLEDevice):
            details = address_or_ble_device.details
            if isinstance(details, hci.Address):
                self._bumble_address = details
            self._name = address_or_ble_device.name
        self._connection: Connection | None = None
        self._peer: Peer | None = None
        self._local_disconnect = False
        self._subscribers: dict[int, Callable[[bytes], None]] = {}

    @property
    def name(self) -> str:
        return self._name or self.address

    @property
    def mtu_size(self) -> int:
        if self._connection is None:
            return att.ATT_DEFAULT_MTU
        return int(self._connection.att_mtu)

    @property
    def is_connected(self) -> bool:
        return self._connection is not None

    async def connect(self, pair: bool = False, **kwargs: Any) -> None:
        world = await current_world()
        async with world.connect_lock:
            # Like BlueZ/WinRT when given a bare address: find the device advertising first. The
            # in-process controller ignores LE Create Connection Cancel, so a connect attempt to a
            # silent address would block the central forever; scanning first keeps that from happening.
            found = await world.wait_for_advertiser(self.address, self._timeout)
            if found is None:
                raise BleakDeviceNotFoundError(
                    self.address, f"virtual device {self.address} was not found (not advertising)"
                )
            try:
                connection = await asyncio.wait_for(
                    world.central.connect(found, transport=core.PhysicalTransport.LE, timeout=None),
                    self._timeout,
                )
            except TimeoutError as e:
                world.abandon_pending_connection()
                raise BleakDeviceNotFoundError(
                    self.address, f"virtual device {self.address} stopped advertising during connect"
                ) from e
        self._name = self._name or world.known_name(self.address)
        self._connection = connection
        self._local_disconnect = False
        connection.on(Connection.EVENT_DISCONNECTION, self._on_disconnection)
        peer = Peer(connection)
        self._peer = peer
        try:
            mtu = await peer.request_mtu(REQUESTED_MTU)
            logger.debug("connected to %s, ATT MTU %d", self.address, mtu)
            await peer.discover_all()  # type: ignore[no-untyped-call]
            self.services = self._service_collection(peer)
        except Exception:
            await self.disconnect()
            raise

    def _service_collection(self, peer: Peer) -> BleakGATTServiceCollection:
        collection = BleakGATTServiceCollection()

        def max_write() -> int:
            return self.mtu_size - 3

        for service in peer.services:
            b_service = BleakGATTService(service, service.handle, bleak_uuid(service.uuid))
            collection.add_service(b_service)
            for ch in service.characteristics:
                b_char = BleakGATTCharacteristic(
                    ch, ch.handle, bleak_uuid(ch.uuid), _properties(int(ch.properties)), max_write, b_service
                )
                collection.add_characteristic(b_char)
                for desc in ch.descriptors:
                    collection.add_descriptor(
                        BleakGATTDescriptor(desc, desc.handle, bleak_uuid(desc.type), b_char)
                    )
        return collection

    def _on_disconnection(self, reason: int) -> None:
        local = self._local_disconnect
        self._connection = None
        self._peer = None
        self._subscribers.clear()
        logger.debug("virtual link to %s closed (reason 0x%02X, local=%s)", self.address, reason, local)
        if not local and self._disconnected_callback is not None:
            asyncio.get_running_loop().call_soon(self._disconnected_callback)

    async def disconnect(self) -> None:
        connection = self._connection
        if connection is None:
            return
        self._local_disconnect = True
        done = asyncio.get_running_loop().create_future()

        def on_closed(*_: object) -> None:
            if not done.done():
                done.set_result(None)

        connection.once(Connection.EVENT_DISCONNECTION, on_closed)
        try:
            await connection.disconnect()
            await asyncio.wait_for(done, timeout=5.0)
        except (core.BaseBumbleError, TimeoutError) as e:
            logger.debug("disconnect from %s: %r", self.address, e)
        finally:
            self._connection = None
            self._peer = None

    async def pair(self, *args: Any, **kwargs: Any) -> None:
        # Neither PMD nor WitMotion requires security; the virtual link accepts without pairing.
        logger.debug("pair() ignored on the virtual backend")

    async def unpair(self) -> None:
        logger.debug("unpair() ignored on the virtual backend")

    def _require_peer(self) -> Peer:
        if self._peer is None:
            raise BleakError(f"not connected to {self.address}")
        return self._peer

    async def read_gatt_char(
        self, characteristic: BleakGATTCharacteristic, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        peer = self._require_peer()
        try:
            return bytearray(await peer.read_value(characteristic.handle))
        except core.ProtocolError as e:
            raise _protocol_error(e) from e

    async def read_gatt_descriptor(
        self, descriptor: BleakGATTDescriptor, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        peer = self._require_peer()
        try:
            return bytearray(await peer.read_value(descriptor.handle))
        except core.ProtocolError as e:
            raise _protocol_error(e) from e

    async def write_gatt_char(
        self, characteristic: BleakGATTCharacteristic, data: SizedBuffer, response: bool
    ) -> None:
        peer = self._require_peer()
        try:
            await peer.write_value(characteristic.handle, bytes(data), with_response=response)
        except core.ProtocolError as e:
            raise _protocol_error(e) from e

    async def write_gatt_descriptor(self, descriptor: BleakGATTDescriptor, data: SizedBuffer) -> None:
        peer = self._require_peer()
        try:
            await peer.write_value(descriptor.handle, bytes(data), with_response=True)
        except core.ProtocolError as e:
            raise _protocol_error(e) from e

    async def start_notify(
        self, characteristic: BleakGATTCharacteristic, callback: NotifyCallback, **kwargs: Any
    ) -> None:
        peer = self._require_peer()
        proxy = cast(CharacteristicProxy[bytes], characteristic.obj)

        def subscriber(value: bytes) -> None:
            callback(bytearray(value))

        self._subscribers[characteristic.handle] = subscriber
        # Like the OS stacks: notifications when the characteristic offers them, else indications.
        await peer.subscribe(proxy, subscriber, prefer_notify=True)

    async def stop_notify(self, characteristic: BleakGATTCharacteristic) -> None:
        peer = self._require_peer()
        subscriber = self._subscribers.pop(characteristic.handle, None)
        await peer.unsubscribe(cast(CharacteristicProxy[bytes], characteristic.obj), subscriber)
