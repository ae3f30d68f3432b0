"""The Polar stream driver's judgement of arriving frames: duplicates by content, clock steps by time."""

from __future__ import annotations

import numpy as np

from ingest.polar.constants import MeasurementType
from ingest.polar.encode import encode_pmd_frame
from ingest.polar.stream import RECENT_FRAMES, PolarStreamDriver
from ingest.profiles import get_profile
from ingest.spool.format import SpoolEventKind

T0 = 820_454_400 * 10**9  # 2026-01-01 in the PMD epoch


def _frame(ts: int, value: int = 0, mtype: int = MeasurementType.ACC) -> bytes:
    counts = np.full((4, 3), value, dtype=np.int64)
    return encode_pmd_frame(
        mtype, counts, timestamp_ns=ts, frame_type=1, compressed=mtype == MeasurementType.ACC
    )


def _driver() -> PolarStreamDriver:
    return PolarStreamDriver(get_profile("polar-h10"), sensor="test")


def test_resent_frames_are_duplicates_new_ones_are_not() -> None:
    d = _driver()
    a, b = _frame(T0), _frame(T0 + 80_000_000)
    assert not d.arrive(a, 1.0).duplicate and not d.arrive(b, 1.1).duplicate
    assert d.arrive(a, 1.2).duplicate and d.arrive(b, 1.3).duplicate  # re-sent around a reconnect
    d.link_lost()  # what is known about content survives a reconnect
    assert d.arrive(b, 2.0).duplicate


def test_an_older_timestamp_on_new_content_is_a_clock_step_not_a_duplicate() -> None:
    d = _driver()
    d.arrive(_frame(T0), 1.0)
    d.arrive(_frame(T0 + 80_000_000), 1.1)
    back = _frame(T0 - 30 * 10**9, value=7)  # the clock went back 30 s
    arrival = d.arrive(back, 1.2)
    assert not arrival.duplicate
    [(kind, details)] = arrival.events
    assert kind == SpoolEventKind.CLOCK_STEP and details["stream"] == "acc"
    assert details["step_s"] == -30.08
    # Frames after the step are ordinary again; the same bytes again are a duplicate, not another step.
    assert d.arrive(_frame(T0 - 30 * 10**9 + 80_000_000, value=7), 1.3).events == ()
    assert d.arrive(back, 1.4).duplicate
    # A frame repeating an old timestamp with new content (a step back onto the old grid) is kept.
    assert not d.arrive(_frame(T0, value=9), 1.5).duplicate


def test_each_measurement_type_has_its_own_clock_history() -> None:
    d = PolarStreamDriver(get_profile("polar-verity-sense"), sensor="test")
    d.arrive(_frame(T0, mtype=MeasurementType.ACC), 1.0)
    gyro = encode_pmd_frame(
        MeasurementType.GYRO,
        np.zeros((4, 3), np.int64),
        timestamp_ns=T0 - 10**9,
        frame_type=0,
        compressed=True,
    )
    assert d.arrive(gyro, 1.1).events == ()  # older than the ACC frame, but the first GYRO frame


def test_memory_of_frames_is_bounded() -> None:
    d = _driver()
    first = _frame(T0)
    d.arrive(first, 0.0)
    for i in range(1, RECENT_FRAMES + 1):
        d.arrive(_frame(T0 + i * 80_000_000), float(i))
    assert len(d._recent) == RECENT_FRAMES
    assert not d.arrive(first, 1e3).duplicate  # forgotten; its old timestamp makes it a clock step
