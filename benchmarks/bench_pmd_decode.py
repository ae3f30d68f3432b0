"""PMD delta-frame decode throughput: the vectorised decoder vs a per-sample pure-Python bit reader.

Frames: Verity-Sense-like ACC frames (0x81, 16-bit reference, blocks of mixed delta widths, at most
229 bytes = ATT_MTU 232 - 3), encoded once from a seeded random walk. Both decoders run on the same frames
in the same process; the baseline's output is checked against ours before timing.

Run: ``uv run python -m benchmarks pmd_decode``.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from ingest.polar.constants import FRAME_HEADER_BYTES, MeasurementType
from ingest.polar.decode import PmdStreamDecoder, decode_pmd_counts, decode_pmd_counts_many
from ingest.polar.encode import encode_pmd_frames

FS_HZ = 52
N_SAMPLES = 60_000  # ~19 min at 52 Hz, ~1 000 frames
MIN_SECONDS = 0.3
ROUNDS = 5


def python_decode_delta_frame(frame: bytes) -> list[list[int]]:
    """Straightforward baseline: read every delta bit by bit, sample by sample (ACC 0x81, 3 x int16 ref)."""
    payload = frame[FRAME_HEADER_BYTES:]
    ref = [int.from_bytes(payload[2 * c : 2 * c + 2], "little", signed=True) for c in range(3)]
    samples = [ref]
    pos = 6
    while pos < len(payload):
        width, count = payload[pos], payload[pos + 1]
        pos += 2
        bitpos = 0
        prev = samples[-1]
        for _ in range(count):
            cur = []
            for c in range(3):
                v = 0
                for b in range(width):
                    byte = payload[pos + (bitpos >> 3)]
                    v |= ((byte >> (bitpos & 7)) & 1) << b
                    bitpos += 1
                if width and v & (1 << (width - 1)):
                    v -= 1 << width
                cur.append(prev[c] + v)
            samples.append(cur)
            prev = cur
        pos += (width * count * 3 + 7) // 8
    return samples


def python_decode_to_g(frame: bytes) -> list[list[float]]:
    """Baseline including the unit conversion (mG -> g), to compare with the full decoder."""
    return [[v / 1000.0 for v in s] for s in python_decode_delta_frame(frame)]


def make_frames(seed: int = 7) -> list[bytes]:
    rng = np.random.default_rng(seed)
    # Thigh-like motion in g: slow swings plus sensor noise, so delta widths vary (about 5 to 10 bits).
    t = np.arange(N_SAMPLES) / FS_HZ
    swing = 0.6 * np.sin(2 * np.pi * 0.4 * t)[:, None] * np.array([1.0, 0.5, 0.2])
    vals = swing + np.array([0.0, 0.0, 1.0]) + rng.normal(0.0, 0.02, (N_SAMPLES, 3))
    times_ns = 757_382_400_000_000_000 + (np.arange(N_SAMPLES) * 2 * 10**9 + FS_HZ) // (2 * FS_HZ)
    return encode_pmd_frames(
        MeasurementType.ACC,
        vals,
        times_ns,
        frame_type=1,
        compressed=True,
        block_samples=16,
        max_frame_bytes=229,
    )


def _rate(fn: Callable[[], int]) -> float:
    """Samples per CPU second of ``fn`` (which decodes everything once and returns the sample count).

    CPU time of this process (``time.process_time``), over at least MIN_SECONDS: the machine may be
    shared, and wall time would then measure the neighbours as much as the decoder.
    """
    samples = 0
    t0 = time.process_time()
    while True:
        samples += fn()
        elapsed = time.process_time() - t0
        if elapsed >= MIN_SECONDS:
            return samples / elapsed


def main() -> None:
    frames = make_frames()
    n_total = sum(decode_pmd_counts(f)[2].shape[0] for f in frames)
    widths = sorted({f[p] for f in frames for p in _block_offsets(f)})
    print(
        f"{len(frames)} frames, {n_total} samples, {n_total / len(frames):.1f} samples/frame, widths {widths}"
    )

    # Same answers before timing anything.
    for f in frames[:50]:
        ours = decode_pmd_counts(f)[2]
        assert ours.tolist() == python_decode_delta_frame(f), "baseline disagrees with the vectorised decoder"

    def vec_counts() -> int:
        return sum(decode_pmd_counts(f)[2].shape[0] for f in frames)

    def vec_full() -> int:
        dec = PmdStreamDecoder(MeasurementType.ACC, sample_rate_hz=FS_HZ)
        return sum(dec.decode(f).block.n_samples for f in frames)

    def vec_batch_counts() -> int:
        return int(decode_pmd_counts_many(frames).counts.shape[0])

    def vec_batch_full() -> int:
        dec = PmdStreamDecoder(MeasurementType.ACC, sample_rate_hz=FS_HZ)
        return dec.decode_many(frames).block.n_samples

    def py_counts() -> int:
        return sum(len(python_decode_delta_frame(f)) for f in frames)

    def py_full() -> int:
        return sum(len(python_decode_to_g(f)) for f in frames)

    # Same answers from the batch path.
    batch = PmdStreamDecoder(MeasurementType.ACC, sample_rate_hz=FS_HZ).decode_many(frames)
    one_by_one = PmdStreamDecoder(MeasurementType.ACC, sample_rate_hz=FS_HZ)
    assert np.array_equal(
        batch.block.values, np.concatenate([one_by_one.decode(f).block.values for f in frames])
    )

    # Rounds that time every decoder back to back; ratios are taken within a round (same machine state)
    # and the medians over rounds are reported, so a busy neighbour in one round does not decide the result.
    candidates = [
        ("pure-Python bit reader, per sample (integers)", py_counts, 0),
        ("vectorised, one frame per call (decode_pmd_counts)", vec_counts, 0),
        ("vectorised, all frames per call (decode_pmd_counts_many)", vec_batch_counts, 0),
        ("pure-Python bit reader + mG -> g", py_full, 3),
        ("vectorised, one frame per call (PmdStreamDecoder.decode)", vec_full, 3),
        ("vectorised, all frames per call (.decode_many)", vec_batch_full, 3),
    ]
    rates = np.array([[_rate(fn) for _, fn, _ in candidates] for _ in range(ROUNDS)])
    ratios = rates / rates[:, [base for _, _, base in candidates]]
    rate_med = np.median(rates, axis=0)
    ratio_med = np.median(ratios, axis=0)
    title = f"decoder (median of {ROUNDS} rounds, per CPU second)"
    print(f"{title:<60} {'samples/s':>13} {'vs baseline':>12}")
    for (name, _, _), rate, ratio in zip(candidates, rate_med, ratio_med, strict=True):
        print(f"{name:<60} {rate:13,.0f} {ratio:11.1f}x")
    print(
        f"speed-up vs pure Python: per-frame calls {ratio_med[1]:.1f}x (integers) / {ratio_med[4]:.1f}x "
        f"(g + times); batched {ratio_med[2]:.1f}x / {ratio_med[5]:.1f}x "
        f"(range over rounds {ratios[:, 2].min():.1f}-{ratios[:, 2].max():.1f}x / "
        f"{ratios[:, 5].min():.1f}-{ratios[:, 5].max():.1f}x; target >= 20x)"
    )


def _block_offsets(frame: bytes) -> list[int]:
    pos, out = FRAME_HEADER_BYTES + 6, []
    while pos < len(frame):
        out.append(pos)
        pos += 2 + (frame[pos] * frame[pos + 1] * 3 + 7) // 8
    return out


if __name__ == "__main__":
    main()
