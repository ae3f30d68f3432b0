"""Spools written as the recorder writes them, without a Bluetooth link: for fault tests and benchmarks.

:func:`write_emulated_spool` samples a :class:`~ingest.emulator.motion.MotionSource` on a sensor's grid,
encodes the samples exactly as the emulated sensor of that profile notifies them (PMD frames of
:mod:`.polar`'s formats filled to an MTU of 232, or WitMotion ``55 61`` packets), and appends them with
plausible host receive times and the recorder's link events. Optional faults: a link drop (a gap between
``lost`` and ``reconnected`` events) and a sensor clock step (``clock_step`` event, frames after it on
the stepped clock).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import numpy.typing as npt

from ingest.emulator.motion import LegRaiseMotion, MotionSource
from ingest.emulator.polar import MODEL_FORMATS
from ingest.polar.constants import MeasurementType
from ingest.polar.encode import encode_pmd_frames
from ingest.profiles import get_profile
from ingest.spool.format import SpoolEventKind, SpoolHeader
from ingest.spool.writer import SpoolWriter
from ingest.witmotion.encode import encode_witmotion_packets
from ingest.witmotion.formats import PACKET_BYTES

__all__ = ["EmulatedSpoolFaults", "write_emulated_spool"]

#: ATT_MTU - 3 of the emulated link (the H10's MTU 232).
_FRAME_BYTES = 229
#: Host receive latency of a notification after its last sample (s).
_LATENCY_S = 0.03
#: Longest a sample waits before its frame is sent (s), as in :mod:`ingest.emulator.polar`.
_FRAME_LATENCY_S = 0.5
#: Sensor clock at the start of an emulated spool: 2026-01-01 in the PMD epoch (s).
_SENSOR_T0_S = 820_454_400.0


@dataclass(frozen=True, slots=True, kw_only=True)
class EmulatedSpoolFaults:
    """What goes wrong in an emulated spool.

    Attributes:
        drop_s: ``(start, length)`` in seconds of recording: no notifications then, ``lost`` at the start
            and ``reconnected`` + ``stream_started`` at the end.
        clock_step: ``(at, step)`` in seconds: from ``at`` on, the sensor clock reads ``step`` seconds
            more (negative: back), with a ``clock_step`` event per stream before the first stepped frame.
    """

    drop_s: tuple[float, float] | None = None
    clock_step: tuple[float, float] | None = None


def write_emulated_spool(
    path: Path | str,
    profile_id: str,
    *,
    seconds: float = 10.0,
    motion: MotionSource | None = None,
    faults: EmulatedSpoolFaults | None = None,
    host_t0_s: float = 1000.0,
) -> Path:
    """Write a closed spool of ``seconds`` of ``motion`` (default: leg raises) from a ``profile_id`` sensor.

    Host times start at ``host_t0_s`` (monotonic s); the header ties it to now (UTC).
    """
    profile = get_profile(profile_id)
    motion = motion or LegRaiseMotion()
    faults = faults or EmulatedSpoolFaults()
    fs = float(profile.default_acc_rate_hz)
    t = np.arange(int(seconds * fs)) / fs
    acc, gyr = motion.sample(t)
    if profile.protocol == "polar-pmd":
        streams = {"acc": {"fs_hz": fs, "range_g": 8, "resolution_bits": 16, "measurement_type": 2}}
        notes = _polar_notifications(profile_id, t, acc, gyr if profile.has_gyro else None, faults)
        if profile.has_gyro:
            gyro_fmt = MODEL_FORMATS[profile_id][MeasurementType.GYRO]
            streams["gyro"] = {
                "fs_hz": fs,
                "range_dps": 2000,
                "factor": (gyro_fmt.factor_per_range or 1.0) * 2000,
            }
    else:
        streams = {"imu": {"fs_hz": fs, "range_g": 16, "range_dps": 2000}}
        notes = _witmotion_notifications(t, acc, gyr)
    header = SpoolHeader.new(
        profile=profile_id,
        side="left",
        device_address="E0:9E:1A:00:00:01",
        device_name=f"emulated {profile_id}",
        streams=streams,
        extra={"backend": "emulated-spool"},
    )
    header = replace(header, host_monotonic_ref_s=host_t0_s)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with SpoolWriter.open(path, header) as w:
        w.event(SpoolEventKind.CONNECTED, host_t0_s, address=header.device_address)
        w.event(SpoolEventKind.STREAM_STARTED, host_t0_s)
        _append(w, notes, faults, host_t0_s)
        w.event(SpoolEventKind.STREAM_STOPPED, host_t0_s + seconds + 2 * _LATENCY_S)
    return Path(path)


@dataclass(frozen=True, slots=True)
class _Note:
    """One notification: its stream, bytes, and the recording time (s) of its last sample."""

    stream: str
    payload: bytes
    t_last_s: float


def _append(w: SpoolWriter, notes: list[_Note], faults: EmulatedSpoolFaults, host_t0_s: float) -> None:
    lost = reconnected = False
    stepped: set[str] = set()
    for note in sorted(notes, key=lambda n: n.t_last_s):
        host_t = host_t0_s + note.t_last_s + _LATENCY_S
        if faults.drop_s is not None:
            start, length = faults.drop_s
            if start <= note.t_last_s < start + length:
                if not lost:
                    w.event(SpoolEventKind.LOST, host_t, silent_s=0.0)
                    lost = True
                continue
            if lost and not reconnected:
                w.event(SpoolEventKind.RECONNECTED, host_t, attempt=1)
                w.event(SpoolEventKind.STREAM_STARTED, host_t)
                reconnected = True
        step = faults.clock_step
        if step is not None and note.t_last_s >= step[0] and note.stream not in stepped:
            w.event(SpoolEventKind.CLOCK_STEP, host_t, stream=note.stream, step_s=step[1])
            stepped.add(note.stream)
        w.append(note.stream, note.payload, host_t)


def _polar_notifications(
    profile_id: str,
    t: npt.NDArray[np.float64],
    acc: npt.NDArray[np.float64],
    gyr: npt.NDArray[np.float64] | None,
    faults: EmulatedSpoolFaults,
) -> list[_Note]:
    sensor_s = _SENSOR_T0_S + t
    if faults.clock_step is not None:
        at, step = faults.clock_step
        sensor_s = sensor_s + np.where(t >= at, step, 0.0)
    times_ns = np.rint(sensor_s * 1e9).astype(np.int64)
    formats = MODEL_FORMATS[profile_id]
    notes: list[_Note] = []
    streams = [("acc", MeasurementType.ACC, acc)] + (
        [("gyro", MeasurementType.GYRO, gyr)] if gyr is not None else []
    )
    for name, mtype, values in streams:
        fmt = formats[mtype]
        factor = None if fmt.factor_per_range is None else fmt.factor_per_range * 2000
        for seg in _segments(t, faults):
            frames = encode_pmd_frames(
                mtype,
                values[seg],
                times_ns[seg],
                frame_type=fmt.frame_type,
                compressed=fmt.compressed,
                factor=factor,
                max_frame_bytes=_FRAME_BYTES,
            )
            ends = np.searchsorted(times_ns[seg], [int.from_bytes(f[1:9], "little") for f in frames])
            notes += [_Note(name, f, float(t[seg][e])) for f, e in zip(frames, ends, strict=True)]
    return notes


def _segments(t: npt.NDArray[np.float64], faults: EmulatedSpoolFaults) -> list[slice]:
    """Runs of samples sent together: at most ``_FRAME_LATENCY_S`` each (the emulated sensor sends a
    partly filled frame once its oldest sample is that old), never across a clock step."""
    cuts = set(np.searchsorted(t, np.arange(0.0, float(t[-1]) + _FRAME_LATENCY_S, _FRAME_LATENCY_S)).tolist())
    if faults.clock_step is not None:
        cuts.add(int(np.searchsorted(t, faults.clock_step[0])))
    bounds = sorted(cuts | {0, t.shape[0]})
    return [slice(a, b) for a, b in itertools.pairwise(bounds) if b > a]


def _witmotion_notifications(
    t: npt.NDArray[np.float64], acc: npt.NDArray[np.float64], gyr: npt.NDArray[np.float64]
) -> list[_Note]:
    per = 10  # packets per notification, as the emulated WT901 sends them at 50 Hz
    packets = encode_witmotion_packets(acc, gyr)
    size = per * PACKET_BYTES
    return [
        _Note("imu", packets[i : i + size], float(t[min(i // PACKET_BYTES + per, t.shape[0]) - 1]))
        for i in range(0, len(packets), size)
    ]
