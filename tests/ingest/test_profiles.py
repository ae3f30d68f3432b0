"""Sensor profiles (doc §1.1, §1.3.5, §2.1, §2.3), plus the typed errors and SampleBlock they build on."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

from ingest.errors import (
    ColumnError,
    ControlPointError,
    FrameError,
    LinkLostError,
    SensorError,
    SensorNotFoundError,
    SpoolError,
    UnknownProfileError,
)
from ingest.profiles import PROFILES, SensorProfile, get_profile, match_advertisement
from ingest.samples import SampleBlock, concat_blocks

# UUIDs exactly as printed in the protocol reference (upper case there).
PMD_SERVICE = "FB005C80-02E7-F387-1CAD-8ACD2D8DF0C8"
PMD_CP = "FB005C81-02E7-F387-1CAD-8ACD2D8DF0C8"
PMD_DATA = "FB005C82-02E7-F387-1CAD-8ACD2D8DF0C8"
WIT_SERVICE = "0000FFE5-0000-1000-8000-00805F9A34FB"
WIT_DATA = "0000FFE4-0000-1000-8000-00805F9A34FB"
WIT_CMD = "0000FFE9-0000-1000-8000-00805F9A34FB"


def test_profile_ids_and_lookup() -> None:
    assert set(PROFILES) == {"polar-verity-sense", "polar-h10", "witmotion-wt901"}
    for pid, p in PROFILES.items():
        assert get_profile(pid) is p and p.id == pid
    with pytest.raises(UnknownProfileError) as ei:
        get_profile("polar-oh1")
    assert isinstance(ei.value, KeyError) and isinstance(ei.value, SensorError)
    assert ei.value.profile_id == "polar-oh1" and "polar-h10" in ei.value.known
    assert "polar-oh1" in str(ei.value)


def test_uuids_match_reference() -> None:
    for pid in ("polar-verity-sense", "polar-h10"):
        p = get_profile(pid)
        assert (p.service_uuid, p.control_uuid, p.data_uuid) == (
            PMD_SERVICE.lower(),
            PMD_CP.lower(),
            PMD_DATA.lower(),
        )
    w = get_profile("witmotion-wt901")
    assert (w.service_uuid, w.data_uuid, w.control_uuid) == (
        WIT_SERVICE.lower(),
        WIT_DATA.lower(),
        WIT_CMD.lower(),
    )
    # The vendor base ...9A34FB, not the Bluetooth base ...9B34FB (doc §2.1).
    assert w.data_uuid.endswith("00805f9a34fb")


def test_capabilities_from_reference() -> None:
    verity, h10, wit = (get_profile(i) for i in ("polar-verity-sense", "polar-h10", "witmotion-wt901"))
    assert verity.acc_rates_hz == (52.0,) and verity.default_acc_rate_hz == 52.0
    assert verity.sdk_acc_rates_hz == (26.0, 52.0, 104.0, 208.0, 416.0)
    assert verity.has_gyro and verity.gyro_ranges_dps == (2000,)
    assert h10.acc_rates_hz == (25.0, 50.0, 100.0, 200.0) and h10.acc_ranges_g == (2, 4, 8)
    assert not h10.has_gyro and h10.gyro_rates_hz == ()
    assert h10.mtu_hint == 232
    assert wit.device_default_rate_hz == 10.0 and 200.0 in wit.acc_rates_hz
    for p in PROFILES.values():
        assert p.default_acc_rate_hz in p.all_acc_rates_hz()
        if p.has_gyro:
            assert p.default_gyro_rate_hz in p.all_gyro_rates_hz()
        assert p.resolution_bits == 16 and p.channels == 3


def test_needs_sdk_mode() -> None:
    verity = get_profile("polar-verity-sense")
    assert not verity.needs_sdk_mode(52.0, 52.0)
    assert verity.needs_sdk_mode(208.0, 208.0)
    assert verity.needs_sdk_mode(52.0, 104.0)
    with pytest.raises(ValueError):
        verity.needs_sdk_mode(100.0)
    with pytest.raises(ValueError):
        get_profile("polar-h10").needs_sdk_mode(50.0, 50.0)  # no gyro


@pytest.mark.parametrize(
    ("name", "uuids", "expected"),
    [
        ("Polar Sense B5E5C221", [], "polar-verity-sense"),
        ("Polar H10 1A2B3C4D", [PMD_SERVICE], "polar-h10"),
        ("WT901BLE67", [WIT_SERVICE], "witmotion-wt901"),
        ("WT901BLE67", [], "witmotion-wt901"),
        (None, [WIT_SERVICE.lower()], "witmotion-wt901"),
        # A "WT..." name advertising some other service is not our sensor.
        ("WTF-speaker", ["0000180d-0000-1000-8000-00805f9b34fb"], None),
        # A bare PMD service does not say which Polar model it is.
        (None, [PMD_SERVICE], None),
        ("Polar OH1 12345678", [PMD_SERVICE], None),
        ("Forerunner 255", [], None),
        ("", [], None),
    ],
)
def test_match_advertisement(name: str | None, uuids: list[str], expected: str | None) -> None:
    got = match_advertisement(name, uuids)
    assert (got.id if got is not None else None) == expected


def test_profiles_are_frozen() -> None:
    p = get_profile("polar-h10")
    with pytest.raises(AttributeError):
        p.id = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        PROFILES["x"] = p  # type: ignore[index]
    assert isinstance(p, SensorProfile)


# ---------------------------------------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("err", "builtin", "field", "value"),
    [
        (FrameError("bad", offset=3, data_len=9, sensor="s"), ValueError, "offset", 3),
        (ControlPointError("no", op=2, status=6, measurement_type=2), Exception, "status", 6),
        (SpoolError("corrupt", path="/tmp/x.spool", offset=12), ValueError, "path", Path("/tmp/x.spool")),
        (SensorNotFoundError("gone", target="AA:BB", timeout_s=5.0), LookupError, "target", "AA:BB"),
        (ColumnError("missing", column="ax", path="f.csv"), ValueError, "column", "ax"),
        (
            LinkLostError("lost", sensor="AA", reason="stalled", after_s=3.0),
            ConnectionError,
            "reason",
            "stalled",
        ),
        (UnknownProfileError("?", profile_id="x", known=("a",)), KeyError, "profile_id", "x"),
    ],
)
def test_errors_are_typed_structured_and_picklable(
    err: SensorError, builtin: type[Exception], field: str, value: object
) -> None:
    assert isinstance(err, SensorError) and isinstance(err, builtin)
    assert getattr(err, field) == value
    again = pickle.loads(pickle.dumps(err))
    assert type(again) is type(err)
    assert getattr(again, field) == value
    assert str(again) == str(err) and again.message == err.message


def test_sensor_not_found_defaults_sensor_to_target() -> None:
    assert SensorNotFoundError("gone", target="AA:BB").sensor == "AA:BB"


# ---------------------------------------------------------------------------------------------------------
# SampleBlock
# ---------------------------------------------------------------------------------------------------------


def test_sample_block_validation_and_concat() -> None:
    a = SampleBlock(kind="acc", sensor_time_s=np.arange(3.0), values=np.zeros((3, 3)))
    b = SampleBlock(kind="acc", sensor_time_s=np.arange(3.0, 5.0), values=np.ones((2, 3)))
    c = concat_blocks([a, b])
    assert c.n_samples == 5 and c.values[3:].sum() == 6.0
    assert SampleBlock.empty("gyro").n_samples == 0
    with pytest.raises(ValueError):
        SampleBlock(kind="acc", sensor_time_s=np.arange(3.0), values=np.zeros((2, 3)))
    with pytest.raises(ValueError):
        SampleBlock(kind="mag", sensor_time_s=np.arange(1.0), values=np.zeros((1, 3)))  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        SampleBlock(kind="acc", sensor_time_s=np.arange(3), values=np.zeros((3, 3)))  # int times
    with pytest.raises(ValueError):
        concat_blocks([a, SampleBlock.empty("gyro")])
    with pytest.raises(ValueError):
        concat_blocks([])
