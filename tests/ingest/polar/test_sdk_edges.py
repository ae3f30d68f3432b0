"""Polar PMD edge cases where the official SDK's behaviour is the reference (issue 19, item 8).

Each rule is stated in ``../shared/reference/ble-sensor-protocols.md`` (doc §1.3.3, §1.8) and in the SDK's
``PmdTimeStampUtils.kt`` (times rounded with Kotlin's ``round``, i.e. half to even; a frame whose samples
would start before the PMD epoch raises), ``PmdSetting.serializeSelected`` (FACTOR is never written) and
``BlePMDClient.processPmdCpCommand`` (a stop notice lists zero or more types). Expected values are worked
out by hand in the comments.
"""

from __future__ import annotations

import numpy as np
import pytest

from ingest.errors import FrameError
from ingest.polar.constants import MeasurementType
from ingest.polar.control import PmdStoppedNotice, parse_control_point_indication, start_request
from ingest.polar.decode import PmdStreamDecoder, decode_pmd_frame, pmd_sample_times_ns
from ingest.polar.encode import encode_pmd_frame
from ingest.polar.settings import PmdSettings

ACC = MeasurementType.ACC
T = 757_382_400_000_000_001  # 2024-01-01 in the PMD epoch, plus 1 ns: odd, so ties can round either way


def test_spread_sample_times_round_half_to_even() -> None:
    # P = T - 3, N = 2: sample 0 = P + 3/2 = T - 1.5, exactly halfway between T - 2 and T - 1. T - 2 is
    # odd, T - 1 even: half to even gives T - 1 (half up would too); with P = T - 5, N = 2: P + 2.5 =
    # T - 2.5 between T - 3 (even) and T - 2 (odd): half to even gives T - 3, half up T - 2.
    assert pmd_sample_times_ns(T, 2, 52, T - 3).tolist() == [T - 1, T]
    assert pmd_sample_times_ns(T, 2, 52, T - 5).tolist() == [T - 3, T]
    # No tie: nearest, as before (P + 7/3 = P + 2.33 -> P + 2; P + 14/3 = P + 4.67 -> P + 5).
    assert pmd_sample_times_ns(T, 3, 52, T - 7).tolist() == [T - 5, T - 2, T]


def test_nominal_sample_times_round_half_to_even() -> None:
    # 1024 Hz: a period of 976 562.5 ns. T - 976 562.5 = ...438.5 -> the even neighbour ...438;
    # T - 2 x 976 562.5 = T - 1 953 125 exactly.
    got = pmd_sample_times_ns(T, 3, 1024).tolist()
    assert got == [T - 1_953_125, T - 976_563, T]
    even = T + 1  # T - 976 562.5 is then ...439.5 -> ...440 (half up would give the same, down ...439)
    assert pmd_sample_times_ns(even, 2, 1024).tolist() == [even - 976_562, even]


def test_stream_decoder_rounds_half_to_even_too() -> None:
    z = np.zeros((2, 3), dtype=np.int64)
    dec = PmdStreamDecoder(ACC, sample_rate_hz=52)
    dec.decode(encode_pmd_frame(ACC, z, timestamp_ns=T - 5, frame_type=1, compressed=True))
    # Spread over the 5 ns since the previous frame: (T - 5) + 2.5 -> T - 3 (even), as above.
    nxt = dec.decode(encode_pmd_frame(ACC, z, timestamp_ns=T, frame_type=1, compressed=True))
    assert nxt.sample_times_ns.tolist() == [T - 3, T]


def test_sample_times_before_the_pmd_epoch_are_refused() -> None:
    # The SDK's own test: T = 100 000 ns, 100 samples at 52 Hz would start ~1.9 s before 2000-01-01.
    with pytest.raises(FrameError, match="2000-01-01"):
        pmd_sample_times_ns(100_000, 100, 52)
    # The boundary: N x 1e9 / fs <= T is accepted (first sample at 1e9/fs > 0), one ns less is not.
    assert pmd_sample_times_ns(2 * 10**9, 2, 1).tolist() == [10**9, 2 * 10**9]
    with pytest.raises(FrameError):
        pmd_sample_times_ns(2 * 10**9 - 1, 2, 1)


def test_frames_timed_before_the_epoch_are_malformed() -> None:
    z = np.zeros((10, 3), dtype=np.int64)
    early = encode_pmd_frame(ACC, z, timestamp_ns=50_000_000, frame_type=1, compressed=True)
    good = encode_pmd_frame(ACC, z, timestamp_ns=T, frame_type=1, compressed=True)
    with pytest.raises(FrameError, match="2000-01-01"):
        decode_pmd_frame(early, sample_rate_hz=52)
    batch = PmdStreamDecoder(ACC, sample_rate_hz=52).decode_many([early, good])
    assert [i for i, _ in batch.rejected] == [0]
    assert batch.frame_index.tolist() == [1] and batch.sample_times_ns[-1] == T


def test_start_request_never_sends_a_factor() -> None:
    with_factor = PmdSettings.selected(
        sample_rate_hz=52, resolution_bits=16, range_=8, channels=3, factor=0.5
    )
    # doc §1.3.4, Verity START ACC 52 Hz / 16 bit / 8 g / 3 ch: no type-5 TLV.
    assert start_request(ACC, with_factor) == bytes.fromhex("0202 0001 3400 0101 1000 0201 0800 0401 03")


def test_bare_stop_notice_is_accepted() -> None:
    # `01` alone: "online measurement stopped" with no type listed; the SDK walks an empty list.
    notice = parse_control_point_indication(b"\x01")
    assert isinstance(notice, PmdStoppedNotice) and notice.measurement_types == ()
    assert bytes(notice) == b"\x01"
    assert PmdStoppedNotice.from_bytes(bytes.fromhex("01 02 05")).measurement_types == (2, 5)
    with pytest.raises(FrameError):
        PmdStoppedNotice.from_bytes(b"")
