"""Decoding WitMotion WT901BLE notifications: ``55 61`` data packets (and ``55 71`` replies) to samples.

A notification may hold several packets. Resynchronisation rule of :func:`decode_witmotion` (documented
contract):

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

The packets carry no timestamp: the host times them on arrival (:func:`witmotion_sample_times`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ingest.errors import FrameError
from ingest.samples import SampleBlock
from ingest.witmotion.control import RegisterReply
from ingest.witmotion.formats import FLAG_DATA, FLAG_REGISTER, HEADER, PACKET_BYTES, SCALES

FloatArray = npt.NDArray[np.float64]


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
    phys = raw * SCALES
    registers = tuple(RegisterReply.from_bytes(r.tobytes()) for r in rows[~is_data])
    return WitMotionBatch(
        accel_g=np.ascontiguousarray(phys[:, 0:3]),
        gyro_dps=np.ascontiguousarray(phys[:, 3:6]),
        angle_deg=np.ascontiguousarray(phys[:, 6:9]),
        registers=registers,
        skipped_bytes=int(buf.shape[0] - PACKET_BYTES * len(starts)),
        malformed_packets=malformed,
    )
