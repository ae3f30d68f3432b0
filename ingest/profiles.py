"""Sensor profiles: what each supported sensor is, how it advertises, and what it can stream.

Facts from ``../shared/reference/ble-sensor-protocols.md`` (cited as "doc §x.y" below):
GATT UUIDs (§1.1, §2.1), advertised names (§1.1, §2.1), capability tables (§1.3.5, §2.3).

Profiles are keyed by id: ``polar-verity-sense``, ``polar-h10``, ``witmotion-wt901``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

from ingest.errors import UnknownProfileError

__all__ = [
    "PMD_CONTROL_POINT_UUID",
    "PMD_DATA_UUID",
    "PMD_SERVICE_UUID",
    "PROFILES",
    "WITMOTION_COMMAND_UUID",
    "WITMOTION_DATA_UUID",
    "WITMOTION_SERVICE_UUID",
    "SensorProfile",
    "get_profile",
    "match_advertisement",
]

# Polar Measurement Data service (doc §1.1). Lower case: bleak reports UUIDs in lower case.
PMD_SERVICE_UUID = "fb005c80-02e7-f387-1cad-8acd2d8df0c8"
PMD_CONTROL_POINT_UUID = "fb005c81-02e7-f387-1cad-8acd2d8df0c8"
PMD_DATA_UUID = "fb005c82-02e7-f387-1cad-8acd2d8df0c8"

# WitMotion BLE 5.0 (doc §2.1). Note the vendor base ...805f9a34fb (not the Bluetooth base ...805f9b34fb):
# never abbreviate these to 16-bit UUIDs.
WITMOTION_SERVICE_UUID = "0000ffe5-0000-1000-8000-00805f9a34fb"
WITMOTION_DATA_UUID = "0000ffe4-0000-1000-8000-00805f9a34fb"
WITMOTION_COMMAND_UUID = "0000ffe9-0000-1000-8000-00805f9a34fb"

Protocol = Literal["polar-pmd", "witmotion"]


@dataclass(frozen=True, slots=True, kw_only=True)
class SensorProfile:
    """One supported sensor model.

    Attributes:
        id: stable key (``polar-verity-sense``, ``polar-h10``, ``witmotion-wt901``); stored in spools/DB.
        display_name: for humans.
        protocol: ``"polar-pmd"`` (:mod:`ingest.polar`) or ``"witmotion"`` (:mod:`ingest.witmotion`).
        name_prefixes: advertised local-name prefixes that identify the model (case-sensitive match).
        service_uuid: primary service carrying the stream (lower-case 128-bit UUID).
        data_uuid: characteristic that notifies samples.
        control_uuid: characteristic commands are written to (PMD control point / WitMotion FFE9).
        has_gyro: whether the sensor streams angular rate.
        acc_rates_hz: accelerometer rates selectable in the sensor's normal mode.
        acc_ranges_g: accelerometer full-scale ranges (± g) in normal mode.
        gyro_rates_hz / gyro_ranges_dps: the same for the gyroscope (empty without gyro).
        sdk_acc_rates_hz / sdk_acc_ranges_g / sdk_gyro_rates_hz / sdk_gyro_ranges_dps: the extra options of
            Polar "SDK mode" (Verity Sense only; empty elsewhere); SDK mode stops HR/PPI (doc §1.3.3).
        resolution_bits: sample resolution (PMD RESOLUTION setting; 16 for every profile here).
        channels: axes per sample.
        default_acc_rate_hz / default_gyro_rate_hz: what hipsync requests unless told otherwise.
        default_acc_range_g / default_gyro_range_dps: ranges hipsync requests (``None``: not selectable).
        device_default_rate_hz: what the sensor streams at power-on without any command (WitMotion: 10 Hz,
            doc §2.3); ``None`` for PMD sensors, which stream only after START.
        mtu_hint: the ATT MTU the real device is known to use (H10: 232, doc §1.2), ``None`` if unknown.
    """

    id: str
    display_name: str
    protocol: Protocol
    name_prefixes: tuple[str, ...]
    service_uuid: str
    data_uuid: str
    control_uuid: str
    has_gyro: bool
    acc_rates_hz: tuple[float, ...]
    acc_ranges_g: tuple[int, ...]
    gyro_rates_hz: tuple[float, ...] = ()
    gyro_ranges_dps: tuple[int, ...] = ()
    sdk_acc_rates_hz: tuple[float, ...] = ()
    sdk_acc_ranges_g: tuple[int, ...] = ()
    sdk_gyro_rates_hz: tuple[float, ...] = ()
    sdk_gyro_ranges_dps: tuple[int, ...] = ()
    resolution_bits: int = 16
    channels: int = 3
    default_acc_rate_hz: float
    default_gyro_rate_hz: float | None = None
    default_acc_range_g: int | None = None
    default_gyro_range_dps: int | None = None
    device_default_rate_hz: float | None = None
    mtu_hint: int | None = None

    def all_acc_rates_hz(self) -> tuple[float, ...]:
        """Normal-mode and SDK-mode accelerometer rates, sorted, without duplicates."""
        return tuple(sorted(set(self.acc_rates_hz) | set(self.sdk_acc_rates_hz)))

    def all_gyro_rates_hz(self) -> tuple[float, ...]:
        """Normal-mode and SDK-mode gyroscope rates, sorted, without duplicates."""
        return tuple(sorted(set(self.gyro_rates_hz) | set(self.sdk_gyro_rates_hz)))

    def needs_sdk_mode(self, acc_rate_hz: float, gyro_rate_hz: float | None = None) -> bool:
        """Whether these rates are only available in Polar SDK mode.

        Raises:
            ValueError: if a rate is not supported in any mode.
        """
        if acc_rate_hz not in self.all_acc_rates_hz():
            raise ValueError(f"{self.id}: ACC rate {acc_rate_hz} Hz not in {self.all_acc_rates_hz()}")
        sdk = acc_rate_hz not in self.acc_rates_hz
        if gyro_rate_hz is not None:
            if not self.has_gyro or gyro_rate_hz not in self.all_gyro_rates_hz():
                raise ValueError(f"{self.id}: GYRO rate {gyro_rate_hz} Hz not supported")
            sdk = sdk or gyro_rate_hz not in self.gyro_rates_hz
        return sdk


_VERITY = SensorProfile(
    id="polar-verity-sense",
    display_name="Polar Verity Sense",
    protocol="polar-pmd",
    # "Polar Sense XXXXXXXX" is the name seen in the wild (doc §1.1).
    name_prefixes=("Polar Sense", "Polar Verity Sense"),
    service_uuid=PMD_SERVICE_UUID,
    data_uuid=PMD_DATA_UUID,
    control_uuid=PMD_CONTROL_POINT_UUID,
    has_gyro=True,
    # Normal mode: ACC 52 Hz / ±8 g, GYRO 52 Hz / ±2000 deg/s (doc §1.3.5).
    acc_rates_hz=(52.0,),
    acc_ranges_g=(8,),
    gyro_rates_hz=(52.0,),
    gyro_ranges_dps=(2000,),
    # SDK mode, online streaming (doc §1.3.5, BH-PR11 device dump).
    sdk_acc_rates_hz=(26.0, 52.0, 104.0, 208.0, 416.0),
    sdk_acc_ranges_g=(2, 4, 8, 16),
    sdk_gyro_rates_hz=(26.0, 52.0, 104.0, 208.0, 416.0),
    sdk_gyro_ranges_dps=(250, 500, 1000, 2000),
    default_acc_rate_hz=52.0,
    default_gyro_rate_hz=52.0,
    default_acc_range_g=8,
    default_gyro_range_dps=2000,
)

_H10 = SensorProfile(
    id="polar-h10",
    display_name="Polar H10",
    protocol="polar-pmd",
    name_prefixes=("Polar H10",),
    service_uuid=PMD_SERVICE_UUID,
    data_uuid=PMD_DATA_UUID,
    control_uuid=PMD_CONTROL_POINT_UUID,
    has_gyro=False,
    # ACC 25/50/100/200 Hz, ±2/4/8 g, 16 bit (doc §1.3.4 GET response, §1.3.5).
    acc_rates_hz=(25.0, 50.0, 100.0, 200.0),
    acc_ranges_g=(2, 4, 8),
    # 50 Hz is ample for hip exercises (reps last seconds) and keeps frames ~0.7 s apart.
    default_acc_rate_hz=50.0,
    default_acc_range_g=8,
    mtu_hint=232,
)

_WITMOTION = SensorProfile(
    id="witmotion-wt901",
    display_name="WitMotion WT901BLE",
    protocol="witmotion",
    # The vendor example scans for names containing "WT" (doc §2.1); units advertise e.g. "WT901BLE67".
    name_prefixes=("WT",),
    service_uuid=WITMOTION_SERVICE_UUID,
    data_uuid=WITMOTION_DATA_UUID,
    control_uuid=WITMOTION_COMMAND_UUID,
    has_gyro=True,
    # Output-rate register codes 0x01..0x0A (doc §2.3). Fixed ±16 g / ±2000 deg/s scales (doc §2.2).
    acc_rates_hz=(0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0),
    acc_ranges_g=(16,),
    gyro_rates_hz=(0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0),
    gyro_ranges_dps=(2000,),
    # ACC and GYRO share one packet, hence one rate. 50 Hz: the 10 Hz power-on default is too coarse for
    # tempo, and 100/200 Hz are not confirmed sustainable over BLE (doc §5 item 6).
    default_acc_rate_hz=50.0,
    default_gyro_rate_hz=50.0,
    device_default_rate_hz=10.0,
)

PROFILES: Mapping[str, SensorProfile] = MappingProxyType({p.id: p for p in (_VERITY, _H10, _WITMOTION)})


def get_profile(profile_id: str) -> SensorProfile:
    """The profile with this id.

    Raises:
        UnknownProfileError: (a ``KeyError``) if the id is not one of :data:`PROFILES`.
    """
    try:
        return PROFILES[profile_id]
    except KeyError:
        known = tuple(PROFILES)
        raise UnknownProfileError(
            f"unknown sensor profile {profile_id!r}; known: {', '.join(known)}",
            profile_id=profile_id,
            known=known,
        ) from None


def match_advertisement(name: str | None, service_uuids: Iterable[str] = ()) -> SensorProfile | None:
    """The profile of an advertising device, or ``None`` if it is not a supported sensor.

    The local name decides when it identifies a model ("Polar H10 ...", "Polar Sense ...", "WT...").
    Without a telling name, an advertised WitMotion service UUID identifies the WitMotion profile. A bare PMD
    service UUID is *not* enough: it does not say which Polar model it is, so ``None`` is returned.

    Args:
        name: advertised local name (may be ``None`` when the advertisement carries none).
        service_uuids: advertised service UUIDs, any case, 128-bit string form.
    """
    uuids = {u.lower() for u in service_uuids}
    if name:
        stripped = name.strip()
        for profile in PROFILES.values():
            if any(stripped.startswith(prefix) for prefix in profile.name_prefixes):
                # A name "WT..." could be anything; if the device also advertises a service, it must agree.
                if profile.protocol == "witmotion" and uuids and profile.service_uuid not in uuids:
                    continue
                return profile
    if WITMOTION_SERVICE_UUID in uuids:
        return _WITMOTION
    return None
