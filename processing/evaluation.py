"""Scoring an analysis against ground truth in the ``analyze --json`` shape (pure Python/NumPy).

Used by the accuracy benchmark and its CI test; usable on any labelled recording. Matching rules:
- reps are matched one-to-one, greedily by interval overlap (intersection over union of ``start``-``end``),
  with at least ``min_iou`` (0.3) overlap;
- sets are matched one-to-one, greedily by time overlap;
- a predicted rep is "in walking" / "in a passive set" when its midpoint lies in a truth segment of that kind
  (``truth["segments"]`` with ``kind`` ``walking`` / ``passive_set``, as the simulator writes them), and
  "outside sets" when its midpoint lies in no truth set (walking, passive legs, fidgets, rests alike).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
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
    within_one_sets: int = 0
    exercise_correct_sets: int = 0
    false_reps_walking: int = 0
    false_reps_passive: int = 0
    false_reps_outside_sets: int = 0
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

        def frac(a: int, b: int) -> float:
            return a / b if b else float("nan")

        return {
            "rep_recall": frac(self.matched_reps, self.truth_reps),
            "rep_precision": frac(self.matched_reps, self.pred_reps),
            "exact_count_fraction": frac(self.exact_count_sets, self.truth_sets),
            "within_one_fraction": frac(self.within_one_sets, self.truth_sets),
            "exercise_correct_fraction": frac(self.exercise_correct_sets, self.truth_sets),
            "median_abs_concentric_err_s": med(self.concentric_err_s),
            "median_abs_hold_err_s": med(self.hold_err_s),
            "median_abs_eccentric_err_s": med(self.eccentric_err_s),
            "median_abs_rom_err_deg": med(self.rom_err_deg),
            "median_abs_velocity_loss_err": med(self.velocity_loss_err),
            "false_reps_walking": float(self.false_reps_walking),
            "false_reps_passive": float(self.false_reps_passive),
            "false_reps_outside_sets": float(self.false_reps_outside_sets),
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


Doc = dict[str, Any]


def _rep_errors(s: Score, t_reps: list[Doc], p_reps: list[Doc], min_iou: float) -> None:
    """Match reps and collect phase, ROM errors."""
    rep_match = match_intervals(
        [(r["start"], r["end"]) for r in t_reps], [(r["start"], r["end"]) for r in p_reps], min_iou=min_iou
    )
    s.matched_reps = len(rep_match)
    for i, j in rep_match.items():
        tr, pr = t_reps[i], p_reps[j]
        s.concentric_err_s.append((pr["top_start"] - pr["start"]) - (tr["top_start"] - tr["start"]))
        s.hold_err_s.append((pr["top_end"] - pr["top_start"]) - (tr["top_end"] - tr["top_start"]))
        s.eccentric_err_s.append((pr["end"] - pr["top_end"]) - (tr["end"] - tr["top_end"]))
        s.rom_err_deg.append(pr["rom_deg"] - tr["rom_deg"])


def _set_match(t_sets: list[Doc], p_sets: list[Doc]) -> dict[int, int]:
    pairs = []
    for i, ts in enumerate(t_sets):
        for j, ps in enumerate(p_sets):
            ov = min(ts["end"], ps["end"]) - max(ts["start"], ps["start"])
            if ov > 0:
                pairs.append((ov, i, j))
    return _greedy(pairs)


def _one_set(s: Score, i: int, ts: Doc, ps: Doc, label: str) -> None:
    """Count, exercise and velocity loss of truth set ``i`` against its matched predicted set."""
    n_p, n_t = len(ps["reps"]), len(ts["reps"])
    s.exact_count_sets += n_p == n_t
    s.within_one_sets += abs(n_p - n_t) <= 1
    if n_p != n_t:
        s.failures.append(
            f"{label} set {i} ({ts['exercise']} at {ts['start']:.0f} s): {n_p} reps, truth {n_t}"
        )
    if ps["exercise"] == ts["exercise"]:
        s.exercise_correct_sets += 1
    else:
        s.failures.append(f"{label} set {i} at {ts['start']:.0f} s: {ps['exercise']}, truth {ts['exercise']}")
    if ps.get("velocity_loss") is not None and ts.get("velocity_loss") is not None:
        s.velocity_loss_err.append(ps["velocity_loss"] - ts["velocity_loss"])


def _set_scores(s: Score, t_sets: list[Doc], p_sets: list[Doc], label: str) -> None:
    set_match = _set_match(t_sets, p_sets)
    for i, ts in enumerate(t_sets):
        if i in set_match:
            _one_set(s, i, ts, p_sets[set_match[i]], label)
        else:
            s.failures.append(
                f"{label} set {i} ({ts['exercise']}, {len(ts['reps'])} reps at {ts['start']:.0f} s) missed"
            )


def _inside(r: Doc, spans: list[tuple[float, float]]) -> bool:
    mid = 0.5 * (r["start"] + r["end"])
    return any(a <= mid <= b for a, b in spans)


def _false_reps(s: Score, truth: Doc, p_reps: list[Doc], label: str) -> None:
    """Predicted reps in walking, in passive-leg sets, and outside every truth set."""
    for seg in truth.get("segments", []):
        kind = seg.get("kind")
        if kind not in ("walking", "passive_set"):
            continue
        n = sum(1 for r in p_reps if _inside(r, [(seg["start"], seg["end"])]))
        if kind == "walking":
            s.false_reps_walking += n
        else:
            s.false_reps_passive += n
        if n:
            s.failures.append(f"{label} {n} reps in {kind} at {seg['start']:.0f} s")
    spans = [(st["start"], st["end"]) for st in truth.get("sets", [])]
    s.false_reps_outside_sets = sum(1 for r in p_reps if not _inside(r, spans))


def score_session(truth: Doc, predicted: Doc, *, min_iou: float = 0.3, label: str = "") -> Score:
    """Score one predicted ``analyze --json`` document against its truth document."""
    s = Score()
    t_sets = truth.get("sets", [])
    p_sets = predicted.get("sets", [])
    t_reps = [r for st in t_sets for r in st["reps"]]
    p_reps = [r for st in p_sets for r in st["reps"]]
    s.truth_reps, s.pred_reps, s.truth_sets = len(t_reps), len(p_reps), len(t_sets)
    _rep_errors(s, t_reps, p_reps, min_iou)
    _set_scores(s, t_sets, p_sets, label)
    _false_reps(s, truth, p_reps, label)
    return s


@dataclass(frozen=True, slots=True, kw_only=True)
class Labelled:
    """A real recording and its label.

    ``file`` is the path relative to the real-data directory; ``moving`` False for a passive leg (0 reps
    expected); ``reps`` the labelled count, right within ``tolerance`` reps; ``bounds`` per-rep
    ``(start, end)`` in s from the first sample, when known; ``source`` where the label comes from.
    """

    dataset: str
    subject: str
    file: str
    exercise: str
    moving: bool
    reps: int
    tolerance: int
    bounds: tuple[tuple[float, float], ...] = ()
    source: str = ""

    @property
    def name(self) -> str:
        return f"{self.dataset}/{self.subject}/{self.file.rsplit('/', 1)[-1].split('.')[0]}"


def mex_labels(rows: Iterable[Mapping[str, str]]) -> list[Labelled]:
    """The rows of ``mex/labels.csv`` (hand labels, see ``mex/LABELS.md``): moving files within +-1 rep,
    passive files exactly 0."""
    out = []
    for r in rows:
        bounds = tuple(
            (float(a), float(b))
            for a, b in (pair.split("-") for pair in r["rep_bounds_s"].split(";") if pair)
        )
        moving = r["moving"].strip().lower() == "true"
        out.append(
            Labelled(
                dataset="mex",
                subject=r["subject"],
                file=f"mex/{r['subject']}/{r['file']}.gz",
                exercise=r["exercise"],
                moving=moving,
                reps=int(r["reps"]),
                tolerance=1 if moving else 0,
                bounds=bounds,
                source="mex/labels.csv",
            )
        )
    return out


UCI_FS_HZ = 25.0


def uci_labels(test_times: Iterable[Mapping[str, str]]) -> list[Labelled]:
    """UCI PT subject 1, exercise 4 (side-lying hip abduction), counted exactly: the moving thigh's test
    session (30 reps; per-rep bounds from ``test_times.csv``, 1-based time indices at 25 Hz), its template
    session (3 reps of each kind: the dataset's protocol), and the resting thigh of both (0)."""
    bounds = tuple(
        ((float(r["start"]) - 1) / UCI_FS_HZ, (float(r["end"]) - 1) / UCI_FS_HZ) for r in test_times
    )
    return [
        _uci_s1("u3", "test", len(bounds), "uci-pt/s1/e4/test_times.csv", bounds),
        _uci_s1("u3", "template_session", 9, "protocol: 3 correct, 3 fast, 3 low-amplitude reps"),
        _uci_s1("u4", "test", 0, "resting thigh"),
        _uci_s1("u4", "template_session", 0, "resting thigh"),
    ]


def _uci_s1(
    unit: str, session: str, reps: int, source: str, bounds: tuple[tuple[float, float], ...] = ()
) -> Labelled:
    return Labelled(
        dataset="uci",
        subject="1",
        file=f"uci-pt/s1/e4/{unit}/{session}.txt.gz",
        exercise="side_lying_leg_raise",
        moving=reps > 0,
        reps=reps,
        tolerance=0,
        bounds=bounds,
        source=source,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class FileScore:
    """One labelled file's result: reps found, matched to the labelled bounds (when known), in tolerance."""

    label: Labelled
    found: int
    matched: int | None

    @property
    def ok(self) -> bool:
        return abs(self.found - self.label.reps) <= self.label.tolerance

    @property
    def error(self) -> int:
        return self.found - self.label.reps


def score_file(label: Labelled, reps: Sequence[tuple[float, float]]) -> FileScore:
    """Score the reps ``(start, end)`` (s) found in a labelled file."""
    matched = len(match_intervals(label.bounds, reps)) if label.bounds else None
    return FileScore(label=label, found=len(reps), matched=matched)
