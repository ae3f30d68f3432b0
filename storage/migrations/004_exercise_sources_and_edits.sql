-- hipsync schema, version 4: where each set's exercise came from, and the user's corrections (`hipsync edit`).
--
-- sets: the exercise shown is the recogniser's, the plan's (storage.plan, processing.plan_prior) or the
-- user's; the recogniser's own vote is kept beside it. Sets stored before version 4 were the recogniser's.
-- edits: one row per correction, never deleted (undo marks it); anchored to the time span of the set(s) it
-- names, so it can be applied again after every analysis (import, reprocess) and survive moved boundaries.
-- run_sets: each analysis run's sets exactly as the analysis produced them, the base the edits apply to.
--
-- No now() defaults: DuckDB 1.5 cannot replay from its WAL an ALTER TABLE on a table that has one
-- (tests/storage/test_migrations.py), so the writers fill created_at themselves.

ALTER TABLE sets ADD COLUMN exercise_source VARCHAR;        -- recognised | plan | user
ALTER TABLE sets ADD COLUMN exercise_confidence DOUBLE;     -- 0-1: of `exercise` (the user's: 1)
ALTER TABLE sets ADD COLUMN recognised_exercise VARCHAR;    -- the recogniser's own vote (may be unknown)
ALTER TABLE sets ADD COLUMN recognised_confidence DOUBLE;   -- 0-1: the recogniser's confidence in it
ALTER TABLE sets ADD COLUMN corrected BOOLEAN;              -- a user edit changed this set

UPDATE sets SET exercise_source = 'recognised', recognised_exercise = exercise, corrected = FALSE;

CREATE SEQUENCE edit_id_seq START 1;

CREATE TABLE edits (
    edit_id      INTEGER PRIMARY KEY DEFAULT nextval('edit_id_seq'),  -- shown as #1, #2, ...
    session_id   VARCHAR NOT NULL,
    kind         VARCHAR NOT NULL,    -- exercise | reps | merge | split | delete
    set_number   INTEGER NOT NULL,    -- the set as the user named it (1-based, as listed then)
    start_s      DOUBLE NOT NULL,     -- anchor: the span of the named set(s) when edited, session time axis
    end_s        DOUBLE NOT NULL,
    at_s         DOUBLE,              -- split: the time the set is cut at (session time axis)
    exercise     VARCHAR,             -- exercise: the exercise it was
    n_reps       INTEGER,             -- reps: how many reps it had
    created_by   VARCHAR NOT NULL,    -- who: the operating-system user
    created_at   TIMESTAMPTZ NOT NULL,
    undone_by    VARCHAR,
    undone_at    TIMESTAMPTZ,         -- NULL while the edit is in force
    applied      BOOLEAN,             -- on the latest analysis: did the edit find its set(s)?
    note         VARCHAR              -- what applying it did, or why it could not
);

CREATE TABLE run_sets (
    run_id      VARCHAR PRIMARY KEY,  -- analysis_runs.run_id
    session_id  VARCHAR NOT NULL,
    sets        JSON NOT NULL         -- the run's sets as analysed (storage.edits.sets_to_json)
);
