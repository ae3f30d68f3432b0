-- hipsync schema, version 3: raw samples as fixed-point integers under a small integer session key.
--
-- Why: bulk-loading FLOAT/DOUBLE columns and repeating a 32-character session id on every row cost DuckDB
-- about 3x the CPU per sample of integer columns (benchmarks/bench_ingest.py). Integers also compress to
-- half the size. The units are far finer than any supported sensor's step (acceleration 1 ug against the
-- 16-bit step of 488 ug at +-16 g, angular rate 1 mdeg/s against 61 mdeg/s), so no measurement is lost.
--   samples.t_us    BIGINT   microseconds on the session's time axis (t_s = t_us / 1e6)
--   samples.a?_ug   INTEGER  acceleration in micro-g (+-2147 g)
--   samples.g?_mdps INTEGER  angular rate in milli-deg/s (+-2.1e6 deg/s); NULL for accelerometer-only sensors
-- sessions.session_key is the integer the samples carry; readers use v_samples (storage.read_api) or
-- storage.samples for seconds, g and deg/s.
--
-- sessions is rebuilt rather than ALTERed: DuckDB 1.5 cannot replay an ALTER TABLE on a table with a now()
-- default from its WAL (tests/storage/test_migrations.py). Samples keep their stored order (rowid).

CREATE SEQUENCE session_key_seq START 1;

CREATE TEMP TABLE sessions_v2 AS SELECT * FROM sessions;
DROP TABLE sessions;

CREATE TABLE sessions (
    session_id     VARCHAR PRIMARY KEY,      -- uuid4 hex
    session_key    INTEGER NOT NULL UNIQUE DEFAULT nextval('session_key_seq'),  -- samples.session_key
    started_at     TIMESTAMPTZ NOT NULL,
    ended_at       TIMESTAMPTZ,
    device_id      VARCHAR,
    side           VARCHAR,
    profile        VARCHAR,
    sample_rate_hz DOUBLE,
    has_gyro       BOOLEAN,
    n_samples      BIGINT,
    source         VARCHAR NOT NULL,         -- spool | csv | parquet | recording
    source_path    VARCHAR,
    content_sha256 VARCHAR NOT NULL UNIQUE,  -- idempotency key: the same bytes are never imported twice
    status         VARCHAR NOT NULL,         -- analysed | quarantined | imported
    status_reason  VARCHAR,                  -- why it was quarantined
    rpe            DOUBLE,                   -- session RPE 0-10, user-entered
    imported_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);

INSERT INTO sessions (session_id, started_at, ended_at, device_id, side, profile, sample_rate_hz, has_gyro,
                      n_samples, source, source_path, content_sha256, status, status_reason, rpe, imported_at)
SELECT session_id, started_at, ended_at, device_id, side, profile, sample_rate_hz, has_gyro,
       n_samples, source, source_path, content_sha256, status, status_reason, rpe, imported_at
FROM sessions_v2
ORDER BY imported_at, session_id;

DROP TABLE sessions_v2;

-- Raw samples: no primary key (bulk loads), one row per sample, in recording order within a session.
CREATE TABLE samples_v3 (
    session_key INTEGER NOT NULL,
    t_us        BIGINT,                    -- NULL where the recording's time was not finite
    ax_ug   INTEGER, ay_ug   INTEGER, az_ug   INTEGER,
    gx_mdps INTEGER, gy_mdps INTEGER, gz_mdps INTEGER
);

-- A non-finite value (NaN, inf) becomes NULL, as the writer stores it.
CREATE TEMP MACRO fixed_point(x, per_unit) AS CASE WHEN isfinite(x) THEN round(x * per_unit) END;

INSERT INTO samples_v3
SELECT se.session_key, CAST(fixed_point(s.t_s, 1e6) AS BIGINT),
       CAST(fixed_point(s.ax_g, 1e6) AS INTEGER), CAST(fixed_point(s.ay_g, 1e6) AS INTEGER),
       CAST(fixed_point(s.az_g, 1e6) AS INTEGER),
       CAST(fixed_point(s.gx_dps, 1e3) AS INTEGER), CAST(fixed_point(s.gy_dps, 1e3) AS INTEGER),
       CAST(fixed_point(s.gz_dps, 1e3) AS INTEGER)
FROM samples s JOIN sessions se USING (session_id)
ORDER BY s.rowid;

DROP TABLE samples;
DROP MACRO fixed_point;
ALTER TABLE samples_v3 RENAME TO samples;
