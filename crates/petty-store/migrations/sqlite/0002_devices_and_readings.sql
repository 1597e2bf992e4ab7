-- Devices and their readings (issue 3).

CREATE TABLE devices (
    id                     BLOB PRIMARY KEY,
    household_id           BLOB NOT NULL REFERENCES households(id) ON DELETE CASCADE,
    pet_id                 BLOB REFERENCES pets(id) ON DELETE SET NULL,
    kind                   TEXT NOT NULL,
    name                   TEXT NOT NULL,
    model                  TEXT,
    firmware               TEXT,
    expected_interval_secs BIGINT NOT NULL,
    -- A JSON object of named numbers (sensor calibration), '{}' when there is none.
    calibration            TEXT NOT NULL,
    -- SHA-256 of the device's current dk_ token; NULL once revoked.
    token_hash             BLOB UNIQUE,
    token_created_at       BIGINT,
    created_at             BIGINT NOT NULL,
    updated_at             BIGINT NOT NULL,
    -- When a reading last arrived (arrival time), the newest event time seen, and the battery
    -- level of the newest reading that reported one (with that reading's event time).
    last_seen_at           BIGINT,
    latest_ts              BIGINT,
    battery_ts             BIGINT,
    battery_pct            REAL
);
CREATE INDEX devices_by_household ON devices (household_id, name);

-- One row per (device, event time, sequence number); seq is -1 when the device sent none.
-- The primary key is both the duplicate check and the index that serves range reads.
CREATE TABLE readings (
    device_id        BLOB NOT NULL,
    ts               BIGINT NOT NULL,
    seq              BIGINT NOT NULL,
    household_id     BLOB NOT NULL,
    received_at      BIGINT NOT NULL,
    heart_rate       REAL,
    respiration_rate REAL,
    activity_level   REAL,
    activity_counts  REAL,
    steps            REAL,
    temperature_c    REAL,
    battery_pct      REAL,
    rssi             REAL,
    co_ppm           REAL,
    co_raw           REAL,
    humidity_pct     REAL,
    ambient_temp_c   REAL,
    lat              REAL,
    lon              REAL,
    accuracy_m       REAL,
    -- A JSON object of further named numbers, or NULL.
    extra            TEXT,
    PRIMARY KEY (device_id, ts, seq)
) WITHOUT ROWID;

-- Per-metric summaries of accepted readings per 1 minute, 1 hour and 1 day (resolution in
-- seconds; bucket is the start of the period in epoch ms), updated in the transaction that
-- stores the readings, late ones included. avg = total / n.
CREATE TABLE rollups (
    device_id    BLOB NOT NULL,
    resolution   BIGINT NOT NULL,
    metric       TEXT NOT NULL,
    bucket       BIGINT NOT NULL,
    household_id BLOB NOT NULL,
    n            BIGINT NOT NULL,
    total        REAL NOT NULL,
    lo           REAL NOT NULL,
    hi           REAL NOT NULL,
    PRIMARY KEY (device_id, resolution, metric, bucket)
) WITHOUT ROWID;
