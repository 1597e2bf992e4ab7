-- The AURORA_LIFE profile (compat/aurora.md): what its contract says about a person that Petty's
-- own account does not keep: a unique username to sign in with, a full name, and the free-form
-- profile (goals, values, preferences, life state), kept as the JSON text it was sent as.

-- One row per user who registered through the profile or changed these fields there.
CREATE TABLE aurora_profiles (
    user_id      UUID PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    username     TEXT NOT NULL,
    -- The username lower-cased: usernames are unique whatever their case.
    username_key TEXT NOT NULL UNIQUE,
    full_name    TEXT,
    profile_data TEXT NOT NULL,
    updated_at   BIGINT,
    last_active  BIGINT
);
