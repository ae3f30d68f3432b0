"""The user's corrections (``hipsync edit``) and how a session's stored sets are derived from an analysis.

Every analysis (import, sync, reprocess) and every edit or undo stores a session's sets the same way,
:func:`label_sets` (the :data:`storage.edits.Labeller` hipsync uses):

1. the run's analysed sets (``storage.edits.base_sets``),
2. the session's edits in force, in the order they were made (:func:`apply_edits`),
3. the plan in effect on the session's date as a prior (:func:`processing.plan_prior.match_plan`), with
   the user's exercises as certain evidence,

so ``hipsync reprocess`` and a re-sync never lose a correction.

How an edit finds its set after a new analysis
----------------------------------------------
An edit names its set(s) by their time span when it was made (seconds on the session's time axis), never by
a set id or number. Applying it, the set it means is the one whose span overlaps the anchor by at least
half of the two spans' union (:data:`MIN_OVERLAP`); a merge takes every set lying mostly (half of itself)
inside the anchor; a split cuts the set that holds its time between two reps. When boundaries moved so far
that nothing matches, the edit is kept (never dropped), recorded as not applied with the reason
(``hipsync edit list`` shows it) and tried again after every later analysis. A merge whose sets the new
analysis already joined, or a split already there, counts as applied.

The services below check bad input (an unknown session, a set number out of range, a misspelt exercise)
on a read-only connection first, so bad input leaves the database file untouched, and raise
:class:`EditError` with one line naming the valid choices.
"""

from __future__ import annotations

import difflib
import getpass
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from hipsync.records import Exercise, ExerciseSet, Rep
from processing.metrics import tempo_consistency, velocity_loss
from processing.plan_prior import PlannedExercise, match_plan, rests_between, vote_of
from storage.corrections import add_correction, check_undo, corrections, session_sets, undo_correction
from storage.edits import (
    Edit,
    EditKind,
    EditOutcome,
    Labelled,
    NewEdit,
    SetView,
    StoredSet,
)
from storage.errors import NotFoundError
from storage.plan import Plan

log = logging.getLogger(__name__)

__all__ = [
    "MAX_REPS",
    "MIN_OVERLAP",
    "EditError",
    "EditResult",
    "EditedSet",
    "apply_edits",
    "clock",
    "correct_exercise",
    "correct_reps",
    "delete_set",
    "describe",
    "edit_history",
    "label_sets",
    "merge_sets",
    "parse_clock",
    "parse_exercise",
    "session_view",
    "split_set",
    "undo",
]

#: Overlap (intersection over union) an edit's anchor needs with a set to still mean it.
MIN_OVERLAP = 0.5
#: The most reps a corrected set may have.
MAX_REPS = 200
EXERCISE_NAMES = tuple(e.value for e in Exercise if e is not Exercise.UNKNOWN)


class EditError(ValueError):
    """Bad input to an edit (one line, naming the valid choices); nothing was changed."""


@dataclass(frozen=True, slots=True, kw_only=True)
class EditResult:
    """An edit as stored (its outcome included) and the session's sets after it."""

    edit: Edit
    sets: tuple[SetView, ...]


# ---------------------------------------------------------------------------------------- user's words


def clock(seconds: float) -> str:
    """``125.4`` -> ``2:05`` (minutes:seconds into the session; h:mm:ss from an hour on)."""
    total = max(round(seconds), 0)
    h, rest = divmod(total, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def parse_clock(text: str) -> float:
    """``2:05``, ``1:02:05`` or ``125.5`` (seconds) into the session -> seconds."""
    t = text.strip()
    if re.fullmatch(r"\d+(\.\d+)?", t):
        return float(t)
    m = re.fullmatch(r"(?:(\d+):)?(\d+):(\d{2}(?:\.\d+)?)", t)
    if m is None:
        raise EditError(
            f"cannot read the time {text!r}: give minutes:seconds into the session (2:05) or seconds"
        )
    return int(m.group(1) or 0) * 3600 + int(m.group(2)) * 60 + float(m.group(3))


def parse_exercise(text: str) -> Exercise:
    """An exercise from its name as users write it (``side-lying leg raise``, ``Clamshell``), or an
    :class:`EditError` suggesting the closest name."""
    key = re.sub(r"[\s-]+", "_", text.strip().lower())
    if key in EXERCISE_NAMES:
        return Exercise(key)
    close = difflib.get_close_matches(key, EXERCISE_NAMES, n=1, cutoff=0.5)
    hint = f"did you mean {close[0]}? " if close else ""
    raise EditError(f"unknown exercise {text!r}; {hint}choose one of: {', '.join(EXERCISE_NAMES)}")


def describe(edit: Edit) -> str:
    """What an edit says, in a few words: ``exercise clamshell``, ``reps 12``, ``split at 2:05``."""
    if edit.kind == "exercise":
        return f"exercise {edit.exercise}"
    if edit.kind == "reps":
        return f"reps {edit.n_reps}"
    if edit.kind == "split":
        return f"split at {clock(edit.at_s or 0.0)}"
    if edit.kind == "merge":
        return f"merge {clock(edit.start_s)}-{clock(edit.end_s)}"
    return "delete"


def current_user() -> str:
    """Who makes an edit: the operating-system user."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name (some containers): still record something
        return "unknown"


# ----------------------------------------------------------------------------------- applying the edits


@dataclass(frozen=True, slots=True, kw_only=True)
class EditedSet:
    """A set with the edits applied: the analysed set (reps, times, the recogniser's vote; merged or split
    as the user said) and the exercise and rep count the user gave, if any."""

    set: ExerciseSet
    user_exercise: Exercise | None = None
    user_reps: int | None = None
    corrected: bool = False


def _iou(a0: float, a1: float, b0: float, b1: float) -> float:
    union = max(a1, b1) - min(a0, b0)
    return max(0.0, min(a1, b1) - max(a0, b0)) / union if union > 0 else 0.0


def _find(sets: Sequence[EditedSet], edit: Edit) -> int | None:
    """The set the edit's anchor still means (overlap of at least :data:`MIN_OVERLAP`), if any."""
    scored = [(_iou(w.set.start_s, w.set.end_s, edit.start_s, edit.end_s), i) for i, w in enumerate(sets)]
    best = max(scored, default=(0.0, -1))
    return best[1] if best[0] >= MIN_OVERLAP else None


def _span(edit: Edit) -> str:
    return f"{clock(edit.start_s)}-{clock(edit.end_s)}"


def _missing(edit: Edit) -> EditOutcome:
    return EditOutcome(
        edit_id=edit.edit_id,
        applied=False,
        note=f"kept, not applied: no set spans {_span(edit)} in this analysis any more",
    )


def _done(edit: Edit, note: str) -> EditOutcome:
    return EditOutcome(edit_id=edit.edit_id, applied=True, note=note)


def _relabel(sets: list[EditedSet], edit: Edit) -> tuple[list[EditedSet], EditOutcome]:
    i = _find(sets, edit)
    if i is None or edit.exercise is None:
        return sets, _missing(edit)
    sets[i] = replace(sets[i], user_exercise=Exercise(edit.exercise), corrected=True)
    return sets, _done(edit, f"the set at {_span(edit)} is {edit.exercise}")


def _recount(sets: list[EditedSet], edit: Edit) -> tuple[list[EditedSet], EditOutcome]:
    i = _find(sets, edit)
    if i is None or edit.n_reps is None:
        return sets, _missing(edit)
    sets[i] = replace(sets[i], user_reps=edit.n_reps, corrected=True)
    detected = len(sets[i].set.reps)
    return sets, _done(edit, f"the set at {_span(edit)} has {edit.n_reps} reps ({detected} detected)")


def _delete(sets: list[EditedSet], edit: Edit) -> tuple[list[EditedSet], EditOutcome]:
    i = _find(sets, edit)
    if i is None:
        return sets, _missing(edit)
    del sets[i]
    return sets, _done(edit, f"the set at {_span(edit)} is deleted")


def _with_reps(s: ExerciseSet, reps: Sequence[Rep], start_s: float, end_s: float) -> ExerciseSet:
    """``s`` holding ``reps`` (time order) from ``start_s`` to ``end_s``, its per-set metrics recomputed."""
    return replace(
        s,
        start_s=start_s,
        end_s=end_s,
        reps=tuple(reps),
        velocity_loss=velocity_loss(reps),
        tempo_consistency=tempo_consistency(reps),
    )


def _joined(parts: Sequence[EditedSet]) -> EditedSet:
    """One set of ``parts``: all their reps; the vote of the part with most reps, scores weighed by reps."""
    main = max(parts, key=lambda w: len(w.set.reps))
    reps = sorted((r for w in parts for r in w.set.reps), key=lambda r: r.start_s)
    scored = [w for w in parts if w.set.exercise_scores]
    total = sum(len(w.set.reps) for w in scored) or 1
    scores = {
        e: sum(len(w.set.reps) * w.set.exercise_scores.get(e, 0.0) for w in scored) / total
        for e in {e for w in scored for e in w.set.exercise_scores}
    }
    named = [w for w in parts if w.user_exercise is not None]
    counted = any(w.user_reps is not None for w in parts)
    merged = _with_reps(main.set, reps, min(w.set.start_s for w in parts), max(w.set.end_s for w in parts))
    return EditedSet(
        set=replace(merged, exercise_scores=scores),
        user_exercise=max(named, key=lambda w: len(w.set.reps)).user_exercise if named else None,
        user_reps=sum(w.user_reps or len(w.set.reps) for w in parts) if counted else None,
        corrected=True,
    )


def _merge(sets: list[EditedSet], edit: Edit) -> tuple[list[EditedSet], EditOutcome]:
    inside = [
        i
        for i, w in enumerate(sets)
        if min(w.set.end_s, edit.end_s) - max(w.set.start_s, edit.start_s)
        >= 0.5 * max(w.set.end_s - w.set.start_s, 1e-9)
    ]
    if len(inside) >= 2:
        first, last = inside[0], inside[-1]
        sets[first : last + 1] = [_joined(sets[first : last + 1])]
        return sets, _done(edit, f"the {last - first + 1} sets at {_span(edit)} are one set")
    if len(inside) == 1 and _find(sets, edit) == inside[0]:
        return sets, _done(edit, f"the set at {_span(edit)} is one set already")
    return sets, _missing(edit)


def _split(sets: list[EditedSet], edit: Edit) -> tuple[list[EditedSet], EditOutcome]:
    at = edit.at_s
    if at is None:
        return sets, _missing(edit)
    for i, w in enumerate(sets):
        before = [r for r in w.set.reps if 0.5 * (r.start_s + r.end_s) < at]
        after = [r for r in w.set.reps if 0.5 * (r.start_s + r.end_s) >= at]
        if before and after and w.set.start_s < at < w.set.end_s:
            first = replace(w, set=_with_reps(w.set, before, w.set.start_s, before[-1].end_s), user_reps=None)
            second = replace(w, set=_with_reps(w.set, after, after[0].start_s, w.set.end_s), user_reps=None)
            sets[i : i + 1] = [replace(first, corrected=True), replace(second, corrected=True)]
            lost = "; its rep count correction no longer applies" if w.user_reps is not None else ""
            return sets, _done(edit, f"the set at {_span(edit)} is two sets from {clock(at)}{lost}")
    ends = [w.set.end_s for w in sets if edit.start_s <= w.set.end_s <= at]
    starts = [w.set.start_s for w in sets if at <= w.set.start_s <= edit.end_s]
    if ends and starts:
        return sets, _done(edit, f"the set at {_span(edit)} is split at {clock(at)} already")
    return sets, _missing(edit)


_APPLY: dict[str, Callable[[list[EditedSet], Edit], tuple[list[EditedSet], EditOutcome]]] = {
    "exercise": _relabel,
    "reps": _recount,
    "merge": _merge,
    "split": _split,
    "delete": _delete,
}


def apply_edits(
    base: Sequence[ExerciseSet], edits: Sequence[Edit]
) -> tuple[list[EditedSet], tuple[EditOutcome, ...]]:
    """The analysed sets with the edits applied in order, and what each edit did (see the module doc)."""
    sets = [EditedSet(set=s) for s in base]
    outcomes: list[EditOutcome] = []
    for edit in edits:
        sets, outcome = _APPLY[edit.kind](list(sets), edit)
        outcomes.append(outcome)
    return sets, tuple(outcomes)


def planned_exercises(plan: Plan | None) -> list[PlannedExercise]:
    """The plan's exercises with their target set counts (none without a plan)."""
    if plan is None:
        return []
    return [PlannedExercise(exercise=it.exercise, target_sets=it.target_sets) for it in plan.items]


def label_sets(base: Sequence[ExerciseSet], plan: Plan | None, edits: Sequence[Edit]) -> Labelled:
    """The sets to store: the edits applied to the analysed sets, then the plan prior (the user's exercises
    as certain evidence); each set's exercise from the user, the plan or the recogniser."""
    work, outcomes = apply_edits(base, edits)
    given = {i: w.user_exercise for i, w in enumerate(work) if w.user_exercise is not None}
    labels = match_plan(
        [vote_of(w.set) for w in work],
        planned_exercises(plan),
        fixed=given,
        rests_s=rests_between([w.set for w in work]),
    )
    stored = []
    for w, label in zip(work, labels, strict=True):
        user = w.user_exercise
        stored.append(
            StoredSet(
                set=replace(
                    w.set,
                    exercise=user or label.exercise,
                    exercise_confidence=1.0 if user else label.confidence,
                ),
                exercise_source="user" if user else label.source,
                recognised_exercise=w.set.exercise,
                recognised_confidence=w.set.exercise_confidence,
                n_reps=w.user_reps if w.user_reps is not None else len(w.set.reps),
                corrected=w.corrected,
            )
        )
    return Labelled(sets=tuple(stored), outcomes=outcomes)


# ------------------------------------------------------------------------------------------- the edits


def _the_set(sid: str, sets: Sequence[SetView], number: int) -> SetView:
    if not sets:
        raise EditError(f"session {sid[:8]} has no sets to correct")
    if not 1 <= number <= len(sets):
        raise EditError(f"session {sid[:8]} has sets 1-{len(sets)}; there is no set {number}")
    return sets[number - 1]


def _new(
    sid: str,
    kind: EditKind,
    s: SetView,
    who: str,
    *,
    exercise: str | None = None,
    n_reps: int | None = None,
    at_s: float | None = None,
) -> NewEdit:
    """The edit of set ``s``, anchored to its span."""
    return NewEdit(
        session_id=sid,
        kind=kind,
        set_number=s.set_index,
        start_s=s.start_s,
        end_s=s.end_s,
        exercise=exercise,
        n_reps=n_reps,
        at_s=at_s,
        created_by=who,
    )


def _run(db_path: Path | str, session: str, make: Callable[[str, list[SetView]], NewEdit]) -> EditResult:
    """Check the edit on a read-only connection (bad input changes nothing, not even the file), then
    store it and derive the session's sets again in one write transaction."""
    try:
        sid, sets = session_sets(db_path, session)
        make(sid, sets)
        edit, after = add_correction(db_path, session, make, label_sets)
    except (NotFoundError, EditError) as e:
        raise EditError(str(e)) from e
    return EditResult(edit=edit, sets=tuple(after))


def correct_exercise(
    db_path: Path | str, session: str, set_number: int, exercise: str, *, who: str | None = None
) -> EditResult:
    """Set ``set_number`` of ``session`` was ``exercise`` (the user's words are accepted, typos are not)."""
    ex = parse_exercise(exercise)
    by = who or current_user()

    def make(sid: str, sets: list[SetView]) -> NewEdit:
        return _new(sid, "exercise", _the_set(sid, sets, set_number), by, exercise=ex.value)

    return _run(db_path, session, make)


def correct_reps(
    db_path: Path | str, session: str, set_number: int, n_reps: int, *, who: str | None = None
) -> EditResult:
    """Set ``set_number`` had ``n_reps`` reps (the detected reps stay for tempo and ROM)."""
    if not 1 <= n_reps <= MAX_REPS:
        raise EditError(f"a set has 1 to {MAX_REPS} reps; got {n_reps}")
    by = who or current_user()

    def make(sid: str, sets: list[SetView]) -> NewEdit:
        return _new(sid, "reps", _the_set(sid, sets, set_number), by, n_reps=n_reps)

    return _run(db_path, session, make)


def delete_set(db_path: Path | str, session: str, set_number: int, *, who: str | None = None) -> EditResult:
    """Set ``set_number`` was no set (a false detection)."""
    by = who or current_user()

    def make(sid: str, sets: list[SetView]) -> NewEdit:
        return _new(sid, "delete", _the_set(sid, sets, set_number), by)

    return _run(db_path, session, make)


def merge_sets(
    db_path: Path | str, session: str, set_number: int, other: int | None = None, *, who: str | None = None
) -> EditResult:
    """Sets ``set_number`` and ``other`` (its neighbour; default: the next set) were one set."""
    by = who or current_user()

    def make(sid: str, sets: list[SetView]) -> NewEdit:
        a = _the_set(sid, sets, set_number)
        if other is None and set_number == len(sets):
            raise EditError(
                f"set {set_number} is the last set; merge it with set {set_number - 1} (give both numbers)"
            )
        b = _the_set(sid, sets, set_number + 1 if other is None else other)
        if abs(a.set_index - b.set_index) != 1:
            hint = " or ".join(str(n) for n in (a.set_index - 1, a.set_index + 1) if 1 <= n <= len(sets))
            raise EditError(
                f"sets {a.set_index} and {b.set_index} are not neighbours; merge {a.set_index} with {hint}"
            )
        first, second = sorted((a, b), key=lambda s: s.set_index)
        return replace(_new(sid, "merge", first, by), end_s=second.end_s)

    return _run(db_path, session, make)


def split_set(
    db_path: Path | str,
    session: str,
    set_number: int,
    *,
    after_rep: int | None = None,
    at: str | None = None,
    who: str | None = None,
) -> EditResult:
    """Set ``set_number`` was two sets: cut it after rep ``after_rep`` or at time ``at`` (m:ss into the
    session), between two of its reps."""
    if (after_rep is None) == (at is None):
        raise EditError("say where to split: after a rep (--after-rep 6) or at a time (--at 2:05)")
    at_s = None if at is None else parse_clock(at)
    by = who or current_user()

    def make(sid: str, sets: list[SetView]) -> NewEdit:
        s = _the_set(sid, sets, set_number)
        mids = [0.5 * (a + b) for a, b in s.reps]
        if len(mids) < 2:
            raise EditError(f"set {set_number} has {len(mids)} rep(s): nothing to split")
        if after_rep is not None:
            if not 1 <= after_rep < len(mids):
                raise EditError(
                    f"set {set_number} has {len(mids)} reps: split after rep 1 to {len(mids) - 1}"
                )
            cut = 0.5 * (s.reps[after_rep - 1][1] + s.reps[after_rep][0])
        else:
            assert at_s is not None
            if not mids[0] < at_s <= mids[-1]:
                raise EditError(
                    f"set {set_number} runs {clock(s.start_s)}-{clock(s.end_s)}; give a time between its "
                    f"first and last rep ({clock(mids[0])}-{clock(mids[-1])})"
                )
            cut = at_s
        return _new(sid, "split", s, by, at_s=cut)

    return _run(db_path, session, make)


def undo(db_path: Path | str, edit_id: int | None = None, *, who: str | None = None) -> EditResult:
    """Take back edit ``edit_id`` (default: the latest in force); it stays listed as undone."""
    try:
        check_undo(db_path, edit_id)
        edit, after = undo_correction(db_path, edit_id, who or current_user(), label_sets)
    except (NotFoundError, ValueError) as e:
        raise EditError(str(e)) from e
    return EditResult(edit=edit, sets=tuple(after))


def edit_history(db_path: Path | str, session: str | None = None) -> list[Edit]:
    """Every edit (of one session), undone ones too, oldest first."""
    try:
        return corrections(db_path, session)
    except NotFoundError as e:
        raise EditError(str(e)) from e


def session_view(db_path: Path | str, session: str) -> tuple[str, list[SetView]]:
    """A session's id and current sets (for showing them)."""
    try:
        return session_sets(db_path, session)
    except NotFoundError as e:
        raise EditError(str(e)) from e
