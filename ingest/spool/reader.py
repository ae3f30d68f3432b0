"""Reading spools: the valid prefix of a spool (a torn tail is detected, not an error), and which are done.

:func:`read_spool` returns every valid chunk up to the first torn or corrupt one (``truncated_tail`` says
so); :func:`finished_spools` lists the spools ready to import: closed ones, and open ones whose writer is
gone (its ``flock`` released: the recorder died), never one still being recorded.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import zlib
from collections.abc import Iterator
from pathlib import Path

from ingest.errors import SpoolError
from ingest.spool.format import (
    CHUNK_HEAD,
    END_BODY,
    FORMAT_VERSION,
    MAGIC,
    MAX_CHUNK_PAYLOAD,
    MAX_HEADER_BYTES,
    PREAMBLE,
    SPOOL_SUFFIX,
    TIME_FIELD,
    ChunkType,
    Spool,
    SpoolChunk,
    SpoolEvent,
    SpoolHeader,
)
from ingest.spool.validate import MAX_EVENT_DEPTH, event_fields, host_time_ok, parse_json

logger = logging.getLogger(__name__)


def _read_header(data: bytes | memoryview, path: Path) -> tuple[SpoolHeader, int]:
    if len(data) < len(MAGIC) or bytes(data[: len(MAGIC)]) != MAGIC:
        raise SpoolError(f"{path} is not a hipsync spool (bad magic bytes)", path=path)
    pos = len(MAGIC)
    if len(data) < pos + PREAMBLE.size:
        raise SpoolError(f"{path}: spool header is truncated ({len(data)} bytes)", path=path)
    version, _flags, hlen, hcrc = PREAMBLE.unpack_from(data, pos)
    if version != FORMAT_VERSION:
        raise SpoolError(
            f"{path}: spool format version {version} is not supported (this hipsync reads version "
            f"{FORMAT_VERSION})",
            path=path,
            offset=len(MAGIC),
        )
    pos += PREAMBLE.size
    if hlen > MAX_HEADER_BYTES or len(data) < pos + hlen:
        raise SpoolError(f"{path}: spool header is truncated or has a bad length ({hlen} bytes)", path=path)
    hbytes = bytes(data[pos : pos + hlen])
    if zlib.crc32(hbytes) != hcrc:
        raise SpoolError(f"{path}: spool header fails its CRC check", path=path)
    try:
        return SpoolHeader.from_json_bytes(hbytes), pos + hlen
    except SpoolError as e:
        raise SpoolError(f"{path}: {e.message}", path=path, offset=pos) from e


def _iter_chunks(data: memoryview, pos: int) -> Iterator[tuple[int, int, memoryview]]:
    """Yield ``(offset_after, type, body)`` for every valid chunk; stops at the first invalid one."""
    n = len(data)
    head = CHUNK_HEAD.size
    while pos + head <= n:
        length, ctype, crc = CHUNK_HEAD.unpack_from(data, pos)
        end = pos + head + length
        if length > MAX_CHUNK_PAYLOAD or end > n:
            return
        body = data[pos + head : end]
        if zlib.crc32(body, zlib.crc32(data[pos : pos + 5])) != crc:
            return
        yield end, ctype, body
        pos = end


def _data_chunk(body: memoryview, t: float, seq: int) -> SpoolChunk | None:
    """A DATA chunk's fields, or None when its stream-name length runs past the chunk."""
    if len(body) < TIME_FIELD.size + 1 or len(body) < TIME_FIELD.size + 1 + body[TIME_FIELD.size]:
        return None
    name_end = TIME_FIELD.size + 1 + body[TIME_FIELD.size]
    stream = bytes(body[TIME_FIELD.size + 1 : name_end]).decode("utf-8", errors="replace")
    return SpoolChunk(stream=stream, host_time_s=t, payload=bytes(body[name_end:]), seq=seq)


def _event_chunk(body: memoryview, t: float, seq: int) -> SpoolEvent | None:
    """An EVENT chunk's fields (checked by :func:`ingest.spool.validate.event_fields`), or None."""
    try:
        doc = parse_json(bytes(body[TIME_FIELD.size :]), what="spool event", max_depth=MAX_EVENT_DEPTH)
        kind, details = event_fields(doc)
    except SpoolError as e:
        logger.debug("event chunk %d skipped: %s", seq, e.message)
        return None
    return SpoolEvent(kind=kind, host_time_s=t, details=details, seq=seq)


def spool_parts(data: bytes) -> tuple[bytes, list[tuple[int, bytes]]]:
    """The header JSON text and the CRC-valid chunks ``(type, payload)`` of a spool's bytes, unchecked
    (the inverse of :func:`ingest.spool.format.spool_bytes`, for tests and the fuzz benchmark).

    Raises:
        SpoolError: no magic, or a header length running past the end.
    """
    if data[: len(MAGIC)] != MAGIC or len(data) < len(MAGIC) + PREAMBLE.size:
        raise SpoolError("not a hipsync spool (bad magic bytes)")
    hlen = PREAMBLE.unpack_from(data, len(MAGIC))[2]
    start = len(MAGIC) + PREAMBLE.size
    if start + hlen > len(data):
        raise SpoolError("spool header runs past the end of the data")
    chunks = [(ctype, bytes(body)) for _, ctype, body in _iter_chunks(memoryview(data), start + hlen)]
    return bytes(data[start : start + hlen]), chunks


def read_spool(path: Path | str) -> Spool:
    """Read a spool, finished or not, stopping at the first torn or corrupt chunk.

    Raises :class:`SpoolError` when the file is not a spool, has an unsupported version or a bad header
    (every header field is checked, :mod:`ingest.spool.validate`). Chunks of an unknown type are skipped
    (they are length-delimited and CRC-checked like all others), and so are chunks whose CRC holds but
    whose fields do not (``skipped_chunks``: a host time that is no finite clock reading, a malformed
    event).
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise SpoolError(f"cannot read spool {path}: {e}", path=path) from e
    data = memoryview(raw)
    header, pos = _read_header(data, path)
    chunks: list[SpoolChunk] = []
    events: list[SpoolEvent] = []
    finished = False
    end_time: float | None = None
    valid = pos
    skipped = 0
    for seq, (after, ctype, body) in enumerate(_iter_chunks(data, pos)):
        if finished:
            # Nothing may follow END; if something does, the file was tampered with: stop trusting it.
            break
        valid = after
        if len(body) < TIME_FIELD.size:
            logger.warning("%s: chunk at %d too short for its timestamp; skipped", path, after)
            skipped += 1
            continue
        (t,) = TIME_FIELD.unpack_from(body, 0)
        if ctype == ChunkType.END:
            finished = True
            end_time = t if host_time_ok(t) else None
            continue
        item: SpoolChunk | SpoolEvent | None = None
        if not host_time_ok(t):
            logger.warning("%s: chunk ending at %d has host time %r; skipped", path, after, t)
        elif ctype == ChunkType.DATA:
            item = _data_chunk(body, t, seq)
        elif ctype == ChunkType.EVENT:
            item = _event_chunk(body, t, seq)
        else:
            logger.warning("%s: unknown chunk type %#x ending at %d; skipped", path, ctype, after)
            continue
        if isinstance(item, SpoolChunk):
            chunks.append(item)
        elif isinstance(item, SpoolEvent):
            events.append(item)
        else:
            skipped += 1
    if skipped:
        logger.warning("%s: %d chunks with unusable fields skipped", path, skipped)
    tail = len(data) - valid
    if tail:
        logger.warning("%s: %d unreadable bytes after offset %d (torn or corrupt tail)", path, tail, valid)
    return Spool(
        path=path,
        header=header,
        chunks=tuple(chunks),
        events=tuple(events),
        finished=finished,
        truncated_tail=tail > 0,
        valid_bytes=valid,
        tail_bytes=tail,
        end_host_time_s=end_time,
        skipped_chunks=skipped,
    )


def read_spool_header(path: Path | str) -> SpoolHeader:
    """Only the header (cheap: reads the first bytes)."""
    path = Path(path)
    try:
        with path.open("rb") as f:
            start = f.read(len(MAGIC) + PREAMBLE.size)
            if len(start) == len(MAGIC) + PREAMBLE.size and start[: len(MAGIC)] == MAGIC:
                hlen = PREAMBLE.unpack_from(start, len(MAGIC))[2]
                start += f.read(min(hlen, MAX_HEADER_BYTES))
    except OSError as e:
        raise SpoolError(f"cannot read spool {path}: {e}", path=path) from e
    return _read_header(start, path)[0]


def is_finished(path: Path | str) -> bool:
    """True when the spool ends with a valid END chunk (reads only the last bytes)."""
    size_end = CHUNK_HEAD.size + END_BODY.size
    try:
        with Path(path).open("rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            if size < len(MAGIC) + PREAMBLE.size + size_end:
                return False
            f.seek(size - size_end)
            tail = f.read(size_end)
    except OSError:
        return False
    length, ctype, crc = CHUNK_HEAD.unpack_from(tail, 0)
    if length != END_BODY.size or ctype != ChunkType.END:
        return False
    return bool(zlib.crc32(tail[CHUNK_HEAD.size :], zlib.crc32(tail[:5])) == crc)


def writer_alive(path: Path | str) -> bool:
    """True while some process (this one included) holds the writer's lock on the spool."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as e:
        if e.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            return True
        raise
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


def finished_spools(spool_dir: Path | str) -> list[Path]:
    """Spools ready for import: closed ones, and unfinished ones whose writer is gone (crashed, killed).

    A spool still locked by a live writer is left out. Sorted by name (names start with the UTC time).
    """
    d = Path(spool_dir)
    if not d.is_dir():
        return []
    out: list[Path] = []
    for p in sorted(d.glob(f"*{SPOOL_SUFFIX}")):
        if p.name.startswith(".") or not p.is_file():
            continue
        if is_finished(p) or not writer_alive(p):
            out.append(p)
    return out
