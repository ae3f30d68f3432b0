"""The Polar PMD client over a connected ``BleakClient``: the control point, and the streams hipsync starts.

It runs on whichever bleak backend the client was built with (a platform backend on hardware, the virtual
backend of :mod:`ingest.ble.virtual_backend` in tests and the demo), so it is exercised in tests exactly as
it runs against a real sensor.

:class:`PmdControlClient`: request/response over the PMD control point (write with response, answer by
indication, continuation packets joined, responses for other op codes discarded as the Polar SDK does),
and the start sequence hipsync uses (doc §1.10): query settings, STOP before START (a stream left running
by a previous host process answers START with ALREADY_IN_STATE), START with every setting.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from ingest.errors import ControlPointError, FrameError
from ingest.gatt import GattClient
from ingest.polar.constants import MeasurementType, PmdOp, PmdStatus
from ingest.polar.control import (
    PmdFeatures,
    PmdResponse,
    get_settings_request,
    join_response_packets,
    start_request,
    stop_request,
)
from ingest.polar.settings import PmdSettings
from ingest.profiles import PMD_CONTROL_POINT_UUID, SensorProfile

logger = logging.getLogger(__name__)

__all__ = ["CP_TIMEOUT_S", "PmdControlClient", "PmdStreamConfig"]

#: How long to wait for a control-point response (bleakheart uses 10 s, the Polar SDK 30 s).
CP_TIMEOUT_S = 10.0


@dataclass(frozen=True, slots=True, kw_only=True)
class PmdStreamConfig:
    """One PMD stream as started: what the spool header records and the decoder needs.

    Attributes:
        kind: ``"acc"`` or ``"gyro"``.
        measurement_type: 2 (ACC) or 5 (GYRO).
        fs_hz: selected sample rate.
        range_: selected range (± g or ± deg/s).
        resolution_bits: selected resolution.
        factor: FACTOR from the START response (None: absent, i.e. 1.0).
    """

    kind: str
    measurement_type: int
    fs_hz: float
    range_: int
    resolution_bits: int
    factor: float | None

    def header_settings(self) -> dict[str, Any]:
        """The spool header's ``streams[kind]`` entry."""
        unit = "range_g" if self.kind == "acc" else "range_dps"
        out: dict[str, Any] = {
            "fs_hz": self.fs_hz,
            unit: self.range_,
            "resolution_bits": self.resolution_bits,
            "measurement_type": self.measurement_type,
        }
        if self.factor is not None:
            out["factor"] = self.factor
        return out


class PmdControlClient:
    """Talks to the PMD control point of one connected sensor.

    Feed every CP indication to :meth:`on_indication` (the bleak notify callback); requests then await
    their response. One request at a time (the protocol has no request ids).
    """

    def __init__(self, client: GattClient, *, sensor: str, timeout_s: float = CP_TIMEOUT_S) -> None:
        self._client = client
        self._sensor = sensor
        self._timeout_s = timeout_s
        self._packets: asyncio.Queue[bytes] = asyncio.Queue()
        self._lock = asyncio.Lock()

    def on_indication(self, _sender: object, data: bytearray) -> None:
        """bleak notification callback for the control point: only enqueue."""
        self._packets.put_nowait(bytes(data))

    async def request(self, payload: bytes) -> PmdResponse:
        """Write a request and return its (joined) response, whatever its status.

        Raises:
            TimeoutError: no response within the timeout.
            FrameError: a malformed response.
        """
        op = payload[0]
        async with self._lock:
            while not self._packets.empty():
                self._packets.get_nowait()
            await self._client.write_gatt_char(PMD_CONTROL_POINT_UUID, payload, response=True)
            packets: list[bytes] = []
            async with asyncio.timeout(self._timeout_s):
                while True:
                    data = await self._packets.get()
                    if not data or data[0] != 0xF0:
                        logger.info(
                            "%s: unsolicited control-point indication %s", self._sensor, data.hex(" ")
                        )
                        continue
                    if len(data) > 1 and data[1] != op:
                        # The SDK discards responses to other op codes (doc §1.3.3).
                        continue
                    packets.append(data)
                    if len(data) >= 5 and data[4] == 0:
                        break
            return join_response_packets(packets)

    async def features(self) -> PmdFeatures:
        """The feature bitmap (CP read)."""
        return PmdFeatures.from_bytes(bytes(await self._client.read_gatt_char(PMD_CONTROL_POINT_UUID)))

    async def settings(self, measurement_type: int, *, sdk_mode: bool = False) -> PmdSettings:
        """The settings the sensor offers for a measurement type.

        Raises:
            ControlPointError: on a non-success status.
        """
        response = await self.request(get_settings_request(measurement_type, sdk_mode=sdk_mode))
        return response.raise_for_status(sensor=self._sensor).settings()

    async def stop(self, measurement_type: int) -> PmdResponse:
        """STOP; any status is returned, not raised (stopping a stopped stream is not an error here)."""
        return await self.request(stop_request(measurement_type))

    async def set_sdk_mode(self, enabled: bool) -> None:
        """Enter or leave SDK mode (ALREADY_IN_STATE counts as success).

        Raises:
            ControlPointError: on any other failure.
        """
        make = start_request if enabled else stop_request
        response = await self.request(make(MeasurementType.SDK_MODE))
        if not (response.ok or response.already_in_state):
            response.raise_for_status(sensor=self._sensor)

    async def start_stream(
        self,
        profile: SensorProfile,
        kind: str,
        fs_hz: float,
        *,
        sdk_mode: bool = False,
    ) -> PmdStreamConfig:
        """Query settings, STOP, then START ``kind`` at ``fs_hz`` with every offered setting.

        Raises:
            ControlPointError: the sensor does not offer the rate, or refuses START (e.g. 13
                DEVICE_IN_CHARGER); ALREADY_IN_STATE after our STOP is retried once.
        """
        mtype = MeasurementType.ACC if kind == "acc" else MeasurementType.GYRO
        offered = await self.settings(mtype, sdk_mode=sdk_mode)
        rate = round(fs_hz)
        if offered.sample_rates_hz and rate not in offered.sample_rates_hz:
            raise ControlPointError(
                f"{self._sensor}: {kind} rate {fs_hz:g} Hz not offered (offered: {offered.sample_rates_hz})",
                op=PmdOp.START_MEASUREMENT,
                status=PmdStatus.INVALID_SAMPLE_RATE,
                measurement_type=mtype,
                status_name="INVALID_SAMPLE_RATE",
                sensor=self._sensor,
            )
        wanted_range = profile.default_acc_range_g if kind == "acc" else profile.default_gyro_range_dps
        range_ = (
            wanted_range
            if wanted_range is not None and (not offered.ranges or wanted_range in offered.ranges)
            else max(offered.ranges or (8,))
        )
        resolution = offered.resolutions_bits[0] if offered.resolutions_bits else profile.resolution_bits
        settings = PmdSettings.selected(
            sample_rate_hz=rate,
            resolution_bits=resolution,
            range_=range_,
            # CHANNELS only when offered (Verity); one byte (doc §1.3.2).
            channels=offered.channels[0] if offered.channels else None,
        )
        stopped = await self.stop(mtype)
        logger.debug("%s: stop %s before start: %s", self._sensor, kind, stopped.status_name)
        response = await self.request(start_request(mtype, settings))
        if response.already_in_state:
            # Still running from a previous session despite our STOP: stop once more, then start.
            await self.stop(mtype)
            response = await self.request(start_request(mtype, settings))
        response.raise_for_status(sensor=self._sensor)
        try:
            factor = response.settings().factor
        except FrameError:
            factor = None
        return PmdStreamConfig(
            kind=kind,
            measurement_type=int(mtype),
            fs_hz=float(rate),
            range_=int(range_),
            resolution_bits=int(resolution),
            factor=factor,
        )
