"""Polar PMD codec: byte vectors written out from the protocol reference, round-trips, truncations.

Vectors cite ``../shared/reference/ble-sensor-protocols.md`` sections ("doc §x.y"). Where a vector is not
printed in the doc, it is derived by hand from the doc's rules in a comment next to it; none comes from
our encoder.
"""

from __future__ import annotations

import contextlib
import pickle
import struct

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from ingest.errors import ControlPointError, FrameError, SensorError
from ingest.polar.constants import FRAME_HEADER_BYTES, POLAR_EPOCH_UNIX_NS, MeasurementType, PmdOp, PmdStatus
from ingest.polar.control import (
    PmdFeatures,
    PmdRequest,
    PmdResponse,
    PmdStoppedNotice,
    get_settings_request,
    join_response_packets,
    parse_control_point_indication,
    parse_measurement_status,
    start_request,
    stop_request,
)
from ingest.polar.decode import (
    PmdFrame,
    PmdStreamDecoder,
    decode_delta_payload,
    decode_pmd_counts,
    decode_pmd_counts_many,
    decode_pmd_frame,
    pmd_sample_times_ns,
)
from ingest.polar.encode import encode_pmd_frame, encode_pmd_frames
from ingest.polar.formats import PmdFrameHeader, counts_to_values, frame_format, values_to_counts
from ingest.polar.settings import PmdSettings

ACC = MeasurementType.ACC
GYRO = MeasurementType.GYRO
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def hx(s: str) -> bytes:
    """Bytes from a spaced hex string as printed in the doc."""
    return bytes.fromhex(s.replace(" ", "").replace("|", ""))


# ---------------------------------------------------------------------------------------------------------
# Control point: vectors from doc §1.3
# ---------------------------------------------------------------------------------------------------------


def test_feature_read_verity_and_h10() -> None:
    # doc §1.3.1: Verity "0F 6E 00" + 14 zeros (PPG, ACC, PPI, GYRO, MAG); H10 "0F 05 00" (ECG + ACC).
    verity = hx("0F 6E 00") + bytes(14)
    h10 = hx("0F 05 00") + bytes(14)
    f = PmdFeatures.from_bytes(verity)
    assert f.measurement_types == {1, 2, 3, 5, 6}
    assert not f.sdk_mode
    assert bytes(f) == verity
    assert PmdFeatures.from_bytes(h10).measurement_types == {0, 2}
    assert bytes(PmdFeatures(measurement_types=frozenset({0, 2}))) == h10
    # Byte 2 = 0x02 is the SDK-mode bit (PI-249 capture).
    assert PmdFeatures.from_bytes(hx("0F 6E 02") + bytes(14)).sdk_mode
    with pytest.raises(FrameError):
        PmdFeatures.from_bytes(hx("0F 6E"))
    with pytest.raises(FrameError):
        PmdFeatures.from_bytes(hx("F0 6E 00"))


def test_get_settings_request_and_h10_response() -> None:
    assert get_settings_request(ACC) == hx("01 02")
    resp = PmdResponse.from_bytes(
        hx("F0 01 02 00 00 00 04 19 00 32 00 64 00 C8 00 01 01 10 00 02 03 02 00 04 00 08 00")
    )
    assert (resp.op, resp.measurement_type, resp.status, resp.more) == (1, 2, 0, False)
    s = resp.settings()
    assert s.sample_rates_hz == (25, 50, 100, 200)
    assert s.resolutions_bits == (16,)
    assert s.ranges == (2, 4, 8)
    assert s.channels == ()
    assert s.factor is None


def test_verity_settings_response_has_one_byte_channel_count() -> None:
    resp = PmdResponse.from_bytes(hx("F0 01 02 00 00 00 01 34 00 01 01 10 00 02 01 08 00 04 01 03"))
    s = resp.settings()
    assert (s.sample_rates_hz, s.resolutions_bits, s.ranges, s.channels) == ((52,), (16,), (8,), (3,))
    # Re-encoding gives the same TLVs (already in canonical order in the doc's example).
    assert bytes(s) == resp.parameters


def test_settings_tlv_from_sdk_unit_test() -> None:
    # doc §1.3.5 (PSDK-T-SET): 52 Hz, 16 bit, ranges 245/500/1000/2000, 3 channels.
    s = PmdSettings.from_bytes(hx("00 01 34 00 | 01 01 10 00 | 02 04 F5 00 F4 01 E8 03 D0 07 | 04 01 03"))
    assert s.ranges == (245, 500, 1000, 2000)
    assert s.channels == (3,)


def test_start_requests_match_doc_bytes() -> None:
    verity = start_request(
        ACC, PmdSettings.selected(sample_rate_hz=52, resolution_bits=16, range_=8, channels=3)
    )
    assert verity == hx("02 02 00 01 34 00 01 01 10 00 02 01 08 00 04 01 03")
    h10_50 = start_request(ACC, PmdSettings.selected(sample_rate_hz=50, resolution_bits=16, range_=4))
    assert h10_50 == hx("02 02 00 01 32 00 01 01 10 00 02 01 04 00")
    # H10's own START puts RANGE first (order is free, doc §1.3.2); parsing must not care.
    req = PmdRequest.from_bytes(hx("02 02 02 01 08 00 00 01 C8 00 01 01 10 00"))
    assert req.op == PmdOp.START_MEASUREMENT and req.measurement_type == ACC and not req.offline
    assert req.settings == PmdSettings.selected(sample_rate_hz=200, resolution_bits=16, range_=8)
    with pytest.raises(ValueError):
        start_request(ACC, PmdSettings(sample_rates_hz=(25, 50)))


def test_start_responses_factor_and_reserved_byte() -> None:
    h10 = PmdResponse.from_bytes(hx("F0 02 02 00 00 01"))
    assert h10.ok and h10.parameters == b"\x01"
    assert h10.settings() == PmdSettings()  # a 1-byte parameter block is ignored (doc §1.3.3)
    verity = PmdResponse.from_bytes(hx("F0 02 02 00 00 05 01 40 DA 7F 39"))
    assert verity.settings().factor == pytest.approx(0.000244, rel=1e-4)
    plain = PmdResponse.from_bytes(hx("F0 02 02 00 00"))
    assert plain.settings().factor is None
    assert bytes(verity) == hx("F0 02 02 00 00 05 01 40 DA 7F 39")


def test_stop_and_sdk_mode() -> None:
    assert stop_request(ACC) == hx("03 02")
    assert PmdResponse.from_bytes(hx("F0 03 02 00 00")).ok
    assert start_request(MeasurementType.SDK_MODE) == hx("02 09")
    assert stop_request(MeasurementType.SDK_MODE) == hx("03 09")
    assert bytes(PmdResponse.success(PmdOp.START_MEASUREMENT, MeasurementType.SDK_MODE)) == hx(
        "F0 02 09 00 00"
    )


def test_error_responses_raise_typed_errors() -> None:
    rejected = PmdResponse.from_bytes(hx("F0 02 02 08 00"))
    assert not rejected.ok and rejected.status_name == "INVALID_SAMPLE_RATE"
    with pytest.raises(ControlPointError) as ei:
        rejected.raise_for_status(sensor="AA:BB")
    err = ei.value
    assert (err.op, err.status, err.measurement_type, err.status_name, err.sensor) == (
        2,
        8,
        2,
        "INVALID_SAMPLE_RATE",
        "AA:BB",
    )
    assert isinstance(err, SensorError)
    again = pickle.loads(pickle.dumps(err))
    assert (again.op, again.status) == (2, 8)
    # SDK unit-test vector (doc §1.3.3): F0 01 06 07 00 = GET settings of type 6 failed, INVALID_RESOLUTION.
    sdk = PmdResponse.from_bytes(hx("F0 01 06 07 00"))
    assert sdk.status == PmdStatus.INVALID_RESOLUTION and sdk.measurement_type == 6
    assert bytes(PmdResponse.error(2, 2, PmdStatus.INVALID_SAMPLE_RATE)) == hx("F0 02 02 08 00")


def test_already_in_state_is_identifiable() -> None:
    # doc §1.10: a START while the stream still runs answers ALREADY_IN_STATE (6).
    resp = PmdResponse.from_bytes(hx("F0 02 02 06 00"))
    assert resp.already_in_state and not resp.ok
    with pytest.raises(ControlPointError) as ei:
        resp.raise_for_status()
    assert ei.value.status == PmdStatus.ALREADY_IN_STATE
    assert not PmdResponse.from_bytes(hx("F0 02 02 08 00")).already_in_state


def test_unsolicited_stopped_notice_and_status() -> None:
    notice = parse_control_point_indication(hx("01 01 02"))
    assert isinstance(notice, PmdStoppedNotice)
    assert notice.measurement_types == (1, 2)
    assert bytes(notice) == hx("01 01 02")
    assert isinstance(parse_control_point_indication(hx("F0 03 02 00 00")), PmdResponse)
    with pytest.raises(FrameError):
        parse_control_point_indication(hx("07 01"))
    # GET_MEASUREMENT_STATUS: type in bits 0-5, state in 6-7: 0x42 = ACC online, 0x05 = GYRO none.
    assert parse_measurement_status(hx("42 05 C1")) == {2: 1, 5: 0, 1: 3}


def test_malformed_control_point_bytes() -> None:
    for bad in (b"", hx("F0"), hx("F0 02 02 00"), hx("0F 02 02 00 00")):
        with pytest.raises(FrameError):
            PmdResponse.from_bytes(bad)
    for bad in (b"", hx("7F 02"), hx("02"), hx("02 02 00 01 34"), hx("02 02 09 01 00 00")):
        with pytest.raises(FrameError):
            PmdRequest.from_bytes(bad)
    assert PmdRequest.from_bytes(hx("05")) == PmdRequest(op=PmdOp.GET_MEASUREMENT_STATUS)
    assert PmdRequest.from_bytes(hx("01 82")).offline  # request byte bit 7 = offline recording


def test_continuation_packets_join() -> None:
    # doc §1.3.3: every continuation repeats the 5-byte header; bytes from offset 5 are appended.
    first = hx("F0 01 02 00 01 00 04 19 00 32 00")
    second = hx("F0 01 02 00 00 64 00 C8 00")
    joined = join_response_packets([first, second])
    assert joined.settings().sample_rates_hz == (25, 50, 100, 200)
    assert joined.to_packets(11) == [first, second]
    with pytest.raises(FrameError):
        join_response_packets([second, first])  # "more" on the last packet
    with pytest.raises(FrameError):
        join_response_packets([])


# ---------------------------------------------------------------------------------------------------------
# Data frames: vectors from doc §1.4-1.8
# ---------------------------------------------------------------------------------------------------------


def test_h10_raw_acc_frame() -> None:
    # doc §1.5: header 02 EA 54 A2 42 8B 45 52 08 01, first sample 45 FF E4 FF B5 03 = (-187, -28, 949) mG.
    frame = hx("02 EA 54 A2 42 8B 45 52 08 01") + hx("45 FF E4 FF B5 03") + hx("01 00 02 00 FD FF")
    header, _, counts = decode_pmd_counts(frame)
    assert header.timestamp_ns == 599_618_164_814_402_794
    assert (header.measurement_type, header.frame_type, header.compressed) == (2, 1, False)
    assert counts.tolist() == [[-187, -28, 949], [1, 2, -3]]
    f = decode_pmd_frame(frame, sample_rate_hz=200, factor=123.0)  # raw ACC ignores any factor
    np.testing.assert_allclose(f.block.values, [[-0.187, -0.028, 0.949], [0.001, 0.002, -0.003]])
    assert f.block.kind == "acc"
    assert f.sample_times_ns.tolist() == [599_618_164_814_402_794 - 5_000_000, 599_618_164_814_402_794]


def test_raw_acc_types_0_and_2() -> None:
    ts = "00 00 22 AF 47 C3 82 0A"
    # Type 0: one byte per axis: FF 01 80 = (-1, 1, -128) mG.
    _, _, c0 = decode_pmd_counts(hx(f"02 {ts} 00 FF 01 80"))
    assert c0.tolist() == [[-1, 1, -128]]
    # Type 2: three bytes per axis, LE: 00 00 80 = -8388608, FF FF FF = -1, 10 27 00 = 10000.
    _, _, c2 = decode_pmd_counts(hx(f"02 {ts} 02 00 00 80 FF FF FF 10 27 00"))
    assert c2.tolist() == [[-8388608, -1, 10000]]


def test_delta_frame_worked_example() -> None:
    # doc §1.6 worked example, ACC compressed type 1 (mG), 2024-01-01T00:00:00 in the Polar epoch.
    frame = hx("02 | 00 00 22 AF 47 C3 82 0A | 81 | 9C FF 32 00 E8 03 | 04 02 E1 F3 80")
    f = decode_pmd_frame(frame, sample_rate_hz=52)
    assert f.header.timestamp_ns == 757_382_400_000_000_000
    assert f.counts.tolist() == [[-100, 50, 1000], [-99, 48, 1003], [-100, 48, 995]]
    np.testing.assert_allclose(f.block.values, np.array(f.counts.tolist()) / 1000.0)
    # doc §1.8: exact per-sample times at 52 Hz.
    assert f.sample_times_ns.tolist() == [
        757_382_399_961_538_462,
        757_382_399_980_769_231,
        757_382_400_000_000_000,
    ]
    # 2024-01-01 in the Unix epoch: 1704067200 s.
    assert (757_382_400_000_000_000 + POLAR_EPOCH_UNIX_NS) // 10**9 == 1_704_067_200
    assert f.block.sensor_time_s[-1] == pytest.approx(757_382_400.0)


def test_sdk_vector_acc_width_6() -> None:
    # PSDK-T-ACC (doc §1.6): W = 6 deltas (-5, -3, 0). By hand, LSB-first: -5 -> 0b111011 (59) at bits 0-5,
    # -3 -> 0b111101 (61) at bits 6-11, 0 at bits 12-17: byte0 = 59 | (61 & 3) << 6 = 0x7B,
    # byte1 = 61 >> 2 = 0x0F, byte2 = 0x00.
    frame = hx("02 00 00 22 AF 47 C3 82 0A 81 | 0A 00 14 00 1E 00 | 06 01 7B 0F 00")
    _, _, counts = decode_pmd_counts(frame)
    assert counts.tolist() == [[10, 20, 30], [5, 17, 30]]


def test_sdk_vector_gyro_width_3_with_factor() -> None:
    # PSDK-T-GYR (doc §1.6): W = 3 deltas (-1, +3, +3). By hand: 0b111 at bits 0-2, 0b011 at 3-5,
    # 0b011 at 6-8: byte0 = 7 | 3 << 3 | (3 & 3) << 6 = 0xDF, byte1 = bit 8 = 0.
    frame = hx("05 00 00 22 AF 47 C3 82 0A 80 | 64 00 9C FF 00 00 | 03 01 DF 00")
    f = decode_pmd_frame(frame, sample_rate_hz=52, factor=0.5)
    assert f.counts.tolist() == [[100, -100, 0], [99, -97, 3]]
    np.testing.assert_allclose(f.block.values, [[50.0, -50.0, 0.0], [49.5, -48.5, 1.5]])
    assert f.block.kind == "gyro"


def test_multi_block_mixed_widths() -> None:
    # Reference (0, 0, 0); block W=8 N=1: (1, -1, 127) = 01 FF 7F; block W=10 N=1: (300, -300, 0):
    # 300 at bits 0-9, 724 (= 1024 - 300) at bits 10-19, 0 at 20-29 -> 300 + 724 * 1024 = 0x0B512C,
    # LE over ceil(30 / 8) = 4 bytes: 2C 51 0B 00.
    payload = hx("00 00 00 00 00 00 | 08 01 01 FF 7F | 0A 01 2C 51 0B 00")
    counts = decode_delta_payload(payload, channels=3, value_bits=16)
    assert counts.tolist() == [[0, 0, 0], [1, -1, 127], [301, -301, 127]]


def test_width_zero_block_repeats_and_width_above_32_rejected() -> None:
    payload = hx("01 00 02 00 03 00 | 00 02 | 02 01 05")  # W=0, N=2 (no bytes), then W=2: (1, 1, 0)
    assert decode_delta_payload(payload, channels=3, value_bits=16).tolist() == [
        [1, 2, 3],
        [1, 2, 3],
        [1, 2, 3],
        [2, 3, 3],
    ]
    with pytest.raises(FrameError):
        decode_delta_payload(hx("01 00 02 00 03 00 21 01") + bytes(13), channels=3, value_bits=16)


def test_gyro_float32_type_1() -> None:
    # GYRO 0x81 (doc §1.7): 32-bit reference and W=32 deltas; the running sum is a float32 bit pattern.
    # Reference (1.0, 0.0, 0.0) = 3F800000, 0, 0; deltas 0x00800000 (-> 2.0f = 40000000), 0,
    # 0xBF800000 (-> -1.0f, wrapping modulo 2**32).
    frame = hx(
        "05 00 00 22 AF 47 C3 82 0A 81 | 00 00 80 3F 00 00 00 00 00 00 00 00"
        "| 20 01 00 00 80 00 00 00 00 00 00 00 80 BF"
    )
    f = decode_pmd_frame(frame, sample_rate_hz=52, factor=0.5)
    np.testing.assert_allclose(f.block.values, [[0.5, 0.0, 0.0], [1.0, 0.0, -0.5]])


def test_sample_times_with_previous_frame() -> None:
    # doc §1.8: Δ = (T - P) / N, sample i = P + Δ (i + 1); by hand P = 1000, T = 1000 + 3 * 333 = 1999,
    # N = 3: 1000 + 999 / 3 * (1, 2, 3) = (1333, 1666, 1999).
    assert pmd_sample_times_ns(1999, 3, 52, 1000).tolist() == [1333, 1666, 1999]
    # Nominal spacing at 25 Hz = 40 ms.
    assert pmd_sample_times_ns(10**9, 3, 25).tolist() == [920_000_000, 960_000_000, 1_000_000_000]
    with pytest.raises(ValueError):
        pmd_sample_times_ns(0, 0, 52)


def test_stream_decoder_spreads_interval_and_detects_gap() -> None:
    ts0 = 757_382_400_000_000_000
    fmt = frame_format(ACC, 1, True)

    def frame(ts: int) -> bytes:
        return encode_pmd_frame(
            ACC, np.zeros((4, 3), np.int64), timestamp_ns=ts, frame_type=1, compressed=True
        )

    dec = PmdStreamDecoder(ACC, sample_rate_hz=50)
    a = dec.decode(frame(ts0))
    assert np.diff(a.sample_times_ns).tolist() == [20_000_000] * 3
    # The sensor clock runs 1 % fast: 4 samples span 80.8 ms; spread evenly (doc §1.8).
    b = dec.decode(frame(ts0 + 80_800_000))
    assert b.sample_times_ns.tolist() == [ts0 + 20_200_000 * k for k in (1, 2, 3, 4)]
    # Lost notifications: 10 s later. Timed nominally so the gap stays a gap.
    c = dec.decode(frame(ts0 + 10_080_800_000))
    assert np.diff(c.sample_times_ns).tolist() == [20_000_000] * 3
    assert c.sample_times_ns[0] - b.sample_times_ns[-1] > 9 * 10**9
    assert (dec.frames, dec.gaps) == (3, 1)
    with pytest.raises(FrameError):
        dec.decode(encode_pmd_frame(GYRO, np.zeros((2, 3)), timestamp_ns=ts0, frame_type=0, compressed=True))
    assert fmt.kind == "acc"


def test_unsupported_and_empty_frames() -> None:
    ts = "00 00 22 AF 47 C3 82 0A"
    for bad in (
        hx(f"00 {ts} 00 01 02 03"),  # ECG: not decoded here
        hx(f"02 {ts} 05 01 02 03"),  # ACC raw type 5
        hx(f"02 {ts} 82 00 00 00 00 00 00"),  # ACC compressed type 2
        hx(f"02 {ts} 01"),  # no samples
        hx(f"02 {ts[:-3]}"),  # header cut
        hx("02 FF FF FF FF FF FF FF FF 01 00 00 00 00 00 00"),  # timestamp >= 2**63
    ):
        with pytest.raises(FrameError):
            decode_pmd_frame(bad, sample_rate_hz=52)
    with pytest.raises(FrameError):
        decode_pmd_frame(hx(f"02 {ts} 81 00 00 00 00 00 00 02 01 00"), sample_rate_hz=52, expected_type=GYRO)


def test_header_roundtrip() -> None:
    h = PmdFrameHeader(measurement_type=5, timestamp_ns=123456789, frame_type=1, compressed=True)
    raw = bytes(h)
    assert raw == hx("05 15 CD 5B 07 00 00 00 00 81")
    assert PmdFrameHeader.from_bytes(raw) == h
    assert h.frame_type_byte == 0x81


# ---------------------------------------------------------------------------------------------------------
# Property tests: round-trips and truncations
# ---------------------------------------------------------------------------------------------------------

# (measurement type, frame type, compressed) combinations the codec supports.
FORMATS = [(ACC, 0, False), (ACC, 1, False), (ACC, 2, False), (ACC, 0, True), (ACC, 1, True)]
FORMATS += [(GYRO, 0, True), (GYRO, 1, True), (GYRO, 0, False), (GYRO, 1, False)]


@st.composite
def counts_frames(draw: st.DrawFn) -> tuple[int, int, bool, np.ndarray, int | None, int]:
    mtype, ftype, comp = draw(st.sampled_from(FORMATS))
    fmt = frame_format(mtype, ftype, comp)
    n = draw(st.integers(1, 40))
    if fmt.float_bits:
        floats = draw(
            hnp.arrays(np.float32, (n, 3), elements=st.floats(-4000, 4000, width=32, allow_subnormal=False))
        )
        counts = floats.view(np.int32).astype(np.int64)
    else:
        lim = 1 << (fmt.value_bits - 1)
        # Small steps mostly (as real motion), sometimes the full range.
        span = min(draw(st.sampled_from([3, 200, lim])), lim)
        counts = draw(hnp.arrays(np.int64, (n, 3), elements=st.integers(-span, span - 1)))
    bit_width = draw(st.one_of(st.none(), st.just(32))) if comp else None
    block = draw(st.integers(1, 255))
    return mtype, ftype, comp, counts, bit_width, block


@FAST
@given(counts_frames(), st.integers(0, 2**62))
def test_roundtrip_counts_exact(case: tuple[int, int, bool, np.ndarray, int | None, int], ts: int) -> None:
    mtype, ftype, comp, counts, bit_width, block = case
    frame = encode_pmd_frame(
        mtype,
        counts,
        timestamp_ns=ts,
        frame_type=ftype,
        compressed=comp,
        bit_width=bit_width,
        block_samples=block,
    )
    header, fmt, got = decode_pmd_counts(frame)
    assert header.timestamp_ns == ts
    if fmt.float_bits:
        np.testing.assert_array_equal(got & 0xFFFFFFFF, counts & 0xFFFFFFFF)
    else:
        np.testing.assert_array_equal(got, counts)


def _boundaries(frame: bytes) -> set[int]:
    """Lengths at which a truncated frame is still structurally complete (no way to tell it was cut)."""
    _, fmt, counts = decode_pmd_counts(frame)
    if not fmt.compressed:
        per = fmt.channels * fmt.value_bits // 8
        return {FRAME_HEADER_BYTES + per * k for k in range(1, counts.shape[0] + 1)}
    pos = FRAME_HEADER_BYTES + fmt.channels * ((fmt.value_bits + 7) // 8)
    ends = {pos}
    while pos < len(frame):
        w, k = frame[pos], frame[pos + 1]
        pos += 2 + (w * k * fmt.channels + 7) // 8
        ends.add(pos)
    return ends


@FAST
@given(counts_frames())
def test_every_truncation_raises_frame_error_or_is_a_clean_prefix(
    case: tuple[int, int, bool, np.ndarray, int | None, int],
) -> None:
    mtype, ftype, comp, counts, bit_width, block = case
    frame = encode_pmd_frame(
        mtype,
        counts,
        timestamp_ns=10**18,
        frame_type=ftype,
        compressed=comp,
        bit_width=bit_width,
        block_samples=block,
    )
    _, _, full = decode_pmd_counts(frame)
    clean = _boundaries(frame)
    for cut in range(len(frame)):
        if cut in clean:
            # Cut exactly where a sample (raw) or a block (compressed) ends: undetectable, but the result
            # must be an exact prefix of the samples.
            _, _, part = decode_pmd_counts(frame[:cut])
            np.testing.assert_array_equal(part, full[: part.shape[0]])
        else:
            with pytest.raises(FrameError):
                decode_pmd_frame(frame[:cut], sample_rate_hz=52)


@st.composite
def value_streams(draw: st.DrawFn) -> tuple[int, int, bool, np.ndarray, float | None, int, int | None]:
    mtype, ftype, comp = draw(st.sampled_from([f for f in FORMATS if f[2] or f[0] == ACC]))
    fmt = frame_format(mtype, ftype, comp)
    n = draw(st.integers(1, 300))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    amp = 1.5 if fmt.kind == "acc" else 300.0
    # Smooth motion: a random walk (what compresses well) plus occasional jumps (what forces wide deltas).
    vals = np.cumsum(rng.normal(0.0, amp / 50, (n, 3)), axis=0)
    vals = np.clip(vals, -amp, amp)
    if fmt.kind == "acc" and not comp:
        vals = np.clip(vals, -0.12, 0.12) if ftype == 0 else vals  # type 0 is one byte of mG
    # Factors that make sense for each format (ACC type 0 is g x factor, type 1 mG x factor, doc §1.7).
    factor_choices: dict[tuple[int, int, bool], list[float | None]] = {
        (ACC, 0, True): [0.000244, 0.000488],
        (ACC, 1, True): [None, 1.0],
        (GYRO, 0, True): [None, 2000 / 32768, 0.1],
        (GYRO, 1, True): [None, 2000 / 32768],
    }
    factor = draw(st.sampled_from(factor_choices.get((mtype, ftype, comp), [None])))
    max_bytes = draw(st.integers(40, 509))
    bit_width = draw(st.sampled_from([None, 32 if fmt.float_bits else 24])) if comp else None
    return mtype, ftype, comp, vals, factor, max_bytes, bit_width


@FAST
@given(value_streams())
def test_roundtrip_values_within_quantisation_and_mtu(
    case: tuple[int, int, bool, np.ndarray, float | None, int, int | None],
) -> None:
    mtype, ftype, comp, vals, factor, max_bytes, bit_width = case
    fmt = frame_format(mtype, ftype, comp)
    fs = 52
    # A sensor clock at exactly 52 Hz: sample i at i * 1e9 / 52 ns, rounded to the ns.
    t_ns = 757_382_400_000_000_000 + (np.arange(vals.shape[0], dtype=np.int64) * 2 * 10**9 + fs) // (2 * fs)
    frames = encode_pmd_frames(
        mtype,
        vals,
        t_ns,
        frame_type=ftype,
        compressed=comp,
        factor=factor,
        bit_width=bit_width,
        max_frame_bytes=max_bytes,
    )
    assert all(len(f) <= max_bytes for f in frames)
    dec = PmdStreamDecoder(mtype, sample_rate_hz=fs, factor=factor)
    decoded = [dec.decode(f) for f in frames]
    got = np.concatenate([d.block.values for d in decoded])
    assert got.shape == vals.shape
    if fmt.float_bits:
        np.testing.assert_allclose(got, vals, rtol=1e-6, atol=1e-6)
    else:
        lsb = fmt.scale * ((factor or 1.0) if fmt.uses_factor else 1.0)
        assert np.abs(got - vals).max() <= lsb / 2 + 1e-9
    # Each frame is stamped with its last sample's time; the times in between come back to within the
    # 1 ns rounding of 1e9 / 52 (exact integer arithmetic, doc §1.8).
    assert [d.header.timestamp_ns for d in decoded] == [
        int(t_ns[i]) for i in np.cumsum([d.counts.shape[0] for d in decoded]) - 1
    ]
    assert np.abs(np.concatenate([d.sample_times_ns for d in decoded]) - t_ns).max() <= 1
    assert dec.gaps == 0


@FAST
@given(
    st.binary(max_size=80),
    st.sampled_from([0x00, 0x01, 0x02, 0x80, 0x81, 0x05, 0x7F]),
    st.sampled_from([2, 5]),
)
def test_arbitrary_bytes_never_raise_anything_but_frame_error(payload: bytes, ftype: int, mtype: int) -> None:
    frame = bytes((mtype,)) + (10**18).to_bytes(8, "little") + bytes((ftype,)) + payload
    try:
        f = decode_pmd_frame(frame, sample_rate_hz=52, factor=0.01)
    except FrameError:
        return
    assert f.block.values.shape == (f.counts.shape[0], 3)
    assert np.isfinite(f.sample_times_ns).all()


@FAST
@given(st.binary(max_size=40))
def test_arbitrary_control_point_bytes(data: bytes) -> None:
    for parse in (
        PmdResponse.from_bytes,
        PmdRequest.from_bytes,
        PmdFeatures.from_bytes,
        PmdSettings.from_bytes,
    ):
        with contextlib.suppress(FrameError):
            parse(data)


float32s = st.floats(-1e6, 1e6, width=32, allow_nan=False)


@FAST
@given(
    st.lists(st.integers(0, 65535), max_size=6),
    st.lists(st.integers(0, 65535), max_size=3),
    st.lists(st.integers(0, 65535), max_size=5),
    st.lists(st.integers(0, 2**32 - 1), max_size=2),
    st.lists(st.integers(0, 255), max_size=2),
    st.lists(float32s, max_size=2),
)
def test_settings_roundtrip(
    rates: list[int], res: list[int], ranges: list[int], milli: list[int], ch: list[int], factors: list[float]
) -> None:
    s = PmdSettings(
        sample_rates_hz=tuple(rates),
        resolutions_bits=tuple(res),
        ranges=tuple(ranges),
        ranges_milli=tuple(milli),
        channels=tuple(ch),
        factors=tuple(factors),
    )
    raw = bytes(s)
    assert PmdSettings.from_bytes(raw) == s
    # CHANNELS values are one byte each (doc §1.3.2).
    if ch:
        assert bytes(PmdSettings(channels=tuple(ch))) == bytes((4, len(ch), *ch))
    resp = PmdResponse.success(PmdOp.GET_MEASUREMENT_SETTINGS, ACC, raw)
    for size in (6, 20, 229):
        assert join_response_packets(resp.to_packets(size)) == resp


def test_values_to_counts_clips_and_rejects_bad_factor() -> None:
    fmt = frame_format(ACC, 1, False)
    assert values_to_counts([[100.0, -100.0, 0.0004]], fmt).tolist() == [[32767, -32768, 0]]
    gfmt = frame_format(GYRO, 0, True)
    with pytest.raises(ValueError):
        values_to_counts([[1.0, 1.0, 1.0]], gfmt, factor=0.0)
    c = values_to_counts([[61.0, 0.0, -2000.0]], gfmt, factor=2000 / 32768)
    np.testing.assert_allclose(counts_to_values(c, gfmt, 2000 / 32768), [[61.0, 0.0, -2000.0]], atol=0.031)


def test_encoder_rejects_bad_arguments() -> None:
    z = np.zeros((3, 3), np.int64)
    with pytest.raises(ValueError):
        encode_pmd_frame(ACC, z, timestamp_ns=0, frame_type=1, compressed=True, bit_width=1)
    with pytest.raises(ValueError):
        encode_pmd_frame(
            ACC, [[0, 0, 0], [100, 0, 0]], timestamp_ns=0, frame_type=1, compressed=True, bit_width=4
        )
    with pytest.raises(ValueError):
        encode_pmd_frame(ACC, [[40000, 0, 0]], timestamp_ns=0, frame_type=1, compressed=False)
    with pytest.raises(ValueError):
        encode_pmd_frames(
            ACC, np.zeros((3, 3)), np.arange(3), frame_type=1, compressed=True, max_frame_bytes=15
        )
    # Emitted widths are always >= 2 (the SDK mis-decodes W = 1, doc §1.6).
    frame = encode_pmd_frame(ACC, np.zeros((5, 3), np.int64), timestamp_ns=0, frame_type=1, compressed=True)
    assert frame[16] == 2 and frame[17] == 4


def test_float32_struct_matches_doc_factor() -> None:
    # The doc's factor bytes 40 DA 7F 39 are float32 LE 0.000244.
    assert struct.unpack("<f", hx("40 DA 7F 39"))[0] == pytest.approx(0.000244, rel=1e-4)


def _frames_with_bad_ones(
    case: tuple[int, int, bool, np.ndarray, float | None, int, int | None],
    bad: list[int],
    mixed: bool,
    fs: int,
) -> list[bytes]:
    """The case's frames (interleaved with another frame type if ``mixed``), those at ``bad`` truncated."""
    mtype, ftype, comp, vals, factor, max_bytes, bit_width = case
    t_ns = 757_382_400_000_000_000 + (np.arange(vals.shape[0], dtype=np.int64) * 2 * 10**9 + fs) // (2 * fs)
    kw = {"factor": factor, "max_frame_bytes": max_bytes}
    frames = encode_pmd_frames(
        mtype, vals, t_ns, frame_type=ftype, compressed=comp, bit_width=bit_width, **kw
    )
    if mixed and mtype == ACC and ftype == 1:
        # Interleave another frame type of the same stream: separate runs, separate previous timestamps.
        other = encode_pmd_frames(mtype, vals, t_ns, frame_type=1, compressed=not comp, **kw)
        frames = [f for pair in zip(frames, other, strict=False) for f in pair]
    frames = list(frames)
    for b in bad:
        j = b % len(frames)
        frames[j] = frames[j][: 5 + b % 7]  # always shorter than a header: malformed
    return frames


def _decode_one_by_one(dec: PmdStreamDecoder, frames: list[bytes]) -> tuple[list[PmdFrame], list[int]]:
    blocks: list[PmdFrame] = []
    rejected: list[int] = []
    for i, f in enumerate(frames):
        try:
            blocks.append(dec.decode(f))
        except FrameError:
            rejected.append(i)
    return blocks, rejected


@FAST
@given(value_streams(), st.lists(st.integers(0, 10**6), max_size=4), st.booleans())
def test_decode_many_equals_decoding_one_by_one(
    case: tuple[int, int, bool, np.ndarray, float | None, int, int | None], bad: list[int], mixed: bool
) -> None:
    mtype, ftype, _, _, factor, _, _ = case
    fs = 52
    frames = _frames_with_bad_ones(case, bad, mixed, fs)
    one = PmdStreamDecoder(mtype, sample_rate_hz=fs, factor=factor)
    blocks, rejected = _decode_one_by_one(one, frames)
    many = PmdStreamDecoder(mtype, sample_rate_hz=fs, factor=factor)
    batch = many.decode_many(frames)
    assert [i for i, _ in batch.rejected] == rejected
    assert all(isinstance(e, FrameError) for _, e in batch.rejected)
    assert batch.frame_index.tolist() == [i for i in range(len(frames)) if i not in rejected]
    if blocks:
        np.testing.assert_array_equal(batch.block.values, np.concatenate([b.block.values for b in blocks]))
        np.testing.assert_array_equal(
            batch.sample_times_ns, np.concatenate([b.sample_times_ns for b in blocks])
        )
        np.testing.assert_array_equal(batch.counts, np.concatenate([b.counts for b in blocks]))
        assert batch.frame_timestamps_ns.tolist() == [b.header.timestamp_ns for b in blocks]
        assert batch.frame_sizes.tolist() == [b.counts.shape[0] for b in blocks]
    else:
        assert batch.block.n_samples == 0
    assert (many.frames, many.gaps) == (one.frames, one.gaps)
    if not rejected and not (mixed and mtype == ACC and ftype == 1):
        counts_batch = decode_pmd_counts_many(frames)
        np.testing.assert_array_equal(counts_batch.counts, batch.counts)
    elif rejected:
        with pytest.raises(FrameError, match=f"frame {rejected[0]}"):
            decode_pmd_counts_many(frames)


def test_decode_many_empty_and_state() -> None:
    dec = PmdStreamDecoder(GYRO, sample_rate_hz=52)
    empty = dec.decode_many([])
    assert empty.block.kind == "gyro" and empty.block.n_samples == 0 and empty.rejected == ()
    assert decode_pmd_counts_many([]).counts.shape == (0, 3)
    # The previous timestamp carries from decode_many into decode: the next frame is spread, not nominal.
    ts = 757_382_400_000_000_000
    z = np.zeros((4, 3), np.int64)
    dec.decode_many([encode_pmd_frame(GYRO, z, timestamp_ns=ts, frame_type=0, compressed=True)])
    nxt = dec.decode(encode_pmd_frame(GYRO, z, timestamp_ns=ts + 80_000_000, frame_type=0, compressed=True))
    assert nxt.sample_times_ns.tolist() == [ts + 20_000_000 * k for k in (1, 2, 3, 4)]
    dec.reset()
    again = dec.decode(
        encode_pmd_frame(GYRO, z, timestamp_ns=ts + 160_000_000, frame_type=0, compressed=True)
    )
    assert again.sample_times_ns[-1] == ts + 160_000_000
    assert np.abs(np.diff(again.sample_times_ns) - 1e9 / 52).max() < 1  # nominal 52 Hz after the reset


def test_batches_are_chunked_without_changing_results(
    monkeypatch: pytest.MonkeyPatch, rng: np.random.Generator
) -> None:
    import ingest.polar.decode as pmd

    vals = np.cumsum(rng.normal(0.0, 20.0, (400, 3)), axis=0)
    t_ns = 10**18 + np.arange(400, dtype=np.int64) * 5_000_000
    frames = encode_pmd_frames(
        GYRO, vals, t_ns, frame_type=0, compressed=True, factor=0.1, max_frame_bytes=60
    )
    frames[4] = frames[4][:12]  # malformed, inside the second chunk
    whole = PmdStreamDecoder(GYRO, sample_rate_hz=200, factor=0.1).decode_many(frames)
    monkeypatch.setattr(pmd, "BATCH_FRAMES", 3)
    chunked = PmdStreamDecoder(GYRO, sample_rate_hz=200, factor=0.1).decode_many(frames)
    assert len(frames) > 9
    assert [i for i, _ in chunked.rejected] == [i for i, _ in whole.rejected] == [4]
    np.testing.assert_array_equal(chunked.frame_index, whole.frame_index)
    np.testing.assert_array_equal(chunked.sample_times_ns, whole.sample_times_ns)
    np.testing.assert_array_equal(chunked.block.values, whole.block.values)
    del frames[4]
    np.testing.assert_array_equal(decode_pmd_counts_many(frames).counts, whole.counts)
    monkeypatch.setattr(pmd, "BATCH_FRAMES", 4096)
    np.testing.assert_array_equal(decode_pmd_counts_many(frames).counts, whole.counts)


def test_sample_times_edge_cases() -> None:
    # P = 0 is the SDK's "no previous frame": nominal spacing, not a spread from the epoch.
    assert pmd_sample_times_ns(10**9, 2, 50, 0).tolist() == [980_000_000, 1_000_000_000]
    # A huge span (e.g. a clock jump) must not overflow: exact spread, last sample = T.
    t, p = 757_382_400_000_000_000, 1
    times = pmd_sample_times_ns(t, 200, 52, p)
    assert times[-1] == t and times[0] == p + (t - p + 100) // 200
    assert (np.diff(times) > 0).all()
