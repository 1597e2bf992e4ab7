//! What signing in and the mail about an account leave behind: failed sign-ins per source (a
//! client address, an account's untrusted clients, one device token) for the throttles; the
//! single-use tokens that arrive by email (a password reset, an address check), kept only as
//! hashes; and the queue of account mail, which holds no secret (a link's token is made when
//! its mail is sent).
//!
//! (Spending a reset token sets a password, so that is `accounts.rs`'s `reset_password`.)

use petty_core::accounts::Email;
use petty_core::ids::UserId;
use sqlx::FromRow;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{BeginWrite, Result, Store, StoreError, User, from_ms, from_ms_opt, on_pool, to_ms};

/// Whose failed sign-ins a row counts against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FailureScope {
    /// A client address (the key is the address, an IPv6 one as its /64).
    Address,
    /// The untrusted clients of an email (the key is the normalised email; it need not be an
    /// account's).
    Account,
    /// One trusted-device token (the key is its id).
    TrustedDevice,
}

impl FailureScope {
    pub fn as_str(self) -> &'static str {
        match self {
            FailureScope::Address => "ip",
            FailureScope::Account => "account",
            FailureScope::TrustedDevice => "device",
        }
    }
}

/// Failed sign-ins of one source within a window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Failures {
    pub count: u32,
    pub latest: Option<OffsetDateTime>,
}

/// What a token that arrives by email is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenPurpose {
    PasswordReset,
    VerifyEmail,
}

impl TokenPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenPurpose::PasswordReset => "password_reset",
            TokenPurpose::VerifyEmail => "verify_email",
        }
    }
}

/// Which mail about an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AccountMailKind {
    /// A link that sets a new password.
    PasswordReset,
    /// A link that proves the account receives mail at its address.
    VerifyEmail,
    /// "Someone tried to register with your address": the answer to a taken email.
    RegistrationAttempt,
}

impl AccountMailKind {
    pub const ALL: [AccountMailKind; 3] =
        [AccountMailKind::PasswordReset, AccountMailKind::VerifyEmail, AccountMailKind::RegistrationAttempt];

    pub fn as_str(self) -> &'static str {
        match self {
            AccountMailKind::PasswordReset => "password_reset",
            AccountMailKind::VerifyEmail => "verify_email",
            AccountMailKind::RegistrationAttempt => "registration_attempt",
        }
    }
}

/// How a queued account mail ended (or that it has not yet).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AccountMailStatus {
    Pending,
    Sent,
    /// Given up after its attempts, or refused for good.
    Failed,
    /// Not sent, on purpose (no account at that address any more, or already verified).
    Dropped,
}

impl AccountMailStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AccountMailStatus::Pending => "pending",
            AccountMailStatus::Sent => "sent",
            AccountMailStatus::Failed => "failed",
            AccountMailStatus::Dropped => "dropped",
        }
    }
}

/// One queued account mail.
#[derive(Debug, Clone, PartialEq)]
pub struct AccountMail {
    pub id: Uuid,
    pub kind: AccountMailKind,
    /// The normalised address it goes to.
    pub recipient: String,
    pub status: AccountMailStatus,
    /// Attempts so far, this one included once claimed.
    pub attempts: i64,
    pub next_attempt_at: OffsetDateTime,
    pub last_error: Option<String>,
    pub created_at: OffsetDateTime,
    pub sent_at: Option<OffsetDateTime>,
}

#[derive(FromRow)]
struct AccountMailRow {
    id: Uuid,
    kind: String,
    recipient: String,
    status: String,
    attempts: i64,
    next_attempt_at: i64,
    last_error: Option<String>,
    created_at: i64,
    sent_at: Option<i64>,
}

const MAIL_COLUMNS: &str = "id, kind, recipient, status, attempts, next_attempt_at, last_error, created_at, sent_at";

impl AccountMailRow {
    fn into_mail(self) -> Result<AccountMail> {
        let kind = AccountMailKind::ALL
            .into_iter()
            .find(|k| k.as_str() == self.kind)
            .ok_or_else(|| StoreError::Corrupt(format!("account mail kind {:?}", self.kind)))?;
        let status = [
            AccountMailStatus::Pending,
            AccountMailStatus::Sent,
            AccountMailStatus::Failed,
            AccountMailStatus::Dropped,
        ]
        .into_iter()
        .find(|s| s.as_str() == self.status)
        .ok_or_else(|| StoreError::Corrupt(format!("account mail status {:?}", self.status)))?;
        Ok(AccountMail {
            id: self.id,
            kind,
            recipient: self.recipient,
            status,
            attempts: self.attempts,
            next_attempt_at: from_ms(self.next_attempt_at)?,
            last_error: self.last_error,
            created_at: from_ms(self.created_at)?,
            sent_at: from_ms_opt(self.sent_at)?,
        })
    }
}

/// Finished account mail is kept this long (for support questions), then deleted.
const MAIL_KEPT_MS: i64 = 30 * 24 * 3600 * 1000;

impl Store {
    // ---- failed sign-ins ----

    /// How many sign-ins of this source failed after `since`, and when the latest did.
    pub async fn signin_failures(&self, scope: FailureScope, key: &str, since: OffsetDateTime) -> Result<Failures> {
        let (count, latest): (i64, Option<i64>) = on_pool!(read, self, |pool| {
            sqlx::query_as("SELECT COUNT(*), MAX(at) FROM signin_failures WHERE scope = $1 AND key = $2 AND at > $3")
                .bind(scope.as_str())
                .bind(key)
                .bind(to_ms(since))
                .fetch_one(pool)
                .await?
        });
        Ok(Failures { count: u32::try_from(count).unwrap_or(u32::MAX), latest: from_ms_opt(latest)? })
    }

    /// Records one failed sign-in at `at` against each source, and forgets every failure older
    /// than `forget_before` (no throttle looks back that far).
    pub async fn record_signin_failure(
        &self,
        sources: &[(FailureScope, &str)],
        at: OffsetDateTime,
        forget_before: OffsetDateTime,
    ) -> Result<()> {
        on_pool!(write, self, |pool| {
            let mut tx = pool.begin_write().await?;
            sqlx::query("DELETE FROM signin_failures WHERE at < $1")
                .bind(to_ms(forget_before))
                .execute(&mut *tx)
                .await?;
            for (scope, key) in sources {
                sqlx::query("INSERT INTO signin_failures (scope, key, at) VALUES ($1, $2, $3)")
                    .bind(scope.as_str())
                    .bind(*key)
                    .bind(to_ms(at))
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// Forgets the failed sign-ins of one source (after it signed in with the right password).
    pub async fn clear_signin_failures(&self, scope: FailureScope, key: &str) -> Result<()> {
        on_pool!(write, self, |pool| {
            sqlx::query("DELETE FROM signin_failures WHERE scope = $1 AND key = $2")
                .bind(scope.as_str())
                .bind(key)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    // ---- tokens that arrive by email ----

    /// Keeps the hash of a token about to be mailed to `email`, good until `expires_at`.
    pub async fn insert_account_token(
        &self,
        purpose: TokenPurpose,
        token_hash: &[u8],
        user_id: UserId,
        email: &str,
        expires_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<()> {
        on_pool!(write, self, |pool| {
            let mut tx = pool.begin_write().await?;
            // Tokens a day past their expiry are of no more use, not even to explain a refusal.
            sqlx::query("DELETE FROM account_tokens WHERE expires_at < $1")
                .bind(to_ms(now) - 24 * 3600 * 1000)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO account_tokens (token_hash, purpose, user_id, email, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(token_hash)
            .bind(purpose.as_str())
            .bind(user_id.0)
            .bind(email)
            .bind(to_ms(now))
            .bind(to_ms(expires_at))
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// Whose token (the hash of one) this is and the address it was sent to, while it may
    /// still be used; it is not spent.
    pub async fn find_account_token(
        &self,
        purpose: TokenPurpose,
        token_hash: &[u8],
        now: OffsetDateTime,
    ) -> Result<Option<(UserId, String)>> {
        let row: Option<(Uuid, String)> = on_pool!(read, self, |pool| {
            sqlx::query_as(
                "SELECT user_id, email FROM account_tokens \
                 WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > $3",
            )
            .bind(token_hash)
            .bind(purpose.as_str())
            .bind(to_ms(now))
            .fetch_optional(pool)
            .await?
        });
        Ok(row.map(|(user_id, email)| (UserId(user_id), email)))
    }

    /// Spends an address-verification token (the hash of one): the user's address counts as
    /// verified when it is still the one the token was sent to. Every other verification token
    /// of the user is spent too, and the failed sign-ins of the account's untrusted clients are
    /// forgotten (under `required` verification, signing in unverified counts as a failure).
    /// `None` when the token is unknown, spent or expired.
    pub async fn verify_email(&self, token_hash: &[u8], now: OffsetDateTime) -> Result<Option<User>> {
        let at = to_ms(now);
        let user_id = on_pool!(write, self, |pool| {
            let mut tx = pool.begin_write().await?;
            let spent: Option<(Uuid, String)> = sqlx::query_as(
                "UPDATE account_tokens SET used_at = $2 \
                 WHERE token_hash = $1 AND purpose = 'verify_email' AND used_at IS NULL AND expires_at > $2 \
                 RETURNING user_id, email",
            )
            .bind(token_hash)
            .bind(at)
            .fetch_optional(&mut *tx)
            .await?;
            let Some((user_id, email)) = spent else { return Ok(None) };
            sqlx::query(
                "UPDATE account_tokens SET used_at = $2 WHERE user_id = $1 AND purpose = 'verify_email' AND used_at IS NULL",
            )
            .bind(user_id)
            .bind(at)
            .execute(&mut *tx)
            .await?;
            let done = sqlx::query(
                "UPDATE users SET email_verified_at = $3 WHERE id = $1 AND email = $2 AND email_verified_at IS NULL",
            )
            .bind(user_id)
            .bind(&email)
            .bind(at)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            // Until an address can change, the token's address is always the user's.
            if done == 0 {
                tracing::debug!("verified an address that was already verified");
            }
            sqlx::query("DELETE FROM signin_failures WHERE scope = 'account' AND key = $1")
                .bind(&email)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            user_id
        });
        self.get_user(UserId(user_id)).await.map(Some)
    }

    /// Marks the user's address verified (accounts made by the server itself, such as the demo).
    pub async fn mark_email_verified(&self, user_id: UserId, now: OffsetDateTime) -> Result<()> {
        on_pool!(write, self, |pool| {
            sqlx::query("UPDATE users SET email_verified_at = $2 WHERE id = $1 AND email_verified_at IS NULL")
                .bind(user_id.0)
                .bind(to_ms(now))
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    // ---- the account mail queue ----

    /// Queues a mail to `recipient`, unless `max_per_hour` mails were already queued to that
    /// address within the hour before `now` (so nobody can fill someone's mailbox through
    /// Petty). Answers the new row's id, or `None` when the cap held it back. Finished mail older
    /// than a month is deleted on the way.
    pub async fn enqueue_account_mail(
        &self,
        kind: AccountMailKind,
        recipient: &Email,
        now: OffsetDateTime,
        max_per_hour: u32,
    ) -> Result<Option<Uuid>> {
        let id = Uuid::now_v7();
        let at = to_ms(now);
        let queued = on_pool!(write, self, |pool| {
            let mut tx = pool.begin_write().await?;
            sqlx::query("DELETE FROM account_mail WHERE status <> 'pending' AND created_at < $1")
                .bind(at - MAIL_KEPT_MS)
                .execute(&mut *tx)
                .await?;
            let recent: i64 =
                sqlx::query_scalar("SELECT COUNT(*) FROM account_mail WHERE recipient = $1 AND created_at > $2")
                    .bind(recipient.as_str())
                    .bind(at - 3600 * 1000)
                    .fetch_one(&mut *tx)
                    .await?;
            if recent >= i64::from(max_per_hour) {
                tx.commit().await?;
                false
            } else {
                sqlx::query(
                    "INSERT INTO account_mail (id, kind, recipient, status, attempts, next_attempt_at, created_at) \
                     VALUES ($1, $2, $3, 'pending', 0, $4, $4)",
                )
                .bind(id)
                .bind(kind.as_str())
                .bind(recipient.as_str())
                .bind(at)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                true
            }
        });
        Ok(queued.then_some(id))
    }

    /// Takes up to `limit` due account mails for sending, each leased for `lease_ms` and its
    /// attempt counted.
    pub async fn claim_account_mail(&self, now_ms: i64, lease_ms: i64, limit: u32) -> Result<Vec<AccountMail>> {
        let sql = crate::alarms::claim_due_sql("account_mail", MAIL_COLUMNS);
        let rows: Vec<AccountMailRow> = on_pool!(write, self, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(now_ms)
                .bind(now_ms + lease_ms)
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await?
        });
        rows.into_iter().map(AccountMailRow::into_mail).collect()
    }

    /// Takes one pending account mail by id for sending now; `None` when another sender holds
    /// it or it is no longer pending.
    pub async fn claim_account_mail_by_id(&self, id: Uuid, now_ms: i64, lease_ms: i64) -> Result<Option<AccountMail>> {
        let sql = format!(
            "UPDATE account_mail SET lease_until = $2, attempts = attempts + 1 WHERE id = $1 AND status = 'pending' \
             AND (lease_until IS NULL OR lease_until <= $3) RETURNING {MAIL_COLUMNS}"
        );
        let row: Option<AccountMailRow> = on_pool!(write, self, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(id)
                .bind(now_ms + lease_ms)
                .bind(now_ms)
                .fetch_optional(pool)
                .await?
        });
        row.map(AccountMailRow::into_mail).transpose()
    }

    /// Records how a claimed mail ended: `Sent` or `Dropped` (with a note saying why).
    pub async fn account_mail_finished(
        &self,
        id: Uuid,
        status: AccountMailStatus,
        note: Option<&str>,
        now_ms: i64,
    ) -> Result<()> {
        on_pool!(write, self, |pool| {
            sqlx::query(
                "UPDATE account_mail SET status = $2, last_error = $3, lease_until = NULL, \
                 sent_at = CASE WHEN $2 = 'sent' THEN $4 ELSE sent_at END WHERE id = $1",
            )
            .bind(id)
            .bind(status.as_str())
            .bind(note)
            .bind(now_ms)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// A failed attempt: try again at `retry_at_ms`, or give up (`None`).
    pub async fn account_mail_failed(&self, id: Uuid, error: &str, retry_at_ms: Option<i64>) -> Result<()> {
        on_pool!(write, self, |pool| {
            sqlx::query(
                "UPDATE account_mail SET status = $2, next_attempt_at = COALESCE($3, next_attempt_at), \
                 lease_until = NULL, last_error = $4 WHERE id = $1",
            )
            .bind(id)
            .bind(if retry_at_ms.is_some() { "pending" } else { "failed" })
            .bind(retry_at_ms)
            .bind(error)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// The mail queued to an address, oldest first (for support and tests).
    pub async fn account_mail_to(&self, recipient: &Email) -> Result<Vec<AccountMail>> {
        let sql = format!("SELECT {MAIL_COLUMNS} FROM account_mail WHERE recipient = $1 ORDER BY created_at, id");
        let rows: Vec<AccountMailRow> = on_pool!(read, self, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(recipient.as_str()).fetch_all(pool).await?
        });
        rows.into_iter().map(AccountMailRow::into_mail).collect()
    }
}
