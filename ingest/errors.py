"""Typed errors of the ingest package.

Every error raised for a sensor, a frame, a spool or an input file derives from :class:`SensorError`, and
also from the builtin that fits (``ValueError`` for bad bytes, ``LookupError`` for things not found,
``ConnectionError`` for a lost link), so callers can catch either. Errors carry structured fields
(``sensor``, ``offset``, ``op``/``status``, ``column``, ...) so that callers never parse messages.

Errors are picklable (``__reduce__``) because Prefect and multiprocessing move them between processes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = [
    "ColumnError",
    "ControlPointError",
    "FrameError",
    "LinkLostError",
    "SensorError",
    "SensorNotFoundError",
    "SpoolError",
    "SpoolWriteError",
    "UnknownProfileError",
]


class SensorError(Exception):
    """Root of every ingest error.

    Attributes:
        message: human-readable description (also ``str(err)``).
        sensor: the sensor address, name or profile id concerned, when known.
    """

    def __init__(self, message: str, *, sensor: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.sensor = sensor

    def _fields(self) -> dict[str, Any]:
        """Keyword arguments that rebuild this error (used for pickling)."""
        return {"sensor": self.sensor}

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword-only constructors do not survive the default Exception pickling (it replays args only).
        return (_rebuild, (type(self), self.message, self._fields()))


def _rebuild(cls: type[SensorError], message: str, fields: dict[str, Any]) -> SensorError:
    return cls(message, **fields)


class FrameError(SensorError, ValueError):
    """Malformed or truncated bytes from a sensor (a notification, a response, a packet).

    Attributes:
        offset: byte offset in ``data`` where decoding failed, when known.
        data_len: length of the bytes that were being decoded, when known.
    """

    def __init__(
        self,
        message: str,
        *,
        sensor: str | None = None,
        offset: int | None = None,
        data_len: int | None = None,
    ) -> None:
        super().__init__(message, sensor=sensor)
        self.offset = offset
        self.data_len = data_len

    def _fields(self) -> dict[str, Any]:
        return {"sensor": self.sensor, "offset": self.offset, "data_len": self.data_len}


class ControlPointError(SensorError):
    """A control-point request was answered with a non-success status (e.g. Polar PMD error codes).

    Attributes:
        op: the request op code that failed (e.g. 0x02 = PMD start).
        status: the status code the sensor returned (e.g. 6 = PMD ALREADY_IN_STATE).
        measurement_type: the measurement type byte of the request, when known.
        status_name: the symbolic status name (e.g. ``"ALREADY_IN_STATE"``), when known.
    """

    def __init__(
        self,
        message: str,
        *,
        op: int,
        status: int,
        sensor: str | None = None,
        measurement_type: int | None = None,
        status_name: str | None = None,
    ) -> None:
        super().__init__(message, sensor=sensor)
        self.op = op
        self.status = status
        self.measurement_type = measurement_type
        self.status_name = status_name

    def _fields(self) -> dict[str, Any]:
        return {
            "sensor": self.sensor,
            "op": self.op,
            "status": self.status,
            "measurement_type": self.measurement_type,
            "status_name": self.status_name,
        }


class SpoolError(SensorError, ValueError):
    """A spool file is unreadable (bad magic, unsupported version, a header field malformed or out of
    range) or, as :class:`SpoolWriteError`, unwritable.

    Attributes:
        path: the spool file, when known.
        offset: byte offset in the file where the problem was found, when known.
    """

    def __init__(
        self,
        message: str,
        *,
        path: Path | str | None = None,
        offset: int | None = None,
        sensor: str | None = None,
    ) -> None:
        super().__init__(message, sensor=sensor)
        self.path = Path(path) if path is not None else None
        self.offset = offset

    def _fields(self) -> dict[str, Any]:
        return {"sensor": self.sensor, "path": self.path, "offset": self.offset}


class SpoolWriteError(SpoolError):
    """A spool could not be written (disk full, I/O error, no permission): the recording stopped.

    The spool keeps every chunk written before the failure (the writer cuts a torn chunk off), so it
    still imports.

    Attributes:
        errno: the operating system's error number (e.g. 28, ENOSPC), when known.
    """

    def __init__(
        self,
        message: str,
        *,
        path: Path | str | None = None,
        errno: int | None = None,
        sensor: str | None = None,
    ) -> None:
        super().__init__(message, path=path, sensor=sensor)
        self.errno = errno

    def _fields(self) -> dict[str, Any]:
        return {"sensor": self.sensor, "path": self.path, "errno": self.errno}


class SensorNotFoundError(SensorError, LookupError):
    """A sensor was looked for (scan, connect by address/name, sensors file) and not found.

    Attributes:
        target: the address, name or id that was looked for.
        timeout_s: how long the scan lasted, when a scan was involved.
    """

    def __init__(
        self,
        message: str,
        *,
        target: str | None = None,
        timeout_s: float | None = None,
        sensor: str | None = None,
    ) -> None:
        super().__init__(message, sensor=sensor if sensor is not None else target)
        self.target = target
        self.timeout_s = timeout_s

    def _fields(self) -> dict[str, Any]:
        return {"sensor": self.sensor, "target": self.target, "timeout_s": self.timeout_s}


class UnknownProfileError(SensorError, KeyError):
    """A sensor profile id is not one of :data:`ingest.profiles.PROFILES`.

    Attributes:
        profile_id: the id that was asked for.
        known: the ids that exist.
    """

    def __init__(self, message: str, *, profile_id: str, known: tuple[str, ...] = ()) -> None:
        super().__init__(message, sensor=profile_id)
        self.profile_id = profile_id
        self.known = known

    def __str__(self) -> str:
        # KeyError.__str__ would repr() the message; keep it readable.
        return self.message

    def _fields(self) -> dict[str, Any]:
        return {"profile_id": self.profile_id, "known": self.known}


class ColumnError(SensorError, ValueError):
    """An input file lacks a required column or has one that cannot be interpreted.

    Attributes:
        column: the column name concerned.
        path: the file, when known.
    """

    def __init__(self, message: str, *, column: str, path: Path | str | None = None) -> None:
        super().__init__(message)
        self.column = column
        self.path = Path(path) if path is not None else None

    def _fields(self) -> dict[str, Any]:
        return {"column": self.column, "path": self.path}


class LinkLostError(SensorError, ConnectionError):
    """The BLE link to a sensor dropped, or its stream stalled while connected.

    Attributes:
        reason: short cause (``"disconnected"``, ``"stalled"``, ...), when known.
        after_s: seconds since the last notification when the loss was declared, when known.
    """

    def __init__(
        self,
        message: str,
        *,
        sensor: str | None = None,
        reason: str | None = None,
        after_s: float | None = None,
    ) -> None:
        super().__init__(message, sensor=sensor)
        self.reason = reason
        self.after_s = after_s

    def _fields(self) -> dict[str, Any]:
        return {"sensor": self.sensor, "reason": self.reason, "after_s": self.after_s}
