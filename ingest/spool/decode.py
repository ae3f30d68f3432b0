"""Decoding a spool to samples: the protocol's spool decoder, then duplicates dropped, gaps found, one clock.

:func:`decode_spool` feeds the spool's data chunks to the profile's spool decoder
(:mod:`ingest.polar.spool_decoder` or :mod:`ingest.witmotion.spool_decoder`), restarting timing at link
events; drops samples already covered (a frame re-sent after a reconnect); reports gaps; interpolates the
gyro onto the ACC times; and places the first sample in UTC from the header's clock references. The
result, :class:`DecodedSpool`, carries the analysis input (``recording``) and what was dropped on the way.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from hipsync.records import Recording, Side
from ingest.errors import SpoolError, UnknownProfileError
from ingest.polar.spool_decoder import PolarSpoolDecoder
from ingest.profiles import SensorProfile, get_profile
from ingest.samples import SampleBlock, concat_blocks
from ingest.spool.format import Spool, SpoolEventKind
from ingest.spool.notifications import Notifications, SpoolDecoder, stream_rate_hz
from ingest.witmotion.spool_decoder import WitMotionSpoolDecoder

logger = logging.getLogger(__name__)

#: Streams kept in the spool for the record but not decoded as samples (control-point traffic).
CONTROL_STREAMS = frozenset({"cp", "control", "control_point", "pmd_cp", "command", "cmd"})
#: Link events after which a stream's timing state restarts (the sensor may have re-sent or skipped data).
_RESET_EVENTS = frozenset(
    {
        SpoolEventKind.CONNECTED,
        SpoolEventKind.LOST,
        SpoolEventKind.RECONNECTED,
        SpoolEventKind.STREAM_STARTED,
        SpoolEventKind.STREAM_STOPPED,
        SpoolEventKind.STALLED,
    }
)
#: A step in sample times larger than this many nominal periods is reported as a gap.
GAP_PERIODS = 3.0

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True, kw_only=True)
class DecodedSpool:
    """A spool decoded to samples, with what was dropped on the way.

    Attributes:
        recording: the analysis input; ``time_s`` = seconds from the first ACC sample, gyro (when present)
            interpolated onto the ACC times, ``started_at`` = UTC of the first ACC sample.
        acc: the ACC samples on the sensor clock (s), after duplicate removal; ``gyro`` likewise or None.
        fs_hz: nominal ACC rate from the header (None if the header does not say).
        malformed_chunks: notifications that failed to decode (counted and skipped).
        duplicate_frames: whole PMD frames received twice (same type and timestamp), dropped.
        duplicate_samples: samples dropped because their sensor time was already covered.
        ignored_chunks: chunks of control streams (``CONTROL_STREAMS``), not samples.
        gaps: ``(start_s, end_s)`` on ``recording.time_s`` where ACC times step by more than
            ``GAP_PERIODS`` nominal periods.
        expected_samples: samples the sensor clock implies over the recording at ``fs_hz``.
    """

    recording: Recording
    acc: SampleBlock
    gyro: SampleBlock | None
    fs_hz: float | None
    malformed_chunks: int
    duplicate_frames: int
    duplicate_samples: int
    ignored_chunks: int
    gaps: tuple[tuple[float, float], ...]
    expected_samples: int


def _dedupe(parts: list[Notifications], fs_hz: float | None) -> tuple[SampleBlock | None, int]:
    """Keep, in arrival order, only samples later (by half a period) than the last sample kept from the
    notifications before; return the kept samples (None if none) and the number dropped.

    The samples of one notification are compared with those before it, not with each other.
    """
    if not parts:
        return None, 0
    block = parts[0].block if len(parts) == 1 else concat_blocks([p.block for p in parts])
    sizes = parts[0].sizes if len(parts) == 1 else np.concatenate([p.sizes for p in parts])
    t = block.sensor_time_s
    tol = 0.5 / fs_hz if fs_hz else 0.0
    ends = np.cumsum(sizes)
    starts = ends - sizes
    # The floor of each notification depends on what the ones before kept: one scalar step per
    # notification, the per-sample comparison vectorised afterwards.
    floors: list[float] = []
    last = -np.inf
    for j, (end_t, max_t) in enumerate(
        zip(t[ends - 1].tolist(), np.maximum.reduceat(t, starts).tolist(), strict=True)
    ):
        floor = last + tol
        floors.append(floor)
        if end_t > floor:
            last = end_t
        elif max_t > floor:
            # Times not increasing within the notification: its last kept sample is an earlier one.
            own = t[starts[j] : ends[j]]
            last = float(own[own > floor][-1])
    keep = t > np.repeat(np.array(floors, dtype=np.float64), sizes)
    dropped = int(keep.size - np.count_nonzero(keep))
    if not dropped:
        return block, 0
    if dropped == keep.size:
        return None, dropped
    return SampleBlock(kind=block.kind, sensor_time_s=t[keep], values=block.values[keep]), dropped


def _gaps(time_s: FloatArray, fs_hz: float | None) -> tuple[tuple[float, float], ...]:
    if fs_hz is None or time_s.size < 2:
        return ()
    idx = np.flatnonzero(np.diff(time_s) > GAP_PERIODS / fs_hz)
    return tuple((float(time_s[i]), float(time_s[i + 1])) for i in idx)


def _least_receive_offset_s(parts: list[Notifications], *, n_first: int) -> float:
    """Smallest (host receive time - sensor time of the last sample) over the first ``n_first``
    notifications (0.0 without any): the least delayed one bounds the host-minus-sensor clock offset."""
    offsets: list[FloatArray] = []
    n = 0
    for p in parts:
        offsets.append(p.host_time_s - p.block.sensor_time_s[np.cumsum(p.sizes) - 1])
        n += p.sizes.shape[0]
        if n >= n_first:
            break
    return float(np.min(np.concatenate(offsets)[:n_first])) if offsets else 0.0


def _spool_decoder(spool: Spool) -> tuple[SensorProfile, SpoolDecoder]:
    """The spool's sensor profile and its protocol's spool decoder.

    Raises:
        SpoolError: the profile in the header is unknown.
    """
    try:
        profile = get_profile(spool.header.profile)
    except UnknownProfileError as e:
        raise SpoolError(f"{spool.path}: {e.message}", path=spool.path) from e
    if profile.protocol == "polar-pmd":
        return profile, PolarSpoolDecoder(spool.header, profile, spool.path)
    return profile, WitMotionSpoolDecoder(spool.header, profile, spool.path)


def _feed(decoder: SpoolDecoder, spool: Spool) -> int:
    """Give the decoder every data chunk in order, resetting it after each link event; returns how many
    chunks were control-stream traffic (kept in the spool, not samples)."""
    resets = sorted(e.seq for e in spool.events if e.kind in _RESET_EVENTS)
    next_reset = 0
    ignored = 0
    for chunk in spool.chunks:
        while next_reset < len(resets) and resets[next_reset] < chunk.seq:
            decoder.reset()
            next_reset += 1
        if chunk.stream in CONTROL_STREAMS:
            ignored += 1
            continue
        decoder.add(chunk)
    return ignored


def _gyro_on_acc_times(acc: SampleBlock, gyro: SampleBlock | None) -> FloatArray | None:
    """The gyro (deg/s) linearly interpolated onto the ACC sample times, None without gyro samples."""
    if gyro is None or not gyro.n_samples or not acc.n_samples:
        return None
    t, gt = acc.sensor_time_s, gyro.sensor_time_s
    return np.column_stack([np.interp(t, gt, gyro.values[:, i]) for i in range(3)])


def _host_offset_s(spool: Spool, profile: SensorProfile, acc_parts: list[Notifications]) -> float:
    """Host monotonic time minus sensor time (s): from the header's sensor clock reference when known,
    0 for WitMotion (its time axis is the host clock), else the least observed receive delay."""
    header = spool.header
    if profile.protocol == "witmotion":
        return 0.0
    if header.sensor_time_ref_s is not None:
        return header.host_monotonic_ref_s - header.sensor_time_ref_s
    # Only the first frames: over an hour, sensor and host clocks drift apart by up to ~0.2 s, and the
    # first sample's instant is what started_at must get right.
    return _least_receive_offset_s(acc_parts, n_first=50)


def _log_dropped(spool: Spool, malformed: int, duplicate_frames: int, duplicate_samples: int) -> None:
    if malformed:
        logger.warning("%s: %d malformed notifications skipped", spool.path, malformed)
    if duplicate_frames or duplicate_samples:
        logger.info(
            "%s: dropped %d duplicate frames and %d duplicate samples",
            spool.path,
            duplicate_frames,
            duplicate_samples,
        )


def decode_spool(spool: Spool) -> DecodedSpool:
    """Decode a spool's raw notifications into samples (see :class:`DecodedSpool`).

    Malformed notifications are counted and skipped; duplicate samples (a sensor time already covered,
    e.g. a frame re-sent after a reconnect) are dropped; link events restart per-stream timing so a gap
    stays a gap. ``started_at`` comes from the header's clock references: the sensor clock reference when
    known, otherwise the smallest observed (host receive time - sensor time of the frame's last sample).
    PMD frames are decoded in one vectorised batch per stream and segment between link events, with the
    same result as decoding them one by one in arrival order.

    Raises:
        SpoolError: the profile in the header is unknown.
    """
    header = spool.header
    profile, decoder = _spool_decoder(spool)
    ignored = _feed(decoder, spool)
    parts = decoder.finish()
    # The rate the decoders timed samples with: the header's, else the profile's default.
    fs_hz = stream_rate_hz(header, ("acc", "imu", "data"), profile.default_acc_rate_hz)
    gyro_fs = stream_rate_hz(header, ("gyro", "imu", "data"), profile.default_gyro_rate_hz)
    kept_acc, dup_acc = _dedupe(parts["acc"], fs_hz)
    gyro, dup_gyro = _dedupe(parts["gyro"], gyro_fs)
    acc = kept_acc if kept_acc is not None else SampleBlock.empty("acc")
    _log_dropped(spool, decoder.malformed, decoder.duplicate_frames, dup_acc + dup_gyro)

    t0 = float(acc.sensor_time_s[0]) if acc.n_samples else 0.0
    time_s = acc.sensor_time_s - t0
    started_at = (
        header.host_time_to_utc(t0 + _host_offset_s(spool, profile, parts["acc"]))
        if acc.n_samples
        else header.host_started_at_utc
    )
    recording = Recording(
        time_s=np.ascontiguousarray(time_s),
        accel_g=np.ascontiguousarray(acc.values),
        gyro_dps=_gyro_on_acc_times(acc, gyro),
        fs_hz=fs_hz,
        side=Side(header.side) if header.side in {s.value for s in Side} else None,
        profile=header.profile,
        started_at=started_at,
    )
    expected = round(float(time_s[-1]) * fs_hz) + 1 if fs_hz and time_s.size else int(time_s.size)
    return DecodedSpool(
        recording=recording,
        acc=acc,
        gyro=gyro,
        fs_hz=fs_hz,
        malformed_chunks=decoder.malformed,
        duplicate_frames=decoder.duplicate_frames,
        duplicate_samples=dup_acc + dup_gyro,
        ignored_chunks=ignored,
        gaps=_gaps(time_s, fs_hz),
        expected_samples=expected,
    )


def spool_to_recording(spool: Spool) -> Recording:
    """The spool as an analysis input (see :func:`decode_spool`)."""
    return decode_spool(spool).recording


def spool_gaps(spool: Spool) -> tuple[tuple[float, float], ...]:
    """Gaps ``(start_s, end_s)`` on the recording's time axis (see :class:`DecodedSpool`)."""
    return decode_spool(spool).gaps
