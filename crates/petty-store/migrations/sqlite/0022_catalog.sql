-- The pet catalog (issue 16): listings a household offers (a shelter, a breeder, a store, a
-- family rehoming a pet). Each has a number in its household's catalog, from 1 and never reused
-- (the PetStore profile's id); `catalogs` keeps the next number, a version that moves with every
-- change (searches are answered from a snapshot of that version), and whether the catalog is
-- public. `seq` only ties a listing to its row in the full-text index: a table whose key is not
-- an integer may have its rowids renumbered by VACUUM.
CREATE TABLE catalog_listings (
    seq                INTEGER PRIMARY KEY,
    id                 BLOB NOT NULL UNIQUE,
    household_id       BLOB NOT NULL REFERENCES households(id) ON DELETE CASCADE,
    number             INTEGER NOT NULL,
    name               TEXT NOT NULL,
    species            TEXT NOT NULL,
    breed              TEXT NOT NULL,
    age_months         INTEGER,
    size               TEXT,
    sex                TEXT,
    color              TEXT,
    coat               TEXT,
    good_with_children INTEGER,
    good_with_dogs     INTEGER,
    good_with_cats     INTEGER,
    house_trained      INTEGER,
    special_needs      INTEGER,
    weight_kg          REAL,
    price_cents        INTEGER,
    currency           TEXT NOT NULL,
    status             TEXT NOT NULL,
    location           TEXT,
    photo_url          TEXT,
    description        TEXT,
    created_by         BLOB REFERENCES users(id) ON DELETE SET NULL,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    UNIQUE (household_id, number)
);

CREATE TABLE catalogs (
    household_id BLOB PRIMARY KEY REFERENCES households(id) ON DELETE CASCADE,
    next_number  INTEGER NOT NULL,
    version      INTEGER NOT NULL,
    public       INTEGER NOT NULL DEFAULT 0,
    title        TEXT
);

-- Name, breed and description, as words (no stemming, accents kept: as PostgreSQL's `simple`).
CREATE VIRTUAL TABLE catalog_text USING fts5(
    name, breed, description,
    content = 'catalog_listings', content_rowid = 'seq',
    tokenize = 'unicode61 remove_diacritics 0'
);
CREATE TRIGGER catalog_text_insert AFTER INSERT ON catalog_listings BEGIN
    INSERT INTO catalog_text (rowid, name, breed, description) VALUES (new.seq, new.name, new.breed, new.description);
END;
CREATE TRIGGER catalog_text_delete AFTER DELETE ON catalog_listings BEGIN
    INSERT INTO catalog_text (catalog_text, rowid, name, breed, description)
        VALUES ('delete', old.seq, old.name, old.breed, old.description);
END;
CREATE TRIGGER catalog_text_update AFTER UPDATE OF name, breed, description ON catalog_listings BEGIN
    INSERT INTO catalog_text (catalog_text, rowid, name, breed, description)
        VALUES ('delete', old.seq, old.name, old.breed, old.description);
    INSERT INTO catalog_text (rowid, name, breed, description) VALUES (new.seq, new.name, new.breed, new.description);
END;
