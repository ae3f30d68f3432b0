"""The plan as a prior: exact posteriors (against brute force), and what the plan may and may not change."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hipsync.records import Exercise, ExerciseVote
from processing.plan_prior import (
    EXERCISES,
    PlannedExercise,
    PlanPriorParams,
    _build,
    _evidence,
    block_posteriors,
    match_plan,
)

CLAM = Exercise.CLAMSHELL
RAISE = Exercise.SIDE_LYING_LEG_RAISE
STANDING = Exercise.BANDED_ABDUCTION_STANDING
SEATED = Exercise.BANDED_ABDUCTION_SEATED
BRIDGE = Exercise.SINGLE_LEG_GLUTE_BRIDGE


def vote(scores: dict[Exercise, float], min_confidence: float = 0.5) -> ExerciseVote:
    """A vote as the recogniser makes it: the best score's share, ``unknown`` below ``min_confidence``."""
    best = max(scores, key=lambda e: scores[e])
    confidence = scores[best] / (sum(scores.values()) + 0.01)
    exercise = best if confidence >= min_confidence else Exercise.UNKNOWN
    return ExerciseVote(exercise=exercise, confidence=confidence, scores=scores, reason="")


def plan(*items: tuple[Exercise, int]) -> list[PlannedExercise]:
    return [PlannedExercise(exercise=e, target_sets=n) for e, n in items]


CLEAR_CLAM = vote({CLAM: 0.8, RAISE: 0.1})
CLEAR_STANDING = vote({STANDING: 0.8, SEATED: 0.001})
TIE_ABDUCTION = vote({STANDING: 0.7, SEATED: 0.7})  # no gyroscope: seated and standing look the same


def labels(votes: list[ExerciseVote], planned: list[PlannedExercise], **kw: object) -> list[Exercise]:
    return [lab.exercise for lab in match_plan(votes, planned, **kw)]  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------- exact posteriors


def brute_force(
    p: np.ndarray, rests: np.ndarray, planned: list[PlannedExercise], params: PlanPriorParams
) -> np.ndarray:
    """Block posteriors by enumerating every cut of the sets into blocks and every exercise sequence."""
    n, k = p.shape
    model = _build(p, np.zeros(n, dtype=bool), rests, planned, params)
    post = np.zeros((n, k))
    total = 0.0
    for cuts in itertools.product([False, True], repeat=n - 1):
        bounds = [0, *[i + 1 for i, c in enumerate(cuts) if c], n]
        spans = list(itertools.pairwise(bounds))
        for exs in itertools.product(range(k), repeat=len(spans)):
            if any(a == b for a, b in itertools.pairwise(exs)):
                continue  # two blocks of one exercise in a row are one block
            log_w = sum(float(model.block(i, j)[e]) for (i, j), e in zip(spans, exs, strict=True))
            log_w += sum(model.log_revisit for m, e in enumerate(exs) if e in exs[:m])
            w = math.exp(log_w)
            total += w
            for (i, j), e in zip(spans, exs, strict=True):
                post[i:j, e] += w
    return post / total


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(1, 4),
    seed=st.integers(0, 2**16),
    n_planned=st.integers(1, 3),
)
def test_block_posteriors_equal_brute_force(n: int, seed: int, n_planned: int) -> None:
    rng = np.random.default_rng(seed)
    votes = [
        vote({e: float(x) for e, x in zip(EXERCISES, rng.random(5) ** 3, strict=True)}) for _ in range(n)
    ]
    planned = plan(*[(e, int(rng.integers(1, 4))) for e in rng.permutation(list(EXERCISES))[:n_planned]])
    params = PlanPriorParams()
    p = _evidence(votes, {}, params.score_floor)
    rests = rng.uniform(0.5, 60.0, max(n - 1, 0))
    fast = block_posteriors(_build(p, np.zeros(n, dtype=bool), rests, planned, params))
    np.testing.assert_allclose(fast, brute_force(p, rests, planned, params), atol=1e-9)


# ------------------------------------------------------------------------------ what the plan decides


def test_without_a_plan_every_set_keeps_its_vote() -> None:
    votes = [CLEAR_CLAM, TIE_ABDUCTION]
    got = match_plan(votes, [])
    assert [lab.exercise for lab in got] == [CLAM, Exercise.UNKNOWN]
    assert [lab.source for lab in got] == ["recognised", "recognised"]
    assert got[0].confidence == pytest.approx(CLEAR_CLAM.confidence)


def test_the_plan_names_a_set_the_recogniser_could_not() -> None:
    """Without a gyroscope seated and standing abduction tie; the plan says which one it was."""
    got = match_plan([CLEAR_CLAM] * 3 + [TIE_ABDUCTION] * 3, plan((CLAM, 3), (SEATED, 3)))
    assert [lab.exercise for lab in got] == [CLAM] * 3 + [SEATED] * 3
    assert [lab.source for lab in got[3:]] == ["plan"] * 3
    assert all(0.5 < lab.confidence <= 1.0 for lab in got)


def test_ties_next_to_confident_sets_are_the_other_planned_exercise() -> None:
    """Both abductions planned: a tie beside confident standing sets is the seated one (they look unlike)."""
    votes = [CLEAR_STANDING] * 3 + [TIE_ABDUCTION] * 2
    assert labels(votes, plan((STANDING, 3), (SEATED, 3))) == [STANDING] * 3 + [SEATED] * 2


def test_a_set_that_fits_nothing_planned_keeps_its_label() -> None:
    bridge = vote({BRIDGE: 0.9, STANDING: 1e-4})
    got = match_plan([CLEAR_CLAM] * 3 + [bridge], plan((CLAM, 3), (RAISE, 3)))
    assert got[3].exercise == BRIDGE
    assert got[3].source == "recognised"


def test_a_plan_that_names_other_exercises_spoils_nothing() -> None:
    """The user did clamshells on a leg-raise day: three clear clam sets stay clam sets."""
    assert labels([CLEAR_CLAM] * 3, plan((RAISE, 3), (BRIDGE, 3))) == [CLAM] * 3


def test_the_plan_outvotes_a_lone_doubtful_set_inside_a_block() -> None:
    doubtful = vote({CLAM: 0.3, RAISE: 0.5})
    got = match_plan([CLEAR_CLAM, doubtful, CLEAR_CLAM], plan((CLAM, 3), (RAISE, 3)))
    assert [lab.exercise for lab in got] == [CLAM] * 3
    assert got[1].source == "plan"


def test_the_users_label_pulls_its_block() -> None:
    """Three ties between clam and leg raise, the user named the middle one: the block follows."""
    tie = vote({CLAM: 0.5, RAISE: 0.5})
    got = labels([tie, tie, tie], plan((CLAM, 3), (RAISE, 3)), fixed={1: RAISE})
    assert got == [RAISE] * 3


def test_a_set_cut_in_two_by_a_short_pause_stays_one_exercise() -> None:
    """A fragment that looks more seated than standing, 2 s after a standing set (seated not planned)."""
    fragment = vote({STANDING: 0.004, SEATED: 0.011})
    votes = [CLEAR_STANDING] * 4 + [fragment]
    planned = plan((STANDING, 4), (CLAM, 3))
    assert labels(votes, planned, rests_s=[20.0, 20.0, 20.0, 2.0])[-1] == STANDING
    assert labels(votes, planned, rests_s=[20.0, 20.0, 20.0, 60.0])[-1] == Exercise.UNKNOWN


def test_an_exercise_listed_twice_counts_once() -> None:
    votes = [TIE_ABDUCTION] * 2
    assert labels(votes, plan((SEATED, 2), (SEATED, 5))) == labels(votes, plan((SEATED, 2)))


def test_a_set_given_rather_than_recognised_is_certain() -> None:
    """A vote without scores (the exercise was given, e.g. by a file's labels) is never relabelled."""
    given = ExerciseVote(exercise=RAISE, confidence=1.0, scores={}, reason="")
    got = match_plan([CLEAR_CLAM, given, CLEAR_CLAM], plan((CLAM, 3)))
    assert [lab.exercise for lab in got] == [CLAM, RAISE, CLAM]
    assert got[1].source == "recognised"
