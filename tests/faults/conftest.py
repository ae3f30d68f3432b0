"""The fault suite's fixtures: emulated sensors recorded through the whole stack, and a fresh world.

``recorder`` starts emulated sensors on bumble's in-process link and records them with
:func:`ingest.ble.recorder.record` (through bleak's API on the virtual backend), running a fault script
alongside; the sensors are stopped afterwards whatever happens. ``spool_with_data`` waits until a
``hipsync record`` child has written data to its spool (to hit it with a fault then).
"""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from hipsync.records import Side
from ingest.ble.recorder import Backoff, RecordSummary, RecordTarget, record
from ingest.ble.virtual_backend import VirtualBleakClient, VirtualBleakScanner, current_world, reset_world
from ingest.emulator import EmulatedSensor, create_emulated_sensor
from ingest.spool.reader import read_spool


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


def _spool_with_data(spool_dir: Path, proc: subprocess.Popen[Any], timeout_s: float = 90.0) -> Path:
    """The spool a recording child writes in ``spool_dir``, once it holds data chunks."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"the recording ended early ({proc.returncode})"
        found = sorted(spool_dir.glob("*.spool")) if spool_dir.is_dir() else []
        if found and len(read_spool(found[0]).chunks) >= 3:
            return found[0]
        time.sleep(0.05)
    raise AssertionError(f"no spool with data in {spool_dir} within {timeout_s:g} s")


@pytest.fixture
def spool_with_data() -> Callable[..., Path]:
    return _spool_with_data
