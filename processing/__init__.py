"""Pure NumPy/SciPy analysis of thigh recordings: sets, reps, tempo phases, ROM, exercise.

Entry point: :func:`analyze`. Steps live in their own modules (see ``docs/processing.md``).
"""

from processing.params import AnalysisParams
from processing.pipeline import ALGORITHM_VERSION, analyze

__all__ = ["ALGORITHM_VERSION", "AnalysisParams", "analyze"]
