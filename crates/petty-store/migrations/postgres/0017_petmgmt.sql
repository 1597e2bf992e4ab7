-- The Pet Management profile (issue 14): what its contract says about a person that Petty's
-- own account does not keep (first and last name, phone, profile photo), and the events an
-- outgoing webhook is for.

-- One row per user who has any of these; the display name stays Petty's.
CREATE TABLE petmgmt_profiles (
    user_id    UUID PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    first_name TEXT NOT NULL,
    last_name  TEXT NOT NULL,
    phone      TEXT,
    photo_url  TEXT,
    updated_at BIGINT NOT NULL
);

-- The events a webhook is for, comma-separated (pet.created,reminder.due,...): a webhook made
-- through the profile. NULL: Petty's alarm webhook, told of every alarm change.
ALTER TABLE webhooks ADD COLUMN events TEXT;
