"""The PMD control point, both directions: requests, responses, continuation packets, indications, features.

Requests ``[op][request byte][params]`` (doc §1.3.2); responses ``[F0][op][type][status][more][params]``
with status codes (§1.3.3) and continuation packets (``more != 0``, §1.3.3); the 17-byte feature read
(§1.3.1); the unsolicited "measurement stopped" indication ``[01][type]...`` (§1.3.3). The GATT client
that sends and receives these is :mod:`ingest.polar.client`; the emulated sensors answer them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from ingest.errors import ControlPointError, FrameError
from ingest.polar.constants import (
    FEATURES_MARKER,
    OFFLINE_BIT,
    RESPONSE_MARKER,
    STOPPED_NOTICE_MARKER,
    TYPE_MASK,
    MeasurementType,
    PmdOp,
    PmdStatus,
    status_name,
    type_name,
)
from ingest.polar.settings import PmdSettings

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
            measurement_type=data[1] & TYPE_MASK,
            offline=bool(data[1] & OFFLINE_BIT),
            settings=settings,
        )

    def __bytes__(self) -> bytes:
        if self.op not in _OPS_WITH_TYPE:
            return bytes((self.op,))
        if self.measurement_type is None or not 0 <= self.measurement_type <= TYPE_MASK:
            raise ValueError(f"{self.op.name} needs a measurement type 0..63")
        request_byte = (OFFLINE_BIT if self.offline else 0) | self.measurement_type
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
            measurement_type=data[2] & TYPE_MASK,
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
        return status_name(self.status)

    def raise_for_status(self, *, sensor: str | None = None) -> PmdResponse:
        """Return ``self`` on success, else raise.

        Raises:
            ControlPointError: with ``op``, ``status``, ``status_name``, ``measurement_type``.
        """
        if self.ok:
            return self
        raise ControlPointError(
            f"PMD {_op_name(self.op)} {type_name(self.measurement_type)} failed: "
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
        return cls(measurement_types=tuple(b & TYPE_MASK for b in data[1:]))

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
    return {b & TYPE_MASK: (b >> 6) for b in parameters}  # type: ignore[misc]


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
