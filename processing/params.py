"""Analysis parameters: every threshold the pipeline uses, in one frozen record.

Each field names its unit. Defaults and their rationale are documented in ``docs/processing.md``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True, slots=True, kw_only=True)
class AnalysisParams:
    """Thresholds of the analysis pipeline (units in the names)."""

    # s1 clean/resample
    target_fs_hz: float = 25.0
    max_interp_gap_s: float = 0.5
    # s2 orientation
    gravity_lowpass_hz: float = 1.0
    complementary_cutoff_hz: float = 0.3
    speed_lowpass_hz: float = 4.0
    # s3 activity
    still_speed_dps: float = 5.0
    moving_speed_dps: float = 6.0
    walking_dyn_acc_g: float = 0.12
    walking_speed_dps: float = 30.0
    walking_window_s: float = 3.0
    activity_window_s: float = 1.0
    min_walking_for_reference_s: float = 4.0
    # s4 sets
    merge_gap_s: float = 8.0
    set_margin_s: float = 4.0
    min_window_s: float = 3.0
    min_reps_per_set: int = 3
    min_set_rom_deg: float = 6.0
    max_rom_cv: float = 0.25
    max_rom_cv_small: float = 0.15
    small_rom_deg: float = 15.0
    min_peak_speed_dps: float = 5.0
    max_walking_overlap: float = 0.3
    walking_guard_s: float = 2.0
    max_rom_ratio: float = 1.6
    max_duration_ratio: float = 2.5
    min_duration_ratio: float = 0.4
    max_window_splits: int = 6
    max_rep_gap_s: float = 10.0
    max_group_rom_ratio: float = 3.0
    rest_edge_s: float = 4.0
    min_lift_fraction: float = 0.2
    min_flip_rom_deg: float = 14.0
    min_session_set_rom_deg: float = 14.0
    max_seated_lift: float = 0.35
    # s5 reps
    min_rom_deg: float = 5.0
    min_relative_prominence: float = 0.25
    min_return_fraction: float = 0.5
    phase_speed_fraction: float = 0.05
    min_rep_duration_s: float = 1.0
    max_rep_duration_s: float = 20.0
    partial_rom_fraction: float = 0.72
    # s6 exercise: Gaussian tolerances (deg) of the geometric features, plausibility, decision
    mediolateral_tol_deg: float = 22.0
    vertical_tol_deg: float = 20.0
    thigh_tilt_tol_deg: float = 22.0
    axis_thigh_tol_deg: float = 15.0
    lift_tol: float = 0.35
    lying_tilt_tol_deg: float = 12.0
    reversed_polarity_weight: float = 0.5
    walking_frame_min_deg: float = 70.0
    line_tol_deg: float = 12.0
    later_reference_weight: float = 0.5
    device_edge_weight: float = 0.5
    line_floor: float = 0.1
    rom_margin_deg: float = 10.0
    other_exercise_score: float = 0.01
    min_exercise_confidence: float = 0.5
    # s6 upright references (no walking)
    skin_upright_min_deg: float = 55.0
    min_reference_still_s: float = 2.0
    same_posture_deg: float = 15.0

    def to_dict(self) -> dict[str, Any]:
        """Plain dict of all parameters (stored with results)."""
        return asdict(self)
