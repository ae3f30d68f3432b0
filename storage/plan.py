"""The training plan: a readable TOML file, its history in the ``plans`` table, and resistance parsing.

The sensor cannot see which band is on the leg, so each synced set takes the resistance the plan in
effect on the session's date prescribes for its exercise; ``hipsync log`` corrects single sets.

Plan file (``$HIPSYNC_HOME/plan.toml``)::

    # hipsync training plan
    valid_from = 2026-11-02          # the date this version of the plan starts to apply

    [exercises.clamshell]
    sets = 3                         # target sets per session
    reps = "10-15"                   # target reps per set: "10-15", "12", or [10, 15]
    resistance = "band:red"

    [exercises.side_lying_leg_raise]
    sets = 3
    reps = "8-12"
    resistance = "ankle:2kg"

Resistance texts and how they become ``(load_value, load_unit)``:

- ``band:<colour>``: elastic bands in the usual colour order, stored as a level in ``band_level``:
  yellow = 1 < red = 2 < green = 3 < blue = 4 < black = 5 (heavier bands have higher levels).
- ``<implement>:<number>kg`` or ``...lb`` (``ankle:2kg``, ``dumbbell:5lb``): an external weight, stored in
  ``kg`` (pounds converted, 1 lb = 0.45359237 kg).
- ``bodyweight``: no added load, stored as ``1`` ``bodyweight``.

Every distinct plan file content is stored once in ``plans`` (``plan_id`` = sha256 of the text), so the
history of the program stays queryable after the file changes.
"""

from __future__ import annotations

import hashlib
import logging
import re
import tomllib
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any, Literal

import duckdb

from hipsync.records import Exercise
from storage.db import as_utc
from storage.errors import PlanError

log = logging.getLogger(__name__)

LoadUnit = Literal["band_level", "kg", "bodyweight"]

BAND_LEVELS: dict[str, int] = {"yellow": 1, "red": 2, "green": 3, "blue": 4, "black": 5}
KG_PER_LB = 0.45359237
_WEIGHT = re.compile(r"^([a-z][a-z_-]*):(\d+(?:\.\d+)?)\s*(kg|lb|lbs)$")


@dataclass(frozen=True, slots=True, kw_only=True)
class Resistance:
    """A resistance as the user writes it, and its numeric load.

    ``load_value`` is a band level (1-5), kilograms, or 1 for bodyweight, according to ``load_unit``.
    """

    text: str
    load_value: float
    load_unit: LoadUnit

    @classmethod
    def parse(cls, text: str) -> Resistance:
        """``band:red`` -> band level 2; ``ankle:2kg`` -> 2 kg; ``dumbbell:5lb`` -> 2.268 kg."""
        norm = text.strip().lower().replace(" ", "")
        if norm in ("bodyweight", "bw", "none"):
            return cls(text="bodyweight", load_value=1.0, load_unit="bodyweight")
        if norm.startswith("band:"):
            colour = norm.removeprefix("band:")
            if colour not in BAND_LEVELS:
                known = ", ".join(BAND_LEVELS)
                raise PlanError(
                    f"unknown band colour {colour!r} in {text!r}; known (light to heavy): {known}"
                )
            return cls(text=norm, load_value=float(BAND_LEVELS[colour]), load_unit="band_level")
        m = _WEIGHT.match(norm)
        if m:
            value = float(m.group(2))
            if m.group(3) != "kg":
                value *= KG_PER_LB
            return cls(text=norm, load_value=round(value, 3), load_unit="kg")
        raise PlanError(
            f"cannot read resistance {text!r}; write band:<colour> (yellow, red, green, blue, black), "
            "<where>:<n>kg such as ankle:2kg, or bodyweight"
        )

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True, slots=True, kw_only=True)
class PlanItem:
    """The target for one exercise: ``target_sets`` sets of ``reps_low``-``reps_high`` reps."""

    exercise: Exercise
    target_sets: int
    reps_low: int
    reps_high: int
    resistance: Resistance

    def reps_text(self) -> str:
        return str(self.reps_low) if self.reps_low == self.reps_high else f"{self.reps_low}-{self.reps_high}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Plan:
    """One version of the user's program, applying from ``valid_from`` (a calendar date, UTC)."""

    valid_from: date
    items: tuple[PlanItem, ...]

    def item(self, exercise: Exercise | str) -> PlanItem | None:
        for it in self.items:
            if it.exercise == exercise:
                return it
        return None

    def resistance_for(self, exercise: Exercise | str) -> Resistance | None:
        it = self.item(exercise)
        return None if it is None else it.resistance

    def with_item(self, item: PlanItem, valid_from: date | None = None) -> Plan:
        """A copy with ``item`` added or replacing the same exercise's entry."""
        others = tuple(i for i in self.items if i.exercise != item.exercise)
        order = [e for e in Exercise]
        items = tuple(sorted((*others, item), key=lambda i: order.index(i.exercise)))
        return Plan(valid_from=valid_from or self.valid_from, items=items)

    def to_toml(self) -> str:
        """The plan file text (readable and hand-editable)."""
        lines = [
            "# hipsync training plan: exercise -> target sets x reps and resistance.",
            "# resistance: band:<yellow|red|green|blue|black> (light to heavy), <where>:<n>kg or bodyweight.",
            "# Edit freely; `hipsync plan show` checks the file. A new valid_from starts a new plan version.",
            f"valid_from = {self.valid_from.isoformat()}",
        ]
        for it in self.items:
            lines += [
                "",
                f"[exercises.{it.exercise.value}]",
                f"sets = {it.target_sets}",
                f'reps = "{it.reps_text()}"',
                f'resistance = "{it.resistance.text}"',
            ]
        return "\n".join(lines) + "\n"

    @property
    def plan_id(self) -> str:
        """sha256 of the canonical text: equal plans have equal ids whatever the file's formatting."""
        return hashlib.sha256(self.to_toml().encode("utf-8")).hexdigest()


def parse_reps(value: Any, where: str = "reps") -> tuple[int, int]:
    """``12`` / ``"8-12"`` / ``[8, 12]`` -> ``(low, high)``; raises :class:`PlanError`."""
    if isinstance(value, bool):
        raise PlanError(f"{where}: reps must be a number, a range '8-12' or [8, 12]")
    if isinstance(value, int):
        low = high = value
    elif isinstance(value, list) and len(value) == 2 and all(isinstance(v, int) for v in value):
        low, high = int(value[0]), int(value[1])
    elif isinstance(value, str) and re.fullmatch(r"\s*\d+\s*(-\s*\d+\s*)?", value):
        parts = [int(p) for p in value.split("-")]
        low, high = parts[0], parts[-1]
    else:
        raise PlanError(f"{where}: reps must be a number, a range '8-12' or [8, 12], got {value!r}")
    if not 0 < low <= high:
        raise PlanError(f"{where}: reps range must satisfy 0 < low <= high, got {low}-{high}")
    return low, high


def parse_plan(text: str) -> Plan:
    """Parse plan TOML text (see the module docstring); raises :class:`PlanError` naming the problem."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise PlanError(f"plan file is not valid TOML: {e}") from e
    vf = doc.get("valid_from")
    if isinstance(vf, datetime):
        valid_from = vf.date()
    elif isinstance(vf, date):
        valid_from = vf
    elif isinstance(vf, str):
        try:
            valid_from = date.fromisoformat(vf)
        except ValueError as e:
            raise PlanError(f"valid_from must be a date like 2026-11-02, got {vf!r}") from e
    else:
        raise PlanError("plan file needs valid_from = YYYY-MM-DD")
    exercises = doc.get("exercises", {})
    if not isinstance(exercises, dict):
        raise PlanError("[exercises.<name>] tables expected")
    items: list[PlanItem] = []
    for name, spec in exercises.items():
        try:
            exercise = Exercise(name)
        except ValueError as e:
            known = ", ".join(e.value for e in Exercise if e is not Exercise.UNKNOWN)
            raise PlanError(f"unknown exercise {name!r}; known: {known}") from e
        if not isinstance(spec, dict):
            raise PlanError(f"[exercises.{name}] must be a table")
        sets = spec.get("sets")
        if not isinstance(sets, int) or isinstance(sets, bool) or sets <= 0:
            raise PlanError(f"[exercises.{name}] sets must be a positive integer, got {sets!r}")
        low, high = parse_reps(spec.get("reps"), f"[exercises.{name}]")
        res = spec.get("resistance", "bodyweight")
        if not isinstance(res, str):
            raise PlanError(f"[exercises.{name}] resistance must be text such as 'band:red'")
        items.append(
            PlanItem(
                exercise=exercise,
                target_sets=sets,
                reps_low=low,
                reps_high=high,
                resistance=Resistance.parse(res),
            )
        )
    return Plan(valid_from=valid_from, items=tuple(items))


def load_plan(path: Path) -> Plan:
    """Read and parse a plan file."""
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError as e:
        raise PlanError(f"no plan file at {path}; create one with `hipsync plan set`") from e
    return parse_plan(text)


def save_plan(plan: Plan, path: Path) -> None:
    """Write the plan file atomically (write a sibling, then rename)."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(plan.to_toml(), "utf-8")
    tmp.replace(path)


def _day_start(d: date) -> datetime:
    return datetime.combine(d, time(0, 0), tzinfo=UTC)


def record_plan(con: duckdb.DuckDBPyConnection, plan: Plan) -> bool:
    """Store this plan version in ``plans`` unless the same content and date are there; True if added.

    Call inside the caller's transaction.
    """
    pid = plan.plan_id
    valid_from = _day_start(plan.valid_from)
    row = con.execute(
        "SELECT count(*) FROM plans WHERE plan_id = ? AND valid_from = ?", [pid, valid_from]
    ).fetchone()
    if row and row[0]:
        return False
    # A changed plan for the same date replaces that date's version: the newest edit wins.
    con.execute("DELETE FROM plans WHERE valid_from = ?", [valid_from])
    for it in plan.items:
        con.execute(
            "INSERT INTO plans (plan_id, valid_from, exercise, target_sets, target_reps_low, "
            "target_reps_high, resistance, load_value, load_unit) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                pid,
                valid_from,
                it.exercise.value,
                it.target_sets,
                it.reps_low,
                it.reps_high,
                it.resistance.text,
                it.resistance.load_value,
                it.resistance.load_unit,
            ],
        )
    log.info("recorded plan %s valid from %s", pid[:12], plan.valid_from)
    return True


def plan_in_effect(con: duckdb.DuckDBPyConnection, at: datetime) -> Plan | None:
    """The stored plan version whose ``valid_from`` is the latest on or before ``at``'s date, if any.

    Sessions older than the first stored plan get no planned load (``None``): a guessed band would
    corrupt the progressive-overload numbers; the user can set it with ``hipsync log``.
    """
    at_utc = as_utc(at)
    row = con.execute(
        "SELECT max(valid_from) FROM plans WHERE valid_from <= ?", [_day_start(at_utc.date())]
    ).fetchone()
    if not row or row[0] is None:
        return None
    vf: datetime = row[0]
    rows = con.execute(
        "SELECT exercise, target_sets, target_reps_low, target_reps_high, resistance FROM plans "
        "WHERE valid_from = ? ORDER BY exercise",
        [vf],
    ).fetchall()
    items = tuple(
        PlanItem(
            exercise=Exercise(ex),
            target_sets=int(ts or 0),
            reps_low=int(lo or 0),
            reps_high=int(hi or 0),
            resistance=Resistance.parse(res or "bodyweight"),
        )
        for ex, ts, lo, hi, res in rows
    )
    return Plan(valid_from=vf.astimezone(UTC).date(), items=items)


def plan_history(con: duckdb.DuckDBPyConnection) -> list[Plan]:
    """Every stored plan version, oldest first."""
    dates = [
        r[0] for r in con.execute("SELECT DISTINCT valid_from FROM plans ORDER BY valid_from").fetchall()
    ]
    plans: list[Plan] = []
    for vf in dates:
        p = plan_in_effect(con, vf)
        if p is not None:
            plans.append(p)
    return plans
