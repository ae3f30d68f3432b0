"""``hipsync scan`` and ``hipsync record`` through the real root app, on emulated sensors (virtual BLE)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hipsync.cli import app
from ingest.ble.virtual_backend import reset_world
from ingest.spool.decode import spool_to_recording
from ingest.spool.reader import read_spool


@pytest.fixture(autouse=True)
def _fresh_world() -> object:
    yield
    reset_world()


def test_scan_virtual_lists_the_supported_sensors(hipsync_home: Path) -> None:
    r = CliRunner().invoke(app, ["scan", "--virtual", "--timeout", "0.5", "--json"])
    assert r.exit_code == 0, r.output
    rows = json.loads(r.stdout)
    assert sorted(row["profile"] for row in rows) == ["polar-h10", "polar-verity-sense", "witmotion-wt901"]
    assert all(isinstance(row["rssi"], int) and row["address"] for row in rows)


def test_record_an_unconfigured_sensor_fails_clearly(hipsync_home: Path) -> None:
    r = CliRunner().invoke(app, ["record", "--sensor", "Polar Sense NOPE", "--duration", "1"])
    assert r.exit_code == 2
    assert "not configured" in r.output and "hipsync sensors add" in r.output


@pytest.mark.slow
def test_record_configured_sensor_in_virtual_mode(
    hipsync_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """HIPSYNC_BLE=virtual: configured sensors are stood in for by emulators at their addresses."""
    monkeypatch.setenv("HIPSYNC_BLE", "virtual")
    address = "E0:00:00:00:00:42"
    r = CliRunner().invoke(app, ["sensors", "add", address, "--side", "right", "--profile", "polar-h10"])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(app, ["record", "--duration", "1.5", "--json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["sensor"] == address and doc["side"] == "right" and doc["samples"] > 0
    assert Path(doc["spool"]).parent == hipsync_home / "spool"


@pytest.mark.slow
def test_record_virtual_verity_20_s(hipsync_home: Path) -> None:
    """The issue's acceptance run: >= 99 % of the samples the sensor clock implies, no gap, readable spool."""
    r = CliRunner().invoke(app, ["record", "--virtual", "polar-verity-sense", "--duration", "20", "--json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert set(doc) >= {"spool", "sensor", "samples", "expected_samples", "gaps"}
    assert doc["gaps"] == []
    assert doc["expected_samples"] >= 52 * 17
    assert doc["samples"] >= 0.99 * doc["expected_samples"]
    recording = spool_to_recording(read_spool(doc["spool"]))
    assert recording.n_samples == doc["samples"] and recording.profile == "polar-verity-sense"
