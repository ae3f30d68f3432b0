"""The spool file format: one sensor session's raw BLE notifications, as append-only CRC-checked chunks.

Layout (documented byte by byte in ``docs/spool-format.md``): :data:`MAGIC`, a preamble (version, flags,
header length and CRC), the header as JSON (:class:`SpoolHeader`: profile, device, the negotiated stream
settings, the clock references), then chunks ``[length u32][type u8][CRC32 u32][payload]``: DATA (one raw
notification of one stream with its host receive time), EVENT (a link-state change, JSON) and a final
END. Host times (``host_time_s``) are seconds on the host's monotonic clock (``time.monotonic()``); the
header's ``host_monotonic_ref_s`` and ``host_started_at_utc`` tie that clock to UTC.

Written by :mod:`ingest.spool.writer`, read by :mod:`ingest.spool.reader`, decoded to samples by
:mod:`ingest.spool.decode` with the protocol's spool decoder (:mod:`ingest.polar.spool_decoder`,
:mod:`ingest.witmotion.spool_decoder`).
"""

from __future__ import annotations

import enum
import json
import struct
import time
import uuid
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ingest.errors import SpoolError

#: First 8 bytes of every spool. The high byte and the CR LF catch text-mode transfers (as in PNG).
MAGIC = b"\x89HSPOOL\n"
#: The only format version this module writes and reads.
FORMAT_VERSION = 1
#: Suffix of spool files in the spool directory.
SPOOL_SUFFIX = ".spool"

# Preamble after the magic: version u16, flags u16, header JSON length u32, header JSON CRC32 u32.
PREAMBLE = struct.Struct("<HHII")
# Chunk header: payload length u32, chunk type u8, CRC32 u32 (over length, type and payload bytes).
CHUNK_HEAD = struct.Struct("<IBI")
TIME_FIELD = struct.Struct("<d")
END_BODY = struct.Struct("<dQ")
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


def chunk_bytes(ctype: ChunkType, body: bytes) -> bytes:
    if len(body) > MAX_CHUNK_PAYLOAD:
        raise SpoolError(f"chunk payload of {len(body)} bytes exceeds {MAX_CHUNK_PAYLOAD}")
    length_type = struct.pack("<IB", len(body), int(ctype))
    crc = zlib.crc32(body, zlib.crc32(length_type))
    return CHUNK_HEAD.pack(len(body), int(ctype), crc) + body
