"""The whole analysis: recording in, :class:`SessionAnalysis` out.

Steps (each its own module, each returning its result and a quality record):
1. :func:`processing.clean.clean_and_resample`
2. :func:`processing.orientation.estimate_motion`
3. :func:`processing.activity.classify_activity`
4. :func:`processing.sets.find_candidate_windows`, then per window
   :func:`processing.orientation.rotation_angle` and
5. :func:`processing.reps.detect_reps`, :func:`processing.sets.accept_set`
6. :func:`processing.exercise.vote`
7. :func:`processing.metrics.velocity_loss`, :func:`processing.metrics.tempo_consistency`
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from scipy import ndimage

from hipsync.records import Exercise, ExerciseSet, ExerciseVote, Recording, Rep, SessionAnalysis
from processing.activity import Activity, Posture, classify_activity, classify_posture
from processing.clean import CleanSignal, clean_and_resample
from processing.exercise import SetGeometry, turns_about_vertical, upright_reference, vote
from processing.filters import median_small
from processing.metrics import tempo_consistency, velocity_loss
from processing.orientation import AngleTrace, Motion, rotation_angle
from processing.params import AnalysisParams
from processing.reps import RepCandidate, detect_reps
from processing.sets import Window, accept_set, find_candidate_windows, group_reps

logger = logging.getLogger(__name__)

ALGORITHM_VERSION = "1.2.0"

ACCEL_ONLY_NOTE = (
    "accelerometer only: seated abduction turns the thigh about the vertical, which gravity cannot "
    "measure; such sets are reported as unknown or missed"
)


def _to_reps(cands: list[RepCandidate], t0: float, fs: float, params: AnalysisParams) -> tuple[Rep, ...]:
    if not cands:
        return ()
    ref = median_small([c.rom_deg for c in cands])
    out = []
    for c in cands:
        out.append(
            Rep(
                start_s=t0 + c.start / fs,
                top_start_s=t0 + c.top_start / fs,
                top_end_s=t0 + c.top_end / fs,
                end_s=t0 + c.end / fs,
                rom_deg=float(c.rom_deg),
                partial=bool(c.rom_deg < params.partial_rom_fraction * ref),
                peak_concentric_speed_dps=float(c.peak_concentric_dps),
            )
        )
    return tuple(out)


def _flipped_group(
    trace: AngleTrace, group: list[RepCandidate], polarity: int, fs: float, params: AnalysisParams
) -> list[RepCandidate]:
    """Reps detected with the opposite polarity, restricted to the time span of ``group``."""
    cands, _ = detect_reps(trace.angle_deg, trace.speed_dps, fs, params, polarity=polarity)
    # an inverted rep runs from one top to the next: the true first and last reps reach about one rep
    # duration beyond the inverted group
    dur = max(r.end - r.start for r in group)
    lo, hi = group[0].start - 1.5 * dur - 2.0 * fs, group[-1].end + 1.5 * dur + 2.0 * fs
    return [c for c in cands if c.start >= lo and c.end <= hi]


def rest_level_fraction(
    x: np.ndarray[Any, np.dtype[np.float64]], reps: list[RepCandidate], fs: float, params: AnalysisParams
) -> float | None:
    """How high the thigh was shortly before the first rep and after the last one (``rest_edge_s``), as a
    fraction of the rep range (0: at the bottom, i.e. resting; 1: up at the top). The smaller of the two
    sides is returned: a set must start *or* end at rest. ``x`` is the polarity-corrected angle.
    A passive leg seen with the flipped polarity is up at the top on both sides (its "reps" are the returns
    from being rocked down). None when the window has no samples there."""
    k = max(1, round(params.rest_edge_s * fs))
    gap = round(0.2 * fs)
    fracs = []
    first, last = reps[0], reps[-1]
    i1 = int(first.start) - gap
    if i1 > 0:
        bottom = float(x[int(first.start)])
        top = float(np.max(x[int(first.top_start) : int(np.ceil(first.top_end)) + 1]))
        if top > bottom:
            fracs.append((float(np.max(x[max(0, i1 - k) : i1])) - bottom) / (top - bottom))
    j0 = int(np.ceil(last.end)) + gap
    if j0 < x.size:
        bottom = float(x[min(x.size - 1, int(np.ceil(last.end)))])
        top = float(np.max(x[int(last.top_start) : int(np.ceil(last.top_end)) + 1]))
        if top > bottom:
            fracs.append((float(np.max(x[j0 : j0 + k])) - bottom) / (top - bottom))
    return float(np.min(fracs)) if fracs else None


def lift_fraction(
    reps: list[RepCandidate],
    gravity: np.ndarray[Any, np.dtype[np.float64]],
    offset: int,
    thigh_axis: np.ndarray[Any, np.dtype[np.float64]] | None,
) -> float | None:
    """How much the concentric phase raises the working end of the thigh, as a fraction of the ROM.

    The thigh tilt (angle between gravity and the knee-to-hip axis) grows when the knee rises (clam, leg
    raise, standing abduction) and shrinks when the hip rises with the knee above it (bridge, rest tilt above
    90 deg). Returns the median over reps of that change divided by the ROM (1: a pure lift in a vertical
    plane, 0: horizontal movement, negative: the "rep" moves with gravity, as a passive leg that is rocked
    down and back does). None when the thigh axis is unknown.
    """
    if thigh_axis is None or not reps:
        return None
    n = gravity.shape[0]
    out = []
    for r in reps:
        i0 = min(n - 1, offset + round(r.start))
        i1 = min(n - 1, offset + round(0.5 * (r.top_start + r.top_end)))
        t0 = float(np.degrees(np.arccos(np.clip(gravity[i0] @ thigh_axis, -1.0, 1.0))))
        t1 = float(np.degrees(np.arccos(np.clip(gravity[i1] @ thigh_axis, -1.0, 1.0))))
        d = t1 - t0 if t0 <= 115.0 else t0 - t1
        out.append(d / max(r.rom_deg, 1e-6))
    return median_small(out)


def analyze_window(
    clean: CleanSignal,
    motion: Motion,
    walking: np.ndarray[Any, np.dtype[np.bool_]],
    window: Window,
    *,
    thigh_axis: np.ndarray[Any, np.dtype[np.float64]] | None,
    mediolateral_axis: np.ndarray[Any, np.dtype[np.float64]] | None,
    side: Any,
    params: AnalysisParams,
    reference: np.ndarray[Any, np.dtype[np.float64]] | None = None,
) -> tuple[ExerciseSet | None, dict[str, Any]]:
    """Reps, exercise and metrics of one candidate window (None when it is not a set)."""
    fs = clean.fs_hz
    a, b = window.start, window.stop
    # cheap gate: every rep turns the thigh by at least 2 x min_rom_deg (there and back)
    turned_deg = float(np.sum(motion.speed_dps[a:b])) / fs
    if turned_deg < 2.0 * params.min_reps_per_set * params.min_rom_deg:
        return None, {
            "start_s": round(float(clean.time_s[a]), 3),
            "end_s": round(float(clean.time_s[b - 1]), 3),
            "set": {"verdict": "little_movement", "turned_deg": round(turned_deg, 1)},
        }
    result, q = _analyze_axis(
        clean, motion, walking, window, 0, thigh_axis, mediolateral_axis, side, params, reference
    )
    if result is None and motion.gyro_dps is not None:
        for rank in (2, 1):
            r2, q2 = _analyze_axis(
                clean, motion, walking, window, rank, thigh_axis, mediolateral_axis, side, params, reference
            )
            if r2 is not None:
                q2["axis_rank"] = rank
                return r2, q2
    return result, q


def _analyze_axis(
    clean: CleanSignal,
    motion: Motion,
    walking: np.ndarray[Any, np.dtype[np.bool_]],
    window: Window,
    axis_rank: int,
    thigh_axis: np.ndarray[Any, np.dtype[np.float64]] | None,
    mediolateral_axis: np.ndarray[Any, np.dtype[np.float64]] | None,
    side: Any,
    params: AnalysisParams,
    reference: np.ndarray[Any, np.dtype[np.float64]] | None = None,
) -> tuple[ExerciseSet | None, dict[str, Any]]:
    fs = clean.fs_hz
    a, b = window.start, window.stop
    trace = rotation_angle(motion, a, b, fs, params, axis_rank=axis_rank)
    cands, rq = detect_reps(trace.angle_deg, trace.speed_dps, fs, params)
    q: dict[str, Any] = {
        "start_s": round(float(clean.time_s[a]), 3),
        "end_s": round(float(clean.time_s[b - 1]), 3),
        "angle_source": trace.source,
        "reps": rq,
    }
    # Reps separated by long pauses belong to different sets (or to a passive leg): judge each group alone,
    # largest first; the pipeline re-analyses the movement outside the chosen group on its own.
    groups = sorted(group_reps(cands, fs, params), key=len, reverse=True)
    has_gyro = motion.gyro_dps is not None
    q["groups"] = [len(g) for g in groups]

    def classify(reps: list[RepCandidate]) -> tuple[ExerciseVote, dict[str, Any], Posture, dict[str, Any]]:
        """Exercise and posture of a set from its rep axis and the gravity at the reps' starts (rest)."""
        starts = np.clip(np.round([c.start for c in reps]).astype(int) + a, 0, clean.n - 1)
        rest = motion.gravity[starts].mean(axis=0)
        rest = rest / max(float(np.linalg.norm(rest)), 1e-9)
        tops = np.clip(
            np.round([0.5 * (c.top_start + c.top_end) for c in reps]).astype(int) + a, 0, clean.n - 1
        )
        top = motion.gravity[tops].mean(axis=0)
        geometry = SetGeometry(
            axis=trace.axis,
            rest_gravity=rest,
            top_gravity=top / max(float(np.linalg.norm(top)), 1e-9),
            rom_deg=median_small([c.rom_deg for c in reps]),
            has_gyro=has_gyro,
            thigh_axis=thigh_axis,
            mediolateral_axis=mediolateral_axis,
            references=reference,
        )
        exercise_vote, eq = vote(geometry, params)
        # the passive-leg checks below ask whether the reps turn about the vertical, whatever their name
        eq["about_vertical"] = (
            exercise_vote.exercise == Exercise.BANDED_ABDUCTION_SEATED or turns_about_vertical(geometry)
        )
        posture, pq = classify_posture(rest, thigh_axis, mediolateral_axis)
        return exercise_vote, eq, posture, pq

    for group in groups or [[]]:
        kept, sq = accept_set(group, walking[a:b], params, fs)
        q["set"] = sq
        if not kept:
            continue
        if (
            thigh_axis is not None
            and median_small([c.rom_deg for c in kept]) < params.min_session_set_rom_deg
        ):
            # In a whole session (walking seen) small regular excursions are far more often a passive leg
            # rocked by the working one than a set: the exercises' ranges start around 20 deg.
            sq["verdict"] = "small_rom_in_session"
            continue
        exercise_vote, eq, posture, pq = classify(kept)
        exercise = exercise_vote.exercise
        vertical = bool(eq["about_vertical"])
        lift = lift_fraction(kept, motion.gravity, a, thigh_axis)
        q["lift_fraction"] = None if lift is None else round(lift, 3)
        q["exercise"] = eq
        q["posture"] = str(posture)
        q["posture_quality"] = pq
        if vertical and lift is not None and abs(lift) > params.max_seated_lift:
            # a turn about the vertical leaves the thigh's tilt alone; a tilting "seated" set is a leg rocked
            # by the other one
            sq["verdict"] = "vertical_axis_but_tilting"
            continue
        if vertical and posture == Posture.SIDE_LYING:
            # turning about the vertical while lying on the side is no exercise of ours: a leg rocked
            # underneath the working one
            sq["verdict"] = "vertical_axis_while_side_lying"
            continue
        if lift is not None and not vertical and lift < params.min_lift_fraction:
            # Every exercise lifts the leg (or the hips) against gravity in its concentric phase. Either the
            # polarity was wrong (the rest is the other extreme), or these excursions move with gravity: a
            # passive leg rocked by the working one (side-lying underneath, standing on it). Flip, and keep
            # the flipped reps only if the set then starts and ends at its rest (bottom) position.
            flipped = _flipped_group(trace, group, -int(rq["polarity"]), fs, params)
            frac = (
                None
                if not flipped
                else rest_level_fraction(-int(rq["polarity"]) * trace.angle_deg, flipped, fs, params)
            )
            q["flipped_rest_fraction"] = None if frac is None else round(frac, 3)
            kept2, sq2 = accept_set(flipped, walking[a:b], params, fs) if flipped else ([], sq)
            lift2 = lift_fraction(kept2, motion.gravity, a, thigh_axis) if kept2 else None
            big = bool(kept2) and median_small([c.rom_deg for c in kept2]) >= params.min_flip_rom_deg
            if (
                big
                and frac is not None
                and frac < 0.5
                and lift2 is not None
                and lift2 >= params.min_lift_fraction
            ):
                kept, sq = kept2, sq2
                q["set"] = sq
                q["lift_fraction"] = round(lift2, 3)
                q["reps"] = {**rq, "polarity": -int(rq["polarity"])}
                exercise_vote, eq, posture, pq = classify(kept)
                exercise = exercise_vote.exercise
                q["exercise"], q["posture"], q["posture_quality"] = eq, str(posture), pq
                break
            sq["verdict"] = "moves_with_gravity"
            continue
        break
    else:
        return None, q
    lo = max(0, int(kept[0].start) + a)
    hi = min(clean.n, int(np.ceil(kept[-1].end)) + a + 1)
    q["gap_fraction"] = round(float(1.0 - clean.valid[lo:hi].mean()), 4) if hi > lo else 0.0
    reps = _to_reps(kept, float(clean.time_s[a]), fs, params)
    ex_set = ExerciseSet(
        exercise=exercise,
        side=side,
        start_s=reps[0].start_s,
        end_s=reps[-1].end_s,
        reps=reps,
        velocity_loss=velocity_loss(reps),
        tempo_consistency=tempo_consistency(reps),
        exercise_confidence=exercise_vote.confidence,
        exercise_reason=exercise_vote.reason,
        exercise_scores=exercise_vote.scores,
    )
    return ex_set, q


def _drop_overlaps(sets: list[ExerciseSet]) -> list[ExerciseSet]:
    """Sets sorted by start; a set overlapping an earlier-found, larger set by more than half is dropped."""
    kept: list[ExerciseSet] = []
    for s in sorted(sets, key=lambda x: -len(x.reps)):
        dur = max(s.end_s - s.start_s, 1e-6)
        if all(max(0.0, min(s.end_s, k.end_s) - max(s.start_s, k.start_s)) < 0.5 * dur for k in kept):
            kept.append(s)
    return sorted(kept, key=lambda x: x.start_s)


def analyze(recording: Recording, params: AnalysisParams | None = None) -> SessionAnalysis:
    """Find sets, reps, tempo phases, ROM and the exercise in one thigh recording.

    Times in the result are seconds on the recording's own time axis; ROM in degrees. ``quality`` holds each
    step's quality record (keys documented in each step's docstring and in docs/processing.md).
    """
    p = params or AnalysisParams()
    from processing.orientation import estimate_motion  # local: keeps the step list above readable

    quality: dict[str, Any] = {"warnings": []}
    if recording.n_samples < 2:
        quality["warnings"].append("recording has fewer than 2 samples")
        return SessionAnalysis(
            sets=(), algorithm_version=ALGORITHM_VERSION, parameters=p.to_dict(), quality=quality
        )
    clean, cq = clean_and_resample(recording, p)
    motion, mq = estimate_motion(clean, p)
    act, aq = classify_activity(motion, clean.fs_hz, p)
    windows, wq = find_candidate_windows(act.activity, clean.fs_hz, p)
    reference, rq = (
        (None, {})
        if act.thigh_axis is not None
        else upright_reference(motion.gravity, act.activity == Activity.STILL, clean.fs_hz, p)
    )
    quality.update(
        {"clean": cq, "orientation": mq, "activity": aq, "windows": wq, "upright_reference": rq, "sets": []}
    )
    if not recording.has_gyro:
        quality["warnings"].append(ACCEL_ONLY_NOTE)
    if act.thigh_axis is None:
        quality["warnings"].append(
            "no walking in the recording: thigh axis unknown; exercise from the rotation axis, gravity and "
            "the sensor's face normal (sensor assumed flat on the lateral thigh)"
        )
    sets: list[ExerciseSet] = []
    # reps are judged against walking widened by walking_guard_s: the detected walking edges are smoothed,
    # and nobody starts a rep within a step or two of walking
    g = round(p.walking_guard_s * clean.fs_hz)
    walking_guard = (
        ndimage.binary_dilation(act.walking, structure=np.ones(2 * g + 1, dtype=bool)) if g else act.walking
    )
    queue = [(w, 0) for w in windows]
    fs = clean.fs_hz

    def run(win: Window) -> tuple[ExerciseSet | None, dict[str, Any]]:
        return analyze_window(
            clean,
            motion,
            walking_guard,
            win,
            thigh_axis=act.thigh_axis,
            mediolateral_axis=act.mediolateral_axis,
            side=recording.side,
            params=p,
            reference=reference,
        )

    def moving_outside(win: Window, i0: int, i1: int) -> bool:
        lo_part = act.activity[win.start : max(win.start, i0)] == 1
        hi_part = act.activity[min(win.stop, i1) : win.stop] == 1
        return bool(lo_part.sum() + hi_part.sum() >= 1.0 * fs)

    while queue:
        w, depth = queue.pop(0)
        s, sq = run(w)
        if s is None:
            quality["sets"].append(sq)
            continue
        i0 = int(np.searchsorted(clean.time_s, s.start_s)) - round(0.5 * fs)
        i1 = int(np.searchsorted(clean.time_s, s.end_s)) + round(0.5 * fs)
        if depth < p.max_window_splits and moving_outside(w, i0, i1):
            # The window holds more movement than this set: the rotation axis was computed with foreign
            # movement mixed in. Analyse the set's own span again, then the leftovers on their own.
            margin = round(p.set_margin_s * fs)
            span = Window(start=max(w.start, i0 - margin), stop=min(w.stop, i1 + margin))
            s2, sq2 = run(span)
            if s2 is not None:
                s, sq = s2, sq2
                i0 = int(np.searchsorted(clean.time_s, s.start_s)) - round(0.5 * fs)
                i1 = int(np.searchsorted(clean.time_s, s.end_s)) + round(0.5 * fs)
            for lo, hi in ((w.start, i0), (i1, w.stop)):
                moving = act.activity[max(lo, 0) : max(hi, 0)] == 1
                if hi - lo >= p.min_window_s * fs and moving.sum() >= 1.0 * fs:
                    queue.append((Window(start=lo, stop=hi), depth + 1))
        if depth == 0:
            # A slow or partial rep at either end of a set can fall outside the window (its speed stays
            # under the movement threshold). Look once more with the span widened by max_rep_gap_s on
            # both sides (not into walking); the grouping keeps only reps that belong to this set.
            ext = round(p.max_rep_gap_s * fs)
            lo = max(0, i0 - ext)
            hi = min(clean.n, i1 + ext)
            while lo < i0 and act.walking[lo]:
                lo += 1
            while hi > i1 and act.walking[hi - 1]:
                hi -= 1
            beyond = int(np.sum(act.activity[lo : max(lo, w.start)] == 1)) + int(
                np.sum(act.activity[min(hi, w.stop) : hi] == 1)
            )
            if beyond > 0 and hi - lo >= p.min_window_s * fs:
                s3, sq3 = run(Window(start=lo, stop=hi))
                if s3 is not None and len(s3.reps) > len(s.reps) and s3.start_s <= s.start_s + 1.0:
                    s, sq = s3, sq3
        quality["sets"].append(sq)
        sets.append(s)
        if s.exercise == Exercise.UNKNOWN:
            logger.info("set at %.1f s: exercise unknown (%s)", s.start_s, sq["exercise"].get("reason"))
    sets = _drop_overlaps(sets)
    return SessionAnalysis(
        sets=tuple(sets), algorithm_version=ALGORITHM_VERSION, parameters=p.to_dict(), quality=quality
    )
