"""Record one or two sensors to spools through bleak, surviving link drops and stalled streams.

Everything runs on one event loop. Per sensor a session:

1. finds the sensor (scan by address), connects, subscribes, and starts its streams
   (Polar: query settings, STOP before START, START ACC and GYRO where present, SDK mode when the rates
   need it; WitMotion: unlock, set the output rate);
2. opens a spool (:class:`ingest.spool.writer.SpoolWriter`) whose header records the negotiated settings;
3. notification callbacks only enqueue ``(stream, bytes, host time)`` on a bounded queue; a consumer task
   asks the protocol's stream driver about each notification (a re-sent duplicate is not written again;
   a sensor clock that stepped back becomes a ``clock_step`` event and the frames after it are kept),
   appends the raw bytes to the spool and decodes them for the live status and idle detection only
   (malformed notifications are counted, the recording goes on);
4. on a disconnect (bleak's disconnected callback) or a silent stream (no notification for
   ``stall_timeout_s`` while connected) it records a link event, reconnects with exponential backoff,
   restarts the streams and goes on.

Everything protocol-specific (how streams start and stop, stream names, duplicates, clock steps, the
status decode) is the stream driver's (:mod:`ingest.ble.driver`: :mod:`ingest.polar.stream`,
:mod:`ingest.witmotion.stream`).

Recording stops at ``duration_s`` (host seconds), when ``stop_event`` is set (Ctrl-C in the CLI), when
every sensor has seen no movement for ``until_idle_min`` minutes, or when a spool cannot be written (disk
full, I/O error): then every session stops, the failing one with ``stop_reason == "failed"`` and the
reason in ``error``; its spool keeps every chunk written before (the writer cuts a torn chunk off). Each
session's summary is computed from the finished spool with :func:`ingest.spool.decode.decode_spool`,
i.e. by the same code that later imports it, plus what the sensor sent that never reached the spool.
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
from ingest.ble.driver import StreamDriver
from ingest.ble.scan import BluetoothUnavailableError
from ingest.errors import (
    ControlPointError,
    FrameError,
    SensorError,
    SensorNotFoundError,
    SpoolError,
    SpoolWriteError,
)
from ingest.polar.stream import PolarStreamDriver
from ingest.profiles import SensorProfile, get_profile
from ingest.samples import SampleBlock
from ingest.spool.decode import decode_spool
from ingest.spool.format import SpoolEventKind, SpoolHeader
from ingest.spool.reader import read_spool
from ingest.spool.writer import SpoolWriter, new_spool_path
from ingest.witmotion.stream import WitMotionStreamDriver

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
#: Notifications waiting for the consumer, at most (minutes of data at any supported rate); beyond it
#: notifications are dropped and counted (``dropped_notifications``) instead of filling the memory.
QUEUE_MAX_NOTIFICATIONS = 10_000


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
        expected_samples: samples the sensor clock implies from the first to the last ACC sample in the
            spool, plus the ACC samples the sensor sent that were never written (a failed write).
        gaps: stretches without samples (sensor clock, s from the first sample).
        malformed_notifications: notifications that did not decode (kept raw in the spool, skipped).
        reconnects: successful reconnects after link loss or stall.
        duplicates_dropped: notifications not written because the same bytes were written before.
        stop_reason: ``duration``, ``stopped``, ``idle`` or ``failed``.
        received_samples: ACC samples decoded from what the sensor sent, written or not.
        dropped_notifications: notifications lost because the queue to the spool writer was full.
        clock_steps: times the sensor clock stepped back (each a ``clock_step`` event in the spool).
        error: why the recording failed (one line), None unless ``stop_reason == "failed"``.
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
    received_samples: int = 0
    dropped_notifications: int = 0
    clock_steps: int = 0
    error: str | None = None

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
            "received_samples": self.received_samples,
            "dropped_notifications": self.dropped_notifications,
            "clock_steps": self.clock_steps,
            "error": self.error,
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
    unwritten_samples: int = 0
    dropped: int = 0
    clock_steps: int = 0
    recent: deque[tuple[float, int]] = field(default_factory=lambda: deque(maxlen=64))
    last_motion_s: float | None = None
    latest_s: float | None = None
    last_acc: np.ndarray[Any, np.dtype[np.float64]] | None = None


def _driver(target: RecordTarget, profile: SensorProfile) -> StreamDriver:
    """The stream driver of the target's protocol."""
    if profile.protocol == "polar-pmd":
        return PolarStreamDriver(
            profile, sensor=target.label, acc_rate_hz=target.acc_rate_hz, gyro_rate_hz=target.gyro_rate_hz
        )
    return WitMotionStreamDriver(profile, sensor=target.label, rate_hz=target.acc_rate_hz)


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
        self.driver = _driver(target, self.profile)
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
        self.queue: asyncio.Queue[tuple[str, bytes, float] | None] = asyncio.Queue(QUEUE_MAX_NOTIFICATIONS)
        self.link_lost = asyncio.Event()
        self.last_data_host_s = time.monotonic()
        self.reconnects = 0
        self.live = _Live()
        self.consumer: asyncio.Task[None] | None = None
        self.failure: BaseException | None = None
        self.write_error: SpoolWriteError | None = None

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
        try:
            self.queue.put_nowait((self.driver.stream_name(payload), payload, now))
        except asyncio.QueueFull:
            # The consumer is stuck (a disk that hangs): count what is lost rather than fill the memory.
            if not self.live.dropped:
                logger.error("%s: spool writer is behind; dropping notifications", self.target.label)
            self.live.dropped += 1

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
            await self.driver.start(client, self._on_data)
        except BaseException:
            with contextlib.suppress(BleakError, SensorError, OSError, asyncio.TimeoutError):
                await client.disconnect()
            self.client = None
            raise
        self.last_data_host_s = time.monotonic()
        self.state = LinkState.STREAMING

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
        """Open the spool (header with the negotiated settings) and start writing the queue to it.

        Raises:
            SpoolWriteError: the spool cannot be created (disk full, no permission): nothing is recorded.
        """
        header = SpoolHeader.new(
            profile=self.profile.id,
            side=None if self.target.side is None else str(self.target.side),
            device_address=self.target.address,
            device_name=self.name,
            streams=self.driver.header_streams(),
            extra={"backend": "virtual" if self.client_backend is not None else "platform"},
        )
        path = new_spool_path(self.spool_dir, header)
        try:
            self.spool_dir.mkdir(parents=True, exist_ok=True)
            self.writer = SpoolWriter.open(path, header)
        except OSError as e:
            raise _write_error(path, e, written=None) from e
        self._event(SpoolEventKind.CONNECTED, address=self.target.address)
        self._event(SpoolEventKind.STREAM_STARTED)
        self.consumer = asyncio.create_task(self._consume(), name=f"spool-{self.target.label}")

    # -- consume -----------------------------------------------------------------------------------
    async def _consume(self) -> None:
        try:
            while (item := await self.queue.get()) is not None:
                self._take(*item)
        except Exception as e:
            # Never silently: a consumer that dies would leave the queue to grow and the spool to end.
            logger.debug("%s: spool consumer failed", self.target.label, exc_info=True)
            self._fail(e)

    def _take(self, stream: str, payload: bytes, host_t: float) -> None:
        """One notification: judged by the driver, counted, written (unless a write failed before)."""
        arrival = self.driver.arrive(payload, host_t)
        if arrival.duplicate:
            self.live.duplicates += 1
            return
        self.live.clock_steps += sum(kind == SpoolEventKind.CLOCK_STEP for kind, _ in arrival.events)
        n_acc = self._decode_for_status(payload, host_t)
        if self.write_error is None and self.writer is not None:
            try:
                for kind, details in arrival.events:
                    self.writer.event(kind, host_t, **details)
                self.writer.append(stream, payload, host_t)
                return
            except OSError as e:
                self._write_failed(e)
        self.live.unwritten_samples += n_acc

    def _event(self, kind: SpoolEventKind, **details: Any) -> None:
        """A link event in the spool (none once a write failed: the recording is stopping)."""
        if self.writer is None or self.write_error is not None:
            return
        try:
            self.writer.event(kind, time.monotonic(), **details)
        except OSError as e:
            self._write_failed(e)

    def _write_failed(self, e: OSError) -> None:
        """A spool write failed: the writer cut the file back to its last whole chunk; stop recording."""
        assert self.writer is not None
        self.write_error = _write_error(self.writer.path, e, written=self.writer.n_chunks)
        logger.info("%s: %s", self.target.label, self.write_error)  # the summary carries it to the user
        self._fail(self.write_error)

    def _fail(self, e: BaseException) -> None:
        """This session failed: every session stops (they share the disk and the summary's verdict)."""
        if self.failure is None:
            self.failure = e
        self.state = LinkState.FAILED
        self.stop.set()

    def _decode_for_status(self, payload: bytes, host_t: float) -> int:
        """Update the live counters with one notification; returns its ACC samples."""
        try:
            blocks = self.driver.decode(payload, host_t)
        except FrameError as e:
            self.live.malformed += 1
            logger.debug("%s: malformed notification skipped: %s", self.target.label, e)
            return 0
        n_acc = 0
        for block in blocks:
            if block.n_samples:
                n_acc += self._count(block, host_t)
                self._observe(block)
        return n_acc

    def _count(self, block: SampleBlock, host_t: float) -> int:
        """Movement and sample counts of one decoded block; returns its ACC samples (0 for GYRO)."""
        live = self.live
        values, t_last = block.values, float(block.sensor_time_s[-1])
        if block.kind != "acc":
            if np.abs(values).max(initial=0.0) > IDLE_GYRO_DPS:
                live.last_motion_s = t_last
            return 0
        n = block.n_samples
        live.samples += n
        live.recent.append((host_t, n))
        ref = live.last_acc if live.last_acc is not None else values[0]
        moved = float(np.abs(values - ref).max(initial=0.0)) > IDLE_ACC_G
        live.last_acc = values[-1].copy()
        if moved or live.last_motion_s is None:
            live.last_motion_s = t_last
        live.latest_s = t_last
        return n

    def _observe(self, block: SampleBlock) -> None:
        """Hand a decoded block to the caller's observer (the live view); a failing observer is dropped
        with a warning, never the recording (the spool is what must not be lost)."""
        if self.on_samples is None:
            return
        try:
            self.on_samples(self.target.address, block)
        except Exception:
            logger.warning(
                "%s: the sample observer failed; recording goes on without it",
                self.target.label,
                exc_info=True,
            )
            self.on_samples = None

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
            logger.info("%s: recording failed: %s", self.target.label, e)  # the summary carries it

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
        logger.warning("%s: link %s, reconnecting", self.target.label, reason)
        self._event(
            SpoolEventKind.STALLED if reason == "stalled" else SpoolEventKind.LOST,
            silent_s=round(now - self.last_data_host_s, 3),
        )
        self.state = LinkState.RECONNECTING
        client, self.client = self.client, None
        if client is not None:
            with contextlib.suppress(BleakError, SensorError, OSError, asyncio.TimeoutError):
                await client.disconnect()
        self.driver.link_lost()
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
            self._event(SpoolEventKind.RECONNECTED, attempt=attempt)
            self._event(SpoolEventKind.STREAM_STARTED)
            return

    async def close(self) -> None:
        """Stop the streams, disconnect, flush the queue, close the spool."""
        client, self.client = self.client, None
        if client is not None and client.is_connected:
            with contextlib.suppress(BleakError, SensorError, OSError, asyncio.TimeoutError, TimeoutError):
                # Real sensors keep streaming until told to stop (the H10 drains its battery).
                await self.driver.stop(client)
            with contextlib.suppress(BleakError, OSError, asyncio.TimeoutError, TimeoutError):
                await client.disconnect()
        if self.consumer is not None:
            await self.queue.put(None)  # after everything queued: the consumer drains first
            await self.consumer
            self.consumer = None
        if self.writer is not None and not self.writer.closed:
            self._event(SpoolEventKind.STREAM_STOPPED)
            try:
                self.writer.close()
            except (OSError, SpoolError) as e:
                # The descriptor is closed anyway; without its END chunk the spool still imports.
                logger.info(
                    "%s: spool %s closed without its END chunk: %s", self.target.label, self.writer.path, e
                )
        if self.state != LinkState.FAILED:
            self.state = LinkState.STOPPED

    def abandon(self) -> None:
        """Close and delete a spool that holds no data yet (another sensor's spool could not be made)."""
        if self.writer is not None:
            path = self.writer.path
            with contextlib.suppress(OSError, SpoolError):
                self.writer.close()
            with contextlib.suppress(OSError):
                path.unlink()
            self.writer = None
        if self.consumer is not None:
            self.consumer.cancel()
            self.consumer = None

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
            expected_samples=decoded.expected_samples + self.live.unwritten_samples,
            gaps=tuple(Gap(start_s=a, end_s=b) for a, b in decoded.gaps),
            malformed_notifications=decoded.malformed_chunks,
            reconnects=self.reconnects,
            duplicates_dropped=self.live.duplicates,
            stop_reason="failed" if self.failure is not None else stop_reason,
            received_samples=self.live.samples,
            dropped_notifications=self.live.dropped,
            clock_steps=self.live.clock_steps,
            error=None if self.failure is None else _one_line(self.failure),
        )


def _write_error(path: Path, e: OSError, *, written: int | None) -> SpoolWriteError:
    kept = "" if written is None else f"; the spool keeps the {written} chunks written before"
    return SpoolWriteError(
        f"recording stopped: cannot write spool {path}: {e.strerror or e}{kept}", path=path, errno=e.errno
    )


def _one_line(e: BaseException) -> str:
    text = " ".join(str(e).split())
    return text or type(e).__name__


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
        _begin_all(sessions)
    except BaseException:
        if relay is not None:
            relay.cancel()
        await asyncio.gather(*(s.close() for s in sessions), return_exceptions=True)
        raise

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
        closed = await asyncio.gather(*(s.close() for s in sessions), return_exceptions=True)
        for s, result in zip(sessions, closed, strict=True):
            if isinstance(result, Exception) and s.failure is None:
                s.failure = result  # a failure while closing still fails the session, visibly
        report()
    # A failure is reported by the summary (``error``), not logged here: the CLI prints it once.
    return [s.summary(stop_reason) for s in sessions]


def _check_targets(targets: Sequence[RecordTarget]) -> None:
    if not targets:
        raise ValueError("no sensors to record")
    if len({t.address.casefold() for t in targets}) != len(targets):
        raise ValueError("the same sensor was given twice")


def _begin_all(sessions: list[_Session]) -> None:
    """Open every spool; if one cannot be created, remove the ones already created (they hold nothing)."""
    for i, s in enumerate(sessions):
        try:
            s.begin()
        except SpoolWriteError:
            for earlier in sessions[:i]:
                earlier.abandon()
            raise


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
