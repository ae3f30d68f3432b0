"""The plan as a prior: label a session's sets with the planned exercises, in blocks, where the sets fit.

A user who trains by the plan does each planned exercise as one block of consecutive sets, about as many
sets as planned, and moves on to the next. Given the recogniser's scores for every exercise of every set
(:class:`hipsync.records.ExerciseVote`, which already weigh posture and geometry) and the planned exercises
with their target set counts, :func:`match_plan` finds how the session's sets split into such blocks, and
each set's exercise under that model with its posterior probability.

The model (a segment model, solved exactly by forward-backward over the set sequence)
--------------------------------------------------------------------------------------
- The ordered sets are cut into consecutive blocks; each block is one exercise. The blocks may come in any
  order (the plan file has no order the user keeps, and programs rotate their exercises through the week),
  and a planned exercise may be left out. A later block of an exercise already done costs
  ``revisit_prob`` (supersets, a forgotten set): the visited exercises are part of the state.
- A block of ``L`` sets of an exercise planned at ``T`` sets weighs ``exp(-missing_set_weight)`` per set
  short of ``T`` and ``exp(-extra_set_weight)`` per set beyond (sets go missing more often than they
  appear: a set the detector missed, one the user skipped). A block of an exercise the plan does not name
  costs ``unplanned_prob``: a user who did something else that day keeps the recogniser's labels when the
  sets say so clearly.
- In a block of exercise ``e`` each set is ``e`` with the recogniser's (normalised) probability of ``e``,
  or, with ``odd_set_prob``, a lone set of another exercise.
- Sets of one exercise in one session look alike (same posture, same movement), so the recogniser scores
  them alike: two neighbours in one block weigh ``exp(-continuity_weight * H)``, ``H`` the Hellinger
  distance (0-1) between their scores. This is what tells a seated abduction the accelerometer cannot
  tell from a standing one (a tie) from the standing sets next to it (confident).
- Changing exercise takes time (getting into another position): a block boundary after a rest of ``g``
  seconds weighs ``1 - exp(-g / change_time_s)``, so a set cut in two by a short pause stays one exercise.
- The recogniser's scores are likelihoods (0-1, not summing to 1): each is normalised over the five
  exercises and mixed with ``score_floor`` of a uniform choice, so a confident but wrong vote can be
  outvoted by its block, at a price.
- A set whose exercise the user gave (``hipsync edit``), or one given rather than recognised (a vote
  without scores), enters as certain evidence for its block.

The plan only ever names planned exercises: each set takes the planned exercise of highest posterior
probability when that beats everything else together (an unplanned block, a lone odd set), otherwise it
keeps the recogniser's label. ``source`` is ``plan`` where the plan changed the recogniser's label (an
``unknown`` vote included), ``recognised`` where it kept it; ``confidence`` is the posterior probability
of the planned label, or, for a kept label, the recogniser's own confidence.

Cost: O(n^2 k 2^k) for n sets and the k = 5 exercises: about 15 ms for 30 sets (``benchmarks``).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from hipsync.records import Exercise, ExerciseSet, ExerciseVote

FloatArray = npt.NDArray[np.float64]

#: The exercises the recogniser scores (every one but ``unknown``), in a fixed order.
EXERCISES: tuple[Exercise, ...] = tuple(e for e in Exercise if e is not Exercise.UNKNOWN)

LabelSource = Literal["plan", "recognised"]

_NEG = -math.inf


@dataclass(frozen=True, slots=True, kw_only=True)
class PlannedExercise:
    """One exercise of the plan in effect: ``target_sets`` sets per session."""

    exercise: Exercise
    target_sets: int


@dataclass(frozen=True, slots=True, kw_only=True)
class PlanPriorParams:
    """The model's knobs: probabilities 0-1; ``*_set_weight`` in log units per set fewer or more than planned;
    ``continuity_weight`` in log units per unit of Hellinger distance (0-1) between neighbours' scores;
    ``change_time_s``: a new block after a rest of ``g`` seconds weighs ``1 - exp(-g / change_time_s)``."""

    score_floor: float = 0.05
    odd_set_prob: float = 0.02
    unplanned_prob: float = 0.1
    revisit_prob: float = 0.02
    missing_set_weight: float = 0.25
    extra_set_weight: float = 0.7
    continuity_weight: float = 3.0
    change_time_s: float = 10.0


@dataclass(frozen=True, slots=True, kw_only=True)
class PlanLabel:
    """One set's exercise after the plan prior: the label, its posterior probability, where it came from."""

    exercise: Exercise
    confidence: float
    source: LabelSource


def _normalised(scores: Mapping[Exercise, float], floor: float) -> FloatArray:
    """The five scores as probabilities, mixed with ``floor`` of a uniform choice (uniform without scores)."""
    raw = np.array([max(float(scores.get(e, 0.0)), 0.0) for e in EXERCISES])
    uniform = np.full(len(EXERCISES), 1.0 / len(EXERCISES))
    if not raw.sum() > 0:
        return uniform
    return np.asarray((1.0 - floor) * raw / raw.sum() + floor * uniform, dtype=np.float64)


def _evidence(votes: Sequence[ExerciseVote], fixed: Mapping[int, Exercise], floor: float) -> FloatArray:
    """(n, 5) probability of each exercise for each set: the recogniser's, or certain where fixed."""
    p = np.stack([_normalised(v.scores, floor) for v in votes]) if votes else np.zeros((0, len(EXERCISES)))
    for i, ex in fixed.items():
        if ex in EXERCISES:
            p[i] = 1e-9
            p[i, EXERCISES.index(ex)] = 1.0
    return p


@dataclass(frozen=True, slots=True)
class _Model:
    """Log-space pieces of the segment model for n sets and k exercises (visited sets: masks of k bits)."""

    seg: FloatArray  # (k, n + 1): prefix sums of each set's in-block log-likelihood per exercise
    counts: FloatArray  # (k, n + 1): log weight of a block of length L of each exercise
    joins: FloatArray  # (n,): prefix sums of the log weight of keeping neighbours s, s + 1 in one block
    log_revisit: float

    @property
    def k(self) -> int:
        return int(self.seg.shape[0])

    @property
    def n(self) -> int:
        return int(self.seg.shape[1]) - 1

    def block(self, i: int, j: int) -> FloatArray:
        """(k,) log weight of sets ``i..j-1`` as one block of each exercise."""
        inner = self.joins[j - 1] - self.joins[i]  # the neighbour pairs inside the block
        return np.asarray(self.seg[:, j] - self.seg[:, i] + self.counts[:, j - i] + inner, dtype=np.float64)


def _build(
    p: FloatArray,
    given: npt.NDArray[np.bool_],
    rests_s: FloatArray,
    planned: Sequence[PlannedExercise],
    params: PlanPriorParams,
) -> _Model:
    """The model over all five exercises (``k = 5``), planned ones favoured; ``given``: the user's sets
    (their neighbours are not compared: the user's certainty is no sign of another exercise)."""
    n, k = p.shape
    inside = (1.0 - params.odd_set_prob) * p + params.odd_set_prob * (1.0 - p)  # (n, k)
    seg = np.zeros((k, n + 1))
    seg[:, 1:] = np.cumsum(np.log(inside), axis=0).T
    lengths = np.arange(n + 1, dtype=np.float64)
    counts = np.full((k, n + 1), math.log(params.unplanned_prob))
    for pe in planned:
        short = np.maximum(pe.target_sets - lengths, 0.0)
        extra = np.maximum(lengths - pe.target_sets, 0.0)
        counts[EXERCISES.index(pe.exercise)] = (
            -params.missing_set_weight * short - params.extra_set_weight * extra
        )
    # Keeping neighbours together, relative to a block boundary between them: unlike scores speak against
    # it (not for the user's sets: their certainty is no sign of another exercise), a short rest for it.
    unlike = _hellinger(p[:-1], p[1:]) * ~(given[:-1] | given[1:])
    with np.errstate(divide="ignore"):
        too_short = -np.log1p(-np.exp(-np.maximum(rests_s, 1e-3) / params.change_time_s))
    joins = np.zeros(max(n, 1))
    joins[1:] = np.cumsum(-params.continuity_weight * unlike + too_short)
    return _Model(seg=seg, counts=counts, joins=joins, log_revisit=math.log(params.revisit_prob))


def _hellinger(a: FloatArray, b: FloatArray) -> FloatArray:
    """Row-wise Hellinger distance (0 same, 1 disjoint) between probability vectors."""
    return np.asarray(np.sqrt(np.clip(1.0 - np.sum(np.sqrt(a * b), axis=1), 0.0, 1.0)), dtype=np.float64)


def _lse(a: FloatArray, axis: int | None = None) -> FloatArray:
    """log(sum(exp(a))) along ``axis``, -inf where every term is -inf."""
    m = np.max(a, axis=axis, keepdims=True)
    safe = np.where(np.isfinite(m), m, 0.0)
    with np.errstate(divide="ignore"):
        out = np.log(np.sum(np.exp(a - safe), axis=axis, keepdims=True)) + safe
    return np.asarray(np.squeeze(out, axis=axis) if axis is not None else out.reshape(()), dtype=np.float64)


def _valid(k: int) -> npt.NDArray[np.bool_]:
    """(2^k, k): whether exercise e is in visited set M (only those states exist)."""
    masks = np.arange(1 << k)[:, None]
    return np.asarray((masks >> np.arange(k)[None, :]) & 1 == 1)


def _others(a: FloatArray) -> FloatArray:
    """(2^k, k): log-sum of ``a[M, e']`` over every e' other than e."""
    k = a.shape[1]
    if k == 1:
        return np.full_like(a, _NEG)
    return np.stack([_lse(np.delete(a, e, axis=1), axis=1) for e in range(k)], axis=1)


def _entries(model: _Model, after: FloatArray) -> FloatArray:
    """(2^k, k) log weight of starting a block of exercise e, ending up with visited set M (e in M), given
    ``after[M', e']``: the log weight of a history that ended with a block of e' with visited set M'."""
    k = model.k
    masks = np.arange(1 << k)
    total = _lse(after, axis=1)  # (2^k,): any last exercise
    again = _others(after)
    out = np.full((1 << k, k), _NEG)
    for e in range(k):
        before = masks & ~(1 << e)
        first = np.where(before > 0, total[before], _NEG)
        out[:, e] = np.logaddexp(first, model.log_revisit + again[:, e])
    return np.where(_valid(k), out, _NEG)


def _start(k: int) -> FloatArray:
    """Entries of the first block: any exercise, visited set just that one."""
    start = np.full((1 << k, k), _NEG)
    for e in range(k):
        start[1 << e, e] = 0.0
    return start


def _forward(model: _Model) -> tuple[FloatArray, list[FloatArray]]:
    """``fwd[j, M, e]``: log weight of sets 0..j-1 cut into blocks, the last of exercise e, visited M; and
    the entries (:func:`_entries`) of a block starting at each set."""
    n, k = model.n, model.k
    fwd = np.full((n + 1, 1 << k, k), _NEG)
    enter = [_start(k)]
    for j in range(1, n + 1):
        fwd[j] = _lse(np.stack([enter[i] + model.block(i, j)[None, :] for i in range(j)]), axis=0)
        if j < n:
            enter.append(_entries(model, fwd[j]))
    return fwd, enter


def _backward(model: _Model) -> FloatArray:
    """``bwd[i, M, e]``: log weight of cutting sets i..n-1 into blocks after a block of e, visited M."""
    n, k = model.n, model.k
    valid = _valid(k)
    masks = np.arange(1 << k)
    bwd = np.full((n + 1, 1 << k, k), _NEG)
    bwd[n] = np.where(valid, 0.0, _NEG)
    for i in range(n - 1, 0, -1):
        # ahead[M2, e2]: the next block is e2 over sets i..j-1 (any j), visited set M2 afterwards
        ahead = _lse(np.stack([model.block(i, j)[None, :] + bwd[j] for j in range(i + 1, n + 1)]), axis=0)
        fresh = np.full((1 << k, k), _NEG)  # [M, e2]: e2 not yet visited, so M gains it
        for e2 in range(k):
            fresh[:, e2] = np.where(masks >> e2 & 1 == 0, ahead[masks | 1 << e2, e2], _NEG)
        new = _lse(fresh, axis=1)[:, None]
        bwd[i] = np.where(valid, np.logaddexp(new, model.log_revisit + _others(ahead)), _NEG)
    return bwd


def block_posteriors(model: _Model) -> FloatArray:
    """(n, k): the probability that each set lies in a block of each planned exercise."""
    n, k = model.n, model.k
    fwd, enter = _forward(model)
    bwd = _backward(model)
    log_z = float(_lse(fwd[n].ravel()))
    diff = np.zeros((n + 1, k))
    for i in range(n):
        for j in range(i + 1, n + 1):
            w = np.exp(_lse(enter[i] + model.block(i, j)[None, :] + bwd[j], axis=0) - log_z)  # (k,)
            diff[i] += w
            diff[j] -= w
    return np.clip(np.cumsum(diff, axis=0)[:n], 0.0, 1.0)


def match_plan(
    votes: Sequence[ExerciseVote],
    planned: Sequence[PlannedExercise],
    *,
    fixed: Mapping[int, Exercise] | None = None,
    rests_s: Sequence[float] | None = None,
    params: PlanPriorParams | None = None,
) -> tuple[PlanLabel, ...]:
    """Each set's exercise under the plan (see the module docstring), in the order of ``votes``.

    ``votes``: the recogniser's vote of each set, in time order; ``planned``: the plan in effect (an
    exercise listed twice counts once, with the first target); ``fixed``: set index -> exercise the user
    gave; ``rests_s``: the rest (s) between each set and the next (``n - 1`` of them; without them every rest
    counts as long). Without a plan every set keeps its vote (``source = recognised``).
    """
    p = params or PlanPriorParams()
    plan = _distinct(planned)
    # a set whose exercise was given, not recognised (no scores), is as certain as the user's
    given_sets = {i: v.exercise for i, v in enumerate(votes) if not v.scores and v.exercise in EXERCISES}
    fixed = {**given_sets, **(fixed or {})}
    if not plan or not votes:
        return tuple(_kept(v) for v in votes)
    evidence = _evidence(votes, fixed, p.score_floor)
    given = np.array([i in fixed for i in range(len(votes))])
    rests = np.full(len(votes) - 1, np.inf) if rests_s is None else np.asarray(rests_s, dtype=np.float64)
    blocks = block_posteriors(_build(evidence, given, rests, plan, p))  # (n, 5)
    # in a block of e the set is e itself, not a lone odd set
    share = (1.0 - p.odd_set_prob) * evidence
    share = share / (share + p.odd_set_prob * (1.0 - evidence))
    cols = [EXERCISES.index(pe.exercise) for pe in plan]
    labels: list[PlanLabel] = []
    for s, vote in enumerate(votes):
        as_planned = blocks[s, cols] * share[s, cols]
        best = int(np.argmax(as_planned))
        if as_planned[best] >= 1.0 - as_planned[best]:
            ex = plan[best].exercise
            source: LabelSource = "recognised" if ex == vote.exercise else "plan"
            labels.append(PlanLabel(exercise=ex, confidence=float(as_planned[best]), source=source))
        else:
            labels.append(_kept(vote))
    return tuple(labels)


def _kept(vote: ExerciseVote) -> PlanLabel:
    return PlanLabel(exercise=vote.exercise, confidence=float(vote.confidence), source="recognised")


def _distinct(planned: Sequence[PlannedExercise]) -> list[PlannedExercise]:
    seen: set[Exercise] = set()
    out: list[PlannedExercise] = []
    for pe in planned:
        if pe.exercise in EXERCISES and pe.exercise not in seen:
            seen.add(pe.exercise)
            out.append(pe)
    return out


def rests_between(sets: Sequence[ExerciseSet]) -> list[float]:
    """The rest (s) between each set's end and the next one's start."""
    return [max(b.start_s - a.end_s, 0.0) for a, b in itertools.pairwise(sets)]


def vote_of(s: ExerciseSet) -> ExerciseVote:
    """The recogniser's vote that an analysed set carries."""
    return ExerciseVote(
        exercise=s.exercise,
        confidence=s.exercise_confidence,
        scores=s.exercise_scores,
        reason=s.exercise_reason,
    )
