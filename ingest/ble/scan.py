"""Scanning for sensors: which supported sensors advertise nearby (``hipsync scan``), without connecting.

Runs on bleak's platform backend, or on the virtual backend of :mod:`ingest.ble.virtual_backend`
(``scanner_backend=``). Advertisements are matched to sensor profiles by :func:`ingest.profiles.
match_advertisement`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bleak import BleakScanner
from bleak.backends.scanner import BaseBleakScanner
from bleak.exc import BleakError

from ingest.errors import SensorError
from ingest.profiles import match_advertisement


class BluetoothUnavailableError(SensorError, OSError):
    """The Bluetooth stack cannot be used (no adapter, adapter off, no permission)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ScanResult:
    """One advertising device as ``hipsync scan`` lists it.

    Attributes:
        name: advertised local name (or the OS's name for the device), if any.
        address: address to connect to (MAC; UUID on macOS; the virtual backend's address).
        profile: the matching sensor profile id, or None for unsupported devices.
        rssi_dbm: received signal strength.
    """

    name: str | None
    address: str
    profile: str | None
    rssi_dbm: int

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "address": self.address, "profile": self.profile, "rssi": self.rssi_dbm}


async def scan(
    timeout_s: float,
    *,
    scanner_backend: type[BaseBleakScanner] | None = None,
    supported_only: bool = True,
) -> list[ScanResult]:
    """Listen for advertisements for ``timeout_s``; devices sorted by signal strength, strongest first.

    Nothing is connected to. ``supported_only`` keeps devices that match a sensor profile.

    Raises:
        BluetoothUnavailableError: the platform's Bluetooth stack is not usable.
    """
    try:
        if scanner_backend is None:
            found = await BleakScanner.discover(timeout=timeout_s, return_adv=True)
        else:
            found = await BleakScanner.discover(timeout=timeout_s, return_adv=True, backend=scanner_backend)
    except (BleakError, OSError) as e:
        raise BluetoothUnavailableError(f"Bluetooth is not available: {e}") from e
    out = []
    for device, adv in found.values():
        name = adv.local_name or device.name
        profile = match_advertisement(name, adv.service_uuids)
        if profile is None and supported_only:
            continue
        out.append(
            ScanResult(
                name=name,
                address=device.address,
                profile=None if profile is None else profile.id,
                rssi_dbm=adv.rssi,
            )
        )
    out.sort(key=lambda r: -r.rssi_dbm)
    return out
