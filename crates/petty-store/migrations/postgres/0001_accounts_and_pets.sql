-- Households, people, memberships, credentials and pets (PostgreSQL).
-- Ids are UUIDv7 in the native UUID type; times are Unix epoch milliseconds (UTC).

CREATE TABLE households (
    id          UUID PRIMARY KEY,
    name        TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);

CREATE TABLE users (
    id                  UUID PRIMARY KEY,
    email               TEXT NOT NULL UNIQUE,
    display_name        TEXT NOT NULL,
    password_hash       TEXT NOT NULL,
    created_at          BIGINT NOT NULL,
    password_changed_at BIGINT NOT NULL
);

CREATE TABLE memberships (
    household_id UUID NOT NULL REFERENCES households(id) ON DELETE CASCADE,
    user_id      UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role         TEXT NOT NULL CHECK (role IN ('owner', 'member', 'sitter', 'vet')),
    ends_at      BIGINT,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (household_id, user_id)
);
CREATE INDEX memberships_by_user ON memberships (user_id);

CREATE TABLE invitations (
    id           UUID PRIMARY KEY,
    household_id UUID NOT NULL REFERENCES households(id) ON DELETE CASCADE,
    token_hash   BYTEA NOT NULL UNIQUE,
    role         TEXT NOT NULL CHECK (role IN ('owner', 'member', 'sitter', 'vet')),
    ends_at      BIGINT,
    email        TEXT,
    created_by   UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    accepted_at  BIGINT,
    accepted_by  UUID REFERENCES users(id) ON DELETE SET NULL,
    revoked_at   BIGINT
);
CREATE INDEX invitations_by_household ON invitations (household_id, created_at);

CREATE TABLE refresh_tokens (
    id           UUID PRIMARY KEY,
    family_id    UUID NOT NULL,
    user_id      UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    household_id UUID NOT NULL REFERENCES households(id) ON DELETE CASCADE,
    token_hash   BYTEA NOT NULL UNIQUE,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    rotated_at   BIGINT,
    revoked_at   BIGINT
);
CREATE INDEX refresh_tokens_by_family ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_by_user ON refresh_tokens (user_id);

CREATE TABLE login_failures (
    email TEXT NOT NULL,
    at    BIGINT NOT NULL
);
CREATE INDEX login_failures_by_email ON login_failures (email, at);

CREATE TABLE api_keys (
    id           UUID PRIMARY KEY,
    household_id UUID NOT NULL REFERENCES households(id) ON DELETE CASCADE,
    created_by   UUID REFERENCES users(id) ON DELETE SET NULL,
    name         TEXT NOT NULL,
    prefix       TEXT NOT NULL,
    key_hash     BYTEA NOT NULL UNIQUE,
    scope        TEXT NOT NULL CHECK (scope IN ('read', 'write', 'admin')),
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at   BIGINT
);
CREATE INDEX api_keys_by_household ON api_keys (household_id, created_at);

CREATE TABLE web_sessions (
    id           UUID PRIMARY KEY,
    token_hash   BYTEA NOT NULL UNIQUE,
    user_id      UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    household_id UUID NOT NULL REFERENCES households(id) ON DELETE CASCADE,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    revoked_at   BIGINT
);
CREATE INDEX web_sessions_by_user ON web_sessions (user_id);

CREATE TABLE pets (
    id            UUID PRIMARY KEY,
    household_id  UUID NOT NULL REFERENCES households(id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    -- The name lower-cased by Petty (Unicode-aware), for search and ordering on both engines.
    name_key      TEXT NOT NULL,
    species       TEXT NOT NULL,
    breed         TEXT,
    date_of_birth TEXT,
    sex           TEXT NOT NULL,
    weight_kg     DOUBLE PRECISION,
    microchip_id  TEXT,
    photo_url     TEXT,
    notes         TEXT,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
CREATE INDEX pets_by_household ON pets (household_id, name_key);
