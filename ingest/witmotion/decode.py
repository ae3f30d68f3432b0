"""WitMotion WT901BLE (BLE 5.0) codec: 0x55 0x61 data packets, 0x55 0x71 register replies, commands.

Facts from ``../shared/reference/ble-sensor-protocols.md`` ("doc §x.y"):

- Data packet (§2.2), 20 bytes: ``55 61``, then nine int16 LE: acceleration X/Y/Z (raw / 32768 x 16 g),
  angular rate X/Y/Z (raw / 32768 x 2000 deg/s), angle roll/pitch/yaw (raw / 32768 x 180 deg). No checksum,
  timestamp or counter. A notification may hold several packets.
- Register reply (§2.4), 20 bytes: ``55 71 RegL RegH`` then 8 int16 LE registers starting at Reg.
- Commands (§2.3), 5 bytes, written to FFE9: ``FF AA R V_lo V_hi`` writes register R; unlock is
  ``FF AA 69 88 B5``, save ``FF AA 00 00 00``, read 8 registers ``FF AA 27 R 00``, output rate
  ``FF AA 03 code 00`` with codes 0x01..0x0A (0.2 ... 200 Hz).

Resynchronisation rule of :func:`decode_witmotion` (documented contract):

1. Packet starts are the positions of ``55 61`` or ``55 71``. If the notification is a whole number of
   packets that all start where expected (the normal case), it is decoded in one vectorised step.
2. Otherwise starts are taken greedily left to right, skipping a start that lies inside an accepted
   packet. A start whose packet would not end on another start or at the end of the notification is
   passed over when a later start inside its span does (so garbage containing ``55 61`` does not swallow
   the real packet after it). Bytes outside accepted packets are counted in ``skipped_bytes``; starts that
   could not be taken (overlapping or cut off by the end) in ``malformed_packets``.
3. :class:`~ingest.errors.FrameError` is raised only when the notification holds no complete packet at
   all (empty, pure garbage, or a lone truncated packet). Packets split across notifications are not
   reassembled (a 20-byte packet always fits a notification, ATT_MTU >= 23).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
import numpy.typing as npt

from ingest.errors import FrameError
from ingest.samples import SampleBlock

__all__ = [
    "ACC_SCALE_G",
    "ANGLE_SCALE_DEG",
    "GYRO_SCALE_DPS",
    "PACKET_BYTES",
    "RATE_CODES",
    "Register",
    "RegisterReply",
    "WitCommand",
    "WitMotionBatch",
    "decode_witmotion",
    "encode_register_reply",
    "encode_witmotion_packets",
    "output_rate_command",
    "rate_code_for_hz",
    "rate_hz_for_code",
    "read_register_command",
    "save_command",
    "set_rate_commands",
    "unlock_command",
    "witmotion_sample_times",
    "write_register_command",
]

FloatArray = npt.NDArray[np.float64]

PACKET_BYTES = 20
HEADER = 0x55
FLAG_DATA = 0x61
FLAG_REGISTER = 0x71
COMMAND_PREFIX = b"\xff\xaa"
COMMAND_BYTES = 5

#: g per LSB (±16 g full scale, doc §2.2).
ACC_SCALE_G = 16.0 / 32768.0
#: deg/s per LSB (±2000 deg/s).
GYRO_SCALE_DPS = 2000.0 / 32768.0
#: deg per LSB (±180 deg).
ANGLE_SCALE_DEG = 180.0 / 32768.0
_SCALES = np.array([ACC_SCALE_G] * 3 + [GYRO_SCALE_DPS] * 3 + [ANGLE_SCALE_DEG] * 3)

#: Output rate (Hz) -> RATE register code (doc §2.3; 0x01 is 0.2 Hz in the datasheet, 0.1 Hz elsewhere).
RATE_CODES: Mapping[float, int] = MappingProxyType(
    {
        0.2: 0x01,
        0.5: 0x02,
        1.0: 0x03,
        2.0: 0x04,
        5.0: 0x05,
        10.0: 0x06,
        20.0: 0x07,
        50.0: 0x08,
        100.0: 0x09,
        200.0: 0x0A,
    }
)


class Register(enum.IntEnum):
    """Registers used by hipsync (doc §2.3, §2.4)."""

    SAVE = 0x00
    CALSW = 0x01
    RATE = 0x03
    BANDWIDTH = 0x1F
    READ = 0x27
    VERSION = 0x2E
    YEAR_MONTH = 0x30
    DAY_HOUR = 0x31
    MINUTE_SECOND = 0x32
    MILLISECOND = 0x33
    AX = 0x34
    GX = 0x37
    HX = 0x3A
    ROLL = 0x3D
    TEMPERATURE = 0x40
    Q0 = 0x51
    BATTERY = 0x64
    KEY = 0x69
    MAG_TYPE = 0x72


_UNLOCK_VALUE = 0xB588  # FF AA 69 88 B5


def rate_code_for_hz(rate_hz: float) -> int:
    """RATE register code for an output rate.

    Raises:
        ValueError: if the rate is not one of :data:`RATE_CODES`.
    """
    for hz, code in RATE_CODES.items():
        if abs(hz - rate_hz) < 1e-9:
            return code
    raise ValueError(f"unsupported WitMotion output rate {rate_hz} Hz; choose one of {sorted(RATE_CODES)}")


def rate_hz_for_code(code: int) -> float:
    """Output rate (Hz) of a RATE register code.

    Raises:
        ValueError: for an unknown code.
    """
    for hz, c in RATE_CODES.items():
        if c == code:
            return hz
    raise ValueError(f"unknown WitMotion rate code 0x{code:02X}")


# --------------------------------------------------------------------------------------------------------
# Commands (host -> sensor, FFE9)
# --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class WitCommand:
    """A 5-byte command ``FF AA R V_lo V_hi``: write the 16-bit ``value`` to ``register``.

    Unlock, save and read are writes to the registers KEY (0x69), SAVE (0x00) and READ (0x27).
    """

    register: int
    value: int

    @classmethod
    def from_bytes(cls, data: bytes) -> WitCommand:
        """Parse a command as the emulated sensor receives it.

        Raises:
            FrameError: not exactly 5 bytes or not starting ``FF AA``.
        """
        if len(data) != COMMAND_BYTES or data[:2] != COMMAND_PREFIX:
            raise FrameError(
                f"WitMotion command must be 5 bytes starting FF AA, got {bytes(data).hex(' ')}",
                data_len=len(data),
            )
        return cls(register=data[2], value=int.from_bytes(data[3:5], "little"))

    def __bytes__(self) -> bytes:
        if not 0 <= self.register <= 0xFF or not 0 <= self.value <= 0xFFFF:
            raise ValueError(f"register must be a byte and value a u16, got {self.register}, {self.value}")
        return COMMAND_PREFIX + bytes((self.register,)) + self.value.to_bytes(2, "little")

    @property
    def is_unlock(self) -> bool:
        """``FF AA 69 88 B5``."""
        return self.register == Register.KEY and self.value == _UNLOCK_VALUE

    @property
    def is_save(self) -> bool:
        """``FF AA 00 00 00`` (save to flash)."""
        return self.register == Register.SAVE and self.value == 0

    @property
    def read_register(self) -> int | None:
        """The first register of a read request ``FF AA 27 R 00``, else ``None``."""
        return self.value & 0xFF if self.register == Register.READ else None


def unlock_command() -> bytes:
    """``FF AA 69 88 B5``: unlock configuration writes for about 10 s."""
    return bytes(WitCommand(register=Register.KEY, value=_UNLOCK_VALUE))


def save_command() -> bytes:
    """``FF AA 00 00 00``: save the configuration to flash."""
    return bytes(WitCommand(register=Register.SAVE, value=0))


def write_register_command(register: int, value: int) -> bytes:
    """``FF AA R V_lo V_hi``: write a 16-bit value (negative values are written as two's complement)."""
    return bytes(WitCommand(register=register, value=value & 0xFFFF))


def read_register_command(register: int) -> bytes:
    """``FF AA 27 R 00``: ask for 8 registers from ``register`` (answered by a ``55 71`` reply)."""
    return bytes(WitCommand(register=Register.READ, value=register & 0xFF))


def output_rate_command(rate_hz: float) -> bytes:
    """``FF AA 03 code 00``: set the output rate (send :func:`unlock_command` first).

    Raises:
        ValueError: if the rate is not one of :data:`RATE_CODES`.
    """
    return write_register_command(Register.RATE, rate_code_for_hz(rate_hz))


def set_rate_commands(rate_hz: float, *, persist: bool = False) -> list[bytes]:
    """The command sequence to set the output rate: unlock, rate, (save), then read back RATE to confirm.

    Writes are not acknowledged (doc §2.3); the trailing read makes the sensor answer with a ``55 71``
    reply whose first value is the RATE code.
    """
    cmds = [unlock_command(), output_rate_command(rate_hz)]
    if persist:
        cmds.append(save_command())
    cmds.append(read_register_command(Register.RATE))
    return cmds


# --------------------------------------------------------------------------------------------------------
# Packets (sensor -> host, FFE4)
# --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class RegisterReply:
    """A ``55 71`` reply: 8 consecutive int16 registers starting at ``start_register``."""

    start_register: int
    values: tuple[int, ...]

    @classmethod
    def from_bytes(cls, data: bytes) -> RegisterReply:
        """Parse one 20-byte reply.

        Raises:
            FrameError: wrong length or header.
        """
        if len(data) != PACKET_BYTES or data[0] != HEADER or data[1] != FLAG_REGISTER:
            raise FrameError("not a 20-byte WitMotion register reply", data_len=len(data))
        vals = np.frombuffer(bytes(data[4:20]), dtype="<i2")
        return cls(start_register=int.from_bytes(data[2:4], "little"), values=tuple(int(v) for v in vals))

    def __bytes__(self) -> bytes:
        return encode_register_reply(self.start_register, self.values)


def encode_register_reply(start_register: int, values: tuple[int, ...] | list[int]) -> bytes:
    """A ``55 71`` reply carrying up to 8 int16 register values (missing ones are 0).

    Raises:
        ValueError: more than 8 values or a value outside int16.
    """
    if len(values) > 8:
        raise ValueError("a register reply carries 8 registers")
    vals = list(values) + [0] * (8 - len(values))
    if any(not -32768 <= v <= 32767 for v in vals):
        raise ValueError("register values are int16")
    return (
        bytes((HEADER, FLAG_REGISTER))
        + (start_register & 0xFFFF).to_bytes(2, "little")
        + np.asarray(vals, dtype="<i2").tobytes()
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class WitMotionBatch:
    """What one notification decodes to.

    Attributes:
        accel_g: (n, 3) acceleration in g.
        gyro_dps: (n, 3) angular rate in deg/s.
        angle_deg: (n, 3) roll, pitch, yaw in degrees (the sensor's own fusion).
        registers: ``55 71`` replies found in the notification, in order.
        skipped_bytes: bytes that belonged to no complete packet.
        malformed_packets: packet starts that could not be decoded (cut off or overlapped).
    """

    accel_g: FloatArray
    gyro_dps: FloatArray
    angle_deg: FloatArray
    registers: tuple[RegisterReply, ...] = ()
    skipped_bytes: int = 0
    malformed_packets: int = 0

    @property
    def n_samples(self) -> int:
        """Number of data packets (samples)."""
        return int(self.accel_g.shape[0])

    def to_blocks(self, sensor_time_s: npt.ArrayLike) -> tuple[SampleBlock, SampleBlock]:
        """(acc, gyro) sample blocks on the given time axis, shape (n,) (see :func:`witmotion_sample_times`).

        Raises:
            ValueError: if the time axis does not have n entries.
        """
        t = np.asarray(sensor_time_s, dtype=np.float64)
        return (
            SampleBlock(kind="acc", sensor_time_s=t, values=self.accel_g),
            SampleBlock(kind="gyro", sensor_time_s=t.copy(), values=self.gyro_dps),
        )


def witmotion_sample_times(receive_time_s: float, n_samples: int, fs_hz: float) -> FloatArray:
    """A time axis for ``n_samples`` packets received together (the packets carry no time, doc §2.2).

    The last packet is put at ``receive_time_s`` and earlier ones 1 / ``fs_hz`` apart before it.
    """
    if not fs_hz > 0:
        raise ValueError(f"fs_hz must be positive, got {fs_hz}")
    return receive_time_s - (n_samples - 1 - np.arange(n_samples, dtype=np.float64)) / fs_hz


def _find_packet_starts(buf: npt.NDArray[np.uint8]) -> tuple[list[int], int]:
    """Resynchronising packet finder (rule 2 of the module docstring): (accepted starts, malformed)."""
    n = buf.shape[0]
    if n < 2:
        return [], 0
    cands = np.flatnonzero((buf[:-1] == HEADER) & ((buf[1:] == FLAG_DATA) | (buf[1:] == FLAG_REGISTER)))
    cand_set = set(cands.tolist())

    def anchored(c: int) -> bool:
        return c + PACKET_BYTES == n or (c + PACKET_BYTES) in cand_set

    # One iteration per packet start, only on the resync path (the normal case is vectorised).
    accepted: list[int] = []
    malformed = 0
    free = 0
    cl = cands.tolist()
    for i, c in enumerate(cl):
        if c < free:
            continue  # inside an accepted packet: ordinary data bytes that happen to read 55 61
        if c + PACKET_BYTES > n:
            malformed += 1  # cut off by the end of the notification
            continue
        if not anchored(c):
            later = [d for d in cl[i + 1 :] if d < c + PACKET_BYTES]
            if any(anchored(d) for d in later):
                malformed += 1
                continue
        accepted.append(c)
        free = c + PACKET_BYTES
    return accepted, malformed


def decode_witmotion(data: bytes) -> WitMotionBatch:
    """Decode one FFE4 notification: any number of ``55 61`` / ``55 71`` packets, with resync.

    Raises:
        FrameError: if the notification holds no complete packet (rule 3 of the module docstring).
    """
    n = len(data)
    buf = np.frombuffer(bytes(data), dtype=np.uint8)
    if n and n % PACKET_BYTES == 0:
        rows = buf.reshape(-1, PACKET_BYTES)
        if (rows[:, 0] == HEADER).all() and np.isin(rows[:, 1], (FLAG_DATA, FLAG_REGISTER)).all():
            starts = (np.arange(rows.shape[0]) * PACKET_BYTES).tolist()
            return _decode_at(buf, starts, malformed=0)
    starts, malformed = _find_packet_starts(buf)
    if not starts:
        raise FrameError(
            f"no complete WitMotion packet in {n} bytes ({malformed} truncated)", offset=0, data_len=n
        )
    return _decode_at(buf, starts, malformed=malformed)


def _decode_at(buf: npt.NDArray[np.uint8], starts: list[int], *, malformed: int) -> WitMotionBatch:
    idx = np.asarray(starts, dtype=np.int64)
    rows = buf[idx[:, None] + np.arange(PACKET_BYTES)[None, :]]
    is_data = rows[:, 1] == FLAG_DATA
    data_rows = np.ascontiguousarray(rows[is_data, 2:])
    raw = data_rows.view("<i2").astype(np.float64).reshape(-1, 9)
    phys = raw * _SCALES
    registers = tuple(RegisterReply.from_bytes(r.tobytes()) for r in rows[~is_data])
    return WitMotionBatch(
        accel_g=np.ascontiguousarray(phys[:, 0:3]),
        gyro_dps=np.ascontiguousarray(phys[:, 3:6]),
        angle_deg=np.ascontiguousarray(phys[:, 6:9]),
        registers=registers,
        skipped_bytes=int(buf.shape[0] - PACKET_BYTES * len(starts)),
        malformed_packets=malformed,
    )


def encode_witmotion_packets(
    accel_g: npt.ArrayLike, gyro_dps: npt.ArrayLike, angle_deg: npt.ArrayLike | None = None
) -> bytes:
    """Encode n samples as n concatenated 20-byte ``55 61`` packets (what an emulated sensor notifies).

    Values are rounded to the nearest LSB and clipped to the int16 range (±16 g, ±2000 deg/s, ±180 deg).
    ``angle_deg`` defaults to zeros.

    Raises:
        ValueError: if the arrays are not (n, 3) of equal n.
    """
    acc = np.asarray(accel_g, dtype=np.float64)
    gyr = np.asarray(gyro_dps, dtype=np.float64)
    ang = np.zeros_like(acc) if angle_deg is None else np.asarray(angle_deg, dtype=np.float64)
    if acc.ndim != 2 or acc.shape[1] != 3 or gyr.shape != acc.shape or ang.shape != acc.shape:
        raise ValueError("accel_g, gyro_dps and angle_deg must all have shape (n, 3)")
    raw = np.clip(np.rint(np.hstack([acc, gyr, ang]) / _SCALES), -32768, 32767).astype("<i2")
    out = np.empty((acc.shape[0], PACKET_BYTES), dtype=np.uint8)
    out[:, 0] = HEADER
    out[:, 1] = FLAG_DATA
    out[:, 2:] = raw.view(np.uint8).reshape(-1, 18)
    return out.tobytes()
