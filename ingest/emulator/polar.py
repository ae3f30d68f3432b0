"""Emulated Polar Verity Sense and Polar H10: the PMD service with its real control point and data frames.

GATT (doc §1.1): PMD service ``FB005C80-…`` with the control point ``…5C81`` (read, write, indicate) and
the data characteristic ``…5C82`` (notify). The control point implements (doc §1.3):

- read: the 17-byte feature bitmap (Verity ``0F 6E 02 …`` with the SDK-mode bit, H10 ``0F 05 00 …``);
- GET_MEASUREMENT_SETTINGS / GET_SDK_MODE_SETTINGS: the offered rates, resolution, ranges (+ channels);
- START with settings TLVs, validated like the devices do: INVALID_SAMPLE_RATE (8), INVALID_RESOLUTION (7),
  INVALID_RANGE (9), INVALID_NUMBER_OF_CHANNELS (11), INVALID_PARAMETER (5) when the H10 misses a setting,
  ALREADY_IN_STATE (6) when the stream already runs (also after the host lost the link: streams survive
  disconnects, doc §1.10), and a configurable refusal (e.g. 13 DEVICE_IN_CHARGER);
- START/STOP of SDK mode (type 9) on the Verity, INVALID_STATE (12) while streams run;
- STOP, GET_MEASUREMENT_STATUS, GET_SDK_MODE_STATUS; responses by indication, split into continuation
  packets when longer than MTU-3.

Data frames (doc §1.4-1.7): Verity ACC as delta-compressed type 1 (0x81, mG), Verity GYRO as compressed
type 0 (0x80) with a FACTOR announced in the START response, H10 ACC as raw type 1 (0x01, mG). Frames are
filled up to the connection's ATT_MTU-3 but sent at least every ``max_frame_latency_s`` (0.5 s) of sensor
time, each stamped with the sensor-clock time of its last sample.
"""

from __future__ import annotations

import asyncio
import logging
import math
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from bumble import core, gatt
from bumble.device import Connection

from ingest.ble.virtual_backend import VirtualWorld
from ingest.emulator.base import EmulatedSensor
from ingest.emulator.motion import MotionSource
from ingest.errors import FrameError
from ingest.polar.constants import FRAME_HEADER_BYTES, MeasurementType, PmdOp, PmdStatus
from ingest.polar.control import PmdFeatures, PmdRequest, PmdResponse
from ingest.polar.encode import encode_pmd_frames
from ingest.polar.settings import PmdSettings
from ingest.profiles import (
    PMD_CONTROL_POINT_UUID,
    PMD_DATA_UUID,
    PMD_SERVICE_UUID,
    SensorProfile,
    get_profile,
)

logger = logging.getLogger(__name__)

__all__ = ["EmulatedPolarSensor", "PolarFrameFormat"]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

#: 16-bit service UUID Polar devices advertise (Polar Electro Oy member UUID 0xFEEE).
POLAR_ADVERTISED_UUID16 = 0xFEEE


@dataclass(frozen=True, slots=True, kw_only=True)
class PolarFrameFormat:
    """How an emulated sensor frames one measurement type."""

    frame_type: int
    compressed: bool
    #: FACTOR to announce in the START response, as a function of the selected range (None: no factor).
    factor_per_range: float | None = None


@dataclass(slots=True)
class _Stream:
    mtype: int
    fs_hz: float
    range_: int
    fmt: PolarFrameFormat
    factor: float | None
    t0_ns: int
    next_index: int = 0
    pending_ns: list[IntArray] = field(default_factory=list)
    pending_values: list[FloatArray] = field(default_factory=list)

    def sample_times_ns(self, idx: IntArray) -> IntArray:
        if float(self.fs_hz).is_integer():
            fs = int(self.fs_hz)
            out: IntArray = self.t0_ns + (idx * 2_000_000_000 + fs) // (2 * fs)
            return out
        rounded: IntArray = self.t0_ns + np.rint(idx * (1e9 / self.fs_hz)).astype(np.int64)
        return rounded


_MODEL_FORMATS: dict[str, dict[int, PolarFrameFormat]] = {
    # Verity firmware seen 2023-2024: ACC compressed type 1 in mG without factor (doc §1.7).
    "polar-verity-sense": {
        MeasurementType.ACC: PolarFrameFormat(frame_type=1, compressed=True),
        # GYRO compressed type 0 with a factor; ±2000 deg/s over int16 (doc §1.7 suggestion).
        MeasurementType.GYRO: PolarFrameFormat(frame_type=0, compressed=True, factor_per_range=1 / 32768),
    },
    # H10: raw 16-bit ACC in mG (doc §1.5, §1.7).
    "polar-h10": {MeasurementType.ACC: PolarFrameFormat(frame_type=1, compressed=False)},
}

_FEATURES: dict[str, frozenset[int]] = {
    # ACC, PPG, PPI, GYRO, MAG + SDK mode (doc §1.3.1: 0F 6E 02).
    "polar-verity-sense": frozenset({1, 2, 3, 5, 6, MeasurementType.SDK_MODE}),
    # ECG + ACC (0F 05 00).
    "polar-h10": frozenset({0, 2}),
}


class EmulatedPolarSensor(EmulatedSensor):
    """A Polar Verity Sense (``polar-verity-sense``) or H10 (``polar-h10``) on the virtual link.

    Args:
        world: the virtual world.
        profile_id: ``polar-verity-sense`` or ``polar-h10``.
        device_id: 8 hex digits; the advertised name is ``Polar Sense <id>`` / ``Polar H10 <id>``.
        address: static random address; default derived from ``device_id``.
        motion, time_scale, advertise, tick_s: see :class:`~ingest.emulator.base.EmulatedSensor`.
        max_frame_latency_s: longest sensor time a sample waits before its (partial) frame is sent.
    """

    def __init__(
        self,
        world: VirtualWorld,
        profile_id: str = "polar-verity-sense",
        *,
        device_id: str = "B5E5C221",
        address: str | None = None,
        motion: MotionSource | None = None,
        time_scale: float = 1.0,
        advertise: bool = True,
        max_frame_latency_s: float = 0.5,
        tick_s: float = 0.02,
    ) -> None:
        if profile_id not in _MODEL_FORMATS:
            raise ValueError(f"not a Polar profile: {profile_id!r}; use one of {sorted(_MODEL_FORMATS)}")
        self.profile: SensorProfile = get_profile(profile_id)
        self.device_id = device_id.upper()
        prefix = "Polar Sense" if profile_id == "polar-verity-sense" else "Polar H10"
        if address is None:
            d = self.device_id[-6:].rjust(6, "0")
            address = f"E0:9E:1A:{d[0:2]}:{d[2:4]}:{d[4:6]}"
        self.max_frame_latency_s = max_frame_latency_s
        self.sdk_mode = False
        self.streams: dict[int, _Stream] = {}
        self._cp_lock = asyncio.Lock()
        self._background: set[asyncio.Future[None]] = set()
        self._malformed_kind = 0
        super().__init__(
            world,
            address=address,
            name=f"{prefix} {self.device_id}",
            motion=motion,
            time_scale=time_scale,
            advertise=advertise,
            # The H10 is known to use MTU 232 (doc §1.2, §4.8); the Verity takes what the host asks.
            max_mtu=self.profile.mtu_hint or 517,
            tick_s=tick_s,
        )

    # -- GATT --------------------------------------------------------------------------------------
    def _build_gatt(self) -> None:
        props = gatt.Characteristic.Properties
        self.cp_char = gatt.Characteristic[bytes](
            PMD_CONTROL_POINT_UUID.upper(),
            props.READ | props.WRITE | props.INDICATE,
            gatt.Characteristic.READABLE | gatt.Characteristic.WRITEABLE,
            gatt.CharacteristicValue(read=self._on_cp_read, write=self._on_cp_write),
        )
        self.data_char = gatt.Characteristic[bytes](
            PMD_DATA_UUID.upper(), props.NOTIFY, gatt.Characteristic.READABLE, b""
        )
        self.device.add_service(gatt.Service(PMD_SERVICE_UUID.upper(), [self.cp_char, self.data_char]))

    def _advertising_data(self) -> bytes:
        t = core.AdvertisingData.Type
        # The 128-bit PMD UUID does not fit the 31-byte legacy payload next to the name; Polar devices
        # advertise their 16-bit member UUID instead, and clients identify the model by name.
        return bytes(
            core.AdvertisingData(
                [
                    (t.FLAGS, bytes([0x06])),
                    (t.COMPLETE_LOCAL_NAME, self.name.encode()),
                    (
                        t.COMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
                        POLAR_ADVERTISED_UUID16.to_bytes(2, "little"),
                    ),
                ]
            )
        )

    def _on_cp_read(self, connection: Connection) -> bytes:
        return bytes(PmdFeatures(measurement_types=_FEATURES[self.profile.id]))

    def _on_cp_write(self, connection: Connection, value: bytes) -> None:
        response = self._handle_request(bytes(value))
        # Indicate after the write response, as the device does; one indication at a time per link.
        task = asyncio.ensure_future(self._indicate(connection, response))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _indicate(self, connection: Connection, response: PmdResponse) -> None:
        async with self._cp_lock:
            try:
                for packet in response.to_packets(int(connection.att_mtu) - 3):
                    await self.device.indicate_subscriber(connection, self.cp_char, packet)
            except (core.BaseBumbleError, ConnectionError, TimeoutError) as e:
                logger.debug("%s: CP indication failed: %r", self.name, e)

    # -- control point -----------------------------------------------------------------------------
    def _options(self, mtype: int, sdk: bool) -> PmdSettings:
        p = self.profile
        if mtype == MeasurementType.ACC:
            rates = p.sdk_acc_rates_hz if sdk and p.sdk_acc_rates_hz else p.acc_rates_hz
            ranges = p.sdk_acc_ranges_g if sdk and p.sdk_acc_ranges_g else p.acc_ranges_g
        else:
            rates = p.sdk_gyro_rates_hz if sdk and p.sdk_gyro_rates_hz else p.gyro_rates_hz
            ranges = p.sdk_gyro_ranges_dps if sdk and p.sdk_gyro_ranges_dps else p.gyro_ranges_dps
        channels = (3,) if p.id == "polar-verity-sense" else ()
        return PmdSettings(
            sample_rates_hz=tuple(int(r) for r in rates),
            resolutions_bits=(p.resolution_bits,),
            ranges=tuple(int(r) for r in ranges),
            channels=channels,
        )

    def _handle_request(self, data: bytes) -> PmdResponse:
        try:
            req = PmdRequest.from_bytes(data)
        except FrameError:
            op = data[0] if data else 0
            mtype = data[1] & 0x3F if len(data) > 1 else 0
            status = PmdStatus.INVALID_LENGTH if op in tuple(PmdOp) else PmdStatus.INVALID_OP_CODE
            return PmdResponse.error(op, mtype, status)
        op, mtype = req.op, req.measurement_type or 0
        formats = _MODEL_FORMATS[self.profile.id]
        if op == PmdOp.GET_MEASUREMENT_STATUS:
            return PmdResponse.success(op, 0, bytes(t | (1 << 6) for t in self.streams))
        if op == PmdOp.GET_SDK_MODE_STATUS:
            return PmdResponse.success(op, 0, bytes([1 if self.sdk_mode else 0]))
        if mtype == MeasurementType.SDK_MODE and op in (PmdOp.START_MEASUREMENT, PmdOp.STOP_MEASUREMENT):
            return self._sdk_mode(op, start=op == PmdOp.START_MEASUREMENT)
        if mtype not in formats:
            return PmdResponse.error(op, mtype, PmdStatus.NOT_SUPPORTED)
        if op in (PmdOp.GET_MEASUREMENT_SETTINGS, PmdOp.GET_SDK_MODE_SETTINGS):
            sdk = op == PmdOp.GET_SDK_MODE_SETTINGS or self.sdk_mode
            return PmdResponse.success(op, mtype, bytes(self._options(mtype, sdk)))
        if op == PmdOp.STOP_MEASUREMENT:
            if self.streams.pop(mtype, None) is None:
                return PmdResponse.error(op, mtype, PmdStatus.INVALID_STATE)
            return PmdResponse.success(op, mtype)
        return self._start(mtype, req.settings, formats[mtype])

    def _sdk_mode(self, op: int, *, start: bool) -> PmdResponse:
        mt = MeasurementType.SDK_MODE
        if MeasurementType.SDK_MODE not in _FEATURES[self.profile.id]:
            return PmdResponse.error(op, mt, PmdStatus.NOT_SUPPORTED)
        if self.sdk_mode == start:
            return PmdResponse.error(op, mt, PmdStatus.ALREADY_IN_STATE)
        if self.streams:
            # Changing mode while streaming is refused (doc §1.3.3, P-SDKMODE).
            return PmdResponse.error(op, mt, PmdStatus.INVALID_STATE)
        self.sdk_mode = start
        return PmdResponse.success(op, mt)

    def _start(self, mtype: int, s: PmdSettings, fmt: PolarFrameFormat) -> PmdResponse:
        op = PmdOp.START_MEASUREMENT
        refusal = self._take_refusal()
        if refusal is not None:
            return PmdResponse.error(op, mtype, refusal)
        if mtype in self.streams:
            return PmdResponse.error(op, mtype, PmdStatus.ALREADY_IN_STATE)
        options = self._options(mtype, self.sdk_mode)
        strict = self.profile.id == "polar-h10"  # the H10 needs every offered setting (doc §1.10)
        if strict and not (s.sample_rates_hz and s.resolutions_bits and s.ranges):
            return PmdResponse.error(op, mtype, PmdStatus.INVALID_PARAMETER)
        rate = s.sample_rates_hz[0] if s.sample_rates_hz else options.sample_rates_hz[0]
        if rate not in options.sample_rates_hz:
            return PmdResponse.error(op, mtype, PmdStatus.INVALID_SAMPLE_RATE)
        if s.resolutions_bits and s.resolutions_bits[0] not in options.resolutions_bits:
            return PmdResponse.error(op, mtype, PmdStatus.INVALID_RESOLUTION)
        range_ = s.ranges[0] if s.ranges else max(options.ranges)
        if range_ not in options.ranges:
            return PmdResponse.error(op, mtype, PmdStatus.INVALID_RANGE)
        if s.channels and s.channels[0] != 3:
            return PmdResponse.error(op, mtype, PmdStatus.INVALID_NUMBER_OF_CHANNELS)
        factor = None if fmt.factor_per_range is None else range_ * fmt.factor_per_range
        t0_ns = math.floor(self.clock.now_s() * 1e9)
        self.streams[mtype] = _Stream(
            mtype=mtype, fs_hz=float(rate), range_=range_, fmt=fmt, factor=factor, t0_ns=t0_ns
        )
        # A (re)start ends a stall: the fault models a stream that hangs until the host restarts it.
        self.faults.stalled_until = 0.0
        if factor is not None:
            params = bytes(PmdSettings(factors=(factor,)))
        elif self.profile.id == "polar-h10":
            params = b"\x01"  # the H10's "reserved" trailing byte (doc §1.3.4)
        else:
            params = b""
        return PmdResponse.success(op, mtype, params)

    def _on_link_lost(self) -> None:
        if self.faults.stop_streams_on_disconnect:
            self.streams.clear()

    # -- streaming ---------------------------------------------------------------------------------
    async def _tick(self) -> None:
        if not self.streams:
            return
        now_ns = math.floor(self.clock.now_s() * 1e9)
        sendable = self.connected and not self.is_stalled()
        for stream in list(self.streams.values()):
            self._produce(stream, now_ns)
            if not sendable:
                # Nobody can receive them: the samples are lost, exactly as over the air.
                stream.pending_ns.clear()
                stream.pending_values.clear()
                continue
            if self.faults.malformed_pending > 0:
                self.faults.malformed_pending -= 1
                await self._send(self._malformed_frame(stream))
                self.malformed_sent += 1
            for frame in self._ready_frames(stream, now_ns):
                if self.streams.get(stream.mtype) is not stream:
                    break  # stopped while we were sending
                await self._send(frame)

    def _produce(self, stream: _Stream, now_ns: int) -> None:
        due = int((now_ns - stream.t0_ns) * stream.fs_hz // 1_000_000_000) + 1
        if due <= stream.next_index:
            return
        idx = np.arange(stream.next_index, due, dtype=np.int64)
        times_ns = stream.sample_times_ns(idx)
        acc, gyr = self.motion.sample(times_ns / 1e9 - self.clock.start_s)
        values = acc if stream.mtype == MeasurementType.ACC else gyr
        stream.pending_ns.append(times_ns)
        stream.pending_values.append(values)
        stream.next_index = due

    def _ready_frames(self, stream: _Stream, now_ns: int) -> list[bytes]:
        if not stream.pending_ns:
            return []
        times = np.concatenate(stream.pending_ns)
        values = np.concatenate(stream.pending_values)
        frames = encode_pmd_frames(
            stream.mtype,
            values,
            times,
            frame_type=stream.fmt.frame_type,
            compressed=stream.fmt.compressed,
            factor=stream.factor,
            max_frame_bytes=self.max_payload_bytes(),
        )
        # The last frame may be partly filled: hold it back until it is full or its oldest sample is old.
        last_ts = int.from_bytes(frames[-1][1:9], "little")
        first_in_last = int(np.searchsorted(times, last_ts, side="right")) - _frame_samples(
            frames[-1], stream
        )
        age_s = (now_ns - int(times[max(first_in_last, 0)])) / 1e9
        if age_s < self.max_frame_latency_s:
            keep_from = max(first_in_last, 0)
            frames = frames[:-1]
        else:
            keep_from = times.shape[0]
        stream.pending_ns = [times[keep_from:]] if keep_from < times.shape[0] else []
        stream.pending_values = [values[keep_from:]] if keep_from < times.shape[0] else []
        return frames

    async def _send(self, frame: bytes) -> None:
        await self.device.notify_subscribers(self.data_char, frame)
        self.notifications_sent += 1

    def _malformed_frame(self, stream: _Stream) -> bytes:
        """A notification no decoder can accept: a torn header, or an unknown frame type."""
        self._malformed_kind += 1
        # Stamped with the current sensor time, like a corrupted frame of the live stream.
        now_ns = math.floor(self.clock.now_s() * 1e9)
        header = bytes([stream.mtype]) + now_ns.to_bytes(8, "little")
        if self._malformed_kind % 2:
            return header[:7]
        return header + bytes([0x7E]) + bytes(12)


def _frame_samples(frame: bytes, stream: _Stream) -> int:
    """Number of samples in a frame we just encoded (raw: by size; compressed: 1 + block sample counts)."""
    if not stream.fmt.compressed:
        return (len(frame) - FRAME_HEADER_BYTES) // 6
    pos = FRAME_HEADER_BYTES + 6
    n = 1
    while pos + 2 <= len(frame):
        w, k = frame[pos], frame[pos + 1]
        n += k
        pos += 2 + (w * k * 3 + 7) // 8
    return n
