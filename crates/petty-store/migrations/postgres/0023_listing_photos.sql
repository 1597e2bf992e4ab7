-- Catalog listings' photos (issue 16) are uploaded files too: a fourth purpose,
-- `listing_photo`. A listing names its photo by the file's stable address in `photo_url`, as a
-- pet does.
ALTER TABLE files DROP CONSTRAINT files_purpose_check;
ALTER TABLE files ADD CONSTRAINT files_purpose_check
    CHECK (purpose IN ('pet_profile_photo', 'user_profile_photo', 'health_record_attachment', 'listing_photo'));

-- A listing shows up to six photos, in order: `photo_url` becomes `photos`, a JSON array of
-- addresses (uploaded photos' `/files/{id}` or http(s) addresses).
ALTER TABLE catalog_listings RENAME COLUMN photo_url TO photos;
UPDATE catalog_listings SET photos = CASE WHEN photos IS NULL THEN '[]' ELSE json_build_array(photos)::text END;
