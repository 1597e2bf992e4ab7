-- Care (issue 14): health records, reminders and the calendar feed; the pet fields that were
-- missing; a time zone for people and households (reminders keep wall-clock time in theirs).

ALTER TABLE pets ADD COLUMN neutered TEXT NOT NULL DEFAULT 'unknown' CHECK (neutered IN ('yes', 'no', 'unknown'));
-- How much of date_of_birth is known: the day, only the month, or only the year (an adopted
-- adult's age is an estimate).
ALTER TABLE pets ADD COLUMN birth_precision TEXT NOT NULL DEFAULT 'day' CHECK (birth_precision IN ('day', 'month', 'year'));
ALTER TABLE users ADD COLUMN timezone TEXT NOT NULL DEFAULT 'UTC';
ALTER TABLE households ADD COLUMN timezone TEXT NOT NULL DEFAULT 'UTC';

-- What a vet and an owner keep about a pet. `date` is the day the care happened
-- (YYYY-MM-DD); costs are in cents. Vaccinations name their series (`rabies`, or
-- `other:<title>`); weights carry the weight.
CREATE TABLE health_records (
    id           BLOB PRIMARY KEY,
    household_id BLOB NOT NULL REFERENCES households(id) ON DELETE CASCADE,
    pet_id       BLOB NOT NULL REFERENCES pets(id) ON DELETE CASCADE,
    kind         TEXT NOT NULL,
    title        TEXT NOT NULL,
    description  TEXT,
    date         TEXT NOT NULL,
    vet          TEXT,
    cost_cents   INTEGER,
    vaccine      TEXT,
    series       TEXT,
    valid_until  TEXT,
    dose         TEXT,
    schedule     TEXT,
    weight_kg    REAL,
    created_by   BLOB REFERENCES users(id) ON DELETE SET NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
-- Pages of a pet's records, and their counts, come from this index alone.
CREATE INDEX health_records_by_pet ON health_records (household_id, pet_id, date DESC, created_at DESC, id DESC, kind);
CREATE INDEX health_records_by_household ON health_records (household_id, kind);

-- Reminders. The schedule is the anchor (the first occurrence's local wall time) in the
-- reminder's time zone, a repeat and an end; `due_at` is the occurrence waiting to be done.
-- The reminder job acts at `next_notify_at` (an occurrence or the end of a snooze) under a
-- lease; `notified_upto` is the latest occurrence already told of.
CREATE TABLE reminders (
    id                BLOB PRIMARY KEY,
    household_id      BLOB NOT NULL REFERENCES households(id) ON DELETE CASCADE,
    pet_id            BLOB REFERENCES pets(id) ON DELETE CASCADE,
    title             TEXT NOT NULL,
    description       TEXT,
    anchor_local      TEXT NOT NULL,
    timezone          TEXT NOT NULL,
    repeat            TEXT CHECK (repeat IN ('daily', 'weekly', 'monthly', 'yearly')),
    ends_at           INTEGER,
    due_at            INTEGER NOT NULL,
    methods           TEXT NOT NULL,
    completed_at      INTEGER,
    last_completed_at INTEGER,
    completed_count   INTEGER NOT NULL DEFAULT 0,
    snoozed_until     INTEGER,
    notified_upto     INTEGER NOT NULL,
    next_notify_at    INTEGER,
    lease_until       INTEGER,
    source            TEXT NOT NULL CHECK (source IN ('user', 'vaccination', 'import')),
    series            TEXT,
    external_uid      TEXT,
    created_by        BLOB REFERENCES users(id) ON DELETE SET NULL,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
);
CREATE INDEX reminders_by_household ON reminders (household_id, due_at);
CREATE INDEX reminders_to_notify ON reminders (next_notify_at) WHERE next_notify_at IS NOT NULL;
CREATE UNIQUE INDEX reminders_by_series ON reminders (pet_id, series) WHERE series IS NOT NULL;
CREATE UNIQUE INDEX reminders_by_external_uid ON reminders (household_id, external_uid) WHERE external_uid IS NOT NULL;

-- One calendar feed per household, behind a token; only its hash is kept.
CREATE TABLE calendar_feeds (
    household_id BLOB PRIMARY KEY REFERENCES households(id) ON DELETE CASCADE,
    token_hash   BLOB NOT NULL UNIQUE,
    created_by   BLOB REFERENCES users(id) ON DELETE SET NULL,
    created_at   INTEGER NOT NULL
);

-- What the owner publishes about a pet behind an unguessable link: its vaccination passport, or
-- its lost-pet page (with whether the last known location may be shown and a message for the
-- finder). Only the link token's hash is kept; ending a share ends the link.
CREATE TABLE pet_shares (
    id            BLOB PRIMARY KEY,
    household_id  BLOB NOT NULL REFERENCES households(id) ON DELETE CASCADE,
    pet_id        BLOB NOT NULL REFERENCES pets(id) ON DELETE CASCADE,
    kind          TEXT NOT NULL CHECK (kind IN ('passport', 'lost')),
    token_hash    BLOB NOT NULL UNIQUE,
    show_location BOOLEAN NOT NULL DEFAULT FALSE,
    message       TEXT,
    created_by    BLOB REFERENCES users(id) ON DELETE SET NULL,
    created_at    INTEGER NOT NULL
);
CREATE UNIQUE INDEX pet_shares_one_per_kind ON pet_shares (pet_id, kind);

-- Finders' reports on a lost pet's page, kept to count them (a page takes a few an hour).
CREATE TABLE found_reports (
    id           BLOB PRIMARY KEY,
    share_id     BLOB NOT NULL REFERENCES pet_shares(id) ON DELETE CASCADE,
    created_at   INTEGER NOT NULL
);
CREATE INDEX found_reports_by_share ON found_reports (share_id, created_at);
