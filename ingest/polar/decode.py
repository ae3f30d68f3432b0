"""Decoding PMD data frames to samples: frame by frame, in batches, and as a stream with sample times.

Facts from ``../shared/reference/ble-sensor-protocols.md`` ("doc §x.y"): raw frames (§1.5) and
delta-compressed frames (§1.6: a reference sample, then blocks ``[W][N][ceil(W*N*C/8) bytes]`` of W-bit
two's-complement deltas packed LSB-first); per-sample timestamps (§1.8): the last sample carries the frame
timestamp; the first frame (or the first after a reset/gap) spaces samples at the nominal rate, later
frames spread the interval since the previous frame of the same type evenly over their samples.

Decoding is vectorised: the delta bit-unpacking of all blocks of a frame happens in a handful of NumPy calls
(``np.unpackbits(bitorder="little")``, a gather of each field's bits, a weighted sum, sign extension,
``cumsum``); Python loops only run over blocks (a few per frame) and frames, never over samples.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from ingest.errors import FrameError
from ingest.polar.constants import (
    COMPRESSED_BIT,
    FRAME_HEADER_BYTES,
    FRAME_TYPE_MASK,
    MAX_DELTA_BITS,
    TYPE_MASK,
    MeasurementType,
    type_name,
)
from ingest.polar.formats import FrameFormat, PmdFrameHeader, counts_to_values, frame_format
from ingest.samples import SampleBlock, SampleKind, concat_blocks

logger = logging.getLogger(__name__)

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


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
    mt = data[0] & TYPE_MASK
    if expected_type is not None and mt != expected_type:
        raise FrameError(
            f"expected a {type_name(expected_type)} frame, got {type_name(mt)}", offset=0, data_len=n
        )
    fmt = frame_format(mt, data[9] & FRAME_TYPE_MASK, bool(data[9] & COMPRESSED_BIT))
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
        if w > MAX_DELTA_BITS:
            raise FrameError(f"delta bit width {w} > {MAX_DELTA_BITS}", offset=pos, data_len=n)
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
        [data], None if expected_type is None else expected_type & TYPE_MASK, strict=True, single=True
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
        self.measurement_type = measurement_type & TYPE_MASK
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
