"""The Polar PMD stream driver: what the recorder needs to know about a Polar sensor's streams.

Implements :class:`ingest.ble.driver.StreamDriver` for ``polar-pmd`` profiles:

- start (doc §1.10): subscribe to the control point and the data characteristic, read the features,
  enter SDK mode when the rates need it (streams stopped first), START ACC and GYRO where present
  (:meth:`ingest.polar.client.PmdControlClient.start_stream`: query, STOP, START with every setting);
- a data notification is named by its measurement type (``acc``, ``gyro``, else ``pmd``);
- a frame whose bytes were seen before (re-sent around a reconnect) is a duplicate; a new frame whose
  timestamp is not newer than the last one of its type means the sensor clock stepped back (its phone app
  set it, or a battery change reset it): a ``clock_step`` event, and the frame is kept;
- the live status decodes frames with one :class:`~ingest.polar.decode.PmdStreamDecoder` per type;
- before disconnecting, STOP every stream (a real sensor streams on until told to stop).
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from typing import Any

from ingest.ble.driver import Arrival, NotifyCallback
from ingest.errors import FrameError
from ingest.gatt import GattClient
from ingest.polar.client import PmdControlClient, PmdStreamConfig
from ingest.polar.constants import FRAME_HEADER_BYTES, TYPE_MASK, MeasurementType
from ingest.polar.decode import PmdStreamDecoder
from ingest.profiles import SensorProfile
from ingest.samples import SampleBlock
from ingest.spool.format import SpoolEventKind

logger = logging.getLogger(__name__)

__all__ = ["RECENT_FRAMES", "PolarStreamDriver"]

#: Frames remembered (by content) to recognise a re-sent one: far more than a reconnect re-sends.
RECENT_FRAMES = 512
_NAMES: dict[int, str] = {MeasurementType.ACC: "acc", MeasurementType.GYRO: "gyro"}


class PolarStreamDriver:
    """One Polar sensor's PMD streams (see the module docstring).

    Args:
        profile: a ``polar-pmd`` profile.
        sensor: the sensor's label, for messages.
        acc_rate_hz / gyro_rate_hz: override the profile's default rates (rates beyond normal mode switch
            the sensor to SDK mode).
    """

    def __init__(
        self,
        profile: SensorProfile,
        *,
        sensor: str,
        acc_rate_hz: float | None = None,
        gyro_rate_hz: float | None = None,
    ) -> None:
        self.profile = profile
        self.sensor = sensor
        self.acc_rate_hz = float(acc_rate_hz or profile.default_acc_rate_hz)
        self.gyro_rate_hz = gyro_rate_hz
        self.configs: dict[int, PmdStreamConfig] = {}
        self._decoders: dict[int, PmdStreamDecoder] = {}
        self._recent: OrderedDict[bytes, None] = OrderedDict()
        self._last_ts: dict[int, int] = {}

    # -- naming, starting, stopping ----------------------------------------------------------------
    def stream_name(self, payload: bytes) -> str:
        return _NAMES.get(payload[0] & TYPE_MASK, "pmd") if payload else "pmd"

    async def start(self, client: GattClient, on_data: NotifyCallback) -> None:
        cp = PmdControlClient(client, sensor=self.sensor)
        await client.start_notify(self.profile.control_uuid, cp.on_indication)
        await client.start_notify(self.profile.data_uuid, on_data)
        features = await cp.features()
        gyro_rate: float | None = None
        if self.profile.has_gyro and MeasurementType.GYRO in features.measurement_types:
            gyro_rate = float(self.gyro_rate_hz or self.profile.default_gyro_rate_hz or self.acc_rate_hz)
        sdk = self.profile.needs_sdk_mode(self.acc_rate_hz, gyro_rate)
        if sdk:
            for mtype in (2, 5) if gyro_rate is not None else (2,):
                await cp.stop(mtype)  # SDK mode can only change while nothing streams
            await cp.set_sdk_mode(True)
        configs = [await cp.start_stream(self.profile, "acc", self.acc_rate_hz, sdk_mode=sdk)]
        if gyro_rate is not None:
            configs.append(await cp.start_stream(self.profile, "gyro", gyro_rate, sdk_mode=sdk))
        for c in configs:
            self.configs[c.measurement_type] = c
            self._decoders[c.measurement_type] = PmdStreamDecoder(
                c.measurement_type, sample_rate_hz=c.fs_hz, factor=c.factor
            )

    def header_streams(self) -> dict[str, dict[str, Any]]:
        return {c.kind: c.header_settings() for c in self.configs.values()}

    async def stop(self, client: GattClient) -> None:
        cp = PmdControlClient(client, sensor=self.sensor, timeout_s=2.0)
        await client.start_notify(self.profile.control_uuid, cp.on_indication)
        for mtype in self.configs:
            await cp.stop(mtype)

    def link_lost(self) -> None:
        for d in self._decoders.values():
            d.reset()

    # -- judging and decoding notifications ----------------------------------------------------------
    def arrive(self, payload: bytes, host_time_s: float) -> Arrival:
        if len(payload) < FRAME_HEADER_BYTES:
            return Arrival()  # malformed: written raw, counted when decoded
        if payload in self._recent:
            return Arrival(duplicate=True)
        self._recent[payload] = None
        if len(self._recent) > RECENT_FRAMES:
            self._recent.popitem(last=False)
        mtype = payload[0] & TYPE_MASK
        ts = int.from_bytes(payload[1:9], "little")
        last = self._last_ts.get(mtype)
        self._last_ts[mtype] = ts
        if last is None or ts > last:
            return Arrival()
        # New content with a timestamp not after the last one: the sensor clock went back.
        decoder = self._decoders.get(mtype)
        if decoder is not None:
            decoder.reset()
        step_s = (ts - last) / 1e9
        logger.warning("%s: sensor clock stepped back %.3f s (%s frames)", self.sensor, -step_s, mtype)
        details = {"stream": self.stream_name(payload), "previous_s": last / 1e9, "sensor_s": ts / 1e9}
        return Arrival(events=((SpoolEventKind.CLOCK_STEP, {**details, "step_s": step_s}),))

    def decode(self, payload: bytes, host_time_s: float) -> tuple[SampleBlock, ...]:
        mtype = payload[0] & TYPE_MASK if payload else -1
        decoder = self._decoders.get(mtype)
        if decoder is None:
            raise FrameError(f"notification of unexpected measurement type {mtype}", sensor=self.sensor)
        return (decoder.decode(payload).block,)
