//! `/api/v1/auth/*` and `/api/v1/me`: registration, sign-in (behind the throttles, with
//! trusted-device tokens), token refresh and sign-out, password change and reset, email
//! verification, and who the caller is.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use petty_core::accounts::{Email, EmailVerification, NewPassword};
use petty_core::ids::HouseholdId;
use petty_store::{Membership, User};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::accounts::{self, Registration, SignIn, TokenPair};
use crate::auth::{CurrentActor, TRUSTED_DEVICE_MAX_LEN, hash_password_async, secret_hash, verify_password_async};
use crate::error::{ApiError, ErrorBody, ErrorCode};
use crate::extract::{ApiJson, Origin};
use crate::state::AppState;
use crate::stepup::StepUp;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register))
        .routes(routes!(login))
        .routes(routes!(refresh))
        .routes(routes!(logout))
        .routes(routes!(change_password))
        .routes(routes!(request_password_reset))
        .routes(routes!(confirm_password_reset))
        .routes(routes!(verify_email))
        .routes(routes!(resend_verification))
        .routes(routes!(me))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RegisterIn {
    #[schema(max_length = 254, example = "ana@example.org")]
    pub email: String,
    /// 10 to 256 characters, not all the same few, without the email's name, and not one of the
    /// 30,000 most common breached passwords (nor one with up to four digits or symbols added).
    #[schema(min_length = 10, max_length = 256)]
    pub password: String,
    /// How the rest of the household sees you (1–100 characters).
    #[schema(min_length = 1, max_length = 100)]
    pub display_name: String,
    /// The new household's name (1–100 characters); defaults to "<display name>'s household".
    #[schema(max_length = 100)]
    pub household_name: Option<String>,
    /// Join an existing household instead of creating one.
    #[schema(max_length = 100)]
    pub invitation_token: Option<String>,
}

/// The answer to a registration: the same for every address, new or taken.
#[derive(Serialize, ToSchema)]
pub(crate) struct RegisteredOut {
    /// Always "accepted".
    pub status: &'static str,
    /// "required": confirm the address with the emailed link before signing in; "optional":
    /// sign in now (the address is confirmed with the emailed link when email is configured).
    pub email_verification: &'static str,
    /// What to do next, in words.
    pub message: &'static str,
}

/// The answer to a request that mails a link: the same whether or not the address has an
/// account.
#[derive(Serialize, ToSchema)]
pub(crate) struct AcceptedOut {
    /// Always "accepted".
    pub status: &'static str,
    pub message: &'static str,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LoginIn {
    #[schema(max_length = 254)]
    pub email: String,
    #[schema(max_length = 256)]
    pub password: String,
    /// Act in this household (default: your oldest active membership).
    pub household_id: Option<Uuid>,
    /// The `trusted_device_token` of this client's previous sign-in to this account: with it,
    /// failed sign-ins by others (to this account, or from this address) do not hold this
    /// client back; only its own failures do.
    #[schema(max_length = 100)]
    pub trusted_device_token: Option<String>,
    /// For an account with MFA on: the 6 digits of the authenticator app, or one of the
    /// backup codes (`abcd-ef23`, each works once).
    #[schema(max_length = 20)]
    pub mfa_code: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct EmailIn {
    #[schema(max_length = 254, example = "ana@example.org")]
    pub email: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PasswordResetConfirmIn {
    /// The `token` of the link in the reset mail (works once, for an hour by default).
    #[schema(max_length = 100)]
    pub token: String,
    /// The rules of `password` at registration.
    #[schema(min_length = 10, max_length = 256)]
    pub new_password: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct VerifyEmailIn {
    /// The `token` of the link in the verification mail (works once, for two days by default).
    #[schema(max_length = 100)]
    pub token: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RefreshIn {
    pub refresh_token: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ChangePasswordIn {
    #[schema(max_length = 256)]
    pub current_password: String,
    #[schema(min_length = 10, max_length = 256)]
    pub new_password: String,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct UserOut {
    pub id: Uuid,
    pub email: String,
    pub display_name: String,
    /// Whether the account proved it receives mail at `email` (the link in the verification
    /// mail; a password reset proves it too).
    pub email_verified: bool,
    #[serde(serialize_with = "crate::rfc3339::serialize")]
    pub created_at: OffsetDateTime,
}

impl From<User> for UserOut {
    fn from(u: User) -> Self {
        Self {
            id: u.id.0,
            email: u.email,
            display_name: u.display_name,
            email_verified: u.email_verified_at.is_some(),
            created_at: u.created_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub(crate) struct MembershipOut {
    pub household_id: Uuid,
    pub household_name: String,
    /// owner, member, sitter or vet.
    pub role: String,
    /// When a sitter's access ends.
    #[serde(with = "crate::rfc3339::option")]
    pub ends_at: Option<OffsetDateTime>,
}

impl From<Membership> for MembershipOut {
    fn from(m: Membership) -> Self {
        Self {
            household_id: m.household_id.0,
            household_name: m.household_name,
            role: m.role.as_str().to_owned(),
            ends_at: m.ends_at,
        }
    }
}

/// Tokens and who they belong to.
#[derive(Serialize, ToSchema)]
pub(crate) struct SessionOut {
    /// Send as `Authorization: Bearer <access_token>`.
    pub access_token: String,
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// Single use: exchange at `/api/v1/auth/refresh` for a new pair.
    pub refresh_token: String,
    pub refresh_expires_in: u64,
    /// After a sign-in or a password change: keep it, and send it as `trusted_device_token` when
    /// this client signs in to this account again (valid for 180 days by default, and until the
    /// password changes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trusted_device_token: Option<String>,
    pub user: UserOut,
    pub membership: MembershipOut,
}

fn session(tokens: TokenPair, user: User, membership: Membership, trusted_device: Option<String>) -> SessionOut {
    SessionOut {
        access_token: tokens.access_token,
        token_type: "Bearer",
        expires_in: tokens.access_expires_in,
        refresh_token: tokens.refresh_token,
        refresh_expires_in: tokens.refresh_expires_in,
        trusted_device_token: trusted_device,
        user: user.into(),
        membership: membership.into(),
    }
}

/// Create an account. Without an invitation it creates a household owned by the new user.
/// The answer is the same for an address that already has an account (its owner is emailed
/// instead), so it gives no tokens: sign in next (under `required` email verification, after
/// following the link in the verification mail).
#[utoipa::path(post, path = "/api/v1/auth/register", tag = "auth", request_body = RegisterIn,
    responses(
        (status = 202, description = "Accepted: sign in next (or confirm the address first)", body = RegisteredOut),
        (status = 422, description = "A field breaks a rule (details name each); also an unknown or spent invitation", body = ErrorBody)))]
async fn register(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<RegisterIn>,
) -> Result<(StatusCode, Json<RegisteredOut>), ApiError> {
    accounts::register(
        &state,
        Registration {
            email: body.email,
            password: body.password,
            display_name: body.display_name,
            household_name: body.household_name,
            invitation_token: body.invitation_token,
        },
    )
    .await?;
    let verification = state.config.email_verification;
    let message = match (verification, state.app.notifier.can_email()) {
        (EmailVerification::Required, _) => {
            "Check your email: follow the link we sent to confirm the address, then sign in."
        }
        (EmailVerification::Optional, true) => {
            "Done: sign in with your email and password. We also sent a message to the address."
        }
        (EmailVerification::Optional, false) => "Done: sign in with your email and password.",
    };
    Ok((
        StatusCode::ACCEPTED,
        Json(RegisteredOut { status: "accepted", email_verification: verification.as_str(), message }),
    ))
}

/// Sign in with email and password. Failed attempts slow down further ones, exponentially:
/// from one client address (429 `rate_limited`) and for one email, whether or not it has an
/// account (429 `account_locked`), both with `Retry-After`. A client that presents the
/// `trusted_device_token` of its earlier sign-in to this account is held back by neither, only
/// by its own failures (after 10 within an hour its token counts as absent for a while).
/// An account with MFA on also needs `mfa_code`: without it 401 `mfa_required`, a wrong or
/// spent one 401 `invalid_mfa_code`, which counts as a failed sign-in.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginIn,
    responses(
        (status = 200, description = "Signed in, with a new trusted-device token", body = SessionOut),
        (status = 401, description = "`invalid_credentials`: the email or password is wrong (under `required` verification, also an unverified address); `mfa_required`: send `mfa_code`; `invalid_mfa_code`: the code is wrong, spent or expired", body = ErrorBody),
        (status = 403, description = "No active membership of that household", body = ErrorBody),
        (status = 422, description = "The email is malformed, or a field of the wrong type", body = ErrorBody),
        (status = 429, description = "`rate_limited` (this address) or `account_locked` (this email): wait `Retry-After` seconds", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait")))))]
async fn login(
    State(state): State<AppState>,
    origin: Origin,
    ApiJson(body): ApiJson<LoginIn>,
) -> Result<Json<SessionOut>, ApiError> {
    let client = origin.0;
    let trusted_device = body.trusted_device_token.as_deref().filter(|t| t.len() <= TRUSTED_DEVICE_MAX_LEN);
    let signed_in = accounts::sign_in(
        &state,
        SignIn {
            email: &body.email,
            password: &body.password,
            household_id: body.household_id.map(HouseholdId),
            client,
            trusted_device,
            mfa_code: body.mfa_code.as_deref(),
            user_agent: origin.1.as_deref(),
        },
    )
    .await?;
    let tokens = accounts::issue_tokens_from(&state, &signed_in.membership, &origin.client_origin()).await?;
    Ok(Json(session(tokens, signed_in.user, signed_in.membership, Some(signed_in.trusted_device))))
}

/// Exchange a refresh token for a new pair. Each refresh token works once; presenting a spent
/// one revokes every token of that sign-in (401 `refresh_token_reused`).
#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = "auth", request_body = RefreshIn,
    responses((status = 200, body = SessionOut), (status = 401, body = ErrorBody)))]
async fn refresh(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<RefreshIn>,
) -> Result<Json<SessionOut>, ApiError> {
    let (tokens, membership) = accounts::refresh(&state, &body.refresh_token).await?;
    let user = state.store.get_user(membership.user_id).await?;
    Ok(Json(session(tokens, user, membership, None)))
}

/// Sign out: revokes the refresh token and every token of the same sign-in.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", request_body = RefreshIn,
    responses((status = 204), (status = 422, body = ErrorBody)))]
async fn logout(State(state): State<AppState>, ApiJson(body): ApiJson<RefreshIn>) -> Result<StatusCode, ApiError> {
    state.store.revoke_refresh_family_of(&secret_hash(body.refresh_token.trim()), OffsetDateTime::now_utc()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Change your password. Signs you out everywhere else and returns a fresh pair of tokens and a
/// new trusted-device token (the old ones are retired with the old password). With MFA on, send
/// a fresh code in `X-MFA-Code`.
#[utoipa::path(post, path = "/api/v1/auth/password", tag = "auth", request_body = ChangePasswordIn,
    params(("X-MFA-Code" = Option<String>, Header, description = "With MFA on: a fresh code of the authenticator app or a backup code")),
    responses(
        (status = 200, body = SessionOut),
        (status = 401, description = "Not signed in, the current password is wrong, or (MFA on) `mfa_required` / `invalid_mfa_code`", body = ErrorBody),
        (status = 403, description = "An API key cannot change a password", body = ErrorBody),
        (status = 422, description = "The new password breaks a rule", body = ErrorBody),
        (status = 429, description = "Too many requests", body = ErrorBody)),
    security(("bearer" = [])))]
async fn change_password(
    State(state): State<AppState>,
    origin: Origin,
    StepUp(actor): StepUp,
    ApiJson(body): ApiJson<ChangePasswordIn>,
) -> Result<Json<SessionOut>, ApiError> {
    let (user_id, _) = actor.user()?;
    let credentials = state.store.user_credentials(user_id).await?;
    if !verify_password_async(body.current_password, credentials.password_hash).await? {
        return Err(ApiError::field(
            ErrorCode::InvalidCredentials,
            "current_password",
            "mismatch",
            "the current password is wrong",
        ));
    }
    let email = Email::parse("email", &credentials.user.email)?;
    let new_password = NewPassword::parse("new_password", &body.new_password, Some(&email))?;
    let hash = hash_password_async(new_password.expose().to_owned()).await?;
    let now = OffsetDateTime::now_utc();
    state.store.set_password_hash(user_id, &hash, now).await?;
    let membership = state
        .store
        .active_membership(user_id, actor.0.household_id, now)
        .await?
        .ok_or_else(|| ApiError::unauthenticated("your membership of this household has ended"))?;
    let tokens = accounts::issue_tokens_from(&state, &membership, &origin.client_origin()).await?;
    let trusted_device = accounts::issue_trusted_device(&state, user_id, &origin.client_origin()).await?;
    Ok(Json(session(tokens, credentials.user, membership, Some(trusted_device))))
}

const RESET_ACCEPTED: &str = "If an account uses this address, a link to choose a new password is on its way there. \
                              It works once, for a limited time.";
const VERIFY_ACCEPTED: &str = "If an account uses this address and it is not confirmed yet, a new link to \
                               confirm it is on its way there.";

/// Ask for a password-reset link by email. The answer is the same whether or not the address
/// has an account (only an account's address gets a mail; nothing is sent when this server has
/// no SMTP server). The link opens `/reset-password?token=...`; an address gets at most 5
/// account mails an hour.
#[utoipa::path(post, path = "/api/v1/auth/password-reset", tag = "auth", request_body = EmailIn,
    responses(
        (status = 202, description = "Accepted, for every well-formed address", body = AcceptedOut),
        (status = 422, description = "The email is malformed", body = ErrorBody)))]
async fn request_password_reset(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<EmailIn>,
) -> Result<(StatusCode, Json<AcceptedOut>), ApiError> {
    accounts::request_password_reset(&state, &body.email).await?;
    Ok((StatusCode::ACCEPTED, Json(AcceptedOut { status: "accepted", message: RESET_ACCEPTED })))
}

/// Set a new password with the token from a reset mail. The token works once; every sign-in of
/// the account ends at once (refresh tokens, dashboard sessions, and access tokens from their
/// next request), failed sign-ins for the account are forgotten, and the address counts as
/// verified. Sign in afterwards.
#[utoipa::path(post, path = "/api/v1/auth/password-reset/confirm", tag = "auth", request_body = PasswordResetConfirmIn,
    responses(
        (status = 204, description = "The password is set; sign in with it"),
        (status = 422, description = "`token` is unknown, spent or expired, or `new_password` breaks a rule", body = ErrorBody)))]
async fn confirm_password_reset(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<PasswordResetConfirmIn>,
) -> Result<StatusCode, ApiError> {
    accounts::confirm_password_reset(&state, &body.token, &body.new_password).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Confirm an account's email address with the token from a verification mail (it works once).
#[utoipa::path(post, path = "/api/v1/auth/verify-email", tag = "auth", request_body = VerifyEmailIn,
    responses(
        (status = 204, description = "The address is verified"),
        (status = 422, description = "`token` is unknown, spent or expired", body = ErrorBody)))]
async fn verify_email(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<VerifyEmailIn>,
) -> Result<StatusCode, ApiError> {
    accounts::verify_email(&state, &body.token).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Ask for a new verification link. The answer is the same for every address (the mail goes
/// only to an account whose address is not verified yet).
#[utoipa::path(post, path = "/api/v1/auth/verify-email/resend", tag = "auth", request_body = EmailIn,
    responses(
        (status = 202, description = "Accepted, for every well-formed address", body = AcceptedOut),
        (status = 422, description = "The email is malformed", body = ErrorBody)))]
async fn resend_verification(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<EmailIn>,
) -> Result<(StatusCode, Json<AcceptedOut>), ApiError> {
    accounts::resend_verification(&state, &body.email).await?;
    Ok((StatusCode::ACCEPTED, Json(AcceptedOut { status: "accepted", message: VERIFY_ACCEPTED })))
}

#[derive(Serialize, ToSchema)]
pub(crate) struct MeOut {
    /// Absent when the caller is an API key.
    pub user: Option<UserOut>,
    pub household_id: Uuid,
    /// The caller's role (a user) or scope (an API key).
    pub role: String,
    /// "user" or "api_key".
    pub principal: &'static str,
    /// Every household the user can act in.
    pub memberships: Vec<MembershipOut>,
    /// Whether the user has multi-factor authentication on (false for an API key).
    pub mfa_enabled: bool,
}

/// Who the caller is, and in which household they act.
#[utoipa::path(get, path = "/api/v1/me", tag = "auth",
    responses((status = 200, body = MeOut), (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
async fn me(State(state): State<AppState>, actor: CurrentActor) -> Result<Json<MeOut>, ApiError> {
    let household_id = actor.0.household_id;
    match actor.0.kind {
        petty_core::accounts::ActorKind::User { user_id, role } => {
            let user = state.store.get_user(user_id).await?;
            let memberships = state.store.active_memberships(user_id, OffsetDateTime::now_utc()).await?;
            Ok(Json(MeOut {
                user: Some(user.into()),
                household_id: household_id.0,
                role: role.as_str().to_owned(),
                principal: "user",
                memberships: memberships.into_iter().map(MembershipOut::from).collect(),
                mfa_enabled: petty_app::mfa::is_enabled(&state.app, user_id).await?,
            }))
        }
        petty_core::accounts::ActorKind::ApiKey { scope, .. } => Ok(Json(MeOut {
            user: None,
            household_id: household_id.0,
            role: scope.as_str().to_owned(),
            principal: "api_key",
            memberships: Vec::new(),
            mfa_enabled: false,
        })),
    }
}
