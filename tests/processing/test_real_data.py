"""Real recordings (tests/data/real): the counts the issue asks for, under any mounting."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from hipsync.records import Recording
from ingest.datasets import read_mex, read_uci_pt
from processing import analyze


def _counts(rec: Recording) -> list[int]:
    return [len(s.reps) for s in analyze(rec).sets]


def _remount(rec: Recording, rot: Rotation, mirror: bool) -> Recording:
    m = rot.as_matrix() @ (np.diag([1.0, -1.0, 1.0]) if mirror else np.eye(3))
    gyro = None if rec.gyro_dps is None else (rec.gyro_dps @ m.T) * np.linalg.det(m)
    return Recording(time_s=rec.time_s, accel_g=rec.accel_g @ m.T, gyro_dps=gyro, fs_hz=rec.fs_hz)


def test_uci_subject1_moving_thigh_three_sets_of_ten(real_data_dir: Path) -> None:
    rec = read_uci_pt(real_data_dir / "uci-pt/s1/e4/u3/test.txt.gz")
    a = analyze(rec)
    assert [len(s.reps) for s in a.sets] == [10, 10, 10]
    # the sets match the hand-placed boundaries (time index n -> (n - 1) / 25 s) within a rep
    bounds = np.loadtxt(real_data_dir / "uci-pt/s1/e4/test_times.csv", delimiter=",", skiprows=1)
    starts = (bounds[:, 2] - 1) / 25.0
    found = np.array([r.start_s for s in a.sets for r in s.reps])
    assert np.max(np.abs(found - starts)) < 1.0


def test_uci_subject1_resting_thigh_has_no_reps(real_data_dir: Path) -> None:
    assert _counts(read_uci_pt(real_data_dir / "uci-pt/s1/e4/u4/test.txt.gz")) == []


@pytest.mark.parametrize(("subject", "clam", "bridge"), [("01", 16, 9), ("02", 11, 9), ("03", 9, 9)])
def test_mex_clam_and_bridging_counts(real_data_dir: Path, subject: str, clam: int, bridge: int) -> None:
    d = real_data_dir / "mex" / subject
    (n_clam,) = _counts(read_mex(d / "04_act_2.csv.gz"))
    (n_bridge,) = _counts(read_mex(d / "02_act_1.csv.gz"))
    assert abs(n_clam - clam) <= 1
    assert abs(n_bridge - bridge) <= 1
    assert _counts(read_mex(d / "04_act_1.csv.gz")) == []  # the still (underneath) side


@pytest.mark.parametrize("seed", range(3))
def test_uci_counts_survive_any_strap_rotation_and_the_other_leg(real_data_dir: Path, seed: int) -> None:
    moving = read_uci_pt(real_data_dir / "uci-pt/s1/e4/u3/test.txt.gz")
    resting = read_uci_pt(real_data_dir / "uci-pt/s1/e4/u4/test.txt.gz")
    rot = Rotation.random(random_state=seed)
    mirror = seed % 2 == 1
    assert _counts(_remount(moving, rot, mirror)) == [10, 10, 10]
    assert _counts(_remount(resting, rot, mirror)) == []
