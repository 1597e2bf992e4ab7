//! Households, users, memberships and every credential: password hashes, refresh-token
//! families, invitations, API keys and dashboard sessions. (The sign-in throttles' failures,
//! the tokens that arrive by email and the account mail queue are `signin.rs`'s.)
//!
//! Secrets are never stored: tokens and keys arrive here already hashed by the caller.

use petty_core::accounts::{ApiKeyScope, Email, Role};
use petty_core::ids::{ApiKeyId, HouseholdId, InvitationId, SessionId, TokenFamilyId, UserId};
use sqlx::FromRow;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{BeginWrite, Result, Store, StoreError, from_ms, from_ms_opt, on_pool, to_ms};

#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub id: UserId,
    pub email: String,
    pub display_name: String,
    pub created_at: OffsetDateTime,
    /// When the account proved it receives mail at `email`; `None` until then.
    pub email_verified_at: Option<OffsetDateTime>,
}

/// A user with the password hash, for signing in. Never leaves the auth code.
#[derive(Debug, Clone)]
pub struct UserCredentials {
    pub user: User,
    pub password_hash: String,
    /// When the password was last set (device tokens issued before it are not honoured).
    pub password_changed_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Household {
    pub id: HouseholdId,
    pub name: String,
    pub created_at: OffsetDateTime,
}

/// One user's place in one household.
#[derive(Debug, Clone, PartialEq)]
pub struct Membership {
    pub household_id: HouseholdId,
    pub household_name: String,
    pub user_id: UserId,
    pub role: Role,
    pub ends_at: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
}

/// What every request with an access token is checked against: the membership the token acts
/// in (gone once the member is removed) and the latest time before which the user's and the
/// membership's tokens were revoked (a password change, a sign-out, a role change).
#[derive(Debug, Clone, PartialEq)]
pub struct Standing {
    pub role: Role,
    pub ends_at: Option<OffsetDateTime>,
    /// Tokens issued before this are refused.
    pub tokens_valid_after: OffsetDateTime,
    /// The member's most recently revoked sign-ins (refresh-token families): access tokens that
    /// name one are refused.
    pub revoked_families: std::sync::Arc<[TokenFamilyId]>,
}

/// A member as the rest of the household sees them.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    pub user: User,
    pub role: Role,
    pub ends_at: Option<OffsetDateTime>,
    pub joined_at: OffsetDateTime,
}

/// A new account, its password already hashed.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub email: Email,
    pub display_name: String,
    pub password_hash: String,
}

/// A refresh token about to be handed out.
#[derive(Debug, Clone)]
pub struct NewRefreshToken {
    pub family_id: TokenFamilyId,
    pub user_id: UserId,
    pub household_id: HouseholdId,
    pub token_hash: Vec<u8>,
    pub expires_at: OffsetDateTime,
}

/// What presenting a refresh token led to.
#[derive(Debug, Clone, PartialEq)]
pub enum RefreshOutcome {
    /// The token was current: it is now spent and its successor is stored.
    Rotated { user_id: UserId, household_id: HouseholdId, family_id: TokenFamilyId },
    /// The token had already been spent: someone replayed it, so the whole family is revoked.
    Reused { user_id: UserId, family_id: TokenFamilyId },
    /// Unknown, revoked or expired.
    Rejected,
}

#[derive(Debug, Clone)]
pub struct NewInvitation {
    pub household_id: HouseholdId,
    pub token_hash: Vec<u8>,
    pub role: Role,
    pub ends_at: Option<OffsetDateTime>,
    pub email: Option<Email>,
    pub created_by: UserId,
    pub expires_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Invitation {
    pub id: InvitationId,
    pub household_id: HouseholdId,
    pub role: Role,
    pub ends_at: Option<OffsetDateTime>,
    pub email: Option<String>,
    pub created_by: UserId,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    pub accepted_at: Option<OffsetDateTime>,
    pub revoked_at: Option<OffsetDateTime>,
}

#[derive(Debug, Clone)]
pub struct NewApiKey {
    pub household_id: HouseholdId,
    pub created_by: Option<UserId>,
    pub name: String,
    /// The first characters of the key, kept in clear so people can tell keys apart.
    pub prefix: String,
    pub key_hash: Vec<u8>,
    pub scope: ApiKeyScope,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ApiKey {
    pub id: ApiKeyId,
    pub household_id: HouseholdId,
    pub created_by: Option<UserId>,
    pub name: String,
    pub prefix: String,
    pub scope: ApiKeyScope,
    pub created_at: OffsetDateTime,
    pub last_used_at: Option<OffsetDateTime>,
    pub revoked_at: Option<OffsetDateTime>,
}

/// A signed-in dashboard session.
#[derive(Debug, Clone, PartialEq)]
pub struct WebSession {
    pub id: SessionId,
    pub user_id: UserId,
    pub household_id: HouseholdId,
    pub expires_at: OffsetDateTime,
}

#[derive(FromRow)]
struct UserRow {
    id: Uuid,
    email: String,
    display_name: String,
    created_at: i64,
    email_verified_at: Option<i64>,
}

impl UserRow {
    fn into_user(self) -> Result<User> {
        Ok(User {
            id: UserId(self.id),
            email: self.email,
            display_name: self.display_name,
            created_at: from_ms(self.created_at)?,
            email_verified_at: from_ms_opt(self.email_verified_at)?,
        })
    }
}

#[derive(FromRow)]
struct CredentialsRow {
    #[sqlx(flatten)]
    user: UserRow,
    password_hash: String,
    password_changed_at: i64,
}

impl CredentialsRow {
    fn into_credentials(self) -> Result<UserCredentials> {
        Ok(UserCredentials {
            user: self.user.into_user()?,
            password_hash: self.password_hash,
            password_changed_at: from_ms(self.password_changed_at)?,
        })
    }
}

#[derive(FromRow)]
struct MembershipRow {
    household_id: Uuid,
    household_name: String,
    user_id: Uuid,
    role: String,
    ends_at: Option<i64>,
    created_at: i64,
}

impl MembershipRow {
    fn into_membership(self) -> Result<Membership> {
        Ok(Membership {
            household_id: HouseholdId(self.household_id),
            household_name: self.household_name,
            user_id: UserId(self.user_id),
            role: parse_role(&self.role)?,
            ends_at: from_ms_opt(self.ends_at)?,
            created_at: from_ms(self.created_at)?,
        })
    }
}

#[derive(FromRow)]
struct MemberRow {
    #[sqlx(flatten)]
    user: UserRow,
    role: String,
    ends_at: Option<i64>,
    joined_at: i64,
}

#[derive(FromRow)]
struct InvitationRow {
    id: Uuid,
    household_id: Uuid,
    role: String,
    ends_at: Option<i64>,
    email: Option<String>,
    created_by: Uuid,
    created_at: i64,
    expires_at: i64,
    accepted_at: Option<i64>,
    revoked_at: Option<i64>,
}

impl InvitationRow {
    fn into_invitation(self) -> Result<Invitation> {
        Ok(Invitation {
            id: InvitationId(self.id),
            household_id: HouseholdId(self.household_id),
            role: parse_role(&self.role)?,
            ends_at: from_ms_opt(self.ends_at)?,
            email: self.email,
            created_by: UserId(self.created_by),
            created_at: from_ms(self.created_at)?,
            expires_at: from_ms(self.expires_at)?,
            accepted_at: from_ms_opt(self.accepted_at)?,
            revoked_at: from_ms_opt(self.revoked_at)?,
        })
    }
}

#[derive(FromRow)]
struct ApiKeyRow {
    id: Uuid,
    household_id: Uuid,
    created_by: Option<Uuid>,
    name: String,
    prefix: String,
    scope: String,
    created_at: i64,
    last_used_at: Option<i64>,
    revoked_at: Option<i64>,
}

impl ApiKeyRow {
    fn into_api_key(self) -> Result<ApiKey> {
        Ok(ApiKey {
            id: ApiKeyId(self.id),
            household_id: HouseholdId(self.household_id),
            created_by: self.created_by.map(UserId),
            name: self.name,
            prefix: self.prefix,
            scope: self.scope.parse().map_err(|_| StoreError::Corrupt(format!("api key scope {:?}", self.scope)))?,
            created_at: from_ms(self.created_at)?,
            last_used_at: from_ms_opt(self.last_used_at)?,
            revoked_at: from_ms_opt(self.revoked_at)?,
        })
    }
}

/// A live key as its maker's role shapes it, with the end of its maker's membership (a sitter's),
/// which is checked at every use.
#[derive(Debug, Clone)]
pub(crate) struct CachedApiKey {
    key: ApiKey,
    maker_ends_at: Option<i64>,
}

#[derive(FromRow)]
struct KeyWithMakerRow {
    #[sqlx(flatten)]
    key: ApiKeyRow,
    maker_role: Option<String>,
    maker_ends_at: Option<i64>,
}

#[derive(FromRow)]
struct RefreshRow {
    id: Uuid,
    family_id: Uuid,
    user_id: Uuid,
    household_id: Uuid,
    expires_at: i64,
    rotated_at: Option<i64>,
    revoked_at: Option<i64>,
}

fn parse_role(s: &str) -> Result<Role> {
    s.parse().map_err(|_| StoreError::Corrupt(format!("role {s:?}")))
}

fn conflict(what: &'static str) -> impl FnOnce(StoreError) -> StoreError {
    move |e| match e {
        StoreError::Conflict(_) => StoreError::Conflict(what),
        other => other,
    }
}

macro_rules! user_columns {
    () => {
        "u.id, u.email, u.display_name, u.created_at, u.email_verified_at"
    };
}
macro_rules! membership_select {
    () => {
        "SELECT m.household_id, h.name AS household_name, m.user_id, m.role, m.ends_at, m.created_at \
     FROM memberships m JOIN households h ON h.id = m.household_id"
    };
}
macro_rules! invitation_columns {
    () => {
        "id, household_id, role, ends_at, email, created_by, created_at, expires_at, accepted_at, revoked_at"
    };
}
macro_rules! api_key_columns {
    () => {
        "id, household_id, created_by, name, prefix, scope, created_at, last_used_at, revoked_at"
    };
}

/// Inserts a user inside an open transaction `$tx`; a taken email is a `Conflict`.
macro_rules! insert_user {
    ($tx:ident, $user_id:expr, $user:expr, $at:expr) => {
        sqlx::query(
            "INSERT INTO users (id, email, display_name, password_hash, created_at, password_changed_at) \
             VALUES ($1, $2, $3, $4, $5, $5)",
        )
        .bind($user_id.0)
        .bind($user.email.as_str())
        .bind(&$user.display_name)
        .bind(&$user.password_hash)
        .bind($at)
        .execute(&mut *$tx)
        .await
        .map_err(StoreError::from)
        .map_err(conflict("an account with this email"))?
    };
}

/// Inside an open transaction `$tx`: sets the user's password hash and signs them out
/// everywhere (every refresh-token family and dashboard session revoked, access tokens issued
/// before `$at` refused through the user's stamp). `NotFound` if there is no such user.
macro_rules! replace_password {
    ($tx:ident, $user_id:expr, $hash:expr, $at:expr) => {{
        let done = sqlx::query(
            "UPDATE users SET password_hash = $2, password_changed_at = $3, tokens_valid_after = $3 WHERE id = $1",
        )
        .bind($user_id)
        .bind($hash)
        .bind($at)
        .execute(&mut *$tx)
        .await?
        .rows_affected();
        if done != 1 {
            return Err(StoreError::NotFound);
        }
        sqlx::query("UPDATE refresh_tokens SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL")
            .bind($user_id)
            .bind($at)
            .execute(&mut *$tx)
            .await?;
        sqlx::query("UPDATE web_sessions SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL")
            .bind($user_id)
            .bind($at)
            .execute(&mut *$tx)
            .await?;
    }};
}

/// Spends a pending invitation inside an open transaction `$tx` and adds the membership it
/// grants; evaluates to the new [`MembershipRow`].
macro_rules! accept_invitation {
    ($tx:ident, $hash:expr, $user_id:expr, $at:expr) => {{
        let invitation: Option<(Uuid, Uuid, String, Option<i64>)> = sqlx::query_as(
            "UPDATE invitations SET accepted_at = $2, accepted_by = $3 \
             WHERE token_hash = $1 AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > $2 \
               AND (ends_at IS NULL OR ends_at > $2) \
             RETURNING id, household_id, role, ends_at",
        )
        .bind($hash)
        .bind($at)
        .bind($user_id.0)
        .fetch_optional(&mut *$tx)
        .await?;
        let Some((_, household_id, role, ends_at)) = invitation else {
            return Err(StoreError::NotFound);
        };
        sqlx::query(
            "INSERT INTO memberships (household_id, user_id, role, ends_at, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(household_id)
        .bind($user_id.0)
        .bind(&role)
        .bind(ends_at)
        .bind($at)
        .execute(&mut *$tx)
        .await
        .map_err(StoreError::from)
        .map_err(conflict("a membership of this household"))?;
        let row: MembershipRow =
            sqlx::query_as(concat!(membership_select!(), " WHERE m.household_id = $1 AND m.user_id = $2"))
                .bind(household_id)
                .bind($user_id.0)
                .fetch_one(&mut *$tx)
                .await?;
        row
    }};
}

/// How many of a member's most recently revoked refresh-token families their [`Standing`]
/// lists: access tokens live minutes, so only the latest revocations matter.
const REVOKED_FAMILIES_KEPT: i64 = 200;

impl Store {
    /// Creates a household with `user` as its owner: the first registration.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn register_owner(
        &self,
        user: &NewUser,
        household_name: &str,
        now: OffsetDateTime,
    ) -> Result<(User, Membership)> {
        let household_id = HouseholdId::new();
        let user_id = UserId::new();
        let at = to_ms(now);
        on_pool!(write, self, |pool| {
            let mut tx = pool.begin_write().await?;
            sqlx::query("INSERT INTO households (id, name, created_at) VALUES ($1, $2, $3)")
                .bind(household_id.0)
                .bind(household_name)
                .bind(at)
                .execute(&mut *tx)
                .await?;
            insert_user!(tx, user_id, user, at);
            sqlx::query("INSERT INTO memberships (household_id, user_id, role, ends_at, created_at) VALUES ($1, $2, 'owner', NULL, $3)")
                .bind(household_id.0)
                .bind(user_id.0)
                .bind(at)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        });
        let created = User {
            id: user_id,
            email: user.email.as_str().to_owned(),
            display_name: user.display_name.clone(),
            created_at: from_ms(at)?,
            email_verified_at: None,
        };
        let membership = Membership {
            household_id,
            household_name: household_name.to_owned(),
            user_id,
            role: Role::Owner,
            ends_at: None,
            created_at: from_ms(at)?,
        };
        Ok((created, membership))
    }

    /// Creates an account that joins the household of a pending invitation, spending it.
    /// `NotFound` if the invitation is unknown, spent, revoked or expired.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn register_with_invitation(
        &self,
        user: &NewUser,
        invitation_hash: &[u8],
        now: OffsetDateTime,
    ) -> Result<(User, Membership)> {
        let user_id = UserId::new();
        let at = to_ms(now);
        let membership_row = on_pool!(write, self, |pool| {
            let mut tx = pool.begin_write().await?;
            insert_user!(tx, user_id, user, at);
            let row = accept_invitation!(tx, invitation_hash, user_id, at);
            tx.commit().await?;
            row
        });
        self.forget_standing().await;
        let created = User {
            id: user_id,
            email: user.email.as_str().to_owned(),
            display_name: user.display_name.clone(),
            created_at: from_ms(at)?,
            email_verified_at: None,
        };
        Ok((created, membership_row.into_membership()?))
    }

    /// An existing user joins the household of a pending invitation, spending it.
    #[tracing::instrument(level = "debug", skip_all, fields(user_id = %user_id))]
    pub async fn accept_invitation(
        &self,
        user_id: UserId,
        invitation_hash: &[u8],
        now: OffsetDateTime,
    ) -> Result<Membership> {
        let at = to_ms(now);
        let row = on_pool!(write, self, |pool| {
            let mut tx = pool.begin_write().await?;
            let row = accept_invitation!(tx, invitation_hash, user_id, at);
            tx.commit().await?;
            row
        });
        // A removed member who joins again must not be refused from memory.
        self.forget_standing().await;
        row.into_membership()
    }

    /// Whether an invitation with this token hash may still be used at `now` (registration
    /// checks it first, so that a bad invitation is refused alike for a new and a taken email).
    pub async fn invitation_is_pending(&self, invitation_hash: &[u8], now: OffsetDateTime) -> Result<bool> {
        let found: i64 = on_pool!(read, self, |pool| {
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM invitations WHERE token_hash = $1 AND accepted_at IS NULL AND revoked_at IS NULL \
                 AND expires_at > $2 AND (ends_at IS NULL OR ends_at > $2)",
            )
            .bind(invitation_hash)
            .bind(to_ms(now))
            .fetch_one(pool)
            .await?
        });
        Ok(found > 0)
    }

    pub async fn create_invitation(&self, new: &NewInvitation, now: OffsetDateTime) -> Result<Invitation> {
        let id = InvitationId::new();
        let row: InvitationRow = on_pool!(write, self, |pool| {
            sqlx::query_as(concat!("INSERT INTO invitations (id, household_id, token_hash, role, ends_at, email, created_by, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING ", invitation_columns!()))
            .bind(id.0)
            .bind(new.household_id.0)
            .bind(&new.token_hash)
            .bind(new.role.as_str())
            .bind(new.ends_at.map(to_ms))
            .bind(new.email.as_ref().map(Email::as_str))
            .bind(new.created_by.0)
            .bind(to_ms(now))
            .bind(to_ms(new.expires_at))
            .fetch_one(pool)
            .await?
        });
        row.into_invitation()
    }

    /// Invitations of a household that are neither spent nor revoked, newest first.
    pub async fn list_pending_invitations(
        &self,
        household_id: HouseholdId,
        now: OffsetDateTime,
    ) -> Result<Vec<Invitation>> {
        let rows: Vec<InvitationRow> = on_pool!(read, self, |pool| {
            sqlx::query_as(concat!(
                "SELECT ",
                invitation_columns!(),
                " FROM invitations \
                 WHERE household_id = $1 AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > $2 \
                 ORDER BY created_at DESC"
            ))
            .bind(household_id.0)
            .bind(to_ms(now))
            .fetch_all(pool)
            .await?
        });
        rows.into_iter().map(InvitationRow::into_invitation).collect()
    }

    pub async fn revoke_invitation(
        &self,
        household_id: HouseholdId,
        id: InvitationId,
        now: OffsetDateTime,
    ) -> Result<()> {
        let done = on_pool!(write, self, |pool| {
            sqlx::query(
                "UPDATE invitations SET revoked_at = $3 \
                 WHERE household_id = $1 AND id = $2 AND accepted_at IS NULL AND revoked_at IS NULL",
            )
            .bind(household_id.0)
            .bind(id.0)
            .bind(to_ms(now))
            .execute(pool)
            .await?
            .rows_affected()
        });
        if done == 1 { Ok(()) } else { Err(StoreError::NotFound) }
    }

    pub async fn user_credentials_by_email(&self, email: &Email) -> Result<Option<UserCredentials>> {
        let row: Option<CredentialsRow> = on_pool!(read, self, |pool| {
            sqlx::query_as(concat!(
                "SELECT ",
                user_columns!(),
                ", u.password_hash, u.password_changed_at FROM users u WHERE u.email = $1"
            ))
            .bind(email.as_str())
            .fetch_optional(pool)
            .await?
        });
        row.map(CredentialsRow::into_credentials).transpose()
    }

    pub async fn user_credentials(&self, user_id: UserId) -> Result<UserCredentials> {
        let row: CredentialsRow = on_pool!(read, self, |pool| {
            sqlx::query_as(concat!(
                "SELECT ",
                user_columns!(),
                ", u.password_hash, u.password_changed_at FROM users u WHERE u.id = $1"
            ))
            .bind(user_id.0)
            .fetch_one(pool)
            .await?
        });
        row.into_credentials()
    }

    pub async fn get_user(&self, user_id: UserId) -> Result<User> {
        let row: UserRow = on_pool!(read, self, |pool| {
            sqlx::query_as(concat!("SELECT ", user_columns!(), " FROM users u WHERE u.id = $1"))
                .bind(user_id.0)
                .fetch_one(pool)
                .await?
        });
        row.into_user()
    }

    /// Replaces the password hash and signs the user out everywhere: every refresh-token family
    /// and dashboard session is revoked, and every access token issued before `now` is refused.
    #[tracing::instrument(level = "debug", skip_all, fields(user_id = %user_id))]
    pub async fn set_password_hash(&self, user_id: UserId, password_hash: &str, now: OffsetDateTime) -> Result<()> {
        let at = to_ms(now);
        on_pool!(write, self, |pool| {
            let mut tx = pool.begin_write().await?;
            replace_password!(tx, user_id.0, password_hash, at);
            tx.commit().await?;
        });
        self.forget_standing().await;
        Ok(())
    }

    /// Spends a password-reset token (the hash of one) and sets the new password, as
    /// [`Store::set_password_hash`] does: every sign-in of the user ends at once. Every other
    /// reset token of the user is spent too, the failed sign-ins of the account's untrusted
    /// clients are forgotten, and the address counts as verified (the link arrived there).
    /// `None` when the token is unknown, spent or expired.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn reset_password(
        &self,
        token_hash: &[u8],
        password_hash: &str,
        now: OffsetDateTime,
    ) -> Result<Option<User>> {
        let at = to_ms(now);
        let user_id = on_pool!(write, self, |pool| {
            let mut tx = pool.begin_write().await?;
            let spent: Option<(Uuid, String)> = sqlx::query_as(
                "UPDATE account_tokens SET used_at = $2 \
                 WHERE token_hash = $1 AND purpose = 'password_reset' AND used_at IS NULL AND expires_at > $2 \
                 RETURNING user_id, email",
            )
            .bind(token_hash)
            .bind(at)
            .fetch_optional(&mut *tx)
            .await?;
            let Some((user_id, email)) = spent else { return Ok(None) };
            replace_password!(tx, user_id, password_hash, at);
            sqlx::query(
                "UPDATE account_tokens SET used_at = $2 WHERE user_id = $1 AND purpose = 'password_reset' AND used_at IS NULL",
            )
            .bind(user_id)
            .bind(at)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "UPDATE users SET email_verified_at = $3 WHERE id = $1 AND email = $2 AND email_verified_at IS NULL",
            )
            .bind(user_id)
            .bind(&email)
            .bind(at)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "DELETE FROM signin_failures WHERE scope = 'account' AND key = (SELECT email FROM users WHERE id = $1)",
            )
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            user_id
        });
        self.forget_standing().await;
        self.get_user(UserId(user_id)).await.map(Some)
    }

    /// The user's memberships that are in force at `now` (a sitter's ends), oldest first.
    pub async fn active_memberships(&self, user_id: UserId, now: OffsetDateTime) -> Result<Vec<Membership>> {
        let rows: Vec<MembershipRow> = on_pool!(read, self, |pool| {
            sqlx::query_as(concat!(
                membership_select!(),
                " WHERE m.user_id = $1 AND (m.ends_at IS NULL OR m.ends_at > $2) ORDER BY m.created_at, m.household_id"
            ))
            .bind(user_id.0)
            .bind(to_ms(now))
            .fetch_all(pool)
            .await?
        });
        rows.into_iter().map(MembershipRow::into_membership).collect()
    }

    /// The user's membership of one household, if it is in force at `now`.
    pub async fn active_membership(
        &self,
        user_id: UserId,
        household_id: HouseholdId,
        now: OffsetDateTime,
    ) -> Result<Option<Membership>> {
        let row: Option<MembershipRow> = on_pool!(read, self, |pool| {
            sqlx::query_as(concat!(
                membership_select!(),
                " WHERE m.user_id = $1 AND m.household_id = $2 AND (m.ends_at IS NULL OR m.ends_at > $3)"
            ))
            .bind(user_id.0)
            .bind(household_id.0)
            .bind(to_ms(now))
            .fetch_optional(pool)
            .await?
        });
        row.map(MembershipRow::into_membership).transpose()
    }

    /// Everyone in the household, including sitters whose time has ended.
    pub async fn list_members(&self, household_id: HouseholdId) -> Result<Vec<Member>> {
        let rows: Vec<MemberRow> = on_pool!(read, self, |pool| {
            sqlx::query_as(concat!(
                "SELECT ",
                user_columns!(),
                ", m.role, m.ends_at, m.created_at AS joined_at \
                 FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.household_id = $1 ORDER BY m.created_at"
            ))
            .bind(household_id.0)
            .fetch_all(pool)
            .await?
        });
        rows.into_iter()
            .map(|r| {
                Ok(Member {
                    user: r.user.into_user()?,
                    role: parse_role(&r.role)?,
                    ends_at: from_ms_opt(r.ends_at)?,
                    joined_at: from_ms(r.joined_at)?,
                })
            })
            .collect()
    }

    /// Removes a member and revokes the sessions they hold for this household and the API keys
    /// they made in it; their access tokens stop working at once (they have no [`Standing`]).
    /// The last owner cannot be removed (`Conflict`).
    pub async fn remove_member(&self, household_id: HouseholdId, user_id: UserId, now: OffsetDateTime) -> Result<()> {
        on_pool!(write, self, |pool| {
            let mut tx = pool.begin_write().await?;
            let owners: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM memberships WHERE household_id = $1 AND role = 'owner' AND user_id <> $2",
            )
            .bind(household_id.0)
            .bind(user_id.0)
            .fetch_one(&mut *tx)
            .await?;
            if owners == 0 {
                return Err(StoreError::Conflict("the household's last owner"));
            }
            let done = sqlx::query("DELETE FROM memberships WHERE household_id = $1 AND user_id = $2")
                .bind(household_id.0)
                .bind(user_id.0)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if done != 1 {
                return Err(StoreError::NotFound);
            }
            sqlx::query(
                "UPDATE refresh_tokens SET revoked_at = $3 WHERE household_id = $1 AND user_id = $2 AND revoked_at IS NULL",
            )
            .bind(household_id.0)
            .bind(user_id.0)
            .bind(to_ms(now))
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "UPDATE web_sessions SET revoked_at = $3 WHERE household_id = $1 AND user_id = $2 AND revoked_at IS NULL",
            )
            .bind(household_id.0)
            .bind(user_id.0)
            .bind(to_ms(now))
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "UPDATE api_keys SET revoked_at = $3 WHERE household_id = $1 AND created_by = $2 AND revoked_at IS NULL",
            )
            .bind(household_id.0)
            .bind(user_id.0)
            .bind(to_ms(now))
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
        });
        self.forget_standing().await;
        Ok(())
    }

    /// Changes a member's role (and a sitter's end); if either changed, every access token they
    /// hold for this household is refused from `now` (they refresh to get one with the new role), and their
    /// API keys can do no more than the new role. The last owner keeps the role (`Conflict`).
    pub async fn set_member_role(
        &self,
        household_id: HouseholdId,
        user_id: UserId,
        role: Role,
        ends_at: Option<OffsetDateTime>,
        now: OffsetDateTime,
    ) -> Result<Membership> {
        let row: MembershipRow = on_pool!(write, self, |pool| {
            let mut tx = pool.begin_write().await?;
            if role != Role::Owner {
                let owners: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM memberships WHERE household_id = $1 AND role = 'owner' AND user_id <> $2",
                )
                .bind(household_id.0)
                .bind(user_id.0)
                .fetch_one(&mut *tx)
                .await?;
                if owners == 0 {
                    return Err(StoreError::Conflict("the household's last owner"));
                }
            }
            // Tokens are refused only when something changed: saying again what holds already
            // must not sign the member out.
            let done = sqlx::query(
                "UPDATE memberships SET role = $3, ends_at = $4, tokens_valid_after = CASE \
                 WHEN role <> $3 OR COALESCE(ends_at, -1) <> COALESCE($4, -1) THEN $5 ELSE tokens_valid_after END \
                 WHERE household_id = $1 AND user_id = $2",
            )
            .bind(household_id.0)
            .bind(user_id.0)
            .bind(role.as_str())
            .bind(ends_at.map(to_ms))
            .bind(to_ms(now))
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if done != 1 {
                return Err(StoreError::NotFound);
            }
            let row = sqlx::query_as(concat!(membership_select!(), " WHERE m.household_id = $1 AND m.user_id = $2"))
                .bind(household_id.0)
                .bind(user_id.0)
                .fetch_one(&mut *tx)
                .await?;
            tx.commit().await?;
            row
        });
        self.forget_standing().await;
        row.into_membership()
    }

    /// The user's standing in the household, for checking an access token: `None` if they are
    /// not a member (any more). Answered from memory in the common case; every write that
    /// changes it forgets it here and, on PostgreSQL, on every node.
    pub async fn standing(&self, user_id: UserId, household_id: HouseholdId) -> Result<Option<Standing>> {
        let key = (user_id, household_id);
        if let Some(hit) = self.standing.get(&key) {
            return Ok(hit);
        }
        // Every authenticated request awaits this; the miss is boxed so that the hit's future
        // (and every caller's) stays small.
        Box::pin(self.load_standing(user_id, household_id)).await
    }

    async fn load_standing(&self, user_id: UserId, household_id: HouseholdId) -> Result<Option<Standing>> {
        let key = (user_id, household_id);
        let generation = self.standing.generation();
        type Row = (String, Option<i64>, i64, i64);
        let (row, families): (Option<Row>, Vec<Uuid>) = on_pool!(read, self, |pool| {
            let row = sqlx::query_as(
                "SELECT m.role, m.ends_at, m.tokens_valid_after, u.tokens_valid_after \
                 FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.household_id = $1 AND m.user_id = $2",
            )
            .bind(household_id.0)
            .bind(user_id.0)
            .fetch_optional(pool)
            .await?;
            let families = if row.is_some() {
                sqlx::query_scalar(
                    "SELECT family_id FROM refresh_tokens WHERE user_id = $1 AND household_id = $2 \
                     AND revoked_at IS NOT NULL GROUP BY family_id ORDER BY MAX(revoked_at) DESC LIMIT $3",
                )
                .bind(user_id.0)
                .bind(household_id.0)
                .bind(REVOKED_FAMILIES_KEPT)
                .fetch_all(pool)
                .await?
            } else {
                Vec::new()
            };
            (row, families)
        });
        let revoked_families: std::sync::Arc<[TokenFamilyId]> = families.into_iter().map(TokenFamilyId).collect();
        let found = row
            .map(|(role, ends_at, membership_after, user_after)| -> Result<Standing> {
                Ok(Standing {
                    role: parse_role(&role)?,
                    ends_at: from_ms_opt(ends_at)?,
                    tokens_valid_after: from_ms(membership_after.max(user_after))?,
                    revoked_families: revoked_families.clone(),
                })
            })
            .transpose()?;
        if let Some(generation) = generation {
            self.standing.put(key, found.clone(), generation);
        }
        Ok(found)
    }

    /// After a committed change to memberships or token stamps: forget standings here and, on
    /// PostgreSQL, tell the other nodes to do the same.
    pub(crate) async fn forget_standing(&self) {
        crate::cache::Invalidate::forget(&*self.standing);
        crate::cache::Invalidate::forget(&*self.api_keys);
        if let crate::Backend::Postgres(pool) = &self.backend
            && let Err(e) =
                sqlx::query("SELECT pg_notify($1, '')").bind(crate::cache::STANDING_CHANNEL).execute(pool).await
        {
            // The change is committed; a node that misses this has lost its listening
            // connection too, and does not use its cache until it listens again.
            tracing::error!(error = %e, "could not announce a change of standing to the other nodes");
        }
    }

    pub async fn insert_refresh_token(&self, token: &NewRefreshToken, now: OffsetDateTime) -> Result<()> {
        on_pool!(write, self, |pool| {
            sqlx::query(
                "INSERT INTO refresh_tokens (id, family_id, user_id, household_id, token_hash, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(Uuid::now_v7())
            .bind(token.family_id.0)
            .bind(token.user_id.0)
            .bind(token.household_id.0)
            .bind(&token.token_hash)
            .bind(to_ms(now))
            .bind(to_ms(token.expires_at))
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// Spends the refresh token whose hash is `presented` and stores `successor_hash` in its
    /// family. A token that was already spent revokes the whole family: whoever holds a copy of
    /// an old token is not the legitimate client.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn rotate_refresh_token(
        &self,
        presented: &[u8],
        successor_hash: &[u8],
        successor_expires_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<RefreshOutcome> {
        let at = to_ms(now);
        on_pool!(write, self, |pool| {
            let mut tx = pool.begin_write().await?;
            let row: Option<RefreshRow> = sqlx::query_as(
                "SELECT id, family_id, user_id, household_id, expires_at, rotated_at, revoked_at FROM refresh_tokens WHERE token_hash = $1",
            )
            .bind(presented)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(row) = row else { return Ok(RefreshOutcome::Rejected) };
            let reused = if row.revoked_at.is_some() || row.expires_at <= at {
                return Ok(RefreshOutcome::Rejected);
            } else if row.rotated_at.is_some() {
                true
            } else {
                // Two clients racing with the same token: only one of them spends it.
                sqlx::query("UPDATE refresh_tokens SET rotated_at = $2 WHERE id = $1 AND rotated_at IS NULL")
                    .bind(row.id)
                    .bind(at)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected()
                    == 0
            };
            if reused {
                sqlx::query("UPDATE refresh_tokens SET revoked_at = $2 WHERE family_id = $1 AND revoked_at IS NULL")
                    .bind(row.family_id)
                    .bind(at)
                    .execute(&mut *tx)
                    .await?;
                // Whoever replayed it may hold access tokens of that sign-in too.
                sqlx::query("UPDATE memberships SET tokens_valid_after = $3 WHERE household_id = $1 AND user_id = $2")
                    .bind(row.household_id)
                    .bind(row.user_id)
                    .bind(at)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                self.forget_standing().await;
                return Ok(RefreshOutcome::Reused {
                    user_id: UserId(row.user_id),
                    family_id: TokenFamilyId(row.family_id),
                });
            }
            sqlx::query(
                "INSERT INTO refresh_tokens (id, family_id, user_id, household_id, token_hash, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(Uuid::now_v7())
            .bind(row.family_id)
            .bind(row.user_id)
            .bind(row.household_id)
            .bind(successor_hash)
            .bind(at)
            .bind(to_ms(successor_expires_at))
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(RefreshOutcome::Rotated {
                user_id: UserId(row.user_id),
                household_id: HouseholdId(row.household_id),
                family_id: TokenFamilyId(row.family_id),
            })
        })
    }

    /// Revokes the family that the token with this hash belongs to (sign-out), and refuses
    /// every access token its user holds for its household issued before `now` (access tokens
    /// do not name their family; the user's other sign-ins refresh theirs). Returns whether a
    /// live family was found.
    pub async fn revoke_refresh_family_of(&self, token_hash: &[u8], now: OffsetDateTime) -> Result<bool> {
        let at = to_ms(now);
        let done = on_pool!(write, self, |pool| {
            let mut tx = pool.begin_write().await?;
            let done = sqlx::query(
                "UPDATE refresh_tokens SET revoked_at = $2 WHERE revoked_at IS NULL AND family_id = \
                 (SELECT family_id FROM refresh_tokens WHERE token_hash = $1)",
            )
            .bind(token_hash)
            .bind(at)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if done > 0 {
                sqlx::query(
                    "UPDATE memberships SET tokens_valid_after = $2 WHERE EXISTS (SELECT 1 FROM refresh_tokens r \
                     WHERE r.token_hash = $1 AND r.household_id = memberships.household_id AND r.user_id = memberships.user_id)",
                )
                .bind(token_hash)
                .bind(at)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            done
        });
        if done > 0 {
            self.forget_standing().await;
        }
        Ok(done > 0)
    }

    pub async fn create_api_key(&self, new: &NewApiKey, now: OffsetDateTime) -> Result<ApiKey> {
        let row: ApiKeyRow = on_pool!(write, self, |pool| {
            sqlx::query_as(concat!(
                "INSERT INTO api_keys (id, household_id, created_by, name, prefix, key_hash, scope, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING ",
                api_key_columns!()
            ))
            .bind(Uuid::now_v7())
            .bind(new.household_id.0)
            .bind(new.created_by.map(|u| u.0))
            .bind(&new.name)
            .bind(&new.prefix)
            .bind(&new.key_hash)
            .bind(new.scope.as_str())
            .bind(to_ms(now))
            .fetch_one(pool)
            .await?
        });
        row.into_api_key()
    }

    pub async fn list_api_keys(&self, household_id: HouseholdId) -> Result<Vec<ApiKey>> {
        let rows: Vec<ApiKeyRow> = on_pool!(read, self, |pool| {
            sqlx::query_as(concat!(
                "SELECT ",
                api_key_columns!(),
                " FROM api_keys WHERE household_id = $1 ORDER BY created_at DESC"
            ))
            .bind(household_id.0)
            .fetch_all(pool)
            .await?
        });
        rows.into_iter().map(ApiKeyRow::into_api_key).collect()
    }

    pub async fn revoke_api_key(&self, household_id: HouseholdId, id: ApiKeyId, now: OffsetDateTime) -> Result<()> {
        let done = on_pool!(write, self, |pool| {
            sqlx::query(
                "UPDATE api_keys SET revoked_at = $3 WHERE household_id = $1 AND id = $2 AND revoked_at IS NULL",
            )
            .bind(household_id.0)
            .bind(id.0)
            .bind(to_ms(now))
            .execute(pool)
            .await?
            .rows_affected()
        });
        if done != 1 {
            return Err(StoreError::NotFound);
        }
        self.forget_standing().await;
        Ok(())
    }

    /// The live key with this hash, if any: not revoked, and its maker still a member at `now`
    /// (a sitter's keys end with their time). Its `scope` is what it may do now: no more than
    /// its maker's role allows; a key whose maker became a vet is no key.
    pub async fn find_api_key(&self, key_hash: &[u8], now: OffsetDateTime) -> Result<Option<ApiKey>> {
        // Every request an integration makes is authenticated here: the key, as its maker's
        // membership shapes it, is kept in memory and forgotten with members' standing (a key
        // revoked, a member removed or given another role), so it costs no round trip.
        let live = |found: &CachedApiKey| found.maker_ends_at.is_none_or(|end| end > to_ms(now));
        if let Some(hit) = self.api_keys.get(key_hash) {
            return Ok(live(&hit).then_some(hit.key));
        }
        let generation = self.api_keys.generation();
        let row: Option<KeyWithMakerRow> = on_pool!(read, self, |pool| {
            sqlx::query_as::<_, KeyWithMakerRow>(
                "SELECT k.id, k.household_id, k.created_by, k.name, k.prefix, k.scope, k.created_at, \
                 k.last_used_at, k.revoked_at, m.role AS maker_role, m.ends_at AS maker_ends_at \
                 FROM api_keys k LEFT JOIN memberships m ON m.household_id = k.household_id AND m.user_id = k.created_by \
                 WHERE k.key_hash = $1 AND k.revoked_at IS NULL AND (k.created_by IS NULL OR m.user_id IS NOT NULL)",
            )
            .bind(key_hash)
            .fetch_optional(pool)
            .await?
        });
        let found = match row {
            None => None,
            Some(KeyWithMakerRow { key: row, maker_role, maker_ends_at }) => {
                let mut key = row.into_api_key()?;
                let scope = match maker_role {
                    Some(role) => key.scope.capped_at(parse_role(&role)?),
                    None => Some(key.scope),
                };
                // `None`: its maker is a vet now, who sees only the pets shared with them.
                scope.map(|scope| {
                    key.scope = scope;
                    CachedApiKey { key, maker_ends_at }
                })
            }
        };
        if let (Some(generation), Some(found)) = (generation, &found) {
            self.api_keys.put(key_hash.to_vec(), found.clone(), generation);
        }
        Ok(found.filter(|found| live(found)).map(|found| found.key))
    }

    /// Records that a key was used, at most once a minute so busy integrations do not turn
    /// every read into a write.
    pub async fn touch_api_key(&self, id: ApiKeyId, now: OffsetDateTime) -> Result<()> {
        let at = to_ms(now);
        on_pool!(write, self, |pool| {
            sqlx::query(
                "UPDATE api_keys SET last_used_at = $2 WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $3)",
            )
            .bind(id.0)
            .bind(at)
            .bind(at - 60_000)
            .execute(pool)
            .await?;
        });
        // What the key reads back here says when it was last used, as the list does.
        self.api_keys.update_each(|cached| {
            if cached.key.id == id && cached.key.last_used_at.is_none_or(|last| to_ms(last) < at - 60_000) {
                cached.key.last_used_at = Some(now);
            }
        });
        Ok(())
    }

    pub async fn create_web_session(
        &self,
        token_hash: &[u8],
        user_id: UserId,
        household_id: HouseholdId,
        expires_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<WebSession> {
        let id = SessionId::new();
        on_pool!(write, self, |pool| {
            sqlx::query(
                "INSERT INTO web_sessions (id, token_hash, user_id, household_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(id.0)
            .bind(token_hash)
            .bind(user_id.0)
            .bind(household_id.0)
            .bind(to_ms(now))
            .bind(to_ms(expires_at))
            .execute(pool)
            .await?;
        });
        Ok(WebSession { id, user_id, household_id, expires_at })
    }

    /// The live session with this token hash, if its user is still a member of its household.
    pub async fn find_web_session(&self, token_hash: &[u8], now: OffsetDateTime) -> Result<Option<WebSession>> {
        let row: Option<(Uuid, Uuid, Uuid, i64)> = on_pool!(read, self, |pool| {
            sqlx::query_as(
                "SELECT s.id, s.user_id, s.household_id, s.expires_at FROM web_sessions s \
                 JOIN memberships m ON m.household_id = s.household_id AND m.user_id = s.user_id \
                 WHERE s.token_hash = $1 AND s.revoked_at IS NULL AND s.expires_at > $2 AND (m.ends_at IS NULL OR m.ends_at > $2)",
            )
            .bind(token_hash)
            .bind(to_ms(now))
            .fetch_optional(pool)
            .await?
        });
        row.map(|(id, user_id, household_id, expires_at)| {
            Ok(WebSession {
                id: SessionId(id),
                user_id: UserId(user_id),
                household_id: HouseholdId(household_id),
                expires_at: from_ms(expires_at)?,
            })
        })
        .transpose()
    }

    pub async fn revoke_web_session(&self, id: SessionId, now: OffsetDateTime) -> Result<()> {
        on_pool!(write, self, |pool| {
            sqlx::query("UPDATE web_sessions SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
                .bind(id.0)
                .bind(to_ms(now))
                .execute(pool)
                .await?;
        });
        Ok(())
    }
}
