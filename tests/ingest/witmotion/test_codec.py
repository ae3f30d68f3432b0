"""WitMotion codec: byte vectors from the protocol reference (doc §2), resync rules, round-trips."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from ingest.errors import FrameError
from ingest.witmotion.control import (
    RATE_CODES,
    Register,
    RegisterReply,
    WitCommand,
    encode_register_reply,
    output_rate_command,
    rate_code_for_hz,
    rate_hz_for_code,
    read_register_command,
    save_command,
    set_rate_commands,
    unlock_command,
    write_register_command,
)
from ingest.witmotion.decode import decode_witmotion, witmotion_sample_times
from ingest.witmotion.encode import encode_witmotion_packets
from ingest.witmotion.formats import ACC_SCALE_G, ANGLE_SCALE_DEG, GYRO_SCALE_DPS

FAST = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# doc §2.2 worked example: acc (0.5, -0.25, 1.0) g, gyro (99.98, -49.99, 0.0) deg/s, angle (10, -5, 90) deg.
DOC_PACKET = bytes.fromhex("5561 0004 00FE 0008 6606 CDFC 0000 1C07 72FC 0040")


def test_doc_worked_example() -> None:
    b = decode_witmotion(DOC_PACKET)
    assert b.n_samples == 1 and b.skipped_bytes == 0 and b.malformed_packets == 0
    np.testing.assert_allclose(b.accel_g, [[0.5, -0.25, 1.0]])
    np.testing.assert_allclose(b.gyro_dps, [[99.98, -49.99, 0.0]], atol=0.01)
    np.testing.assert_allclose(b.angle_deg, [[10.0, -5.0, 90.0]], atol=0.01)
    # Hand check of one field: gyro X = 0x0666 = 1638 -> 1638 / 32768 * 2000.
    assert b.gyro_dps[0, 0] == pytest.approx(1638 / 32768 * 2000)


def test_scales_from_doc() -> None:
    assert ACC_SCALE_G == 16 / 32768
    assert GYRO_SCALE_DPS == 2000 / 32768
    assert ANGLE_SCALE_DEG == 180 / 32768


def test_register_reply_from_manual() -> None:
    # doc §2.4: read magnetometer: FF AA 27 3A 00; reply 55 71 3A 00 then Hx = 360, Hy = 105, Hz = 122.
    assert read_register_command(Register.HX) == bytes.fromhex("FFAA273A00")
    reply = bytes.fromhex("55713A00 6801 6900 7A00") + bytes.fromhex("0100 FFFF 0000 0000 0080")
    b = decode_witmotion(DOC_PACKET + reply)
    assert b.n_samples == 1
    assert b.registers == (RegisterReply(start_register=0x3A, values=(360, 105, 122, 1, -1, 0, 0, -32768)),)
    assert encode_register_reply(0x3A, [360, 105, 122, 1, -1, 0, 0, -32768]) == reply
    assert bytes(b.registers[0]) == reply
    only_reply = decode_witmotion(reply)  # a notification with just a register reply is valid
    assert only_reply.n_samples == 0 and len(only_reply.registers) == 1


def test_command_bytes_from_doc() -> None:
    assert unlock_command() == bytes.fromhex("FFAA6988B5")
    assert save_command() == bytes.fromhex("FFAA000000")
    assert write_register_command(Register.BANDWIDTH, 0x04) == bytes.fromhex("FFAA1F0400")
    assert output_rate_command(1.0) == bytes.fromhex("FFAA030300")  # ZENN: FF AA 03 03 00 -> 1 Hz
    assert output_rate_command(10.0) == bytes.fromhex("FFAA030600")
    assert output_rate_command(50.0) == bytes.fromhex("FFAA030800")
    assert output_rate_command(200.0) == bytes.fromhex("FFAA030A00")
    assert read_register_command(Register.RATE) == bytes.fromhex("FFAA270300")
    assert write_register_command(0x01, -1) == bytes.fromhex("FFAA01FFFF")
    assert set_rate_commands(100.0, persist=True) == [
        bytes.fromhex("FFAA6988B5"),
        bytes.fromhex("FFAA030900"),
        bytes.fromhex("FFAA000000"),
        bytes.fromhex("FFAA270300"),
    ]


def test_rate_codes() -> None:
    assert [RATE_CODES[hz] for hz in (0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200)] == list(range(1, 11))
    assert rate_code_for_hz(50) == 0x08 and rate_hz_for_code(0x09) == 100.0
    with pytest.raises(ValueError):
        rate_code_for_hz(52.0)
    with pytest.raises(ValueError):
        rate_hz_for_code(0x0B)


def test_parse_commands_for_emulator() -> None:
    unlock = WitCommand.from_bytes(unlock_command())
    assert unlock.is_unlock and not unlock.is_save and unlock.read_register is None
    assert WitCommand.from_bytes(save_command()).is_save
    assert WitCommand.from_bytes(read_register_command(0x34)).read_register == 0x34
    rate = WitCommand.from_bytes(output_rate_command(20.0))
    assert (rate.register, rate.value) == (Register.RATE, 0x07)
    for bad in (b"", bytes.fromhex("FFAA0300"), bytes.fromhex("FFAB030300"), bytes.fromhex("FFAA03030000")):
        with pytest.raises(FrameError):
            WitCommand.from_bytes(bad)


def test_several_packets_per_notification() -> None:
    p2 = bytes.fromhex("5561 0008 0000 0000 0000 0000 0000 0000 0000 0000")  # acc x = 0x0800 = 1 g
    b = decode_witmotion(DOC_PACKET + p2 + DOC_PACKET)
    assert b.n_samples == 3
    np.testing.assert_allclose(b.accel_g[:, 0], [0.5, 1.0, 0.5])


def test_resync_on_garbage_and_truncated_tail() -> None:
    # 3 garbage bytes, one of them a false "55 61", then a packet, then 7 bytes of a cut-off packet.
    data = b"\x01\x55\x61" + DOC_PACKET + DOC_PACKET[:7]
    b = decode_witmotion(data)
    assert b.n_samples == 1
    np.testing.assert_allclose(b.accel_g, [[0.5, -0.25, 1.0]])
    assert b.skipped_bytes == 3 + 7
    assert b.malformed_packets == 2  # the false start (its 20 bytes would overlap the real packet) + the tail


def test_data_bytes_that_look_like_a_header_are_not_a_resync_point() -> None:
    # A packet whose payload contains 55 61 (acc x = 0x6155): decoded as one packet, no resync.
    p = bytes.fromhex("5561 5561 0000 0000 0000 0000 0000 0000 0000 0000")
    b = decode_witmotion(p + DOC_PACKET)
    assert b.n_samples == 2 and b.skipped_bytes == 0 and b.malformed_packets == 0
    assert b.accel_g[0, 0] == pytest.approx(0x6155 * ACC_SCALE_G)
    # Same with a leading garbage byte (the slow path): still two packets, one skipped byte.
    b = decode_witmotion(b"\x00" + p + DOC_PACKET)
    assert b.n_samples == 2 and b.skipped_bytes == 1


@pytest.mark.parametrize(
    "data", [b"", b"\x55", b"\x55\x61", DOC_PACKET[:19], bytes(40), b"\x55\x62" + DOC_PACKET[2:]]
)
def test_no_complete_packet_raises(data: bytes) -> None:
    with pytest.raises(FrameError):
        decode_witmotion(data)


def test_every_truncation_of_a_packet_raises() -> None:
    for cut in range(20):
        with pytest.raises(FrameError):
            decode_witmotion(DOC_PACKET[:cut])


def test_sample_times_and_blocks() -> None:
    t = witmotion_sample_times(100.0, 3, 50.0)
    np.testing.assert_allclose(t, [99.96, 99.98, 100.0])
    acc, gyr = decode_witmotion(DOC_PACKET * 3).to_blocks(t)
    assert (acc.kind, gyr.kind) == ("acc", "gyro")
    assert acc.values.shape == (3, 3) and gyr.n_samples == 3
    with pytest.raises(ValueError):
        witmotion_sample_times(0.0, 3, 0.0)


sample_arrays = hnp.arrays(np.float64, st.tuples(st.integers(1, 12), st.just(3)), elements=st.floats(-1, 1))


@FAST
@given(sample_arrays, st.data())
def test_roundtrip_within_half_lsb(unit: np.ndarray, data: st.DataObject) -> None:
    n = unit.shape[0]
    acc = unit * 15.9
    gyr = data.draw(hnp.arrays(np.float64, (n, 3), elements=st.floats(-1999, 1999)))
    ang = data.draw(hnp.arrays(np.float64, (n, 3), elements=st.floats(-179.9, 179.9)))
    raw = encode_witmotion_packets(acc, gyr, ang)
    assert len(raw) == 20 * n
    b = decode_witmotion(raw)
    assert np.abs(b.accel_g - acc).max() <= ACC_SCALE_G / 2 + 1e-12
    assert np.abs(b.gyro_dps - gyr).max() <= GYRO_SCALE_DPS / 2 + 1e-9
    assert np.abs(b.angle_deg - ang).max() <= ANGLE_SCALE_DEG / 2 + 1e-9


@FAST
@given(
    sample_arrays, st.lists(st.binary(max_size=30).filter(lambda g: 0x55 not in g), min_size=1, max_size=13)
)
def test_garbage_between_packets_is_skipped(unit: np.ndarray, garbage: list[bytes]) -> None:
    # Garbage without a 0x55 byte can never be mistaken for a packet start: every packet must come back.
    raw = encode_witmotion_packets(unit, unit * 100)
    packets = [raw[i : i + 20] for i in range(0, len(raw), 20)]
    data = b"".join(garbage[i % len(garbage)] + p for i, p in enumerate(packets))
    b = decode_witmotion(data)
    assert b.n_samples == unit.shape[0]
    np.testing.assert_array_equal(b.accel_g, decode_witmotion(raw).accel_g)
    assert b.skipped_bytes == len(data) - len(raw)


@FAST
@given(sample_arrays, st.integers(0, 10**6))
def test_truncated_notification_keeps_whole_packets(unit: np.ndarray, cut_seed: int) -> None:
    raw = encode_witmotion_packets(unit, unit)
    cut = cut_seed % (len(raw) + 1)
    if cut < 20:
        with pytest.raises(FrameError):
            decode_witmotion(raw[:cut])
        return
    b = decode_witmotion(raw[:cut])
    assert b.n_samples == cut // 20
    assert b.malformed_packets == (1 if cut % 20 >= 2 else 0)


@FAST
@given(st.binary(max_size=120))
def test_arbitrary_bytes_only_frame_error(data: bytes) -> None:
    try:
        b = decode_witmotion(data)
    except FrameError:
        return
    assert b.n_samples + len(b.registers) >= 1
    assert b.skipped_bytes + 20 * (b.n_samples + len(b.registers)) == len(data)


def test_encoder_clips_and_validates() -> None:
    b = decode_witmotion(encode_witmotion_packets([[100.0, -100.0, 0.0]], [[5000.0, 0.0, 0.0]]))
    assert b.accel_g[0, 0] == pytest.approx(32767 * ACC_SCALE_G)
    assert b.accel_g[0, 1] == pytest.approx(-16.0)
    assert b.gyro_dps[0, 0] == pytest.approx(32767 * GYRO_SCALE_DPS)
    with pytest.raises(ValueError):
        encode_witmotion_packets(np.zeros((2, 3)), np.zeros((3, 3)))
    with pytest.raises(ValueError):
        encode_register_reply(0x30, list(range(9)))
