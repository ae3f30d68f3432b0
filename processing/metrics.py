"""Step 7: per-set velocity loss and tempo consistency (pure functions of the reps)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from hipsync.records import Rep


def mean_concentric_speed_dps(rep: Rep) -> float:
    """Mean concentric angular speed of a rep: ROM / concentric duration (deg/s)."""
    return rep.rom_deg / max(rep.top_start_s - rep.start_s, 1e-6)


def velocity_loss(reps: Sequence[Rep]) -> float | None:
    """Fractional drop of mean concentric angular speed within a set (0 = none, 0.3 = 30 % slower).

    Reference: the fastest of the first three full (non-partial) reps, compared with the mean of the last
    two full reps, the usual velocity-based-training definition (fastest early reps vs. last reps; see
    ../shared/reference/training.md). ``None`` with fewer than four full reps. Never negative.
    """
    full = [r for r in reps if not r.partial]
    if len(full) < 4:
        return None
    v = np.array([mean_concentric_speed_dps(r) for r in full])
    best = float(np.max(v[:3]))
    if best <= 0:
        return None
    return max(0.0, 1.0 - float(np.mean(v[-2:])) / best)


def tempo_consistency(reps: Sequence[Rep]) -> float | None:
    """1 - coefficient of variation of rep durations (start to end), clipped to [0, 1].

    1.0 means every rep took the same time; ``None`` with fewer than three reps.
    """
    if len(reps) < 3:
        return None
    d = np.array([r.end_s - r.start_s for r in reps])
    m = float(d.mean())
    if m <= 0:
        return None
    return float(np.clip(1.0 - float(d.std()) / m, 0.0, 1.0))
