"""The rep model and its truth: boundaries read from the generated angle at 5 % of peak speed."""

from __future__ import annotations

import numpy as np
import pytest

from simulate.reps import ONSET_FRACTION, Block, SetStyle, Tempo, generate_set

TEMPO = Tempo(concentric_s=1.2, top_hold_s=1.0, eccentric_s=2.0, bottom_pause_s=0.6)
BRISK = Tempo(concentric_s=0.3, top_hold_s=0.05, eccentric_s=0.45, bottom_pause_s=0.15)
#: styles of the wide population: brisk and irregular with movements between reps; blocks; long holds
STYLES = {
    "default": None,
    "brisk": SetStyle(
        tempo=BRISK,
        blocks=(Block(n_reps=12),),
        tempo_jitter=0.3,
        hold_jitter=0.45,
        skew=0.4,
        movement_prob=0.5,
        rom_drift=-0.3,
    ),
    "blocks": SetStyle(
        tempo=TEMPO,
        blocks=(
            Block(n_reps=4),
            Block(n_reps=4, label="fast", tempo_scale=0.4, pause_before_s=3.0),
            Block(n_reps=4, label="small", rom_scale=0.25, pause_before_s=1.0),
        ),
        long_hold_prob=0.5,
        min_rom_deg=6.0,
    ),
}


@pytest.mark.parametrize("style", list(STYLES))
@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_boundaries_are_five_percent_crossings_of_the_angle(seed: int, style: str) -> None:
    fs = 200.0
    m = generate_set(
        np.random.default_rng(seed),
        fs_hz=fs,
        n_reps=12,
        rom_deg=35.0,
        tempo=TEMPO,
        fatigue=0.6,
        partial_prob=0.2,
        style=STYLES[style],
    )
    speed = np.abs(np.gradient(m.angle_deg) * fs)
    assert len(m.reps) == 12
    for r in m.reps:
        i0, i1, i2, i3 = (round(x * fs) for x in (r.start_s, r.top_start_s, r.top_end_s, r.end_s))
        assert i0 < i1 <= i2 < i3
        thr_c = ONSET_FRACTION * speed[i0:i1].max()
        thr_e = ONSET_FRACTION * speed[i2:i3].max()
        # below the threshold exactly at the boundary, above it everywhere inside the moving phase
        assert speed[i0] < thr_c and speed[i1] < thr_c
        assert np.all(speed[i0 + 1 : i1] >= thr_c)
        assert speed[i2] < thr_e and speed[i3] < thr_e
        assert np.all(speed[i2 + 1 : i3] >= thr_e)
        # rising in the concentric phase, falling in the eccentric one
        assert m.angle_deg[i1] > m.angle_deg[i0] + 0.8 * r.rom_deg > m.angle_deg[i0] + 4.0
        assert m.angle_deg[i3] < m.angle_deg[i2] - 0.8 * r.rom_deg
        assert r.rom_deg == pytest.approx(m.angle_deg[i0 : i2 + 1].max() - m.angle_deg[i0])
        assert r.peak_concentric_speed_dps == pytest.approx(speed[i0:i1].max(), rel=1e-9)
    # consecutive reps do not overlap
    for a, b in zip(m.reps, m.reps[1:], strict=False):
        assert a.end_s <= b.start_s


def test_profiles_are_not_identical_and_partials_are_short() -> None:
    m = generate_set(
        np.random.default_rng(7),
        fs_hz=100.0,
        n_reps=15,
        rom_deg=40.0,
        tempo=TEMPO,
        fatigue=0.3,
        partial_prob=0.3,
    )
    con = np.array([r.top_start_s - r.start_s for r in m.reps])
    assert con.std() > 0.03
    full = [r.rom_deg for r in m.reps if not r.partial]
    part = [r.rom_deg for r in m.reps if r.partial]
    assert part, "seed 7 with partial_prob 0.3 should give partial reps"
    assert max(part) < 0.7 * np.median(full)


def test_fatigue_slows_the_concentric_phase_and_raises_velocity_loss() -> None:
    losses = {}
    for fatigue in (0.0, 1.0):
        vl = []
        for seed in range(6):
            m = generate_set(
                np.random.default_rng(seed),
                fs_hz=100.0,
                n_reps=12,
                rom_deg=35.0,
                tempo=TEMPO,
                fatigue=fatigue,
                partial_prob=0.0,
            )
            assert m.velocity_loss is not None
            vl.append(m.velocity_loss)
            if fatigue == 1.0:
                con = [r.top_start_s - r.start_s for r in m.reps]
                assert np.mean(con[-3:]) > 1.3 * np.mean(con[:3])
                assert np.mean([r.rom_deg for r in m.reps[-2:]]) < np.mean([r.rom_deg for r in m.reps[:2]])
        losses[fatigue] = float(np.mean(vl))
    assert losses[0.0] < 0.15
    assert losses[1.0] > 0.3
