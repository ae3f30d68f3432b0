"""Polar Measurement Data (PMD) codec: control point and data frames, both directions, pure and vectorised.

Facts from ``../shared/reference/ble-sensor-protocols.md`` ("doc §x.y"):

- Control point (CP) requests ``[op][request byte][params]`` (§1.3.2), settings TLVs
  ``[type u8][count u8][count x value]`` with per-type value sizes, CHANNELS being **1 byte** (§1.3.2),
  responses ``[F0][op][type][status][more][params]`` with status codes (§1.3.3), continuation packets
  (``more != 0``, §1.3.3), the 17-byte feature read (§1.3.1), the unsolicited "measurement stopped"
  indication ``[01][type]...`` (§1.3.3).
- Data frames: 10-byte header ``[type][u64 LE ns since 2000-01-01 of the LAST sample][frame type]`` (§1.4);
  raw frames (§1.5) and delta-compressed frames (bit 0x80 of the frame-type byte; reference sample, then
  blocks ``[W][N][ceil(W*N*C/8) bytes]`` of W-bit two's-complement deltas packed LSB-first, §1.6).
- Units and factor (§1.7): ACC raw -> mG; ACC compressed type 0 -> value x factor g; ACC compressed type 1
  -> value x factor mG; GYRO compressed type 0 -> value x factor deg/s; GYRO compressed type 1 -> the running
  32-bit sum is a float32 bit pattern, x factor deg/s. A missing factor means 1.0.
- Per-sample timestamps (§1.8): the last sample carries the frame timestamp; the first frame (or the first
  after a reset/gap) spaces samples at the nominal rate, later frames spread the interval since the
  previous frame of the same type evenly over their samples.

Extensions beyond the doc (marked where used): raw GYRO frames (type 0: int16 x factor, type 1: float32 x
factor) which the Polar SDK does not parse; used only between our own encoder and decoder.

Decoding is vectorised: the delta bit-unpacking of all blocks of a frame happens in a handful of NumPy calls
(``np.unpackbits(bitorder="little")``, a gather of each field's bits, a weighted sum, sign extension,
``cumsum``); Python loops only run over blocks (a few per frame) and frames, never over samples.
"""

from __future__ import annotations

import enum
import logging
import math
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt

from ingest.errors import ControlPointError, FrameError
from ingest.samples import SampleBlock, SampleKind, concat_blocks

__all__ = [
    "DEFAULT_MAX_FRAME_BYTES",
    "FRAME_HEADER_BYTES",
    "POLAR_EPOCH_UNIX_NS",
    "FrameFormat",
    "MeasurementType",
    "PmdBatch",
    "PmdCountsBatch",
    "PmdFeatures",
    "PmdFrame",
    "PmdFrameHeader",
    "PmdOp",
    "PmdRequest",
    "PmdResponse",
    "PmdSettings",
    "PmdStatus",
    "PmdStoppedNotice",
    "PmdStreamDecoder",
    "SettingType",
    "counts_to_values",
    "decode_delta_payload",
    "decode_pmd_counts",
    "decode_pmd_counts_many",
    "decode_pmd_frame",
    "encode_pmd_frame",
    "encode_pmd_frames",
    "frame_format",
    "get_settings_request",
    "join_response_packets",
    "parse_control_point_indication",
    "parse_measurement_status",
    "pmd_sample_times_ns",
    "start_request",
    "stop_request",
    "values_to_counts",
]

logger = logging.getLogger(__name__)

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

#: Nanoseconds from the Unix epoch to the PMD epoch 2000-01-01T00:00:00 (doc §1.8).
POLAR_EPOCH_UNIX_NS = 946_684_800 * 1_000_000_000
#: Bytes before the payload of a data frame (doc §1.4).
FRAME_HEADER_BYTES = 10
#: ATT_MTU 232 - 3: the notification size of an H10 (doc §1.2, §1.9).
DEFAULT_MAX_FRAME_BYTES = 229

RESPONSE_MARKER = 0xF0
FEATURES_MARKER = 0x0F
STOPPED_NOTICE_MARKER = 0x01
_COMPRESSED_BIT = 0x80
_FRAME_TYPE_MASK = 0x7F
_TYPE_MASK = 0x3F
_OFFLINE_BIT = 0x80
_MAX_DELTA_BITS = 32
_MAX_BLOCK_SAMPLES = 255


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


def _status_name(status: int) -> str:
    try:
        return PmdStatus(status).name
    except ValueError:
        return f"UNKNOWN_{status}"


def _type_name(mtype: int) -> str:
    try:
        return MeasurementType(mtype).name
    except ValueError:
        return f"TYPE_{mtype}"


# --------------------------------------------------------------------------------------------------------
# Settings TLVs
# --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class PmdSettings:
    """Measurement settings: every value offered (GET response) or the one selected (START request).

    Attributes:
        sample_rates_hz: SAMPLE_RATE values (u16, Hz).
        resolutions_bits: RESOLUTION values (u16, bits).
        ranges: RANGE values (u16, ± g for ACC, ± deg/s for GYRO).
        ranges_milli: RANGE_MILLIUNIT values (u32, milli-g or milli-deg/s).
        channels: CHANNELS values (u8).
        factors: FACTOR values (float32; device -> host in START responses only).
        security: SECURITY values (16 bytes each; offline recordings only).

    ``bytes(settings)`` writes the TLVs in the canonical type order 0..6 (the order is free, doc §1.3.2);
    types without values are left out.
    """

    sample_rates_hz: tuple[int, ...] = ()
    resolutions_bits: tuple[int, ...] = ()
    ranges: tuple[int, ...] = ()
    ranges_milli: tuple[int, ...] = ()
    channels: tuple[int, ...] = ()
    factors: tuple[float, ...] = ()
    security: tuple[bytes, ...] = ()

    @classmethod
    def selected(
        cls,
        *,
        sample_rate_hz: int | None = None,
        resolution_bits: int | None = None,
        range_: int | None = None,
        channels: int | None = None,
        factor: float | None = None,
    ) -> PmdSettings:
        """One value per given setting, as a START request carries them (``None``: leave the TLV out)."""

        def one(v: int | None) -> tuple[int, ...]:
            return () if v is None else (int(v),)

        return cls(
            sample_rates_hz=one(sample_rate_hz),
            resolutions_bits=one(resolution_bits),
            ranges=one(range_),
            channels=one(channels),
            factors=() if factor is None else (float(factor),),
        )

    @property
    def factor(self) -> float | None:
        """The conversion factor if one was sent (START response), else ``None``."""
        return self.factors[0] if self.factors else None

    def is_empty(self) -> bool:
        """True if no setting has a value."""
        return not any(self._by_type().values())

    def _by_type(self) -> dict[int, tuple[int | float | bytes, ...]]:
        return {
            SettingType.SAMPLE_RATE: self.sample_rates_hz,
            SettingType.RESOLUTION: self.resolutions_bits,
            SettingType.RANGE: self.ranges,
            SettingType.RANGE_MILLIUNIT: self.ranges_milli,
            SettingType.CHANNELS: self.channels,
            SettingType.FACTOR: self.factors,
            SettingType.SECURITY: self.security,
        }

    @classmethod
    def from_bytes(cls, data: bytes) -> PmdSettings:
        """Parse a run of settings TLVs (GET response parameters, START request tail).

        A repeated type appends its values. An empty input gives empty settings.

        Raises:
            FrameError: on an unknown setting type (its size is unknown, so nothing after it can be read)
                or a TLV that runs past the end.
        """
        values: dict[int, list[int | float | bytes]] = {t: [] for t in SETTING_VALUE_BYTES}
        pos, n = 0, len(data)
        while pos < n:
            if pos + 2 > n:
                raise FrameError("settings TLV header truncated", offset=pos, data_len=n)
            stype, count = data[pos], data[pos + 1]
            size = SETTING_VALUE_BYTES.get(stype)
            if size is None:
                raise FrameError(f"unknown PMD setting type {stype}", offset=pos, data_len=n)
            end = pos + 2 + size * count
            if end > n:
                raise FrameError(
                    f"settings TLV type {stype} needs {size * count} value bytes, {n - pos - 2} left",
                    offset=pos,
                    data_len=n,
                )
            for k in range(count):
                raw = data[pos + 2 + k * size : pos + 2 + (k + 1) * size]
                if stype == SettingType.FACTOR:
                    values[stype].append(struct.unpack("<f", raw)[0])
                elif stype == SettingType.SECURITY:
                    values[stype].append(bytes(raw))
                else:
                    values[stype].append(int.from_bytes(raw, "little"))
            pos = end
        return cls(
            sample_rates_hz=tuple(int(v) for v in values[SettingType.SAMPLE_RATE]),  # type: ignore[arg-type]
            resolutions_bits=tuple(int(v) for v in values[SettingType.RESOLUTION]),  # type: ignore[arg-type]
            ranges=tuple(int(v) for v in values[SettingType.RANGE]),  # type: ignore[arg-type]
            ranges_milli=tuple(int(v) for v in values[SettingType.RANGE_MILLIUNIT]),  # type: ignore[arg-type]
            channels=tuple(int(v) for v in values[SettingType.CHANNELS]),  # type: ignore[arg-type]
            factors=tuple(float(v) for v in values[SettingType.FACTOR]),  # type: ignore[arg-type]
            security=tuple(bytes(v) for v in values[SettingType.SECURITY]),  # type: ignore[arg-type]
        )

    def __bytes__(self) -> bytes:
        """The TLVs, canonical type order.

        Raises:
            ValueError: if a value does not fit its field or a type has more than 255 values.
        """
        out = bytearray()
        for stype, vals in self._by_type().items():
            if not vals:
                continue
            if len(vals) > 255:
                raise ValueError(f"setting type {stype} has {len(vals)} values (max 255)")
            size = SETTING_VALUE_BYTES[stype]
            out += bytes((stype, len(vals)))
            for v in vals:
                if stype == SettingType.FACTOR:
                    out += struct.pack("<f", float(v))  # type: ignore[arg-type]
                elif stype == SettingType.SECURITY:
                    if not isinstance(v, bytes) or len(v) != size:
                        raise ValueError(f"security value must be {size} bytes")
                    out += v
                else:
                    iv = int(v)  # type: ignore[arg-type]
                    if not 0 <= iv < 1 << (8 * size):
                        raise ValueError(f"setting type {stype} value {iv} does not fit {size} bytes")
                    out += iv.to_bytes(size, "little")
        return bytes(out)


# --------------------------------------------------------------------------------------------------------
# Control point requests
# --------------------------------------------------------------------------------------------------------

_OPS_WITH_TYPE = {
    PmdOp.GET_MEASUREMENT_SETTINGS,
    PmdOp.START_MEASUREMENT,
    PmdOp.STOP_MEASUREMENT,
    PmdOp.GET_SDK_MODE_SETTINGS,
}


@dataclass(frozen=True, slots=True, kw_only=True)
class PmdRequest:
    """A host -> sensor control-point write (doc §1.3.2).

    Attributes:
        op: the op code.
        measurement_type: the measurement type (low 6 bits of the request byte); ``None`` for ops without
            one (GET_MEASUREMENT_STATUS, GET_SDK_MODE_STATUS).
        offline: the recording-type bit 7 of the request byte (``False`` = online streaming).
        settings: the selected settings of a START (empty otherwise).
    """

    op: PmdOp
    measurement_type: int | None = None
    offline: bool = False
    settings: PmdSettings = field(default_factory=PmdSettings)

    @classmethod
    def from_bytes(cls, data: bytes) -> PmdRequest:
        """Parse a CP write, as the emulated sensor receives it.

        Raises:
            FrameError: empty write, unknown op code, missing request byte, malformed settings TLVs.
        """
        if not data:
            raise FrameError("empty control-point write", offset=0, data_len=0)
        try:
            op = PmdOp(data[0])
        except ValueError:
            raise FrameError(f"unknown PMD op code 0x{data[0]:02X}", offset=0, data_len=len(data)) from None
        if op not in _OPS_WITH_TYPE:
            return cls(op=op)
        if len(data) < 2:
            raise FrameError(f"{op.name} request lacks the request byte", offset=1, data_len=len(data))
        settings = PmdSettings.from_bytes(data[2:]) if op == PmdOp.START_MEASUREMENT else PmdSettings()
        return cls(
            op=op,
            measurement_type=data[1] & _TYPE_MASK,
            offline=bool(data[1] & _OFFLINE_BIT),
            settings=settings,
        )

    def __bytes__(self) -> bytes:
        if self.op not in _OPS_WITH_TYPE:
            return bytes((self.op,))
        if self.measurement_type is None or not 0 <= self.measurement_type <= _TYPE_MASK:
            raise ValueError(f"{self.op.name} needs a measurement type 0..63")
        request_byte = (_OFFLINE_BIT if self.offline else 0) | self.measurement_type
        tail = bytes(self.settings) if self.op == PmdOp.START_MEASUREMENT else b""
        return bytes((self.op, request_byte)) + tail


def get_settings_request(measurement_type: int, *, sdk_mode: bool = False) -> bytes:
    """GET_MEASUREMENT_SETTINGS (with ``sdk_mode``: GET_SDK_MODE_SETTINGS) for one type, e.g. ``01 02``."""
    op = PmdOp.GET_SDK_MODE_SETTINGS if sdk_mode else PmdOp.GET_MEASUREMENT_SETTINGS
    return bytes(PmdRequest(op=op, measurement_type=measurement_type))


def start_request(measurement_type: int, settings: PmdSettings | None = None) -> bytes:
    """REQUEST_MEASUREMENT_START with one value per setting (doc §1.3.2, §1.3.4).

    Include every setting the sensor offers (the H10 rejects a START that omits one, doc §1.10) and
    CHANNELS for the Verity Sense. Entering SDK mode is ``start_request(MeasurementType.SDK_MODE)``.

    Raises:
        ValueError: if a setting has more than one value (a START selects exactly one).
    """
    settings = settings if settings is not None else PmdSettings()
    for name in ("sample_rates_hz", "resolutions_bits", "ranges", "ranges_milli", "channels"):
        if len(getattr(settings, name)) > 1:
            raise ValueError(f"START selects one value per setting; {name} has {getattr(settings, name)}")
    return bytes(PmdRequest(op=PmdOp.START_MEASUREMENT, measurement_type=measurement_type, settings=settings))


def stop_request(measurement_type: int) -> bytes:
    """STOP_MEASUREMENT for one type, e.g. ``03 02``."""
    return bytes(PmdRequest(op=PmdOp.STOP_MEASUREMENT, measurement_type=measurement_type))


# --------------------------------------------------------------------------------------------------------
# Control point responses and indications
# --------------------------------------------------------------------------------------------------------

_RESPONSE_HEADER_BYTES = 5


@dataclass(frozen=True, slots=True, kw_only=True)
class PmdResponse:
    """A sensor -> host control-point indication answering a request (doc §1.3.3).

    Attributes:
        op: the echoed op code (a client must discard responses whose op differs from its request).
        measurement_type: the measurement type byte as sent (masked to 6 bits).
        status: status code (:class:`PmdStatus`; unknown codes are kept as ints).
        more: whether another continuation packet follows.
        parameters: the bytes after the 5-byte header (settings TLVs for GET/START, etc.).
    """

    op: int
    measurement_type: int
    status: int = PmdStatus.SUCCESS
    more: bool = False
    parameters: bytes = b""

    @classmethod
    def from_bytes(cls, data: bytes) -> PmdResponse:
        """Parse one response packet.

        Raises:
            FrameError: shorter than the 5-byte header or not starting with 0xF0 (that would be an
                unsolicited command, see :func:`parse_control_point_indication`).
        """
        if len(data) < _RESPONSE_HEADER_BYTES:
            raise FrameError(
                f"PMD response needs {_RESPONSE_HEADER_BYTES} header bytes, got {len(data)}",
                offset=len(data),
                data_len=len(data),
            )
        if data[0] != RESPONSE_MARKER:
            raise FrameError(f"not a PMD response (byte 0 = 0x{data[0]:02X})", offset=0, data_len=len(data))
        return cls(
            op=data[1],
            measurement_type=data[2] & _TYPE_MASK,
            status=data[3],
            more=data[4] != 0,
            parameters=bytes(data[5:]),
        )

    def __bytes__(self) -> bytes:
        return (
            bytes((RESPONSE_MARKER, self.op, self.measurement_type, self.status, 1 if self.more else 0))
            + self.parameters
        )

    @classmethod
    def success(cls, op: int, measurement_type: int, parameters: bytes = b"") -> PmdResponse:
        """A success response (what an emulated sensor indicates)."""
        return cls(op=op, measurement_type=measurement_type, status=PmdStatus.SUCCESS, parameters=parameters)

    @classmethod
    def error(cls, op: int, measurement_type: int, status: int) -> PmdResponse:
        """An error response: 5 bytes, no parameters (e.g. ``F0 02 02 08 00``)."""
        return cls(op=op, measurement_type=measurement_type, status=status)

    @property
    def ok(self) -> bool:
        """True on SUCCESS."""
        return self.status == PmdStatus.SUCCESS

    @property
    def already_in_state(self) -> bool:
        """True for ALREADY_IN_STATE: a START while the stream still runs (e.g. after a host restart).

        A client should then STOP and START again, or accept the running stream (doc §1.10).
        """
        return self.status == PmdStatus.ALREADY_IN_STATE

    @property
    def status_name(self) -> str:
        """Symbolic status, e.g. ``"INVALID_SAMPLE_RATE"``."""
        return _status_name(self.status)

    def raise_for_status(self, *, sensor: str | None = None) -> PmdResponse:
        """Return ``self`` on success, else raise.

        Raises:
            ControlPointError: with ``op``, ``status``, ``status_name``, ``measurement_type``.
        """
        if self.ok:
            return self
        raise ControlPointError(
            f"PMD {_op_name(self.op)} {_type_name(self.measurement_type)} failed: "
            f"{self.status_name} ({self.status})",
            op=self.op,
            status=self.status,
            measurement_type=self.measurement_type,
            status_name=self.status_name,
            sensor=sensor,
        )

    def settings(self) -> PmdSettings:
        """The parameters as settings TLVs (GET responses; START responses carry an optional FACTOR).

        A parameter block of at most 1 byte is ignored, as the Polar SDK does (the H10's START response
        carries one "reserved" byte ``01``, doc §1.3.3).

        Raises:
            FrameError: if the parameters are not well-formed TLVs.
        """
        if len(self.parameters) <= 1:
            return PmdSettings()
        return PmdSettings.from_bytes(self.parameters)

    def to_packets(self, max_packet_bytes: int) -> list[bytes]:
        """Split into indications of at most ``max_packet_bytes`` (ATT_MTU - 3), with continuation flags.

        Every packet repeats the 5-byte header; all but the last have ``more = 1`` (doc §1.3.3).

        Raises:
            ValueError: if ``max_packet_bytes`` cannot hold the header plus one parameter byte.
        """
        room = max_packet_bytes - _RESPONSE_HEADER_BYTES
        if room < 1:
            raise ValueError(f"max_packet_bytes must be > {_RESPONSE_HEADER_BYTES}, got {max_packet_bytes}")
        chunks = [self.parameters[i : i + room] for i in range(0, len(self.parameters), room)] or [b""]
        header = (RESPONSE_MARKER, self.op, self.measurement_type, self.status)
        return [bytes((*header, 1 if i < len(chunks) - 1 else 0)) + chunk for i, chunk in enumerate(chunks)]


def _op_name(op: int) -> str:
    try:
        return PmdOp(op).name
    except ValueError:
        return f"OP_0x{op:02X}"


def join_response_packets(packets: Sequence[bytes]) -> PmdResponse:
    """Assemble a response from its packets (first + continuations, in order).

    Raises:
        FrameError: no packets, a malformed packet, packets of different ops, a packet claiming ``more``
            as the last one, or a packet without ``more`` before the last one.
    """
    if not packets:
        raise FrameError("no response packets")
    parts = [PmdResponse.from_bytes(p) for p in packets]
    first = parts[0]
    for i, part in enumerate(parts):
        if part.op != first.op:
            raise FrameError(f"continuation packet {i} has op 0x{part.op:02X}, expected 0x{first.op:02X}")
        if part.more != (i < len(parts) - 1):
            raise FrameError(f"packet {i} of {len(parts)} has more={part.more}")
    return PmdResponse(
        op=first.op,
        measurement_type=first.measurement_type,
        status=first.status,
        more=False,
        parameters=b"".join(p.parameters for p in parts),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class PmdStoppedNotice:
    """Unsolicited CP indication ``01 type ...``: the sensor stopped these streams itself (doc §1.3.3)."""

    measurement_types: tuple[int, ...]

    @classmethod
    def from_bytes(cls, data: bytes) -> PmdStoppedNotice:
        """Parse the notice.

        Raises:
            FrameError: if byte 0 is not 0x01 or no type follows.
        """
        if len(data) < 2 or data[0] != STOPPED_NOTICE_MARKER:
            raise FrameError("not a PMD measurement-stopped notice", offset=0, data_len=len(data))
        return cls(measurement_types=tuple(b & _TYPE_MASK for b in data[1:]))

    def __bytes__(self) -> bytes:
        return bytes((STOPPED_NOTICE_MARKER, *self.measurement_types))


def parse_control_point_indication(data: bytes) -> PmdResponse | PmdStoppedNotice:
    """Dispatch a CP indication: a response (``F0 ...``) or a stopped notice (``01 ...``).

    Raises:
        FrameError: anything else, or a malformed one of the two.
    """
    if data[:1] == bytes((STOPPED_NOTICE_MARKER,)):
        return PmdStoppedNotice.from_bytes(data)
    return PmdResponse.from_bytes(data)


def parse_measurement_status(parameters: bytes) -> dict[int, Literal[0, 1, 2, 3]]:
    """GET_MEASUREMENT_STATUS parameters -> {measurement type: state}.

    State (bits 6-7): 0 none, 1 online active, 2 offline active, 3 both (doc §1.3.3).
    """
    return {b & _TYPE_MASK: (b >> 6) for b in parameters}  # type: ignore[misc]


@dataclass(frozen=True, slots=True, kw_only=True)
class PmdFeatures:
    """The 17-byte CP read: which measurement types the sensor offers (doc §1.3.1).

    Byte 1 bit i is measurement type i (0..7), byte 2 bit i is type 8 + i (SDK mode = 9, ...).
    """

    measurement_types: frozenset[int]

    @classmethod
    def from_bytes(cls, data: bytes) -> PmdFeatures:
        """Parse a CP read.

        Raises:
            FrameError: fewer than 3 bytes, or byte 0 is not 0x0F.
        """
        if len(data) < 3:
            raise FrameError(f"PMD feature read needs >= 3 bytes, got {len(data)}", data_len=len(data))
        if data[0] != FEATURES_MARKER:
            raise FrameError(f"PMD feature read starts 0x{data[0]:02X}, not 0x0F", offset=0)
        bitmap = data[1] | (data[2] << 8)
        return cls(measurement_types=frozenset(i for i in range(16) if bitmap >> i & 1))

    def __bytes__(self) -> bytes:
        bitmap = 0
        for t in self.measurement_types:
            if not 0 <= t < 16:
                raise ValueError(f"measurement type {t} has no feature bit")
            bitmap |= 1 << t
        return bytes((FEATURES_MARKER, bitmap & 0xFF, bitmap >> 8)) + bytes(14)

    @property
    def sdk_mode(self) -> bool:
        """Whether the sensor supports SDK mode."""
        return MeasurementType.SDK_MODE in self.measurement_types


# --------------------------------------------------------------------------------------------------------
# Data frames: formats and units
# --------------------------------------------------------------------------------------------------------


_FORMAT_CACHE: dict[tuple[int, int, bool], FrameFormat] = {}


@dataclass(frozen=True, slots=True, kw_only=True)
class FrameFormat:
    """How the samples of one (measurement type, frame type byte) are laid out and scaled.

    Attributes:
        kind: ``"acc"`` or ``"gyro"``.
        compressed: delta-compressed (bit 0x80 of the frame-type byte).
        channels: values per sample (3).
        value_bits: bits per raw value / per reference value (8, 16, 24 or 32).
        float_bits: the 32-bit integer is an IEEE-754 float32 bit pattern (GYRO type 1).
        scale: physical value = integer (or float) x scale x factor; ``uses_factor`` False means factor
            ignored (ACC raw frames are plain mG).
    """

    kind: SampleKind
    compressed: bool
    channels: int
    value_bits: int
    float_bits: bool
    scale: float
    uses_factor: bool


def frame_format(measurement_type: int, frame_type: int, compressed: bool) -> FrameFormat:
    """The format of a frame (doc §1.5-1.7); ``frame_type`` is the 7-bit number (no 0x80 bit).

    Raises:
        FrameError: for a measurement/frame type combination this codec does not decode.
    """
    key = (measurement_type & _TYPE_MASK, frame_type, bool(compressed))
    fmt = _FORMAT_CACHE.get(key)
    if fmt is None:
        fmt = _FORMAT_CACHE[key] = _frame_format(*key)
    return fmt


def _frame_format(mt: int, frame_type: int, compressed: bool) -> FrameFormat:
    if mt == MeasurementType.ACC:
        if compressed and frame_type in (0, 1):
            # Type 0 arrives in g x factor, type 1 in mG x factor (factor 1.0 when absent).
            return FrameFormat(
                kind="acc",
                compressed=True,
                channels=3,
                value_bits=16,
                float_bits=False,
                scale=1.0 if frame_type == 0 else 1e-3,
                uses_factor=True,
            )
        if not compressed and frame_type in (0, 1, 2):
            return FrameFormat(
                kind="acc",
                compressed=False,
                channels=3,
                value_bits=8 * (frame_type + 1),
                float_bits=False,
                scale=1e-3,
                uses_factor=False,
            )
    elif mt == MeasurementType.GYRO and frame_type in (0, 1):
        # Compressed: doc §1.7. Raw: our extension with the same value types (int16 / float32).
        return FrameFormat(
            kind="gyro",
            compressed=compressed,
            channels=3,
            value_bits=16 if frame_type == 0 else 32,
            float_bits=frame_type == 1,
            scale=1.0,
            uses_factor=True,
        )
    raise FrameError(
        f"unsupported PMD frame: {_type_name(mt)} frame type {frame_type}"
        f"{' (compressed)' if compressed else ''}"
    )


def counts_to_values(counts: IntArray, fmt: FrameFormat, factor: float | None = None) -> FloatArray:
    """Wire integers (n, C) -> physical values (n, C) float64 in g or deg/s (doc §1.7).

    For float32 formats the integers are the float bit patterns (low 32 bits).
    """
    if fmt.float_bits:
        base = (counts & 0xFFFFFFFF).astype(np.uint32).view(np.float32).astype(np.float64)
    else:
        base = counts.astype(np.float64)
    f = (1.0 if factor is None else float(factor)) if fmt.uses_factor else 1.0
    return base * (fmt.scale * f)


def values_to_counts(values: npt.ArrayLike, fmt: FrameFormat, factor: float | None = None) -> IntArray:
    """Physical values (n, C) in g or deg/s -> wire integers, rounded and clipped to the value width.

    Inverse of :func:`counts_to_values` up to quantisation (one count x scale x factor) and clipping.

    Raises:
        ValueError: if the factor is not a positive finite number.
    """
    f = (1.0 if factor is None else float(factor)) if fmt.uses_factor else 1.0
    if not (math.isfinite(f) and f > 0):
        raise ValueError(f"factor must be positive and finite, got {factor}")
    scaled = np.asarray(values, dtype=np.float64) / (fmt.scale * f)
    if fmt.float_bits:
        return scaled.astype(np.float32).view(np.int32).astype(np.int64)
    lo, hi = -(1 << (fmt.value_bits - 1)), (1 << (fmt.value_bits - 1)) - 1
    return np.clip(np.rint(scaled), lo, hi).astype(np.int64)


# --------------------------------------------------------------------------------------------------------
# Data frames: decoding
# --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class PmdFrameHeader:
    """The 10-byte data-frame header (doc §1.4).

    Attributes:
        measurement_type: low 6 bits of byte 0.
        timestamp_ns: u64 LE, ns since 2000-01-01T00:00:00 on the sensor clock, of the LAST sample.
        frame_type: bits 0-6 of byte 9.
        compressed: bit 7 of byte 9.
    """

    measurement_type: int
    timestamp_ns: int
    frame_type: int
    compressed: bool

    @classmethod
    def from_bytes(cls, data: bytes) -> PmdFrameHeader:
        """Parse the first 10 bytes.

        Raises:
            FrameError: fewer than 10 bytes, or a timestamp >= 2**63 (not representable as int64 ns).
        """
        if len(data) < FRAME_HEADER_BYTES:
            raise FrameError(
                f"PMD frame needs a {FRAME_HEADER_BYTES}-byte header, got {len(data)} bytes",
                offset=len(data),
                data_len=len(data),
            )
        ts = int.from_bytes(data[1:9], "little")
        if ts >= 1 << 63:
            raise FrameError(f"PMD frame timestamp {ts} out of range", offset=1, data_len=len(data))
        return cls(
            measurement_type=data[0] & _TYPE_MASK,
            timestamp_ns=ts,
            frame_type=data[9] & _FRAME_TYPE_MASK,
            compressed=bool(data[9] & _COMPRESSED_BIT),
        )

    def __bytes__(self) -> bytes:
        return (
            bytes((self.measurement_type,))
            + self.timestamp_ns.to_bytes(8, "little")
            + bytes(((_COMPRESSED_BIT if self.compressed else 0) | self.frame_type,))
        )

    @property
    def frame_type_byte(self) -> int:
        """Byte 9 as sent (with the 0x80 compression bit)."""
        return (_COMPRESSED_BIT if self.compressed else 0) | self.frame_type


def _sign_extend(u: IntArray, bits: IntArray | int) -> IntArray:
    """Interpret the low ``bits`` of non-negative ``u`` as two's complement (bits may be 0: value 0)."""
    b = np.asarray(bits, dtype=np.int64)
    sign = (u >> np.maximum(b - 1, 0)) & 1
    return u - (sign << b) * (b > 0)


_BYTE_WEIGHTS = np.int64(1) << (8 * np.arange(8, dtype=np.int64))
#: Frames decoded per vectorised pass in the batch APIs (bounds scratch memory to a few MB).
BATCH_FRAMES = 4096
_RAW_DTYPES = {1: "<i1", 2: "<i2", 4: "<i4"}


@dataclass(slots=True)
class _Scan:
    """Pass 1 over a batch of frames: which are well-formed, where their blocks are (no per-sample work).

    ``parts`` joined is the blob the vectorised pass reads; offsets are into that blob.
    """

    parts: list[bytes] = field(default_factory=list)
    size: int = 0
    index: list[int] = field(default_factory=list)  # input index of each good frame
    base: list[int] = field(default_factory=list)  # blob offset of each good frame
    formats: list[FrameFormat] = field(default_factory=list)
    n_blocks: list[int] = field(default_factory=list)  # blocks per good frame (0 for raw)
    block_pos: list[int] = field(default_factory=list)  # blob offsets of block headers, all good frames
    rejected: list[tuple[int, FrameError]] = field(default_factory=list)


def _scan_frame(data: bytes, expected_type: int | None) -> tuple[FrameFormat, list[int]]:
    """Validate one frame's structure; return its format and the frame offsets of its block headers.

    Raises:
        FrameError: with frame-relative ``offset``: short header, timestamp >= 2**63, unexpected or
            unsupported type, no samples, cut reference sample / block header / block data, W > 32, a raw
            payload that is not whole samples.
    """
    n = len(data)
    if n < FRAME_HEADER_BYTES:
        raise FrameError(
            f"PMD frame needs a {FRAME_HEADER_BYTES}-byte header, got {n} bytes", offset=n, data_len=n
        )
    if data[8] & 0x80:
        raise FrameError("PMD frame timestamp >= 2**63 ns is out of range", offset=1, data_len=n)
    mt = data[0] & _TYPE_MASK
    if expected_type is not None and mt != expected_type:
        raise FrameError(
            f"expected a {_type_name(expected_type)} frame, got {_type_name(mt)}", offset=0, data_len=n
        )
    fmt = frame_format(mt, data[9] & _FRAME_TYPE_MASK, bool(data[9] & _COMPRESSED_BIT))
    if n == FRAME_HEADER_BYTES:
        raise FrameError("PMD frame has no samples", offset=n, data_len=n)
    channels = fmt.channels
    if not fmt.compressed:
        per_sample = channels * fmt.value_bits // 8
        extra = (n - FRAME_HEADER_BYTES) % per_sample
        if extra:
            raise FrameError(
                f"raw payload of {n - FRAME_HEADER_BYTES} bytes is not a whole number of "
                f"{per_sample}-byte samples",
                offset=n - extra,
                data_len=n,
            )
        return fmt, []
    return fmt, _walk_blocks(data, FRAME_HEADER_BYTES + channels * ((fmt.value_bits + 7) // 8), channels)


def _walk_blocks(data: bytes, pos: int, channels: int) -> list[int]:
    """Offsets of the delta block headers of a compressed frame whose reference sample ends at ``pos``.

    Each block header's position depends on the previous block's size, so this walk is sequential; it
    runs once per block (a few per frame), never per sample.

    Raises:
        FrameError: cut reference sample, cut block header, block data running past the end, W > 32
            (offsets into ``data``).
    """
    n = len(data)
    if n < pos:
        raise FrameError(
            f"compressed frame needs {pos} bytes for its reference sample, got {n}", offset=n, data_len=n
        )
    blocks: list[int] = []
    while pos < n:
        if pos + 2 > n:
            raise FrameError("delta block header truncated", offset=pos, data_len=n)
        w = data[pos]
        if w > _MAX_DELTA_BITS:
            raise FrameError(f"delta bit width {w} > {_MAX_DELTA_BITS}", offset=pos, data_len=n)
        end = pos + 2 + (w * data[pos + 1] * channels + 7) // 8
        if end > n:
            raise FrameError(
                f"delta block (W={w}, N={data[pos + 1]}) needs {end - pos - 2} bytes, {n - pos - 2} left",
                offset=pos,
                data_len=n,
            )
        blocks.append(pos)
        pos = end
    return blocks


def _scan(frames: Sequence[bytes], expected_type: int | None, *, strict: bool, single: bool = False) -> _Scan:
    """Pass 1 over frames; ``strict`` raises on the first malformed frame (naming its index unless
    ``single``), otherwise malformed frames are skipped and listed in ``rejected``."""
    scan = _Scan()
    for i, data in enumerate(frames):
        try:
            fmt, blocks = _scan_frame(data, expected_type)
        except FrameError as e:
            if strict:
                if single:
                    raise
                raise FrameError(f"frame {i}: {e.message}", offset=e.offset, data_len=e.data_len) from e
            logger.debug("skipping malformed PMD frame %d: %s", i, e)
            scan.rejected.append((i, e))
            continue
        base = scan.size
        scan.parts.append(bytes(data))
        scan.size += len(data)
        scan.index.append(i)
        scan.base.append(base)
        scan.formats.append(fmt)
        scan.n_blocks.append(len(blocks))
        scan.block_pos.extend([base + p for p in blocks])
    return scan


class _Words:
    """Unaligned little-endian 64-bit loads at any byte offset of a byte string, vectorised.

    Holds eight aligned copies of the bytes, copy k shifted by k bytes, so the 8 bytes from offset B are
    word ``B >> 3`` of copy ``B & 7``: a gather from one contiguous int64 array (much faster in NumPy than
    fancy-indexing an unaligned strided view). Costs 8x the bytes in memory, a few MB per spool at most.
    """

    def __init__(self, data: bytes) -> None:
        self.m = (len(data) + 8) // 8
        padded = data + bytes(8 * self.m + 8 - len(data))
        self.flat = np.concatenate(
            [np.frombuffer(padded, dtype="<i8", count=self.m, offset=k) for k in range(8)]
        )

    def load(self, byte_offsets: IntArray) -> IntArray:
        """int64 of the 8 bytes starting at each offset (offsets must be < len(data))."""
        loaded: IntArray = self.flat[(byte_offsets & 7) * self.m + (byte_offsets >> 3)]
        return loaded


def _extract_columns(
    words: _Words, starts: IntArray, w_blk: IntArray, n_blk: IntArray, channels: int, n_rows: int
) -> IntArray:
    """All samples of all blocks, channel-major: int64 (channels, n_rows) of W-bit two's-complement fields.

    A field (W <= 32) at bit offset s (<= 7) of its first byte lies within the 8 bytes from that byte: a
    64-bit load, a left shift by 64 - W - s (the field's top bit becomes bit 63) and an arithmetic right
    shift by 64 - W extract and sign-extend it. When a whole sample fits one load (C x W + 7 <= 64, e.g.
    three 16-bit fields) there is one load per sample and its C fields come out of it by shifts; otherwise
    one load per field. Channel-major because NumPy is much faster on long contiguous rows than on an
    inner axis of length 3. ``n_blk`` is samples per block.
    """
    first = np.cumsum(n_blk) - n_blk
    w_r = np.repeat(w_blk, n_blk)
    # Row j of block b starts at bit 8 * start_b + (j - first_b) * C * W_b.
    step = channels * w_r
    bit0 = np.repeat(8 * starts - first * channels * w_blk, n_blk)
    bit0 += np.arange(n_rows, dtype=np.int64) * step
    rsh = 64 - w_r
    out = np.empty((channels, n_rows), dtype=np.int64)
    if int(w_blk.max()) * channels + 7 <= 64:
        word = words.load(bit0 >> 3)
        lsh = rsh - (bit0 & 7)
        for c in range(channels):
            np.left_shift(word, lsh, out=out[c])
            out[c] >>= rsh
            lsh -= w_r
    else:
        for c in range(channels):
            np.left_shift(words.load(bit0 >> 3), rsh - (bit0 & 7), out=out[c])
            out[c] >>= rsh
            bit0 += w_r
    if (w_blk == 0).any():
        out[:, w_r == 0] = 0  # a shift by 64 is not a clear-to-zero on every platform
    return out


def _decode_compressed_run(
    buf: npt.NDArray[np.uint8],
    words: _Words,
    bases: IntArray,
    block_pos: IntArray,
    n_blocks: IntArray,
    fmt: FrameFormat,
) -> tuple[IntArray, IntArray]:
    """Vectorised decode of scanned compressed frames of one format.

    Returns (counts (total, C), samples per frame (F,)). The reference sample is read as one more block of
    C fields of ``value_bits`` bits (little-endian and sign-extended, exactly like a delta block), placed
    before the frame's delta blocks, so one field extraction yields every row in output order; one
    ``cumsum`` over all rows then reconstructs the samples, corrected for the carry between frames.
    """
    channels = fmt.channels
    n_frames = bases.shape[0]
    n_real = block_pos.shape[0]
    # Interleave one reference pseudo-block per frame before that frame's blocks.
    frame_of_block = np.repeat(np.arange(n_frames, dtype=np.int64), n_blocks)
    ref_slot = np.cumsum(n_blocks) - n_blocks + np.arange(n_frames, dtype=np.int64)
    real_slot = np.arange(n_real, dtype=np.int64) + frame_of_block + 1
    starts = np.empty(n_frames + n_real, dtype=np.int64)
    widths = np.empty(n_frames + n_real, dtype=np.int64)
    samples = np.empty(n_frames + n_real, dtype=np.int64)
    starts[ref_slot] = bases + FRAME_HEADER_BYTES
    widths[ref_slot] = fmt.value_bits
    samples[ref_slot] = 1
    starts[real_slot] = block_pos + 2
    widths[real_slot] = buf[block_pos]
    samples[real_slot] = buf[block_pos + 1]
    cum = np.zeros(n_frames + n_real + 1, dtype=np.int64)
    np.cumsum(samples, out=cum[1:])
    per_frame = cum[np.append(ref_slot[1:], n_frames + n_real)] - cum[ref_slot]

    total_rows = int(per_frame.sum())
    cols = _extract_columns(words, starts, widths, samples, channels, total_rows)
    np.cumsum(cols, axis=1, out=cols)
    if n_frames > 1:
        # One cumsum ran over all frames: subtract the running total just before each reference row.
        ref_rows = np.cumsum(per_frame) - per_frame
        carry = np.zeros((channels, n_frames), dtype=np.int64)
        carry[:, 1:] = cols[:, ref_rows[1:] - 1]
        cols -= np.repeat(carry, per_frame, axis=1)
    if fmt.float_bits:
        # Wrap to signed 32 bits (the int32 view of the float32 bit pattern), as reference and raw values.
        cols += 1 << 31
        cols &= 0xFFFFFFFF
        cols -= 1 << 31
    return np.ascontiguousarray(cols.T), per_frame


def _decode_raw_run(payloads: list[bytes], fmt: FrameFormat) -> tuple[IntArray, IntArray]:
    """Decode scanned raw payloads of one format: (counts (total, C), samples per payload)."""
    size = fmt.value_bits // 8
    per_sample = size * fmt.channels
    per_frame = np.fromiter((len(p) // per_sample for p in payloads), dtype=np.int64, count=len(payloads))
    blob = b"".join(payloads)
    dtype = _RAW_DTYPES.get(size)
    if dtype is not None:
        counts = np.frombuffer(blob, dtype=dtype).astype(np.int64).reshape(-1, fmt.channels)
    else:
        raw = np.frombuffer(blob, dtype=np.uint8).astype(np.int64).reshape(-1, size)
        counts = _sign_extend(raw @ _BYTE_WEIGHTS[:size], fmt.value_bits).reshape(-1, fmt.channels)
    return counts, per_frame


@dataclass(frozen=True, slots=True, kw_only=True)
class _Decoded:
    """Pass 2 result over the good frames of a scan."""

    counts: IntArray  # (total, C)
    values: list[tuple[FrameFormat, int, int]]  # (format, first row, end row) runs
    sizes: IntArray  # (F,) samples per good frame
    timestamps_ns: IntArray  # (F,) frame timestamps
    type_bytes: IntArray  # (F,) frame-type bytes


def _decode_scan(scan: _Scan) -> _Decoded:
    blob = b"".join(scan.parts)
    buf = np.frombuffer(blob, dtype=np.uint8)
    words = _Words(blob)
    bases = np.asarray(scan.base, dtype=np.int64)
    timestamps = words.load(bases + 1)
    type_bytes = buf[bases + 9].astype(np.int64)
    n_blocks = np.asarray(scan.n_blocks, dtype=np.int64)
    block_pos = np.asarray(scan.block_pos, dtype=np.int64)
    blk_first = np.cumsum(n_blocks) - n_blocks
    counts_parts: list[IntArray] = []
    size_parts: list[IntArray] = []
    runs: list[tuple[FrameFormat, int, int]] = []
    row = 0
    start = 0
    n_good = len(scan.formats)
    # Runs of consecutive frames with the same format (normally the whole batch is one run).
    while start < n_good:
        fmt = scan.formats[start]
        end = start + 1
        while end < n_good and scan.formats[end] is fmt:
            end += 1
        if fmt.compressed:
            b0 = int(blk_first[start])
            b1 = int(blk_first[end - 1] + n_blocks[end - 1])
            counts, sizes = _decode_compressed_run(
                buf, words, bases[start:end], block_pos[b0:b1], n_blocks[start:end], fmt
            )
        else:
            counts, sizes = _decode_raw_run([p[FRAME_HEADER_BYTES:] for p in scan.parts[start:end]], fmt)
        counts_parts.append(counts)
        size_parts.append(sizes)
        runs.append((fmt, row, row + counts.shape[0]))
        row += counts.shape[0]
        start = end
    return _Decoded(
        counts=counts_parts[0] if len(counts_parts) == 1 else np.concatenate(counts_parts),
        values=runs,
        sizes=size_parts[0] if len(size_parts) == 1 else np.concatenate(size_parts),
        timestamps_ns=timestamps,
        type_bytes=type_bytes,
    )


def _values(decoded: _Decoded, factor: float | None) -> FloatArray:
    parts = [counts_to_values(decoded.counts[a:b], fmt, factor) for fmt, a, b in decoded.values]
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def decode_delta_payload(
    payload: bytes, *, channels: int, value_bits: int, wrap_32: bool = False
) -> IntArray:
    """Decode a delta-compressed payload (after the 10-byte header) to integers, shape (n, channels).

    Layout (doc §1.6): a reference sample of ``channels`` little-endian values of ceil(value_bits/8) bytes,
    sign-extended from bit ``value_bits - 1`` (it is the first output sample), then blocks
    ``[W u8][N u8][ceil(W*N*channels/8) bytes]``; within a block, N x channels W-bit two's-complement
    deltas read from an LSB-first bit stream (sample-major, channel-minor). Each block starts on a byte
    boundary. A block with W = 0 contributes N zero deltas (the general rule; the Polar SDK drops such
    blocks, doc §1.6). With ``wrap_32`` the running sum wraps to signed 32 bits (float32 bit patterns).

    Raises:
        FrameError: payload shorter than the reference sample, a block header or block data running past
            the end, or W > 32 (offsets relative to the payload).
    """
    fmt = FrameFormat(
        kind="acc",
        compressed=True,
        channels=channels,
        value_bits=value_bits,
        float_bits=wrap_32,
        scale=1.0,
        uses_factor=False,
    )
    if not payload:
        raise FrameError("empty compressed payload", offset=0, data_len=0)
    # Put the payload behind a dummy header so the frame machinery applies; shift offsets back.
    data = bytes(FRAME_HEADER_BYTES) + bytes(payload)
    try:
        blocks = _walk_blocks(data, FRAME_HEADER_BYTES + channels * ((value_bits + 7) // 8), channels)
    except FrameError as e:
        raise FrameError(
            e.message,
            offset=None if e.offset is None else e.offset - FRAME_HEADER_BYTES,
            data_len=len(payload),
        ) from e
    counts, _ = _decode_compressed_run(
        np.frombuffer(data, dtype=np.uint8),
        _Words(data),
        np.zeros(1, dtype=np.int64),
        np.asarray(blocks, dtype=np.int64),
        np.asarray([len(blocks)], dtype=np.int64),
        fmt,
    )
    return counts


def decode_pmd_counts(data: bytes) -> tuple[PmdFrameHeader, FrameFormat, IntArray]:
    """Decode a data frame to its header, format and wire integers (n, channels), no scaling or times.

    Raises:
        FrameError: truncated/malformed frame, unsupported type, or a frame with no samples.
    """
    scan = _scan([data], None, strict=True, single=True)
    decoded = _decode_scan(scan)
    return PmdFrameHeader.from_bytes(data), scan.formats[0], decoded.counts


@dataclass(frozen=True, slots=True, kw_only=True)
class PmdCountsBatch:
    """Wire integers of many frames (:func:`decode_pmd_counts_many`).

    Attributes:
        frame_timestamps_ns: (F,) header timestamps (last sample of each frame).
        frame_type_bytes: (F,) byte 9 of each frame (0x80 bit = compressed).
        frame_sizes: (F,) samples per frame.
        counts: (n, 3) wire integers, frames concatenated in order.
    """

    frame_timestamps_ns: IntArray
    frame_type_bytes: IntArray
    frame_sizes: IntArray
    counts: IntArray


def decode_pmd_counts_many(frames: Sequence[bytes], *, expected_type: int | None = None) -> PmdCountsBatch:
    """Decode many frames in one vectorised pass (the batch form of :func:`decode_pmd_counts`).

    Raises:
        FrameError: if any frame is malformed (the message names its index).
    """
    if not frames:
        return PmdCountsBatch(
            frame_timestamps_ns=np.zeros(0, np.int64),
            frame_type_bytes=np.zeros(0, np.int64),
            frame_sizes=np.zeros(0, np.int64),
            counts=np.zeros((0, 3), np.int64),
        )
    scan = _scan(frames, expected_type, strict=True)  # validates everything first: errors name the index
    parts = [
        _decode_scan(_sub_scan(scan, i, min(i + BATCH_FRAMES, len(scan.index))))
        for i in range(0, len(scan.index), BATCH_FRAMES)
    ]
    return PmdCountsBatch(
        frame_timestamps_ns=np.concatenate([d.timestamps_ns for d in parts]),
        frame_type_bytes=np.concatenate([d.type_bytes for d in parts]),
        frame_sizes=np.concatenate([d.sizes for d in parts]),
        counts=np.concatenate([d.counts for d in parts]),
    )


def _sub_scan(scan: _Scan, start: int, end: int) -> _Scan:
    """Frames start..end of a scan, re-based so that its blob starts at the first of them."""
    if start == 0 and end == len(scan.index):
        return scan
    b0 = sum(scan.n_blocks[:start])
    b1 = b0 + sum(scan.n_blocks[start:end])
    origin = scan.base[start]
    return _Scan(
        parts=scan.parts[start:end],
        size=sum(len(p) for p in scan.parts[start:end]),
        index=scan.index[start:end],
        base=[b - origin for b in scan.base[start:end]],
        formats=scan.formats[start:end],
        n_blocks=scan.n_blocks[start:end],
        block_pos=[p - origin for p in scan.block_pos[b0:b1]],
    )


def pmd_sample_times_ns(
    frame_timestamp_ns: int,
    n_samples: int,
    sample_rate_hz: float,
    previous_timestamp_ns: int | None = None,
) -> IntArray:
    """Per-sample timestamps (ns since 2000-01-01, int64, shape (n,)) of one frame (doc §1.8).

    The last sample gets ``frame_timestamp_ns`` exactly. Without a previous frame timestamp (``None`` or
    0, the SDK's "no previous frame") the samples are spaced 1e9 / ``sample_rate_hz`` ns apart; with one
    (P), sample i gets P + (T - P) x (i + 1) / n. Computed in exact integer arithmetic, rounded to the
    nearest ns (the SDK's doubles are ~128 ns coarse).

    Raises:
        ValueError: if ``n_samples`` < 1 or the rate is not positive.
    """
    if n_samples < 1:
        raise ValueError("a frame has at least one sample")
    if not sample_rate_hz > 0:
        raise ValueError(f"sample_rate_hz must be positive, got {sample_rate_hz}")
    if previous_timestamp_ns == 0:
        previous_timestamp_ns = None
    if (
        previous_timestamp_ns is not None
        and abs(frame_timestamp_ns - previous_timestamp_ns) * 2 * n_samples >= 1 << 62
    ):
        # A span this long would overflow int64 in the vectorised formula: exact Python integers instead.
        p, span, n = (
            int(previous_timestamp_ns),
            int(frame_timestamp_ns) - int(previous_timestamp_ns),
            n_samples,
        )
        return np.array([p + (span * (i + 1) * 2 + n) // (2 * n) for i in range(n)], dtype=np.int64)
    return _sample_times_many(
        np.asarray([frame_timestamp_ns], dtype=np.int64),
        np.asarray([previous_timestamp_ns or 0], dtype=np.int64),
        np.asarray([previous_timestamp_ns is not None]),
        np.asarray([n_samples], dtype=np.int64),
        sample_rate_hz,
    )


def _sample_times_many(
    t_last: IntArray, t_prev: IntArray, spread: npt.NDArray[np.bool_], sizes: IntArray, sample_rate_hz: float
) -> IntArray:
    """Vectorised :func:`pmd_sample_times_ns` over many frames (``spread``: use the previous timestamp)."""
    n_row = np.repeat(sizes, sizes)
    i = np.arange(int(sizes.sum()), dtype=np.int64) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    t_row = np.repeat(t_last, sizes)
    back = n_row - 1 - i
    if float(sample_rate_hz).is_integer():
        fs = int(sample_rate_hz)
        nominal: IntArray = t_row - (back * 2_000_000_000 + fs) // (2 * fs)
    else:
        nominal = t_row - np.rint(back * (1e9 / sample_rate_hz)).astype(np.int64)
    if not spread.any():
        return nominal
    p_row = np.repeat(t_prev, sizes)
    # Callers only spread over plausible spans (a few frame durations), so the product cannot overflow.
    spread_t = p_row + ((t_row - p_row) * (i + 1) * 2 + n_row) // (2 * n_row)
    out: IntArray = np.where(np.repeat(spread, sizes), spread_t, nominal)
    return out


@dataclass(frozen=True, slots=True, kw_only=True)
class PmdFrame:
    """One decoded data frame.

    Attributes:
        header: the parsed header (``header.timestamp_ns`` = the last sample's sensor time).
        counts: wire integers, shape (n, 3) (for GYRO type 1: the float32 bit patterns as signed int32).
        sample_times_ns: int64 (n,), ns since 2000-01-01 on the sensor clock.
        block: the samples in g / deg/s with ``sensor_time_s = sample_times_ns / 1e9``.
    """

    header: PmdFrameHeader
    counts: IntArray
    sample_times_ns: IntArray
    block: SampleBlock


def decode_pmd_frame(
    data: bytes,
    *,
    sample_rate_hz: float,
    factor: float | None = None,
    previous_timestamp_ns: int | None = None,
    expected_type: int | None = None,
) -> PmdFrame:
    """Decode one PMD data notification (ACC or GYRO; raw or delta-compressed), statelessly.

    Args:
        data: the notification bytes.
        sample_rate_hz: the rate selected in START (for the first frame's sample spacing).
        factor: FACTOR from the START response (``PmdResponse.settings().factor``); ``None`` = 1.0.
        previous_timestamp_ns: the previous frame's timestamp of the same stream, ``None`` for the first.
        expected_type: if given, the measurement type the frame must have.

    Raises:
        FrameError: truncated or malformed bytes, an unsupported frame type, an unexpected measurement type.
    """
    scan = _scan(
        [data], None if expected_type is None else expected_type & _TYPE_MASK, strict=True, single=True
    )
    decoded = _decode_scan(scan)
    header = PmdFrameHeader.from_bytes(data)
    times_ns = pmd_sample_times_ns(
        header.timestamp_ns, decoded.counts.shape[0], sample_rate_hz, previous_timestamp_ns
    )
    block = SampleBlock(
        kind=scan.formats[0].kind,
        sensor_time_s=times_ns.astype(np.float64) / 1e9,
        values=_values(decoded, factor),
    )
    return PmdFrame(header=header, counts=decoded.counts, sample_times_ns=times_ns, block=block)


@dataclass(frozen=True, slots=True, kw_only=True)
class PmdBatch:
    """Many notifications of one stream decoded together (:meth:`PmdStreamDecoder.decode_many`).

    Attributes:
        frame_index: (F,) input index of each decoded frame.
        frame_timestamps_ns: (F,) header timestamps (sensor time of each frame's last sample).
        frame_type_bytes: (F,) byte 9 of each frame.
        frame_sizes: (F,) samples per decoded frame.
        counts: (n, 3) wire integers of all decoded frames.
        sample_times_ns: (n,) ns since 2000-01-01 on the sensor clock.
        block: all samples, in g or deg/s, ``sensor_time_s = sample_times_ns / 1e9``.
        rejected: (input index, error) of each frame that was skipped as malformed.
    """

    frame_index: IntArray
    frame_timestamps_ns: IntArray
    frame_type_bytes: IntArray
    frame_sizes: IntArray
    counts: IntArray
    sample_times_ns: IntArray
    block: SampleBlock
    rejected: tuple[tuple[int, FrameError], ...] = ()


class PmdStreamDecoder:
    """Stateful decoder for one PMD stream (one measurement type), as a BLE session or spool reader uses it.

    Keeps the previous frame timestamp per frame-type byte (doc §1.8) so samples are spread over the real
    inter-frame interval. When that interval is implausible (not positive, or more than
    ``max_interval_ratio`` times the nominal duration of the frame's samples, e.g. notifications were lost)
    the frame is timed at the nominal rate instead, so a gap stays visible in the timestamps rather than
    being smeared over the samples. Call :meth:`reset` after STOP or a reconnect (doc §4.6).

    :meth:`decode` takes one notification; :meth:`decode_many` takes many (e.g. a whole spool) and decodes
    them in one vectorised pass, skipping malformed frames.

    Attributes:
        frames: frames decoded; gaps: frames timed nominally because the interval was implausible.
    """

    def __init__(
        self,
        measurement_type: int,
        *,
        sample_rate_hz: float,
        factor: float | None = None,
        max_interval_ratio: float = 1.5,
    ) -> None:
        if not sample_rate_hz > 0:
            raise ValueError(f"sample_rate_hz must be positive, got {sample_rate_hz}")
        self.measurement_type = measurement_type & _TYPE_MASK
        self.sample_rate_hz = float(sample_rate_hz)
        self.factor = factor
        self.max_interval_ratio = max_interval_ratio
        self._previous: dict[int, int] = {}
        self.frames = 0
        self.gaps = 0

    def reset(self) -> None:
        """Forget previous frame timestamps (after STOP, reconnect, or a clock change)."""
        self._previous.clear()

    def decode(self, data: bytes) -> PmdFrame:
        """Decode the next notification of this stream.

        Raises:
            FrameError: as :func:`decode_pmd_frame`; the decoder state is unchanged then.
        """
        batch = self._decode([data], strict=True, single=True)
        return PmdFrame(
            header=PmdFrameHeader.from_bytes(data),
            counts=batch.counts,
            sample_times_ns=batch.sample_times_ns,
            block=batch.block,
        )

    def decode_many(self, frames: Sequence[bytes]) -> PmdBatch:
        """Decode the next notifications of this stream in one pass; malformed ones are skipped and listed.

        Same result as calling :meth:`decode` on each frame in order and concatenating the blocks of those
        that decode, but the per-sample work runs once per chunk of up to ``BATCH_FRAMES`` frames (which
        bounds the scratch memory at a few MB).
        """
        if len(frames) <= BATCH_FRAMES:
            return self._decode(frames, strict=False)
        parts = [
            self._decode(frames[i : i + BATCH_FRAMES], strict=False)
            for i in range(0, len(frames), BATCH_FRAMES)
        ]
        starts = range(0, len(frames), BATCH_FRAMES)
        return PmdBatch(
            frame_index=np.concatenate([p.frame_index + s for p, s in zip(parts, starts, strict=True)]),
            frame_timestamps_ns=np.concatenate([p.frame_timestamps_ns for p in parts]),
            frame_type_bytes=np.concatenate([p.frame_type_bytes for p in parts]),
            frame_sizes=np.concatenate([p.frame_sizes for p in parts]),
            counts=np.concatenate([p.counts for p in parts]),
            sample_times_ns=np.concatenate([p.sample_times_ns for p in parts]),
            block=concat_blocks([p.block for p in parts]),
            rejected=tuple((i + s, e) for p, s in zip(parts, starts, strict=True) for i, e in p.rejected),
        )

    def _decode(self, frames: Sequence[bytes], *, strict: bool, single: bool = False) -> PmdBatch:
        scan = _scan(frames, self.measurement_type, strict=strict, single=single)
        rejected = tuple(scan.rejected)
        if not scan.index:
            kind: SampleKind = "gyro" if self.measurement_type == MeasurementType.GYRO else "acc"
            z = np.zeros(0, np.int64)
            return PmdBatch(
                frame_index=z,
                frame_timestamps_ns=z,
                frame_type_bytes=z,
                frame_sizes=z,
                counts=np.zeros((0, 3), np.int64),
                sample_times_ns=z,
                block=SampleBlock.empty(kind),
                rejected=rejected,
            )
        decoded = _decode_scan(scan)
        times_ns = self._times(decoded.timestamps_ns, decoded.type_bytes, decoded.sizes)
        block = SampleBlock(
            kind=scan.formats[0].kind,
            sensor_time_s=times_ns.astype(np.float64) / 1e9,
            values=_values(decoded, self.factor),
        )
        return PmdBatch(
            frame_index=np.asarray(scan.index, dtype=np.int64),
            frame_timestamps_ns=decoded.timestamps_ns,
            frame_type_bytes=decoded.type_bytes,
            frame_sizes=decoded.sizes,
            counts=decoded.counts,
            sample_times_ns=times_ns,
            block=block,
            rejected=rejected,
        )

    def _times(self, t_last: IntArray, type_bytes: IntArray, sizes: IntArray) -> IntArray:
        """Per-sample times, updating the previous-timestamp state (vectorised per frame-type byte)."""
        t_prev = np.zeros_like(t_last)
        has_prev = np.zeros(t_last.shape[0], dtype=bool)
        kinds = set(type_bytes.tolist())  # frame-type bytes present (normally one)
        for tb in kinds:
            idx = np.arange(t_last.shape[0]) if len(kinds) == 1 else np.flatnonzero(type_bytes == tb)
            stored = self._previous.get(tb)
            t_prev[idx[1:]] = t_last[idx[:-1]]
            has_prev[idx[1:]] = True
            if stored is not None:
                t_prev[idx[0]] = stored
                has_prev[idx[0]] = True
            self._previous[tb] = int(t_last[idx[-1]])
        span = t_last - t_prev
        nominal = sizes * (1e9 / self.sample_rate_hz)
        spread = has_prev & (span > 0) & (span <= self.max_interval_ratio * nominal)
        gaps = int((has_prev & ~spread).sum())
        if gaps:
            logger.debug("%d PMD frame interval(s) implausible: timed at the nominal rate", gaps)
        self.gaps += gaps
        self.frames += int(t_last.shape[0])
        return _sample_times_many(t_last, t_prev, spread, sizes, self.sample_rate_hz)


# --------------------------------------------------------------------------------------------------------
# Data frames: encoding (for the emulated sensors and for round-trip tests)
# --------------------------------------------------------------------------------------------------------


def _bit_length(v: IntArray) -> IntArray:
    """Signed width needed for each value: smallest w with -2**(w-1) <= v < 2**(w-1)."""
    m = np.where(v < 0, ~v, v).astype(np.float64)
    _, e = np.frexp(m)  # exact for |v| < 2**53: m = f * 2**e with f in [0.5, 1), e = bit length of m
    return e.astype(np.int64) + 1


def _pack_fields(fields: IntArray, width: int) -> bytes:
    """Pack non-negative-or-negative ints as ``width``-bit two's-complement fields, LSB-first."""
    if width == 0 or fields.size == 0:
        return b""
    u = fields.astype(np.int64) & ((1 << width) - 1)
    bits = ((u[:, None] >> np.arange(width, dtype=np.int64)[None, :]) & 1).astype(np.uint8)
    return np.packbits(bits.ravel(), bitorder="little").tobytes()


def _encode_reference(ref: IntArray, value_bits: int) -> bytes:
    nbytes = (value_bits + 7) // 8
    mask = (1 << (8 * nbytes)) - 1
    return b"".join((int(v) & mask).to_bytes(nbytes, "little") for v in ref)


def _deltas(counts: IntArray, wrap_32: bool) -> IntArray:
    d = np.diff(counts, axis=0)
    if wrap_32:
        # Bit-pattern deltas taken modulo 2**32 as signed 32-bit, so they always fit 32 bits.
        d = ((d + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)
    return d


def _check_counts(counts: npt.ArrayLike, fmt: FrameFormat) -> IntArray:
    arr = np.asarray(counts, dtype=np.int64)
    if arr.ndim != 2 or arr.shape[1] != fmt.channels or arr.shape[0] < 1:
        raise ValueError(f"counts must have shape (n>=1, {fmt.channels}), got {arr.shape}")
    lo, hi = -(1 << (fmt.value_bits - 1)), (1 << (fmt.value_bits - 1)) - 1
    if fmt.float_bits:
        hi = (1 << 32) - 1  # bit patterns may come as an int32 or a uint32 view
    if arr.min() < lo or arr.max() > hi:
        raise ValueError(f"counts outside the {fmt.value_bits}-bit range")
    return arr


def encode_pmd_frame(
    measurement_type: int,
    counts: npt.ArrayLike,
    *,
    timestamp_ns: int,
    frame_type: int,
    compressed: bool,
    bit_width: int | None = None,
    block_samples: int = _MAX_BLOCK_SAMPLES,
) -> bytes:
    """Encode one data frame from wire integers (no size limit; see :func:`encode_pmd_frames`).

    Args:
        measurement_type: ACC or GYRO.
        counts: (n, 3) integers as the frame carries them (see :func:`values_to_counts`).
        timestamp_ns: the frame timestamp = sensor time of the last sample (ns since 2000-01-01).
        frame_type: 7-bit frame type number (0, 1, 2 raw ACC; 0, 1 compressed).
        compressed: write a delta-compressed frame (0x80 bit).
        bit_width: delta width for every block (>= 2, as a real device / the SDK expects); ``None`` picks
            the smallest width >= 2 that holds each block's deltas.
        block_samples: at most this many deltas per block (1..255); smaller values give multi-block frames.

    Raises:
        ValueError: bad shapes/ranges, ``bit_width`` < 2 or > 32, or a delta that does not fit ``bit_width``.
    """
    fmt = frame_format(measurement_type, frame_type, compressed)
    arr = _check_counts(counts, fmt)
    header = bytes(
        PmdFrameHeader(
            measurement_type=measurement_type & _TYPE_MASK,
            timestamp_ns=int(timestamp_ns),
            frame_type=frame_type,
            compressed=compressed,
        )
    )
    if not compressed:
        size = fmt.value_bits // 8
        mask = (1 << (8 * size)) - 1
        if size in (1, 2, 4):
            dtype = {1: "<u1", 2: "<u2", 4: "<u4"}[size]
            return header + (arr & mask).astype(dtype).tobytes()
        u = (arr & mask).ravel()
        b = ((u[:, None] >> (8 * np.arange(size, dtype=np.int64))[None, :]) & 0xFF).astype(np.uint8)
        return header + b.tobytes()
    _check_block_args(bit_width, block_samples)
    deltas = _deltas(arr, fmt.float_bits)
    plan: list[tuple[int, int]] = []
    for s in range(0, deltas.shape[0], block_samples):
        blk = deltas[s : s + block_samples]
        need = int(_bit_length(blk).max())
        if bit_width is not None and need > bit_width:
            raise ValueError(f"a delta needs {need} bits, more than bit_width={bit_width}")
        plan.append((blk.shape[0], bit_width if bit_width is not None else max(2, need)))
    return header + _encode_compressed_payload(arr[0], deltas, plan, fmt)


def _check_block_args(bit_width: int | None, block_samples: int) -> None:
    if bit_width is not None and not 2 <= bit_width <= _MAX_DELTA_BITS:
        raise ValueError(f"bit_width must be 2..{_MAX_DELTA_BITS}, got {bit_width}")
    if not 1 <= block_samples <= _MAX_BLOCK_SAMPLES:
        raise ValueError(f"block_samples must be 1..{_MAX_BLOCK_SAMPLES}, got {block_samples}")


def _encode_compressed_payload(
    ref: IntArray, deltas: IntArray, plan: list[tuple[int, int]], fmt: FrameFormat
) -> bytes:
    """Reference sample + one block per (N, W) of ``plan``, consuming ``deltas`` in order."""
    out = bytearray(_encode_reference(ref, fmt.value_bits))
    s = 0
    for k, w in plan:
        out += bytes((w, k))
        out += _pack_fields(deltas[s : s + k].ravel(), w)
        s += k
    return bytes(out)


def encode_pmd_frames(
    measurement_type: int,
    values: npt.ArrayLike,
    sample_times_ns: npt.ArrayLike,
    *,
    frame_type: int,
    compressed: bool,
    factor: float | None = None,
    bit_width: int | None = None,
    block_samples: int = _MAX_BLOCK_SAMPLES,
    max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES,
) -> list[bytes]:
    """Encode samples (physical units) into as many frames as needed, each at most ``max_frame_bytes``.

    What an emulated sensor sends: frames filled up to ATT_MTU - 3 (doc §1.9, §4.8), each stamped with the
    sensor time of its last sample.

    Args:
        values: (n, 3) in g (ACC) or deg/s (GYRO); quantised with :func:`values_to_counts`.
        sample_times_ns: (n,) sensor times (ns since 2000-01-01) of the samples, non-decreasing.
        frame_type, compressed, bit_width, block_samples: as :func:`encode_pmd_frame`.
        factor: the FACTOR the sensor announced in its START response (``None`` = 1.0).
        max_frame_bytes: ATT_MTU - 3 of the connection.

    Raises:
        ValueError: bad shapes, a frame size too small for one sample, or a delta wider than ``bit_width``.
    """
    fmt = frame_format(measurement_type, frame_type, compressed)
    vals = np.asarray(values, dtype=np.float64)
    times = np.asarray(sample_times_ns, dtype=np.int64)
    if vals.ndim != 2 or vals.shape[1] != fmt.channels or times.shape != (vals.shape[0],):
        raise ValueError(f"values must be (n, {fmt.channels}) and sample_times_ns (n,)")
    counts = values_to_counts(vals, fmt, factor)
    n = counts.shape[0]
    frames: list[bytes] = []
    if not compressed:
        per_sample = fmt.channels * fmt.value_bits // 8
        per_frame = (max_frame_bytes - FRAME_HEADER_BYTES) // per_sample
        if per_frame < 1:
            raise ValueError(f"max_frame_bytes={max_frame_bytes} cannot hold one sample")
        for s in range(0, n, per_frame):
            e = min(n, s + per_frame)
            frames.append(
                encode_pmd_frame(
                    measurement_type,
                    counts[s:e],
                    timestamp_ns=int(times[e - 1]),
                    frame_type=frame_type,
                    compressed=False,
                )
            )
        return frames

    _check_block_args(bit_width, block_samples)
    ref_bytes = fmt.channels * ((fmt.value_bits + 7) // 8)
    if max_frame_bytes < FRAME_HEADER_BYTES + ref_bytes:
        raise ValueError(f"max_frame_bytes={max_frame_bytes} cannot hold one sample")
    deltas = _deltas(counts, fmt.float_bits)  # deltas[j - 1] leads from sample j - 1 to sample j
    # Width each delta *sample* needs (max over its channels), floored at 2.
    need = np.maximum(_bit_length(deltas).max(axis=1) if n > 1 else np.zeros(0, np.int64), 2)
    if bit_width is not None and need.size and need.max() > bit_width:
        raise ValueError(f"a delta needs {int(need.max())} bits, more than bit_width={bit_width}")
    s = 0
    while s < n:
        budget = max_frame_bytes - FRAME_HEADER_BYTES - ref_bytes
        j = s + 1  # next sample to add as a delta
        plan: list[tuple[int, int]] = []
        # Greedy: the largest block that fits the remaining budget, block after block (one Python
        # iteration per block; the per-sample work is vectorised).
        while j < n and budget >= 2:
            cand = need[j - 1 : j - 1 + min(block_samples, n - j)]
            k = np.arange(1, cand.size + 1)
            w_k = np.full(cand.size, bit_width) if bit_width is not None else np.maximum.accumulate(cand)
            fits = 2 + (w_k * k * fmt.channels + 7) // 8 <= budget
            if not fits[0]:
                break
            kk = int(np.flatnonzero(fits)[-1]) + 1  # fits is monotone: True then False
            w = int(w_k[kk - 1])
            budget -= 2 + (w * kk * fmt.channels + 7) // 8
            plan.append((kk, w))
            j += kk
        header = PmdFrameHeader(
            measurement_type=measurement_type & _TYPE_MASK,
            timestamp_ns=int(times[j - 1]),
            frame_type=frame_type,
            compressed=True,
        )
        frames.append(bytes(header) + _encode_compressed_payload(counts[s], deltas[s : j - 1], plan, fmt))
        s = j
    return frames
