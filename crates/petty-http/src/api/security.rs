//! `/api/v1/auth/mfa*`, `/api/v1/auth/sessions*`, `/api/v1/auth/logins` and `/api/v1/audit`:
//! the second factor (set up, turn on with the backup codes, turn off), the caller's live
//! sign-ins (listed, revoked one by one or all but the current one), their sign-in history, and
//! the household's audit log.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use petty_core::accounts::{ActorKind, Permission};
use petty_core::ids::TokenFamilyId;
use petty_core::paging::{Page, PageRequest};
use petty_store::{AuditEntry, AuditFilter, CurrentSignIn, LiveSignIn, Login};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::accounts::mfa_error;
use crate::api::Paged;
use crate::auth::{CurrentActor, verify_password_async};
use crate::error::{ApiError, ErrorBody, ErrorCode};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;
use crate::stepup::require_fresh_mfa;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(mfa_status))
        .routes(routes!(mfa_setup))
        .routes(routes!(mfa_verify))
        .routes(routes!(mfa_disable))
        .routes(routes!(list_sessions))
        .routes(routes!(revoke_session))
        .routes(routes!(revoke_other_sessions))
        .routes(routes!(list_logins))
        .routes(routes!(list_audit))
}

#[derive(Serialize, ToSchema)]
pub(crate) struct MfaStatusOut {
    pub enabled: bool,
    #[serde(with = "crate::rfc3339::option")]
    pub enabled_at: Option<OffsetDateTime>,
    /// Backup codes not used yet.
    pub backup_codes_left: u32,
    /// A setup is waiting for its first code.
    pub setup_pending: bool,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct MfaSetupOut {
    /// The TOTP secret, base32 (32 characters), for typing into an app that cannot scan.
    pub secret: String,
    /// `otpauth://totp/Petty:<email>?secret=...&issuer=Petty&algorithm=SHA1&digits=6&period=30`
    pub otpauth_url: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct MfaCodeIn {
    /// The 6 digits the authenticator app shows now.
    #[schema(max_length = 20)]
    pub code: String,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct MfaEnabledOut {
    pub enabled: bool,
    /// Ten single-use codes (`abcd-ef23`) for when the app is not at hand. Shown this once;
    /// only their hashes are kept.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub backup_codes: Vec<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct MfaDisableIn {
    #[schema(max_length = 256)]
    pub password: String,
    /// A fresh code of the authenticator app, or a backup code.
    #[schema(max_length = 20)]
    pub code: String,
}

fn user_of(actor: &CurrentActor) -> Result<petty_core::ids::UserId, ApiError> {
    Ok(actor.user()?.0)
}

/// Whether the caller has multi-factor authentication on.
#[utoipa::path(get, path = "/api/v1/auth/mfa", tag = "auth",
    responses((status = 200, body = MfaStatusOut), (status = 403, description = "An API key has no second factor", body = ErrorBody)),
    security(("bearer" = [])))]
async fn mfa_status(State(state): State<AppState>, actor: CurrentActor) -> Result<Json<MfaStatusOut>, ApiError> {
    let record = state.store.mfa_record(user_of(&actor)?).await?;
    Ok(Json(MfaStatusOut {
        enabled: record.enabled(),
        enabled_at: record.enabled_at,
        backup_codes_left: if record.enabled() { record.backup_codes_left } else { 0 },
        setup_pending: record.pending_secret.is_some() && !record.enabled(),
    }))
}

/// Start setting up TOTP: a new secret and the URL an authenticator app scans. MFA is on only
/// after `POST /api/v1/auth/mfa/verify` with a code of this secret; a second setup replaces it.
#[utoipa::path(post, path = "/api/v1/auth/mfa/setup", tag = "auth",
    responses(
        (status = 200, body = MfaSetupOut),
        (status = 403, description = "An API key has no second factor", body = ErrorBody),
        (status = 409, description = "MFA is already on", body = ErrorBody)),
    security(("bearer" = [])))]
async fn mfa_setup(State(state): State<AppState>, actor: CurrentActor) -> Result<Json<MfaSetupOut>, ApiError> {
    let user_id = user_of(&actor)?;
    let user = state.store.get_user(user_id).await?;
    let setup = petty_app::mfa::setup(&state.app, user_id, &user.email).await.map_err(mfa_error)?;
    Ok(Json(MfaSetupOut { secret: setup.secret, otpauth_url: setup.otpauth_url }))
}

/// Turn MFA on with a code of the secret from setup. Answers the ten backup codes, once.
#[utoipa::path(post, path = "/api/v1/auth/mfa/verify", tag = "auth", request_body = MfaCodeIn,
    responses(
        (status = 200, body = MfaEnabledOut),
        (status = 401, description = "`invalid_mfa_code`: the code is not the app's current one", body = ErrorBody),
        (status = 403, description = "An API key has no second factor", body = ErrorBody),
        (status = 409, description = "MFA is already on, or no setup is waiting", body = ErrorBody)),
    security(("bearer" = [])))]
async fn mfa_verify(
    State(state): State<AppState>,
    actor: CurrentActor,
    ApiJson(body): ApiJson<MfaCodeIn>,
) -> Result<Json<MfaEnabledOut>, ApiError> {
    let user_id = user_of(&actor)?;
    let codes = petty_app::mfa::enable(&state.app, user_id, &body.code).await.map_err(mfa_error)?;
    Ok(Json(MfaEnabledOut { enabled: true, backup_codes: codes }))
}

/// Turn MFA off, with the password and a fresh code (or a backup code).
#[utoipa::path(post, path = "/api/v1/auth/mfa/disable", tag = "auth", request_body = MfaDisableIn,
    responses(
        (status = 200, body = MfaEnabledOut),
        (status = 401, description = "`invalid_credentials` (the password) or `invalid_mfa_code`", body = ErrorBody),
        (status = 403, description = "An API key has no second factor", body = ErrorBody),
        (status = 409, description = "MFA is not on", body = ErrorBody),
        (status = 429, description = "Too many wrong codes or passwords: wait `Retry-After` seconds", body = ErrorBody)),
    security(("bearer" = [])))]
async fn mfa_disable(
    State(state): State<AppState>,
    actor: CurrentActor,
    ApiJson(body): ApiJson<MfaDisableIn>,
) -> Result<Json<MfaEnabledOut>, ApiError> {
    let user_id = user_of(&actor)?;
    if !petty_app::mfa::is_enabled(&state.app, user_id).await? {
        return Err(mfa_error(petty_app::mfa::MfaError::NotEnabled));
    }
    let credentials = state.store.user_credentials(user_id).await?;
    if !verify_password_async(body.password, credentials.password_hash).await? {
        return Err(ApiError::field(ErrorCode::InvalidCredentials, "password", "mismatch", "the password is wrong"));
    }
    require_fresh_mfa(&state, user_id, Some(&body.code)).await?;
    petty_app::mfa::disable(&state.app, user_id).await?;
    Ok(Json(MfaEnabledOut { enabled: false, backup_codes: Vec::new() }))
}

/// Where a sign-in came from.
#[derive(Serialize, ToSchema)]
pub(crate) struct SignInOut {
    /// Revoke it with `DELETE /api/v1/auth/sessions/{id}`.
    pub id: Uuid,
    /// api (a refresh-token family), dashboard (a browser session) or trusted_device (a client
    /// that signed in before and is not held back by others' failed sign-ins).
    pub kind: &'static str,
    /// The household it acts in (none for a trusted device).
    pub household_id: Option<Uuid>,
    #[serde(serialize_with = "crate::rfc3339::serialize")]
    pub created_at: OffsetDateTime,
    #[serde(serialize_with = "crate::rfc3339::serialize")]
    pub last_used_at: OffsetDateTime,
    pub address: Option<String>,
    pub user_agent: Option<String>,
    /// The sign-in this request was made with.
    pub current: bool,
}

impl SignInOut {
    fn new(s: LiveSignIn, current: &CurrentSignIn) -> Self {
        let is_current = current.family.is_some_and(|f| f.0 == s.id) || current.session.is_some_and(|x| x.0 == s.id);
        Self {
            id: s.id,
            kind: s.kind.as_str(),
            household_id: s.household_id.map(|h| h.0),
            created_at: s.created_at,
            last_used_at: s.last_used_at,
            address: s.origin.address,
            user_agent: s.origin.user_agent,
            current: is_current,
        }
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct PageQuery {
    /// 1-based page number (default 1).
    pub page: Option<u32>,
    /// Items per page, 1–500 (default 50).
    pub page_size: Option<u32>,
}

fn current_family(state: &AppState, headers: &HeaderMap) -> Option<TokenFamilyId> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (_, token) = value.split_once(' ')?;
    state.keys.family_of(token.trim())
}

/// Pages a list that is already in memory.
fn page_of<T>(mut all: Vec<T>, request: PageRequest) -> Page<T> {
    let total = all.len() as u64;
    let start = usize::try_from(request.offset()).unwrap_or(usize::MAX).min(all.len());
    let end = start.saturating_add(usize::try_from(request.limit()).unwrap_or(usize::MAX)).min(all.len());
    let items = all.drain(start..end).collect();
    Page { items, total, request }
}

/// Your sign-ins that still work, most recently used first: API sign-ins (refresh-token
/// families), dashboard sessions and trusted devices, each with when, from which address and
/// client, and its last use.
#[utoipa::path(get, path = "/api/v1/auth/sessions", tag = "auth", params(PageQuery),
    responses((status = 200, body = Paged<SignInOut>), (status = 403, description = "An API key has no sessions", body = ErrorBody)),
    security(("bearer" = [])))]
async fn list_sessions(
    State(state): State<AppState>,
    actor: CurrentActor,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<Json<Paged<SignInOut>>, ApiError> {
    let user_id = user_of(&actor)?;
    let request = PageRequest::parse(query.page, query.page_size)?;
    let now = OffsetDateTime::now_utc();
    let all = state.store.live_sign_ins(user_id, now - state.config.signin.trusted_device_ttl, now).await?;
    let current = CurrentSignIn { family: current_family(&state, &headers), ..CurrentSignIn::default() };
    Ok(Json(Paged::from_page(page_of(all, request), |s| SignInOut::new(s, &current))))
}

/// Revoke one of your other sign-ins, at once: a dashboard session's next page (and its open
/// WebSocket within a second) is signed out; an API sign-in's refresh token and its access
/// tokens stop working; a trusted device is held back like any other client again. The sign-in
/// this request is made with is not revoked here (409): sign out with `/api/v1/auth/logout`.
#[utoipa::path(delete, path = "/api/v1/auth/sessions/{id}", tag = "auth",
    params(("id" = Uuid, Path, description = "The sign-in's id")),
    responses(
        (status = 204),
        (status = 403, description = "An API key has no sessions", body = ErrorBody),
        (status = 409, description = "That is the sign-in this request is made with", body = ErrorBody)),
    security(("bearer" = [])))]
async fn revoke_session(
    State(state): State<AppState>,
    actor: CurrentActor,
    headers: HeaderMap,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<StatusCode, ApiError> {
    let user_id = user_of(&actor)?;
    if current_family(&state, &headers).is_some_and(|f| f.0 == id) {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            "this is the sign-in you are using; sign out with POST /api/v1/auth/logout and its refresh token",
        ));
    }
    state.store.revoke_sign_in(user_id, id, OffsetDateTime::now_utc()).await.map_err(|e| match e {
        petty_store::StoreError::NotFound => ApiError::not_found("sign-in"),
        other => other.into(),
    })?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, ToSchema)]
pub(crate) struct RevokedOut {
    /// How many sign-ins were revoked.
    pub revoked: u64,
}

/// Revoke every sign-in but the one this request is made with (the API sign-in of its access
/// token): other API sign-ins, every dashboard session and every trusted device. Access tokens
/// issued before are refused from now on, yours too: refresh yours with its refresh token.
#[utoipa::path(post, path = "/api/v1/auth/sessions/revoke-others", tag = "auth",
    responses((status = 200, body = RevokedOut), (status = 403, description = "An API key has no sessions", body = ErrorBody)),
    security(("bearer" = [])))]
async fn revoke_other_sessions(
    State(state): State<AppState>,
    actor: CurrentActor,
    headers: HeaderMap,
) -> Result<Json<RevokedOut>, ApiError> {
    let user_id = user_of(&actor)?;
    let keep = CurrentSignIn { family: current_family(&state, &headers), ..CurrentSignIn::default() };
    let revoked = state.store.revoke_other_sign_ins(user_id, keep, OffsetDateTime::now_utc()).await?;
    Ok(Json(RevokedOut { revoked }))
}

#[derive(Serialize, ToSchema)]
pub(crate) struct LoginOut {
    #[serde(serialize_with = "crate::rfc3339::serialize")]
    pub at: OffsetDateTime,
    pub address: Option<String>,
    pub user_agent: Option<String>,
    /// success, or why it failed: wrong_password, mfa_required, invalid_mfa_code, throttled,
    /// unverified, no_membership.
    pub outcome: String,
}

impl From<Login> for LoginOut {
    fn from(l: Login) -> Self {
        Self { at: l.at, address: l.origin.address, user_agent: l.origin.user_agent, outcome: l.outcome }
    }
}

/// Every attempt to sign in to your account, newest first.
#[utoipa::path(get, path = "/api/v1/auth/logins", tag = "auth", params(PageQuery),
    responses((status = 200, body = Paged<LoginOut>), (status = 403, description = "An API key has no sign-ins", body = ErrorBody)),
    security(("bearer" = [])))]
async fn list_logins(
    State(state): State<AppState>,
    actor: CurrentActor,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<Json<Paged<LoginOut>>, ApiError> {
    let user_id = user_of(&actor)?;
    let request = PageRequest::parse(query.page, query.page_size)?;
    let page = state.store.list_logins(user_id, request).await?;
    Ok(Json(Paged::from_page(page, LoginOut::from)))
}

#[derive(Serialize, ToSchema)]
pub(crate) struct AuditOut {
    pub id: Uuid,
    #[serde(serialize_with = "crate::rfc3339::serialize")]
    pub at: OffsetDateTime,
    /// user, api_key, system, or deleted (an account deleted since; `actor_id` is then a
    /// tombstone).
    pub actor_kind: &'static str,
    pub actor_id: Option<Uuid>,
    /// create, update, delete, acknowledge, clear, revoke, ...
    pub action: String,
    /// pet, device, member, invitation, api_key, alarm, household, ...
    pub entity_type: String,
    pub entity_id: String,
    pub address: Option<String>,
    /// What changed, by field name (never values of secrets).
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
}

impl From<AuditEntry> for AuditOut {
    fn from(e: AuditEntry) -> Self {
        Self {
            id: e.id,
            at: e.at,
            actor_kind: e.actor_kind.as_str(),
            actor_id: e.actor_id,
            action: e.action,
            entity_type: e.entity_type,
            entity_id: e.entity_id,
            address: e.address,
            detail: serde_json::from_str(&e.detail).unwrap_or_else(|_| serde_json::json!({})),
        }
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct AuditQuery {
    /// 1-based page number (default 1).
    pub page: Option<u32>,
    /// Items per page, 1–500 (default 50).
    pub page_size: Option<u32>,
    /// Only entries about this kind of record (pet, device, member, ...; the first 40
    /// characters).
    pub entity_type: Option<String>,
    /// Only entries about the record with this id (the first 100 characters).
    pub entity_id: Option<String>,
    /// Only entries made by this user or API key.
    pub actor_id: Option<Uuid>,
}

/// The household's audit log, newest first: who changed which record, when and from where.
/// Owners (and admin keys) see every entry; everyone else sees their own.
#[utoipa::path(get, path = "/api/v1/audit", tag = "household", params(AuditQuery),
    responses((status = 200, body = Paged<AuditOut>)),
    security(("bearer" = [])))]
async fn list_audit(
    State(state): State<AppState>,
    actor: CurrentActor,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> Result<Json<Paged<AuditOut>>, ApiError> {
    let actor = actor.require(Permission::Read)?;
    let request = PageRequest::parse(query.page, query.page_size)?;
    let clean = |v: Option<String>, max: usize| {
        v.map(|s| s.trim().chars().take(max).collect::<String>()).filter(|s| !s.is_empty())
    };
    let mut filter = AuditFilter {
        entity_type: clean(query.entity_type, 40),
        entity_id: clean(query.entity_id, 100),
        actor_id: query.actor_id,
    };
    if !actor.can(Permission::ManageHousehold) {
        let own = match actor.kind {
            ActorKind::User { user_id, .. } => user_id.0,
            ActorKind::ApiKey { key_id, .. } => key_id.0,
        };
        if filter.actor_id.is_some_and(|a| a != own) {
            return Ok(Json(Paged::from_page(
                Page { items: Vec::<AuditEntry>::new(), total: 0, request },
                AuditOut::from,
            )));
        }
        filter.actor_id = Some(own);
    }
    let page = state.store.list_audit(actor.household_id, &filter, request).await?;
    Ok(Json(Paged::from_page(page, AuditOut::from)))
}
