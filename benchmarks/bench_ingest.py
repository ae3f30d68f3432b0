"""Sample ingest throughput into DuckDB: Arrow bulk load vs a row-wise ``executemany`` baseline, and size.

What is measured (same process, same data, fresh database files in a temp directory):

0. ``samples_table``: NumPy float arrays to the Arrow table of fixed-point integers (done before the write
   transaction opens, so it does not hold the database; shown because it is part of every import).
1. ``arrow``: :func:`storage.samples.insert_samples` (one ``INSERT ... SELECT`` from a registered Arrow table)
   with the writer's settings (:data:`storage.db.WRITER_THREADS` threads), one transaction per 1-hour
   session, including COMMIT and a final CHECKPOINT. Rows/s over all sessions, the median of 3 runs on
   fresh files (with the range). Then the same with 1 thread.
2. ``schema-2 layout``: the layout before migration 003 (float32/float64 columns and the 32-character
   session id on every row), loaded the same way with the same threads, to show what the layout costs.
3. ``arrow + session``: the whole :func:`storage.writes.write_session` (session row, samples, analysis run,
   sets, reps, one transaction, connect) for the same sessions, to show the per-session overhead.
4. ``executemany``: the row-wise baseline (``INSERT ... VALUES (?, ...)`` with ``executemany``) into the
   same table, on a small subset only, because at its speed the full data would take many minutes; its
   rows/s is extrapolated to the full data (stated in the output).
5. Database size per hour of 100 Hz 6-axis data after CHECKPOINT (file bytes / hours stored).

Each line gives rows/s of wall time and rows per CPU-second (user + system time of this process, over all
DuckDB threads), and the machine's load average is printed before and after: on a shared machine the wall
rate mostly measures the other processes, the CPU rate much less so. The target (>= 5 M samples/s) is
checked on the wall rate of 1.

The data are realistic rather than random: thigh motion (slow sinusoids) plus sensor noise, quantised to
16-bit sensor steps (+-16 g, +-2000 deg/s full scale) like every supported sensor delivers them. Random
values would not compress and would overstate the size.
"""

from __future__ import annotations

import os
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa

from hipsync.records import Exercise, ExerciseSet, Recording, Rep, SessionAnalysis, Side
from storage.samples import ROW_GROUP_ROWS

FS_HZ = 100.0
HOURS_PER_SESSION = 1.0
N_SESSIONS = 6
BASELINE_ROWS = 5_000
REPEATS = 3  # bulk loads take well under a second each; the median of three steadies the wall rate
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

    size_b = 0  # database file size after the run, where one was measured
    spread = ""  # how repeated runs varied, where there were several

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


def _float_layout(rec: Recording, session_id: str) -> pa.Table:
    """The schema-2 row shape: the session id on every row, float64 time, float32 axes."""
    acc = np.asarray(rec.accel_g, dtype=np.float32)
    gyr = np.asarray(rec.gyro_dps, dtype=np.float32)
    cols = {"session_id": pa.array(np.full(rec.n_samples, session_id)), "t_s": pa.array(rec.time_s)}
    cols |= {f"a{a}_g": pa.array(np.ascontiguousarray(acc[:, k])) for k, a in enumerate("xyz")}
    cols |= {f"g{a}_dps": pa.array(np.ascontiguousarray(gyr[:, k])) for k, a in enumerate("xyz")}
    table = pa.table(cols)
    return pa.Table.from_batches(table.to_batches(max_chunksize=ROW_GROUP_ROWS), schema=table.schema)


def main() -> None:
    from storage.db import WRITER_THREADS, connect, transaction
    from storage.samples import insert_samples, samples_table
    from storage.writes import SourceInfo, write_session

    rng = np.random.default_rng(7)
    recs = [_recording(rng, i) for i in range(N_SESSIONS)]
    total = sum(r.n_samples for r in recs)
    hours = N_SESSIONS * HOURS_PER_SESSION
    print(
        f"data: {N_SESSIONS} sessions x {HOURS_PER_SESSION:g} h at {FS_HZ:g} Hz, 6 axes = {total:,} samples"
    )
    print(f"machine: {_load()} (wall rates fall with load; rows per CPU-second much less)")

    with _Clock() as conv:
        tables = [samples_table(r) for r in recs]
    print(f"samples_table (NumPy -> Arrow):  {conv.rates(total)}")

    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)

        def load_once(name: str, threads: int, layout: str) -> _Clock:
            db = d / f"{name}.duckdb"
            db.unlink(missing_ok=True)
            with connect(db, migrate_to=2 if layout == "float" else None) as con:
                con.execute(f"SET threads = {threads}")
                float_tables = (
                    [_float_layout(r, f"{i:032x}") for i, r in enumerate(recs)] if layout == "float" else []
                )
                with _Clock() as clock:
                    for i, tbl in enumerate(tables):
                        with transaction(con):
                            if layout == "float":
                                con.register("_bench_in", float_tables[i])
                                con.execute("INSERT INTO samples SELECT * FROM _bench_in")
                                con.unregister("_bench_in")
                            else:
                                insert_samples(con, i + 1, tbl)
                    con.execute("CHECKPOINT")  # counted: the rows are only in their final place after it
            clock.size_b = db.stat().st_size
            return clock

        def load(name: str, threads: int, layout: str = "fixed") -> _Clock:
            """The median (by wall time) of REPEATS runs on fresh files; the spread is printed with it."""
            runs = sorted((load_once(name, threads, layout) for _ in range(REPEATS)), key=lambda c: c.wall_s)
            median = runs[len(runs) // 2]
            slowest, fastest = total / runs[-1].wall_s / 1e6, total / runs[0].wall_s / 1e6
            median.spread = f"; median of {REPEATS}, {slowest:.2f}-{fastest:.2f} M rows/s"
            return median

        # 1. Arrow bulk load, samples only, one transaction per session.
        arrow = load("arrow", WRITER_THREADS)
        print(f"arrow, {WRITER_THREADS} threads (insert_samples):  {arrow.rates(total)}{arrow.spread}")
        one = load("arrow1", 1)
        print(f"arrow, 1 thread:                  {one.rates(total)}{one.spread}")
        # 2. The schema-2 layout, same threads.
        old = load("float", WRITER_THREADS, layout="float")
        print(f"schema-2 layout (float, id text): {old.rates(total)}{old.spread}")
        arrow_rate = total / arrow.wall_s

        # 3. The whole per-session write (what sync does after decoding and analysis).
        db2 = d / "sessions.duckdb"
        analysis = _analysis()
        with connect(db2):
            pass  # the one-time schema creation is not part of a session's write
        with _Clock() as full:
            for i, rec in enumerate(recs):
                with connect(db2) as con:
                    info = SourceInfo(source="recording", content_sha256=f"{i:064x}")
                    write_session(con, info, rec, analysis)
        print(f"arrow + session (write_session):  {full.rates(total)}, incl. a connect per session")

        # 4. Row-wise executemany on a subset, extrapolated.
        db3 = d / "rows.duckdb"
        sub = tables[0].slice(0, BASELINE_ROWS).to_pylist()
        rows = [
            (1, r["t_us"], r["ax_ug"], r["ay_ug"], r["az_ug"], r["gx_mdps"], r["gy_mdps"], r["gz_mdps"])
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
            f"speed-up arrow / schema-2 layout: {old.wall_s / arrow.wall_s:7.1f} x wall, "
            f"{old.cpu_s / arrow.cpu_s:.1f} x per CPU-second"
        )
        print(
            f"arrow throughput target:         {'met' if arrow_rate >= 5e6 else 'NOT met'} "
            f"(>= 5 M rows/s wall: {arrow_rate / 1e6:.2f} M; "
            f"{total / arrow.cpu_s / 1e6:.2f} M rows per CPU-second)"
        )
        print(f"machine after the runs: {_load()}")
        for label, clock in (("fixed-point (schema 3)", arrow), ("schema-2 layout", old)):
            size_b = clock.size_b
            print(
                f"database size, {label}: {size_b / 1e6:.1f} MB for {hours:g} h = "
                f"{size_b / hours / 1e6:.1f} MB per hour of 100 Hz 6-axis data "
                f"({size_b / total:.1f} bytes/sample)"
            )


if __name__ == "__main__":
    main()
