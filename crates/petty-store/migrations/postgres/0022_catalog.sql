-- The pet catalog (issue 16): listings a household offers (a shelter, a breeder, a store, a
-- family rehoming a pet). Each has a number in its household's catalog, from 1 and never reused
-- (the PetStore profile's id); `catalogs` keeps the next number, a version that moves with every
-- change (searches are answered from a snapshot of that version), and whether the catalog is
-- public. `search` holds name, breed and description as words (the `simple` configuration: no
-- stemming, as SQLite's FTS5 table beside it).
CREATE TABLE catalog_listings (
    id                 UUID PRIMARY KEY,
    household_id       UUID NOT NULL REFERENCES households(id) ON DELETE CASCADE,
    number             BIGINT NOT NULL,
    name               TEXT NOT NULL,
    species            TEXT NOT NULL,
    breed              TEXT NOT NULL,
    age_months         BIGINT,
    size               TEXT,
    sex                TEXT,
    color              TEXT,
    coat               TEXT,
    good_with_children BOOLEAN,
    good_with_dogs     BOOLEAN,
    good_with_cats     BOOLEAN,
    house_trained      BOOLEAN,
    special_needs      BOOLEAN,
    weight_kg          DOUBLE PRECISION,
    price_cents        BIGINT,
    currency           TEXT NOT NULL,
    status             TEXT NOT NULL,
    location           TEXT,
    photo_url          TEXT,
    description        TEXT,
    created_by         UUID REFERENCES users(id) ON DELETE SET NULL,
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL,
    search             TSVECTOR GENERATED ALWAYS AS (
        to_tsvector('simple'::regconfig, name || ' ' || breed || ' ' || coalesce(description, ''))
    ) STORED,
    UNIQUE (household_id, number)
);
CREATE INDEX catalog_listings_search ON catalog_listings USING GIN (search);

CREATE TABLE catalogs (
    household_id UUID PRIMARY KEY REFERENCES households(id) ON DELETE CASCADE,
    next_number  BIGINT NOT NULL,
    version      BIGINT NOT NULL,
    public       BOOLEAN NOT NULL DEFAULT FALSE,
    title        TEXT
);
