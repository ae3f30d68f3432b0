"""Polar Measurement Data (PMD) protocol numbers: op codes, status codes, measurement and setting types.

Facts from ``../shared/reference/ble-sensor-protocols.md`` ("doc §x.y"): the control point's op codes
(§1.3.2) and status codes (§1.3.3), measurement types (§1.3.2), settings TLV types and value sizes
(§1.3.2), the data-frame header size (§1.4) and the PMD epoch (§1.8). Shared by the codec's modules
(:mod:`.settings`, :mod:`.control`, :mod:`.formats`, :mod:`.decode`, :mod:`.encode`).
"""

from __future__ import annotations

import enum

#: Nanoseconds from the Unix epoch to the PMD epoch 2000-01-01T00:00:00 (doc §1.8).
POLAR_EPOCH_UNIX_NS = 946_684_800 * 1_000_000_000
#: Bytes before the payload of a data frame (doc §1.4).
FRAME_HEADER_BYTES = 10
#: ATT_MTU 232 - 3: the notification size of an H10 (doc §1.2, §1.9).
DEFAULT_MAX_FRAME_BYTES = 229

RESPONSE_MARKER = 0xF0
FEATURES_MARKER = 0x0F
STOPPED_NOTICE_MARKER = 0x01
COMPRESSED_BIT = 0x80
FRAME_TYPE_MASK = 0x7F
TYPE_MASK = 0x3F
OFFLINE_BIT = 0x80
MAX_DELTA_BITS = 32
MAX_BLOCK_SAMPLES = 255


class MeasurementType(enum.IntEnum):
    """PMD measurement types (doc §1.3.2 table; low 6 bits of the request/frame type byte)."""

    ECG = 0
    PPG = 1
    ACC = 2
    PPI = 3
    GYRO = 5
    MAGNETOMETER = 6
    SKIN_TEMP = 7
    SDK_MODE = 9
    LOCATION = 10
    PRESSURE = 11
    TEMPERATURE = 12
    OFFLINE_RECORDING = 13
    OFFLINE_HR = 14


class PmdOp(enum.IntEnum):
    """Control-point op codes (doc §1.3.2)."""

    GET_MEASUREMENT_SETTINGS = 0x01
    START_MEASUREMENT = 0x02
    STOP_MEASUREMENT = 0x03
    GET_SDK_MODE_SETTINGS = 0x04
    GET_MEASUREMENT_STATUS = 0x05
    GET_SDK_MODE_STATUS = 0x06


class PmdStatus(enum.IntEnum):
    """Control-point response status codes (doc §1.3.3)."""

    SUCCESS = 0
    INVALID_OP_CODE = 1
    INVALID_MEASUREMENT_TYPE = 2
    NOT_SUPPORTED = 3
    INVALID_LENGTH = 4
    INVALID_PARAMETER = 5
    ALREADY_IN_STATE = 6
    INVALID_RESOLUTION = 7
    INVALID_SAMPLE_RATE = 8
    INVALID_RANGE = 9
    INVALID_MTU = 10
    INVALID_NUMBER_OF_CHANNELS = 11
    INVALID_STATE = 12
    DEVICE_IN_CHARGER = 13
    DISK_FULL = 14


class SettingType(enum.IntEnum):
    """Settings TLV types (doc §1.3.2)."""

    SAMPLE_RATE = 0
    RESOLUTION = 1
    RANGE = 2
    RANGE_MILLIUNIT = 3
    CHANNELS = 4
    FACTOR = 5
    SECURITY = 6


#: Value size in bytes per setting type; CHANNELS is 1 byte (Verity rejects 2, doc §1.3.2).
SETTING_VALUE_BYTES: dict[int, int] = {0: 2, 1: 2, 2: 2, 3: 4, 4: 1, 5: 4, 6: 16}


def status_name(status: int) -> str:
    try:
        return PmdStatus(status).name
    except ValueError:
        return f"UNKNOWN_{status}"


def type_name(mtype: int) -> str:
    try:
        return MeasurementType(mtype).name
    except ValueError:
        return f"TYPE_{mtype}"
