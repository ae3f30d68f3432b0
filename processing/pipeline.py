"""The whole analysis: recording in, :class:`SessionAnalysis` out."""

from __future__ import annotations

from processing.params import AnalysisParams
from processing.records import Recording, SessionAnalysis

ALGORITHM_VERSION = "0.1.0"


def analyze(recording: Recording, params: AnalysisParams | None = None) -> SessionAnalysis:
    """Find sets, reps, tempo phases, ROM and the exercise in one thigh recording."""
    p = params or AnalysisParams()
    return SessionAnalysis(sets=(), algorithm_version=ALGORITHM_VERSION, parameters=p.to_dict())
