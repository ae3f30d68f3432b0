-- hipsync schema, version 1. Times of day are TIMESTAMPTZ (UTC); durations and offsets are seconds (DOUBLE).
-- Offsets named *_s are on the session's own time axis (seconds since sessions.started_at).

CREATE TABLE devices (
    device_id      VARCHAR PRIMARY KEY,      -- stable id: the BLE address, or 'virtual:<profile>:<n>'
    address        VARCHAR,
    name           VARCHAR,
    profile        VARCHAR NOT NULL,         -- polar-verity-sense | polar-h10 | witmotion-wt901 | csv | parquet
    side           VARCHAR,                  -- left | right | NULL
    added_at       TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE sessions (
    session_id     VARCHAR PRIMARY KEY,      -- uuid4 hex
    started_at     TIMESTAMPTZ NOT NULL,
    ended_at       TIMESTAMPTZ,
    device_id      VARCHAR,
    side           VARCHAR,
    profile        VARCHAR,
    sample_rate_hz DOUBLE,
    has_gyro       BOOLEAN,
    n_samples      BIGINT,
    source         VARCHAR NOT NULL,         -- spool | csv | parquet
    source_path    VARCHAR,
    content_sha256 VARCHAR NOT NULL UNIQUE,  -- idempotency key: the same bytes are never imported twice
    status         VARCHAR NOT NULL,         -- analysed | quarantined | imported
    status_reason  VARCHAR,                  -- why it was quarantined
    rpe            DOUBLE,                   -- session RPE 0-10, user-entered
    imported_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Raw samples: no primary key (bulk loads), one row per sample.
CREATE TABLE samples (
    session_id VARCHAR NOT NULL,
    t_s        DOUBLE NOT NULL,
    ax_g       FLOAT, ay_g FLOAT, az_g FLOAT,
    gx_dps     FLOAT, gy_dps FLOAT, gz_dps FLOAT
);

CREATE TABLE analysis_runs (
    run_id            VARCHAR PRIMARY KEY,
    session_id        VARCHAR NOT NULL,
    algorithm_version VARCHAR NOT NULL,
    parameters        JSON,
    quality           JSON,
    created_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    is_current        BOOLEAN NOT NULL DEFAULT TRUE
);

CREATE TABLE sets (
    set_id         VARCHAR PRIMARY KEY,
    session_id     VARCHAR NOT NULL,
    run_id         VARCHAR NOT NULL,
    set_index      INTEGER NOT NULL,        -- 1-based order within the session
    exercise       VARCHAR NOT NULL,        -- processing.records.Exercise values
    side           VARCHAR,
    start_s        DOUBLE NOT NULL,
    end_s          DOUBLE NOT NULL,
    started_at     TIMESTAMPTZ NOT NULL,    -- sessions.started_at + start_s
    n_reps         INTEGER NOT NULL,
    velocity_loss  DOUBLE,                  -- fraction 0-1 of mean concentric speed lost
    tempo_consistency DOUBLE,
    resistance     VARCHAR,                 -- as the user writes it: band:red, ankle:2kg, bodyweight
    load_value     DOUBLE,                  -- band level (1-5, see docs/schema.md), kg, or 1 for bodyweight
    load_unit      VARCHAR,                 -- band_level | kg | bodyweight
    load_source    VARCHAR                  -- plan | user | NULL
);

CREATE TABLE reps (
    rep_id          VARCHAR PRIMARY KEY,
    session_id      VARCHAR NOT NULL,
    set_id          VARCHAR NOT NULL,
    rep_index       INTEGER NOT NULL,       -- 1-based within the set
    start_s         DOUBLE NOT NULL,
    top_start_s     DOUBLE NOT NULL,
    top_end_s       DOUBLE NOT NULL,
    end_s           DOUBLE NOT NULL,
    concentric_s    DOUBLE NOT NULL,
    top_hold_s      DOUBLE NOT NULL,
    eccentric_s     DOUBLE NOT NULL,
    bottom_pause_s  DOUBLE,                 -- NULL for the last rep of a set
    rom_deg         DOUBLE NOT NULL,
    partial         BOOLEAN NOT NULL
);

CREATE TABLE plans (
    plan_id          VARCHAR NOT NULL,       -- sha256 of the plan file content
    valid_from       TIMESTAMPTZ NOT NULL,
    exercise         VARCHAR NOT NULL,
    target_sets      INTEGER,
    target_reps_low  INTEGER,
    target_reps_high INTEGER,
    resistance       VARCHAR,
    load_value       DOUBLE,
    load_unit        VARCHAR
);

CREATE TABLE reports (
    report_id   VARCHAR PRIMARY KEY,
    week        VARCHAR NOT NULL,           -- ISO week YYYY-Www
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    format      VARCHAR NOT NULL,           -- json (content) ; html/md paths in path
    path        VARCHAR,
    content     JSON
);
