-- Catalog listings' photos (issue 16) are uploaded files too: a fourth purpose,
-- `listing_photo`. A listing names its photo by the file's stable address in `photo_url`, as a
-- pet does. SQLite cannot change a CHECK constraint, so the table is rebuilt (nothing refers to
-- it by a foreign key).
CREATE TABLE files_next (
    id                BLOB PRIMARY KEY,
    household_id      BLOB NOT NULL REFERENCES households(id) ON DELETE CASCADE,
    key               TEXT NOT NULL UNIQUE,
    filename          TEXT NOT NULL,
    content_type      TEXT NOT NULL CHECK (content_type IN ('image/jpeg', 'image/png', 'image/webp', 'application/pdf')),
    purpose           TEXT NOT NULL CHECK (purpose IN ('pet_profile_photo', 'user_profile_photo', 'health_record_attachment', 'listing_photo')),
    status            TEXT NOT NULL CHECK (status IN ('pending', 'confirmed')),
    declared_size     INTEGER,
    size              INTEGER NOT NULL DEFAULT 0,
    stored_bytes      INTEGER NOT NULL DEFAULT 0,
    pet_id            BLOB REFERENCES pets(id) ON DELETE SET NULL,
    health_record_id  BLOB,
    width             INTEGER,
    height            INTEGER,
    thumbnail_width   INTEGER,
    thumbnail_height  INTEGER,
    optimized_key     TEXT,
    thumbnail_key     TEXT,
    sha256            BLOB,
    upload_token_hash BLOB UNIQUE,
    upload_expires_at INTEGER NOT NULL,
    uploaded_at       INTEGER,
    created_at        INTEGER NOT NULL,
    confirmed_at      INTEGER
);
INSERT INTO files_next SELECT * FROM files;
DROP TABLE files;
ALTER TABLE files_next RENAME TO files;
CREATE INDEX files_by_household ON files (household_id, status, created_at);
CREATE INDEX files_by_pet ON files (household_id, pet_id);
CREATE INDEX files_by_record ON files (household_id, health_record_id);
CREATE INDEX files_pending ON files (status, created_at);

-- A listing shows up to six photos, in order: `photo_url` becomes `photos`, a JSON array of
-- addresses (uploaded photos' `/files/{id}` or http(s) addresses).
ALTER TABLE catalog_listings RENAME COLUMN photo_url TO photos;
UPDATE catalog_listings SET photos = CASE WHEN photos IS NULL THEN '[]' ELSE json_array(photos) END;
