"""Record one or two sensors to spools through bleak, surviving link drops and stalled streams.

Everything runs on one event loop. Per sensor a session:

1. finds the sensor (scan by address), connects, subscribes, and starts its streams
   (Polar: query settings, STOP before START, START ACC and GYRO where present, SDK mode when the rates
   need it; WitMotion: unlock, set the output rate);
2. opens a spool (:class:`ingest.spool.writer.SpoolWriter`) whose header records the negotiated settings;
3. notification callbacks only enqueue ``(stream, bytes, host time)``; a consumer task appends the raw
   bytes to the spool and decodes them for the live status, idle detection and validation only
   (malformed notifications are counted, the recording goes on);
4. on a disconnect (bleak's disconnected callback) or a silent stream (no notification for
   ``stall_timeout_s`` while connected) it records a link event, reconnects with exponential backoff,
   restarts the streams and goes on. A PMD frame whose timestamp is not newer than the last one written
   is dropped, so no sample is ever written twice.

Recording stops at ``duration_s`` (host seconds), when ``stop_event`` is set (Ctrl-C in the CLI), or when
every sensor has seen no movement for ``until_idle_min`` minutes. Each session's summary (samples,
samples the sensor clock implies, gaps) is computed from the finished spool with
:func:`ingest.spool.decode.decode_spool`, i.e. by the same code that later imports it.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from bleak import BleakClient, BleakScanner
from bleak.backends.client import BaseBleakClient
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import BaseBleakScanner
from bleak.exc import BleakError

from hipsync.records import Side
from ingest.ble.scan import BluetoothUnavailableError
from ingest.errors import ControlPointError, FrameError, SensorError, SensorNotFoundError
from ingest.polar.client import PmdControlClient, PmdStreamConfig
from ingest.polar.decode import PmdStreamDecoder
from ingest.polar.formats import PmdFrameHeader
from ingest.profiles import SensorProfile, get_profile
from ingest.samples import SampleBlock
from ingest.spool.decode import decode_spool
from ingest.spool.format import SpoolEventKind, SpoolHeader
from ingest.spool.reader import read_spool
from ingest.spool.writer import SpoolWriter, new_spool_path
from ingest.witmotion.client import configure_witmotion
from ingest.witmotion.decode import decode_witmotion

logger = logging.getLogger(__name__)

__all__ = [
    "Backoff",
    "Gap",
    "LinkState",
    "RecordSummary",
    "RecordTarget",
    "SampleObserver",
    "SensorStatus",
    "record",
]

#: Called on the consumer task with each decoded block: ``(sensor address, block)``, sensor clock seconds
#: (host clock for WitMotion). It must return at once (e.g. only enqueue): it runs on the BLE loop.
SampleObserver = Callable[[str, SampleBlock], None]

#: Movement threshold for idle detection: a change of the acceleration vector by more than this (g)
#: within a notification, or |gyro| above ``IDLE_GYRO_DPS``, counts as movement.
IDLE_ACC_G = 0.05
IDLE_GYRO_DPS = 10.0


class LinkState(enum.StrEnum):
    """Per-sensor link state shown in the status line."""

    SEARCHING = "searching"
    CONNECTING = "connecting"
    STREAMING = "streaming"
    RECONNECTING = "reconnecting"
    STOPPED = "stopped"
    FAILED = "failed"


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordTarget:
    """A sensor to record.

    Attributes:
        address: BLE address (or macOS UUID; the virtual backend's address).
        profile: profile id (``polar-verity-sense``, ``polar-h10``, ``witmotion-wt901``).
        side: thigh the sensor is on, stored in the spool header.
        name: advertised name, for messages.
        acc_rate_hz / gyro_rate_hz: override the profile defaults (Polar rates outside normal mode switch
            the sensor to SDK mode).
    """

    address: str
    profile: str
    side: Side | None = None
    name: str | None = None
    acc_rate_hz: float | None = None
    gyro_rate_hz: float | None = None

    @property
    def label(self) -> str:
        return self.name or self.address


@dataclass(frozen=True, slots=True, kw_only=True)
class Backoff:
    """Exponential reconnect backoff: ``initial_s``, x ``factor`` per failed attempt, at most ``max_s``.

    ``give_up_after_s``: stop retrying after this long without a link (``None``: retry until stopped).
    """

    initial_s: float = 0.5
    factor: float = 2.0
    max_s: float = 10.0
    give_up_after_s: float | None = None

    def delay_s(self, attempt: int) -> float:
        """Wait before attempt ``attempt`` (0-based)."""
        return float(min(self.max_s, self.initial_s * self.factor**attempt))


@dataclass(frozen=True, slots=True, kw_only=True)
class Gap:
    """Missing data, in seconds from the recording's first ACC sample (sensor clock)."""

    start_s: float
    end_s: float

    def to_json(self) -> dict[str, float]:
        return {"start": round(self.start_s, 6), "end": round(self.end_s, 6)}


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordSummary:
    """What one sensor's recording produced (``hipsync record --json`` prints :meth:`to_json`).

    Attributes:
        spool: the spool file.
        sensor: the sensor's address.
        name / profile / side: as recorded in the spool header.
        samples: ACC samples in the spool (after dropping duplicates, if any).
        expected_samples: samples the sensor clock implies from the first to the last ACC sample.
        gaps: stretches without samples (sensor clock, s from the first sample).
        malformed_notifications: notifications that did not decode (kept raw in the spool, skipped).
        reconnects: successful reconnects after link loss or stall.
        duplicates_dropped: PMD frames not written because their timestamp was not newer.
        stop_reason: ``duration``, ``stopped``, ``idle`` or ``failed``.
    """

    spool: Path
    sensor: str
    name: str | None
    profile: str
    side: Side | None
    samples: int
    expected_samples: int
    gaps: tuple[Gap, ...]
    malformed_notifications: int
    reconnects: int
    duplicates_dropped: int
    stop_reason: str

    def to_json(self) -> dict[str, Any]:
        """The ``--json`` shape of the issue, plus a few extra keys."""
        return {
            "spool": str(self.spool),
            "sensor": self.sensor,
            "samples": self.samples,
            "expected_samples": self.expected_samples,
            "gaps": [g.to_json() for g in self.gaps],
            "name": self.name,
            "profile": self.profile,
            "side": None if self.side is None else str(self.side),
            "malformed_notifications": self.malformed_notifications,
            "reconnects": self.reconnects,
            "stop_reason": self.stop_reason,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class SensorStatus:
    """A snapshot for the live status line."""

    sensor: str
    name: str | None
    profile: str
    state: LinkState
    samples: int
    rate_hz: float
    malformed: int
    reconnects: int


@dataclass(slots=True)
class _Live:
    """Decoded-for-status counters of one session (mutable, owned by its consumer task)."""

    samples: int = 0
    malformed: int = 0
    duplicates: int = 0
    recent: deque[tuple[float, int]] = field(default_factory=lambda: deque(maxlen=64))
    last_motion_s: float | None = None
    latest_s: float | None = None
    last_acc: np.ndarray[Any, np.dtype[np.float64]] | None = None


class _Session:
    """One sensor: connect, stream, spool, reconnect."""

    def __init__(
        self,
        target: RecordTarget,
        spool_dir: Path,
        *,
        scanner_backend: type[BaseBleakScanner] | None,
        client_backend: type[BaseBleakClient] | None,
        connect_timeout_s: float,
        stall_timeout_s: float,
        backoff: Backoff,
        stop: asyncio.Event,
        on_samples: SampleObserver | None = None,
    ) -> None:
        self.target = target
        self.on_samples = on_samples
        self.profile: SensorProfile = get_profile(target.profile)
        self.spool_dir = spool_dir
        self.scanner_backend = scanner_backend
        self.client_backend = client_backend
        self.connect_timeout_s = connect_timeout_s
        self.stall_timeout_s = stall_timeout_s
        self.backoff = backoff
        self.stop = stop
        self.state = LinkState.SEARCHING
        self.name: str | None = target.name
        self.client: BleakClient | None = None
        self.writer: SpoolWriter | None = None
        self.queue: asyncio.Queue[tuple[str, bytes, float] | None] = asyncio.Queue()
        self.link_lost = asyncio.Event()
        self.last_data_host_s = time.monotonic()
        self.reconnects = 0
        self.live = _Live()
        self.pmd_configs: dict[int, PmdStreamConfig] = {}
        self.decoders: dict[int, PmdStreamDecoder] = {}
        self.last_frame_ts: dict[int, int] = {}
        self.wit_rate_hz = float(target.acc_rate_hz or self.profile.default_acc_rate_hz)
        self.consumer: asyncio.Task[None] | None = None
        self.failure: BaseException | None = None

    # -- status ------------------------------------------------------------------------------------
    def status(self) -> SensorStatus:
        now = time.monotonic()
        recent = [(t, n) for t, n in self.live.recent if now - t <= 5.0]
        rate = 0.0
        if len(recent) >= 2 and recent[-1][0] > recent[0][0]:
            rate = sum(n for _, n in recent[1:]) / (recent[-1][0] - recent[0][0])
        return SensorStatus(
            sensor=self.target.address,
            name=self.name,
            profile=self.profile.id,
            state=self.state,
            samples=self.live.samples,
            rate_hz=rate,
            malformed=self.live.malformed,
            reconnects=self.reconnects,
        )

    def idle_for_s(self) -> float:
        """Seconds (sensor clock for PMD, host clock for WitMotion) since the last movement."""
        if self.live.latest_s is None:
            return 0.0
        ref = self.live.last_motion_s if self.live.last_motion_s is not None else self.live.latest_s
        return self.live.latest_s - ref

    # -- connect and start -------------------------------------------------------------------------
    async def _find(self, timeout_s: float) -> BLEDevice | None:
        try:
            if self.scanner_backend is None:
                return await BleakScanner.find_device_by_address(self.target.address, timeout=timeout_s)
            return await BleakScanner.find_device_by_address(
                self.target.address, timeout=timeout_s, backend=self.scanner_backend
            )
        except (BleakError, OSError) as e:
            raise BluetoothUnavailableError(
                f"Bluetooth is not available: {e}", sensor=self.target.address
            ) from e

    def _on_disconnect(self, _client: BleakClient) -> None:
        self.link_lost.set()

    def _on_data(self, _sender: object, data: bytearray) -> None:
        # bleak callback: enqueue only; the consumer task does the rest.
        now = time.monotonic()
        self.last_data_host_s = now
        payload = bytes(data)
        if self.profile.protocol == "polar-pmd":
            stream = {2: "acc", 5: "gyro"}.get(payload[0] & 0x3F, "pmd") if payload else "pmd"
        else:
            stream = "imu"
        self.queue.put_nowait((stream, payload, now))

    async def _connect_and_start(self, device: BLEDevice) -> None:
        self.state = LinkState.CONNECTING
        self.link_lost.clear()
        client = BleakClient(
            device,
            disconnected_callback=self._on_disconnect,
            timeout=self.connect_timeout_s,
            backend=self.client_backend,
        )
        await client.connect()
        self.client = client
        self.name = self.name or device.name
        try:
            if self.profile.protocol == "polar-pmd":
                await self._start_pmd(client)
            else:
                await client.start_notify(self.profile.data_uuid, self._on_data)
                await configure_witmotion(client, self.profile, self.wit_rate_hz, sensor=self.target.label)
        except BaseException:
            with contextlib.suppress(BleakError, SensorError, OSError, asyncio.TimeoutError):
                await client.disconnect()
            self.client = None
            raise
        self.last_data_host_s = time.monotonic()
        self.state = LinkState.STREAMING

    async def _start_pmd(self, client: BleakClient) -> None:
        cp = PmdControlClient(client, sensor=self.target.label)
        await client.start_notify(self.profile.control_uuid, cp.on_indication)
        await client.start_notify(self.profile.data_uuid, self._on_data)
        features = await cp.features()
        acc_rate = float(self.target.acc_rate_hz or self.profile.default_acc_rate_hz)
        gyro_rate: float | None = None
        if self.profile.has_gyro and 5 in features.measurement_types:
            gyro_rate = float(self.target.gyro_rate_hz or self.profile.default_gyro_rate_hz or acc_rate)
        sdk = self.profile.needs_sdk_mode(acc_rate, gyro_rate)
        if sdk:
            for mtype in (2, 5) if gyro_rate is not None else (2,):
                await cp.stop(mtype)  # SDK mode can only change while nothing streams
            await cp.set_sdk_mode(True)
        configs = [await cp.start_stream(self.profile, "acc", acc_rate, sdk_mode=sdk)]
        if gyro_rate is not None:
            configs.append(await cp.start_stream(self.profile, "gyro", gyro_rate, sdk_mode=sdk))
        for c in configs:
            self.pmd_configs[c.measurement_type] = c
            self.decoders[c.measurement_type] = PmdStreamDecoder(
                c.measurement_type, sample_rate_hz=c.fs_hz, factor=c.factor
            )

    async def open(self) -> None:
        """Find, connect and start streaming (notifications queue up until :meth:`begin`)."""
        self.state = LinkState.SEARCHING
        device = await self._find(self.connect_timeout_s)
        if device is None:
            self.state = LinkState.FAILED
            raise SensorNotFoundError(
                f"sensor {self.target.label} ({self.profile.display_name}) was not found within "
                f"{self.connect_timeout_s:g} s: is it switched on, charged, near this computer, and not "
                "connected to another app?",
                target=self.target.address,
                timeout_s=self.connect_timeout_s,
            )
        try:
            await self._connect_and_start(device)
        except BleakError as e:
            self.state = LinkState.FAILED
            raise SensorError(
                f"could not connect to {self.target.label}: {e}", sensor=self.target.address
            ) from e

    def begin(self) -> None:
        """Open the spool (header with the negotiated settings) and start writing the queue to it."""
        if self.profile.protocol == "polar-pmd":
            streams = {c.kind: c.header_settings() for c in self.pmd_configs.values()}
        else:
            streams = {"imu": {"fs_hz": self.wit_rate_hz, "range_g": 16, "range_dps": 2000}}
        header = SpoolHeader.new(
            profile=self.profile.id,
            side=None if self.target.side is None else str(self.target.side),
            device_address=self.target.address,
            device_name=self.name,
            streams=streams,
            extra={"backend": "virtual" if self.client_backend is not None else "platform"},
        )
        self.spool_dir.mkdir(parents=True, exist_ok=True)
        self.writer = SpoolWriter.open(new_spool_path(self.spool_dir, header), header)
        self.writer.event(SpoolEventKind.CONNECTED, time.monotonic(), address=self.target.address)
        self.writer.event(SpoolEventKind.STREAM_STARTED, time.monotonic())
        self.consumer = asyncio.create_task(self._consume(), name=f"spool-{self.target.label}")

    # -- consume -----------------------------------------------------------------------------------
    async def _consume(self) -> None:
        while True:
            item = await self.queue.get()
            if item is None:
                return
            stream, payload, host_t = item
            if self._is_duplicate(payload):
                self.live.duplicates += 1
                continue
            assert self.writer is not None
            self.writer.append(stream, payload, host_t)
            self._decode_for_status(payload, host_t)

    def _is_duplicate(self, payload: bytes) -> bool:
        """A PMD frame not newer than the last one of its type (re-sent around a reconnect)."""
        if self.profile.protocol != "polar-pmd":
            return False
        try:
            head = PmdFrameHeader.from_bytes(payload)
        except FrameError:
            return False
        last = self.last_frame_ts.get(head.measurement_type)
        return last is not None and head.timestamp_ns <= last

    def _decode_for_status(self, payload: bytes, host_t: float) -> None:
        live = self.live
        try:
            if self.profile.protocol == "polar-pmd":
                mtype = payload[0] & 0x3F if payload else -1
                decoder = self.decoders.get(mtype)
                if decoder is None:
                    raise FrameError(f"notification of unexpected measurement type {mtype}")
                frame = decoder.decode(payload)
                self.last_frame_ts[mtype] = frame.header.timestamp_ns
                values, t_last = frame.block.values, float(frame.block.sensor_time_s[-1])
                self._observe(frame.block)
                if mtype != 2:
                    if np.abs(values).max(initial=0.0) > IDLE_GYRO_DPS:
                        live.last_motion_s = t_last
                    return
            else:
                batch = decode_witmotion(payload)
                if batch.n_samples == 0:
                    return
                values, t_last = batch.accel_g, host_t
                self._observe_witmotion(batch.accel_g, batch.gyro_dps, host_t)
        except FrameError as e:
            live.malformed += 1
            logger.debug("%s: malformed notification skipped: %s", self.target.label, e)
            return
        n = int(values.shape[0])
        live.samples += n
        live.recent.append((host_t, n))
        ref = live.last_acc if live.last_acc is not None else values[0]
        moved = float(np.abs(values - ref).max(initial=0.0)) > IDLE_ACC_G
        live.last_acc = values[-1].copy()
        if moved or live.last_motion_s is None:
            live.last_motion_s = t_last
        live.latest_s = t_last

    def _observe(self, block: SampleBlock) -> None:
        if self.on_samples is not None:
            self.on_samples(self.target.address, block)

    def _observe_witmotion(
        self, accel_g: np.ndarray[Any, Any], gyro_dps: np.ndarray[Any, Any], host_t: float
    ) -> None:
        if self.on_samples is None:
            return
        # WitMotion samples carry no time: spaced at the output rate, the last one at its arrival.
        n = int(accel_g.shape[0])
        t = host_t - np.arange(n - 1, -1, -1, dtype=np.float64) / self.wit_rate_hz
        self._observe(SampleBlock(kind="acc", sensor_time_s=t, values=np.asarray(accel_g, dtype=np.float64)))
        self._observe(
            SampleBlock(kind="gyro", sensor_time_s=t, values=np.asarray(gyro_dps, dtype=np.float64))
        )

    # -- run ---------------------------------------------------------------------------------------
    async def run(self) -> None:
        """Stream until stopped, reconnecting as needed."""
        try:
            while not self.stop.is_set():
                reason = await self._watch()
                if reason is None:
                    break
                await self._recover(reason)
        except Exception as e:
            self.failure = e
            self.state = LinkState.FAILED
            logger.error("%s: recording failed: %s", self.target.label, e)

    async def _watch(self) -> str | None:
        """Wait while streaming; the loss reason (``lost``/``stalled``) or None when stopped."""
        stop_wait = asyncio.ensure_future(self.stop.wait())
        lost_wait = asyncio.ensure_future(self.link_lost.wait())
        try:
            while True:
                done, _ = await asyncio.wait(
                    {stop_wait, lost_wait}, timeout=0.1, return_when="FIRST_COMPLETED"
                )
                if stop_wait in done:
                    return None
                if lost_wait in done:
                    return "lost"
                if time.monotonic() - self.last_data_host_s > self.stall_timeout_s:
                    return "stalled"
        finally:
            stop_wait.cancel()
            lost_wait.cancel()

    async def _recover(self, reason: str) -> None:
        now = time.monotonic()
        assert self.writer is not None
        logger.warning("%s: link %s, reconnecting", self.target.label, reason)
        self.writer.event(
            SpoolEventKind.STALLED if reason == "stalled" else SpoolEventKind.LOST,
            now,
            silent_s=round(now - self.last_data_host_s, 3),
        )
        self.state = LinkState.RECONNECTING
        client, self.client = self.client, None
        if client is not None:
            with contextlib.suppress(BleakError, SensorError, OSError, asyncio.TimeoutError):
                await client.disconnect()
        for d in self.decoders.values():
            d.reset()
        lost_at = time.monotonic()
        attempt = 0
        while not self.stop.is_set():
            delay = self.backoff.delay_s(attempt)
            attempt += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stop.wait(), delay)
            if self.stop.is_set():
                return
            try:
                device = await self._find(min(self.connect_timeout_s, 5.0))
                if device is None:
                    raise SensorNotFoundError(
                        f"{self.target.label} not advertising", target=self.target.address
                    )
                await self._connect_and_start(device)
            except ControlPointError:
                raise  # the sensor refuses the stream: retrying will not help
            except (BleakError, SensorError, OSError, TimeoutError) as e:
                logger.info("%s: reconnect attempt %d failed: %s", self.target.label, attempt, e)
                self.state = LinkState.RECONNECTING
                give_up = self.backoff.give_up_after_s
                if give_up is not None and time.monotonic() - lost_at > give_up:
                    raise
                continue
            self.reconnects += 1
            self.writer.event(SpoolEventKind.RECONNECTED, time.monotonic(), attempt=attempt)
            self.writer.event(SpoolEventKind.STREAM_STARTED, time.monotonic())
            return

    async def close(self) -> None:
        """Stop the streams, disconnect, flush the queue, close the spool."""
        client, self.client = self.client, None
        if client is not None and client.is_connected:
            with contextlib.suppress(BleakError, SensorError, OSError, asyncio.TimeoutError, TimeoutError):
                if self.profile.protocol == "polar-pmd":
                    cp = PmdControlClient(client, sensor=self.target.label, timeout_s=2.0)
                    await client.start_notify(self.profile.control_uuid, cp.on_indication)
                    for mtype in self.pmd_configs:
                        # Real sensors keep streaming until told to stop (the H10 drains its battery).
                        await cp.stop(mtype)
            with contextlib.suppress(BleakError, OSError, asyncio.TimeoutError, TimeoutError):
                await client.disconnect()
        if self.consumer is not None:
            self.queue.put_nowait(None)
            await self.consumer
            self.consumer = None
        if self.writer is not None:
            self.writer.event(SpoolEventKind.STREAM_STOPPED, time.monotonic())
            self.writer.close()
        if self.state != LinkState.FAILED:
            self.state = LinkState.STOPPED

    def summary(self, stop_reason: str) -> RecordSummary:
        assert self.writer is not None
        decoded = decode_spool(read_spool(self.writer.path))
        return RecordSummary(
            spool=self.writer.path,
            sensor=self.target.address,
            name=self.name,
            profile=self.profile.id,
            side=self.target.side,
            samples=decoded.acc.n_samples,
            expected_samples=decoded.expected_samples,
            gaps=tuple(Gap(start_s=a, end_s=b) for a, b in decoded.gaps),
            malformed_notifications=decoded.malformed_chunks,
            reconnects=self.reconnects,
            duplicates_dropped=self.live.duplicates,
            stop_reason="failed" if self.failure is not None else stop_reason,
        )


async def _relay(source: asyncio.Event, target: asyncio.Event) -> None:
    """Set ``target`` once ``source`` is set (cancelled when no longer needed)."""
    await source.wait()
    target.set()


async def record(
    targets: Sequence[RecordTarget],
    spool_dir: Path,
    *,
    duration_s: float | None = None,
    until_idle_min: float | None = None,
    stop_event: asyncio.Event | None = None,
    scanner_backend: type[BaseBleakScanner] | None = None,
    client_backend: type[BaseBleakClient] | None = None,
    connect_timeout_s: float = 10.0,
    stall_timeout_s: float = 3.0,
    backoff: Backoff | None = None,
    on_status: Callable[[list[SensorStatus]], None] | None = None,
    status_interval_s: float = 0.5,
    on_samples: SampleObserver | None = None,
) -> list[RecordSummary]:
    """Record ``targets`` concurrently into spools in ``spool_dir``; one summary per target.

    Args:
        targets: one or two sensors (more work, but the BLE link budget of a laptop is the limit).
        spool_dir: where the spools go (the CLI uses ``storage.paths.spool_dir()``).
        duration_s: stop after this many seconds of recording (host clock); ``None`` = no limit.
        until_idle_min: stop once every sensor has seen no movement for this many minutes (sensor clock).
        stop_event: set it to stop (the CLI sets it on Ctrl-C); record() only reads it, never sets it.
        scanner_backend / client_backend: bleak ``backend=`` classes (see
            :func:`ingest.ble.virtual_backend.backend_for_mode`); ``None`` = bleak's platform backend.
        connect_timeout_s: how long to look for a sensor before giving up (first connection).
        stall_timeout_s: a stream silent this long while connected is treated as a lost link.
        backoff: reconnect policy.
        on_status: called every ``status_interval_s`` with a snapshot per sensor (live status line).
        on_samples: called with every decoded sample block (the live rep view); see :data:`SampleObserver`.

    Raises:
        SensorNotFoundError: a sensor did not appear within ``connect_timeout_s`` (nothing is recorded).
        ControlPointError: a sensor refused to start its stream.
        ValueError: no targets, or the same address twice.
    """
    _check_targets(targets)
    # An event of our own: the sessions must all stop when record() finishes for any reason, but the
    # caller's event stays the caller's (it may drive other work); it only ever flows in, through a relay.
    stop = asyncio.Event()
    relay = asyncio.create_task(_relay(stop_event, stop)) if stop_event is not None else None
    sessions = [
        _Session(
            t,
            Path(spool_dir),
            scanner_backend=scanner_backend,
            client_backend=client_backend,
            connect_timeout_s=connect_timeout_s,
            stall_timeout_s=stall_timeout_s,
            backoff=backoff or Backoff(),
            stop=stop,
            on_samples=on_samples,
        )
        for t in targets
    ]

    def report() -> None:
        if on_status is not None:
            on_status([s.status() for s in sessions])

    try:
        await _open_all(sessions, report)
    except BaseException:
        if relay is not None:
            relay.cancel()
        raise
    for s in sessions:
        s.begin()

    runners = [asyncio.create_task(s.run(), name=f"record-{s.target.label}") for s in sessions]
    limits = _Limits(started=time.monotonic(), duration_s=duration_s, until_idle_min=until_idle_min)
    stop_reason = "stopped"
    try:
        stop_reason = await _until_stopped(sessions, runners, stop, limits, report, status_interval_s)
    finally:
        stop.set()
        if relay is not None:
            relay.cancel()
        await asyncio.gather(*runners, return_exceptions=True)
        await asyncio.gather(*(s.close() for s in sessions), return_exceptions=True)
        report()
    summaries = [s.summary(stop_reason) for s in sessions]
    for s in sessions:
        if s.failure is not None:
            logger.error("%s: %s", s.target.label, s.failure)
    return summaries


def _check_targets(targets: Sequence[RecordTarget]) -> None:
    if not targets:
        raise ValueError("no sensors to record")
    if len({t.address.casefold() for t in targets}) != len(targets):
        raise ValueError("the same sensor was given twice")


async def _open_all(sessions: list[_Session], report: Callable[[], None]) -> None:
    """Open every session at once; if any fails, close them all and raise its error.

    No spool is created unless every sensor streams: a failed start leaves nothing to import.
    """
    opened = await asyncio.gather(*(s.open() for s in sessions), return_exceptions=True)
    errors = [e for e in opened if isinstance(e, BaseException)]
    if errors:
        await asyncio.gather(*(s.close() for s in sessions), return_exceptions=True)
        report()
        raise errors[0]


@dataclass(frozen=True, slots=True, kw_only=True)
class _Limits:
    """When a recording ends by itself: after ``duration_s`` host seconds from ``started`` (monotonic), or
    once every sensor has been still for ``until_idle_min`` minutes."""

    started: float
    duration_s: float | None
    until_idle_min: float | None

    def reason(self, sessions: Sequence[_Session]) -> str | None:
        """``duration`` or ``idle`` when a limit is reached, else None."""
        if self.duration_s is not None and time.monotonic() - self.started >= self.duration_s:
            return "duration"
        idle_s = None if self.until_idle_min is None else self.until_idle_min * 60
        if idle_s is not None and all(s.idle_for_s() >= idle_s for s in sessions):
            return "idle"
        return None


async def _until_stopped(
    sessions: Sequence[_Session],
    runners: Sequence[asyncio.Task[None]],
    stop: asyncio.Event,
    limits: _Limits,
    report: Callable[[], None],
    status_interval_s: float,
) -> str:
    """Report the status every ``status_interval_s`` until ``stop`` is set (``stopped``), a limit is
    reached (``duration``, ``idle``) or every session has failed (``failed``)."""
    while not stop.is_set():
        report()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), status_interval_s)
        if stop.is_set():
            break
        reason = limits.reason(sessions)
        if reason is not None:
            return reason
        if all(r.done() for r in runners):
            return "failed"
    return "stopped"
