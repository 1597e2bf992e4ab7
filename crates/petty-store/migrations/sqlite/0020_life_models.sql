-- Learned life-log models and insights (issue 15).
--
-- `life_models`: a person's newest trained energy or mood model, as the core's versioned text
-- (`petty-lifelog-model 1`), whether or not it beat the baseline (the text says; only one that did
-- is used). `life_training`: what the training job needs to know per person: reports logged since
-- the last training (50 make it due), a retrain asked for, the last run and what came of it.
-- `life_insights`: generated insights; a rule that holds again on the same UTC day updates its row.
CREATE TABLE life_models (
    user_id    BLOB NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind       TEXT NOT NULL CHECK (kind IN ('energy', 'mood')),
    version    TEXT NOT NULL,
    trained_at INTEGER NOT NULL,
    model      BLOB NOT NULL,
    PRIMARY KEY (user_id, kind)
);
CREATE TABLE life_training (
    user_id      BLOB PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    new_reports  INTEGER NOT NULL DEFAULT 0,
    requested_at INTEGER,
    trained_at   INTEGER,
    run_day      INTEGER,
    runs_on_day  INTEGER NOT NULL DEFAULT 0,
    energy_note  TEXT,
    mood_note    TEXT
);
CREATE INDEX life_training_due ON life_training (requested_at) WHERE requested_at IS NOT NULL;
CREATE TABLE life_insights (
    id           BLOB PRIMARY KEY,
    user_id      BLOB NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    insight_type TEXT NOT NULL,
    category     TEXT NOT NULL,
    title        TEXT NOT NULL,
    content      TEXT NOT NULL,
    priority     TEXT NOT NULL,
    confidence   REAL NOT NULL,
    metadata     TEXT NOT NULL,
    day          INTEGER NOT NULL,
    is_read      BOOLEAN NOT NULL DEFAULT FALSE,
    is_dismissed BOOLEAN NOT NULL DEFAULT FALSE,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER,
    UNIQUE (user_id, insight_type, day)
);
CREATE INDEX life_insights_of_user ON life_insights (user_id, created_at DESC);
