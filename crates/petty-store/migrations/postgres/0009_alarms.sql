-- Alarms and notifications (issue 5): each household's rules, the alarms they raise with their
-- audit trail, the people to tell and how, and the outbox every notification goes through.

CREATE TABLE alarm_rules (
    id           UUID PRIMARY KEY,
    household_id UUID NOT NULL REFERENCES households(id) ON DELETE CASCADE,
    -- A built-in rule's name (co_high, ...); NULL for a household's own rules.
    rule_key     TEXT,
    name         TEXT NOT NULL,
    device_kind  TEXT NOT NULL,
    kind         TEXT NOT NULL,
    metric       TEXT,
    value        DOUBLE PRECISION NOT NULL,
    clear_value  DOUBLE PRECISION NOT NULL,
    for_secs     BIGINT NOT NULL,
    clear_secs   BIGINT NOT NULL,
    severity     TEXT NOT NULL,
    enabled      BOOLEAN NOT NULL,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);
CREATE UNIQUE INDEX alarm_rules_by_key ON alarm_rules (household_id, rule_key);

CREATE TABLE alarms (
    id              UUID PRIMARY KEY,
    household_id    UUID NOT NULL REFERENCES households(id) ON DELETE CASCADE,
    rule_id         UUID REFERENCES alarm_rules(id) ON DELETE SET NULL,
    -- What raised it: "device:<uuid>" or "pet:<uuid>", and what kind of alarm it is there.
    source          TEXT NOT NULL,
    alarm_type      TEXT NOT NULL,
    device_id       UUID,
    pet_id          UUID,
    severity        TEXT NOT NULL,
    state           TEXT NOT NULL,
    title           TEXT NOT NULL,
    message         TEXT NOT NULL,
    value           DOUBLE PRECISION,
    -- The readings that raised it: [[ts_ms, value], ...].
    evidence        TEXT NOT NULL,
    occurrences     BIGINT NOT NULL,
    first_at        BIGINT NOT NULL,
    last_at         BIGINT NOT NULL,
    assignee        UUID,
    acknowledged_at BIGINT,
    acknowledged_by TEXT,
    cleared_at      BIGINT,
    cleared_by      TEXT
);
-- Exactly one open alarm per source and type: concurrent raises become occurrences.
CREATE UNIQUE INDEX alarms_one_open ON alarms (household_id, source, alarm_type) WHERE state <> 'cleared';
CREATE INDEX alarms_by_household ON alarms (household_id, first_at);
CREATE INDEX alarms_open ON alarms (state, first_at);

CREATE TABLE alarm_events (
    id           UUID PRIMARY KEY,
    household_id UUID NOT NULL,
    alarm_id     UUID NOT NULL REFERENCES alarms(id) ON DELETE CASCADE,
    at           BIGINT NOT NULL,
    -- raised, acknowledged, cleared, comment, assigned, notified, failed
    kind         TEXT NOT NULL,
    actor        TEXT NOT NULL,
    body         TEXT NOT NULL
);
CREATE INDEX alarm_events_by_alarm ON alarm_events (alarm_id, at);

-- The people an alarm reaches, in escalation order: members first, then secondary and emergency
-- contacts. A member's row is linked to the user; the Car-Bon profile's users are rows too.
CREATE TABLE contacts (
    id             UUID PRIMARY KEY,
    household_id   UUID NOT NULL REFERENCES households(id) ON DELETE CASCADE,
    user_id        UUID REFERENCES users(id) ON DELETE CASCADE,
    external_id    TEXT,
    name           TEXT NOT NULL,
    phone          TEXT,
    email          TEXT,
    role           TEXT NOT NULL,
    position       BIGINT NOT NULL,
    device_serial  TEXT,
    email_min      TEXT,
    sms_min        TEXT,
    voice_min      TEXT,
    quiet_start    BIGINT,
    quiet_end      BIGINT,
    utc_offset_min BIGINT NOT NULL,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL
);
CREATE INDEX contacts_by_household ON contacts (household_id, position);
CREATE UNIQUE INDEX contacts_by_external_id ON contacts (external_id);
CREATE UNIQUE INDEX contacts_by_user ON contacts (household_id, user_id);

CREATE TABLE escalation_policies (
    household_id            UUID PRIMARY KEY REFERENCES households(id) ON DELETE CASCADE,
    min_severity            TEXT NOT NULL,
    message_after_secs      BIGINT NOT NULL,
    call_after_secs         BIGINT NOT NULL,
    next_contact_after_secs BIGINT NOT NULL,
    repeat_after_secs       BIGINT NOT NULL,
    max_rounds              BIGINT NOT NULL,
    updated_at              BIGINT NOT NULL
);

-- Signed webhooks: the secret signs each delivery (HMAC-SHA256), so it is kept as given.
CREATE TABLE webhooks (
    id           UUID PRIMARY KEY,
    household_id UUID NOT NULL REFERENCES households(id) ON DELETE CASCADE,
    url          TEXT NOT NULL,
    secret       TEXT NOT NULL,
    min_severity TEXT NOT NULL,
    created_at   BIGINT NOT NULL
);
CREATE INDEX webhooks_by_household ON webhooks (household_id);

-- Every notification is a row before it is sent; the key makes enqueueing idempotent.
CREATE TABLE outbox (
    id              UUID PRIMARY KEY,
    household_id    UUID NOT NULL REFERENCES households(id) ON DELETE CASCADE,
    idem_key        TEXT NOT NULL UNIQUE,
    alarm_id        UUID REFERENCES alarms(id) ON DELETE CASCADE,
    contact_id      UUID,
    channel         TEXT NOT NULL,
    recipient       TEXT NOT NULL,
    subject         TEXT NOT NULL,
    body            TEXT NOT NULL,
    -- Voice: the TwiML; webhooks: the JSON body; otherwise empty.
    payload         TEXT NOT NULL,
    -- pending, sent, failed (gave up), cancelled (acknowledged before it went)
    status          TEXT NOT NULL,
    attempts        BIGINT NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    lease_until     BIGINT,
    last_error      TEXT,
    provider_ref    TEXT,
    created_at      BIGINT NOT NULL,
    sent_at         BIGINT
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
CREATE INDEX outbox_by_alarm ON outbox (alarm_id);
