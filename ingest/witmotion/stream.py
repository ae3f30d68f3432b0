"""The WitMotion WT901BLE stream driver: what the recorder needs to know about a WitMotion sensor.

Implements :class:`ingest.ble.driver.StreamDriver` for ``witmotion`` profiles: subscribe to the data
characteristic, unlock and set the output rate (:func:`ingest.witmotion.client.configure_witmotion`);
every notification is stream ``imu``; packets carry neither time nor identity, so nothing is a duplicate
and the sensor has no clock to step; the live status decodes ``55 61`` packets, spaced at the output
rate and ending at their arrival.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ingest.ble.driver import Arrival, NotifyCallback
from ingest.gatt import GattClient
from ingest.profiles import SensorProfile
from ingest.samples import SampleBlock
from ingest.witmotion.client import configure_witmotion
from ingest.witmotion.decode import decode_witmotion

__all__ = ["WitMotionStreamDriver"]


class WitMotionStreamDriver:
    """One WitMotion sensor's stream (see the module docstring); ``rate_hz`` overrides the default rate."""

    def __init__(self, profile: SensorProfile, *, sensor: str, rate_hz: float | None = None) -> None:
        self.profile = profile
        self.sensor = sensor
        self.rate_hz = float(rate_hz or profile.default_acc_rate_hz)

    def stream_name(self, payload: bytes) -> str:
        return "imu"

    async def start(self, client: GattClient, on_data: NotifyCallback) -> None:
        await client.start_notify(self.profile.data_uuid, on_data)
        await configure_witmotion(client, self.profile, self.rate_hz, sensor=self.sensor)

    def header_streams(self) -> dict[str, dict[str, Any]]:
        return {"imu": {"fs_hz": self.rate_hz, "range_g": 16, "range_dps": 2000}}

    async def stop(self, client: GattClient) -> None:
        """Nothing to stop: the sensor streams while subscribed, and the disconnect ends that."""

    def link_lost(self) -> None:
        """No timing state: packets are timed by the host clock."""

    def arrive(self, payload: bytes, host_time_s: float) -> Arrival:
        return Arrival()

    def decode(self, payload: bytes, host_time_s: float) -> tuple[SampleBlock, ...]:
        batch = decode_witmotion(payload)
        if batch.n_samples == 0:
            return ()
        # No time in the packets: spaced at the output rate, the last one at its arrival.
        t = host_time_s - np.arange(batch.n_samples - 1, -1, -1, dtype=np.float64) / self.rate_hz
        return (
            SampleBlock(kind="acc", sensor_time_s=t, values=np.asarray(batch.accel_g, dtype=np.float64)),
            SampleBlock(
                kind="gyro", sensor_time_s=t.copy(), values=np.asarray(batch.gyro_dps, dtype=np.float64)
            ),
        )
