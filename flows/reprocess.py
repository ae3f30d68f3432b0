"""Re-analyse stored sessions when the analysis algorithm changes (``hipsync reprocess``).

For each stale session (:func:`storage.reprocess.stale_sessions`) the samples are read back (short read),
analysed by :mod:`processing` (no connection held), and the new analysis replaces the old one in one write
transaction (:func:`storage.reprocess.replace_analysis`). A session whose analysis raises is reported with
its error and keeps its old analysis. The user's edits apply again to the new analysis
(:func:`flows.edits.label_sets`, with the plan prior); an edit whose set the new analysis no longer has is
kept, counted in ``edits_not_applied`` and shown by ``hipsync edit list``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import processing  # the pipeline (SciPy) itself loads on the first analysis (processing/__init__.py)
from flows.edits import label_sets
from hipsync.records import Recording, SessionAnalysis
from storage.corrections import corrections
from storage.reprocess import load_for_reanalysis, replace_analysis_in, stale_session_ids

log = logging.getLogger(__name__)

__all__ = ["AnalyzeFn", "ReprocessResult", "reanalyse_session", "reprocess"]

AnalyzeFn = Callable[[Recording], SessionAnalysis]


@dataclass(frozen=True, slots=True, kw_only=True)
class ReprocessResult:
    """One re-analysed session: versions before/after, new set and rep counts, user loads carried over,
    the user's edits applied again and those that no longer find their set (kept, shown as not applied)."""

    session_id: str
    old_version: str | None
    new_version: str
    n_sets: int
    n_reps: int
    kept_user_loads: int
    error: str | None = None
    edits_applied: int = 0
    edits_not_applied: int = 0


def reprocess(
    db_path: Path | str,
    *,
    force: bool = False,
    session_ids: Sequence[str] | None = None,
    analyze_fn: AnalyzeFn | None = None,
    version: str | None = None,
    progress: Callable[[int, int, ReprocessResult], None] | None = None,
) -> list[ReprocessResult]:
    """Re-analyse every stale session (or ``session_ids``; all with ``force``).

    ``analyze_fn`` defaults to :func:`processing.analyze` and ``version`` to
    :data:`processing.ALGORITHM_VERSION`; pass both to run another analysis. A session whose analysis
    raises is reported with ``error`` and left as it was.
    """
    if analyze_fn is None or version is None:
        analyze_fn = analyze_fn or processing.analyze
        version = version or processing.ALGORITHM_VERSION
    db = Path(db_path)
    todo = list(session_ids) if session_ids is not None else stale_session_ids(db, version, force=force)
    results: list[ReprocessResult] = []
    for i, sid in enumerate(todo, start=1):
        res = reanalyse_session(db, sid, analyze_fn, version)
        results.append(res)
        if progress:
            progress(i, len(todo), res)
    return results


def reanalyse_session(db_path: Path, session_id: str, analyze_fn: AnalyzeFn, version: str) -> ReprocessResult:
    """Read one session's samples, analyse them (no connection held), swap in the new analysis."""
    rec, old_version = load_for_reanalysis(db_path, session_id)
    try:
        analysis = analyze_fn(rec)
    except Exception as e:  # one bad session must not stop the others; it keeps its old analysis
        log.exception("re-analysis of %s failed", session_id)
        return ReprocessResult(
            session_id=session_id,
            old_version=old_version,
            new_version=version,
            n_sets=0,
            n_reps=0,
            kept_user_loads=0,
            error=f"{type(e).__name__}: {e}",
        )
    n_sets, n_reps, kept = replace_analysis_in(db_path, session_id, analysis, labeller=label_sets)
    edits = [e for e in corrections(db_path, session_id) if e.active]
    log.info("re-analysed %s: %s -> %s", session_id, old_version, analysis.algorithm_version)
    return ReprocessResult(
        session_id=session_id,
        old_version=old_version,
        new_version=analysis.algorithm_version,
        n_sets=n_sets,
        n_reps=n_reps,
        kept_user_loads=kept,
        edits_applied=sum(1 for e in edits if e.applied),
        edits_not_applied=sum(1 for e in edits if not e.applied),
    )
