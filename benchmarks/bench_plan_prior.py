"""The plan as a prior (issue 13 part 2): each set's exercise on simulated programs, with and without plan.

Simulated programs carry each week's plan (exercise -> sets x reps); their sessions rotate 2-3 of the planned
exercises, in no fixed order. Each session is analysed once; its sets are matched to their truth by the
largest time overlap, then labelled three ways:

- ``recogniser``: the analysis' own vote (the baseline, measured on the same sets);
- ``with plan``: :func:`processing.plan_prior.match_plan` with the week's plan, as ``hipsync sync`` does;
- ``wrong plan``: the same with a plan that names other exercises for all but one of the session's (the
  prior must not spoil what the recogniser got right).

Seeds 9500-9503 and 9600-9611 were looked at while building the model (its neighbour-continuity and
rest-length terms came from errors seen on 9601, 9605 and 9608); seeds 9700-9711 were run only once, at
the end, as the check.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from hipsync.records import Exercise, ExerciseSet, Recording
from processing import analyze
from processing.plan_prior import EXERCISES, PlannedExercise, match_plan, rests_between, vote_of

DESIGN_COMPACT = (*range(9500, 9504), *range(9600, 9612))
DESIGN_FULL = range(9600, 9604)
CHECK_COMPACT = range(9700, 9712)
CHECK_FULL = range(9700, 9704)


@dataclass(slots=True)
class Tally:
    """Right labels out of the found sets, per way of labelling."""

    found: int = 0
    missed: int = 0
    right: dict[str, int] = field(default_factory=lambda: {"recogniser": 0, "with plan": 0, "wrong plan": 0})
    errors: list[str] = field(default_factory=list)

    def line(self, name: str) -> str:
        n = max(self.found, 1)
        parts = "  ".join(f"{k} {v}/{self.found} = {v / n:.4f}" for k, v in self.right.items())
        return f"  {name:44s} sets found {self.found:4d} (missed {self.missed:2d})  {parts}"


def wrong_plan(planned: Sequence[PlannedExercise], trained: set[Exercise]) -> list[PlannedExercise]:
    """A plan keeping one trained exercise and naming untrained ones for the rest."""
    others = [e for e in EXERCISES if e not in trained]
    keep = [pe for pe in planned if pe.exercise in trained][:1]
    swapped = [PlannedExercise(exercise=e, target_sets=3) for e in others[: max(len(planned) - 1, 1)]]
    return keep + swapped


def truth_of(truth: dict[str, Any], sets: Sequence[ExerciseSet]) -> list[int | None]:
    """The truth set of each analysed set (largest overlap), None for a set that is no truth set."""
    out: list[int | None] = []
    for s in sets:
        overlap = [
            (min(t["end"], s.end_s) - max(t["start"], s.start_s), i) for i, t in enumerate(truth["sets"])
        ]
        best = max(overlap, default=(0.0, -1))
        out.append(best[1] if best[0] > 0 else None)
    return out


def score_session(tally: Tally, sim: Any, planned: list[PlannedExercise]) -> None:
    sets = analyze(Recording.of(sim)).sets
    matched = truth_of(sim.truth, sets)
    tally.missed += len(sim.truth["sets"]) - len({i for i in matched if i is not None})
    truth = [None if i is None else str(sim.truth["sets"][i]["exercise"]) for i in matched]
    votes = [vote_of(s) for s in sets]
    rests = rests_between(sets)
    trained = {Exercise(t) for t in truth if t is not None}
    wrong = wrong_plan(planned, trained)
    labels = {
        "recogniser": [str(v.exercise) for v in votes],
        "with plan": [str(lab.exercise) for lab in match_plan(votes, planned, rests_s=rests)],
        "wrong plan": [str(lab.exercise) for lab in match_plan(votes, wrong, rests_s=rests)],
    }
    for i, t in enumerate(truth):
        if t is None:
            continue
        tally.found += 1
        for way, got in labels.items():
            tally.right[way] += got[i] == t
        if labels["with plan"][i] != t:
            tally.errors.append(f"{sim.started_at:%Y-%m-%d} set {i + 1}: {t} -> {labels['with plan'][i]}")


def program_sets(
    seed: int, *, compact: bool, accel_only: bool
) -> Iterable[tuple[Any, list[PlannedExercise]]]:
    """Every session of a 2-week program with the plan of its week."""
    from simulate import simulate_program
    from simulate.sensor import SensorSpec

    program = simulate_program(2, seed, compact=compact, sensor=SensorSpec(accel_only=accel_only))
    weeks = {p.week: p for p in program.plan}
    for x in program.schedule:
        if x.session_index is None:
            continue
        targets = weeks[x.week].targets
        planned = [
            PlannedExercise(exercise=Exercise(k), target_sets=t.sets) for k, t in sorted(targets.items())
        ]
        yield program.sessions[x.session_index], planned


def bench(name: str, seeds: Iterable[int], *, compact: bool, accel_only: bool) -> Tally:
    tally = Tally()
    for seed in seeds:
        for sim, planned in program_sets(seed, compact=compact, accel_only=accel_only):
            score_session(tally, sim, planned)
    print(tally.line(f"{name}, {'accel-only' if accel_only else 'gyro'}"), flush=True)
    for e in tally.errors:
        print(f"      with plan wrong: {e}")
    return tally


def timing() -> None:
    """The prior's own cost on the largest case: 30 sets, all five exercises planned."""
    from hipsync.records import ExerciseVote

    votes = [
        ExerciseVote(exercise=e, confidence=0.5, scores={e: 0.6, EXERCISES[i % 4 + 1]: 0.3}, reason="")
        for i, e in enumerate(EXERCISES * 6)
    ]
    planned = [PlannedExercise(exercise=e, target_sets=6) for e in EXERCISES]
    best = min(_timed(lambda: match_plan(votes, planned)) for _ in range(5))
    print(f"  match_plan, 30 sets x 5 planned exercises: {best * 1e3:.1f} ms (best of 5)")


def _timed(fn: Any) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def _span(seeds: Sequence[int]) -> str:
    return (
        f"{seeds[0]}-{seeds[-1]}"
        if list(seeds) == list(range(seeds[0], seeds[-1] + 1))
        else "9500-9503, 9600-9611"
    )


def main() -> None:
    t0 = time.perf_counter()
    for title, compact_seeds, full_seeds in (
        ("seeds looked at while building the model:", DESIGN_COMPACT, DESIGN_FULL),
        ("check seeds (run once, at the end):", CHECK_COMPACT, CHECK_FULL),
    ):
        print(title)
        for accel_only in (False, True):
            bench(
                f"compact programs {_span(compact_seeds)}", compact_seeds, compact=True, accel_only=accel_only
            )
            bench(
                f"full programs (walking, other leg) {_span(full_seeds)}",
                full_seeds,
                compact=False,
                accel_only=accel_only,
            )
    timing()
    print(f"evaluation took {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
