"""Plot MEx thigh-accelerometer recordings for hand-labelling repetitions.

Independent of the project's analyzer on purpose: it imports nothing from ``processing`` or ``ingest``, so
labels made with it can score the analyzer. It only draws the signals and proposes candidate excursions;
the counts in ``tests/data/real/mex/labels.csv`` were made by looking at the plots (see ``LABELS.md``).

Two angle signals are drawn, both from the low-passed acceleration (gravity direction):

- ``tilt`` (black): angle of the gravity vector from its median direction, measured in the plane of the
  first principal component of its motion, so one rocking movement gives one signed curve in degrees.
- ``elev`` (blue, dashed, shifted to median 0): elevation of the thigh's long axis (the sensor's x axis in
  MEx) above the horizontal, positive when the knee end is higher than the hip end. Which sign of x points
  to the knee is read off the subject's bridging file (supine, knees bent: the knee is always above the hip).

Both are oriented so that a repetition is an upward excursion: for bridging the hips go up, so the thigh
flattens and ``elev`` falls (the curve is drawn as -elev); for the clam the knee rises, so ``elev`` rises.
``tilt`` gets the sign that correlates with that, unless ``--sign`` is given.

For each file it writes ``SS_NN_act_K.png`` to ``--out`` (default ``/tmp/labels``, not committed): the whole
file on top, then zoom panels of at most ``--panel`` s with the raw and low-passed x, y, z (g) and the
angles. Candidate excursions (``scipy.signal.find_peaks`` on the oriented tilt) are shaded and numbered
(orange: touching the start or end of the file) and listed on stdout with start, end, peak and amplitude.
A candidate starts where the curve leaves the valley before it (``--rel`` = 15% of the way up to the peak)
and ends where it is back within 15% of the valley after it. The dwell times above and below the mid level
are printed too (``runs up``/``runs down``), to tell holds from rests.

Usage::

    uv run python scripts/label_real_data.py                     # every file under --data
    uv run python scripts/label_real_data.py 11 12/04_act_1      # some subjects or files
    uv run python scripts/label_real_data.py 15/02_act_1 --prom 8 --rel 0.2 --window 20 40
"""

from __future__ import annotations

import argparse
import csv
import itertools
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import MultipleLocator
from scipy.signal import butter, filtfilt, find_peaks

DATA = Path("/work/shared/data/real/mex")
OUT = Path("/tmp/labels")
BRIDGE = "02_act_1"


@dataclass
class Signal:
    name: str
    t: np.ndarray  # s from the first sample (from the timestamps, not the sample index)
    acc: np.ndarray  # raw, g
    low: np.ndarray  # low-passed, g
    tilt: np.ndarray  # PCA-plane tilt from the median direction, deg (arbitrary sign)
    elev: np.ndarray  # long-axis elevation, deg, + = knee end up
    fs: float  # measured mean sample rate, Hz


def read(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Timestamps (s from the first sample) and x, y, z (g) of a MEx CSV (no header)."""
    stamps: list[float] = []
    rows: list[list[float]] = []
    with path.open() as fh:
        for row in csv.reader(fh):
            if row:
                stamps.append(datetime.fromisoformat(row[0]).timestamp())
                rows.append([float(v) for v in row[1:4]])
    t = np.asarray(stamps)
    return t - t[0], np.asarray(rows)


def lowpass(x: np.ndarray, fs: float, fc: float) -> np.ndarray:
    b, a = butter(2, fc / (fs / 2))
    return filtfilt(b, a, x, axis=0)


def tilt_angle(low: np.ndarray) -> np.ndarray:
    """Angle (deg) of each vector from the median direction, in the plane of the principal motion."""
    u = low / np.linalg.norm(low, axis=1, keepdims=True)
    r = np.median(u, axis=0)
    r = r / np.linalg.norm(r)
    _, _, vt = np.linalg.svd(u - u.mean(axis=0), full_matrices=False)
    e = vt[0] - (vt[0] @ r) * r
    e = e / np.linalg.norm(e)
    return np.degrees(np.arctan2(u @ e, u @ r))


def knee_sign(subject_dir: Path) -> float:
    """+1 if +x points to the knee (x > 0 while bridging, knee above hip), else -1."""
    _, acc = read(subject_dir / f"{BRIDGE}.csv")
    return 1.0 if np.median(acc[:, 0]) > 0 else -1.0


def load(path: Path, fc: float, knee: float) -> Signal:
    t, acc = read(path)
    fs = (len(t) - 1) / (t[-1] - t[0])
    low = lowpass(acc, fs, fc)
    elev = np.degrees(np.arcsin(np.clip(knee * low[:, 0] / np.linalg.norm(low, axis=1), -1, 1)))
    return Signal(f"{path.parent.name}/{path.stem}", t, acc, low, tilt_angle(low), elev, fs)


@dataclass
class Candidate:
    start: float
    end: float
    peak: float
    amp: float  # deg, peak above the higher of its two bases
    edge: bool  # touches the file's start or end: possibly a partial rep


def candidates(
    s: np.ndarray, t: np.ndarray, fs: float, prom: float, rel: float, gap: float
) -> list[Candidate]:
    """Upward excursions of ``s`` with at least ``prom`` prominence.

    A candidate starts where ``s`` last leaves the valley before its peak (crosses ``rel`` of the way from
    that valley's minimum up to the peak) and ends where it first gets back below that level after the
    peak, measured against the valley after it. Valleys are the minima between neighbouring peaks (or
    between a peak and the file's edge).
    """
    peaks, _ = find_peaks(s, prominence=prom, distance=max(1, int(gap * fs)))
    out = []
    for k, p in enumerate(peaks):
        a = peaks[k - 1] if k > 0 else 0
        b = peaks[k + 1] if k + 1 < len(peaks) else len(s) - 1
        lv = a + int(np.argmin(s[a : p + 1]))
        rv = p + int(np.argmin(s[p : b + 1]))
        left_level = s[lv] + rel * (s[p] - s[lv])
        right_level = s[rv] + rel * (s[p] - s[rv])
        below_l = np.flatnonzero(s[lv : p + 1] < left_level)
        below_r = np.flatnonzero(s[p : rv + 1] < right_level)
        lo = lv + int(below_l[-1]) if len(below_l) else lv
        hi = p + int(below_r[0]) if len(below_r) else rv
        edge = lo <= 0.3 * fs or hi >= len(s) - 1 - 0.3 * fs
        amp = s[p] - max(s[lv], s[rv])
        out.append(Candidate(float(t[lo]), float(t[hi]), float(t[p]), float(amp), edge))
    return out


def _grid(ax: plt.Axes, span: float) -> None:
    ax.xaxis.set_major_locator(MultipleLocator(5 if span > 30 else 1))
    ax.xaxis.set_minor_locator(MultipleLocator(1 if span > 30 else 0.5 if span > 12 else 0.1))
    ax.grid(which="major", color="0.55", lw=0.8)
    ax.grid(which="minor", color="0.85", lw=0.5)


def _angles(
    ax: plt.Axes,
    sig: Signal,
    tilt: np.ndarray,
    elev: np.ndarray,
    cands: list[Candidate],
    t0: float,
    t1: float,
) -> None:
    m = (sig.t >= t0) & (sig.t <= t1)
    ax.plot(sig.t[m], tilt[m], color="k", lw=1.3, label="tilt")
    ax.plot(sig.t[m], elev[m], color="tab:blue", lw=1.0, ls="--", label="elev (oriented)")
    for k, c in enumerate(cands, start=1):
        if c.end < t0 or c.start > t1:
            continue
        ax.axvspan(c.start, c.end, color="orange" if c.edge else "tab:cyan", alpha=0.25)
        y = np.interp(c.peak, sig.t, tilt)
        ax.annotate(str(k), (c.peak, y), textcoords="offset points", xytext=(0, 3), ha="center", fontsize=9)
    ax.set_xlim(t0, t1)
    ax.set_ylabel("deg")
    _grid(ax, t1 - t0)


def draw(
    sig: Signal,
    tilt: np.ndarray,
    elev: np.ndarray,
    cands: list[Candidate],
    wins: list[tuple[float, float]],
    path: Path,
    title: str,
) -> None:
    """One PNG: the whole file's angles on top, then per zoom window x, y, z (g) and the angles (deg)."""
    ratios = [1.0] + [0.7, 1.2] * len(wins)
    fig, axes = plt.subplots(len(ratios), 1, figsize=(18, 2.0 + 4.3 * len(wins)), height_ratios=ratios)
    _angles(axes[0], sig, tilt, elev, cands, 0.0, float(sig.t[-1]))
    axes[0].legend(loc="lower right", ncol=2, fontsize=7)
    axes[0].set_title(title)
    for j, (t0, t1) in enumerate(wins):
        ax1, ax2 = axes[1 + 2 * j], axes[2 + 2 * j]
        m = (sig.t >= t0) & (sig.t <= t1)
        for i, (c, lab) in enumerate(zip(("tab:red", "tab:green", "tab:blue"), "xyz", strict=True)):
            ax1.plot(sig.t[m], sig.acc[m, i], color=c, lw=0.5, alpha=0.3)
            ax1.plot(sig.t[m], sig.low[m, i], color=c, lw=1.3, label=lab)
        ax1.set_xlim(t0, t1)
        ax1.set_ylabel("acc (g)")
        ax1.legend(loc="upper right", ncol=3, fontsize=7)
        _grid(ax1, t1 - t0)
        ax1.tick_params(labelbottom=False)
        _angles(ax2, sig, tilt, elev, cands, t0, t1)
    axes[-1].set_xlabel("time from first sample (s)")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def panels(duration: float, panel: float, overlap: float = 1.0) -> list[tuple[float, float]]:
    if duration <= panel + 5:
        return [(0.0, duration)]
    n = int(np.ceil((duration - overlap) / (panel - overlap)))
    step = (duration - overlap) / n
    return [(k * step, min(duration, k * step + step + overlap)) for k in range(n)]


def selected(which: list[str], data: Path) -> list[Path]:
    if not which:
        return sorted(data.glob("*/*.csv"))
    out: list[Path] = []
    for a in which:
        out += [data / f"{a}.csv"] if "/" in a else sorted((data / a).glob("*.csv"))
    return [p for p in out if p.exists()]


def dwell(s: np.ndarray, fs: float) -> tuple[list[float], list[float]]:
    """Lengths (s) of the runs above and below the mid level of ``s`` (5-95 percentiles)."""
    hi = s >= (np.percentile(s, 5) + np.percentile(s, 95)) / 2
    edges = np.flatnonzero(np.diff(hi.astype(int))) + 1
    bounds = np.r_[0, edges, len(s)]
    runs_hi, runs_lo = [], []
    for a, b in itertools.pairwise(bounds):
        (runs_hi if hi[a] else runs_lo).append(round(float(b - a) / fs, 1))
    return runs_hi, runs_lo


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("which", nargs="*", help="subjects (11) or files (11/04_act_1); default: all")
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--fc", type=float, default=1.5, help="low-pass cut-off, Hz")
    ap.add_argument("--sign", type=float, default=None, help="force the tilt's sign (+1/-1)")
    ap.add_argument("--prom", type=float, default=None, help="candidate prominence, deg (default: auto)")
    ap.add_argument("--rel", type=float, default=0.15, help="boundary at this fraction of valley-to-peak")
    ap.add_argument("--gap", type=float, default=0.8, help="minimum seconds between candidate peaks")
    ap.add_argument("--panel", type=float, default=22.0, help="zoom panel length, s")
    ap.add_argument("--window", type=float, nargs=2, default=None, help="one zoom panel T0 T1 (s) instead")
    ns = ap.parse_args()
    ns.out.mkdir(parents=True, exist_ok=True)
    for path in selected(ns.which, ns.data):
        knee = knee_sign(path.parent)
        sig = load(path, ns.fc, knee)
        rep_dir = -1.0 if path.stem == BRIDGE else 1.0  # bridge: thigh flattens; clam: knee rises
        elev = rep_dir * (sig.elev - np.median(sig.elev))
        r = float(np.corrcoef(sig.tilt, elev)[0, 1])
        sign = ns.sign if ns.sign is not None else (1.0 if r >= 0 else -1.0)
        tilt = sign * sig.tilt - np.median(sign * sig.tilt)
        spread = float(np.percentile(tilt, 95) - np.percentile(tilt, 5))
        prom = ns.prom if ns.prom is not None else max(3.0, 0.35 * spread)
        cands = candidates(tilt, sig.t, sig.fs, prom, ns.rel, ns.gap)
        e5, e95 = np.percentile(sig.elev, [5, 95])
        head = (
            f"{sig.name}  {sig.t[-1]:.1f} s  fs {sig.fs:.1f} Hz  tilt 5-95% {spread:.0f} deg  "
            f"elev {e5:.0f}..{e95:.0f} deg  r(tilt,elev) {r:+.2f}  sign {sign:+.0f}  prom {prom:.1f}"
        )
        print(head)
        up, down = dwell(tilt, sig.fs)
        print(f"  runs up {up}\n  runs down {down}")
        for k, c in enumerate(cands, start=1):
            flag = "  EDGE" if c.edge else ""
            print(f"  {k:2d} {c.start:6.1f}-{c.end:6.1f}  peak {c.peak:6.1f}  amp {c.amp:5.1f} deg{flag}")
        print("  bounds: " + ";".join(f"{c.start:.1f}-{c.end:.1f}" for c in cands))
        title = f"{head}  {len(cands)} candidates"
        wins = [(ns.window[0], ns.window[1])] if ns.window else panels(float(sig.t[-1]), ns.panel)
        suffix = f"_{ns.window[0]:.0f}-{ns.window[1]:.0f}" if ns.window else ""
        draw(sig, tilt, elev, cands, wins, ns.out / f"{sig.name.replace('/', '_')}{suffix}.png", title)


if __name__ == "__main__":
    main()
