"""New personal records in a week: the weekly report's short "New personal records" section.

Kept apart from the report model and renderers on purpose: it reads :func:`storage.history.
personal_records` (as they stood before the week, and at its end) and adds one section to the finished
Markdown and HTML (:func:`with_records`) and one key to the JSON document (:func:`records_json`). A record
counts as new when it beats one that stood before the week; an exercise's first week sets no records
(everything would be one).
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import tzinfo
from pathlib import Path
from typing import Any

from flows.report.model import IsoWeek
from storage.errors import NotFoundError
from storage.history import PersonalRecord, personal_records, record_key

__all__ = ["NewRecord", "new_records", "record_text", "records_json", "with_records"]

_KIND_TEXT = {
    "most_reps": "most reps",
    "heaviest": "heaviest",
    "best_rom": "best ROM",
    "weekly_volume": "week volume",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class NewRecord:
    """A record set in the week, and the one it beat."""

    record: PersonalRecord
    previous: PersonalRecord


def record_text(rec: PersonalRecord) -> tuple[str, str]:
    """What a record is and its value, for people: ``("most reps", "15 at band:red")``."""
    kind = _KIND_TEXT[rec.kind]
    if rec.kind == "most_reps":
        return kind, f"{rec.value:.0f} at {rec.resistance}"
    if rec.kind == "best_rom":
        return kind, f"{rec.value:.0f} deg"
    if rec.kind == "heaviest":
        return kind, rec.resistance or f"{rec.value:g} {rec.unit}"
    # Volume load = reps x load value: kg for weights, plain reps for bodyweight, band levels otherwise.
    unit = {"band_level": "reps x level", "kg": "kg", "bodyweight": "reps"}.get(rec.unit, rec.unit)
    return kind, f"{rec.value:g} {unit}"


def new_records(db_path: Path, week: IsoWeek, *, tz: tzinfo | None = None) -> list[NewRecord]:
    """Records first reached in ``week`` that beat a record standing before it."""
    start, end = week.bounds(tz)
    try:
        then, now = personal_records(db_path, before=start), personal_records(db_path, before=end)
    except NotFoundError:  # no database yet: an empty report, no records
        return []
    before = {record_key(r): r for r in then}
    found = []
    for rec in now:
        old = before.get(record_key(rec))
        if old is not None and start <= rec.set_at < end and rec.value > old.value:
            found.append(NewRecord(record=rec, previous=old))
    return found


def _lines(found: list[NewRecord]) -> list[str]:
    out = []
    for n in found:
        kind, value = record_text(n.record)
        _, was = record_text(n.previous)
        day = n.record.set_at.astimezone().strftime("%a %d %b")
        out.append(f"{n.record.exercise.replace('_', ' ')}: {kind} {value} (was {was}), {day}")
    return out


def records_json(found: list[NewRecord]) -> list[dict[str, Any]]:
    """The ``new_records`` key of the report's JSON document."""
    return [
        {
            "exercise": n.record.exercise,
            "kind": n.record.kind,
            "value": n.record.value,
            "unit": n.record.unit,
            "resistance": n.record.resistance,
            "set_at": n.record.set_at.isoformat(),
            "previous": n.previous.value,
        }
        for n in found
    ]


def with_records(fmt: str, text: str, found: list[NewRecord]) -> str:
    """A rendered report (``md`` or ``html``) with the "New personal records" section added, if any."""
    if not found:
        return text
    lines = _lines(found)
    if fmt == "md":
        return text.rstrip("\n") + "\n\n## New personal records\n\n" + "".join(f"- {x}\n" for x in lines)
    if fmt == "html":
        items = "".join(f"<li>{html.escape(x)}</li>" for x in lines)
        section = f'<section class="records"><h2>New personal records</h2><ul>{items}</ul></section>\n'
        at = text.rfind("</body>")
        return text + section if at < 0 else text[:at] + section + text[at:]
    return text
