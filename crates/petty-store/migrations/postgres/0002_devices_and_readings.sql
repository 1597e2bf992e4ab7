-- Devices and their readings (issue 3).

CREATE TABLE devices (
    id                     UUID PRIMARY KEY,
    household_id           UUID NOT NULL REFERENCES households(id) ON DELETE CASCADE,
    pet_id                 UUID REFERENCES pets(id) ON DELETE SET NULL,
    kind                   TEXT NOT NULL,
    name                   TEXT NOT NULL,
    model                  TEXT,
    firmware               TEXT,
    expected_interval_secs BIGINT NOT NULL,
    -- A JSON object of named numbers (sensor calibration), '{}' when there is none.
    calibration            TEXT NOT NULL,
    -- SHA-256 of the device's current dk_ token; NULL once revoked.
    token_hash             BYTEA UNIQUE,
    token_created_at       BIGINT,
    created_at             BIGINT NOT NULL,
    updated_at             BIGINT NOT NULL,
    -- When a reading last arrived (arrival time), the newest event time seen, and the battery
    -- level of the newest reading that reported one (with that reading's event time).
    last_seen_at           BIGINT,
    latest_ts              BIGINT,
    battery_ts             BIGINT,
    battery_pct            DOUBLE PRECISION
);
CREATE INDEX devices_by_household ON devices (household_id, name);

-- One row per (device, event time, sequence number); seq is -1 when the device sent none.
-- The primary key is both the duplicate check and the index that serves range reads.
CREATE TABLE readings (
    device_id        UUID NOT NULL,
    ts               BIGINT NOT NULL,
    seq              BIGINT NOT NULL,
    household_id     UUID NOT NULL,
    received_at      BIGINT NOT NULL,
    heart_rate       DOUBLE PRECISION,
    respiration_rate DOUBLE PRECISION,
    activity_level   DOUBLE PRECISION,
    activity_counts  DOUBLE PRECISION,
    steps            DOUBLE PRECISION,
    temperature_c    DOUBLE PRECISION,
    battery_pct      DOUBLE PRECISION,
    rssi             DOUBLE PRECISION,
    co_ppm           DOUBLE PRECISION,
    co_raw           DOUBLE PRECISION,
    humidity_pct     DOUBLE PRECISION,
    ambient_temp_c   DOUBLE PRECISION,
    lat              DOUBLE PRECISION,
    lon              DOUBLE PRECISION,
    accuracy_m       DOUBLE PRECISION,
    -- A JSON object of further named numbers, or NULL.
    extra            TEXT,
    PRIMARY KEY (device_id, ts, seq)
);

-- Per-metric summaries of accepted readings per 1 minute, 1 hour and 1 day (resolution in
-- seconds; bucket is the start of the period in epoch ms), updated in the transaction that
-- stores the readings, late ones included. avg = total / n.
CREATE TABLE rollups (
    device_id    UUID NOT NULL,
    resolution   BIGINT NOT NULL,
    metric       TEXT NOT NULL,
    bucket       BIGINT NOT NULL,
    household_id UUID NOT NULL,
    n            BIGINT NOT NULL,
    total        DOUBLE PRECISION NOT NULL,
    lo           DOUBLE PRECISION NOT NULL,
    hi           DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (device_id, resolution, metric, bucket)
);
