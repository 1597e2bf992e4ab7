-- Accounts that protect health data (issue 14): TOTP MFA with backup codes, sign-ins people
-- can see and revoke, a history of sign-in attempts, and the household's audit log.

-- MFA. Secrets are sealed with a key derived from the server secret (`petty_app::mfa`), so
-- a dump of the database alone does not give them away. `mfa_pending_secret` holds the secret
-- between setup and its first verified code; `mfa_last_step` is the newest 30-second step a
-- code was accepted for, so each code is accepted once.
ALTER TABLE users ADD COLUMN mfa_secret BYTEA;
ALTER TABLE users ADD COLUMN mfa_pending_secret BYTEA;
ALTER TABLE users ADD COLUMN mfa_enabled_at BIGINT;
ALTER TABLE users ADD COLUMN mfa_last_step BIGINT NOT NULL DEFAULT 0;

-- Single-use backup codes, kept only as keyed hashes.
CREATE TABLE mfa_backup_codes (
    user_id    UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    code_hash  BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    used_at    BIGINT,
    PRIMARY KEY (user_id, code_hash)
);

-- Where each sign-in came from, for the list of sessions and devices.
ALTER TABLE refresh_tokens ADD COLUMN address TEXT;
ALTER TABLE refresh_tokens ADD COLUMN user_agent TEXT;
ALTER TABLE web_sessions ADD COLUMN address TEXT;
ALTER TABLE web_sessions ADD COLUMN user_agent TEXT;
ALTER TABLE web_sessions ADD COLUMN last_used_at BIGINT;
-- When this session last proved a second factor (sign-in or a step-up check).
ALTER TABLE web_sessions ADD COLUMN mfa_at BIGINT;

-- Trusted-device tokens handed out at sign-in (the token itself is signed, not stored; its
-- random id is): listed with the sessions, and refused once revoked.
CREATE TABLE trusted_devices (
    id           UUID PRIMARY KEY,
    user_id      UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT,
    address      TEXT,
    user_agent   TEXT,
    revoked_at   BIGINT
);
CREATE INDEX trusted_devices_by_user ON trusted_devices (user_id);

-- Every attempt to sign in to an account: when, from where, with what client, and how it ended
-- (`success` or the reason it failed). Attempts for addresses without an account are not kept.
CREATE TABLE logins (
    id         UUID PRIMARY KEY,
    user_id    UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    at         BIGINT NOT NULL,
    address    TEXT,
    user_agent TEXT,
    outcome    TEXT NOT NULL
);
CREATE INDEX logins_by_user ON logins (user_id, at);

-- Who changed which record of a household. `actor_kind` is user, api_key, system or deleted
-- (an account deleted since: `actor_id` is then a random tombstone and `address` is gone).
-- `detail` is a short JSON object (the names of the fields that changed), never a secret.
CREATE TABLE audit_log (
    id           UUID PRIMARY KEY,
    household_id UUID NOT NULL REFERENCES households(id) ON DELETE CASCADE,
    actor_kind   TEXT NOT NULL CHECK (actor_kind IN ('user', 'api_key', 'system', 'deleted')),
    actor_id     UUID,
    action       TEXT NOT NULL,
    entity_type  TEXT NOT NULL,
    entity_id    TEXT NOT NULL,
    at           BIGINT NOT NULL,
    address      TEXT,
    detail       TEXT NOT NULL
);
CREATE INDEX audit_log_by_time ON audit_log (household_id, at);
CREATE INDEX audit_log_by_entity ON audit_log (household_id, entity_type, entity_id, at);
CREATE INDEX audit_log_by_actor ON audit_log (actor_id);
