-- Files people upload (issue 14): pets' photos and health records' attachments.
--
-- A row is made with the upload URL (`pending`) and becomes `confirmed` once its bytes passed
-- the checks (magic bytes, the virus scanner) and an image's optimized copy and thumbnail are
-- stored. The bytes live in the object store: `key` is where the upload arrived
-- (uploads/<id>/<filename>), `optimized_key` and `thumbnail_key` where an image's served copy
-- and thumbnail are (a PDF is served from `key`). `size` is the served copy's bytes,
-- `stored_bytes` all the bytes kept for the file (the household's storage use).
--
-- Petty's own one-time upload URL is the SHA-256 of its token (`upload_token_hash`), good until
-- `upload_expires_at` and for one upload (`uploaded_at`). `health_record_id` names a care record
-- without a foreign key (the records are another part's); a pet's deletion leaves its files to
-- the household (`delete_files_of_pet` removes them first).
CREATE TABLE files (
    id                BLOB PRIMARY KEY,
    household_id      BLOB NOT NULL REFERENCES households(id) ON DELETE CASCADE,
    key               TEXT NOT NULL UNIQUE,
    filename          TEXT NOT NULL,
    content_type      TEXT NOT NULL CHECK (content_type IN ('image/jpeg', 'image/png', 'image/webp', 'application/pdf')),
    purpose           TEXT NOT NULL CHECK (purpose IN ('pet_profile_photo', 'user_profile_photo', 'health_record_attachment')),
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
CREATE INDEX files_by_household ON files (household_id, status, created_at);
CREATE INDEX files_by_pet ON files (household_id, pet_id);
CREATE INDEX files_by_record ON files (household_id, health_record_id);
CREATE INDEX files_pending ON files (status, created_at);
