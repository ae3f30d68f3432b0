"""What every emulated sensor shares: a bumble device, advertising, a sensor clock, a streaming loop, faults.

An emulated sensor is a bumble :class:`~bumble.device.Device` with its own controller on the virtual
world's link (:class:`ingest.ble.virtual_backend.VirtualWorld`). It advertises like the real model (local
name and a service UUID that fit the 31-byte legacy payload), serves its GATT database, and, once
streaming, samples its :class:`~ingest.emulator.motion.MotionSource` on its own sample grid and sends
notifications.

The clock: sensor time runs at ``time_scale`` times the event loop's clock (``time_scale > 1`` lets a
benchmark stream 10 sensor minutes in less real time). Samples are produced on the sensor's grid whether
or not anyone listens; samples that cannot be sent (link down, stalled) are lost, as on a real device.

Faults (for tests): :meth:`EmulatedSensor.drop_link`, :meth:`EmulatedSensor.stall`,
:meth:`EmulatedSensor.inject_malformed`, :attr:`Faults.refuse_start_status`, ``advertise=False``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field

from bumble import core, hci
from bumble.device import Connection, Device

from ingest.ble.virtual_backend import VirtualWorld
from ingest.emulator.motion import LegRaiseMotion, MotionSource

logger = logging.getLogger(__name__)

#: Seconds between 1970-01-01 and 2000-01-01, the PMD epoch.
POLAR_EPOCH_UNIX_S = 946_684_800

__all__ = ["POLAR_EPOCH_UNIX_S", "EmulatedSensor", "Faults", "SensorClock"]


class SensorClock:
    """The sensor's own clock: seconds since 2000-01-01 that advance ``time_scale`` x the loop clock.

    Starts at the host's current UTC time (a sensor whose time was set by its phone app), so recordings
    get plausible absolute times.
    """

    def __init__(self, *, time_scale: float = 1.0, start_s: float | None = None) -> None:
        if not time_scale > 0:
            raise ValueError(f"time_scale must be positive, got {time_scale}")
        self.time_scale = float(time_scale)
        self.start_s = float(time.time() - POLAR_EPOCH_UNIX_S) if start_s is None else float(start_s)
        self._t0: float | None = None

    def _loop_time(self) -> float:
        return asyncio.get_running_loop().time()

    def now_s(self) -> float:
        """Sensor time now (s since 2000-01-01 on the sensor clock)."""
        if self._t0 is None:
            self._t0 = self._loop_time()
        return self.start_s + (self._loop_time() - self._t0) * self.time_scale

    def since_power_on_s(self, sensor_time_s: float) -> float:
        """Seconds since power-on for a sensor time (the motion source's time axis)."""
        return sensor_time_s - self.start_s


@dataclass(slots=True)
class Faults:
    """Fault switches of an emulated sensor; tests flip them while a recording runs.

    Attributes:
        refuse_start_status: if set, every START is answered with this PMD status (e.g. 13 =
            DEVICE_IN_CHARGER); WitMotion ignores it (its writes are unacknowledged).
        refuse_start_times: how many STARTs to refuse (``None`` = all of them).
        malformed_pending: how many malformed notifications to send with the next data.
        stalled_until: loop time until which notifications are silently withheld (``inf`` = until the
            next START).
        stop_streams_on_disconnect: a real Verity/H10 keeps streaming when the link drops (a later START
            gets ALREADY_IN_STATE); set True to model a sensor that stops instead.
    """

    refuse_start_status: int | None = None
    refuse_start_times: int | None = None
    malformed_pending: int = 0
    stalled_until: float = 0.0
    stop_streams_on_disconnect: bool = False
    refused_starts: int = field(default=0)


class EmulatedSensor:
    """Base class: device, advertising, connection tracking, streaming loop and link faults.

    Subclasses build the GATT database in :meth:`_build_gatt` and produce notifications in
    :meth:`_tick` (called every ``tick_s`` of loop time while powered on).

    Args:
        world: the virtual world whose link the sensor joins.
        address: static random address (e.g. ``"E0:9E:1A:00:00:01"``).
        name: advertised local name.
        motion: what the sensor measures (default: :class:`LegRaiseMotion`).
        time_scale: sensor-clock speed relative to the loop clock.
        advertise: False emulates a sensor that is off or out of range (never found by a scan).
        max_mtu: largest ATT MTU the sensor accepts (the H10 uses 232).
        tick_s: loop seconds between streaming steps.
    """

    def __init__(
        self,
        world: VirtualWorld,
        *,
        address: str,
        name: str,
        motion: MotionSource | None = None,
        time_scale: float = 1.0,
        advertise: bool = True,
        max_mtu: int = 517,
        tick_s: float = 0.02,
    ) -> None:
        self.world = world
        self.address = address.upper()
        self.name = name
        self.motion: MotionSource = motion if motion is not None else LegRaiseMotion()
        self.clock = SensorClock(time_scale=time_scale)
        self.advertise = advertise
        self.tick_s = tick_s
        self.faults = Faults()
        self.device: Device = world.create_device(name, self.address)
        self.device.gatt_server.max_mtu = max_mtu
        self.device.on(Device.EVENT_CONNECTION, self._on_connection)
        self._task: asyncio.Task[None] | None = None
        self._offline_until = 0.0
        self._background_tasks: set[asyncio.Future[None]] = set()
        self._adv_lock = asyncio.Lock()
        self._running = False
        #: Notifications sent / malformed notifications sent / link drops performed (for tests).
        self.notifications_sent = 0
        self.malformed_sent = 0
        self.links_dropped = 0
        self.connections_accepted = 0
        self._build_gatt()

    # -- to implement ------------------------------------------------------------------------------
    def _build_gatt(self) -> None:
        raise NotImplementedError

    def _advertising_data(self) -> bytes:
        raise NotImplementedError

    async def _tick(self) -> None:
        raise NotImplementedError

    def _on_link_lost(self) -> None:
        """Called when the last connection closes (subclasses may stop streams)."""

    # -- lifecycle ---------------------------------------------------------------------------------
    async def start(self) -> None:
        """Power on, start advertising (unless ``advertise`` is False) and start the streaming loop."""
        await self.device.power_on()
        self.clock.now_s()  # the clock starts at power-on
        self._running = True
        await self._start_advertising()
        self._task = asyncio.create_task(self._run(), name=f"emulator-{self.name}")

    async def stop(self) -> None:
        """Stop streaming, drop connections and stop advertising (the sensor is switched off)."""
        self._running = False
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        for connection in list(self.device.connections.values()):
            with contextlib.suppress(core.BaseBumbleError, asyncio.TimeoutError, TimeoutError):
                await connection.disconnect()
        with contextlib.suppress(core.BaseBumbleError):
            await self._stop_advertising()
        # Not powered off: bumble's power-off races in-flight HCI commands; a silent device is enough.

    async def __aenter__(self) -> EmulatedSensor:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _start_advertising(self) -> None:
        # One HCI command at a time per host: concurrent start/stop calls would cross their responses.
        async with self._adv_lock:
            if not (self.advertise and self._running) or self.device.is_advertising:
                return
            if asyncio.get_running_loop().time() < self._offline_until or self.device.connections:
                return
            self.device.advertising_data = self._advertising_data()
            # 20 ms: far faster than a real sensor's ~250 ms; keeps scans and reconnects in tests short.
            await self.device.start_advertising(advertising_interval_min=20, advertising_interval_max=20)

    async def _stop_advertising(self) -> None:
        async with self._adv_lock:
            if self.device.is_advertising:
                await self.device.stop_advertising()

    def _spawn_advertising(self) -> None:
        task = asyncio.ensure_future(self._start_advertising())
        self._background_tasks.add(task)
        task.add_done_callback(self._background_tasks.discard)

    def _on_connection(self, connection: Connection) -> None:
        self.connections_accepted += 1
        connection.on(Connection.EVENT_DISCONNECTION, lambda reason: self._on_disconnection(reason))

    def _on_disconnection(self, reason: int) -> None:
        logger.debug("%s: link closed (reason 0x%02X)", self.name, reason)
        if not self.device.connections:
            self._on_link_lost()
        # Real sensors advertise again as soon as the link is gone (so the phone can reconnect).
        asyncio.get_running_loop().call_soon(self._spawn_advertising)

    @property
    def connected(self) -> bool:
        return bool(self.device.connections)

    def max_payload_bytes(self) -> int:
        """ATT_MTU - 3 of the (smallest) current connection; notifications longer than this are cut."""
        mtus = [int(c.att_mtu) for c in self.device.connections.values()]
        return (min(mtus) if mtus else 23) - 3

    async def _run(self) -> None:
        while self._running:
            try:
                await self._tick()
            except (core.BaseBumbleError, ConnectionError) as e:
                # A link that closes while a notification is in flight: the samples are lost, go on.
                logger.debug("%s: notification failed: %r", self.name, e)
            await asyncio.sleep(self.tick_s)

    def is_stalled(self) -> bool:
        return asyncio.get_running_loop().time() < self.faults.stalled_until

    # -- faults ------------------------------------------------------------------------------------
    async def drop_link(self, *, offline_s: float = 0.0) -> None:
        """Close every connection from the sensor side (HCI 0x13, remote user terminated).

        With ``offline_s`` > 0 the sensor also stops advertising for that long (loop seconds), so a
        reconnecting host has to retry.
        """
        loop = asyncio.get_running_loop()
        if offline_s > 0:
            self._offline_until = loop.time() + offline_s
            await self._stop_advertising()
            loop.call_later(offline_s, self._spawn_advertising)
        self.links_dropped += 1
        for connection in list(self.device.connections.values()):
            await connection.disconnect(hci.HCI_REMOTE_USER_TERMINATED_CONNECTION_ERROR)

    def stall(self, duration_s: float | None = None) -> None:
        """Withhold notifications (link up) for ``duration_s`` loop seconds, or until the next START."""
        now = asyncio.get_running_loop().time()
        self.faults.stalled_until = float("inf") if duration_s is None else now + duration_s

    def inject_malformed(self, count: int = 1) -> None:
        """Send ``count`` malformed notifications alongside the next data (the good data is still sent)."""
        self.faults.malformed_pending += count

    def _take_refusal(self) -> int | None:
        f = self.faults
        if f.refuse_start_status is None:
            return None
        if f.refuse_start_times is not None and f.refused_starts >= f.refuse_start_times:
            return None
        f.refused_starts += 1
        return f.refuse_start_status
