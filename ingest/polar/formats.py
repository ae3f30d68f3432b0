"""PMD data frames: the 10-byte header and, per (measurement type, frame type), the sample format and units.

Header ``[type][u64 LE ns since 2000-01-01 of the LAST sample][frame type]`` (doc §1.4); raw frames (§1.5)
and delta-compressed frames (bit 0x80 of the frame-type byte, §1.6). Units and factor (§1.7): ACC raw ->
mG; ACC compressed type 0 -> value x factor g; ACC compressed type 1 -> value x factor mG; GYRO compressed
type 0 -> value x factor deg/s; GYRO compressed type 1 -> the running 32-bit sum is a float32 bit
pattern, x factor deg/s. A missing factor means 1.0.

Extensions beyond the doc (marked where used): raw GYRO frames (type 0: int16 x factor, type 1: float32 x
factor) which the Polar SDK does not parse; used only between our own encoder and decoder.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ingest.errors import FrameError
from ingest.polar.constants import (
    COMPRESSED_BIT,
    FRAME_HEADER_BYTES,
    FRAME_TYPE_MASK,
    TYPE_MASK,
    MeasurementType,
    type_name,
)
from ingest.samples import SampleKind

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


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
    key = (measurement_type & TYPE_MASK, frame_type, bool(compressed))
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
        f"unsupported PMD frame: {type_name(mt)} frame type {frame_type}"
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
            measurement_type=data[0] & TYPE_MASK,
            timestamp_ns=ts,
            frame_type=data[9] & FRAME_TYPE_MASK,
            compressed=bool(data[9] & COMPRESSED_BIT),
        )

    def __bytes__(self) -> bytes:
        return (
            bytes((self.measurement_type,))
            + self.timestamp_ns.to_bytes(8, "little")
            + bytes(((COMPRESSED_BIT if self.compressed else 0) | self.frame_type,))
        )

    @property
    def frame_type_byte(self) -> int:
        """Byte 9 as sent (with the 0x80 compression bit)."""
        return (COMPRESSED_BIT if self.compressed else 0) | self.frame_type
