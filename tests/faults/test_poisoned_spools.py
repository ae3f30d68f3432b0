"""Poisoned spools (issue 19, item 3): a spool whose fields are hostile under valid CRCs fails alone.

Each case rewrites one field of a real spool (written by :func:`ingest.emulator.spools.write_emulated_spool`)
and recomputes every CRC, so only the field checks stand between it and the decoder. What must hold: the
spool reads as a :class:`~ingest.errors.SpoolError` naming the problem (or reads and decodes, skipping
what is unusable); a sync quarantines it and imports the spools after it; ``analyze`` prints one line.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from flows.imports import sync_spools
from hipsync.cli import app
from ingest.emulator.spools import write_emulated_spool
from ingest.errors import SpoolError
from ingest.spool.decode import decode_spool
from ingest.spool.format import TIME_FIELD, ChunkType, spool_bytes
from ingest.spool.reader import read_spool, spool_parts

HeaderEdit = Callable[[dict[str, Any]], Any]


def _rewrite(
    path: Path, *, header: bytes | None = None, chunk: Callable[[int, bytes], bytes] | None = None
) -> Path:
    """Replace the header JSON text and/or each chunk's payload (``chunk(type, payload)``), valid CRCs."""
    head, chunks = spool_parts(path.read_bytes())
    if chunk is not None:
        chunks = [(t, chunk(t, b)) for t, b in chunks]
    path.write_bytes(spool_bytes(head if header is None else header, chunks))
    return path


def _header_doc(path: Path) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(spool_parts(path.read_bytes())[0])
    return doc


def _edit_header(path: Path, edit: HeaderEdit) -> Path:
    doc = _header_doc(path)
    text = edit(doc)
    return _rewrite(path, header=text if isinstance(text, bytes) else json.dumps(doc).encode())


def _set(key: str, value: Any) -> HeaderEdit:
    def edit(doc: dict[str, Any]) -> None:
        target = doc
        *parents, last = key.split(".")
        for p in parents:
            target = target[p]
        target[last] = value

    return edit


def _raw(key: str, literal: str) -> HeaderEdit:
    """Put a JSON literal Python's json.dumps would not write (NaN, 1e999, 400 digits, deep nesting)."""

    def edit(doc: dict[str, Any]) -> bytes:
        doc[key] = "@@"
        return json.dumps(doc).replace('"@@"', literal).encode()

    return edit


HEADER_CASES: dict[str, HeaderEdit] = {
    "monotonic reference 1e308": _set("host_monotonic_ref_s", 1e308),
    "monotonic reference -1e308": _set("host_monotonic_ref_s", -1e308),
    "monotonic reference as text": _set("host_monotonic_ref_s", "1000"),
    "monotonic reference true": _set("host_monotonic_ref_s", True),
    "monotonic reference NaN": _raw("host_monotonic_ref_s", "NaN"),
    "monotonic reference 1e999": _raw("host_monotonic_ref_s", "1e999"),
    "sensor reference 1e308": _set("sensor_time_ref_s", 1e308),
    "start in year 9999": _set("host_started_at_utc", "9999-12-31T23:59:59+00:00"),
    "start without a zone": _set("host_started_at_utc", "2026-11-24T07:00:00"),
    "start as a number": _set("host_started_at_utc", 12345),
    "rate 1e308": _set("streams.acc.fs_hz", 1e308),
    "rate zero": _set("streams.acc.fs_hz", 0),
    "rate 1e-320": _set("streams.acc.fs_hz", 1e-320),
    "rate as text": _set("streams.acc.fs_hz", "52"),
    "factor 1e308": _set("streams.gyro.factor", 1e308),
    "streams a list": _set("streams", [1, 2]),
    "stream settings a number": _set("streams.acc", 5),
    "extra nested 100 000 deep": _raw("extra", "[" * 100_000 + "]" * 100_000),
    "session id of 400 digits": _raw("session_id", "9" * 400),
    "session id a list": _set("session_id", ["a"]),
    "profile missing": lambda doc: doc.pop("profile"),
    "unknown profile": _set("profile", "polar-nonesuch"),
    "header a list": lambda doc: b"[1, 2, 3]",
    "header not UTF-8": lambda doc: b'{"\xff": 1}',
}


@pytest.fixture
def spool(tmp_path: Path) -> Path:
    return write_emulated_spool(
        tmp_path / "spool" / "20261124T070000Z_b.spool", "polar-verity-sense", seconds=6
    )


@pytest.mark.parametrize("case", HEADER_CASES)
def test_hostile_header_field_is_a_spool_error(spool: Path, case: str) -> None:
    _edit_header(spool, HEADER_CASES[case])
    with pytest.raises(SpoolError) as err:
        decode_spool(read_spool(spool))
    assert str(spool) in str(err.value) or err.value.path == spool


def _events(edit: Callable[[dict[str, Any]], Any]) -> Callable[[int, bytes], bytes]:
    def chunk(t: int, body: bytes) -> bytes:
        if t != ChunkType.EVENT:
            return body
        doc = json.loads(body[TIME_FIELD.size :])
        text = edit(doc)
        return body[: TIME_FIELD.size] + (text if isinstance(text, bytes) else json.dumps(doc).encode())

    return chunk


def _data_times(value: float) -> Callable[[int, bytes], bytes]:
    def chunk(t: int, body: bytes) -> bytes:
        return TIME_FIELD.pack(value) + body[TIME_FIELD.size :] if t == ChunkType.DATA else body

    return chunk


DEEP = b"[" * 100_000 + b"]" * 100_000

CHUNK_CASES: dict[str, Callable[[int, bytes], bytes]] = {
    "events nested 100 000 deep": _events(
        lambda doc: b'{"kind": "lost", "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    ),
    "event kind a number": _events(lambda doc: doc.update(kind=5)),
    "event attempt as text": _events(lambda doc: doc.update(attempt="x")),
    "event silent_s 1e999": _events(lambda doc: b'{"kind": "lost", "silent_s": 1e999}'),
    "event a list": _events(lambda doc: b"[]"),
    "data host times NaN": _data_times(float("nan")),
    "data host times 1e308": _data_times(1e308),
    "data host times -inf": _data_times(float("-inf")),
}


@pytest.mark.parametrize("case", CHUNK_CASES)
def test_hostile_chunk_fields_are_skipped_not_fatal(spool: Path, case: str) -> None:
    good = decode_spool(read_spool(spool))
    _rewrite(spool, chunk=CHUNK_CASES[case])
    poisoned = read_spool(spool)
    assert poisoned.skipped_chunks > 0
    decoded = decode_spool(poisoned)  # must not raise: the unusable chunks are skipped
    if case.startswith("data"):
        assert decoded.recording.n_samples == 0  # every data chunk was unusable
    else:
        assert decoded.recording.n_samples == good.recording.n_samples


def test_one_poisoned_spool_is_quarantined_and_the_sync_goes_on(tmp_path: Path) -> None:
    spool_dir = tmp_path / "spool"
    first = write_emulated_spool(spool_dir / "20261124T070000Z_a.spool", "polar-h10", seconds=6)
    poisoned = write_emulated_spool(spool_dir / "20261124T080000Z_b.spool", "polar-verity-sense", seconds=6)
    later = write_emulated_spool(spool_dir / "20261124T090000Z_c.spool", "witmotion-wt901", seconds=6)
    _edit_header(poisoned, _set("host_monotonic_ref_s", 1e308))  # the auditor's spool
    result = sync_spools(tmp_path / "db.duckdb", spool_dir)
    by_path = {Path(s.source_path or ""): s for s in result.sessions}
    assert by_path[poisoned].status == "quarantined"
    assert "host_monotonic_ref_s" in (by_path[poisoned].reason or "")
    assert by_path[first].status in ("analysed", "imported")
    assert by_path[later].status in ("analysed", "imported")


def test_an_unexpected_failure_quarantines_only_its_spool(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever a decoder bug raises for one spool, that spool is quarantined and the others go in."""
    import flows.imports

    spool_dir = tmp_path / "spool"
    bad = write_emulated_spool(spool_dir / "20261124T070000Z_a.spool", "polar-h10", seconds=6)
    good = write_emulated_spool(spool_dir / "20261124T080000Z_b.spool", "polar-h10", seconds=6)
    real = flows.imports.spool_to_recording

    def buggy(spool: Any) -> Any:
        if spool.path == bad:
            raise struct.error("a decoder bug")
        return real(spool)

    monkeypatch.setattr(flows.imports, "spool_to_recording", buggy)
    result = sync_spools(tmp_path / "db.duckdb", spool_dir)
    statuses = {Path(s.source_path or ""): s for s in result.sessions}
    assert statuses[bad].status == "quarantined" and "a decoder bug" in (statuses[bad].reason or "")
    assert statuses[good].status in ("analysed", "imported")


def test_sync_and_analyze_of_a_poisoned_spool_say_one_line(
    spool: Path, hipsync_home: Path, tmp_path: Path
) -> None:
    _edit_header(spool, _set("host_monotonic_ref_s", 1e308))
    r = CliRunner().invoke(app, ["sync", "--spool-dir", str(spool.parent)])
    assert r.exit_code == 0, r.output
    assert "1 quarantined" in r.stdout and "Traceback" not in r.output
    r = CliRunner().invoke(app, ["analyze", str(spool)])
    assert r.exit_code == 2
    assert r.stdout == "" and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "host_monotonic_ref_s" in r.stderr
