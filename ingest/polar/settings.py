"""PMD measurement settings: the TLVs offered in a GET response and selected in a START request.

``[type u8][count u8][count x value]`` with per-type value sizes, CHANNELS being **1 byte** (doc §1.3.2).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from ingest.errors import FrameError
from ingest.polar.constants import SETTING_VALUE_BYTES, SettingType


@dataclass(frozen=True, slots=True, kw_only=True)
class PmdSettings:
    """Measurement settings: every value offered (GET response) or the one selected (START request).

    Attributes:
        sample_rates_hz: SAMPLE_RATE values (u16, Hz).
        resolutions_bits: RESOLUTION values (u16, bits).
        ranges: RANGE values (u16, ± g for ACC, ± deg/s for GYRO).
        ranges_milli: RANGE_MILLIUNIT values (u32, milli-g or milli-deg/s).
        channels: CHANNELS values (u8).
        factors: FACTOR values (float32; device -> host in START responses only).
        security: SECURITY values (16 bytes each; offline recordings only).

    ``bytes(settings)`` writes the TLVs in the canonical type order 0..6 (the order is free, doc §1.3.2);
    types without values are left out.
    """

    sample_rates_hz: tuple[int, ...] = ()
    resolutions_bits: tuple[int, ...] = ()
    ranges: tuple[int, ...] = ()
    ranges_milli: tuple[int, ...] = ()
    channels: tuple[int, ...] = ()
    factors: tuple[float, ...] = ()
    security: tuple[bytes, ...] = ()

    @classmethod
    def selected(
        cls,
        *,
        sample_rate_hz: int | None = None,
        resolution_bits: int | None = None,
        range_: int | None = None,
        channels: int | None = None,
        factor: float | None = None,
    ) -> PmdSettings:
        """One value per given setting, as a START request carries them (``None``: leave the TLV out)."""

        def one(v: int | None) -> tuple[int, ...]:
            return () if v is None else (int(v),)

        return cls(
            sample_rates_hz=one(sample_rate_hz),
            resolutions_bits=one(resolution_bits),
            ranges=one(range_),
            channels=one(channels),
            factors=() if factor is None else (float(factor),),
        )

    @property
    def factor(self) -> float | None:
        """The conversion factor if one was sent (START response), else ``None``."""
        return self.factors[0] if self.factors else None

    def is_empty(self) -> bool:
        """True if no setting has a value."""
        return not any(self._by_type().values())

    def _by_type(self) -> dict[int, tuple[int | float | bytes, ...]]:
        return {
            SettingType.SAMPLE_RATE: self.sample_rates_hz,
            SettingType.RESOLUTION: self.resolutions_bits,
            SettingType.RANGE: self.ranges,
            SettingType.RANGE_MILLIUNIT: self.ranges_milli,
            SettingType.CHANNELS: self.channels,
            SettingType.FACTOR: self.factors,
            SettingType.SECURITY: self.security,
        }

    @classmethod
    def from_bytes(cls, data: bytes) -> PmdSettings:
        """Parse a run of settings TLVs (GET response parameters, START request tail).

        A repeated type appends its values. An empty input gives empty settings.

        Raises:
            FrameError: on an unknown setting type (its size is unknown, so nothing after it can be read)
                or a TLV that runs past the end.
        """
        values: dict[int, list[int | float | bytes]] = {t: [] for t in SETTING_VALUE_BYTES}
        pos, n = 0, len(data)
        while pos < n:
            if pos + 2 > n:
                raise FrameError("settings TLV header truncated", offset=pos, data_len=n)
            stype, count = data[pos], data[pos + 1]
            size = SETTING_VALUE_BYTES.get(stype)
            if size is None:
                raise FrameError(f"unknown PMD setting type {stype}", offset=pos, data_len=n)
            end = pos + 2 + size * count
            if end > n:
                raise FrameError(
                    f"settings TLV type {stype} needs {size * count} value bytes, {n - pos - 2} left",
                    offset=pos,
                    data_len=n,
                )
            for k in range(count):
                raw = data[pos + 2 + k * size : pos + 2 + (k + 1) * size]
                if stype == SettingType.FACTOR:
                    values[stype].append(struct.unpack("<f", raw)[0])
                elif stype == SettingType.SECURITY:
                    values[stype].append(bytes(raw))
                else:
                    values[stype].append(int.from_bytes(raw, "little"))
            pos = end
        return cls(
            sample_rates_hz=tuple(int(v) for v in values[SettingType.SAMPLE_RATE]),  # type: ignore[arg-type]
            resolutions_bits=tuple(int(v) for v in values[SettingType.RESOLUTION]),  # type: ignore[arg-type]
            ranges=tuple(int(v) for v in values[SettingType.RANGE]),  # type: ignore[arg-type]
            ranges_milli=tuple(int(v) for v in values[SettingType.RANGE_MILLIUNIT]),  # type: ignore[arg-type]
            channels=tuple(int(v) for v in values[SettingType.CHANNELS]),  # type: ignore[arg-type]
            factors=tuple(float(v) for v in values[SettingType.FACTOR]),  # type: ignore[arg-type]
            security=tuple(bytes(v) for v in values[SettingType.SECURITY]),  # type: ignore[arg-type]
        )

    def __bytes__(self) -> bytes:
        """The TLVs, canonical type order.

        Raises:
            ValueError: if a value does not fit its field or a type has more than 255 values.
        """
        out = bytearray()
        for stype, vals in self._by_type().items():
            if not vals:
                continue
            if len(vals) > 255:
                raise ValueError(f"setting type {stype} has {len(vals)} values (max 255)")
            size = SETTING_VALUE_BYTES[stype]
            out += bytes((stype, len(vals)))
            for v in vals:
                if stype == SettingType.FACTOR:
                    out += struct.pack("<f", float(v))  # type: ignore[arg-type]
                elif stype == SettingType.SECURITY:
                    if not isinstance(v, bytes) or len(v) != size:
                        raise ValueError(f"security value must be {size} bytes")
                    out += v
                else:
                    iv = int(v)  # type: ignore[arg-type]
                    if not 0 <= iv < 1 << (8 * size):
                        raise ValueError(f"setting type {stype} value {iv} does not fit {size} bytes")
                    out += iv.to_bytes(size, "little")
        return bytes(out)
