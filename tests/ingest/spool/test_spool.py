"""The spool package: round trip, torn and corrupt tails, kill -9 of a live writer, decoding."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hipsync.records import Side
from ingest.errors import SpoolError
from ingest.files import read_recording_file
from ingest.polar.decode import PmdBatch, PmdFrame, PmdStreamDecoder
from ingest.polar.encode import encode_pmd_frames
from ingest.spool.decode import DecodedSpool, decode_spool, spool_gaps, spool_to_recording
from ingest.spool.format import MAGIC, Spool, SpoolHeader
from ingest.spool.reader import finished_spools, is_finished, read_spool, read_spool_header, writer_alive
from ingest.spool.writer import SpoolWriter, new_spool_path
from ingest.witmotion.encode import encode_witmotion_packets

REPO_ROOT = Path(__file__).resolve().parents[2]


def _header(**kw: object) -> SpoolHeader:
    base: dict[str, object] = {
        "session_id": "s-0001",
        "profile": "polar-verity-sense",
        "side": "left",
        "device_address": "A0:9E:1A:00:00:01",
        "device_name": "Polar Sense 0000ABCD",
        "streams": {"acc": {"fs_hz": 52, "range_g": 8, "factor": 0.000244}, "gyro": {"fs_hz": 52}},
        "host_started_at_utc": datetime(2026, 11, 24, 7, 0, 0, tzinfo=UTC),
        "host_monotonic_ref_s": 1000.0,
        "sensor_time_ref_s": 123.5,
    }
    base.update(kw)
    return SpoolHeader(**base)  # type: ignore[arg-type]


def _write(path: Path, n: int = 20, *, close: bool = True) -> list[tuple[str, bytes, float]]:
    """Write n data chunks (and two events); return what was appended."""
    written = []
    w = SpoolWriter.open(path, _header())
    w.event("connected", 1000.0, rssi=-60)
    for i in range(n):
        stream = "acc" if i % 3 else "gyro"
        payload = bytes((i * 7 + k) % 256 for k in range(5 + i % 11))
        t = 1000.0 + 0.02 * i
        w.append(stream, payload, t)
        written.append((stream, payload, t))
        if i == n // 2:
            w.event("lost", t, reason="test")
    if close:
        w.close(host_time_s=1000.0 + 0.02 * n)
    else:
        # Simulate a writer that vanished: drop the fd without the END chunk.
        w._stop.set()
        fd = w._fd
        w._fd = None
        assert fd is not None
        os.close(fd)
    return written


def _as_tuples(spool: Spool) -> list[tuple[str, bytes, float]]:
    return [(c.stream, c.payload, c.host_time_s) for c in spool.chunks]


def test_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "a.spool"
    written = _write(path)
    spool = read_spool(path)
    assert spool.header == _header()
    assert _as_tuples(spool) == written
    assert [(e.kind, dict(e.details)) for e in spool.events] == [
        ("connected", {"rssi": -60}),
        ("lost", {"reason": "test"}),
    ]
    assert spool.finished and not spool.truncated_tail and spool.tail_bytes == 0
    assert spool.end_host_time_s == pytest.approx(1000.4)
    assert spool.streams == ("gyro", "acc")
    assert is_finished(path)
    assert read_spool_header(path) == _header()


def test_header_new_and_path(tmp_path: Path) -> None:
    h = SpoolHeader.new(profile="witmotion-wt901", side="right", device_address="11:22:33:44:55:66")
    p = new_spool_path(tmp_path, h)
    assert p.suffix == ".spool" and "witmotion-wt901" in p.name and "11-22-33-44-55-66" in p.name
    assert (h.host_time_to_utc(h.host_monotonic_ref_s + 2.5) - h.host_started_at_utc).total_seconds() == 2.5


def test_existing_file_is_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "a.spool"
    _write(path, 3)
    before = path.read_bytes()
    with pytest.raises(SpoolError, match="already exists"):
        SpoolWriter.open(path, _header())
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["a.spool"]  # no temp file left behind


def test_append_after_close_raises(tmp_path: Path) -> None:
    w = SpoolWriter.open(tmp_path / "a.spool", _header())
    w.close()
    w.close()  # idempotent
    with pytest.raises(SpoolError, match="closed"):
        w.append("acc", b"x", 1.0)


def test_truncation_at_every_byte_of_the_tail(tmp_path: Path) -> None:
    src = tmp_path / "full.spool"
    written = _write(src, 12)
    full = src.read_bytes()
    # Every cut in the last ~160 bytes (several chunks and the END chunk) must read a prefix of what was
    # written, never garbage, and say whether bytes were left over.
    n_data_seen: list[int] = []
    cut_dir = tmp_path / "cuts"
    cut_dir.mkdir()
    for cut in range(len(full) - 160, len(full)):
        p = cut_dir / f"{cut}.spool"
        p.write_bytes(full[:cut])
        spool = read_spool(p)
        got = _as_tuples(spool)
        assert got == written[: len(got)]
        assert not spool.finished
        assert spool.valid_bytes + spool.tail_bytes == cut
        assert spool.truncated_tail == (spool.tail_bytes > 0)
        n_data_seen.append(len(got))
        p.unlink()
    # The cuts covered several chunk boundaries, including the full data set without the END chunk.
    assert min(n_data_seen) <= len(written) - 3
    assert max(n_data_seen) == len(written)


def test_truncated_header_and_not_a_spool(tmp_path: Path) -> None:
    src = tmp_path / "full.spool"
    _write(src, 2)
    full = src.read_bytes()
    header_end = full.index(b"}", len(MAGIC)) + 1
    bad = tmp_path / "bad.spool"
    for cut in [0, 3, len(MAGIC), len(MAGIC) + 5, header_end - 1]:
        bad.write_bytes(full[:cut])
        with pytest.raises(SpoolError) as ei:
            read_spool(bad)
        assert ei.value.path == bad
    bad.write_bytes(b"time,ax,ay,az\n0,0,0,1\n")
    with pytest.raises(SpoolError, match="not a hipsync spool"):
        read_spool(bad)
    with pytest.raises(SpoolError, match="cannot read"):
        read_spool(tmp_path / "missing.spool")


def test_wrong_version_is_a_clear_error(tmp_path: Path) -> None:
    src = tmp_path / "full.spool"
    _write(src, 2)
    data = bytearray(src.read_bytes())
    data[len(MAGIC)] = 9
    src.write_bytes(bytes(data))
    with pytest.raises(SpoolError, match="version 9 is not supported"):
        read_spool(src)


def test_corrupt_header_is_detected(tmp_path: Path) -> None:
    src = tmp_path / "full.spool"
    _write(src, 2)
    data = bytearray(src.read_bytes())
    i = data.index(b"polar-verity-sense")
    data[i] ^= 0x20
    src.write_bytes(bytes(data))
    with pytest.raises(SpoolError, match="CRC"):
        read_spool(src)


def test_flipped_byte_inside_any_chunk_is_detected(tmp_path: Path) -> None:
    src = tmp_path / "full.spool"
    written = _write(src, 8)
    full = src.read_bytes()
    prefix = read_spool(src)
    p = tmp_path / "cut.spool"
    # Chunk boundaries, walked from the documented layout: 20-byte preamble + header, then 9-byte heads.
    pos = 20 + int.from_bytes(full[12:16], "little")
    bounds = [pos]
    while pos < len(full):
        pos += 9 + int.from_bytes(full[pos : pos + 4], "little")
        bounds.append(pos)
    assert bounds[-1] == len(full) and prefix.finished
    start, end = bounds[5], bounds[6]  # chunk index 5 after the header: a data chunk
    p.write_bytes(full[:start])
    kept = len(read_spool(p).chunks)
    for pos in range(start, end):
        data = bytearray(full)
        data[pos] ^= 0x01
        p.write_bytes(bytes(data))
        spool = read_spool(p)
        assert spool.truncated_tail and not spool.finished, pos
        assert _as_tuples(spool) == written[:kept], pos
        assert spool.valid_bytes == start


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["acc", "gyro", "pmd", "ü"]),
            st.binary(max_size=300),
            st.floats(allow_nan=False, allow_infinity=False, width=64),
        ),
        max_size=30,
    )
)
def test_round_trip_property(tmp_path: Path, items: list[tuple[str, bytes, float]]) -> None:
    path = tmp_path / f"p{time.monotonic_ns()}.spool"
    with SpoolWriter.open(path, _header()) as w:
        for stream, payload, t in items:
            w.append(stream, payload, t)
    spool = read_spool(path)
    assert _as_tuples(spool) == items
    assert spool.finished and not spool.truncated_tail
    path.unlink()


def test_background_fsync_runs_without_further_appends(tmp_path: Path) -> None:
    with SpoolWriter.open(tmp_path / "a.spool", _header(), fsync_interval_s=0.2) as w:
        w.append("acc", b"abc", 1.0)
        deadline = time.monotonic() + 10.0
        while w._dirty and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not w._dirty


def test_finished_spools_skips_live_writer_picks_closed_and_abandoned(tmp_path: Path) -> None:
    closed = tmp_path / "20260101T000000Z_a.spool"
    abandoned = tmp_path / "20260101T000001Z_b.spool"
    _write(closed, 3)
    _write(abandoned, 3, close=False)
    live = SpoolWriter.open(tmp_path / "20260101T000002Z_c.spool", _header())
    try:
        live.append("acc", b"x", 1.0)
        (tmp_path / "notes.txt").write_text("not a spool")
        assert writer_alive(live.path) and not writer_alive(closed) and not writer_alive(abandoned)
        assert finished_spools(tmp_path) == [closed, abandoned]
        assert read_spool(abandoned).finished is False
    finally:
        live.close()
    assert finished_spools(tmp_path) == [closed, abandoned, live.path]
    assert finished_spools(tmp_path / "nope") == []


_CHILD = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from ingest.spool.format import SpoolHeader
    from ingest.spool.writer import SpoolWriter
    path = Path(sys.argv[1])
    h = SpoolHeader.new(profile="polar-verity-sense", side="left", streams={"acc": {"fs_hz": 52}})
    w = SpoolWriter.open(path, h)
    w.event("connected", time.monotonic())
    i = 0
    while True:
        w.append("acc", i.to_bytes(4, "little") * 20, time.monotonic())
        # Report progress only after append returned: the parent compares it with what survived.
        sys.stdout.write(f"{i}\\n")
        sys.stdout.flush()
        i += 1
        time.sleep(0.005)
    """
)


@pytest.mark.slow
def test_kill_9_while_appending_loses_at_most_a_second(tmp_path: Path) -> None:
    path = tmp_path / "killed.spool"
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(path)], stdout=subprocess.PIPE, env=env, cwd=REPO_ROOT, text=True
    )
    assert proc.stdout is not None
    try:
        # Wait for the child to be writing, then let it run ~2 s of appends.
        first = proc.stdout.readline()
        assert first.strip() == "0", first
        t_end = time.monotonic() + 2.0
        last = 0
        while time.monotonic() < t_end:
            line = proc.stdout.readline()
            if not line:
                break
            last = int(line)
        assert path.exists()
        assert writer_alive(path)
        assert path not in finished_spools(tmp_path)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=10)
        rest = proc.stdout.read()
    assert proc.returncode == -signal.SIGKILL
    reported = [int(x) for x in rest.split()] or [last]
    last = max(last, *reported)
    spool = read_spool(path)
    assert not spool.finished
    assert [e.kind for e in spool.events] == ["connected"]
    counters = [int.from_bytes(c.payload[:4], "little") for c in spool.chunks]
    assert counters == list(range(len(counters)))  # an intact, gap-free prefix
    # At ~200 appends/s, one second is ~200 chunks; write-through means nothing reported is lost at all.
    assert counters[-1] >= last - 200
    assert counters[-1] >= last
    span = spool.chunks[-1].host_time_s - spool.chunks[0].host_time_s
    assert span > 1.0
    assert finished_spools(tmp_path) == [path]


# -- decoding: spool_to_recording ------------------------------------------------------------------------

POLAR_NS = 1_000_000_000


def _polar_frames(
    rng: np.random.Generator, *, seconds: float, fs_hz: float, gyro: bool, t0_s: float = 800_000_000.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, list[bytes], list[bytes]]:
    """Simulated motion, encoded as a Verity Sense sends it (compressed ACC type 1, GYRO type 0)."""
    n = int(seconds * fs_hz)
    times_ns = (round(t0_s * POLAR_NS) + np.rint(np.arange(n) * POLAR_NS / fs_hz)).astype(np.int64)
    t = np.arange(n) / fs_hz
    acc = np.column_stack([0.3 * np.sin(2 * np.pi * 0.5 * t), 0.1 * np.cos(t), 1.0 + 0.05 * np.sin(3 * t)])
    acc += rng.normal(0, 0.002, acc.shape)
    acc_frames = encode_pmd_frames(2, acc, times_ns, frame_type=1, compressed=True, factor=1.0)
    gyr = None
    gyro_frames: list[bytes] = []
    if gyro:
        gyr = np.column_stack([40 * np.sin(2 * np.pi * 0.5 * t), 10 * np.cos(t), rng.normal(0, 1, n)])
        gyro_frames = encode_pmd_frames(5, gyr, times_ns, frame_type=0, compressed=True, factor=0.061)
    return times_ns, acc, gyr, acc_frames, gyro_frames


def _polar_header(profile: str = "polar-verity-sense", **kw: object) -> SpoolHeader:
    streams = {"acc": {"fs_hz": 52, "range_g": 8, "factor": 1.0}}
    if profile == "polar-verity-sense":
        streams["gyro"] = {"fs_hz": 52, "range_dps": 2000, "factor": 0.061}
    kw.setdefault("sensor_time_ref_s", None)
    return _header(profile=profile, streams=streams, **kw)


def _frame_end_s(frame: bytes) -> float:
    return int.from_bytes(frame[1:9], "little") / POLAR_NS


def _write_polar(
    path: Path,
    header: SpoolHeader,
    acc_frames: list[bytes],
    gyro_frames: list[bytes],
    *,
    latency_s: float = 0.03,
    host_offset_s: float,
    drop: range = range(0),
    extra: list[tuple[int, str, bytes]] | None = None,
) -> None:
    """Interleave frames in sensor-time order; host time = last sample's sensor time + offset + latency."""
    frames = [("acc", f) for f in acc_frames] + [("gyro", f) for f in gyro_frames]
    frames.sort(key=lambda sf: _frame_end_s(sf[1]))
    extras = {i: (s, b) for i, s, b in extra or []}
    with SpoolWriter.open(path, header) as w:
        w.event("connected", header.host_monotonic_ref_s)
        for i, (stream, frame) in enumerate(frames):
            host_t = _frame_end_s(frame) + host_offset_s + latency_s
            if i in extras:
                s, b = extras[i]
                if s == "event":
                    w.event(b.decode(), host_t)
                else:
                    w.append(s, b, host_t)
            if i in drop:
                continue
            w.append(stream, frame, host_t)


def test_polar_spool_to_recording(tmp_path: Path, rng: np.random.Generator) -> None:
    times_ns, acc, gyr, acc_frames, gyro_frames = _polar_frames(rng, seconds=10, fs_hz=52, gyro=True)
    header = _polar_header()
    host_offset = header.host_monotonic_ref_s - times_ns[0] / POLAR_NS + 0.5  # first sample at ref + 0.5 s
    path = tmp_path / "v.spool"
    _write_polar(path, header, acc_frames, gyro_frames, host_offset_s=host_offset)
    decoded = decode_spool(read_spool(path))
    rec = decoded.recording
    assert rec.n_samples == acc.shape[0]
    np.testing.assert_allclose(rec.time_s, (times_ns - times_ns[0]) / POLAR_NS, atol=1e-6)
    np.testing.assert_allclose(rec.accel_g, acc, atol=1e-3)  # 1 mG quantisation
    assert rec.gyro_dps is not None and gyr is not None
    np.testing.assert_allclose(rec.gyro_dps, gyr, atol=0.061)
    assert rec.fs_hz == 52 and rec.side is Side.LEFT and rec.profile == "polar-verity-sense"
    # Host clock: first sample 0.5 s after the header's reference instant, minus nothing (the 30 ms
    # latency is removed by the lower-envelope estimate).
    assert rec.started_at is not None
    err = (rec.started_at - header.host_started_at_utc).total_seconds() - 0.5
    assert abs(err - 0.03) < 1e-3
    assert decoded.gaps == () and decoded.malformed_chunks == 0 and decoded.duplicate_samples == 0
    assert decoded.expected_samples == rec.n_samples
    # The file reader takes spools too.
    back = read_recording_file(path)
    np.testing.assert_array_equal(back.accel_g, rec.accel_g)
    assert spool_gaps(read_spool(path)) == ()


def test_sensor_clock_reference_sets_started_at(tmp_path: Path, rng: np.random.Generator) -> None:
    times_ns, _, _, acc_frames, _ = _polar_frames(rng, seconds=3, fs_hz=52, gyro=False)
    t0 = times_ns[0] / POLAR_NS
    header = _polar_header("polar-h10", sensor_time_ref_s=t0 - 2.0)
    path = tmp_path / "h.spool"
    _write_polar(path, header, acc_frames, [], host_offset_s=header.host_monotonic_ref_s - t0 + 7.0)
    rec = spool_to_recording(read_spool(path))
    assert rec.gyro_dps is None
    assert rec.started_at is not None
    # The sensor reference wins over host receive times: first sample 2.0 s after the reference.
    assert abs((rec.started_at - header.host_started_at_utc).total_seconds() - 2.0) < 1e-6


def test_polar_link_drop_gap_duplicate_and_malformed(tmp_path: Path, rng: np.random.Generator) -> None:
    times_ns, acc, _, acc_frames, gyro_frames = _polar_frames(rng, seconds=40, fs_hz=52, gyro=True)
    header = _polar_header()
    host_offset = header.host_monotonic_ref_s - times_ns[0] / POLAR_NS
    n_frames = len(acc_frames) + len(gyro_frames)
    assert n_frames > 30
    path = tmp_path / "drop.spool"
    frames_sorted = sorted(acc_frames + gyro_frames, key=_frame_end_s)
    dup_index = 20
    _write_polar(
        path,
        header,
        acc_frames,
        gyro_frames,
        host_offset_s=host_offset,
        drop=range(10, 16),
        extra=[
            (5, "acc", b"\x02\x00\x01"),  # truncated header
            (7, "acc", b"\x02" + b"\xff" * 8 + b"\x81" + b"\x00" * 3),  # compressed frame cut short
            (8, "cp", b"\xf0\x02\x02\x00\x00"),  # control traffic: kept, not decoded
            (10, "event", b"lost"),
            (16, "event", b"reconnected"),
            # The frame delivered just before the reconnect, delivered again after it.
            (dup_index + 1, "pmd", frames_sorted[dup_index]),
        ],
    )
    decoded = decode_spool(read_spool(path))
    rec = decoded.recording
    assert decoded.malformed_chunks == 2
    assert decoded.ignored_chunks == 1
    assert decoded.duplicate_frames == 1
    # Samples are those of the frames not dropped; times strictly increasing (no duplicates).
    assert np.all(np.diff(rec.time_s) > 0)
    assert rec.n_samples < acc.shape[0]
    sensor_t = (times_ns - times_ns[0]) / POLAR_NS
    # Every sample kept is one of the sensor's samples at its true time and value.
    idx = np.rint(rec.time_s * 52).astype(int)
    np.testing.assert_allclose(sensor_t[idx], rec.time_s, atol=1e-6)
    np.testing.assert_allclose(acc[idx], rec.accel_g, atol=1e-3)
    # Exactly one gap, where the dropped frames were, and the clock says how many samples are missing.
    assert len(decoded.gaps) == 1
    start, end = decoded.gaps[0]
    assert end - start > 1.0
    assert decoded.expected_samples == acc.shape[0]
    assert decoded.expected_samples - rec.n_samples == round((end - start) * 52) - 1


def _assert_same_decoding(got: DecodedSpool, want: DecodedSpool) -> None:
    """Every field equal, arrays bit for bit."""
    for name in (
        "fs_hz",
        "malformed_chunks",
        "duplicate_frames",
        "duplicate_samples",
        "ignored_chunks",
        "gaps",
        "expected_samples",
    ):
        assert getattr(got, name) == getattr(want, name), name
    assert got.gyro is not None and want.gyro is not None
    for a, b in ((got.acc, want.acc), (got.gyro, want.gyro)):
        assert a.kind == b.kind
        np.testing.assert_array_equal(a.sensor_time_s, b.sensor_time_s, strict=True)
        np.testing.assert_array_equal(a.values, b.values, strict=True)
    r, s = got.recording, want.recording
    np.testing.assert_array_equal(r.time_s, s.time_s, strict=True)
    np.testing.assert_array_equal(r.accel_g, s.accel_g, strict=True)
    assert r.gyro_dps is not None and s.gyro_dps is not None
    np.testing.assert_array_equal(r.gyro_dps, s.gyro_dps, strict=True)
    assert (r.fs_hz, r.side, r.profile, r.started_at) == (s.fs_hz, s.side, s.profile, s.started_at)


def test_batch_decoding_equals_frame_by_frame(
    tmp_path: Path, rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch
) -> None:
    times_ns, acc, _, acc_frames, gyro_frames = _polar_frames(rng, seconds=40, fs_hz=52, gyro=True)
    header = _polar_header()
    frames_sorted = sorted(acc_frames + gyro_frames, key=_frame_end_s)
    # The ACC samples of the last ACC frame before the link drop, re-sent after the reconnect split
    # differently (raw frames, other timestamps): duplicate samples, not duplicate frames.
    last_acc = next(f for f in reversed(frames_sorted[:10]) if f[0] == 2)
    resent = np.flatnonzero(times_ns <= round(_frame_end_s(last_acc) * POLAR_NS))[-12:]
    raw = encode_pmd_frames(
        2, acc[resent], times_ns[resent], frame_type=1, compressed=False, max_frame_bytes=10 + 6 * 6
    )
    assert len(raw) == 2
    nan_gyro = encode_pmd_frames(
        5, [[np.nan, 0.0, 0.0]], times_ns[1000:1001], frame_type=1, compressed=False, factor=1.0
    )[0]
    path = tmp_path / "batch.spool"
    _write_polar(
        path,
        header,
        acc_frames,
        gyro_frames,
        host_offset_s=header.host_monotonic_ref_s - times_ns[0] / POLAR_NS,
        drop=range(10, 16),
        extra=[
            # A cut copy of frame 3 just before it: malformed, so frame 3 itself is no duplicate.
            (3, "acc", frames_sorted[3][:-2]),
            (5, "acc", b"\x02\x00\x01"),  # truncated header
            (8, "cp", b"\xf0\x02\x02\x00\x00"),
            (10, "event", b"lost"),
            (16, "event", b"reconnected"),
            (17, "pmd", frames_sorted[9]),  # a frame from before the drop, delivered again
            (18, "acc", raw[0]),
            (19, "acc", raw[1]),
            (21, "pmd", frames_sorted[20]),  # delivered twice within a segment
            (22, "gyro", nan_gyro),  # decodes, but to NaN: malformed
        ],
    )
    spool = read_spool(path)
    calls = {"decode_many": 0, "decode": 0}
    decode_many, decode = PmdStreamDecoder.decode_many, PmdStreamDecoder.decode

    def counted_many(self: PmdStreamDecoder, frames: Sequence[bytes]) -> PmdBatch:
        calls["decode_many"] += 1
        return decode_many(self, frames)

    def counted_one(self: PmdStreamDecoder, data: bytes) -> PmdFrame:
        calls["decode"] += 1
        return decode(self, data)

    def refuse(self: PmdStreamDecoder, frames: Sequence[bytes]) -> PmdBatch:
        raise ValueError("no batches: decode frame by frame")

    with monkeypatch.context() as m:
        m.setattr(PmdStreamDecoder, "decode_many", counted_many)
        m.setattr(PmdStreamDecoder, "decode", counted_one)
        batch = decode_spool(spool)
    # One batch per stream and segment (ACC and GYRO, before the drop and after the reconnect), and one
    # repeat of the first segment's batch of frame 3's stream: its cut copy, taken for its first delivery,
    # turned out malformed, so frame 3 itself is no duplicate after all.
    assert calls == {"decode_many": 5, "decode": 0}
    assert batch.malformed_chunks == 3
    assert batch.duplicate_frames == 2
    assert batch.duplicate_samples == len(resent)
    assert batch.ignored_chunks == 1
    assert len(batch.gaps) == 1

    # The same spool through the codec's per-frame API, one notification at a time in file order.
    with monkeypatch.context() as m:
        m.setattr(PmdStreamDecoder, "decode_many", refuse)
        m.setattr(PmdStreamDecoder, "decode", counted_one)
        one_by_one = decode_spool(spool)
    assert calls["decode"] > len(frames_sorted) - 6
    _assert_same_decoding(batch, one_by_one)


def test_witmotion_spool(tmp_path: Path, rng: np.random.Generator) -> None:
    fs = 50.0
    n = 1000
    acc = np.column_stack([0.2 * np.sin(np.arange(n) / 20), np.zeros(n), np.ones(n)])
    gyr = np.column_stack([np.zeros(n), 30 * np.cos(np.arange(n) / 20), np.zeros(n)])
    header = _header(profile="witmotion-wt901", streams={"imu": {"fs_hz": fs}}, sensor_time_ref_s=None)
    path = tmp_path / "w.spool"
    per = 4  # packets per notification
    gap_after = 120  # notifications; then 3 s with nothing (link drop)
    with SpoolWriter.open(path, header) as w:
        for j in range(n // per):
            sl = slice(j * per, (j + 1) * per)
            payload = encode_witmotion_packets(acc[sl], gyr[sl], np.zeros((per, 3)))
            sample_t = (j + 1) * per / fs + (3.0 if j >= gap_after else 0.0)
            # One notification held back 0.8 s by the radio: latency, not a gap.
            spike = 0.8 if j == 60 else 0.0
            w.append("imu", payload, 1000.0 + sample_t + spike + float(rng.uniform(0.005, 0.08)))
        w.append("imu", b"\x55\x61\x00", 1100.0)  # garbage: counted, skipped
    decoded = decode_spool(read_spool(path))
    rec = decoded.recording
    assert decoded.malformed_chunks == 1
    assert rec.n_samples == n
    np.testing.assert_allclose(rec.accel_g, acc, atol=16 / 32768)
    assert rec.gyro_dps is not None
    np.testing.assert_allclose(rec.gyro_dps, gyr, atol=2000 / 32768)
    assert np.all(np.diff(rec.time_s) > 0)
    # Regular 20 ms steps within each segment, and one gap of ~3 s between them.
    steps = np.diff(rec.time_s)
    assert np.sum(steps > 0.5) == 1
    np.testing.assert_allclose(np.delete(steps, np.argmax(steps)), 1 / fs, atol=1e-9)
    assert len(decoded.gaps) == 1
    gap = decoded.gaps[0][1] - decoded.gaps[0][0]
    assert 2.9 < gap < 3.2


def test_unknown_profile_and_empty_spool(tmp_path: Path) -> None:
    path = tmp_path / "u.spool"
    with SpoolWriter.open(path, _header(profile="fitbit")) as w:
        w.append("acc", b"\x02" * 20, 1.0)
    with pytest.raises(SpoolError, match="unknown sensor profile 'fitbit'"):
        spool_to_recording(read_spool(path))
    empty = tmp_path / "e.spool"
    SpoolWriter.open(empty, _polar_header()).close()
    rec = spool_to_recording(read_spool(empty))
    assert rec.n_samples == 0


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_corruption_reads_a_prefix_or_raises_spool_error(tmp_path: Path, data: st.DataObject) -> None:
    src = tmp_path / "src.spool"
    if not src.exists():
        _write(src, 10)
    full = bytearray(src.read_bytes())
    written_spool = read_spool(src)
    written = _as_tuples(written_spool)
    for _ in range(data.draw(st.integers(1, 4))):
        pos = data.draw(st.integers(0, len(full) - 1))
        full[pos] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(full)))
    bad = tmp_path / "bad.spool"
    bad.write_bytes(bytes(full[:cut]))
    try:
        spool = read_spool(bad)
    except SpoolError:
        return
    got = _as_tuples(spool)
    # CRC32 makes an undetected change astronomically unlikely: what reads is what was written.
    assert got == written[: len(got)]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    profile=st.sampled_from(["polar-verity-sense", "polar-h10", "witmotion-wt901"]),
    payloads=st.lists(st.binary(max_size=120), max_size=12),
)
def test_decoding_hostile_payloads_never_raises(tmp_path: Path, profile: str, payloads: list[bytes]) -> None:
    path = tmp_path / f"h{time.monotonic_ns()}.spool"
    with SpoolWriter.open(path, _header(profile=profile, sensor_time_ref_s=None)) as w:
        for i, p in enumerate(payloads):
            # Bias towards plausible starts so the codecs get past their first checks.
            head = {0: b"\x02", 1: b"\x05", 2: b"\x55\x61"}.get(i % 4, b"")
            w.append("acc", head + p, 1000.0 + 0.1 * i)
    decoded = decode_spool(read_spool(path))
    assert decoded.malformed_chunks <= len(payloads)
    rec = decoded.recording
    assert np.all(np.diff(rec.time_s) > 0)  # never a duplicate or a step back
    assert np.isfinite(rec.accel_g).all()
    assert rec.gyro_dps is None or np.isfinite(rec.gyro_dps).all()
    path.unlink()


_CHILD_FULL_DISK = textwrap.dedent(
    """
    import resource, signal, sys
    from pathlib import Path
    from ingest.spool.format import SpoolHeader
    from ingest.spool.writer import SpoolWriter
    path = Path(sys.argv[1])
    w = SpoolWriter.open(path, SpoolHeader.new(profile="polar-h10", streams={"acc": {"fs_hz": 50}}))
    # The file may grow ~1000 bytes more: the write that crosses the limit is partial, then EFBIG.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    limit = path.stat().st_size + 1000
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))
    ok = 0
    try:
        for i in range(100):
            w.append("acc", bytes([i]) * 70, float(i))
            ok += 1
    except OSError as e:
        print("error", e.errno)
    print("ok", ok)
    print("size", path.stat().st_size)
    """
)


def test_failed_write_leaves_no_torn_chunk(tmp_path: Path) -> None:
    path = tmp_path / "full.spool"
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", _CHILD_FULL_DISK, str(path)],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO_ROOT,
        timeout=60,
        check=True,
    ).stdout.split("\n")
    lines = dict(line.split() for line in out if line)
    assert lines["error"] == "27"  # EFBIG: the limit was hit mid-chunk
    ok = int(lines["ok"])
    assert 5 < ok < 100
    spool = read_spool(path)
    # Every append that returned is readable, and the partial chunk was cut off again.
    assert [c.payload for c in spool.chunks] == [bytes([i]) * 70 for i in range(ok)]
    assert not spool.truncated_tail and spool.valid_bytes == int(lines["size"]) == path.stat().st_size
