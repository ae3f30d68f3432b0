"""The whole analysis: recording in, :class:`SessionAnalysis` out.

Steps (each its own module, each returning its result and a quality record):
1. :func:`processing.clean.clean_and_resample`
2. :func:`processing.orientation.estimate_motion`
3. :func:`processing.activity.classify_activity`
4. :func:`processing.sets.find_candidate_windows`, then per window
   :func:`processing.orientation.rotation_angle` and
5. :func:`processing.reps.detect_reps`, :func:`processing.sets.accept_set`
6. :func:`processing.exercise.recognise_exercise`
7. :func:`processing.metrics.velocity_loss`, :func:`processing.metrics.tempo_consistency`
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from processing.activity import classify_activity, classify_posture
from processing.clean import CleanSignal, clean_and_resample
from processing.exercise import recognise_exercise
from processing.metrics import tempo_consistency, velocity_loss
from processing.orientation import Motion, rotation_angle
from processing.params import AnalysisParams
from processing.records import Exercise, ExerciseSet, Recording, Rep, SessionAnalysis
from processing.reps import RepCandidate, detect_reps
from processing.sets import Window, accept_set, find_candidate_windows

logger = logging.getLogger(__name__)

ALGORITHM_VERSION = "1.0.0"

ACCEL_ONLY_NOTE = (
    "accelerometer only: seated abduction turns the thigh about the vertical, which gravity cannot "
    "measure; such sets are reported as unknown or missed"
)


def _to_reps(cands: list[RepCandidate], t0: float, fs: float, params: AnalysisParams) -> tuple[Rep, ...]:
    if not cands:
        return ()
    ref = float(np.median([c.rom_deg for c in cands]))
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
) -> tuple[ExerciseSet | None, dict[str, Any]]:
    """Reps, exercise and metrics of one candidate window (None when it is not a set)."""
    fs = clean.fs_hz
    a, b = window.start, window.stop
    trace = rotation_angle(motion, a, b, fs, params)
    cands, rq = detect_reps(trace.angle_deg, trace.speed_dps, fs, params)
    kept, sq = accept_set(cands, walking[a:b], params)
    q: dict[str, Any] = {
        "start_s": round(float(clean.time_s[a]), 3),
        "end_s": round(float(clean.time_s[b - 1]), 3),
        "angle_source": trace.source,
        "reps": rq,
        "set": sq,
    }
    if not kept:
        return None, q
    starts = np.clip(np.round([c.start for c in kept]).astype(int) + a, 0, clean.n - 1)
    rest = motion.gravity[starts].mean(axis=0)
    rest = rest / max(float(np.linalg.norm(rest)), 1e-9)
    exercise, eq = recognise_exercise(
        axis=trace.axis,
        rest_gravity=rest,
        thigh_axis=thigh_axis,
        mediolateral_axis=mediolateral_axis,
        has_gyro=motion.gyro_dps is not None,
        params=params,
    )
    posture, pq = classify_posture(rest, thigh_axis, mediolateral_axis)
    q["exercise"] = eq
    q["posture"] = str(posture)
    q["posture_quality"] = pq
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
    )
    return ex_set, q


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
    quality.update({"clean": cq, "orientation": mq, "activity": aq, "windows": wq, "sets": []})
    if not recording.has_gyro:
        quality["warnings"].append(ACCEL_ONLY_NOTE)
    if act.thigh_axis is None:
        quality["warnings"].append(
            "no walking in the recording: thigh axis and posture unknown, exercise reported as unknown "
            "unless the rotation axis alone identifies it"
        )
    sets: list[ExerciseSet] = []
    queue = [(w, 0) for w in windows]
    fs = clean.fs_hz

    def run(win: Window) -> tuple[ExerciseSet | None, dict[str, Any]]:
        return analyze_window(
            clean,
            motion,
            act.walking,
            win,
            thigh_axis=act.thigh_axis,
            mediolateral_axis=act.mediolateral_axis,
            side=recording.side,
            params=p,
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
        quality["sets"].append(sq)
        sets.append(s)
        if s.exercise == Exercise.UNKNOWN:
            logger.info("set at %.1f s: exercise unknown (%s)", s.start_s, sq["exercise"].get("reason"))
    sets.sort(key=lambda x: x.start_s)
    return SessionAnalysis(
        sets=tuple(sets), algorithm_version=ALGORITHM_VERSION, parameters=p.to_dict(), quality=quality
    )
