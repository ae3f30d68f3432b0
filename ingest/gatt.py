"""What the protocol clients need of a connected GATT client: the part of ``bleak.BleakClient`` they use.

Typed as a Protocol so that :mod:`ingest.polar.client` and :mod:`ingest.witmotion.client` import no
Bluetooth library: a ``BleakClient`` on any backend satisfies it, and so does a test double.
"""

from __future__ import annotations

from typing import Any, Protocol


class GattClient(Protocol):
    """The part of ``bleak.BleakClient`` these drivers use."""

    async def write_gatt_char(self, char_specifier: Any, data: Any, response: bool | None = None) -> None: ...

    async def read_gatt_char(self, char_specifier: Any, **kwargs: Any) -> bytearray: ...
