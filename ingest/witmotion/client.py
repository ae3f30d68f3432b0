"""The WitMotion WT901BLE client over a connected ``BleakClient``: configure the output rate.

Commands are written to FFE9 (:mod:`ingest.witmotion.control` builds them); the sensor never acknowledges
a write, and its RATE register reply arrives on the data stream.
"""

from __future__ import annotations

from ingest.errors import SensorError
from ingest.gatt import GattClient
from ingest.profiles import SensorProfile
from ingest.witmotion.control import set_rate_commands


async def configure_witmotion(
    client: GattClient, profile: SensorProfile, rate_hz: float, *, sensor: str
) -> None:
    """Unlock, set the output rate, and ask for the RATE register (its reply arrives on the data stream).

    Raises:
        SensorError: if the rate is not one WitMotion offers.
    """
    try:
        commands = set_rate_commands(rate_hz)
    except ValueError as e:
        raise SensorError(str(e), sensor=sensor) from e
    for command in commands:
        await client.write_gatt_char(profile.control_uuid, command, response=True)
