-- Households, people, memberships, credentials and pets (SQLite).
-- Ids are UUIDv7 stored as 16-byte BLOBs; times are Unix epoch milliseconds (UTC).

CREATE TABLE households (
    id          BLOB PRIMARY KEY,
    name        TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);

CREATE TABLE users (
    id                  BLOB PRIMARY KEY,
    email               TEXT NOT NULL UNIQUE,
    display_name        TEXT NOT NULL,
    password_hash       TEXT NOT NULL,
    created_at          INTEGER NOT NULL,
    password_changed_at INTEGER NOT NULL
);

CREATE TABLE memberships (
    household_id BLOB NOT NULL REFERENCES households(id) ON DELETE CASCADE,
    user_id      BLOB NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role         TEXT NOT NULL CHECK (role IN ('owner', 'member', 'sitter', 'vet')),
    ends_at      INTEGER,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (household_id, user_id)
);
CREATE INDEX memberships_by_user ON memberships (user_id);

CREATE TABLE invitations (
    id           BLOB PRIMARY KEY,
    household_id BLOB NOT NULL REFERENCES households(id) ON DELETE CASCADE,
    token_hash   BLOB NOT NULL UNIQUE,
    role         TEXT NOT NULL CHECK (role IN ('owner', 'member', 'sitter', 'vet')),
    ends_at      INTEGER,
    email        TEXT,
    created_by   BLOB NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    accepted_at  INTEGER,
    accepted_by  BLOB REFERENCES users(id) ON DELETE SET NULL,
    revoked_at   INTEGER
);
CREATE INDEX invitations_by_household ON invitations (household_id, created_at);

CREATE TABLE refresh_tokens (
    id           BLOB PRIMARY KEY,
    family_id    BLOB NOT NULL,
    user_id      BLOB NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    household_id BLOB NOT NULL REFERENCES households(id) ON DELETE CASCADE,
    token_hash   BLOB NOT NULL UNIQUE,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    rotated_at   INTEGER,
    revoked_at   INTEGER
);
CREATE INDEX refresh_tokens_by_family ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_by_user ON refresh_tokens (user_id);

CREATE TABLE login_failures (
    email TEXT NOT NULL,
    at    INTEGER NOT NULL
);
CREATE INDEX login_failures_by_email ON login_failures (email, at);

CREATE TABLE api_keys (
    id           BLOB PRIMARY KEY,
    household_id BLOB NOT NULL REFERENCES households(id) ON DELETE CASCADE,
    created_by   BLOB REFERENCES users(id) ON DELETE SET NULL,
    name         TEXT NOT NULL,
    prefix       TEXT NOT NULL,
    key_hash     BLOB NOT NULL UNIQUE,
    scope        TEXT NOT NULL CHECK (scope IN ('read', 'write', 'admin')),
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER,
    revoked_at   INTEGER
);
CREATE INDEX api_keys_by_household ON api_keys (household_id, created_at);

CREATE TABLE web_sessions (
    id           BLOB PRIMARY KEY,
    token_hash   BLOB NOT NULL UNIQUE,
    user_id      BLOB NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    household_id BLOB NOT NULL REFERENCES households(id) ON DELETE CASCADE,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    revoked_at   INTEGER
);
CREATE INDEX web_sessions_by_user ON web_sessions (user_id);

CREATE TABLE pets (
    id            BLOB PRIMARY KEY,
    household_id  BLOB NOT NULL REFERENCES households(id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    -- The name lower-cased by Petty (Unicode-aware), for search and ordering on both engines.
    name_key      TEXT NOT NULL,
    species       TEXT NOT NULL,
    breed         TEXT,
    date_of_birth TEXT,
    sex           TEXT NOT NULL,
    weight_kg     REAL,
    microchip_id  TEXT,
    photo_url     TEXT,
    notes         TEXT,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
CREATE INDEX pets_by_household ON pets (household_id, name_key);
