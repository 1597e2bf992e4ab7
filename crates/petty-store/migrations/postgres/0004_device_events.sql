-- Liveness and battery as last noted by the liveness job, and the events it raised (issue 3).
ALTER TABLE devices ADD COLUMN liveness TEXT NOT NULL DEFAULT 'never_seen';
ALTER TABLE devices ADD COLUMN battery_low_noted BOOLEAN NOT NULL DEFAULT FALSE;

CREATE TABLE device_events (
    id           UUID PRIMARY KEY,
    household_id UUID NOT NULL REFERENCES households(id) ON DELETE CASCADE,
    device_id    UUID NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
    kind         TEXT NOT NULL,
    at           BIGINT NOT NULL,
    -- The battery level or the last arrival that led to it, for people reading the event.
    detail       TEXT NOT NULL
);
CREATE INDEX device_events_by_device ON device_events (household_id, device_id, at);
