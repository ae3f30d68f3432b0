"""Speed and memory of ``processing.analyze`` on a 60-minute 104 Hz accelerometer+gyro recording.

Baseline in the same process: a plain load-and-filter of the same data (copy the arrays into a Recording,
one zero-phase low-pass over all six channels), i.e. the least any analysis has to do.
Target (issue 4): analysis >= 10,000x real time, under 0.36 s for the hour.
"""

from __future__ import annotations

import time
import tracemalloc

import numpy as np

from hipsync.records import Recording
from processing import analyze


def _recording() -> Recording:
    """A 60-min 104 Hz session from the simulator (walking, sets, passive legs, rests)."""
    from simulate.session import SessionSpec, simulate_session

    parts = []
    t_off = 0.0
    total = 0.0
    seed = 777
    while total < 3600.0:
        sim = simulate_session(seed, spec=SessionSpec(fs_hz=104.0))
        parts.append((sim.time_s + t_off, sim.accel_g, sim.gyro_dps))
        t_off += sim.duration_s + 1.0 / 104.0
        total += sim.duration_s
        seed += 1
    t = np.concatenate([p[0] for p in parts])
    acc = np.concatenate([p[1] for p in parts])
    gyr = np.concatenate([p[2] for p in parts])  # type: ignore[misc]
    keep = t <= t[0] + 3600.0
    return Recording(time_s=t[keep], accel_g=acc[keep], gyro_dps=gyr[keep], fs_hz=104.0)


def _baseline(rec: Recording) -> float:
    from scipy import signal

    t0 = time.perf_counter()
    r = Recording(
        time_s=rec.time_s.copy(), accel_g=rec.accel_g.copy(), gyro_dps=rec.gyro_dps.copy(), fs_hz=104.0
    )  # type: ignore[union-attr]
    sos = signal.butter(2, 4.0 / 52.0, output="sos")
    signal.sosfiltfilt(sos, np.hstack([r.accel_g, r.gyro_dps]), axis=0)  # type: ignore[list-item]
    return time.perf_counter() - t0


def main() -> None:
    rec = _recording()
    dur = rec.duration_s
    print(f"recording: {dur / 60:.1f} min, {rec.n_samples:,} samples at 104 Hz, accel+gyro")
    analyze(rec)  # warm-up (imports, filter designs)
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        a = analyze(rec)
        times.append(time.perf_counter() - t0)
    best = min(times)
    base = min(_baseline(rec) for _ in range(3))
    tracemalloc.start()
    analyze(rec)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"sets found: {len(a.sets)}, reps: {sum(len(s.reps) for s in a.sets)}")
    print(f"analysis          {best:8.3f} s   {dur / best:10,.0f}x real time   (target >= 10,000x, < 0.36 s)")
    print(
        f"baseline load+LP  {base:8.3f} s   {dur / base:10,.0f}x real time   (copy + one zero-phase low-pass)"
    )
    print(f"analysis / baseline: {best / base:.1f}x")
    print(
        f"peak traced memory during analysis: {peak / 1e6:.1f} MB "
        f"(input arrays {rec.n_samples * 7 * 8 / 1e6:.1f} MB)"
    )


if __name__ == "__main__":
    main()
