"""Emulated sensors: bumble GATT servers that behave like the real Polar and WitMotion devices.

>>> world = await current_world()                                   # doctest: +SKIP
>>> async with create_emulated_sensor(world, "polar-verity-sense") as sensor:
...     ...  # scan / connect / record through bleak with the virtual backend

Data flows: a :class:`MotionSource` (:mod:`.motion`: built-in leg raises, lying still, or a session of
:mod:`simulate`) is sampled on the sensor's own clock (:mod:`.base`, also the fault switches) and sent as
the real device would: PMD data frames and control-point answers (:mod:`.polar`, encoding with
:mod:`ingest.polar.encode`), or ``55 61`` packets (:mod:`.witmotion`, with :mod:`ingest.witmotion.encode`),
over the virtual link of :mod:`ingest.ble.virtual_backend`.

The emulators live together here rather than next to their protocol: they share the device, clock,
advertising and fault machinery of :mod:`.base` and the motion sources, they are the only code besides
``ingest.ble`` that needs bumble, and a hardware user never runs them. The protocol rooms
(:mod:`ingest.polar`, :mod:`ingest.witmotion`) hold the wire format both ways, which is all the emulators
take from them.
"""

from __future__ import annotations

from ingest.ble.virtual_backend import VirtualWorld
from ingest.emulator.base import EmulatedSensor, Faults, SensorClock
from ingest.emulator.motion import (
    ArrayMotionSource,
    LegRaiseMotion,
    MotionSource,
    StillMotion,
    simulated_motion,
)
from ingest.emulator.polar import EmulatedPolarSensor
from ingest.emulator.witmotion import EmulatedWitMotionSensor
from ingest.profiles import get_profile

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
    "emulated_address",
    "simulated_motion",
]


def emulated_address(profile_id: str, index: int = 0) -> str:
    """The static random address :func:`create_emulated_sensor` gives sensor ``index`` of a profile."""
    if profile_id == "witmotion-wt901":
        return f"D4:0B:7A:00:00:{index + 1:02X}"
    d = _device_id(profile_id, index)[-6:]
    return f"E0:9E:1A:{d[0:2]}:{d[2:4]}:{d[4:6]}"


def _device_id(profile_id: str, index: int) -> str:
    base = 0xB5E5C221 if profile_id == "polar-verity-sense" else 0x1A2B3C4D
    return f"{base + index:08X}"


def create_emulated_sensor(
    world: VirtualWorld,
    profile_id: str,
    *,
    index: int = 0,
    motion: MotionSource | None = None,
    time_scale: float = 1.0,
    advertise: bool = True,
    address: str | None = None,
    name: str | None = None,
) -> EmulatedSensor:
    """An emulated sensor of ``profile_id``, not yet started (use ``async with`` or ``await .start()``).

    ``index`` makes several sensors of one profile distinct (device id, address, name); ``address`` and
    ``name`` override the generated ones (e.g. to stand in for a sensor in the user's sensors file).

    Raises:
        UnknownProfileError: for a profile id that does not exist.
    """
    profile = get_profile(profile_id)
    if profile.protocol == "polar-pmd":
        sensor: EmulatedSensor = EmulatedPolarSensor(
            world,
            profile_id,
            device_id=_device_id(profile_id, index),
            address=address or emulated_address(profile_id, index),
            motion=motion,
            time_scale=time_scale,
            advertise=advertise,
        )
    else:
        sensor = EmulatedWitMotionSensor(
            world,
            index=index,
            address=address or emulated_address(profile_id, index),
            motion=motion,
            time_scale=time_scale,
            advertise=advertise,
        )
    if name is not None:
        sensor.name = name
    return sensor
