"""The fault suite's fixtures: emulated sensors recorded through the whole stack, and a fresh world.

``recorder`` starts emulated sensors on bumble's in-process link and records them with
:func:`ingest.ble.recorder.record` (through bleak's API on the virtual backend), running a fault script
alongside; the sensors are stopped afterwards whatever happens.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from hipsync.records import Side
from ingest.ble.recorder import Backoff, RecordSummary, RecordTarget, record
from ingest.ble.virtual_backend import VirtualBleakClient, VirtualBleakScanner, current_world, reset_world
from ingest.emulator import EmulatedSensor, create_emulated_sensor


@pytest.fixture(autouse=True)
def _fresh_world() -> Iterator[None]:
    yield
    reset_world()


@dataclass
class Recorder:
    """Emulated sensors, recorded into ``spool_dir`` by the real recorder."""

    spool_dir: Path

    async def sensor(self, profile: str, **kwargs: Any) -> EmulatedSensor:
        sensor = create_emulated_sensor(await current_world(), profile, **kwargs)
        await sensor.start()
        return sensor

    async def record(
        self,
        sensors: list[EmulatedSensor],
        *,
        duration_s: float,
        script: Callable[[], Awaitable[None]] | None = None,
    ) -> list[RecordSummary]:
        targets = [
            RecordTarget(address=s.address, profile=s.profile.id, side=Side.RIGHT)  # type: ignore[attr-defined]
            for s in sensors
        ]
        faults = asyncio.create_task(script()) if script is not None else None
        try:
            return await record(
                targets,
                self.spool_dir,
                duration_s=duration_s,
                scanner_backend=VirtualBleakScanner,
                client_backend=VirtualBleakClient,
                connect_timeout_s=3.0,
                stall_timeout_s=1.0,
                backoff=Backoff(initial_s=0.1, max_s=0.5),
            )
        finally:
            if faults is not None and faults.done():
                faults.result()  # a fault script that failed fails the test
            elif faults is not None:
                faults.cancel()
            for s in sensors:
                await s.stop()


@pytest.fixture
def recorder(tmp_path: Path) -> Recorder:
    return Recorder(spool_dir=tmp_path / "spool")
