"""The whole analysis: recording in, :class:`SessionAnalysis` out.

Steps (each its own module, each returning its result and a quality record):
1. :func:`processing.clean.clean_and_resample`
2. :func:`processing.orientation.estimate_motion`
3. :func:`processing.activity.classify_activity`
4. :func:`processing.windows.find_candidate_windows`, then per window
   :func:`processing.orientation.rotation_angle` and
5. :func:`processing.reps.detect_reps` (5a-5c), :func:`processing.sets.group_reps` and
   :func:`processing.sets.accept_set` (5d-5g), :func:`processing.passive.passive_reason` (5h)
6. :func:`processing.exercise.vote`
7. :func:`processing.metrics.velocity_loss`, :func:`processing.metrics.tempo_consistency`

Every window the analysis looked at ends up in ``SessionAnalysis.considered`` as a
:class:`hipsync.records.MovementPeriod` with its verdict and the numbers behind it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from hipsync.records import (
    Exercise,
    ExerciseSet,
    ExerciseVote,
    MovementPeriod,
    Recording,
    Rep,
    SessionAnalysis,
    Side,
)
from processing.activity import Activity, ActivityResult, Posture, classify_activity, classify_posture
from processing.clean import CleanSignal, clean_and_resample
from processing.exercise import SetGeometry, turns_about_vertical, upright_reference, vote
from processing.filters import FloatArray, median_small
from processing.metrics import tempo_consistency, velocity_loss
from processing.orientation import (
    AngleTrace,
    Motion,
    Pose,
    estimate_motion,
    gravity_path_axis,
    rotation_angle,
)
from processing.params import AnalysisParams
from processing.passive import (
    flip_is_a_set,
    flipped_span,
    knee_moves_inward,
    lift_fraction,
    lying_on_sensor_leg,
    passive_reason,
    rest_and_top,
    rest_level_fraction,
)
from processing.reps import RepCandidate, detect_reps, refine_phases
from processing.sets import Verdict, accept_set, group_reps, on_axis, split_at_posture
from processing.windows import Window, find_candidate_windows

logger = logging.getLogger(__name__)

ALGORITHM_VERSION = "1.3.0"

ACCEL_ONLY_NOTE = (
    "accelerometer only: seated abduction turns the thigh about the vertical, which gravity cannot "
    "measure; such sets are reported as unknown or missed"
)
NO_WALKING_NOTE = (
    "no walking in the recording: thigh axis unknown; exercise from the rotation axis, gravity and "
    "the sensor's face normal (sensor assumed flat on the lateral thigh)"
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Session:
    """What every window's analysis needs from steps 1-3 (arrays on the clean grid)."""

    clean: CleanSignal
    motion: Motion
    activity: ActivityResult
    walking_guard: npt.NDArray[np.bool_]
    pose: Pose
    reference: FloatArray | None
    side: Side | None
    params: AnalysisParams

    @property
    def fs(self) -> float:
        return self.clean.fs_hz

    @property
    def has_gyro(self) -> bool:
        return self.motion.gyro_dps is not None


@dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    """One window's result: the set (or None), its quality record and the period for ``--explain``."""

    set: ExerciseSet | None
    quality: dict[str, Any]
    period: MovementPeriod


def _to_reps(cands: list[RepCandidate], t0: float, fs: float, params: AnalysisParams) -> tuple[Rep, ...]:
    if not cands:
        return ()
    ref = median_small([c.rom_deg for c in cands])
    return tuple(
        Rep(
            start_s=t0 + c.start / fs,
            top_start_s=t0 + c.top_start / fs,
            top_end_s=t0 + c.top_end / fs,
            end_s=t0 + c.end / fs,
            rom_deg=float(c.rom_deg),
            partial=bool(c.rom_deg < params.partial_rom_fraction * ref),
            peak_concentric_speed_dps=float(c.peak_concentric_dps),
        )
        for c in cands
    )


_DETAILS = {
    Verdict.TOO_FEW_REPS: "{kept} of {n} rep-like excursions kept; a set needs {min_reps}",
    Verdict.SMALL_ROM: "median range {rom} deg, under {min_rom} deg",
    Verdict.SLOW: "median peak speed {speed} deg/s, under {min_speed} deg/s",
    Verdict.IRREGULAR: "ranges too irregular for deliberate reps (robust CV {cv} in a block of like reps)",
    Verdict.WALKING: "the excursions overlap walking",
    Verdict.SET: "{kept} reps, median range {rom} deg",
}


def _detail(sq: dict[str, Any], p: AnalysisParams) -> str:
    verdict = Verdict(sq["verdict"])
    if "detail" in sq:
        return str(sq["detail"])
    return _DETAILS.get(verdict, str(verdict)).format(
        kept=sq.get("reps_kept", 0),
        n=sq.get("reps_in", 0),
        min_reps=p.min_reps_per_set,
        rom=sq.get("median_rom_deg"),
        min_rom=p.min_set_rom_deg,
        speed=sq.get("median_peak_speed_dps"),
        min_speed=p.min_peak_speed_dps,
        cv=sq.get("rom_cv"),
    )


def _period(sess: Session, win: Window, q: dict[str, Any], ex_set: ExerciseSet | None) -> MovementPeriod:
    sq = q.get("set", {})
    verdict = sq.get("verdict", str(Verdict.TOO_FEW_REPS))
    t = sess.clean.time_s
    return MovementPeriod(
        start_s=ex_set.start_s if ex_set else float(t[win.start]),
        end_s=ex_set.end_s if ex_set else float(t[win.stop - 1]),
        counted=ex_set is not None,
        reason=str(verdict),
        detail=_detail(sq, sess.params) if sq else str(q.get("detail", "")),
        excursions=int(q.get("reps", {}).get("candidates", 0)),
        reps_counted=len(ex_set.reps) if ex_set else 0,
        median_rom_deg=sq.get("median_rom_deg"),
        rom_cv=sq.get("rom_cv"),
        median_rep_s=sq.get("median_rep_s"),
        blocks=int(sq.get("blocks", 0)),
        angle_source=q.get("angle_source"),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class _Judged:
    """A group of reps that passed or failed as a set, with everything needed to build the set."""

    kept: list[RepCandidate]
    quality: dict[str, Any]
    vote: ExerciseVote | None = None


def _rest_up(sess: Session, reps: list[RepCandidate], offset: int) -> FloatArray:
    """Unit mean gravity ("up" in the sensor frame) at the reps' starts: the set's rest position."""
    starts = np.clip(np.round([c.start for c in reps]).astype(int) + offset, 0, sess.clean.n - 1)
    rest = sess.motion.gravity[starts].mean(axis=0)
    return np.asarray(rest / max(float(np.linalg.norm(rest)), 1e-9), dtype=np.float64)


def _unit_mean(v: FloatArray) -> FloatArray:
    m = v.mean(axis=0)
    return np.asarray(m / max(float(np.linalg.norm(m)), 1e-9), dtype=np.float64)


def _vote_axis(sess: Session, trace: AngleTrace, reps: list[RepCandidate], offset: int) -> FloatArray:
    """The rotation axis the exercise vote sees. With a gyro the window's axis; without one the normal of
    the path gravity travels during the set's own reps (horizontal by construction, as the vote's
    accelerometer templates expect; the window's angle-weighted axis can lean towards other movement in
    the window, such as knee sways after a bridge set)."""
    if sess.has_gyro:
        return trace.axis
    lo = max(0, round(reps[0].start) + offset)
    hi = min(sess.clean.n, round(reps[-1].end) + offset + 1)
    return gravity_path_axis(sess.motion.gravity[lo:hi]) if hi - lo >= 3 else trace.axis


def _classify(
    sess: Session, trace: AngleTrace, reps: list[RepCandidate], offset: int
) -> tuple[ExerciseVote, dict[str, Any], Posture, dict[str, Any]]:
    """Step 6: exercise vote and posture of a set from its rep axis and the gravity at the reps' starts
    (rest) and tops. ``eq["about_vertical"]``: whether the reps turn about the vertical, whatever their
    name (the passive-leg checks ask this)."""
    rest, top = rest_and_top(reps, sess.motion.gravity, offset)
    act = sess.activity
    geometry = SetGeometry(
        axis=_vote_axis(sess, trace, reps, offset),
        rest_gravity=_unit_mean(rest),
        top_gravity=_unit_mean(top),
        rom_deg=median_small([c.rom_deg for c in reps]),
        has_gyro=sess.has_gyro,
        thigh_axis=act.thigh_axis,
        mediolateral_axis=act.mediolateral_axis,
        references=sess.reference,
    )
    exercise_vote, eq = vote(geometry, sess.params)
    eq["about_vertical"] = exercise_vote.exercise == Exercise.BANDED_ABDUCTION_SEATED or turns_about_vertical(
        geometry
    )
    posture, pq = classify_posture(geometry.rest_gravity, act.thigh_axis, act.mediolateral_axis)
    return exercise_vote, eq, posture, pq


def _try_flip(
    sess: Session, trace: AngleTrace, group: list[RepCandidate], polarity: int, win: Window, q: dict[str, Any]
) -> list[RepCandidate] | None:
    """5h: the group lifts too little against gravity; the reps seen with the opposite polarity, when they
    are a set that starts or ends at rest and lifts (else None: the leg moves with gravity, a passive leg)."""
    p, fs = sess.params, sess.fs
    cands, _ = detect_reps(trace.angle_deg, trace.speed_dps, fs, p, polarity=-polarity)
    lo, hi = flipped_span(group, fs)
    flipped = [c for c in cands if c.start >= lo and c.end <= hi]
    frac = None if not flipped else rest_level_fraction(-polarity * trace.angle_deg, flipped, fs, p)
    q["flipped_rest_fraction"] = None if frac is None else round(frac, 3)
    walking = sess.walking_guard[win.start : win.stop]
    kept2, sq2 = accept_set(flipped, walking, p, fs, -polarity * trace.angle_deg) if flipped else ([], {})
    lift2 = lift_fraction(kept2, sess.motion.gravity, win.start, sess.activity.thigh_axis) if kept2 else None
    if not flip_is_a_set(frac, kept2, lift2, p):
        return None
    q["set"] = sq2
    q["lift_fraction"] = None if lift2 is None else round(lift2, 3)
    q["reps"] = {**q["reps"], "polarity": -polarity}
    return kept2


def _check(
    sess: Session, trace: AngleTrace, kept: list[RepCandidate], win: Window, q: dict[str, Any]
) -> tuple[str | None, ExerciseVote, float | None]:
    """6 + 5h for reps judged a set: the exercise vote, whether (and why) it is passive, and the lift."""
    exercise_vote, eq, posture, pq = _classify(sess, trace, kept, win.start)
    lift = lift_fraction(kept, sess.motion.gravity, win.start, sess.activity.thigh_axis)
    q.update(lift_fraction=None if lift is None else round(lift, 3), exercise=eq, posture=str(posture))
    q["posture_quality"] = pq
    lateral = sess.activity.lateral_axis
    why = passive_reason(
        kept,
        bool(eq["about_vertical"]),
        posture,
        lift,
        sess.params,
        underneath=lying_on_sensor_leg(_rest_up(sess, kept, win.start), lateral),
        inward=knee_moves_inward(kept, sess.motion.gravity, win.start, lateral),
    )
    return why, exercise_vote, lift


def _upside_down(q: dict[str, Any], why: str | None, lift: float | None, p: AnalysisParams) -> str | None:
    """Why the reps may be seen with the wrong polarity (the rest taken for the top), or None: they lift too
    little against gravity (``"low_lift"``), a "seated" set (about the vertical) tilts the thigh
    (``"tilting"``: a bridge seen from its top looks seated), or the exercise vote fits its exercise better
    with rest and top swapped (``"swapped"``). ``q["exercise"]`` is the set's exercise quality record."""
    eq = q["exercise"]
    best = max(eq["scores"], key=eq["scores"].get) if eq.get("scores") else None
    swapped = best is not None and eq["confidence"] >= p.min_exercise_confidence and best in eq["swapped"]
    if lift is None:
        return "swapped" if swapped else None
    seated = bool(eq["about_vertical"])
    if why is None and not seated and lift < p.min_lift_fraction:
        return "low_lift"
    if seated and abs(lift) > p.max_seated_lift:
        return "tilting"
    return "swapped" if swapped and why is None else None


def _judge_group(
    sess: Session, trace: AngleTrace, group: list[RepCandidate], win: Window, q: dict[str, Any]
) -> _Judged:
    """5g + 5h + 6 for one group of reps."""
    p = sess.params
    x = int(q["reps"]["polarity"]) * trace.angle_deg
    kept, sq = accept_set(group, sess.walking_guard[win.start : win.stop], p, sess.fs, x)
    q["set"] = sq
    if not kept:
        return _Judged(kept=[], quality=sq)
    why, exercise_vote, lift = _check(sess, trace, kept, win, q)
    cue = _upside_down(q, why, lift, p)
    if cue is not None:
        # Every exercise lifts the leg (or the hips) against gravity in its concentric phase: either the
        # polarity was wrong (the rest is the other extreme) or a passive leg is rocked down and back.
        before = {k: q[k] for k in ("set", "reps", "lift_fraction", "exercise", "posture", "posture_quality")}
        flipped = _try_flip(sess, trace, group, int(q["reps"]["polarity"]), win, q)
        flip_why, flip_vote, _ = (
            _check(sess, trace, flipped, win, q) if flipped else (None, exercise_vote, None)
        )
        if flipped is not None and (cue != "swapped" or flip_why is None):
            why, exercise_vote, kept = flip_why, flip_vote, flipped
        elif cue == "swapped":
            # the vote's swapped reading is only a hint: without a set the other way round, keep this one
            q.update(before)
        elif why is None:
            why = f"moves with gravity (lift {lift:.2f} of the range): a leg rocked by the other one"
    if why is not None:
        q["set"] = {**q["set"], "verdict": str(Verdict.PASSIVE), "detail": why}
        return _Judged(kept=[], quality=q["set"])
    return _Judged(kept=kept, quality=q["set"], vote=exercise_vote)


def _turned(sess: Session, reps: list[RepCandidate], offset: int) -> FloatArray:
    """How far the thigh turned from each rep's start to the middle of its top (deg)."""
    n = sess.clean.n
    i = np.clip(np.array([round(r.start) for r in reps], dtype=np.intp) + offset, 0, n - 1)
    j = np.clip(
        np.array([round(0.5 * (r.top_start + r.top_end)) for r in reps], dtype=np.intp) + offset, 0, n - 1
    )
    return sess.pose.turn_deg(i, j)


def _analyze_axis(sess: Session, win: Window, axis_rank: int) -> tuple[ExerciseSet | None, dict[str, Any]]:
    """Reps about one rotation axis of the window, grouped and judged largest group first."""
    fs, t = sess.fs, sess.clean.time_s
    trace = rotation_angle(sess.motion, win.start, win.stop, fs, sess.params, axis_rank=axis_rank)
    cands, rq = detect_reps(trace.angle_deg, trace.speed_dps, fs, sess.params)
    q: dict[str, Any] = {
        "start_s": round(float(t[win.start]), 3),
        "end_s": round(float(t[win.stop - 1]), 3),
        "angle_source": trace.source,
        "reps": rq,
    }
    x = int(rq["polarity"]) * trace.angle_deg
    cands = on_axis(cands, _turned(sess, cands, win.start), sess.params)
    rest_up, _ = rest_and_top(cands, sess.motion.gravity, win.start)
    index = {id(c): i for i, c in enumerate(cands)}
    groups = sorted(
        (
            part
            for g in group_reps(cands, fs, sess.params, x)
            for part in split_at_posture(g, rest_up[[index[id(c)] for c in g]], sess.params)
        ),
        key=len,
        reverse=True,
    )
    q["groups"] = [len(g) for g in groups]
    first: dict[str, Any] | None = None
    p_frac = sess.params.phase_speed_fraction
    for group in groups or [[]]:
        judged = _judge_group(sess, trace, group, win, q)
        first = first or judged.quality
        if judged.kept:
            q["gap_fraction"] = _gap_fraction(sess, win, judged.kept)
            if trace.phase_speed_dps is not None:
                polarity = int(q["reps"]["polarity"])
                kept = refine_phases(judged.kept, trace.angle_deg, trace.phase_speed_dps, polarity, p_frac)
                judged = _Judged(kept=kept, quality=judged.quality, vote=judged.vote)
            return _make_set(sess, win, judged), q
    q["set"] = first
    return None, q


def _gap_fraction(sess: Session, win: Window, kept: list[RepCandidate]) -> float:
    """Share of the set's span that lies inside data gaps (interpolated, not measured)."""
    lo = max(0, int(kept[0].start) + win.start)
    hi = min(sess.clean.n, int(np.ceil(kept[-1].end)) + win.start + 1)
    return round(float(1.0 - sess.clean.valid[lo:hi].mean()), 4) if hi > lo else 0.0


def _make_set(sess: Session, win: Window, judged: _Judged) -> ExerciseSet:
    """Step 7: the set's reps on the recording's time axis, velocity loss and tempo consistency."""
    reps = _to_reps(judged.kept, float(sess.clean.time_s[win.start]), sess.fs, sess.params)
    exercise_vote = judged.vote
    assert exercise_vote is not None  # a kept group has been classified
    return ExerciseSet(
        exercise=exercise_vote.exercise,
        side=sess.side,
        start_s=reps[0].start_s,
        end_s=reps[-1].end_s,
        reps=reps,
        velocity_loss=velocity_loss(reps),
        tempo_consistency=tempo_consistency(reps),
        exercise_confidence=exercise_vote.confidence,
        exercise_reason=exercise_vote.reason,
        exercise_scores=exercise_vote.scores,
    )


def analyze_window(sess: Session, win: Window) -> Outcome:
    """Reps, exercise and metrics of one candidate window (``Outcome.set`` None when it is not a set).

    The angle-weighted principal axis of the angular rate first (without a gyro: of gravity's turning
    rate); when no set is found, with a gyro the principal axis of the unit rate vectors of moving samples
    (long sets outweigh short, fast sit/stand movements), without one the normal of gravity's path, then
    the second principal axis. A window that turns the thigh by less than
    ``2 x min_reps_per_set x min_rom_deg`` in all (every rep goes there and back) is not analysed.
    """
    p, t = sess.params, sess.clean.time_s
    turned_deg = float(np.sum(sess.motion.speed_dps[win.start : win.stop])) / sess.fs
    if turned_deg < 2.0 * p.min_reps_per_set * p.min_rom_deg:
        sq = {
            "verdict": str(Verdict.LITTLE_MOVEMENT),
            "turned_deg": round(turned_deg, 1),
            "detail": f"turned the thigh by {turned_deg:.0f} deg in all; three reps need at least "
            f"{2.0 * p.min_reps_per_set * p.min_rom_deg:.0f}",
        }
        q = {"start_s": round(float(t[win.start]), 3), "end_s": round(float(t[win.stop - 1]), 3), "set": sq}
        return Outcome(set=None, quality=q, period=_period(sess, win, q, None))
    ex_set, q = _analyze_axis(sess, win, 0)
    if ex_set is None:
        for rank in (2, 1):
            s2, q2 = _analyze_axis(sess, win, rank)
            if s2 is not None:
                q2["axis_rank"] = rank
                ex_set, q = s2, q2
                break
    return Outcome(set=ex_set, quality=q, period=_period(sess, win, q, ex_set))


def _span(sess: Session, ex_set: ExerciseSet) -> tuple[int, int]:
    """Grid indices of a set's first start and last end, padded by half a second."""
    half = round(0.5 * sess.fs)
    i0 = int(np.searchsorted(sess.clean.time_s, ex_set.start_s)) - half
    i1 = int(np.searchsorted(sess.clean.time_s, ex_set.end_s)) + half
    return i0, i1


def _moving_outside(sess: Session, win: Window, i0: int, i1: int) -> bool:
    act = sess.activity.activity
    lo_part = act[win.start : max(win.start, i0)] == Activity.MOVING
    hi_part = act[min(win.stop, i1) : win.stop] == Activity.MOVING
    return bool(lo_part.sum() + hi_part.sum() >= 1.0 * sess.fs)


def _own_span(sess: Session, win: Window, out: Outcome) -> tuple[Outcome, list[Window]]:
    """The window holds more movement than its set: the rotation axis was computed with foreign movement
    mixed in. Analyse the set's own span again, then queue the leftovers on their own."""
    assert out.set is not None
    p, fs = sess.params, sess.fs
    i0, i1 = _span(sess, out.set)
    margin = round(p.set_margin_s * fs)
    again = analyze_window(sess, Window(start=max(win.start, i0 - margin), stop=min(win.stop, i1 + margin)))
    if again.set is not None:
        out = again
        i0, i1 = _span(sess, again.set)
    leftovers = []
    for lo, hi in ((win.start, i0), (i1, win.stop)):
        moving = sess.activity.activity[max(lo, 0) : max(hi, 0)] == Activity.MOVING
        if hi - lo >= p.min_window_s * fs and moving.sum() >= 1.0 * fs:
            leftovers.append(Window(start=lo, stop=hi))
    return out, leftovers


def _widened(sess: Session, win: Window, out: Outcome) -> Outcome:
    """A slow or partial rep at either end of a set can fall outside the window (its speed stays under the
    movement threshold). Look once more with the span widened by ``widen_rep_periods`` of the set's own rep
    period on both sides (not into walking); the grouping keeps only reps that belong to this set."""
    assert out.set is not None
    p, fs, n = sess.params, sess.fs, sess.clean.n
    walking, act = sess.activity.walking, sess.activity.activity
    reps = out.set.reps
    period_s = (reps[-1].end_s - reps[0].start_s) / max(len(reps) - 1, 1) if len(reps) > 1 else 0.0
    ext = round(p.widen_rep_periods * max(period_s, reps[0].end_s - reps[0].start_s) * fs)
    i0, i1 = _span(sess, out.set)
    lo, hi = max(0, i0 - ext), min(n, i1 + ext)
    while lo < i0 and walking[lo]:
        lo += 1
    while hi > i1 and walking[hi - 1]:
        hi -= 1
    beyond = int(np.sum(act[lo : max(lo, win.start)] == Activity.MOVING)) + int(
        np.sum(act[min(hi, win.stop) : hi] == Activity.MOVING)
    )
    if beyond == 0 or hi - lo < p.min_window_s * fs:
        return out
    wide = analyze_window(sess, Window(start=lo, stop=hi))
    if wide.set is not None and len(wide.set.reps) > len(reps) and wide.set.start_s <= out.set.start_s + 1.0:
        return wide
    return out


def _drop_overlaps(sets: list[ExerciseSet]) -> list[ExerciseSet]:
    """Sets sorted by start; a set overlapping an earlier-found, larger set by more than half is dropped."""
    kept: list[ExerciseSet] = []
    for s in sorted(sets, key=lambda x: -len(x.reps)):
        dur = max(s.end_s - s.start_s, 1e-6)
        if all(max(0.0, min(s.end_s, k.end_s) - max(s.start_s, k.start_s)) < 0.5 * dur for k in kept):
            kept.append(s)
    return sorted(kept, key=lambda x: x.start_s)


def _prepare(recording: Recording, p: AnalysisParams) -> tuple[Session, list[Window], dict[str, Any]]:
    """Steps 1-4: clean grid, motion, activity, the upright reference (no walking) and the windows."""
    clean, cq = clean_and_resample(recording, p)
    motion, mq = estimate_motion(clean, p)
    act, aq = classify_activity(
        motion, clean.fs_hz, p, side=None if recording.side is None else str(recording.side)
    )
    pose = Pose.of(motion, clean.fs_hz)
    windows, wq = find_candidate_windows(act.activity, clean.fs_hz, p)
    reference, rq = (
        (None, {})
        if act.thigh_axis is not None
        else upright_reference(motion.gravity, act.activity == Activity.STILL, clean.fs_hz, p)
    )
    # reps are judged against walking widened by walking_guard_s: the detected walking edges are smoothed,
    # and nobody starts a rep within a step or two of walking
    g = round(p.walking_guard_s * clean.fs_hz)
    guard = (
        ndimage.binary_dilation(act.walking, structure=np.ones(2 * g + 1, dtype=bool)) if g else act.walking
    )
    sess = Session(
        clean=clean,
        motion=motion,
        activity=act,
        walking_guard=guard,
        pose=pose,
        reference=reference,
        side=recording.side,
        params=p,
    )
    quality = {"clean": cq, "orientation": mq, "activity": aq, "windows": wq, "upright_reference": rq}
    return sess, windows, quality


def find_sets(sess: Session, windows: list[Window]) -> tuple[list[ExerciseSet], list[Outcome]]:
    """Step 5 over every window, largest-first refinements included; returns the sets (overlaps dropped)
    and every window's outcome."""
    p = sess.params
    sets: list[ExerciseSet] = []
    outcomes: list[Outcome] = []
    queue = [(w, 0) for w in windows]
    while queue:
        w, depth = queue.pop(0)
        out = analyze_window(sess, w)
        if out.set is not None:
            i0, i1 = _span(sess, out.set)
            if depth < p.max_window_splits and _moving_outside(sess, w, i0, i1):
                out, leftovers = _own_span(sess, w, out)
                queue.extend((lw, depth + 1) for lw in leftovers)
            if depth == 0:
                out = _widened(sess, w, out)
        outcomes.append(out)
        if out.set is not None:
            sets.append(out.set)
            if out.set.exercise == Exercise.UNKNOWN:
                reason = out.quality.get("exercise", {}).get("reason")
                logger.info("set at %.1f s: exercise unknown (%s)", out.set.start_s, reason)
    kept = _drop_overlaps(sets)
    return kept, outcomes


def _periods(outcomes: list[Outcome], kept: list[ExerciseSet]) -> tuple[MovementPeriod, ...]:
    """The ``considered`` list: every outcome's period in time order; a set dropped as a duplicate of a
    larger overlapping one is reported as such."""
    ids = {id(s) for s in kept}
    out = []
    for o in outcomes:
        per = o.period
        if o.set is not None and id(o.set) not in ids:
            per = MovementPeriod(
                start_s=per.start_s,
                end_s=per.end_s,
                counted=False,
                reason="duplicate",
                detail="overlaps a larger set found in a wider or narrower window",
                excursions=per.excursions,
                median_rom_deg=per.median_rom_deg,
                rom_cv=per.rom_cv,
                median_rep_s=per.median_rep_s,
                blocks=per.blocks,
                angle_source=per.angle_source,
            )
        out.append(per)
    return tuple(sorted(out, key=lambda x: x.start_s))


def analyze(recording: Recording, params: AnalysisParams | None = None) -> SessionAnalysis:
    """Find sets, reps, tempo phases, ROM and the exercise in one thigh recording.

    Times in the result are seconds on the recording's own time axis; ROM in degrees. ``quality`` holds each
    step's quality record (keys documented in each step's docstring and in docs/processing.md);
    ``considered`` every movement period looked at and why it was or was not counted.
    """
    p = params or AnalysisParams()
    quality: dict[str, Any] = {"warnings": []}
    if recording.n_samples < 2:
        quality["warnings"].append("recording has fewer than 2 samples")
        return SessionAnalysis(
            sets=(), algorithm_version=ALGORITHM_VERSION, parameters=p.to_dict(), quality=quality
        )
    sess, windows, q = _prepare(recording, p)
    quality.update(q)
    if not recording.has_gyro:
        quality["warnings"].append(ACCEL_ONLY_NOTE)
    if sess.activity.thigh_axis is None:
        quality["warnings"].append(NO_WALKING_NOTE)
    sets, outcomes = find_sets(sess, windows)
    quality["sets"] = [o.quality for o in outcomes]
    return SessionAnalysis(
        sets=tuple(sets),
        algorithm_version=ALGORITHM_VERSION,
        parameters=p.to_dict(),
        quality=quality,
        considered=_periods(outcomes, sets),
    )
