"""``hipsync sensors add|list|remove`` through the real root app (typer's runner, a fresh $HIPSYNC_HOME)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hipsync.cli import app
from ingest.ble.virtual_backend import reset_world


@pytest.fixture(autouse=True)
def _fresh_world() -> object:
    yield
    reset_world()


def test_sensors_add_list_remove(hipsync_home: Path) -> None:
    r = CliRunner().invoke(
        app, ["sensors", "add", "E0:9E:1A:E5:C2:21", "--side", "left", "--profile", "polar-h10"]
    )
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(app, ["sensors", "list", "--json"])
    assert json.loads(r.stdout) == [
        {"address": "E0:9E:1A:E5:C2:21", "name": None, "profile": "polar-h10", "side": "left"}
    ]
    r = CliRunner().invoke(app, ["sensors", "remove", "E0:9E:1A:E5:C2:21"])
    assert r.exit_code == 0
    r = CliRunner().invoke(app, ["sensors", "remove", "E0:9E:1A:E5:C2:21"])
    assert r.exit_code == 1 and "not configured" in r.output


def test_sensors_add_recognises_the_model_by_scanning(hipsync_home: Path) -> None:
    r = CliRunner().invoke(
        app, ["sensors", "add", "D4:0B:7A:00:00:01", "--side", "right", "--virtual", "--timeout", "1"]
    )
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(app, ["sensors", "list", "--json"])
    [entry] = json.loads(r.stdout)
    assert (
        entry["profile"] == "witmotion-wt901" and entry["name"] == "WT901BLE67" and entry["side"] == "right"
    )
