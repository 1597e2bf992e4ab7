-- The pets a household shares with a vet (issue 14): a vet sees the care records of these pets
-- and nothing else of the household. Gone with the membership or the pet.
CREATE TABLE vet_shares (
    household_id BLOB NOT NULL,
    user_id      BLOB NOT NULL,
    pet_id       BLOB NOT NULL REFERENCES pets(id) ON DELETE CASCADE,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (household_id, user_id, pet_id),
    FOREIGN KEY (household_id, user_id) REFERENCES memberships(household_id, user_id) ON DELETE CASCADE
);
CREATE INDEX vet_shares_by_pet ON vet_shares (pet_id);
