"""Sample ingest throughput into DuckDB: Arrow bulk load vs a row-wise ``executemany`` baseline, and size.

What is measured (same process, same data, fresh database files in a temp directory):

1. ``arrow``: :func:`storage.sync.insert_samples` (one ``INSERT ... SELECT`` from a registered Arrow table),
   one transaction per 1-hour session, including COMMIT. Rows/s over all sessions.
2. ``arrow + session``: the whole :func:`storage.sync.write_session` (session row, samples, analysis run,
   sets, reps, one transaction) for the same sessions, to show the per-session overhead.
3. ``executemany``: the row-wise baseline (``INSERT ... VALUES (?, ...)`` with ``executemany``) on a small
   subset only, because at its speed the full data would take many minutes; its rows/s is extrapolated
   to the full data (stated in the output).
4. Database size per hour of 100 Hz 6-axis data after CHECKPOINT (file bytes / hours stored).

Each line gives rows/s of wall time and rows per CPU-second (user + system time of this process, over all
DuckDB threads), and the machine's load average is printed before and after: on a shared machine the wall
rate mostly measures the other processes, the CPU rate much less so.

The data are realistic rather than random: thigh motion (slow sinusoids) plus sensor noise, quantised to
16-bit sensor steps (±16 g, ±2000 deg/s full scale) like every supported sensor delivers them. Random
floats would not compress and would overstate the size.
"""

from __future__ import annotations

import os
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from processing.records import Exercise, ExerciseSet, Recording, Rep, SessionAnalysis, Side

FS_HZ = 100.0
HOURS_PER_SESSION = 1.0
N_SESSIONS = 6
BASELINE_ROWS = 5_000
ACC_LSB_G = 16.0 / 32768
GYRO_LSB_DPS = 2000.0 / 32768


def _recording(rng: np.random.Generator, i: int) -> Recording:
    n = int(HOURS_PER_SESSION * 3600 * FS_HZ)
    t = np.arange(n) / FS_HZ
    phase = 2 * np.pi * 0.25 * t  # a rep every 4 s
    angle = np.deg2rad(30.0) * (1 - np.cos(phase)) / 2
    acc = np.column_stack([np.sin(angle), 0.05 * np.sin(phase / 3), np.cos(angle)])
    acc += rng.normal(scale=0.004, size=acc.shape)
    gyr = np.column_stack([np.gradient(np.rad2deg(angle), t), np.zeros(n), np.zeros(n)])
    gyr += rng.normal(scale=0.3, size=gyr.shape)
    return Recording(
        time_s=t,
        accel_g=np.round(acc / ACC_LSB_G) * ACC_LSB_G,
        gyro_dps=np.round(gyr / GYRO_LSB_DPS) * GYRO_LSB_DPS,
        fs_hz=FS_HZ,
        side=Side.LEFT,
        profile="polar-verity-sense",
        started_at=datetime(2026, 11, 2, 7, 0, tzinfo=UTC) + timedelta(days=i),
    )


def _analysis() -> SessionAnalysis:
    sets = []
    for k in range(6):
        start = 60.0 + 300.0 * k
        reps = tuple(
            Rep(start_s=start + 4 * j, top_start_s=start + 4 * j + 1.2, top_end_s=start + 4 * j + 1.6,
                end_s=start + 4 * j + 3.0, rom_deg=30.0)
            for j in range(12)
        )  # fmt: skip
        sets.append(
            ExerciseSet(
                exercise=Exercise.CLAMSHELL, side=Side.LEFT, start_s=start, end_s=start + 48.0, reps=reps
            )
        )
    return SessionAnalysis(sets=tuple(sets), algorithm_version="bench")


def _rate(rows: int, seconds: float) -> str:
    return f"{rows / seconds / 1e6:8.2f} M rows/s"


class _Clock:
    """Wall time and this process' CPU time (user + system, over all its threads) of a block."""

    def __enter__(self) -> _Clock:
        self._w0, self._t0 = time.perf_counter(), os.times()
        return self

    def __exit__(self, *exc: object) -> None:
        t1 = os.times()
        self.wall_s = time.perf_counter() - self._w0
        self.user_s, self.sys_s = t1.user - self._t0.user, t1.system - self._t0.system
        self.cpu_s = self.user_s + self.sys_s

    def rates(self, rows: int) -> str:
        return (
            f"{_rate(rows, self.wall_s)} wall, {rows / self.cpu_s / 1e6:5.2f} M rows per CPU-second "
            f"({self.wall_s:.2f} s wall, {self.user_s:.2f} s user + {self.sys_s:.2f} s sys CPU)"
        )


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min) / {five:.2f} (5 min) on {os.cpu_count()} CPUs"


def main() -> None:
    from storage.db import connect, transaction
    from storage.sync import SourceInfo, insert_samples, samples_table, write_session

    rng = np.random.default_rng(7)
    recs = [_recording(rng, i) for i in range(N_SESSIONS)]
    tables = [samples_table(r) for r in recs]
    total = sum(r.n_samples for r in recs)
    hours = N_SESSIONS * HOURS_PER_SESSION
    print(
        f"data: {N_SESSIONS} sessions x {HOURS_PER_SESSION:g} h at {FS_HZ:g} Hz, 6 axes = {total:,} samples"
    )
    print(f"machine: {_load()} (wall rates fall with load; rows per CPU-second much less)")

    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)

        # 1. Arrow bulk load, samples only, one transaction per session.
        db = d / "arrow.duckdb"
        with connect(db) as con:
            with _Clock() as arrow:
                for i, tbl in enumerate(tables):
                    with transaction(con):
                        insert_samples(con, f"{i:032x}", tbl)  # session ids are 32 hex digits
            con.execute("CHECKPOINT")
        size_b = db.stat().st_size
        arrow_rate = total / arrow.wall_s
        print(f"arrow (insert_samples):          {arrow.rates(total)}")

        # 2. The whole per-session write (what sync does after decoding and analysis).
        db2 = d / "sessions.duckdb"
        analysis = _analysis()
        with _Clock() as full:
            for i, rec in enumerate(recs):
                with connect(db2) as con:
                    info = SourceInfo(source="recording", content_sha256=f"{i:064x}")
                    write_session(con, info, rec, analysis)
        print(f"arrow + session (write_session): {full.rates(total)}, incl. connect")

        # 3. Row-wise executemany on a subset, extrapolated.
        db3 = d / "rows.duckdb"
        sub = tables[0].slice(0, BASELINE_ROWS).to_pylist()
        rows = [
            (f"{0:032x}", r["t_s"], r["ax_g"], r["ay_g"], r["az_g"], r["gx_dps"], r["gy_dps"], r["gz_dps"])
            for r in sub
        ]
        with connect(db3) as con, _Clock() as base, transaction(con):
            con.executemany("INSERT INTO samples VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
        base_rate = BASELINE_ROWS / base.wall_s
        print(
            f"executemany (row-wise baseline): {base.rates(BASELINE_ROWS)}; {BASELINE_ROWS:,} rows, "
            f"extrapolated: {total / base_rate / 60:.0f} min for the {total:,} samples above"
        )
        print(
            f"speed-up arrow / executemany:    {arrow_rate / base_rate:8.0f} x wall, "
            f"{(total / arrow.cpu_s) / (BASELINE_ROWS / base.cpu_s):.0f} x per CPU-second   (target >= 50 x)"
        )
        print(
            f"arrow throughput target:         {'met' if arrow_rate >= 5e6 else 'NOT met'} "
            f"(>= 5 M rows/s wall; {total / arrow.cpu_s / 1e6:.2f} M rows per CPU-second here)"
        )
        print(f"machine after the runs: {_load()}")
        print(
            f"database size: {size_b / 1e6:.1f} MB for {hours:g} h = {size_b / hours / 1e6:.1f} MB per hour "
            f"of 100 Hz 6-axis data ({size_b / total:.1f} bytes/sample; raw float32 x6 + float64 t = 32 B)"
        )


if __name__ == "__main__":
    main()
