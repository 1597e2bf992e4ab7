//! What protects an account and tells its owner what happened to it (issue 14): the TOTP
//! second factor and its backup codes, where each live sign-in came from (refresh-token
//! families, dashboard sessions, trusted devices) and revoking them, the history of sign-in
//! attempts, and the household's audit log.
//!
//! Secrets arrive here sealed or hashed by the caller (`petty_app::mfa`): the TOTP secret
//! sealed under a key the database does not hold, backup codes as keyed hashes.

use petty_core::ids::{HouseholdId, SessionId, TokenFamilyId, UserId};
use petty_core::paging::{Page, PageRequest};
use sqlx::FromRow;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{BeginWrite, Result, Store, StoreError, from_ms, from_ms_opt, on_pool, to_ms};

/// A user's second factor as stored.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MfaRecord {
    /// The sealed TOTP secret, once MFA is on.
    pub secret: Option<Vec<u8>>,
    /// The sealed secret of a setup not verified yet.
    pub pending_secret: Option<Vec<u8>>,
    pub enabled_at: Option<OffsetDateTime>,
    /// The newest 30-second step a code was accepted for.
    pub last_step: i64,
    /// Backup codes not used yet.
    pub backup_codes_left: u32,
}

impl MfaRecord {
    pub fn enabled(&self) -> bool {
        self.secret.is_some() && self.enabled_at.is_some()
    }
}

/// Where a sign-in came from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientOrigin {
    /// The client's address as the edge saw it.
    pub address: Option<String>,
    /// The `User-Agent` it sent (cut to 200 characters).
    pub user_agent: Option<String>,
}

/// What kind of sign-in a [`LiveSignIn`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInKind {
    /// A refresh-token family of the API (one sign-in and every token rotated from it).
    Api,
    /// A dashboard session (a cookie).
    Dashboard,
    /// A trusted-device token: a browser or client that signed in before, which failed
    /// sign-ins by others do not hold back.
    TrustedDevice,
}

impl SignInKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SignInKind::Api => "api",
            SignInKind::Dashboard => "dashboard",
            SignInKind::TrustedDevice => "trusted_device",
        }
    }
}

/// One of a user's sign-ins that still works.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveSignIn {
    /// The family's, session's or trusted device's id.
    pub id: Uuid,
    pub kind: SignInKind,
    /// The household it acts in (none for a trusted device).
    pub household_id: Option<HouseholdId>,
    pub created_at: OffsetDateTime,
    pub last_used_at: OffsetDateTime,
    pub origin: ClientOrigin,
}

/// Which sign-in the caller is using, kept by "revoke every other".
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CurrentSignIn {
    pub family: Option<TokenFamilyId>,
    pub session: Option<SessionId>,
    pub trusted_device: Option<Uuid>,
}

/// One attempt to sign in to an account.
#[derive(Debug, Clone, PartialEq)]
pub struct Login {
    pub at: OffsetDateTime,
    pub origin: ClientOrigin,
    /// `success`, or why it failed (`wrong_password`, `mfa_required`, `invalid_mfa_code`,
    /// `throttled`, `unverified`, `no_membership`).
    pub outcome: String,
}

/// Who made a change the audit log records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditActorKind {
    User,
    ApiKey,
    /// Petty itself (a job).
    System,
    /// An account deleted since; its id was replaced by a random tombstone.
    Deleted,
}

impl AuditActorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AuditActorKind::User => "user",
            AuditActorKind::ApiKey => "api_key",
            AuditActorKind::System => "system",
            AuditActorKind::Deleted => "deleted",
        }
    }

    fn parse(s: &str) -> Result<Self> {
        Ok(match s {
            "user" => AuditActorKind::User,
            "api_key" => AuditActorKind::ApiKey,
            "system" => AuditActorKind::System,
            "deleted" => AuditActorKind::Deleted,
            other => return Err(StoreError::Corrupt(format!("audit actor kind {other:?}"))),
        })
    }
}

/// An entry about to be written.
#[derive(Debug, Clone)]
pub struct NewAuditEntry<'a> {
    pub household_id: HouseholdId,
    pub actor_kind: AuditActorKind,
    /// The user's or API key's id.
    pub actor_id: Option<Uuid>,
    pub action: &'a str,
    pub entity_type: &'a str,
    pub entity_id: &'a str,
    pub address: Option<&'a str>,
    /// A short JSON object: the names of the fields that changed, never their values.
    pub detail: &'a str,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    pub id: Uuid,
    pub household_id: HouseholdId,
    pub actor_kind: AuditActorKind,
    pub actor_id: Option<Uuid>,
    pub action: String,
    pub entity_type: String,
    pub entity_id: String,
    pub at: OffsetDateTime,
    pub address: Option<String>,
    pub detail: String,
}

/// Which entries to list. Every set field must match.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub entity_type: Option<String>,
    pub entity_id: Option<String>,
    pub actor_id: Option<Uuid>,
}

#[derive(FromRow)]
struct AuditRow {
    id: Uuid,
    household_id: Uuid,
    actor_kind: String,
    actor_id: Option<Uuid>,
    action: String,
    entity_type: String,
    entity_id: String,
    at: i64,
    address: Option<String>,
    detail: String,
}

impl AuditRow {
    fn into_entry(self) -> Result<AuditEntry> {
        Ok(AuditEntry {
            id: self.id,
            household_id: HouseholdId(self.household_id),
            actor_kind: AuditActorKind::parse(&self.actor_kind)?,
            actor_id: self.actor_id,
            action: self.action,
            entity_type: self.entity_type,
            entity_id: self.entity_id,
            at: from_ms(self.at)?,
            address: self.address,
            detail: self.detail,
        })
    }
}

#[derive(FromRow)]
struct SignInRow {
    id: Uuid,
    household_id: Option<Uuid>,
    created_at: i64,
    last_used_at: i64,
    address: Option<String>,
    user_agent: Option<String>,
}

impl SignInRow {
    fn into_sign_in(self, kind: SignInKind) -> Result<LiveSignIn> {
        Ok(LiveSignIn {
            id: self.id,
            kind,
            household_id: self.household_id.map(HouseholdId),
            created_at: from_ms(self.created_at)?,
            last_used_at: from_ms(self.last_used_at)?,
            origin: ClientOrigin { address: self.address, user_agent: self.user_agent },
        })
    }
}

macro_rules! audit_condition {
    () => {
        "household_id = $1 AND ($2 IS NULL OR entity_type = $2) AND ($3 IS NULL OR entity_id = $3) \
         AND ($4 IS NULL OR actor_id = $4)"
    };
}

impl Store {
    /// The user's second factor. `NotFound` if there is no such user.
    pub async fn mfa_record(&self, user_id: UserId) -> Result<MfaRecord> {
        type Row = (Option<Vec<u8>>, Option<Vec<u8>>, Option<i64>, i64);
        let (row, left): (Row, i64) = on_pool!(read, self, |pool| {
            let row = sqlx::query_as(
                "SELECT mfa_secret, mfa_pending_secret, mfa_enabled_at, mfa_last_step FROM users WHERE id = $1",
            )
            .bind(user_id.0)
            .fetch_one(pool)
            .await?;
            let left =
                sqlx::query_scalar("SELECT COUNT(*) FROM mfa_backup_codes WHERE user_id = $1 AND used_at IS NULL")
                    .bind(user_id.0)
                    .fetch_one(pool)
                    .await?;
            (row, left)
        });
        let (secret, pending_secret, enabled_at, last_step) = row;
        Ok(MfaRecord {
            secret,
            pending_secret,
            enabled_at: from_ms_opt(enabled_at)?,
            last_step,
            backup_codes_left: u32::try_from(left).unwrap_or(0),
        })
    }

    /// Keeps a new sealed secret until its first code is verified (a second setup replaces it).
    pub async fn set_pending_mfa_secret(&self, user_id: UserId, sealed: &[u8]) -> Result<()> {
        let done = on_pool!(write, self, |pool| {
            sqlx::query("UPDATE users SET mfa_pending_secret = $2 WHERE id = $1")
                .bind(user_id.0)
                .bind(sealed)
                .execute(pool)
                .await?
                .rows_affected()
        });
        if done == 1 { Ok(()) } else { Err(StoreError::NotFound) }
    }

    /// Turns MFA on with the pending secret `sealed` (the one a code was just verified
    /// against, at `step`) and replaces the backup codes. `false` when the pending secret
    /// changed meanwhile or the step was already used.
    pub async fn enable_mfa(
        &self,
        user_id: UserId,
        sealed: &[u8],
        step: i64,
        backup_code_hashes: &[Vec<u8>],
        now: OffsetDateTime,
    ) -> Result<bool> {
        let at = to_ms(now);
        on_pool!(write, self, |pool| {
            let mut tx = pool.begin_write().await?;
            let done = sqlx::query(
                "UPDATE users SET mfa_secret = mfa_pending_secret, mfa_pending_secret = NULL, mfa_enabled_at = $3, \
                 mfa_last_step = $4 WHERE id = $1 AND mfa_pending_secret = $2 AND mfa_last_step < $4",
            )
            .bind(user_id.0)
            .bind(sealed)
            .bind(at)
            .bind(step)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if done != 1 {
                return Ok(false);
            }
            sqlx::query("DELETE FROM mfa_backup_codes WHERE user_id = $1").bind(user_id.0).execute(&mut *tx).await?;
            for hash in backup_code_hashes {
                sqlx::query("INSERT INTO mfa_backup_codes (user_id, code_hash, created_at) VALUES ($1, $2, $3)")
                    .bind(user_id.0)
                    .bind(hash)
                    .bind(at)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
        });
        Ok(true)
    }

    /// Accepts a TOTP code for `step` if no code of that step or a later one was accepted
    /// before (each code works once, and two requests racing with one code cannot both win).
    pub async fn accept_mfa_step(&self, user_id: UserId, step: i64) -> Result<bool> {
        let done = on_pool!(write, self, |pool| {
            sqlx::query(
                "UPDATE users SET mfa_last_step = $2 WHERE id = $1 AND mfa_last_step < $2 AND mfa_secret IS NOT NULL",
            )
            .bind(user_id.0)
            .bind(step)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(done == 1)
    }

    /// Spends a backup code; `false` if it is not one of the user's unused codes.
    pub async fn use_backup_code(&self, user_id: UserId, code_hash: &[u8], now: OffsetDateTime) -> Result<bool> {
        let done = on_pool!(write, self, |pool| {
            sqlx::query(
                "UPDATE mfa_backup_codes SET used_at = $3 WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL",
            )
            .bind(user_id.0)
            .bind(code_hash)
            .bind(to_ms(now))
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(done == 1)
    }

    /// Turns MFA off: the secret, a pending setup and the backup codes are gone.
    pub async fn disable_mfa(&self, user_id: UserId) -> Result<()> {
        on_pool!(write, self, |pool| {
            let mut tx = pool.begin_write().await?;
            sqlx::query(
                "UPDATE users SET mfa_secret = NULL, mfa_pending_secret = NULL, mfa_enabled_at = NULL WHERE id = $1",
            )
            .bind(user_id.0)
            .execute(&mut *tx)
            .await?;
            sqlx::query("DELETE FROM mfa_backup_codes WHERE user_id = $1").bind(user_id.0).execute(&mut *tx).await?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// Notes where a refresh-token family (a new API sign-in) came from.
    pub async fn set_refresh_family_origin(&self, family_id: TokenFamilyId, origin: &ClientOrigin) -> Result<()> {
        on_pool!(write, self, |pool| {
            sqlx::query("UPDATE refresh_tokens SET address = $2, user_agent = $3 WHERE family_id = $1")
                .bind(family_id.0)
                .bind(origin.address.as_deref())
                .bind(origin.user_agent.as_deref())
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// Notes where a dashboard session came from, and whether it proved a second factor.
    pub async fn set_web_session_origin(
        &self,
        id: SessionId,
        origin: &ClientOrigin,
        mfa_at: Option<OffsetDateTime>,
    ) -> Result<()> {
        on_pool!(write, self, |pool| {
            sqlx::query("UPDATE web_sessions SET address = $2, user_agent = $3, mfa_at = $4 WHERE id = $1")
                .bind(id.0)
                .bind(origin.address.as_deref())
                .bind(origin.user_agent.as_deref())
                .bind(mfa_at.map(to_ms))
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// Records a page view of the session, at most once a minute.
    pub async fn touch_web_session(&self, id: SessionId, now: OffsetDateTime) -> Result<()> {
        let at = to_ms(now);
        on_pool!(write, self, |pool| {
            sqlx::query(
                "UPDATE web_sessions SET last_used_at = $2 WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $3)",
            )
            .bind(id.0)
            .bind(at)
            .bind(at - 60_000)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// When the dashboard session last proved a second factor.
    pub async fn web_session_mfa_at(&self, id: SessionId) -> Result<Option<OffsetDateTime>> {
        let at: Option<Option<i64>> = on_pool!(read, self, |pool| {
            sqlx::query_scalar("SELECT mfa_at FROM web_sessions WHERE id = $1").bind(id.0).fetch_optional(pool).await?
        });
        from_ms_opt(at.flatten())
    }

    /// Notes that the dashboard session proved a second factor now.
    pub async fn mark_web_session_mfa(&self, id: SessionId, now: OffsetDateTime) -> Result<()> {
        on_pool!(write, self, |pool| {
            sqlx::query("UPDATE web_sessions SET mfa_at = $2 WHERE id = $1")
                .bind(id.0)
                .bind(to_ms(now))
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// Keeps a trusted-device token's id, so it can be listed and revoked.
    pub async fn insert_trusted_device(
        &self,
        id: Uuid,
        user_id: UserId,
        origin: &ClientOrigin,
        now: OffsetDateTime,
    ) -> Result<()> {
        on_pool!(write, self, |pool| {
            sqlx::query(
                "INSERT INTO trusted_devices (id, user_id, created_at, last_used_at, address, user_agent) \
                 VALUES ($1, $2, $3, $3, $4, $5)",
            )
            .bind(id)
            .bind(user_id.0)
            .bind(to_ms(now))
            .bind(origin.address.as_deref())
            .bind(origin.user_agent.as_deref())
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// Whether a trusted-device token of this user was issued here and not revoked.
    pub async fn trusted_device_is_live(&self, id: Uuid, user_id: UserId) -> Result<bool> {
        let found: Option<i64> = on_pool!(read, self, |pool| {
            sqlx::query_scalar(
                "SELECT created_at FROM trusted_devices WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL",
            )
            .bind(id)
            .bind(user_id.0)
            .fetch_optional(pool)
            .await?
        });
        Ok(found.is_some())
    }

    /// Records that a trusted device was used to sign in.
    pub async fn touch_trusted_device(&self, id: Uuid, now: OffsetDateTime) -> Result<()> {
        on_pool!(write, self, |pool| {
            sqlx::query("UPDATE trusted_devices SET last_used_at = $2 WHERE id = $1")
                .bind(id)
                .bind(to_ms(now))
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// Every sign-in of the user that still works at `now`, newest use first: refresh-token
    /// families with a live token, live dashboard sessions, and trusted devices issued after
    /// `trusted_since` (older ones are no longer honoured).
    pub async fn live_sign_ins(
        &self,
        user_id: UserId,
        trusted_since: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<Vec<LiveSignIn>> {
        let at = to_ms(now);
        let (families, sessions, devices): (Vec<SignInRow>, Vec<SignInRow>, Vec<SignInRow>) = on_pool!(
            read,
            self,
            |pool| {
                let families = sqlx::query_as(
                    "SELECT family_id AS id, household_id, MIN(created_at) AS created_at, MAX(created_at) AS last_used_at, \
                     MAX(address) AS address, MAX(user_agent) AS user_agent FROM refresh_tokens \
                     WHERE user_id = $1 AND revoked_at IS NULL GROUP BY family_id, household_id \
                     HAVING MAX(CASE WHEN rotated_at IS NULL AND expires_at > $2 THEN 1 ELSE 0 END) = 1",
                )
                .bind(user_id.0)
                .bind(at)
                .fetch_all(pool)
                .await?;
                let sessions = sqlx::query_as(
                    "SELECT id, household_id, created_at, COALESCE(last_used_at, created_at) AS last_used_at, address, \
                     user_agent FROM web_sessions WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2",
                )
                .bind(user_id.0)
                .bind(at)
                .fetch_all(pool)
                .await?;
                let devices = sqlx::query_as(
                    "SELECT id, NULL AS household_id, created_at, COALESCE(last_used_at, created_at) AS last_used_at, \
                     address, user_agent FROM trusted_devices WHERE user_id = $1 AND revoked_at IS NULL AND created_at > $2",
                )
                .bind(user_id.0)
                .bind(to_ms(trusted_since))
                .fetch_all(pool)
                .await?;
                (families, sessions, devices)
            }
        );
        let mut all = Vec::with_capacity(families.len() + sessions.len() + devices.len());
        for (rows, kind) in
            [(families, SignInKind::Api), (sessions, SignInKind::Dashboard), (devices, SignInKind::TrustedDevice)]
        {
            for row in rows {
                all.push(row.into_sign_in(kind)?);
            }
        }
        all.sort_by(|a, b| b.last_used_at.cmp(&a.last_used_at).then(b.id.cmp(&a.id)));
        Ok(all)
    }

    /// Revokes one of the user's sign-ins by id, whatever its kind; `NotFound` if the user has
    /// no live one with that id. An API sign-in's access tokens are refused from the next
    /// request on every node: they name their family, which the member's standing lists as
    /// revoked.
    pub async fn revoke_sign_in(&self, user_id: UserId, id: Uuid, now: OffsetDateTime) -> Result<SignInKind> {
        let at = to_ms(now);
        let kind = on_pool!(write, self, |pool| {
            let mut tx = pool.begin_write().await?;
            let kind = if sqlx::query(
                "UPDATE refresh_tokens SET revoked_at = $3 WHERE user_id = $1 AND family_id = $2 AND revoked_at IS NULL",
            )
            .bind(user_id.0)
            .bind(id)
            .bind(at)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                > 0
            {
                SignInKind::Api
            } else if sqlx::query(
                "UPDATE web_sessions SET revoked_at = $3 WHERE user_id = $1 AND id = $2 AND revoked_at IS NULL",
            )
            .bind(user_id.0)
            .bind(id)
            .bind(at)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1
            {
                SignInKind::Dashboard
            } else if sqlx::query(
                "UPDATE trusted_devices SET revoked_at = $3 WHERE user_id = $1 AND id = $2 AND revoked_at IS NULL",
            )
            .bind(user_id.0)
            .bind(id)
            .bind(at)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1
            {
                SignInKind::TrustedDevice
            } else {
                return Err(StoreError::NotFound);
            };
            tx.commit().await?;
            kind
        });
        if kind == SignInKind::Api {
            self.forget_standing().await;
        }
        Ok(kind)
    }

    /// Revokes every sign-in of the user but `keep`'s: other refresh-token families (and so
    /// their access tokens, which name them), dashboard sessions and trusted devices. Answers
    /// how many were revoked.
    pub async fn revoke_other_sign_ins(
        &self,
        user_id: UserId,
        keep: CurrentSignIn,
        now: OffsetDateTime,
    ) -> Result<u64> {
        let at = to_ms(now);
        let family = keep.family.map(|f| f.0).unwrap_or_else(Uuid::nil);
        let session = keep.session.map(|s| s.0).unwrap_or_else(Uuid::nil);
        let device = keep.trusted_device.unwrap_or_else(Uuid::nil);
        let revoked = on_pool!(write, self, |pool| {
            let mut tx = pool.begin_write().await?;
            let families: Vec<Uuid> = sqlx::query_scalar(
                "SELECT DISTINCT family_id FROM refresh_tokens WHERE user_id = $1 AND family_id <> $2 AND revoked_at IS NULL \
                 AND rotated_at IS NULL AND expires_at > $3",
            )
            .bind(user_id.0)
            .bind(family)
            .bind(at)
            .fetch_all(&mut *tx)
            .await?;
            sqlx::query("UPDATE refresh_tokens SET revoked_at = $3 WHERE user_id = $1 AND family_id <> $2 AND revoked_at IS NULL")
                .bind(user_id.0)
                .bind(family)
                .bind(at)
                .execute(&mut *tx)
                .await?;
            let sessions = sqlx::query(
                "UPDATE web_sessions SET revoked_at = $3 WHERE user_id = $1 AND id <> $2 AND revoked_at IS NULL AND expires_at > $3",
            )
            .bind(user_id.0)
            .bind(session)
            .bind(at)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            let devices = sqlx::query(
                "UPDATE trusted_devices SET revoked_at = $3 WHERE user_id = $1 AND id <> $2 AND revoked_at IS NULL",
            )
            .bind(user_id.0)
            .bind(device)
            .bind(at)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            tx.commit().await?;
            families.len() as u64 + sessions + devices
        });
        self.forget_standing().await;
        Ok(revoked)
    }

    /// Keeps one attempt to sign in to the user's account.
    pub async fn record_login(
        &self,
        user_id: UserId,
        origin: &ClientOrigin,
        outcome: &str,
        now: OffsetDateTime,
    ) -> Result<()> {
        on_pool!(write, self, |pool| {
            sqlx::query(
                "INSERT INTO logins (id, user_id, at, address, user_agent, outcome) VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(Uuid::now_v7())
            .bind(user_id.0)
            .bind(to_ms(now))
            .bind(origin.address.as_deref())
            .bind(origin.user_agent.as_deref())
            .bind(outcome)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// The user's sign-in attempts, newest first.
    pub async fn list_logins(&self, user_id: UserId, page: PageRequest) -> Result<Page<Login>> {
        type Row = (i64, Option<String>, Option<String>, String);
        let (total, rows): (i64, Vec<Row>) = on_pool!(read, self, |pool| {
            let total = sqlx::query_scalar("SELECT COUNT(*) FROM logins WHERE user_id = $1")
                .bind(user_id.0)
                .fetch_one(pool)
                .await?;
            let rows = sqlx::query_as(
                "SELECT at, address, user_agent, outcome FROM logins WHERE user_id = $1 ORDER BY at DESC, id DESC \
                 LIMIT $2 OFFSET $3",
            )
            .bind(user_id.0)
            .bind(page.limit())
            .bind(page.offset())
            .fetch_all(pool)
            .await?;
            (total, rows)
        });
        let items = rows
            .into_iter()
            .map(|(at, address, user_agent, outcome)| {
                Ok(Login { at: from_ms(at)?, origin: ClientOrigin { address, user_agent }, outcome })
            })
            .collect::<Result<_>>()?;
        Ok(Page { items, total: u64::try_from(total).unwrap_or(0), request: page })
    }

    /// Writes one audit entry.
    pub async fn insert_audit_entry(&self, entry: &NewAuditEntry<'_>, now: OffsetDateTime) -> Result<Uuid> {
        let id = Uuid::now_v7();
        on_pool!(write, self, |pool| {
            sqlx::query(
                "INSERT INTO audit_log (id, household_id, actor_kind, actor_id, action, entity_type, entity_id, at, \
                 address, detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(id)
            .bind(entry.household_id.0)
            .bind(entry.actor_kind.as_str())
            .bind(entry.actor_id)
            .bind(entry.action)
            .bind(entry.entity_type)
            .bind(entry.entity_id)
            .bind(to_ms(now))
            .bind(entry.address)
            .bind(entry.detail)
            .execute(pool)
            .await?;
        });
        Ok(id)
    }

    /// The household's audit entries that match `filter`, newest first.
    pub async fn list_audit(
        &self,
        household_id: HouseholdId,
        filter: &AuditFilter,
        page: PageRequest,
    ) -> Result<Page<AuditEntry>> {
        let (total, rows): (i64, Vec<AuditRow>) = on_pool!(read, self, |pool| {
            let total = sqlx::query_scalar(concat!("SELECT COUNT(*) FROM audit_log WHERE ", audit_condition!()))
                .bind(household_id.0)
                .bind(filter.entity_type.as_deref())
                .bind(filter.entity_id.as_deref())
                .bind(filter.actor_id)
                .fetch_one(pool)
                .await?;
            let rows = sqlx::query_as(concat!(
                "SELECT id, household_id, actor_kind, actor_id, action, entity_type, entity_id, at, address, detail \
                 FROM audit_log WHERE ",
                audit_condition!(),
                " ORDER BY at DESC, id DESC LIMIT $5 OFFSET $6"
            ))
            .bind(household_id.0)
            .bind(filter.entity_type.as_deref())
            .bind(filter.entity_id.as_deref())
            .bind(filter.actor_id)
            .bind(page.limit())
            .bind(page.offset())
            .fetch_all(pool)
            .await?;
            (total, rows)
        });
        Ok(Page {
            items: rows.into_iter().map(AuditRow::into_entry).collect::<Result<_>>()?,
            total: u64::try_from(total).unwrap_or(0),
            request: page,
        })
    }

    /// Before an account is deleted: its audit entries stay, with the actor replaced by a
    /// random tombstone id (the same for all of them) and no address. Answers the tombstone.
    pub async fn tombstone_audit_actor(&self, user_id: UserId) -> Result<Uuid> {
        let tombstone = Uuid::new_v4();
        on_pool!(write, self, |pool| {
            sqlx::query(
                "UPDATE audit_log SET actor_id = $2, actor_kind = 'deleted', address = NULL \
                 WHERE actor_id = $1 AND actor_kind = 'user'",
            )
            .bind(user_id.0)
            .bind(tombstone)
            .execute(pool)
            .await?;
        });
        Ok(tombstone)
    }
}
