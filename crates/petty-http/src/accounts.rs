//! Account flows shared by the API and the dashboard: register, sign in (with lockout),
//! issue and rotate tokens. Handlers on both sides call these and only shape the answer.

use petty_core::accounts::{Email, NewPassword, parse_display_name, parse_household_name};
use petty_core::ids::{HouseholdId, TokenFamilyId, UserId};
use petty_core::validation::Collector;
use petty_store::{Membership, NewRefreshToken, NewUser, RefreshOutcome, User};
use time::OffsetDateTime;

use crate::auth::{self, hash_password_async, new_secret, secret_hash, verify_password_async};
use crate::error::{ApiError, ErrorCode};
use crate::state::AppState;

/// What a person fills in to register.
pub struct Registration {
    pub email: String,
    pub password: String,
    pub display_name: String,
    /// Name of the new household; ignored when joining through an invitation.
    pub household_name: Option<String>,
    pub invitation_token: Option<String>,
}

/// Creates the account: a new household it owns, or a place in the inviting household.
pub async fn register(state: &AppState, input: Registration) -> Result<(User, Membership), ApiError> {
    let mut c = Collector::new();
    let email = c.take(Email::parse("email", &input.email));
    let password = c.take(NewPassword::parse("password", &input.password, email.as_ref()));
    let display_name = c.take(parse_display_name("display_name", &input.display_name));
    let invitation = input.invitation_token.as_deref().map(str::trim).filter(|t| !t.is_empty());
    let household_name = match (invitation, input.household_name.as_deref().map(str::trim)) {
        (Some(_), _) => None,
        (None, None | Some("")) => display_name.as_ref().map(|n| format!("{n}'s household")),
        (None, Some(name)) => c.take(parse_household_name("household_name", name)),
    };
    c.finish()?;
    let (Some(email), Some(password), Some(display_name)) = (email, password, display_name) else {
        return Err(ApiError::internal("registration fields missing after validation"));
    };
    let password_hash = hash_password_async(password.expose().to_owned()).await?;
    let new_user = NewUser { email, display_name, password_hash };
    let now = OffsetDateTime::now_utc();
    let result = match invitation {
        Some(token) => {
            state.store.register_with_invitation(&new_user, &secret_hash(token), now).await.map_err(|e| match e {
                petty_store::StoreError::NotFound => ApiError::field(
                    ErrorCode::ValidationFailed,
                    "invitation_token",
                    "invalid",
                    "the invitation is unknown, already used, revoked or expired",
                ),
                other => other.into(),
            })
        }
        None => state
            .store
            .register_owner(&new_user, household_name.as_deref().unwrap_or("Household"), now)
            .await
            .map_err(ApiError::from),
    };
    let (user, membership) = result.map_err(|e| {
        if e.code == ErrorCode::Conflict {
            ApiError::field(
                ErrorCode::Conflict,
                "email",
                "taken",
                "an account with this email already exists; sign in instead",
            )
        } else {
            e
        }
    })?;
    tracing::info!(user_id = %user.id, household_id = %membership.household_id, "account registered");
    Ok((user, membership))
}

/// Checks the password, honouring lockout, and picks the household to act in (the one asked
/// for, or the oldest active membership).
pub async fn sign_in(
    state: &AppState,
    raw_email: &str,
    password: &str,
    household_id: Option<HouseholdId>,
) -> Result<(User, Membership), ApiError> {
    let now = OffsetDateTime::now_utc();
    let email = Email::parse("email", raw_email)?;
    let policy = state.config.lockout;
    let failures = state.store.login_failures_since(&email, now - policy.window).await?;
    if let Some(wait) = policy.locked_for(&failures, now) {
        let secs = wait.whole_seconds().max(1) as u64;
        return Err(ApiError::new(
            ErrorCode::AccountLocked,
            format!(
                "too many failed sign-ins for this email; wait {} minute(s) and try again, or reset the password",
                secs.div_ceil(60)
            ),
        )
        .with_retry_after(secs));
    }
    let credentials = state.store.user_credentials_by_email(&email).await?;
    let hash = credentials.as_ref().map(|c| c.password_hash.clone()).unwrap_or_else(|| auth::decoy_hash().to_owned());
    let matches = verify_password_async(password.to_owned(), hash).await?;
    let user = match (credentials, matches) {
        (Some(c), true) => c.user,
        _ => {
            state.store.record_login_failure(&email, now, now - policy.window).await?;
            return Err(ApiError::new(ErrorCode::InvalidCredentials, "the email or password is wrong"));
        }
    };
    state.store.clear_login_failures(&email).await?;
    let membership = choose_membership(state, user.id, household_id, now).await?;
    Ok((user, membership))
}

async fn choose_membership(
    state: &AppState,
    user_id: UserId,
    household_id: Option<HouseholdId>,
    now: OffsetDateTime,
) -> Result<Membership, ApiError> {
    let found = match household_id {
        Some(h) => state.store.active_membership(user_id, h, now).await?,
        None => state.store.active_memberships(user_id, now).await?.into_iter().next(),
    };
    found.ok_or_else(|| {
        ApiError::forbidden("you have no active membership of that household (a sitter's access may have ended)")
    })
}

/// An access token and a refresh token, as handed to API clients.
pub struct TokenPair {
    pub access_token: String,
    pub access_expires_in: u64,
    pub refresh_token: String,
    pub refresh_expires_in: u64,
}

fn access_token(state: &AppState, membership: &Membership, now: OffsetDateTime) -> Result<String, ApiError> {
    state.keys.issue_access_token(membership.user_id, membership.household_id, membership.role, membership.ends_at, now)
}

/// Starts a new refresh-token family (a new sign-in).
pub async fn issue_tokens(state: &AppState, membership: &Membership) -> Result<TokenPair, ApiError> {
    let now = OffsetDateTime::now_utc();
    let (refresh_token, hash) = new_secret("rt_");
    let ttl = state.config.refresh_token_ttl;
    state
        .store
        .insert_refresh_token(
            &NewRefreshToken {
                family_id: TokenFamilyId::new(),
                user_id: membership.user_id,
                household_id: membership.household_id,
                token_hash: hash,
                expires_at: now + ttl,
            },
            now,
        )
        .await?;
    Ok(TokenPair {
        access_token: access_token(state, membership, now)?,
        access_expires_in: state.keys.access_ttl().as_secs(),
        refresh_token,
        refresh_expires_in: ttl.as_secs(),
    })
}

/// Spends a refresh token for a new pair. A replayed token revokes its whole family.
pub async fn refresh(state: &AppState, presented: &str) -> Result<(TokenPair, Membership), ApiError> {
    let now = OffsetDateTime::now_utc();
    let (successor, successor_hash) = new_secret("rt_");
    let ttl = state.config.refresh_token_ttl;
    let outcome =
        state.store.rotate_refresh_token(&secret_hash(presented.trim()), &successor_hash, now + ttl, now).await?;
    match outcome {
        RefreshOutcome::Rotated { user_id, household_id, .. } => {
            let Some(membership) = state.store.active_membership(user_id, household_id, now).await? else {
                return Err(ApiError::unauthenticated("your membership of this household has ended"));
            };
            Ok((
                TokenPair {
                    access_token: access_token(state, &membership, now)?,
                    access_expires_in: state.keys.access_ttl().as_secs(),
                    refresh_token: successor,
                    refresh_expires_in: ttl.as_secs(),
                },
                membership,
            ))
        }
        RefreshOutcome::Reused { user_id, family_id } => {
            tracing::warn!(%user_id, %family_id, "refresh token reused; family revoked");
            Err(ApiError::new(
                ErrorCode::RefreshTokenReused,
                "this refresh token was already used, so every token from that sign-in is now revoked; sign in again",
            ))
        }
        RefreshOutcome::Rejected => {
            Err(ApiError::unauthenticated("the refresh token is not valid or has expired; sign in again"))
        }
    }
}
