"""Step 5d-5g: from one window's rep candidates to sets, every threshold relative to the set itself.

Sub-steps, each a function of its own:

- 5c' :func:`on_axis`: reps whose lift turns the thigh mostly about the window's axis (at least
  ``min_axis_share`` of the total turn): another movement seen through this axis is not a rep.
- 5d :func:`valid_reps`: reps of at least ``min_rom_deg`` (the noise floor) whose rise and return agree
  (the smaller at least ``min_return_fraction`` of the larger: otherwise a shift of position or an excursion
  cut by the start/end of the recording), and not during walking.
- 5e :func:`group_reps`: candidate sets, split at **rests**: a pause between one rep's end and the next
  one's start longer than ``rest_pause_factor`` times the group's typical bottom pause and at least
  ``min_rest_s`` (people rest between sets, not between reps), with the leg at rest all the while (a
  pause with an excursion in it is a rep the detector missed, not a rest); and where the typical ROM
  changes durably by more than ``max_group_rom_ratio`` (another movement seen through the same axis).
- 5f :func:`split_blocks`: a set may change pace or range block by block (the UCI protocol: 10 normal,
  10 fast, 10 small reps). Blocks are where the median ROM of three reps on either side changes by more
  than ``block_rom_ratio`` or their median duration by more than ``block_duration_ratio``; each block is
  then judged on its own numbers.
- 5g :func:`accept_set`: per block, **regular ranges** (robust CV of the ROM, 1.4826 MAD / median, at most
  ``max_rom_cv``, or ``max_rom_cv_small`` below ``small_rom_deg``: small excursions are where passive
  movement lives), then outliers against the block's own medians dropped (ROM above ``max_rom_ratio`` or
  below ``min_rom_fraction`` of it, duration outside ``min_duration_ratio``-``max_duration_ratio`` of it: a
  posture change or a fidget caught in the window), then at least ``min_reps_per_set`` reps, median ROM at
  least ``min_set_rom_deg``, median peak speed at least ``min_peak_speed_dps``.

A group whose reps are all small (median below ``small_rom_deg``) is judged as one block: a passive leg's
small bumps vary in size and would otherwise fall into "regular" blocks of three (real MEx clams, the still
side: robust CV 0.3-0.5 overall), while every real and simulated active set had CV 0.02-0.13 within a
block, including the UCI low-amplitude reps (7 deg) next to normal ones.
"""

from __future__ import annotations

import enum
import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from processing.filters import FloatArray, median_small
from processing.params import AnalysisParams
from processing.reps import RepCandidate


class Verdict(enum.StrEnum):
    """Why a group of reps is, or is not, a set (the ``reason`` of a movement period)."""

    SET = "set"
    TOO_FEW_REPS = "too_few_reps"
    SMALL_ROM = "too_small"
    SLOW = "too_slow"
    IRREGULAR = "irregular"
    LITTLE_MOVEMENT = "little_movement"
    WALKING = "walking"
    PASSIVE = "passive"


def robust_cv(values: npt.NDArray[np.float64]) -> float:
    """1.4826 * MAD / median (0 for fewer than 2 values)."""
    if values.size < 2:
        return 0.0
    med = median_small(values)
    if med <= 0:
        return float("inf")
    return float(1.4826 * median_small(np.abs(values - med)) / med)


def valid_reps(
    reps: list[RepCandidate], walking: npt.NDArray[np.bool_], params: AnalysisParams
) -> list[RepCandidate]:
    """5d: reps above the noise floor, rising and returning by comparable amounts, not during walking.

    ``walking``: (m,) walking mask of the window's samples.
    """
    p = params
    kept = []
    for r in reps:
        if r.rom_deg < p.min_rom_deg:
            continue
        if min(r.return_deg, r.rom_deg) < p.min_return_fraction * max(r.return_deg, r.rom_deg):
            continue
        i0, i1 = int(r.start), max(int(r.start) + 1, int(np.ceil(r.end)))
        w = walking[i0:i1]
        if w.size and np.count_nonzero(w) / w.size > p.max_walking_overlap:
            continue
        kept.append(r)
    return kept


def on_axis(reps: list[RepCandidate], turned_deg: FloatArray, params: AnalysisParams) -> list[RepCandidate]:
    """5c': reps whose lift turns the thigh about the same axis as the others.

    ``turned_deg``: (k,) how far the thigh turned, in any direction, from each rep's start to the middle of
    its top (deg; :meth:`processing.orientation.Pose.turn_deg`). A rep's ROM is the part of that turn about
    the window's rotation axis, its *axis share*. Real and simulated reps keep 0.9-1.1 of their turn on the
    axis, less when the window's axis is blurred by other movement in it; a rep whose share is below
    ``min_axis_share`` of the window's median share is another movement seen through this axis (a knee
    sway after a bridge set: 0.25-0.4), not a rep.
    """
    if not reps:
        return reps
    share = [r.rom_deg / max(t, 1e-6) for r, t in zip(reps, turned_deg.tolist(), strict=True)]
    limit = params.min_axis_share * min(1.0, median_small(share))
    return [r for r, s in zip(reps, share, strict=True) if s >= limit]


def _mean3(v: list[float]) -> float:
    """``float(np.mean(v))`` of three floats: NumPy sums short arrays left to right, then divides."""
    return (v[0] + v[1] + v[2]) / 3


def _change_ratio(values: list[float], i: int) -> float:
    """How much the typical value changes at index ``i``: ratio of the medians of the three values on
    either side (>= 1), ties broken by the ratio of their means (the cleaner cut wins)."""
    lw, rw = values[i - 3 : i], values[i : i + 3]
    left, right = median_small(lw), median_small(rw)
    q = max(left, right) / max(min(left, right), 1e-6)
    lm, rm = _mean3(lw), _mean3(rw)
    return q + 1e-3 * max(lm, rm) / max(min(lm, rm), 1e-6)


def _split_where(group: list[RepCandidate], score: Any, threshold: float) -> list[list[RepCandidate]]:
    """Split ``group`` recursively at the index where ``score(group, i)`` is largest and above
    ``threshold``; single odd reps do not split (three-rep medians ignore them)."""
    best, best_i = threshold, -1
    for i in range(3, len(group) - 2):
        q = score(group, i)
        if q > best:
            best, best_i = q, i
    if best_i < 0:
        return [group]
    best_i = _settle(group, best_i)
    return _split_where(group[:best_i], score, threshold) + _split_where(group[best_i:], score, threshold)


def _log_distance(r: RepCandidate, rom: float, duration: float) -> float:
    """|log| ratio of a rep's range and duration to the given ones (0 when equal)."""
    d_rom = np.log(max(r.rom_deg, 1e-6) / max(rom, 1e-6))
    d_dur = np.log(max(r.duration, 1e-6) / max(duration, 1e-6))
    return float(abs(d_rom) + abs(d_dur))


def _settle(group: list[RepCandidate], i: int) -> int:
    """Move a split index to where each boundary rep is nearer (range and duration, in ratio) to the median
    rep of its own side: three-rep medians ignore one odd rep, so they place a boundary one rep either way."""
    for _ in range(3):
        left, right = group[max(0, i - 4) : i], group[i : i + 4]
        lm = (median_small([r.rom_deg for r in left]), median_small([r.duration for r in left]))
        rm = (median_small([r.rom_deg for r in right]), median_small([r.duration for r in right]))
        if i > 3 and _log_distance(group[i - 1], *rm) < _log_distance(group[i - 1], *lm):
            i -= 1
        elif i < len(group) - 3 and _log_distance(group[i], *lm) < _log_distance(group[i], *rm):
            i += 1
        else:
            break
    return i


def _range_change(group: list[RepCandidate], i: int) -> float:
    return _change_ratio([float(r.rom_deg) for r in group], i)


def _split_by_range(group: list[RepCandidate], ratio: float) -> list[list[RepCandidate]]:
    """Split where the typical ROM changes durably by more than ``ratio``: two movements projected on one
    axis."""
    return _split_where(group, _range_change, ratio)


def rest_threshold_s(reps: list[RepCandidate], fs_hz: float, params: AnalysisParams) -> float:
    """The shortest pause (s) that counts as a rest between sets for these reps: ``rest_pause_factor`` times
    their median bottom pause, at least ``min_rest_s``."""
    pauses = [(b.start - a.end) / fs_hz for a, b in itertools.pairwise(reps)]
    typical = median_small(pauses) if pauses else 0.0
    return max(params.min_rest_s, params.rest_pause_factor * max(typical, 0.0))


def _moved_in_pause(x: FloatArray | None, a: RepCandidate, b: RepCandidate, params: AnalysisParams) -> bool:
    """True when the polarity-corrected angle ``x`` makes a rep-sized excursion (half to ``max_rom_ratio``
    of the smaller ROM of reps ``a`` and ``b`` above the rest level) between ``a``'s end and ``b``'s start:
    a rep the detector did not count, not a rest. Larger movements (a posture change) do not count."""
    if x is None:
        return False
    i0, i1 = int(np.ceil(a.end)), int(b.start)
    if i1 - i0 < 2:
        return False
    rest = min(float(x[min(i0, x.size - 1)]), float(x[min(i1, x.size - 1)]))
    rise = float(np.max(x[i0:i1])) - rest
    rom = min(a.rom_deg, b.rom_deg)
    return 0.5 * rom < rise <= params.max_rom_ratio * rom


def split_at_rests(
    reps: list[RepCandidate], fs_hz: float, params: AnalysisParams, x: FloatArray | None = None
) -> list[list[RepCandidate]]:
    """Time-ordered reps split where the pause between two reps is a rest (:func:`rest_threshold_s`, no
    rep-sized excursion in it: :func:`_moved_in_pause`)."""
    if not reps:
        return []
    rest_s = rest_threshold_s(reps, fs_hz, params)
    runs_: list[list[RepCandidate]] = [[reps[0]]]
    for r in reps[1:]:
        prev = runs_[-1][-1]
        if (r.start - prev.end) / fs_hz > rest_s and not _moved_in_pause(x, prev, r, params):
            runs_.append([r])
        else:
            runs_[-1].append(r)
    return runs_


def group_reps(
    reps: list[RepCandidate],
    fs_hz: float,
    params: AnalysisParams | None = None,
    x: FloatArray | None = None,
) -> list[list[RepCandidate]]:
    """5e: split time-ordered reps into candidate sets at rests (see :func:`rest_threshold_s`; a pause in
    which ``x``, the polarity-corrected angle, makes an excursion of half a rep is not a rest) and where the
    typical ROM changes by more than ``max_group_rom_ratio`` (another exercise seen through the same axis).
    """
    p = params or AnalysisParams()
    groups = split_at_rests(reps, fs_hz, p, x)
    return [part for g in groups for part in _split_by_range(g, p.max_group_rom_ratio)]


def split_at_posture(
    reps: list[RepCandidate], rest_up: FloatArray, params: AnalysisParams
) -> list[list[RepCandidate]]:
    """5e: split time-ordered reps where the rest posture changes: ``rest_up`` (k, 3) is the unit gravity
    at each rep's start; a set returns to the same rest every rep, so two reps whose rests differ by more
    than ``posture_change_deg`` belong to different sets (a clam set and a seated set with a short rest
    between them, seen through one window's axis)."""
    if len(reps) < 2:
        return [reps] if reps else []
    cos = np.einsum("ij,ij->i", rest_up[:-1], rest_up[1:])
    cuts = np.flatnonzero(cos < np.cos(np.radians(params.posture_change_deg))) + 1
    bounds = [0, *cuts.tolist(), len(reps)]
    return [reps[i:j] for i, j in itertools.pairwise(bounds)]


def split_blocks(group: list[RepCandidate], params: AnalysisParams) -> list[list[RepCandidate]]:
    """5f: blocks of like reps inside one set: split where the three-rep median ROM changes by more than
    ``block_rom_ratio`` or the median duration by more than ``block_duration_ratio``."""
    p = params

    def score(g: list[RepCandidate], i: int) -> float:
        # a block is durable: the three reps on either side agree among themselves (a partial rep and a
        # fidget at the end of a set are not a block of small reps)
        for side in (g[i - 3 : i], g[i : i + 3]):
            if robust_cv(np.array([r.rom_deg for r in side])) > p.max_rom_cv:
                return 0.0
        rom = _change_ratio([float(r.rom_deg) for r in g], i) / p.block_rom_ratio
        dur = _change_ratio([float(r.duration) for r in g], i) / p.block_duration_ratio
        return max(rom, dur)

    return _split_where(group, score, 1.0)


@dataclass(frozen=True, slots=True, kw_only=True)
class BlockStats:
    """One block's numbers: ``n`` reps, median ROM (deg), robust CV of the ROM, median duration (samples)."""

    n: int
    median_rom_deg: float
    rom_cv: float
    median_duration: float


def _trend_ratios(roms: FloatArray) -> FloatArray:
    """Each ROM divided by a straight line fitted through the block's ROMs against rep number (a range
    that drifts through the set, as fatigue shrinks it, is still one set)."""
    k = np.arange(roms.size, dtype=np.float64)
    slope, icpt = np.polyfit(k, roms, 1)
    return np.asarray(roms / np.maximum(icpt + slope * k, 1e-9), dtype=np.float64)


def _stats(block: list[RepCandidate], params: AnalysisParams) -> BlockStats:
    """The block's numbers. Its ROM spread is the robust CV over its full reps (not below
    ``partial_rom_fraction`` of the median, the definition of a partial rep), about the block's median or,
    if smaller, about a straight line through the ROMs (a range that drifts through the set, as fatigue
    shrinks it): a deliberate set repeats its full range, with a few partial reps below it, whereas a
    passive leg's bumps jump around the whole range from one rep to the next."""
    roms = np.array([r.rom_deg for r in block])
    med = median_small(roms)
    full = roms >= params.partial_rom_fraction * med
    cv = robust_cv(roms[full]) if full.sum() >= 3 else robust_cv(roms)
    if full.sum() >= 5:
        cv = min(cv, robust_cv(_trend_ratios(roms[full])))
    return BlockStats(
        n=len(block),
        median_rom_deg=med,
        rom_cv=cv,
        median_duration=median_small([r.duration for r in block]),
    )


def _regular(st: BlockStats, params: AnalysisParams, strict: bool) -> bool:
    """Robust CV of the block's ROM within ``max_rom_cv``, or ``max_rom_cv_small`` for a small group
    (``strict``: every rep small, where passive movement lives). The limit grows by ``1 + 1/n`` for a block
    of ``n`` reps: the spread of three or four reps is an uncertain estimate."""
    limit = params.max_rom_cv_small if strict else params.max_rom_cv
    return st.rom_cv <= limit * (1.0 + 1.0 / max(st.n, 1))


def _prune(block: list[RepCandidate], st: BlockStats, params: AnalysisParams) -> list[RepCandidate]:
    """Reps far from the block's own medians (a posture change, a fidget) are not reps of the set."""
    p = params
    return [
        r
        for r in block
        if p.min_rom_fraction * st.median_rom_deg <= r.rom_deg <= p.max_rom_ratio * st.median_rom_deg
        and p.min_duration_ratio * st.median_duration
        <= r.duration
        <= p.max_duration_ratio * st.median_duration
    ]


def _judge(kept: list[RepCandidate], irregular: bool, params: AnalysisParams) -> Verdict:
    p = params
    if irregular:
        return Verdict.IRREGULAR
    if len(kept) < p.min_reps_per_set:
        return Verdict.TOO_FEW_REPS
    if median_small([r.rom_deg for r in kept]) < p.min_set_rom_deg:
        return Verdict.SMALL_ROM
    if median_small([r.peak_concentric_dps for r in kept]) < p.min_peak_speed_dps:
        return Verdict.SLOW
    return Verdict.SET


def _partial_share(reps: list[RepCandidate], params: AnalysisParams) -> float:
    """Share of the excursions (every candidate, also those under the ``min_rom_deg`` floor) that reach less
    than ``partial_rom_fraction`` of their median: a few partial reps in a deliberate set, half the
    bumps of a passive leg."""
    if not reps:
        return 0.0
    roms = [r.rom_deg for r in reps]
    ref = params.partial_rom_fraction * median_small(roms)
    return sum(1 for v in roms if v < ref) / len(roms)


def judge_regularity(
    valid: list[RepCandidate], candidates: list[RepCandidate], params: AnalysisParams
) -> tuple[list[list[RepCandidate]], list[BlockStats], list[bool], bool]:
    """5f + 5g: the blocks of ``valid``, their numbers, which are irregular, and whether the whole group is.

    A group without a block of ordinary range (every block's median under ``small_rom_deg``) is one block
    judged strictly, and also irregular when more than ``max_partial_share`` of its ``candidates`` are
    partial: a passive leg's bumps vary in size and would otherwise fall into "regular" blocks of three.
    Otherwise irregular blocks are dropped when they hold under half of the reps, else the group is
    irregular.
    Consistency is judged before outliers are pruned (pruning would make irregular movement look regular).
    """
    p = params
    blocks = [b for b in (split_blocks(valid, p) if len(valid) >= 2 * 3 else [valid]) if b]
    small = all(median_small([r.rom_deg for r in b]) < p.small_rom_deg for b in blocks)
    if small:
        blocks = [valid] if valid else []
    stats = [_stats(b, p) for b in blocks]
    bad = [not _regular(st, p, small) for st in stats]
    n_bad = sum(st.n for st, b in zip(stats, bad, strict=True) if b)
    irregular = n_bad > 0 and (len(blocks) == 1 or 2 * n_bad >= len(valid))
    if small and _partial_share(candidates, p) > p.max_partial_share:
        irregular = True
    return blocks, stats, bad, irregular


def accept_set(
    reps: list[RepCandidate],
    walking: npt.NDArray[np.bool_],
    params: AnalysisParams | None = None,
    fs_hz: float | None = None,
    x: FloatArray | None = None,
) -> tuple[list[RepCandidate], dict[str, Any]]:
    """5d + 5f + 5g: filter one group's reps and decide whether they form a set (empty list: not a set).

    ``walking``: (m,) walking mask of the window's samples; ``x``: the window's polarity-corrected angle
    (deg), to tell a rest from a rep that was not counted when pruning leaves a gap. After pruning, the
    longest run of reps without a rest is kept (the pruned ones had bridged the gap).

    Quality keys: ``reps_in`` (count), ``reps_kept`` (count), ``median_rom_deg`` (deg), ``rom_cv`` (largest
    robust CV of a block, dimensionless), ``blocks`` (count), ``median_peak_speed_dps`` (deg/s),
    ``median_rep_s`` (s, when ``fs_hz`` is given), ``verdict`` (a :class:`Verdict` value).
    """
    p = params or AnalysisParams()
    valid = valid_reps(reps, walking, p)
    blocks, stats, bad, irregular = judge_regularity(valid, reps, p)
    kept = [r for b, st, drop in zip(blocks, stats, bad, strict=True) if not drop for r in _prune(b, st, p)]
    if fs_hz is not None and kept:
        kept = max(split_at_rests(kept, fs_hz, p, x), key=len)
    verdict = _judge(kept, irregular, p)
    q = _set_quality(reps, kept, stats, verdict, fs_hz)
    return (kept if verdict == Verdict.SET else []), q


def _set_quality(
    reps: list[RepCandidate],
    kept: list[RepCandidate],
    stats: list[BlockStats],
    verdict: Verdict,
    fs_hz: float | None,
) -> dict[str, Any]:
    roms = [r.rom_deg for r in kept]
    q: dict[str, Any] = {
        "reps_in": len(reps),
        "reps_kept": len(kept),
        "median_rom_deg": round(median_small(roms), 2) if roms else None,
        "rom_cv": round(max(st.rom_cv for st in stats), 3) if stats else None,
        "blocks": len(stats),
        "median_peak_speed_dps": None,
        "verdict": str(verdict),
    }
    if kept:
        q["median_peak_speed_dps"] = round(median_small([r.peak_concentric_dps for r in kept]), 2)
        if fs_hz is not None:
            q["median_rep_s"] = round(median_small([r.duration for r in kept]) / fs_hz, 2)
    return q
