"""The words the report uses: exercise names, resistances, load units, overload verdicts, tempo notation.

One table each, so the summary, the HTML, the Markdown, the charts and the JSON's display fields say the
same thing (the JSON keeps the ids as well). Resistances are stored as the user writes them
(``band:red``, ``ankle:2kg``, ``ankle:5lb``, ``bodyweight``; see :mod:`storage.plan`) and read here as
``red band``, ``2 kg ankle weight``, ``5 lb (2.27 kg) ankle weight``, ``bodyweight``.
"""

from __future__ import annotations

import re

from storage.plan import KG_PER_LB

#: Exercise ids (``hipsync.records.Exercise``) as the report writes them.
EXERCISE_NAMES: dict[str, str] = {
    "clamshell": "clamshell",
    "side_lying_leg_raise": "side-lying leg raise",
    "banded_abduction_standing": "standing banded abduction",
    "banded_abduction_seated": "seated banded abduction",
    "single_leg_glute_bridge": "single-leg glute bridge",
    "unknown": "unrecognised",
}

#: Volume load units: what ``reps x load`` is counted in. Pounds are converted to kg when stored.
VOLUME_UNITS: dict[str | None, str] = {
    "band_level": "band-level reps",
    "kg": "kg reps",
    "bodyweight": "bodyweight reps",
    None: "reps without a logged load",
}

#: Implements, for "changed from red band to ankle weight".
IMPLEMENTS: dict[str | None, str] = {
    "band_level": "band",
    "kg": "weight",
    "bodyweight": "bodyweight",
    None: "an unlogged resistance",
}

#: Overload verdicts (``Overload.status``) in words, for the table's overload column and the badges.
STATUS_WORDS: dict[str, str] = {
    "increase": "ready to step up",
    "new_resistance": "stepped up",
    "changed_implement": "changed implement",
    "rom_dropping": "range dropping",
    "stalled": "stalled",
    "building": "building reps",
    "no_load": "load not logged",
    "no_data": "no sessions",
}

#: The one tempo notation of the report: four medians in seconds, in the order lifting coaches write them.
TEMPO_ORDER = "eccentric-pause-concentric-hold"
TEMPO_EXPLAINED = (
    f"Tempo {TEMPO_ORDER}, in seconds: lowering (eccentric), pause at the bottom, lifting (concentric), "
    "hold at the top; each the week's median over the reps, in whole seconds, with the tenths given in the "
    "same order."
)

#: Band levels the plan file knows (storage.plan.BAND_LEVELS) can also be written as numbers: band:3.
_WEIGHT = re.compile(r"^([0-9.]+)\s*(kg|lb|lbs)$")


def exercise_name(exercise: str) -> str:
    """``banded_abduction_standing`` -> ``standing banded abduction``; unknown ids: underscores to spaces."""
    return EXERCISE_NAMES.get(exercise, exercise.replace("_", " "))


def exercise_title(exercise: str, side: str | None) -> str:
    """The exercise name with its side: ``clamshell (left)``."""
    return f"{exercise_name(exercise)} ({side})" if side else exercise_name(exercise)


def volume_unit(unit: str | None) -> str:
    """``band_level`` -> ``band-level reps``, ``kg`` -> ``kg reps``."""
    return VOLUME_UNITS.get(unit, f"reps x {unit}")


def _num(x: float) -> str:
    return f"{x:.0f}" if abs(x - round(x)) < 0.005 else f"{x:.2f}".rstrip("0").rstrip(".")


def describe_resistance(resistance: str | None) -> str:
    """A resistance in words: ``red band``, ``band level 3``, ``2 kg ankle weight``,
    ``5 lb (2.27 kg) ankle weight``, ``bodyweight``; ``None`` is ``an unlogged resistance``."""
    if resistance is None:
        return IMPLEMENTS[None]
    kind, _, spec = resistance.strip().lower().partition(":")
    if kind == "band" and spec:
        return f"band level {spec}" if spec.isdigit() else f"{spec} band"
    m = _WEIGHT.fullmatch(spec)
    if m:
        value, unit = float(m.group(1)), m.group(2)
        weight = f"{_num(value)} kg" if unit == "kg" else f"{_num(value)} lb ({_num(value * KG_PER_LB)} kg)"
        return f"{weight} {kind.replace('_', ' ')} weight"
    return f"{kind} {spec}".strip()


def describe_implement(resistance: str | None, load_unit: str | None) -> str:
    """The implement without its size: ``band``, ``ankle weight``, ``bodyweight``."""
    if resistance is not None and load_unit == "kg":
        return f"{resistance.partition(':')[0].replace('_', ' ')} weight"
    return IMPLEMENTS.get(load_unit, str(load_unit))


def status_words(status: str) -> str:
    """An overload status in words (the table's overload column)."""
    return STATUS_WORDS.get(status, status.replace("_", " "))
