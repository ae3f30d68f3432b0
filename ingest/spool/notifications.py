"""What the spool decoder and the per-protocol spool decoders share: decoded notifications and the contract.

Each protocol's spool decoder (:class:`ingest.polar.spool_decoder.PolarSpoolDecoder`,
:class:`ingest.witmotion.spool_decoder.WitMotionSpoolDecoder`) is fed a spool's data chunks in order
(:meth:`SpoolDecoder.add`), told about link events that restart timing (:meth:`SpoolDecoder.reset`), and
returns per kind (``acc``, ``gyro``) the decoded :class:`Notifications` (:meth:`SpoolDecoder.finish`);
:func:`ingest.spool.decode.decode_spool` dedupes and joins them into a recording.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt

from ingest.samples import SampleBlock
from ingest.spool.format import SpoolChunk, SpoolHeader

logger = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def stream_rate_hz(header: SpoolHeader, names: tuple[str, ...], default: float | None) -> float | None:
    for name in names:
        settings = header.streams.get(name)
        if not settings:
            continue
        for key in ("fs_hz", "sample_rate_hz", "rate_hz"):
            value = settings.get(key)
            if isinstance(value, int | float) and value > 0:
                return float(value)
    return default


def stream_factor(header: SpoolHeader, name: str) -> float | None:
    value = (header.streams.get(name) or {}).get("factor")
    return float(value) if isinstance(value, int | float) else None


@dataclass(frozen=True, slots=True)
class Notifications:
    """Decoded notifications of one kind, in arrival order, their samples concatenated.

    ``sizes`` (F,) is the number of samples of each notification (all >= 1), ``host_time_s`` (F,) its
    receive time (NaN for WitMotion, whose notifications are re-timed as a whole segment).
    """

    block: SampleBlock
    sizes: IntArray
    host_time_s: FloatArray


def log_malformed(path: Path, chunk: SpoolChunk, error: ValueError) -> None:
    # FrameError is the expected case; any other ValueError from a codec on hostile bytes is treated the
    # same way: one bad notification must never cost the rest of the session.
    logger.debug("%s: malformed %s notification (seq %d): %s", path, chunk.stream, chunk.seq, error)


class SpoolDecoder(Protocol):
    """A protocol's decoder of spool chunks (see the module docstring)."""

    malformed: int
    duplicate_frames: int

    def add(self, chunk: SpoolChunk) -> None: ...

    def reset(self) -> None: ...

    def finish(self) -> dict[str, list[Notifications]]: ...
