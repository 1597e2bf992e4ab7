-- Billing (issue 14), used only when Stripe is configured: each household's subscription and
-- the Stripe events already applied. A household without a row never subscribed (free).

-- One row per household that has been to Stripe. `version` grows with every write, so a
-- writer that read an older row changes nothing. `last_event_at` is the `created` time (unix
-- seconds) of the newest event applied to `subscription_id`: an older one is ignored.
CREATE TABLE billing_subscriptions (
    household_id         BLOB PRIMARY KEY REFERENCES households(id) ON DELETE CASCADE,
    customer_id          TEXT UNIQUE,
    subscription_id      TEXT UNIQUE,
    tier                 TEXT NOT NULL CHECK (tier IN ('free', 'premium', 'enterprise')),
    status               TEXT NOT NULL,
    period               TEXT CHECK (period IN ('monthly', 'yearly')),
    current_period_start INTEGER,
    current_period_end   INTEGER,
    cancel_at_period_end BOOLEAN NOT NULL DEFAULT FALSE,
    last_event_at        INTEGER,
    version              INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL
);

-- Every Stripe event id applied (or acknowledged and ignored): a replay is recognised here.
CREATE TABLE billing_events (
    event_id     TEXT PRIMARY KEY,
    household_id BLOB REFERENCES households(id) ON DELETE SET NULL,
    type         TEXT NOT NULL,
    received_at  INTEGER NOT NULL
);
