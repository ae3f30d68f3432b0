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
    phase_gravity_lowpass_hz: float = 2.0
    complementary_cutoff_hz: float = 0.3
    speed_lowpass_hz: float = 4.0
    # s3 activity
    still_speed_dps: float = 5.0
    moving_speed_dps: float = 6.0
    moving_speed_floor_dps: float = 6.0
    moving_noise_factor: float = 6.0
    walking_dyn_acc_g: float = 0.12
    walking_speed_dps: float = 30.0
    walking_window_s: float = 3.0
    walking_posture_deg: float = 30.0
    activity_window_s: float = 1.0
    min_walking_for_reference_s: float = 4.0
    lateral_standing_s: float = 5.0
    min_walking_flexion_deg: float = 2.0
    # s4 windows
    merge_gap_s: float = 8.0
    set_margin_s: float = 4.0
    min_window_s: float = 3.0
    max_window_splits: int = 6
    # s5a-c reps
    min_rom_deg: float = 4.0
    excursion_return_fraction: float = 0.5
    phase_speed_fraction: float = 0.05
    min_rep_duration_s: float = 0.5
    max_rep_duration_s: float = 30.0
    min_return_fraction: float = 0.5
    min_axis_share: float = 0.6
    partial_rom_fraction: float = 0.72
    # s5d-g sets
    min_reps_per_set: int = 3
    min_rest_s: float = 8.0
    rest_pause_factor: float = 4.0
    max_group_rom_ratio: float = 5.0
    block_rom_ratio: float = 1.5
    block_duration_ratio: float = 1.6
    max_rom_cv: float = 0.25
    max_rom_cv_small: float = 0.15
    small_rom_deg: float = 15.0
    max_partial_share: float = 0.34
    max_rom_ratio: float = 1.6
    min_rom_fraction: float = 0.35
    max_duration_ratio: float = 2.5
    min_duration_ratio: float = 0.4
    min_set_rom_deg: float = 5.0
    min_peak_speed_dps: float = 5.0
    max_walking_overlap: float = 0.3
    walking_guard_s: float = 2.0
    widen_rep_periods: float = 2.0
    # s5h passive legs in whole sessions (thigh axis known)
    rest_edge_s: float = 4.0
    min_lift_fraction: float = 0.2
    max_seated_lift: float = 0.35
    # s6 exercise
    seated_axis_vertical_deg: float = 45.0
    standing_tilt_max_deg: float = 45.0
    bridge_tilt_min_deg: float = 115.0
    clam_axis_thigh_max_deg: float = 65.0
    # s6 exercise without the thigh axis (no walking): skin-normal geometry, gyro only
    skin_lying_max_deg: float = 40.0
    skin_upright_min_deg: float = 55.0
    bridge_axis_skin_max_deg: float = 30.0
    bridge_gravity_reference_min_deg: float = 20.0
    bridge_gravity_reference_max_deg: float = 70.0
    clam_axis_reference_min_deg: float = 25.0
    clam_axis_reference_max_deg: float = 62.0
    leg_raise_axis_reference_margin_deg: float = 18.0
    min_reference_still_s: float = 2.0
    same_posture_deg: float = 15.0

    def to_dict(self) -> dict[str, Any]:
        """Plain dict of all parameters (stored with results)."""
        return asdict(self)
