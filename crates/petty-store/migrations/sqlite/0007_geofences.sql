-- Geofences per household, where each collar stands with respect to each fence, and the exits
-- and entries that were confirmed (issue 4).

CREATE TABLE geofences (
    id             BLOB PRIMARY KEY,
    household_id   BLOB NOT NULL REFERENCES households(id) ON DELETE CASCADE,
    name           TEXT NOT NULL,
    -- {"kind": "circle", "lat", "lon", "radius_m"} or {"kind": "polygon", "points": [[lat, lon], ...]}
    shape          TEXT NOT NULL,
    dwell_secs     BIGINT NOT NULL,
    max_accuracy_m REAL NOT NULL,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL
);
CREATE INDEX geofences_by_household ON geofences (household_id, name);

-- "Outside since" is a state: one row per fence and device, written with the events.
CREATE TABLE geofence_states (
    geofence_id     BLOB NOT NULL REFERENCES geofences(id) ON DELETE CASCADE,
    device_id       BLOB NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
    household_id    BLOB NOT NULL,
    known           BOOLEAN NOT NULL,
    inside          BOOLEAN NOT NULL,
    outside_since   BIGINT,
    candidate_since BIGINT,
    last_fix        BIGINT,
    PRIMARY KEY (geofence_id, device_id)
);

CREATE TABLE geofence_events (
    id           BLOB PRIMARY KEY,
    household_id BLOB NOT NULL REFERENCES households(id) ON DELETE CASCADE,
    geofence_id  BLOB NOT NULL REFERENCES geofences(id) ON DELETE CASCADE,
    device_id    BLOB NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
    pet_id       BLOB,
    kind         TEXT NOT NULL,
    at           BIGINT NOT NULL,
    explanation  TEXT NOT NULL
);
CREATE INDEX geofence_events_by_pet ON geofence_events (household_id, pet_id, at);
