"""The live rep view: CPU per second of stream, and latency from a rep's true end to its display.

Run with ``uv run python -m benchmarks live``.

A simulated session (ground truth: every rep's end) is replayed into :class:`flows.live.LiveAnalyzer`
in notification-sized blocks (ACC and GYRO, as the recorder's ``on_samples`` hook delivers them), on a
stream clock: every ``interval_s`` of stream time one analysis pass runs, as the worker thread does at
real time. A rep's latency is the stream time of the pass that showed it minus the rep's true end, plus
the wall time that pass took (the display comes after the pass). At real time this is what a user sees,
as long as a pass is shorter than ``interval_s`` (it is, by two orders of magnitude: see max pass).

Baseline in the same process: one analysis of the whole session at once (what ``hipsync sync`` does),
its CPU per second of stream.

Latency is reported for every matched rep, and apart for the first two reps of a set, which wait for the
third by design (the analysis accepts a set of three or more reps).
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field

import numpy as np

BLOCK_S = 0.25  # one notification's worth of samples (Polar sends 4-8 per second)
SEEDS = (1, 2, 3)
INTERVAL_S = 0.5  # LiveAnalyzer's default


@dataclass(slots=True)
class _Run:
    """What one replay measured (latencies in s, CPU and wall in s)."""

    from_truth: list[float] = field(default_factory=list)  # display - true end, every rep shown
    from_truth_later: list[float] = field(default_factory=list)  # the same, third rep of a set on
    from_detected: list[float] = field(default_factory=list)  # display - the rep's end as detected
    n_truth: int = 0
    n_shown: int = 0
    n_matched: int = 0
    cpu_s: float = 0.0
    max_pass_s: float = 0.0
    stream_s: float = 0.0


def _replay(seed: int, interval_s: float, run: _Run) -> None:
    from flows.live import LiveAnalyzer, LiveEvent, LiveRep
    from ingest.samples import SampleBlock
    from simulate import simulate_session

    session = simulate_session(seed)
    t, acc, gyr = session.time_s, session.accel_g, session.gyro_dps
    assert gyr is not None
    shown: list[LiveRep] = []

    def on_event(e: LiveEvent) -> None:
        if isinstance(e, LiveRep):
            shown.append(e)

    live = LiveAnalyzer(on_event, interval_s=interval_s)
    n_block = max(1, round(BLOCK_S * session.fs_hz))
    next_pass = float(t[0]) + interval_s
    pass_took: list[tuple[int, float]] = []  # (events before the pass, its wall time)
    for i in range(0, t.size, n_block):
        sl = slice(i, i + n_block)
        live.observe("bench", SampleBlock(kind="acc", sensor_time_s=t[sl], values=acc[sl]))
        live.observe("bench", SampleBlock(kind="gyro", sensor_time_s=t[sl], values=gyr[sl]))
        if t[sl][-1] >= next_pass:
            before, w0 = len(shown), time.perf_counter()
            live.analyse_now()
            pass_took.append((before, time.perf_counter() - w0))
            next_pass += interval_s
    took_of = [0.0] * len(shown)
    for k, (before, took) in enumerate(pass_took):
        end = pass_took[k + 1][0] if k + 1 < len(pass_took) else len(shown)
        took_of[before:end] = [took] * (end - before)

    truth = [(r["end"], k) for s in session.truth["sets"] for k, r in enumerate(s["reps"])]
    ends = np.array([e for e, _ in truth])
    run.n_truth += len(truth)
    run.n_shown += len(shown)
    for event, took in zip(shown, took_of, strict=True):
        run.from_detected.append(event.data_end_s - event.rep.end_s + took)
        j = int(np.argmin(np.abs(ends - event.rep.end_s)))
        if abs(ends[j] - event.rep.end_s) > 1.0:
            continue  # no true rep ends near it
        run.n_matched += 1
        lat = event.data_end_s - ends[j] + took
        run.from_truth.append(lat)
        if truth[j][1] >= 2:
            run.from_truth_later.append(lat)
    run.cpu_s += live.stats.cpu_s
    run.max_pass_s = max(run.max_pass_s, live.stats.max_wall_s)
    run.stream_s += float(t[-1] - t[0])


def _baseline(seed: int) -> tuple[float, float]:
    import processing
    from hipsync.records import Recording
    from simulate import simulate_session

    session = simulate_session(seed)
    rec = Recording.of(session)
    c0 = time.process_time()
    processing.analyze(rec)
    return time.process_time() - c0, rec.duration_s


def _pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def _summary(values: list[float]) -> str:
    return (
        f"median {statistics.median(values):.2f} s, p90 {_pct(values, 90):.2f} s, "
        f"max {max(values):.2f} s ({len(values)} reps)"
    )


def main() -> None:
    print("(a shared 2-core machine: CPU and wall times are noisy while others run)")
    run = _Run()
    for seed in SEEDS:
        _replay(seed, INTERVAL_S, run)
    print(
        f"live view, a pass every {INTERVAL_S:.1f} s over a 60 s window, {len(SEEDS)} simulated sessions "
        f"({run.stream_s / 60:.0f} stream min):"
    )
    print(
        f"  reps shown {run.n_shown} of {run.n_truth} true reps; {run.n_matched} within 1 s of a true "
        f"rep's end"
    )
    print(
        f"  CPU {1000 * run.cpu_s / run.stream_s:.1f} ms per stream second "
        f"({100 * run.cpu_s / run.stream_s:.2f} % of one core); slowest pass {1000 * run.max_pass_s:.0f} ms"
    )
    print(f"  latency true rep end -> display, 3rd rep of a set on: {_summary(run.from_truth_later)}")
    print(f"  latency true rep end -> display, every rep:           {_summary(run.from_truth)}")
    print(f"  latency detected rep end -> display, every rep:       {_summary(run.from_detected)}")
    print("  (reps 1-2 of a set wait for the 3rd: the analysis accepts sets of 3 or more reps)")
    base_cpu = base_stream = 0.0
    for seed in SEEDS:
        c, s = _baseline(seed)
        base_cpu += c
        base_stream += s
    print(
        f"baseline, the same sessions analysed whole after they ended (what sync does): "
        f"{1000 * base_cpu / base_stream:.2f} ms CPU per stream second"
    )


if __name__ == "__main__":
    main()
