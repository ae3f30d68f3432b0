"""The decoders' common output: one block of IMU samples of one kind.

A :class:`SampleBlock` is what one notification (or one batch of notifications) decodes to. It is
deliberately small: the spool keeps raw bytes, and :mod:`hipsync.records` holds the analysis input.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

__all__ = ["SampleBlock", "SampleKind", "concat_blocks"]

SampleKind = Literal["acc", "gyro"]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True, kw_only=True)
class SampleBlock:
    """Samples of one kind from one sensor.

    Attributes:
        kind: ``"acc"`` (values in g) or ``"gyro"`` (values in deg/s).
        sensor_time_s: shape (n,), float64, seconds on the sensor's clock. For Polar PMD this is seconds
            since 2000-01-01T00:00:00 on the device clock (which may be local time or an unset default);
            for sensors without a clock (WitMotion) it is whatever time axis the caller supplied.
        values: shape (n, 3), float64, sensor frame, in g (``acc``) or deg/s (``gyro``).

    Raises:
        ValueError: if the shapes do not match or the kind is unknown (bad input from our own code, so a
            plain ``ValueError`` rather than a :class:`~ingest.errors.FrameError`).
    """

    kind: SampleKind
    sensor_time_s: FloatArray
    values: FloatArray

    def __post_init__(self) -> None:
        if self.kind not in ("acc", "gyro"):
            raise ValueError(f"kind must be 'acc' or 'gyro', got {self.kind!r}")
        if self.sensor_time_s.ndim != 1:
            raise ValueError(f"sensor_time_s must be 1-D, got shape {self.sensor_time_s.shape}")
        n = self.sensor_time_s.shape[0]
        if self.values.shape != (n, 3):
            raise ValueError(f"values must have shape ({n}, 3), got {self.values.shape}")
        if self.sensor_time_s.dtype != np.float64 or self.values.dtype != np.float64:
            raise ValueError("sensor_time_s and values must be float64")

    @property
    def n_samples(self) -> int:
        """Number of samples in the block."""
        return int(self.sensor_time_s.shape[0])

    @classmethod
    def empty(cls, kind: SampleKind) -> SampleBlock:
        """A block with no samples."""
        return cls(kind=kind, sensor_time_s=np.zeros(0), values=np.zeros((0, 3)))


def concat_blocks(blocks: list[SampleBlock]) -> SampleBlock:
    """Concatenate blocks of one kind in the given order.

    Raises:
        ValueError: if the blocks are of different kinds or the list is empty (nothing to take a kind from).
    """
    if not blocks:
        raise ValueError("no blocks to concatenate")
    kinds = {b.kind for b in blocks}
    if len(kinds) != 1:
        raise ValueError(f"cannot concatenate blocks of kinds {sorted(kinds)}")
    return SampleBlock(
        kind=blocks[0].kind,
        sensor_time_s=np.concatenate([b.sensor_time_s for b in blocks]),
        values=np.concatenate([b.values for b in blocks]),
    )
