"""The user's sensors file: which sensors this user owns, which profile each is, which thigh it goes on.

Only sensors listed here are ever connected to (``hipsync sensors add/list/remove``). The file is small
JSON; the caller chooses its path (the CLI uses ``storage.paths.sensors_path()``)::

    {"version": 1, "sensors": [{"address": "A0:9E:1A:12:34:56", "name": "Polar Sense 1234ABCD",
                                "profile": "polar-verity-sense", "side": "left"}]}

Every change is written atomically (temporary file in the same directory, fsync, ``os.replace``), so a
crash leaves either the old or the new file, never half of one. Addresses compare case-insensitively
(Linux reports MAC addresses, macOS reports UUIDs, both in varying case).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hipsync.records import Side
from ingest.errors import SensorError, SensorNotFoundError
from ingest.profiles import get_profile

logger = logging.getLogger(__name__)

__all__ = [
    "SENSORS_FILE_VERSION",
    "SensorEntry",
    "SensorsFileError",
    "add_sensor",
    "check_address",
    "find_sensor",
    "load_sensors",
    "remove_sensor",
    "save_sensors",
]

SENSORS_FILE_VERSION = 1


class SensorsFileError(SensorError, ValueError):
    """The sensors file exists but cannot be read (bad JSON, wrong shape, unknown version).

    Attributes:
        path: the sensors file.
    """

    def __init__(self, message: str, *, path: Path | str) -> None:
        super().__init__(message)
        self.path = Path(path)

    def _fields(self) -> dict[str, Any]:
        return {"path": self.path}


@dataclass(frozen=True, slots=True, kw_only=True)
class SensorEntry:
    """One owned sensor.

    Attributes:
        address: BLE address (MAC on Linux/Windows, UUID on macOS) or the virtual backend's address.
        name: advertised name, when known (lets ``--sensor NAME`` work).
        profile: a profile id of :data:`ingest.profiles.PROFILES`.
        side: the thigh it is worn on.
    """

    address: str
    name: str | None = None
    profile: str
    side: Side

    def matches(self, address_or_name: str) -> bool:
        """True if the text is this sensor's address (any case) or its name (exact)."""
        text = address_or_name.strip()
        return text.casefold() == self.address.casefold() or (self.name is not None and text == self.name)

    def to_json(self) -> dict[str, Any]:
        return {"address": self.address, "name": self.name, "profile": self.profile, "side": str(self.side)}


#: The two forms a sensor's address takes: a MAC address (Linux, Windows; any case) and the UUID macOS
#: gives each device.
_ADDRESS = re.compile(
    r"(?:[0-9A-Fa-f]{2}:){5}[0-9A-Fa-f]{2}|[0-9A-Fa-f]{8}-(?:[0-9A-Fa-f]{4}-){3}[0-9A-Fa-f]{12}"
)


def check_address(address: str) -> str:
    """The address, stripped; raises ``ValueError`` unless it is a MAC address or a macOS device UUID."""
    address = address.strip()
    if not address:
        raise ValueError("sensor address must not be empty")
    if not _ADDRESS.fullmatch(address):
        raise ValueError(
            f"{address!r} is not a Bluetooth address: give the six-byte form AA:BB:CC:DD:EE:FF (or the UUID "
            "macOS shows); `hipsync scan` lists the sensors nearby with their addresses"
        )
    return address


def _make_entry(address: str, name: str | None, profile: str, side: str | Side) -> SensorEntry:
    """Validate and build an entry; raises ``UnknownProfileError`` or ``ValueError`` naming allowed values."""
    address = address.strip()
    if not address:
        raise ValueError("sensor address must not be empty")
    get_profile(profile)  # UnknownProfileError names the known profiles
    try:
        side_v = Side(str(side).strip().lower())
    except ValueError:
        allowed = ", ".join(s.value for s in Side)
        raise ValueError(f"unknown side {side!r}; use one of: {allowed}") from None
    return SensorEntry(address=address, name=name or None, profile=profile, side=side_v)


def load_sensors(path: Path | str) -> list[SensorEntry]:
    """The sensors in the file, in the order added; an empty list if the file does not exist.

    Raises:
        SensorsFileError: if the file is not valid JSON of the expected shape.
        UnknownProfileError: if an entry names a profile this hipsync does not know.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    except OSError as e:
        raise SensorsFileError(f"cannot read sensors file {path}: {e}", path=path) from e
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        raise SensorsFileError(f"sensors file {path} is not valid JSON: {e}", path=path) from e
    if not isinstance(doc, dict) or not isinstance(doc.get("sensors"), list):
        raise SensorsFileError(f"sensors file {path} must be an object with a 'sensors' list", path=path)
    version = doc.get("version", SENSORS_FILE_VERSION)
    if version != SENSORS_FILE_VERSION:
        raise SensorsFileError(
            f"sensors file {path} has version {version!r}; this hipsync reads version {SENSORS_FILE_VERSION}",
            path=path,
        )
    out: list[SensorEntry] = []
    for i, item in enumerate(doc["sensors"]):
        try:
            out.append(_make_entry(item["address"], item.get("name"), item["profile"], item["side"]))
        except (KeyError, TypeError, AttributeError) as e:
            raise SensorsFileError(f"sensors file {path}: entry {i} is malformed ({e!r})", path=path) from e
        except ValueError as e:
            raise SensorsFileError(f"sensors file {path}: entry {i}: {e}", path=path) from e
    return out


def save_sensors(path: Path | str, sensors: list[SensorEntry]) -> None:
    """Write the whole list atomically (temporary file + fsync + ``os.replace``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = {"version": SENSORS_FILE_VERSION, "sensors": [s.to_json() for s in sensors]}
    data = (json.dumps(doc, indent=2) + "\n").encode("utf-8")
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise


def find_sensor(sensors: list[SensorEntry], address_or_name: str) -> SensorEntry:
    """The entry whose address (any case) or name matches.

    Raises:
        SensorNotFoundError: if none matches; the message lists the configured sensors.
    """
    for s in sensors:
        if s.matches(address_or_name):
            return s
    known = ", ".join(f"{s.address} ({s.name or s.profile}, {s.side})" for s in sensors) or "none"
    raise SensorNotFoundError(
        f"sensor {address_or_name!r} is not configured; configured sensors: {known}. "
        "Add it with `hipsync sensors add ADDRESS --side left|right`.",
        target=address_or_name,
    )


def add_sensor(
    path: Path | str,
    address: str,
    *,
    profile: str,
    side: str | Side,
    name: str | None = None,
) -> SensorEntry:
    """Add a sensor, or update the entry with the same address (new side, profile or name).

    Raises:
        UnknownProfileError: for a profile id that does not exist (message lists the known ones).
        ValueError: for an address that is not a MAC address or a macOS UUID (:func:`check_address`), or
            a side other than ``left``/``right``. (Entries already in the file are read as they are.)
        SensorsFileError: if the existing file cannot be read (it is then left untouched).
    """
    entry = _make_entry(check_address(address), name, profile, side)
    sensors = load_sensors(path)
    for i, s in enumerate(sensors):
        if s.address.casefold() == entry.address.casefold():
            if entry.name is None and s.name is not None:
                entry = SensorEntry(
                    address=entry.address, name=s.name, profile=entry.profile, side=entry.side
                )
            sensors[i] = entry
            logger.info("sensor %s updated", entry.address)
            break
    else:
        sensors.append(entry)
        logger.info("sensor %s added (%s, %s)", entry.address, entry.profile, entry.side)
    save_sensors(path, sensors)
    return entry


def remove_sensor(path: Path | str, address_or_name: str) -> SensorEntry:
    """Remove the sensor with this address or name and return it.

    Raises:
        SensorNotFoundError: if no configured sensor matches (the file is left untouched).
    """
    sensors = load_sensors(path)
    entry = find_sensor(sensors, address_or_name)
    save_sensors(path, [s for s in sensors if s is not entry])
    logger.info("sensor %s removed", entry.address)
    return entry
