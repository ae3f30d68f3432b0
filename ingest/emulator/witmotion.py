"""Emulated WitMotion WT901BLE (BLE 5.0): the FFE5 service, ``55 61`` data packets, register commands.

GATT (doc §2.1): service ``0000FFE5-…9A34FB`` with FFE4 (notify: data packets and ``55 71`` register
replies) and FFE9 (write / write without response: 5-byte ``FF AA`` commands). Like the device:

- it streams ``55 61`` packets as soon as a client subscribes, at the power-on rate of 10 Hz (doc §2.3);
- ``FF AA 69 88 B5`` unlocks configuration for 10 s; ``FF AA 03 code 00`` then sets the output rate
  (ignored while locked); ``FF AA 27 R 00`` answers with a ``55 71`` reply of 8 registers from R
  (RATE, time, acceleration, angular rate, battery, ...); writes are never acknowledged;
- several 20-byte packets share one notification (as many as fit ATT_MTU-3, at most
  ``max_packets_per_notification``), sent every ``tick_s``.

The packets carry no timestamp; the host times them on arrival (doc §2.2).
"""

from __future__ import annotations

import asyncio
import logging
import math

import numpy as np
from bumble import core, gatt
from bumble.device import Connection

from ingest.ble.virtual_backend import VirtualWorld
from ingest.emulator.base import EmulatedSensor
from ingest.emulator.motion import MotionSource
from ingest.errors import FrameError
from ingest.profiles import (
    WITMOTION_COMMAND_UUID,
    WITMOTION_DATA_UUID,
    WITMOTION_SERVICE_UUID,
    SensorProfile,
    get_profile,
)
from ingest.witmotion.control import (
    Register,
    WitCommand,
    encode_register_reply,
    rate_code_for_hz,
    rate_hz_for_code,
)
from ingest.witmotion.encode import encode_witmotion_packets
from ingest.witmotion.formats import PACKET_BYTES

logger = logging.getLogger(__name__)

__all__ = ["EmulatedWitMotionSensor"]

#: How long an unlock command keeps configuration writes enabled (doc §2.3).
UNLOCK_S = 10.0


class EmulatedWitMotionSensor(EmulatedSensor):
    """A WT901BLE on the virtual link (profile ``witmotion-wt901``).

    Args:
        world: the virtual world.
        index: distinguishes several units (name ``WT901BLE6<index>``, address).
        motion, time_scale, advertise, tick_s: see :class:`~ingest.emulator.base.EmulatedSensor`.
        max_packets_per_notification: cap on 20-byte packets per notification.
    """

    def __init__(
        self,
        world: VirtualWorld,
        *,
        index: int = 0,
        address: str | None = None,
        motion: MotionSource | None = None,
        time_scale: float = 1.0,
        advertise: bool = True,
        max_packets_per_notification: int = 10,
        tick_s: float = 0.02,
    ) -> None:
        self.profile: SensorProfile = get_profile("witmotion-wt901")
        self.rate_hz = float(self.profile.device_default_rate_hz or 10.0)
        self.max_packets_per_notification = max_packets_per_notification
        self._unlocked_until = -math.inf
        self._t0_s: float | None = None
        self._next_index = 0
        self._pending: list[bytes] = []
        self._subscribed = False
        super().__init__(
            world,
            address=address or f"D4:0B:7A:00:00:{index + 1:02X}",
            name=f"WT901BLE{67 + index}",
            motion=motion,
            time_scale=time_scale,
            advertise=advertise,
            tick_s=tick_s,
        )

    def _build_gatt(self) -> None:
        props = gatt.Characteristic.Properties
        self.data_char = gatt.Characteristic[bytes](
            WITMOTION_DATA_UUID.upper(), props.NOTIFY, gatt.Characteristic.READABLE, b""
        )
        self.cmd_char = gatt.Characteristic[bytes](
            WITMOTION_COMMAND_UUID.upper(),
            props.WRITE | props.WRITE_WITHOUT_RESPONSE,
            gatt.Characteristic.WRITEABLE,
            gatt.CharacteristicValue(write=self._on_command),
        )
        self.device.add_service(gatt.Service(WITMOTION_SERVICE_UUID.upper(), [self.data_char, self.cmd_char]))
        self.device.on("characteristic_subscription", self._on_subscription)

    def _advertising_data(self) -> bytes:
        t = core.AdvertisingData.Type
        # Name (12 bytes) + 128-bit service UUID (18 bytes) fill the 31-byte legacy payload: no flags.
        return bytes(
            core.AdvertisingData(
                [
                    (t.COMPLETE_LOCAL_NAME, self.name.encode()),
                    (
                        t.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
                        core.UUID(WITMOTION_SERVICE_UUID.upper()).to_bytes(),
                    ),
                ]
            )
        )

    def _on_subscription(
        self, connection: Connection, characteristic: gatt.Characteristic[bytes], notify: bool, indicate: bool
    ) -> None:
        if characteristic is self.data_char:
            self._subscribed = notify
            if notify:
                # A new subscription ends a stall (the fault models a stream hung until re-enabled).
                self.faults.stalled_until = 0.0
                self._restart_grid()

    def _restart_grid(self) -> None:
        self._t0_s = self.clock.now_s()
        self._next_index = 0
        self._pending.clear()

    def _on_command(self, connection: Connection, value: bytes) -> None:
        try:
            cmd = WitCommand.from_bytes(bytes(value))
        except FrameError:
            logger.debug("%s: ignoring malformed command %s", self.name, bytes(value).hex(" "))
            return
        now = asyncio.get_running_loop().time()
        if cmd.is_unlock:
            self._unlocked_until = now + UNLOCK_S
        elif cmd.read_register is not None:
            reply = encode_register_reply(cmd.read_register, self._registers(cmd.read_register))
            self._pending.append(reply)
        elif cmd.register == Register.RATE:
            if now >= self._unlocked_until:
                logger.debug("%s: RATE write while locked, ignored", self.name)
                return
            try:
                self.rate_hz = rate_hz_for_code(cmd.value & 0xFF)
            except ValueError:
                return
            self._restart_grid()

    def _registers(self, start: int) -> list[int]:
        values: list[int] = []
        now = self.clock.now_s()
        acc, gyr = self.motion.sample(np.array([self.clock.since_power_on_s(now)]))
        for reg in range(start, start + 8):
            if reg == Register.RATE:
                values.append(rate_code_for_hz(self.rate_hz))
            elif Register.AX <= reg < Register.AX + 3:
                values.append(int(np.clip(round(acc[0, reg - Register.AX] / 16 * 32768), -32768, 32767)))
            elif Register.GX <= reg < Register.GX + 3:
                values.append(int(np.clip(round(gyr[0, reg - Register.GX] / 2000 * 32768), -32768, 32767)))
            elif reg == Register.BATTERY:
                values.append(396)
            else:
                values.append(0)
        return values

    def _on_link_lost(self) -> None:
        self._subscribed = False
        self._pending.clear()

    async def _tick(self) -> None:
        if not self._subscribed or self._t0_s is None:
            return
        now = self.clock.now_s()
        due = int((now - self._t0_s) * self.rate_hz) + 1
        if due > self._next_index:
            idx = np.arange(self._next_index, due, dtype=np.float64)
            t = self._t0_s + idx / self.rate_hz
            acc, gyr = self.motion.sample(t - self.clock.start_s)
            packets = encode_witmotion_packets(acc, gyr)
            self._pending.extend(packets[i : i + PACKET_BYTES] for i in range(0, len(packets), PACKET_BYTES))
            self._next_index = due
        if not self.connected or self.is_stalled():
            self._pending.clear()
            return
        per = max(1, min(self.max_packets_per_notification, self.max_payload_bytes() // PACKET_BYTES))
        while self._pending:
            if self.faults.malformed_pending > 0:
                self.faults.malformed_pending -= 1
                # A lone cut packet: no complete packet inside, so the decoder must reject it.
                await self.device.notify_subscribers(self.data_char, self._pending[0][:11])
                self.malformed_sent += 1
            batch, self._pending = self._pending[:per], self._pending[per:]
            await self.device.notify_subscribers(self.data_char, b"".join(batch))
            self.notifications_sent += 1
