"""What the analysis saw, for ``hipsync analyze --explain --plot``: the whole recording's angular speed and,
for every movement period it considered, the rotation angle about that period's own axis.

Pure NumPy; the picture is drawn by the CLI. The angle is recomputed with the same steps the analysis uses
(:func:`processing.orientation.rotation_angle` on the clean grid), so what is plotted is what was judged.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hipsync.records import MovementPeriod, Recording, SessionAnalysis
from processing.clean import clean_and_resample
from processing.filters import FloatArray
from processing.orientation import estimate_motion, rotation_angle
from processing.params import AnalysisParams


@dataclass(frozen=True, slots=True, kw_only=True)
class PeriodTrace:
    """One considered period: ``time_s`` (m,) s and ``angle_deg`` (m,) about the period's principal axis
    (offset and sign arbitrary, as the analysis sees it before choosing which way is up)."""

    period: MovementPeriod
    time_s: FloatArray
    angle_deg: FloatArray


@dataclass(frozen=True, slots=True, kw_only=True)
class Explanation:
    """The recording's clean time grid (s), its angular speed (deg/s) and every considered period's angle."""

    time_s: FloatArray
    speed_dps: FloatArray
    traces: tuple[PeriodTrace, ...]


def explain_signals(
    recording: Recording, analysis: SessionAnalysis, params: AnalysisParams | None = None
) -> Explanation:
    """Signals to draw next to ``analysis.considered`` (the analysis of ``recording`` with ``params``)."""
    p = params or AnalysisParams()
    clean, _ = clean_and_resample(recording, p)
    motion, _ = estimate_motion(clean, p)
    t = clean.time_s
    traces = []
    for per in analysis.considered:
        i0, i1 = (int(i) for i in np.searchsorted(t, [per.start_s, per.end_s]))
        i1 = min(max(i1, i0 + 2), clean.n)
        if i1 - i0 < 2:
            continue
        tr = rotation_angle(motion, i0, i1, clean.fs_hz, p)
        traces.append(PeriodTrace(period=per, time_s=t[i0:i1], angle_deg=tr.angle_deg))
    return Explanation(time_s=t, speed_dps=motion.speed_dps, traces=tuple(traces))
