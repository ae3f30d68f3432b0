"""Decoding a Polar spool's PMD frames in batches: duplicates dropped, malformed frames counted.

The spool decoder for ``polar-pmd`` profiles (see :mod:`ingest.spool.notifications` for the contract):
frames are queued per measurement type until the next link event and decoded by one
:meth:`ingest.polar.decode.PmdStreamDecoder.decode_many` call per segment.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import numpy as np
import numpy.typing as npt

from ingest.errors import FrameError
from ingest.polar.constants import FRAME_HEADER_BYTES
from ingest.polar.decode import PmdStreamDecoder
from ingest.polar.formats import PmdFrameHeader
from ingest.profiles import SensorProfile
from ingest.samples import SampleBlock, concat_blocks
from ingest.spool.format import SpoolChunk, SpoolHeader
from ingest.spool.notifications import Notifications, log_malformed, stream_factor, stream_rate_hz

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: A PMD frame's identity for duplicate detection: (measurement type, frame-type byte, timestamp ns).
_FrameKey = tuple[int, int, int]


def _frame_key(payload: bytes) -> _FrameKey:
    """(measurement type, frame-type byte, timestamp ns) of a PMD frame, as :class:`PmdFrameHeader` reads
    them, without building one (this runs once per notification).

    Raises:
        FrameError: as ``PmdFrameHeader.from_bytes``: shorter than the header, or a timestamp >= 2**63.
    """
    if len(payload) < FRAME_HEADER_BYTES or payload[8] & 0x80:
        PmdFrameHeader.from_bytes(payload)  # raises the codec's own error
    # Byte 0: measurement type in the low 6 bits; bytes 1-8: u64 LE timestamp; byte 9: frame-type byte.
    return payload[0] & 0x3F, payload[9], int.from_bytes(payload[1:9], "little")


class PolarSpoolDecoder:
    """PMD frames of any stream name, dispatched on the measurement-type byte and decoded in batches.

    Frames are queued per measurement type until the next link event, which restarts the codec's timing
    state anyway, and each such segment is decoded by one ``PmdStreamDecoder.decode_many`` call (one
    vectorised pass instead of one per frame). The result is frame for frame that of decoding each
    notification in arrival order: a whole frame seen before (same type, frame type and timestamp, in this
    segment or an earlier one) is dropped undecoded; a malformed frame is counted and leaves no trace (so a
    later copy of it is not a duplicate); a frame with non-finite values is counted as malformed after
    decoding (its key counts as seen and it still times the next frame, as the codec's state saw it).
    """

    _KINDS: ClassVar[dict[int, str]] = {2: "acc", 5: "gyro"}

    def __init__(self, header: SpoolHeader, profile: SensorProfile, path: Path) -> None:
        self._header = header
        self._profile = profile
        self._path = path
        self._decoders: dict[int, PmdStreamDecoder] = {}
        self._seen: set[_FrameKey] = set()
        self._queued: dict[int, list[tuple[SpoolChunk, _FrameKey]]] = {}
        self.parts: dict[str, list[Notifications]] = {"acc": [], "gyro": []}
        self.malformed = 0
        self.duplicate_frames = 0

    def add(self, chunk: SpoolChunk) -> None:
        """Queue a notification for its type's batch; one whose header is unusable counts as malformed."""
        try:
            key = _frame_key(chunk.payload)
            mt = key[0]
            kind = self._KINDS.get(mt)
            if kind is None:
                raise FrameError(
                    f"PMD measurement type {mt} is not ACC or GYRO", offset=0, data_len=len(chunk.payload)
                )
            if mt not in self._decoders:
                self._decoders[mt] = self._new_decoder(mt, kind)
        except ValueError as e:
            self._malformed(chunk, e)
            return
        self._queued.setdefault(mt, []).append((chunk, key))

    def reset(self) -> None:
        """A link event: decode the segment queued so far."""
        for mt, items in self._queued.items():
            self._decode_segment(self._decoders[mt], items)
        self._queued.clear()

    def finish(self) -> dict[str, list[Notifications]]:
        """Decode what is still queued; the notifications of each kind in arrival order."""
        self.reset()
        return self.parts

    def _new_decoder(self, measurement_type: int, kind: str) -> PmdStreamDecoder:
        default = self._profile.default_acc_rate_hz if kind == "acc" else self._profile.default_gyro_rate_hz
        rate = stream_rate_hz(self._header, (kind,), default)
        if rate is None:
            raise FrameError(f"no {kind} sample rate in the spool header", offset=0)
        return PmdStreamDecoder(
            measurement_type, sample_rate_hz=rate, factor=stream_factor(self._header, kind)
        )

    def _malformed(self, chunk: SpoolChunk, error: ValueError) -> None:
        self.malformed += 1
        log_malformed(self._path, chunk, error)

    def _select(self, items: list[tuple[SpoolChunk, _FrameKey]], bad: set[int]) -> list[int]:
        """Indices of the frames to decode: all but copies of one seen before that is not in ``bad``."""
        take: list[int] = []
        taken: set[_FrameKey] = set()
        for i, (_, key) in enumerate(items):
            if key in self._seen or key in taken:
                continue
            take.append(i)
            if i not in bad:
                taken.add(key)
        return take

    def _decode_segment(self, dec: PmdStreamDecoder, items: list[tuple[SpoolChunk, _FrameKey]]) -> None:
        # Whether a frame is a duplicate depends on whether its first copy decoded, which is only known
        # after decoding; whether a frame is malformed does not depend on the decoder's state. So: assume
        # every frame decodes, and decode again in the rare case that a malformed frame hid its own copy.
        bad: set[int] = set()
        take = self._select(items, bad)
        while True:
            dec.reset()
            try:
                batch = dec.decode_many([items[i][0].payload for i in take])
            except ValueError:
                # Malformed frames are skipped and listed; anything else the codec raises refuses the
                # whole batch. Frame by frame then, so that only the frames that fail are lost.
                self._decode_one_by_one(dec, items)
                return
            new_bad = {take[j] for j, _ in batch.rejected} - bad
            if not new_bad:
                break
            bad |= new_bad
            again = self._select(items, bad)
            if again == take:
                break
            take = again
        self.duplicate_frames += len(items) - len(take)
        for j, e in batch.rejected:
            self._malformed(items[take[j]][0], e)
        decoded = [take[j] for j in batch.frame_index.tolist()]
        self._seen.update(items[i][1] for i in decoded)
        host_time_s = np.array([items[i][0].host_time_s for i in decoded], dtype=np.float64)
        self._keep(batch.block, batch.frame_sizes, host_time_s)

    def _decode_one_by_one(self, dec: PmdStreamDecoder, items: list[tuple[SpoolChunk, _FrameKey]]) -> None:
        """The segment through ``PmdStreamDecoder.decode``, one notification at a time."""
        dec.reset()
        blocks: list[SampleBlock] = []
        host_time_s: list[float] = []
        for chunk, key in items:
            if key in self._seen:
                self.duplicate_frames += 1
                continue
            try:
                frame = dec.decode(chunk.payload)
            except ValueError as e:
                self._malformed(chunk, e)
                continue
            self._seen.add(key)
            blocks.append(frame.block)
            host_time_s.append(chunk.host_time_s)
        if blocks:
            sizes = np.array([b.n_samples for b in blocks], dtype=np.int64)
            self._keep(concat_blocks(blocks), sizes, np.array(host_time_s, dtype=np.float64))

    def _keep(self, block: SampleBlock, sizes: IntArray, host_time_s: FloatArray) -> None:
        """Add decoded frames to ``parts``, less those with non-finite values (counted as malformed)."""
        if not sizes.size:
            return
        bad_row = ~(np.isfinite(block.values).all(axis=1) & np.isfinite(block.sensor_time_s))
        finite = ~np.logical_or.reduceat(bad_row, np.cumsum(sizes) - sizes)
        if not finite.all():
            # A float32 GYRO frame can carry NaN/inf bit patterns when corrupt: drop the notification.
            self.malformed += int(np.count_nonzero(~finite))
            rows = np.repeat(finite, sizes)
            block = SampleBlock(
                kind=block.kind, sensor_time_s=block.sensor_time_s[rows], values=block.values[rows]
            )
            sizes, host_time_s = sizes[finite], host_time_s[finite]
            if not sizes.size:
                return
        self.parts[block.kind].append(Notifications(block=block, sizes=sizes, host_time_s=host_time_s))
