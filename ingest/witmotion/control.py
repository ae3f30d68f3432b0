"""WitMotion WT901BLE commands and register replies, both directions (doc §2.3, §2.4).

Commands, 5 bytes, written to FFE9: ``FF AA R V_lo V_hi`` writes register R; unlock is ``FF AA 69 88 B5``,
save ``FF AA 00 00 00``, read 8 registers ``FF AA 27 R 00``, output rate ``FF AA 03 code 00`` with codes
0x01..0x0A (0.2 ... 200 Hz). Register reply, 20 bytes: ``55 71 RegL RegH`` then 8 int16 LE registers
starting at Reg. The client (:mod:`ingest.witmotion.client`) sends the commands; the emulated sensor parses
them and answers with replies.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from ingest.errors import FrameError
from ingest.witmotion.formats import FLAG_REGISTER, HEADER, PACKET_BYTES

#: Every command: ``FF AA`` then register and value, 5 bytes (doc §2.3).
COMMAND_PREFIX = b"\xff\xaa"
COMMAND_BYTES = 5

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
