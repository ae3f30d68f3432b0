"""Reading spools: the valid prefix of a spool (a torn tail is detected, not an error), and which are done.

:func:`read_spool` returns every valid chunk up to the first torn or corrupt one (``truncated_tail`` says
so); :func:`finished_spools` lists the spools ready to import: closed ones, and open ones whose writer is
gone (its ``flock`` released: the recorder died), never one still being recorded.
"""

from __future__ import annotations

import errno
import fcntl
import json
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


def read_spool(path: Path | str) -> Spool:
    """Read a spool, finished or not, stopping at the first torn or corrupt chunk.

    Raises :class:`SpoolError` when the file is not a spool, has an unsupported version or a bad header.
    Chunks of an unknown type are skipped (they are length-delimited and CRC-checked like all others).
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
    for seq, (after, ctype, body) in enumerate(_iter_chunks(data, pos)):
        if finished:
            # Nothing may follow END; if something does, the file was tampered with: stop trusting it.
            break
        valid = after
        if len(body) < TIME_FIELD.size:
            logger.warning("%s: chunk at %d too short for its timestamp; skipped", path, after)
            continue
        (t,) = TIME_FIELD.unpack_from(body, 0)
        if ctype == ChunkType.DATA:
            if len(body) < TIME_FIELD.size + 1 or len(body) < TIME_FIELD.size + 1 + body[TIME_FIELD.size]:
                logger.warning("%s: data chunk ending at %d is malformed; skipped", path, after)
                continue
            nlen = body[TIME_FIELD.size]
            name_end = TIME_FIELD.size + 1 + nlen
            stream = bytes(body[TIME_FIELD.size + 1 : name_end]).decode("utf-8", errors="replace")
            chunks.append(SpoolChunk(stream=stream, host_time_s=t, payload=bytes(body[name_end:]), seq=seq))
        elif ctype == ChunkType.EVENT:
            try:
                doc = json.loads(bytes(body[TIME_FIELD.size :]).decode("utf-8"))
                kind = str(doc.pop("kind"))
            except (UnicodeDecodeError, json.JSONDecodeError, KeyError, AttributeError, TypeError):
                logger.warning("%s: event chunk ending at %d is malformed; skipped", path, after)
                continue
            events.append(SpoolEvent(kind=kind, host_time_s=t, details=doc, seq=seq))
        elif ctype == ChunkType.END:
            finished = True
            end_time = t
        else:
            logger.warning("%s: unknown chunk type %#x ending at %d; skipped", path, ctype, after)
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
