-- hipsync schema, version 2.
-- reps: the peak angular speed of the lifting phase, which processing.records.Rep carries (deg/s).
-- sets: when a user corrected the load (`hipsync log`), so reprocessing and reports can tell.

ALTER TABLE reps ADD COLUMN peak_concentric_speed_dps DOUBLE;
ALTER TABLE sets ADD COLUMN load_set_at TIMESTAMPTZ;
