-- The life log (issue 15): what a person did and felt, and a pet's meals, walks, medication and
-- grooming. A person's events are theirs, in whichever household they act (no household_id); a
-- pet's belong to its household. `event_data`, `context` and `tags` are JSON text, kept exactly as
-- sent; the derived scores are kept so that stats read columns, not JSON.
CREATE TABLE life_events (
    id               BLOB PRIMARY KEY,
    user_id          BLOB REFERENCES users(id) ON DELETE CASCADE,
    household_id     BLOB REFERENCES households(id) ON DELETE CASCADE,
    pet_id           BLOB REFERENCES pets(id) ON DELETE CASCADE,
    event_type       TEXT NOT NULL,
    title            TEXT NOT NULL,
    event_time       INTEGER NOT NULL,
    event_category   TEXT,
    description      TEXT,
    event_data       TEXT NOT NULL,
    context          TEXT NOT NULL,
    duration_minutes INTEGER,
    tags             TEXT NOT NULL,
    source           TEXT NOT NULL,
    impact_score     REAL NOT NULL,
    energy_impact    REAL NOT NULL,
    mood_impact      REAL NOT NULL,
    created_by       BLOB REFERENCES users(id) ON DELETE SET NULL,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER,
    CHECK ((user_id IS NOT NULL AND pet_id IS NULL) OR (pet_id IS NOT NULL AND household_id IS NOT NULL AND user_id IS NULL))
);
CREATE INDEX life_events_of_person ON life_events (user_id, event_time DESC, created_at DESC) WHERE user_id IS NOT NULL;
CREATE INDEX life_events_of_pet ON life_events (household_id, pet_id, event_time DESC, created_at DESC) WHERE pet_id IS NOT NULL;
