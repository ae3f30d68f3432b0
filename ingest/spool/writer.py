"""Writing spools, crash-safe: every raw BLE notification of one sensor session, append-only.

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
import errno
import fcntl
import json
import logging
import os
import re
import threading
import time
import uuid
import zlib
from datetime import UTC
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from ingest.errors import SpoolError
from ingest.spool.format import (
    END_BODY,
    FORMAT_VERSION,
    MAGIC,
    PREAMBLE,
    TIME_FIELD,
    ChunkType,
    SpoolEventKind,
    SpoolHeader,
    chunk_bytes,
)

logger = logging.getLogger(__name__)


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
        preamble = MAGIC + PREAMBLE.pack(header.format_version, 0, len(header_json), zlib.crc32(header_json))
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
        body = TIME_FIELD.pack(float(host_time_s)) + bytes((len(name),)) + name + bytes(payload)
        self._write_chunk(ChunkType.DATA, body)

    def event(self, kind: SpoolEventKind | str, host_time_s: float, **details: Any) -> None:
        """Record a link-state event (``connected``, ``lost``, ``reconnected``, ...) with JSON details."""
        doc = {"kind": str(kind), **details}
        try:
            body = TIME_FIELD.pack(float(host_time_s)) + json.dumps(doc, allow_nan=False).encode("utf-8")
        except (TypeError, ValueError) as e:
            raise ValueError(f"event details are not JSON-serialisable: {e}") from e
        self._write_chunk(ChunkType.EVENT, body)

    def _write_chunk(self, ctype: ChunkType, body: bytes) -> None:
        data = chunk_bytes(ctype, body)
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
            self._write_chunk(ChunkType.END, END_BODY.pack(float(t), self._n_chunks))
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
