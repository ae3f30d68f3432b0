"""Pure NumPy/SciPy analysis of thigh recordings: sets, reps, tempo phases, ROM, exercise.

Entry point: :func:`analyze`. Steps live in their own modules (see ``docs/processing.md``).

The pipeline (and with it SciPy) is imported on first use of ``analyze``/``ALGORITHM_VERSION``/
``AnalysisParams``, so code that only needs the records (spool readers, storage, the CLI) starts fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from processing.params import AnalysisParams
    from processing.pipeline import ALGORITHM_VERSION, analyze

__all__ = ["ALGORITHM_VERSION", "AnalysisParams", "analyze"]

_LAZY = {
    "AnalysisParams": "processing.params",
    "ALGORITHM_VERSION": "processing.pipeline",
    "analyze": "processing.pipeline",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'processing' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
