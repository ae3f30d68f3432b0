"""Decoding a WitMotion spool: packets decoded as they come, timed afterwards from host receive times.

The spool decoder for ``witmotion`` profiles (see :mod:`ingest.spool.notifications` for the contract).
WitMotion packets carry no time, so samples are placed on a host-time axis reconstructed per continuous
segment (:meth:`WitMotionSpoolDecoder.blocks`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt

from ingest.profiles import SensorProfile
from ingest.samples import SampleBlock
from ingest.spool.format import SpoolChunk, SpoolHeader
from ingest.spool.notifications import Notifications, log_malformed, stream_rate_hz
from ingest.witmotion.decode import WitMotionBatch, decode_witmotion

FloatArray = npt.NDArray[np.float64]

#: WitMotion packets carry no time: a new timing segment starts when notifications arrive this much later
#: (s) than the samples they hold could account for (lost notifications or a link drop).
WITMOTION_GAP_TOLERANCE_S = 0.5


class WitMotionSpoolDecoder:
    """WitMotion packets carry no time: decode now, time them afterwards from host receive times."""

    def __init__(self, header: SpoolHeader, profile: SensorProfile, path: Path) -> None:
        self.fs_hz = stream_rate_hz(header, ("imu", "acc", "data"), profile.default_acc_rate_hz)
        self.batches: list[tuple[float, int, WitMotionBatch]] = []  # (receive time, segment, batch)
        self.malformed = 0
        self.duplicate_frames = 0  # WitMotion packets have no identity: never counted
        self._segment = 0
        self._path = path

    def reset(self) -> None:
        self._segment += 1

    def add(self, chunk: SpoolChunk) -> None:
        try:
            batch = decode_witmotion(chunk.payload)
        except ValueError as e:
            self.malformed += 1
            log_malformed(self._path, chunk, e)
            return
        if batch.n_samples:
            self.batches.append((chunk.host_time_s, self._segment, batch))

    def finish(self) -> dict[str, list[Notifications]]:
        """The samples of each kind, one entry per timing segment (see :meth:`blocks`)."""
        parts: dict[str, list[Notifications]] = {"acc": [], "gyro": []}
        for b in self.blocks():
            one = np.array([b.n_samples], dtype=np.int64)
            parts[b.kind].append(Notifications(block=b, sizes=one, host_time_s=np.full(1, np.nan)))
        return parts

    def blocks(self) -> list[SampleBlock]:
        """ACC and GYRO blocks on a host-time axis reconstructed per continuous segment.

        Within a segment, sample k is at ``a + k x period``. ``a`` is the lower envelope of (receive time
        of a notification - offset of its last sample): latency is never negative, so the least delayed
        notification pins the clock. ``period`` is the nominal one, or for segments over 20 s the
        least-squares slope of receive time over sample index when within 5 % of nominal (the sensor's
        crystal, not the nominal rate, sets the spacing). A segment ends at a link event, or where
        notifications start arriving more than ``WITMOTION_GAP_TOLERANCE_S`` later than the samples
        received so far account for, and stay late (a gap); a single late notification is latency, not
        a gap. Segments never overlap (a later one starts at least one period after the previous one).
        """
        if not self.batches or self.fs_hz is None:
            return []
        nominal = 1.0 / self.fs_hz
        recv = np.array([r for r, _, _ in self.batches], dtype=np.float64)
        seg_id = np.array([s for _, s, _ in self.batches], dtype=np.int64)
        counts = np.array([b.n_samples for _, _, b in self.batches], dtype=np.int64)
        starts = _witmotion_segment_starts(recv, seg_id, counts, nominal)
        out: list[SampleBlock] = []
        prev_last = -np.inf
        for a, b in zip(starts, [*starts[1:], len(self.batches)], strict=True):
            n_seg = counts[a:b]
            k_last = np.cumsum(n_seg) - 1
            r = recv[a:b]
            period = nominal
            if r[-1] - r[0] > 20.0 and k_last[-1] > 0:
                slope = float(np.polyfit(k_last.astype(np.float64), r, 1)[0])
                if abs(slope / nominal - 1.0) < 0.05:
                    period = slope
            anchor = max(float(np.min(r - k_last * period)), prev_last + nominal)
            t = anchor + np.arange(int(n_seg.sum()), dtype=np.float64) * period
            prev_last = float(t[-1])
            seg = self.batches[a:b]
            acc = np.concatenate([x.accel_g for _, _, x in seg])
            gyro = np.concatenate([x.gyro_dps for _, _, x in seg])
            out.append(SampleBlock(kind="acc", sensor_time_s=t, values=acc))
            out.append(SampleBlock(kind="gyro", sensor_time_s=t.copy(), values=gyro))
        return out


def _witmotion_segment_starts(
    recv: FloatArray, seg_id: npt.NDArray[np.int64], counts: npt.NDArray[np.int64], period: float
) -> list[int]:
    """Indices of notifications that start a continuous segment (see ``WitMotionSpoolDecoder.blocks``)."""
    window = 50  # notifications that set the local baseline (tracks clock drift)
    look = 3  # notifications that must all be late for a gap (a lone late one is latency)
    starts = [0]
    k_last = np.cumsum(counts) - 1
    d = recv - k_last * period  # constant + latency within a gap-free stretch
    for j in range(1, recv.shape[0]):
        if seg_id[j] != seg_id[j - 1]:
            starts.append(j)
            continue
        lo = max(starts[-1], j - window)
        base = float(np.min(d[lo:j]))
        if float(np.min(d[j : j + look])) - base > WITMOTION_GAP_TOLERANCE_S:
            starts.append(j)
    return starts
