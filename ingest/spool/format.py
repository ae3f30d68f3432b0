"""Crash-safe spool files: every raw BLE notification of one sensor session, append-only.

A spool is written while recording and read back later (by the sync flow, by ``analyze``). It is built
so that a crash, a ``kill -9`` or a power cut costs at most the last second of data and never the rest:

- the file is only ever appended to; a finished spool ends with an END chunk and is never rewritten;
- every chunk is length-prefixed and CRC32-checked, so a torn or corrupt tail is detected and the valid
  prefix still reads;
- each chunk is handed to the OS with one ``write()`` as it arrives (a killed process loses nothing that
  was appended), and the file is ``fsync``'d at least once a second (a power cut loses at most ~1 s);
- the writer holds an exclusive ``flock`` on the file for its whole life, so :func:`finished_spools` can
  tell a spool whose writer died (pick it up) from one still being recorded (leave it alone).

The byte layout is documented in ``docs/spool-format.md``. Host times (``host_time_s``) are seconds on
the host's monotonic clock (``time.monotonic()``); the header's ``host_monotonic_ref_s`` and
``host_started_at_utc`` tie that clock to UTC.
"""

from __future__ import annotations

import contextlib
import enum
import errno
import fcntl
import json
import logging
import os
import re
import struct
import threading
import time
import uuid
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, ClassVar, Self

import numpy as np
import numpy.typing as npt

from ingest.errors import FrameError, SpoolError, UnknownProfileError
from ingest.polar_pmd import FRAME_HEADER_BYTES, PmdFrameHeader, PmdStreamDecoder
from ingest.profiles import SensorProfile, get_profile
from ingest.samples import SampleBlock, concat_blocks
from ingest.witmotion import WitMotionBatch, decode_witmotion

if TYPE_CHECKING:
    from hipsync.records import Recording

logger = logging.getLogger(__name__)

#: First 8 bytes of every spool. The high byte and the CR LF catch text-mode transfers (as in PNG).
MAGIC = b"\x89HSPOOL\n"
#: The only format version this module writes and reads.
FORMAT_VERSION = 1
#: Suffix of spool files in the spool directory.
SPOOL_SUFFIX = ".spool"

# Preamble after the magic: version u16, flags u16, header JSON length u32, header JSON CRC32 u32.
_PREAMBLE = struct.Struct("<HHII")
# Chunk header: payload length u32, chunk type u8, CRC32 u32 (over length, type and payload bytes).
_CHUNK_HEAD = struct.Struct("<IBI")
_TIME = struct.Struct("<d")
_END_BODY = struct.Struct("<dQ")
#: Larger lengths are treated as corruption (a BLE notification is at most ~512 bytes).
MAX_CHUNK_PAYLOAD = 1 << 20
#: Largest header JSON accepted when reading.
MAX_HEADER_BYTES = 1 << 20


class ChunkType(enum.IntEnum):
    """The ``type`` byte of a chunk."""

    DATA = 0x01  # one raw notification of one stream
    EVENT = 0x02  # a link-state event (connected, lost, reconnected, ...), JSON body
    END = 0x7F  # the writer closed the spool; always the last chunk


class SpoolEventKind(enum.StrEnum):
    """Link-state events recorded so gaps can be reconstructed from the spool alone."""

    CONNECTED = "connected"
    LOST = "lost"
    RECONNECTED = "reconnected"
    STREAM_STARTED = "stream_started"
    STREAM_STOPPED = "stream_stopped"
    STALLED = "stalled"
    NOTE = "note"


@dataclass(frozen=True, slots=True, kw_only=True)
class SpoolHeader:
    """Everything needed to decode a spool's raw notifications and place them in time.

    ``streams`` maps a stream name (``"acc"``, ``"gyro"``, ...) to its settings as negotiated with the
    sensor, e.g. ``{"acc": {"fs_hz": 52, "range_g": 8, "resolution_bits": 16, "factor": 0.000244}}``.
    ``host_monotonic_ref_s`` is ``time.monotonic()`` at the UTC instant ``host_started_at_utc``;
    ``sensor_time_ref_s``, when known, is the sensor clock (s) at that same instant.
    """

    session_id: str
    profile: str
    side: str | None = None
    device_address: str | None = None
    device_name: str | None = None
    streams: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    host_started_at_utc: datetime
    host_monotonic_ref_s: float
    sensor_time_ref_s: float | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)
    format_version: int = FORMAT_VERSION

    @classmethod
    def new(
        cls,
        *,
        profile: str,
        side: str | None = None,
        device_address: str | None = None,
        device_name: str | None = None,
        streams: Mapping[str, Mapping[str, Any]] | None = None,
        sensor_time_ref_s: float | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> SpoolHeader:
        """A header for a session starting now: fresh session id, UTC and monotonic clocks read together."""
        return cls(
            session_id=uuid.uuid4().hex,
            profile=profile,
            side=side,
            device_address=device_address,
            device_name=device_name,
            streams=dict(streams or {}),
            host_started_at_utc=datetime.now(UTC),
            host_monotonic_ref_s=time.monotonic(),
            sensor_time_ref_s=sensor_time_ref_s,
            extra=dict(extra or {}),
        )

    def host_time_to_utc(self, host_time_s: float) -> datetime:
        """The UTC wall-clock instant of a host monotonic time."""
        return self.host_started_at_utc + timedelta(seconds=host_time_s - self.host_monotonic_ref_s)

    def to_json_bytes(self) -> bytes:
        """The header as UTF-8 JSON (the on-disk form)."""
        started = self.host_started_at_utc
        if started.tzinfo is None:
            raise SpoolError("host_started_at_utc must be timezone-aware (UTC)")
        doc = {
            "format_version": self.format_version,
            "session_id": self.session_id,
            "profile": self.profile,
            "side": self.side,
            "device_address": self.device_address,
            "device_name": self.device_name,
            "streams": {k: dict(v) for k, v in self.streams.items()},
            "host_started_at_utc": started.astimezone(UTC).isoformat(),
            "host_monotonic_ref_s": float(self.host_monotonic_ref_s),
            "sensor_time_ref_s": None if self.sensor_time_ref_s is None else float(self.sensor_time_ref_s),
            "extra": dict(self.extra),
        }
        try:
            return json.dumps(doc, sort_keys=True, allow_nan=False).encode("utf-8")
        except (TypeError, ValueError) as e:
            raise SpoolError(f"spool header is not JSON-serialisable: {e}") from e

    @classmethod
    def from_json_bytes(cls, data: bytes) -> SpoolHeader:
        """Parse the on-disk header; raises :class:`SpoolError` on anything malformed."""
        try:
            doc = json.loads(data.decode("utf-8"))
            sensor_ref = doc.get("sensor_time_ref_s")
            return cls(
                format_version=int(doc["format_version"]),
                session_id=str(doc["session_id"]),
                profile=str(doc["profile"]),
                side=doc.get("side"),
                device_address=doc.get("device_address"),
                device_name=doc.get("device_name"),
                streams={str(k): dict(v) for k, v in dict(doc.get("streams") or {}).items()},
                host_started_at_utc=datetime.fromisoformat(doc["host_started_at_utc"]),
                host_monotonic_ref_s=float(doc["host_monotonic_ref_s"]),
                sensor_time_ref_s=None if sensor_ref is None else float(sensor_ref),
                extra=dict(doc.get("extra") or {}),
            )
        except (
            UnicodeDecodeError,
            json.JSONDecodeError,
            KeyError,
            TypeError,
            ValueError,
            AttributeError,
        ) as e:
            raise SpoolError(f"spool header is malformed: {e}") from e


@dataclass(frozen=True, slots=True, kw_only=True)
class SpoolChunk:
    """One raw notification as received: stream name, host receive time (monotonic s), bytes.

    ``seq`` is the chunk's position among all chunks of the file (data and events interleaved), so the
    order of notifications and link events is known exactly, whatever the host clock did.
    """

    stream: str
    host_time_s: float
    payload: bytes
    seq: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class SpoolEvent:
    """A link-state event; ``details`` holds whatever the recorder added (reason, attempt, ...)."""

    kind: str
    host_time_s: float
    details: Mapping[str, Any] = field(default_factory=dict)
    seq: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class Spool:
    """A spool as read from disk.

    ``finished`` is True when the END chunk is present (the writer closed it). ``truncated_tail`` is True
    when bytes after the last valid chunk could not be read (torn write or corruption); ``valid_bytes`` is
    the length of the readable prefix and ``tail_bytes`` the number of bytes ignored after it.
    """

    path: Path
    header: SpoolHeader
    chunks: tuple[SpoolChunk, ...]
    events: tuple[SpoolEvent, ...]
    finished: bool
    truncated_tail: bool
    valid_bytes: int
    tail_bytes: int = 0
    end_host_time_s: float | None = None

    @property
    def streams(self) -> tuple[str, ...]:
        """The stream names present in the data chunks, in order of first appearance."""
        return tuple(dict.fromkeys(c.stream for c in self.chunks))


def _chunk_bytes(ctype: ChunkType, body: bytes) -> bytes:
    if len(body) > MAX_CHUNK_PAYLOAD:
        raise SpoolError(f"chunk payload of {len(body)} bytes exceeds {MAX_CHUNK_PAYLOAD}")
    length_type = struct.pack("<IB", len(body), int(ctype))
    crc = zlib.crc32(body, zlib.crc32(length_type))
    return _CHUNK_HEAD.pack(len(body), int(ctype), crc) + body


def _safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9-]+", "-", text).strip("-") or "x"


def new_spool_path(spool_dir: Path, header: SpoolHeader) -> Path:
    """A unique file name for a new spool: ``<UTC start>_<profile>_<device>_<session8>.spool``."""
    stamp = header.host_started_at_utc.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    device = _safe_name(header.device_address or header.device_name or "unknown")
    return Path(spool_dir) / f"{stamp}_{_safe_name(header.profile)}_{device}_{header.session_id[:8]}.spool"


class SpoolWriter:
    """Appends raw notifications to a new spool file; use as a context manager.

    >>> with SpoolWriter.open(path, header) as w:          # doctest: +SKIP
    ...     w.append("acc", notification_bytes, time.monotonic())

    The file appears under ``path`` only once magic and header are on disk (written under a hidden
    temporary name, then hard-linked, never renamed over an existing file), already locked. Every
    ``append`` is one ``write()`` to the OS; a background thread ``fsync``s within ``fsync_interval_s``
    of the first unsynced write, and ``close`` syncs, appends the END chunk and syncs again.
    ``append``, ``event`` and ``close`` may be called from any thread: an internal lock serialises writes.
    """

    def __init__(
        self, path: Path, header: SpoolHeader, *, fd: int, fsync_interval_s: float, header_bytes: int
    ) -> None:
        self.path = path
        self._header_bytes = header_bytes
        self._torn = False
        self.header = header
        self._fd: int | None = fd
        self._lock = threading.Lock()  # guards the descriptor, counters and the dirty flag
        self._sync_lock = threading.Lock()  # taken before _lock, never the other way round
        self._dirty = False
        self._last_sync = time.monotonic()
        self._n_chunks = 0
        self._n_bytes = 0
        self._fsync_interval_s = fsync_interval_s
        self._stop = threading.Event()
        self._syncer = threading.Thread(target=self._sync_loop, name=f"spool-fsync-{path.name}", daemon=True)
        self._syncer.start()

    @classmethod
    def open(cls, path: Path | str, header: SpoolHeader, *, fsync_interval_s: float = 0.5) -> SpoolWriter:
        """Create ``path`` (must not exist), write magic and header, lock it, and return the writer.

        ``fsync_interval_s`` bounds how long appended data may sit unsynced (at most 1 s).
        """
        if not 0 < fsync_interval_s <= 1.0:
            raise ValueError(f"fsync_interval_s must be in (0, 1], got {fsync_interval_s}")
        path = Path(path)
        if header.format_version != FORMAT_VERSION:
            raise SpoolError(f"this hipsync writes spool format version {FORMAT_VERSION} only", path=path)
        if path.exists():
            raise SpoolError(f"spool {path} already exists; a spool is never rewritten", path=path)
        header_json = header.to_json_bytes()
        preamble = MAGIC + _PREAMBLE.pack(header.format_version, 0, len(header_json), zlib.crc32(header_json))
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o644)
        try:
            # The lock belongs to the inode, so it covers the final name too once linked.
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            _write_all(fd, preamble + header_json)
            os.fsync(fd)
            try:
                os.link(tmp, path)  # fails if path exists: never replaces another spool
            except FileExistsError as e:
                raise SpoolError(f"spool {path} already exists; a spool is never rewritten", path=path) from e
            except OSError as e:
                if e.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK):
                    raise
                # No hard links on this file system (FAT, some FUSE mounts): a checked rename instead,
                # which leaves only a microsecond window for another writer to take the same name.
                if path.exists():
                    raise SpoolError(
                        f"spool {path} already exists; a spool is never rewritten", path=path
                    ) from e
                os.rename(tmp, path)
            finally:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp)
            _fsync_dir(path.parent)
        except BaseException:
            os.close(fd)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        logger.info("spool opened: %s (profile %s, session %s)", path, header.profile, header.session_id)
        return cls(
            path,
            header,
            fd=fd,
            fsync_interval_s=fsync_interval_s,
            header_bytes=len(preamble) + len(header_json),
        )

    # -- context manager ---------------------------------------------------------------------------
    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        # Close (END chunk) even on error: the data written so far is complete and the writer is gone.
        self.close()

    # -- writing -----------------------------------------------------------------------------------
    @property
    def closed(self) -> bool:
        return self._fd is None

    @property
    def n_chunks(self) -> int:
        """Data and event chunks appended so far."""
        return self._n_chunks

    @property
    def bytes_written(self) -> int:
        """Bytes appended after the header so far."""
        return self._n_bytes

    def append(self, stream: str, payload: bytes, host_time_s: float) -> None:
        """Store one raw notification of ``stream`` received at ``host_time_s`` (host monotonic s)."""
        name = stream.encode("utf-8")
        if not 0 < len(name) < 256:
            raise ValueError(f"stream name must be 1-255 UTF-8 bytes, got {stream!r}")
        body = _TIME.pack(float(host_time_s)) + bytes((len(name),)) + name + bytes(payload)
        self._write_chunk(ChunkType.DATA, body)

    def event(self, kind: SpoolEventKind | str, host_time_s: float, **details: Any) -> None:
        """Record a link-state event (``connected``, ``lost``, ``reconnected``, ...) with JSON details."""
        doc = {"kind": str(kind), **details}
        try:
            body = _TIME.pack(float(host_time_s)) + json.dumps(doc, allow_nan=False).encode("utf-8")
        except (TypeError, ValueError) as e:
            raise ValueError(f"event details are not JSON-serialisable: {e}") from e
        self._write_chunk(ChunkType.EVENT, body)

    def _write_chunk(self, ctype: ChunkType, body: bytes) -> None:
        data = _chunk_bytes(ctype, body)
        with self._lock:
            if self._fd is None:
                raise SpoolError(f"spool {self.path} is closed", path=self.path)
            if self._torn:
                raise SpoolError(
                    f"spool {self.path} has a torn tail after a failed write; nothing more can be appended",
                    path=self.path,
                )
            try:
                _write_all(self._fd, data)
            except OSError:
                # A partial chunk (disk full, I/O error) would hide every later chunk from the reader:
                # cut the file back to its last whole chunk, or refuse further appends if that fails.
                try:
                    os.ftruncate(self._fd, self._header_bytes + self._n_bytes)
                except OSError:
                    self._torn = True
                raise
            self._n_bytes += len(data)
            if ctype != ChunkType.END:
                self._n_chunks += 1
            self._dirty = True

    def sync(self) -> None:
        """Flush to stable storage now (``fsync``)."""
        # fsync runs outside the append lock, so appends on the event loop never wait for the disk;
        # the sync lock keeps close() from closing the descriptor under a running fsync.
        with self._sync_lock:
            with self._lock:
                fd = self._fd
                if fd is None or not self._dirty:
                    return
                self._dirty = False
            try:
                os.fsync(fd)
            except BaseException:
                with self._lock:
                    self._dirty = True
                raise
            self._last_sync = time.monotonic()

    def _sync_loop(self) -> None:
        # A timer rather than syncing inside append: fsync can block for tens of ms and append runs on
        # the BLE event loop; and data must reach the disk even when notifications stop (link lost).
        tick = self._fsync_interval_s / 2
        while not self._stop.wait(tick):
            try:
                if self._dirty and time.monotonic() - self._last_sync >= tick:
                    self.sync()
            except OSError:
                logger.exception("fsync of spool %s failed", self.path)

    def close(self, host_time_s: float | None = None) -> None:
        """Sync, append the END chunk (marks the spool finished), sync, unlock. Idempotent."""
        if self._fd is None:
            return
        self._stop.set()
        if self._syncer is not threading.current_thread():
            self._syncer.join()
        t = time.monotonic() if host_time_s is None else host_time_s
        try:
            self._write_chunk(ChunkType.END, _END_BODY.pack(float(t), self._n_chunks))
            self.sync()
        finally:
            with self._sync_lock:
                with self._lock:
                    fd, self._fd = self._fd, None
                if fd is not None:
                    os.close(fd)  # releases the flock
        logger.info("spool closed: %s (%d chunks, %d bytes)", self.path, self._n_chunks, self._n_bytes)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def _fsync_dir(directory: Path) -> None:
    # Makes the new directory entry durable; not supported everywhere (then the file fsync must do).
    try:
        dfd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dfd)
    except OSError:
        pass
    finally:
        os.close(dfd)


# -- reading ----------------------------------------------------------------------------------------


def _read_header(data: bytes | memoryview, path: Path) -> tuple[SpoolHeader, int]:
    if len(data) < len(MAGIC) or bytes(data[: len(MAGIC)]) != MAGIC:
        raise SpoolError(f"{path} is not a hipsync spool (bad magic bytes)", path=path)
    pos = len(MAGIC)
    if len(data) < pos + _PREAMBLE.size:
        raise SpoolError(f"{path}: spool header is truncated ({len(data)} bytes)", path=path)
    version, _flags, hlen, hcrc = _PREAMBLE.unpack_from(data, pos)
    if version != FORMAT_VERSION:
        raise SpoolError(
            f"{path}: spool format version {version} is not supported (this hipsync reads version "
            f"{FORMAT_VERSION})",
            path=path,
            offset=len(MAGIC),
        )
    pos += _PREAMBLE.size
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
    head = _CHUNK_HEAD.size
    while pos + head <= n:
        length, ctype, crc = _CHUNK_HEAD.unpack_from(data, pos)
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
        if len(body) < _TIME.size:
            logger.warning("%s: chunk at %d too short for its timestamp; skipped", path, after)
            continue
        (t,) = _TIME.unpack_from(body, 0)
        if ctype == ChunkType.DATA:
            if len(body) < _TIME.size + 1 or len(body) < _TIME.size + 1 + body[_TIME.size]:
                logger.warning("%s: data chunk ending at %d is malformed; skipped", path, after)
                continue
            nlen = body[_TIME.size]
            name_end = _TIME.size + 1 + nlen
            stream = bytes(body[_TIME.size + 1 : name_end]).decode("utf-8", errors="replace")
            chunks.append(SpoolChunk(stream=stream, host_time_s=t, payload=bytes(body[name_end:]), seq=seq))
        elif ctype == ChunkType.EVENT:
            try:
                doc = json.loads(bytes(body[_TIME.size :]).decode("utf-8"))
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
            start = f.read(len(MAGIC) + _PREAMBLE.size)
            if len(start) == len(MAGIC) + _PREAMBLE.size and start[: len(MAGIC)] == MAGIC:
                hlen = _PREAMBLE.unpack_from(start, len(MAGIC))[2]
                start += f.read(min(hlen, MAX_HEADER_BYTES))
    except OSError as e:
        raise SpoolError(f"cannot read spool {path}: {e}", path=path) from e
    return _read_header(start, path)[0]


def is_finished(path: Path | str) -> bool:
    """True when the spool ends with a valid END chunk (reads only the last bytes)."""
    size_end = _CHUNK_HEAD.size + _END_BODY.size
    try:
        with Path(path).open("rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            if size < len(MAGIC) + _PREAMBLE.size + size_end:
                return False
            f.seek(size - size_end)
            tail = f.read(size_end)
    except OSError:
        return False
    length, ctype, crc = _CHUNK_HEAD.unpack_from(tail, 0)
    if length != _END_BODY.size or ctype != ChunkType.END:
        return False
    return bool(zlib.crc32(tail[_CHUNK_HEAD.size :], zlib.crc32(tail[:5])) == crc)


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


# -- decoding -----------------------------------------------------------------------------------------

#: Streams kept in the spool for the record but not decoded as samples (control-point traffic).
CONTROL_STREAMS = frozenset({"cp", "control", "control_point", "pmd_cp", "command", "cmd"})
#: Link events after which a stream's timing state restarts (the sensor may have re-sent or skipped data).
_RESET_EVENTS = frozenset(
    {
        SpoolEventKind.CONNECTED,
        SpoolEventKind.LOST,
        SpoolEventKind.RECONNECTED,
        SpoolEventKind.STREAM_STARTED,
        SpoolEventKind.STREAM_STOPPED,
        SpoolEventKind.STALLED,
    }
)
#: A step in sample times larger than this many nominal periods is reported as a gap.
GAP_PERIODS = 3.0
#: WitMotion packets carry no time: a new timing segment starts when notifications arrive this much later
#: (s) than the samples they hold could account for (lost notifications or a link drop).
WITMOTION_GAP_TOLERANCE_S = 0.5

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True, kw_only=True)
class DecodedSpool:
    """A spool decoded to samples, with what was dropped on the way.

    Attributes:
        recording: the analysis input; ``time_s`` = seconds from the first ACC sample, gyro (when present)
            interpolated onto the ACC times, ``started_at`` = UTC of the first ACC sample.
        acc: the ACC samples on the sensor clock (s), after duplicate removal; ``gyro`` likewise or None.
        fs_hz: nominal ACC rate from the header (None if the header does not say).
        malformed_chunks: notifications that failed to decode (counted and skipped).
        duplicate_frames: whole PMD frames received twice (same type and timestamp), dropped.
        duplicate_samples: samples dropped because their sensor time was already covered.
        ignored_chunks: chunks of control streams (``CONTROL_STREAMS``), not samples.
        gaps: ``(start_s, end_s)`` on ``recording.time_s`` where ACC times step by more than
            ``GAP_PERIODS`` nominal periods.
        expected_samples: samples the sensor clock implies over the recording at ``fs_hz``.
    """

    recording: Recording
    acc: SampleBlock
    gyro: SampleBlock | None
    fs_hz: float | None
    malformed_chunks: int
    duplicate_frames: int
    duplicate_samples: int
    ignored_chunks: int
    gaps: tuple[tuple[float, float], ...]
    expected_samples: int


def _stream_rate_hz(header: SpoolHeader, names: tuple[str, ...], default: float | None) -> float | None:
    for name in names:
        settings = header.streams.get(name)
        if not settings:
            continue
        for key in ("fs_hz", "sample_rate_hz", "rate_hz"):
            value = settings.get(key)
            if isinstance(value, int | float) and value > 0:
                return float(value)
    return default


def _stream_factor(header: SpoolHeader, name: str) -> float | None:
    value = (header.streams.get(name) or {}).get("factor")
    return float(value) if isinstance(value, int | float) else None


#: A PMD frame's identity for duplicate detection: (measurement type, frame-type byte, timestamp ns).
_FrameKey = tuple[int, int, int]


@dataclass(frozen=True, slots=True)
class _Notifications:
    """Decoded notifications of one kind, in arrival order, their samples concatenated.

    ``sizes`` (F,) is the number of samples of each notification (all >= 1), ``host_time_s`` (F,) its
    receive time (NaN for WitMotion, whose notifications are re-timed as a whole segment).
    """

    block: SampleBlock
    sizes: IntArray
    host_time_s: FloatArray


def _log_malformed(path: Path, chunk: SpoolChunk, error: ValueError) -> None:
    # FrameError is the expected case; any other ValueError from a codec on hostile bytes is treated the
    # same way: one bad notification must never cost the rest of the session.
    logger.debug("%s: malformed %s notification (seq %d): %s", path, chunk.stream, chunk.seq, error)


def _frame_key(payload: bytes) -> _FrameKey:
    """(measurement type, frame-type byte, timestamp ns) of a PMD frame, as :class:`PmdFrameHeader` reads
    them, without building one (this runs once per notification).

    Raises:
        FrameError: as ``PmdFrameHeader.from_bytes``: shorter than the header, or a timestamp >= 2**63.
    """
    if len(payload) < FRAME_HEADER_BYTES or payload[8] & 0x80:
        PmdFrameHeader.from_bytes(payload)  # raises the codec's own error
    # Byte 0: measurement type in the low 6 bits; bytes 1-8: u64 LE timestamp; byte 9: frame-type byte.
    return payload[0] & 0x3F, payload[9], int.from_bytes(payload[1:9], "little")


class _PolarDecoder:
    """PMD frames of any stream name, dispatched on the measurement-type byte and decoded in batches.

    Frames are queued per measurement type until the next link event, which restarts the codec's timing
    state anyway, and each such segment is decoded by one ``PmdStreamDecoder.decode_many`` call (one
    vectorised pass instead of one per frame). The result is frame for frame that of decoding each
    notification in arrival order: a whole frame seen before (same type, frame type and timestamp, in this
    segment or an earlier one) is dropped undecoded; a malformed frame is counted and leaves no trace (so a
    later copy of it is not a duplicate); a frame with non-finite values is counted as malformed after
    decoding (its key counts as seen and it still times the next frame, as the codec's state saw it).
    """

    _KINDS: ClassVar[dict[int, str]] = {2: "acc", 5: "gyro"}

    def __init__(self, header: SpoolHeader, profile: SensorProfile, path: Path) -> None:
        self._header = header
        self._profile = profile
        self._path = path
        self._decoders: dict[int, PmdStreamDecoder] = {}
        self._seen: set[_FrameKey] = set()
        self._queued: dict[int, list[tuple[SpoolChunk, _FrameKey]]] = {}
        self.parts: dict[str, list[_Notifications]] = {"acc": [], "gyro": []}
        self.malformed = 0
        self.duplicate_frames = 0

    def add(self, chunk: SpoolChunk) -> None:
        """Queue a notification for its type's batch; one whose header is unusable counts as malformed."""
        try:
            key = _frame_key(chunk.payload)
            mt = key[0]
            kind = self._KINDS.get(mt)
            if kind is None:
                raise FrameError(
                    f"PMD measurement type {mt} is not ACC or GYRO", offset=0, data_len=len(chunk.payload)
                )
            if mt not in self._decoders:
                self._decoders[mt] = self._new_decoder(mt, kind)
        except ValueError as e:
            self._malformed(chunk, e)
            return
        self._queued.setdefault(mt, []).append((chunk, key))

    def reset(self) -> None:
        """A link event: decode the segment queued so far."""
        for mt, items in self._queued.items():
            self._decode_segment(self._decoders[mt], items)
        self._queued.clear()

    def finish(self) -> dict[str, list[_Notifications]]:
        """Decode what is still queued; the notifications of each kind in arrival order."""
        self.reset()
        return self.parts

    def _new_decoder(self, measurement_type: int, kind: str) -> PmdStreamDecoder:
        default = self._profile.default_acc_rate_hz if kind == "acc" else self._profile.default_gyro_rate_hz
        rate = _stream_rate_hz(self._header, (kind,), default)
        if rate is None:
            raise FrameError(f"no {kind} sample rate in the spool header", offset=0)
        return PmdStreamDecoder(
            measurement_type, sample_rate_hz=rate, factor=_stream_factor(self._header, kind)
        )

    def _malformed(self, chunk: SpoolChunk, error: ValueError) -> None:
        self.malformed += 1
        _log_malformed(self._path, chunk, error)

    def _select(self, items: list[tuple[SpoolChunk, _FrameKey]], bad: set[int]) -> list[int]:
        """Indices of the frames to decode: all but copies of one seen before that is not in ``bad``."""
        take: list[int] = []
        taken: set[_FrameKey] = set()
        for i, (_, key) in enumerate(items):
            if key in self._seen or key in taken:
                continue
            take.append(i)
            if i not in bad:
                taken.add(key)
        return take

    def _decode_segment(self, dec: PmdStreamDecoder, items: list[tuple[SpoolChunk, _FrameKey]]) -> None:
        # Whether a frame is a duplicate depends on whether its first copy decoded, which is only known
        # after decoding; whether a frame is malformed does not depend on the decoder's state. So: assume
        # every frame decodes, and decode again in the rare case that a malformed frame hid its own copy.
        bad: set[int] = set()
        take = self._select(items, bad)
        while True:
            dec.reset()
            try:
                batch = dec.decode_many([items[i][0].payload for i in take])
            except ValueError:
                # Malformed frames are skipped and listed; anything else the codec raises refuses the
                # whole batch. Frame by frame then, so that only the frames that fail are lost.
                self._decode_one_by_one(dec, items)
                return
            new_bad = {take[j] for j, _ in batch.rejected} - bad
            if not new_bad:
                break
            bad |= new_bad
            again = self._select(items, bad)
            if again == take:
                break
            take = again
        self.duplicate_frames += len(items) - len(take)
        for j, e in batch.rejected:
            self._malformed(items[take[j]][0], e)
        decoded = [take[j] for j in batch.frame_index.tolist()]
        self._seen.update(items[i][1] for i in decoded)
        host_time_s = np.array([items[i][0].host_time_s for i in decoded], dtype=np.float64)
        self._keep(batch.block, batch.frame_sizes, host_time_s)

    def _decode_one_by_one(self, dec: PmdStreamDecoder, items: list[tuple[SpoolChunk, _FrameKey]]) -> None:
        """The segment through ``PmdStreamDecoder.decode``, one notification at a time."""
        dec.reset()
        blocks: list[SampleBlock] = []
        host_time_s: list[float] = []
        for chunk, key in items:
            if key in self._seen:
                self.duplicate_frames += 1
                continue
            try:
                frame = dec.decode(chunk.payload)
            except ValueError as e:
                self._malformed(chunk, e)
                continue
            self._seen.add(key)
            blocks.append(frame.block)
            host_time_s.append(chunk.host_time_s)
        if blocks:
            sizes = np.array([b.n_samples for b in blocks], dtype=np.int64)
            self._keep(concat_blocks(blocks), sizes, np.array(host_time_s, dtype=np.float64))

    def _keep(self, block: SampleBlock, sizes: IntArray, host_time_s: FloatArray) -> None:
        """Add decoded frames to ``parts``, less those with non-finite values (counted as malformed)."""
        if not sizes.size:
            return
        bad_row = ~(np.isfinite(block.values).all(axis=1) & np.isfinite(block.sensor_time_s))
        finite = ~np.logical_or.reduceat(bad_row, np.cumsum(sizes) - sizes)
        if not finite.all():
            # A float32 GYRO frame can carry NaN/inf bit patterns when corrupt: drop the notification.
            self.malformed += int(np.count_nonzero(~finite))
            rows = np.repeat(finite, sizes)
            block = SampleBlock(
                kind=block.kind, sensor_time_s=block.sensor_time_s[rows], values=block.values[rows]
            )
            sizes, host_time_s = sizes[finite], host_time_s[finite]
            if not sizes.size:
                return
        self.parts[block.kind].append(_Notifications(block=block, sizes=sizes, host_time_s=host_time_s))


class _WitMotionDecoder:
    """WitMotion packets carry no time: decode now, time them afterwards from host receive times."""

    def __init__(self, header: SpoolHeader, profile: SensorProfile, path: Path) -> None:
        self.fs_hz = _stream_rate_hz(header, ("imu", "acc", "data"), profile.default_acc_rate_hz)
        self.batches: list[tuple[float, int, WitMotionBatch]] = []  # (receive time, segment, batch)
        self.malformed = 0
        self.duplicate_frames = 0  # WitMotion packets have no identity: never counted
        self._segment = 0
        self._path = path

    def reset(self) -> None:
        self._segment += 1

    def add(self, chunk: SpoolChunk) -> None:
        try:
            batch = decode_witmotion(chunk.payload)
        except ValueError as e:
            self.malformed += 1
            _log_malformed(self._path, chunk, e)
            return
        if batch.n_samples:
            self.batches.append((chunk.host_time_s, self._segment, batch))

    def finish(self) -> dict[str, list[_Notifications]]:
        """The samples of each kind, one entry per timing segment (see :meth:`blocks`)."""
        parts: dict[str, list[_Notifications]] = {"acc": [], "gyro": []}
        for b in self.blocks():
            one = np.array([b.n_samples], dtype=np.int64)
            parts[b.kind].append(_Notifications(block=b, sizes=one, host_time_s=np.full(1, np.nan)))
        return parts

    def blocks(self) -> list[SampleBlock]:
        """ACC and GYRO blocks on a host-time axis reconstructed per continuous segment.

        Within a segment, sample k is at ``a + k x period``. ``a`` is the lower envelope of (receive time
        of a notification - offset of its last sample): latency is never negative, so the least delayed
        notification pins the clock. ``period`` is the nominal one, or for segments over 20 s the
        least-squares slope of receive time over sample index when within 5 % of nominal (the sensor's
        crystal, not the nominal rate, sets the spacing). A segment ends at a link event, or where
        notifications start arriving more than ``WITMOTION_GAP_TOLERANCE_S`` later than the samples
        received so far account for, and stay late (a gap); a single late notification is latency, not
        a gap. Segments never overlap (a later one starts at least one period after the previous one).
        """
        if not self.batches or self.fs_hz is None:
            return []
        nominal = 1.0 / self.fs_hz
        recv = np.array([r for r, _, _ in self.batches], dtype=np.float64)
        seg_id = np.array([s for _, s, _ in self.batches], dtype=np.int64)
        counts = np.array([b.n_samples for _, _, b in self.batches], dtype=np.int64)
        starts = _witmotion_segment_starts(recv, seg_id, counts, nominal)
        out: list[SampleBlock] = []
        prev_last = -np.inf
        for a, b in zip(starts, [*starts[1:], len(self.batches)], strict=True):
            n_seg = counts[a:b]
            k_last = np.cumsum(n_seg) - 1
            r = recv[a:b]
            period = nominal
            if r[-1] - r[0] > 20.0 and k_last[-1] > 0:
                slope = float(np.polyfit(k_last.astype(np.float64), r, 1)[0])
                if abs(slope / nominal - 1.0) < 0.05:
                    period = slope
            anchor = max(float(np.min(r - k_last * period)), prev_last + nominal)
            t = anchor + np.arange(int(n_seg.sum()), dtype=np.float64) * period
            prev_last = float(t[-1])
            seg = self.batches[a:b]
            acc = np.concatenate([x.accel_g for _, _, x in seg])
            gyro = np.concatenate([x.gyro_dps for _, _, x in seg])
            out.append(SampleBlock(kind="acc", sensor_time_s=t, values=acc))
            out.append(SampleBlock(kind="gyro", sensor_time_s=t.copy(), values=gyro))
        return out


def _witmotion_segment_starts(
    recv: FloatArray, seg_id: npt.NDArray[np.int64], counts: npt.NDArray[np.int64], period: float
) -> list[int]:
    """Indices of notifications that start a continuous segment (see ``_WitMotionDecoder.blocks``)."""
    window = 50  # notifications that set the local baseline (tracks clock drift)
    look = 3  # notifications that must all be late for a gap (a lone late one is latency)
    starts = [0]
    k_last = np.cumsum(counts) - 1
    d = recv - k_last * period  # constant + latency within a gap-free stretch
    for j in range(1, recv.shape[0]):
        if seg_id[j] != seg_id[j - 1]:
            starts.append(j)
            continue
        lo = max(starts[-1], j - window)
        base = float(np.min(d[lo:j]))
        if float(np.min(d[j : j + look])) - base > WITMOTION_GAP_TOLERANCE_S:
            starts.append(j)
    return starts


def _dedupe(parts: list[_Notifications], fs_hz: float | None) -> tuple[SampleBlock | None, int]:
    """Keep, in arrival order, only samples later (by half a period) than the last sample kept from the
    notifications before; return the kept samples (None if none) and the number dropped.

    The samples of one notification are compared with those before it, not with each other.
    """
    if not parts:
        return None, 0
    block = parts[0].block if len(parts) == 1 else concat_blocks([p.block for p in parts])
    sizes = parts[0].sizes if len(parts) == 1 else np.concatenate([p.sizes for p in parts])
    t = block.sensor_time_s
    tol = 0.5 / fs_hz if fs_hz else 0.0
    ends = np.cumsum(sizes)
    starts = ends - sizes
    # The floor of each notification depends on what the ones before kept: one scalar step per
    # notification, the per-sample comparison vectorised afterwards.
    floors: list[float] = []
    last = -np.inf
    for j, (end_t, max_t) in enumerate(
        zip(t[ends - 1].tolist(), np.maximum.reduceat(t, starts).tolist(), strict=True)
    ):
        floor = last + tol
        floors.append(floor)
        if end_t > floor:
            last = end_t
        elif max_t > floor:
            # Times not increasing within the notification: its last kept sample is an earlier one.
            own = t[starts[j] : ends[j]]
            last = float(own[own > floor][-1])
    keep = t > np.repeat(np.array(floors, dtype=np.float64), sizes)
    dropped = int(keep.size - np.count_nonzero(keep))
    if not dropped:
        return block, 0
    if dropped == keep.size:
        return None, dropped
    return SampleBlock(kind=block.kind, sensor_time_s=t[keep], values=block.values[keep]), dropped


def _gaps(time_s: FloatArray, fs_hz: float | None) -> tuple[tuple[float, float], ...]:
    if fs_hz is None or time_s.size < 2:
        return ()
    idx = np.flatnonzero(np.diff(time_s) > GAP_PERIODS / fs_hz)
    return tuple((float(time_s[i]), float(time_s[i + 1])) for i in idx)


def _least_receive_offset_s(parts: list[_Notifications], *, n_first: int) -> float:
    """Smallest (host receive time - sensor time of the last sample) over the first ``n_first``
    notifications (0.0 without any): the least delayed one bounds the host-minus-sensor clock offset."""
    offsets: list[FloatArray] = []
    n = 0
    for p in parts:
        offsets.append(p.host_time_s - p.block.sensor_time_s[np.cumsum(p.sizes) - 1])
        n += p.sizes.shape[0]
        if n >= n_first:
            break
    return float(np.min(np.concatenate(offsets)[:n_first])) if offsets else 0.0


def decode_spool(spool: Spool) -> DecodedSpool:
    """Decode a spool's raw notifications into samples (see :class:`DecodedSpool`).

    Malformed notifications are counted and skipped; duplicate samples (a sensor time already covered,
    e.g. a frame re-sent after a reconnect) are dropped; link events restart per-stream timing so a gap
    stays a gap. ``started_at`` comes from the header's clock references: the sensor clock reference when
    known, otherwise the smallest observed (host receive time - sensor time of the frame's last sample).
    PMD frames are decoded in one vectorised batch per stream and segment between link events, with the
    same result as decoding them one by one in arrival order.

    Raises:
        SpoolError: the profile in the header is unknown.
    """
    # Imported here: ``processing`` pulls in SciPy, which the recorder's writing path does not need.
    from hipsync.records import Recording, Side

    header = spool.header
    try:
        profile = get_profile(header.profile)
    except UnknownProfileError as e:
        raise SpoolError(f"{spool.path}: {e.message}", path=spool.path) from e
    decoder: _PolarDecoder | _WitMotionDecoder
    decoder = (
        _PolarDecoder(header, profile, spool.path)
        if profile.protocol == "polar-pmd"
        else _WitMotionDecoder(header, profile, spool.path)
    )
    resets = sorted(e.seq for e in spool.events if e.kind in _RESET_EVENTS)
    next_reset = 0
    ignored = 0
    for chunk in spool.chunks:
        while next_reset < len(resets) and resets[next_reset] < chunk.seq:
            decoder.reset()
            next_reset += 1
        if chunk.stream in CONTROL_STREAMS:
            ignored += 1
            continue
        decoder.add(chunk)
    parts = decoder.finish()
    malformed, dup_frames = decoder.malformed, decoder.duplicate_frames
    # The rate the decoders timed samples with: the header's, else the profile's default.
    fs_hz = _stream_rate_hz(header, ("acc", "imu", "data"), profile.default_acc_rate_hz)
    gyro_fs = _stream_rate_hz(header, ("gyro", "imu", "data"), profile.default_gyro_rate_hz)
    kept_acc, dup_acc = _dedupe(parts["acc"], fs_hz)
    gyro, dup_gyro = _dedupe(parts["gyro"], gyro_fs)
    acc = kept_acc if kept_acc is not None else SampleBlock.empty("acc")
    if malformed:
        logger.warning("%s: %d malformed notifications skipped", spool.path, malformed)
    if dup_frames or dup_acc or dup_gyro:
        logger.info(
            "%s: dropped %d duplicate frames and %d duplicate samples",
            spool.path,
            dup_frames,
            dup_acc + dup_gyro,
        )

    t_sensor = acc.sensor_time_s
    t0 = float(t_sensor[0]) if t_sensor.size else 0.0
    time_s = t_sensor - t0
    gyro_dps: FloatArray | None = None
    if gyro is not None and gyro.n_samples and t_sensor.size:
        gt = gyro.sensor_time_s
        gyro_dps = np.column_stack([np.interp(t_sensor, gt, gyro.values[:, i]) for i in range(3)])
    if header.sensor_time_ref_s is not None and profile.protocol != "witmotion":
        host_offset = header.host_monotonic_ref_s - header.sensor_time_ref_s
    elif isinstance(decoder, _WitMotionDecoder):
        host_offset = 0.0  # the time axis is the host clock itself
    else:
        # Only the first frames: over an hour, sensor and host clocks drift apart by up to ~0.2 s, and
        # the first sample's instant is what started_at must get right.
        host_offset = _least_receive_offset_s(parts["acc"], n_first=50)
    started_at = header.host_time_to_utc(t0 + host_offset) if t_sensor.size else header.host_started_at_utc
    side = Side(header.side) if header.side in {s.value for s in Side} else None
    recording = Recording(
        time_s=np.ascontiguousarray(time_s),
        accel_g=np.ascontiguousarray(acc.values),
        gyro_dps=gyro_dps,
        fs_hz=fs_hz,
        side=side,
        profile=header.profile,
        started_at=started_at,
    )
    expected = round(float(time_s[-1]) * fs_hz) + 1 if fs_hz and time_s.size else int(time_s.size)
    return DecodedSpool(
        recording=recording,
        acc=acc,
        gyro=gyro,
        fs_hz=fs_hz,
        malformed_chunks=malformed,
        duplicate_frames=dup_frames,
        duplicate_samples=dup_acc + dup_gyro,
        ignored_chunks=ignored,
        gaps=_gaps(time_s, fs_hz),
        expected_samples=expected,
    )


def spool_to_recording(spool: Spool) -> Recording:
    """The spool as an analysis input (see :func:`decode_spool`)."""
    return decode_spool(spool).recording


def spool_gaps(spool: Spool) -> tuple[tuple[float, float], ...]:
    """Gaps ``(start_s, end_s)`` on the recording's time axis (see :class:`DecodedSpool`)."""
    return decode_spool(spool).gaps
