//! `/api/v1/auth/*` and `/api/v1/me`: registration, sign-in, token refresh and sign-out,
//! password change, and who the caller is.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use petty_core::accounts::NewPassword;
use petty_core::ids::HouseholdId;
use petty_store::{Membership, User};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::accounts::{self, Registration, TokenPair};
use crate::auth::{CurrentActor, hash_password_async, secret_hash, verify_password_async};
use crate::error::{ApiError, ErrorBody, ErrorCode};
use crate::extract::ApiJson;
use crate::state::AppState;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register))
        .routes(routes!(login))
        .routes(routes!(refresh))
        .routes(routes!(logout))
        .routes(routes!(change_password))
        .routes(routes!(me))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RegisterIn {
    pub email: String,
    /// At least 10 characters, not all the same few.
    pub password: String,
    /// How the rest of the household sees you (1–100 characters).
    pub display_name: String,
    /// The new household's name; defaults to "<display name>'s household".
    pub household_name: Option<String>,
    /// Join an existing household instead of creating one.
    pub invitation_token: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LoginIn {
    pub email: String,
    pub password: String,
    /// Act in this household (default: your oldest active membership).
    pub household_id: Option<Uuid>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RefreshIn {
    pub refresh_token: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ChangePasswordIn {
    pub current_password: String,
    pub new_password: String,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct UserOut {
    pub id: Uuid,
    pub email: String,
    pub display_name: String,
    #[serde(serialize_with = "crate::rfc3339::serialize")]
    pub created_at: OffsetDateTime,
}

impl From<User> for UserOut {
    fn from(u: User) -> Self {
        Self { id: u.id.0, email: u.email, display_name: u.display_name, created_at: u.created_at }
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
    pub user: UserOut,
    pub membership: MembershipOut,
}

fn session(tokens: TokenPair, user: User, membership: Membership) -> SessionOut {
    SessionOut {
        access_token: tokens.access_token,
        token_type: "Bearer",
        expires_in: tokens.access_expires_in,
        refresh_token: tokens.refresh_token,
        refresh_expires_in: tokens.refresh_expires_in,
        user: user.into(),
        membership: membership.into(),
    }
}

/// Create an account. Without an invitation it creates a household owned by the new user.
#[utoipa::path(post, path = "/api/v1/auth/register", tag = "auth", request_body = RegisterIn,
    responses((status = 201, body = SessionOut), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn register(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<RegisterIn>,
) -> Result<(StatusCode, Json<SessionOut>), ApiError> {
    let (user, membership) = accounts::register(
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
    let tokens = accounts::issue_tokens(&state, &membership).await?;
    Ok((StatusCode::CREATED, Json(session(tokens, user, membership))))
}

/// Sign in with email and password. Five failures within 15 minutes lock the email for a while
/// (429 `account_locked` with `Retry-After`), whether or not an account exists.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginIn,
    responses((status = 200, body = SessionOut), (status = 401, body = ErrorBody),
        (status = 403, description = "No active membership of that household", body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn login(State(state): State<AppState>, ApiJson(body): ApiJson<LoginIn>) -> Result<Json<SessionOut>, ApiError> {
    let (user, membership) =
        accounts::sign_in(&state, &body.email, &body.password, body.household_id.map(HouseholdId)).await?;
    let tokens = accounts::issue_tokens(&state, &membership).await?;
    Ok(Json(session(tokens, user, membership)))
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
    Ok(Json(session(tokens, user, membership)))
}

/// Sign out: revokes the refresh token and every token of the same sign-in.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", request_body = RefreshIn,
    responses((status = 204), (status = 422, body = ErrorBody)))]
async fn logout(State(state): State<AppState>, ApiJson(body): ApiJson<RefreshIn>) -> Result<StatusCode, ApiError> {
    state.store.revoke_refresh_family_of(&secret_hash(body.refresh_token.trim()), OffsetDateTime::now_utc()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Change your password. Signs you out everywhere else and returns a fresh pair of tokens.
#[utoipa::path(post, path = "/api/v1/auth/password", tag = "auth", request_body = ChangePasswordIn,
    responses((status = 200, body = SessionOut), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn change_password(
    State(state): State<AppState>,
    actor: CurrentActor,
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
    let email = petty_core::accounts::Email::parse("email", &credentials.user.email)?;
    let new_password = NewPassword::parse("new_password", &body.new_password, Some(&email))?;
    let hash = hash_password_async(new_password.expose().to_owned()).await?;
    let now = OffsetDateTime::now_utc();
    state.store.set_password_hash(user_id, &hash, now).await?;
    let membership = state
        .store
        .active_membership(user_id, actor.0.household_id, now)
        .await?
        .ok_or_else(|| ApiError::unauthenticated("your membership of this household has ended"))?;
    let tokens = accounts::issue_tokens(&state, &membership).await?;
    Ok(Json(session(tokens, credentials.user, membership)))
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
            }))
        }
        petty_core::accounts::ActorKind::ApiKey { scope, .. } => Ok(Json(MeOut {
            user: None,
            household_id: household_id.0,
            role: scope.as_str().to_owned(),
            principal: "api_key",
            memberships: Vec::new(),
        })),
    }
}
