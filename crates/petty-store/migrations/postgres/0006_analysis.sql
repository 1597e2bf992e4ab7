-- Behaviour analysis, owner feedback, day summaries, anomalies, geofences and the Petty
-- compatibility profile (issue 4).

-- The serial printed on a device (a Petty collar's "SN-123456"); the compatibility routes find
-- a collar by it. Unique across the installation, like the serial itself.
ALTER TABLE devices ADD COLUMN serial TEXT;
CREATE UNIQUE INDEX devices_by_serial ON devices (serial);

-- Behaviour episodes as the last analysis of their span found them. The id is derived from
-- the pet and the start, so re-analysing a day keeps the ids of episodes that did not move.
CREATE TABLE episodes (
    id            UUID PRIMARY KEY,
    household_id  UUID NOT NULL REFERENCES households(id) ON DELETE CASCADE,
    pet_id        UUID NOT NULL REFERENCES pets(id) ON DELETE CASCADE,
    device_id     UUID NOT NULL,
    start_ts      BIGINT NOT NULL,
    end_ts        BIGINT NOT NULL,
    label         TEXT NOT NULL,
    confidence    DOUBLE PRECISION NOT NULL,
    -- A JSON array of [name, value] pairs: the features that decided it.
    features      TEXT NOT NULL,
    model_version TEXT NOT NULL
);
CREATE INDEX episodes_by_pet ON episodes (household_id, pet_id, start_ts);

-- What owners said about episodes. Each row keeps its own copy of what it judged (span, label,
-- the episode's mean features), so it outlives re-analysis and tunes the pet's model.
CREATE TABLE episode_feedback (
    id           UUID PRIMARY KEY,
    household_id UUID NOT NULL REFERENCES households(id) ON DELETE CASCADE,
    pet_id       UUID NOT NULL REFERENCES pets(id) ON DELETE CASCADE,
    episode_id   UUID NOT NULL,
    start_ts     BIGINT NOT NULL,
    end_ts       BIGINT NOT NULL,
    said_label   TEXT NOT NULL,
    verdict      TEXT NOT NULL,
    label        TEXT,
    note         TEXT,
    -- A JSON array of the episode's mean feature values, or NULL when there were no readings.
    features     TEXT,
    user_id      UUID,
    created_at   BIGINT NOT NULL
);
CREATE INDEX episode_feedback_by_pet ON episode_feedback (household_id, pet_id, created_at);
CREATE INDEX episode_feedback_by_episode ON episode_feedback (episode_id);

-- One row per pet and local day: the day's summary (JSON) and wellness score.
CREATE TABLE pet_days (
    household_id UUID NOT NULL REFERENCES households(id) ON DELETE CASCADE,
    pet_id       UUID NOT NULL REFERENCES pets(id) ON DELETE CASCADE,
    day          TEXT NOT NULL,
    summary      TEXT NOT NULL,
    wellness     BIGINT,
    updated_at   BIGINT NOT NULL,
    PRIMARY KEY (pet_id, day)
);

-- Anomalies against a pet's own baseline: at most one per pet, day and kind.
CREATE TABLE anomalies (
    id           UUID PRIMARY KEY,
    household_id UUID NOT NULL REFERENCES households(id) ON DELETE CASCADE,
    pet_id       UUID NOT NULL REFERENCES pets(id) ON DELETE CASCADE,
    day          TEXT NOT NULL,
    kind         TEXT NOT NULL,
    severity     TEXT NOT NULL,
    at           BIGINT NOT NULL,
    explanation  TEXT NOT NULL,
    value        DOUBLE PRECISION NOT NULL,
    baseline     DOUBLE PRECISION,
    created_at   BIGINT NOT NULL,
    UNIQUE (pet_id, day, kind)
);
CREATE INDEX anomalies_by_pet ON anomalies (household_id, pet_id, at);

-- Feedback sent to the compatibility route POST /compat/petty/submit-feedback, as the seed
-- stored it (text escaped and redacted before it gets here).
CREATE TABLE compat_feedback (
    id            UUID PRIMARY KEY,
    household_id  UUID REFERENCES households(id) ON DELETE CASCADE,
    event_id      TEXT NOT NULL,
    user_feedback TEXT NOT NULL,
    ts            TEXT,
    segment       TEXT,
    created_at    BIGINT NOT NULL
);
