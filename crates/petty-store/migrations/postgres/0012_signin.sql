-- Sign-in done as the trusted systems do it (issue 13).
--
-- Failed sign-ins are kept per source: `ip` (a client address; an IPv6 client by its /64),
-- `account` (an email's untrusted clients, whether or not such an account exists) and
-- `device` (one trusted-device token, by its id). The throttles count them within their
-- windows and back off exponentially from the latest; the hard lockout's `login_failures`
-- goes.
CREATE TABLE signin_failures (
    scope TEXT NOT NULL CHECK (scope IN ('ip', 'account', 'device')),
    key   TEXT NOT NULL,
    at    BIGINT NOT NULL
);
CREATE INDEX signin_failures_by_key ON signin_failures (scope, key, at);
CREATE INDEX signin_failures_by_time ON signin_failures (at);
DROP TABLE login_failures;

-- When the account proved it receives mail at its address; NULL until then. Accounts made
-- before verification existed count as verified.
ALTER TABLE users ADD COLUMN email_verified_at BIGINT;
UPDATE users SET email_verified_at = created_at;

-- Single-use, expiring tokens that arrive by email: a password reset or an address check.
-- Only the SHA-256 of each is kept; `email` is the address it was sent to.
CREATE TABLE account_tokens (
    token_hash BYTEA PRIMARY KEY,
    purpose    TEXT NOT NULL CHECK (purpose IN ('password_reset', 'verify_email')),
    user_id    UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    email      TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT
);
CREATE INDEX account_tokens_by_user ON account_tokens (user_id, purpose);

-- Mail about an account (a reset link, a verification link, "someone tried to register with
-- your address"), queued so that an SMTP outage delays it and loses nothing. A row holds no
-- secret: a link's token is made when the mail is sent, and only its hash is kept.
CREATE TABLE account_mail (
    id              UUID PRIMARY KEY,
    kind            TEXT NOT NULL CHECK (kind IN ('password_reset', 'verify_email', 'registration_attempt')),
    recipient       TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed', 'dropped')),
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    lease_until     BIGINT,
    last_error      TEXT,
    created_at      BIGINT NOT NULL,
    sent_at         BIGINT
);
CREATE INDEX account_mail_due ON account_mail (status, next_attempt_at);
CREATE INDEX account_mail_by_recipient ON account_mail (recipient, created_at);
