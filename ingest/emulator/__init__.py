"""Emulated sensors: bumble GATT servers that behave like the real Polar and WitMotion devices.

>>> world = await current_world()                                   # doctest: +SKIP
>>> async with create_emulated_sensor(world, "polar-verity-sense") as sensor:
...     ...  # scan / connect / record through bleak with the virtual backend

See :mod:`ingest.emulator.base` for the clock and the fault switches, :mod:`ingest.emulator.motion` for
what the sensors measure.
"""

from __future__ import annotations

from ingest.emulator.base import EmulatedSensor, Faults, SensorClock
from ingest.emulator.motion import ArrayMotionSource, LegRaiseMotion, MotionSource, StillMotion
from ingest.emulator.polar import EmulatedPolarSensor
from ingest.virtual_ble import VirtualWorld

__all__ = [
    "ArrayMotionSource",
    "EmulatedPolarSensor",
    "EmulatedSensor",
    "Faults",
    "LegRaiseMotion",
    "MotionSource",
    "SensorClock",
    "StillMotion",
    "create_emulated_sensor",
]


def create_emulated_sensor(
    world: VirtualWorld,
    profile_id: str,
    *,
    index: int = 0,
    motion: MotionSource | None = None,
    time_scale: float = 1.0,
    advertise: bool = True,
) -> EmulatedSensor:
    """An emulated sensor of ``profile_id``, not yet started (use ``async with`` or ``await .start()``).

    ``index`` makes several sensors of one profile distinct (device id, address, name).

    Raises:
        UnknownProfileError: for a profile id that does not exist.
    """
    from ingest.profiles import get_profile

    profile = get_profile(profile_id)
    if profile.protocol == "polar-pmd":
        device_id = (
            f"{0xB5E5C221 + index:08X}" if profile_id == "polar-verity-sense" else f"{0x1A2B3C4D + index:08X}"
        )
        return EmulatedPolarSensor(
            world, profile_id, device_id=device_id, motion=motion, time_scale=time_scale, advertise=advertise
        )
    from ingest.emulator.witmotion_sensor import EmulatedWitMotionSensor

    return EmulatedWitMotionSensor(
        world, index=index, motion=motion, time_scale=time_scale, advertise=advertise
    )
