-- Trained behaviour models (issue 4): every model `petty train --store` makes, by version (a
-- hash of its text), and which one the analysis uses. Without an active row the analysis uses
-- the model built into the binary.
CREATE TABLE behaviour_models (
    version     TEXT PRIMARY KEY,
    model       TEXT NOT NULL,
    -- What it was trained on, in words (simulated dogs and days, owners' feedback items).
    trained_on  TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    active      BOOLEAN NOT NULL DEFAULT FALSE
);
