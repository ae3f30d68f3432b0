"""The user's sensors file: add, update, list, remove, atomic writes, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hipsync.records import Side
from ingest.errors import SensorNotFoundError, UnknownProfileError
from ingest.sensors import (
    SensorEntry,
    SensorsFileError,
    add_sensor,
    find_sensor,
    load_sensors,
    remove_sensor,
)


def test_missing_file_is_empty(tmp_path: Path) -> None:
    assert load_sensors(tmp_path / "sensors.json") == []


def test_add_list_update_remove(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "sensors.json"
    a = add_sensor(
        path, "a0:9e:1a:00:00:01", profile="polar-verity-sense", side="left", name="Polar Sense 01"
    )
    b = add_sensor(path, "11:22:33:44:55:66", profile="witmotion-wt901", side=Side.RIGHT)
    assert load_sensors(path) == [a, b]
    assert a.side is Side.LEFT and b.name is None

    # Same address in another case: an update in place, the known name kept.
    a2 = add_sensor(path, "A0:9E:1A:00:00:01", profile="polar-verity-sense", side="RIGHT")
    assert a2.side is Side.RIGHT and a2.name == "Polar Sense 01"
    assert load_sensors(path) == [a2, b]

    assert find_sensor(load_sensors(path), "Polar Sense 01") == a2
    assert find_sensor(load_sensors(path), "11:22:33:44:55:66") == b

    assert remove_sensor(path, "Polar Sense 01") == a2
    assert load_sensors(path) == [b]
    assert [p.name for p in path.parent.iterdir()] == ["sensors.json"]  # no temp files left
    doc = json.loads(path.read_text())
    assert doc == {
        "version": 1,
        "sensors": [
            {"address": "11:22:33:44:55:66", "name": None, "profile": "witmotion-wt901", "side": "right"}
        ],
    }


def test_unknown_profile_and_side_are_clear_and_leave_file_alone(tmp_path: Path) -> None:
    path = tmp_path / "sensors.json"
    add_sensor(path, "AA:BB:CC:00:00:01", profile="polar-h10", side="left")
    before = path.read_bytes()
    with pytest.raises(UnknownProfileError, match="polar-verity-sense"):
        add_sensor(path, "AA:BB:CC:00:00:02", profile="garmin", side="left")
    with pytest.raises(ValueError, match="left, right"):
        add_sensor(path, "AA:BB:CC:00:00:02", profile="polar-h10", side="middle")
    with pytest.raises(ValueError, match="empty"):
        add_sensor(path, "  ", profile="polar-h10", side="left")
    for bad in ("XX:YY", "AA:BB:CC:DD:EE", "AA:BB:CC:DD:EE:GG", "AA-BB-CC-DD-EE-FF-00"):
        with pytest.raises(ValueError, match="not a Bluetooth address"):
            add_sensor(path, bad, profile="polar-h10", side="left")
    assert path.read_bytes() == before
    # The two forms there are: a MAC address (any case) and the UUID macOS gives a sensor.
    add_sensor(path, "aa:bb:cc:dd:ee:ff", profile="polar-h10", side="left")
    add_sensor(path, "4B9C1D3E-0A2B-4C5D-8E6F-7A8B9C0D1E2F", profile="polar-h10", side="left")
    assert len(load_sensors(path)) == 3


def test_remove_unknown_names_configured_sensors(tmp_path: Path) -> None:
    path = tmp_path / "sensors.json"
    add_sensor(path, "AA:BB:CC:00:00:03", profile="polar-h10", side="left")
    with pytest.raises(SensorNotFoundError, match=r"AA:BB") as ei:
        remove_sensor(path, "CC:DD")
    assert ei.value.target == "CC:DD"
    assert len(load_sensors(path)) == 1


@pytest.mark.parametrize(
    ("content", "match"),
    [
        ("{not json", "not valid JSON"),
        ("[]", "'sensors' list"),
        ('{"version": 7, "sensors": []}', "version 7"),
        ('{"version": 1, "sensors": [{"address": "AA"}]}', "entry 0 is malformed"),
        ('{"version": 1, "sensors": [{"address": "AA", "profile": "polar-h10", "side": "up"}]}', "entry 0"),
    ],
)
def test_malformed_file(tmp_path: Path, content: str, match: str) -> None:
    path = tmp_path / "sensors.json"
    path.write_text(content)
    with pytest.raises(SensorsFileError, match=match) as ei:
        load_sensors(path)
    assert ei.value.path == path
    with pytest.raises(SensorsFileError):
        add_sensor(path, "AA:BB:CC:00:00:01", profile="polar-h10", side="left")
    assert path.read_text() == content


def test_entry_matches() -> None:
    e = SensorEntry(address="AbC", name="WT901BLE67", profile="witmotion-wt901", side=Side.LEFT)
    assert e.matches("abc") and e.matches(" WT901BLE67 ") and not e.matches("wt901ble67")
