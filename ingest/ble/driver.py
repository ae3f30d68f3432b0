"""What the recorder needs of a sensor protocol: the stream driver contract.

The recorder (:mod:`ingest.ble.recorder`) knows links, spools, reconnects and summaries; everything that
depends on the protocol sits behind a :class:`StreamDriver`: how streams start and stop, what a
notification is called in the spool, which notifications are re-sent duplicates, when the sensor clock
stepped, and how to decode a notification for the live status. The drivers are
:class:`ingest.polar.stream.PolarStreamDriver` and :class:`ingest.witmotion.stream.WitMotionStreamDriver`.
No Bluetooth library is imported here: drivers talk through :class:`ingest.gatt.GattClient`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from ingest.gatt import GattClient
from ingest.samples import SampleBlock

__all__ = ["Arrival", "NotifyCallback", "StreamDriver"]

#: The bleak notification callback the recorder hands to a driver's ``start``.
NotifyCallback = Callable[[Any, bytearray], None]


@dataclass(frozen=True, slots=True, kw_only=True)
class Arrival:
    """What a driver says about one received notification.

    Attributes:
        duplicate: a notification received before (the same bytes, re-sent around a reconnect): the
            recorder counts it and does not write it again.
        events: spool events to write just before the notification, ``(kind, details)``, e.g. a
            ``clock_step`` when its timestamp went back.
    """

    duplicate: bool = False
    events: tuple[tuple[str, Mapping[str, Any]], ...] = field(default_factory=tuple)


class StreamDriver(Protocol):
    """One sensor's protocol as the recorder drives it (one driver per sensor session)."""

    def stream_name(self, payload: bytes) -> str:
        """The spool stream name of a notification (``acc``, ``gyro``, ``imu``...); called in the bleak
        callback, so it must be cheap and never raise."""
        ...

    async def start(self, client: GattClient, on_data: NotifyCallback) -> None:
        """Subscribe ``on_data`` to the data notifications and start the streams (after every connect).

        Raises:
            ControlPointError: the sensor refused to stream.
            SensorError: the configuration failed.
        """
        ...

    def header_streams(self) -> dict[str, dict[str, Any]]:
        """The spool header's ``streams``: the settings negotiated by the last :meth:`start`."""
        ...

    def arrive(self, payload: bytes, host_time_s: float) -> Arrival:
        """Judge a notification in arrival order, before it is written (duplicates, clock steps)."""
        ...

    def decode(self, payload: bytes, host_time_s: float) -> tuple[SampleBlock, ...]:
        """The notification's samples for the live status, one block per kind (ACC in g, GYRO in deg/s),
        on the sensor clock, or for a sensor without one spaced at the output rate and ending at
        ``host_time_s``; empty when it holds none.

        Raises:
            FrameError: malformed (counted by the recorder; the raw bytes are in the spool anyway).
        """
        ...

    def link_lost(self) -> None:
        """The link dropped: frame timing restarts (what is known about duplicates and the clock stays)."""
        ...

    async def stop(self, client: GattClient) -> None:
        """Stop the streams before disconnecting (real sensors stream on until told to stop)."""
        ...
