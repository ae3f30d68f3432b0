"""Plot simulated sets next to the real thigh recordings in tests/data/real (for docs/simulator.md).

Run: ``uv run python docs/make_realism_plots.py`` (writes docs/img/*.png and prints a statistics table).

The simulated person is drawn from the seed as usual; only the sensor's strap rotation / face direction
is picked to match the real sensor's resting gravity direction (the real mounting is not documented),
so that the axes are comparable. Every panel uses g and deg/s on shared axis limits.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from simulate import SensorSpec, SessionSpec, SimulatedSession, simulate_session  # noqa: E402

REAL = REPO / "tests" / "data" / "real"  # bundled, gzip-compressed (see its README)
OUT = REPO / "docs" / "img"
G = 9.80665


@dataclass
class Trace:
    """A recording cut for plotting: time (s) from 0, acc (g), gyro (deg/s) or None, rep spans (s)."""

    label: str
    t: np.ndarray
    acc: np.ndarray
    gyro: np.ndarray | None
    reps: list[tuple[float, float]]


def load_uci(unit: str, t0: float, t1: float) -> Trace:
    d = np.loadtxt(REAL / f"uci-pt/s1/e4/{unit}/test.txt.gz", delimiter=";", skiprows=1)
    t = (d[:, 0] - 1) * 0.04
    m = (t >= t0) & (t < t1)
    times = np.genfromtxt(REAL / "uci-pt/s1/e4/test_times.csv", delimiter=",", names=True)
    reps = [
        ((a - 1) * 0.04 - t0, (b - 1) * 0.04 - t0) for a, b in zip(times["start"], times["end"], strict=True)
    ]
    reps = [r for r in reps if r[0] >= 0 and r[1] <= t1 - t0]
    return Trace(
        f"real UCI {unit} ({'moving' if unit == 'u3' else 'resting'} leg), 25 Hz",
        t[m] - t0,
        d[m, 1:4] / G,
        np.degrees(d[m, 4:7]),
        reps,
    )


def load_mex(subject: str, name: str, t0: float, t1: float, label: str) -> Trace:
    import pandas as pd

    df = pd.read_csv(REAL / f"mex/{subject}/{name}.csv.gz", header=None)
    ts = pd.to_datetime(df[0], format="ISO8601")
    t = (ts - ts.iloc[0]).dt.total_seconds().to_numpy()
    m = (t >= t0) & (t < t1)
    return Trace(
        f"real MEx {subject} {name}: {label}, 100 Hz", t[m] - t0, df.iloc[:, 1:].to_numpy()[m], None, []
    )


def _rest_acc(acc: np.ndarray, fs: float) -> np.ndarray:
    """Median acceleration over the trace (the real files can start mid-rep, so not just the start)."""
    return np.asarray(np.median(acc, axis=0))


def simulate_like(
    exercise: str,
    seed: int,
    fs_hz: float,
    real_rest_g: np.ndarray,
    *,
    n_reps: int,
    passive: bool = False,
    accel_only: bool = False,
    side: str = "right",
) -> tuple[Trace, SimulatedSession]:
    """A short simulated set of ``exercise``; the strap mounting chosen to match the real median gravity."""
    best: tuple[float, Trace, SimulatedSession] | None = None
    for face_in in (False, True):
        for strap in (0, 90, 180, 270):
            sensor = SensorSpec(
                strap_rotation_deg=strap, face_in=face_in, tilt_deg=10.0, accel_only=accel_only
            )
            spec = SessionSpec.quick(
                exercise, n_reps=n_reps, fs_hz=fs_hz, side=side, sensor=sensor, both_sides=passive
            )
            s = simulate_session(seed, spec=spec)
            tr = cut(s, passive=passive)
            err = float(np.linalg.norm(_rest_acc(tr.acc, fs_hz) - real_rest_g))
            if best is None or err < best[0]:
                best = (err, tr, s)
    assert best is not None
    return best[1], best[2]


def cut(s: SimulatedSession, *, passive: bool, pad_s: float = 3.0) -> Trace:
    if passive:
        seg = next(x for x in s.truth["segments"] if x["kind"] == "passive_set")
        t0, t1 = seg["start"] + 0.5, seg["end"]
        reps: list[tuple[float, float]] = []
        label = f"simulated {seg['exercise']}, other leg trains (passive), {s.fs_hz:g} Hz"
    else:
        st = s.truth["sets"][0]
        t0, t1 = st["start"] - pad_s, st["end"] + pad_s
        reps = [(r["start"] - t0, r["end"] - t0) for r in st["reps"]]
        label = f"simulated {st['exercise']}, {s.fs_hz:g} Hz"
    m = (s.time_s >= t0) & (s.time_s < t1)
    return Trace(label, s.time_s[m] - t0, s.accel_g[m], None if s.gyro_dps is None else s.gyro_dps[m], reps)


def panel_pair(rows: list[tuple[Trace, Trace]], path: Path, title: str) -> None:
    """Rows of (real, simulated); acc and gyro panels share limits across each row."""
    n_panels = sum(2 if r[0].gyro is not None else 1 for r in rows)
    fig, axes = plt.subplots(n_panels, 2, figsize=(15, 2.9 * n_panels), squeeze=False)
    i = 0
    colors = ["tab:blue", "tab:orange", "tab:green"]
    for real, sim in rows:
        kinds = [("acc", "acceleration (g)")] + (
            [("gyro", "angular rate (deg/s)")] if real.gyro is not None else []
        )
        for kind, ylabel in kinds:
            vals = [getattr(tr, kind) for tr in (real, sim) if getattr(tr, kind) is not None]
            lo = min(float(np.min(v)) for v in vals)
            hi = max(float(np.max(v)) for v in vals)
            span = max(hi - lo, 0.2)
            xmax = max(float(real.t[-1]), float(sim.t[-1]))
            for j, tr in enumerate((real, sim)):
                ax = axes[i, j]
                data = getattr(tr, kind)
                if data is not None:
                    for c in range(3):
                        ax.plot(tr.t, data[:, c], lw=0.8, color=colors[c], label="xyz"[c])
                for a, b in tr.reps:
                    ax.axvspan(a, b, color="0.85", zorder=0)
                ax.set_ylim(lo - 0.05 * span, hi + 0.05 * span)
                ax.set_xlim(0, xmax)
                ax.set_ylabel(ylabel)
                ax.set_title(tr.label, fontsize=9)
                ax.grid(alpha=0.3)
            axes[i, 0].legend(loc="upper right", fontsize=7, ncol=3)
            i += 1
    for ax in axes[-1]:
        ax.set_xlabel("time (s)   [grey: reps, real ones placed by eye; simulated ones from the truth]")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def session_overview(path: Path) -> dict[str, Any]:
    s = simulate_session(42, spec=SessionSpec(fs_hz=50.0, side="left"))
    fig, axes = plt.subplots(3, 1, figsize=(15, 8), sharex=True)
    t = s.time_s / 60.0
    axes[0].plot(t, s.accel_g, lw=0.4)
    axes[0].set_ylabel("acc (g)")
    assert s.gyro_dps is not None
    axes[1].plot(t, s.gyro_dps, lw=0.4)
    axes[1].set_ylabel("gyro (deg/s)")
    colors = {"set": "tab:red", "passive_set": "tab:purple", "walking": "tab:green", "transition": "0.6"}
    for seg in s.truth["segments"]:
        c = colors.get(seg["kind"], "0.9")
        axes[2].axvspan(seg["start"] / 60, seg["end"] / 60, color=c, lw=0)
        if seg["kind"] == "set":
            axes[2].text(
                (seg["start"] + seg["end"]) / 120,
                0.5,
                seg["exercise"].replace("_", "\n"),
                fontsize=6,
                ha="center",
                va="center",
                rotation=90,
            )
    axes[2].set_yticks([])
    axes[2].set_xlabel("time (min)   [red: sets by the sensor leg, purple: other leg, green: walking]")
    fig.suptitle(
        f"A whole simulated session (seed 42, {s.fs_hz:g} Hz, {s.side} leg, {s.duration_s / 60:.0f} min)"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return {"duration_min": s.duration_s / 60, "sets": len(s.truth["sets"])}


def stats(tr: Trace, fs: float) -> dict[str, float]:
    """Numbers a reader can compare: quiet noise, movement size, peak rate, rep period."""
    w = int(fs)
    n = tr.acc.shape[0] // w
    win_sd = tr.acc[: n * w].reshape(n, w, 3).std(axis=1)
    out = {
        "quiet acc sd (g)": float(np.percentile(win_sd, 10, axis=0).mean()),
        "acc range (g)": float(np.max(np.ptp(tr.acc, axis=0))),
        "moving acc sd (g)": float(np.percentile(win_sd, 90, axis=0).mean()),
    }
    if tr.gyro is not None:
        out["peak |gyro| (deg/s)"] = float(np.percentile(np.linalg.norm(tr.gyro, axis=1), 99.5))
    # dominant period of the largest-variance acc axis: the rep period
    x = tr.acc[:, np.argmax(tr.acc.var(axis=0))]
    x = x - x.mean()
    spec = np.abs(np.fft.rfft(x * np.hanning(x.size), 8 * x.size))
    f = np.fft.rfftfreq(8 * x.size, 1.0 / fs)
    band = (f > 0.05) & (f < 1.0)
    out["rep period (s)"] = float(1.0 / f[band][np.argmax(spec[band])])
    return out


POPULATION_SEEDS = range(100, 112)


def population(
    exercise: str, fs: float, n_reps: int, *, passive: bool = False, accel_only: bool = False
) -> Any:
    """The same statistics over 12 simulated people (seeds 100-111): median and range per column."""
    rows = []
    for seed in POPULATION_SEEDS:
        spec = SessionSpec.quick(
            exercise,
            n_reps=n_reps,
            fs_hz=fs,
            side="right",
            sensor=SensorSpec(accel_only=accel_only),
            both_sides=passive,
        )
        rows.append(stats(cut(simulate_session(seed, spec=spec), passive=passive), fs))
    return {
        k: (float(np.median([r[k] for r in rows])), min(r[k] for r in rows), max(r[k] for r in rows))
        for k in rows[0]
    }


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    table: list[tuple[str, Any]] = []

    # 1. side-lying leg raise: UCI subject 1, first block of 10 correct reps, moving and resting leg
    real3 = load_uci("u3", 2.0, 82.0)
    real4 = load_uci("u4", 2.0, 82.0)
    sim3, _ = simulate_like("side_lying_leg_raise", 3, 25.0, _rest_acc(real3.acc, 25.0), n_reps=10)
    sim4, _ = simulate_like(
        "side_lying_leg_raise", 3, 25.0, _rest_acc(real4.acc, 25.0), n_reps=10, passive=True
    )
    panel_pair(
        [(real3, sim3), (real4, sim4)],
        OUT / "sim_vs_uci_leg_raise.png",
        "Side-lying leg raise: real (left) vs simulated (right)",
    )
    table += [
        (real3.label, stats(real3, 25)),
        ("simulated side_lying_leg_raise, 25 Hz, 12 people", population("side_lying_leg_raise", 25.0, 10)),
        (real4.label, stats(real4, 25)),
        (
            "simulated leg raise, other leg trains, 25 Hz, 12 people",
            population("side_lying_leg_raise", 25.0, 10, passive=True),
        ),
    ]

    # 2. clamshell: MEx subject 02, moving leg (04_act_2) and leg underneath (04_act_1), accelerometer only
    realc = load_mex("02", "04_act_2", 0.0, 33.0, "clam, moving leg")
    realp = load_mex("02", "04_act_1", 0.0, 33.0, "clam, leg underneath")
    simc, _ = simulate_like("clamshell", 5, 100.0, _rest_acc(realc.acc, 100.0), n_reps=10, accel_only=True)
    simp, _ = simulate_like(
        "clamshell", 5, 100.0, _rest_acc(realp.acc, 100.0), n_reps=10, passive=True, accel_only=True
    )
    panel_pair(
        [(realc, simc), (realp, simp)],
        OUT / "sim_vs_mex_clam.png",
        "Clamshell: real MEx (left) vs simulated (right), accelerometer only",
    )
    table += [
        (realc.label, stats(realc, 100)),
        ("simulated clamshell, 100 Hz, 12 people", population("clamshell", 100.0, 10, accel_only=True)),
        (realp.label, stats(realp, 100)),
        (
            "simulated clamshell, other leg trains, 100 Hz, 12 people",
            population("clamshell", 100.0, 10, passive=True, accel_only=True),
        ),
    ]

    # 3. bridge: MEx subject 03 double-leg bridging vs simulated single-leg glute bridge
    realb = load_mex("03", "02_act_1", 0.0, 80.0, "bridging (double leg)")
    simb, _ = simulate_like(
        "single_leg_glute_bridge", 8, 100.0, _rest_acc(realb.acc, 100.0), n_reps=9, accel_only=True
    )
    panel_pair(
        [(realb, simb)],
        OUT / "sim_vs_mex_bridge.png",
        "Bridge: real MEx bridging (left) vs simulated single-leg glute bridge (right)",
    )
    table += [
        (realb.label, stats(realb, 100)),
        (
            "simulated single_leg_glute_bridge, 100 Hz, 12 people",
            population("single_leg_glute_bridge", 100.0, 9, accel_only=True),
        ),
    ]

    overview = session_overview(OUT / "sim_session_overview.png")

    keys = list(table[0][1].keys())
    print("| recording | " + " | ".join(keys) + " |")
    print("|---|" + "---|" * len(keys))

    def fmt(v: Any) -> str:
        return f"{v:.2g}" if isinstance(v, float) else f"{v[0]:.2g} ({v[1]:.2g}-{v[2]:.2g})"

    for label, st in table:
        print(f"| {label} | " + " | ".join(fmt(st[k]) if k in st else "-" for k in keys) + " |")
    print(f"\nsession overview: {overview}")


if __name__ == "__main__":
    main()
