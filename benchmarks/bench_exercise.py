"""Exercise recognition: every set's exercise on the real recordings and on simulated sessions.

Real: tests/data/real (MEx bridging and moving clam files per ``mex/labels.csv``, accelerometer only, no
walking, no standing start; UCI s1 u3 side-lying hip abduction with a gyroscope). A file is right when it has
sets and every one carries its exercise. Subjects 01-03 and 11-20 were looked at while designing the
recogniser, 21-30 were kept to check it (printed apart).

Simulated: sets matched to their truth by time overlap, counted per exercise with and without a gyroscope
(the accelerometer cannot see seated abduction: those sets are counted apart). Seeds were not used while
designing; the wide population runs on its held-out seeds (``simulate.HELD_OUT_SEEDS``). Printed next to a
baseline on the same sets: the most common exercise of each batch.
"""

from __future__ import annotations

import csv
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from hipsync.records import Exercise, Recording
from processing import analyze

REAL = Path(__file__).parents[1] / "tests" / "data" / "real"
CHECK_SUBJECTS = {f"{s}" for s in range(21, 31)}
SEEDS = range(9300, 9310)
FULL_SEEDS = range(9300, 9316)
PROGRAM_SEEDS = range(9300, 9306)
SEATED = str(Exercise.BANDED_ABDUCTION_SEATED)


def real_files() -> list[tuple[str, str]]:
    """(name, exercise) of every active real file."""
    out = [("uci-pt/s1/e4/u3/test", str(Exercise.SIDE_LYING_LEG_RAISE))]
    with (REAL / "mex" / "labels.csv").open(newline="") as fh:
        for row in csv.DictReader(fh):
            if row["moving"] == "true":
                out.append((f"mex/{row['subject']}/{row['file'].removesuffix('.csv')}", row["exercise"]))
    return out


def _read(name: str) -> Recording:
    from ingest.datasets import read_mex, read_uci_pt

    return (
        read_uci_pt(REAL / f"{name}.txt.gz") if name.startswith("uci") else read_mex(REAL / f"{name}.csv.gz")
    )


def bench_real() -> None:
    groups: dict[str, list[bool]] = defaultdict(list)
    for name, exercise in real_files():
        sets = analyze(_read(name)).sets
        right = bool(sets) and all(str(s.exercise) == exercise for s in sets)
        subject = name.split("/")[1]
        group = "uci" if name.startswith("uci") else ("check" if subject in CHECK_SUBJECTS else "design")
        groups[group].append(right)
        got = ", ".join(f"{s.exercise} {s.exercise_confidence:.2f}" for s in sets) or "no set"
        print(f"  {'ok ' if right else 'NO '} {name:24s} {exercise:26s} {got}")
    for group, rights in groups.items():
        print(f"  {group:7s} files right {sum(rights)}/{len(rights)}")


def match(truth: dict[str, Any], sets: Iterable[Any]) -> list[tuple[str, str]]:
    """(truth exercise, predicted exercise or ``missed``) per truth set, by largest time overlap."""
    out = []
    sets = list(sets)
    for t in truth["sets"]:
        overlap = [(min(t["end"], s.end_s) - max(t["start"], s.start_s), s) for s in sets]
        best = max(overlap, key=lambda x: x[0], default=(0.0, None))
        out.append((t["exercise"], str(best[1].exercise) if best[0] > 0 else "missed"))
    return out


def _table(name: str, pairs: list[tuple[str, str]]) -> None:
    by: dict[str, Counter[str]] = defaultdict(Counter)
    for t, p in pairs:
        by[t][p] += 1
    print(f"  {name}")
    for ex in sorted(by):
        c = by[ex]
        found = sum(c.values()) - c["missed"]
        wrong = {k: v for k, v in c.items() if k not in (ex, "missed")}
        print(
            f"    {ex:26s} right {c[ex]:3d}/{found:<3d} found (of {sum(c.values()):3d}) other: {wrong or '-'}"
        )
    scored = [(t, p) for t, p in pairs if p != "missed" and not (t == SEATED and name.startswith("accel"))]
    right = sum(t == p for t, p in scored)
    common = Counter(t for t, _ in scored).most_common(1)
    base = common[0][1] if common else 0
    n = max(len(scored), 1)
    print(f"    ALL found sets right {right}/{len(scored)} = {right / n:.4f}", end="")
    print(f"  baseline (the commonest exercise) {base / n:.4f}")


def bench_simulated(
    name: str, make: Callable[[int, bool], list[Any]], accel_only: bool, seeds: Iterable[int]
) -> None:
    pairs: list[tuple[str, str]] = []
    for seed in seeds:
        for sim in make(seed, accel_only):
            pairs += match(sim.truth, analyze(Recording.of(sim)).sets)
    _table(f"{'accel-only' if accel_only else 'gyro'}: {name}, seeds {_span(seeds)}", pairs)


def _span(seeds: Iterable[int]) -> str:
    s = list(seeds)
    return f"{s[0]}-{s[-1]}"


def _quick(lead: bool, any_strap: bool) -> Callable[[int, bool], list[Any]]:
    import numpy as np

    from simulate.sensor import SensorSpec
    from simulate.session import SessionSpec, simulate_session

    def make(seed: int, accel_only: bool) -> list[Any]:
        strap = int(np.random.default_rng(seed).integers(360)) if any_strap else None
        sensor = SensorSpec(accel_only=accel_only, strap_rotation_deg=strap)
        kw = {} if lead else {"lead_s": (0.0, 0.0)}
        return [
            simulate_session(seed, spec=SessionSpec.quick(str(ex), sets=2, sensor=sensor, **kw))
            for ex in Exercise
            if ex != Exercise.UNKNOWN
        ]

    return make


def _full(seed: int, accel_only: bool) -> list[Any]:
    from simulate.sensor import SensorSpec
    from simulate.session import SessionSpec, simulate_session

    spec = SessionSpec(
        sensor=SensorSpec(accel_only=accel_only),
        sets_per_exercise=1,
        reps_per_set=(6, 12),
        rest_s=(10.0, 25.0),
    )
    return [simulate_session(seed, spec=spec)]


def _wide(seed: int, accel_only: bool) -> list[Any]:
    from simulate import Variation
    from simulate.session import SessionSpec, simulate_session

    variation = Variation(accel_only_prob=1.0 if accel_only else 0.0)
    return [simulate_session(seed, spec=SessionSpec.wide(variation=variation))]


def _compact(seed: int, accel_only: bool) -> list[Any]:
    from simulate import simulate_program
    from simulate.sensor import SensorSpec

    return list(simulate_program(2, seed, compact=True, sensor=SensorSpec(accel_only=accel_only)).sessions)


def main() -> None:
    from simulate import HELD_OUT_SEEDS

    t0 = time.perf_counter()
    print("real recordings (no plan; a file is right when every set carries its exercise):")
    bench_real()
    print("simulated (seated abduction without gyroscope counted apart):")
    batches: list[tuple[str, Callable[[int, bool], list[Any]], Iterable[int]]] = [
        (
            "one-exercise sessions, standing start (upright reference)",
            _quick(lead=True, any_strap=False),
            SEEDS,
        ),
        (
            "one-exercise sessions, no standing start (device edges)",
            _quick(lead=False, any_strap=False),
            SEEDS,
        ),
        (
            "one-exercise sessions, strap at any angle, standing start",
            _quick(lead=True, any_strap=True),
            SEEDS,
        ),
        ("whole sessions with walking, the other leg's sets", _full, FULL_SEEDS),
        ("compact 2-week programs (no walking)", _compact, PROGRAM_SEEDS),
        ("wide population (any strap angle and placement, walking, the other leg)", _wide, HELD_OUT_SEEDS),
    ]
    for name, make, seeds in batches:
        for accel_only in (False, True):
            bench_simulated(name, make, accel_only, seeds)
    print(f"evaluation took {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
