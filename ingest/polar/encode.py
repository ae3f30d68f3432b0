"""Encoding PMD data frames, for the emulated sensors and for round-trip tests (doc §1.4-1.7).

Raw frames and delta-compressed frames (reference sample, then blocks ``[W][N][ceil(W*N*C/8) bytes]`` of
W-bit two's-complement deltas packed LSB-first, §1.6), split to fit a notification (ATT_MTU - 3).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ingest.polar.constants import (
    DEFAULT_MAX_FRAME_BYTES,
    FRAME_HEADER_BYTES,
    MAX_BLOCK_SAMPLES,
    MAX_DELTA_BITS,
    TYPE_MASK,
)
from ingest.polar.formats import FrameFormat, PmdFrameHeader, frame_format, values_to_counts

IntArray = npt.NDArray[np.int64]


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
    block_samples: int = MAX_BLOCK_SAMPLES,
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
            measurement_type=measurement_type & TYPE_MASK,
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
    if bit_width is not None and not 2 <= bit_width <= MAX_DELTA_BITS:
        raise ValueError(f"bit_width must be 2..{MAX_DELTA_BITS}, got {bit_width}")
    if not 1 <= block_samples <= MAX_BLOCK_SAMPLES:
        raise ValueError(f"block_samples must be 1..{MAX_BLOCK_SAMPLES}, got {block_samples}")


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
    block_samples: int = MAX_BLOCK_SAMPLES,
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
            measurement_type=measurement_type & TYPE_MASK,
            timestamp_ns=int(times[j - 1]),
            frame_type=frame_type,
            compressed=True,
        )
        frames.append(bytes(header) + _encode_compressed_payload(counts[s], deltas[s : j - 1], plan, fmt))
        s = j
    return frames
