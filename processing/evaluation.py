"""Scoring an analysis against ground truth in the ``analyze --json`` shape (pure Python/NumPy).

Used by the accuracy benchmark and its CI test; usable on any labelled recording. Matching rules:
- reps are matched one-to-one, greedily by interval overlap (intersection over union of ``start``-``end``),
  with at least ``min_iou`` (0.3) overlap;
- sets are matched one-to-one, greedily by time overlap;
- a predicted rep is "in walking" / "in a passive set" when its midpoint lies in a truth segment of that kind
  (``truth["segments"]`` with ``kind`` ``walking`` / ``passive_set``, as the simulator writes them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(slots=True, kw_only=True)
class Score:
    """Counts and per-item errors accumulated over one or more sessions."""

    truth_reps: int = 0
    pred_reps: int = 0
    matched_reps: int = 0
    truth_sets: int = 0
    exact_count_sets: int = 0
    exercise_correct_sets: int = 0
    false_reps_walking: int = 0
    false_reps_passive: int = 0
    concentric_err_s: list[float] = field(default_factory=list)
    hold_err_s: list[float] = field(default_factory=list)
    eccentric_err_s: list[float] = field(default_factory=list)
    rom_err_deg: list[float] = field(default_factory=list)
    velocity_loss_err: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def add(self, other: Score) -> None:
        """Accumulate another score into this one."""
        for name in self.__slots__:
            a, b = getattr(self, name), getattr(other, name)
            setattr(self, name, a + b)

    def summary(self) -> dict[str, float]:
        """Headline metrics (fractions 0-1, seconds, degrees)."""

        def med(x: list[float]) -> float:
            return float(np.median(np.abs(x))) if x else float("nan")

        return {
            "rep_recall": self.matched_reps / self.truth_reps if self.truth_reps else float("nan"),
            "rep_precision": self.matched_reps / self.pred_reps if self.pred_reps else float("nan"),
            "exact_count_fraction": self.exact_count_sets / self.truth_sets
            if self.truth_sets
            else float("nan"),
            "exercise_correct_fraction": (
                self.exercise_correct_sets / self.truth_sets if self.truth_sets else float("nan")
            ),
            "median_abs_concentric_err_s": med(self.concentric_err_s),
            "median_abs_hold_err_s": med(self.hold_err_s),
            "median_abs_eccentric_err_s": med(self.eccentric_err_s),
            "median_abs_rom_err_deg": med(self.rom_err_deg),
            "median_abs_velocity_loss_err": med(self.velocity_loss_err),
            "false_reps_walking": float(self.false_reps_walking),
            "false_reps_passive": float(self.false_reps_passive),
            "truth_sets": float(self.truth_sets),
            "truth_reps": float(self.truth_reps),
        }


def _iou(a0: float, a1: float, b0: float, b1: float) -> float:
    inter = max(0.0, min(a1, b1) - max(a0, b0))
    union = max(a1, b1) - min(a0, b0)
    return inter / union if union > 0 else 0.0


def _greedy(pairs: list[tuple[float, int, int]]) -> dict[int, int]:
    """One-to-one matching from (score, i, j) pairs, best first: returns i -> j."""
    used_i: set[int] = set()
    used_j: set[int] = set()
    out: dict[int, int] = {}
    for _, i, j in sorted(pairs, reverse=True):
        if i in used_i or j in used_j:
            continue
        out[i] = j
        used_i.add(i)
        used_j.add(j)
    return out


def match_intervals(
    truth: Sequence[tuple[float, float]], predicted: Sequence[tuple[float, float]], *, min_iou: float = 0.3
) -> dict[int, int]:
    """Pair ``(start, end)`` intervals (s) one-to-one, greedily by intersection over union, at least
    ``min_iou``: truth index -> predicted index. Intervals are assumed shorter than 60 s (reps)."""
    pairs = []
    order = sorted(range(len(predicted)), key=lambda k: predicted[k][0])
    p_starts = np.array([predicted[k][0] for k in order]) if predicted else np.zeros(0)
    for i, (t0, t1) in enumerate(truth):
        lo = np.searchsorted(p_starts, t0 - 60.0)
        for j in order[int(lo) :]:
            p0, p1 = predicted[j]
            if p0 > t1:
                break
            iou = _iou(t0, t1, p0, p1)
            if iou >= min_iou:
                pairs.append((iou, i, j))
    return _greedy(pairs)


def score_session(
    truth: dict[str, Any], predicted: dict[str, Any], *, min_iou: float = 0.3, label: str = ""
) -> Score:
    """Score one predicted ``analyze --json`` document against its truth document."""
    s = Score()
    t_sets = truth.get("sets", [])
    p_sets = predicted.get("sets", [])
    t_reps = [(si, r) for si, st in enumerate(t_sets) for r in st["reps"]]
    p_reps = [(si, r) for si, st in enumerate(p_sets) for r in st["reps"]]
    s.truth_reps, s.pred_reps, s.truth_sets = len(t_reps), len(p_reps), len(t_sets)

    rep_match = match_intervals(
        [(r["start"], r["end"]) for _, r in t_reps],
        [(r["start"], r["end"]) for _, r in p_reps],
        min_iou=min_iou,
    )
    s.matched_reps = len(rep_match)
    for i, j in rep_match.items():
        tr, pr = t_reps[i][1], p_reps[j][1]
        s.concentric_err_s.append((pr["top_start"] - pr["start"]) - (tr["top_start"] - tr["start"]))
        s.hold_err_s.append((pr["top_end"] - pr["top_start"]) - (tr["top_end"] - tr["top_start"]))
        s.eccentric_err_s.append((pr["end"] - pr["top_end"]) - (tr["end"] - tr["top_end"]))
        s.rom_err_deg.append(pr["rom_deg"] - tr["rom_deg"])

    set_pairs = []
    for i, ts in enumerate(t_sets):
        for j, ps in enumerate(p_sets):
            ov = min(ts["end"], ps["end"]) - max(ts["start"], ps["start"])
            if ov > 0:
                set_pairs.append((ov, i, j))
    set_match = _greedy(set_pairs)
    for i, ts in enumerate(t_sets):
        if i not in set_match:
            s.failures.append(
                f"{label} set {i} ({ts['exercise']}, {len(ts['reps'])} reps at {ts['start']:.0f} s) missed"
            )
            continue
        ps = p_sets[set_match[i]]
        if len(ps["reps"]) == len(ts["reps"]):
            s.exact_count_sets += 1
        else:
            s.failures.append(
                f"{label} set {i} ({ts['exercise']} at {ts['start']:.0f} s): "
                f"{len(ps['reps'])} reps, truth {len(ts['reps'])}"
            )
        if ps["exercise"] == ts["exercise"]:
            s.exercise_correct_sets += 1
        else:
            s.failures.append(
                f"{label} set {i} at {ts['start']:.0f} s: {ps['exercise']}, truth {ts['exercise']}"
            )
        if ps.get("velocity_loss") is not None and ts.get("velocity_loss") is not None:
            s.velocity_loss_err.append(ps["velocity_loss"] - ts["velocity_loss"])

    for seg in truth.get("segments", []):
        kind = seg.get("kind")
        if kind not in ("walking", "passive_set"):
            continue
        n = sum(1 for _, r in p_reps if seg["start"] <= 0.5 * (r["start"] + r["end"]) <= seg["end"])
        if kind == "walking":
            s.false_reps_walking += n
        else:
            s.false_reps_passive += n
        if n:
            s.failures.append(f"{label} {n} reps in {kind} at {seg['start']:.0f} s")
    return s
